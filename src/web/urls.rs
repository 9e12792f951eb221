//! Every URL the pages link to, built in one place that knows the base path.
//!
//! Behind a reverse proxy the app may live under a prefix such as `/wx`; templates and redirects
//! ask `Urls` instead of writing paths, so a sub-path deployment is one setting.

use std::{
    fmt::{self, Display},
    sync::Arc,
};

use crate::web::assets;

#[derive(Debug, Clone, Default)]
pub struct Urls {
    /// "" or a prefix like "/wx" (no trailing slash).
    base: Arc<str>,
}

/// One of a group's URLs. Written straight into the page rather than built as a `String`: the
/// groups table has up to 500 rows with three or four links each.
#[derive(Debug, Clone, Copy)]
pub struct GroupUrl<'a, I> {
    base: &'a str,
    id: I,
    at: GroupUrlKind,
}

#[derive(Debug, Clone, Copy)]
enum GroupUrlKind {
    /// `/groups/{id}` and this.
    Under(&'static str),
    /// `/groups?edit={id}`.
    EditPage,
}

impl<I: Display> Display for GroupUrl<'_, I> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.at {
            GroupUrlKind::Under(tail) => write!(f, "{}/groups/{}{tail}", self.base, self.id),
            GroupUrlKind::EditPage => write!(f, "{}/groups?edit={}", self.base, self.id),
        }
    }
}

impl Urls {
    pub fn new(base: &str) -> Self {
        Urls {
            base: base.trim_end_matches('/').into(),
        }
    }

    fn at(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// The prefix itself ("" or e.g. "/wx").
    pub fn base(&self) -> &str {
        &self.base
    }
    pub fn signin(&self) -> String {
        self.at("/signin")
    }
    /// The sign-in page, coming back to `here` afterwards.
    pub fn signin_next(&self, here: &str) -> String {
        format!("{}?next={}", self.signin(), query_escape(here))
    }
    pub fn signout(&self) -> String {
        self.at("/signout")
    }
    pub fn status(&self) -> String {
        self.at("/status")
    }
    pub fn audit(&self) -> String {
        self.at("/audit")
    }
    pub fn audit_csv(&self) -> String {
        self.at("/audit.csv")
    }
    pub fn home(&self) -> String {
        self.at("/")
    }
    pub fn groups(&self) -> String {
        self.at("/groups")
    }
    pub fn groups_create(&self) -> String {
        self.at("/groups")
    }
    pub fn groups_refresh(&self) -> String {
        self.at("/groups/refresh")
    }
    pub fn group_row<I: Display>(&self, id: I) -> GroupUrl<'_, I> {
        self.group_at(id, "/row")
    }
    pub fn group_edit<I: Display>(&self, id: I) -> GroupUrl<'_, I> {
        self.group_at(id, "/edit")
    }
    /// The no-JavaScript way to the rename form: the page with that row in edit mode.
    /// No `#fragment`: a URL that targets an element turns `autofocus` off, and the rename box's
    /// autofocus is what brings it into view and puts the cursor in it.
    pub fn group_edit_page<I: Display>(&self, id: I) -> GroupUrl<'_, I> {
        GroupUrl {
            base: &self.base,
            id,
            at: GroupUrlKind::EditPage,
        }
    }
    pub fn group_rename<I: Display>(&self, id: I) -> GroupUrl<'_, I> {
        self.group_at(id, "/rename")
    }
    pub fn group_delete<I: Display>(&self, id: I) -> GroupUrl<'_, I> {
        self.group_at(id, "/delete")
    }
    pub fn group_members<I: Display>(&self, id: I) -> GroupUrl<'_, I> {
        self.group_at(id, "/members")
    }
    fn group_at<I: Display>(&self, id: I, tail: &'static str) -> GroupUrl<'_, I> {
        GroupUrl {
            base: &self.base,
            id,
            at: GroupUrlKind::Under(tail),
        }
    }
    pub fn group_members_move(&self, id: impl std::fmt::Display) -> String {
        self.at(&format!("/groups/{id}/members/move"))
    }
    pub fn jobs(&self) -> String {
        self.at("/jobs")
    }
    pub fn jobs_preview(&self) -> String {
        self.at("/jobs/preview")
    }
    pub fn job(&self, id: impl std::fmt::Display) -> String {
        self.at(&format!("/jobs/{id}"))
    }
    pub fn job_progress(&self, id: impl std::fmt::Display) -> String {
        self.at(&format!("/jobs/{id}/progress"))
    }
    pub fn job_confirm(&self, id: impl std::fmt::Display) -> String {
        self.at(&format!("/jobs/{id}/confirm"))
    }
    pub fn job_discard(&self, id: impl std::fmt::Display) -> String {
        self.at(&format!("/jobs/{id}/discard"))
    }
    pub fn job_cancel(&self, id: impl std::fmt::Display) -> String {
        self.at(&format!("/jobs/{id}/cancel"))
    }
    pub fn job_csv(&self, id: impl std::fmt::Display) -> String {
        self.at(&format!("/jobs/{id}/outcome.csv"))
    }
    pub fn followers_sync(&self) -> String {
        self.at("/followers/sync")
    }
    pub fn member_lookup(&self) -> String {
        self.at("/members/lookup")
    }
    pub fn member_move(&self) -> String {
        self.at("/members/move")
    }
    pub fn lang(&self) -> String {
        self.at("/lang")
    }
    /// A content-hashed asset: the file name changes with its content, so it may be cached for a year.
    pub fn asset(&self, file: &str) -> String {
        self.at(&format!("/assets/{file}"))
    }
    pub fn htmx_js(&self) -> String {
        self.asset(assets::HTMX_JS)
    }
    pub fn app_js(&self) -> String {
        self.asset(assets::APP_JS)
    }
    pub fn app_css(&self) -> String {
        self.asset(assets::APP_CSS)
    }
    pub fn favicon(&self) -> String {
        self.asset(assets::FAVICON_SVG)
    }

    /// Turns a `next` value from a form into a local path under our base, or the home page.
    /// Anything else (another host, `//evil`, a scheme) would make us an open redirect.
    pub fn local_or_home(&self, next: &str) -> String {
        let ok = next.starts_with(&format!("{}/", self.base))
            && !next.starts_with("//")
            && !next.contains('\\')
            && !next.chars().any(char::is_control);
        if ok { next.to_owned() } else { self.home() }
    }
}

/// Percent-encodes a value for a query string.
pub fn query_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_carry_the_base_path() {
        let u = Urls::new("/wx/");
        assert_eq!(u.groups(), "/wx/groups");
        assert_eq!(u.group_edit(105).to_string(), "/wx/groups/105/edit");
        assert_eq!(u.group_edit_page(105).to_string(), "/wx/groups?edit=105");
        assert_eq!(u.group_members(7).to_string(), "/wx/groups/7/members");
        assert_eq!(
            Urls::new("").group_delete(7).to_string(),
            "/groups/7/delete"
        );
        assert!(u.htmx_js().starts_with("/wx/assets/htmx."));
    }

    #[test]
    fn next_must_stay_on_this_site() {
        let u = Urls::new("/wx");
        assert_eq!(
            u.local_or_home("/wx/groups?openid=x"),
            "/wx/groups?openid=x"
        );
        for bad in [
            "https://evil.example/",
            "//evil.example/wx/",
            "/other",
            "/wx\\..",
            "javascript:x",
        ] {
            assert_eq!(u.local_or_home(bad), "/wx/", "{bad}");
        }
    }
}
