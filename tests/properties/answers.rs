//! What WeChat answers, read by the client: the answer decoder is private to the client, so it is
//! driven through the public client against a scripted fake that answers whatever body the case
//! says (HTTP 200, `application/json`), for every group and follower call, and for the token.
//!
//! The class of answer is worked out from the body independently: not a JSON object → a bad body;
//! an `errcode` that is not an integer → a bad body; a non-zero integer one → that errcode; else
//! the documented shape or a bad body, and a value decoded must be what the body says.

use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use axum::Router;
use axum::extract::Path;
use axum::http::header::CONTENT_TYPE;
use axum::routing::any as any_method;
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use serde_json::{Value, json};
use wxgroups::domain::{GroupId, OpenId};
use wxgroups::i18n::Lang;
use wxgroups::wechat::{ClientConfig, TransportKind, WeChatClient, WeChatError};

const APPID: &str = "wxproperty0000001";
const SECRET: &str = "APPSECRET-property-never-print";
/// The token the fake hands out: no error may ever show it, even when an answer quotes it.
const TOKEN: &str = "ACCESSTOKEN-property-4b1e";
const OPENID: &str = "oDF3iYx0ro3_7jD4HFRDfrjdCM58";

/// A fake WeChat on its own runtime, answering `body` to every call and `token` to the token
/// endpoint.
struct Fake {
    runtime: tokio::runtime::Runtime,
    base: String,
    body: Arc<Mutex<Vec<u8>>>,
    token: Arc<Mutex<Vec<u8>>>,
}

impl Fake {
    fn start() -> Fake {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("a runtime");
        let body = Arc::new(Mutex::new(Vec::new()));
        let good_token = json!({"access_token": TOKEN, "expires_in": 7200}).to_string();
        let token = Arc::new(Mutex::new(good_token.into_bytes()));
        let (b, t) = (body.clone(), token.clone());
        let router = Router::new().route(
            "/cgi-bin/{*path}",
            any_method(move |Path(path): Path<String>| {
                let answer = if path == "stable_token" { &t } else { &b };
                let bytes = answer.lock().unwrap().clone();
                async move { ([(CONTENT_TYPE, "application/json; encoding=utf-8")], bytes) }
            }),
        );
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .expect("bind the fake");
        let base = format!("http://{}", listener.local_addr().unwrap());
        runtime.spawn(async move { axum::serve(listener, router).await.unwrap() });
        Fake {
            runtime,
            base,
            body,
            token,
        }
    }

    /// A client that sends each call once (no retries, a circuit that never opens), so that
    /// every answer is read exactly as it came.
    fn client(&self) -> WeChatClient {
        let mut config = ClientConfig::new(&self.base, APPID, SECRET.to_owned());
        config.max_retries = 0;
        config.circuit_threshold = u32::MAX;
        config.timeout = Duration::from_secs(5);
        config.connect_timeout = Duration::from_secs(5);
        WeChatClient::new(config).expect("build the client")
    }
}

/// What the decoder must make of a body, worked out without it.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Class {
    BadBody,
    Api(i64),
    /// errcode absent or 0: the documented shape, or a bad body.
    Shape,
}

fn class_of(body: &[u8]) -> (Class, Option<Value>) {
    let Ok(value) = serde_json::from_slice::<Value>(body) else {
        return (Class::BadBody, None);
    };
    let Some(object) = value.as_object() else {
        return (Class::BadBody, Some(value));
    };
    let class = match object.get("errcode") {
        None | Some(Value::Null) => Class::Shape,
        Some(code) => match code.as_i64() {
            None => Class::BadBody,
            Some(0) => Class::Shape,
            Some(code) => Class::Api(code),
        },
    };
    (class, Some(value))
}

/// An error says what happened in both languages, and never shows a secret of the exchange
/// (the AppSecret, and the access_token a call carried), even when the answer quoted it.
fn explained(err: &WeChatError, secrets: &[&str]) -> Result<(), TestCaseError> {
    for lang in [Lang::Zh, Lang::En] {
        for text in [err.title(lang), err.explain(lang)] {
            prop_assert!(!text.trim().is_empty(), "{:?}", err);
            prop_assert!(!text.starts_with("wechat."), "a bare key: {}", text);
        }
    }
    let shown = format!("{err} {err:?}");
    for secret in secrets {
        prop_assert!(!shown.contains(secret), "{}", shown);
    }
    Ok(())
}

/// A call's result against the body's class. Answers the decoded value, if there is one.
fn settled<T>(
    class: Class,
    result: Result<T, WeChatError>,
    secrets: &[&str],
) -> Result<Option<T>, TestCaseError> {
    match result {
        Ok(value) => {
            prop_assert_eq!(class, Class::Shape, "accepted");
            Ok(Some(value))
        }
        Err(err) => {
            explained(&err, secrets)?;
            match class {
                Class::Api(code) => prop_assert_eq!(err.code(), Some(code), "{:?}", err),
                Class::BadBody | Class::Shape => prop_assert!(
                    matches!(
                        err,
                        WeChatError::Transport {
                            kind: TransportKind::BadBody,
                            ..
                        }
                    ),
                    "{:?}",
                    err
                ),
            }
            Ok(None)
        }
    }
}

/// What a group or follower call must never show: the token it carried and the AppSecret.
const CALL: &[&str] = &[TOKEN, SECRET];

/// Every group and follower call reads `body` as its own documented shape.
async fn check_calls(client: &WeChatClient, body: &[u8]) -> Result<(), TestCaseError> {
    let (class, value) = class_of(body);
    let value = value.unwrap_or(Value::Null);
    let openid = OpenId::parse(OPENID).unwrap();

    if let Some(groups) = settled(class, client.get_groups().await, CALL)? {
        let listed = value["groups"].as_array().cloned().unwrap_or_default();
        prop_assert_eq!(groups.len(), listed.len());
        for (group, wire) in groups.iter().zip(&listed) {
            prop_assert_eq!(Some(u64::from(group.id.get())), wire["id"].as_u64());
            prop_assert_eq!(Some(group.name.as_str()), wire["name"].as_str());
            prop_assert_eq!(Some(group.count), wire["count"].as_u64());
        }
    }
    if let Some(id) = settled(class, client.get_user_group(&openid).await, CALL)? {
        prop_assert_eq!(Some(u64::from(id.get())), value["groupid"].as_u64());
    }
    let moved = client.move_users(std::slice::from_ref(&openid), GroupId::from_upstream(100));
    if settled(class, moved.await, CALL)?.is_some() {
        // A write is done only when WeChat says errcode 0, not on any object that lacks one.
        prop_assert_eq!(value["errcode"].as_i64(), Some(0));
    }
    if let Some(page) = settled(class, client.list_followers(None).await, CALL)? {
        prop_assert_eq!(Some(page.total), value["total"].as_u64());
        let listed = value["data"]["openid"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let ids: Vec<&str> = page.openids.iter().map(OpenId::as_str).collect();
        let wire: Vec<&str> = listed.iter().filter_map(Value::as_str).collect();
        prop_assert_eq!(ids, wire);
        if let Some(next) = &page.next {
            prop_assert_eq!(Some(next.as_str()), value["next_openid"].as_str());
        }
    }
    let infos = client.follower_infos(std::slice::from_ref(&openid)).await;
    if let Some(infos) = settled(class, infos, CALL)? {
        let listed = value["user_info_list"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        prop_assert_eq!(infos.len(), listed.len());
        for (info, wire) in infos.iter().zip(&listed) {
            prop_assert_eq!(Some(info.openid.as_str()), wire["openid"].as_str());
            prop_assert_eq!(info.subscribed, wire["subscribe"].as_u64() == Some(1));
            prop_assert!(info.subscribed || info.group.is_none());
        }
    }
    Ok(())
}

/// A token answer: accepted only as a non-empty string token with a whole-second lifetime.
async fn check_token(fake: &Fake, body: &[u8]) -> Result<(), TestCaseError> {
    let (class, value) = class_of(body);
    *fake.token.lock().unwrap() = body.to_vec();
    let result = fake.client().access_token_ready().await;
    if let (Err(err), false) = (&result, matches!(class, Class::Api(_))) {
        // The token an answer carries is never quoted, whatever else is wrong with it. (An
        // errcode's errmsg is WeChat's own text and is shown as it came.)
        let quoted = value
            .as_ref()
            .and_then(|v| v["access_token"].as_str())
            .filter(|t| t.len() >= 6);
        if let Some(token) = quoted {
            prop_assert!(!format!("{err} {err:?}").contains(token), "{:?}", err);
        }
    }
    if settled(class, result, &[SECRET])?.is_some() {
        let value = value.unwrap_or(Value::Null);
        prop_assert!(
            value["access_token"]
                .as_str()
                .is_some_and(|t| !t.is_empty())
        );
        prop_assert!(value["expires_in"].as_u64().is_some());
    }
    Ok(())
}

/// Strings an answer may hold: ordinary, empty, odd, and ones that quote the token.
fn text() -> impl Strategy<Value = Value> {
    prop_oneof![
        prop::sample::select(vec![
            "",
            "ok",
            "未分组",
            "测试",
            "oDF3iYx0ro3_7jD4HFRDfrjdCM58",
            "not an openid",
            "x",
            "invalid credential ACCESSTOKEN-property-4b1e rid: 1",
            "/cgi-bin/groups/get?access_token=ACCESSTOKEN-property-4b1e",
            "secret APPSECRET-property-never-print echoed",
        ])
        .prop_map(Value::from),
        crate::any_text(12).prop_map(Value::from),
    ]
}

/// Numbers at the edges of every field's type.
fn number() -> impl Strategy<Value = Value> {
    prop_oneof![
        prop::sample::select(vec![
            json!(0),
            json!(1),
            json!(-1),
            json!(2),
            json!(100),
            json!(7200),
            json!(40001),
            json!(45009),
            json!(2_147_483_647),
            json!(2_147_483_648_u64),
            json!(4_294_967_295_u64),
            json!(4_294_967_296_u64),
            json!(u64::MAX),
            json!(i64::MIN),
            json!(1.5),
            json!(0.0),
            json!(1e20),
        ]),
        any::<i64>().prop_map(Value::from),
    ]
}

/// Any JSON value, with the keys of every documented answer likely to appear.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        number(),
        text(),
    ];
    leaf.prop_recursive(4, 24, 6, |inner| {
        let key = prop::sample::select(vec![
            "errcode",
            "errmsg",
            "groups",
            "id",
            "name",
            "count",
            "groupid",
            "total",
            "data",
            "openid",
            "next_openid",
            "user_info_list",
            "subscribe",
            "access_token",
            "expires_in",
            "other",
        ]);
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
            prop::collection::btree_map(key.prop_map(str::to_owned), inner, 0..5)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// The documented answers with one part off: a field missing, mistyped, out of range.
fn near_valid() -> impl Strategy<Value = Value> {
    let group = (number(), text(), number())
        .prop_map(|(id, name, count)| json!({"id": id, "name": name, "count": count}));
    let info = (number(), text(), number())
        .prop_map(|(subscribe, openid, groupid)| json!({"subscribe": subscribe, "openid": openid, "groupid": groupid}));
    prop_oneof![
        prop::collection::vec(group, 0..4).prop_map(|g| json!({"groups": g})),
        number().prop_map(|g| json!({"groupid": g})),
        (number(), text()).prop_map(|(code, msg)| json!({"errcode": code, "errmsg": msg})),
        (number(), prop::collection::vec(text(), 0..4), text()).prop_map(|(total, ids, next)| {
            json!({"total": total, "count": ids.len(), "data": {"openid": ids}, "next_openid": next})
        }),
        prop::collection::vec(info, 0..3).prop_map(|list| json!({"user_info_list": list})),
        (text(), number()).prop_map(|(t, e)| json!({"access_token": t, "expires_in": e})),
    ]
}

/// A body: arbitrary bytes, arbitrary JSON, a documented answer slightly off, or one of those
/// with whitespace or junk around it.
fn body() -> impl Strategy<Value = Vec<u8>> {
    let json = prop_oneof![2 => near_valid(), 1 => json_value()].prop_map(|v| v.to_string());
    let wrapped = (
        prop::sample::select(vec!["", "", " \n", "\u{FEFF}", "[", "x"]),
        json,
        prop::sample::select(vec!["", "", "\n", "}", " trailing"]),
    )
        .prop_map(|(before, json, after)| format!("{before}{json}{after}").into_bytes());
    prop_oneof![
        4 => wrapped,
        1 => prop::collection::vec(any::<u8>(), 0..200),
        1 => crate::any_text(60).prop_map(String::into_bytes),
    ]
}

fn group_calls() -> &'static Fake {
    static FAKE: OnceLock<Fake> = OnceLock::new();
    FAKE.get_or_init(Fake::start)
}

fn token_calls() -> &'static Fake {
    static FAKE: OnceLock<Fake> = OnceLock::new();
    FAKE.get_or_init(Fake::start)
}

proptest! {
    #![proptest_config(crate::config(256))]

    #[test]
    fn any_answer_to_a_group_call_is_its_shape_an_errcode_or_a_bad_body(body in body()) {
        let fake = group_calls();
        static CLIENT: OnceLock<WeChatClient> = OnceLock::new();
        let client = CLIENT.get_or_init(|| fake.client());
        *fake.body.lock().unwrap() = body.clone();
        fake.runtime.block_on(check_calls(client, &body))?;
    }

    #[test]
    fn any_answer_to_a_token_request_is_a_token_an_errcode_or_a_bad_body(body in body()) {
        let fake = token_calls();
        fake.runtime.block_on(check_token(fake, &body))?;
    }
}

/// Found by the token property: `{"access_token":"…","expires_in":18446744073709551615}` panicked
/// (adding the lifetime to an `Instant` overflowed); the client now keeps a token a day at most.
#[test]
fn a_token_answer_with_an_absurd_lifetime_is_refused_or_capped_not_a_panic() {
    let fake = Fake::start();
    let body = json!({"access_token": "a-token-123", "expires_in": u64::MAX}).to_string();
    *fake.token.lock().unwrap() = body.into_bytes();
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        fake.runtime.block_on(fake.client().access_token_ready())
    }));
    assert!(result.is_ok(), "the client panicked");
}
