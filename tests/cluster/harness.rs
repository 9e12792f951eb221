//! The pieces a test of several wxgroups processes puts together: a PostgreSQL server of its
//! own ([`PgServer`]).
//!
//! Each piece lives in a temp folder and on ports of its own, and is stopped on drop, so tests
//! run side by side and a panic leaves nothing running.

mod pg;
mod scratch;
mod tools;

pub use pg::PgServer;
pub use scratch::{Scratch, free_port};
pub use tools::{Tool, lacks};
