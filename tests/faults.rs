//! The client's fault policy against the simulator over real HTTP: every operation × every fault
//! kind, counted at the simulator, plus the token storm, the circuit breaker, the external token
//! source and the observer.
//!
//! Timeouts are 150 ms and the backoff base 2 ms, so the whole file runs in a few seconds.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::Router;
use axum::routing::get;
use serde_json::{Value, json};
use wxgroups::domain::{GroupId, GroupName, OpenId};
use wxgroups::i18n::Lang;
use wxgroups::simulator::{Fault, SimConfig, Simulator, spawn_local};
use wxgroups::wechat::{
    CallObserver, CircuitState, ClientConfig, TokenMode, TransportKind, WeChatClient, WeChatError,
};

/// Short enough to keep the matrix quick, long enough that a loaded 2-core CI machine answers
/// a healthy loopback call well within it (150 ms proved too tight there).
const TIMEOUT: Duration = Duration::from_millis(500);

struct TestSim {
    sim: Simulator,
    base: String,
}

async fn spawn_sim() -> TestSim {
    let sim = Simulator::new(SimConfig {
        followers: 60,
        ..SimConfig::default()
    });
    let base = spawn_local(&sim).await.expect("the simulator listens");
    TestSim { sim, base }
}

fn config(base: &str) -> ClientConfig {
    let demo = SimConfig::default();
    let mut config = ClientConfig::new(base, demo.appid, demo.secret);
    config.timeout = TIMEOUT;
    config.connect_timeout = TIMEOUT;
    config.backoff_base = Duration::from_millis(2);
    config.deadline = Duration::from_secs(5);
    // The matrix makes one call per client; the circuit has its own test.
    config.circuit_threshold = 1_000;
    config
}

fn client(base: &str) -> WeChatClient {
    WeChatClient::new(config(base)).expect("build the client")
}

/// A base URL where nothing listens: bind a port, then let it go.
fn refused_base() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("address").port();
    format!("http://127.0.0.1:{port}")
}

fn name(text: &str) -> GroupName {
    GroupName::parse(text).expect("a valid name")
}

fn openid(sim: &Simulator, index: u32) -> OpenId {
    OpenId::parse(&sim.follower_openid(index)).expect("a valid OpenID")
}

/// The group list as a fresh client sees it once every fault is cleared.
async fn groups_named(t: &TestSim, wanted: &str) -> Vec<u32> {
    client(&t.base)
        .get_groups()
        .await
        .expect("the list, faults cleared")
        .into_iter()
        .filter(|g| g.name == wanted)
        .map(|g| g.id.get())
        .collect()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    GetGroups,
    CreateGroup,
    RenameGroup,
    GetUserGroup,
    MoveUser,
    MoveUsers,
    DeleteGroup,
}

impl Op {
    fn path(self) -> &'static str {
        match self {
            Self::GetGroups => "/cgi-bin/groups/get",
            Self::CreateGroup => "/cgi-bin/groups/create",
            Self::RenameGroup => "/cgi-bin/groups/update",
            Self::GetUserGroup => "/cgi-bin/groups/getid",
            Self::MoveUser => "/cgi-bin/groups/members/update",
            Self::MoveUsers => "/cgi-bin/groups/members/batchupdate",
            Self::DeleteGroup => "/cgi-bin/groups/delete",
        }
    }

    /// Runs the operation; `Ok(())` when it succeeded.
    async fn run(
        self,
        client: &WeChatClient,
        sim: &Simulator,
        case: &str,
    ) -> Result<(), WeChatError> {
        match self {
            Self::GetGroups => client
                .get_groups()
                .await
                .map(|g| assert!(g.len() >= 7, "{case}")),
            Self::CreateGroup => client.create_group(&name(case)).await.map(|_| ()),
            Self::RenameGroup => {
                client
                    .rename_group(GroupId::from_upstream(100), &name(case))
                    .await
            }
            Self::GetUserGroup => client.get_user_group(&openid(sim, 0)).await.map(|_| ()),
            Self::MoveUser => {
                client
                    .move_user(&openid(sim, 0), GroupId::from_upstream(target(sim, 0)))
                    .await
            }
            Self::MoveUsers => {
                let ids: Vec<OpenId> = (0..5).map(|i| openid(sim, i)).collect();
                client
                    .move_users(&ids, GroupId::from_upstream(target(sim, 0)))
                    .await
            }
            Self::DeleteGroup => client.delete_group(GroupId::from_upstream(103)).await,
        }
    }

    /// Whether the operation's effect is visible in the simulator (reads: always).
    async fn took_effect(self, t: &TestSim, case: &str, before: &Snapshot) -> bool {
        match self {
            Self::GetGroups | Self::GetUserGroup => true,
            Self::CreateGroup => {
                let found = groups_named(t, case).await;
                assert!(
                    found.len() <= 1,
                    "{case}: the group was created twice: {found:?}"
                );
                found.len() == 1
            }
            Self::RenameGroup => groups_named(t, case).await == [100],
            Self::MoveUser => t.sim.group_of(&t.sim.follower_openid(0)) != Some(before.group_of_0),
            Self::MoveUsers => {
                (0..5).all(|i| t.sim.group_of(&t.sim.follower_openid(i)) == Some(before.target))
            }
            Self::DeleteGroup => t.sim.group_count() == before.group_count - 1,
        }
    }

    /// Writes are checked for their effect; reads have none.
    fn writes(self) -> bool {
        !matches!(self, Self::GetGroups | Self::GetUserGroup)
    }
}

/// A group follower `index` is not in, so a move is a visible change.
fn target(sim: &Simulator, index: u32) -> u32 {
    match sim.group_of(&sim.follower_openid(index)) {
        Some(101) => 102,
        _ => 101,
    }
}

struct Snapshot {
    group_of_0: u32,
    target: u32,
    group_count: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Timeout,
    Refused,
    Http5xx,
    Garbage,
    Dropped,
    Busy,
    Quota,
    TokenExpiredOnce,
    TokenInvalidForever,
}

const KINDS: [Kind; 9] = [
    Kind::Timeout,
    Kind::Refused,
    Kind::Http5xx,
    Kind::Garbage,
    Kind::Dropped,
    Kind::Busy,
    Kind::Quota,
    Kind::TokenExpiredOnce,
    Kind::TokenInvalidForever,
];

impl Kind {
    fn fault(self) -> Option<Fault> {
        Some(match self {
            Self::Refused => return None,
            Self::Timeout => Fault {
                hang: true,
                ..Fault::default()
            },
            Self::Http5xx => Fault {
                http_status: Some(503),
                ..Fault::default()
            },
            Self::Garbage => Fault {
                garbage: true,
                ..Fault::default()
            },
            Self::Dropped => Fault {
                drop: true,
                ..Fault::default()
            },
            Self::Busy => Fault::errcode(-1),
            Self::Quota => Fault::errcode(45009),
            Self::TokenExpiredOnce => Fault::errcode(42001).times(1),
            Self::TokenInvalidForever => Fault::errcode(40001),
        })
    }

    /// What the policy implies: (calls to the operation's endpoint, groups/get re-reads by a
    /// create, stable_token fetches, the outcome).
    fn expected(self, op: Op) -> (u64, u64, u64, Expect) {
        let create = op == Op::CreateGroup;
        match self {
            // Nothing listens: nothing reaches any simulator.
            Self::Refused => (0, 0, 0, Expect::Transport(TransportKind::Connect)),
            // Retried twice, except a create, which re-reads the list once instead (and finds no
            // such group, since a refused write did nothing).
            Self::Timeout | Self::Http5xx | Self::Dropped | Self::Busy => {
                let expect = match self {
                    Self::Timeout => Expect::Transport(TransportKind::Timeout),
                    Self::Http5xx => Expect::Transport(TransportKind::HttpStatus(503)),
                    Self::Dropped => Expect::Transport(TransportKind::Closed),
                    _ => Expect::Api(-1),
                };
                if create {
                    (1, 1, 1, expect)
                } else {
                    (3, 0, 1, expect)
                }
            }
            // An answer that arrived but is not JSON is not retried; a create still re-reads.
            Self::Garbage => (
                1,
                u64::from(create),
                1,
                Expect::Transport(TransportKind::BadBody),
            ),
            Self::Quota => (1, 0, 1, Expect::Api(45009)),
            // One new token, one more attempt.
            Self::TokenExpiredOnce => (2, 0, 2, Expect::Ok),
            Self::TokenInvalidForever => (2, 0, 2, Expect::Api(40001)),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    Ok,
    Api(i64),
    Transport(TransportKind),
}

fn check(case: &str, result: &Result<(), WeChatError>, expect: Expect) {
    match (expect, result) {
        (Expect::Ok, Ok(())) => {}
        (Expect::Api(code), Err(err)) if err.code() == Some(code) => {}
        (Expect::Transport(kind), Err(WeChatError::Transport { kind: got, .. }))
            if *got == kind => {}
        _ => panic!("{case}: expected {expect:?}, got {result:?}"),
    }
    if let Err(err) = result {
        for lang in [Lang::Zh, Lang::En] {
            let text = format!("{} {}", err.title(lang), err.explain(lang));
            assert!(!text.contains("demo-secret"), "{case}: {text}");
        }
    }
}

/// One cell: a fresh simulator and client, one fault, one operation.
async fn cell(op: Op, kind: Kind) {
    let case = format!("{op:?}-{kind:?}");
    let t = spawn_sim().await;
    let before = Snapshot {
        group_of_0: t
            .sim
            .group_of(&t.sim.follower_openid(0))
            .expect("a follower"),
        target: target(&t.sim, 0),
        group_count: t.sim.group_count(),
    };
    let base = match kind.fault() {
        Some(fault) => {
            t.sim.inject(op.path(), fault);
            t.base.clone()
        }
        None => refused_base(),
    };
    // Names are at most 30 characters: the kind alone is short enough and unique per simulator.
    let label = format!("{kind:?}");
    let result = op.run(&client(&base), &t.sim, &label).await;
    let (calls, rereads, fetches, expect) = kind.expected(op);
    check(&case, &result, expect);
    assert_eq!(
        t.sim.calls(op.path()),
        calls,
        "{case}: calls to {}",
        op.path()
    );
    if op != Op::GetGroups {
        assert_eq!(
            t.sim.calls("/cgi-bin/groups/get"),
            rereads,
            "{case}: re-reads"
        );
    }
    assert_eq!(
        t.sim.calls("/cgi-bin/stable_token"),
        fetches,
        "{case}: token fetches"
    );
    assert_eq!(t.sim.calls("/cgi-bin/token"), 0, "{case}: classic token");

    t.sim.clear_faults();
    if op.writes() {
        let done = op.took_effect(&t, &label, &before).await;
        assert_eq!(
            done,
            expect == Expect::Ok,
            "{case}: the write took effect: {done}"
        );
    }
}

async fn row(op: Op) {
    for kind in KINDS {
        cell(op, kind).await;
    }
}

#[tokio::test]
async fn get_groups_under_every_fault() {
    row(Op::GetGroups).await;
}

#[tokio::test]
async fn create_group_under_every_fault() {
    row(Op::CreateGroup).await;
}

#[tokio::test]
async fn rename_group_under_every_fault() {
    row(Op::RenameGroup).await;
}

#[tokio::test]
async fn get_user_group_under_every_fault() {
    row(Op::GetUserGroup).await;
}

#[tokio::test]
async fn move_user_under_every_fault() {
    row(Op::MoveUser).await;
}

#[tokio::test]
async fn move_users_under_every_fault() {
    row(Op::MoveUsers).await;
}

#[tokio::test]
async fn delete_group_under_every_fault() {
    row(Op::DeleteGroup).await;
}

/// A create whose answer is lost after the group was made: the re-read finds it, and it exists
/// exactly once.
#[tokio::test]
async fn a_create_whose_answer_was_lost_is_recovered_by_the_re_read_and_never_duplicated() {
    let failures = [
        (
            "timeout",
            Fault {
                hang: true,
                ..Fault::default()
            },
        ),
        ("-1", Fault::errcode(-1)),
        (
            "drop",
            Fault {
                drop: true,
                ..Fault::default()
            },
        ),
        (
            "502",
            Fault {
                http_status: Some(502),
                ..Fault::default()
            },
        ),
        (
            "garbage",
            Fault {
                garbage: true,
                ..Fault::default()
            },
        ),
    ];
    for (label, fault) in failures {
        let t = spawn_sim().await;
        let groups_before = t.sim.group_count();
        t.sim.inject(
            "groups/create",
            Fault {
                after_write: true,
                ..fault
            },
        );
        let wanted = format!("lost-{label}");
        let (id, stored) = client(&t.base)
            .create_group(&name(&wanted))
            .await
            .unwrap_or_else(|e| panic!("{label}: recovered by the re-read, got {e:?}"));
        assert_eq!(stored, wanted, "{label}");
        assert_eq!(
            t.sim.calls("/cgi-bin/groups/create"),
            1,
            "{label}: never resent"
        );
        assert_eq!(
            t.sim.calls("/cgi-bin/groups/get"),
            1,
            "{label}: one re-read"
        );
        assert_eq!(t.sim.group_count(), groups_before + 1, "{label}");
        t.sim.clear_faults();
        assert_eq!(
            groups_named(&t, &wanted).await,
            [id.get()],
            "{label}: exactly once"
        );
    }
}

#[tokio::test]
async fn a_create_whose_answer_and_re_read_both_fail_is_reported_as_unknown() {
    let t = spawn_sim().await;
    t.sim.inject(
        "groups/create",
        Fault {
            errcode: Some(-1),
            after_write: true,
            ..Fault::default()
        },
    );
    t.sim.inject("groups/get", Fault::errcode(-1));
    let err = client(&t.base)
        .create_group(&name("maybe"))
        .await
        .expect_err("unknown");
    match &err {
        WeChatError::OutcomeUnknown { cause } => assert_eq!(cause.code(), Some(-1)),
        other => panic!("expected OutcomeUnknown, got {other:?}"),
    }
    assert!(
        err.explain(Lang::En).contains("may or may not exist"),
        "{}",
        err.explain(Lang::En)
    );
    assert!(
        err.explain(Lang::Zh).contains("刷新分组列表"),
        "{}",
        err.explain(Lang::Zh)
    );
    assert_eq!(t.sim.calls("/cgi-bin/groups/create"), 1);
    assert_eq!(
        t.sim.calls("/cgi-bin/groups/get"),
        3,
        "the re-read is a read: retried twice"
    );
    t.sim.clear_faults();
    assert_eq!(
        groups_named(&t, "maybe").await.len(),
        1,
        "it did happen, once"
    );
}

#[tokio::test]
async fn a_delete_whose_answer_was_lost_succeeds_when_the_retry_finds_no_such_group() {
    let t = spawn_sim().await;
    let before = t.sim.group_count();
    t.sim.inject(
        "groups/delete",
        Fault {
            hang: true,
            after_write: true,
            times: Some(1),
            ..Fault::default()
        },
    );
    client(&t.base)
        .delete_group(GroupId::from_upstream(103))
        .await
        .expect("the retry's 40050 means the first attempt deleted it");
    assert_eq!(t.sim.calls("/cgi-bin/groups/delete"), 2);
    assert_eq!(t.sim.group_count(), before - 1);
    // A plain 40050 on a first attempt is still an error.
    let err = client(&t.base)
        .delete_group(GroupId::from_upstream(103))
        .await
        .expect_err("no such group");
    assert_eq!(err.code(), Some(40050));
}

#[tokio::test]
async fn an_absolute_write_repeated_after_a_lost_answer_ends_in_the_same_state() {
    let t = spawn_sim().await;
    let to = target(&t.sim, 7);
    t.sim.inject(
        "groups/members/update",
        Fault {
            errcode: Some(-1),
            after_write: true,
            times: Some(1),
            ..Fault::default()
        },
    );
    client(&t.base)
        .move_user(&openid(&t.sim, 7), GroupId::from_upstream(to))
        .await
        .expect("the retry succeeds");
    assert_eq!(t.sim.calls("/cgi-bin/groups/members/update"), 2);
    assert_eq!(t.sim.group_of(&t.sim.follower_openid(7)), Some(to));
}

#[tokio::test]
async fn a_per_minute_quota_error_is_not_retried_and_says_to_wait_a_minute() {
    let t = spawn_sim().await;
    t.sim.inject("groups/update", Fault::errcode(45011));
    let err = client(&t.base)
        .rename_group(GroupId::from_upstream(100), &name("x"))
        .await
        .expect_err("quota");
    assert!(err.is_quota_error());
    assert!(err.explain(Lang::En).contains("Wait a minute"));
    assert!(err.explain(Lang::Zh).contains("等一分钟"));
    assert_eq!(t.sim.calls("/cgi-bin/groups/update"), 1);
}

#[tokio::test]
async fn the_deadline_stops_retries_that_would_start_after_it() {
    let t = spawn_sim().await;
    t.sim.inject(
        "groups/get",
        Fault {
            hang: true,
            ..Fault::default()
        },
    );
    let mut config = config(&t.base);
    // One attempt fits; the next would start after the deadline.
    config.deadline = TIMEOUT + Duration::from_millis(50);
    config.backoff_base = Duration::from_millis(100);
    let client = WeChatClient::new(config).expect("client");
    let err = client.get_groups().await.expect_err("timeout");
    assert!(matches!(
        err,
        WeChatError::Transport {
            kind: TransportKind::Timeout,
            ..
        }
    ));
    assert!(
        t.sim.calls("/cgi-bin/groups/get") < 3,
        "the deadline cut the retries short"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_calls_hitting_an_expired_token_cause_exactly_one_fetch() {
    let t = spawn_sim().await;
    let client = client(&t.base);
    client.get_groups().await.expect("warm up");
    assert_eq!(t.sim.calls("/cgi-bin/stable_token"), 1);
    t.sim.expire_tokens();
    let tasks: Vec<_> = (0..50)
        .map(|_| {
            let client = client.clone();
            tokio::spawn(async move { client.get_groups().await })
        })
        .collect();
    for task in tasks {
        task.await
            .expect("the task ran")
            .expect("each call recovers");
    }
    assert_eq!(
        t.sim.calls("/cgi-bin/stable_token"),
        2,
        "one fetch for the whole storm"
    );
    // Each call made one attempt with the old token and at most one retry with the new one
    // (a call that started after the refresh needed no retry): never more.
    let gets = t.sim.calls("/cgi-bin/groups/get") - 1;
    assert!((50..=100).contains(&gets), "{gets} attempts for 50 calls");
}

/// Waits (bounded) until the circuit reports `state`: the cool-down is a few ms.
async fn await_circuit(client: &WeChatClient, state: CircuitState) {
    for _ in 0..400 {
        if client.circuit().state == state {
            return;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    panic!("the circuit never became {state:?}: {:?}", client.circuit());
}

#[tokio::test]
async fn the_circuit_opens_after_n_failures_fails_fast_then_half_opens_and_closes() {
    let t = spawn_sim().await;
    let mut config = config(&t.base);
    config.circuit_threshold = 3;
    config.circuit_cooldown = Duration::from_millis(50);
    config.max_retries = 0;
    let client = WeChatClient::new(config).expect("client");
    client.get_groups().await.expect("warm up");
    t.sim.reset_calls();

    // Proper errcodes are WeChat answering: they never open it.
    t.sim.inject("groups/get", Fault::errcode(45018));
    for _ in 0..5 {
        client.get_groups().await.expect_err("45018");
    }
    assert_eq!(client.circuit().state, CircuitState::Closed);
    assert_eq!(client.circuit().consecutive_failures, 0);

    t.sim.inject("groups/get", Fault::errcode(-1));
    for n in 1..=3 {
        client.get_groups().await.expect_err("-1");
        assert_eq!(client.circuit().consecutive_failures, n);
    }
    let status = client.circuit();
    assert_eq!(status.state, CircuitState::Open);
    assert_eq!(status.last_error.and_then(|e| e.code()), Some(-1));
    assert!(status.open_until.is_some());
    assert_eq!(t.sim.calls("/cgi-bin/groups/get"), 8);

    // The 4th failing call sends nothing.
    match client.get_groups().await {
        Err(err @ WeChatError::CircuitOpen { .. }) => {
            assert!(
                err.title(Lang::En).contains("not answering"),
                "{}",
                err.title(Lang::En)
            );
            assert!(
                err.explain(Lang::Zh).contains("暂停"),
                "{}",
                err.explain(Lang::Zh)
            );
        }
        other => panic!("expected CircuitOpen, got {other:?}"),
    }
    assert_eq!(
        t.sim.calls("/cgi-bin/groups/get"),
        8,
        "nothing sent while open"
    );

    // Half-open: one trial; it fails, so the circuit opens again.
    await_circuit(&client, CircuitState::HalfOpen).await;
    client.get_groups().await.expect_err("the trial fails");
    assert_eq!(t.sim.calls("/cgi-bin/groups/get"), 9);
    assert_eq!(client.circuit().state, CircuitState::Open);

    // WeChat recovers: the next trial succeeds and closes it.
    t.sim.clear_faults();
    await_circuit(&client, CircuitState::HalfOpen).await;
    client.get_groups().await.expect("the trial succeeds");
    let status = client.circuit();
    assert_eq!(status.state, CircuitState::Closed);
    assert_eq!(status.consecutive_failures, 0);
    assert!(status.last_error.is_none());
    client.get_groups().await.expect("closed");
}

#[tokio::test]
async fn an_unreachable_wechat_opens_the_circuit_too() {
    let mut config = config(&refused_base());
    config.circuit_threshold = 2;
    config.circuit_cooldown = Duration::from_secs(60);
    let client = WeChatClient::new(config).expect("client");
    for _ in 0..2 {
        client.get_groups().await.expect_err("connect");
    }
    match client.get_groups().await {
        Err(WeChatError::CircuitOpen { last, retry_in }) => {
            assert!(matches!(
                *last,
                WeChatError::Transport {
                    kind: TransportKind::Connect,
                    ..
                }
            ));
            assert!(retry_in > Duration::from_secs(50));
        }
        other => panic!("expected CircuitOpen, got {other:?}"),
    }
}

/// A central token service: hands out the simulator's stable token, counting its calls.
async fn spawn_token_service(sim_base: String, calls: Arc<AtomicU64>) -> String {
    let router = Router::new().route(
        "/token",
        get(move || {
            let calls = calls.clone();
            let sim_base = sim_base.clone();
            async move {
                calls.fetch_add(1, Ordering::SeqCst);
                let demo = SimConfig::default();
                let answer: Value = reqwest::Client::new()
                    .post(format!("{sim_base}/cgi-bin/stable_token"))
                    .json(&json!({
                        "grant_type": "client_credential",
                        "appid": demo.appid,
                        "secret": demo.secret,
                        "force_refresh": false,
                    }))
                    .send()
                    .await
                    .expect("the simulator answers")
                    .json()
                    .await
                    .expect("JSON");
                axum::Json(answer)
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("address");
    tokio::spawn(async move { axum::serve(listener, router).await });
    format!("http://{addr}/token?key=SERVICE-KEY-123")
}

#[tokio::test]
async fn external_mode_takes_tokens_from_the_token_url_and_never_from_wechat() {
    let t = spawn_sim().await;
    let service_calls = Arc::new(AtomicU64::new(0));
    let token_url = spawn_token_service(t.base.clone(), service_calls.clone()).await;
    let mut config = config(&t.base);
    config.token_mode = "external".parse().expect("a mode");
    config.token_url = Some(token_url);
    assert_eq!(config.token_mode, TokenMode::External);
    let shown = format!("{config:?}");
    assert!(
        !shown.contains("SERVICE-KEY-123") && !shown.contains("demo-secret"),
        "{shown}"
    );
    let client = WeChatClient::new(config).expect("client");

    client.get_groups().await.expect("a list");
    client.get_groups().await.expect("cached token");
    assert_eq!(service_calls.load(Ordering::SeqCst), 1);
    // Only the service called WeChat's token endpoint; the client called none.
    assert_eq!(t.sim.calls("/cgi-bin/stable_token"), 1);
    assert_eq!(t.sim.calls("/cgi-bin/token"), 0);

    // An expired token: dropped, fetched again from the service, once.
    t.sim.expire_tokens();
    client.get_groups().await.expect("recovered");
    assert_eq!(service_calls.load(Ordering::SeqCst), 2);

    // Refused forever: one more fetch, one more attempt, then reported.
    t.sim.inject("groups/get", Fault::errcode(40001));
    let err = client.get_groups().await.expect_err("40001");
    assert_eq!(err.code(), Some(40001));
    assert_eq!(service_calls.load(Ordering::SeqCst), 3);
    assert_eq!(
        t.sim.calls("/cgi-bin/stable_token"),
        3,
        "all by the service"
    );
}

#[tokio::test]
async fn external_mode_without_a_token_url_is_refused_locally() {
    let mut config = config("http://127.0.0.1:9");
    config.token_mode = TokenMode::External;
    assert!(matches!(
        WeChatClient::new(config),
        Err(WeChatError::Local(_))
    ));
}

#[derive(Default)]
struct Counting(std::sync::Mutex<Vec<String>>);

impl CallObserver for Counting {
    fn upstream_call(&self, endpoint: &str) {
        if let Ok(mut seen) = self.0.lock() {
            seen.push(endpoint.to_owned());
        }
    }
}

#[tokio::test]
async fn the_observer_sees_every_request_sent_retries_and_token_fetches_included() {
    let t = spawn_sim().await;
    let observer = Arc::new(Counting::default());
    let mut observed = config(&t.base);
    observed.observer = Some(observer.clone());
    let client = WeChatClient::new(observed).expect("client");
    t.sim.inject(
        "groups/get",
        Fault {
            http_status: Some(502),
            times: Some(1),
            ..Fault::default()
        },
    );
    client.get_groups().await.expect("the retry succeeds");
    let seen = observer.0.lock().map(|s| s.clone()).unwrap_or_default();
    assert_eq!(seen, ["stable_token", "groups/get", "groups/get"]);
    assert_eq!(t.sim.total_calls(), 3);

    // A refused connection sent nothing.
    let observer = Arc::new(Counting::default());
    let mut refused = config(&refused_base());
    refused.observer = Some(observer.clone());
    WeChatClient::new(refused)
        .expect("client")
        .get_groups()
        .await
        .expect_err("connect");
    assert!(observer.0.lock().map(|s| s.is_empty()).unwrap_or(false));
}
