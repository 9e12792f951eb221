//! The Official Account and how WeChat is reached: the AppID and its secret, the token source,
//! the API's base URL and how long a call may take.

use std::path::PathBuf;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};

use super::error::{Scope, SettingsError, named};
use crate::domain::Api;
use crate::wechat::TokenMode;

/// A real Official Account.
#[derive(Clone)]
pub struct Account {
    pub appid: String,
    pub secret: SecretString,
}

impl std::fmt::Debug for Account {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Account")
            .field("appid", &self.appid)
            .field("secret", &"[redacted]")
            .finish()
    }
}

/// `token_mode` and `token_url`: a URL exactly when the mode is `external`.
pub(super) fn token(
    scope: Scope,
    mode: &str,
    url: Option<String>,
) -> Result<(TokenMode, Option<String>), SettingsError> {
    let token_mode: TokenMode = mode.parse().map_err(|_| {
        SettingsError(format!(
            "setting {} is {mode:?}; use `stable` (the default), `classic` or `external`",
            scope.name("token_mode"),
        ))
    })?;
    let token_url = url.map(|u| u.trim().to_owned()).filter(|u| !u.is_empty());
    match (&token_mode, &token_url) {
        (TokenMode::External, None) => Err(SettingsError(format!(
            "{} is external but {} is not set: name the token service's URL",
            scope.name("token_mode"),
            scope.name("token_url")
        ))),
        (TokenMode::External, Some(u))
            if !(u.starts_with("http://") || u.starts_with("https://")) =>
        {
            Err(SettingsError(format!(
                "setting {} is not an http(s) URL",
                scope.name("token_url")
            )))
        }
        (TokenMode::Stable | TokenMode::Classic, Some(_)) => Err(SettingsError(format!(
            "{} is set but {} is not `external`: set both or neither",
            scope.name("token_url"),
            scope.name("token_mode")
        ))),
        _ => Ok((token_mode, token_url)),
    }
}

/// `api`: `groups` or `tags`.
pub(super) fn which_api(scope: Scope, value: &str) -> Result<Api, SettingsError> {
    value.parse().map_err(|_| {
        SettingsError(format!(
            "setting {} is {value:?}; use `groups` (the default, WeChat's original group API) or `tags` (its user-tag API)",
            scope.name("api"),
        ))
    })
}

/// `wechat_api`: an http(s) base URL, without its trailing slash.
pub(super) fn api(scope: Scope, value: &str) -> Result<String, SettingsError> {
    let wechat_api = value.trim_end_matches('/').to_owned();
    if !(wechat_api.starts_with("https://") || wechat_api.starts_with("http://"))
        || wechat_api.len() <= "https://".len()
    {
        return Err(SettingsError(format!(
            "setting {} is {value:?}, which is not an http(s) URL such as https://api.weixin.qq.com",
            scope.name("wechat_api"),
        )));
    }
    Ok(wechat_api)
}

/// `upstream_timeout_secs`: 1 to 120 seconds.
pub(super) fn upstream_timeout(secs: u64) -> Result<Duration, SettingsError> {
    if secs == 0 || secs > 120 {
        return Err(SettingsError(format!(
            "setting {} must be between 1 and 120 seconds",
            named("upstream_timeout_secs")
        )));
    }
    Ok(Duration::from_secs(secs))
}

/// `appid` with `appsecret` or `appsecret_file`: both or neither (the demo account).
pub(super) fn account(
    scope: Scope,
    appid: Option<String>,
    appsecret: Option<String>,
    appsecret_file: Option<PathBuf>,
) -> Result<Option<Account>, SettingsError> {
    let secret = secret(scope, appsecret, appsecret_file)?;
    let appid = appid.map(|a| a.trim().to_owned()).filter(|a| !a.is_empty());
    match (appid, secret) {
        (Some(appid), Some(secret)) => {
            if secret.expose_secret().is_empty() {
                return Err(SettingsError(format!(
                    "setting {} is empty",
                    scope.name("appsecret")
                )));
            }
            if !appid.bytes().all(|b| b.is_ascii_alphanumeric()) {
                return Err(SettingsError(format!(
                    "setting {} is {appid:?}; an AppID has only letters and digits (wx…)",
                    scope.name("appid")
                )));
            }
            Ok(Some(Account { appid, secret }))
        }
        (Some(_), None) => Err(SettingsError(format!(
            "{} is set but no AppSecret: set {} or {}",
            scope.name("appid"),
            scope.name("appsecret"),
            scope.name("appsecret_file")
        ))),
        (None, Some(_)) => Err(SettingsError(format!(
            "an AppSecret is set but no AppID: set {}",
            scope.name("appid")
        ))),
        (None, None) => Ok(None),
    }
}

/// The AppSecret, given in the setting itself or in a file (trimmed), never both.
fn secret(
    scope: Scope,
    appsecret: Option<String>,
    appsecret_file: Option<PathBuf>,
) -> Result<Option<SecretString>, SettingsError> {
    match (appsecret, appsecret_file) {
        (Some(_), Some(_)) => Err(SettingsError(format!(
            "both {} and {} are set: keep only one",
            scope.name("appsecret"),
            scope.name("appsecret_file")
        ))),
        (Some(s), None) => Ok(Some(SecretString::from(s))),
        (None, Some(path)) => {
            let text = std::fs::read_to_string(&path).map_err(|e| {
                SettingsError(format!(
                    "setting {}: cannot read {} ({e})",
                    scope.name("appsecret_file"),
                    path.display()
                ))
            })?;
            Ok(Some(SecretString::from(text.trim().to_owned())))
        }
        (None, None) => Ok(None),
    }
}
