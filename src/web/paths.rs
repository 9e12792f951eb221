//! Every route's path, written once: the route table (`crate::routes`) registers these and
//! [`Urls`](super::Urls) fills their `{id}` in, so a link cannot drift from its route.
//!
//! Paths are relative to the base path (`WXGROUPS_BASE_PATH`): the router nests them under it and
//! `Urls` puts it in front.

pub const HOME: &str = "/";
/// With several accounts, each account's pages are under `/a/{key}`; `/a` itself lists them.
pub const ACCOUNTS: &str = "/a";
pub const SIGNIN: &str = "/signin";
pub const SIGNOUT: &str = "/signout";
pub const LANG: &str = "/lang";
pub const ASSET: IdPath = IdPath::new("/assets/{file}");

pub const GROUPS: &str = "/groups";
pub const GROUPS_REFRESH: &str = "/groups/refresh";
pub const GROUP_ROW: IdPath = IdPath::new("/groups/{id}/row");
pub const GROUP_EDIT: IdPath = IdPath::new("/groups/{id}/edit");
pub const GROUP_RENAME: IdPath = IdPath::new("/groups/{id}/rename");
pub const GROUP_DELETE: IdPath = IdPath::new("/groups/{id}/delete");
pub const GROUP_MEMBERS: IdPath = IdPath::new("/groups/{id}/members");
pub const GROUP_MEMBERS_MOVE: IdPath = IdPath::new("/groups/{id}/members/move");

pub const MEMBER_LOOKUP: &str = "/members/lookup";
pub const MEMBER_MOVE: &str = "/members/move";
pub const MEMBER_TAGS: &str = "/members/tags";
pub const BLACKLIST: &str = "/blacklist";
pub const BLACKLIST_ADD: &str = "/blacklist/add";
pub const BLACKLIST_REMOVE: &str = "/blacklist/remove";

pub const JOBS: &str = "/jobs";
pub const JOBS_PREVIEW: &str = "/jobs/preview";
/// Tags mode: the preview of copying groups into tags.
pub const JOBS_COPY: &str = "/jobs/copy-groups";
/// Tags mode: a job taking a tag off everyone who carries it (`tag=ID`).
pub const JOBS_UNTAG_ALL: &str = "/jobs/untag-all";
pub const JOB: IdPath = IdPath::new("/jobs/{id}");
pub const JOB_PROGRESS: IdPath = IdPath::new("/jobs/{id}/progress");
pub const JOB_CONFIRM: IdPath = IdPath::new("/jobs/{id}/confirm");
pub const JOB_DISCARD: IdPath = IdPath::new("/jobs/{id}/discard");
pub const JOB_CANCEL: IdPath = IdPath::new("/jobs/{id}/cancel");
pub const JOB_CSV: IdPath = IdPath::new("/jobs/{id}/outcome.csv");
pub const FOLLOWERS_SYNC: &str = "/followers/sync";

pub const AUDIT: &str = "/audit";
pub const AUDIT_CSV: &str = "/audit.csv";
pub const STATUS: &str = "/status";

pub const HEALTHZ: &str = "/healthz";
pub const READYZ: &str = "/readyz";
pub const METRICS: &str = "/metrics";

/// A route path with one `{…}` parameter, split around it when the program is built: the
/// groups table writes three or four such URLs for each of up to 500 rows.
#[derive(Debug, Clone, Copy)]
pub struct IdPath {
    /// The path as the router takes it.
    pub route: &'static str,
    /// What comes before and after the parameter.
    pub before: &'static str,
    pub after: &'static str,
}

impl IdPath {
    pub const fn new(route: &'static str) -> IdPath {
        let bytes = route.as_bytes();
        let mut open = 0;
        while open < bytes.len() && bytes[open] != b'{' {
            open += 1;
        }
        let mut close = open;
        while close < bytes.len() && bytes[close] != b'}' {
            close += 1;
        }
        let (before, rest) = route.split_at(open);
        let skip = if close < bytes.len() {
            close - open + 1
        } else {
            close - open
        };
        let (_, after) = rest.split_at(skip);
        IdPath {
            route,
            before,
            after,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_path_splits_around_its_parameter() {
        assert_eq!((GROUP_ROW.before, GROUP_ROW.after), ("/groups/", "/row"));
        assert_eq!((JOB.before, JOB.after), ("/jobs/", ""));
        let plain = IdPath::new(GROUPS);
        assert_eq!((plain.before, plain.after), ("/groups", ""));
    }
}
