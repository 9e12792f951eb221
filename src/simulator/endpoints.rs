//! One function per WeChat endpoint: parse the request, apply the rules, build WeChat's JSON.
//! The groups API's rules live in `account.rs`, the tag API's in `tags.rs`.

use std::time::Instant;

use serde::Deserialize;
use serde_json::{Value, json};

use std::collections::HashMap;

use super::errcode::{Errcode, ok};
use super::openid::Decoded;
use super::state::{Setup, SimConfig, SimState};

/// `user/get` pages hold at most this many OpenIDs.
const USER_GET_PAGE: usize = 10_000;
/// `user/tag/get` pages hold at most this many OpenIDs. WeChat does not document the size;
/// clients read until `next_openid` is empty, and `user/get`'s 10,000 is the likely one.
const TAG_MEMBERS_PAGE: usize = 10_000;
/// `tags/members/getblacklist` pages hold at most this many OpenIDs (the newer doc; the older
/// one said 10,000).
const BLACKLIST_PAGE: usize = 1_000;
/// `groups/members/batchupdate` takes at most this many OpenIDs.
const BATCH_MOVE_MAX: usize = 50;
/// `tags/members/batchtagging` and `batchuntagging` take at most this many OpenIDs.
const BATCH_TAG_MAX: usize = 50;
/// `tags/members/batchblacklist` and `batchunblacklist` take at most this many OpenIDs.
const BATCH_BLACKLIST_MAX: usize = 20;
/// `user/info/batchget` takes at most this many users.
const BATCH_INFO_MAX: usize = 100;
/// The simulated followers subscribed between 2015-01-01 and 2024-01-01, in index order (WeChat's
/// user list is roughly in subscription order too).
const FIRST_SUBSCRIBE: u64 = 1_420_070_400;
const LAST_SUBSCRIBE: u64 = 1_704_067_200;

/// The endpoints the simulator knows, by path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Endpoint {
    Token,
    StableToken,
    GroupsCreate,
    GroupsGet,
    GroupsGetid,
    GroupsUpdate,
    GroupsMembersUpdate,
    GroupsMembersBatchupdate,
    GroupsDelete,
    TagsCreate,
    TagsGet,
    TagsUpdate,
    TagsDelete,
    UserTagGet,
    TagsMembersBatchtagging,
    TagsMembersBatchuntagging,
    TagsGetidlist,
    TagsMembersGetblacklist,
    TagsMembersBatchblacklist,
    TagsMembersBatchunblacklist,
    UserGet,
    UserInfo,
    UserInfoBatchget,
}

/// The APIs an account may or may not be allowed to call ([`SimConfig`]'s switches).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Api {
    Token,
    Groups,
    Tags,
    Users,
}

impl Endpoint {
    pub(crate) fn from_path(path: &str) -> Option<Self> {
        Some(match path {
            "/cgi-bin/token" => Self::Token,
            "/cgi-bin/stable_token" => Self::StableToken,
            "/cgi-bin/groups/create" => Self::GroupsCreate,
            "/cgi-bin/groups/get" => Self::GroupsGet,
            "/cgi-bin/groups/getid" => Self::GroupsGetid,
            "/cgi-bin/groups/update" => Self::GroupsUpdate,
            "/cgi-bin/groups/members/update" => Self::GroupsMembersUpdate,
            "/cgi-bin/groups/members/batchupdate" => Self::GroupsMembersBatchupdate,
            "/cgi-bin/groups/delete" => Self::GroupsDelete,
            "/cgi-bin/tags/create" => Self::TagsCreate,
            "/cgi-bin/tags/get" => Self::TagsGet,
            "/cgi-bin/tags/update" => Self::TagsUpdate,
            "/cgi-bin/tags/delete" => Self::TagsDelete,
            "/cgi-bin/user/tag/get" => Self::UserTagGet,
            "/cgi-bin/tags/members/batchtagging" => Self::TagsMembersBatchtagging,
            "/cgi-bin/tags/members/batchuntagging" => Self::TagsMembersBatchuntagging,
            "/cgi-bin/tags/getidlist" => Self::TagsGetidlist,
            "/cgi-bin/tags/members/getblacklist" => Self::TagsMembersGetblacklist,
            "/cgi-bin/tags/members/batchblacklist" => Self::TagsMembersBatchblacklist,
            "/cgi-bin/tags/members/batchunblacklist" => Self::TagsMembersBatchunblacklist,
            "/cgi-bin/user/get" => Self::UserGet,
            "/cgi-bin/user/info" => Self::UserInfo,
            "/cgi-bin/user/info/batchget" => Self::UserInfoBatchget,
            _ => return None,
        })
    }

    /// Endpoints taking a JSON body answer 43002 to anything but POST, as WeChat does. The GET
    /// ones are lenient about the method, as WeChat is.
    pub(crate) fn post_only(self) -> bool {
        !matches!(
            self,
            Self::Token | Self::GroupsGet | Self::TagsGet | Self::UserGet | Self::UserInfo
        )
    }

    /// All but the token endpoints need `?access_token=`.
    pub(crate) fn needs_token(self) -> bool {
        !matches!(self, Self::Token | Self::StableToken)
    }

    /// The API the endpoint belongs to. `user/tag/get` is the tag API's, though under `user/`;
    /// the blacklist endpoints are the tag API's too (they live under `tags/members/`).
    pub(crate) fn api(self) -> Api {
        match self {
            Self::Token | Self::StableToken => Api::Token,
            Self::GroupsCreate
            | Self::GroupsGet
            | Self::GroupsGetid
            | Self::GroupsUpdate
            | Self::GroupsMembersUpdate
            | Self::GroupsMembersBatchupdate
            | Self::GroupsDelete => Api::Groups,
            Self::TagsCreate
            | Self::TagsGet
            | Self::TagsUpdate
            | Self::TagsDelete
            | Self::UserTagGet
            | Self::TagsMembersBatchtagging
            | Self::TagsMembersBatchuntagging
            | Self::TagsGetidlist
            | Self::TagsMembersGetblacklist
            | Self::TagsMembersBatchblacklist
            | Self::TagsMembersBatchunblacklist => Api::Tags,
            Self::UserGet | Self::UserInfo | Self::UserInfoBatchget => Api::Users,
        }
    }

    /// Whether this account may call the endpoint: the token and user endpoints always; the
    /// groups and tag APIs as [`SimConfig`] says. Refused ones answer 48001.
    pub(crate) fn allowed(self, config: &SimConfig) -> bool {
        match self.api() {
            Api::Token | Api::Users => true,
            Api::Groups => config.groups_api,
            Api::Tags => config.tags_api,
        }
    }
}

/// What an endpoint got: the query string and the raw body.
pub(super) struct Call<'a> {
    pub query: &'a HashMap<String, String>,
    pub body: &'a [u8],
}

impl Call<'_> {
    /// A query parameter, `None` when absent.
    pub(super) fn param(&self, name: &str) -> Option<&str> {
        self.query.get(name).map(String::as_str)
    }

    /// The body as JSON of the expected shape; anything else is WeChat's 47001.
    fn json<T: serde::de::DeserializeOwned>(&self) -> Result<T, Errcode> {
        serde_json::from_slice(self.body).map_err(|_| Errcode::DataFormat)
    }
}

pub(crate) fn run(
    endpoint: Endpoint,
    setup: &Setup,
    state: &mut SimState,
    call: &Call<'_>,
    now: Instant,
) -> Result<Value, Errcode> {
    match endpoint {
        Endpoint::Token => token(setup, state, call, now),
        Endpoint::StableToken => stable_token(setup, state, call, now),
        Endpoint::GroupsCreate => groups_create(state, call),
        Endpoint::GroupsGet => Ok(groups_get(state)),
        Endpoint::GroupsGetid => groups_getid(setup, state, call),
        Endpoint::GroupsUpdate => groups_update(state, call),
        Endpoint::GroupsMembersUpdate => members_update(setup, state, call),
        Endpoint::GroupsMembersBatchupdate => members_batchupdate(setup, state, call, now),
        Endpoint::GroupsDelete => groups_delete(state, call),
        Endpoint::TagsCreate => tags_create(state, call),
        Endpoint::TagsGet => Ok(tags_get(state)),
        Endpoint::TagsUpdate => tags_update(state, call),
        Endpoint::TagsDelete => tags_delete(state, call),
        Endpoint::UserTagGet => user_tag_get(setup, state, call),
        Endpoint::TagsMembersBatchtagging => batch_tag(setup, state, call, now, Tagging::Tag),
        Endpoint::TagsMembersBatchuntagging => batch_tag(setup, state, call, now, Tagging::Untag),
        Endpoint::TagsGetidlist => tags_getidlist(setup, state, call),
        Endpoint::TagsMembersGetblacklist => getblacklist(setup, state, call),
        Endpoint::TagsMembersBatchblacklist => batch_blacklist(setup, state, call, true),
        Endpoint::TagsMembersBatchunblacklist => batch_blacklist(setup, state, call, false),
        Endpoint::UserGet => user_get(setup, state, call),
        Endpoint::UserInfo => user_info(setup, state, call),
        Endpoint::UserInfoBatchget => user_info_batchget(setup, state, call),
    }
}

/// The checks both token endpoints make, in WeChat's order.
///
/// A wrong secret answers 40125 "invalid appsecret" on both endpoints. WeChat's classic endpoint
/// has been seen answering 40001 "AppSecret error" instead, but 40001 also means "bad token", and a
/// client that drops its token and refetches on 40001 would loop; one unambiguous code is kinder
/// and it is what `stable_token` answers.
fn check_credentials(
    setup: &Setup,
    grant_type: Option<&str>,
    appid: Option<&str>,
    secret: Option<&str>,
) -> Result<(), Errcode> {
    if grant_type != Some("client_credential") {
        return Err(Errcode::InvalidGrantType);
    }
    match appid {
        None | Some("") => return Err(Errcode::AppidMissing),
        Some(a) if a != setup.config.appid => return Err(Errcode::InvalidAppid),
        Some(_) => {}
    }
    match secret {
        None | Some("") => Err(Errcode::AppsecretMissing),
        Some(s) if s != setup.config.secret => Err(Errcode::InvalidAppsecret),
        Some(_) => Ok(()),
    }
}

/// `GET /cgi-bin/token?grant_type=client_credential&appid=..&secret=..`
fn token(
    setup: &Setup,
    state: &mut SimState,
    call: &Call<'_>,
    now: Instant,
) -> Result<Value, Errcode> {
    check_credentials(
        setup,
        call.param("grant_type"),
        call.param("appid"),
        call.param("secret"),
    )?;
    let issued = state.tokens.issue_classic(now);
    Ok(json!({ "access_token": issued.access_token, "expires_in": issued.expires_in }))
}

#[derive(Deserialize)]
struct StableTokenRequest {
    grant_type: Option<String>,
    appid: Option<String>,
    secret: Option<String>,
    #[serde(default)]
    force_refresh: bool,
}

/// `POST /cgi-bin/stable_token` with a JSON body (WeChat takes no query parameters here).
fn stable_token(
    setup: &Setup,
    state: &mut SimState,
    call: &Call<'_>,
    now: Instant,
) -> Result<Value, Errcode> {
    let req: StableTokenRequest = call.json()?;
    check_credentials(
        setup,
        req.grant_type.as_deref(),
        req.appid.as_deref(),
        req.secret.as_deref(),
    )?;
    let issued = state.tokens.issue_stable(now, req.force_refresh)?;
    Ok(json!({ "access_token": issued.access_token, "expires_in": issued.expires_in }))
}

/// `{"name":".."}`, inside a group or a tag.
#[derive(Deserialize)]
struct NameOnly {
    name: String,
}

#[derive(Deserialize)]
struct CreateRequest {
    group: NameOnly,
}

/// `POST /cgi-bin/groups/create` `{"group":{"name":".."}}`
fn groups_create(state: &mut SimState, call: &Call<'_>) -> Result<Value, Errcode> {
    let req: CreateRequest = call.json()?;
    let id = state.account.create(&req.group.name)?;
    Ok(json!({ "group": { "id": id, "name": req.group.name } }))
}

/// `GET /cgi-bin/groups/get`
fn groups_get(state: &SimState) -> Value {
    let groups: Vec<Value> = state
        .account
        .groups()
        .map(|(id, g)| json!({ "id": id, "name": g.name, "count": g.count }))
        .collect();
    json!({ "groups": groups })
}

#[derive(Deserialize)]
struct OpenidRequest {
    openid: String,
}

/// `POST /cgi-bin/groups/getid` `{"openid":".."}`
fn groups_getid(setup: &Setup, state: &SimState, call: &Call<'_>) -> Result<Value, Errcode> {
    let req: OpenidRequest = call.json()?;
    let index = follower(setup, state, &req.openid)?;
    let groupid = state
        .account
        .group_of(index)
        .ok_or(Errcode::InvalidOpenid)?;
    Ok(json!({ "groupid": groupid }))
}

/// `{"id":N,"name":".."}`, inside a group or a tag.
#[derive(Deserialize)]
struct IdAndName {
    id: i64,
    name: String,
}

#[derive(Deserialize)]
struct UpdateRequest {
    group: IdAndName,
}

/// `POST /cgi-bin/groups/update` `{"group":{"id":N,"name":".."}}`
fn groups_update(state: &mut SimState, call: &Call<'_>) -> Result<Value, Errcode> {
    let req: UpdateRequest = call.json()?;
    state
        .account
        .rename(group_id(req.group.id)?, &req.group.name)?;
    Ok(ok())
}

/// `{"id":N}`, inside a group or a tag.
#[derive(Deserialize)]
struct IdOnly {
    id: i64,
}

#[derive(Deserialize)]
struct DeleteRequest {
    group: IdOnly,
}

/// `POST /cgi-bin/groups/delete` `{"group":{"id":N}}`
fn groups_delete(state: &mut SimState, call: &Call<'_>) -> Result<Value, Errcode> {
    let req: DeleteRequest = call.json()?;
    state.account.delete(group_id(req.group.id)?)?;
    Ok(ok())
}

#[derive(Deserialize)]
struct MoveRequest {
    openid: String,
    to_groupid: i64,
}

/// `POST /cgi-bin/groups/members/update` `{"openid":"..","to_groupid":N}`
///
/// The OpenID is checked before the group (40003 before 40050), like `batchupdate`.
fn members_update(setup: &Setup, state: &mut SimState, call: &Call<'_>) -> Result<Value, Errcode> {
    let req: MoveRequest = call.json()?;
    let index = follower(setup, state, &req.openid)?;
    state
        .account
        .move_members(&[index], group_id(req.to_groupid)?)?;
    Ok(ok())
}

#[derive(Deserialize)]
struct BatchMoveRequest {
    openid_list: Vec<String>,
    to_groupid: i64,
}

/// `POST /cgi-bin/groups/members/batchupdate` `{"openid_list":[..],"to_groupid":N}`
///
/// All or nothing: one unknown OpenID answers 40003 and nobody moves, so a client can narrow a
/// failing chunk down by splitting it. Paced (see [`check_pace`]).
fn members_batchupdate(
    setup: &Setup,
    state: &mut SimState,
    call: &Call<'_>,
    now: Instant,
) -> Result<Value, Errcode> {
    check_pace(setup, state, now)?;
    let req: BatchMoveRequest = call.json()?;
    if req.openid_list.is_empty() || req.openid_list.len() > BATCH_MOVE_MAX {
        return Err(Errcode::InvalidOpenidListSize);
    }
    let indexes = req
        .openid_list
        .iter()
        .map(|o| follower(setup, state, o))
        .collect::<Result<Vec<u32>, Errcode>>()?;
    let to = group_id(req.to_groupid)?;
    state.account.move_members(&indexes, to)?;
    count_pace(setup, state, now);
    state.log_batch(indexes, to);
    Ok(ok())
}

/// The per-minute limit of the paced calls (`batchupdate`, `batchtagging`, `batchuntagging`,
/// one window for all three): beyond `batch_per_minute` calls in the window, 45011 and nothing
/// changes. Only calls carried out count (see [`count_pace`]), refused ones do not.
fn check_pace(setup: &Setup, state: &mut SimState, now: Instant) -> Result<(), Errcode> {
    let Some(limit) = setup.config.batch_per_minute else {
        return Ok(());
    };
    let window = setup.config.batch_window;
    while state
        .batch_times
        .front()
        .is_some_and(|&t| now.duration_since(t) >= window)
    {
        state.batch_times.pop_front();
    }
    if state.batch_times.len() >= limit as usize {
        return Err(Errcode::MinuteQuota);
    }
    Ok(())
}

/// Counts a paced call carried out towards the limit.
fn count_pace(setup: &Setup, state: &mut SimState, now: Instant) {
    if setup.config.batch_per_minute.is_some() {
        state.batch_times.push_back(now);
    }
}

#[derive(Deserialize)]
struct TagCreateRequest {
    tag: NameOnly,
}

/// `POST /cgi-bin/tags/create` `{"tag":{"name":".."}}`
fn tags_create(state: &mut SimState, call: &Call<'_>) -> Result<Value, Errcode> {
    let req: TagCreateRequest = call.json()?;
    let id = state.tags.create(&req.tag.name)?;
    Ok(json!({ "tag": { "id": id, "name": req.tag.name } }))
}

/// `GET /cgi-bin/tags/get`: every tag, 2 (星标组) included, ordered by id; 0 and 1 are not tags
/// one can list.
fn tags_get(state: &SimState) -> Value {
    let tags: Vec<Value> = state
        .tags
        .list()
        .map(|(id, name, count)| json!({ "id": id, "name": name, "count": count }))
        .collect();
    json!({ "tags": tags })
}

#[derive(Deserialize)]
struct TagUpdateRequest {
    tag: IdAndName,
}

/// `POST /cgi-bin/tags/update` `{"tag":{"id":N,"name":".."}}`
fn tags_update(state: &mut SimState, call: &Call<'_>) -> Result<Value, Errcode> {
    let req: TagUpdateRequest = call.json()?;
    state.tags.rename(tag_id(req.tag.id)?, &req.tag.name)?;
    Ok(ok())
}

#[derive(Deserialize)]
struct TagDeleteRequest {
    tag: IdOnly,
}

/// `POST /cgi-bin/tags/delete` `{"tag":{"id":N}}`
fn tags_delete(state: &mut SimState, call: &Call<'_>) -> Result<Value, Errcode> {
    let req: TagDeleteRequest = call.json()?;
    state.tags.delete(tag_id(req.tag.id)?)?;
    Ok(ok())
}

#[derive(Deserialize)]
struct TagMembersRequest {
    tagid: i64,
    #[serde(default)]
    next_openid: String,
}

/// `POST /cgi-bin/user/tag/get` `{"tagid":N,"next_openid":".."}`: the tag's members in follower
/// order, [`TAG_MEMBERS_PAGE`] a page, paged as `user/get` is. The tag is checked before the
/// OpenID (45159 before 40003).
fn user_tag_get(setup: &Setup, state: &SimState, call: &Call<'_>) -> Result<Value, Errcode> {
    let req: TagMembersRequest = call.json()?;
    let id = tag_id(req.tagid)?;
    state.tags.members_len(id).ok_or(Errcode::InvalidTagId)?;
    let after = cursor(setup, state, &req.next_openid)?;
    let page = state.tags.members_after(id, after, TAG_MEMBERS_PAGE)?;
    let (openids, next_openid) = openid_page(setup, &page);
    Ok(json!({
        "count": openids.len(),
        "data": { "openid": openids },
        "next_openid": next_openid,
    }))
}

#[derive(Deserialize)]
struct BatchTagRequest {
    openid_list: Vec<String>,
    tagid: i64,
}

/// Which of the two tagging calls, by the name the tag log gives it.
#[derive(Debug, Clone, Copy)]
enum Tagging {
    Tag,
    Untag,
}

impl Tagging {
    fn label(self) -> &'static str {
        match self {
            Self::Tag => "batchtagging",
            Self::Untag => "batchuntagging",
        }
    }
}

/// `POST /cgi-bin/tags/members/batchtagging` and `batchuntagging`
/// `{"openid_list":[..],"tagid":N}`.
///
/// Checked in `batchupdate`'s order: the pace (45011), the list's size (40032), each OpenID
/// (40003, or 49003 for another AppID's), the tag (45058 for 0 and 1, 45159 unknown), then the
/// 20-tag limit (45059). All or nothing: on any error nobody changes.
fn batch_tag(
    setup: &Setup,
    state: &mut SimState,
    call: &Call<'_>,
    now: Instant,
    tagging: Tagging,
) -> Result<Value, Errcode> {
    check_pace(setup, state, now)?;
    let req: BatchTagRequest = call.json()?;
    let indexes = tag_api_followers(setup, state, &req.openid_list, BATCH_TAG_MAX)?;
    let id = tag_id(req.tagid)?;
    match tagging {
        Tagging::Tag => state.tags.tag(id, &indexes)?,
        Tagging::Untag => state.tags.untag(id, &indexes)?,
    }
    count_pace(setup, state, now);
    state.log_tagging(tagging.label(), indexes, id);
    Ok(ok())
}

/// `POST /cgi-bin/tags/getidlist` `{"openid":".."}`: the follower's tags, ascending.
fn tags_getidlist(setup: &Setup, state: &SimState, call: &Call<'_>) -> Result<Value, Errcode> {
    let req: OpenidRequest = call.json()?;
    let index = tag_api_follower(setup, state, &req.openid)?;
    Ok(json!({ "tagid_list": state.tags.tags_of(index) }))
}

#[derive(Deserialize)]
struct BlacklistRequest {
    #[serde(default)]
    begin_openid: String,
}

/// `POST /cgi-bin/tags/members/getblacklist` `{"begin_openid":".."}`: blacklisted followers in
/// follower order, [`BLACKLIST_PAGE`] a page, paged as `user/get` is (the page starts after
/// `begin_openid`).
fn getblacklist(setup: &Setup, state: &SimState, call: &Call<'_>) -> Result<Value, Errcode> {
    let req: BlacklistRequest = call.json()?;
    let after = cursor(setup, state, &req.begin_openid)?;
    let page = state.tags.blacklist_after(after, BLACKLIST_PAGE);
    let (openids, next_openid) = openid_page(setup, &page);
    Ok(json!({
        "total": state.tags.blacklist_len(),
        "count": openids.len(),
        "data": { "openid": openids },
        "next_openid": next_openid,
    }))
}

#[derive(Deserialize)]
struct BatchBlacklistRequest {
    openid_list: Vec<String>,
}

/// `POST /cgi-bin/tags/members/batchblacklist` and `batchunblacklist` `{"openid_list":[..]}`:
/// 1 to 20 OpenIDs, all or nothing like tagging. Not paced: WeChat publishes no minute limit here.
fn batch_blacklist(
    setup: &Setup,
    state: &mut SimState,
    call: &Call<'_>,
    blacklist: bool,
) -> Result<Value, Errcode> {
    let req: BatchBlacklistRequest = call.json()?;
    let indexes = tag_api_followers(setup, state, &req.openid_list, BATCH_BLACKLIST_MAX)?;
    if blacklist {
        state.tags.blacklist(&indexes);
    } else {
        state.tags.unblacklist(&indexes);
    }
    Ok(ok())
}

/// `GET /cgi-bin/user/get?next_openid=..`: 10,000 OpenIDs a page in follower order. Each page's
/// `next_openid` is its last OpenID; the page after the last one is empty with `next_openid` "".
fn user_get(setup: &Setup, state: &SimState, call: &Call<'_>) -> Result<Value, Errcode> {
    let total = state.account.followers();
    let start = match call.param("next_openid").filter(|s| !s.is_empty()) {
        None => 0,
        Some(openid) => follower(setup, state, openid)?.saturating_add(1),
    };
    let end = start.saturating_add(USER_GET_PAGE as u32).min(total);
    let openids: Vec<String> = (start..end).map(|i| setup.codec.encode(i)).collect();
    let next_openid = openids.last().cloned().unwrap_or_default();
    Ok(json!({
        "total": total,
        "count": openids.len(),
        "data": { "openid": openids },
        "next_openid": next_openid,
    }))
}

/// `GET /cgi-bin/user/info?openid=..&lang=zh_CN`
fn user_info(setup: &Setup, state: &SimState, call: &Call<'_>) -> Result<Value, Errcode> {
    let openid = call.param("openid").unwrap_or_default();
    user_json(setup, state, openid)
}

#[derive(Deserialize)]
struct UserListItem {
    openid: String,
}

#[derive(Deserialize)]
struct BatchInfoRequest {
    user_list: Vec<UserListItem>,
}

/// `POST /cgi-bin/user/info/batchget` `{"user_list":[{"openid":"..","lang":"zh_CN"},...]}`
fn user_info_batchget(setup: &Setup, state: &SimState, call: &Call<'_>) -> Result<Value, Errcode> {
    let req: BatchInfoRequest = call.json()?;
    if req.user_list.is_empty() || req.user_list.len() > BATCH_INFO_MAX {
        return Err(Errcode::InvalidOpenidListSize);
    }
    let list = req
        .user_list
        .iter()
        .map(|u| user_json(setup, state, &u.openid))
        .collect::<Result<Vec<Value>, Errcode>>()?;
    Ok(json!({ "user_info_list": list }))
}

/// One user's info. An OpenID of this account that does not (or no longer) follow it gets
/// `{"subscribe":0,"openid":..}`, as WeChat answers for unfollowed users; a string that is not an
/// OpenID of this account at all is 40003.
fn user_json(setup: &Setup, state: &SimState, openid: &str) -> Result<Value, Errcode> {
    let index = setup.codec.decode(openid).ok_or(Errcode::InvalidOpenid)?;
    let Some(groupid) = state.account.group_of(index) else {
        return Ok(json!({ "subscribe": 0, "openid": openid }));
    };
    let followers = u64::from(state.account.followers().max(1));
    let subscribe_time =
        FIRST_SUBSCRIBE + (LAST_SUBSCRIBE - FIRST_SUBSCRIBE) * u64::from(index) / followers;
    Ok(json!({
        "subscribe": 1,
        "openid": openid,
        "language": "zh_CN",
        "subscribe_time": subscribe_time,
        "remark": "",
        "groupid": groupid,
        "tagid_list": state.tags.tags_of(index),
        "subscribe_scene": "ADD_SCENE_QR_CODE",
        "qr_scene": 0,
        "qr_scene_str": "",
    }))
}

/// The follower index behind an OpenID, or 40003 if it is not a current follower.
fn follower(setup: &Setup, state: &SimState, openid: &str) -> Result<u32, Errcode> {
    setup
        .codec
        .decode(openid)
        .filter(|&i| i < state.account.followers())
        .ok_or(Errcode::InvalidOpenid)
}

/// The follower index behind an OpenID in the tag API, which tells another AppID's OpenID
/// (49003) from one that is not this account's follower or not an OpenID at all (40003). See
/// `openid.rs` for how the simulator knows another account's OpenID when it sees one.
fn tag_api_follower(setup: &Setup, state: &SimState, openid: &str) -> Result<u32, Errcode> {
    match setup.codec.classify(openid) {
        Decoded::Ours(index) if index < state.account.followers() => Ok(index),
        Decoded::OtherAccount => Err(Errcode::OpenidOfAnotherAppid),
        Decoded::Ours(_) | Decoded::Malformed => Err(Errcode::InvalidOpenid),
    }
}

/// The followers of a tag API list: 1 to `max` OpenIDs (else 40032), each a follower; the first
/// that is not decides the answer.
fn tag_api_followers(
    setup: &Setup,
    state: &SimState,
    openids: &[String],
    max: usize,
) -> Result<Vec<u32>, Errcode> {
    if openids.is_empty() || openids.len() > max {
        return Err(Errcode::InvalidOpenidListSize);
    }
    openids
        .iter()
        .map(|o| tag_api_follower(setup, state, o))
        .collect()
}

/// Where a page starts: after the follower named by `openid`, or at the start if it is empty.
/// A paging cursor is only a place in the list, so a non-follower there is 40003 whatever its
/// AppID, as in `user/get`.
fn cursor(setup: &Setup, state: &SimState, openid: &str) -> Result<Option<u32>, Errcode> {
    if openid.is_empty() {
        return Ok(None);
    }
    follower(setup, state, openid).map(Some)
}

/// A page's OpenIDs and its `next_openid`: its last OpenID, or "" for an empty page, so that the
/// page after the last one is empty with `next_openid` "" (`user/get`'s convention).
fn openid_page(setup: &Setup, indexes: &[u32]) -> (Vec<String>, String) {
    let openids: Vec<String> = indexes.iter().map(|&i| setup.codec.encode(i)).collect();
    let next_openid = openids.last().cloned().unwrap_or_default();
    (openids, next_openid)
}

/// A tag id from a request. One that cannot be a tag id at all (negative, beyond 32 bits) is
/// "invalid tag id", like one that does not exist.
fn tag_id(id: i64) -> Result<u32, Errcode> {
    u32::try_from(id).map_err(|_| Errcode::InvalidTagId)
}

/// A group id from a request. One that cannot be a group id at all (negative, beyond 32 bits) is
/// "invalid group id", like one that does not exist.
fn group_id(id: i64) -> Result<u32, Errcode> {
    u32::try_from(id).map_err(|_| Errcode::InvalidGroupId)
}
