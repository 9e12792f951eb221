//! The pieces a test of several wxgroups processes puts together: a PostgreSQL server of its
//! own ([`PgServer`]), wxgroups processes ([`Instance`], [`add_operator`]), nginx in front of
//! them ([`Balancer`]) and an operator's browser ([`Browser`]). The simulator the instances
//! call is the crate's own (`wxgroups::simulator`), served in the test process so the test can
//! count calls and inject faults.
//!
//! Each piece lives in a temp folder and on ports of its own, and is stopped on drop, so tests
//! run side by side and a panic leaves nothing running.

mod balancer;
mod browser;
mod instance;
mod pg;
mod scratch;
mod tools;

pub use balancer::Balancer;
pub use browser::{Browser, Page, http_client};
pub use instance::{Env, Instance, add_operator};
pub use pg::PgServer;
pub use scratch::{Scratch, free_port};
pub use tools::{Tool, lacks};
