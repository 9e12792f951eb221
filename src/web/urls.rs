//! Every URL the pages link to, built in one place that knows the base path.
//!
//! Behind a reverse proxy the app may live under a prefix such as `/wx`; templates and redirects
//! ask `Urls` instead of writing paths, so a sub-path deployment is one setting.

use std::{
    fmt::{self, Display},
    sync::Arc,
};

use crate::web::{assets, paths};

#[derive(Debug, Clone, Default)]
pub struct Urls {
    /// The account's pages: the base path, and `/a/{key}` when the deployment has several
    /// accounts (no trailing slash).
    base: Arc<str>,
    /// "" or a prefix like "/wx": where the deployment-wide pages are (sign-in, language,
    /// assets, the account list).
    root: Arc<str>,
}

/// One URL with an id in it (a group's, a job's). Written straight into the page rather than
/// built as a `String`: the groups table has up to 500 rows with three or four links each.
#[derive(Debug, Clone, Copy)]
pub struct IdUrl<'a, I> {
    base: &'a str,
    id: I,
    at: IdUrlKind,
}

/// A group's URL is the same thing.
pub type GroupUrl<'a, I> = IdUrl<'a, I>;

#[derive(Debug, Clone, Copy)]
enum IdUrlKind {
    /// A route path with `{id}` in it.
    Path(paths::IdPath),
    /// `/groups?edit={id}`.
    EditPage,
}

impl<I: Display> Display for IdUrl<'_, I> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.at {
            IdUrlKind::Path(path) => {
                write!(f, "{}{}{}{}", self.base, path.before, self.id, path.after)
            }
            IdUrlKind::EditPage => write!(f, "{}{}?edit={}", self.base, paths::GROUPS, self.id),
        }
    }
}

impl Urls {
    pub fn new(base: &str) -> Self {
        let base: Arc<str> = base.trim_end_matches('/').into();
        Urls {
            root: base.clone(),
            base,
        }
    }

    /// The URLs of one account of several: its pages under `/a/{key}`.
    pub fn for_account(base: &str, key: &str) -> Self {
        let root: Arc<str> = base.trim_end_matches('/').into();
        Urls {
            base: format!("{root}{}/{key}", paths::ACCOUNTS).into(),
            root,
        }
    }

    fn at(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// A deployment-wide page: not under an account's prefix.
    fn global(&self, path: &str) -> String {
        format!("{}{path}", self.root)
    }

    /// The deployment's prefix ("" or e.g. "/wx"), without an account's.
    pub fn root(&self) -> &str {
        &self.root
    }

    /// The page listing the accounts an operator may see.
    pub fn accounts(&self) -> String {
        self.global(paths::ACCOUNTS)
    }

    /// Another account's groups page (`key`'s), for the switcher.
    pub fn account_home(&self, key: &str) -> String {
        format!("{}{}/{key}{}", self.root, paths::ACCOUNTS, paths::GROUPS)
    }

    fn with_id<I: Display>(&self, path: paths::IdPath, id: I) -> IdUrl<'_, I> {
        IdUrl {
            base: &self.base,
            id,
            at: IdUrlKind::Path(path),
        }
    }

    /// The prefix itself ("" or e.g. "/wx").
    pub fn base(&self) -> &str {
        &self.base
    }
    pub fn signin(&self) -> String {
        self.global(paths::SIGNIN)
    }
    /// The sign-in page, coming back to `here` afterwards.
    pub fn signin_next(&self, here: &str) -> String {
        with_query(&self.signin(), &[("next", here)])
    }
    pub fn signout(&self) -> String {
        self.at(paths::SIGNOUT)
    }
    pub fn status(&self) -> String {
        self.at(paths::STATUS)
    }
    pub fn audit(&self) -> String {
        self.at(paths::AUDIT)
    }
    pub fn audit_csv(&self) -> String {
        self.at(paths::AUDIT_CSV)
    }
    pub fn home(&self) -> String {
        self.at(paths::HOME)
    }
    pub fn groups(&self) -> String {
        self.at(paths::GROUPS)
    }
    pub fn groups_create(&self) -> String {
        self.at(paths::GROUPS)
    }
    pub fn groups_refresh(&self) -> String {
        self.at(paths::GROUPS_REFRESH)
    }
    /// The groups page looking a follower up (what a browser without JavaScript is sent to).
    pub fn groups_lookup(&self, openid: &str) -> String {
        with_query(&self.groups(), &[("openid", openid)])
    }
    pub fn group_row<I: Display>(&self, id: I) -> GroupUrl<'_, I> {
        self.with_id(paths::GROUP_ROW, id)
    }
    pub fn group_edit<I: Display>(&self, id: I) -> GroupUrl<'_, I> {
        self.with_id(paths::GROUP_EDIT, id)
    }
    /// The no-JavaScript way to the rename form: the page with that row in edit mode.
    /// No `#fragment`: a URL that targets an element turns `autofocus` off, and the rename box's
    /// autofocus is what brings it into view and puts the cursor in it.
    pub fn group_edit_page<I: Display>(&self, id: I) -> GroupUrl<'_, I> {
        IdUrl {
            base: &self.base,
            id,
            at: IdUrlKind::EditPage,
        }
    }
    pub fn group_rename<I: Display>(&self, id: I) -> GroupUrl<'_, I> {
        self.with_id(paths::GROUP_RENAME, id)
    }
    pub fn group_delete<I: Display>(&self, id: I) -> GroupUrl<'_, I> {
        self.with_id(paths::GROUP_DELETE, id)
    }
    pub fn group_members<I: Display>(&self, id: I) -> GroupUrl<'_, I> {
        self.with_id(paths::GROUP_MEMBERS, id)
    }
    pub fn group_members_move(&self, id: impl Display) -> String {
        self.with_id(paths::GROUP_MEMBERS_MOVE, id).to_string()
    }
    pub fn jobs(&self) -> String {
        self.at(paths::JOBS)
    }
    pub fn jobs_preview(&self) -> String {
        self.at(paths::JOBS_PREVIEW)
    }
    pub fn jobs_copy(&self) -> String {
        self.at(paths::JOBS_COPY)
    }
    pub fn jobs_untag_all(&self) -> String {
        self.at(paths::JOBS_UNTAG_ALL)
    }
    pub fn job(&self, id: impl Display) -> String {
        self.with_id(paths::JOB, id).to_string()
    }
    pub fn job_progress(&self, id: impl Display) -> String {
        self.with_id(paths::JOB_PROGRESS, id).to_string()
    }
    pub fn job_confirm(&self, id: impl Display) -> String {
        self.with_id(paths::JOB_CONFIRM, id).to_string()
    }
    pub fn job_discard(&self, id: impl Display) -> String {
        self.with_id(paths::JOB_DISCARD, id).to_string()
    }
    pub fn job_cancel(&self, id: impl Display) -> String {
        self.with_id(paths::JOB_CANCEL, id).to_string()
    }
    pub fn job_csv(&self, id: impl Display) -> String {
        self.with_id(paths::JOB_CSV, id).to_string()
    }
    pub fn followers_sync(&self) -> String {
        self.at(paths::FOLLOWERS_SYNC)
    }
    pub fn member_lookup(&self) -> String {
        self.at(paths::MEMBER_LOOKUP)
    }
    /// The lookup fragment htmx swaps in for one follower.
    pub fn member_lookup_of(&self, openid: &str) -> String {
        with_query(&self.member_lookup(), &[("openid", openid)])
    }
    pub fn member_move(&self) -> String {
        self.at(paths::MEMBER_MOVE)
    }
    pub fn member_tags(&self) -> String {
        self.at(paths::MEMBER_TAGS)
    }
    pub fn blacklist(&self) -> String {
        self.at(paths::BLACKLIST)
    }
    pub fn blacklist_add(&self) -> String {
        self.at(paths::BLACKLIST_ADD)
    }
    pub fn blacklist_remove(&self) -> String {
        self.at(paths::BLACKLIST_REMOVE)
    }
    pub fn lang(&self) -> String {
        self.global(paths::LANG)
    }
    /// A content-hashed asset: the file name changes with its content, so it may be cached for a year.
    pub fn asset(&self, file: &str) -> String {
        let path = paths::ASSET;
        format!("{}{}{file}{}", self.root, path.before, path.after)
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
        let ok = next.starts_with(&format!("{}/", self.root))
            && !next.starts_with("//")
            && !next.contains('\\')
            && !next.chars().any(char::is_control);
        if ok { next.to_owned() } else { self.home() }
    }
}

/// `url` (which has no query yet) with these pairs as its query, encoded by `form_urlencoded`.
pub fn with_query(url: &str, pairs: &[(&str, &str)]) -> String {
    // Only what follows the `?` is the query the serializer writes.
    let mut query = form_urlencoded::Serializer::for_suffix(format!("{url}?"), url.len() + 1);
    query.extend_pairs(pairs);
    query.finish()
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
    fn queries_are_encoded_once_and_in_full() {
        assert_eq!(
            with_query("/wx/signin", &[("next", "/wx/groups?q=a b&x=1")]),
            "/wx/signin?next=%2Fwx%2Fgroups%3Fq%3Da+b%26x%3D1"
        );
        assert_eq!(Urls::new("").groups_lookup("o-1_x"), "/groups?openid=o-1_x");
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
