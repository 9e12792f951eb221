//! The operator's flows, written once and run in Chinese and English, with and without
//! JavaScript (see `main.rs`). With JavaScript, htmx swaps fragments and the page must not
//! reload; without it, the same forms post and redirect.

use crate::{
    browser::{Js, Lang},
    ui::Ui,
};

/// The demo account's groups: the three system groups and four demo groups.
const SEEDED: [u32; 7] = [0, 1, 2, 100, 101, 102, 103];

pub async fn the_group_list_shows_every_group_and_the_total(ui: Ui) {
    ui.open_groups().await;
    assert_eq!(ui.group_ids().await, SEEDED);
    let heading = ui.text("#groups-title").await;
    assert_eq!(heading, ui.lang.pick("用户分组", "User groups"));
    assert!(ui.text("#group-0").await.contains("未分组"));
    assert!(
        ui.text("#group-0 .badge")
            .await
            .contains(ui.lang.pick("系统", "system"))
    );
    let mut sum = 0;
    for id in SEEDED {
        sum += ui.count_of(id).await;
    }
    assert_eq!(ui.total().await, sum, "the total row adds up the rows");
    assert_eq!(sum, 300, "every demo follower is counted once");
    assert!(ui.text(".summary").await.contains("7 / 500"));
}

pub async fn creating_a_group_adds_its_row_and_says_so(ui: Ui) {
    ui.open_groups().await;
    if ui.js == Js::On {
        ui.mark_page().await;
    }
    let name = ui.lang.pick("华东区客户", "East coast clients");
    ui.fill("#create-name", name).await;
    ui.click("#create-form button[type=submit]").await;

    let said = ui
        .wait_message(ui.lang.pick("已创建分组", "Created group"))
        .await;
    assert!(said.contains(name), "{said}");
    let row = ui.wait_text("#group-104", name).await;
    assert!(row.contains('0'), "a new group is empty: {row}");
    assert!(ui.is_present("#group-104.highlight").await);
    assert_eq!(ui.group_ids().await.len(), 8);
    assert!(ui.text(".summary").await.contains("8 / 500"));
    assert!(ui.text("#create-hint").await.contains("8"));
    assert_eq!(ui.sim().group_count(), 8);
    match ui.js {
        Js::On => {
            ui.assert_not_reloaded().await;
            let left = ui.attr("#create-name", "value").await;
            let typed = ui.find("#create-name").await.prop("value").await.unwrap();
            assert_eq!(
                typed.as_deref(),
                Some(""),
                "the form is ready for the next ({left:?})"
            );
        }
        Js::Off => {
            let url = ui.client.current_url().await.unwrap();
            assert_eq!(url.path(), "/groups", "redirected after the post");
        }
    }
}

pub async fn renaming_a_group_happens_in_its_row(ui: Ui) {
    ui.open_groups().await;
    if ui.js == Js::On {
        ui.mark_page().await;
    }
    ui.click("#group-101 td.actions a").await;
    ui.wait_for("#group-101.editing input[name=name]").await;
    ui.wait_focus("rename-101-name", "the rename box has the focus")
        .await;
    let new = ui.lang.pick("重要客户", "Key accounts");
    ui.fill("#rename-101-name", new).await;
    ui.click("#rename-101 button[type=submit]").await;

    ui.wait_message(new).await;
    ui.wait_text("#group-101 td.name", new).await;
    assert!(!ui.is_present("#group-101.editing").await);
    assert_eq!(ui.sim().calls("/cgi-bin/groups/update"), 1);
    if ui.js == Js::On {
        ui.assert_not_reloaded().await;
    }
}

pub async fn looking_up_and_moving_a_follower_updates_both_groups(ui: Ui) {
    ui.open_groups().await;
    if ui.js == Js::On {
        ui.mark_page().await;
    }
    let openid = ui.sim().follower_openid(7);
    let from = ui.sim().group_of(&openid).expect("a follower");
    let to = if from == 103 { 102 } else { 103 };
    let (from_before, to_before) = (ui.count_of(from).await, ui.count_of(to).await);

    ui.fill("#lookup-openid", &openid).await;
    ui.click("form.lookup button[type=submit]").await;
    ui.wait_text(".found-openid", &openid).await;
    let current = ui.text(".found").await;
    assert!(current.contains(&format!("id {from}")), "{current}");

    // An expired access token on the way must not show: the client fetches a new one.
    ui.sim().invalidate_tokens();
    ui.find("#move-to")
        .await
        .select_by_value(&to.to_string())
        .await
        .expect("choose the group");
    ui.click("form.move button[type=submit]").await;

    ui.wait_message(ui.lang.pick("已将", "Moved")).await;
    ui.wait_until("the follower is in the new group upstream", || {
        ui.sim().group_of(&openid) == Some(to)
    })
    .await;
    ui.wait_count(from, from_before - 1).await;
    ui.wait_count(to, to_before + 1).await;
    let now = ui.wait_text(".found", &format!("id {to}")).await;
    assert!(now.contains(&openid), "{now}");
    if ui.js == Js::On {
        ui.assert_not_reloaded().await;
    }
}

/// Submits `value` in a form's field and expects `message` in the field's own error (the one its
/// `aria-describedby` names), the field marked invalid and focused, and nothing sent upstream.
async fn refused(ui: &Ui, field: &str, submit: &str, value: &str, message: &str) {
    let css = format!("#{field}");
    ui.fill(&css, value).await;
    ui.click(submit).await;
    // The field may still be marked invalid by the previous refusal while this one is on its
    // way, and swapped out between two reads: poll until the field, as it is now, names an error
    // that says `message`.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    loop {
        let invalid = ui.is_present(&format!("{css}[aria-invalid=true]")).await;
        let described = ui.attr(&css, "aria-describedby").await.unwrap_or_default();
        let error = described
            .split_whitespace()
            .find(|id| id.ends_with("-error"));
        if let (true, Some(error)) = (invalid, error) {
            let said = ui.text(&format!("#{error}.field-error")).await;
            if said.contains(message) {
                break;
            }
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{field} never named an error saying {message:?} (aria-describedby {described:?})"
        );
        tokio::time::sleep(std::time::Duration::from_millis(40)).await;
    }
    ui.wait_focus(field, "the invalid field has the focus")
        .await;
}

pub async fn bad_input_is_explained_next_to_the_field(ui: Ui) {
    ui.open_groups().await;
    let create = "#create-form button[type=submit]";
    // Blank passes the browser's `required` check; the server trims it to nothing.
    refused(
        &ui,
        "create-name",
        create,
        "   ",
        ui.lang.pick("请输入分组名称", "Enter a group name"),
    )
    .await;
    refused(
        &ui,
        "create-name",
        create,
        &"组".repeat(31),
        ui.lang.pick("有 31 个字符", "31 characters"),
    )
    .await;
    refused(
        &ui,
        "create-name",
        create,
        "星标组",
        ui.lang.pick("系统分组的名称", "name of a system group"),
    )
    .await;
    refused(
        &ui,
        "lookup-openid",
        "form.lookup button[type=submit]",
        "oDF3iYx0ro3_7jD4HFRDfrjd!M58",
        ui.lang.pick("不合法", "is not allowed"),
    )
    .await;
    assert_eq!(ui.sim().calls("/cgi-bin/groups/create"), 0);
    assert_eq!(ui.sim().group_count(), 7);
}

pub async fn an_unreachable_wechat_is_reported_and_nothing_breaks(ui: Ui) {
    ui.visit("/groups").await;
    if ui.lang == Lang::En {
        ui.click(".lang-switch button").await;
    }
    ui.wait_text(
        "#groups-table .empty",
        ui.lang.pick("暂时无法", "could not be fetched"),
    )
    .await;
    assert_eq!(ui.page_lang().await, ui.lang.code());
    let first = ui.wait_text("#messages .notice-error", "").await;
    assert!(!first.is_empty(), "the failure is in the message region");

    // Creating still answers, with the failure said and the name kept for another try. The
    // message already shown is marked, to wait for the new one.
    ui.script("document.querySelectorAll('#messages .notice').forEach(n => n.dataset.old = 'y')")
        .await;
    ui.fill("#create-name", "VIP").await;
    ui.click("#create-form button[type=submit]").await;
    let fresh = "#messages .notice-error:not([data-old])";
    ui.wait_for(fresh).await;
    let said = ui.text(fresh).await;
    assert!(
        said.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)) == (ui.lang == Lang::Zh),
        "the message is in the page's language: {said}"
    );
    let kept = ui.find("#create-name").await.prop("value").await.unwrap();
    assert_eq!(kept.as_deref(), Some("VIP"));
}
