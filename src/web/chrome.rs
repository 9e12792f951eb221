//! What every page needs besides its own content: language, URLs, the demo flag.
//!
//! `Chrome` is an extractor, so a handler names it once and passes it to its template.

use std::{convert::Infallible, fmt::Display};

use axum::{
    extract::FromRequestParts,
    http::{header, request::Parts},
};
use axum_extra::extract::CookieJar;

use crate::{
    i18n::Lang,
    web::{AppState, Urls},
};

/// The page context shared by every template.
#[derive(Debug, Clone)]
pub struct Chrome {
    pub lang: Lang,
    pub urls: Urls,
    pub demo: bool,
    pub appid: Option<String>,
    /// The path and query of this request, so the language switch can come back here.
    pub here: String,
}

impl Chrome {
    /// A catalogue entry in the page's language.
    pub fn t(&self, key: &str) -> String {
        self.lang.t(key)
    }

    /// A catalogue entry with one `%{name}` argument.
    pub fn t1(&self, key: &str, name: &str, value: impl Display) -> String {
        rust_i18n::replace_patterns(&self.t(key), &[name], &[value.to_string()])
    }

    /// A catalogue entry with two arguments.
    pub fn t2(&self, key: &str, n1: &str, v1: impl Display, n2: &str, v2: impl Display) -> String {
        rust_i18n::replace_patterns(&self.t(key), &[n1, n2], &[v1.to_string(), v2.to_string()])
    }

    /// Formats a count the way the page's language groups digits (72,596 / 72,596).
    pub fn num(&self, n: impl std::borrow::Borrow<u64>) -> String {
        let s = n.borrow().to_string();
        let mut out = String::with_capacity(s.len() + s.len() / 3);
        for (i, c) in s.chars().enumerate() {
            if i > 0 && (s.len() - i) % 3 == 0 {
                out.push(',');
            }
            out.push(c);
        }
        out
    }

    /// A timestamp in Beijing time (WeChat's clock, and most operators'), to the second.
    pub fn time(&self, t: impl std::borrow::Borrow<jiff::Timestamp>) -> String {
        let beijing = t.borrow().to_zoned(jiff::tz::offset(8).to_time_zone());
        beijing.strftime("%Y-%m-%d %H:%M:%S").to_string()
    }

    /// The same timestamp as an ISO string for `<time datetime=…>`.
    pub fn iso(&self, t: impl std::borrow::Borrow<jiff::Timestamp>) -> String {
        t.borrow().to_string()
    }
}

impl FromRequestParts<AppState> for Chrome {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Infallible> {
        Ok(Chrome {
            lang: lang_of(parts),
            urls: state.urls.clone(),
            demo: state.site.demo,
            appid: state.site.appid.clone(),
            here: parts
                .uri
                .path_and_query()
                .map_or_else(|| "/".to_owned(), |p| p.as_str().to_owned()),
        })
    }
}

/// The switcher's cookie, else `Accept-Language`, else Chinese.
fn lang_of(parts: &Parts) -> Lang {
    let jar = CookieJar::from_headers(&parts.headers);
    if let Some(lang) = jar
        .get(Lang::COOKIE)
        .and_then(|c| Lang::from_tag(c.value()))
    {
        return lang;
    }
    parts
        .headers
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .and_then(Lang::from_accept_language)
        .unwrap_or_default()
}

/// Whether htmx sent this request (it sets `HX-Request: true`) and so wants only a fragment.
#[derive(Debug, Clone, Copy)]
pub struct HxRequest(pub bool);

impl<S: Send + Sync> FromRequestParts<S> for HxRequest {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Infallible> {
        Ok(HxRequest(
            parts
                .headers
                .get("hx-request")
                .is_some_and(|v| v.as_bytes() == b"true"),
        ))
    }
}
