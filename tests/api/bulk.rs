//! Follower sync, members of a group, batch moves by list (preview, narrowing, pacing, cancel),
//! deleting groups: over real HTTP against the simulator.

use std::time::{Duration, Instant};

use wxgroups::{
    settings::JobSettings,
    simulator::{Fault, SimConfig},
    store::{JobRow, JobState, Role, Store},
};

use crate::helpers::{Browser, Page, TestApp, read, sim_config};

/// Pacing fast enough for tests: a call every millisecond, 20 ms after a 45011.
pub fn fast_jobs() -> JobSettings {
    JobSettings {
        batch_per_minute: 60_000,
        quota_backoff: Duration::from_millis(20),
        ..JobSettings::default()
    }
}

pub async fn spawn(followers: u32) -> TestApp {
    TestApp::spawn_with(
        SimConfig {
            followers,
            ..sim_config()
        },
        |mut s| {
            s.jobs = fast_jobs();
            s
        },
    )
    .await
}

/// A multipart form post (the list form), with the CSRF token as htmx sends it or in a part.
pub async fn post_list(b: &Browser, text: &str, file: Option<&[u8]>, to: &str, hx: bool) -> Page {
    const BOUNDARY: &str = "----wxgroupsTestBoundary7MA4YWxkTrZu0gW";
    let mut body = Vec::new();
    let mut part = |name: &str, filename: Option<&str>, value: &[u8]| {
        body.extend_from_slice(format!("--{BOUNDARY}\r\n").as_bytes());
        match filename {
            Some(f) => body.extend_from_slice(
                format!("Content-Disposition: form-data; name=\"{name}\"; filename=\"{f}\"\r\nContent-Type: text/csv\r\n\r\n").as_bytes(),
            ),
            None => body.extend_from_slice(
                format!("Content-Disposition: form-data; name=\"{name}\"\r\n\r\n").as_bytes(),
            ),
        }
        body.extend_from_slice(value);
        body.extend_from_slice(b"\r\n");
    };
    let csrf = b.csrf();
    if !hx {
        part("csrf", None, csrf.as_bytes());
    }
    part("text", None, text.as_bytes());
    part("file", Some("list.csv"), file.unwrap_or_default());
    part("to_groupid", None, to.as_bytes());
    body.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
    let mut request = b
        .http
        .post(b.url("/jobs/preview"))
        .header(
            "content-type",
            format!("multipart/form-data; boundary={BOUNDARY}"),
        )
        .body(body);
    if hx {
        request = request
            .header("HX-Request", "true")
            .header("X-CSRF-Token", csrf);
    }
    read(request.send().await.unwrap()).await
}

/// The draft job id a preview offers to confirm.
pub fn draft_id(preview: &Page) -> i64 {
    let action = preview
        .attr("form[action$='/confirm']", "action")
        .unwrap_or_else(|| panic!("no confirm form in {}", preview.body));
    action
        .trim_end_matches("/confirm")
        .rsplit('/')
        .next()
        .unwrap()
        .parse()
        .unwrap()
}

/// Polls the job until it has ended (or `limit` passes, which fails the test).
pub async fn wait_for_job(store: &Store, id: i64, limit: Duration) -> JobRow {
    let started = Instant::now();
    loop {
        let job = store.job(id).await.unwrap().expect("the job exists");
        if job.state.is_final() {
            return job;
        }
        assert!(
            started.elapsed() < limit,
            "job {id} did not end within {limit:?}: {job:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn wait_for_sync(store: &Store, limit: Duration) {
    let started = Instant::now();
    loop {
        let sync = store.sync_latest().await.unwrap().expect("a sync");
        match sync.state.as_str() {
            "done" => return,
            "failed" => panic!("the sync failed: {sync:?}"),
            _ => {}
        }
        assert!(started.elapsed() < limit, "the sync did not end: {sync:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// batchupdate calls the worker's narrowing makes for a chunk of `len` OpenIDs whose bad ones
/// sit at `bad` (indexes within the chunk): one call for the chunk; a refused part of more than
/// one is split in halves (the first one the larger) and each half is sent.
fn narrowing_calls(len: usize, bad: &[usize]) -> u64 {
    fn go(lo: usize, hi: usize, bad: &[usize]) -> u64 {
        let has_bad = bad.iter().any(|&b| (lo..hi).contains(&b));
        if !has_bad || hi - lo == 1 {
            return 1;
        }
        let mid = lo + (hi - lo).div_ceil(2);
        1 + go(lo, mid, bad) + go(mid, hi, bad)
    }
    go(0, len, bad)
}

#[test]
fn the_narrowing_model_matches_its_description() {
    assert_eq!(narrowing_calls(50, &[]), 1);
    // 50 → 25 (bad) + 25; 25 → 13 (bad) + 12; 13 → 7 + 6; 7 → 4 + 3; 4 → 2 + 2; 2 → 1 + 1.
    assert_eq!(narrowing_calls(50, &[0]), 13);
    assert_eq!(narrowing_calls(1, &[0]), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn syncing_100000_followers_costs_exactly_10_list_pages_and_1000_batchgets() {
    let app = spawn(100_000).await;
    app.get("/jobs").await;
    app.sim.reset_calls();
    let started = Instant::now();
    let page = app.post_hx("/followers/sync", &[]).await;
    assert_eq!(page.status, 200, "{}", page.body);
    wait_for_sync(&app.store, Duration::from_secs(120)).await;
    let took = started.elapsed();
    eprintln!(
        "sync of 100,000 followers: {took:?}, user/get {}, user/info/batchget {}, total upstream {}",
        app.calls("user/get"),
        app.calls("user/info/batchget"),
        app.sim.total_calls()
    );
    assert_eq!(app.calls("user/get"), 10);
    assert_eq!(app.calls("user/info/batchget"), 1_000);
    assert_eq!(app.sim.total_calls(), 1_010, "nothing else was called");
    assert_eq!(app.store.follower_count().await.unwrap(), 100_000);
    for i in [0, 1, 9_999, 10_000, 54_321, 99_999] {
        let openid = app.sim.follower_openid(i);
        let stored = app.store.follower_groups(&[openid.as_str()]).await.unwrap();
        assert_eq!(
            stored.get(&openid).copied(),
            app.sim.group_of(&openid),
            "{i}"
        );
    }
    let panel = app.get_hx("/followers/sync").await;
    assert!(
        panel.text("#sync-panel").contains("100,000"),
        "{}",
        panel.body
    );
    assert!(!panel.has("[hx-trigger]"), "no polling once it is done");
    // The audit log has the sync with its totals.
    let audit = app.get("/audit?action=follower_sync").await;
    assert!(
        audit.body.contains("100000 followers in 10 pages"),
        "{}",
        audit.body
    );
}

#[tokio::test]
async fn a_resync_updates_changed_groups_and_drops_those_who_left() {
    let app = spawn(1_200).await;
    app.get("/jobs").await;
    app.post_hx("/followers/sync", &[]).await;
    wait_for_sync(&app.store, Duration::from_secs(30)).await;
    assert_eq!(app.store.follower_count().await.unwrap(), 1_200);
    // Behind wxgroups' back: one follower changes group, and a stored row belongs to nobody.
    let client = wxgroups::wechat::WeChatClient::new(wxgroups::wechat::ClientConfig::new(
        app.sim_url.clone(),
        crate::helpers::APPID,
        crate::helpers::SECRET.to_owned(),
    ))
    .unwrap();
    let moved = wxgroups::domain::OpenId::parse(&app.sim.follower_openid(5)).unwrap();
    client
        .move_users(
            std::slice::from_ref(&moved),
            wxgroups::domain::GroupId::BLACKLIST,
        )
        .await
        .unwrap();
    let gone = app.sim.follower_openid(5_000);
    app.store
        .followers_moved(&[gone.as_str()], 100)
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(2)).await;
    app.sim.reset_calls();
    app.post_hx("/followers/sync", &[]).await;
    wait_for_sync(&app.store, Duration::from_secs(30)).await;
    // 1,200 followers: one short page (no empty page after it) and 12 batchgets.
    assert_eq!(app.calls("user/get"), 1);
    assert_eq!(app.calls("user/info/batchget"), 12);
    let stored = app
        .store
        .follower_groups(&[moved.as_str(), gone.as_str()])
        .await
        .unwrap();
    assert_eq!(stored.get(moved.as_str()), Some(&1));
    assert_eq!(stored.get(gone.as_str()), None, "dropped");
    assert_eq!(app.store.follower_count().await.unwrap(), 1_200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn moving_10000_openids_with_3_bad_ones_moves_the_good_and_reports_exactly_the_bad() {
    let app = spawn(20_000).await;
    app.get("/jobs").await;
    // Well-formed OpenIDs of this account's scheme that follow nobody: WeChat answers 40003.
    let bad: Vec<String> = (0..3)
        .map(|k| app.sim.follower_openid(50_000 + k))
        .collect();
    let bad_at = [123usize, 5_000, 9_999];
    let mut list: Vec<String> = (0..9_997).map(|i| app.sim.follower_openid(i)).collect();
    for (b, &at) in bad.iter().zip(&bad_at) {
        list.insert(at, b.clone());
    }
    assert_eq!(list.len(), 10_000);
    let text = list.join("\n");
    let preview = post_list(&app, &text, None, "101", true).await;
    assert_eq!(preview.status, 200, "{}", preview.body);
    assert_eq!(preview.text(".preview-valid"), "10,000");
    let id = draft_id(&preview);
    assert_eq!(
        app.calls("groups/members/batchupdate"),
        0,
        "a preview sends nothing"
    );

    app.sim.reset_calls();
    let started = Instant::now();
    let confirmed = app.post_hx(&format!("/jobs/{id}/confirm"), &[]).await;
    assert_eq!(confirmed.status, 200, "{}", confirmed.body);
    assert!(confirmed.has(".job-bar"), "{}", confirmed.body);
    let job = wait_for_job(&app.store, id, Duration::from_secs(120)).await;
    let took = started.elapsed();

    // 200 chunks; chunks 2, 100 and 199 each hold one bad OpenID, at 23, 0 and 49.
    let expected =
        197 + narrowing_calls(50, &[23]) + narrowing_calls(50, &[0]) + narrowing_calls(50, &[49]);
    eprintln!(
        "batch move of 10,000 OpenIDs (3 bad): {took:?}, batchupdate calls {} (expected {expected}), total upstream {}",
        app.calls("groups/members/batchupdate"),
        app.sim.total_calls()
    );
    assert_eq!(job.state, JobState::Done, "{job:?}");
    assert_eq!((job.moved, job.invalid, job.failed), (9_997, 3, 0));
    assert_eq!(app.calls("groups/members/batchupdate"), expected);
    assert_eq!(job.calls as u64, expected);
    for (i, openid) in list.iter().enumerate() {
        if bad.contains(openid) {
            continue;
        }
        assert_eq!(app.sim.group_of(openid), Some(101), "line {i}");
    }
    let reported: Vec<String> = app
        .store
        .job_items_with(id, wxgroups::store::ItemOutcome::Invalid, 100)
        .await
        .unwrap()
        .into_iter()
        .map(|i| i.openid)
        .collect();
    assert_eq!(reported, bad);

    let page = app.get(&format!("/jobs/{id}")).await;
    assert_eq!(page.text(".job-moved"), "9,997");
    assert_eq!(page.text(".job-remaining"), "0");
    for b in &bad {
        assert!(page.text(".job-invalid").contains(b.as_str()));
    }
    let csv = app.get(&format!("/jobs/{id}/outcome.csv")).await;
    assert_eq!(csv.status, 200);
    let lines: Vec<&str> = csv.body.lines().collect();
    assert_eq!(lines.len(), 10_001);
    assert!(
        lines[124].contains(&bad[0]) && lines[124].ends_with("invalid,40003"),
        "{}",
        lines[124]
    );
    assert!(lines[1].ends_with("moved,"), "{}", lines[1]);
    // The group list's counts follow (the job re-reads the list when it ends).
    let groups = app.get("/groups").await;
    assert_eq!(groups.count_of(101), app.sim_count(101).await);
    // Audited with the operator and the totals.
    let audit = app.get("/audit?action=batch_move").await;
    assert!(
        audit.body.contains("10000 OpenIDs → group 101"),
        "{}",
        audit.body
    );
    assert!(
        audit.body.contains("moved 9997, invalid 3"),
        "{}",
        audit.body
    );
}

impl TestApp {
    /// A group's count as WeChat (the simulator) has it, read through the dashboard's refresh.
    async fn sim_count(&self, id: u32) -> u64 {
        let page = self.post_hx("/groups/refresh", &[]).await;
        page.count_of(id)
    }
}

#[tokio::test]
async fn the_per_minute_limit_is_waited_out_not_reported_as_failure() {
    let app = TestApp::spawn_with(
        SimConfig {
            followers: 2_000,
            batch_per_minute: Some(5),
            batch_window: Duration::from_millis(300),
            ..sim_config()
        },
        |mut s| {
            s.jobs = fast_jobs();
            s
        },
    )
    .await;
    app.get("/jobs").await;
    let list: Vec<String> = (0..1_000).map(|i| app.sim.follower_openid(i)).collect();
    let preview = post_list(&app, &list.join("\r\n"), None, "102", true).await;
    let id = draft_id(&preview);
    app.post_hx(&format!("/jobs/{id}/confirm"), &[]).await;
    let job = wait_for_job(&app.store, id, Duration::from_secs(30)).await;
    assert_eq!(
        (job.state, job.moved, job.failed),
        (JobState::Done, 1_000, 0)
    );
    assert_eq!(app.sim.batch_log().len(), 20, "each chunk carried out once");
    assert!(
        app.calls("groups/members/batchupdate") > 20,
        "some were refused with 45011"
    );
}

#[tokio::test]
async fn a_job_goes_on_when_the_browser_is_gone_and_its_page_shows_it_when_reopened() {
    let app = spawn(3_000).await;
    app.sim.inject(
        "groups/members/batchupdate",
        Fault {
            latency_ms: 20,
            ..Fault::default()
        },
    );
    app.get("/jobs").await;
    let list: Vec<String> = (0..1_000).map(|i| app.sim.follower_openid(i)).collect();
    let preview = post_list(&app, &list.join("\n"), None, "103", true).await;
    let id = draft_id(&preview);
    app.post_hx(&format!("/jobs/{id}/confirm"), &[]).await;
    // Nobody polls: the job still ends.
    let job = wait_for_job(&app.store, id, Duration::from_secs(30)).await;
    assert_eq!(job.moved, 1_000);
    let page = app.get(&format!("/jobs/{id}")).await;
    assert_eq!(page.status, 200);
    assert!(
        page.has(&format!("a[href='/jobs/{id}/outcome.csv']")),
        "{}",
        page.body
    );
    assert!(
        !page.has("#batch-panel[hx-trigger]"),
        "no polling once done"
    );
}

#[tokio::test]
async fn cancelling_twice_is_harmless_and_leaves_the_rest_unsent() {
    let app = spawn(5_000).await;
    app.sim.inject(
        "groups/members/batchupdate",
        Fault {
            latency_ms: 30,
            ..Fault::default()
        },
    );
    app.get("/jobs").await;
    let list: Vec<String> = (0..2_000).map(|i| app.sim.follower_openid(i)).collect();
    let preview = post_list(&app, &list.join("\n"), None, "103", true).await;
    let id = draft_id(&preview);
    let progress = app.post_hx(&format!("/jobs/{id}/confirm"), &[]).await;
    assert!(
        progress.has("#batch-panel[hx-trigger='every 1s']"),
        "{}",
        progress.body
    );
    // Wait until it is writing.
    let started = Instant::now();
    while app.store.job(id).await.unwrap().unwrap().moved == 0 {
        assert!(started.elapsed() < Duration::from_secs(10));
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let first = app.post_hx(&format!("/jobs/{id}/cancel"), &[]).await;
    assert_eq!(first.status, 200, "{}", first.body);
    let second = app.post_hx(&format!("/jobs/{id}/cancel"), &[]).await;
    assert_eq!(second.status, 200, "{}", second.body);
    let job = wait_for_job(&app.store, id, Duration::from_secs(10)).await;
    assert_eq!(job.state, JobState::Cancelled);
    assert!(job.cancelled > 0 && job.moved > 0, "{job:?}");
    assert_eq!(job.moved + job.cancelled, 2_000);
    let carried_out: usize = app.sim.batch_log().iter().map(|(ids, _)| ids.len()).sum();
    assert_eq!(
        carried_out as i64, job.moved,
        "nothing was sent after the cancel"
    );
    // A third time, after it ended: still harmless.
    let third = app.post(&format!("/jobs/{id}/cancel"), &[]).await;
    assert_eq!(third.status, 303);
}

#[tokio::test]
async fn a_target_group_deleted_while_the_job_runs_stops_it_with_the_rest_reported() {
    let app = spawn(5_000).await;
    app.sim.inject(
        "groups/members/batchupdate",
        Fault {
            latency_ms: 30,
            ..Fault::default()
        },
    );
    app.get("/jobs").await;
    let list: Vec<String> = (0..2_000).map(|i| app.sim.follower_openid(i)).collect();
    let preview = post_list(&app, &list.join("\n"), None, "102", true).await;
    let id = draft_id(&preview);
    app.post_hx(&format!("/jobs/{id}/confirm"), &[]).await;
    let started = Instant::now();
    while app.store.job(id).await.unwrap().unwrap().moved == 0 {
        assert!(started.elapsed() < Duration::from_secs(10));
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    app.get("/groups").await;
    let deleted = app.post_hx("/groups/102/delete", &[]).await;
    assert_eq!(deleted.status, 200, "{}", deleted.body);
    let job = wait_for_job(&app.store, id, Duration::from_secs(10)).await;
    assert_eq!(job.state, JobState::Failed, "{job:?}");
    assert_eq!(job.moved + job.failed, 2_000);
    assert!(job.failed > 0);
    let csv = app.get(&format!("/jobs/{id}/outcome.csv")).await;
    assert!(
        csv.body.contains("failed,40050"),
        "the rest are reported with WeChat's code"
    );
}

#[tokio::test]
async fn the_same_openids_in_two_jobs_end_in_the_later_jobs_group() {
    let app = spawn(1_000).await;
    app.get("/jobs").await;
    let list: Vec<String> = (0..300).map(|i| app.sim.follower_openid(i)).collect();
    let a = draft_id(&post_list(&app, &list.join("\n"), None, "100", true).await);
    let b = draft_id(&post_list(&app, &list.join("\n"), None, "103", true).await);
    app.post_hx(&format!("/jobs/{a}/confirm"), &[]).await;
    app.post_hx(&format!("/jobs/{b}/confirm"), &[]).await;
    let ja = wait_for_job(&app.store, a, Duration::from_secs(20)).await;
    let jb = wait_for_job(&app.store, b, Duration::from_secs(20)).await;
    assert_eq!((ja.moved, jb.moved), (300, 300));
    // One job writes at a time, in queue order: the second never overlapped the first.
    assert!(jb.started_at.unwrap() >= ja.finished_at.unwrap());
    for o in &list {
        assert_eq!(app.sim.group_of(o), Some(103));
    }
}

#[tokio::test]
async fn the_list_forgives_bom_crlf_blank_lines_quotes_and_finds_the_openid_column() {
    let app = spawn(100).await;
    app.get("/jobs").await;
    let (a, b, c) = (
        app.sim.follower_openid(1),
        app.sim.follower_openid(2),
        app.sim.follower_openid(3),
    );
    let csv = format!(
        "\u{FEFF}name,\"OpenID\",note\r\n\r\n\"Wang, Li\",\"{a}\",x\r\nZhao,{b},\"say \"\"hi\"\"\"\r\n,{a},dup\r\nQian,not-an-openid!,y\r\n\r\nSun,{c},\r\n"
    );
    // Without JavaScript: a plain multipart post with the token in a part.
    let page = post_list(&app, "", Some(csv.as_bytes()), "100", false).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert_eq!(page.text(".preview-valid"), "3");
    assert_eq!(page.text(".preview-duplicates"), "1");
    assert_eq!(page.text(".preview-invalid"), "1");
    let row = page.text(".invalid-lines tbody tr");
    assert_eq!(
        page.text(".invalid-lines tbody td:first-child"),
        "6",
        "{row}"
    );
    assert!(row.contains("not-an-openid!"), "{row}");
    assert!(row.contains('!'), "the reason names the character: {row}");
    assert_eq!(
        app.sim.total_calls() - app.calls("groups/get") - app.calls("stable_token"),
        0
    );
}

#[tokio::test]
async fn lists_that_cannot_be_read_are_refused_clearly_and_nothing_is_sent() {
    let app = spawn(100).await;
    app.get("/jobs").await;
    let a = app.sim.follower_openid(1);
    let too_many = format!("{a}\n").repeat(100_001);
    let mut gbk = format!("{a}\n").into_bytes();
    gbk.extend_from_slice(&[0xD6, 0xD0, 0xCE, 0xC4, b'\n']);
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (too_many.into_bytes(), "名单有 100001 行，最多 100000 行"),
        (
            b"PK\x03\x04\x14\x00\x00\x00\x08\x00binary\x00\x00".to_vec(),
            "不是文本文件",
        ),
        (gbk, "不是 UTF-8 编码（第 2 行起"),
        (vec![0xFF, 0xFE, b'o', 0, b'x', 0], "UTF-16"),
        (b"\r\n\r\n".to_vec(), "名单是空的"),
    ];
    for (bytes, says) in cases {
        let page = post_list(&app, "", Some(&bytes), "100", true).await;
        assert_eq!(page.status, 422, "{says}: {}", page.body);
        assert!(
            page.text("#list-error").contains(says),
            "{says}: {}",
            page.text("#list-error")
        );
    }
    assert_eq!(app.calls("groups/members/batchupdate"), 0);
    assert!(app.store.jobs_recent(10).await.unwrap().is_empty());
}

#[tokio::test]
async fn members_of_a_group_are_paged_searchable_and_moved_as_a_job() {
    let app = spawn(2_000).await;
    app.get("/jobs").await;
    app.post_hx("/followers/sync", &[]).await;
    wait_for_sync(&app.store, Duration::from_secs(30)).await;
    let groups = app.get("/groups").await;
    assert!(groups.has("a[href='/groups/100/members']"));
    let page = app.get("/groups/100/members").await;
    assert_eq!(page.status, 200, "{}", page.body);
    let in_100 = app.store.group_member_count(100, "").await.unwrap();
    assert_eq!(in_100, groups.count_of(100));
    let first = page.attr("input[name=openid]", "value").unwrap();
    let prefix = &first[..5];
    let searched = app.get(&format!("/groups/100/members?q={prefix}")).await;
    assert!(
        searched
            .texts(".member-openid")
            .iter()
            .all(|o| o.starts_with(prefix))
    );
    assert!(searched.has("time"), "each row says when it was confirmed");
    let bad = app.get("/groups/100/members?q=%27%3B").await;
    assert_eq!(bad.status, 422);

    // Tick one, move it.
    let moved = app
        .post(
            "/groups/100/members/move",
            &[("openid", first.as_str()), ("to_groupid", "101")],
        )
        .await;
    assert_eq!(moved.status, 303, "{}", moved.body);
    let id: i64 = moved
        .location()
        .rsplit('/')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let job = wait_for_job(&app.store, id, Duration::from_secs(10)).await;
    assert_eq!(job.moved, 1);
    assert_eq!(app.sim.group_of(&first), Some(101));
    // All matching: the rest of group 100.
    let all = app
        .post(
            "/groups/100/members/move",
            &[("all", "1"), ("q", ""), ("to_groupid", "0")],
        )
        .await;
    let id: i64 = all.location().rsplit('/').next().unwrap().parse().unwrap();
    let job = wait_for_job(&app.store, id, Duration::from_secs(10)).await;
    assert_eq!(job.moved as u64, in_100 - 1);
    assert_eq!(
        app.store.group_member_count(100, "").await.unwrap(),
        0,
        "stored groups follow"
    );
    // Nothing ticked: back to the list with a message.
    let none = app
        .post("/groups/101/members/move", &[("to_groupid", "0")])
        .await;
    assert_eq!(none.status, 303);
    let back = app.get(none.location()).await;
    assert!(back.has(".notice-error"), "{}", back.body);
}

#[tokio::test]
async fn deleting_a_group_with_members_sends_them_back_to_ungrouped() {
    let app = spawn(1_000).await;
    let before = app.get("/groups").await;
    let members = before.count_of(100);
    let ungrouped = before.count_of(0);
    assert!(members > 0);
    let confirm = app.get_hx("/groups/100/delete").await;
    assert_eq!(confirm.status, 200);
    assert!(
        confirm
            .text(".delete-members")
            .contains(&members.to_string())
    );
    assert!(confirm.text(".delete-members").contains("未分组"));
    let done = app.post_hx("/groups/100/delete", &[]).await;
    assert_eq!(done.status, 200, "{}", done.body);
    assert!(!done.has("#group-100"));
    assert_eq!(done.count_of(0), ungrouped + members);
    assert_eq!(app.calls("groups/delete"), 1);
    let in_0 = (0..1_000)
        .filter(|&i| app.sim.group_of(&app.sim.follower_openid(i)) == Some(0))
        .count() as u64;
    assert_eq!(in_0, ungrouped + members, "WeChat (the simulator) agrees");
    let audit = app.get("/audit?action=group_delete").await;
    assert!(
        audit
            .body
            .contains(&format!("华东媒体 ({members} members)")),
        "{}",
        audit.body
    );

    // Without JavaScript: the page, then redirect-after-post.
    let page = app.get("/groups/101/delete").await;
    assert!(page.has("form[action='/groups/101/delete']"));
    let plain = app.post("/groups/101/delete", &[]).await;
    assert_eq!(plain.status, 303);
    assert!(
        app.get(plain.location())
            .await
            .text(".notice")
            .contains("101")
    );

    // System groups are refused without asking WeChat.
    for id in 0..=2 {
        let refused = app.post(&format!("/groups/{id}/delete"), &[]).await;
        assert_eq!(refused.status, 422, "{id}");
    }
    assert_eq!(app.calls("groups/delete"), 2);
}

#[tokio::test]
async fn only_admins_delete_and_viewers_start_no_jobs() {
    let app = spawn(100).await;
    let operator = app.signed_in("olga", Role::Operator).await;
    assert_eq!(operator.post("/groups/100/delete", &[]).await.status, 403);
    assert_eq!(operator.get("/groups/100/delete").await.status, 403);
    let groups = operator.get("/groups").await;
    assert!(!groups.has(".delete-link"));
    let viewer = app.signed_in("vera", Role::Viewer).await;
    assert_eq!(viewer.post("/followers/sync", &[]).await.status, 403);
    let a = app.sim.follower_openid(1);
    assert_eq!(post_list(&viewer, &a, None, "100", true).await.status, 403);
    assert_eq!(app.calls("groups/delete"), 0);
}

#[tokio::test]
async fn previews_nobody_confirms_are_forgotten_after_a_day_and_confirming_one_then_says_so() {
    let app = spawn(100).await;
    app.get("/jobs").await;
    let list: Vec<String> = (0..60).map(|i| app.sim.follower_openid(i)).collect();
    let preview = post_list(&app, &list.join("\n"), None, "103", true).await;
    assert!(preview.body.contains("保留 24 小时"), "{}", preview.body);
    let id = draft_id(&preview);
    let draft = app.store.job(id).await.unwrap().unwrap();
    // One created at the cut is kept; one created before it is forgotten, with its list.
    assert_eq!(
        app.store.job_drafts_purge(draft.created_at).await.unwrap(),
        0
    );
    assert!(app.store.job(id).await.unwrap().is_some());
    assert_eq!(
        app.store
            .job_drafts_purge(draft.created_at + 1)
            .await
            .unwrap(),
        1
    );
    assert!(app.store.job(id).await.unwrap().is_none());
    assert!(app.store.job_items(id).await.unwrap().is_empty());

    // Confirming it now says what happened and what to do, with htmx and without.
    let hx = app.post_hx(&format!("/jobs/{id}/confirm"), &[]).await;
    assert_eq!(hx.status, 410, "{}", hx.body);
    assert!(hx.body.contains("该预览已不存在"), "{}", hx.body);
    assert!(hx.body.contains("重新粘贴或上传"), "{}", hx.body);
    let plain = app.post(&format!("/jobs/{id}/confirm"), &[]).await;
    assert_eq!(plain.status, 410);
    assert!(
        plain.text("h1").contains("该预览已不存在"),
        "{}",
        plain.body
    );
    // Discarding it is harmless, and nothing was sent.
    let discard = app.post_hx(&format!("/jobs/{id}/discard"), &[]).await;
    assert_eq!(discard.status, 200, "{}", discard.body);
    assert_eq!(app.sim.calls("/cgi-bin/groups/members/batchupdate"), 0);

    // A confirmed job is not a preview: no purge touches it.
    let preview = post_list(&app, &list.join("\n"), None, "103", true).await;
    let id = draft_id(&preview);
    app.post_hx(&format!("/jobs/{id}/confirm"), &[]).await;
    let far_future = wxgroups::store::now_us() + 10 * 24 * 3600 * 1_000_000;
    assert_eq!(app.store.job_drafts_purge(far_future).await.unwrap(), 0);
    let job = wait_for_job(&app.store, id, Duration::from_secs(10)).await;
    assert_eq!((job.state, job.moved), (JobState::Done, 60));
}

#[tokio::test]
async fn the_jobs_page_list_follows_a_job_from_queued_to_done_without_a_reload() {
    let app = spawn(100).await;
    app.get("/jobs").await;
    let list: Vec<String> = (0..60).map(|i| app.sim.follower_openid(i)).collect();
    let preview = post_list(&app, &list.join("\n"), None, "103", true).await;
    let id = draft_id(&preview);
    // htmx says where the browser is: the jobs page gets its list back with the new job in it.
    let hx = |path: String, from: String| {
        app.http
            .post(app.url(&path))
            .header("HX-Request", "true")
            .header("HX-Current-URL", from)
            .header("X-CSRF-Token", app.csrf())
    };
    let confirmed = read(
        hx(format!("/jobs/{id}/confirm"), app.url("/jobs"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert!(
        confirmed.has(&format!("#jobs-recent[hx-swap-oob='true'] #job-{id}")),
        "{}",
        confirmed.body
    );
    wait_for_job(&app.store, id, Duration::from_secs(10)).await;
    let poll = |from: String| {
        app.http
            .get(app.url(&format!("/jobs/{id}/progress")))
            .header("HX-Request", "true")
            .header("HX-Current-URL", from)
            .send()
    };
    // The last poll, on the jobs page: the list says done.
    let last = read(poll(app.url("/jobs?x=1")).await.unwrap()).await;
    assert!(last.has("#batch-panel[data-state='done']"), "{}", last.body);
    assert_eq!(
        last.text(&format!("#jobs-recent #job-{id} td:nth-child(2)")),
        "已完成"
    );
    // On the job's own page there is no list to update.
    let own = read(poll(app.url(&format!("/jobs/{id}"))).await.unwrap()).await;
    assert!(own.has("#batch-panel"));
    assert!(!own.has("#jobs-recent"), "{}", own.body);
}
