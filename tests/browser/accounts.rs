//! Several accounts in a real browser: the account list, then the switcher in the top bar,
//! in both languages, with htmx and with JavaScript blocked (a `<details>` of plain links).

use crate::{
    axe,
    browser::{Js, Lang},
    ui::Ui,
};

/// axe (it needs JavaScript) and the screenshots, from the runs with htmx.
async fn check(ui: &Ui, screen: &str, show: Option<&str>) {
    if ui.js == Js::On {
        axe::check(ui, &format!("{screen}, {}", ui.lang.short())).await;
        crate::tour::photograph(ui, screen, show).await;
    }
}

pub async fn the_account_list_and_the_switcher_take_the_operator_between_accounts(ui: Ui) {
    ui.visit("/").await;
    if ui.lang == Lang::En {
        ui.click(".lang-switch button").await;
        ui.wait_until_lang("en").await;
    }
    assert_eq!(
        ui.text("#accounts-title").await,
        ui.lang.pick("选择公众号", "Choose an account")
    );
    check(&ui, "accounts", None).await;
    ui.click(".account-list a[href='/a/demo/groups']").await;
    ui.wait_for("#groups-table").await;
    assert_eq!(ui.path().await, "/a/demo/groups");
    let groups_title = ui.text("#groups-title").await;
    assert_eq!(groups_title, ui.lang.pick("用户分组", "User groups"));
    // The switcher: its summary names this account; opening it lists both, this one current.
    assert!(
        ui.text("details.switcher summary")
            .await
            .contains("演示公众号")
    );
    ui.click("details.switcher summary").await;
    ui.wait_for("details.switcher[open] a[href='/a/demo-2/groups']")
        .await;
    check(&ui, "switcher", None).await;
    assert!(
        ui.is_present("details.switcher a[href='/a/demo/groups'][aria-current=page]")
            .await
    );
    ui.click("details.switcher a[href='/a/demo-2/groups']")
        .await;
    ui.wait_text("#groups-title", ui.lang.pick("用户标签", "User tags"))
        .await;
    assert_eq!(ui.path().await, "/a/demo-2/groups");
    // Every link of the page stays in the account.
    let lookup = ui.attr("form.lookup", "action").await.unwrap_or_default();
    assert_eq!(lookup, "/a/demo-2/groups");
    assert_eq!(
        ui.attr("nav a[aria-current=page]", "href").await.as_deref(),
        Some("/a/demo-2/groups")
    );
}
