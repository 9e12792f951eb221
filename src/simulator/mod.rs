//! A faithful stand-in for WeChat's API: the demo's account and the tests' double.
//!
//! Same paths, same JSON, same rules and error codes as `api.weixin.qq.com` for the calls wxgroups
//! makes (see `shared/WECHAT_API.md`):
//! - access_tokens: `token` (classic) and `stable_token`;
//! - the groups API: `groups/create`, `get`, `getid`, `update`, `delete`, `members/update`,
//!   `members/batchupdate`;
//! - the tag API: `tags/create`, `get`, `update`, `delete`, `getidlist`, `user/tag/get`,
//!   `tags/members/batchtagging`, `batchuntagging`, and the blacklist: `tags/members/getblacklist`,
//!   `batchblacklist`, `batchunblacklist`;
//! - the users: `user/get`, `user/info`, `user/info/batchget` (with `groupid` and `tagid_list`).
//!
//! Errors are HTTP 200 with `{"errcode":N,"errmsg":"..."}`, as WeChat sends them. The groups and
//! the tag API can each be switched off ([`SimConfig::groups_api`], [`SimConfig::tags_api`]): their
//! endpoints then answer 48001, as for an account WeChat does not let use them.
//!
//! Every request enters through one function (`entry`, in `http.rs`) that counts it, applies any
//! injected [`Fault`] (latency, forced errcodes, 5xx, garbage bodies, dropped connections, hangs),
//! checks the method and the access_token and only then runs the endpoint's rules under one lock.
//!
//! Faults are set with [`Simulator::inject`], from `--fault` specs ([`parse_fault_spec`]) or over
//! HTTP from loopback only: `POST /_sim/faults` (`{"endpoint":"groups/get","fault":{...}}` or
//! `{"spec":"groups/get=errcode:-1"}`), `DELETE /_sim/faults`, `GET /_sim/stats`.
//!
//! From the top down (each file imports only files below it):
//! - `http.rs`: the router, the entry function, the control endpoints, [`serve`] and
//!   [`spawn_local`] (the one way to start a simulator on a loopback port).
//! - `handle.rs`: the [`Simulator`] handle: seeding, faults, call counts, what tests look at.
//! - `faults.rs`: [`Fault`], the faults in force and [`parse_fault_spec`].
//! - `endpoints.rs`: one function per WeChat endpoint.
//! - `state.rs`: [`SimConfig`], and the state behind the one lock.
//! - `account.rs`, `tags.rs`, `tokens.rs`, `openid.rs`, `errcode.rs`: groups and followers,
//!   tags and the blacklist (one bitmap each, nothing per follower), access_tokens, OpenIDs,
//!   WeChat's error codes.

mod account;
mod endpoints;
mod errcode;
mod faults;
mod handle;
mod http;
mod openid;
mod state;
mod tags;
mod tokens;

pub use faults::{Fault, parse_fault_spec};
pub use handle::Simulator;
pub use http::{serve, spawn_local};
pub use state::SimConfig;
