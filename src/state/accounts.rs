//! The deployment's Official Accounts, as the switcher, the account list and the role checks
//! see them: one entry per account, in the configuration's order (the first is the default).
//!
//! Everything else of an account (its client and token, cached list, circuit breaker, quota
//! meter, store handle, job worker) lives in that account's own [`super::AppState`]; this is
//! the directory that tells them apart.

use std::{collections::HashMap, sync::Arc};

use crate::{domain::Api, store::Role};

/// One account as operators see it.
#[derive(Debug, Clone)]
pub struct AccountEntry {
    /// In URLs: `/a/{key}/…`.
    pub key: String,
    pub name: String,
    pub appid: String,
    pub api: Api,
    /// Roles of proxy users on this account (lower-case names), beside the global ones.
    pub proxy_roles: HashMap<String, Role>,
}

/// Every account of the deployment.
#[derive(Debug, Clone, Default)]
pub struct Directory {
    pub accounts: Vec<AccountEntry>,
}

impl Directory {
    pub fn new(accounts: Vec<AccountEntry>) -> Arc<Self> {
        Arc::new(Directory { accounts })
    }

    /// Several accounts: pages live under `/a/{key}` and the top bar has a switcher.
    pub fn several(&self) -> bool {
        self.accounts.len() > 1
    }

    pub fn find(&self, key: &str) -> Option<&AccountEntry> {
        self.accounts.iter().find(|a| a.key == key)
    }
}
