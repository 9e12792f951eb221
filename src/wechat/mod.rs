//! The only code that talks to WeChat: typed calls, the access_token, errcodes.
//!
//! - [`WeChatClient`] (`client.rs`): one method per group call of WECHAT_API.md, all going through
//!   one private `call` that attaches the token and retries once when WeChat refuses it.
//! - `token.rs`: the access_token from the stable (default) or classic endpoint, cached until
//!   shortly before it expires, fetched by one caller at a time.
//! - [`WeChatError`] (`errors.rs`): an errcode, a transport failure or a locally refused call, each
//!   with a title and an explanation in the operator's language; [`explain_code`] is the table.
//! - `wire.rs`: the JSON shapes, private to this module.
//!
//! Secrets: the AppSecret and every token are `SecretString`s; no `Debug`, error detail or log
//! line produced here contains them (URLs are stripped from HTTP errors, and known secrets are
//! scrubbed from anything quoted from an answer).

mod client;
mod errors;
mod token;
mod wire;

pub use client::{ClientConfig, Group, MAX_BATCH, WeChatClient};
pub use errors::{TransportKind, WeChatError, explain_code};
pub use token::{ParseTokenModeError, TokenMode};
