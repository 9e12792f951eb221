use crate::helpers::TestApp;

#[tokio::test]
async fn the_groups_page_lists_every_group_with_its_count_and_the_total() {
    let app = TestApp::spawn().await;
    let page = app.get("/groups").await;
    assert_eq!(page.status, 200);

    let rows = page.texts("tbody tr");
    assert_eq!(rows.len(), app.sim.group_count(), "{rows:?}");
    for (id, name) in [(0, "未分组"), (1, "黑名单"), (2, "星标组")] {
        assert!(page.text(&format!("#group-{id} td.name")).contains(name));
    }
    // Every count on the page is the simulator's, and the total is their sum.
    let mut sum = 0;
    for row in page
        .html()
        .select(&scraper::Selector::parse("tbody tr").unwrap())
    {
        let id: u32 = row
            .value()
            .id()
            .unwrap()
            .trim_start_matches("group-")
            .parse()
            .unwrap();
        let count = page.count_of(id);
        sum += count;
    }
    assert_eq!(sum, 500);
    assert!(page.text("tfoot").contains("500"));
    assert!(page.has("time[datetime]"), "the fetch time is shown");
}

#[tokio::test]
async fn a_hundred_page_views_cost_one_token_and_one_group_list() {
    let app = TestApp::spawn().await;
    for _ in 0..100 {
        assert_eq!(app.get("/groups").await.status, 200);
    }
    assert_eq!(app.calls("groups/get"), 1);
    assert_eq!(app.calls("stable_token"), 1);
    assert_eq!(app.sim.total_calls(), 2);
}

#[tokio::test]
async fn the_refresh_button_fetches_the_list_again() {
    let app = TestApp::spawn().await;
    app.get("/groups").await;
    let page = app.post_hx("/groups/refresh", &[]).await;
    assert_eq!(page.status, 200);
    assert!(page.has("#groups-table"));
    assert!(page.has("#messages[hx-swap-oob]"));
    assert_eq!(app.calls("groups/get"), 2);

    // Without JavaScript: redirect-after-post, and the page says what happened.
    let page = app.post("/groups/refresh", &[]).await;
    assert_eq!(page.status, 303);
    assert_eq!(page.location(), "/groups?done=refreshed");
    assert_eq!(app.calls("groups/get"), 3);
    let page = app.get(page.location()).await;
    assert!(
        page.text("#messages").contains("刷新"),
        "{}",
        page.text("#messages")
    );
}

#[tokio::test]
async fn an_old_list_is_fetched_again_on_the_next_view() {
    let app = TestApp::spawn_with(crate::helpers::sim_config(), |mut s| {
        s.groups_max_age = std::time::Duration::ZERO;
        s
    })
    .await;
    let before = app.calls("groups/get");
    app.get("/groups").await;
    app.get("/groups").await;
    assert_eq!(app.calls("groups/get"), before + 2);
}

#[tokio::test]
async fn concurrent_cold_views_share_one_fetch() {
    let app = std::sync::Arc::new(TestApp::spawn().await);
    let views = (0..50).map(|_| {
        let app = app.clone();
        async move { app.get("/groups").await }
    });
    for page in futures_join_all(views).await {
        assert_eq!(page.status, 200);
    }
    assert_eq!(app.calls("groups/get"), 1);
    assert_eq!(app.calls("stable_token"), 1);
}

/// A tiny join_all so the tests need no extra crate.
pub async fn futures_join_all<F: std::future::Future + Send + 'static>(
    futs: impl Iterator<Item = F>,
) -> Vec<F::Output>
where
    F::Output: Send + 'static,
{
    let handles: Vec<_> = futs.map(tokio::spawn).collect();
    let mut out = Vec::new();
    for h in handles {
        out.push(h.await.unwrap());
    }
    out
}
