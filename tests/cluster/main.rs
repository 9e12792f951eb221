//! Several wxgroups processes at once: behind nginx, sharing a database, one of them killed.
//!
//! Each test starts real processes (the `wxgroups` binary, nginx, PostgreSQL), so they run on a
//! multi-threaded runtime: the harness blocks while a process starts or stops, and the
//! simulator in the test process must go on answering the instances meanwhile.

// A toolkit: some of it (`free_port`, `PgServer::port`) is for tests still to come.
#[allow(dead_code, unused_imports)]
mod harness;

mod deployment;
mod smoke;
