//! WeChat's error answers: HTTP 200 with `{"errcode":N,"errmsg":"..."}`.

use std::fmt::Write as _;

use serde_json::{Value, json};

/// One WeChat error code with the message WeChat sends along.
///
/// The variants name the situation; [`Errcode::code`] and [`Errcode::message`] are WeChat's words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Errcode {
    /// -1: WeChat's "try again" for its own trouble (here: an id counter that ran out).
    SystemError,
    /// 40001: unknown, invalidated or superseded token (or, in WeChat's classic API, a bad secret).
    InvalidCredential,
    /// 40002: `grant_type` is not `client_credential`.
    InvalidGrantType,
    /// 40003: an OpenID that is malformed or not one of this account's followers.
    InvalidOpenid,
    /// 40013: an AppID that is not this account's.
    InvalidAppid,
    /// 40032: an OpenID list that is empty or longer than the endpoint allows.
    InvalidOpenidListSize,
    /// 40050: a group id that does not exist.
    InvalidGroupId,
    /// 40051: an empty group name.
    InvalidGroupName,
    /// 40125: a wrong AppSecret.
    InvalidAppsecret,
    /// 41001: no `access_token` in the query.
    AccessTokenMissing,
    /// 41002: no `appid` given to a token endpoint.
    AppidMissing,
    /// 41004: no `secret` given to a token endpoint.
    AppsecretMissing,
    /// 42001: a token past its lifetime.
    AccessTokenExpired,
    /// 43002: a POST endpoint called with another method.
    RequirePost,
    /// 45009: a daily limit is used up.
    DailyQuota,
    /// 45011: called again too soon.
    MinuteQuota,
    /// 45016: groups 0, 1 and 2 cannot be renamed or deleted.
    SystemGroup,
    /// 45017: a group name longer than 30 characters.
    GroupNameTooLong,
    /// 45018: the account already has 500 groups.
    TooManyGroups,
    /// 45056: the account already has 100 tags (标签数过多).
    TooManyTags,
    /// 45057: a tag with more than 100,000 followers cannot be deleted (标签粉丝过多不能删除).
    TagHasTooManyFollowers,
    /// 45058: tags 0, 1 and 2 are the system's own (不能修改0/1/2系统标签).
    SystemTag,
    /// 45059: a follower would carry more than 20 tags (用户标签数超限).
    FollowerHasTooManyTags,
    /// 45157: an empty tag name, or one another tag already has (标签名非法或重名).
    InvalidTagName,
    /// 45158: a tag name longer than 30 bytes in UTF-8 (标签名超过30字节).
    TagNameTooLong,
    /// 45159: a tag id that does not exist (非法的标签).
    InvalidTagId,
    /// 47001: the body is not JSON or lacks a field.
    DataFormat,
    /// 48001: an API this account may not call (a path the simulator does not know, or an API
    /// switched off in [`super::SimConfig`]).
    ApiUnauthorized,
    /// 49003: an OpenID of another AppID (openid不属于此AppID).
    OpenidOfAnotherAppid,
}

impl Errcode {
    pub(crate) fn code(self) -> i64 {
        match self {
            Self::SystemError => -1,
            Self::InvalidCredential => 40001,
            Self::InvalidGrantType => 40002,
            Self::InvalidOpenid => 40003,
            Self::InvalidAppid => 40013,
            Self::InvalidOpenidListSize => 40032,
            Self::InvalidGroupId => 40050,
            Self::InvalidGroupName => 40051,
            Self::InvalidAppsecret => 40125,
            Self::AccessTokenMissing => 41001,
            Self::AppidMissing => 41002,
            Self::AppsecretMissing => 41004,
            Self::AccessTokenExpired => 42001,
            Self::RequirePost => 43002,
            Self::DailyQuota => 45009,
            Self::MinuteQuota => 45011,
            Self::SystemGroup => 45016,
            Self::GroupNameTooLong => 45017,
            Self::TooManyGroups => 45018,
            Self::TooManyTags => 45056,
            Self::TagHasTooManyFollowers => 45057,
            Self::SystemTag => 45058,
            Self::FollowerHasTooManyTags => 45059,
            Self::InvalidTagName => 45157,
            Self::TagNameTooLong => 45158,
            Self::InvalidTagId => 45159,
            Self::DataFormat => 47001,
            Self::ApiUnauthorized => 48001,
            Self::OpenidOfAnotherAppid => 49003,
        }
    }

    /// WeChat's English errmsg (the wording WeChat's servers and the SDKs' tables use).
    ///
    /// For the tag codes (45056–45059, 45157–45159, 49003) WeChat publishes only the Chinese
    /// meaning; their English here is a plausible rendering in WeChat's style, not a quote.
    pub(crate) fn message(self) -> &'static str {
        match self {
            Self::SystemError => "system error",
            Self::InvalidCredential => "invalid credential, access_token is invalid or not latest",
            Self::InvalidGrantType => "invalid grant_type",
            Self::InvalidOpenid => "invalid openid",
            Self::InvalidAppid => "invalid appid",
            Self::InvalidOpenidListSize => "invalid openid list size",
            Self::InvalidGroupId => "invalid group id",
            Self::InvalidGroupName => "invalid group name",
            Self::InvalidAppsecret => "invalid appsecret",
            Self::AccessTokenMissing => "access_token missing",
            Self::AppidMissing => "appid missing",
            Self::AppsecretMissing => "appsecret missing",
            Self::AccessTokenExpired => "access_token expired",
            Self::RequirePost => "require POST method",
            Self::DailyQuota => "reach max api daily quota limit",
            Self::MinuteQuota => "api minute-quota reach limit  mustslower  retry next minute",
            Self::SystemGroup => "system group can not be changed",
            Self::GroupNameTooLong => "group name too long",
            Self::TooManyGroups => "too many group now, no need to add new",
            Self::TooManyTags => "too many tags",
            Self::TagHasTooManyFollowers => "can not delete the tag that has too many fans",
            Self::SystemTag => "can not modify sys tag",
            Self::FollowerHasTooManyTags => "user has too many tags",
            Self::InvalidTagName => "invalid tag name",
            Self::TagNameTooLong => "tag name too long",
            Self::InvalidTagId => "invalid tag id",
            Self::DataFormat => "data format error",
            Self::ApiUnauthorized => "api unauthorized",
            Self::OpenidOfAnotherAppid => "openid not belong to this appid",
        }
    }

    /// The JSON body WeChat answers with.
    ///
    /// Like WeChat, each message ends with a request id (" rid: …"): clients must act on `errcode`
    /// and never match the message text, and this keeps them honest.
    pub(crate) fn body(self) -> Value {
        let mut msg = String::from(self.message());
        let rid: [u32; 3] = rand::random();
        let _ = write!(msg, " rid: {:08x}-{:08x}-{:08x}", rid[0], rid[1], rid[2]);
        json!({ "errcode": self.code(), "errmsg": msg })
    }
}

/// `{"errcode":0,"errmsg":"ok"}`: what a successful write answers.
pub(crate) fn ok() -> Value {
    json!({ "errcode": 0, "errmsg": "ok" })
}
