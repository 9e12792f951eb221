//! Several Official Accounts in one deployment, over real HTTP with two simulators: each
//! account under `/a/{key}`, the account list and the switcher, roles per account, and nothing
//! of one account reachable under the other.

use wxgroups::{
    domain::Api,
    settings::{AccountSettings, Settings},
    simulator::{SimConfig, Simulator, spawn_local},
    store::{Role, Store},
};

use crate::helpers::{Browser, PASSWORD, start};

const SHOP: (&str, &str) = ("wxshop00000000001", "shop-secret");
const BRAND: (&str, &str) = ("wxbrand0000000002", "brand-secret");

struct Two {
    admin: Browser,
    store: Store,
    shop: Simulator,
    brand: Simulator,
}

/// `shop` (groups, 300 followers) and `brand` (tags, 120 followers), each on its simulator.
async fn two() -> Two {
    let shop = Simulator::new(SimConfig {
        appid: SHOP.0.into(),
        secret: SHOP.1.into(),
        followers: 300,
        ..SimConfig::default()
    });
    let brand = Simulator::new(SimConfig {
        appid: BRAND.0.into(),
        secret: BRAND.1.into(),
        followers: 120,
        ..SimConfig::default()
    });
    let shop_url = spawn_local(&shop).await.unwrap();
    let brand_url = spawn_local(&brand).await.unwrap();
    let settings = Settings::for_tests().with_accounts(vec![
        AccountSettings::for_tests("shop", SHOP.0, SHOP.1, shop_url, Api::Groups),
        AccountSettings::for_tests("brand", BRAND.0, BRAND.1, brand_url, Api::Tags),
    ]);
    let (_, store, admin) = start(settings).await;
    // Signing in looked at /groups, which several accounts do not have: learn the session's
    // token from the account list (its language switch is a form).
    admin.get("/").await;
    Two {
        admin,
        store,
        shop,
        brand,
    }
}

impl Two {
    async fn operator(&self, name: &str, role: Role) -> Browser {
        let hash = wxgroups::auth::password::hash(PASSWORD).unwrap();
        self.store.add_operator(name, role, &hash).await.unwrap();
        let b = Browser::new(self.admin.base.clone());
        assert_eq!(b.sign_in(name, PASSWORD).await.status, 303);
        b.get("/").await;
        b
    }
}

#[tokio::test]
async fn each_account_lives_under_its_key_and_the_switcher_lists_both() {
    let t = two().await;
    let list = t.admin.get("/").await;
    assert_eq!(list.status, 200, "{}", list.body);
    assert!(list.has("a[href='/a/shop/groups']") && list.has("a[href='/a/brand/groups']"));

    let shop = t.admin.get("/a/shop/groups").await;
    assert_eq!(shop.status, 200, "{}", shop.body);
    assert!(shop.text("#groups-title").contains("分组"));
    assert!(shop.has("details.switcher a[href='/a/brand/groups']"));
    assert!(shop.has("details.switcher a[href='/a/shop/groups'][aria-current=page]"));
    // Every form and link of the page keeps the key.
    assert!(shop.has("form[action='/a/shop/groups']"));
    assert!(shop.has("form[hx-get='/a/shop/members/lookup']"));

    let brand = t.admin.get("/a/brand/groups").await;
    assert!(
        brand.text("#groups-title").contains("标签"),
        "{}",
        brand.text("h1")
    );
    assert_eq!(t.shop.calls("/cgi-bin/groups/get"), 1);
    assert_eq!(t.brand.calls("/cgi-bin/tags/get"), 1);
    assert_eq!(t.shop.calls("/cgi-bin/tags/get"), 0);
    // Switching back to a fresh list costs nothing.
    t.admin.get("/a/shop/groups").await;
    assert_eq!(t.shop.calls("/cgi-bin/groups/get"), 1);

    assert_eq!(t.admin.get("/groups").await.status, 404);
    assert_eq!(t.admin.get("/a/nope/groups").await.status, 404);
    assert_eq!(t.admin.get("/a/SHOP/groups").await.status, 404);
}

#[tokio::test]
async fn roles_are_per_account_and_an_account_not_yours_is_404() {
    let t = two().await;
    t.store
        .add_operator(
            "olga",
            Role::Viewer,
            &wxgroups::auth::password::hash(PASSWORD).unwrap(),
        )
        .await
        .unwrap();
    assert!(t.store.grant("olga", "shop", Role::Operator).await.unwrap());
    let olga = Browser::new(t.admin.base.clone());
    assert_eq!(olga.sign_in("olga", PASSWORD).await.status, 303);
    olga.get("/a/shop/groups").await;
    // Her only account: / goes straight there.
    let home = olga.get("/").await;
    assert_eq!(home.status, 303, "{}", home.body);
    assert_eq!(home.location(), "/a/shop/groups");
    let shop = olga.get("/a/shop/groups").await;
    assert_eq!(shop.status, 200);
    assert!(
        !shop.has("details.switcher"),
        "one account: nothing to switch to"
    );
    // She may change shop's groups…
    let created = olga.post("/a/shop/groups", &[("name", "olga's")]).await;
    assert_eq!(created.status, 303, "{}", created.body);
    // …and brand does not exist for her, whatever the route.
    for path in [
        "/a/brand/groups",
        "/a/brand/jobs",
        "/a/brand/audit",
        "/a/brand/status",
    ] {
        assert_eq!(olga.get(path).await.status, 404, "{path}");
    }
    assert_eq!(
        olga.post("/a/brand/groups", &[("name", "x")]).await.status,
        404
    );
    assert_eq!(t.brand.calls("/cgi-bin/tags/create"), 0);

    // A viewer without grants sees every account and changes none.
    let vic = t.operator("vic", Role::Viewer).await;
    assert_eq!(vic.get("/a/brand/groups").await.status, 200);
    assert_eq!(
        vic.post("/a/brand/groups", &[("name", "x")]).await.status,
        403
    );
}

#[tokio::test]
async fn nothing_of_one_account_is_reachable_under_the_other() {
    let t = two().await;
    // A group that only shop has, and a job of shop's.
    let page = t.admin.post("/a/shop/groups", &[("name", "仅商城")]).await;
    assert_eq!(page.status, 303, "{}", page.body);
    // `/a/shop/groups?done=created&id=104#group-104`
    let id: u32 = page
        .location()
        .rsplit("#group-")
        .next()
        .and_then(|i| i.parse().ok())
        .unwrap_or_else(|| panic!("the new group's id in {}", page.location()));
    assert!(
        page.location().starts_with("/a/shop/groups?"),
        "{}",
        page.location()
    );
    assert!(
        t.admin
            .get("/a/shop/groups")
            .await
            .has(&format!("#group-{id}"))
    );
    assert!(
        !t.admin
            .get("/a/brand/groups")
            .await
            .has(&format!("#group-{id}"))
    );
    let openid = t.shop.follower_openid(3);
    let job = {
        let mut form = vec![("openid", openid.as_str()), ("to_groupid", "101")];
        form.push(("q", ""));
        let moved = t.admin.post("/a/shop/groups/100/members/move", &form).await;
        moved.location().to_owned()
    };
    let job_id = job.rsplit('/').next().unwrap_or_default().to_owned();
    let id = id.to_string();
    let get_routes = [
        format!("/a/brand/groups/{id}/row"),
        format!("/a/brand/groups/{id}/edit"),
        format!("/a/brand/groups/{id}/delete"),
        format!("/a/brand/groups/{id}/members"),
        format!("/a/brand/jobs/{job_id}"),
        format!("/a/brand/jobs/{job_id}/progress"),
        format!("/a/brand/jobs/{job_id}/outcome.csv"),
    ];
    for path in &get_routes {
        assert_eq!(t.admin.get(path).await.status, 404, "{path}");
    }
    // A post answers exactly as it does for an id that does not exist at all.
    let missing = |p: &str| {
        p.replace(&format!("/{id}/"), "/99999/")
            .replace(&format!("/{job_id}/"), "/99999/")
    };
    let post_routes = [
        format!("/a/brand/groups/{id}/rename"),
        format!("/a/brand/groups/{id}/delete"),
        format!("/a/brand/groups/{id}/members/move"),
        format!("/a/brand/jobs/{job_id}/confirm"),
        format!("/a/brand/jobs/{job_id}/discard"),
        format!("/a/brand/jobs/{job_id}/cancel"),
    ];
    for path in &post_routes {
        let status = t.admin.post(path, &[("name", "x")]).await.status;
        let nothing = t.admin.post(&missing(path), &[("name", "x")]).await.status;
        assert_eq!(status, nothing, "{path}");
        assert!(!status.is_success(), "{path}: {status}");
    }
    // Shop's follower is not brand's: brand's WeChat says so (another AppID's OpenID).
    let lookup = t
        .admin
        .get_hx(&format!("/a/brand/members/lookup?openid={openid}"))
        .await;
    assert_eq!(lookup.status, 422, "{}", lookup.body);
    assert_eq!(t.brand.calls("/cgi-bin/tags/members/batchtagging"), 0);
    // The shop job is still shop's, and shop's audit has its rows; brand's has none of them.
    assert_eq!(t.admin.get(&job).await.status, 200);
    let shop_audit = t.admin.get("/a/shop/audit").await;
    assert!(shop_audit.body.contains("仅商城"));
    let brand_audit = t.admin.get("/a/brand/audit").await;
    assert!(!brand_audit.body.contains("仅商城"));
    // Quota meters apart: brand's status counts no groups/get.
    let calls = |page: &crate::helpers::Page, endpoint: &str| {
        page.text(&format!(
            "#quota-{} td:nth-child(2)",
            endpoint.replace('/', "-")
        ))
    };
    let brand_status = t.admin.get("/a/brand/status").await;
    assert_eq!(
        calls(&brand_status, "groups/get"),
        "0",
        "brand made no groups/get"
    );
    assert_eq!(calls(&brand_status, "tags/get"), "1");
    let shop_status = t.admin.get("/a/shop/status").await;
    assert_eq!(
        calls(&shop_status, "groups/get"),
        t.shop.calls("/cgi-bin/groups/get").to_string(),
        "shop's meter counts shop's calls"
    );
}

#[tokio::test]
async fn two_accounts_jobs_run_side_by_side_and_a_removed_accounts_job_is_kept_not_run() {
    let t = two().await;
    t.admin.get("/a/shop/groups").await;
    t.admin.get("/a/brand/groups").await;
    let shop_people: Vec<String> = (0..120).map(|i| t.shop.follower_openid(i)).collect();
    let brand_people: Vec<String> = (0..60).map(|i| t.brand.follower_openid(i)).collect();
    let job_of = |page: &crate::helpers::Page| -> i64 {
        page.location()
            .rsplit('/')
            .next()
            .and_then(|i| i.parse().ok())
            .unwrap_or_else(|| panic!("a job's page: {}", page.location()))
    };
    let mut form: Vec<(&str, &str)> = shop_people.iter().map(|o| ("openid", o.as_str())).collect();
    form.push(("to_groupid", "101"));
    let shop_job = job_of(&t.admin.post("/a/shop/groups/100/members/move", &form).await);
    let mut form: Vec<(&str, &str)> = brand_people
        .iter()
        .map(|o| ("openid", o.as_str()))
        .collect();
    form.extend([("action", "tag"), ("to_groupid", "101")]);
    let brand_job = job_of(
        &t.admin
            .post("/a/brand/groups/100/members/move", &form)
            .await,
    );
    let limit = std::time::Duration::from_secs(30);
    let shop_store = t.store.for_account("shop");
    let brand_store = t.store.for_account("brand");
    let (a, b) = tokio::join!(
        crate::bulk::wait_for_job(&shop_store, shop_job, limit),
        crate::bulk::wait_for_job(&brand_store, brand_job, limit),
    );
    assert_eq!(a.state.as_str(), "done", "{a:?}");
    assert_eq!(b.state.as_str(), "done", "{b:?}");
    assert!(shop_people.iter().all(|o| t.shop.group_of(o) == Some(101)));
    assert!(
        brand_people
            .iter()
            .all(|o| t.brand.tags_of(o).unwrap().contains(&101))
    );
    // Each job is its own account's: the same id under the other is a 404 (unless it is theirs).
    assert_eq!(
        t.admin
            .get(&format!("/a/brand/jobs/{shop_job}"))
            .await
            .status
            == 200,
        shop_job == brand_job
    );

    // A job of an account since removed from the configuration: listed, never run.
    let gone = t.store.for_account("gone");
    let job = wxgroups::store::NewJob {
        operator: "admin".into(),
        source: "builtin".into(),
        ip: None,
        to_group: 101,
        origin: "list".into(),
    };
    let id = gone
        .job_create_draft(&job, None, &shop_people[..3])
        .await
        .unwrap();
    assert!(gone.job_confirm(id, 0).await.unwrap());
    let jobs = t.admin.get("/a/shop/jobs").await;
    assert!(jobs.has("#orphaned-jobs"), "{}", jobs.body);
    assert!(jobs.text("#orphaned-jobs").contains("gone"));
    let still = gone.job(id).await.unwrap().unwrap();
    assert_eq!(
        still.state.as_str(),
        "queued",
        "not run by any account's worker"
    );
}

#[tokio::test]
async fn an_account_whose_wechat_fails_does_not_break_the_other() {
    let t = two().await;
    // Brand's WeChat refuses everything (its daily quota spent), whatever it is asked.
    t.brand
        .inject("*", wxgroups::simulator::Fault::errcode(45009));
    let brand = t.admin.get("/a/brand/groups").await;
    assert_eq!(
        brand.status, 200,
        "the page says what is wrong: {}",
        brand.body
    );
    assert!(
        brand.text("#messages").contains("45009"),
        "{}",
        brand.text("#messages")
    );
    // Shop's pages and writes go on as if nothing happened.
    let shop = t.admin.get("/a/shop/groups").await;
    assert_eq!(shop.status, 200);
    assert!(
        shop.text("#messages").is_empty(),
        "{}",
        shop.text("#messages")
    );
    let created = t.admin.post("/a/shop/groups", &[("name", "照常")]).await;
    assert_eq!(created.status, 303, "{}", created.body);
    let shop_status = t.admin.get("/a/shop/status").await;
    assert!(!shop_status.has("#circuit-banner"));
}

#[tokio::test]
async fn each_role_on_each_account_gets_what_it_may_on_each_route() {
    let t = two().await;
    let hash = wxgroups::auth::password::hash(PASSWORD).unwrap();
    // GETs anyone with a role may see; a change an operator may make; an admin's only.
    let reads = [
        "/groups",
        "/jobs",
        "/audit",
        "/status",
        "/groups/100/members",
    ];
    for (name, role) in [
        ("g-viewer", Role::Viewer),
        ("g-operator", Role::Operator),
        ("g-admin", Role::Admin),
    ] {
        t.store
            .add_operator(name, Role::Viewer, &hash)
            .await
            .unwrap();
        assert!(t.store.grant(name, "shop", role).await.unwrap());
        let b = Browser::new(t.admin.base.clone());
        assert_eq!(b.sign_in(name, PASSWORD).await.status, 303);
        b.get("/a/shop/groups").await;
        for path in reads {
            assert_eq!(
                b.get(&format!("/a/shop{path}")).await.status,
                200,
                "{name} {path}"
            );
            assert_eq!(
                b.get(&format!("/a/brand{path}")).await.status,
                404,
                "{name} brand{path}"
            );
        }
        let create = b.post("/a/shop/groups", &[("name", name)]).await.status;
        let expected = if role >= Role::Operator { 303 } else { 403 };
        assert_eq!(create, expected, "{name} creates");
        let delete = b.get("/a/shop/groups/101/delete").await.status;
        let expected = if role == Role::Admin { 200 } else { 403 };
        assert_eq!(delete, expected, "{name} asks to delete");
        assert_eq!(
            b.post("/a/brand/groups", &[("name", "x")]).await.status,
            404,
            "{name} on brand"
        );
    }
}
