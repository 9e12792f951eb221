//! The operator's comforts in a real browser: filter and sort, the blacklist's confirmation,
//! one-click copy, local times, a double-click that creates one group, the keyboard alone,
//! sign-in and sign-out, the viewer's page and the title of every page.

use fantoccini::{
    actions::{InputSource, MOUSE_BUTTON_LEFT, MouseActions, PointerAction},
    key::Key,
};
use serde_json::json;
use wxgroups::simulator::Fault;

use crate::{
    app::{OPERATOR, PASSWORD, TestApp},
    browser::{Js, Lang, run},
    ui::Ui,
};

/// Types a filter the way the test's browser can: as you type with htmx, Enter without it.
async fn filter(ui: &Ui, text: &str) {
    ui.fill("#groups-q", text).await;
    if ui.js == Js::Off {
        ui.press(Key::Enter.into(), &[]).await;
    }
}

/// Waits until the table shows exactly `ids`, in order.
async fn wait_rows(ui: &Ui, ids: &[u32]) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    loop {
        let shown = ui.group_ids().await;
        if shown == ids {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the table shows {shown:?}, not {ids:?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(40)).await;
    }
}

pub async fn filtering_and_sorting_the_list_survives_a_create(ui: Ui) {
    ui.open_groups().await;
    if ui.js == Js::On {
        ui.mark_page().await;
    }
    // 未分组, 黑名单 (1), 星标组 (2) and 103 华南经销商 hold "组" or "南"? Only the first three
    // hold 组.
    filter(&ui, "组").await;
    wait_rows(&ui, &[0, 2]).await;
    ui.wait_text(
        "#groups-filter-status",
        ui.lang.pick("显示 2 / 7 个分组", "Showing 2 of 7 groups"),
    )
    .await;
    let url = ui.client.current_url().await.unwrap();
    assert!(
        url.query().unwrap_or_default().contains("q=%E7%BB%84"),
        "the address keeps the filter: {url}"
    );
    if ui.js == Js::On {
        ui.wait_focus("groups-q", "typing goes on").await;
        ui.assert_not_reloaded().await;
    }

    // Sort by count: the biggest first, said by aria-sort; again for the smallest first.
    ui.click("#sort-count").await;
    ui.wait_for("th[aria-sort=descending] #sort-count").await;
    let (c0, c2) = (ui.count_of(0).await, ui.count_of(2).await);
    let big_first = if c0 >= c2 { [0, 2] } else { [2, 0] };
    wait_rows(&ui, &big_first).await;
    ui.click("#sort-count").await;
    ui.wait_for("th[aria-sort=ascending] #sort-count").await;
    wait_rows(&ui, &[big_first[1], big_first[0]]).await;
    let typed = ui.find("#groups-q").await.prop("value").await.unwrap();
    assert_eq!(typed.as_deref(), Some("组"), "sorting keeps the filter");

    // A new group that matches joins the filtered list, in its place; the others stay hidden.
    ui.fill("#create-name", "新分组").await;
    ui.click("#create-form button[type=submit]").await;
    ui.wait_message(ui.lang.pick("已创建分组", "Created group"))
        .await;
    wait_rows(&ui, &[104, big_first[1], big_first[0]]).await;
    assert!(ui.is_present("th[aria-sort=ascending] #sort-count").await);
    assert_eq!(ui.sim().group_count(), 8);

    // Nothing matches: say so, and offer the whole list (in the same order).
    filter(&ui, "没有这样的分组").await;
    ui.wait_text(
        ".filter-empty",
        ui.lang.pick("没有名称包含", "No group's name contains"),
    )
    .await;
    assert!(!ui.is_present("#groups-results table").await);
    ui.click("#groups-clear").await;
    ui.wait_for("#groups-results table").await;
    assert_eq!(ui.group_ids().await.len(), 8);
    assert_eq!(ui.group_ids().await[0], 104, "still the smallest first");
    if ui.js == Js::On {
        ui.assert_not_reloaded().await;
    }
}

pub async fn moving_into_the_blacklist_asks_first(ui: Ui) {
    ui.open_groups().await;
    let openid = (0..50)
        .map(|i| ui.sim().follower_openid(i))
        .find(|o| ui.sim().group_of(o) != Some(1))
        .expect("a follower outside the blacklist");
    let from = ui.sim().group_of(&openid).unwrap();
    ui.fill("#lookup-openid", &openid).await;
    ui.click("form.lookup button[type=submit]").await;
    ui.wait_text(".found-openid", &openid).await;
    // The copy button needs a script: shown with one, not at all without.
    let copy = ui.find("button.copy").await.is_displayed().await.unwrap();
    assert_eq!(
        copy,
        ui.js == Js::On,
        "the copy button shows only with JavaScript"
    );

    let ask = async || {
        ui.find("#move-to")
            .await
            .select_by_value("1")
            .await
            .expect("choose the blacklist");
        ui.click("form.move button[type=submit]").await;
        ui.wait_for("#confirm-blacklist").await;
        ui.wait_focus("confirm-blacklist", "the question has the focus")
            .await;
        assert!(
            ui.text(".confirm").await.contains(
                ui.lang
                    .pick("确定要将该用户移入“黑名单”吗", "into “黑名单”")
            )
        );
        assert_eq!(ui.sim().group_of(&openid), Some(from), "nothing moved yet");
    };
    ask().await;
    // Cancel leaves the follower where they are.
    ui.click(".confirm a.button").await;
    ui.wait_for("#move-to").await;
    assert!(!ui.is_present(".confirm").await);
    assert_eq!(ui.sim().calls("/cgi-bin/groups/members/update"), 0);

    ask().await;
    ui.click("#confirm-blacklist").await;
    ui.wait_message(ui.lang.pick("已将", "Moved")).await;
    ui.wait_until("the follower is in the blacklist upstream", || {
        ui.sim().group_of(&openid) == Some(1)
    })
    .await;
    ui.wait_text(".found", "id 1").await;
}

pub async fn signing_in_and_out_guards_the_dashboard(ui: Ui) {
    ui.goto("/groups").await;
    assert_eq!(
        ui.path().await,
        "/signin",
        "a configured account asks who you are"
    );
    if ui.lang == Lang::En {
        ui.click(".lang-switch button").await;
        ui.wait_for("html[lang=en] #signin-name").await;
    }
    assert_eq!(ui.page_lang().await, ui.lang.code());
    assert_eq!(
        ui.client.title().await.unwrap(),
        format!("{} · wxgroups", ui.lang.pick("登录", "Sign in"))
    );

    // A wrong password: said, in the page's language, and the name kept.
    ui.fill("#signin-name", OPERATOR).await;
    ui.fill("#signin-password", "not the password").await;
    ui.click(".signin button[type=submit]").await;
    let said = ui
        .wait_text(
            "#messages[role=alert]",
            ui.lang.pick("用户名或密码不正确", "Wrong name or password"),
        )
        .await;
    assert!(!said.contains(PASSWORD));
    assert_eq!(
        ui.find("#signin-name")
            .await
            .prop("value")
            .await
            .unwrap()
            .as_deref(),
        Some(OPERATOR)
    );
    assert!(!ui.is_present("#groups-table").await);

    // The right one: the dashboard, with who is signed in in the top bar.
    ui.fill("#signin-password", PASSWORD).await;
    ui.click(".signin button[type=submit]").await;
    ui.wait_for("#groups-table").await;
    assert_eq!(ui.page_lang().await, ui.lang.code(), "the language stays");
    assert!(ui.text(".user-name").await.contains(OPERATOR));

    // Something done while signed in.
    let name = ui.lang.pick("登录后创建", "Made after signing in");
    ui.fill("#create-name", name).await;
    ui.click("#create-form button[type=submit]").await;
    ui.wait_text("#group-104", name).await;

    // Signing out lands on the sign-in page; Back does not bring the dashboard's data back
    // (the pages are no-store, and the session is gone on the server).
    ui.click("form.signout button").await;
    ui.wait_for("#signin-name").await;
    assert_eq!(ui.path().await, "/signin");
    ui.client.back().await.expect("back");
    ui.wait_for("#signin-name").await;
    assert!(
        !ui.is_present("#groups-table").await,
        "Back showed the dashboard"
    );
    assert!(
        !ui.text("main").await.contains(name),
        "Back showed the group made before signing out"
    );
    assert_eq!(ui.sim().group_count(), 8);
}

pub async fn a_viewer_sees_the_groups_but_no_way_to_change_them(ui: Ui) {
    ui.open_groups().await;
    assert!(!ui.is_present("#create-form").await, "no create form");
    assert!(
        !ui.is_present("#groups-table td.actions a:not(.members-link)")
            .await,
        "no rename or delete buttons (the members link is for everyone)"
    );
    assert_eq!(ui.group_ids().await.len(), 7);
    // Looking and sorting are fine; moving is not offered.
    filter(&ui, "VIP").await;
    wait_rows(&ui, &[101]).await;
    let openid = ui.sim().follower_openid(5);
    ui.fill("#lookup-openid", &openid).await;
    ui.click("form.lookup button[type=submit]").await;
    ui.wait_text(".found-openid", &openid).await;
    assert!(!ui.is_present("form.move").await, "no move form");
    // Going to the rename page by address does not open a form either.
    ui.goto("/groups?edit=101").await;
    assert!(!ui.is_present("#group-101.editing").await);
}

/// A double-click on "Create" sends one request: htmx disables the button while it runs, and
/// the button's spinner says it is working (WeChat is made slow to look at it).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_double_click_creates_one_group_and_shows_it_is_working() {
    run(
        "browser-double-click",
        TestApp::demo().await,
        Js::On,
        Lang::Zh,
        async |ui: Ui| {
            ui.open_groups().await;
            ui.sim().inject(
                "groups/create",
                Fault {
                    latency_ms: 1500,
                    ..Fault::default()
                },
            );
            ui.fill("#create-name", "双击测试").await;
            let button = ui.find("#create-form button[type=submit]").await;
            let mouse = MouseActions::new("mouse".into())
                .then(PointerAction::MoveToElement {
                    element: button,
                    duration: None,
                    x: 0.0,
                    y: 0.0,
                })
                .then(PointerAction::Down { button: MOUSE_BUTTON_LEFT })
                .then(PointerAction::Up { button: MOUSE_BUTTON_LEFT })
                .then(PointerAction::Down { button: MOUSE_BUTTON_LEFT })
                .then(PointerAction::Up { button: MOUSE_BUTTON_LEFT });
            ui.client.perform_actions(mouse).await.expect("a double-click");
            // While WeChat takes its time: the button is disabled and its spinner turns.
            ui.wait_for("#create-form.htmx-request button[disabled]").await;
            let spinner = ui
                .script("return getComputedStyle(document.querySelector('#create-form .spinner')).display")
                .await;
            assert_ne!(spinner, json!("none"), "the spinner shows");
            ui.wait_message("已创建分组").await;
            ui.wait_idle().await;
            assert_eq!(ui.sim().calls("/cgi-bin/groups/create"), 1);
            assert_eq!(ui.sim().group_count(), 8);
            assert!(!ui.is_present("#create-error").await, "no second try was refused");
        },
    )
    .await;
}

/// The copy button puts the OpenID on the clipboard and says so in a live region.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn copying_an_openid_takes_one_click() {
    run(
        "browser-copy",
        TestApp::demo().await,
        Js::On,
        Lang::En,
        async |ui: Ui| {
            ui.cdp(
                "Browser.grantPermissions",
                json!({ "permissions": ["clipboardReadWrite", "clipboardSanitizedWrite"] }),
            )
            .await;
            ui.open_groups().await;
            let openid = ui.sim().follower_openid(9);
            ui.fill("#lookup-openid", &openid).await;
            ui.click("form.lookup button[type=submit]").await;
            ui.wait_text(".found-openid", &openid).await;
            ui.click("button.copy").await;
            ui.wait_text(".copy-status", "OpenID copied").await;
            assert_eq!(
                ui.attr(".copy-status", "role").await.as_deref(),
                Some("status")
            );
            let pasted = ui
                .client
                .execute_async(
                    "const done = arguments[arguments.length - 1];
                     navigator.clipboard.readText().then(done, (e) => done('failed: ' + e));",
                    vec![],
                )
                .await
                .expect("read the clipboard");
            assert_eq!(pasted, json!(openid));
        },
    )
    .await;
}

/// Times are shown in the browser's zone and language; the server's Beijing time is the
/// fallback without JavaScript.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn times_are_shown_in_the_operators_zone() {
    run(
        "browser-local-time",
        TestApp::demo().await,
        Js::On,
        Lang::En,
        async |ui: Ui| {
            // India: +05:30 all year, so the expected hour needs no time zone database.
            ui.cdp(
                "Emulation.setTimezoneOverride",
                json!({ "timezoneId": "Asia/Kolkata" }),
            )
            .await;
            ui.open_groups().await;
            let time = ".summary time[data-local]";
            ui.wait_for(time).await;
            let at: jiff::Timestamp = ui
                .attr(time, "datetime")
                .await
                .unwrap()
                .parse()
                .expect("an instant");
            let india = at.to_zoned(
                jiff::tz::Offset::from_seconds(5 * 3600 + 1800)
                    .unwrap()
                    .to_time_zone(),
            );
            let shown = ui.text(time).await;
            assert!(
                shown.contains(&india.strftime("%H:%M:%S").to_string()),
                "{shown} is not {india}"
            );
            assert!(
                shown.contains(&india.strftime("%m/%d/%Y").to_string()),
                "{shown}"
            );
            assert!(shown.contains("GMT+5:30"), "the zone is said: {shown}");
            let zone = ui.attr(time, "title").await.unwrap_or_default();
            assert!(
                ["Asia/Kolkata", "Asia/Calcutta"].contains(&zone.as_str()),
                "the title names the zone: {zone}"
            );

            // A refreshed list's time is local too, and so are the audit log's.
            ui.script("document.querySelector('.summary time').dataset.old = 'y'; return null")
                .await;
            ui.click("#groups-table .groups-head button").await;
            ui.wait_for(".summary time[data-local]:not([data-old])")
                .await;
            ui.visit("/audit").await;
            if ui.is_present("td time").await {
                ui.wait_for("td time[data-local]").await;
            }
        },
    )
    .await;
}

/// Keyboard only: Tab to the create form, type, Enter; Shift+Tab to the new row's rename,
/// Enter, type, Enter. Focus is visible all the way and lands where the next step is.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_keyboard_alone_creates_and_renames_a_group() {
    run(
        "browser-keyboard",
        TestApp::demo().await,
        Js::On,
        Lang::En,
        async |ui: Ui| {
            ui.open_groups().await;
            ui.mark_page().await;
            let tab: char = Key::Tab.into();
            let shift: char = Key::Shift.into();
            let enter: char = Key::Enter.into();
            // The first Tab reaches the skip link; then on to the create box.
            let mut seen = Vec::new();
            for _ in 0..40 {
                ui.press(tab, &[]).await;
                let (visible, what) = ui.focus_is_visible().await;
                assert!(visible, "focus is not visible on {what}");
                seen.push(what);
                if ui.focused_id().await == "create-name" {
                    break;
                }
            }
            assert_eq!(
                ui.focused_id().await,
                "create-name",
                "Tab never got there: {seen:?}"
            );
            assert!(
                seen[0].contains("Skip"),
                "the skip link comes first: {seen:?}"
            );

            ui.type_keys("Keyboard made").await;
            ui.press(enter, &[]).await;
            ui.wait_message("Created group").await;
            ui.wait_for("#group-104").await;
            ui.wait_focus("create-name", "ready for the next name")
                .await;

            // Back to the table: Shift+Tab walks back through the new row's actions (Members,
            // Delete) to its Rename button, which is just before the side panel.
            let mut on_rename = json!(false);
            for _ in 0..3 {
                ui.press(tab, &[shift]).await;
                assert_eq!(
                    ui.script("return document.activeElement.closest('#group-104') !== null")
                        .await,
                    json!(true),
                    "Shift+Tab left the new row: {:?}",
                    ui.focus_is_visible().await
                );
                on_rename = ui
                    .script("return document.activeElement.matches('a[hx-get$=\"/edit\"]')")
                    .await;
                if on_rename == json!(true) {
                    break;
                }
            }
            assert_eq!(on_rename, json!(true), "{:?}", ui.focus_is_visible().await);
            assert!(ui.focus_is_visible().await.0);
            ui.press(enter, &[]).await;
            ui.wait_for("#group-104.editing").await;
            ui.wait_until_script("return document.activeElement.id === 'rename-104-name'")
                .await;
            assert!(
                ui.focus_is_visible().await.0,
                "the rename box shows its focus"
            );
            // The old name is selected: typing replaces it.
            ui.type_keys("Keyboard renamed").await;
            ui.press(enter, &[]).await;
            ui.wait_text("#group-104 td.name", "Keyboard renamed").await;
            ui.wait_until_script(
                "return document.activeElement.closest('#group-104:not(.editing)') !== null",
            )
            .await;
            let (visible, what) = ui.focus_is_visible().await;
            assert!(
                visible && what.starts_with('A'),
                "focus back on Rename: {what}"
            );
            assert_eq!(ui.sim().calls("/cgi-bin/groups/update"), 1);
            ui.assert_not_reloaded().await;
        },
    )
    .await;
}

/// Every page's title says where you are, in the page's language.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_page_title_says_where_you_are() {
    run(
        "browser-titles",
        TestApp::configured().await,
        Js::Off,
        Lang::Zh,
        async |ui: Ui| {
            for lang in [Lang::Zh, Lang::En] {
                ui.goto("/signin").await;
                if ui.page_lang().await != lang.code() {
                    ui.click(".lang-switch button").await;
                    ui.wait_for(&format!("html[lang={}] #signin-title", lang.code()))
                        .await;
                }
                let mut pages = vec![("/signin", "#signin-title")];
                pages.extend([
                    ("/groups", "#groups-title"),
                    ("/audit", "#audit-title"),
                    ("/no-such-page", ".error-page h1"),
                ]);
                for (path, h1) in pages {
                    if path != "/signin" {
                        ui.visit(path).await;
                    }
                    let heading = ui.wait_text(h1, "").await;
                    assert!(!heading.is_empty());
                    let title = ui.client.title().await.unwrap();
                    assert_eq!(title, format!("{heading} · wxgroups"), "{path} in {lang:?}");
                    assert_eq!(ui.page_lang().await, lang.code());
                }
                // Signed in now: sign out for the next round.
                ui.visit("/groups").await;
                ui.click("form.signout button").await;
                ui.wait_for("#signin-name").await;
            }
        },
    )
    .await;
}
