use crate::helpers::TestApp;

#[tokio::test]
async fn looking_up_a_follower_shows_their_group() {
    let app = TestApp::spawn().await;
    app.get("/groups").await;
    let openid = app.sim.follower_openid(7);
    let group = app.sim.group_of(&openid).unwrap();

    let panel = app
        .get_hx(&format!("/members/lookup?openid={openid}"))
        .await;
    assert_eq!(panel.status, 200, "{}", panel.body);
    assert!(panel.text(".found").contains(&format!("id {group}")));
    assert!(panel.has(&format!("input[name=openid][value='{openid}']")));
    // The current group is not offered as a target.
    assert!(!panel.has(&format!("#move-to option[value='{group}']")));

    // Without JavaScript the form goes to the page itself.
    let page = app.get(&format!("/groups?openid={openid}")).await;
    assert_eq!(page.status, 200);
    assert!(page.text(".found").contains(&format!("id {group}")));
}

#[tokio::test]
async fn malformed_openids_are_refused_without_asking_wechat() {
    let app = TestApp::spawn().await;
    app.get("/groups").await;
    for bad in [
        "",
        "abc",
        &"a".repeat(65),
        "oDF3/iYx0ro3_7jD4HFRDfrjd",
        "oDF3 iYx0ro3",
        "oDF3\r\niYx0",
        "oDF3中文iYx0ro3",
    ] {
        let page = app
            .http
            .get(
                reqwest::Url::parse_with_params(&app.url("/members/lookup"), &[("openid", bad)])
                    .unwrap(),
            )
            .header("HX-Request", "true")
            .send()
            .await
            .unwrap();
        let page = crate::helpers::read(page).await;
        assert_eq!(page.status, 422, "{bad:?}");
        assert!(page.has("#lookup-error"), "{bad:?}");
    }
    assert_eq!(app.calls("groups/getid"), 0);
}

#[tokio::test]
async fn an_unknown_openid_gets_wechats_40003_explained() {
    let app = TestApp::spawn().await;
    let page = app
        .get_hx("/members/lookup?openid=oUnknownUser000000000000000")
        .await;
    assert_eq!(page.status, 422);
    let error = page.text("#lookup-error");
    assert!(error.contains("40003"), "{error}");
}

#[tokio::test]
async fn moving_a_follower_updates_wechat_and_both_counts_on_the_page() {
    let app = TestApp::spawn().await;
    let before = app.get("/groups").await;
    let openid = app.sim.follower_openid(3);
    let from = app.sim.group_of(&openid).unwrap();
    let to = if from == 100 { 101 } else { 100 };

    let page = app
        .post_hx(
            "/members/move",
            &[("openid", &openid), ("to_groupid", &to.to_string())],
        )
        .await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert_eq!(app.sim.group_of(&openid), Some(to));
    assert!(page.text(".found").contains(&format!("id {to}")));
    assert!(
        page.has("#groups-table[hx-swap-oob]"),
        "the table rides along"
    );
    assert_eq!(page.count_of(from), before.count_of(from) - 1);
    assert_eq!(page.count_of(to), before.count_of(to) + 1);
    assert!(page.text("#messages").contains(&openid));
    assert_eq!(app.calls("groups/members/update"), 1);

    // The counts agree with WeChat's after a refresh.
    let refreshed = app.post_hx("/groups/refresh", &[]).await;
    assert_eq!(refreshed.count_of(from), page.count_of(from));
    assert_eq!(refreshed.count_of(to), page.count_of(to));
}

#[tokio::test]
async fn moving_without_javascript_redirects_and_says_so() {
    let app = TestApp::spawn().await;
    let openid = app.sim.follower_openid(11);
    let page = app
        .post("/members/move", &[("openid", &openid), ("to_groupid", "2")])
        .await;
    assert_eq!(page.status, 303, "{}", page.body);
    let page = app.get(page.location()).await;
    assert!(page.text("#messages").contains(&openid));
    assert_eq!(app.sim.group_of(&openid), Some(2));
}

#[tokio::test]
async fn moving_to_a_group_that_does_not_exist_is_refused_here() {
    let app = TestApp::spawn().await;
    app.get("/groups").await;
    let openid = app.sim.follower_openid(1);
    for to in ["4242", "-5", "abc", "", "99999999999"] {
        let page = app
            .post_hx("/members/move", &[("openid", &openid), ("to_groupid", to)])
            .await;
        assert_eq!(page.status, 422, "{to:?}");
        assert!(page.has("#move-error"), "{to:?}: {}", page.body);
    }
    assert_eq!(app.calls("groups/members/update"), 0);
    assert_eq!(app.calls("groups/getid"), 0);
}

#[tokio::test]
async fn moving_a_follower_into_their_own_group_moves_nothing() {
    let app = TestApp::spawn().await;
    app.get("/groups").await;
    let openid = app.sim.follower_openid(5);
    let here = app.sim.group_of(&openid).unwrap().to_string();
    let page = app
        .post_hx(
            "/members/move",
            &[("openid", &openid), ("to_groupid", &here)],
        )
        .await;
    assert_eq!(page.status, 200);
    assert_eq!(app.calls("groups/members/update"), 0);
}
