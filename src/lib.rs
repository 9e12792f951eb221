//! wxgroups: manage the user groups of a WeChat Official Account from a browser.
//!
//! A guided tour, in the order a request meets them. Each layer imports only the layers after it
//! in this list, never one before it.

// The UI catalogue: every text in zh-CN and en. Chinese is the fallback.
rust_i18n::i18n!("src/i18n", fallback = "zh-CN");

/// Command line: `serve` (the default), `sim`, `operator …`.
pub mod cli;
/// The one route table, and the layers every request passes (request id, trace, headers,
/// metrics, error pages, timeout, body limit, origin check, client address, session, CSRF).
pub mod routes;
/// Wiring it all together: settings → client → store → state → workers → router → listener.
pub mod startup;

// The features, named as operators see them.
/// The audit page and the helper that records every change before and after WeChat is asked.
pub mod audit;
/// Who is acting: sign-in, proxy single sign-on, roles, the client's address.
pub mod auth;
/// The blacklist (tags mode): who is on it, adding and removing one follower.
pub mod blacklist;
/// Followers by group: the follower sync, a group's member list.
pub mod followers;
/// The groups page: the list with counts, create, rename, delete, refresh.
pub mod groups;
/// Batch jobs: moving lists of followers in the background, surviving restarts.
pub mod jobs;
/// One follower: look up their group by OpenID, move them to another.
pub mod members;
/// Health, readiness, metrics, request ids, and the status page.
pub mod status;

// Below the features: what every one of them stands on.
/// What operators type, parsed once: `GroupName`, `GroupId`, `OpenId`.
pub mod domain;
/// The operator's two languages and the catalogue behind them.
pub mod i18n;
/// Settings from `WXGROUPS_*` variables and an optional TOML file; errors name the bad setting.
pub mod settings;
/// A faithful stand-in for WeChat's API: the demo's account and the tests' double.
pub mod simulator;
/// What every handler can reach: the client, the cached list, the store, settings, limits.
pub mod state;
/// The database: operators, the audit log, sessions, quota, followers, jobs.
pub mod store;
/// What every page shares: the error type and its page, chrome, the reply builder, notices,
/// flashes, CSRF, forms, URLs and route paths, htmx headers, assets.
pub mod web;
/// The only code that talks to WeChat: typed calls, the access_token, errcodes.
pub mod wechat;
