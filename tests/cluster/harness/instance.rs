//! [`Instance`]: one wxgroups server process, and [`add_operator`], the command line that adds
//! a built-in operator to the database it uses.

use std::{
    collections::BTreeMap,
    fmt,
    fs::File,
    io::Write,
    net::SocketAddr,
    path::PathBuf,
    process::{Child, Command, ExitStatus, Stdio},
    time::{Duration, Instant},
};

use wxgroups::store::Role;

use super::{
    browser::http_client,
    scratch::{Scratch, free_port, tail},
};

/// How long a fresh process may take to answer /readyz with 200: it migrates its database and
/// fetches an access_token first, on a machine two cores wide that may be compiling too.
const READY_WITHIN: Duration = Duration::from_secs(60);

/// The `WXGROUPS_*` settings an instance runs with, and that `wxgroups operator` reads.
///
/// The test's own `WXGROUPS_*` variables never reach the child: only these do.
#[derive(Clone, Default)]
pub struct Env {
    vars: BTreeMap<String, String>,
}

impl Env {
    pub fn new() -> Env {
        Env::default()
    }

    /// Sets `WXGROUPS_<key>` (`key` as README's table names it, without the prefix).
    pub fn set(mut self, key: &str, value: impl Into<String>) -> Env {
        self.vars.insert(format!("WXGROUPS_{key}"), value.into());
        self
    }

    /// The Official Account, and where its WeChat answers (the simulator's URL).
    pub fn account(self, appid: &str, secret: &str, wechat_api: &str) -> Env {
        self.set("APPID", appid)
            .set("APPSECRET", secret)
            .set("WECHAT_API", wechat_api)
    }

    /// `WXGROUPS_DATABASE_URL`.
    pub fn database(self, url: impl Into<String>) -> Env {
        self.set("DATABASE_URL", url)
    }

    fn apply(&self, cmd: &mut Command) {
        for (key, _) in std::env::vars_os() {
            if key.to_string_lossy().starts_with("WXGROUPS_") {
                cmd.env_remove(key);
            }
        }
        cmd.envs(&self.vars);
    }
}

impl fmt::Debug for Env {
    /// The names, and the values of all but the secret.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let shown = self.vars.iter().map(|(k, v)| {
            let v = if k.contains("SECRET") { "…" } else { v };
            (k, v)
        });
        f.debug_map().entries(shown).finish()
    }
}

/// One `wxgroups serve` process on a loopback port of its own, its stdout and stderr in a log
/// file. Killed on drop.
pub struct Instance {
    name: String,
    addr: SocketAddr,
    child: Child,
    log: PathBuf,
    _scratch: Scratch,
}

impl Instance {
    /// Starts `wxgroups serve` with `env`, listening on a free port (whatever `env` says of
    /// WXGROUPS_LISTEN). It is not ready yet: see [`Self::wait_ready`].
    pub fn start(name: &str, env: &Env) -> Instance {
        let scratch = Scratch::new(name);
        let log = scratch.path().join(format!("{name}.log"));
        let out = File::create(&log).expect("a log file in our own folder");
        let err = out.try_clone().expect("the log file, twice");
        let addr = SocketAddr::from(([127, 0, 0, 1], free_port()));
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_wxgroups"));
        cmd.arg("serve");
        env.apply(&mut cmd);
        let child = cmd
            .env("WXGROUPS_LISTEN", addr.to_string())
            .current_dir(scratch.path())
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .expect("the wxgroups binary runs");
        Instance {
            name: name.to_owned(),
            addr,
            child,
            log,
            _scratch: scratch,
        }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://ADDR` followed by `path`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Everything the process has printed so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The last `lines` lines it printed.
    pub fn log_tail(&self, lines: usize) -> String {
        tail(&self.log, lines)
    }

    /// Waits until GET /readyz answers 200. Panics, with the end of the log, if the process
    /// exits first or is not ready within a minute.
    pub async fn wait_ready(&mut self) {
        let http = http_client(None);
        let deadline = Instant::now() + READY_WITHIN;
        loop {
            if let Some(status) = self.child.try_wait().expect("the child can be waited for") {
                panic!("{} exited ({status}):\n{}", self.name, self.log_tail(40));
            }
            let last = match http.get(self.url("/readyz")).send().await {
                Ok(r) if r.status() == 200 => return,
                Ok(r) => format!("{}: {}", r.status(), r.text().await.unwrap_or_default()),
                Err(e) => e.to_string(),
            };
            assert!(
                Instant::now() < deadline,
                "{} not ready within {READY_WITHIN:?} (last: {last}):\n{}",
                self.name,
                self.log_tail(40)
            );
            // The interval between two looks at the condition, not a guess at how long it takes.
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// How many requests for `route` (e.g. `/readyz`) the process has answered, by its own
    /// count (`wxgroups_http_requests_total` on /metrics).
    pub async fn served(&self, route: &str) -> u64 {
        let metrics = http_client(None)
            .get(self.url("/metrics"))
            .send()
            .await
            .and_then(|r| r.error_for_status())
            .unwrap_or_else(|e| panic!("{}'s /metrics: {e}", self.name))
            .text()
            .await
            .expect("a text body");
        let label = format!("route=\"{route}\"");
        metrics
            .lines()
            .filter(|l| l.starts_with("wxgroups_http_requests_total{") && l.contains(&label))
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .sum::<f64>() as u64
    }

    /// Kills the process with SIGKILL, as a crash or the OOM killer would, and reaps it (no
    /// zombie is left). Answers how it ended.
    pub fn kill9(&mut self) -> ExitStatus {
        // std's kill is SIGKILL on Unix; it fails only if the process was reaped already.
        let _ = self.child.kill();
        self.child.wait().expect("the child can be waited for")
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        self.kill9();
    }
}

/// Adds a built-in operator with `wxgroups operator add NAME --role ROLE`, the password typed
/// on its stdin, to the database `env` names (the one the instances of `env` share).
pub fn add_operator(env: &Env, name: &str, role: Role, password: &str) {
    let scratch = Scratch::new("operator");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_wxgroups"));
    cmd.args(["operator", "add", name, "--role", role.as_str()]);
    env.apply(&mut cmd);
    let mut child = cmd
        // A relative sqlite:// URL would land there; the test's own folder stays clean.
        .current_dir(scratch.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the wxgroups binary runs");
    // Not a terminal, so the command reads one line; dropping stdin closes it.
    let mut stdin = child.stdin.take().expect("a piped stdin");
    writeln!(stdin, "{password}").expect("the command reads its stdin");
    drop(stdin);
    let out = child.wait_with_output().expect("the command ends");
    assert!(
        out.status.success(),
        "wxgroups operator add {name} failed ({}): {}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
