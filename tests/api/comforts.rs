//! Operator comforts at the HTTP level: the group list's filter and sort (kept across changes),
//! the blacklist's confirmation step, times for the page's script.

use crate::helpers::TestApp;

async fn with_groups(app: &TestApp, names: &[&str]) {
    app.get("/groups").await;
    for name in names {
        let page = app.post_hx("/groups", &[("name", name)]).await;
        assert_eq!(page.status, 200, "{}", page.body);
    }
}

fn ids(page: &crate::helpers::Page) -> Vec<String> {
    page.html()
        .select(&scraper::Selector::parse("#groups-results tbody tr").unwrap())
        .filter_map(|r| r.value().attr("id").map(str::to_owned))
        .collect()
}

#[tokio::test]
async fn the_list_filters_by_name_and_sorts_by_any_column() {
    let app = TestApp::spawn().await;
    // The demo seeds 100–103 (one of them VIP客户); these are 104–106.
    with_groups(&app, &["Zeta 北京", "普通", "zeta 上海"]).await;

    let page = app.get("/groups?q=ZETA").await;
    assert_eq!(page.status, 200);
    assert_eq!(
        ids(&page),
        ["group-104", "group-106"],
        "case does not matter"
    );
    assert_eq!(page.attr("#groups-q", "value").as_deref(), Some("ZETA"));
    assert!(page.text("#groups-filter-status").contains("2 / 10"));

    let page = app.get("/groups?q=zeta&sort=name&dir=desc").await;
    assert_eq!(
        ids(&page),
        ["group-106", "group-104"],
        "'z' after 'Z', reversed"
    );
    assert_eq!(
        page.attr("th[aria-sort]", "aria-sort").as_deref(),
        Some("descending")
    );
    assert!(page.text("th[aria-sort]").contains("名称"));
    // The header links keep the filter and toggle the direction.
    assert_eq!(
        page.attr("#sort-name", "href").as_deref(),
        Some("/groups?q=zeta&sort=name&dir=asc")
    );
    assert_eq!(
        page.attr("#sort-count", "href").as_deref(),
        Some("/groups?q=zeta&sort=count&dir=desc")
    );
    // The sort rides along with the filter form, with or without JavaScript.
    assert_eq!(
        page.attr("input[name=sort][form=groups-filter]", "value")
            .as_deref(),
        Some("name")
    );

    let page = app.get("/groups?sort=count&dir=desc").await;
    let counts: Vec<u64> = [0, 1, 2, 100, 101, 102, 103, 104, 105, 106]
        .iter()
        .map(|&id| page.count_of(id))
        .collect();
    let shown: Vec<u64> = ids(&page)
        .iter()
        .map(|id| page.count_of(id.trim_start_matches("group-").parse().unwrap()))
        .collect();
    let mut sorted = counts.clone();
    sorted.sort_unstable_by(|a, b| b.cmp(a));
    assert_eq!(shown, sorted);

    // htmx asks for the results only.
    let fragment = app
        .http
        .get(app.url("/groups?q=%E6%99%AE"))
        .header("HX-Request", "true")
        .header("HX-Target", "groups-results")
        .send()
        .await
        .unwrap();
    let fragment = crate::helpers::read(fragment).await;
    assert!(
        fragment
            .body
            .trim_start()
            .starts_with("<div id=\"groups-results\"")
    );
    assert_eq!(ids(&fragment), ["group-105"]);
    assert!(fragment.has("#groups-filter-status[hx-swap-oob]"));
    assert!(!fragment.has("#create-form"));
}

#[tokio::test]
async fn a_filter_that_matches_nothing_says_so_and_offers_the_whole_list() {
    let app = TestApp::spawn().await;
    let page = app
        .get("/groups?q=nothing-like-this&sort=count&dir=asc")
        .await;
    assert_eq!(page.status, 200);
    assert!(!page.has("#groups-results table"));
    assert!(page.text(".filter-empty").contains("nothing-like-this"));
    assert_eq!(
        page.attr("#groups-clear", "href").as_deref(),
        Some("/groups?sort=count&dir=asc")
    );
}

#[tokio::test]
async fn changes_keep_the_filter_and_sort_the_operator_was_looking_at() {
    let app = TestApp::spawn().await;
    with_groups(&app, &["Zeta 上海"]).await;
    let from = app.url("/groups?q=zeta&sort=name&dir=desc");

    // htmx says where it is in HX-Current-URL: the table it sends back out of band is filtered.
    let created = app
        .http
        .post(app.url("/groups"))
        .header("HX-Request", "true")
        .header("HX-Current-URL", &from)
        .header("X-CSRF-Token", app.csrf())
        .form(&[("name", "Zeta 北京")])
        .send()
        .await
        .unwrap();
    let created = crate::helpers::read(created).await;
    assert_eq!(created.status, 200, "{}", created.body);
    assert_eq!(ids(&created), ["group-105", "group-104"], "北 after 上");
    assert_eq!(
        created.attr("th[aria-sort]", "aria-sort").as_deref(),
        Some("descending")
    );

    // A plain form says it in Referer, and the redirect keeps it.
    let csrf = app.csrf();
    let plain = app
        .http
        .post(app.url("/groups"))
        .header("Referer", &from)
        .form(&[("name", "普通"), ("csrf", &csrf)])
        .send()
        .await
        .unwrap();
    assert_eq!(plain.status(), 303);
    assert_eq!(
        plain.headers()["location"],
        "/groups?done=created&id=106&q=zeta&sort=name&dir=desc#group-106"
    );

    // A refresh too; another page's query is not a view of the list.
    let csrf = app.csrf();
    let refreshed = app
        .http
        .post(app.url("/groups/refresh"))
        .header("Referer", app.url("/audit?q=zeta"))
        .form(&[("csrf", &csrf)])
        .send()
        .await
        .unwrap();
    assert_eq!(refreshed.headers()["location"], "/groups?done=refreshed");
}

#[tokio::test]
async fn moving_into_the_blacklist_asks_first() {
    let app = TestApp::spawn().await;
    app.get("/groups").await;
    let openid = app.sim.follower_openid(3);
    let from = app.sim.group_of(&openid).unwrap();
    assert_ne!(from, 1);

    for hx in [true, false] {
        let fields = [("openid", openid.as_str()), ("to_groupid", "1")];
        let page = if hx {
            app.post_hx("/members/move", &fields).await
        } else {
            app.post("/members/move", &fields).await
        };
        assert_eq!(page.status, 200, "{}", page.body);
        assert!(page.has("#confirm-blacklist[autofocus]"), "{}", page.body);
        assert!(page.text(".confirm").contains("黑名单"));
        assert!(page.has("form.move-confirm input[name=confirm][value=yes]"));
        assert_eq!(app.calls("groups/members/update"), 0, "nothing moved yet");
        assert_eq!(app.sim.group_of(&openid), Some(from));
    }

    let page = app
        .post(
            "/members/move",
            &[
                ("openid", openid.as_str()),
                ("to_groupid", "1"),
                ("confirm", "yes"),
            ],
        )
        .await;
    assert_eq!(page.status, 303, "{}", page.body);
    assert_eq!(app.sim.group_of(&openid), Some(1));

    // Other groups need no confirmation.
    let page = app
        .post_hx(
            "/members/move",
            &[("openid", openid.as_str()), ("to_groupid", "2")],
        )
        .await;
    assert_eq!(page.status, 200);
    assert!(!page.has(".confirm"));
    assert_eq!(app.sim.group_of(&openid), Some(2));
}

#[tokio::test]
async fn times_carry_the_instant_and_say_their_zone() {
    let app = TestApp::spawn().await;
    let page = app.get("/groups").await;
    let when = page.attr(".summary time", "datetime").unwrap();
    assert!(when.parse::<jiff::Timestamp>().is_ok(), "{when}");
    assert_eq!(
        page.attr(".summary time", "title").as_deref(),
        Some("北京时间（UTC+8）")
    );
    let audit = app.get("/audit").await;
    assert!(audit.has("td time[datetime][title]"), "{}", audit.body);
}
