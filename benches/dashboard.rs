//! The performance suite (issue 7): `cargo bench --bench dashboard`.
//!
//! Everything runs on loopback in this one process — the simulator, the dashboard, a bare axum
//! route (the ceiling) and a closed-loop load generator (N keep-alive HTTP/1.1 connections over
//! real sockets, a fixed number of requests, every latency recorded in an HDR histogram) — except
//! the footprint figures, which come from the real release binary run as a child process.
//!
//! Numbers on a shared machine drift from run to run, so every target is a ratio measured in the
//! same run or a count that does not drift. `WXGROUPS_BENCH_QUICK=1` runs a tenth of the requests
//! (for trying the suite out; the README table comes from a full run).

use std::{
    fmt::Write as _,
    net::SocketAddr,
    path::Path,
    process::{Child, Command, Stdio},
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use hdrhistogram::Histogram;
use http_body_util::{BodyExt, Empty};
use hyper::{
    Request, StatusCode,
    body::Bytes,
    client::conn::http1::{self, SendRequest},
    header,
};
use hyper_util::rt::TokioIo;
use tokio::{net::TcpStream, runtime::Runtime};

use wxgroups::{
    auth::password,
    settings::Settings,
    simulator::{Fault, SimConfig, Simulator, spawn_local},
    startup::Application,
    store::{Role, Store},
};

const APPID: &str = "wxbench000000000";
const SECRET: &str = "bench-secret";
const ADMIN: &str = "admin";
const PASSWORD: &str = "correct horse battery staple";
/// The simulator's (and WeChat's) cap, 0/1/2 included.
const GROUPS: usize = 500;
/// Injected on `groups/get` for item 3.
const GROUPS_GET_LATENCY_MS: u64 = 20;
/// Item 4: OpenIDs moved in one job (all valid), and what the simulator and the pacing add.
const MOVE_OPENIDS: u32 = 100_000;
/// WeChat's (and the worker's) chunk.
const MOVE_CHUNK: u32 = 50;
/// Injected on `groups/members/batchupdate` for item 4.
const BATCHUPDATE_LATENCY_MS: u64 = 5;
/// The worker's pacing for item 4: 6,000 a minute is a call every 10 ms.
const MOVE_PER_MINUTE: u32 = 6_000;
/// "Flat" memory: the process's RSS may grow at most this much during the job.
const FLAT_BOUND_KB: u64 = 20 * 1024;
/// Item 5.
const SYNC_FOLLOWERS: u32 = 1_000_000;

fn main() {
    let quick = std::env::var_os("WXGROUPS_BENCH_QUICK").is_some();
    // `WXGROUPS_BENCH_ONLY=1,3` runs only those items (for profiling one of them).
    let only: Option<Vec<u8>> = std::env::var("WXGROUPS_BENCH_ONLY")
        .ok()
        .map(|v| v.split(',').filter_map(|i| i.trim().parse().ok()).collect());
    let runs = |item: u8| only.as_ref().is_none_or(|o| o.contains(&item));
    let scale = |n: usize| if quick { n / 10 } else { n };
    let _ = rustls::crypto::ring::default_provider().install_default();
    // The servers get a multi-threaded runtime, as in production; the load generator a thread
    // of its own, so the two compete for the machine as a real client and server would.
    let server = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let client = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let tmp = std::env::temp_dir().join(format!("wxgroups-bench-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).expect("a temporary directory");
    let mut report = Report::default();
    eprintln!("wxgroups bench: preparing the simulator with {GROUPS} groups");

    // ---- 1. The groups page, list cached, signed in; and the bare ceiling. -------------------
    let sim = start_sim(&server);
    client.block_on(seed_groups(&sim.url));
    let app = start_app(&server, settings(&sim.url, &tmp.join("page.db"), 300));
    let admin = client.block_on(sign_in(&app, true));
    let page = client.block_on(async {
        let mut c = connect(app).await;
        get(&mut c, &admin.request("/groups")).await
    });
    assert_eq!(page.0, StatusCode::OK);
    let body = page.1;
    assert!(
        body.windows(b"bench-499".len()).any(|w| w == b"bench-499"),
        "the page shows all {GROUPS} groups"
    );
    report.note(format!(
        "groups page: {GROUPS} groups, {} bytes of HTML",
        body.len()
    ));
    let ceiling = start_ceiling(&server, body.clone());
    eprintln!("1. groups page vs the bare ceiling at 1, 16, 64 clients");
    let item1 = if runs(1) {
        vec![(1, scale(2_000)), (16, scale(10_000)), (64, scale(10_000))]
    } else {
        vec![]
    };
    let mut sqlite_ratios = Vec::new();
    for &(conns, total) in &item1 {
        let (top, run) = against_ceiling(
            &client,
            ceiling,
            app,
            &admin.request("/groups"),
            conns,
            total,
        );
        assert_eq!(run.bad, 0, "every page view answers 200");
        assert_eq!(
            run.bytes,
            body.len() as u64 * total as u64,
            "the same bytes"
        );
        let ratio = run.rate() / top.rate();
        sqlite_ratios.push(ratio);
        report.row(
            "1",
            format!("ceiling (bare axum, same bytes), {conns} client(s)"),
            top.summary(),
            "—".into(),
            Verdict::Info,
        );
        let mut target = "≥ 0.5 × ceiling".to_owned();
        let mut ok = ratio >= 0.5;
        if conns == 64 {
            target.push_str(", p99 < 10 ms");
            ok &= run.p(99.0) < 10_000;
        }
        report.row(
            "1",
            format!("groups page, {conns} client(s)"),
            format!("{} · {ratio:.2} × ceiling", run.summary()),
            target,
            Verdict::of(ok),
        );
    }

    if runs(1) {
        let pg = postgres_database("page");
        let pg_app = start_app(&server, settings_on(&sim.url, &pg.url, 300));
        let pg_admin = client.block_on(sign_in(&pg_app, true));
        for (&(conns, total), sqlite) in item1.iter().zip(&sqlite_ratios) {
            let (top, run) = against_ceiling(
                &client,
                ceiling,
                pg_app,
                &pg_admin.request("/groups"),
                conns,
                total,
            );
            assert_eq!(run.bad, 0, "every page view answers 200");
            let ratio = run.rate() / top.rate();
            report.row(
                "1",
                format!("groups page on PostgreSQL, {conns} client(s)"),
                format!(
                    "{} · {ratio:.2} × ceiling · {:.2} of SQLite's {sqlite:.2}",
                    run.summary(),
                    ratio / sqlite
                ),
                "≥ 0.9 × SQLite's ratio".into(),
                Verdict::of(ratio >= 0.9 * sqlite),
            );
        }
        tags_page(&server, &client, &tmp, &mut report, &scale);
        ten_accounts(&server, &client, &tmp, &mut report, &scale);
    }

    // ---- 2. Upstream calls. --------------------------------------------------------------------
    if runs(2) {
        eprintln!("2. upstream calls");
        sim.sim.reset_calls();
        let run = client.block_on(load(app, &admin.request("/groups"), 16, 1_000));
        assert_eq!(run.bad, 0);
        let calls = sim.sim.total_calls();
        report.row(
            "2",
            "1,000 page views, fresh cache: upstream calls".into(),
            calls.to_string(),
            "0".into(),
            Verdict::of(calls == 0),
        );
        let cold_sim = start_sim(&server);
        client.block_on(seed_groups(&cold_sim.url));
        cold_sim.sim.reset_calls();
        let cold = start_app(&server, settings(&cold_sim.url, &tmp.join("cold.db"), 300));
        let who = client.block_on(sign_in(&cold, false));
        let (ok, slowest) = client.block_on(burst(cold, &who.request("/groups"), 1_000));
        assert_eq!(
            ok, 1_000,
            "every request of the burst answers 200 with the list"
        );
        let tokens =
            cold_sim.sim.calls("/cgi-bin/stable_token") + cold_sim.sim.calls("/cgi-bin/token");
        let gets = cold_sim.sim.calls("/cgi-bin/groups/get");
        report.row(
            "2",
            "cold start, 1,000 concurrent page views: token fetches / groups/get".into(),
            format!(
                "{tokens} / {gets} (all 1,000 answered in {})",
                ms(slowest.as_micros() as u64)
            ),
            "1 / 1".into(),
            Verdict::of(tokens == 1 && gets == 1),
        );
    }

    // ---- 3. Added latency with the cache cold. -------------------------------------------------
    if runs(3) {
        eprintln!("3. added latency, cold cache");
        sim.sim.inject(
            "groups/get",
            Fault {
                latency_ms: GROUPS_GET_LATENCY_MS,
                ..Fault::default()
            },
        );
        // max_age 0: every page view fetches the list again, as the first view after expiry does.
        let uncached = start_app(&server, settings(&sim.url, &tmp.join("uncached.db"), 0));
        let who = client.block_on(sign_in(&uncached, true));
        let (page_p50, upstream_p50, page_p99) =
            client.block_on(added_latency(uncached, &who, &sim, scale(300)));
        let added = page_p50 as i64 - upstream_p50 as i64;
        report.row(
            "3",
            format!("added latency, cold cache, {GROUPS} groups (p50)"),
            format!(
                "{} (page {} − groups/get alone {}; page p99 {})",
                ms_signed(added),
                ms(page_p50),
                ms(upstream_p50),
                ms(page_p99)
            ),
            "< 1 ms".into(),
            Verdict::of(added < 1_000),
        );
        sim.sim.clear_faults();
    }

    // ---- 4. Batch move of 100,000 OpenIDs. ---------------------------------------------------
    if runs(4) {
        eprintln!("4. batch move of {MOVE_OPENIDS} OpenIDs");
        let sqlite = format!("sqlite://{}", tmp.join("move.db").display());
        batch_move(&server, &client, &sqlite, "SQLite", &mut report);
        eprintln!("4. the same on PostgreSQL");
        let pg = postgres_database("move");
        batch_move(&server, &client, &pg.url, "PostgreSQL", &mut report);
    }

    // ---- 5. Follower sync of 1,000,000 followers. --------------------------------------------
    if runs(5) {
        eprintln!("5. follower sync of {SYNC_FOLLOWERS} followers");
        follower_sync(&server, &client, &tmp, &mut report);
    }

    // ---- 6. Footprint of the real release binary. ----------------------------------------------
    if runs(6) {
        eprintln!("6. footprint of the release binary");
        let exe = Path::new(env!("CARGO_BIN_EXE_wxgroups"));
        let mut startups = Vec::new();
        for i in 0..5 {
            let db = tmp.join(format!("start-{i}.db"));
            let (mut child, _, took) = spawn_binary(exe, &sim.url, &db);
            startups.push(took);
            stop(&mut child);
        }
        startups.sort();
        let median = startups[startups.len() / 2];
        report.row(
            "6",
            "start-up to ready, fresh database (median of 5, incl. migrations)".into(),
            format!(
                "{} (max {})",
                ms(median.as_micros() as u64),
                ms(startups[startups.len() - 1].as_micros() as u64)
            ),
            "< 300 ms".into(),
            Verdict::of(median < Duration::from_millis(300)),
        );
        let db = tmp.join("footprint.db");
        let (mut child, addr, _) = spawn_binary(exe, &sim.url, &db);
        server.block_on(add_admin(&db));
        let idle = rss_kb(child.id());
        let who = client.block_on(sign_in(&addr, true));
        let views = scale(100_000);
        let run = client.block_on(load(addr, &who.request("/groups"), 16, views));
        assert_eq!(run.bad, 0);
        let after = rss_kb(child.id());
        let peak = hwm_kb(child.id());
        stop(&mut child);
        report.row(
            "6",
            "resident memory, idle after start".into(),
            mb(idle),
            "< 64 MB".into(),
            Verdict::of(idle < 64 * 1024),
        );
        report.row(
            "6",
            format!("resident memory after {views} page views at 16 clients"),
            format!("{} (peak {}; {})", mb(after), mb(peak), run.summary()),
            "< 64 MB".into(),
            Verdict::of(after < 64 * 1024 && peak < 64 * 1024),
        );
        let size = std::fs::metadata(exe).map(|m| m.len()).unwrap_or(0);
        report.row(
            "6",
            "release binary size".into(),
            format!("{:.1} MB", size as f64 / 1_048_576.0),
            "—".into(),
            Verdict::Info,
        );
    }

    let _ = std::fs::remove_dir_all(&tmp);
    report.print(quick);
}

// ---- What the table says. ------------------------------------------------------------------------

#[derive(Clone, Copy)]
enum Verdict {
    Pass,
    Miss,
    Info,
}

impl Verdict {
    fn of(ok: bool) -> Self {
        if ok { Verdict::Pass } else { Verdict::Miss }
    }
    fn as_str(self) -> &'static str {
        match self {
            Verdict::Pass => "pass",
            Verdict::Miss => "**MISS**",
            Verdict::Info => "",
        }
    }
}

#[derive(Default)]
struct Report {
    notes: Vec<String>,
    rows: Vec<(&'static str, String, String, String, Verdict)>,
}

impl Report {
    fn note(&mut self, s: String) {
        self.notes.push(s);
    }

    fn row(&mut self, item: &'static str, what: String, value: String, target: String, v: Verdict) {
        eprintln!("   {item}. {what}: {value} [{}]", v.as_str());
        self.rows.push((item, what, value, target, v));
    }

    fn print(&self, quick: bool) {
        let mut out = String::new();
        let cpu = std::fs::read_to_string("/proc/cpuinfo")
            .ok()
            .and_then(|s| {
                s.lines()
                    .find(|l| l.starts_with("model name"))
                    .and_then(|l| l.split(':').nth(1))
                    .map(|m| m.trim().to_owned())
            })
            .unwrap_or_else(|| "unknown CPU".into());
        let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
        let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
        let mem = std::fs::read_to_string("/proc/meminfo")
            .ok()
            .and_then(|s| {
                s.lines()
                    .find(|l| l.starts_with("MemTotal"))
                    .and_then(|l| l.split_whitespace().nth(1))
                    .and_then(|k| k.parse::<u64>().ok())
            })
            .map_or_else(String::new, |kb| format!(", {:.0} GB RAM", kb as f64 / 1e6));
        let _ = writeln!(
            out,
            "\nMachine: {cores} × {cpu} (nproc {cores}{mem}), Linux {}; {}{}",
            kernel.trim(),
            jiff::Timestamp::now().strftime("%Y-%m-%d %H:%M UTC"),
            if quick {
                " — QUICK RUN (a tenth of the requests)"
            } else {
                ""
            }
        );
        for n in &self.notes {
            let _ = writeln!(
                out,
                "Setup: {n}; load from one closed-loop client thread, keep-alive HTTP/1.1."
            );
        }
        let _ = writeln!(out);
        let _ = writeln!(out, "| # | measure | result | target | |");
        let _ = writeln!(out, "|---|---|---|---|---|");
        for (item, what, value, target, v) in &self.rows {
            let _ = writeln!(
                out,
                "| {item} | {what} | {value} | {target} | {} |",
                v.as_str()
            );
        }
        let met = self
            .rows
            .iter()
            .filter(|r| matches!(r.4, Verdict::Pass))
            .count();
        let missed = self
            .rows
            .iter()
            .filter(|r| matches!(r.4, Verdict::Miss))
            .count();
        let _ = writeln!(out, "\n{met} targets met, {missed} missed.");
        println!("{out}");
    }
}

fn ms(us: u64) -> String {
    format!("{:.2} ms", us as f64 / 1000.0)
}

fn ms_signed(us: i64) -> String {
    format!("{:.2} ms", us as f64 / 1000.0)
}

fn mb(kb: u64) -> String {
    format!("{:.1} MB", kb as f64 / 1024.0)
}

// ---- The simulator, the app and the ceiling. -----------------------------------------------------

struct Sim {
    sim: Simulator,
    url: String,
}

fn start_sim(rt: &Runtime) -> Sim {
    start_sim_with(rt, 10_000)
}

fn start_sim_with(rt: &Runtime, followers: u32) -> Sim {
    let sim = Simulator::new(SimConfig {
        appid: APPID.into(),
        secret: SECRET.into(),
        followers,
        ..SimConfig::default()
    });
    let url = rt
        .block_on(spawn_local(&sim))
        .expect("the simulator listens");
    Sim { sim, url }
}

/// Item 1 with ten accounts configured: one account's groups page (500 groups) against the
/// same bytes' ceiling, and switching to another fresh account costs no upstream call.
fn ten_accounts(
    server: &Runtime,
    client: &Runtime,
    tmp: &Path,
    report: &mut Report,
    scale: &impl Fn(usize) -> usize,
) {
    let sims: Vec<Sim> = (0..10).map(|_| start_sim(server)).collect();
    client.block_on(seed_groups(&sims[0].url));
    let accounts = sims
        .iter()
        .enumerate()
        .map(|(i, sim)| {
            wxgroups::settings::AccountSettings::for_tests(
                &format!("acct-{i}"),
                APPID,
                SECRET,
                sim.url.clone(),
                wxgroups::domain::Api::Groups,
            )
        })
        .collect();
    let settings = settings(&sims[0].url, &tmp.join("ten.db"), 300).with_accounts(accounts);
    let app = start_app(
        server,
        Settings {
            account: None,
            ..settings
        },
    );
    let admin = client.block_on(sign_in_at(&app, "/a/acct-0/groups"));
    let path = "/a/acct-0/groups";
    let (status, body) = client.block_on(async {
        let mut c = connect(app).await;
        get(&mut c, &admin.request(path)).await
    });
    assert_eq!(status, StatusCode::OK);
    let ceiling = start_ceiling(server, body.clone());
    eprintln!("1. ten accounts: one account's groups page vs the bare ceiling");
    for (conns, total) in [(1, scale(2_000)), (16, scale(10_000)), (64, scale(10_000))] {
        // The bare route answers at /groups, whatever page it holds.
        let (top, run) = against_ceiling(client, ceiling, app, &admin.request(path), conns, total);
        assert_eq!(run.bad, 0, "every page view answers 200");
        assert_eq!(top.bytes, run.bytes, "the ceiling serves the same bytes");
        let ratio = run.rate() / top.rate();
        report.row(
            "1",
            format!("groups page, 10 accounts configured, {conns} client(s)"),
            format!("{} · {ratio:.2} × ceiling", run.summary()),
            "≥ 0.5 × ceiling".into(),
            Verdict::of(ratio >= 0.5),
        );
    }
    // Every account's list once, then switching between them: no further upstream call.
    for i in 0..10 {
        client.block_on(async {
            let mut c = connect(app).await;
            get(&mut c, &admin.request(&format!("/a/acct-{i}/groups"))).await
        });
    }
    let before: u64 = sims
        .iter()
        .map(|s| s.sim.calls("/cgi-bin/groups/get"))
        .sum();
    for i in (0..10).cycle().take(100) {
        client.block_on(async {
            let mut c = connect(app).await;
            get(&mut c, &admin.request(&format!("/a/acct-{i}/groups"))).await
        });
    }
    let after: u64 = sims
        .iter()
        .map(|s| s.sim.calls("/cgi-bin/groups/get"))
        .sum();
    report.row(
        "1",
        "100 switches between 10 fresh accounts: groups/get calls".into(),
        (after - before).to_string(),
        "0".into(),
        Verdict::of(after == before),
    );
}

/// Item 1 in tags mode: the tags page with WeChat's cap of 100 tags, against its own ceiling.
fn tags_page(
    server: &Runtime,
    client: &Runtime,
    tmp: &Path,
    report: &mut Report,
    scale: &impl Fn(usize) -> usize,
) {
    let sim = start_sim(server);
    let mut n = 0;
    while sim.sim.tag_count() < 100 {
        sim.sim.create_tag(&format!("bench-t{n:03}"));
        n += 1;
    }
    let mut tags = settings(&sim.url, &tmp.join("tags.db"), 300);
    tags.api = wxgroups::domain::Api::Tags;
    let app = start_app(server, tags);
    let admin = client.block_on(sign_in(&app, true));
    let (status, body) = client.block_on(async {
        let mut c = connect(app).await;
        get(&mut c, &admin.request("/groups")).await
    });
    assert_eq!(status, StatusCode::OK);
    assert!(
        body.windows(b"100 / 100".len()).any(|w| w == b"100 / 100"),
        "the page shows all 100 tags"
    );
    report.note(format!("tags page: 100 tags, {} bytes of HTML", body.len()));
    let ceiling = start_ceiling(server, body.clone());
    eprintln!("1. tags page vs the bare ceiling at 1, 16, 64 clients");
    for (conns, total) in [(1, scale(2_000)), (16, scale(10_000)), (64, scale(10_000))] {
        let (top, run) = against_ceiling(
            client,
            ceiling,
            app,
            &admin.request("/groups"),
            conns,
            total,
        );
        assert_eq!(run.bad, 0, "every page view answers 200");
        let ratio = run.rate() / top.rate();
        report.row(
            "1",
            format!("tags page (100 tags), {conns} client(s)"),
            format!("{} · {ratio:.2} × its ceiling", run.summary()),
            "≥ 0.5 × ceiling".into(),
            Verdict::of(ratio >= 0.5),
        );
    }
    let calls = sim.sim.calls("/cgi-bin/tags/get");
    report.row(
        "1",
        "tags page views: tags/get calls".into(),
        calls.to_string(),
        "1".into(),
        Verdict::of(calls == 1),
    );
}

/// Fills the account up to WeChat's cap of 500 groups, through the simulator's own API.
async fn seed_groups(sim: &str) {
    let http = reqwest::Client::new();
    let token = sim_token(&http, sim).await;
    let existing: serde_json::Value = http
        .get(format!("{sim}/cgi-bin/groups/get?access_token={token}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let have = existing["groups"].as_array().map_or(0, Vec::len);
    for i in have..GROUPS {
        let r: serde_json::Value = http
            .post(format!("{sim}/cgi-bin/groups/create?access_token={token}"))
            .json(&serde_json::json!({ "group": { "name": format!("分组 bench-{i:03}") } }))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert!(
            r["group"]["id"].is_u64(),
            "the simulator creates a group: {r}"
        );
    }
}

async fn sim_token(http: &reqwest::Client, sim: &str) -> String {
    let t: serde_json::Value = http
        .post(format!("{sim}/cgi-bin/stable_token"))
        .json(&serde_json::json!({
            "grant_type": "client_credential", "appid": APPID, "secret": SECRET
        }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    t["access_token"].as_str().expect("a token").to_owned()
}

fn settings(sim: &str, db: &Path, max_age_secs: u64) -> Settings {
    settings_on(sim, &format!("sqlite://{}", db.display()), max_age_secs)
}

fn settings_on(sim: &str, database_url: &str, max_age_secs: u64) -> Settings {
    Settings {
        groups_max_age: Duration::from_secs(max_age_secs),
        upstream_timeout: Duration::from_secs(10),
        database_url: database_url.to_owned(),
        ..Settings::for_tests().with_account(APPID, SECRET, sim)
    }
}

/// A database of its own on the local PostgreSQL (`WXGROUPS_BENCH_POSTGRES`, by default
/// `postgres://postgres@127.0.0.1:5432`), dropped when the bench is done with it.
struct PgDatabase {
    server: String,
    name: String,
    url: String,
}

fn postgres_database(what: &str) -> PgDatabase {
    let server = std::env::var("WXGROUPS_BENCH_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".into());
    let name = format!("wxgroups_bench_{what}_{}", std::process::id());
    PgDatabase {
        url: format!("{server}/{name}"),
        server,
        name,
    }
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        let (server, name) = (self.server.clone(), self.name.clone());
        // Its own runtime: the bench's are busy or gone by now.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .ok()?;
            rt.block_on(async {
                use sqlx::Connection;
                let mut c = sqlx::PgConnection::connect(&format!("{server}/postgres"))
                    .await
                    .ok()?;
                let drop = format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)");
                sqlx::query(&drop).execute(&mut c).await.ok()
            })
        })
        .join();
    }
}

/// The bare ceiling, then `app` serving `spec`, back to back with `conns` connections: each
/// warmed first with a tenth of `total` (connections, allocator, caches).
fn against_ceiling(
    client: &Runtime,
    ceiling: SocketAddr,
    app: SocketAddr,
    spec: &Spec,
    conns: usize,
    total: usize,
) -> (Run, Run) {
    let bare = Spec::plain(ceiling, "/groups");
    client.block_on(load(ceiling, &bare, conns, total / 10));
    let top = client.block_on(load(ceiling, &bare, conns, total));
    client.block_on(load(app, spec, conns, total / 10));
    let run = client.block_on(load(app, spec, conns, total));
    (top, run)
}

/// Builds and runs the dashboard in this process; adds the admin.
fn start_app(rt: &Runtime, settings: Settings) -> SocketAddr {
    start_app_with_store(rt, settings).0
}

/// [`start_app`], also answering the app's store (to watch a job's or a sync's state).
fn start_app_with_store(rt: &Runtime, settings: Settings) -> (SocketAddr, Store) {
    let app = rt
        .block_on(Application::build(settings))
        .expect("the app builds");
    let addr = app.local_addr();
    let store = app.store().clone();
    rt.spawn(app.run());
    rt.block_on(async {
        let hash = password::hash(PASSWORD).unwrap();
        store.add_operator(ADMIN, Role::Admin, &hash).await.unwrap();
    });
    (addr, store)
}

async fn add_admin(db: &Path) {
    let store = Store::connect(&format!("sqlite://{}", db.display()))
        .await
        .expect("the database");
    let hash = password::hash(PASSWORD).unwrap();
    store.add_operator(ADMIN, Role::Admin, &hash).await.unwrap();
    store.pool().close().await;
}

/// The same bytes from a bare axum route: what this machine can serve at most.
fn start_ceiling(rt: &Runtime, body: Bytes) -> SocketAddr {
    let router = axum::Router::new().route(
        "/groups",
        axum::routing::get(move || {
            let body = body.clone();
            async move { axum::response::Html(body) }
        }),
    );
    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .expect("a port");
    let addr = listener.local_addr().unwrap();
    rt.spawn(async move { axum::serve(listener, router).await });
    addr
}

// ---- The real binary. ----------------------------------------------------------------------------

/// Starts the release binary on a fresh port with `db`; returns once `/readyz` answers 200, with
/// the time from spawn to that answer.
// The child is handed to the caller, which ends it with `stop` (kill, then wait).
#[allow(clippy::zombie_processes)]
fn spawn_binary(exe: &Path, sim: &str, db: &Path) -> (Child, SocketAddr, Duration) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port");
    let started = Instant::now();
    let mut child = Command::new(exe)
        .env_clear()
        .env("WXGROUPS_LISTEN", port.to_string())
        .env("WXGROUPS_APPID", APPID)
        .env("WXGROUPS_APPSECRET", SECRET)
        .env("WXGROUPS_WECHAT_API", sim)
        .env(
            "WXGROUPS_DATABASE_URL",
            format!("sqlite://{}", db.display()),
        )
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("the release binary starts");
    let ready = format!("http://{port}/readyz");
    loop {
        if probe(&ready) {
            return (child, port, started.elapsed());
        }
        if started.elapsed() > Duration::from_secs(20) {
            stop(&mut child);
            panic!("the release binary was not ready within 20 s");
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// A blocking GET with std only (no runtime needed): whether it answered 200.
fn probe(url: &str) -> bool {
    use std::io::{Read, Write};
    let addr = url
        .trim_start_matches("http://")
        .split('/')
        .next()
        .unwrap()
        .to_owned();
    let path = &url[7 + addr.len()..];
    let Ok(mut s) = std::net::TcpStream::connect(&addr) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
    if write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .is_err()
    {
        return false;
    }
    let mut buf = [0u8; 12];
    s.read_exact(&mut buf).is_ok() && &buf[9..12] == b"200"
}

fn stop(child: &mut Child) {
    let _ = child.kill();
    let _ = child.wait();
}

fn proc_status_kb(pid: u32, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

fn rss_kb(pid: u32) -> u64 {
    proc_status_kb(pid, "VmRSS:")
}

fn hwm_kb(pid: u32) -> u64 {
    proc_status_kb(pid, "VmHWM:")
}

// ---- Signing in. ---------------------------------------------------------------------------------

/// A signed-in browser: the headers its requests carry.
struct Who {
    host: String,
    cookie: String,
}

impl Who {
    fn request(&self, path: &str) -> Spec {
        Spec {
            path: path.to_owned(),
            host: self.host.clone(),
            cookie: Some(self.cookie.clone()),
        }
    }
}

/// Signs the admin in through the sign-in page, as a browser does; `visit` then loads the groups
/// page once (which fills the group cache).
async fn sign_in(addr: &SocketAddr, visit: bool) -> Who {
    sign_in_visiting(addr, visit.then_some("/groups")).await
}

/// Signs the admin in, then (with several accounts) opens one account's page.
async fn sign_in_at(addr: &SocketAddr, path: &str) -> Who {
    sign_in_visiting(addr, Some(path)).await
}

async fn sign_in_visiting(addr: &SocketAddr, visit: Option<&str>) -> Who {
    use reqwest::cookie::CookieStore;
    let jar = Arc::new(reqwest::cookie::Jar::default());
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .cookie_provider(jar.clone())
        .build()
        .unwrap();
    let base = format!("http://{addr}");
    let page = http
        .get(format!("{base}/signin"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let marker = "name=\"csrf\" value=\"";
    let at = page.find(marker).expect("the sign-in form has a token") + marker.len();
    let csrf = &page[at..at + page[at..].find('"').unwrap()];
    let r = http
        .post(format!("{base}/signin"))
        .form(&[
            ("name", ADMIN),
            ("password", PASSWORD),
            ("next", ""),
            ("csrf", csrf),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303, "the admin signs in");
    if let Some(path) = visit {
        let r = http.get(format!("{base}{path}")).send().await.unwrap();
        assert_eq!(r.status(), 200);
        r.bytes().await.unwrap();
    }
    let cookie = jar
        .cookies(&base.parse().unwrap())
        .expect("a session cookie")
        .to_str()
        .unwrap()
        .to_owned();
    Who {
        host: addr.to_string(),
        cookie,
    }
}

// ---- The load generator. -------------------------------------------------------------------------

/// One request, sent again and again.
struct Spec {
    path: String,
    host: String,
    cookie: Option<String>,
}

impl Spec {
    fn plain(addr: SocketAddr, path: &str) -> Spec {
        Spec {
            path: path.to_owned(),
            host: addr.to_string(),
            cookie: None,
        }
    }

    fn build(&self) -> Request<Empty<Bytes>> {
        let mut b = Request::get(self.path.as_str())
            .header(header::HOST, self.host.as_str())
            .header(header::ACCEPT, "text/html");
        if let Some(c) = &self.cookie {
            b = b.header(header::COOKIE, c.as_str());
        }
        b.body(Empty::new()).unwrap()
    }
}

async fn connect(addr: SocketAddr) -> SendRequest<Empty<Bytes>> {
    let stream = TcpStream::connect(addr).await.expect("connects");
    stream.set_nodelay(true).unwrap();
    let (sender, conn) = http1::handshake(TokioIo::new(stream))
        .await
        .expect("handshake");
    tokio::spawn(conn);
    sender
}

async fn get(c: &mut SendRequest<Empty<Bytes>>, spec: &Spec) -> (StatusCode, Bytes) {
    c.ready().await.expect("the connection stays up");
    let res = c.send_request(spec.build()).await.expect("an answer");
    let status = res.status();
    let body = res.into_body().collect().await.expect("a body").to_bytes();
    (status, body)
}

/// Like [`get`], but only counts the body's bytes (no copy into one buffer), so the load
/// generator spends as little as it can per response.
async fn get_len(c: &mut SendRequest<Empty<Bytes>>, spec: &Spec) -> (StatusCode, usize) {
    c.ready().await.expect("the connection stays up");
    let res = c.send_request(spec.build()).await.expect("an answer");
    let status = res.status();
    let mut body = res.into_body();
    let mut len = 0;
    while let Some(frame) = body.frame().await {
        if let Ok(data) = frame.expect("a body").into_data() {
            len += data.len();
        }
    }
    (status, len)
}

struct Run {
    hist: Histogram<u64>,
    elapsed: Duration,
    bad: u64,
    bytes: u64,
}

impl Run {
    fn rate(&self) -> f64 {
        self.hist.len() as f64 / self.elapsed.as_secs_f64()
    }
    /// A percentile in µs.
    fn p(&self, q: f64) -> u64 {
        self.hist.value_at_quantile(q / 100.0)
    }
    fn summary(&self) -> String {
        format!(
            "{:.0} req/s · p50 {} · p99 {}",
            self.rate(),
            ms(self.p(50.0)),
            ms(self.p(99.0))
        )
    }
}

/// A closed loop: `conns` keep-alive connections, each sending its next request when the
/// previous answer is read, until `total` requests are done.
async fn load(addr: SocketAddr, spec: &Spec, conns: usize, total: usize) -> Run {
    let spec = Arc::new(Spec {
        path: spec.path.clone(),
        host: spec.host.clone(),
        cookie: spec.cookie.clone(),
    });
    let next = Arc::new(AtomicUsize::new(0));
    let mut senders = Vec::new();
    for _ in 0..conns {
        senders.push(connect(addr).await);
    }
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for mut c in senders {
        let (spec, next) = (spec.clone(), next.clone());
        tasks.spawn(async move {
            let mut hist = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).unwrap();
            let (mut bad, mut bytes) = (0u64, 0u64);
            while next.fetch_add(1, Ordering::Relaxed) < total {
                let t = Instant::now();
                let (status, len) = get_len(&mut c, &spec).await;
                hist.saturating_record(t.elapsed().as_micros() as u64);
                bytes += len as u64;
                if status != StatusCode::OK {
                    bad += 1;
                }
            }
            (hist, bad, bytes)
        });
    }
    let mut run = Run {
        hist: Histogram::new_with_bounds(1, 60_000_000, 3).unwrap(),
        elapsed: Duration::ZERO,
        bad: 0,
        bytes: 0,
    };
    while let Some(r) = tasks.join_next().await {
        let (h, bad, bytes) = r.expect("a load task");
        run.hist.add(h).unwrap();
        run.bad += bad;
        run.bytes += bytes;
    }
    run.elapsed = started.elapsed();
    run
}

/// `n` connections, opened first, then one request each all at once: how many answered 200
/// with a full table, and when the last one did.
async fn burst(addr: SocketAddr, spec: &Spec, n: usize) -> (usize, Duration) {
    let spec = Arc::new(Spec {
        path: spec.path.clone(),
        host: spec.host.clone(),
        cookie: spec.cookie.clone(),
    });
    let mut senders = Vec::new();
    for _ in 0..n {
        senders.push(connect(addr).await);
    }
    let go = Arc::new(tokio::sync::Barrier::new(n));
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for mut c in senders {
        let (spec, go) = (spec.clone(), go.clone());
        tasks.spawn(async move {
            go.wait().await;
            let (status, body) = get(&mut c, &spec).await;
            status == StatusCode::OK && body.windows(9).any(|w| w == b"bench-499")
        });
    }
    let mut ok = 0;
    while let Some(r) = tasks.join_next().await {
        ok += usize::from(r.expect("a burst task"));
    }
    (ok, started.elapsed())
}

/// Alternates a page view (cache cold: the app fetches the list) with a `groups/get` straight to
/// the simulator, one at a time; returns the page's p50, the simulator's p50 (µs) and the page's
/// p99.
async fn added_latency(app: SocketAddr, who: &Who, sim: &Sim, n: usize) -> (u64, u64, u64) {
    let http = reqwest::Client::new();
    let token = sim_token(&http, &sim.url).await;
    let sim_addr: SocketAddr = sim.url.trim_start_matches("http://").parse().unwrap();
    let direct = Spec::plain(
        sim_addr,
        &format!("/cgi-bin/groups/get?access_token={token}"),
    );
    let page = who.request("/groups");
    let mut to_sim = connect(sim_addr).await;
    let mut to_app = connect(app).await;
    let mut pages = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).unwrap();
    let mut upstream = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).unwrap();
    for i in 0..n + 10 {
        let t = Instant::now();
        let (status, body) = get(&mut to_sim, &direct).await;
        let d = t.elapsed();
        assert_eq!(status, StatusCode::OK);
        assert!(body.len() > 10_000, "the full list");
        let t = Instant::now();
        let (status, _) = get(&mut to_app, &page).await;
        let p = t.elapsed();
        assert_eq!(status, StatusCode::OK);
        if i >= 10 {
            upstream.saturating_record(d.as_micros() as u64);
            pages.saturating_record(p.as_micros() as u64);
        }
    }
    (
        pages.value_at_quantile(0.5),
        upstream.value_at_quantile(0.5),
        pages.value_at_quantile(0.99),
    )
}

// ---- 4, 5. Bulk jobs, driven over HTTP as an operator does. --------------------------------------

/// A signed-in browser with its cookie jar and the CSRF token its pages carry.
struct Operator {
    http: reqwest::Client,
    base: String,
    csrf: String,
}

impl Operator {
    async fn sign_in(addr: &SocketAddr) -> Operator {
        let jar = Arc::new(reqwest::cookie::Jar::default());
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .cookie_provider(jar)
            .build()
            .unwrap();
        let base = format!("http://{addr}");
        let page = http
            .get(format!("{base}/signin"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let r = http
            .post(format!("{base}/signin"))
            .form(&[
                ("name", ADMIN),
                ("password", PASSWORD),
                ("next", ""),
                ("csrf", csrf_of(&page).as_str()),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 303, "the admin signs in");
        // The jobs page, as the operator opens it: its forms carry the session's token.
        let r = http.get(format!("{base}/jobs")).send().await.unwrap();
        assert_eq!(r.status(), 200);
        let csrf = csrf_of(&r.text().await.unwrap());
        Operator { http, base, csrf }
    }

    /// A form post as htmx sends it (the token in `X-CSRF-Token`).
    async fn post_hx(&self, path: &str) -> (u16, String) {
        let r = self
            .http
            .post(format!("{}{path}", self.base))
            .header("HX-Request", "true")
            .header("X-CSRF-Token", &self.csrf)
            .form(&[("_", "")])
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.text().await.unwrap())
    }

    /// The "move a list" form: `text` pasted, target group `to`; answers the draft job's id.
    async fn preview(&self, text: &str, to: u32) -> i64 {
        const BOUNDARY: &str = "----wxgroupsBenchBoundary7MA4YWxk";
        let mut body = Vec::with_capacity(text.len() + 1024);
        let to = to.to_string();
        for (name, value) in [("text", text), ("to_groupid", to.as_str())] {
            body.extend_from_slice(
                format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n")
                    .as_bytes(),
            );
            body.extend_from_slice(value.as_bytes());
            body.extend_from_slice(b"\r\n");
        }
        body.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
        let r = self
            .http
            .post(format!("{}/jobs/preview", self.base))
            .header(
                header::CONTENT_TYPE,
                format!("multipart/form-data; boundary={BOUNDARY}"),
            )
            .header("HX-Request", "true")
            .header("X-CSRF-Token", &self.csrf)
            .body(body)
            .send()
            .await
            .unwrap();
        let status = r.status();
        let html = r.text().await.unwrap();
        assert_eq!(status, 200, "the preview: {html}");
        let end = html
            .find("/confirm\"")
            .unwrap_or_else(|| panic!("no confirm form in the preview: {html}"));
        let start = html[..end].rfind('/').unwrap() + 1;
        html[start..end].parse().expect("a job id")
    }
}

fn csrf_of(page: &str) -> String {
    let marker = "name=\"csrf\" value=\"";
    let at = page.find(marker).expect("the page has a CSRF token") + marker.len();
    page[at..at + page[at..].find('"').unwrap()].to_owned()
}

/// Samples this process's resident memory (the app, the simulator and the client all run in
/// it) every 50 ms on a thread of its own until stopped: (start, peak, end) in kB.
struct RssSampler {
    stop: Arc<std::sync::atomic::AtomicBool>,
    thread: std::thread::JoinHandle<(u64, u64)>,
    start: u64,
}

impl RssSampler {
    fn start() -> RssSampler {
        let start = rss_kb(std::process::id());
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            let mut peak = start;
            let mut last = start;
            while !flag.load(Ordering::Relaxed) {
                last = rss_kb(std::process::id());
                peak = peak.max(last);
                std::thread::sleep(Duration::from_millis(50));
            }
            (peak, last)
        });
        RssSampler {
            stop,
            thread,
            start,
        }
    }

    fn finish(self) -> (u64, u64, u64) {
        self.stop.store(true, Ordering::Relaxed);
        let (peak, _) = self.thread.join().expect("the sampler");
        let end = rss_kb(std::process::id());
        (self.start, peak.max(end), end)
    }
}

/// Item 4: a list of 100,000 valid OpenIDs pasted, previewed and confirmed over HTTP; the
/// worker moves them in chunks of 50 at the configured pace against a simulator answering
/// batchupdate after a fixed latency.
/// Item 4 on `database_url` (`engine` names it in the report).
fn batch_move(
    server: &Runtime,
    client: &Runtime,
    database_url: &str,
    engine: &str,
    report: &mut Report,
) {
    let sim = start_sim_with(server, MOVE_OPENIDS);
    let mut s = settings_on(&sim.url, database_url, 300);
    s.jobs = wxgroups::settings::JobSettings {
        batch_per_minute: MOVE_PER_MINUTE,
        quota_backoff: Duration::from_secs(1),
        ..Default::default()
    };
    let interval = s.jobs.interval();
    let (app, store) = start_app_with_store(server, s);
    let op = client.block_on(Operator::sign_in(&app));
    let text = (0..MOVE_OPENIDS)
        .map(|i| sim.sim.follower_openid(i))
        .collect::<Vec<_>>()
        .join("\n");
    // Demo group 101 (VIP客户), which the simulator seeds.
    let id = client.block_on(op.preview(&text, 101));
    drop(text);
    sim.sim.inject(
        "groups/members/batchupdate",
        Fault {
            latency_ms: BATCHUPDATE_LATENCY_MS,
            ..Fault::default()
        },
    );
    sim.sim.reset_calls();
    let latency = Duration::from_millis(BATCHUPDATE_LATENCY_MS);
    let calls_expected = u64::from(MOVE_OPENIDS.div_ceil(MOVE_CHUNK));
    // The worker's rule (`Runner::pace`): call k may start no sooner than call k−1's slot plus
    // the interval, and calls are sequential, so no sooner than call k−1's answer either.
    let floor = interval.max(latency) * (calls_expected as u32 - 1) + latency;
    let rss = RssSampler::start();
    let started = Instant::now();
    let job = client.block_on(async {
        let (status, body) = op.post_hx(&format!("/jobs/{id}/confirm")).await;
        assert_eq!(status, 200, "the job is confirmed: {body}");
        loop {
            let job = store.job(id).await.unwrap().expect("the job");
            if job.state.is_final() {
                return job;
            }
            assert!(
                started.elapsed() < Duration::from_secs(600),
                "the job did not end in 10 minutes: {job:?}"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    });
    let took = started.elapsed();
    let (start, peak, end) = rss.finish();
    sim.sim.clear_faults();
    let calls = sim.sim.calls("/cgi-bin/groups/members/batchupdate");
    assert_eq!(job.state, wxgroups::store::JobState::Done, "{job:?}");
    assert_eq!(
        (job.moved, job.invalid, job.failed),
        (i64::from(MOVE_OPENIDS), 0, 0),
        "every OpenID moved: {job:?}"
    );
    assert_eq!(
        sim.sim.group_of(&sim.sim.follower_openid(MOVE_OPENIDS - 1)),
        Some(101)
    );
    report.row(
        "4",
        format!("batch move of {MOVE_OPENIDS} valid OpenIDs ({engine}): batchupdate calls"),
        format!("{calls} (job's own count {})", job.calls),
        format!("{calls_expected}"),
        Verdict::of(calls == calls_expected),
    );
    let ratio = took.as_secs_f64() / floor.as_secs_f64();
    report.row(
        "4",
        format!(
            "batch move ({engine}): wall time (confirm → done), batchupdate latency {BATCHUPDATE_LATENCY_MS} ms, \
             {MOVE_PER_MINUTE}/min (interval {} ms); floor = (calls − 1) × max(interval, latency) + latency",
            interval.as_millis()
        ),
        format!(
            "{:.2} s · floor {:.2} s · {ratio:.3} × floor",
            took.as_secs_f64(),
            floor.as_secs_f64()
        ),
        "≤ 1.25 × floor".into(),
        Verdict::of(ratio <= 1.25),
    );
    let grew = peak.saturating_sub(start);
    report.row(
        "4",
        format!("batch move ({engine}): resident memory of the process during the job (sampled every 50 ms)"),
        format!(
            "start {} · peak {} · end {} · peak − start {}",
            mb(start),
            mb(peak),
            mb(end),
            mb(grew)
        ),
        format!("peak − start < {}", mb(FLAT_BOUND_KB)),
        Verdict::of(grew < FLAT_BOUND_KB),
    );
}

/// Item 5: a follower sync of 1,000,000 followers, asked for over HTTP.
fn follower_sync(server: &Runtime, client: &Runtime, tmp: &Path, report: &mut Report) {
    let sim = start_sim_with(server, SYNC_FOLLOWERS);
    let (app, store) = start_app_with_store(server, settings(&sim.url, &tmp.join("sync.db"), 300));
    let op = client.block_on(Operator::sign_in(&app));
    sim.sim.reset_calls();
    let rss = RssSampler::start();
    let started = Instant::now();
    let sync = client.block_on(async {
        let (status, body) = op.post_hx("/followers/sync").await;
        assert_eq!(status, 200, "the sync starts: {body}");
        loop {
            if let Some(sync) = store.sync_latest().await.unwrap() {
                match sync.state.as_str() {
                    "done" => return sync,
                    "failed" => panic!("the sync failed: {sync:?}"),
                    _ => {}
                }
            }
            assert!(
                started.elapsed() < Duration::from_secs(900),
                "the sync did not end in 15 minutes"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    });
    let took = started.elapsed();
    let (start, peak, end) = rss.finish();
    let pages = sim.sim.calls("/cgi-bin/user/get");
    let infos = sim.sim.calls("/cgi-bin/user/info/batchget");
    let total = sim.sim.total_calls();
    let stored = client.block_on(store.follower_count()).unwrap();
    assert_eq!(stored, u64::from(SYNC_FOLLOWERS), "every follower stored");
    let (min_pages, min_infos) = (
        u64::from(SYNC_FOLLOWERS.div_ceil(10_000)),
        u64::from(SYNC_FOLLOWERS.div_ceil(100)),
    );
    report.row(
        "5",
        format!("follower sync of {SYNC_FOLLOWERS} followers: user/get + user/info/batchget"),
        format!(
            "{pages} + {infos} (all upstream calls {total}; {} followers in {} pages stored)",
            sync.seen, sync.pages
        ),
        format!("{min_pages} + {min_infos}"),
        Verdict::of(pages == min_pages && infos == min_infos),
    );
    report.row(
        "5",
        "follower sync: time, and resident memory of the process (sampled every 50 ms)".into(),
        format!(
            "{:.1} s ({:.0} followers/s) · start {} · peak {} · end {} · peak − start {}",
            took.as_secs_f64(),
            f64::from(SYNC_FOLLOWERS) / took.as_secs_f64(),
            mb(start),
            mb(peak),
            mb(end),
            mb(peak.saturating_sub(start))
        ),
        "reported".into(),
        Verdict::Info,
    );
}
