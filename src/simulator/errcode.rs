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
    /// 47001: the body is not JSON or lacks a field.
    DataFormat,
    /// 48001: an API this account may not call (here: a path the simulator does not know).
    ApiUnauthorized,
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
            Self::DataFormat => 47001,
            Self::ApiUnauthorized => 48001,
        }
    }

    /// WeChat's English errmsg (the wording WeChat's servers and the SDKs' tables use).
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
            Self::DataFormat => "data format error",
            Self::ApiUnauthorized => "api unauthorized",
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
