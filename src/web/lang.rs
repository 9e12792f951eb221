//! The language switcher: a tiny form that sets a cookie and goes back where it came from.

use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::{
    CookieJar,
    cookie::{Cookie, SameSite},
};
use serde::Deserialize;

use crate::{i18n::Lang, state::AppState, web::Form};

#[derive(Debug, Deserialize)]
pub struct SwitchForm {
    #[serde(default)]
    lang: String,
    #[serde(default)]
    next: String,
}

/// `POST /lang`: remembers the choice for a year. An unknown language keeps the current one.
pub async fn switch(
    axum::extract::State(state): axum::extract::State<AppState>,
    jar: CookieJar,
    Form(form): Form<SwitchForm>,
) -> Response {
    let next = state.urls.local_or_home(&form.next);
    let Some(lang) = Lang::from_tag(&form.lang) else {
        return Redirect::to(&next).into_response();
    };
    let cookie = Cookie::build((Lang::COOKIE, lang.code()))
        .path(state.urls.home())
        .max_age(time_year())
        .same_site(SameSite::Lax)
        .http_only(true)
        .build();
    (jar.add(cookie), Redirect::to(&next)).into_response()
}

fn time_year() -> time::Duration {
    time::Duration::days(365)
}
