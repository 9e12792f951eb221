//! Every route's path, written once: the route table (`crate::routes`) registers these and
//! [`Urls`](super::Urls) fills their `{id}` in, so a link cannot drift from its route.
//!
//! Paths are relative to the base path (`WXGROUPS_BASE_PATH`): the router nests them under it and
//! `Urls` puts it in front.

pub const HOME: &str = "/";
pub const SIGNIN: &str = "/signin";
pub const SIGNOUT: &str = "/signout";
pub const LANG: &str = "/lang";
pub const ASSET: &str = "/assets/{file}";

pub const GROUPS: &str = "/groups";
pub const GROUPS_REFRESH: &str = "/groups/refresh";
pub const GROUP_ROW: &str = "/groups/{id}/row";
pub const GROUP_EDIT: &str = "/groups/{id}/edit";
pub const GROUP_RENAME: &str = "/groups/{id}/rename";
pub const GROUP_DELETE: &str = "/groups/{id}/delete";
pub const GROUP_MEMBERS: &str = "/groups/{id}/members";
pub const GROUP_MEMBERS_MOVE: &str = "/groups/{id}/members/move";

pub const MEMBER_LOOKUP: &str = "/members/lookup";
pub const MEMBER_MOVE: &str = "/members/move";

pub const JOBS: &str = "/jobs";
pub const JOBS_PREVIEW: &str = "/jobs/preview";
pub const JOB: &str = "/jobs/{id}";
pub const JOB_PROGRESS: &str = "/jobs/{id}/progress";
pub const JOB_CONFIRM: &str = "/jobs/{id}/confirm";
pub const JOB_DISCARD: &str = "/jobs/{id}/discard";
pub const JOB_CANCEL: &str = "/jobs/{id}/cancel";
pub const JOB_CSV: &str = "/jobs/{id}/outcome.csv";
pub const FOLLOWERS_SYNC: &str = "/followers/sync";

pub const AUDIT: &str = "/audit";
pub const AUDIT_CSV: &str = "/audit.csv";
pub const STATUS: &str = "/status";

pub const HEALTHZ: &str = "/healthz";
pub const READYZ: &str = "/readyz";
pub const METRICS: &str = "/metrics";

/// A path with one `{…}` parameter, split around it once for writing many URLs cheaply.
pub fn around(path: &'static str) -> (&'static str, &'static str) {
    let open = path.find('{').unwrap_or(path.len());
    let close = path[open..].find('}').map_or(path.len(), |c| open + c + 1);
    (&path[..open], &path[close..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_path_splits_around_its_parameter() {
        assert_eq!(around(GROUP_ROW), ("/groups/", "/row"));
        assert_eq!(around(JOB), ("/jobs/", ""));
        assert_eq!(around(GROUPS), ("/groups", ""));
    }
}
