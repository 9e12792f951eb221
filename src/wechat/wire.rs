//! The JSON WeChat reads and writes, exactly as WECHAT_API.md documents it.
//!
//! These types are private to the client: the rest of the app sees [`super::Group`] and domain
//! types, so a change of wire format stays in this file.

use serde::{Deserialize, Serialize};

/// `POST groups/create`: `{"group":{"name":"test"}}`.
#[derive(Serialize)]
pub(super) struct CreateGroup<'a> {
    pub group: NewGroup<'a>,
}

#[derive(Serialize)]
pub(super) struct NewGroup<'a> {
    pub name: &'a str,
}

/// `POST groups/update`: `{"group":{"id":108,"name":"test2"}}`.
#[derive(Serialize)]
pub(super) struct RenameGroup<'a> {
    pub group: GroupIdName<'a>,
}

#[derive(Serialize)]
pub(super) struct GroupIdName<'a> {
    pub id: u32,
    pub name: &'a str,
}

/// `POST groups/delete`: `{"group":{"id":108}}`.
#[derive(Serialize)]
pub(super) struct DeleteGroup {
    pub group: GroupRef,
}

#[derive(Serialize)]
pub(super) struct GroupRef {
    pub id: u32,
}

/// `POST groups/getid`: `{"openid":"..."}`.
#[derive(Serialize)]
pub(super) struct GetUserGroup<'a> {
    pub openid: &'a str,
}

/// `POST groups/members/update`: `{"openid":"...","to_groupid":108}`.
#[derive(Serialize)]
pub(super) struct MoveUser<'a> {
    pub openid: &'a str,
    pub to_groupid: u32,
}

/// `POST groups/members/batchupdate`: `{"openid_list":[...],"to_groupid":108}`.
#[derive(Serialize)]
pub(super) struct MoveUsers<'a> {
    pub openid_list: Vec<&'a str>,
    pub to_groupid: u32,
}

/// `POST stable_token`. Holds the AppSecret only for the time of the request.
#[derive(Serialize)]
pub(super) struct StableTokenRequest<'a> {
    pub grant_type: &'static str,
    pub appid: &'a str,
    pub secret: &'a str,
    /// Always false: a forced refresh is limited to 20 a day and knocks out every other holder.
    pub force_refresh: bool,
}

/// `GET groups/get` → `{"groups":[{"id":0,"name":"未分组","count":72596},...]}`.
#[derive(Deserialize)]
pub(super) struct GroupList {
    pub groups: Vec<WireGroup>,
}

#[derive(Deserialize)]
pub(super) struct WireGroup {
    pub id: u32,
    pub name: String,
    pub count: u64,
}

/// `POST groups/create` → `{"group":{"id":107,"name":"test"}}`.
#[derive(Deserialize)]
pub(super) struct Created {
    pub group: CreatedGroup,
}

#[derive(Deserialize)]
pub(super) struct CreatedGroup {
    pub id: u32,
    pub name: String,
}

/// `POST groups/getid` → `{"groupid":102}`.
#[derive(Deserialize)]
pub(super) struct UserGroup {
    pub groupid: u32,
}

/// A write's success: `{"errcode":0,"errmsg":"ok"}`.
///
/// Requiring the field means an empty object or an unrelated JSON document counts as a bad body
/// rather than a silent success. (A non-zero errcode never gets here: it is an `Api` error first.)
#[derive(Deserialize)]
pub(super) struct Ack {
    #[allow(dead_code)] // read by serde to insist on its presence
    pub errcode: i64,
}

/// Both token endpoints → `{"access_token":"...","expires_in":7200}`.
#[derive(Deserialize)]
pub(super) struct TokenResponse {
    pub access_token: String,
    pub expires_in: u64,
}

/// `GET user/get` → `{"total":N,"count":n,"data":{"openid":[...]},"next_openid":"..."}`.
/// WeChat leaves `data` out of an empty page.
#[derive(Deserialize)]
pub(super) struct UserList {
    pub total: u64,
    #[serde(default)]
    pub data: Option<OpenIdList>,
    #[serde(default)]
    pub next_openid: String,
}

#[derive(Deserialize)]
pub(super) struct OpenIdList {
    #[serde(default)]
    pub openid: Vec<String>,
}

/// `POST user/info/batchget`: `{"user_list":[{"openid":"...","lang":"zh_CN"},...]}`.
#[derive(Serialize)]
pub(super) struct BatchInfoRequest<'a> {
    pub user_list: Vec<UserRef<'a>>,
}

#[derive(Serialize)]
pub(super) struct UserRef<'a> {
    pub openid: &'a str,
    pub lang: &'static str,
}

/// `POST user/info/batchget` → `{"user_info_list":[{"subscribe":1,"openid":..,"groupid":..},...]}`.
#[derive(Deserialize)]
pub(super) struct BatchInfo {
    pub user_info_list: Vec<UserInfo>,
}

#[derive(Deserialize)]
pub(super) struct UserInfo {
    pub subscribe: u8,
    pub openid: String,
    #[serde(default)]
    pub groupid: Option<u32>,
    /// The follower's tags (WeChat sends both `groupid` and `tagid_list`).
    #[serde(default)]
    pub tagid_list: Vec<u32>,
}

/// `POST tags/create`: `{"tag":{"name":"广东"}}`.
#[derive(Serialize)]
pub(super) struct CreateTag<'a> {
    pub tag: NewGroup<'a>,
}

/// `POST tags/update`: `{"tag":{"id":134,"name":"广东人"}}`.
#[derive(Serialize)]
pub(super) struct RenameTag<'a> {
    pub tag: GroupIdName<'a>,
}

/// `POST tags/delete`: `{"tag":{"id":134}}`.
#[derive(Serialize)]
pub(super) struct DeleteTag {
    pub tag: GroupRef,
}

/// `GET tags/get` → `{"tags":[{"id":2,"name":"星标组","count":0},...]}`.
#[derive(Deserialize)]
pub(super) struct TagList {
    pub tags: Vec<WireGroup>,
}

/// `POST tags/create` → `{"tag":{"id":134,"name":"广东"}}`.
#[derive(Deserialize)]
pub(super) struct CreatedTag {
    pub tag: CreatedGroup,
}

/// `POST tags/getidlist` → `{"tagid_list":[134,2]}`.
#[derive(Deserialize)]
pub(super) struct TagIdList {
    pub tagid_list: Vec<u32>,
}

/// `POST user/tag/get`: `{"tagid":134,"next_openid":""}`.
#[derive(Serialize)]
pub(super) struct TagMembersRequest<'a> {
    pub tagid: u32,
    pub next_openid: &'a str,
}

/// `POST tags/members/getblacklist`: `{"begin_openid":""}`.
#[derive(Serialize)]
pub(super) struct BlacklistRequest<'a> {
    pub begin_openid: &'a str,
}

/// `user/tag/get` and `getblacklist` → `{"count":n,"data":{"openid":[...]},"next_openid":"..."}`
/// (`getblacklist` adds `total`). An empty page may leave `data` out.
#[derive(Deserialize)]
pub(super) struct OpenIdPage {
    #[serde(default)]
    pub total: Option<u64>,
    #[serde(default)]
    pub data: Option<OpenIdList>,
    #[serde(default)]
    pub next_openid: String,
}

/// `batchtagging` / `batchuntagging`: `{"openid_list":[...],"tagid":134}`.
#[derive(Serialize)]
pub(super) struct TagUsers<'a> {
    pub openid_list: Vec<&'a str>,
    pub tagid: u32,
}

/// `batchblacklist` / `batchunblacklist`: `{"openid_list":[...]}`.
#[derive(Serialize)]
pub(super) struct OpenIdListBody<'a> {
    pub openid_list: Vec<&'a str>,
}
