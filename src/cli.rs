//! The command line: `wxgroups [serve]`, `wxgroups sim`.

use std::{net::SocketAddr, path::PathBuf};

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "wxgroups",
    version,
    about = "Manage the user groups of a WeChat Official Account from a browser"
)]
pub struct Cli {
    /// A TOML file with settings (keys as in README's Configuration table). Environment variables win over it.
    #[arg(long, global = true, env = "WXGROUPS_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,

    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the dashboard (the default). With no AppID configured it runs the demo account.
    Serve,
    /// Run the WeChat API simulator alone, e.g. for a test setup or to point a second wxgroups at.
    Sim(SimArgs),
    /// Manage built-in operator accounts (stored in WXGROUPS_DATABASE_URL).
    Operator {
        #[command(subcommand)]
        command: OperatorCommand,
    },
}

#[derive(Debug, Subcommand)]
pub enum OperatorCommand {
    /// Add an operator. The password is read from a prompt, or from stdin when it is not a terminal.
    Add {
        name: String,
        /// viewer (read only), operator (create, rename, move) or admin (everything).
        #[arg(long)]
        role: String,
    },
    /// List operators with their role and status.
    List,
    /// Disable an operator and end their sessions.
    Disable { name: String },
    /// Set a new password (prompt or stdin); the operator's other sessions end.
    Passwd { name: String },
    /// Give an operator a role on one account (replacing the one they had there). From their
    /// first grant on, an operator has roles on their granted accounts only; an operator without
    /// grants has their own role on every account.
    Grant {
        name: String,
        /// The account's key, as in the configuration file's [[accounts]] table (e.g. shop).
        #[arg(long, value_name = "KEY")]
        account: String,
        /// viewer (read only), operator (create, rename, move) or admin (everything) on that account.
        #[arg(long)]
        role: String,
    },
    /// Take away an operator's role on one account. Without grants left, their own role applies
    /// to every account again.
    Revoke {
        name: String,
        /// The account's key.
        #[arg(long, value_name = "KEY")]
        account: String,
    },
}

#[derive(Debug, clap::Args)]
pub struct SimArgs {
    /// Where to listen.
    #[arg(long, default_value = "127.0.0.1:8081")]
    pub listen: SocketAddr,
    /// The AppID the simulator accepts.
    #[arg(long, default_value = "wxdemo0000000000")]
    pub appid: String,
    /// The AppSecret the simulator accepts (a test value: it is visible in the process list).
    #[arg(
        long,
        env = "WXGROUPS_SIM_SECRET",
        default_value = "demo-secret",
        hide_env_values = true
    )]
    pub secret: String,
    /// How many followers the account starts with.
    #[arg(long, default_value_t = 1_000)]
    pub followers: u32,
    /// Lifetime of each access_token, in seconds (WeChat's is 7200).
    #[arg(long, default_value_t = 7200, value_parser = clap::value_parser!(u64).range(1..))]
    pub token_lifetime: u64,
    /// Inject a fault, e.g. `groups/get=errcode:-1`, `*=latency:200`, `groups/create=timeout,after_write`,
    /// `groups/get=http:503,times:2`, `user/get=garbage`, `groups/getid=drop`. Repeatable.
    /// Faults can also be set while running: POST/DELETE /_sim/faults (loopback only).
    #[arg(long = "fault", value_name = "SPEC", value_parser = crate::simulator::parse_fault_spec)]
    pub faults: Vec<(String, crate::simulator::Fault)>,
    /// Answer 48001 ("api unauthorized") to the groups API, as an account that only has tags.
    #[arg(long)]
    pub no_groups_api: bool,
    /// Answer 48001 to the tags API, as an account that only has groups.
    #[arg(long)]
    pub no_tags_api: bool,
}
