//! The dashboard in a real browser: Debian's headless Chromium driven through chromedriver.
//!
//! Every operator flow runs four times: in Chinese and in English, with htmx and with JavaScript
//! blocked (plain forms). The tour walks the main screens once per language, runs the axe
//! accessibility checker on each (light and dark scheme) and writes the README's screenshots.
//!
//! Needs `/usr/bin/chromium` and `/usr/bin/chromedriver` (`.ci/run` installs them) and
//! `npm ci --prefix static` (for axe-core).

mod accounts;
mod app;
mod axe;
mod browser;
mod comforts;
mod driver;
mod flows;
mod tag_jobs;
mod tags;
mod tour;
mod ui;

/// One module per language and script setting, each with a test per flow in `flows`, so the
/// test names read `chinese_with_htmx::creating_a_group_adds_its_row_and_says_so`.
macro_rules! flows_in {
    ($module:ident, $lang:expr, $js:expr) => {
        mod $module {
            use crate::{app::TestApp, browser::run, comforts, flows};

            flows_in!(@test $lang, $js, demo, the_group_list_shows_every_group_and_the_total);
            flows_in!(@test $lang, $js, demo, creating_a_group_adds_its_row_and_says_so);
            flows_in!(@test $lang, $js, demo, renaming_a_group_happens_in_its_row);
            flows_in!(@test $lang, $js, demo, looking_up_and_moving_a_follower_updates_both_groups);
            flows_in!(@test $lang, $js, demo, bad_input_is_explained_next_to_the_field);
            flows_in!(@test $lang, $js, wechat_unreachable, an_unreachable_wechat_is_reported_and_nothing_breaks);
            flows_in!(@comfort $lang, $js, demo, filtering_and_sorting_the_list_survives_a_create);
            flows_in!(@comfort $lang, $js, demo, moving_into_the_blacklist_asks_first);
            flows_in!(@comfort $lang, $js, configured, signing_in_and_out_guards_the_dashboard);
            flows_in!(@comfort $lang, $js, configured_viewer, a_viewer_sees_the_groups_but_no_way_to_change_them);
            flows_in!(@tags $lang, $js, tags_demo, the_tag_list_speaks_of_tags_and_counts_bytes);
            flows_in!(@tags $lang, $js, tags_demo, a_followers_tags_are_added_and_removed_in_the_panel);
            flows_in!(@tags $lang, $js, tags_demo, blacklisting_asks_first_and_removing_works);
            flows_in!(@accounts $lang, $js, two_demo_accounts, the_account_list_and_the_switcher_take_the_operator_between_accounts);
        }
    };
    (@accounts $lang:expr, $js:expr, $app:ident, $flow:ident) => {
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $flow() {
            let name = concat!(module_path!(), "::", stringify!($flow)).replace("::", "-");
            run(&name, TestApp::$app().await, $js, $lang, crate::accounts::$flow).await;
        }
    };
    (@tags $lang:expr, $js:expr, $app:ident, $flow:ident) => {
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $flow() {
            let name = concat!(module_path!(), "::", stringify!($flow)).replace("::", "-");
            run(&name, TestApp::$app().await, $js, $lang, crate::tags::$flow).await;
        }
    };
    (@comfort $lang:expr, $js:expr, $app:ident, $flow:ident) => {
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $flow() {
            let name = concat!(module_path!(), "::", stringify!($flow)).replace("::", "-");
            run(&name, TestApp::$app().await, $js, $lang, comforts::$flow).await;
        }
    };
    (@test $lang:expr, $js:expr, $app:ident, $flow:ident) => {
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $flow() {
            let name = concat!(module_path!(), "::", stringify!($flow)).replace("::", "-");
            run(&name, TestApp::$app().await, $js, $lang, flows::$flow).await;
        }
    };
}

flows_in!(
    chinese_with_htmx,
    crate::browser::Lang::Zh,
    crate::browser::Js::On
);
flows_in!(
    english_with_htmx,
    crate::browser::Lang::En,
    crate::browser::Js::On
);
flows_in!(
    chinese_without_javascript,
    crate::browser::Lang::Zh,
    crate::browser::Js::Off
);
flows_in!(
    english_without_javascript,
    crate::browser::Lang::En,
    crate::browser::Js::Off
);
