//! What every handler can reach, below every feature: the WeChat client, the cached group list,
//! the store, the deployment's facts, sign-in settings and limits, the quota meter and the
//! workers' handle. Nothing here imports a feature.

pub mod access;
pub mod accounts;
mod csrf_key;
pub mod group_list;
pub mod keys;
pub mod lease;
pub mod listener;
mod pacing;
pub mod quota;
pub mod runner;
pub mod sign_in_limiter;
pub mod token_shelf;

use std::sync::Arc;

pub use access::{Access, Actor, Role, Roles, Source, session_keys};
pub use accounts::{AccountEntry, Directory};
pub use csrf_key::CsrfKey;
pub use group_list::{GroupCache, RenderedRows, RowsHtml, Snapshot, View};
pub use quota::QuotaMeter;
pub use runner::Runner;
pub use sign_in_limiter::SignInLimiter;

use crate::{domain::Api, store::Store, web::Urls, wechat::WeChatClient};

/// One `Arc`, because axum clones the state for every extractor and middleware of every request
/// (cloning each field was 2 % of a page view).
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

impl AppState {
    pub fn new(shared: Shared) -> AppState {
        AppState(Arc::new(shared))
    }
}

impl std::ops::Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

/// The parts of [`AppState`].
pub struct Shared {
    pub client: WeChatClient,
    pub groups: Arc<GroupCache>,
    pub site: Arc<Site>,
    pub urls: Urls,
    pub store: Store,
    pub access: Arc<Access>,
    pub limiter: Arc<SignInLimiter>,
    pub quota: Arc<QuotaMeter>,
    /// The background workers: batch jobs and follower syncs.
    pub jobs: Arc<Runner>,
    /// Signs the CSRF nonce of browsers without a session.
    pub csrf_key: CsrfKey,
    /// Every account of the deployment (this one is `directory.find(&site.key)`).
    pub directory: Arc<Directory>,
}

impl Shared {
    /// The deployment-wide pages' state with several accounts: no account of its own (its key
    /// is empty, so no account's role applies), URLs at the top.
    pub fn root(&self, urls: Urls) -> Shared {
        Shared {
            client: self.client.clone(),
            groups: self.groups.clone(),
            site: Arc::new(Site {
                key: String::new(),
                name: String::new(),
                appid: None,
                ..Site::clone(&self.site)
            }),
            urls,
            store: self.store.clone(),
            access: self.access.clone(),
            limiter: self.limiter.clone(),
            quota: self.quota.clone(),
            jobs: self.jobs.clone(),
            csrf_key: self.csrf_key.clone(),
            directory: self.directory.clone(),
        }
    }

    /// This state's account in the directory.
    pub fn account(&self) -> Option<&AccountEntry> {
        self.directory.find(&self.site.key)
    }
}

/// Facts about this deployment and this account that pages show.
#[derive(Debug, Clone, Default)]
pub struct Site {
    /// The account's key (`default` for a single-account deployment) and its name.
    pub key: String,
    pub name: String,
    /// Running the built-in demo account (no AppID configured).
    pub demo: bool,
    /// The account's AppID (not a secret; shown so operators know which account this is);
    /// `None` for a demo account.
    pub appid: Option<String>,
    /// The origin browsers use, when a proxy makes it differ from the Host we see.
    pub public_origin: Option<String>,
    /// Who may read the probes and metrics (empty: anyone).
    pub metrics_allow: Vec<ipnet::IpNet>,
    /// The `Host`s pages answer for (empty: any).
    pub allowed_hosts: Vec<String>,
    /// Which of WeChat's APIs the account is managed through: groups or tags.
    pub api: Api,
    /// For the status page.
    pub token_mode: String,
    pub wechat_api: String,
}
