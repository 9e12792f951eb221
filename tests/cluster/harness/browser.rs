//! [`Browser`]: an operator's browser, with a cookie jar and the CSRF token of its pages, that
//! can sign in to an instance or through the balancer.

use std::{
    sync::{Arc, Mutex},
    time::Duration,
};

use reqwest::{
    StatusCode,
    cookie::{CookieStore, Jar},
    header,
};
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

    /// The text of the first element matching `css`, trimmed (empty if there is none).
    pub fn text(&self, css: &str) -> String {
        let sel = Selector::parse(css).expect("a valid selector");
        Html::parse_document(&self.body)
            .select(&sel)
            .next()
            .map(|e| e.text().collect::<String>().trim().to_owned())
            .unwrap_or_default()
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
    jar: Arc<Jar>,
    csrf: Arc<Mutex<String>>,
}

impl Browser {
    /// A browser with no cookies, on the site at `base` (e.g. `http://127.0.0.1:PORT`).
    pub fn new(base: impl Into<String>) -> Browser {
        let jar = Arc::new(Jar::default());
        Browser {
            base: base.into(),
            http: http_client(Some(jar.clone())),
            jar,
            csrf: Arc::new(Mutex::new(String::new())),
        }
    }

    /// The same browser (its cookies, its CSRF token) on the site at `base`: another instance
    /// of the deployment, as a balancer would hand the next request to. Cookies are not bound
    /// to a port, so every instance on 127.0.0.1 gets the session cookie.
    pub fn at(&self, base: impl Into<String>) -> Browser {
        Browser {
            base: base.into(),
            http: self.http.clone(),
            jar: self.jar.clone(),
            csrf: self.csrf.clone(),
        }
    }

    /// The `Cookie` header this browser sends to its site now (to replay it after the site
    /// has told the browser to forget the cookie).
    pub fn cookie_header(&self) -> String {
        let url = reqwest::Url::parse(&self.base).expect("the base is a URL");
        self.jar
            .cookies(&url)
            .and_then(|v| v.to_str().ok().map(str::to_owned))
            .unwrap_or_default()
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

    /// A GET that, unlike [`Self::get`], does not read the page for its CSRF token: for load,
    /// where parsing every page would cost the test more than the server.
    pub async fn fetch(&self, path: &str) -> Page {
        let r = self
            .http
            .get(self.url(path))
            .send()
            .await
            .unwrap_or_else(|e| panic!("no answer from {}: {e}", self.base));
        Page {
            status: r.status(),
            headers: r.headers().clone(),
            body: r.text().await.expect("a text body"),
        }
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

    /// A `multipart/form-data` post of text fields (the list form), the CSRF token in a part
    /// of its own as the plain form sends it.
    pub async fn post_multipart(&self, path: &str, form: &[(&str, &str)]) -> Page {
        const BOUNDARY: &str = "----wxgroupsClusterBoundary5vJ2xQ";
        let csrf = self.csrf.lock().unwrap().clone();
        let mut body = String::new();
        for (name, value) in form.iter().copied().chain([("csrf", csrf.as_str())]) {
            body.push_str(&format!(
                "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
            ));
        }
        body.push_str(&format!("--{BOUNDARY}--\r\n"));
        let sent = self
            .http
            .post(self.url(path))
            .header(
                header::CONTENT_TYPE,
                format!("multipart/form-data; boundary={BOUNDARY}"),
            )
            .body(body)
            .send()
            .await;
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
