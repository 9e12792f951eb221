//! The dashboard with `WXGROUPS_API=tags`: the tag list, create/rename/delete with the tag rules,
//! one follower's tags, the blacklist, the 48001 banner and the quota meter, over real HTTP
//! against the simulator, as htmx and as plain forms.

use wxgroups::domain::Api;
use wxgroups::simulator::SimConfig;

use crate::helpers::{TestApp, sim_config};

async fn tags_app() -> TestApp {
    tags_app_with(sim_config()).await
}

async fn tags_app_with(config: SimConfig) -> TestApp {
    TestApp::spawn_with(config, |mut s| {
        s.api = Api::Tags;
        s
    })
    .await
}

/// The id of the listed tag called `name`.
fn tag_id(page: &crate::helpers::Page, name: &str) -> u32 {
    let rows = page.html();
    let sel = scraper::Selector::parse("tr[id^=group-]").unwrap();
    let name_sel = scraper::Selector::parse("td.name").unwrap();
    rows.select(&sel)
        .find(|r| {
            r.select(&name_sel)
                .next()
                .is_some_and(|n| n.text().collect::<String>().trim() == name)
        })
        .and_then(|r| r.value().attr("id")?.strip_prefix("group-")?.parse().ok())
        .unwrap_or_else(|| panic!("no tag {name:?} listed"))
}

#[tokio::test]
async fn the_tag_list_comes_from_tags_get_once_and_the_pages_speak_of_tags() {
    let app = tags_app().await;
    let page = app.get("/groups").await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert_eq!(app.calls("tags/get"), 1);
    assert_eq!(
        app.calls("groups/get"),
        0,
        "tags mode never reads the groups"
    );
    assert!(
        page.text("h1#groups-title").contains("标签"),
        "{}",
        page.text("h1")
    );
    assert!(page.text("#create-title").contains("新建标签"));
    // Tag 2 (星标组) is WeChat's and listed with its count.
    assert!(page.has("#group-2"));
    assert_eq!(page.count_of(2), app.sim.tag_members(2));
    // Fresh: the next views cost nothing.
    app.get("/groups").await;
    app.get("/status").await;
    assert_eq!(app.calls("tags/get"), 1);
    let status = app.get("/status").await;
    assert!(
        status.text("#status-which-api").contains("tags"),
        "{}",
        status.text("#status-which-api")
    );
    // The quota meter counts tags/get, without a cap (WeChat publishes none).
    assert!(status.body.contains("tags/get"), "the meter lists tags/get");
    // The blacklist is in the navigation.
    assert!(page.has("nav a[href='/blacklist']"));
}

#[tokio::test]
async fn tag_names_count_bytes_thirty_fit_thirty_one_do_not_and_nothing_bad_is_sent() {
    let app = tags_app().await;
    app.get("/groups").await;
    // 11 characters, 31 bytes: refused here, with the byte rule.
    let eleven = format!("{}a", "测".repeat(10));
    for hx in [true, false] {
        let page = if hx {
            app.post_hx("/groups", &[("name", &eleven)]).await
        } else {
            app.post("/groups", &[("name", &eleven)]).await
        };
        assert_eq!(page.status, 422, "{}", page.body);
        let error = page.text("#create-error");
        assert!(error.contains("31") && error.contains("字节"), "{error}");
    }
    assert_eq!(app.calls("tags/create"), 0);
    // Exactly 30 bytes goes through.
    let thirty = "测".repeat(10);
    let page = app.post_hx("/groups", &[("name", &thirty)]).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert_eq!(app.calls("tags/create"), 1);
    assert_eq!(page.text("tr.highlight td.name"), thirty);
    // The same name again is refused here: tag names are unique.
    let page = app.post_hx("/groups", &[("name", &thirty)]).await;
    assert_eq!(page.status, 422);
    assert!(page.text("#create-error").contains(&thirty));
    assert_eq!(app.calls("tags/create"), 1);
}

#[tokio::test]
async fn the_101st_tag_is_refused_here() {
    let app = tags_app().await;
    while app.sim.tag_count() < 100 {
        app.sim.create_tag(&format!("t{}", app.sim.tag_count()));
    }
    let page = app.post_hx("/groups/refresh", &[]).await;
    assert_eq!(page.status, 200, "{}", page.body);
    let page = app.post_hx("/groups", &[("name", "one too many")]).await;
    assert_eq!(page.status, 422, "{}", page.body);
    assert!(
        page.text("#create-error").contains("100"),
        "{}",
        page.text("#create-error")
    );
    assert_eq!(app.calls("tags/create"), 0);
}

#[tokio::test]
async fn a_tag_is_renamed_in_place_but_tag_2_is_not_and_plain_forms_work_too() {
    let app = tags_app().await;
    let page = app.get("/groups").await;
    let id = tag_id(&page, "VIP");
    let renamed = app
        .post_hx(&format!("/groups/{id}/rename"), &[("name", "重要客户")])
        .await;
    assert_eq!(renamed.status, 200, "{}", renamed.body);
    assert_eq!(app.calls("tags/update"), 1);
    let page = app.get("/groups").await;
    assert_eq!(tag_id(&page, "重要客户"), id);
    // Tag 2 is WeChat's: no rename form, and a post is refused here.
    let refused = app.post("/groups/2/rename", &[("name", "x")]).await;
    assert_eq!(refused.status, 422, "{}", refused.body);
    assert_eq!(app.calls("tags/update"), 1);
}

#[tokio::test]
async fn deleting_a_tag_asks_first_and_above_100000_followers_says_why_not_before_trying() {
    let app = tags_app_with(SimConfig {
        followers: 100_010,
        ..sim_config()
    })
    .await;
    let page = app.get("/groups").await;
    let id = tag_id(&page, "VIP");
    let before = page.count_of(id);
    let deleted = app.post_hx(&format!("/groups/{id}/delete"), &[]).await;
    assert_eq!(deleted.status, 200, "{}", deleted.body);
    assert_eq!(app.calls("tags/delete"), 1);
    let shown = deleted.text("#messages").replace(',', "");
    assert!(shown.contains(&before.to_string()), "{shown}");
    assert!(!app.get("/groups").await.has(&format!("#group-{id}")));

    // A tag with 100,001 followers: WeChat would answer 45057.
    let big = app.sim.create_tag("大标签");
    app.sim.tag_range(big, 0..100_001);
    app.post_hx("/groups/refresh", &[]).await;
    for hx in [true, false] {
        let page = if hx {
            app.post_hx(&format!("/groups/{big}/delete"), &[]).await
        } else {
            app.post(&format!("/groups/{big}/delete"), &[]).await
        };
        assert_eq!(page.status, 422, "{}", page.body);
        assert!(
            page.body.contains("100,000") || page.body.contains("100000"),
            "{}",
            page.body
        );
    }
    assert_eq!(app.calls("tags/delete"), 1, "the big tag was never sent");
    // The question offers the way out: a job that takes the tag away from everyone.
    for page in [
        app.get_hx(&format!("/groups/{big}/delete")).await,
        app.get(&format!("/groups/{big}/delete")).await,
    ] {
        assert!(
            page.has(&format!(
                "form[action='/jobs/untag-all'] input[name=tag][value='{big}']"
            )),
            "{}",
            page.body
        );
        assert!(!page.has(&format!("form[action='/groups/{big}/delete']")));
    }
    let queued = app
        .post("/jobs/untag-all", &[("tag", &big.to_string())])
        .await;
    assert_eq!(queued.status, 303, "{}", queued.body);
    assert!(
        queued.location().starts_with("/jobs/"),
        "{}",
        queued.location()
    );
}

#[tokio::test]
async fn a_followers_tags_are_shown_and_added_removed_and_replaced() {
    let app = tags_app().await;
    let page = app.get("/groups").await;
    let vip = tag_id(&page, "VIP");
    let openid = app.sim.follower_openid(3);
    let panel = app
        .get_hx(&format!("/members/lookup?openid={openid}"))
        .await;
    assert_eq!(panel.status, 200, "{}", panel.body);
    assert_eq!(app.calls("tags/getidlist"), 1);
    let carried = app.sim.tags_of(&openid).unwrap();
    assert_eq!(panel.texts(".tag-chip").len(), carried.len());

    // Add (htmx), then the same again is answered here.
    let target = if carried.contains(&vip) {
        app.post_hx(
            "/members/tags",
            &[
                ("openid", &openid),
                ("action", "remove"),
                ("tag", &vip.to_string()),
            ],
        )
        .await;
        assert!(!app.sim.tags_of(&openid).unwrap().contains(&vip));
        vip
    } else {
        vip
    };
    let added = app
        .post_hx(
            "/members/tags",
            &[
                ("openid", &openid),
                ("action", "add"),
                ("tag", &target.to_string()),
            ],
        )
        .await;
    assert_eq!(added.status, 200, "{}", added.body);
    assert!(app.sim.tags_of(&openid).unwrap().contains(&target));
    let tagging = app.calls("tags/members/batchtagging");
    let again = app
        .post_hx(
            "/members/tags",
            &[
                ("openid", &openid),
                ("action", "add"),
                ("tag", &target.to_string()),
            ],
        )
        .await;
    assert_eq!(again.status, 200);
    assert_eq!(
        app.calls("tags/members/batchtagging"),
        tagging,
        "already carried: not sent"
    );

    // Replace VIP by a new tag, as a plain form: one untag, one tag, a redirect to the follower.
    let new = app.sim.create_tag("新标签");
    app.post_hx("/groups/refresh", &[]).await;
    let untagging = app.calls("tags/members/batchuntagging");
    let moved = app
        .post(
            "/members/tags",
            &[
                ("openid", &openid),
                ("action", "move"),
                ("from", &vip.to_string()),
                ("tag", &new.to_string()),
            ],
        )
        .await;
    assert_eq!(moved.status, 303, "{}", moved.body);
    assert!(
        moved.location().contains("done=tagged"),
        "{}",
        moved.location()
    );
    let tags = app.sim.tags_of(&openid).unwrap();
    assert!(tags.contains(&new) && !tags.contains(&vip), "{tags:?}");
    assert_eq!(app.calls("tags/members/batchuntagging"), untagging + 1);

    // A = B, and removing a tag not carried: answered here, nothing sent.
    let calls = app.sim.total_calls();
    let same = app
        .post_hx(
            "/members/tags",
            &[
                ("openid", &openid),
                ("action", "move"),
                ("from", &new.to_string()),
                ("tag", &new.to_string()),
            ],
        )
        .await;
    assert_eq!(same.status, 422);
    assert!(same.has("#tag-error"));
    assert_eq!(app.sim.total_calls(), calls, "refused before any call");
    let not_carried = app
        .post_hx(
            "/members/tags",
            &[
                ("openid", &openid),
                ("action", "remove"),
                ("tag", &vip.to_string()),
            ],
        )
        .await;
    assert_eq!(not_carried.status, 200);
    assert_eq!(app.calls("tags/members/batchuntagging"), untagging + 1);
    // The audit log has the replace as one row.
    let audit = app.get("/audit").await;
    assert!(audit.body.contains("follower_retag") || audit.body.contains("更换粉丝标签"));
}

#[tokio::test]
async fn a_follower_with_20_tags_gets_no_21st_and_is_told_why() {
    let app = tags_app().await;
    let openid = app.sim.follower_openid(5);
    while app.sim.tags_of(&openid).unwrap().len() < 20 {
        let t = app.sim.create_tag(&format!("满{}", app.sim.tag_count()));
        app.sim.tag_range(t, 5..6);
    }
    let extra = app.sim.create_tag("第二十一个");
    app.get("/groups").await;
    let page = app
        .post_hx(
            "/members/tags",
            &[
                ("openid", &openid),
                ("action", "add"),
                ("tag", &extra.to_string()),
            ],
        )
        .await;
    assert_eq!(page.status, 422, "{}", page.body);
    assert!(page.body.contains("20"));
    assert_eq!(app.calls("tags/members/batchtagging"), 0);
}

#[tokio::test]
async fn a_replace_whose_second_step_fails_says_the_follower_carries_neither() {
    let app = tags_app().await;
    let page = app.get("/groups").await;
    let vip = tag_id(&page, "VIP");
    let other = app.sim.create_tag("另一个");
    app.post_hx("/groups/refresh", &[]).await;
    let openid = app.sim.follower_openid(9);
    if !app.sim.tags_of(&openid).unwrap().contains(&vip) {
        app.sim.tag_range(vip, 9..10);
    }
    app.sim.inject(
        "tags/members/batchtagging",
        wxgroups::simulator::Fault::errcode(45009),
    );
    let page = app
        .post_hx(
            "/members/tags",
            &[
                ("openid", &openid),
                ("action", "move"),
                ("from", &vip.to_string()),
                ("tag", &other.to_string()),
            ],
        )
        .await;
    assert_ne!(page.status, 200, "{}", page.body);
    let tags = app.sim.tags_of(&openid).unwrap();
    assert!(!tags.contains(&vip) && !tags.contains(&other), "{tags:?}");
    let messages = page.text("#messages");
    assert!(
        messages.contains("两个标签都没有") || messages.contains("neither"),
        "{messages}"
    );
    // The panel shows the tags as they are now: without VIP.
    assert!(!page.has(&format!(".tag-chip input[name=tag][value='{vip}']")));
}

#[tokio::test]
async fn the_blacklist_lists_adds_after_a_confirmation_and_removes() {
    let app = tags_app().await;
    let page = app.get("/blacklist").await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert_eq!(app.calls("tags/members/getblacklist"), 1);
    // All of it on the first page: no "next page" to an empty one.
    assert!(!page.has("a[rel=next]"), "{}", page.text(".pager"));
    let openid = app.sim.follower_openid(11);
    if app.sim.is_blacklisted(&openid) {
        app.post("/blacklist/remove", &[("openid", &openid)]).await;
    }
    assert!(!app.sim.is_blacklisted(&openid));
    // First the confirmation, nothing sent.
    let confirm = app.post_hx("/blacklist/add", &[("openid", &openid)]).await;
    assert_eq!(confirm.status, 200, "{}", confirm.body);
    assert!(confirm.has("#blacklist-confirm"));
    assert_eq!(app.calls("tags/members/batchblacklist"), 0);
    // Then, confirmed, as a plain form.
    let done = app
        .post("/blacklist/add", &[("openid", &openid), ("confirm", "yes")])
        .await;
    assert_eq!(done.status, 303, "{}", done.body);
    assert!(app.sim.is_blacklisted(&openid));
    assert_eq!(app.calls("tags/members/batchblacklist"), 1);
    // Again: already on it, not sent.
    let again = app
        .post_hx("/blacklist/add", &[("openid", &openid), ("confirm", "yes")])
        .await;
    assert_eq!(again.status, 200);
    assert_eq!(app.calls("tags/members/batchblacklist"), 1);
    // Off it (htmx), then off again: "not on it", not sent.
    let off = app
        .post_hx("/blacklist/remove", &[("openid", &openid)])
        .await;
    assert_eq!(off.status, 200, "{}", off.body);
    assert!(!app.sim.is_blacklisted(&openid));
    let unblacklisting = app.calls("tags/members/batchunblacklist");
    let not_on = app
        .post_hx("/blacklist/remove", &[("openid", &openid)])
        .await;
    assert_eq!(not_on.status, 422, "{}", not_on.body);
    assert_eq!(app.calls("tags/members/batchunblacklist"), unblacklisting);
    // Both changes are in the audit log.
    let audit = app.get("/audit?action=blacklist").await;
    assert!(audit.body.contains(&openid));
}

#[tokio::test]
async fn the_blacklist_is_only_in_tags_mode() {
    let app = TestApp::spawn().await;
    assert_eq!(app.get("/blacklist").await.status, 404);
    assert_eq!(
        app.post("/blacklist/add", &[("openid", "oX")]).await.status,
        404
    );
    assert!(!app.get("/groups").await.has("nav a[href='/blacklist']"));
}

#[tokio::test]
async fn an_account_without_the_tags_api_sees_48001_and_the_other_api_suggested() {
    let app = tags_app_with(SimConfig {
        tags_api: false,
        ..sim_config()
    })
    .await;
    let page = app.get("/groups").await;
    assert!(page.has("#api-banner"), "{}", page.body);
    assert!(page.text("#api-banner").contains("WXGROUPS_API=groups"));
    // Every page says so.
    assert!(app.get("/status").await.has("#api-banner"));
}

#[tokio::test]
async fn a_tags_members_are_read_live_and_the_ticked_ones_retagged_as_a_job() {
    let app = TestApp::spawn_with(sim_config(), |mut s| {
        s.api = Api::Tags;
        s.jobs = crate::bulk::fast_jobs();
        s
    })
    .await;
    let page = app.get("/groups").await;
    let vip = tag_id(&page, "VIP");
    let other = app.sim.create_tag("换成这个");
    app.post_hx("/groups/refresh", &[]).await;
    let members = app.get(&format!("/groups/{vip}/members")).await;
    assert_eq!(members.status, 200, "{}", members.body);
    assert_eq!(app.calls("user/tag/get"), 1, "read live from WeChat");
    let listed = members.texts("td .member-openid");
    assert_eq!(listed.len() as u64, app.sim.tag_members(vip));
    assert!(
        !members.has("a[rel=next]"),
        "every member is on the first page"
    );
    let ticked: Vec<String> = listed.iter().take(2).cloned().collect();
    let mut form: Vec<(&str, &str)> = ticked.iter().map(|o| ("openid", o.as_str())).collect();
    let to = other.to_string();
    form.extend([("action", "retag"), ("to_groupid", to.as_str())]);
    let posted = app
        .post(&format!("/groups/{vip}/members/move"), &form)
        .await;
    assert_eq!(posted.status, 303, "{}", posted.body);
    let id: i64 = posted
        .location()
        .trim_start_matches("/jobs/")
        .parse()
        .unwrap_or_else(|_| panic!("a job's page: {}", posted.location()));
    let job = crate::bulk::wait_for_job(&app.store, id, std::time::Duration::from_secs(20)).await;
    assert_eq!(job.state.as_str(), "done", "{job:?}");
    for o in &ticked {
        let tags = app.sim.tags_of(o).unwrap();
        assert!(
            tags.contains(&other) && !tags.contains(&vip),
            "{o}: {tags:?}"
        );
    }
    // A move to the same tag is refused before anything is stored.
    let same = app
        .post(
            &format!("/groups/{vip}/members/move"),
            &[
                ("openid", ticked[0].as_str()),
                ("action", "retag"),
                ("to_groupid", &vip.to_string()),
            ],
        )
        .await;
    assert_eq!(same.status, 303);
    assert!(same.location().contains("problem="), "{}", same.location());
}
