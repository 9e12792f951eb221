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

    pub async fn wait_until_lang(&self, code: &str) {
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

    /// The element `css`, waiting for it: right after a plain form's submit the old page may be
    /// gone and the new one not there yet (chromedriver then finds no `html` at all).
    pub async fn find(&self, css: &str) -> Element {
        self.wait_for(css).await
    }

    /// Waits until `css` is on the page. Any error while looking counts as "not yet": in the
    /// middle of a navigation (a plain form's redirect) chromedriver may answer with one.
    pub async fn wait_for(&self, css: &str) -> Element {
        let deadline = Instant::now() + DEADLINE;
        loop {
            match self.client.find(Locator::Css(css)).await {
                Ok(e) => return e,
                Err(e) => assert!(Instant::now() < deadline, "{css} never appeared: {e}"),
            }
            tokio::time::sleep(POLL).await;
        }
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

    /// Picks the option with `value` in a `<select>`.
    pub async fn select(&self, css: &str, value: &str) {
        self.find(css)
            .await
            .select_by_value(value)
            .await
            .unwrap_or_else(|e| panic!("cannot choose {value} in {css}: {e}"));
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

    /// Waits until the element with `id` has the keyboard focus. Focus moves after htmx settles
    /// a swap, a moment after the new content appears, so it is a condition to wait for.
    pub async fn wait_focus(&self, id: &str, why: &str) {
        let deadline = Instant::now() + DEADLINE;
        loop {
            let now = self.focused_id().await;
            if now == id {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{why}: focus is on {now:?}, not {id:?}"
            );
            tokio::time::sleep(POLL).await;
        }
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

    /// Opens a path as typed into the address bar, without signing in on the way.
    pub async fn goto(&self, path: &str) {
        self.client.goto(&self.url(path)).await.expect("navigation");
        self.wait_for("main").await;
    }

    /// The path of the page the browser is on.
    pub async fn path(&self) -> String {
        self.client
            .current_url()
            .await
            .expect("a url")
            .path()
            .to_owned()
    }

    /// Presses and releases one key on the keyboard (`Key::Tab.into()`, `'a'`…), with modifier
    /// keys held if given: what a person does, not a script setting values.
    pub async fn press(&self, key: char, held: &[char]) {
        use fantoccini::actions::{InputSource, KeyAction, KeyActions};
        let mut keys = KeyActions::new("keyboard".into());
        for &m in held {
            keys = keys.then(KeyAction::Down { value: m });
        }
        keys = keys
            .then(KeyAction::Down { value: key })
            .then(KeyAction::Up { value: key });
        for &m in held.iter().rev() {
            keys = keys.then(KeyAction::Up { value: m });
        }
        self.client
            .perform_actions(keys)
            .await
            .unwrap_or_else(|e| panic!("cannot press {key:?}: {e}"));
    }

    /// Types text key by key into whatever has the focus.
    pub async fn type_keys(&self, text: &str) {
        for c in text.chars() {
            self.press(c, &[]).await;
        }
    }

    /// Whether the focused element shows its focus: it matches `:focus-visible` and draws an
    /// outline. Answers a description of the element for messages.
    pub async fn focus_is_visible(&self) -> (bool, String) {
        let v = self
            .script(
                "var e = document.activeElement; var s = getComputedStyle(e);
                 return [e.matches(':focus-visible') && s.outlineStyle !== 'none'
                           && parseFloat(s.outlineWidth) >= 2,
                         e.tagName + '#' + e.id + '.' + e.className + ' ' + (e.textContent || '').trim().slice(0, 30)]",
            )
            .await;
        (
            v[0].as_bool().unwrap_or(false),
            v[1].as_str().unwrap_or_default().to_owned(),
        )
    }

    /// Waits until a script looking at the page answers `true`.
    pub async fn wait_until_script(&self, js: &str) {
        let deadline = Instant::now() + DEADLINE;
        while self.script(js).await != json!(true) {
            assert!(Instant::now() < deadline, "never true: {js}");
            tokio::time::sleep(POLL).await;
        }
    }

    /// Waits until no htmx request is in flight (nothing carries `htmx-request`).
    pub async fn wait_idle(&self) {
        let deadline = Instant::now() + DEADLINE;
        while self
            .script("return document.querySelector('.htmx-request') !== null")
            .await
            != json!(false)
        {
            assert!(Instant::now() < deadline, "an htmx request never finished");
            tokio::time::sleep(POLL).await;
        }
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
