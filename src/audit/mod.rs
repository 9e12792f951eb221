//! The audit log: the helper every change goes through (`record.rs`) so that none is ever
//! missing, and the page operators read it on (`page.rs`).

pub mod page;
mod record;

pub use page::csv_safe;
pub use record::{Change, Settled, outcome_of, record};
