//! The only code that talks to WeChat: typed calls, the access_token, errcodes.
//!
//! From the top down (each file imports only files below it):
//! - [`WeChatClient`] (`client.rs`): one method per group call of WECHAT_API.md, all going through
//!   one private `call` that passes the circuit breaker, attaches the token, retries once when
//!   WeChat refuses it, and retries transient failures as `retry.rs` says.
//! - `tags.rs`: the calls only the user-tag API has (a follower's tags, batch tagging, a tag's
//!   members, the blacklist); the tag list, create, rename and delete share `client.rs`'s code.
//! - `token.rs`: the access_token from the stable (default) or classic endpoint or an external
//!   token service, cached until shortly before it expires, fetched by one caller at a time.
//! - `retry.rs`: the retry policy, one table by call kind (read, absolute write, delete, create).
//! - `circuit.rs`: the circuit breaker; [`CircuitStatus`] is what a banner or `/metrics` shows.
//! - `transport.rs`: one HTTP exchange and the reading of its answer, counted (metrics and the
//!   [`CallObserver`]) and logged once; knows nothing about tokens or retries.
//! - `endpoint.rs`: the upstream endpoints, their paths and labels.
//! - [`WeChatError`] (`errors.rs`): an errcode, a transport failure or a locally refused call, each
//!   with a title and an explanation in the operator's language; [`explain_code`] is the table.
//! - `wire.rs`: the JSON shapes, private to this module.
//!
//! Secrets: the AppSecret and every token are `SecretString`s; no `Debug`, error detail or log
//! line produced here contains them (URLs are stripped from HTTP errors, and known secrets are
//! scrubbed from anything quoted from an answer).

mod circuit;
mod client;
mod endpoint;
mod errors;
mod retry;
mod tags;
mod token;
mod transport;
mod wire;

pub use circuit::{CircuitState, CircuitStatus};
pub use client::{
    ClientConfig, CreateOutcome, FOLLOWER_PAGE, FollowerInfo, FollowerPage, Group, MAX_BATCH,
    MAX_INFO_BATCH, WeChatClient,
};
pub use errors::{TransportKind, WeChatError, explain_code};
pub use tags::{MAX_BLACKLIST_BATCH, MAX_TAG_BATCH, MAX_TAGS_PER_FOLLOWER, Tagging};
pub use token::{ParseTokenModeError, TokenMode, TokenShelf};
pub use transport::CallObserver;
