//! A headless Chromium session per test, the screenshot it leaves when the test fails, and the
//! Chrome DevTools commands (device size, colour scheme) WebDriver has no word for.

use std::{future::Future, path::PathBuf, sync::Arc};

use fantoccini::{Client, ClientBuilder, wd::WebDriverCompatibleCommand};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::{Value, json};

use crate::{
    app::TestApp,
    driver::{self, CHROMIUM, Driver},
    ui::Ui,
};

/// Whether the page may run scripts. `Off` is the operator whose browser blocks JavaScript: every
/// form must still work as a plain post.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Js {
    On,
    Off,
}

/// The language the test expects the dashboard to speak.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    Zh,
    En,
}

impl Lang {
    /// The page's `lang` attribute in this language.
    pub fn code(self) -> &'static str {
        match self {
            Lang::Zh => "zh-CN",
            Lang::En => "en",
        }
    }

    pub fn short(self) -> &'static str {
        match self {
            Lang::Zh => "zh",
            Lang::En => "en",
        }
    }

    /// The Chinese or the English text, whichever this language is.
    pub fn pick(self, zh: &'static str, en: &'static str) -> &'static str {
        match self {
            Lang::Zh => zh,
            Lang::En => en,
        }
    }
}

/// Runs one browser test: a fresh app, a fresh browser, `body`, and on failure a screenshot at
/// `target/browser-failures/<name>.png`. The browser is closed whatever happens, then a failure
/// is re-raised with its own message.
pub async fn run<F, Fut>(name: &str, app: TestApp, js: Js, lang: Lang, body: F)
where
    F: FnOnce(Ui) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let driver = driver::shared();
    let client = connect(&driver, js).await;
    let ui = Ui::new(client.clone(), app, js, lang);
    // A task of its own, so that a failed assertion comes back here as a JoinError instead of
    // unwinding past the screenshot and the session's close.
    let outcome = tokio::spawn(body(ui)).await;
    if outcome.is_err() {
        let path = failures_dir().join(format!("{name}.png"));
        match client.screenshot().await {
            Ok(png) => {
                let _ = std::fs::create_dir_all(failures_dir());
                let _ = std::fs::write(&path, png);
                eprintln!("browser test failed; screenshot: {}", path.display());
            }
            Err(e) => eprintln!("browser test failed; no screenshot ({e})"),
        }
    }
    let _ = client.close().await;
    drop(driver);
    if let Err(e) = outcome {
        match e.try_into_panic() {
            Ok(panic) => std::panic::resume_unwind(panic),
            Err(e) => panic!("the test task did not finish: {e}"),
        }
    }
}

/// A new headless Chromium, in Chinese (the dashboard's default audience), 1280×800.
async fn connect(driver: &Arc<Driver>, js: Js) -> Client {
    // Chromedriver gives every session a fresh temporary profile (--user-data-dir), so no state
    // leaks between tests. The flags keep Chromium off the network it does not have and quiet.
    let mut prefs = json!({ "intl": { "accept_languages": "zh-CN,zh" } });
    if js == Js::Off {
        // The content setting a managed browser uses to block scripts; WebDriver's own
        // execute_script still works, which the tests use only to look, never to act.
        prefs["profile"] = json!({ "managed_default_content_settings": { "javascript": 2 } });
    }
    let caps = json!({
        "browserName": "chrome",
        "goog:chromeOptions": {
            "binary": CHROMIUM,
            "args": [
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--disable-dev-shm-usage", "--hide-scrollbars", "--lang=zh-CN",
                "--window-size=1280,800",
            ],
            "prefs": prefs,
        }
    });
    let Value::Object(caps) = caps else {
        unreachable!()
    };
    ClientBuilder::new(HttpConnector::new())
        .capabilities(caps)
        .connect(&driver.url)
        .await
        .unwrap_or_else(|e| panic!("cannot start a Chromium session: {e}"))
}

/// `target/browser-failures`, found from the test binary (target/debug/deps/browser-…), so a
/// custom target directory works too.
fn failures_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("the test binary's path");
    exe.ancestors()
        .nth(3)
        .map(|target| target.join("browser-failures"))
        .unwrap_or_else(|| PathBuf::from("target/browser-failures"))
}

/// One Chrome DevTools Protocol command, through chromedriver's `goog/cdp/execute` endpoint.
#[derive(Debug)]
pub struct Cdp {
    pub cmd: &'static str,
    pub params: Value,
}

impl WebDriverCompatibleCommand for Cdp {
    fn endpoint(
        &self,
        base_url: &url::Url,
        session_id: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base_url.join(&format!(
            "session/{}/goog/cdp/execute",
            session_id.unwrap_or_default()
        ))
    }

    fn method_and_body(&self, _url: &url::Url) -> (http::Method, Option<String>) {
        let body = json!({ "cmd": self.cmd, "params": self.params });
        (http::Method::POST, Some(body.to_string()))
    }
}
