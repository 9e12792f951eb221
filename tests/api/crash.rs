//! Kill the real server process in the middle of a batch job, start it again, and check that the
//! job finishes with every OpenID in the target group and no chunk carried out twice; that its
//! call count takes in the call the kill cut off; and that its pages name the target group before
//! the restarted server has read the group list.

use std::{
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use wxgroups::{
    auth::password,
    simulator::{Fault, SimConfig, Simulator, spawn_local},
    store::{JobState, Role, Store},
};

use crate::bulk::{draft_id, post_list, wait_for_job};
use crate::helpers::{APPID, Browser, PASSWORD, Page, SECRET, sim_config};

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn start_server(sim_url: &str, db_url: &str, port: u16) -> Child {
    Command::new(env!("CARGO_BIN_EXE_wxgroups"))
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("WXGROUPS_APPID", APPID)
        .env("WXGROUPS_APPSECRET", SECRET)
        .env("WXGROUPS_WECHAT_API", sim_url)
        .env("WXGROUPS_DATABASE_URL", db_url)
        .env("WXGROUPS_LISTEN", format!("127.0.0.1:{port}"))
        .env("WXGROUPS_BATCH_PER_MINUTE", "60000")
        .env("WXGROUPS_BATCH_BACKOFF_MS", "20")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("the wxgroups binary starts")
}

async fn wait_until_listening(port: u16) {
    let started = Instant::now();
    while tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .is_err()
    {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "the server never listened"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A fresh database file for one test (its folder is named by `tag`), with the admin
/// `crash-admin` in it: the folder (to remove at the end), the database URL, and the store.
async fn database_with_admin(tag: &str) -> (std::path::PathBuf, String, Store) {
    let dir = std::env::temp_dir().join(format!("wxgroups-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let db_url = wxgroups::store::testing::database_url_in(&dir);
    let store = Store::connect(&db_url).await.unwrap();
    store
        .add_operator(
            "crash-admin",
            Role::Admin,
            &password::hash(PASSWORD).unwrap(),
        )
        .await
        .unwrap();
    (dir, db_url, store)
}

/// Starts the binary on a free port and signs a browser in as `crash-admin`.
async fn start_signed_in(sim_url: &str, db_url: &str) -> (Child, Browser) {
    let port = free_port();
    let server = start_server(sim_url, db_url, port);
    wait_until_listening(port).await;
    let browser = Browser::new(format!("http://127.0.0.1:{port}"));
    assert_eq!(browser.sign_in("crash-admin", PASSWORD).await.status, 303);
    (server, browser)
}

/// SIGKILL: no graceful anything.
fn kill(mut server: Child) {
    server.kill().unwrap();
    server.wait().unwrap();
}

/// Previews `list` for group `to` and confirms it; answers the job's id.
async fn queue_job(browser: &Browser, list: &[String], to: &str) -> i64 {
    browser.get("/jobs").await;
    let preview = post_list(browser, &list.join("\n"), None, to, true).await;
    let id = draft_id(&preview);
    browser.post_hx(&format!("/jobs/{id}/confirm"), &[]).await;
    id
}

/// Waits until the simulator has taken the fault set on `endpoint` (a fault with `times`
/// disappears from `/_sim/stats` when its last request takes it, on arrival).
async fn wait_until_fault_taken(sim_url: &str, endpoint: &str) {
    let started = Instant::now();
    let stats = format!("{sim_url}/_sim/stats");
    let http = crate::helpers::client();
    loop {
        let now: serde_json::Value = http.get(&stats).send().await.unwrap().json().await.unwrap();
        if now["faults"].get(endpoint).is_none() {
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "no request took the fault: {now}"
        );
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

/// The audit log's batch move rows.
async fn batch_audit(store: &Store) -> Vec<wxgroups::store::AuditRow> {
    store
        .audit_all(&wxgroups::store::AuditFilter {
            action: Some("batch_move".into()),
            ..Default::default()
        })
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_killed_mid_way_resumes_after_a_restart_and_sends_no_chunk_twice() {
    let sim = Simulator::new(SimConfig {
        followers: 5_000,
        ..sim_config()
    });
    let sim_url = spawn_local(&sim).await.expect("the simulator listens");
    // Slow enough to be killed in the middle: 40 chunks of ~40 ms.
    sim.inject(
        "groups/members/batchupdate",
        Fault {
            latency_ms: 40,
            ..Fault::default()
        },
    );

    let (dir, db_url, store) = database_with_admin("crash").await;
    let (mut server, browser) = start_signed_in(&sim_url, &db_url).await;
    browser.get("/jobs").await;
    let list: Vec<String> = (0..2_000).map(|i| sim.follower_openid(i)).collect();
    let already: std::collections::HashSet<&String> = list
        .iter()
        .filter(|o| sim.group_of(o) == Some(103))
        .collect();
    let preview = post_list(&browser, &list.join("\n"), None, "103", true).await;
    let id = draft_id(&preview);
    browser.post_hx(&format!("/jobs/{id}/confirm"), &[]).await;

    // Kill it (SIGKILL: no graceful anything) once a few chunks are done.
    let started = Instant::now();
    loop {
        let job = store.job(id).await.unwrap().unwrap();
        if job.moved >= 400 {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(30), "{job:?}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    server.kill().unwrap();
    server.wait().unwrap();
    let at_kill = store.job(id).await.unwrap().unwrap();
    assert_eq!(at_kill.state, JobState::Running);
    assert!(at_kill.moved < 2_000, "killed in the middle: {at_kill:?}");

    let port = free_port();
    let mut server = start_server(&sim_url, &db_url, port);
    let job = wait_for_job(&store, id, Duration::from_secs(60)).await;
    server.kill().unwrap();
    server.wait().unwrap();

    assert_eq!(job.state, JobState::Done, "{job:?}");
    assert_eq!((job.moved, job.invalid, job.failed), (2_000, 0, 0));
    for o in &list {
        assert_eq!(sim.group_of(o), Some(103), "{o}");
    }
    // Every OpenID was carried out at most once: no finished chunk (nor the one interrupted
    // mid-call) was sent again. The interrupted chunk was re-checked first: those of its OpenIDs
    // already in the group (moved by the lost call, or there from the start) were not sent.
    let log = sim.batch_log();
    let mut seen = std::collections::HashMap::<String, usize>::new();
    for (ids, to) in &log {
        assert_eq!(*to, 103);
        for o in ids {
            *seen.entry(o.clone()).or_default() += 1;
        }
    }
    assert!(seen.values().all(|&n| n == 1), "an OpenID was moved twice");
    for o in &list {
        assert!(
            seen.contains_key(o) || already.contains(o),
            "{o} never sent"
        );
    }
    assert!(
        log.len() <= 40,
        "40 chunks, none carried out twice: {}",
        log.len()
    );
    let audit = batch_audit(&store).await;
    assert_eq!(audit.len(), 1);
    assert_eq!(audit[0].operator, "crash-admin");
    assert!(
        audit[0]
            .detail
            .as_deref()
            .unwrap_or_default()
            .contains("moved 2000"),
        "{audit:?}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_cut_off_by_a_kill_is_counted_in_the_jobs_calls_and_its_audit_row() {
    const BATCH: &str = "/cgi-bin/groups/members/batchupdate";
    let sim = Simulator::new(SimConfig {
        followers: 5_000,
        ..sim_config()
    });
    let sim_url = spawn_local(&sim).await.expect("the simulator listens");
    sim.inject(
        BATCH,
        Fault {
            latency_ms: 20,
            ..Fault::default()
        },
    );
    let (dir, db_url, store) = database_with_admin("crash-count").await;
    let (server, browser) = start_signed_in(&sim_url, &db_url).await;
    let list: Vec<String> = (0..2_000).map(|i| sim.follower_openid(i)).collect();
    let id = queue_job(&browser, &list, "103").await;
    let started = Instant::now();
    while store.job(id).await.unwrap().unwrap().moved < 400 {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the job is stuck"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }

    // The next batchupdate is held for 5 s; the kill lands once WeChat has it (it has arrived and
    // been counted), so the kill surely cuts a call off, as an operator's kill -9 would.
    sim.inject(
        BATCH,
        Fault {
            latency_ms: 5_000,
            ..Fault::default()
        }
        .times(1),
    );
    wait_until_fault_taken(&sim_url, BATCH).await;
    kill(server);
    let at_kill = store.job(id).await.unwrap().unwrap();
    assert_eq!(at_kill.state, JobState::Running, "{at_kill:?}");
    assert_eq!(
        at_kill.calls as u64,
        sim.calls(BATCH),
        "the call in flight is counted already: {at_kill:?}"
    );

    let (server, _) = start_signed_in(&sim_url, &db_url).await;
    let job = wait_for_job(&store, id, Duration::from_secs(60)).await;
    kill(server);
    assert_eq!(
        (job.state, job.moved, job.failed),
        (JobState::Done, 2_000, 0),
        "{job:?}"
    );
    // Every batchupdate that reached WeChat, the one cut off included, and no more.
    let reached = sim.calls(BATCH);
    assert_eq!(job.calls as u64, reached, "{job:?}");
    let audit = batch_audit(&store).await;
    let detail = audit[0].detail.as_deref().unwrap_or_default();
    assert!(detail.contains(&format!("({reached} calls)")), "{audit:?}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// The group's label in a job page's progress card ("moving N OpenIDs to …").
fn moving_to(page: &Page) -> String {
    page.text("#batch-panel > p")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn right_after_a_restart_a_jobs_pages_name_its_group_before_the_group_list_is_read() {
    let sim = Simulator::new(sim_config());
    let sim_url = spawn_local(&sim).await.expect("the simulator listens");
    let (dir, db_url, store) = database_with_admin("crash-name").await;
    let (server, browser) = start_signed_in(&sim_url, &db_url).await;
    let created = browser
        .post_hx("/groups", &[("name", "重启后仍有名字")])
        .await;
    let row = created
        .attr("tr.highlight", "id")
        .unwrap_or_else(|| panic!("no new row: {} {}", created.status, created.body));
    let group = row.trim_start_matches("group-").to_owned();
    let list: Vec<String> = (0..120).map(|i| sim.follower_openid(i)).collect();
    let id = queue_job(&browser, &list, &group).await;
    let job = wait_for_job(&store, id, Duration::from_secs(30)).await;
    assert_eq!(job.state, JobState::Done, "{job:?}");
    let label = format!("重启后仍有名字 ({group})");
    assert!(
        moving_to(&browser.get(&format!("/jobs/{id}")).await).contains(&label),
        "named while the list is loaded"
    );
    kill(server);

    // groups/get's daily quota is used up: the restarted server cannot read the group list.
    sim.inject("groups/get", Fault::errcode(45009));
    if wxgroups::store::testing::postgres() {
        // On PostgreSQL the list the first server fetched is stored for every instance, and a
        // restart reads it from there (the point of storing it): without it, as here, nobody
        // has the list.
        sqlx::query("DELETE FROM list_snapshots")
            .execute(store.pool())
            .await
            .unwrap();
    }
    let (server, browser) = start_signed_in(&sim_url, &db_url).await;
    let groups = browser.get("/groups").await;
    assert!(!groups.has(&format!("#{row}")), "the list is not loaded");

    let page = browser.get(&format!("/jobs/{id}")).await;
    assert_eq!(page.status, 200);
    assert!(moving_to(&page).contains(&label), "{}", moving_to(&page));
    let progress = browser.get_hx(&format!("/jobs/{id}/progress")).await;
    assert!(moving_to(&progress).contains(&label), "{}", progress.body);
    let jobs = browser.get("/jobs").await;
    let target = jobs.text(&format!("#job-{id} td:nth-child(3)"));
    assert_eq!(target, label, "the recent jobs list");
    let audit = browser.get("/audit?action=batch_move").await;
    assert!(
        audit
            .body
            .contains(&format!("120 OpenIDs → group {group} (重启后仍有名字)")),
        "{}",
        audit.body
    );
    kill(server);
    let _ = std::fs::remove_dir_all(&dir);
}
