//! The create form, empty or with what the operator typed and why it was refused.

use askama::Template;

use crate::{state::Snapshot, web::Chrome};

/// WeChat's limit, system groups included.
pub const MAX_GROUPS: usize = 500;

#[derive(Template)]
#[template(path = "groups/_create_form.html")]
pub struct CreateForm {
    pub chrome: Chrome,
    pub value: String,
    pub error: Option<String>,
    /// Groups in use, to show how many are left before the cap.
    pub used: usize,
}

impl CreateForm {
    pub fn new(chrome: &Chrome, snapshot: Option<&Snapshot>) -> Self {
        CreateForm {
            chrome: chrome.clone(),
            value: String::new(),
            error: None,
            used: snapshot.map_or(0, |s| s.groups.len()),
        }
    }

    pub fn max(&self) -> usize {
        MAX_GROUPS
    }

    pub fn full(&self) -> bool {
        self.used >= MAX_GROUPS
    }
}
