//! What every page needs besides its own content: language, URLs, the demo flag.
//!
//! `Chrome` is an extractor, so a handler names it once and passes it to its template.

use std::{convert::Infallible, fmt::Display};

use axum::{
    extract::{FromRequestParts, OriginalUri},
    http::{header, request::Parts},
};
use axum_extra::extract::CookieJar;
use tower_sessions::Session;

use crate::{
    domain::Api,
    i18n::Lang,
    state::{AccountEntry, Actor, AppState, Source},
    web::{Urls, csrf, replay},
};

/// The page context shared by every template.
#[derive(Debug, Clone)]
pub struct Chrome {
    pub lang: Lang,
    pub urls: Urls,
    pub demo: bool,
    pub appid: Option<String>,
    /// Groups or tags: the pages' words follow it ("分组" / "标签").
    pub api: Api,
    /// This account's name and key (one account: its key is `default`).
    pub account_name: String,
    pub account_key: String,
    /// With several accounts: those the operator may see, for the switcher (empty otherwise).
    pub switcher: Vec<AccountEntry>,
    /// The path and query of this request (with the base path), so the language switch and
    /// the sign-in page can come back here.
    pub here: String,
    /// Who is signed in (none on the sign-in page).
    pub actor: Option<Actor>,
    /// This session's CSRF token, for `hx-headers` and the hidden field of every form.
    pub csrf: String,
    /// "WeChat is not answering", while the client's circuit is open.
    pub circuit_banner: Option<String>,
    /// Today's calls have passed 80% of a daily cap.
    pub quota_banner: Option<String>,
    /// WeChat answered 48001 to the list: this account cannot use the API chosen.
    pub api_banner: Option<String>,
}

/// The accounts `actor` may see, when there are several to switch between.
fn switcher(state: &AppState, actor: Option<&Actor>) -> Vec<AccountEntry> {
    let (Some(actor), true) = (actor, state.directory.several()) else {
        return Vec::new();
    };
    let mine: Vec<AccountEntry> = state
        .directory
        .accounts
        .iter()
        .filter(|a| actor.on(a).is_some())
        .cloned()
        .collect();
    // One account of their own: nothing to switch to.
    if mine.len() > 1 { mine } else { Vec::new() }
}

impl Chrome {
    /// Whether `key` is the account this page is about (for `aria-current`).
    pub fn is_current(&self, key: &str) -> bool {
        self.account_key == key
    }

    /// The hidden fields every plain form carries: the CSRF token, and a one-time id so that
    /// posting the same form twice changes things once (see `web::replay`).
    pub fn csrf_field(&self) -> String {
        format!(
            "<input type=\"hidden\" name=\"{}\" value=\"{}\">\
             <input type=\"hidden\" name=\"{}\" value=\"{}\">",
            csrf::FIELD,
            self.csrf,
            replay::FIELD,
            csrf::new_csrf_token(),
        )
    }

    /// `hx-headers` for the body: htmx sends the token with every request.
    pub fn hx_headers(&self) -> String {
        format!("{{\"X-CSRF-Token\": \"{}\"}}", self.csrf)
    }

    pub fn can_change(&self) -> bool {
        self.actor.as_ref().is_some_and(Actor::can_change)
    }

    pub fn is_admin(&self) -> bool {
        self.actor.as_ref().is_some_and(Actor::is_admin)
    }

    /// Built-in operators sign out here; proxy users sign out at the proxy, the demo never.
    pub fn can_sign_out(&self) -> bool {
        self.actor
            .as_ref()
            .is_some_and(|a| a.source == Source::Builtin)
    }

    /// Whether this page belongs to a section of the nav (for `aria-current`).
    pub fn section(&self, name: &str) -> bool {
        let path = self
            .here
            .strip_prefix(self.urls.base())
            .unwrap_or(&self.here);
        path.trim_start_matches('/').starts_with(name)
    }

    pub fn is_demo_actor(&self) -> bool {
        self.actor
            .as_ref()
            .is_some_and(|a| a.source == Source::Demo)
    }

    /// The role's name in the page's language.
    pub fn role_name(&self) -> String {
        self.actor
            .as_ref()
            .map(|a| self.t(&format!("role.{}", a.role)))
            .unwrap_or_default()
    }

    /// A catalogue entry in the page's language, in the words of the API in use.
    pub fn t(&self, key: &str) -> String {
        match self.api {
            Api::Groups => self.lang.t(key),
            Api::Tags => self.lang.t_in("tags", key),
        }
    }

    pub fn tags(&self) -> bool {
        self.api == Api::Tags
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
    pub fn num(&self, n: impl std::borrow::Borrow<u64>) -> Grouped {
        Grouped(*n.borrow())
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
        // Outside the session layer (the error page) there is no session and so no token:
        // such pages have no forms that change anything.
        let csrf = csrf::token_for(
            parts.extensions.get::<Session>(),
            parts.extensions.get::<csrf::Nonce>(),
            &state.csrf_key,
        )
        .await
        .unwrap_or_default();
        let uri = parts
            .extensions
            .get::<OriginalUri>()
            .map_or(&parts.uri, |o| &o.0);
        let lang = lang_of(parts);
        let circuit = state.client.circuit();
        let circuit_banner = (circuit.state != crate::wechat::CircuitState::Closed).then(|| {
            let secs = circuit.open_until.map_or(0, |t| {
                t.saturating_duration_since(std::time::Instant::now())
                    .as_secs()
            });
            let error = circuit
                .last_error
                .map(|e| format!("{} — {}", e.title(lang), e.explain(lang)))
                .unwrap_or_default();
            rust_i18n::replace_patterns(
                &lang.t("banner.circuit"),
                &["secs", "error"],
                &[secs.to_string(), error],
            )
        });
        let warnings = state.quota.warnings();
        let quota_banner = (!warnings.is_empty()).then(|| {
            let list = warnings
                .iter()
                .map(|u| format!("{} {}%", u.endpoint, u.percent()))
                .collect::<Vec<_>>()
                .join(", ");
            rust_i18n::replace_patterns(&lang.t("banner.quota"), &["endpoints"], &[list])
        });
        Ok(Chrome {
            circuit_banner,
            quota_banner,
            api_banner: state.groups.api_unavailable().then(|| {
                let api = state.site.api;
                lang.t_in(api.as_str(), "banner.api_unavailable")
            }),
            actor: parts.extensions.get::<Actor>().cloned(),
            csrf,
            lang,
            urls: state.urls.clone(),
            demo: state.site.demo,
            appid: state.site.appid.clone(),
            api: state.site.api,
            account_name: state.site.name.clone(),
            account_key: state.site.key.clone(),
            switcher: switcher(state, parts.extensions.get::<Actor>()),
            here: uri
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

/// A count with its digits grouped by threes (72,596), written without building a `String`:
/// the groups table writes one per row.
#[derive(Debug, Clone, Copy)]
pub struct Grouped(pub u64);

impl Display for Grouped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut digits = [0u8; 20];
        let mut n = self.0;
        let mut len = 0;
        loop {
            digits[len] = b'0' + (n % 10) as u8;
            len += 1;
            n /= 10;
            if n == 0 {
                break;
            }
        }
        // Most significant first; a comma before every group of three that follows.
        let mut out = [0u8; 26];
        let mut at = 0;
        for i in (0..len).rev() {
            out[at] = digits[i];
            at += 1;
            if i > 0 && i % 3 == 0 {
                out[at] = b',';
                at += 1;
            }
        }
        f.write_str(std::str::from_utf8(&out[..at]).map_err(|_| std::fmt::Error)?)
    }
}

#[cfg(test)]
mod grouped_tests {
    use super::Grouped;

    #[test]
    fn counts_are_grouped_by_threes() {
        for (n, text) in [
            (0, "0"),
            (7, "7"),
            (999, "999"),
            (1_000, "1,000"),
            (72_596, "72,596"),
            (1_234_567, "1,234,567"),
            (u64::MAX, "18,446,744,073,709,551,615"),
        ] {
            assert_eq!(Grouped(n).to_string(), text);
        }
    }
}
