//! The Official Account and how WeChat is reached: the AppID and its secret, the token source,
//! the API's base URL and how long a call may take.

use std::path::PathBuf;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};

use super::error::{SettingsError, named};
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
    mode: &str,
    url: Option<String>,
) -> Result<(TokenMode, Option<String>), SettingsError> {
    let token_mode: TokenMode = mode.parse().map_err(|_| {
        SettingsError(format!(
            "setting {} is {mode:?}; use `stable` (the default), `classic` or `external`",
            named("token_mode"),
        ))
    })?;
    let token_url = url.map(|u| u.trim().to_owned()).filter(|u| !u.is_empty());
    match (&token_mode, &token_url) {
        (TokenMode::External, None) => Err(SettingsError(format!(
            "{} is external but {} is not set: name the token service's URL",
            named("token_mode"),
            named("token_url")
        ))),
        (TokenMode::External, Some(u))
            if !(u.starts_with("http://") || u.starts_with("https://")) =>
        {
            Err(SettingsError(format!(
                "setting {} is not an http(s) URL",
                named("token_url")
            )))
        }
        (TokenMode::Stable | TokenMode::Classic, Some(_)) => Err(SettingsError(format!(
            "{} is set but {} is not `external`: set both or neither",
            named("token_url"),
            named("token_mode")
        ))),
        _ => Ok((token_mode, token_url)),
    }
}

/// `api`: `groups` or `tags`.
pub(super) fn which_api(value: &str) -> Result<Api, SettingsError> {
    value.parse().map_err(|_| {
        SettingsError(format!(
            "setting {} is {value:?}; use `groups` (the default, WeChat's original group API) or `tags` (its user-tag API)",
            named("api"),
        ))
    })
}

/// `wechat_api`: an http(s) base URL, without its trailing slash.
pub(super) fn api(value: &str) -> Result<String, SettingsError> {
    let wechat_api = value.trim_end_matches('/').to_owned();
    if !(wechat_api.starts_with("https://") || wechat_api.starts_with("http://"))
        || wechat_api.len() <= "https://".len()
    {
        return Err(SettingsError(format!(
            "setting {} is {value:?}, which is not an http(s) URL such as https://api.weixin.qq.com",
            named("wechat_api"),
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
    appid: Option<String>,
    appsecret: Option<String>,
    appsecret_file: Option<PathBuf>,
) -> Result<Option<Account>, SettingsError> {
    let secret = secret(appsecret, appsecret_file)?;
    let appid = appid.map(|a| a.trim().to_owned()).filter(|a| !a.is_empty());
    match (appid, secret) {
        (Some(appid), Some(secret)) => {
            if secret.expose_secret().is_empty() {
                return Err(SettingsError(format!(
                    "setting {} is empty",
                    named("appsecret")
                )));
            }
            if !appid.bytes().all(|b| b.is_ascii_alphanumeric()) {
                return Err(SettingsError(format!(
                    "setting {} is {appid:?}; an AppID has only letters and digits (wx…)",
                    named("appid")
                )));
            }
            Ok(Some(Account { appid, secret }))
        }
        (Some(_), None) => Err(SettingsError(format!(
            "{} is set but no AppSecret: set {} or {}",
            named("appid"),
            named("appsecret"),
            named("appsecret_file")
        ))),
        (None, Some(_)) => Err(SettingsError(format!(
            "an AppSecret is set but no AppID: set {}",
            named("appid")
        ))),
        (None, None) => Ok(None),
    }
}

/// The AppSecret, given in the setting itself or in a file (trimmed), never both.
fn secret(
    appsecret: Option<String>,
    appsecret_file: Option<PathBuf>,
) -> Result<Option<SecretString>, SettingsError> {
    match (appsecret, appsecret_file) {
        (Some(_), Some(_)) => Err(SettingsError(format!(
            "both {} and {} are set: keep only one",
            named("appsecret"),
            named("appsecret_file")
        ))),
        (Some(s), None) => Ok(Some(SecretString::from(s))),
        (None, Some(path)) => {
            let text = std::fs::read_to_string(&path).map_err(|e| {
                SettingsError(format!(
                    "setting {}: cannot read {} ({e})",
                    named("appsecret_file"),
                    path.display()
                ))
            })?;
            Ok(Some(SecretString::from(text.trim().to_owned())))
        }
        (None, None) => Ok(None),
    }
}
