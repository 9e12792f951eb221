//! `wxgroups operator …`: manage built-in accounts from the command line.

use std::io::{BufRead, IsTerminal};

use crate::{
    auth::password,
    cli::OperatorCommand,
    store::{AuditEntry, Outcome, Role, Store},
};

/// Runs one operator command against the database.
pub async fn run(store: &Store, command: OperatorCommand) -> anyhow::Result<()> {
    let cli_user = std::env::var("USER").unwrap_or_else(|_| "cli".into());
    let audit = |action: &str, target: &str, after: Option<String>| AuditEntry {
        operator: format!("cli:{cli_user}"),
        source: "cli".into(),
        ip: None,
        action: action.into(),
        target: Some(target.into()),
        before: None,
        after,
    };
    match command {
        OperatorCommand::Add { name, role } => {
            let name = valid_name(&name)?;
            let role: Role = role.parse().map_err(anyhow::Error::msg)?;
            let pw = read_password(&format!("Password for {name}: "))?;
            let hash = password::hash(&pw).map_err(anyhow::Error::msg)?;
            match store.add_operator(&name, role, &hash).await? {
                Some(_) => {
                    store
                        .audit(
                            &audit("operator_add", &name, Some(role.to_string())),
                            Outcome::Ok,
                            None,
                        )
                        .await?;
                    println!("added {name} as {role}");
                }
                None => anyhow::bail!(
                    "an operator called {name} exists already; use `operator passwd {name}` to change the password"
                ),
            }
        }
        OperatorCommand::List => {
            let ops = store.operators().await?;
            if ops.is_empty() {
                println!(
                    "no operators yet: add one with `wxgroups operator add NAME --role admin`"
                );
            }
            println!("{:<24} {:<9} {:<8} created (UTC)", "name", "role", "status");
            for op in ops {
                let created = jiff::Timestamp::from_microsecond(op.created_at)
                    .map(|t| t.strftime("%Y-%m-%d %H:%M").to_string())
                    .unwrap_or_default();
                let status = if op.disabled { "disabled" } else { "active" };
                println!("{:<24} {:<9} {:<8} {created}", op.name, op.role, status);
            }
        }
        OperatorCommand::Disable { name } => {
            if !store.disable_operator(&name).await? {
                anyhow::bail!("there is no operator called {name} (see `wxgroups operator list`)");
            }
            store
                .audit(&audit("operator_disable", &name, None), Outcome::Ok, None)
                .await?;
            println!("disabled {name}; their sessions have ended");
        }
        OperatorCommand::Passwd { name } => {
            if store.operator_by_name(&name).await?.is_none() {
                anyhow::bail!("there is no operator called {name} (see `wxgroups operator list`)");
            }
            let pw = read_password(&format!("New password for {name}: "))?;
            let hash = password::hash(&pw).map_err(anyhow::Error::msg)?;
            store.set_password(&name, &hash).await?;
            store
                .audit(&audit("operator_passwd", &name, None), Outcome::Ok, None)
                .await?;
            println!("changed the password of {name}; their other sessions have ended");
        }
    }
    Ok(())
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
