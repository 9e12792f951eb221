//! The values an operator types, parsed once at the edge.
//!
//! Each type has a private field and a `parse` constructor, so a value that exists is a value that
//! WeChat will accept: handlers turn form strings into these before anything reaches the client.
//! Each error says which rule broke, in the operator's language (see [`crate::i18n`]).

mod account_key;
mod api;
mod group_id;
mod group_name;
mod open_id;

pub use account_key::{AccountKey, AccountKeyError};
pub use api::{Api, ListChange, ParseApiError};
pub use group_id::{GroupId, GroupIdError};
pub use group_name::{GroupName, GroupNameError};
pub use open_id::{OpenId, OpenIdError};
