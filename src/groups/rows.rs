//! The rows of the groups table: one row, one row being renamed, and all of them at once.
//!
//! All the rows are rendered once per list version, language and role and kept with the list
//! (see [`RenderedRows`](crate::state::RenderedRows)): each has its translated labels, two URLs
//! and a formatted count, all escaped, and five hundred of them are most of the page's work.

use std::fmt;

use askama::Template;

use crate::{
    state::{RowsHtml, Snapshot},
    web::Chrome,
    wechat::Group,
};

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

/// The rows of the whole list as `chrome` would render them, from the snapshot's rendered copy.
pub fn cached_rows(chrome: &Chrome, s: &Snapshot) -> askama::Result<RowsHtml> {
    let role = chrome.actor.as_ref().map(|a| a.role);
    s.rows.get(chrome.lang, role, || {
        Rows {
            chrome,
            t: RowText::new(chrome),
            groups: &s.groups,
        }
        .render()
    })
}

/// One row of the table.
#[derive(Template)]
#[template(path = "groups/_row.html")]
pub struct Row {
    pub chrome: Chrome,
    pub t: RowText,
    pub g: Group,
    pub highlight: bool,
}

impl Row {
    pub fn new(chrome: Chrome, g: Group, highlight: bool) -> Row {
        Row {
            t: RowText::new(&chrome),
            chrome,
            g,
            highlight,
        }
    }
}

/// One row turned into a rename form.
#[derive(Template)]
#[template(path = "groups/_row_edit.html")]
pub struct RenameRow {
    pub chrome: Chrome,
    pub group: Group,
    pub value: String,
    pub error: Option<String>,
}

impl RenameRow {
    pub fn new(chrome: &Chrome, group: Group) -> Self {
        RenameRow {
            chrome: chrome.clone(),
            value: group.name.clone(),
            group,
            error: None,
        }
    }
}
