//! The full log of a real run never contains a secret.
//!
//! The real binary runs (debug logs, JSON) against a simulator in this process; the test walks
//! every path an operator can take, with faults injected, then scans everything the process
//! printed for the AppSecret, every access_token the simulator issued, every session id and
//! CSRF token the browser was given, and the operator's password.

use std::{
    io::{BufRead, BufReader, Read, Write},
    process::{Command, Stdio},
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use wxgroups::simulator::{Fault, SimConfig, Simulator, spawn_local};

const APPID: &str = "wxlogscan00000001";
const SECRET: &str = "log-scan-secret-7f3a9c";
const PASSWORD: &str = "log scan password 42";

#[tokio::test]
async fn a_run_that_takes_every_path_logs_no_secret() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let sim = Simulator::new(SimConfig {
        appid: APPID.into(),
        secret: SECRET.into(),
        followers: 200,
        ..SimConfig::default()
    });
    let sim_url = spawn_local(&sim).await.expect("the simulator listens");

    let dir = std::env::temp_dir().join(format!("wxgroups-logscan-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let _ = std::fs::remove_file(dir.join("wxgroups.db"));
    let db = wxgroups::store::testing::database_url_in(&dir);
    let env = |cmd: &mut Command| {
        // The test run's own switches are not the binary's settings (it refuses unknown ones).
        cmd.env_remove("WXGROUPS_TEST_STORE")
            .env_remove("WXGROUPS_TEST_POSTGRES")
            .env("WXGROUPS_APPID", APPID)
            .env("WXGROUPS_APPSECRET", SECRET)
            .env("WXGROUPS_WECHAT_API", &sim_url)
            .env("WXGROUPS_DATABASE_URL", &db)
            .env("WXGROUPS_LISTEN", "127.0.0.1:0")
            .env("WXGROUPS_UPSTREAM_TIMEOUT_SECS", "1")
            .env("WXGROUPS_LOG_FORMAT", "json")
            .env("RUST_LOG", "debug");
    };
    let bin = env!("CARGO_BIN_EXE_wxgroups");

    // The operator, added through the CLI with the password on stdin.
    let mut add = Command::new(bin);
    env(&mut add);
    let mut add = add
        .args(["operator", "add", "admin", "--role", "admin"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    writeln!(add.stdin.take().unwrap(), "{PASSWORD}").unwrap();
    let out = add.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut log = String::from_utf8_lossy(&out.stdout).into_owned();
    log.push_str(&String::from_utf8_lossy(&out.stderr));

    let mut serve = Command::new(bin);
    env(&mut serve);
    let mut child = serve
        .arg("serve")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Collect everything it prints; learn its address from the start-up line.
    let printed = Arc::new(Mutex::new(String::new()));
    let (addr_tx, addr_rx) = std::sync::mpsc::channel::<String>();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let p = printed.clone();
    let reader = std::thread::spawn(move || {
        let mut line = String::new();
        while stdout.read_line(&mut line).unwrap_or(0) > 0 {
            if let Some(i) = line.find("on http://") {
                let rest = &line[i + "on http://".len()..];
                let addr: String = rest.chars().take_while(|c| *c != '/').collect();
                let _ = addr_tx.send(addr);
            }
            p.lock().unwrap().push_str(&line);
            line.clear();
        }
    });
    let mut stderr = child.stderr.take().unwrap();
    let err_thread = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s);
        s
    });
    let addr = addr_rx
        .recv_timeout(Duration::from_secs(30))
        .expect("the server says where it listens");
    let base = format!("http://{addr}");

    let jar = Arc::new(reqwest::cookie::Jar::default());
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .cookie_provider(jar.clone())
        .build()
        .unwrap();
    let mut seen_cookies: Vec<String> = Vec::new();
    let mut csrf_tokens: Vec<String> = Vec::new();
    let mut remember = |r: &reqwest::Response| {
        for v in r.headers().get_all("set-cookie") {
            let v = v.to_str().unwrap();
            if let Some(rest) = v.strip_prefix("wxgroups_session=") {
                seen_cookies.push(rest.split(';').next().unwrap().to_owned());
            }
        }
    };
    macro_rules! page {
        ($req:expr) => {{
            let r = $req.send().await.unwrap();
            remember(&r);
            let body = r.text().await.unwrap();
            if let Some(i) = body.find("name=\"csrf\" value=\"") {
                let t: String = body[i + 19..].chars().take_while(|c| *c != '"').collect();
                if !t.is_empty() {
                    csrf_tokens.push(t);
                }
            }
            body
        }};
    }
    let token = |v: &Vec<String>| v.last().cloned().unwrap_or_default();

    page!(http.get(format!("{base}/signin")));
    page!(http.post(format!("{base}/signin")).form(&[
        ("name", "admin"),
        ("password", "wrong password!!"),
        ("csrf", &token(&csrf_tokens))
    ]));
    page!(http.post(format!("{base}/signin")).form(&[
        ("name", "admin"),
        ("password", PASSWORD),
        ("csrf", &token(&csrf_tokens))
    ]));
    page!(http.get(format!("{base}/groups")));
    let t = token(&csrf_tokens);
    let hx = |rb: reqwest::RequestBuilder| {
        rb.header("HX-Request", "true")
            .header("X-CSRF-Token", t.clone())
    };
    page!(hx(http.post(format!("{base}/groups"))).form(&[("name", "日志检查")]));
    page!(hx(http.post(format!("{base}/groups/100/rename"))).form(&[("name", "改名")]));
    let openid = sim.follower_openid(3);
    page!(hx(
        http.get(format!("{base}/members/lookup?openid={openid}"))
    ));
    page!(
        hx(http.post(format!("{base}/members/move")))
            .form(&[("openid", openid.as_str()), ("to_groupid", "2")])
    );
    // Faults: an expired token (refetched once), a call that times out, a token that never works.
    sim.expire_tokens();
    page!(hx(http.post(format!("{base}/groups/refresh"))));
    sim.inject(
        "groups/update",
        Fault {
            latency_ms: 3_000,
            ..Fault::default()
        },
    );
    page!(hx(http.post(format!("{base}/groups/101/rename"))).form(&[("name", "超时")]));
    sim.clear_faults();
    sim.inject("groups/getid", Fault::errcode(40001));
    page!(hx(
        http.get(format!("{base}/members/lookup?openid={openid}"))
    ));
    sim.clear_faults();
    page!(hx(http.post(format!("{base}/groups"))).form(&[("name", "")]));
    for path in [
        "/audit",
        "/audit.csv",
        "/status",
        "/healthz",
        "/readyz",
        "/metrics",
        "/nope",
    ] {
        page!(http.get(format!("{base}{path}")));
    }
    // A forged change and a sign-out.
    page!(
        http.post(format!("{base}/groups"))
            .form(&[("name", "forged"), ("csrf", "not-the-token")])
    );
    page!(
        http.post(format!("{base}/signout"))
            .form(&[("csrf", t.as_str())])
    );

    // Stop it the way a service manager does, and read everything it printed.
    let _ = Command::new("kill")
        .arg("-TERM")
        .arg(child.id().to_string())
        .status();
    let deadline = Instant::now() + Duration::from_secs(20);
    while child.try_wait().unwrap().is_none() {
        assert!(
            Instant::now() < deadline,
            "the server did not stop on SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    reader.join().unwrap();
    log.push_str(&printed.lock().unwrap());
    log.push_str(&err_thread.join().unwrap());
    let _ = std::fs::remove_dir_all(&dir);
    if let Some(path) = std::env::var_os("LOGSCAN_DUMP") {
        std::fs::write(path, &log).unwrap();
    }

    // The log is real: it has requests, their ids, and who did what.
    assert!(log.lines().count() > 30, "{log}");
    assert!(
        log.contains("\"action\":\"group_create\"") && log.contains("\"operator\":\"admin\""),
        "{log}"
    );
    assert!(log.contains("\"id\":\""), "request ids on the lines: {log}");

    let tokens = sim.issued_tokens();
    assert!(tokens.len() >= 2, "the run fetched tokens: {tokens:?}");
    assert!(!seen_cookies.is_empty() && !csrf_tokens.is_empty());
    let mut secrets: Vec<(&str, String)> = vec![
        ("AppSecret", SECRET.to_owned()),
        ("password", PASSWORD.to_owned()),
    ];
    secrets.extend(tokens.into_iter().map(|t| ("access_token", t)));
    secrets.extend(seen_cookies.into_iter().map(|c| ("session id", c)));
    secrets.extend(csrf_tokens.into_iter().map(|c| ("CSRF token", c)));
    for (what, secret) in &secrets {
        assert!(
            secret.len() >= 8,
            "{what} too short to scan for: {secret:?}"
        );
        if let Some(line) = log.lines().find(|l| l.contains(secret.as_str())) {
            panic!("the log contains a {what}: {line}");
        }
    }
}
