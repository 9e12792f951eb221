//! Probes, metrics, request ids, the quota meter and the circuit banner, against a simulator
//! with faults injected.

use wxgroups::simulator::Fault;

use crate::helpers::{TestApp, client, read, sim_config};

#[tokio::test]
async fn the_probes_answer_without_sign_in() {
    let app = TestApp::spawn().await;
    let anon = client();
    let r = read(anon.get(app.url("/healthz")).send().await.unwrap()).await;
    assert_eq!((r.status.as_u16(), r.body.as_str()), (200, "ok\n"));
    let r = read(anon.get(app.url("/readyz")).send().await.unwrap()).await;
    assert_eq!((r.status.as_u16(), r.body.as_str()), (200, "ready\n"));
    let r = read(anon.get(app.url("/metrics")).send().await.unwrap()).await;
    assert_eq!(r.status, 200);
    assert!(
        r.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
}

#[tokio::test]
async fn readiness_tells_the_truth_about_the_token() {
    let app = TestApp::spawn().await;
    app.sim.expire_tokens();
    app.sim.inject("stable_token", Fault::errcode(40164));
    // The client still holds the token it believes valid; the first real call learns that it
    // expired (42001), drops it, and WeChat refuses a new one.
    app.post_hx("/groups/refresh", &[]).await;
    let r = read(client().get(app.url("/readyz")).send().await.unwrap()).await;
    assert_eq!(r.status, 503, "{}", r.body);
    assert!(
        r.body.starts_with("not ready: no access_token"),
        "{}",
        r.body
    );
    assert!(!r.body.contains(crate::helpers::SECRET));
    app.sim.clear_faults();
    let r = read(client().get(app.url("/readyz")).send().await.unwrap()).await;
    assert_eq!(
        r.status, 200,
        "ready again once WeChat hands out tokens: {}",
        r.body
    );
}

#[tokio::test]
async fn probes_and_metrics_can_be_limited_to_some_addresses() {
    let app = TestApp::spawn_with(sim_config(), |mut s| {
        s.metrics_allow = vec!["10.0.0.0/8".parse().unwrap()];
        s
    })
    .await;
    for path in ["/healthz", "/readyz", "/metrics"] {
        let r = client().get(app.url(path)).send().await.unwrap();
        assert_eq!(r.status(), 403, "{path} from loopback");
    }
}

fn metric(text: &str, name_and_labels: &[&str]) -> Option<f64> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .find(|l| name_and_labels.iter().all(|part| l.contains(part)))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

#[tokio::test]
async fn metrics_count_requests_upstream_calls_tokens_and_cache_use() {
    let app = TestApp::spawn().await;
    for _ in 0..3 {
        app.get("/groups").await;
    }
    let text = read(client().get(app.url("/metrics")).send().await.unwrap())
        .await
        .body;
    assert!(
        metric(
            &text,
            &[
                "wxgroups_http_requests_total{",
                "route=\"/groups\"",
                "status=\"200\""
            ]
        )
        .unwrap_or(0.0)
            >= 3.0,
        "{text}"
    );
    assert!(
        metric(
            &text,
            &[
                "wxgroups_http_request_duration_seconds_count{",
                "route=\"/groups\""
            ]
        )
        .is_some()
    );
    assert!(
        metric(
            &text,
            &[
                "wxgroups_upstream_calls_total{",
                "endpoint=\"groups/get\"",
                "outcome=\"ok\""
            ]
        )
        .is_some(),
        "{text}"
    );
    assert!(
        metric(&text, &["wxgroups_token_fetches_total{"]).is_some(),
        "{text}"
    );
    assert!(
        metric(&text, &["wxgroups_group_cache_total{", "result=\"hit\""]).unwrap_or(0.0) >= 2.0
    );
    assert!(metric(&text, &["wxgroups_group_cache_total{", "result=\"miss\""]).is_some());
    assert!(metric(&text, &["wxgroups_circuit_state"]).is_some());
    assert!(
        metric(
            &text,
            &["wxgroups_quota_used_calls{", "endpoint=\"groups/get\""]
        )
        .is_some()
    );
}

#[tokio::test]
async fn every_response_carries_a_request_id() {
    let app = TestApp::spawn().await;
    let a = app.get("/groups").await;
    let b = app.get("/nope").await;
    let id = |p: &crate::helpers::Page| p.headers["x-request-id"].to_str().unwrap().to_owned();
    assert_eq!(id(&a).len(), 16);
    assert_ne!(id(&a), id(&b));
}

#[tokio::test]
async fn on_a_shared_database_the_status_page_names_this_instance_and_the_one_running_jobs() {
    let app = TestApp::spawn().await;
    let page = app.get("/status").await;
    assert_eq!(page.status, 200);
    if !wxgroups::store::testing::postgres() {
        assert!(!page.has("#status-instance"), "one process: nothing to say");
        return;
    }
    let this = page.text("#status-instance");
    assert!(this.contains(&std::process::id().to_string()), "{this}");
    // The only instance takes the job lease as its worker starts.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let holder = loop {
        let holder: Option<String> =
            sqlx::query_scalar("SELECT holder FROM leases WHERE name = 'jobs:default'")
                .fetch_optional(app.store.pool())
                .await
                .unwrap();
        if let Some(h) = holder {
            break h;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "nobody took the lease"
        );
        tokio::task::yield_now().await;
    };
    assert_eq!(holder, this);
    let page = app.get("/status").await;
    assert_eq!(page.text("#status-job-instance"), this);
}

#[tokio::test]
async fn the_status_page_counts_todays_calls_against_the_caps() {
    let app = TestApp::spawn().await;
    app.get("/groups").await;
    app.post_hx("/groups/refresh", &[]).await;
    app.post_hx("/groups", &[("name", "quota")]).await;
    let page = app.get("/status").await;
    assert_eq!(page.status, 200);
    let row = |e: &str| page.text(&format!("#quota-{} td:nth-child(2)", e.replace('/', "-")));
    assert_eq!(row("groups/get"), app.calls("groups/get").to_string());
    assert_eq!(row("groups/create"), "1");
    assert_eq!(row("stable_token"), app.calls("stable_token").to_string());
    assert!(
        page.text("#quota-groups-get").contains("1,000"),
        "the cap is shown"
    );
    assert!(!page.has("#quota-banner"));
}

#[tokio::test]
async fn the_count_survives_a_restart_and_warns_from_80_percent() {
    let dir = std::env::temp_dir().join(format!("wxgroups-quota-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let _ = std::fs::remove_file(dir.join("wxgroups.db"));
    let url = wxgroups::store::testing::database_url_in(&dir);
    {
        // An earlier run of the same day used 800 of the 1,000 groups/get calls.
        let store = wxgroups::store::Store::connect(&url).await.unwrap();
        store
            .quota_add(&wxgroups::status::quota::wechat_day(), "groups/get", 799)
            .await
            .unwrap();
    }
    let app = TestApp::spawn_with(sim_config(), |mut s| {
        s.database_url = url.clone();
        s
    })
    .await;
    // Signing in loaded the groups page: one more groups/get.
    let page = app.get("/status").await;
    assert_eq!(page.text("#quota-groups-get td:nth-child(2)"), "800");
    assert!(page.has("#quota-groups-get.warn"));
    assert!(
        page.text("#quota-banner").contains("groups/get 80%"),
        "{}",
        page.text("#quota-banner")
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn when_wechat_stops_answering_the_circuit_opens_and_every_page_says_so() {
    let app = TestApp::spawn().await;
    app.get("/groups").await;
    app.sim.inject("groups/get", Fault::errcode(-1));
    for _ in 0..5 {
        let r = app.post_hx("/groups/refresh", &[]).await;
        assert_eq!(r.status, 409);
    }
    let calls = app.calls("groups/get");
    let page = app.get("/groups").await;
    assert!(page.has("#circuit-banner"), "{}", page.body);
    assert!(
        page.text("#circuit-banner").contains("-1"),
        "{}",
        page.text("#circuit-banner")
    );
    let r = app.post_hx("/groups/refresh", &[]).await;
    assert_eq!(
        app.calls("groups/get"),
        calls,
        "an open circuit fails fast, without a call"
    );
    assert_eq!(r.status, 502);
    // (/metrics has the gauge too, but it is one per process and other tests share this one.)
    let status = app.get("/status").await;
    assert!(status.has(".summary .outcome-failed"), "{}", status.body);
    // The cached list is still shown under the banner.
    assert!(page.has("#group-100"));
}
