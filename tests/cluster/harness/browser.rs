//! [`Browser`]: an operator's browser, with a cookie jar and the CSRF token of its pages, that
//! can sign in to an instance or through the balancer.

use std::{
    sync::{Arc, Mutex},
    time::Duration,
};

use reqwest::{StatusCode, cookie::Jar, header};
use scraper::{Html, Selector};

/// An HTTP client that does not follow redirects (tests look at them), with `jar` for cookies
/// if given, and a timeout so that a hung process fails a test instead of stalling it.
pub fn http_client(jar: Option<Arc<Jar>>) -> reqwest::Client {
    // reqwest is built without a bundled TLS provider; it wants one installed even for http.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let builder = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(30));
    match jar {
        Some(jar) => builder.cookie_provider(jar),
        None => builder,
    }
    .build()
    .expect("a client with these options builds")
}

/// A response read to the end.
pub struct Page {
    pub status: StatusCode,
    pub headers: header::HeaderMap,
    pub body: String,
}

impl Page {
    pub fn location(&self) -> &str {
        self.header(header::LOCATION.as_str()).unwrap_or("")
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The value of `attr` on the first element matching `css`.
    pub fn attr(&self, css: &str, attr: &str) -> Option<String> {
        let sel = Selector::parse(css).expect("a valid selector");
        Html::parse_document(&self.body)
            .select(&sel)
            .next()
            .and_then(|e| e.value().attr(attr).map(str::to_owned))
    }
}

/// One browser: its own cookies, and the CSRF token the last page with a form carried.
pub struct Browser {
    base: String,
    http: reqwest::Client,
    csrf: Mutex<String>,
}

impl Browser {
    /// A browser with no cookies, on the site at `base` (e.g. `http://127.0.0.1:PORT`).
    pub fn new(base: impl Into<String>) -> Browser {
        Browser {
            base: base.into(),
            http: http_client(Some(Arc::new(Jar::default()))),
            csrf: Mutex::new(String::new()),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Signs in through the sign-in page (which sets the cookie its token is bound to). A 303
    /// means signed in.
    pub async fn sign_in(&self, name: &str, password: &str) -> Page {
        self.get("/signin").await;
        self.post(
            "/signin",
            &[("name", name), ("password", password), ("next", "")],
        )
        .await
    }

    pub async fn get(&self, path: &str) -> Page {
        self.read(self.http.get(self.url(path)).send().await).await
    }

    /// A plain form post, with the token of the last page in the hidden `csrf` field, as the
    /// page's form would send it.
    pub async fn post(&self, path: &str, form: &[(&str, &str)]) -> Page {
        let csrf = self.csrf.lock().unwrap().clone();
        let mut fields = form.to_vec();
        fields.push(("csrf", &csrf));
        let sent = self.http.post(self.url(path)).form(&fields).send().await;
        self.read(sent).await
    }

    async fn read(&self, sent: reqwest::Result<reqwest::Response>) -> Page {
        let r = sent.unwrap_or_else(|e| panic!("no answer from {}: {e}", self.base));
        let page = Page {
            status: r.status(),
            headers: r.headers().clone(),
            body: r.text().await.expect("a text body"),
        };
        // Remember the token a page carries, as a browser keeps it in the page's forms.
        if let Some(token) = page
            .attr("input[name=csrf]", "value")
            .filter(|t| !t.is_empty())
        {
            *self.csrf.lock().unwrap() = token;
        }
        page
    }
}
