//! The tags mode (`WXGROUPS_API=tags`) in a real browser: the tag list and a create refused by
//! the byte rule, one follower's tags, and the blacklist, each in both languages, with htmx and
//! with JavaScript blocked.

use crate::{browser::Js, ui::Ui};

/// The demo account's tags (the simulator's seed): 星标组 and four of the demo's own.
const SEEDED: [u32; 5] = [2, 100, 101, 102, 103];

pub async fn the_tag_list_speaks_of_tags_and_counts_bytes(ui: Ui) {
    ui.open_groups().await;
    assert_eq!(ui.group_ids().await, SEEDED);
    let heading = ui.text("#groups-title").await;
    assert_eq!(heading, ui.lang.pick("用户标签", "User tags"));
    assert!(ui.text(".summary").await.contains("5 / 100"));
    assert!(
        ui.text("#create-hint")
            .await
            .contains(ui.lang.pick("30 个字节", "30 bytes"))
    );
    if ui.js == Js::On {
        ui.mark_page().await;
    }
    // 11 characters, 31 bytes: refused next to the field, nothing sent.
    ui.fill("#create-name", "测试测试测试测试测试a").await;
    ui.click("#create-form button[type=submit]").await;
    let error = ui.wait_text("#create-error", "31").await;
    assert!(error.contains(ui.lang.pick("字节", "bytes")), "{error}");
    assert_eq!(ui.sim().calls("/cgi-bin/tags/create"), 0);
    // Ten characters, 30 bytes: created.
    ui.fill("#create-name", "测试测试测试测试测试").await;
    ui.click("#create-form button[type=submit]").await;
    ui.wait_message(ui.lang.pick("已创建标签", "Created tag"))
        .await;
    ui.wait_text("#group-104", "测试测试测试测试测试").await;
    assert_eq!(ui.sim().tag_count(), 6);
    if ui.js == Js::On {
        ui.assert_not_reloaded().await;
    }
}

pub async fn a_followers_tags_are_added_and_removed_in_the_panel(ui: Ui) {
    ui.open_groups().await;
    // A follower the seed did not tag VIP (101).
    let openid = (0..300)
        .map(|i| ui.sim().follower_openid(i))
        .find(|o| !ui.sim().tags_of(o).unwrap().contains(&101))
        .expect("most demo followers are not VIP");
    ui.fill("#lookup-openid", &openid).await;
    ui.click("form.lookup button[type=submit]").await;
    ui.wait_for(".found").await;
    let carried = ui.sim().tags_of(&openid).unwrap().len();
    let count = ui.text("#found-tags-label").await;
    assert!(count.contains(&carried.to_string()), "{count}");
    if ui.js == Js::On {
        ui.mark_page().await;
    }
    ui.select("#tag-add", "101").await;
    ui.click("#tag-add-form button[type=submit]").await;
    ui.wait_message(ui.lang.pick("添加标签", "now carries"))
        .await;
    assert!(ui.sim().tags_of(&openid).unwrap().contains(&101));
    ui.wait_for(".tag-chip input[name=tag][value='101']").await;
    // And off again with the chip's button.
    ui.click(".tag-chip:has(input[value='101']) button").await;
    ui.wait_message(ui.lang.pick("已取消", "no longer carries"))
        .await;
    assert!(!ui.sim().tags_of(&openid).unwrap().contains(&101));
    if ui.js == Js::On {
        ui.assert_not_reloaded().await;
    }
}

pub async fn blacklisting_asks_first_and_removing_works(ui: Ui) {
    ui.open_groups().await;
    ui.visit("/blacklist").await;
    assert_eq!(
        ui.text("#blacklist-title").await,
        ui.lang.pick("黑名单", "Blacklist")
    );
    let openid = (0..300)
        .map(|i| ui.sim().follower_openid(i))
        .find(|o| !ui.sim().is_blacklisted(o))
        .expect("most demo followers are not blacklisted");
    ui.fill("#blacklist-openid", &openid).await;
    ui.click("#blacklist form.lookup button[type=submit]").await;
    ui.wait_for("#blacklist-confirm").await;
    assert!(
        !ui.sim().is_blacklisted(&openid),
        "nothing before the confirmation"
    );
    ui.click("#blacklist-confirm").await;
    ui.wait_message(ui.lang.pick("加入黑名单", "on the blacklist"))
        .await;
    assert!(ui.sim().is_blacklisted(&openid));
    ui.wait_for(&format!(
        "#blacklist tbody input[name=openid][value='{openid}']"
    ))
    .await;
    assert_eq!(
        ui.find("#blacklist-openid")
            .await
            .prop("value")
            .await
            .unwrap()
            .as_deref(),
        Some(""),
        "the add field is ready for the next"
    );
    ui.click(&format!(
        "#blacklist tbody form:has(input[value='{openid}']) button[type=submit]"
    ))
    .await;
    ui.wait_message(ui.lang.pick("移出黑名单", "off the blacklist"))
        .await;
    assert!(!ui.sim().is_blacklisted(&openid));
}
