use crate::helpers::TestApp;

#[tokio::test]
async fn htmx_is_served_from_the_binary_under_a_hashed_url_with_long_caching() {
    let app = TestApp::spawn().await;
    let page = app.get("/groups").await;
    let html = page.html();
    let sel = scraper::Selector::parse("script[src]").unwrap();
    let src = html
        .select(&sel)
        .map(|e| e.value().attr("src").unwrap().to_owned())
        .find(|s| s.contains("htmx."))
        .expect("the page loads htmx");
    assert!(
        src.starts_with("/assets/htmx.") && src.ends_with(".js"),
        "{src}"
    );
    let r = app.http.get(app.url(&src)).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert!(
        r.headers()["cache-control"]
            .to_str()
            .unwrap()
            .contains("immutable")
    );
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/javascript")
    );
    let body = r.text().await.unwrap();
    assert!(
        body.contains("htmx") && body.len() > 10_000,
        "the real htmx, not a stub"
    );
    assert_eq!(app.get("/assets/htmx.0000.js").await.status, 404);
}

#[tokio::test]
async fn pages_carry_a_strict_content_security_policy() {
    let app = TestApp::spawn().await;
    let page = app.get("/groups").await;
    let csp = page.headers["content-security-policy"].to_str().unwrap();
    assert!(
        csp.contains("script-src 'self'") && !csp.contains("unsafe"),
        "{csp}"
    );
    assert!(csp.contains("frame-ancestors 'none'"));
    assert_eq!(page.headers["x-content-type-options"], "nosniff");
    assert!(!page.body.contains("<script>"), "no inline scripts");
    assert!(!page.body.contains("style=\""), "no inline styles");
}

#[tokio::test]
async fn an_unknown_page_is_a_real_404_page() {
    let app = TestApp::spawn().await;
    let page = app.get("/nope").await;
    assert_eq!(page.status, 404);
    assert!(page.text("h1").contains("找不到"));
    assert!(page.has("link[rel=stylesheet]"));
}

#[tokio::test]
async fn an_oversized_form_is_refused_with_a_page_that_says_why() {
    let app = TestApp::spawn().await;
    app.get("/groups").await;
    let big = "x".repeat(200 * 1024);
    let page = app.post("/groups", &[("name", &big)]).await;
    assert_eq!(page.status, 413);
    assert!(page.text("h1").contains("过大"), "{}", page.body);
    assert_eq!(app.calls("groups/create"), 0);
}

#[tokio::test]
async fn the_root_leads_to_the_groups() {
    let app = TestApp::spawn().await;
    let r = app.get("/").await;
    assert!(r.status.is_redirection());
    assert_eq!(r.location(), "/groups");
}

#[tokio::test]
async fn the_appsecret_and_token_never_appear_in_a_page() {
    let app = TestApp::spawn().await;
    let mut bodies = vec![app.get("/groups").await.body];
    bodies.push(app.post_hx("/groups", &[("name", "")]).await.body);
    bodies.push(
        app.get_hx("/members/lookup?openid=oUnknown00000000")
            .await
            .body,
    );
    for b in bodies {
        assert!(!b.contains(crate::helpers::SECRET));
        assert!(!b.contains("access_token"));
    }
}
