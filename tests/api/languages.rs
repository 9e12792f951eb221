use crate::helpers::TestApp;

#[tokio::test]
async fn chinese_is_the_default() {
    let app = TestApp::spawn().await;
    let page = app.get("/groups").await;
    assert!(page.body.contains("<html lang=\"zh-CN\">"));
    assert_eq!(page.text("h1"), "用户分组");
}

#[tokio::test]
async fn accept_language_picks_english() {
    let app = TestApp::spawn().await;
    let r = app
        .http
        .get(app.url("/groups"))
        .header("Accept-Language", "en-GB,en;q=0.9,zh;q=0.5")
        .send()
        .await
        .unwrap();
    let page = crate::helpers::read(r).await;
    assert!(page.body.contains("<html lang=\"en\">"));
    assert_eq!(page.text("h1"), "User groups");
}

#[tokio::test]
async fn the_switcher_is_remembered_and_goes_back_where_it_was() {
    let app = TestApp::spawn().await;
    let r = app
        .post("/lang", &[("lang", "en"), ("next", "/groups?openid=abc")])
        .await;
    assert_eq!(r.status, 303);
    assert_eq!(r.location(), "/groups?openid=abc");
    let page = app.get("/groups").await;
    assert_eq!(
        page.text("h1"),
        "User groups",
        "the cookie wins over the default"
    );

    // The switcher never redirects off-site.
    let r = app
        .post(
            "/lang",
            &[("lang", "zh"), ("next", "https://evil.example/")],
        )
        .await;
    assert_eq!(r.location(), "/");
    assert_eq!(app.get("/groups").await.text("h1"), "用户分组");
}

#[tokio::test]
async fn validation_messages_follow_the_language() {
    let app = TestApp::spawn().await;
    app.post("/lang", &[("lang", "en"), ("next", "/groups")])
        .await;
    let page = app.post_hx("/groups", &[("name", "")]).await;
    assert!(
        page.text("#create-error").contains("Enter a group name"),
        "{}",
        page.body
    );
}
