use crate::helpers::TestApp;

#[tokio::test]
async fn creating_a_group_with_htmx_returns_the_form_the_new_row_and_a_message() {
    let app = TestApp::spawn().await;
    app.get("/groups").await;
    let before = app.sim.group_count();

    let page = app.post_hx("/groups", &[("name", "  新品推广  ")]).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert_eq!(app.sim.group_count(), before + 1);
    assert!(page.has("#create-form"));
    assert_eq!(
        page.texts("#create-name[value='']").len() + page.texts("#create-name:not([value])").len(),
        1,
        "the form is emptied"
    );
    assert!(page.has("#groups-table[hx-swap-oob]"));
    let new_row = page.text("tr.highlight td.name");
    assert_eq!(new_row, "新品推广", "the new row is highlighted, trimmed");
    assert!(page.text("#messages").contains("新品推广"));
    // The list was patched, not fetched again.
    assert_eq!(app.calls("groups/get"), 1);
    let page = app.get("/groups").await;
    assert!(page.texts("td.name").iter().any(|n| n == "新品推广"));
    assert_eq!(app.calls("groups/get"), 1);
}

#[tokio::test]
async fn creating_a_group_without_javascript_redirects_to_the_page_that_shows_it() {
    let app = TestApp::spawn().await;
    let page = app.post("/groups", &[("name", "Plain form")]).await;
    assert_eq!(page.status, 303);
    let location = page.location().to_owned();
    assert!(
        location.starts_with("/groups?done=created&id="),
        "{location}"
    );
    let page = app.get(&location).await;
    assert!(page.text("#messages").contains("Plain form"));
    assert_eq!(page.text("tr.highlight td.name"), "Plain form");
}

#[tokio::test]
async fn bad_names_are_refused_here_with_a_reason_and_never_reach_wechat() {
    let app = TestApp::spawn().await;
    app.get("/groups").await;
    let cases: &[(&str, &str)] = &[
        ("", "请输入分组名称"),
        ("   ", "请输入分组名称"),
        (&"长".repeat(31), "31"),
        ("ab\u{7}c", "控制字符"),
        ("vip\u{200B}", "不可见字符"),
        ("黑名单", "系统分组"),
        ("未分组", "系统分组"),
    ];
    for (name, expected) in cases {
        for hx in [true, false] {
            let page = if hx {
                app.post_hx("/groups", &[("name", name)]).await
            } else {
                app.post("/groups", &[("name", name)]).await
            };
            assert_eq!(page.status, 422, "{name:?}");
            let error = page.text("#create-error");
            assert!(error.contains(expected), "{name:?}: {error}");
            assert!(page.has("#create-name[aria-invalid=true]"));
        }
    }
    assert_eq!(app.calls("groups/create"), 0);
}

#[tokio::test]
async fn a_name_already_in_use_is_refused_with_the_other_groups_id() {
    let app = TestApp::spawn().await;
    app.post("/groups", &[("name", "Twice")]).await;
    let page = app.post_hx("/groups", &[("name", "Twice")]).await;
    assert_eq!(page.status, 422);
    assert!(page.text("#create-error").contains("Twice"));
    assert_eq!(app.calls("groups/create"), 1);
}

#[tokio::test]
async fn html_in_a_name_is_shown_as_text() {
    let app = TestApp::spawn().await;
    let name = "<script>alert(1)</script>";
    app.post("/groups", &[("name", name)]).await;
    let page = app.get("/groups").await;
    assert!(!page.body.contains(name), "the raw tag must not appear");
    assert!(page.body.contains("&#60;script&#62;") || page.body.contains("&lt;script&gt;"));
    assert!(page.texts("td.name").iter().any(|n| n == name));
}

#[tokio::test]
async fn the_501st_group_is_refused_before_wechat_is_asked() {
    let app = TestApp::spawn().await;
    // 499 groups, made behind the dashboard's back; then the dashboard refreshes its list.
    fill_to(&app, 499).await;
    app.post_hx("/groups/refresh", &[]).await;
    let page = app.post_hx("/groups", &[("name", "the 500th")]).await;
    assert_eq!(page.status, 200, "the 500th group is fine: {}", page.body);
    assert_eq!(app.sim.group_count(), 500);
    let creates = app.calls("groups/create");
    let page = app.post_hx("/groups", &[("name", "one too many")]).await;
    assert_eq!(page.status, 422);
    assert!(page.text("#create-error").contains("500"));
    assert!(page.has("#create-form button[disabled]"));
    assert_eq!(app.calls("groups/create"), creates);
}

/// Creates groups through WeChat's API directly until the account has `n`.
async fn fill_to(app: &TestApp, n: usize) {
    let client = wxgroups::wechat::WeChatClient::new(wxgroups::wechat::ClientConfig::new(
        app.sim_url.clone(),
        String::from(crate::helpers::APPID),
        secrecy::SecretString::from(crate::helpers::SECRET),
    ))
    .unwrap();
    for i in app.sim.group_count()..n {
        client
            .create_group(&wxgroups::domain::GroupName::parse(&format!("x{i}")).unwrap())
            .await
            .unwrap();
    }
}

#[tokio::test]
async fn when_the_list_is_stale_wechats_own_cap_error_is_explained() {
    let app = TestApp::spawn().await;
    app.get("/groups").await; // cached with the seeded groups only
    // Fill the account behind the dashboard's back, through the simulator's API.
    fill_to(&app, 500).await;
    let page = app.post_hx("/groups", &[("name", "too many")]).await;
    assert_eq!(page.status, 409, "WeChat answered and refused");
    let message = page.text("#messages");
    assert!(message.contains("45018"), "{message}");
    assert!(
        page.texts("#create-name").is_empty() || page.body.contains("too many"),
        "what was typed is kept"
    );
}
