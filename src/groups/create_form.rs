//! The create form, empty or with what the operator typed and why it was refused.

use askama::Template;

use crate::{state::Snapshot, web::Chrome};

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

    /// WeChat's limit, its own entries included: 500 groups or 100 tags.
    pub fn max(&self) -> usize {
        self.chrome.api.max_entries()
    }

    pub fn full(&self) -> bool {
        self.used >= self.max()
    }
}
