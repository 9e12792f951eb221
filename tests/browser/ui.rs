//! `Ui`: what an operator does and sees, for the tests. It hides URLs, selectors and waiting;
//! every wait is for a condition, polled, with a deadline that fails the test with what it
//! was waiting for.

use std::time::{Duration, Instant};

use fantoccini::{Client, Locator, elements::Element};
use serde_json::{Value, json};
use wxgroups::simulator::Simulator;

use crate::{
    app::TestApp,
    browser::{Cdp, Js, Lang},
};

/// How long any one condition may take to come true. Generous: two cores, many browsers.
const DEADLINE: Duration = Duration::from_secs(15);
/// How often a condition is checked again.
const POLL: Duration = Duration::from_millis(40);

pub struct Ui {
    pub client: Client,
    pub app: TestApp,
    pub js: Js,
    pub lang: Lang,
}

impl Ui {
    pub fn new(client: Client, app: TestApp, js: Js, lang: Lang) -> Ui {
        Ui {
            client,
            app,
            js,
            lang,
        }
    }

    /// The demo account's simulator, to check what really happened upstream.
    pub fn sim(&self) -> &Simulator {
        self.app
            .sim
            .as_ref()
            .expect("this test runs the demo account")
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.app.addr)
    }

    /// Opens any path of the dashboard and waits for the page to be there.
    pub async fn visit(&self, path: &str) {
        self.client.goto(&self.url(path)).await.expect("navigation");
        self.wait_for("main").await;
        // A configured account sends the browser to the sign-in page first.
        let at = self.client.current_url().await.expect("a url");
        if at.path().ends_with("/signin") {
            let (name, password) = self.app.signin.clone().expect("this app wants a sign-in");
            self.fill("#signin-name", &name).await;
            self.fill("#signin-password", &password).await;
            self.click(".signin button[type=submit]").await;
            self.wait_for("#groups-table").await;
        }
    }

    /// Opens the groups page in the test's language, switching with the top bar's button
    /// (the browser asks for Chinese), and checks scripts run or not as the test wants.
    pub async fn open_groups(&self) {
        self.visit("/groups").await;
        self.wait_for("#groups-table").await;
        if self.lang == Lang::En {
            assert_eq!(
                self.page_lang().await,
                "zh-CN",
                "the browser asks for Chinese"
            );
            self.click(".lang-switch button").await;
            self.wait_until_lang("en").await;
            self.wait_for("#groups-table").await;
        }
        assert_eq!(self.page_lang().await, self.lang.code());
        let htmx = self.script("return typeof htmx").await;
        match self.js {
            Js::On => assert_eq!(htmx, json!("object"), "htmx is loaded"),
            Js::Off => assert_eq!(htmx, json!("undefined"), "scripts are blocked"),
        }
    }

    pub async fn page_lang(&self) -> String {
        self.attr("html", "lang").await.unwrap_or_default()
    }

    async fn wait_until_lang(&self, code: &str) {
        let deadline = Instant::now() + DEADLINE;
        while self.page_lang().await != code {
            assert!(
                Instant::now() < deadline,
                "the page never switched to {code}"
            );
            tokio::time::sleep(POLL).await;
        }
    }

    /// Runs a script through WebDriver (not subject to the page's CSP, and allowed even when the
    /// page's own scripts are blocked). For looking and for the axe checker only.
    pub async fn script(&self, js: &str) -> Value {
        self.client.execute(js, vec![]).await.expect("a script")
    }

    /// Leaves a mark in the page's window and on its message region; a reload would wipe them.
    pub async fn mark_page(&self) {
        self.script(
            "window.__wxgroupsMark = 'still here';
             document.getElementById('messages').dataset.kept = 'y'; return null",
        )
        .await;
    }

    /// Fails if the page was reloaded since `mark_page`: htmx should have swapped a fragment in.
    pub async fn assert_not_reloaded(&self) {
        let mark = self.script("return window.__wxgroupsMark || null").await;
        assert_eq!(mark, json!("still here"), "the page was reloaded");
        // Screen readers announce changes inside a live region that was already there, not a
        // region swapped in whole: htmx must fill the old one.
        assert!(
            self.is_present("#messages[data-kept]").await,
            "the aria-live region was replaced instead of updated"
        );
    }

    pub async fn find(&self, css: &str) -> Element {
        self.client
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("no {css} on the page: {e}"))
    }

    pub async fn wait_for(&self, css: &str) -> Element {
        self.client
            .wait()
            .at_most(DEADLINE)
            .every(POLL)
            .for_element(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("{css} never appeared: {e}"))
    }

    pub async fn is_present(&self, css: &str) -> bool {
        !self
            .client
            .find_all(Locator::Css(css))
            .await
            .unwrap_or_default()
            .is_empty()
    }

    pub async fn attr(&self, css: &str, name: &str) -> Option<String> {
        self.find(css).await.attr(name).await.ok().flatten()
    }

    /// The visible text of `css`, whitespace collapsed; empty if it is not there (yet).
    pub async fn text(&self, css: &str) -> String {
        let Ok(e) = self.client.find(Locator::Css(css)).await else {
            return String::new();
        };
        let text = e.text().await.unwrap_or_default();
        text.split_whitespace().collect::<Vec<_>>().join(" ")
    }

    /// Waits until the text of `css` contains `needle`, and returns the text.
    pub async fn wait_text(&self, css: &str, needle: &str) -> String {
        let deadline = Instant::now() + DEADLINE;
        loop {
            let text = self.text(css).await;
            if text.contains(needle) {
                return text;
            }
            assert!(
                Instant::now() < deadline,
                "{css} never said {needle:?}; it says {text:?}"
            );
            tokio::time::sleep(POLL).await;
        }
    }

    /// Waits until a condition outside the page (the simulator's state) holds.
    pub async fn wait_until(&self, what: &str, mut condition: impl FnMut() -> bool) {
        let deadline = Instant::now() + DEADLINE;
        while !condition() {
            assert!(Instant::now() < deadline, "never happened: {what}");
            tokio::time::sleep(POLL).await;
        }
    }

    /// Types into a field, replacing what was there.
    pub async fn fill(&self, css: &str, value: &str) {
        let field = self.find(css).await;
        field.clear().await.expect("clear the field");
        field.send_keys(value).await.expect("type into the field");
    }

    pub async fn click(&self, css: &str) {
        self.find(css)
            .await
            .click()
            .await
            .unwrap_or_else(|e| panic!("cannot click {css}: {e}"));
    }

    /// The `id` of the element that has the keyboard focus.
    pub async fn focused_id(&self) -> String {
        let e = self
            .client
            .active_element()
            .await
            .expect("an active element");
        e.attr("id").await.ok().flatten().unwrap_or_default()
    }

    /// The text of the `aria-live` message region (checking that it is one).
    pub async fn wait_message(&self, needle: &str) -> String {
        let said = self.wait_text("#messages", needle).await;
        assert_eq!(
            self.attr("#messages", "aria-live").await.as_deref(),
            Some("polite")
        );
        said
    }

    /// The follower count shown in group `id`'s row.
    pub async fn count_of(&self, id: u32) -> u64 {
        digits(&self.text(&format!("#group-{id} td:nth-child(3)")).await)
    }

    /// Waits until group `id`'s row shows `expected` followers.
    pub async fn wait_count(&self, id: u32, expected: u64) {
        let deadline = Instant::now() + DEADLINE;
        loop {
            let shown = self.count_of(id).await;
            if shown == expected {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "group {id} shows {shown} followers, not {expected}"
            );
            tokio::time::sleep(POLL).await;
        }
    }

    /// The "Total" row's follower count.
    pub async fn total(&self) -> u64 {
        digits(&self.text("#groups-table tfoot td.num").await)
    }

    /// Every group id in the table, in order.
    pub async fn group_ids(&self) -> Vec<u32> {
        let rows = self
            .client
            .find_all(Locator::Css("#groups-table tbody tr"))
            .await
            .expect("rows");
        let mut ids = Vec::new();
        for row in rows {
            let id = row.attr("id").await.ok().flatten().unwrap_or_default();
            if let Some(n) = id.strip_prefix("group-").and_then(|n| n.parse().ok()) {
                ids.push(n);
            }
        }
        ids
    }

    /// A Chrome DevTools command (the page's size, its colour scheme).
    pub async fn cdp(&self, cmd: &'static str, params: Value) {
        self.client
            .issue_cmd(Cdp { cmd, params })
            .await
            .unwrap_or_else(|e| panic!("{cmd} failed: {e}"));
    }
}

fn digits(text: &str) -> u64 {
    let d: String = text.chars().filter(char::is_ascii_digit).collect();
    d.parse()
        .unwrap_or_else(|_| panic!("no number in {text:?}"))
}
