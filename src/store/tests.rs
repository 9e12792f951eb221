//! The store per account: two handles on one database never see each other's rows; a database
//! from before accounts migrates into the account `default`; grants.

use std::time::Duration;

use crate::store::{
    AuditEntry, AuditFilter, CancelResult, ChunkDone, DEFAULT_ACCOUNT, Effect, ItemOutcome,
    JobAction, JobPlan, JobRow, JobState, NewJob, Outcome, Role, SeenFollower, Store, testing,
};

async fn two_accounts() -> (Store, Store) {
    let default = Store::connect(&testing::database_url()).await.unwrap();
    let shop = default.for_account("shop");
    (default, shop)
}

fn new_job(operator: &str) -> NewJob {
    NewJob {
        operator: operator.into(),
        source: "builtin".into(),
        ip: None,
        to_group: 100,
        origin: "list".into(),
    }
}

fn openids(prefix: &str, n: usize) -> Vec<String> {
    (0..n).map(|i| format!("{prefix}{i:012}")).collect()
}

fn entry(operator: &str, action: &str) -> AuditEntry {
    AuditEntry {
        operator: operator.into(),
        source: "builtin".into(),
        action: action.into(),
        target: Some("t".into()),
        ..AuditEntry::default()
    }
}

fn describe(_: &JobRow) -> (Outcome, String) {
    (Outcome::Ok, "done".into())
}

#[tokio::test]
async fn a_store_connects_as_the_default_account_and_hands_out_others_on_the_same_database() {
    let (default, shop) = two_accounts().await;
    assert_eq!(default.account(), DEFAULT_ACCOUNT);
    assert_eq!(default.account(), "default");
    assert_eq!(shop.account(), "shop");
    assert_eq!(shop.clone().account(), "shop");
    assert_eq!(shop.for_account("brand").account(), "brand");
    // The same pool: what one handle writes of the deployment-wide data, the other reads.
    default
        .add_operator("alice", Role::Admin, "hash")
        .await
        .unwrap();
    assert!(shop.operator_by_name("alice").await.unwrap().is_some());
}

#[tokio::test]
async fn one_openid_is_stored_for_two_accounts_in_two_groups_and_each_sees_its_own() {
    let (default, shop) = two_accounts().await;
    default
        .followers_moved(&["oSame", "oOnlyA"], 100)
        .await
        .unwrap();
    shop.followers_moved(&["oSame"], 200).await.unwrap();

    let a = default.follower_groups(&["oSame", "oOnlyA"]).await.unwrap();
    assert_eq!(a.get("oSame"), Some(&100));
    assert_eq!(a.get("oOnlyA"), Some(&100));
    let b = shop.follower_groups(&["oSame", "oOnlyA"]).await.unwrap();
    assert_eq!(b.get("oSame"), Some(&200));
    assert_eq!(
        b.get("oOnlyA"),
        None,
        "another account's follower is unknown"
    );

    assert_eq!(default.follower_count().await.unwrap(), 2);
    assert_eq!(shop.follower_count().await.unwrap(), 1);
    assert_eq!(default.group_member_count(200, "").await.unwrap(), 0);
    assert_eq!(shop.group_member_count(200, "").await.unwrap(), 1);
    assert_eq!(shop.group_member_count(100, "").await.unwrap(), 0);
    let members = shop.group_members(200, "", 1, 50).await.unwrap();
    assert_eq!(members.len(), 1);
    assert_eq!(members[0].openid, "oSame");
    assert!(shop.group_member_openids(100, "").await.unwrap().is_empty());
    assert_eq!(
        default.group_member_openids(100, "o").await.unwrap(),
        ["oOnlyA", "oSame"]
    );
    assert_eq!(
        shop.followers_confirmed(&["oOnlyA", "oSame"])
            .await
            .unwrap()
            .len(),
        1
    );

    // A deleted group of one account regroups that account's members only.
    assert_eq!(default.followers_regrouped(100, 0).await.unwrap(), 2);
    assert_eq!(shop.followers_regrouped(100, 0).await.unwrap(), 0);
    assert_eq!(shop.group_member_count(200, "").await.unwrap(), 1);
    assert_eq!(default.group_member_count(0, "").await.unwrap(), 2);
}

#[tokio::test]
async fn follower_tags_of_one_account_are_invisible_through_the_other() {
    let (default, shop) = two_accounts().await;
    default.followers_moved(&["oSame"], 1).await.unwrap();
    shop.followers_moved(&["oSame"], 2).await.unwrap();
    default.followers_tagged(&["oSame", "oA"], 7).await.unwrap();
    shop.followers_tagged(&["oSame"], 8).await.unwrap();

    assert_eq!(default.tag_member_count(7, "").await.unwrap(), 2);
    assert_eq!(shop.tag_member_count(7, "").await.unwrap(), 0);
    assert_eq!(shop.tag_member_count(8, "").await.unwrap(), 1);
    assert!(shop.tag_member_openids(7, "").await.unwrap().is_empty());
    let lists = shop.follower_tag_lists(&["oSame", "oA"]).await.unwrap();
    assert_eq!(lists.len(), 1);
    assert_eq!(lists["oSame"], [8]);
    // A tag's member list joins the follower of its own account (group 2, not 1).
    let members = shop.tag_members(8, "", 1, 50).await.unwrap();
    assert_eq!(members.len(), 1);
    assert_eq!(members[0].group_id, 2);

    // Untagging and dropping a tag in one account leave the other's alone.
    shop.followers_untagged(&["oSame"], 7).await.unwrap();
    assert_eq!(default.tag_member_count(7, "").await.unwrap(), 2);
    assert_eq!(shop.tag_dropped(7).await.unwrap(), 0);
    assert_eq!(default.tag_member_count(7, "").await.unwrap(), 2);
    assert_eq!(default.tag_dropped(7).await.unwrap(), 2);
    assert_eq!(shop.tag_member_count(8, "").await.unwrap(), 1);
}

#[tokio::test]
async fn each_account_runs_its_own_sync_and_cannot_touch_the_others() {
    let (default, shop) = two_accounts().await;
    let (a, started_a) = default.sync_start("alice").await.unwrap();
    let (b, started_b) = shop.sync_start("bob").await.unwrap();
    assert!(started_a && started_b, "one sync per account, side by side");
    assert_ne!(a.id, b.id);
    assert_eq!(default.sync_running().await.unwrap().unwrap().id, a.id);
    assert_eq!(shop.sync_running().await.unwrap().unwrap().id, b.id);
    assert_eq!(shop.sync_latest().await.unwrap().unwrap().id, b.id);

    let page = |openid: &str, group: u32, tags: Vec<u32>| SeenFollower {
        openid: openid.into(),
        group_id: Some(group),
        tags,
    };
    default
        .sync_store_page(
            a.id,
            &[page("oSame", 1, vec![5]), page("oA", 1, vec![])],
            None,
            2,
        )
        .await
        .unwrap();
    shop.sync_store_page(b.id, &[page("oSame", 3, vec![6])], None, 1)
        .await
        .unwrap();
    // A page stored through the other account's handle stores nothing.
    shop.sync_store_page(a.id, &[page("oIntruder", 9, vec![9])], Some("x"), 9)
        .await
        .unwrap();
    assert_eq!(default.follower_count().await.unwrap(), 2);
    assert_eq!(shop.follower_count().await.unwrap(), 1);
    assert_eq!(shop.follower_groups(&["oIntruder"]).await.unwrap().len(), 0);
    let a_now = default.sync_running().await.unwrap().unwrap();
    assert_eq!((a_now.pages, a_now.seen, a_now.next_openid), (1, 2, None));
    assert_eq!(
        shop.follower_tag_lists(&["oSame"]).await.unwrap()["oSame"],
        [6]
    );
    assert_eq!(
        default.follower_tag_lists(&["oSame"]).await.unwrap()["oSame"],
        [5]
    );

    // Finishing another account's sync does nothing; failing one neither.
    assert_eq!(shop.sync_finish(a.id).await.unwrap(), 0);
    shop.sync_fail(a.id, "no").await.unwrap();
    shop.sync_set_audit(a.id, 42).await.unwrap();
    let a_now = default.sync_running().await.unwrap().unwrap();
    assert_eq!((a_now.state.as_str(), a_now.audit_id), ("running", None));

    // A second pass of `default` that sees only oSame drops oA, and nothing of `shop`.
    assert_eq!(default.sync_finish(a.id).await.unwrap(), 0);
    let (a2, _) = default.sync_start("alice").await.unwrap();
    tokio::time::sleep(Duration::from_millis(2)).await;
    default
        .sync_store_page(a2.id, &[page("oSame", 1, vec![5])], None, 1)
        .await
        .unwrap();
    assert_eq!(default.sync_finish(a2.id).await.unwrap(), 1);
    assert_eq!(default.follower_count().await.unwrap(), 1);
    assert_eq!(shop.follower_count().await.unwrap(), 1);
    assert_eq!(default.sync_last_done().await.unwrap().unwrap().id, a2.id);
    assert!(shop.sync_last_done().await.unwrap().is_none());
    assert_eq!(shop.sync_running().await.unwrap().unwrap().id, b.id);
}

/// `default`'s job `a` (120 OpenIDs, queued) and `shop`'s job `b` (10, queued), and `a`'s list.
async fn a_job_in_each_account() -> (Store, Store, i64, i64, Vec<String>) {
    let (default, shop) = two_accounts().await;
    let list = openids("oJob", 120);
    let a = default
        .job_create_draft(&new_job("alice"), Some("A"), &list)
        .await
        .unwrap();

    let audit = default
        .audit_begin(&entry("alice", "batch_move"))
        .await
        .unwrap();
    assert!(default.job_confirm(a, audit).await.unwrap());
    let b = shop
        .job_create(
            &new_job("bob"),
            &JobPlan::new(JobAction::Tag, Some("B")),
            &openids("oShop", 10),
        )
        .await
        .unwrap();
    assert!(shop.job_confirm(b, 0).await.unwrap());

    (default, shop, a, b, list)
}

#[tokio::test]
async fn a_job_of_one_account_is_through_the_other_as_if_it_did_not_exist() {
    let (default, shop, a, b, _) = a_job_in_each_account().await;
    assert!(shop.job(a).await.unwrap().is_none());
    assert!(shop.job_items(a).await.unwrap().is_empty());
    assert!(shop.job_unfinished_chunks(a).await.unwrap().is_empty());
    assert!(shop.job_open_items(a, 0, 10).await.unwrap().is_empty());
    assert!(shop.job_chunk_sends(a).await.unwrap().is_empty());
    // A draft of default's cannot be confirmed or discarded through shop (default can).
    let draft = default
        .job_create_draft(&new_job("alice"), Some("A"), &openids("oDraft", 5))
        .await
        .unwrap();
    assert!(!shop.job_confirm(draft, 1).await.unwrap());
    assert!(!shop.job_discard(draft).await.unwrap());
    assert!(default.job_discard(draft).await.unwrap());
    assert!(
        shop.job_cancel_requested(a).await.is_err(),
        "as a job that does not exist"
    );
    assert!(shop.job_list_next(a).await.is_err());
    assert!(default.job(a).await.unwrap().is_some());

    // Each account's worker picks its own job only.
    assert_eq!(default.job_next().await.unwrap().unwrap().id, a);
    assert_eq!(shop.job_next().await.unwrap().unwrap().id, b);
    assert_eq!(shop.job_next().await.unwrap().unwrap().account, "shop");
    assert_eq!(
        shop.jobs_ahead(b).await.unwrap(),
        0,
        "default's job is not ahead of it"
    );
    let recent: Vec<i64> = shop
        .jobs_recent(10)
        .await
        .unwrap()
        .iter()
        .map(|j| j.id)
        .collect();
    assert_eq!(recent, [b]);
}

#[tokio::test]
async fn writes_through_the_other_accounts_handle_change_nothing() {
    let (default, shop, a, _, list) = a_job_in_each_account().await;
    // Writes through the wrong handle change nothing.
    shop.job_start(a).await.unwrap();
    assert_eq!(
        default.job(a).await.unwrap().unwrap().state,
        JobState::Queued
    );
    default.job_start(a).await.unwrap();
    shop.job_chunk_sending(a, 0, 0).await.unwrap();
    shop.job_call_made(a).await.unwrap();
    let outcomes: Vec<(i64, ItemOutcome, Option<i64>)> =
        (0..50).map(|p| (p, ItemOutcome::Moved, None)).collect();
    let changed: Vec<&str> = list[..50].iter().map(String::as_str).collect();
    let done = ChunkDone {
        outcomes: &outcomes,
        changed: &changed,
        effect: Effect::Moved(100),
        step: 0,
        next: None,
    };
    assert!(shop.job_chunk_done(a, 0, done).await.unwrap().is_empty());
    let job = default.job(a).await.unwrap().unwrap();
    assert_eq!((job.calls, job.moved), (0, 0));
    assert_eq!(shop.follower_count().await.unwrap(), 0);
    assert_eq!(
        shop.job_request_cancel(a, &describe).await.unwrap(),
        CancelResult::NotFound
    );
    assert!(
        shop.job_finish(a, JobState::Failed, None, None, &describe)
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(
        default.job(a).await.unwrap().unwrap().state,
        JobState::Running
    );

    // Through its own handle the job runs, and its followers land in its account.
    default.job_chunk_sending(a, 0, 0).await.unwrap();
    default.job_chunk_done(a, 0, done).await.unwrap();
    assert_eq!(default.follower_count().await.unwrap(), 50);
    assert_eq!(shop.follower_count().await.unwrap(), 0);
    let finished = default
        .job_finish(a, JobState::Done, None, None, &describe)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((finished.moved, finished.calls), (50, 1));
    // Its audit row was closed in its own account's log.
    let (rows, _) = default
        .audit_page(&AuditFilter::default(), 1, 10)
        .await
        .unwrap();
    assert_eq!(rows[0].outcome, Outcome::Ok);
    assert_eq!(
        shop.job_items_with(a, ItemOutcome::Failed, 10)
            .await
            .unwrap()
            .len(),
        0
    );
    assert_eq!(
        default
            .job_items_with(a, ItemOutcome::Failed, 100)
            .await
            .unwrap()
            .len(),
        70
    );
    assert_eq!(shop.job_between_count(a).await.unwrap(), 0);
    assert!(shop.job_items_between(a, 10).await.unwrap().is_empty());
}

#[tokio::test]
async fn a_copy_and_a_listing_job_are_scoped_like_any_other() {
    let (default, shop) = two_accounts().await;
    let group = crate::store::CopyGroup {
        group_id: 101,
        name: "VIP".into(),
        members: 2,
        listed_tag: None,
        tag_id: None,
        created: false,
        skipped: None,
        errcode: None,
        error: None,
    };
    let id = default
        .job_create_copy(&new_job("alice"), &[group], &[openids("oCopy", 2)])
        .await
        .unwrap();
    shop.job_copy_tag(id, 101, 7, true).await.unwrap();
    shop.job_copy_failed(id, 101, Some(1), "no").await.unwrap();
    assert!(shop.job_copy_groups(id).await.unwrap().is_empty());
    assert!(shop.job_chunk_groups(id).await.unwrap().is_empty());
    let groups = default.job_copy_groups(id).await.unwrap();
    assert_eq!((groups[0].tag_id, groups[0].error.as_deref()), (None, None));
    assert_eq!(default.job_chunk_groups(id).await.unwrap(), [(0, 101)]);

    let mut plan = JobPlan::new(JobAction::Untag, Some("T"));
    plan.listing = true;
    let listing = default
        .job_create(&new_job("alice"), &plan, &[])
        .await
        .unwrap();
    shop.job_list_page(listing, &openids("oList", 3), Some("next"))
        .await
        .unwrap();
    assert_eq!(default.job(listing).await.unwrap().unwrap().total, 0);
    default
        .job_list_page(listing, &openids("oList", 3), Some("next"))
        .await
        .unwrap();
    assert_eq!(default.job(listing).await.unwrap().unwrap().total, 3);
    assert_eq!(
        default.job_list_next(listing).await.unwrap().as_deref(),
        Some("next")
    );
}

#[tokio::test]
async fn drafts_are_purged_per_account() {
    let (default, shop) = two_accounts().await;
    let a = default
        .job_create_draft(&new_job("a"), None, &openids("o", 1))
        .await
        .unwrap();
    let b = shop
        .job_create_draft(&new_job("b"), None, &openids("o", 1))
        .await
        .unwrap();
    let later = crate::store::now_us() + 1;
    assert_eq!(shop.job_drafts_purge(later).await.unwrap(), 1);
    assert!(default.job(a).await.unwrap().is_some());
    assert!(shop.job(b).await.unwrap().is_none());
}

#[tokio::test]
async fn orphaned_jobs_are_the_queued_and_running_ones_of_accounts_no_longer_configured() {
    let (default, shop) = two_accounts().await;
    let gone = default.for_account("gone");
    let mut ids = Vec::new();
    for store in [&default, &shop, &gone] {
        let id = store
            .job_create_draft(&new_job("x"), None, &openids("o", 1))
            .await
            .unwrap();
        assert!(store.job_confirm(id, 0).await.unwrap());
        ids.push(id);
    }
    // A draft and a finished job are not waiting for anyone.
    gone.job_create_draft(&new_job("x"), None, &openids("o", 1))
        .await
        .unwrap();
    let finished = shop
        .job_create_draft(&new_job("x"), None, &openids("o", 1))
        .await
        .unwrap();
    shop.job_confirm(finished, 0).await.unwrap();
    shop.job_request_cancel(finished, &describe).await.unwrap();

    assert_eq!(
        shop.job_accounts().await.unwrap(),
        ["default", "gone", "shop"]
    );
    let orphaned = default.jobs_orphaned(&["default", "shop"]).await.unwrap();
    assert_eq!(orphaned.len(), 1);
    assert_eq!(
        (orphaned[0].id, orphaned[0].account.as_str()),
        (ids[2], "gone")
    );
    assert_eq!(default.jobs_orphaned(&[]).await.unwrap().len(), 3);
    assert!(
        default
            .jobs_orphaned(&["default", "shop", "gone"])
            .await
            .unwrap()
            .is_empty()
    );
    // Not run by anyone else, not lost: its own account's handle still has it queued.
    assert_eq!(
        gone.job(ids[2]).await.unwrap().unwrap().state,
        JobState::Queued
    );
}

#[tokio::test]
async fn audit_rows_belong_to_the_account_they_were_written_for() {
    let (default, shop) = two_accounts().await;
    let a = default
        .audit(&entry("alice", "group_create"), Outcome::Ok, None)
        .await
        .unwrap();
    let b = shop
        .audit_begin(&entry("bob", "group_rename"))
        .await
        .unwrap();

    let (rows, more) = shop
        .audit_page(&AuditFilter::default(), 1, 10)
        .await
        .unwrap();
    assert!(!more);
    assert_eq!(rows.len(), 1);
    assert_eq!((rows[0].id, rows[0].operator.as_str()), (b, "bob"));
    assert_eq!(
        default
            .audit_all(&AuditFilter::default())
            .await
            .unwrap()
            .len(),
        1
    );
    assert_eq!(shop.audit_operators().await.unwrap(), ["bob"]);
    assert_eq!(default.audit_operators().await.unwrap(), ["alice"]);
    let by_alice = AuditFilter {
        operator: Some("alice".into()),
        ..AuditFilter::default()
    };
    assert!(shop.audit_all(&by_alice).await.unwrap().is_empty());

    // Finishing another account's row changes nothing.
    default
        .audit_finish(b, Outcome::Failed, Some(1), None)
        .await
        .unwrap();
    let (rows, _) = shop
        .audit_page(&AuditFilter::default(), 1, 10)
        .await
        .unwrap();
    assert_eq!(rows[0].outcome, Outcome::Pending);
    shop.audit_finish(a, Outcome::Failed, Some(1), None)
        .await
        .unwrap();
    let (rows, _) = default
        .audit_page(&AuditFilter::default(), 1, 10)
        .await
        .unwrap();
    assert_eq!(rows[0].outcome, Outcome::Ok);
}

#[tokio::test]
async fn the_start_settles_every_accounts_interrupted_rows() {
    let (default, shop) = two_accounts().await;
    default
        .audit_begin(&entry("alice", "member_move"))
        .await
        .unwrap();
    shop.audit_begin(&entry("bob", "member_move"))
        .await
        .unwrap();
    if testing::postgres() {
        // Shared by instances: only what no live instance can still be doing is settled, so
        // these two begun just now stay pending until they are that old.
        assert_eq!(default.settle_interrupted().await.unwrap(), 0);
        sqlx::query("UPDATE audit_log SET at = at - $1")
            .bind(crate::store::SETTLE_PENDING_AFTER.as_micros() as i64 + 1)
            .execute(default.pool())
            .await
            .unwrap();
    }
    // What `connect` runs, on the handle it has: the default account's.
    assert_eq!(default.settle_interrupted().await.unwrap(), 2);
    for store in [&default, &shop] {
        let (rows, _) = store
            .audit_page(&AuditFilter::default(), 1, 10)
            .await
            .unwrap();
        assert_eq!(rows[0].outcome, Outcome::Unknown);
    }
}

#[tokio::test]
async fn each_account_has_its_own_quota_meter() {
    let (default, shop) = two_accounts().await;
    default
        .quota_add("2025-01-01", "groups/get", 3)
        .await
        .unwrap();
    default
        .quota_add("2025-01-01", "groups/get", 1)
        .await
        .unwrap();
    shop.quota_add("2025-01-01", "groups/get", 10)
        .await
        .unwrap();
    shop.quota_add("2025-01-01", "user/get", 1).await.unwrap();
    assert_eq!(
        default.quota_day("2025-01-01").await.unwrap(),
        [("groups/get".to_owned(), 4)]
    );
    assert_eq!(
        shop.quota_day("2025-01-01").await.unwrap(),
        [("groups/get".to_owned(), 10), ("user/get".to_owned(), 1)]
    );
    assert!(
        shop.for_account("brand")
            .quota_day("2025-01-01")
            .await
            .unwrap()
            .is_empty()
    );
}

/// Migrations 0001–0007 only: a database as the single-account releases left it.
#[derive(Debug)]
struct BeforeAccounts;

impl<'s> sqlx::migrate::MigrationSource<'s> for BeforeAccounts {
    fn resolve(
        self,
    ) -> futures_util::future::BoxFuture<
        's,
        Result<Vec<sqlx::migrate::Migration>, sqlx::error::BoxDynError>,
    > {
        Box::pin(async {
            Ok(sqlx::migrate!("src/store/migrations")
                .iter()
                .filter(|m| m.version < 8)
                .cloned()
                .collect())
        })
    }
}

/// SQLite's migration 0008 and its defaults: PostgreSQL's schema starts with accounts, so
/// there these tests have nothing to test (and say so).
fn sqlite_migrations_only() -> bool {
    let skip = testing::postgres();
    if skip {
        eprintln!("SQLite's migrations only: skipped on PostgreSQL");
    }
    skip
}

/// A SQLite database at `url` migrated up to 0007 (before accounts), with a row in every
/// per-account table.
async fn database_before_accounts(url: &str) {
    let options = <sqlx::sqlite::SqliteConnectOptions as std::str::FromStr>::from_str(url)
        .unwrap()
        .create_if_missing(true);
    let pool = sqlx::SqlitePool::connect_with(options).await.unwrap();
    let old = sqlx::migrate::Migrator::new(BeforeAccounts).await.unwrap();
    assert_eq!(old.iter().count(), 7);
    old.run(&pool).await.unwrap();
    for sql in [
        "INSERT INTO followers (openid, group_id, confirmed_at, sync_id) VALUES ('oOld', 100, 1, 1)",
        "INSERT INTO follower_tags (tag_id, openid) VALUES (7, 'oOld')",
        "INSERT INTO follower_syncs (id, state, operator, started_at) VALUES (1, 'running', 'alice', 1)",
        "INSERT INTO quota_usage (day, endpoint, calls) VALUES ('2025-01-01', 'groups/get', 5)",
        "INSERT INTO audit_log (at, operator, source, action, outcome) VALUES (1, 'alice', 'builtin', 'group_create', 'pending')",
        "INSERT INTO jobs (id, state, operator, source, to_group, origin, total, created_at) VALUES (1, 'queued', 'alice', 'builtin', 100, 'list', 1, 1)",
        "INSERT INTO job_chunks (job_id, seq, state) VALUES (1, 0, 'pending')",
        "INSERT INTO job_items (job_id, pos, seq, openid) VALUES (1, 0, 0, 'oOld')",
        "INSERT INTO operators (name, role, password_hash, sessions_valid_after, created_at, updated_at) VALUES ('alice', 'admin', 'h', 1, 1, 1)",
    ] {
        sqlx::query(sql).execute(&pool).await.unwrap();
    }
    pool.close().await;
}

#[tokio::test]
async fn a_database_from_before_accounts_migrates_and_its_rows_belong_to_default() {
    if sqlite_migrations_only() {
        return;
    }
    let dir = std::env::temp_dir().join(format!("wxgroups-store-accounts-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("old.db");
    let _ = std::fs::remove_file(&path);
    let url = format!("sqlite://{}", path.display());
    database_before_accounts(&url).await;

    let store = Store::connect(&url).await.unwrap();
    let shop = store.for_account("shop");
    assert_eq!(store.follower_groups(&["oOld"]).await.unwrap()["oOld"], 100);
    assert_eq!(
        store.follower_tag_lists(&["oOld"]).await.unwrap()["oOld"],
        [7]
    );
    assert_eq!(store.group_member_count(100, "").await.unwrap(), 1);
    assert_eq!(store.sync_running().await.unwrap().unwrap().id, 1);
    assert_eq!(store.quota_day("2025-01-01").await.unwrap()[0].1, 5);
    let (rows, _) = store
        .audit_page(&AuditFilter::default(), 1, 10)
        .await
        .unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(
        rows[0].outcome,
        Outcome::Unknown,
        "settled at start, as before"
    );
    let job = store.job_next().await.unwrap().unwrap();
    assert_eq!((job.id, job.account.as_str()), (1, "default"));
    assert_eq!(store.job_items(1).await.unwrap()[0].openid, "oOld");
    let alice = store.operator_by_name("alice").await.unwrap().unwrap();
    assert!(alice.grants.is_empty());
    assert_eq!(alice.role_on("shop"), Some(Role::Admin));

    assert!(shop.follower_groups(&["oOld"]).await.unwrap().is_empty());
    assert_eq!(shop.tag_member_count(7, "").await.unwrap(), 0);
    assert!(shop.sync_running().await.unwrap().is_none());
    assert!(shop.quota_day("2025-01-01").await.unwrap().is_empty());
    assert!(
        shop.audit_page(&AuditFilter::default(), 1, 10)
            .await
            .unwrap()
            .0
            .is_empty()
    );
    assert!(shop.job_next().await.unwrap().is_none());
    assert!(shop.job_items(1).await.unwrap().is_empty());
    // And the rebuilt tables take writes of both accounts for the same OpenID.
    shop.followers_moved(&["oOld"], 200).await.unwrap();
    shop.followers_tagged(&["oOld"], 7).await.unwrap();
    assert_eq!(store.follower_groups(&["oOld"]).await.unwrap()["oOld"], 100);
    assert_eq!(store.tag_member_count(7, "").await.unwrap(), 1);
    assert_eq!(shop.tag_member_count(7, "").await.unwrap(), 1);
    drop((store, shop));
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn the_tables_added_to_keep_old_rows_in_default_and_the_rebuilt_ones_insist_on_an_account() {
    if sqlite_migrations_only() {
        return;
    }
    let store = Store::connect(&testing::database_url()).await.unwrap();
    let pool = store.pool();
    sqlx::query("INSERT INTO jobs (state, operator, source, to_group, origin, total, created_at) VALUES ('queued', 'a', 'cli', 1, 'list', 0, 1)")
        .execute(pool)
        .await
        .unwrap();
    sqlx::query("INSERT INTO follower_syncs (state, operator, started_at) VALUES ('done', 'a', 1)")
        .execute(pool)
        .await
        .unwrap();
    sqlx::query("INSERT INTO audit_log (at, operator, source, action, outcome) VALUES (1, 'a', 'cli', 'x', 'ok')")
        .execute(pool)
        .await
        .unwrap();
    for table in ["jobs", "follower_syncs", "audit_log"] {
        let (account,): (String,) = sqlx::query_as(&format!("SELECT account FROM {table}"))
            .fetch_one(pool)
            .await
            .unwrap();
        assert_eq!(account, "default", "{table}");
    }
    for sql in [
        "INSERT INTO followers (openid, group_id, confirmed_at) VALUES ('o', 1, 1)",
        "INSERT INTO follower_tags (tag_id, openid) VALUES (1, 'o')",
        "INSERT INTO quota_usage (day, endpoint, calls) VALUES ('d', 'e', 1)",
    ] {
        assert!(sqlx::query(sql).execute(pool).await.is_err(), "{sql}");
    }
}

#[tokio::test]
async fn a_grant_gives_a_role_on_one_account_and_none_on_the_others() {
    let (default, shop) = two_accounts().await;
    let id = default
        .add_operator("alice", Role::Admin, "h")
        .await
        .unwrap()
        .unwrap();
    let alice = default.operator_by_id(id).await.unwrap().unwrap();
    assert_eq!(alice.role_on("default"), Some(Role::Admin));
    assert_eq!(alice.role_on("shop"), Some(Role::Admin));

    assert!(!default.grant("nobody", "shop", Role::Viewer).await.unwrap());
    assert!(default.grant("alice", "shop", Role::Viewer).await.unwrap());
    // The name as the operator table compares it (without case).
    assert!(shop.grant("ALICE", "brand", Role::Operator).await.unwrap());
    assert_eq!(
        default.grants_of(id).await.unwrap(),
        [
            ("brand".to_owned(), Role::Operator),
            ("shop".to_owned(), Role::Viewer)
        ]
    );
    let alice = default.operator_by_name("alice").await.unwrap().unwrap();
    assert_eq!(alice.role_on("shop"), Some(Role::Viewer));
    assert_eq!(alice.role_on("brand"), Some(Role::Operator));
    assert_eq!(
        alice.role_on("default"),
        None,
        "granted elsewhere: nothing here"
    );

    // A second grant on the same account replaces the first.
    assert!(default.grant("alice", "shop", Role::Admin).await.unwrap());
    let ops = default.operators().await.unwrap();
    assert_eq!(
        ops[0].grants,
        [
            ("brand".to_owned(), Role::Operator),
            ("shop".to_owned(), Role::Admin)
        ]
    );

    assert!(default.revoke("alice", "shop").await.unwrap());
    assert!(!default.revoke("alice", "shop").await.unwrap());
    assert!(!default.revoke("nobody", "brand").await.unwrap());
    assert!(default.revoke("alice", "brand").await.unwrap());
    // No grants left: the own role on every account again.
    let alice = default.operator_by_id(id).await.unwrap().unwrap();
    assert!(alice.grants.is_empty());
    assert_eq!(alice.role_on("shop"), Some(Role::Admin));
}

#[tokio::test]
async fn a_grant_or_a_revoke_is_seen_at_once_by_the_cached_record_of_every_handle() {
    let (default, shop) = two_accounts().await;
    let id = default
        .add_operator("alice", Role::Operator, "h")
        .await
        .unwrap()
        .unwrap();
    let cached = shop.operator_by_id_cached(id).await.unwrap().unwrap();
    assert!(cached.grants.is_empty());

    // Through one handle, seen through the other: they share the cache.
    default.grant("alice", "shop", Role::Viewer).await.unwrap();
    let cached = shop.operator_by_id_cached(id).await.unwrap().unwrap();
    assert_eq!(cached.role_on("shop"), Some(Role::Viewer));
    assert_eq!(cached.role_on("default"), None);

    shop.revoke("alice", "shop").await.unwrap();
    let cached = default.operator_by_id_cached(id).await.unwrap().unwrap();
    assert_eq!(cached.role_on("default"), Some(Role::Operator));

    // A grant written by another process (the CLI) is seen within the cache's lifetime.
    sqlx::query(
        "INSERT INTO operator_grants (operator_id, account, role) VALUES ($1, 'shop', 'admin')",
    )
    .bind(id)
    .execute(default.pool())
    .await
    .unwrap();
    assert!(
        default
            .operator_by_id_cached(id)
            .await
            .unwrap()
            .unwrap()
            .grants
            .is_empty()
    );
    tokio::time::sleep(super::operators::OperatorCache::TTL + Duration::from_millis(50)).await;
    let cached = default.operator_by_id_cached(id).await.unwrap().unwrap();
    assert_eq!(cached.role_on("shop"), Some(Role::Admin));
}
