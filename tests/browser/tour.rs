//! The main screens, once per language: axe on each in the light and the dark scheme, and the
//! screenshots README shows, at desktop (1280×800) and phone (375×812) size.
//!
//! Regenerating README's screenshots: `WXGROUPS_SCREENSHOTS=1 cargo test --test browser tour`
//! (without the variable they go to `target/screenshots/`).

use std::path::PathBuf;

use serde_json::json;

use crate::{
    app::TestApp,
    axe,
    browser::{Js, Lang, run},
    ui::Ui,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_main_screen_passes_axe_and_is_photographed_in_chinese() {
    run(
        "browser-tour-zh",
        TestApp::demo().await,
        Js::On,
        Lang::Zh,
        tour,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_main_screen_passes_axe_and_is_photographed_in_english() {
    run(
        "browser-tour-en",
        TestApp::demo().await,
        Js::On,
        Lang::En,
        tour,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bulk_pages_and_status_pass_axe_and_are_photographed_in_chinese() {
    run(
        "browser-tour-bulk-zh",
        TestApp::demo().await,
        Js::On,
        Lang::Zh,
        bulk_tour,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bulk_pages_and_status_pass_axe_and_are_photographed_in_english() {
    run(
        "browser-tour-bulk-en",
        TestApp::demo().await,
        Js::On,
        Lang::En,
        bulk_tour,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_tags_screens_pass_axe_and_are_photographed_in_chinese() {
    run(
        "browser-tour-tags-zh",
        TestApp::tags_demo().await,
        Js::On,
        Lang::Zh,
        tags_tour,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_tags_screens_pass_axe_and_are_photographed_in_english() {
    run(
        "browser-tour-tags-en",
        TestApp::tags_demo().await,
        Js::On,
        Lang::En,
        tags_tour,
    )
    .await;
}

/// The tags mode's screens: the tag list, a follower's tags, a tag's members read live, the
/// blacklist and its confirmation, the refusal to delete a tag above 100,000 followers.
async fn tags_tour(ui: Ui) {
    ui.open_groups().await;
    check_both_schemes(&ui, "tags").await;
    photograph(&ui, "tags", None).await;

    // A follower with a few tags, so that the chips show.
    let tagged = (0..300)
        .map(|i| ui.sim().follower_openid(i))
        .find(|o| ui.sim().tags_of(o).is_some_and(|t| t.len() >= 2))
        .expect("the seed gives some followers several tags");
    ui.fill("#lookup-openid", &tagged).await;
    ui.click("form.lookup button[type=submit]").await;
    ui.wait_for(".found .tag-chip").await;
    check_both_schemes(&ui, "a follower's tags").await;
    photograph(&ui, "tag-lookup", Some("#member-panel")).await;

    ui.visit("/groups/102/members").await;
    ui.wait_for("#members-live").await;
    check_both_schemes(&ui, "a tag's members").await;
    photograph(&ui, "tag-members", None).await;

    ui.visit("/blacklist").await;
    ui.wait_for("#blacklist").await;
    check_both_schemes(&ui, "blacklist").await;
    photograph(&ui, "blacklist", None).await;
    let openid = (0..300)
        .map(|i| ui.sim().follower_openid(i))
        .find(|o| !ui.sim().is_blacklisted(o))
        .expect("most demo followers are not blacklisted");
    ui.fill("#blacklist-openid", &openid).await;
    ui.click("#blacklist form.lookup button[type=submit]").await;
    ui.wait_for("#blacklist-confirm").await;
    check_both_schemes(&ui, "blacklist confirmation").await;
    photograph(&ui, "blacklist-confirm", Some("#blacklist")).await;

    ui.visit("/status").await;
    assert!(
        ui.text("#status-which-api").await.contains("tags"),
        "the status page says which API"
    );
}

/// The bulk pages as an operator meets them: sync the followers, open a group's members, move a
/// pasted list (preview, then the live progress to the end), the delete question, the status page.
async fn bulk_tour(ui: Ui) {
    ui.open_groups().await;
    ui.visit("/jobs").await;
    ui.wait_for("#sync-panel").await;
    check_both_schemes(&ui, "jobs").await;
    photograph(&ui, "jobs", None).await;

    ui.click("#sync-panel button[type=submit]").await;
    // The panel polls itself until the sync is done: then it has stored all 300 followers.
    ui.wait_text("#sync-panel .summary dd", "300").await;

    ui.visit("/groups/100/members").await;
    ui.wait_for("#members-title").await;
    ui.wait_for("tbody tr").await;
    check_both_schemes(&ui, "members").await;
    photograph(&ui, "members", None).await;

    ui.visit("/jobs").await;
    let sim = ui.sim();
    let list: Vec<String> = (0..120).map(|i| sim.follower_openid(i)).collect();
    let text = format!("{}\nnot an openid!\n{}", list.join("\n"), list[0]);
    ui.fill("#list-text", &text).await;
    ui.find("#list-to")
        .await
        .select_by_value("101")
        .await
        .expect("a target group");
    ui.click(".list-form button[type=submit]").await;
    ui.wait_for("#batch-panel form button[type=submit]").await;
    check_both_schemes(&ui, "batch preview").await;
    photograph(&ui, "batch-preview", Some("#batch-panel")).await;

    ui.click("#batch-panel form button[type=submit]").await;
    ui.wait_for("#batch-panel[data-state=done]").await;
    check_both_schemes(&ui, "batch done").await;
    photograph(&ui, "batch-done", Some("#batch-panel")).await;
    for openid in &list {
        assert_eq!(ui.sim().group_of(openid), Some(101), "{openid} moved");
    }

    ui.visit("/groups/103/delete").await;
    ui.wait_for("#delete-title").await;
    check_both_schemes(&ui, "delete question").await;
    photograph(&ui, "delete", None).await;

    ui.visit("/status").await;
    ui.wait_for(".quota-table").await;
    check_both_schemes(&ui, "status").await;
    photograph(&ui, "status", None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_filters_and_audit_pass_axe_and_are_photographed_in_chinese() {
    run(
        "browser-tour-account-zh",
        TestApp::configured().await,
        Js::On,
        Lang::Zh,
        account_tour,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_filters_and_audit_pass_axe_and_are_photographed_in_english() {
    run(
        "browser-tour-account-en",
        TestApp::configured().await,
        Js::On,
        Lang::En,
        account_tour,
    )
    .await;
}

/// A configured account: the sign-in page (and its error), the new controls on the groups page
/// (a filter, its empty state, the blacklist question), and the audit log.
async fn account_tour(ui: Ui) {
    ui.goto("/signin").await;
    if ui.lang == Lang::En {
        ui.click(".lang-switch button").await;
        ui.wait_for("html[lang=en] #signin-name").await;
    }
    check_both_schemes(&ui, "sign-in").await;
    photograph(&ui, "signin", None).await;
    photograph_dark(&ui, "signin").await;
    ui.fill("#signin-name", crate::app::OPERATOR).await;
    ui.fill("#signin-password", "wrong").await;
    ui.click(".signin button[type=submit]").await;
    ui.wait_for("#messages[role=alert]").await;
    check_both_schemes(&ui, "sign-in refused").await;

    ui.visit("/groups").await;
    // Something for the audit log: a group, a rename, a move.
    ui.fill("#create-name", ui.lang.pick("华北区客户", "North region"))
        .await;
    ui.click("#create-form button[type=submit]").await;
    ui.wait_for("#group-104").await;
    ui.click("#group-101 td.actions a").await;
    ui.wait_for("#rename-101-name").await;
    ui.fill("#rename-101-name", ui.lang.pick("重要客户", "Key accounts"))
        .await;
    ui.click("#rename-101 button[type=submit]").await;
    ui.wait_for("#group-101:not(.editing)").await;

    ui.fill("#groups-q", ui.lang.pick("客户", "region")).await;
    ui.wait_for("#groups-filter-status:not(:empty)").await;
    ui.click("#sort-count").await;
    ui.wait_for("th[aria-sort] #sort-count").await;
    check_both_schemes(&ui, "filtered and sorted").await;
    photograph(&ui, "filtered", Some("#groups-table")).await;
    ui.fill("#groups-q", "zzz").await;
    ui.wait_for(".filter-empty").await;
    check_both_schemes(&ui, "filter matches nothing").await;
    ui.click("#groups-clear").await;
    ui.wait_for("#groups-results table").await;

    let openid = ui.sim().follower_openid(11);
    ui.fill("#lookup-openid", &openid).await;
    ui.click("form.lookup button[type=submit]").await;
    ui.wait_for(".found").await;
    let to = if ui.sim().group_of(&openid) == Some(1) {
        "2"
    } else {
        "1"
    };
    ui.find("#move-to")
        .await
        .select_by_value(to)
        .await
        .expect("a group");
    ui.click("form.move button[type=submit]").await;
    if to == "1" {
        ui.wait_for("#confirm-blacklist").await;
        check_both_schemes(&ui, "blacklist question").await;
        photograph(&ui, "confirm", Some("#member-panel")).await;
        ui.click("#confirm-blacklist").await;
    }
    ui.wait_for("#messages .notice-success").await;

    ui.click(".nav a[href$='/audit']").await;
    ui.wait_for("#audit-title").await;
    ui.wait_for("td time[data-local]").await;
    check_both_schemes(&ui, "audit log").await;
    photograph(&ui, "audit", None).await;
    photograph_dark(&ui, "audit").await;
}

async fn tour(ui: Ui) {
    ui.open_groups().await;
    check_both_schemes(&ui, "groups").await;
    photograph(&ui, "groups", None).await;
    photograph_dark(&ui, "groups").await;

    ui.fill("#create-name", ui.lang.pick("华北区客户", "North region"))
        .await;
    ui.click("#create-form button[type=submit]").await;
    ui.wait_for("#messages .notice-success").await;
    check_both_schemes(&ui, "groups with a message").await;

    ui.click("#group-101 td.actions a").await;
    ui.wait_for("#group-101.editing input").await;
    check_both_schemes(&ui, "rename row open").await;
    photograph(&ui, "rename", Some("#group-101")).await;
    ui.click("#group-101 td.actions a").await; // Cancel
    ui.wait_for("#group-101:not(.editing)").await;

    ui.fill("#lookup-openid", &ui.sim().follower_openid(3))
        .await;
    ui.click("form.lookup button[type=submit]").await;
    ui.wait_for(".found").await;
    check_both_schemes(&ui, "lookup result").await;
    photograph(&ui, "lookup", Some("#member-panel")).await;

    ui.fill("#create-name", "星标组").await;
    ui.click("#create-form button[type=submit]").await;
    ui.wait_for("#create-error").await;
    check_both_schemes(&ui, "invalid name").await;
    photograph(&ui, "invalid", Some("#create-form")).await;

    ui.visit("/no-such-page").await;
    ui.wait_for(".error-page").await;
    check_both_schemes(&ui, "404").await;
    photograph(&ui, "not-found", None).await;

    // The checker checks: grey on white (2.3:1) must be caught, or the passes above mean nothing.
    ui.script(
        // Styled through the CSSOM: the page's CSP (rightly) ignores inline style attributes.
        "var p = document.createElement('p'); p.textContent = 'faint'; \
         p.style.color = '#aaa'; p.style.background = '#fff'; \
         document.querySelector('main').appendChild(p); return null",
    )
    .await;
    let caught = axe::violations(&ui).await;
    assert!(
        caught
            .iter()
            .any(|v| v.id == "color-contrast" && v.impact.as_deref() == Some("serious")),
        "{caught:?}"
    );
}

/// axe in the light scheme, then in the dark one (emulated through DevTools; the page's CSS
/// follows `prefers-color-scheme`).
async fn check_both_schemes(ui: &Ui, screen: &str) {
    axe::check(ui, &format!("{screen}, {}, light", ui.lang.short())).await;
    set_dark(ui, true).await;
    axe::check(ui, &format!("{screen}, {}, dark", ui.lang.short())).await;
    set_dark(ui, false).await;
}

async fn set_dark(ui: &Ui, dark: bool) {
    let scheme = if dark { "dark" } else { "light" };
    ui.cdp(
        "Emulation.setEmulatedMedia",
        json!({ "features": [{ "name": "prefers-color-scheme", "value": scheme }] }),
    )
    .await;
    let matches = ui
        .script(&format!(
            "return matchMedia('(prefers-color-scheme: {scheme})').matches"
        ))
        .await;
    assert_eq!(matches, json!(true), "the page sees the {scheme} scheme");
}

/// Saves `tests/screenshots/<screen>-<lang>-{desktop,phone}.png`. On the phone the page is one
/// column, so `show` (if any) is scrolled into view first.
pub(crate) async fn photograph(ui: &Ui, screen: &str, show: Option<&str>) {
    for (size, width, height, mobile) in [("desktop", 1280, 800, false), ("phone", 375, 812, true)]
    {
        ui.cdp(
            "Emulation.setDeviceMetricsOverride",
            json!({ "width": width, "height": height, "deviceScaleFactor": 1, "mobile": mobile }),
        )
        .await;
        let scroll = match show {
            Some(css) => {
                format!("document.querySelector('{css}').scrollIntoView({{block: 'center'}});")
            }
            None => "window.scrollTo(0, 0);".to_owned(),
        };
        ui.script(&format!("{scroll} return window.innerWidth"))
            .await;
        save(ui, &format!("{screen}-{}-{size}.png", ui.lang.short())).await;
        // Nothing may be cut off or need sideways scrolling, from 375 px up.
        let overflow = ui
            .script(
                "return [...document.querySelectorAll('html, body, .table-wrap')]
                   .filter((e) => e.scrollWidth > e.clientWidth + 1)
                   .map((e) => (e.className || e.tagName) + ' ' + e.scrollWidth + '>' + e.clientWidth)",
            )
            .await;
        assert_eq!(
            overflow,
            json!([]),
            "{screen} overflows sideways at {width} px"
        );
    }
    ui.cdp("Emulation.clearDeviceMetricsOverride", json!({}))
        .await;
}

/// The desktop screenshot again in the dark scheme.
async fn photograph_dark(ui: &Ui, screen: &str) {
    set_dark(ui, true).await;
    ui.cdp(
        "Emulation.setDeviceMetricsOverride",
        json!({ "width": 1280, "height": 800, "deviceScaleFactor": 1, "mobile": false }),
    )
    .await;
    save(
        ui,
        &format!("{screen}-{}-desktop-dark.png", ui.lang.short()),
    )
    .await;
    ui.cdp("Emulation.clearDeviceMetricsOverride", json!({}))
        .await;
    set_dark(ui, false).await;
}

async fn save(ui: &Ui, file: &str) {
    let png = ui.client.screenshot().await.expect("a screenshot");
    // Every run photographs the screens (a broken layout shows up in target/), but only an
    // explicit `WXGROUPS_SCREENSHOTS=1` replaces the committed ones README shows.
    let dir = if std::env::var_os("WXGROUPS_SCREENSHOTS").is_some_and(|v| v == "1") {
        PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/screenshots"))
    } else {
        PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/target/screenshots"))
    };
    std::fs::create_dir_all(&dir).expect("a screenshot folder");
    std::fs::write(dir.join(file), png).expect("write the screenshot");
}
