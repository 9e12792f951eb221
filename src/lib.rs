//! wxgroups: manage the user groups of a WeChat Official Account from a browser.
//!
//! A guided tour, in the order a request meets them:

// The UI catalogue: every text in zh-CN and en. Chinese is the fallback.
rust_i18n::i18n!("src/i18n", fallback = "zh-CN");

/// The audit page and the helper that records every change before and after WeChat is asked.
pub mod audit;
/// Who is acting: sign-in, proxy single sign-on, roles, the client's address.
pub mod auth;
/// Command line: `serve` (the default), `sim`, and what later issues add.
pub mod cli;
/// What operators type, parsed once: `GroupName`, `GroupId`, `OpenId`.
pub mod domain;
/// Followers by group: the follower sync, a group's member list.
pub mod followers;
/// The groups page: the cached list, create, rename, delete, refresh.
pub mod groups;
/// The operator's two languages and the catalogue behind them.
pub mod i18n;
/// Batch jobs: moving lists of followers in the background, surviving restarts.
pub mod jobs;
/// One follower: look up their group by OpenID, move them to another.
pub mod members;
/// Settings from `WXGROUPS_*` variables and an optional TOML file; errors name the bad setting.
pub mod settings;
/// A faithful stand-in for WeChat's API: the demo's account and the tests' double.
pub mod simulator;
/// Wiring it all together: `serve` builds the app from settings and runs it.
pub mod startup;
/// Health, readiness, metrics, request ids, the quota meter and the status page.
pub mod status;
/// The database: operators, the audit log, sessions.
pub mod store;
/// Router, layers, errors as responses, static assets, URLs.
pub mod web;
/// The only code that talks to WeChat: typed calls, the access_token, errcodes.
pub mod wechat;
