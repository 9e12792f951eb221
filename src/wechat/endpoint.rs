//! The upstream endpoints: one name for each call the client makes, its path and its label.
//!
//! The lowest file of the client: the transport, the retry table and the token source all speak
//! of calls by these names, and no other file spells an upstream path.

/// The upstream endpoints the client knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Endpoint {
    Token,
    StableToken,
    /// The external token service (`TokenMode::External`); not WeChat.
    ExternalToken,
    GroupsGet,
    GroupsCreate,
    GroupsUpdate,
    GroupsGetId,
    MembersUpdate,
    MembersBatchUpdate,
    GroupsDelete,
    UserGet,
    UserInfoBatchGet,
    TagsGet,
    TagsCreate,
    TagsUpdate,
    TagsDelete,
    TagsGetIdList,
    TagMembers,
    TagsBatchTagging,
    TagsBatchUntagging,
    Blacklist,
    BatchBlacklist,
    BatchUnblacklist,
}

impl Endpoint {
    /// The path under the base URL (no query: this is also what we log).
    pub(super) fn path(self) -> &'static str {
        match self {
            Self::Token => "/cgi-bin/token",
            Self::StableToken => "/cgi-bin/stable_token",
            // Its URL is configured and may carry a credential; logs name it only so.
            Self::ExternalToken => "external token URL",
            Self::GroupsGet => "/cgi-bin/groups/get",
            Self::GroupsCreate => "/cgi-bin/groups/create",
            Self::GroupsUpdate => "/cgi-bin/groups/update",
            Self::GroupsGetId => "/cgi-bin/groups/getid",
            Self::MembersUpdate => "/cgi-bin/groups/members/update",
            Self::MembersBatchUpdate => "/cgi-bin/groups/members/batchupdate",
            Self::GroupsDelete => "/cgi-bin/groups/delete",
            Self::UserGet => "/cgi-bin/user/get",
            Self::UserInfoBatchGet => "/cgi-bin/user/info/batchget",
            Self::TagsGet => "/cgi-bin/tags/get",
            Self::TagsCreate => "/cgi-bin/tags/create",
            Self::TagsUpdate => "/cgi-bin/tags/update",
            Self::TagsDelete => "/cgi-bin/tags/delete",
            Self::TagsGetIdList => "/cgi-bin/tags/getidlist",
            Self::TagMembers => "/cgi-bin/user/tag/get",
            Self::TagsBatchTagging => "/cgi-bin/tags/members/batchtagging",
            Self::TagsBatchUntagging => "/cgi-bin/tags/members/batchuntagging",
            Self::Blacklist => "/cgi-bin/tags/members/getblacklist",
            Self::BatchBlacklist => "/cgi-bin/tags/members/batchblacklist",
            Self::BatchUnblacklist => "/cgi-bin/tags/members/batchunblacklist",
        }
    }

    /// The metrics and observer label: the path under `/cgi-bin/` ("groups/get").
    pub(super) fn label(self) -> &'static str {
        let path = self.path();
        path.strip_prefix("/cgi-bin/").unwrap_or(path)
    }

    /// The token endpoints' answers hold a new token: their bodies are never quoted in a detail.
    pub(super) fn answers_a_token(self) -> bool {
        matches!(self, Self::Token | Self::StableToken | Self::ExternalToken)
    }
}
