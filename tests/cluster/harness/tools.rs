//! The programs the harness runs, found on this machine, and the tests' way of saying one is
//! missing.

use std::{
    path::{Path, PathBuf},
    process::Command,
    sync::OnceLock,
};

/// A program a cluster test needs beside wxgroups itself.
#[derive(Clone, Copy, Debug)]
pub enum Tool {
    /// Debian's nginx, the balancer.
    Nginx,
    /// PostgreSQL's server programs (`initdb`, `pg_ctl`).
    Postgres,
}

/// Whether this machine lacks `tool`. Says so on stderr, so that a test that returns early is
/// seen as skipped rather than mistaken for one that ran.
pub fn lacks(tool: Tool) -> bool {
    let (found, what, install) = match tool {
        Tool::Nginx => (nginx().is_some(), "nginx", "nginx"),
        Tool::Postgres => (
            pg_bindir().is_some(),
            "PostgreSQL's initdb and pg_ctl",
            "postgresql",
        ),
    };
    if !found {
        eprintln!("skipped: {what} not found on this machine (apt-get install {install})");
    }
    !found
}

/// `/usr/sbin/nginx`, or an `nginx` on the PATH.
pub fn nginx() -> Option<PathBuf> {
    let debian = PathBuf::from("/usr/sbin/nginx");
    if debian.is_file() {
        return Some(debian);
    }
    on_path("nginx")
}

/// The folder holding `initdb` and `pg_ctl`: the PATH's, else the one `pg_config --bindir`
/// names (Debian keeps them out of the PATH, in /usr/lib/postgresql/N/bin).
pub fn pg_bindir() -> Option<PathBuf> {
    static BINDIR: OnceLock<Option<PathBuf>> = OnceLock::new();
    BINDIR
        .get_or_init(|| {
            let has_both =
                |dir: &PathBuf| dir.join("initdb").is_file() && dir.join("pg_ctl").is_file();
            on_path("initdb")
                .and_then(|initdb| initdb.parent().map(Path::to_path_buf))
                .filter(has_both)
                .or_else(|| pg_config_bindir().filter(has_both))
        })
        .clone()
}

fn pg_config_bindir() -> Option<PathBuf> {
    let out = Command::new("pg_config").arg("--bindir").output().ok()?;
    let dir = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    (out.status.success() && !dir.is_empty()).then(|| PathBuf::from(dir))
}

fn on_path(program: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|dir| dir.join(program))
        .find(|p| p.is_file())
}

/// Whether this test process runs as root (CI does): some programs refuse to, or drop to
/// another user who cannot write in our folders.
pub fn is_root() -> bool {
    static ROOT: OnceLock<bool> = OnceLock::new();
    *ROOT.get_or_init(|| {
        Command::new("id")
            .arg("-u")
            .output()
            .is_ok_and(|o| o.stdout.starts_with(b"0\n"))
    })
}
