//! Three wxgroups processes on one PostgreSQL, as a deployment runs them: the same settings
//! (the same `WXGROUPS_SECRET_KEY_FILE` among them), one simulated Official Account, nginx in
//! front where a test needs it. What one instance does, the others must see; what the account
//! pays WeChat for (`groups/get`, access_tokens) it must pay once; a worker killed with `kill -9`
//! or a database restarted mid-job must leave every OpenID moved exactly once.
//!
//! Each test prints what it measured (`eprintln!`; run with `--nocapture` to see it).

use std::{
    collections::HashMap,
    sync::{
        Arc,
        atomic::{AtomicU32, AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use sqlx::{Connection, PgConnection};
use tokio::sync::Notify;
use wxgroups::{
    simulator::{Fault, SimConfig, Simulator, spawn_local},
    store::Role,
};

use crate::harness::{
    Balancer, Browser, Env, Instance, Page, PgServer, Scratch, Tool, add_operator, http_client,
    lacks,
};

const APPID: &str = "wxdeploy00000001";
const SECRET: &str = "deployment-secret-never-stored-in-clear";
const OPERATOR: &str = "lead";
const PASSWORD: &str = "correct horse battery staple";
/// The machine's own PostgreSQL, for the tests that never stop it: a fresh database each.
const MACHINE_PG: &str = "postgres://postgres@127.0.0.1:5432";
/// The one account of a single-account deployment: its leases are `jobs:default`, `sync:default`.
const JOBS_LEASE: &str = "jobs:default";

/// The deployment's database.
enum Db {
    /// A database of its own on the machine's server, dropped at the end.
    Machine { name: String },
    /// A server of the test's own, which the test may stop and start.
    Own(PgServer),
}

impl Db {
    /// A fresh database on the machine's server if it answers, else on a server of our own;
    /// `None` (the test is skipped, and says so) if there is neither.
    async fn fresh() -> Option<Db> {
        if PgConnection::connect(&format!("{MACHINE_PG}/postgres"))
            .await
            .is_ok()
        {
            static NEXT: AtomicU32 = AtomicU32::new(0);
            let name = format!(
                "wxgroups_cluster_{}_{}_{:08x}",
                std::process::id(),
                NEXT.fetch_add(1, Ordering::Relaxed),
                rand::random::<u32>()
            );
            return Some(Db::Machine { name });
        }
        Db::own()
    }

    /// A server of the test's own, started.
    fn own() -> Option<Db> {
        if lacks(Tool::Postgres) {
            return None;
        }
        Some(Db::Own(tokio::task::block_in_place(PgServer::start)))
    }

    /// The URL the instances use (the app creates the database on first connect).
    fn url(&self) -> String {
        match self {
            Db::Machine { name } => format!("{MACHINE_PG}/{name}"),
            Db::Own(pg) => pg.url("wxgroups"),
        }
    }

    fn server(&self) -> &PgServer {
        match self {
            Db::Own(pg) => pg,
            Db::Machine { .. } => panic!("the machine's PostgreSQL is not ours to stop"),
        }
    }
}

impl Drop for Db {
    /// Drops a database on the machine's server (FORCE: a killed instance's connections may
    /// linger a moment). On a thread of its own: a runtime cannot be started in the test's.
    fn drop(&mut self) {
        let Db::Machine { name } = self else { return };
        let sql = format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)");
        let dropped = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime");
            rt.block_on(async {
                let mut admin = PgConnection::connect(&format!("{MACHINE_PG}/postgres")).await?;
                sqlx::query(&sql).execute(&mut admin).await.map(|_| ())
            })
        })
        .join();
        if !matches!(dropped, Ok(Ok(()))) {
            eprintln!("could not drop the test database: {dropped:?}");
        }
    }
}

/// What a test asks of its deployment.
struct Setup {
    followers: u32,
    /// `WXGROUPS_*` settings beyond the common ones (key without the prefix, value).
    settings: Vec<(&'static str, String)>,
    /// A PostgreSQL server of the test's own, to stop and start.
    own_server: bool,
}

impl Setup {
    fn followers(followers: u32) -> Setup {
        Setup {
            followers,
            settings: Vec::new(),
            own_server: false,
        }
    }

    fn with(mut self, key: &'static str, value: impl Into<String>) -> Setup {
        self.settings.push((key, value.into()));
        self
    }

    fn on_own_server(mut self) -> Setup {
        self.own_server = true;
        self
    }

    /// A job that takes some seconds and can be cut off: a lease that runs out in 3 s, a
    /// fast pace (a batch call every 10 ms).
    fn for_jobs(followers: u32) -> Setup {
        Setup::followers(followers)
            .with("LEASE_SECS", "3")
            .with("BATCH_PER_MINUTE", "6000")
    }
}

/// Three ready instances of one deployment, its simulator and its database.
struct Deployment {
    sim: Simulator,
    sim_url: String,
    instances: Vec<Instance>,
    // Dropped after the instances (fields drop in order): nothing uses them once they are gone.
    _key: Scratch,
    db: Db,
}

impl Deployment {
    /// Starts the simulator, adds the operator (which creates and migrates the database), then
    /// three instances, and waits until all are ready. `None` when the machine lacks PostgreSQL.
    async fn start(setup: Setup) -> Option<Deployment> {
        let db = if setup.own_server {
            Db::own()?
        } else {
            Db::fresh().await?
        };
        let sim = Simulator::new(SimConfig {
            appid: APPID.into(),
            secret: SECRET.into(),
            followers: setup.followers,
            ..SimConfig::default()
        });
        let sim_url = spawn_local(&sim).await.expect("the simulator listens");
        let key = Scratch::new("key");
        let key_file = key.path().join("secret.key");
        std::fs::write(&key_file, random_key()).expect("our own folder");
        let mut env = Env::new()
            .account(APPID, SECRET, &sim_url)
            .database(db.url())
            .set("SECRET_KEY_FILE", key_file.display().to_string())
            .set("TRUSTED_PROXIES", "127.0.0.1");
        for (k, v) in &setup.settings {
            env = env.set(k, v.clone());
        }
        add_operator(&env, OPERATOR, Role::Admin, PASSWORD);
        let mut instances: Vec<Instance> = (1..=3)
            .map(|n| Instance::start(&format!("i{n}"), &env))
            .collect();
        // Started together above; the waits overlap with the other processes' start-up.
        for instance in &mut instances {
            instance.wait_ready().await;
        }
        Some(Deployment {
            sim,
            sim_url,
            instances,
            _key: key,
            db,
        })
    }

    /// A browser with no cookies on instance `n` (0-based).
    fn browser(&self, n: usize) -> Browser {
        Browser::new(self.instances[n].url(""))
    }

    /// A browser signed in as the operator through instance `n`.
    async fn signed_in(&self, n: usize) -> Browser {
        let browser = self.browser(n);
        let page = browser.sign_in(OPERATOR, PASSWORD).await;
        assert_eq!(
            page.status,
            303,
            "signing in through {}: {}\n{}",
            self.instances[n].name(),
            page.body,
            self.instances[n].log_tail(20)
        );
        browser
    }

    fn groups_gets(&self) -> u64 {
        self.sim.calls("/cgi-bin/groups/get")
    }

    async fn db(&self) -> PgConnection {
        PgConnection::connect(&self.db.url())
            .await
            .expect("the deployment's database answers")
    }

    /// Which instance holds the lease `name` now (not run out), if any.
    async fn lease_holder(&self, name: &str) -> Option<usize> {
        let holder: Option<String> = sqlx::query_scalar(
            "SELECT holder FROM leases WHERE name = $1
             AND expires_at > (extract(epoch FROM clock_timestamp()) * 1e6)::bigint",
        )
        .bind(name)
        .fetch_optional(&mut self.db().await)
        .await
        .expect("the leases table");
        // An instance id is `host-pid-random`.
        let holder = holder?;
        let found = self
            .instances
            .iter()
            .position(|i| holder.contains(&format!("-{}-", i.pid())));
        assert!(found.is_some(), "{holder:?} is none of our instances");
        found
    }

    /// Every instance's log tail, for a failing assertion.
    fn logs(&self) -> String {
        self.instances
            .iter()
            .map(|i| format!("--- {}:\n{}", i.name(), i.log_tail(25)))
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// The groups as WeChat (the simulator) lists them, `id → name`, asked with the token the
    /// instances use. Costs one `groups/get`, so only once a test has counted its own.
    async fn wechat_groups(&self) -> HashMap<u64, String> {
        let http = http_client(None);
        for token in self.sim.issued_tokens() {
            let url = format!("{}/cgi-bin/groups/get?access_token={token}", self.sim_url);
            let answer: serde_json::Value = http
                .get(url)
                .send()
                .await
                .expect("the simulator answers")
                .json()
                .await
                .expect("JSON");
            if let Some(groups) = answer["groups"].as_array() {
                return groups
                    .iter()
                    .map(|g| {
                        let id = g["id"].as_u64().expect("an id");
                        (id, g["name"].as_str().expect("a name").to_owned())
                    })
                    .collect();
            }
        }
        panic!("no token the simulator handed out is still valid")
    }
}

/// 48 random letters and digits: the deployment's secret key.
fn random_key() -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    (0..48)
        .map(|_| ALPHABET[rand::random_range(0..ALPHABET.len())] as char)
        .collect()
}

/// Polls `check` until it answers `Some` or `within` has passed (then panics with `what`).
/// Answers the value and how long it took.
async fn poll<T, F, Fut>(within: Duration, what: &str, mut check: F) -> (T, Duration)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let started = Instant::now();
    loop {
        if let Some(value) = check().await {
            return (value, started.elapsed());
        }
        assert!(started.elapsed() < within, "{what}: not within {within:?}");
        // The interval between two looks at the condition, not a guess at how long it takes.
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The group id in the redirect after a create (`/groups?done=created&id=ID#group-ID`).
fn created_id(page: &Page) -> u64 {
    let location = page.location();
    location
        .split(['?', '&', '#'])
        .find_map(|p| p.strip_prefix("id="))
        .and_then(|id| id.parse().ok())
        .unwrap_or_else(|| panic!("no group id in {location:?}: {}", page.body))
}

/// The name in a group's row of the groups page, or `None` if the page has no such row.
fn row_name(page: &Page, id: u64) -> Option<String> {
    let name = page.text(&format!("tr#group-{id} td.name"));
    (!name.is_empty()).then_some(name)
}

/// Creates a group through `browser` (a plain form post) and answers its id.
async fn create_group(browser: &Browser, name: &str) -> u64 {
    browser.get("/groups").await;
    let created = browser.post("/groups", &[("name", name)]).await;
    assert_eq!(created.status, 303, "create {name:?}: {}", created.body);
    created_id(&created)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_begun_on_one_instance_works_on_the_others_and_signing_out_ends_it_on_all() {
    let Some(d) = Deployment::start(Setup::followers(50)).await else {
        return;
    };
    let at = |n: usize, b: &Browser| b.at(d.instances[n].url(""));
    let first = d.signed_in(0).await;

    let id = create_group(&at(1, &first), "from instance 2").await;
    let second = at(2, &first);
    second.get("/groups").await;
    let renamed = second
        .post(&format!("/groups/{id}/rename"), &[("name", "renamed on 3")])
        .await;
    assert_eq!(renamed.status, 303, "rename: {}", renamed.body);
    assert_eq!(
        d.wechat_groups().await.get(&id).map(String::as_str),
        Some("renamed on 3"),
        "WeChat has the group under its new name"
    );

    // The cookie as it is now: after signing out, the browser forgets it, but someone who
    // copied it must be refused too.
    let cookie = first.cookie_header();
    for n in [1, 2] {
        let page = groups_with_cookie(&d.instances[n], &cookie).await;
        assert_eq!(page.status(), 200, "signed in on {}", d.instances[n].name());
    }
    let out = first.post("/signout", &[]).await;
    assert_eq!(out.status, 303, "sign out: {}", out.body);
    let delays = refused_within(&d.instances[1..], &cookie, Duration::from_millis(1500)).await;
    eprintln!(
        "signed out on i1: refused on i2 after {:?}, on i3 after {:?}",
        delays[0], delays[1]
    );
}

/// GET /groups on `instance` with this `Cookie` header (and no cookie jar).
async fn groups_with_cookie(instance: &Instance, cookie: &str) -> reqwest::Response {
    http_client(None)
        .get(instance.url("/groups"))
        .header("cookie", cookie)
        .send()
        .await
        .expect("the instance answers")
}

/// Polls each instance with `cookie` until it sends it to the sign-in page; answers how long
/// each one took, from now (all are asked on each round, so no delay hides behind another's).
async fn refused_within(instances: &[Instance], cookie: &str, within: Duration) -> Vec<Duration> {
    let since = Instant::now();
    let mut refused: Vec<Option<Duration>> = vec![None; instances.len()];
    while refused.iter().any(Option::is_none) {
        for (i, delay) in instances.iter().zip(refused.iter_mut()) {
            if delay.is_none() && sent_to_signin(&groups_with_cookie(i, cookie).await) {
                *delay = Some(since.elapsed());
            }
        }
        assert!(
            since.elapsed() < within,
            "signed out, the session still works on some (refused after: {refused:?})"
        );
        // The interval between two looks at the condition, not a guess at how long it takes.
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    refused.into_iter().flatten().collect()
}

/// A redirect to the sign-in page.
fn sent_to_signin(r: &reqwest::Response) -> bool {
    let location = r.headers().get("location").and_then(|l| l.to_str().ok());
    r.status() == 303 && location.is_some_and(|l| l.contains("/signin"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sign_in_page_from_one_instance_is_accepted_by_the_next_behind_nginx() {
    if lacks(Tool::Nginx) {
        return;
    }
    let Some(d) = Deployment::start(Setup::followers(50)).await else {
        return;
    };
    let balancer = Balancer::start([0, 1, 2].map(|i| d.instances[i].addr()));
    let browser = Browser::new(balancer.url(""));
    let form = browser.get("/signin").await;
    let signed_in = browser
        .post(
            "/signin",
            &[("name", OPERATOR), ("password", PASSWORD), ("next", "")],
        )
        .await;
    let (page_from, post_to) = (
        form.header("x-upstream").unwrap_or_default(),
        signed_in.header("x-upstream").unwrap_or_default(),
    );
    eprintln!("sign-in page from {page_from}, posted to {post_to}");
    assert_ne!(page_from, post_to, "nginx took turns");
    assert_eq!(
        signed_in.status,
        303,
        "the other instance accepted the page's CSRF token: {}\n{}",
        signed_in.body,
        d.logs()
    );
    let groups = browser.get("/groups").await;
    assert_eq!(groups.status, 200, "{}", groups.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_group_created_on_one_instance_is_on_the_next_page_of_the_others_without_asking_wechat() {
    let Some(d) = Deployment::start(Setup::followers(50)).await else {
        return;
    };
    let browsers: Vec<Browser> = {
        let first = d.signed_in(0).await;
        (0..3).map(|n| first.at(d.instances[n].url(""))).collect()
    };
    let before = d.groups_gets();
    for b in &browsers {
        assert_eq!(b.get("/groups").await.status, 200);
    }
    let warm_up = d.groups_gets() - before;

    let id = create_group(&browsers[0], "seen everywhere").await;
    for (n, b) in browsers.iter().enumerate().skip(1) {
        let page = b.get("/groups").await;
        assert_eq!(page.status, 200);
        assert_eq!(
            row_name(&page, id).as_deref(),
            Some("seen everywhere"),
            "the very next page of {} shows group {id}",
            d.instances[n].name()
        );
    }
    let total = d.groups_gets() - before;
    eprintln!("groups/get: {warm_up} for the three first views, {total} in all");
    assert_eq!(warm_up, 1, "one fetch for the deployment's first views");
    assert_eq!(
        total, warm_up,
        "the create and the views after it fetched nothing"
    );
}

/// Views per instance in the load test, and the tasks per instance sending them.
const VIEWS: usize = 1_000;
const TASKS: usize = 16;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_thousand_page_views_and_a_refresh_across_three_instances_cost_one_groups_get() {
    let Some(d) = Deployment::start(Setup::followers(500)).await else {
        return;
    };
    let first = d.signed_in(0).await;
    let browsers: Vec<Arc<Browser>> = (0..3)
        .map(|n| Arc::new(first.at(d.instances[n].url(""))))
        .collect();
    for b in &browsers {
        assert_eq!(b.get("/groups").await.status, 200, "warm-up");
    }
    let before = d.groups_gets();

    let done = Arc::new(AtomicUsize::new(0));
    let halfway = Arc::new(Notify::new());
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for b in &browsers {
        for task in 0..TASKS {
            let (b, done, halfway) = (b.clone(), done.clone(), halfway.clone());
            tasks.spawn(async move {
                for _ in (task..VIEWS).step_by(TASKS) {
                    let page = b.fetch("/groups").await;
                    assert_eq!(page.status, 200, "{}", page.body);
                    assert!(page.body.contains("id=\"group-0\""), "a whole table");
                    if done.fetch_add(1, Ordering::Relaxed) + 1 == 3 * VIEWS / 2 {
                        halfway.notify_one();
                    }
                }
            });
        }
    }
    halfway.notified().await;
    let refreshed = browsers[1].post("/groups/refresh", &[]).await;
    let refreshed_at = done.load(Ordering::Relaxed);
    while let Some(task) = tasks.join_next().await {
        task.expect("a viewing task");
    }
    let elapsed = started.elapsed();

    let views = done.load(Ordering::Relaxed);
    let fetched = d.groups_gets() - before;
    eprintln!(
        "{views} views in {elapsed:?} ({:.0}/s), refresh after {refreshed_at}: {fetched} groups/get",
        views as f64 / elapsed.as_secs_f64()
    );
    assert_eq!(refreshed.status, 303, "refresh: {}", refreshed.body);
    assert!(
        refreshed.location().contains("done=refreshed"),
        "{}",
        refreshed.location()
    );
    assert_eq!(views, 3 * VIEWS);
    assert_eq!(fetched, 1, "the refresh fetched once; the views, never");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_wrong_passwords_spread_over_three_instances_lock_the_name_on_all() {
    let Some(d) = Deployment::start(Setup::followers(50)).await else {
        return;
    };
    for k in 0..5 {
        let n = k % 3;
        let wrong = d.browser(n).sign_in(OPERATOR, "not the password").await;
        assert_eq!(
            wrong.status,
            401,
            "wrong password {} on {}: {}",
            k + 1,
            d.instances[n].name(),
            wrong.body
        );
    }
    for n in 0..3 {
        let right = d.browser(n).sign_in(OPERATOR, PASSWORD).await;
        assert_eq!(
            right.status,
            429,
            "the right password on {} after 5 failures: {}",
            d.instances[n].name(),
            right.location()
        );
        assert!(
            right.body.contains("登录失败次数过多"),
            "the page says why: {}",
            right.body
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_classic_token_mode_three_instances_fetch_one_token_and_store_it_only_encrypted() {
    let Some(d) = Deployment::start(Setup::followers(50).with("TOKEN_MODE", "classic")).await
    else {
        return;
    };
    let first = d.signed_in(0).await;
    for n in 0..3 {
        let b = first.at(d.instances[n].url(""));
        for path in ["/groups", "/jobs", "/audit", "/status"] {
            let page = b.get(path).await;
            assert_eq!(page.status, 200, "{path} on {}", d.instances[n].name());
        }
    }
    create_group(&first.at(d.instances[2].url("")), "written on 3").await;

    let tokens = d.sim.issued_tokens();
    eprintln!(
        "classic tokens fetched: {}, stable: {}",
        d.sim.calls("/cgi-bin/token"),
        d.sim.calls("/cgi-bin/stable_token")
    );
    let dump = database_text(&mut d.db().await).await;
    assert!(dump.len() > 1_000, "the dump has the app's rows: {dump}");
    assert!(!dump.contains(SECRET), "the AppSecret is in the database");
    for token in &tokens {
        assert!(
            !dump.contains(token),
            "the token is in the database in clear"
        );
        // A bytea column (the sessions') prints as hex: the token would show so there.
        let hex: String = token.bytes().map(|b| format!("{b:02x}")).collect();
        assert!(
            !dump.contains(&hex),
            "the token is in the database as bytes"
        );
    }
    assert_eq!(d.sim.calls("/cgi-bin/token"), 1, "{}", d.logs());
    assert_eq!(d.sim.calls("/cgi-bin/stable_token"), 0);
    assert_eq!(tokens.len(), 1);
}

/// Every row of every table in the database's own schemas, as text.
async fn database_text(db: &mut PgConnection) -> String {
    let tables: Vec<(String, String)> = sqlx::query_as(
        "SELECT table_schema::text, table_name::text FROM information_schema.tables
         WHERE table_type = 'BASE TABLE'
           AND table_schema NOT IN ('pg_catalog', 'information_schema')",
    )
    .fetch_all(&mut *db)
    .await
    .expect("the catalogue");
    let mut text = String::new();
    for (schema, table) in tables {
        let rows: Vec<String> =
            sqlx::query_scalar(&format!("SELECT t::text FROM \"{schema}\".\"{table}\" t"))
                .fetch_all(&mut *db)
                .await
                .unwrap_or_else(|e| panic!("{schema}.{table}: {e}"));
        text.push_str(&format!("{schema}.{table}\n{}\n", rows.join("\n")));
    }
    text
}

/// OpenIDs in the job tests: 200 chunks of 50.
const JOB_SIZE: u32 = 10_000;
/// How many chunks are done when a test cuts the job off: under way, far from finished.
const CUT_AFTER_CHUNKS: i64 = 40;

/// A batch move under way: the job, its target group (new, so nobody was in it before) and
/// its OpenIDs.
struct Job {
    id: i64,
    target: u32,
    openids: Vec<String>,
}

impl Deployment {
    /// Each batch call takes 20 ms at the simulator, so that 200 of them take seconds.
    fn slow_batch_calls(&self) {
        let slow = Fault {
            latency_ms: 20,
            ..Fault::default()
        };
        self.sim.inject("groups/members/batchupdate", slow);
    }

    /// Moves the first [`JOB_SIZE`] followers to a new group: the list posted as text, the
    /// preview confirmed, through `browser`.
    async fn start_job(&self, browser: &Browser) -> Job {
        let target = create_group(browser, "job target").await;
        let openids: Vec<String> = (0..JOB_SIZE).map(|i| self.sim.follower_openid(i)).collect();
        let text = openids.join("\n");
        let preview = browser
            .post_multipart(
                "/jobs/preview",
                &[("text", &text), ("to_groupid", &target.to_string())],
            )
            .await;
        assert_eq!(preview.status, 200, "preview: {}", preview.body);
        let id = draft_id(&preview);
        let confirmed = browser.post(&format!("/jobs/{id}/confirm"), &[]).await;
        assert_eq!(confirmed.status, 303, "confirm: {}", confirmed.body);
        Job {
            id,
            target: u32::try_from(target).expect("a group id"),
            openids,
        }
    }

    /// Chunks of the job in `state` (`pending`, `sending`, `done`), by sequence number.
    async fn chunks_in(&self, job: &Job, state: &str) -> Vec<i64> {
        sqlx::query_scalar(
            "SELECT seq FROM job_chunks WHERE job_id = $1 AND state = $2 ORDER BY seq",
        )
        .bind(job.id)
        .bind(state)
        .fetch_all(&mut self.db().await)
        .await
        .expect("the job's chunks")
    }

    /// Waits until [`CUT_AFTER_CHUNKS`] chunks are done (and the job is not).
    async fn wait_under_way(&self, job: &Job) {
        poll(Duration::from_secs(60), "the job under way", || async {
            let done = self.chunks_in(job, "done").await.len() as i64;
            (done >= CUT_AFTER_CHUNKS).then_some(())
        })
        .await;
        let left = self.chunks_in(job, "pending").await.len();
        assert!(left > 0, "the job must still be running when it is cut off");
    }

    /// The job's state, OpenIDs moved and total.
    async fn job_row(&self, job: &Job) -> (String, i64, i64) {
        sqlx::query_as("SELECT state, moved, total FROM jobs WHERE id = $1")
            .bind(job.id)
            .fetch_one(&mut self.db().await)
            .await
            .expect("the job's row")
    }

    /// Waits until the job has ended, however; answers how it did.
    async fn wait_finished(&self, job: &Job, within: Duration) -> (String, i64, i64) {
        let (row, _) = poll(within, "the job finished", || async {
            let row = self.job_row(job).await;
            ["done", "failed", "cancelled"]
                .contains(&row.0.as_str())
                .then_some(row)
        })
        .await;
        row
    }

    /// How often each chunk was marked `sending`: `(seq, sends)` for those sent more than once.
    /// The job ended done with all 10,000 moved, each OpenID in one carried-out call; answers
    /// the chunks marked `sending` more than once (for the caller's rule about them).
    async fn assert_all_moved_once(
        &self,
        job: &Job,
        (state, moved, total): (&str, i64, i64),
    ) -> Vec<(i64, i64)> {
        assert_eq!(
            (state, moved, total),
            ("done", 10_000, 10_000),
            "{}",
            self.logs()
        );
        self.assert_moved_exactly_once(job);
        let sent_again = self.chunks_sent_again(job).await;
        eprintln!("chunks marked sending more than once: {sent_again:?}");
        sent_again
    }

    async fn chunks_sent_again(&self, job: &Job) -> Vec<(i64, i64)> {
        sqlx::query_as(
            "SELECT seq, sends FROM job_chunks WHERE job_id = $1 AND sends <> 1 ORDER BY seq",
        )
        .bind(job.id)
        .fetch_all(&mut self.db().await)
        .await
        .expect("the job's chunks")
    }

    /// Every OpenID of the job is in its group at WeChat, and was in exactly one batchupdate
    /// WeChat carried out.
    fn assert_moved_exactly_once(&self, job: &Job) {
        let mut carried: HashMap<String, usize> = HashMap::new();
        for (openids, to) in self.sim.batch_log() {
            if to == job.target {
                for openid in openids {
                    *carried.entry(openid).or_default() += 1;
                }
            }
        }
        let not_moved: Vec<&String> = job
            .openids
            .iter()
            .filter(|o| self.sim.group_of(o) != Some(job.target))
            .collect();
        assert!(
            not_moved.is_empty(),
            "{} not in the group: {:?}",
            not_moved.len(),
            &not_moved[..not_moved.len().min(5)]
        );
        let not_once: Vec<(&String, usize)> = job
            .openids
            .iter()
            .map(|o| (o, carried.get(o).copied().unwrap_or(0)))
            .filter(|(_, n)| *n != 1)
            .collect();
        assert!(
            not_once.is_empty(),
            "{} OpenIDs not carried out exactly once, e.g. {:?}",
            not_once.len(),
            &not_once[..not_once.len().min(5)]
        );
        assert_eq!(
            carried.len(),
            job.openids.len(),
            "nobody else was moved there"
        );
    }
}

impl Deployment {
    /// Instance `heir`'s log says it re-checked each chunk the dead worker left `sending`
    /// against WeChat before sending anything of it.
    fn assert_rechecked(&self, heir: usize, interrupted: &[i64]) {
        let log = plain_log(&self.instances[heir].log());
        for seq in interrupted {
            let chunk = format!("chunk={seq} ");
            assert!(
                log.lines()
                    .any(|l| l.contains("re-checked a chunk interrupted mid-call")
                        && l.contains(&chunk)),
                "{} re-checked chunk {seq}:\n{}",
                self.instances[heir].name(),
                self.instances[heir].log_tail(30)
            );
        }
    }
}

/// The draft job a preview offers to confirm (`/jobs/ID/confirm`).
fn draft_id(preview: &Page) -> i64 {
    preview
        .attr("form[action$='/confirm']", "action")
        .and_then(|a| {
            a.trim_end_matches("/confirm")
                .rsplit('/')
                .next()?
                .parse()
                .ok()
        })
        .unwrap_or_else(|| panic!("no confirm form in {}", preview.body))
}

/// A log without its colours (the fields of a line are coloured apart from their values).
fn plain_log(log: &str) -> String {
    let mut out = String::with_capacity(log.len());
    let mut chars = log.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            // An SGR sequence: ESC [ … m.
            for c in chars.by_ref() {
                if c == 'm' {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_whose_worker_is_killed_by_sigkill_is_finished_elsewhere_each_openid_once() {
    let Some(mut d) = Deployment::start(Setup::for_jobs(12_000)).await else {
        return;
    };
    d.slow_batch_calls();
    let browser = d.signed_in(0).await;
    let started = Instant::now();
    let job = d.start_job(&browser).await;
    d.wait_under_way(&job).await;

    let worker = d
        .lease_holder(JOBS_LEASE)
        .await
        .expect("a worker holds the lease");
    d.instances[worker].kill9();
    let killed = Instant::now();
    // Nobody writes the job now until the lease runs out: what the dead worker left.
    let interrupted = d.chunks_in(&job, "sending").await;
    let done_at_kill = d.chunks_in(&job, "done").await.len();

    let (heir, takeover) = poll(
        Duration::from_secs(30),
        "another instance takes the lease",
        || async { d.lease_holder(JOBS_LEASE).await.filter(|&n| n != worker) },
    )
    .await;
    let (state, moved, total) = d.wait_finished(&job, Duration::from_secs(120)).await;
    let finished = killed.elapsed();
    eprintln!(
        "killed {} after {done_at_kill} of 200 chunks ({:?} into the job), chunks left sending: {interrupted:?}; \
         {} took the lease after {takeover:?}, job {state} {finished:?} after the kill",
        d.instances[worker].name(),
        killed - started,
        d.instances[heir].name()
    );
    let sent_again = d.assert_all_moved_once(&job, (&state, moved, total)).await;
    assert!(
        sent_again.iter().all(|(seq, _)| interrupted.contains(seq)),
        "only a chunk cut off mid-call is marked sending twice: {sent_again:?}, cut off {interrupted:?}"
    );
    d.assert_rechecked(heir, &interrupted);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_restarted_mid_job_pages_say_so_with_503_and_the_job_ends_each_openid_once() {
    let Some(d) = Deployment::start(Setup::for_jobs(12_000).on_own_server()).await else {
        return;
    };
    d.slow_batch_calls();
    let browser = d.signed_in(0).await;
    let job = d.start_job(&browser).await;
    d.wait_under_way(&job).await;

    tokio::task::block_in_place(|| d.db.server().stop());
    let stopped = Instant::now();
    // A session read in the last second may still be served from the instance's cache.
    let (down, _) = poll(Duration::from_secs(15), "a page view refused", || async {
        let page = browser.get("/groups").await;
        (page.status != 200).then_some(page)
    })
    .await;
    let refused_after = stopped.elapsed();
    let probes = readyz_all(&d).await;
    eprintln!(
        "database stopped: a page view answered {} after {refused_after:?}; /readyz answered {:?}",
        down.status,
        probes.iter().map(|(s, _, t)| (*s, *t)).collect::<Vec<_>>()
    );
    assert_unavailable_page(&down);
    for ((status, body, _), i) in probes.iter().zip(&d.instances) {
        assert_eq!(*status, 503, "{}'s /readyz: {body}", i.name());
        assert!(body.contains("database"), "{}'s /readyz: {body}", i.name());
    }

    tokio::task::block_in_place(|| d.db.server().start_again());
    let restarted = Instant::now();
    poll(
        Duration::from_secs(30),
        "every instance ready again",
        || async {
            let probes = readyz_all(&d).await;
            probes.iter().all(|(s, _, _)| *s == 200).then_some(())
        },
    )
    .await;
    let ready_after = restarted.elapsed();
    poll(Duration::from_secs(30), "pages again", || async {
        (browser.get("/groups").await.status == 200).then_some(())
    })
    .await;
    let pages_after = restarted.elapsed();
    let (state, moved, total) = d.wait_finished(&job, Duration::from_secs(120)).await;
    eprintln!(
        "down {:?}; after the restart: every /readyz 200 after {ready_after:?}, pages after \
         {pages_after:?}, job {state} after {:?}",
        restarted - stopped,
        restarted.elapsed()
    );
    let sent_again = d.assert_all_moved_once(&job, (&state, moved, total)).await;
    // A crash (here: the database gone mid-chunk) leaves at most two chunks `sending`.
    assert!(sent_again.len() <= 2, "{sent_again:?}");
}

/// The page an operator sees while the database is away: a whole page, with a 503, that says
/// so in words and shows no raw error.
fn assert_unavailable_page(page: &Page) {
    assert_eq!(page.status, 503, "{}", page.body);
    assert!(page.body.contains("</html>"), "a whole page: {}", page.body);
    assert!(
        page.body.contains("数据库暂时无法连接"),
        "the page says the database is unavailable: {}",
        page.body
    );
    for raw in [
        "sqlx",
        "error returned",
        "Connection refused",
        "pool timed out",
    ] {
        assert!(
            !page.body.contains(raw),
            "a raw error ({raw}): {}",
            page.body
        );
    }
}

/// Every instance's GET /readyz, asked at once: the status (0 for no answer), the body, and
/// how long it took.
async fn readyz_all(d: &Deployment) -> Vec<(u16, String, Duration)> {
    let http = http_client(None);
    let asks = d.instances.iter().map(|i| {
        let sent = http.get(i.url("/readyz")).send();
        async move {
            let asked = Instant::now();
            match sent.await {
                Ok(r) => {
                    let status = r.status().as_u16();
                    let body = r.text().await.unwrap_or_default();
                    (status, body, asked.elapsed())
                }
                Err(e) => (0, e.to_string(), asked.elapsed()),
            }
        }
    });
    futures_util::future::join_all(asks).await
}
