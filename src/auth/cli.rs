//! `wxgroups operator …`: manage built-in accounts from the command line.

use std::io::{BufRead, IsTerminal};

use crate::{
    auth::password,
    cli::OperatorCommand,
    domain::AccountKey,
    settings::AccountSettings,
    store::{AuditEntry, Outcome, Role, Store},
};

/// Runs one operator command against the database. `accounts` are the configured accounts
/// (`Settings::account_list`): a role is granted on one of them only.
pub async fn run(
    store: &Store,
    accounts: &[AccountSettings],
    command: OperatorCommand,
) -> anyhow::Result<()> {
    let cli = Cli {
        store,
        user: std::env::var("USER").unwrap_or_else(|_| "cli".into()),
    };
    match command {
        OperatorCommand::Add { name, role } => cli.add(&name, &role).await,
        OperatorCommand::List => cli.list().await,
        OperatorCommand::Disable { name } => cli.disable(&name).await,
        OperatorCommand::Passwd { name } => cli.passwd(&name).await,
        OperatorCommand::Grant {
            name,
            account,
            role,
        } => cli.grant(accounts, &name, &account, &role).await,
        OperatorCommand::Revoke { name, account } => cli.revoke(&name, &account).await,
    }
}

/// The store, and who runs the command (their audit rows say `cli:USER`).
struct Cli<'a> {
    store: &'a Store,
    user: String,
}

fn no_such(name: &str) -> anyhow::Error {
    anyhow::anyhow!("there is no operator called {name} (see `wxgroups operator list`)")
}

impl Cli<'_> {
    fn audit(&self, action: &str, target: &str, after: Option<String>) -> AuditEntry {
        AuditEntry {
            operator: format!("cli:{}", self.user),
            source: "cli".into(),
            ip: None,
            action: action.into(),
            target: Some(target.into()),
            before: None,
            after,
        }
    }

    async fn add(&self, name: &str, role: &str) -> anyhow::Result<()> {
        let name = valid_name(name)?;
        let role: Role = role.parse().map_err(anyhow::Error::msg)?;
        let pw = read_password(&format!("Password for {name}: "))?;
        let hash = password::hash(&pw).map_err(anyhow::Error::msg)?;
        if self.store.add_operator(&name, role, &hash).await?.is_none() {
            anyhow::bail!(
                "an operator called {name} exists already; use `operator passwd {name}` to change the password"
            );
        }
        let entry = self.audit("operator_add", &name, Some(role.to_string()));
        self.store.audit(&entry, Outcome::Ok, None).await?;
        println!("added {name} as {role}");
        Ok(())
    }

    async fn list(&self) -> anyhow::Result<()> {
        let ops = self.store.operators().await?;
        if ops.is_empty() {
            println!("no operators yet: add one with `wxgroups operator add NAME --role admin`");
        }
        println!(
            "{:<24} {:<9} {:<8} {:<16} accounts",
            "name", "role", "status", "created (UTC)"
        );
        for op in ops {
            let created = jiff::Timestamp::from_microsecond(op.created_at)
                .map(|t| t.strftime("%Y-%m-%d %H:%M").to_string())
                .unwrap_or_default();
            let status = if op.disabled { "disabled" } else { "active" };
            let accounts = if op.grants.is_empty() {
                format!("every account as {}", op.role)
            } else {
                op.grants
                    .iter()
                    .map(|(key, role)| format!("{key}: {role}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            // as_str: Role's Display does not pad.
            let role = op.role.as_str();
            println!(
                "{:<24} {role:<9} {status:<8} {created:<16} {accounts}",
                op.name
            );
        }
        Ok(())
    }

    async fn disable(&self, name: &str) -> anyhow::Result<()> {
        if !self.store.disable_operator(name).await? {
            return Err(no_such(name));
        }
        let entry = self.audit("operator_disable", name, None);
        self.store.audit(&entry, Outcome::Ok, None).await?;
        println!("disabled {name}; their sessions have ended");
        Ok(())
    }

    async fn passwd(&self, name: &str) -> anyhow::Result<()> {
        if self.store.operator_by_name(name).await?.is_none() {
            return Err(no_such(name));
        }
        let pw = read_password(&format!("New password for {name}: "))?;
        let hash = password::hash(&pw).map_err(anyhow::Error::msg)?;
        self.store.set_password(name, &hash).await?;
        let entry = self.audit("operator_passwd", name, None);
        self.store.audit(&entry, Outcome::Ok, None).await?;
        println!("changed the password of {name}; their other sessions have ended");
        Ok(())
    }

    async fn grant(
        &self,
        accounts: &[AccountSettings],
        name: &str,
        account: &str,
        role: &str,
    ) -> anyhow::Result<()> {
        let key = account_key(account)?;
        let keys: Vec<&str> = accounts.iter().map(|a| a.key.as_str()).collect();
        let account = configured(&keys, &key)?;
        let role: Role = role.parse().map_err(anyhow::Error::msg)?;
        let op = self
            .store
            .operator_by_name(name)
            .await?
            .ok_or_else(|| no_such(name))?;
        let before = granted(&op.grants, account);
        if !self.store.grant(&op.name, account, role).await? {
            return Err(no_such(name));
        }
        // In the log of the account the grant is about, where its admins look.
        let entry = AuditEntry {
            before: before.map(|r| r.to_string()),
            ..self.audit("operator_grant", &op.name, Some(role.to_string()))
        };
        self.store
            .for_account(account)
            .audit(&entry, Outcome::Ok, None)
            .await?;
        println!("{} is {role} on {account}", op.name);
        if op.grants.is_empty() {
            println!(
                "{} had no grants: from now on they have roles only on the accounts granted \
                 to them, and their role ({}) no longer applies to any other account",
                op.name, op.role
            );
        }
        Ok(())
    }

    async fn revoke(&self, name: &str, account: &str) -> anyhow::Result<()> {
        // Not checked against the configuration: a grant on an account removed from it can
        // still be taken away.
        let key = account_key(account)?;
        let account = key.as_str();
        let op = self
            .store
            .operator_by_name(name)
            .await?
            .ok_or_else(|| no_such(name))?;
        let before = granted(&op.grants, account);
        if !self.store.revoke(&op.name, account).await? {
            anyhow::bail!(
                "{} has no role granted on {account}; nothing was changed",
                op.name
            );
        }
        let entry = AuditEntry {
            before: before.map(|r| r.to_string()),
            ..self.audit("operator_revoke", &op.name, None)
        };
        self.store
            .for_account(account)
            .audit(&entry, Outcome::Ok, None)
            .await?;
        println!("{} has no role on {account} any more", op.name);
        if op.grants.len() == 1 {
            println!(
                "{} has no grants left: their role ({}) applies to every account again \
                 (`wxgroups operator disable {}` ends all their access)",
                op.name, op.role, op.name
            );
        }
        Ok(())
    }
}

/// The role `grants` give on `account`, if any.
fn granted(grants: &[(String, Role)], account: &str) -> Option<Role> {
    grants
        .iter()
        .find(|(key, _)| key == account)
        .map(|(_, role)| *role)
}

/// `--account KEY` as the configuration file and the URLs write it.
fn account_key(key: &str) -> anyhow::Result<AccountKey> {
    AccountKey::parse(key).map_err(|e| anyhow::anyhow!("the account key {key:?} {e}"))
}

/// `key` if it is one of the configured accounts' `keys`.
fn configured<'k>(keys: &[&str], key: &'k AccountKey) -> anyhow::Result<&'k str> {
    let key = key.as_str();
    if keys.contains(&key) {
        return Ok(key);
    }
    if keys.is_empty() {
        anyhow::bail!(
            "no account is configured (WXGROUPS_APPID, or [[accounts]] in the --config file), \
             so there is none to grant a role on; nothing was changed"
        );
    }
    anyhow::bail!(
        "there is no account {key:?} in the configuration (the accounts are: {}); nothing was changed",
        keys.join(", ")
    )
}

fn valid_name(name: &str) -> anyhow::Result<String> {
    let n = name.trim();
    if n.is_empty()
        || n.chars().count() > 64
        || n.chars().any(|c| c.is_control() || c.is_whitespace())
    {
        anyhow::bail!(
            "an operator name is 1 to 64 characters without spaces (e.g. alice or alice@example.com)"
        );
    }
    Ok(n.to_owned())
}

/// From a prompt (asked twice) on a terminal, else the first line of stdin (for scripts).
fn read_password(prompt: &str) -> anyhow::Result<String> {
    let pw = if std::io::stdin().is_terminal() {
        let first = rpassword::prompt_password(prompt)?;
        let again = rpassword::prompt_password("Again: ")?;
        if first != again {
            anyhow::bail!("the two passwords differ; nothing was changed");
        }
        first
    } else {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line)?;
        line.trim_end_matches(['\r', '\n']).to_owned()
    };
    if let Some(why) = password::weakness(&pw) {
        anyhow::bail!("{why}; nothing was changed");
    }
    Ok(pw)
}

#[cfg(test)]
mod tests {
    use super::{account_key, configured};

    #[test]
    fn an_account_key_that_urls_could_not_carry_is_refused_with_the_rule_it_breaks() {
        assert_eq!(account_key("brand-2").unwrap().as_str(), "brand-2");
        for (key, rule) in [
            ("Shop", "lower case"),
            ("shop/eu", "only lower-case letters"),
            ("-shop", "starts or ends with '-'"),
            ("", "is empty"),
        ] {
            let e = account_key(key).unwrap_err().to_string();
            assert!(
                e.contains(rule) && e.contains(&format!("{key:?}")),
                "{key:?}: {e}"
            );
        }
    }

    #[test]
    fn a_role_is_granted_on_a_configured_account_only() {
        let shop = account_key("shop").unwrap();
        assert_eq!(configured(&["default", "shop"], &shop).unwrap(), "shop");
        let e = configured(&["default", "brand"], &shop)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("no account \"shop\"") && e.contains("default, brand"),
            "{e}"
        );
        let e = configured(&[], &shop).unwrap_err().to_string();
        assert!(e.contains("no account is configured"), "{e}");
    }
}
