//! Who may act and how they were recognised: the sign-in and proxy settings, and the actor a
//! request carries once `authenticate` has decided.

use std::{collections::HashMap, fmt, sync::Arc, time::Duration};

use axum::http::HeaderName;
use ipnet::IpNet;

use super::accounts::AccountEntry;
pub use crate::store::Role;

/// How the actor was recognised.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Builtin,
    Proxy,
    Demo,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Builtin => "builtin",
            Source::Proxy => "proxy",
            Source::Demo => "demo",
        }
    }
}

/// The operator behind this request.
#[derive(Debug, Clone)]
pub struct Actor {
    pub name: String,
    /// The role on the account this request is about.
    pub role: Role,
    pub source: Source,
    /// What decides the role on each account (for the switcher and for other accounts' pages).
    pub roles: Roles,
}

/// How an operator's role on an account is found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Roles {
    /// The same role on every account: an operator without grants, the demo's admin.
    Everywhere(Role),
    /// A built-in operator with grants: exactly these accounts, with these roles.
    Granted(Arc<[(String, Role)]>),
    /// A proxy user: an account's own `proxy_roles` entry, else this role (the global one).
    Proxy(Role),
}

impl Roles {
    /// The role on `account`, or `None`: the account is not theirs to see (it answers 404).
    pub fn on(&self, name: &str, account: &AccountEntry) -> Option<Role> {
        match self {
            Roles::Everywhere(role) => Some(*role),
            Roles::Granted(grants) => grants
                .iter()
                .find(|(key, _)| *key == account.key)
                .map(|(_, role)| *role),
            Roles::Proxy(global) => Some(
                account
                    .proxy_roles
                    .get(&name.to_lowercase())
                    .copied()
                    .unwrap_or(*global),
            ),
        }
    }
}

impl Actor {
    /// The same operator acting on `account`, if they may.
    pub fn on(&self, account: &AccountEntry) -> Option<Actor> {
        let role = self.roles.on(&self.name, account)?;
        Some(Actor {
            role,
            ..self.clone()
        })
    }

    pub fn can_change(&self) -> bool {
        self.role >= Role::Operator
    }
    pub fn is_admin(&self) -> bool {
        self.role >= Role::Admin
    }
}

impl fmt::Display for Actor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.name, self.role)
    }
}

/// Sign-in and proxy settings.
#[derive(Debug, Clone)]
pub struct Access {
    /// The header a trusted proxy puts the operator's identity in (e.g. X-Auth-Request-Email).
    pub auth_header: Option<HeaderName>,
    /// Peers whose forwarding headers we believe.
    pub trusted_proxies: Vec<IpNet>,
    pub proxy_default_role: Role,
    /// Per-user roles for proxy users, keys in lower case.
    pub proxy_roles: HashMap<String, Role>,
    /// The demo signs everyone in as its admin; a configured account never does.
    pub demo: bool,
    pub session_idle: Duration,
    pub session_max: Duration,
}

impl Default for Access {
    fn default() -> Self {
        Access {
            auth_header: None,
            trusted_proxies: Vec::new(),
            proxy_default_role: Role::Viewer,
            proxy_roles: HashMap::new(),
            demo: false,
            session_idle: Duration::from_secs(60 * 60),
            session_max: Duration::from_secs(12 * 60 * 60),
        }
    }
}

/// The session's keys, in one place.
pub mod session_keys {
    pub const OPERATOR_ID: &str = "operator_id";
    pub const SIGNED_IN_AT: &str = "signed_in_at_us";
    pub const CSRF: &str = "csrf";
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Api;

    fn account(key: &str, proxy: &[(&str, Role)]) -> AccountEntry {
        AccountEntry {
            key: key.into(),
            name: key.into(),
            appid: format!("wx{key}"),
            api: Api::Groups,
            proxy_roles: proxy.iter().map(|(n, r)| ((*n).to_owned(), *r)).collect(),
        }
    }

    #[test]
    fn grants_limit_an_operator_to_their_accounts_and_others_keep_their_role_everywhere() {
        let (shop, brand) = (account("shop", &[]), account("brand", &[]));
        let granted = Roles::Granted(vec![("shop".to_owned(), Role::Operator)].into());
        assert_eq!(granted.on("olga", &shop), Some(Role::Operator));
        assert_eq!(granted.on("olga", &brand), None, "not hers: 404");
        let everywhere = Roles::Everywhere(Role::Viewer);
        assert_eq!(everywhere.on("vic", &brand), Some(Role::Viewer));
    }

    #[test]
    fn a_proxy_user_gets_the_accounts_own_role_else_the_global_one() {
        let shop = account("shop", &[("ops@example.com", Role::Admin)]);
        let brand = account("brand", &[]);
        let proxy = Roles::Proxy(Role::Viewer);
        assert_eq!(proxy.on("Ops@Example.com", &shop), Some(Role::Admin));
        assert_eq!(proxy.on("ops@example.com", &brand), Some(Role::Viewer));
        let actor = Actor {
            name: "ops@example.com".into(),
            role: Role::Viewer,
            source: Source::Proxy,
            roles: proxy,
        };
        assert!(actor.on(&shop).is_some_and(|a| a.is_admin()));
        assert!(actor.on(&brand).is_some_and(|a| !a.can_change()));
    }
}
