//! Tags-mode batch jobs in a real browser: the list form, the preview and the finished job of a
//! move between tags, and the preview of copying groups into tags; in both languages with htmx
//! (axe on each screen, in the light and the dark scheme) and in English without JavaScript
//! (plain forms; axe itself needs JavaScript).

use serde_json::json;

use crate::{
    app::TestApp,
    axe,
    browser::{Js, Lang, run},
    ui::Ui,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_move_between_tags_and_a_copy_preview_pass_axe_in_chinese_with_htmx() {
    let app = TestApp::tags_demo().await;
    run("browser-tag-jobs-zh", app, Js::On, Lang::Zh, tag_jobs).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_move_between_tags_and_a_copy_preview_pass_axe_in_english_with_htmx() {
    let app = TestApp::tags_demo().await;
    run("browser-tag-jobs-en", app, Js::On, Lang::En, tag_jobs).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_move_between_tags_and_a_copy_preview_work_in_english_without_javascript() {
    let app = TestApp::tags_demo().await;
    run("browser-tag-jobs-en-nojs", app, Js::Off, Lang::En, tag_jobs).await;
}

async fn tag_jobs(ui: Ui) {
    ui.open_groups().await;
    ui.visit("/jobs").await;
    ui.wait_for("#list-action").await;
    both_schemes(&ui, "tag jobs").await;
    snap(&ui, "tag-jobs", None).await;

    let list: Vec<String> = (0..120).map(|i| ui.sim().follower_openid(i)).collect();
    ui.select("#list-action", "retag").await;
    ui.select("#list-from", "100").await;
    ui.select("#list-to", "101").await;
    ui.fill(
        "#list-text",
        &format!("{}\nnot an openid!", list.join("\n")),
    )
    .await;
    ui.click(".tag-list-form button[type=submit]").await;
    ui.wait_text(".preview-valid", "120").await;
    assert_eq!(ui.text(".preview-calls").await, "6");
    both_schemes(&ui, "tag job preview").await;
    snap(&ui, "tag-job-preview", Some("#batch-panel")).await;

    ui.click("#batch-panel form[action$='/confirm'] button[type=submit]")
        .await;
    wait_until_done(&ui).await;
    both_schemes(&ui, "tag job done").await;
    snap(&ui, "tag-job-done", Some("#batch-panel")).await;
    for o in &list {
        let tags = ui.sim().tags_of(o).unwrap();
        assert!(tags.contains(&101) && !tags.contains(&100), "{o}: {tags:?}");
    }

    ui.visit("/jobs").await;
    ui.click("#copy-card button[type=submit]").await;
    ui.wait_for(".copy-summary").await;
    both_schemes(&ui, "copy preview").await;
    snap(&ui, "copy-preview", Some(".copy-summary")).await;
}

/// The README's screenshots of these screens, from the runs with JavaScript (as operators see
/// them); the run without it checks the same flow.
async fn snap(ui: &Ui, screen: &str, show: Option<&str>) {
    if ui.js == Js::On {
        crate::tour::photograph(ui, screen, show).await;
    }
}

/// The job's card says done: htmx polls it there; without JavaScript the page is reloaded, as
/// an operator would.
async fn wait_until_done(ui: &Ui) {
    if ui.js == Js::On {
        ui.wait_for("#batch-panel[data-state=done]").await;
        return;
    }
    ui.wait_for("#batch-panel").await;
    let path = ui.path().await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while !ui.is_present("#batch-panel[data-state=done]").await {
        assert!(std::time::Instant::now() < deadline, "the job never ended");
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        ui.goto(&path).await;
    }
}

async fn both_schemes(ui: &Ui, screen: &str) {
    if ui.js == Js::Off {
        return;
    }
    for scheme in ["light", "dark"] {
        ui.cdp(
            "Emulation.setEmulatedMedia",
            json!({ "features": [{ "name": "prefers-color-scheme", "value": scheme }] }),
        )
        .await;
        axe::check(ui, &format!("{screen}, {}, {scheme}", ui.lang.short())).await;
    }
    ui.cdp(
        "Emulation.setEmulatedMedia",
        json!({ "features": [{ "name": "prefers-color-scheme", "value": "light" }] }),
    )
    .await;
}
