//! The rows of the groups table, rendered once per list version, language and role.
//!
//! Five hundred rows are most of the groups page's work (each has its translated labels, two
//! URLs and a formatted count, all escaped) and they are the same for every page view until the
//! list changes. So a [`Snapshot`](super::Snapshot) keeps the rows it has rendered; a changed
//! list is a new snapshot and starts with none. Rows hold no CSRF token, no session and nothing
//! else per request: only the language and whether the operator may rename change them.

use std::{
    fmt,
    sync::{Arc, Mutex},
};

use askama::Template;
use bytes::Bytes;

use crate::{i18n::Lang, store::Role, web::Chrome, wechat::Group};

#[derive(Template)]
#[template(path = "groups/_rows.html")]
struct Rows<'a> {
    chrome: &'a Chrome,
    t: RowText,
    groups: &'a [Group],
}

/// What every row says, looked up in the catalogue once per table instead of once per row (it
/// was a third of rendering 500 rows).
pub struct RowText {
    pub system: String,
    pub rename: String,
    pub delete: String,
    pub members: String,
    rename_label: Around,
    delete_label: Around,
}

/// A catalogue text with a `%{name}` in it: the parts before and after.
struct Around(String, String);

impl Around {
    fn new(text: String) -> Around {
        match text.split_once("%{name}") {
            Some((before, after)) => Around(before.to_owned(), after.to_owned()),
            None => Around(text, String::new()),
        }
    }
}

/// A label with a group's name in it, written straight into the page (and escaped there).
pub struct Label<'a>(&'a Around, &'a str);

impl fmt::Display for Label<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.0)?;
        f.write_str(self.1)?;
        f.write_str(&self.0.1)
    }
}

impl RowText {
    pub fn new(chrome: &Chrome) -> RowText {
        RowText {
            system: chrome.t("groups.system"),
            rename: chrome.t("groups.rename.button"),
            delete: chrome.t("groups.delete.button"),
            members: chrome.t("groups.members_button"),
            rename_label: Around::new(chrome.t("groups.rename.label")),
            delete_label: Around::new(chrome.t("groups.delete.label")),
        }
    }

    /// "Rename group “name”", for the rename link's accessible name.
    pub fn rename_label<'a>(&'a self, name: &'a str) -> Label<'a> {
        Label(&self.rename_label, name)
    }

    /// "Delete group “name”".
    pub fn delete_label<'a>(&'a self, name: &'a str) -> Label<'a> {
        Label(&self.delete_label, name)
    }
}

/// Rendered rows: cheap to clone, and sent to the socket without a copy (`Bytes`).
#[derive(Clone)]
pub struct RowsHtml(Arc<str>);

impl RowsHtml {
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The same text as a body part, sharing this copy.
    pub fn bytes(&self) -> Bytes {
        Bytes::from_owner(self.clone())
    }
}

impl AsRef<[u8]> for RowsHtml {
    fn as_ref(&self) -> &[u8] {
        self.0.as_bytes()
    }
}

/// One rendering: for this language and role (`None`: nobody signed in).
type Rendered = (Lang, Option<Role>, RowsHtml);

/// The rendered rows of one snapshot, per (language, role): at most eight. The role decides
/// which actions a row offers (rename for operators, delete for admins too).
#[derive(Default)]
pub struct RenderedRows {
    done: Mutex<Vec<Rendered>>,
}

impl RenderedRows {
    /// The rows of `groups` as `chrome` would render them, rendered on first use.
    pub fn get(&self, chrome: &Chrome, groups: &[Group]) -> askama::Result<RowsHtml> {
        let key = (chrome.lang, chrome.actor.as_ref().map(|a| a.role));
        let hit = |done: &Vec<Rendered>| {
            done.iter()
                .find(|(l, c, _)| (*l, *c) == key)
                .map(|(_, _, html)| html.clone())
        };
        if let Some(html) = hit(&self.lock()) {
            return Ok(html);
        }
        // Rendered outside the lock; two first views may both render, one copy is kept.
        let rows = Rows {
            chrome,
            t: RowText::new(chrome),
            groups,
        };
        let html = RowsHtml(rows.render()?.into());
        let mut done = self.lock();
        if let Some(other) = hit(&done) {
            return Ok(other);
        }
        done.push((key.0, key.1, html.clone()));
        Ok(html)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Rendered>> {
        self.done.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// A copy is a changed list: it starts with nothing rendered.
impl Clone for RenderedRows {
    fn clone(&self) -> Self {
        RenderedRows::default()
    }
}

impl fmt::Debug for RenderedRows {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RenderedRows({})", self.lock().len())
    }
}
