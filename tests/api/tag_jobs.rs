//! Batch jobs in tags mode (`WXGROUPS_API=tags`) over real HTTP against the simulator: tag,
//! untag, move between tags and (un)blacklist a list; narrowing on 40003 / 49003 / 45059; a tag
//! deleted mid-job; untagging everyone of a tag; copying groups into tags; a restart in the middle
//! of a two-step move; local refusals, as htmx and as plain forms.

use std::collections::HashMap;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use wxgroups::{
    domain::{Api, GroupId, GroupName, OpenId},
    simulator::{Fault, SimConfig, Simulator, spawn_local},
    store::{
        AuditEntry, ChunkDone, Effect, ItemOutcome, JobAction, JobPlan, JobState, NewJob, Role,
        Store,
    },
    wechat::{ClientConfig, Tagging, WeChatClient},
};

use crate::bulk::{draft_id, fast_jobs, wait_for_job};
use crate::helpers::{APPID, Browser, PASSWORD, Page, SECRET, TestApp, read, sim_config};

/// Seeded tags (see the simulator): 华东客户 and VIP.
const A: u32 = 100;
const B: u32 = 101;

async fn tags_app(followers: u32) -> TestApp {
    tags_app_with(SimConfig {
        followers,
        ..sim_config()
    })
    .await
}

async fn tags_app_with(config: SimConfig) -> TestApp {
    TestApp::spawn_with(config, |mut s| {
        s.api = Api::Tags;
        s.jobs = fast_jobs();
        s
    })
    .await
}

/// The tags-mode list form, posted as multipart (htmx sends the token in a header, a plain
/// form in a part).
pub async fn post_tag_list(
    b: &Browser,
    text: &str,
    (action, from, to): (&str, &str, &str),
    hx: bool,
) -> Page {
    const BOUNDARY: &str = "----wxgroupsTagJobBoundary0aG3kLx";
    let mut body = Vec::new();
    let mut part = |name: &str, value: &str| {
        body.extend_from_slice(
            format!(
                "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
            )
            .as_bytes(),
        );
    };
    let csrf = b.csrf();
    if !hx {
        part("csrf", &csrf);
    }
    part("action", action);
    part("from_tag", from);
    part("to_tag", to);
    part("text", text);
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

/// Previews `list` for `order` and confirms it (htmx); answers the job's id.
async fn queue(app: &TestApp, list: &[String], order: (&str, &str, &str)) -> i64 {
    let preview = post_tag_list(app, &list.join("\n"), order, true).await;
    assert_eq!(preview.status, 200, "{}", preview.body);
    let id = draft_id(&preview);
    let confirmed = app.post_hx(&format!("/jobs/{id}/confirm"), &[]).await;
    assert_eq!(confirmed.status, 200, "{}", confirmed.body);
    id
}

/// Calls the worker's narrowing makes for a part of `len` OpenIDs whose bad ones sit at `bad`:
/// one for the part; a refused part of more than one is split in halves (the first the larger)
/// and each half sent (the model of `bulk.rs`, for any call of the tag API).
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

/// An OpenID of another account (the simulator seals every OpenID it makes, whatever the
/// AppID, so it tells another account's from garbage: 49003).
fn foreign_openid() -> String {
    Simulator::new(SimConfig {
        appid: "wxother000000000".into(),
        ..sim_config()
    })
    .follower_openid(3)
}

/// A client of the simulated account, to change it behind the dashboard's back.
fn client(app: &TestApp) -> WeChatClient {
    WeChatClient::new(ClientConfig::new(
        app.sim_url.clone(),
        APPID,
        SECRET.to_owned(),
    ))
    .unwrap()
}

/// Reads the tag list again (after the simulator was changed behind the dashboard's back).
async fn refresh(app: &TestApp) {
    let page = app.post_hx("/groups/refresh", &[]).await;
    assert_eq!(page.status, 200, "{}", page.body);
}

/// How often each (call, OpenID) was carried out, from the simulator's tag log.
fn carried_out(app: &TestApp) -> HashMap<(&'static str, String), usize> {
    let mut seen = HashMap::new();
    for (kind, ids, _) in app.sim.tag_log() {
        for o in ids {
            *seen.entry((kind, o)).or_default() += 1;
        }
    }
    seen
}

#[test]
fn the_narrowing_model_matches_the_one_for_group_moves() {
    assert_eq!(narrowing_calls(50, &[0]), 13);
    assert_eq!(narrowing_calls(20, &[]), 1);
    assert_eq!(
        narrowing_calls(50, &[10, 20]),
        narrowing_calls(50, &[20, 10])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn moving_10000_openids_from_tag_a_to_b_with_3_bad_ones_costs_untag_and_tag_per_50_plus_narrowing()
 {
    let app = tags_app(20_000).await;
    app.get("/jobs").await;
    let bad: Vec<String> = (0..3)
        .map(|k| app.sim.follower_openid(50_000 + k))
        .collect();
    let bad_at = [123usize, 5_000, 9_999];
    let mut list: Vec<String> = (0..9_997).map(|i| app.sim.follower_openid(i)).collect();
    for (b, &at) in bad.iter().zip(&bad_at) {
        list.insert(at, b.clone());
    }
    let had_a = list
        .iter()
        .filter(|o| app.sim.tags_of(o).is_some_and(|t| t.contains(&A)))
        .count();
    assert!(had_a > 100, "the seed gives some of them tag A: {had_a}");
    let preview = post_tag_list(&app, &list.join("\n"), ("retag", "100", "101"), true).await;
    assert_eq!(preview.status, 200, "{}", preview.body);
    assert_eq!(preview.text(".preview-valid"), "10,000");
    assert_eq!(preview.text(".preview-calls"), "400", "two calls a chunk");
    assert!(preview.text(".preview-from").contains("华东客户 (100)"));
    assert!(preview.text(".preview-to").contains("VIP (101)"));
    let id = draft_id(&preview);
    assert_eq!(app.sim.tag_log().len(), 0, "a preview sends nothing");

    app.sim.reset_calls();
    let started = Instant::now();
    app.post_hx(&format!("/jobs/{id}/confirm"), &[]).await;
    let job = wait_for_job(&app.store, id, Duration::from_secs(180)).await;
    let took = started.elapsed();

    // 200 chunks; chunks 2, 100 and 199 hold one bad OpenID each, at 23, 0 and 49. The untag
    // step narrows them out; the tag step sends the 49 good ones of those chunks in one call.
    let untags =
        197 + narrowing_calls(50, &[23]) + narrowing_calls(50, &[0]) + narrowing_calls(50, &[49]);
    let tags = 200;
    eprintln!(
        "retag of 10,000 OpenIDs (3 bad): {took:?}, batchuntagging {} (expected {untags}), batchtagging {} (expected {tags}), job's calls {}, all upstream {}",
        app.calls("tags/members/batchuntagging"),
        app.calls("tags/members/batchtagging"),
        job.calls,
        app.sim.total_calls()
    );
    assert_eq!(job.state, JobState::Done, "{job:?}");
    assert_eq!((job.moved, job.invalid, job.failed), (9_997, 3, 0));
    assert_eq!(app.calls("tags/members/batchuntagging"), untags);
    assert_eq!(app.calls("tags/members/batchtagging"), tags);
    assert_eq!(job.calls as u64, untags + tags);
    for (i, o) in list.iter().enumerate().filter(|(_, o)| !bad.contains(o)) {
        let now = app.sim.tags_of(o).unwrap();
        assert!(now.contains(&B) && !now.contains(&A), "line {i}: {now:?}");
    }
    // Each OpenID untagged once and tagged once: nothing was carried out twice.
    let seen = carried_out(&app);
    assert!(
        seen.values().all(|&n| n == 1),
        "a step was carried out twice"
    );
    assert_eq!(seen.len(), 2 * 9_997);
    let reported = app
        .store
        .job_items_with(id, ItemOutcome::Invalid, 100)
        .await
        .unwrap();
    assert_eq!(
        reported
            .iter()
            .map(|i| i.openid.clone())
            .collect::<Vec<_>>(),
        bad
    );
    assert!(
        reported
            .iter()
            .all(|i| i.errcode == Some(40003) && i.step == Some(0))
    );
    // The stored tags follow.
    let stored = app
        .store
        .follower_tag_lists(&[list[0].as_str()])
        .await
        .unwrap();
    assert_eq!(stored.get(&list[0]).cloned().unwrap_or_default(), vec![B]);

    let page = app.get(&format!("/jobs/{id}")).await;
    assert_eq!(page.text(".job-moved"), "9,997");
    assert!(
        page.text(".job-what").contains("华东客户 (100)"),
        "{}",
        page.body
    );
    assert!(page.text(".job-invalid").contains("40003"));
    assert!(
        page.text(".job-invalid .job-reason")
            .contains("不是本公众号粉丝"),
        "the reason in the operator's words: {}",
        page.text(".job-invalid")
    );
    assert!(
        !page.has(".job-between"),
        "nobody was left with neither tag"
    );
    let csv = app.get(&format!("/jobs/{id}/outcome.csv")).await;
    let lines: Vec<&str> = csv.body.lines().collect();
    assert_eq!(lines.len(), 10_001);
    assert!(lines[1].contains(",retag,100,101,moved,"), "{}", lines[1]);
    assert!(
        lines[124].contains(&bad[0])
            && lines[124].contains("refused,40003,\"tag A not removed, tag B not given\""),
        "{}",
        lines[124]
    );
    let audit = app.get("/audit?action=batch_retag").await;
    assert!(
        audit
            .body
            .contains("10000 OpenIDs: tag 100 (华东客户) → tag 101 (VIP)"),
        "{}",
        audit.body
    );
    assert!(
        audit.body.contains(&format!(
            "moved 9997, refused 3, failed 0, cancelled 0 of 10000 ({} calls)",
            untags + tags
        )),
        "{}",
        audit.body
    );
    // The tag list's counts follow (read again when the job ends).
    let groups = app.get("/groups").await;
    assert_eq!(groups.count_of(B), app.sim.tag_members(B));
    assert_eq!(groups.count_of(A), app.sim.tag_members(A));
}

#[tokio::test]
async fn a_blacklist_of_1000_costs_exactly_50_calls_and_taking_them_off_50_more() {
    let app = tags_app(2_000).await;
    app.get("/jobs").await;
    let list: Vec<String> = (0..1_000).map(|i| app.sim.follower_openid(i)).collect();
    let preview = post_tag_list(&app, &list.join("\n"), ("blacklist", "", ""), true).await;
    assert_eq!(preview.text(".preview-calls"), "50");
    assert!(
        preview.text(".preview").contains("不能再给公众号发消息"),
        "the preview says what blacklisting does"
    );
    let id = draft_id(&preview);
    app.sim.reset_calls();
    app.post_hx(&format!("/jobs/{id}/confirm"), &[]).await;
    let job = wait_for_job(&app.store, id, Duration::from_secs(30)).await;
    eprintln!(
        "blacklist of 1,000: batchblacklist {}, job's calls {}, all upstream {}",
        app.calls("tags/members/batchblacklist"),
        job.calls,
        app.sim.total_calls()
    );
    assert_eq!((job.state, job.moved), (JobState::Done, 1_000));
    assert_eq!(app.calls("tags/members/batchblacklist"), 50);
    assert_eq!(job.calls, 50);
    assert_eq!(
        app.sim.total_calls(),
        50,
        "no list read after a blacklist job"
    );
    assert!(list.iter().all(|o| app.sim.is_blacklisted(o)));
    let audit = app.get("/audit?action=batch_blacklist").await;
    assert!(
        audit.body.contains("1000 OpenIDs → blacklist"),
        "{}",
        audit.body
    );
    assert!(audit.body.contains("blacklisted 1000"), "{}", audit.body);

    let id = queue(&app, &list[..500], ("unblacklist", "", "")).await;
    let job = wait_for_job(&app.store, id, Duration::from_secs(30)).await;
    assert_eq!(job.moved, 500);
    assert_eq!(app.calls("tags/members/batchunblacklist"), 25);
    assert!(list[..500].iter().all(|o| !app.sim.is_blacklisted(o)));
    assert!(list[500..].iter().all(|o| app.sim.is_blacklisted(o)));
}

#[tokio::test]
async fn tagging_narrows_out_a_follower_with_20_tags_and_another_accounts_openid() {
    let app = tags_app(1_000).await;
    let target = app.sim.create_tag("目标标签");
    // Follower 10 carries 20 tags, none of them the target: a 21st is refused (45059).
    let full = app.sim.follower_openid(10);
    while app.sim.tags_of(&full).unwrap().len() < 20 {
        let t = app.sim.create_tag(&format!("满{}", app.sim.tag_count()));
        app.sim.tag_range(t, 10..11);
    }
    refresh(&app).await;
    let foreign = foreign_openid();
    let list: Vec<String> = (0..100)
        .map(|i| {
            if i == 70 {
                foreign.clone()
            } else {
                app.sim.follower_openid(i)
            }
        })
        .collect();
    app.get("/jobs").await;
    app.sim.reset_calls();
    let id = queue(&app, &list, ("tag", "", &target.to_string())).await;
    let job = wait_for_job(&app.store, id, Duration::from_secs(30)).await;
    // Chunk 0 has the full one at 10, chunk 1 the foreign one at 20.
    let expected = narrowing_calls(50, &[10]) + narrowing_calls(50, &[20]);
    assert_eq!(app.calls("tags/members/batchtagging"), expected);
    assert_eq!((job.state, job.moved, job.invalid), (JobState::Done, 98, 2));
    let refused: HashMap<String, Option<i64>> = app
        .store
        .job_items_with(id, ItemOutcome::Invalid, 10)
        .await
        .unwrap()
        .into_iter()
        .map(|i| (i.openid, i.errcode))
        .collect();
    assert_eq!(refused.get(&full), Some(&Some(45059)));
    assert_eq!(refused.get(&foreign), Some(&Some(49003)));
    for o in list.iter().filter(|o| **o != full && **o != foreign) {
        assert!(app.sim.tags_of(o).unwrap().contains(&target), "{o}");
    }
    assert!(!app.sim.tags_of(&full).unwrap().contains(&target));
    // Each is reported with what WeChat's code means for the operator.
    let page = app.get(&format!("/jobs/{id}")).await;
    let reasons = page.text(".job-invalid");
    assert!(
        reasons.contains("45059") && reasons.contains("最多 20 个"),
        "{reasons}"
    );
    assert!(
        reasons.contains("49003") && reasons.contains("不属于本公众号"),
        "{reasons}"
    );

    // Untagging the same list: the foreign one is narrowed out again; the full one is fine
    // (taking off a tag someone does not carry changes nothing).
    app.sim.reset_calls();
    let id = queue(&app, &list, ("untag", &target.to_string(), "")).await;
    let job = wait_for_job(&app.store, id, Duration::from_secs(30)).await;
    assert_eq!(
        app.calls("tags/members/batchuntagging"),
        1 + narrowing_calls(50, &[20])
    );
    assert_eq!((job.moved, job.invalid), (99, 1));
    assert_eq!(app.sim.tag_members(target), 0);
    let csv = app.get(&format!("/jobs/{id}/outcome.csv")).await;
    assert!(
        csv.body
            .contains(&format!("{foreign},untag,{target},,refused,49003,")),
        "{}",
        csv.body
    );
}

#[tokio::test]
async fn a_tag_deleted_while_a_job_tags_into_it_stops_the_job_with_the_rest_reported_not_sent() {
    let app = tags_app(5_000).await;
    let doomed = app.sim.create_tag("将被删除");
    app.sim.inject(
        "tags/members/batchtagging",
        Fault {
            latency_ms: 30,
            ..Fault::default()
        },
    );
    refresh(&app).await;
    let list: Vec<String> = (0..2_000).map(|i| app.sim.follower_openid(i)).collect();
    let id = queue(&app, &list, ("tag", "", &doomed.to_string())).await;
    let started = Instant::now();
    while app.store.job(id).await.unwrap().unwrap().moved == 0 {
        assert!(started.elapsed() < Duration::from_secs(10));
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // Deleted in WeChat's own console meanwhile.
    client(&app)
        .delete(Api::Tags, GroupId::from_upstream(doomed))
        .await
        .unwrap();
    let job = wait_for_job(&app.store, id, Duration::from_secs(10)).await;
    assert_eq!(job.state, JobState::Failed, "{job:?}");
    assert_eq!(
        job.moved + job.failed,
        2_000,
        "every OpenID has its outcome"
    );
    assert!(job.failed > 0 && job.moved > 0, "{job:?}");
    let carried: usize = app.sim.tag_log().iter().map(|(_, ids, _)| ids.len()).sum();
    assert_eq!(carried as i64, job.moved, "nothing was sent after the stop");
    let csv = app.get(&format!("/jobs/{id}/outcome.csv")).await;
    assert!(csv.body.contains(",tag,,"), "{}", &csv.body[..200]);
    assert_eq!(
        csv.body.matches("failed,45159").count() as i64,
        job.failed,
        "the rest are reported with WeChat's code"
    );
    assert!(!csv.body.contains(",pending,"), "nothing is left unsaid");
    let page = app.get(&format!("/jobs/{id}")).await;
    assert!(page.text(".job-error").contains("45159"), "{}", page.body);
    assert_eq!(page.text(".job-state"), "已停止（失败）");
}

#[tokio::test]
async fn cancelling_a_retag_stops_between_chunks_never_between_the_two_steps_of_one() {
    let app = tags_app(5_000).await;
    for endpoint in ["tags/members/batchuntagging", "tags/members/batchtagging"] {
        app.sim.inject(
            endpoint,
            Fault {
                latency_ms: 30,
                ..Fault::default()
            },
        );
    }
    app.get("/jobs").await;
    let list: Vec<String> = (0..2_000).map(|i| app.sim.follower_openid(i)).collect();
    let id = queue(&app, &list, ("retag", "100", "101")).await;
    let started = Instant::now();
    while app.store.job(id).await.unwrap().unwrap().moved == 0 {
        assert!(started.elapsed() < Duration::from_secs(10));
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let cancel = app.post_hx(&format!("/jobs/{id}/cancel"), &[]).await;
    assert_eq!(cancel.status, 200, "{}", cancel.body);
    let job = wait_for_job(&app.store, id, Duration::from_secs(10)).await;
    assert_eq!(job.state, JobState::Cancelled);
    assert!(job.moved > 0 && job.cancelled > 0, "{job:?}");
    assert_eq!(job.moved + job.cancelled, 2_000);
    // Every chunk begun was finished: as many untagged as tagged, none left with neither.
    let seen = carried_out(&app);
    let count = |kind: &str| seen.keys().filter(|(k, _)| *k == kind).count() as i64;
    assert_eq!(count("batchuntagging"), job.moved);
    assert_eq!(count("batchtagging"), job.moved);
    assert_eq!(app.store.job_between_count(id).await.unwrap(), 0);
    for o in &list[..job.moved as usize] {
        let tags = app.sim.tags_of(o).unwrap();
        assert!(tags.contains(&B) && !tags.contains(&A), "{o}: {tags:?}");
    }
}

/// Polls until the follower sync has ended.
async fn wait_for_sync(app: &TestApp) {
    let started = Instant::now();
    loop {
        let sync = app.store.sync_latest().await.unwrap().expect("a sync");
        match sync.state.as_str() {
            "done" => return,
            "failed" => panic!("the sync failed: {sync:?}"),
            _ => {}
        }
        assert!(started.elapsed() < Duration::from_secs(30), "{sync:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn untagging_everyone_reads_the_members_from_wechat_then_untags_them_50_a_call() {
    let app = tags_app(30_000).await;
    let big = app.sim.create_tag("大标签");
    app.sim.tag_range(big, 0..25_000);
    refresh(&app).await;
    assert_eq!(
        app.post("/jobs/untag-all", &[("tag", "99999")])
            .await
            .status,
        404,
        "not a listed tag"
    );
    app.sim.reset_calls();
    let queued = app
        .post("/jobs/untag-all", &[("tag", &big.to_string())])
        .await;
    assert_eq!(queued.status, 303, "{}", queued.body);
    let id: i64 = queued
        .location()
        .rsplit('/')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let job = wait_for_job(&app.store, id, Duration::from_secs(60)).await;
    assert_eq!(
        (job.state, job.total, job.moved),
        (JobState::Done, 25_000, 25_000)
    );
    assert_eq!(app.sim.tag_members(big), 0);
    // Three pages of 10,000 and the empty one that ends the list, then 500 untaggings.
    assert_eq!(app.calls("user/tag/get"), 4);
    assert_eq!(app.calls("tags/members/batchuntagging"), 500);
    assert_eq!(job.calls, 500);
    let page = app.get(&format!("/jobs/{id}")).await;
    assert!(page.text(".job-what").contains("大标签"), "{}", page.body);
    let audit = app.get("/audit?action=batch_untag").await;
    assert!(
        audit
            .body
            .contains(&format!("every follower carrying tag {big} (大标签)")),
        "{}",
        audit.body
    );
    assert!(audit.body.contains("untagged 25000"), "{}", audit.body);
    // htmx is sent to the job's page the htmx way.
    let hx = app
        .post_hx("/jobs/untag-all", &[("tag", &big.to_string())])
        .await;
    assert!(
        hx.headers
            .get("hx-redirect")
            .is_some_and(|v| v.to_str().unwrap().starts_with("/jobs/")),
        "{:?}",
        hx.headers
    );
}

#[tokio::test]
async fn copying_3_groups_into_tags_finds_or_creates_each_tag_and_skips_a_name_too_long_in_bytes() {
    let app = tags_app(2_000).await;
    let wechat = client(&app);
    // Groups 101 VIP客户 (no such tag: created), 102 内部测试 (tag 103 has that name: used), and
    // 103 renamed to 12 characters, 36 bytes (a group name, not a tag name: skipped).
    let long = "华南地区重点经销商联系人";
    assert!(long.chars().count() <= 30 && long.len() > 30);
    wechat
        .delete(Api::Groups, GroupId::from_upstream(100))
        .await
        .unwrap();
    wechat
        .rename(
            Api::Groups,
            GroupId::from_upstream(103),
            &GroupName::parse(long).unwrap(),
        )
        .await
        .unwrap();
    app.get("/jobs").await;
    app.post_hx("/followers/sync", &[]).await;
    wait_for_sync(&app).await;
    let count = |g: u32| app.store.group_member_count(g, "");
    let (m101, m102, m103) = (
        count(101).await.unwrap(),
        count(102).await.unwrap(),
        count(103).await.unwrap(),
    );
    assert!(m101 > 0 && m102 > 0 && m103 > 0);
    let chunks = m101.div_ceil(50) + m102.div_ceil(50);

    let tags_before = app.sim.tag_count();
    app.sim.reset_calls();
    let preview = app.post_hx("/jobs/copy-groups", &[]).await;
    assert_eq!(preview.status, 200, "{}", preview.body);
    assert_eq!(
        preview.text(".copy-summary"),
        format!(
            "2 个分组 → 2 个标签，{} 名粉丝，约 {} 次调用",
            m101 + m102,
            1 + chunks
        )
    );
    assert!(
        preview
            .text("#copy-group-101")
            .contains("新建标签“VIP客户”")
    );
    assert!(preview.text("#copy-group-102").contains("内部测试 (103)"));
    let skipped = preview.text("#copy-group-103 .copy-skip-reason");
    assert!(
        skipped.contains("36") && skipped.contains("30"),
        "{skipped}"
    );
    assert_eq!(
        app.calls("groups/get"),
        1,
        "the group list is read from WeChat"
    );
    assert_eq!(
        app.sim.tag_count(),
        tags_before,
        "a preview creates nothing"
    );
    let id = draft_id(&preview);

    // Without JavaScript: the confirm redirects to the job's page.
    let confirmed = app.post(&format!("/jobs/{id}/confirm"), &[]).await;
    assert_eq!(confirmed.status, 303);
    assert_eq!(confirmed.location(), format!("/jobs/{id}"));
    let job = wait_for_job(&app.store, id, Duration::from_secs(30)).await;
    assert_eq!(
        (job.state, job.moved),
        (JobState::Done, (m101 + m102) as i64)
    );
    assert_eq!(app.calls("tags/create"), 1);
    assert_eq!(app.calls("tags/members/batchtagging"), chunks);
    assert_eq!(job.calls as u64, 1 + chunks, "as the preview said");
    assert_eq!(app.sim.tag_count(), tags_before + 1);
    let copies = app.store.job_copy_groups(id).await.unwrap();
    let vip = copies.iter().find(|g| g.group_id == 101).unwrap();
    assert!(vip.created);
    let new_tag = vip.tag_id.unwrap();
    for (group, tag) in [(101, new_tag), (102, 103)] {
        for o in app.store.group_member_openids(group, "").await.unwrap() {
            assert!(
                app.sim.tags_of(&o).unwrap().contains(&tag),
                "{o} of {group}"
            );
        }
    }
    let page = app.get(&format!("/jobs/{id}")).await;
    assert!(
        page.text("#copy-group-101")
            .contains(&format!("VIP客户 ({new_tag})（新建）")),
        "{}",
        page.text(".copy-groups")
    );
    assert!(page.has("#copy-group-103.copy-skipped"));
    let audit = app.get("/audit?action=copy_groups").await;
    assert!(
        audit
            .body
            .contains(&format!("2 groups → tags, {} followers", m101 + m102)),
        "{}",
        audit.body
    );
}

#[tokio::test]
async fn a_copy_preview_says_when_the_groups_api_is_not_available() {
    let app = tags_app_with(SimConfig {
        groups_api: false,
        ..sim_config()
    })
    .await;
    app.get("/jobs").await;
    let page = app.post_hx("/jobs/copy-groups", &[]).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.text(".copy-error").contains("48001"), "{}", page.body);
    assert!(!page.has("form[action$='/confirm']"), "nothing to confirm");
    // The same without JavaScript: the whole page with the message.
    let plain = app.post("/jobs/copy-groups", &[]).await;
    assert!(plain.has("h1") && plain.text(".copy-error").contains("48001"));
}

/// A list, the action and its tags, the field the refusal names, and what it says.
type Refusal<'a> = (&'a str, (&'a str, &'a str, &'a str), &'a str, &'a str);

#[tokio::test]
async fn bad_choices_are_refused_locally_and_repeats_are_sent_once_with_or_without_javascript() {
    let app = tags_app(200).await;
    let form = app.get("/jobs?action=untag&from_tag=101").await;
    assert!(
        form.has("#list-action option[value=untag][selected]"),
        "{}",
        form.body
    );
    assert!(form.has("#list-from option[value='101'][selected]"));
    assert!(form.has("#copy-card form[action='/jobs/copy-groups'] input[name=csrf]"));
    let a = app.sim.follower_openid(1);
    let b = app.sim.follower_openid(2);
    app.sim.reset_calls();
    let cases: [Refusal; 6] = [
        (&a, ("retag", "101", "101"), "#list-to-error", "同一个标签"),
        (&a, ("tag", "", "9999"), "#list-to-error", "9999"),
        (&a, ("untag", "", ""), "#list-from-error", "标签 A"),
        (&a, ("", "", "101"), "#list-action-error", "请选择"),
        (&a, ("move", "", "101"), "#list-action-error", "请选择"),
        (
            "not-an-openid!",
            ("tag", "", "101"),
            "#list-error",
            "没有有效的 OpenID",
        ),
    ];
    for hx in [true, false] {
        for (text, order, field, says) in cases {
            let page = post_tag_list(&app, text, order, hx).await;
            assert_eq!(page.status, 422, "{order:?}: {}", page.body);
            assert!(
                page.text(field).contains(says),
                "{order:?}: {}",
                page.text(field)
            );
            assert_eq!(page.has("h1"), !hx, "a whole page without JavaScript");
        }
    }
    assert_eq!(app.sim.total_calls(), 0, "nothing reached WeChat");
    assert!(app.store.jobs_recent(10).await.unwrap().is_empty());

    // A repeat is counted and sent once; an invalid line is listed and never sent.
    let text = format!("{a}\n{b}\n{a}\nnot-an-openid!\n");
    let preview = post_tag_list(&app, &text, ("tag", "", "103"), false).await;
    assert_eq!(preview.status, 200, "{}", preview.body);
    assert!(preview.has("h1"), "the whole page");
    assert_eq!(preview.text(".preview-valid"), "2");
    assert_eq!(preview.text(".preview-duplicates"), "1");
    assert_eq!(preview.text(".preview-invalid"), "1");
    assert_eq!(app.sim.total_calls(), 0);
    let id = draft_id(&preview);
    let confirmed = app.post(&format!("/jobs/{id}/confirm"), &[]).await;
    assert_eq!(confirmed.status, 303);
    let job = wait_for_job(&app.store, id, Duration::from_secs(10)).await;
    assert_eq!((job.total, job.moved), (2, 2));
    assert_eq!(app.sim.tag_log().len(), 1, "one call");
    assert_eq!(app.sim.tag_log()[0].1, vec![a.clone(), b.clone()]);
    // The recent jobs list says what the job did.
    let jobs = app.get("/jobs").await;
    assert!(
        jobs.text(&format!("#job-{id} td:nth-child(3)"))
            .contains("加上 内部测试 (103)"),
        "{}",
        jobs.text("#jobs-recent")
    );
    // In English as well.
    let switched = app
        .post("/lang", &[("lang", "en"), ("next", "/jobs")])
        .await;
    assert_eq!(switched.status, 303);
    let en = post_tag_list(&app, &a, ("retag", "101", "101"), true).await;
    assert!(
        en.text("#list-to-error")
            .contains("are the same tag (VIP (101))"),
        "{}",
        en.body
    );
    let jobs = app.get("/jobs").await;
    assert_eq!(
        jobs.text(&format!("#job-{id} td:nth-child(3)")),
        "+ 内部测试 (103)"
    );
    assert!(jobs.text("label[for=list-action]").contains("What to do"));
    assert_eq!(jobs.text("#batch-title"), "Work on a list of followers");
    assert_eq!(jobs.text("#jobs-recent th:nth-child(3)"), "What");
    assert_eq!(jobs.text("#jobs-recent th:nth-child(5)"), "Done");
}

/// A fresh database file for one test (its folder is named by `tag`): the folder (to remove at
/// the end) and the database URL.
fn database(tag: &str) -> (std::path::PathBuf, String) {
    let dir = std::env::temp_dir().join(format!("wxgroups-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let url = wxgroups::store::testing::database_url_in(&dir);
    (dir, url)
}

/// A retag of `list` (A → B) left in the database as a stopped process leaves a running job,
/// its chunks as `prepare` says; answers its id.
async fn stopped_retag(store: &Store, list: &[String]) -> i64 {
    let job = NewJob {
        operator: "admin".into(),
        source: "builtin".into(),
        ip: None,
        to_group: B,
        origin: "list".into(),
    };
    let plan = JobPlan {
        from: Some((A, Some("华东客户"))),
        ..JobPlan::new(JobAction::Retag, Some("VIP"))
    };
    let id = store.job_create(&job, &plan, list).await.unwrap();
    let audit = store
        .audit_begin(&AuditEntry {
            operator: "admin".into(),
            source: "builtin".into(),
            action: "batch_retag".into(),
            ..AuditEntry::default()
        })
        .await
        .unwrap();
    assert!(store.job_confirm(id, audit).await.unwrap());
    store.job_start(id).await.unwrap();
    id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retag_stopped_in_either_step_is_rechecked_and_only_what_is_left_is_sent() {
    let sim = Simulator::new(SimConfig {
        followers: 500,
        ..sim_config()
    });
    let sim_url = spawn_local(&sim).await.unwrap();
    let (dir, db_url) = database("tag-resume");
    let store = Store::connect(&db_url).await.unwrap();
    let list: Vec<String> = (0..150).map(|i| sim.follower_openid(i)).collect();
    sim.tag_range(A, 0..150);
    let id = stopped_retag(&store, &list).await;
    let wechat =
        WeChatClient::new(ClientConfig::new(sim_url.clone(), APPID, SECRET.to_owned())).unwrap();
    let ids = |r: std::ops::Range<usize>| -> Vec<OpenId> {
        list[r].iter().map(|o| OpenId::parse(o).unwrap()).collect()
    };
    // Chunk 0 stopped while untagging: WeChat had taken A off its first 20.
    store.job_chunk_sending(id, 0, 0).await.unwrap();
    wechat
        .tag_users(Tagging::Untag, &ids(0..20), GroupId::from_upstream(A))
        .await
        .unwrap();
    // Chunk 1 untagged (settled), then stopped while tagging: WeChat had given B to 25 of it.
    store.job_chunk_sending(id, 1, 0).await.unwrap();
    wechat
        .tag_users(Tagging::Untag, &ids(50..100), GroupId::from_upstream(A))
        .await
        .unwrap();
    let changed: Vec<&str> = list[50..100].iter().map(String::as_str).collect();
    let untagged = ChunkDone {
        outcomes: &[],
        changed: &changed,
        effect: Effect::Untagged(A),
        step: 0,
        next: Some(1),
    };
    store.job_chunk_done(id, 1, untagged).await.unwrap();
    store.job_chunk_sending(id, 1, 1).await.unwrap();
    wechat
        .tag_users(Tagging::Tag, &ids(50..75), GroupId::from_upstream(B))
        .await
        .unwrap();
    // Chunk 2 was never sent. The re-check of chunk 1 finds B on those 25, and on any of the
    // rest the seed gave B.
    let lacking_b: Vec<String> = list[75..100]
        .iter()
        .filter(|o| !sim.tags_of(o).unwrap().contains(&B))
        .cloned()
        .collect();
    let before = sim.tag_log().len();
    sim.reset_calls();

    let mut settings = crate::helpers::settings_for(sim_url.clone());
    settings.api = Api::Tags;
    settings.jobs = fast_jobs();
    settings.database_url = db_url.clone();
    let (_, app_store, _) = crate::helpers::start(settings).await;
    let job = wait_for_job(&app_store, id, Duration::from_secs(30)).await;
    assert_eq!(
        (job.state, job.moved, job.failed),
        (JobState::Done, 150, 0),
        "{job:?}"
    );
    for o in &list {
        let tags = sim.tags_of(o).unwrap();
        assert!(tags.contains(&B) && !tags.contains(&A), "{o}: {tags:?}");
    }
    // What the restarted worker sent: nothing it found done, every step once.
    let log = sim.tag_log();
    let sent = |kind: &str| -> Vec<String> {
        log[before..]
            .iter()
            .filter(|(k, _, _)| *k == kind)
            .flat_map(|(_, ids, _)| ids.clone())
            .collect()
    };
    let expect = |ranges: &[std::ops::Range<usize>]| -> Vec<String> {
        ranges
            .iter()
            .flat_map(|r| list[r.clone()].to_vec())
            .collect()
    };
    assert_eq!(sent("batchuntagging"), expect(&[20..50, 100..150]));
    let mut tagged = list[0..50].to_vec();
    tagged.extend(lacking_b);
    tagged.extend_from_slice(&list[100..150]);
    assert_eq!(sent("batchtagging"), tagged);
    // One re-check per interrupted chunk, and the job's count: the three calls the stopped
    // process had counted, and the five made since.
    assert_eq!(sim.calls("/cgi-bin/user/info/batchget"), 2);
    assert_eq!(job.calls, 3 + 5);
    let sends: Vec<i64> = app_store
        .job_chunk_sends(id)
        .await
        .unwrap()
        .into_iter()
        .map(|(_, n)| n)
        .collect();
    assert_eq!(
        sends,
        vec![3, 3, 2],
        "each step marked sending once more where it was resent"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The real binary in tags mode on `db_url`, signed in as `crash-admin`.
async fn start_binary(sim_url: &str, db_url: &str) -> (Child, Browser) {
    let port = free_port();
    let server = Command::new(env!("CARGO_BIN_EXE_wxgroups"))
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("WXGROUPS_APPID", APPID)
        .env("WXGROUPS_APPSECRET", SECRET)
        .env("WXGROUPS_WECHAT_API", sim_url)
        .env("WXGROUPS_API", "tags")
        .env("WXGROUPS_DATABASE_URL", db_url)
        .env("WXGROUPS_LISTEN", format!("127.0.0.1:{port}"))
        .env("WXGROUPS_BATCH_PER_MINUTE", "60000")
        .env("WXGROUPS_BATCH_BACKOFF_MS", "20")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("the wxgroups binary starts");
    let started = Instant::now();
    while tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .is_err()
    {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "never listened"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let browser = Browser::new(format!("http://127.0.0.1:{port}"));
    assert_eq!(browser.sign_in("crash-admin", PASSWORD).await.status, 303);
    (server, browser)
}

/// SIGKILL: no graceful anything.
fn kill(mut server: Child) {
    server.kill().unwrap();
    server.wait().unwrap();
}

/// Waits until `job` has `moved` at least `n`.
async fn wait_for_moved(store: &Store, id: i64, n: i64) {
    let started = Instant::now();
    loop {
        let job = store.job(id).await.unwrap().unwrap();
        if job.moved >= n {
            return;
        }
        assert!(started.elapsed() < Duration::from_secs(30), "{job:?}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retag_killed_twice_mid_way_ends_with_every_openid_on_b_and_no_step_carried_out_twice() {
    let sim = Simulator::new(SimConfig {
        followers: 5_000,
        ..sim_config()
    });
    let sim_url = spawn_local(&sim).await.unwrap();
    // Slow enough to be killed in the middle of a call: 40 chunks, two calls of ~40 ms each.
    for endpoint in ["tags/members/batchuntagging", "tags/members/batchtagging"] {
        sim.inject(
            endpoint,
            Fault {
                latency_ms: 40,
                ..Fault::default()
            },
        );
    }
    let (dir, db_url) = database("tag-crash");
    let store = Store::connect(&db_url).await.unwrap();
    let hash = wxgroups::auth::password::hash(PASSWORD).unwrap();
    store
        .add_operator("crash-admin", Role::Admin, &hash)
        .await
        .unwrap();
    let list: Vec<String> = (0..2_000).map(|i| sim.follower_openid(i)).collect();
    let had_b: std::collections::HashSet<&String> = list
        .iter()
        .filter(|o| sim.tags_of(o).unwrap().contains(&B))
        .collect();

    let (server, browser) = start_binary(&sim_url, &db_url).await;
    browser.get("/jobs").await;
    let preview = post_tag_list(&browser, &list.join("\n"), ("retag", "100", "101"), true).await;
    let id = draft_id(&preview);
    browser.post_hx(&format!("/jobs/{id}/confirm"), &[]).await;
    wait_for_moved(&store, id, 400).await;
    kill(server);
    let chunks = store.job_unfinished_chunks(id).await.unwrap();
    eprintln!(
        "killed with these chunks unfinished: {:?}",
        &chunks[..chunks.len().min(3)]
    );
    assert!(
        store.job(id).await.unwrap().unwrap().moved < 2_000,
        "killed mid-way"
    );

    let (server, _) = start_binary(&sim_url, &db_url).await;
    wait_for_moved(&store, id, 1_200).await;
    kill(server);
    let (server, _) = start_binary(&sim_url, &db_url).await;
    let job = wait_for_job(&store, id, Duration::from_secs(60)).await;
    kill(server);

    assert_eq!(
        (job.state, job.moved, job.failed),
        (JobState::Done, 2_000, 0),
        "{job:?}"
    );
    for o in &list {
        let tags = sim.tags_of(o).unwrap();
        assert!(tags.contains(&B) && !tags.contains(&A), "{o}: {tags:?}");
    }
    // No step of any chunk was carried out twice, and every OpenID was given B (unless it had
    // B already and sat in a chunk the restart re-checked).
    let mut seen: HashMap<(&str, String), usize> = HashMap::new();
    for (kind, ids, _) in sim.tag_log() {
        for o in ids {
            *seen.entry((kind, o)).or_default() += 1;
        }
    }
    assert!(
        seen.values().all(|&n| n == 1),
        "a step was carried out twice"
    );
    for o in &list {
        assert!(
            seen.contains_key(&("batchtagging", o.clone())) || had_b.contains(o),
            "{o} never given B"
        );
    }
    let audit = store
        .audit_all(&wxgroups::store::AuditFilter {
            action: Some("batch_retag".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(audit.len(), 1);
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
async fn an_untag_everyone_stopped_while_reading_its_list_reads_on_from_its_checkpoint() {
    let sim = Simulator::new(SimConfig {
        followers: 30_000,
        ..sim_config()
    });
    let sim_url = spawn_local(&sim).await.unwrap();
    let big = sim.create_tag("读到一半");
    sim.tag_range(big, 0..25_000);
    let (dir, db_url) = database("tag-listing");
    let store = Store::connect(&db_url).await.unwrap();
    let job = NewJob {
        operator: "admin".into(),
        source: "builtin".into(),
        ip: None,
        to_group: big,
        origin: format!("tag:{big}:all"),
    };
    let plan = JobPlan {
        listing: true,
        ..JobPlan::new(JobAction::Untag, Some("读到一半"))
    };
    let id = store.job_create(&job, &plan, &[]).await.unwrap();
    let audit = store.audit_begin(&AuditEntry::default()).await.unwrap();
    store.job_confirm(id, audit).await.unwrap();
    store.job_start(id).await.unwrap();
    // The stopped process had stored the first page of 10,000.
    let first: Vec<String> = (0..10_000).map(|i| sim.follower_openid(i)).collect();
    store
        .job_list_page(id, &first, Some(&first[9_999]))
        .await
        .unwrap();

    let mut settings = crate::helpers::settings_for(sim_url.clone());
    settings.api = Api::Tags;
    settings.jobs = fast_jobs();
    settings.database_url = db_url.clone();
    let (_, app_store, _) = crate::helpers::start(settings).await;
    let job = wait_for_job(&app_store, id, Duration::from_secs(60)).await;
    assert_eq!(
        (job.state, job.total, job.moved),
        (JobState::Done, 25_000, 25_000)
    );
    // Two more pages and the empty one; none read twice, nobody untagged twice.
    assert_eq!(sim.calls("/cgi-bin/user/tag/get"), 3);
    assert_eq!(sim.calls("/cgi-bin/tags/members/batchuntagging"), 500);
    assert_eq!(sim.tag_members(big), 0);
    let untagged: usize = sim.tag_log().iter().map(|(_, ids, _)| ids.len()).sum();
    assert_eq!(untagged, 25_000);
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn a_copy_uses_a_tag_of_the_groups_name_made_after_its_preview_instead_of_creating_one() {
    let app = tags_app(1_000).await;
    app.get("/jobs").await;
    app.post_hx("/followers/sync", &[]).await;
    wait_for_sync(&app).await;
    let preview = app.post_hx("/jobs/copy-groups", &[]).await;
    assert!(
        preview
            .text("#copy-group-100")
            .contains("新建标签“华东媒体”")
    );
    let id = draft_id(&preview);
    // Made meanwhile (elsewhere, or by a run that a crash cut off before it kept the id).
    let made = app.sim.create_tag("华东媒体");
    app.sim.reset_calls();
    app.post_hx(&format!("/jobs/{id}/confirm"), &[]).await;
    let job = wait_for_job(&app.store, id, Duration::from_secs(30)).await;
    assert_eq!(job.state, JobState::Done, "{job:?}");
    // Two tags to make: 华东媒体 is found now, 内部测试 was listed at the preview.
    assert_eq!(app.calls("tags/create"), 2);
    let copies = app.store.job_copy_groups(id).await.unwrap();
    let east = copies.iter().find(|g| g.group_id == 100).unwrap();
    assert_eq!((east.tag_id, east.created), (Some(made), false));
    for o in app.store.group_member_openids(100, "").await.unwrap() {
        assert!(app.sim.tags_of(&o).unwrap().contains(&made), "{o}");
    }
}
