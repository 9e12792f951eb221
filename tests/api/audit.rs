//! Every change leaves exactly the right audit rows; the page filters; the export is harmless.

use std::time::Duration;

use wxgroups::{
    simulator::Fault,
    store::{AuditEntry, AuditFilter, Outcome, Role, Store},
};

use crate::helpers::TestApp;

/// The CSV rows (without the header) for a filter query.
async fn csv_rows(app: &TestApp, query: &str) -> Vec<Vec<String>> {
    let body = app.get(&format!("/audit.csv?{query}")).await.body;
    let body = body.trim_start_matches('\u{FEFF}');
    let mut r = csv::Reader::from_reader(body.as_bytes());
    r.records()
        .map(|rec| rec.unwrap().iter().map(str::to_owned).collect())
        .collect()
}

// Columns of the export.
const OPERATOR: usize = 3;
const IP: usize = 5;
const TARGET: usize = 7;
const BEFORE: usize = 8;
const AFTER: usize = 9;
const OUTCOME: usize = 10;
const ERRCODE: usize = 11;

#[tokio::test]
async fn create_rename_and_move_each_leave_one_complete_row() {
    let app = TestApp::spawn().await;
    app.get("/groups").await;
    app.post_hx("/groups", &[("name", "审计测试")]).await;
    let rows = csv_rows(&app, "action=group_create").await;
    assert_eq!(rows.len(), 1);
    let r = &rows[0];
    assert_eq!(
        (r[OPERATOR].as_str(), r[IP].as_str(), r[OUTCOME].as_str()),
        ("admin", "127.0.0.1", "ok")
    );
    assert_eq!(r[AFTER], "审计测试");

    app.post_hx("/groups/101/rename", &[("name", "VIP 2")])
        .await;
    let rows = csv_rows(&app, "action=group_rename").await;
    assert_eq!(rows.len(), 1);
    assert_eq!(
        (
            rows[0][TARGET].as_str(),
            rows[0][BEFORE].as_str(),
            rows[0][AFTER].as_str()
        ),
        ("101", "VIP客户", "VIP 2")
    );
    assert_eq!(rows[0][OUTCOME], "ok");

    let openid = app.sim.follower_openid(9);
    let from = app.sim.group_of(&openid).unwrap();
    let to = if from == 2 { 1 } else { 2 };
    app.post_hx(
        "/members/move",
        &[("openid", &openid), ("to_groupid", &to.to_string())],
    )
    .await;
    let rows = csv_rows(&app, "action=member_move").await;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0][TARGET], openid);
    assert!(
        rows[0][BEFORE].ends_with(&format!("({from})")),
        "{:?}",
        rows[0]
    );
    assert_eq!(
        rows[0][AFTER],
        if to == 2 {
            "星标组 (2)"
        } else {
            "黑名单 (1)"
        }
    );

    // Validation refusals never reached WeChat and are not changes: no rows for them.
    app.post_hx("/groups", &[("name", "")]).await;
    assert_eq!(csv_rows(&app, "action=group_create").await.len(), 1);
    // Sign-in of the admin is there too.
    assert_eq!(csv_rows(&app, "action=signin").await.len(), 1);
}

#[tokio::test]
async fn a_refusal_is_recorded_with_wechats_errcode() {
    let app = TestApp::spawn().await;
    app.get("/groups").await;
    app.sim.inject("groups/update", Fault::errcode(45009));
    let page = app
        .post_hx("/groups/100/rename", &[("name", "quota day")])
        .await;
    assert_eq!(page.status, 409);
    let rows = csv_rows(&app, "action=group_rename").await;
    assert_eq!(rows.len(), 1);
    assert_eq!(
        (rows[0][OUTCOME].as_str(), rows[0][ERRCODE].as_str()),
        ("failed", "45009")
    );
}

#[tokio::test]
async fn a_timed_out_call_is_recorded_as_unknown() {
    let app = TestApp::spawn_with(crate::helpers::sim_config(), |mut s| {
        s.upstream_timeout = Duration::from_millis(200);
        s
    })
    .await;
    app.get("/groups").await;
    // WeChat renames, then never answers.
    app.sim.inject(
        "groups/update",
        Fault {
            hang: true,
            after_write: true,
            ..Fault::default()
        },
    );
    let page = app
        .post_hx("/groups/102/rename", &[("name", "maybe renamed")])
        .await;
    assert_eq!(page.status, 502);
    let rows = csv_rows(&app, "action=group_rename").await;
    assert_eq!(
        rows.len(),
        1,
        "one row, however many attempts the client made"
    );
    assert_eq!(rows[0][OUTCOME], "unknown");
}

#[tokio::test]
async fn a_crash_between_intent_and_outcome_leaves_an_unknown_row() {
    let dir = std::env::temp_dir().join(format!("wxgroups-audit-crash-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let _ = std::fs::remove_file(dir.join("wxgroups.db"));
    let url = wxgroups::store::testing::database_url_in(&dir);
    {
        let store = Store::connect(&url).await.unwrap();
        store
            .audit_begin(&AuditEntry {
                operator: "olga".into(),
                source: "builtin".into(),
                action: "member_move".into(),
                target: Some("oCrash000000000".into()),
                ..AuditEntry::default()
            })
            .await
            .unwrap();
        // The process dies here: no outcome is ever written.
        if wxgroups::store::testing::postgres() {
            // Several instances share PostgreSQL: a start settles only what has been pending
            // longer than any live call can be, and a call of another instance begun just now
            // stays pending.
            sqlx::query("UPDATE audit_log SET at = at - $1")
                .bind(wxgroups::store::SETTLE_PENDING_AFTER.as_micros() as i64 + 1)
                .execute(store.pool())
                .await
                .unwrap();
            store
                .audit_begin(&AuditEntry {
                    operator: "other-instance".into(),
                    source: "builtin".into(),
                    action: "member_move".into(),
                    ..AuditEntry::default()
                })
                .await
                .unwrap();
        }
    }
    let store = Store::connect(&url).await.unwrap();
    let (rows, _) = store
        .audit_page(&AuditFilter::default(), 1, 10)
        .await
        .unwrap();
    let rows: Vec<_> = rows.into_iter().filter(|r| r.operator == "olga").collect();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].outcome, Outcome::Unknown);
    if wxgroups::store::testing::postgres() {
        let (others, _) = store
            .audit_page(&AuditFilter::default(), 1, 10)
            .await
            .unwrap();
        let live = others
            .iter()
            .find(|r| r.operator == "other-instance")
            .unwrap();
        assert_eq!(
            live.outcome,
            Outcome::Pending,
            "a live instance's call is left alone"
        );
    }
    assert!(
        rows[0]
            .detail
            .as_deref()
            .unwrap_or_default()
            .contains("stopped")
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn a_formula_in_a_group_name_is_exported_harmless() {
    let app = TestApp::spawn().await;
    let name = "=HYPERLINK(\"http://x\",\"a\")";
    let page = app.post_hx("/groups", &[("name", name)]).await;
    assert_eq!(page.status, 200, "{}", page.body);
    let rows = csv_rows(&app, "action=group_create").await;
    assert_eq!(rows[0][AFTER], format!("'{name}"));
    assert_eq!(rows[0][TARGET], format!("'{name}"));
}

#[tokio::test]
async fn admins_see_everyone_and_others_only_themselves() {
    let app = TestApp::spawn().await;
    let otto = app.signed_in("otto", Role::Operator).await;
    otto.post_hx("/groups", &[("name", "otto's group")]).await;
    app.post_hx("/groups", &[("name", "admin's group")]).await;

    let mine = otto.get("/audit").await;
    assert_eq!(mine.status, 200);
    let ops: Vec<String> = mine.texts("tbody tr td:nth-child(2)");
    assert!(
        !ops.is_empty() && ops.iter().all(|o| o.starts_with("otto")),
        "{ops:?}"
    );
    // Asking for someone else's rows still shows only one's own.
    let theirs = otto.get("/audit?operator=admin").await;
    assert!(
        theirs
            .texts("tbody tr td:nth-child(2)")
            .iter()
            .all(|o| o.starts_with("otto"))
    );
    let csv = otto.get("/audit.csv?operator=admin").await.body;
    assert!(!csv.contains(",admin,"), "{csv}");

    let all = app.get("/audit?action=group_create").await;
    let ops = all.texts("tbody tr td:nth-child(2)");
    assert_eq!(ops.len(), 2, "{ops:?}");
    let only_otto = app.get("/audit?operator=otto&action=group_create").await;
    assert_eq!(only_otto.texts("tbody tr").len(), 1);
}

#[tokio::test]
async fn the_audit_page_filters_by_day_and_explains_a_bad_date() {
    let app = TestApp::spawn().await;
    app.post_hx("/groups", &[("name", "today")]).await;
    let today = jiff::Timestamp::now()
        .to_zoned(jiff::tz::offset(8).to_time_zone())
        .date()
        .to_string();
    let page = app
        .get(&format!(
            "/audit?action=group_create&from={today}&to={today}"
        ))
        .await;
    assert_eq!(page.texts("tbody tr").len(), 1);
    let page = app
        .get("/audit?action=group_create&from=2001-01-01&to=2001-01-02")
        .await;
    assert!(page.has(".empty"));
    let page = app.get("/audit?from=yesterday").await;
    assert_eq!(page.status, 422);
    assert!(page.has(".field-error"));
}

#[tokio::test]
async fn the_audit_page_pages() {
    let app = TestApp::spawn().await;
    for i in 0..55 {
        app.store
            .audit(
                &AuditEntry {
                    operator: "bulk".into(),
                    source: "builtin".into(),
                    action: "signin".into(),
                    target: Some(format!("row {i}")),
                    ..AuditEntry::default()
                },
                Outcome::Ok,
                None,
            )
            .await
            .unwrap();
    }
    let first = app.get("/audit?operator=bulk").await;
    assert_eq!(first.texts("tbody tr").len(), 50);
    assert!(first.has("a[rel=next]") && !first.has("a[rel=prev]"));
    let next = first.attr("a[rel=next]", "href").unwrap();
    let second = app.get(&next).await;
    assert_eq!(second.texts("tbody tr").len(), 5);
    assert!(second.text("tbody").contains("row 0"), "oldest last");
}
