//! The simulator over real HTTP: every endpoint's success and its WeChat error codes.

use std::time::Duration;

use serde_json::{Value, json};
use wxgroups::simulator::{SimConfig, Simulator, spawn_local};

/// A simulator served on a random local port, with a client and helpers that hide the URLs.
struct TestSim {
    sim: Simulator,
    base: String,
    http: reqwest::Client,
}

async fn spawn(config: SimConfig) -> TestSim {
    let sim = Simulator::new(config);
    let base = spawn_local(&sim).await.expect("the simulator listens");
    // reqwest is built without a TLS provider of its own and refuses to build a client until one
    // is installed, even for plain http. The crate's own (ring) is used; a second install by
    // another test in this process is refused harmlessly.
    let _ = rustls::crypto::ring::default_provider().install_default();
    TestSim {
        sim,
        base,
        http: reqwest::Client::new(),
    }
}

async fn spawn_default() -> TestSim {
    spawn(SimConfig::default()).await
}

fn errcode(v: &Value) -> i64 {
    v["errcode"].as_i64().unwrap_or(0)
}

impl TestSim {
    /// `reqwest`'s `.query()` needs a feature this crate does not enable; `Url` encodes as well.
    fn url(&self, path: &str, query: &[(&str, &str)]) -> reqwest::Url {
        reqwest::Url::parse_with_params(&format!("{}{path}", self.base), query)
            .expect("a valid URL")
    }

    async fn get(&self, path: &str, query: &[(&str, &str)]) -> Value {
        let response = self
            .http
            .get(self.url(path, query))
            .send()
            .await
            .expect("GET reaches the simulator");
        assert_eq!(
            response.status(),
            200,
            "WeChat answers errors with HTTP 200"
        );
        response.json().await.expect("a JSON body")
    }

    async fn post_raw(&self, path: &str, token: Option<&str>, body: String) -> Value {
        let query: &[(&str, &str)] = match token {
            Some(token) => &[("access_token", token)],
            None => &[],
        };
        let response = self
            .http
            .post(self.url(path, query))
            .body(body)
            .send()
            .await
            .expect("POST reaches the simulator");
        assert_eq!(response.status(), 200);
        response.json().await.expect("a JSON body")
    }

    async fn post(&self, path: &str, token: &str, body: Value) -> Value {
        self.post_raw(path, Some(token), body.to_string()).await
    }

    async fn classic_token_with(&self, appid: &str, secret: &str) -> Value {
        self.get(
            "/cgi-bin/token",
            &[
                ("grant_type", "client_credential"),
                ("appid", appid),
                ("secret", secret),
            ],
        )
        .await
    }

    async fn token(&self) -> String {
        let v = self
            .classic_token_with("wxdemo0000000000", "demo-secret")
            .await;
        v["access_token"]
            .as_str()
            .unwrap_or_else(|| panic!("a token, got {v}"))
            .to_owned()
    }

    async fn stable_token(&self, force_refresh: bool) -> Value {
        self.post_raw(
            "/cgi-bin/stable_token",
            None,
            json!({
                "grant_type": "client_credential",
                "appid": "wxdemo0000000000",
                "secret": "demo-secret",
                "force_refresh": force_refresh,
            })
            .to_string(),
        )
        .await
    }

    async fn groups(&self, token: &str) -> Vec<Value> {
        let v = self
            .get("/cgi-bin/groups/get", &[("access_token", token)])
            .await;
        v["groups"]
            .as_array()
            .unwrap_or_else(|| panic!("a group list, got {v}"))
            .clone()
    }

    async fn count_of(&self, token: &str, id: u64) -> u64 {
        self.groups(token)
            .await
            .iter()
            .find(|g| g["id"] == id)
            .and_then(|g| g["count"].as_u64())
            .unwrap_or_else(|| panic!("group {id} is listed"))
    }

    async fn create(&self, token: &str, name: &str) -> Value {
        self.post(
            "/cgi-bin/groups/create",
            token,
            json!({ "group": { "name": name } }),
        )
        .await
    }

    async fn new_group(&self, token: &str, name: &str) -> u64 {
        let v = self.create(token, name).await;
        v["group"]["id"]
            .as_u64()
            .unwrap_or_else(|| panic!("a new group, got {v}"))
    }
}

#[tokio::test]
async fn a_classic_token_is_long_random_and_lasts_7200_seconds() {
    let app = spawn_default().await;
    let v = app
        .classic_token_with("wxdemo0000000000", "demo-secret")
        .await;
    assert_eq!(v["expires_in"], 7200);
    let token = v["access_token"].as_str().expect("a token");
    assert!(token.len() >= 100, "{token}");
    assert!(
        token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    );
    assert_ne!(
        app.token().await,
        token,
        "each classic fetch is a new token"
    );
}

#[tokio::test]
async fn token_requests_with_a_wrong_grant_type_appid_or_secret_get_their_codes() {
    let app = spawn_default().await;
    let classic = |grant: &'static str, appid: &'static str, secret: &'static str| {
        let app = &app;
        async move {
            errcode(
                &app.get(
                    "/cgi-bin/token",
                    &[("grant_type", grant), ("appid", appid), ("secret", secret)],
                )
                .await,
            )
        }
    };
    assert_eq!(
        classic("password", "wxdemo0000000000", "demo-secret").await,
        40002
    );
    assert_eq!(
        classic("client_credential", "wxother", "demo-secret").await,
        40013
    );
    assert_eq!(
        classic("client_credential", "wxdemo0000000000", "wrong").await,
        40125
    );
    assert_eq!(classic("client_credential", "", "demo-secret").await, 41002);
    assert_eq!(
        classic("client_credential", "wxdemo0000000000", "").await,
        41004
    );

    let stable = |body: Value| {
        let app = &app;
        async move {
            errcode(
                &app.post_raw("/cgi-bin/stable_token", None, body.to_string())
                    .await,
            )
        }
    };
    let good =
        json!({"grant_type":"client_credential","appid":"wxdemo0000000000","secret":"demo-secret"});
    let with = |key: &str, value: &str| {
        let mut body = good.clone();
        body[key] = json!(value);
        body
    };
    assert_eq!(stable(with("grant_type", "x")).await, 40002);
    assert_eq!(stable(with("appid", "wxother")).await, 40013);
    assert_eq!(stable(with("secret", "wrong")).await, 40125);
    assert_eq!(stable(good).await, 0, "and the right ones pass");
}

#[tokio::test]
async fn the_stable_token_is_shared_and_independent_of_classic_tokens() {
    let app = spawn(SimConfig {
        classic_grace: Duration::ZERO,
        ..SimConfig::default()
    })
    .await;
    let a = app.stable_token(false).await;
    let token = a["access_token"]
        .as_str()
        .expect("a stable token")
        .to_owned();
    assert!(
        a["expires_in"]
            .as_u64()
            .is_some_and(|s| s > 7000 && s <= 7200)
    );
    app.token().await;
    app.token().await;
    let b = app.stable_token(false).await;
    assert_eq!(
        b["access_token"],
        token.as_str(),
        "same token for every caller"
    );
    let groups = app
        .get("/cgi-bin/groups/get", &[("access_token", &token)])
        .await;
    assert!(
        groups["groups"].is_array(),
        "classic fetches did not touch it: {groups}"
    );
}

#[tokio::test]
async fn force_refresh_replaces_the_stable_token_and_is_limited_to_once_per_30_seconds() {
    let app = spawn_default().await;
    let old = app.stable_token(false).await["access_token"]
        .as_str()
        .expect("a token")
        .to_owned();
    let new = app.stable_token(true).await["access_token"]
        .as_str()
        .expect("a forced token")
        .to_owned();
    assert_ne!(old, new);
    let with_old = app
        .get("/cgi-bin/groups/get", &[("access_token", &old)])
        .await;
    assert_eq!(errcode(&with_old), 40001);
    let with_new = app
        .get("/cgi-bin/groups/get", &[("access_token", &new)])
        .await;
    assert_eq!(errcode(&with_new), 0);
    assert_eq!(errcode(&app.stable_token(true).await), 45011);
}

#[tokio::test]
async fn the_previous_classic_token_stops_working_after_the_grace_period() {
    let with_grace = spawn_default().await;
    let old = with_grace.token().await;
    with_grace.token().await;
    let v = with_grace
        .get("/cgi-bin/groups/get", &[("access_token", &old)])
        .await;
    assert_eq!(errcode(&v), 0, "still inside the 5-minute overlap");

    let no_grace = spawn(SimConfig {
        classic_grace: Duration::ZERO,
        ..SimConfig::default()
    })
    .await;
    let old = no_grace.token().await;
    let new = no_grace.token().await;
    let v = no_grace
        .get("/cgi-bin/groups/get", &[("access_token", &old)])
        .await;
    assert_eq!(errcode(&v), 40001);
    let v = no_grace
        .get("/cgi-bin/groups/get", &[("access_token", &new)])
        .await;
    assert_eq!(errcode(&v), 0);
}

#[tokio::test]
async fn missing_unknown_expired_and_invalidated_tokens_answer_41001_40001_42001_40001() {
    let app = spawn_default().await;
    assert_eq!(errcode(&app.get("/cgi-bin/groups/get", &[]).await), 41001);
    let v = app
        .post_raw(
            "/cgi-bin/groups/create",
            None,
            r#"{"group":{"name":"x"}}"#.into(),
        )
        .await;
    assert_eq!(errcode(&v), 41001);
    let v = app
        .get("/cgi-bin/groups/get", &[("access_token", "made-up")])
        .await;
    assert_eq!(errcode(&v), 40001);

    let classic = app.token().await;
    let stable = app.stable_token(false).await["access_token"]
        .as_str()
        .expect("a token")
        .to_owned();
    app.sim.expire_tokens();
    for token in [&classic, &stable] {
        let v = app
            .get("/cgi-bin/groups/get", &[("access_token", token)])
            .await;
        assert_eq!(errcode(&v), 42001);
    }
    // A write with an expired token changes nothing.
    let before = app.sim.group_count();
    assert_eq!(errcode(&app.create(&classic, "x").await), 42001);
    assert_eq!(app.sim.group_count(), before);

    let fresh = app.token().await;
    assert_eq!(app.groups(&fresh).await.len(), before);
    app.sim.invalidate_tokens();
    let v = app
        .get("/cgi-bin/groups/get", &[("access_token", &fresh)])
        .await;
    assert_eq!(errcode(&v), 40001);
}

#[tokio::test]
async fn the_group_list_starts_with_the_system_groups_ordered_by_id_and_counts_everyone() {
    let app = spawn_default().await;
    let token = app.token().await;
    let groups = app.groups(&token).await;
    let ids: Vec<u64> = groups.iter().filter_map(|g| g["id"].as_u64()).collect();
    assert_eq!(ids, [0, 1, 2, 100, 101, 102, 103]);
    assert_eq!(groups[0]["name"], "未分组");
    assert_eq!(groups[1]["name"], "黑名单");
    assert_eq!(groups[2]["name"], "星标组");
    let total: u64 = groups.iter().filter_map(|g| g["count"].as_u64()).sum();
    assert_eq!(total, 1_000);
}

#[tokio::test]
async fn a_501st_group_is_refused_with_45018() {
    let app = spawn(SimConfig {
        followers: 10,
        ..SimConfig::default()
    })
    .await;
    let token = app.token().await;
    let first = app.new_group(&token, "g").await;
    assert_eq!(first, 104, "ids continue after the seeded groups");
    let mut last = first;
    while app.sim.group_count() < 500 {
        let id = app.new_group(&token, "g").await;
        assert!(id > last, "ids grow: {id} after {last}");
        last = id;
    }
    assert_eq!(app.groups(&token).await.len(), 500);
    assert_eq!(errcode(&app.create(&token, "one too many").await), 45018);
    assert_eq!(app.sim.group_count(), 500);
}

#[tokio::test]
async fn group_names_must_be_1_to_30_characters_and_duplicates_are_allowed() {
    let app = spawn_default().await;
    let token = app.token().await;
    assert_eq!(errcode(&app.create(&token, "").await), 40051);
    assert_eq!(errcode(&app.create(&token, &"组".repeat(31)).await), 45017);
    let v = app.create(&token, &"组".repeat(30)).await;
    assert_eq!(v["group"]["name"], "组".repeat(30));
    let a = app.new_group(&token, "同名").await;
    let b = app.new_group(&token, "同名").await;
    assert_ne!(a, b);
    let v = app
        .post("/cgi-bin/groups/create", &token, json!({ "group": {} }))
        .await;
    assert_eq!(errcode(&v), 47001);
}

#[tokio::test]
async fn renaming_follows_the_name_rules_and_spares_system_groups() {
    let app = spawn_default().await;
    let token = app.token().await;
    let rename = |id: i64, name: String| {
        let app = &app;
        let token = &token;
        async move {
            errcode(
                &app.post(
                    "/cgi-bin/groups/update",
                    token,
                    json!({ "group": { "id": id, "name": name } }),
                )
                .await,
            )
        }
    };
    assert_eq!(rename(1, "x".into()).await, 45016);
    assert_eq!(rename(0, "x".into()).await, 45016);
    assert_eq!(rename(999, "x".into()).await, 40050);
    assert_eq!(rename(-5, "x".into()).await, 40050);
    assert_eq!(rename(100, String::new()).await, 40051);
    assert_eq!(rename(100, "a".repeat(31)).await, 45017);
    assert_eq!(rename(100, "华北媒体".into()).await, 0);
    let groups = app.groups(&token).await;
    let renamed = groups.iter().find(|g| g["id"] == 100).expect("group 100");
    assert_eq!(renamed["name"], "华北媒体");
}

#[tokio::test]
async fn a_follower_can_be_looked_up_and_moved_one_at_a_time() {
    let app = spawn_default().await;
    let token = app.token().await;
    let openid = app.sim.follower_openid(7);
    let v = app
        .post("/cgi-bin/groups/getid", &token, json!({ "openid": openid }))
        .await;
    let from = v["groupid"].as_u64().expect("a group id");
    assert_eq!(Some(from as u32), app.sim.group_of(&openid));

    let to = app.new_group(&token, "新组").await;
    let from_count = app.count_of(&token, from).await;
    let v = app
        .post(
            "/cgi-bin/groups/members/update",
            &token,
            json!({ "openid": openid, "to_groupid": to }),
        )
        .await;
    assert_eq!(errcode(&v), 0);
    assert_eq!(v["errmsg"], "ok");
    let v = app
        .post("/cgi-bin/groups/getid", &token, json!({ "openid": openid }))
        .await;
    assert_eq!(v["groupid"], to);
    assert_eq!(app.count_of(&token, to).await, 1);
    assert_eq!(app.count_of(&token, from).await, from_count - 1);

    // The blacklist is a group like any other for moves.
    let v = app
        .post(
            "/cgi-bin/groups/members/update",
            &token,
            json!({ "openid": openid, "to_groupid": 1 }),
        )
        .await;
    assert_eq!(errcode(&v), 0);
    assert_eq!(app.sim.group_of(&openid), Some(1));
}

#[tokio::test]
async fn unknown_openids_answer_40003_and_unknown_groups_40050() {
    let app = spawn_default().await;
    let token = app.token().await;
    let real = app.sim.follower_openid(3);
    let mut tampered = real.clone().into_bytes();
    tampered[10] = if tampered[10] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(tampered).expect("ASCII");
    let other_account = Simulator::new(SimConfig {
        appid: "wxanother0000000".into(),
        ..SimConfig::default()
    })
    .follower_openid(3);
    let not_following = app.sim.follower_openid(1_000);
    for bad in [
        tampered.as_str(),
        other_account.as_str(),
        not_following.as_str(),
        "",
        "not an openid",
    ] {
        let v = app
            .post("/cgi-bin/groups/getid", &token, json!({ "openid": bad }))
            .await;
        assert_eq!(errcode(&v), 40003, "getid {bad:?}");
        let v = app
            .post(
                "/cgi-bin/groups/members/update",
                &token,
                json!({ "openid": bad, "to_groupid": 100 }),
            )
            .await;
        assert_eq!(errcode(&v), 40003, "update {bad:?}");
    }
    let before = app.sim.group_of(&real);
    let v = app
        .post(
            "/cgi-bin/groups/members/update",
            &token,
            json!({ "openid": real, "to_groupid": 4242 }),
        )
        .await;
    assert_eq!(errcode(&v), 40050);
    assert_eq!(app.sim.group_of(&real), before);
}

#[tokio::test]
async fn batchupdate_takes_1_to_50_openids_and_moves_all_or_nothing() {
    let app = spawn_default().await;
    let token = app.token().await;
    let to = app.new_group(&token, "批量").await;
    let openids: Vec<String> = (0..51).map(|i| app.sim.follower_openid(i)).collect();
    let batch = |list: &[String], to: u64| {
        let app = &app;
        let token = &token;
        let body = json!({ "openid_list": list, "to_groupid": to });
        async move {
            errcode(
                &app.post("/cgi-bin/groups/members/batchupdate", token, body)
                    .await,
            )
        }
    };

    assert_eq!(batch(&openids, to).await, 40032, "51 is one too many");
    assert_eq!(batch(&[], to).await, 40032);

    let mut with_stranger = openids[..50].to_vec();
    with_stranger[17] = app.sim.follower_openid(5_000);
    assert_eq!(batch(&with_stranger, to).await, 40003);
    assert_eq!(app.count_of(&token, to).await, 0, "nobody moved");
    assert!(
        openids[..50]
            .iter()
            .all(|o| app.sim.group_of(o) != Some(to as u32))
    );

    assert_eq!(batch(&openids[..50], 9_999).await, 40050);
    assert_eq!(batch(&openids[..50], to).await, 0);
    assert_eq!(app.count_of(&token, to).await, 50);
    assert!(
        openids[..50]
            .iter()
            .all(|o| app.sim.group_of(o) == Some(to as u32))
    );
    let total: u64 = app
        .groups(&token)
        .await
        .iter()
        .filter_map(|g| g["count"].as_u64())
        .sum();
    assert_eq!(total, 1_000);
}

#[tokio::test]
async fn deleting_a_group_sends_its_members_back_to_group_0() {
    let app = spawn_default().await;
    let token = app.token().await;
    let delete = |id: i64| {
        let app = &app;
        let token = &token;
        async move {
            errcode(
                &app.post(
                    "/cgi-bin/groups/delete",
                    token,
                    json!({ "group": { "id": id } }),
                )
                .await,
            )
        }
    };
    let members = app.count_of(&token, 100).await;
    let ungrouped = app.count_of(&token, 0).await;
    assert!(members > 0, "the seeded group has members");
    let member = (0..1_000)
        .map(|i| app.sim.follower_openid(i))
        .find(|o| app.sim.group_of(o) == Some(100))
        .expect("a member of group 100");

    assert_eq!(delete(100).await, 0);
    assert_eq!(app.count_of(&token, 0).await, ungrouped + members);
    assert!(app.groups(&token).await.iter().all(|g| g["id"] != 100));
    assert_eq!(app.sim.group_of(&member), Some(0));

    assert_eq!(delete(100).await, 40050, "already gone");
    for system in 0..=2 {
        assert_eq!(delete(system).await, 45016);
    }
    assert_eq!(
        app.new_group(&token, "new").await,
        104,
        "ids are not reused"
    );
}

#[tokio::test]
async fn the_follower_list_comes_in_pages_of_10000_ending_with_an_empty_one() {
    let app = spawn(SimConfig {
        followers: 23_456,
        ..SimConfig::default()
    })
    .await;
    let token = app.token().await;
    let mut seen = Vec::new();
    let mut next = String::new();
    let mut page_sizes = Vec::new();
    loop {
        let v = app
            .get(
                "/cgi-bin/user/get",
                &[("access_token", &token), ("next_openid", &next)],
            )
            .await;
        assert_eq!(v["total"], 23_456);
        let page: Vec<String> = v["data"]["openid"]
            .as_array()
            .unwrap_or_else(|| panic!("a page, got {v}"))
            .iter()
            .filter_map(|o| o.as_str().map(str::to_owned))
            .collect();
        assert_eq!(v["count"], page.len());
        page_sizes.push(page.len());
        next = v["next_openid"].as_str().expect("next_openid").to_owned();
        if page.is_empty() {
            assert_eq!(next, "");
            break;
        }
        assert_eq!(page.last(), Some(&next));
        seen.extend(page);
        assert!(page_sizes.len() < 10, "paging must end");
    }
    assert_eq!(page_sizes, [10_000, 10_000, 3_456, 0]);
    assert_eq!(seen[0], app.sim.follower_openid(0));
    assert_eq!(seen[23_455], app.sim.follower_openid(23_455));
    let distinct: std::collections::HashSet<&String> = seen.iter().collect();
    assert_eq!(distinct.len(), 23_456);

    let v = app
        .get(
            "/cgi-bin/user/get",
            &[("access_token", &token), ("next_openid", "bogus")],
        )
        .await;
    assert_eq!(errcode(&v), 40003);
}

#[tokio::test]
async fn user_info_tells_followers_from_people_who_do_not_follow() {
    let app = spawn_default().await;
    let token = app.token().await;
    let follower = app.sim.follower_openid(42);
    let stranger = app.sim.follower_openid(1_042);

    let v = app
        .get(
            "/cgi-bin/user/info",
            &[
                ("access_token", &token),
                ("openid", &follower),
                ("lang", "zh_CN"),
            ],
        )
        .await;
    assert_eq!(v["subscribe"], 1);
    assert_eq!(v["openid"], follower.as_str());
    assert_eq!(
        v["groupid"],
        app.sim.group_of(&follower).expect("a follower")
    );
    assert!(v["tagid_list"].is_array() && v["subscribe_time"].is_u64());

    let list = json!({ "user_list": [
        { "openid": follower, "lang": "zh_CN" },
        { "openid": stranger, "lang": "zh_CN" },
    ]});
    let v = app.post("/cgi-bin/user/info/batchget", &token, list).await;
    let infos = v["user_info_list"].as_array().expect("a list");
    assert_eq!(infos.len(), 2);
    assert_eq!(infos[0]["subscribe"], 1);
    assert_eq!(infos[1], json!({ "subscribe": 0, "openid": stranger }));

    let too_many: Vec<Value> = (0..101)
        .map(|i| json!({ "openid": app.sim.follower_openid(i) }))
        .collect();
    let v = app
        .post(
            "/cgi-bin/user/info/batchget",
            &token,
            json!({ "user_list": too_many }),
        )
        .await;
    assert_eq!(errcode(&v), 40032);
    let v = app
        .get(
            "/cgi-bin/user/info",
            &[("access_token", &token), ("openid", "garbage")],
        )
        .await;
    assert_eq!(errcode(&v), 40003);
}

#[tokio::test]
async fn a_body_that_is_not_the_expected_json_answers_47001() {
    let app = spawn_default().await;
    let token = app.token().await;
    for body in [
        "",
        "not json",
        "{\"group\":",
        "{\"group\":{\"name\":5}}",
        "[]",
    ] {
        let v = app
            .post_raw("/cgi-bin/groups/create", Some(&token), body.into())
            .await;
        assert_eq!(errcode(&v), 47001, "{body:?}");
    }
    let v = app
        .post(
            "/cgi-bin/groups/members/update",
            &token,
            json!({ "openid": app.sim.follower_openid(1), "to_groupid": "100" }),
        )
        .await;
    assert_eq!(errcode(&v), 47001, "a group id must be a number");
    let v = app
        .post(
            "/cgi-bin/groups/members/batchupdate",
            &token,
            json!({ "to_groupid": 100 }),
        )
        .await;
    assert_eq!(errcode(&v), 47001);
}

#[tokio::test]
async fn post_endpoints_refuse_get_with_43002_and_unknown_apis_answer_48001() {
    let app = spawn_default().await;
    let token = app.token().await;
    let v = app
        .get("/cgi-bin/groups/create", &[("access_token", &token)])
        .await;
    assert_eq!(errcode(&v), 43002);
    let v = app
        .get("/cgi-bin/groups/nonsense", &[("access_token", &token)])
        .await;
    assert_eq!(errcode(&v), 48001);
    assert!(v["errmsg"].as_str().is_some_and(|m| !m.is_empty()));
}

#[tokio::test]
async fn every_request_is_counted_per_path_successful_or_not() {
    let app = spawn_default().await;
    let token = app.token().await;
    app.groups(&token).await;
    app.groups(&token).await;
    app.get("/cgi-bin/groups/get", &[("access_token", "wrong")])
        .await;
    app.get("/cgi-bin/groups/get", &[]).await;
    app.create(&token, "").await;
    assert_eq!(app.sim.calls("/cgi-bin/groups/get"), 4);
    assert_eq!(app.sim.calls("/cgi-bin/token"), 1);
    assert_eq!(app.sim.calls("/cgi-bin/groups/create"), 1);
    assert_eq!(app.sim.calls("/cgi-bin/groups/delete"), 0);
    assert_eq!(app.sim.total_calls(), 6);

    // Test helpers are not calls.
    app.sim.group_of(&app.sim.follower_openid(0));
    app.sim.group_count();
    assert_eq!(app.sim.total_calls(), 6);

    app.sim.reset_calls();
    assert_eq!(app.sim.total_calls(), 0);
    assert_eq!(app.sim.calls("/cgi-bin/groups/get"), 0);
    app.groups(&token).await;
    assert_eq!(app.sim.calls("/cgi-bin/groups/get"), 1);
}

#[tokio::test]
async fn a_million_follower_account_starts_quickly() {
    let started = std::time::Instant::now();
    let sim = Simulator::new(SimConfig {
        followers: 1_000_000,
        ..SimConfig::default()
    });
    // Generous for an unoptimised test build on a shared machine; release is far below.
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    let last = sim.follower_openid(999_999);
    assert!(sim.group_of(&last).is_some());
    assert!(sim.tags_of(&last).is_some());
    assert!(
        sim.tag_members(102) > 70_000,
        "the demo tags are seeded too"
    );
    assert!(sim.group_of(&sim.follower_openid(1_000_000)).is_none());
}

#[tokio::test]
async fn the_control_endpoint_injects_and_clears_faults_from_loopback_and_shows_stats() {
    let app = spawn_default().await;
    let injected = app
        .http
        .post(format!("{}/_sim/faults", app.base))
        .body(
            json!({"endpoint": "groups/get", "fault": {"errcode": 45011, "times": 1}}).to_string(),
        )
        .send()
        .await
        .expect("the control endpoint answers");
    assert_eq!(injected.status(), 200);
    let token = app.token().await;
    let v = app
        .get("/cgi-bin/groups/get", &[("access_token", &token)])
        .await;
    assert_eq!(errcode(&v), 45011, "the fault applies once");
    let v = app
        .get("/cgi-bin/groups/get", &[("access_token", &token)])
        .await;
    assert_eq!(errcode(&v), 0, "then it is spent");

    let spec = app
        .http
        .post(format!("{}/_sim/faults", app.base))
        .body(json!({"spec": "*=errcode:-1"}).to_string())
        .send()
        .await
        .expect("answers");
    assert_eq!(spec.status(), 200);
    let v = app
        .get("/cgi-bin/groups/get", &[("access_token", &token)])
        .await;
    assert_eq!(errcode(&v), -1);
    let bad = app
        .http
        .post(format!("{}/_sim/faults", app.base))
        .body(json!({"spec": "groups/nope=errcode:-1"}).to_string())
        .send()
        .await
        .expect("answers");
    assert_eq!(bad.status(), 400);

    let cleared = app
        .http
        .delete(format!("{}/_sim/faults", app.base))
        .send()
        .await
        .expect("answers");
    assert_eq!(cleared.status(), 200);
    let v = app
        .get("/cgi-bin/groups/get", &[("access_token", &token)])
        .await;
    assert_eq!(errcode(&v), 0);

    let stats: Value = app
        .http
        .get(format!("{}/_sim/stats", app.base))
        .send()
        .await
        .expect("answers")
        .json()
        .await
        .expect("JSON");
    assert_eq!(stats["calls"]["/cgi-bin/groups/get"], 4, "{stats}");
    assert_eq!(stats["total_calls"], app.sim.total_calls());
    assert_eq!(stats["faults"], json!({}));
}

#[tokio::test]
async fn without_the_peer_address_the_control_endpoints_refuse() {
    use tower::ServiceExt as _;
    let sim = Simulator::new(SimConfig::default());
    for (method, uri) in [
        ("POST", "/_sim/faults"),
        ("DELETE", "/_sim/faults"),
        ("GET", "/_sim/stats"),
    ] {
        let request = axum::http::Request::builder()
            .method(method)
            .uri(uri)
            .body(axum::body::Body::from(r#"{"spec":"*=errcode:-1"}"#))
            .expect("a request");
        let response = sim.router().oneshot(request).await.expect("infallible");
        assert_eq!(response.status(), 403, "{method} {uri}");
    }
    assert_eq!(sim.total_calls(), 0);
}

#[tokio::test]
async fn a_dropped_connection_breaks_the_exchange_and_still_counts() {
    let app = spawn_default().await;
    app.sim.inject(
        "groups/getid",
        wxgroups::simulator::Fault {
            drop: true,
            ..Default::default()
        },
    );
    let token = app.token().await;
    let result = app
        .http
        .post(app.url("/cgi-bin/groups/getid", &[("access_token", &token)]))
        .body("{}")
        .send()
        .await;
    let failed = match result {
        Err(_) => true,
        Ok(response) => response.bytes().await.is_err(),
    };
    assert!(failed, "the client saw a broken connection");
    assert_eq!(app.sim.calls("/cgi-bin/groups/getid"), 1);
}

// The tag API.

/// An OpenID the simulator made for another AppID (49003 in the tag API), and one of ours with a
/// character changed (40003).
fn foreign_and_tampered(app: &TestSim) -> (String, String) {
    let foreign = Simulator::new(SimConfig {
        appid: "wxanother0000000".into(),
        followers: 10,
        ..SimConfig::default()
    })
    .follower_openid(3);
    let mut tampered = app.sim.follower_openid(3).into_bytes();
    tampered[10] = if tampered[10] == b'A' { b'B' } else { b'A' };
    (foreign, String::from_utf8(tampered).expect("ASCII"))
}

impl TestSim {
    async fn tags(&self, token: &str) -> Vec<Value> {
        let v = self
            .get("/cgi-bin/tags/get", &[("access_token", token)])
            .await;
        v["tags"]
            .as_array()
            .unwrap_or_else(|| panic!("a tag list, got {v}"))
            .clone()
    }

    async fn create_tag(&self, token: &str, name: &str) -> Value {
        self.post(
            "/cgi-bin/tags/create",
            token,
            json!({ "tag": { "name": name } }),
        )
        .await
    }

    /// `tags/members/{call}` (`batchtagging`, `batchuntagging`) with these OpenIDs: the errcode.
    async fn tagging<S: serde::Serialize>(
        &self,
        token: &str,
        call: &str,
        openids: &[S],
        tagid: i64,
    ) -> i64 {
        let body = json!({ "openid_list": openids, "tagid": tagid });
        let v = self
            .post(&format!("/cgi-bin/tags/members/{call}"), token, body)
            .await;
        errcode(&v)
    }

    /// `tags/members/{call}` (`batchblacklist`, `batchunblacklist`): the errcode.
    async fn blacklisting<S: serde::Serialize>(
        &self,
        token: &str,
        call: &str,
        openids: &[S],
    ) -> i64 {
        let body = json!({ "openid_list": openids });
        let v = self
            .post(&format!("/cgi-bin/tags/members/{call}"), token, body)
            .await;
        errcode(&v)
    }

    /// Every page of a paged list (`user/tag/get`, `getblacklist`), following `next_openid` in
    /// the request field `cursor`: each page's OpenIDs, the last (empty) page included.
    async fn pages(
        &self,
        token: &str,
        path: &str,
        mut body: Value,
        cursor: &str,
    ) -> Vec<Vec<String>> {
        let mut pages = Vec::new();
        loop {
            let v = self.post(path, token, body.clone()).await;
            let page: Vec<String> = v["data"]["openid"]
                .as_array()
                .unwrap_or_else(|| panic!("a page, got {v}"))
                .iter()
                .filter_map(|o| o.as_str().map(str::to_owned))
                .collect();
            assert_eq!(v["count"], page.len());
            let next = v["next_openid"].as_str().expect("next_openid").to_owned();
            let empty = page.is_empty();
            if empty {
                assert_eq!(next, "", "the empty page ends the list");
            } else {
                assert_eq!(page.last(), Some(&next));
            }
            pages.push(page);
            if empty {
                return pages;
            }
            assert!(pages.len() < 20, "paging must end");
            body[cursor] = json!(next);
        }
    }
}

#[tokio::test]
async fn the_tag_list_starts_with_tag_2_ordered_by_id_with_member_counts() {
    let app = spawn_default().await;
    let token = app.token().await;
    let tags = app.tags(&token).await;
    let ids: Vec<u64> = tags.iter().filter_map(|t| t["id"].as_u64()).collect();
    assert_eq!(
        ids,
        [2, 100, 101, 102, 103],
        "0 and 1 are reserved, not listed"
    );
    assert_eq!(tags[0]["name"], "星标组");
    for t in &tags {
        let id = t["id"].as_u64().expect("an id") as u32;
        assert_eq!(t["count"], app.sim.tag_members(id), "tag {id}");
        assert!(t["count"].as_u64().is_some_and(|n| n > 0), "{t}");
    }
    // A POST works too, as WeChat's GET endpoints do not mind the method.
    let v = app
        .post_raw("/cgi-bin/tags/get", Some(&token), String::new())
        .await;
    assert_eq!(v["tags"], json!(tags));
}

#[tokio::test]
async fn a_tag_name_is_1_to_30_bytes_and_unique() {
    let app = spawn_default().await;
    let token = app.token().await;
    let eleven = format!("{}a", "标".repeat(10));
    assert_eq!((eleven.chars().count(), eleven.len()), (11, 31));
    assert_eq!(errcode(&app.create_tag(&token, &eleven).await), 45158);
    let thirty = "标".repeat(10);
    let v = app.create_tag(&token, &thirty).await;
    assert_eq!(v, json!({ "tag": { "id": 104, "name": thirty } }));
    assert_eq!(
        errcode(&app.create_tag(&token, &thirty).await),
        45157,
        "duplicate"
    );
    assert_eq!(
        errcode(&app.create_tag(&token, "VIP").await),
        45157,
        "seeded name"
    );
    assert_eq!(errcode(&app.create_tag(&token, "").await), 45157);
    assert_eq!(errcode(&app.create_tag(&token, "  ").await), 45157);
    let v = app
        .post("/cgi-bin/tags/create", &token, json!({ "tag": {} }))
        .await;
    assert_eq!(errcode(&v), 47001);
    assert_eq!(app.sim.tag_count(), 6, "only the 30-byte name was created");
    let listed = app.tags(&token).await;
    assert_eq!(listed.last().expect("a tag")["name"], thirty.as_str());
    assert_eq!(listed.last().expect("a tag")["count"], 0);
}

#[tokio::test]
async fn a_101st_tag_is_refused_with_45056() {
    let app = spawn(SimConfig {
        followers: 10,
        ..SimConfig::default()
    })
    .await;
    let token = app.token().await;
    let mut last = 103;
    while app.sim.tag_count() < 100 {
        let v = app.create_tag(&token, &format!("t{last}")).await;
        let id = v["tag"]["id"]
            .as_u64()
            .unwrap_or_else(|| panic!("a new tag, got {v}"));
        assert_eq!(id, last + 1, "ids grow one by one from 104");
        last = id;
    }
    assert_eq!(app.tags(&token).await.len(), 100, "tag 2 counts");
    assert_eq!(
        errcode(&app.create_tag(&token, "one too many").await),
        45056
    );
    assert_eq!(app.sim.tag_count(), 100);
}

#[tokio::test]
async fn renaming_a_tag_follows_the_name_rules_and_spares_tags_0_1_2() {
    let app = spawn_default().await;
    let token = app.token().await;
    let rename = |id: i64, name: String| {
        let app = &app;
        let token = &token;
        async move {
            let body = json!({ "tag": { "id": id, "name": name } });
            errcode(&app.post("/cgi-bin/tags/update", token, body).await)
        }
    };
    for system in 0..=2 {
        assert_eq!(rename(system, "x".into()).await, 45058, "tag {system}");
    }
    assert_eq!(rename(999, "x".into()).await, 45159);
    assert_eq!(rename(-1, "x".into()).await, 45159);
    assert_eq!(rename(100, "VIP".into()).await, 45157, "another tag's name");
    assert_eq!(rename(100, String::new()).await, 45157);
    assert_eq!(rename(100, format!("{}a", "标".repeat(10))).await, 45158);
    assert_eq!(rename(101, "VIP".into()).await, 0, "its own name");
    assert_eq!(rename(100, "华北客户".into()).await, 0);
    let tags = app.tags(&token).await;
    let renamed = tags.iter().find(|t| t["id"] == 100).expect("tag 100");
    assert_eq!(renamed["name"], "华北客户");
    assert_eq!(renamed["count"], app.sim.tag_members(100), "members kept");
}

#[tokio::test]
async fn deleting_a_tag_untags_everyone_but_not_when_it_has_over_100000_followers() {
    let app = spawn(SimConfig {
        followers: 100_001,
        ..SimConfig::default()
    })
    .await;
    let token = app.token().await;
    let delete = |id: i64| {
        let app = &app;
        let token = &token;
        async move {
            let body = json!({ "tag": { "id": id } });
            errcode(&app.post("/cgi-bin/tags/delete", token, body).await)
        }
    };
    let big = app.sim.create_tag("大");
    app.sim.tag_range(big, 0..100_001);
    assert_eq!(delete(i64::from(big)).await, 45057, "100,001 followers");
    assert_eq!(app.sim.tag_members(big), 100_001);
    let first = app.sim.follower_openid(0);
    assert_eq!(
        app.tagging(&token, "batchuntagging", &[&first], i64::from(big))
            .await,
        0
    );
    assert_eq!(app.sim.tag_members(big), 100_000);
    assert_eq!(
        delete(i64::from(big)).await,
        0,
        "100,000 followers is not more than 100,000"
    );
    assert!(app.tags(&token).await.iter().all(|t| t["id"] != big));
    let member = app.sim.follower_openid(77);
    assert!(!app.sim.tags_of(&member).expect("a follower").contains(&big));

    assert_eq!(delete(i64::from(big)).await, 45159, "already gone");
    for system in 0..=2 {
        assert_eq!(delete(system).await, 45058);
    }
    let v = app.create_tag(&token, "新").await;
    assert_eq!(v["tag"]["id"], big + 1, "ids are not reused");
}

#[tokio::test]
async fn a_tags_members_come_in_pages_of_10000_ending_with_an_empty_one() {
    let app = spawn(SimConfig {
        followers: 23_456,
        ..SimConfig::default()
    })
    .await;
    let token = app.token().await;
    let tag = app.sim.create_tag("页");
    app.sim.tag_range(tag, 1_000..23_000);
    let body = json!({ "tagid": tag, "next_openid": "" });
    let pages = app
        .pages(&token, "/cgi-bin/user/tag/get", body, "next_openid")
        .await;
    let sizes: Vec<usize> = pages.iter().map(Vec::len).collect();
    assert_eq!(sizes, [10_000, 10_000, 2_000, 0]);
    let all: Vec<&String> = pages.iter().flatten().collect();
    assert_eq!(all[0], &app.sim.follower_openid(1_000));
    assert_eq!(all[21_999], &app.sim.follower_openid(22_999));
    let distinct: std::collections::HashSet<&&String> = all.iter().collect();
    assert_eq!(distinct.len(), 22_000);

    // A seeded tag lists exactly its members, in one page.
    let body = json!({ "tagid": 101 });
    let pages = app
        .pages(&token, "/cgi-bin/user/tag/get", body, "next_openid")
        .await;
    assert_eq!(pages.len(), 2);
    assert_eq!(pages[0].len() as u64, app.sim.tag_members(101));
    assert!(
        pages[0]
            .iter()
            .all(|o| app.sim.tags_of(o).is_some_and(|t| t.contains(&101)))
    );

    let get = |body: Value| {
        let app = &app;
        let token = &token;
        async move { errcode(&app.post("/cgi-bin/user/tag/get", token, body).await) }
    };
    assert_eq!(get(json!({ "tagid": 999, "next_openid": "" })).await, 45159);
    assert_eq!(get(json!({ "tagid": 1, "next_openid": "" })).await, 45159);
    assert_eq!(
        get(json!({ "tagid": tag, "next_openid": "bogus" })).await,
        40003
    );
    let stranger = app.sim.follower_openid(30_000);
    assert_eq!(
        get(json!({ "tagid": tag, "next_openid": stranger })).await,
        40003
    );
    assert_eq!(get(json!({ "next_openid": "" })).await, 47001);
}

#[tokio::test]
async fn tagging_takes_1_to_50_openids_and_changes_all_or_nothing() {
    let app = spawn_default().await;
    let token = app.token().await;
    let tag = i64::from(app.sim.create_tag("批量"));
    let openids: Vec<String> = (0..51).map(|i| app.sim.follower_openid(i)).collect();
    let fifty = &openids[..50];
    let (foreign, tampered) = foreign_and_tampered(&app);

    assert_eq!(
        app.tagging(&token, "batchtagging", &openids, tag).await,
        40032,
        "51"
    );
    assert_eq!(
        app.tagging(&token, "batchtagging", &[] as &[&str], tag)
            .await,
        40032
    );
    for (bad, code) in [
        (app.sim.follower_openid(5_000), 40003),
        (tampered.clone(), 40003),
        ("garbage".to_owned(), 40003),
        (foreign.clone(), 49003),
    ] {
        let mut list = fifty.to_vec();
        list[17] = bad.clone();
        assert_eq!(
            app.tagging(&token, "batchtagging", &list, tag).await,
            code,
            "{bad}"
        );
    }
    assert_eq!(
        app.tagging(&token, "batchtagging", fifty, 9_999).await,
        45159
    );
    assert_eq!(app.tagging(&token, "batchtagging", fifty, 0).await, 45058);
    assert_eq!(app.tagging(&token, "batchtagging", fifty, 1).await, 45058);
    assert_eq!(app.sim.tag_members(tag as u32), 0, "nobody changed");
    assert!(app.sim.tag_log().is_empty(), "refused calls are not logged");

    assert_eq!(app.tagging(&token, "batchtagging", fifty, tag).await, 0);
    assert_eq!(app.sim.tag_members(tag as u32), 50);
    assert!(fifty.iter().all(|o| {
        app.sim
            .tags_of(o)
            .is_some_and(|t| t.contains(&(tag as u32)))
    }));
    // Tagging again is a no-op that succeeds.
    assert_eq!(
        app.tagging(&token, "batchtagging", &fifty[..2], tag).await,
        0
    );
    assert_eq!(app.sim.tag_members(tag as u32), 50);

    let mut list = fifty[..10].to_vec();
    list[3] = foreign;
    assert_eq!(
        app.tagging(&token, "batchuntagging", &list, tag).await,
        49003
    );
    assert_eq!(
        app.tagging(&token, "batchuntagging", &openids, tag).await,
        40032
    );
    assert_eq!(app.tagging(&token, "batchuntagging", fifty, 0).await, 45058);
    assert_eq!(
        app.tagging(&token, "batchuntagging", fifty, 9_999).await,
        45159
    );
    assert_eq!(app.sim.tag_members(tag as u32), 50, "nobody changed");
    // The 51st never had the tag: untagging it is a no-op that succeeds.
    assert_eq!(
        app.tagging(&token, "batchuntagging", &openids[40..], tag)
            .await,
        0
    );
    assert_eq!(app.sim.tag_members(tag as u32), 40);

    let log = app.sim.tag_log();
    let calls: Vec<(&str, usize, u32)> = log.iter().map(|(c, o, t)| (*c, o.len(), *t)).collect();
    let t = tag as u32;
    assert_eq!(
        calls,
        [
            ("batchtagging", 50, t),
            ("batchtagging", 2, t),
            ("batchuntagging", 11, t)
        ]
    );
    assert_eq!(log[0].1, fifty);

    // Tag 2 (星标组) holds followers like any other tag.
    let before = app.sim.tag_members(2);
    let outsider = (0..1_000)
        .map(|i| app.sim.follower_openid(i))
        .find(|o| !app.sim.tags_of(o).expect("a follower").contains(&2))
        .expect("someone not starred");
    assert_eq!(app.tagging(&token, "batchtagging", &[outsider], 2).await, 0);
    assert_eq!(app.sim.tag_members(2), before + 1);
}

#[tokio::test]
async fn a_follower_with_20_tags_cannot_get_another() {
    let app = spawn_default().await;
    let token = app.token().await;
    let untagged: Vec<String> = (0..1_000)
        .map(|i| app.sim.follower_openid(i))
        .filter(|o| app.sim.tags_of(o).is_some_and(|t| t.is_empty()))
        .take(2)
        .collect();
    let (full, other) = (&untagged[0], &untagged[1]);
    let tags: Vec<i64> = (0..21)
        .map(|n| i64::from(app.sim.create_tag(&format!("t{n}"))))
        .collect();
    for &tag in &tags[..20] {
        assert_eq!(app.tagging(&token, "batchtagging", &[full], tag).await, 0);
    }
    assert_eq!(app.sim.tags_of(full).expect("a follower").len(), 20);
    let both = [other.clone(), full.clone()];
    assert_eq!(
        app.tagging(&token, "batchtagging", &both, tags[20]).await,
        45059
    );
    assert_eq!(
        app.sim.tag_members(tags[20] as u32),
        0,
        "the other was not tagged either"
    );
    assert_eq!(
        app.tagging(&token, "batchtagging", &both, tags[0]).await,
        0,
        "one of the 20"
    );
    assert_eq!(
        app.tagging(&token, "batchuntagging", &[full], tags[0])
            .await,
        0
    );
    assert_eq!(
        app.tagging(&token, "batchtagging", &both, tags[20]).await,
        0
    );
    assert_eq!(app.sim.tags_of(full).expect("a follower").len(), 20);
}

#[tokio::test]
async fn getidlist_answers_a_followers_tags_ascending() {
    let app = spawn_default().await;
    let token = app.token().await;
    let getidlist = |openid: String| {
        let app = &app;
        let token = &token;
        async move {
            app.post(
                "/cgi-bin/tags/getidlist",
                token,
                json!({ "openid": openid }),
            )
            .await
        }
    };
    let (many, expected) = (0..1_000)
        .map(|i| app.sim.follower_openid(i))
        .map(|o| {
            let tags = app.sim.tags_of(&o).expect("a follower");
            (o, tags)
        })
        .find(|(_, tags)| tags.len() >= 2)
        .expect("a follower with two seeded tags");
    let v = getidlist(many.clone()).await;
    assert_eq!(v, json!({ "tagid_list": expected }));
    assert!(expected.windows(2).all(|w| w[0] < w[1]), "{expected:?}");

    let tag = app.sim.create_tag("新");
    assert_eq!(
        app.tagging(&token, "batchtagging", &[&many], i64::from(tag))
            .await,
        0
    );
    let v = getidlist(many).await;
    assert_eq!(
        v["tagid_list"].as_array().expect("a list").last(),
        Some(&json!(tag))
    );

    let (foreign, tampered) = foreign_and_tampered(&app);
    assert_eq!(errcode(&getidlist(foreign).await), 49003);
    assert_eq!(errcode(&getidlist(tampered).await), 40003);
    assert_eq!(
        errcode(&getidlist(app.sim.follower_openid(1_000)).await),
        40003
    );
    assert_eq!(errcode(&getidlist(String::new()).await), 40003);
}

#[tokio::test]
async fn the_blacklist_pages_1000_at_a_time_and_takes_1_to_20_openids() {
    let app = spawn(SimConfig {
        followers: 300_000,
        ..SimConfig::default()
    })
    .await;
    let token = app.token().await;
    let total = |v: &Value| v["total"].as_u64().expect("a total");
    let first = app
        .post(
            "/cgi-bin/tags/members/getblacklist",
            &token,
            json!({ "begin_openid": "" }),
        )
        .await;
    let seeded = total(&first);
    assert!((1_001..2_000).contains(&seeded), "{seeded}");
    let pages = app
        .pages(
            &token,
            "/cgi-bin/tags/members/getblacklist",
            json!({}),
            "begin_openid",
        )
        .await;
    let sizes: Vec<usize> = pages.iter().map(Vec::len).collect();
    assert_eq!(sizes, [1_000, seeded as usize - 1_000, 0]);
    assert!(pages.iter().flatten().all(|o| app.sim.is_blacklisted(o)));

    let clean: Vec<String> = (0..300)
        .map(|i| app.sim.follower_openid(i))
        .filter(|o| !app.sim.is_blacklisted(o))
        .take(21)
        .collect();
    let twenty = &clean[..20];
    let (foreign, tampered) = foreign_and_tampered(&app);
    assert_eq!(
        app.blacklisting(&token, "batchblacklist", &clean).await,
        40032,
        "21"
    );
    assert_eq!(
        app.blacklisting(&token, "batchblacklist", &[] as &[&str])
            .await,
        40032
    );
    for (bad, code) in [(foreign, 49003), (tampered, 40003)] {
        let mut list = twenty.to_vec();
        list[5] = bad;
        assert_eq!(
            app.blacklisting(&token, "batchblacklist", &list).await,
            code
        );
        assert_eq!(
            app.blacklisting(&token, "batchunblacklist", &list).await,
            code
        );
    }
    assert!(
        twenty.iter().all(|o| !app.sim.is_blacklisted(o)),
        "nobody changed"
    );

    assert_eq!(app.blacklisting(&token, "batchblacklist", twenty).await, 0);
    assert!(twenty.iter().all(|o| app.sim.is_blacklisted(o)));
    assert_eq!(
        app.blacklisting(&token, "batchblacklist", &twenty[..3])
            .await,
        0,
        "again"
    );
    let after = |begin: &str| {
        let app = &app;
        let token = &token;
        let body = json!({ "begin_openid": begin });
        async move {
            app.post("/cgi-bin/tags/members/getblacklist", token, body)
                .await
        }
    };
    assert_eq!(total(&after("").await), seeded + 20);
    assert_eq!(
        app.blacklisting(&token, "batchunblacklist", &clean[10..])
            .await,
        0
    );
    assert_eq!(
        total(&after("").await),
        seeded + 10,
        "the 21st was not blacklisted"
    );
    assert!(!app.sim.is_blacklisted(&clean[15]) && app.sim.is_blacklisted(&clean[5]));
    assert_eq!(errcode(&after("bogus").await), 40003);
}

#[tokio::test]
async fn user_info_and_batchget_carry_each_followers_tags() {
    let app = spawn_default().await;
    let token = app.token().await;
    let follower = app.sim.follower_openid(42);
    let tag = app.sim.create_tag("信息");
    assert_eq!(
        app.tagging(&token, "batchtagging", &[&follower], i64::from(tag))
            .await,
        0
    );
    let expected = app.sim.tags_of(&follower).expect("a follower");
    assert!(expected.contains(&tag));
    let v = app
        .get(
            "/cgi-bin/user/info",
            &[("access_token", &token), ("openid", &follower)],
        )
        .await;
    assert_eq!(v["tagid_list"], json!(expected));
    assert_eq!(
        v["groupid"],
        app.sim.group_of(&follower).expect("a follower")
    );

    let tagged = (0..1_000)
        .map(|i| app.sim.follower_openid(i))
        .find(|o| app.sim.tags_of(o).is_some_and(|t| t.len() >= 2))
        .expect("a follower with two tags");
    let list = json!({ "user_list": [{ "openid": follower }, { "openid": tagged }] });
    let v = app.post("/cgi-bin/user/info/batchget", &token, list).await;
    let infos = v["user_info_list"].as_array().expect("a list");
    assert_eq!(infos[0]["tagid_list"], json!(expected));
    assert_eq!(infos[1]["tagid_list"], json!(app.sim.tags_of(&tagged)));
}

#[tokio::test]
async fn switched_off_apis_answer_48001_and_change_nothing() {
    let no_tags = spawn(SimConfig {
        tags_api: false,
        ..SimConfig::default()
    })
    .await;
    let token = no_tags.token().await;
    let v = no_tags
        .get("/cgi-bin/tags/get", &[("access_token", &token)])
        .await;
    assert_eq!(errcode(&v), 48001);
    assert_eq!(errcode(&no_tags.create_tag(&token, "x").await), 48001);
    assert_eq!(no_tags.sim.tag_count(), 5);
    let openid = no_tags.sim.follower_openid(1);
    for (path, body) in [
        ("/cgi-bin/user/tag/get", json!({ "tagid": 2 })),
        ("/cgi-bin/tags/getidlist", json!({ "openid": openid })),
        ("/cgi-bin/tags/members/getblacklist", json!({})),
        (
            "/cgi-bin/tags/members/batchblacklist",
            json!({ "openid_list": [openid] }),
        ),
    ] {
        assert_eq!(
            errcode(&no_tags.post(path, &token, body).await),
            48001,
            "{path}"
        );
    }
    assert!(!no_tags.sim.is_blacklisted(&openid));
    assert_eq!(
        no_tags.tagging(&token, "batchtagging", &[&openid], 2).await,
        48001
    );
    assert_eq!(
        no_tags.groups(&token).await.len(),
        7,
        "the groups API still answers"
    );
    let v = no_tags.get("/cgi-bin/tags/get", &[]).await;
    assert_eq!(errcode(&v), 41001, "the token is checked first");

    let no_groups = spawn(SimConfig {
        groups_api: false,
        ..SimConfig::default()
    })
    .await;
    let token = no_groups.token().await;
    let v = no_groups
        .get("/cgi-bin/groups/get", &[("access_token", &token)])
        .await;
    assert_eq!(errcode(&v), 48001);
    assert_eq!(errcode(&no_groups.create(&token, "x").await), 48001);
    assert_eq!(no_groups.sim.group_count(), 7);
    assert_eq!(
        no_groups.tags(&token).await.len(),
        5,
        "the tag API still answers"
    );
    let v = no_groups
        .get(
            "/cgi-bin/user/info",
            &[
                ("access_token", &token),
                ("openid", &no_groups.sim.follower_openid(1)),
            ],
        )
        .await;
    assert_eq!(v["subscribe"], 1, "user/* always answers");
}

#[tokio::test]
async fn tagging_shares_batchupdates_per_minute_limit() {
    let app = spawn(SimConfig {
        batch_per_minute: Some(2),
        ..SimConfig::default()
    })
    .await;
    let token = app.token().await;
    let tag = i64::from(app.sim.create_tag("限"));
    let a = vec![app.sim.follower_openid(1)];
    let body = json!({ "openid_list": a, "to_groupid": 100 });
    let v = app
        .post("/cgi-bin/groups/members/batchupdate", &token, body)
        .await;
    assert_eq!(errcode(&v), 0);
    assert_eq!(app.tagging(&token, "batchtagging", &a, 9_999).await, 45159);
    assert_eq!(
        app.tagging(&token, "batchtagging", &a, tag).await,
        0,
        "the refused one did not count"
    );
    assert_eq!(app.tagging(&token, "batchuntagging", &a, tag).await, 45011);
    assert_eq!(app.sim.tag_members(tag as u32), 1, "nothing changed");
    assert_eq!(app.sim.tag_log().len(), 1);
}

#[tokio::test]
async fn tag_endpoints_taking_a_body_refuse_get_and_bad_json() {
    let app = spawn_default().await;
    let token = app.token().await;
    for path in [
        "/cgi-bin/tags/create",
        "/cgi-bin/tags/update",
        "/cgi-bin/tags/delete",
        "/cgi-bin/user/tag/get",
        "/cgi-bin/tags/members/batchtagging",
        "/cgi-bin/tags/members/batchuntagging",
        "/cgi-bin/tags/getidlist",
        "/cgi-bin/tags/members/getblacklist",
        "/cgi-bin/tags/members/batchblacklist",
        "/cgi-bin/tags/members/batchunblacklist",
    ] {
        let v = app.get(path, &[("access_token", &token)]).await;
        assert_eq!(errcode(&v), 43002, "GET {path}");
        let v = app.post_raw(path, Some(&token), "not json".into()).await;
        assert_eq!(errcode(&v), 47001, "POST {path}");
    }
    let v = app
        .post(
            "/cgi-bin/tags/members/batchtagging",
            &token,
            json!({ "openid_list": [app.sim.follower_openid(1)], "tagid": "100" }),
        )
        .await;
    assert_eq!(errcode(&v), 47001, "a tag id must be a number");
}
