//! Followers by group: the sync that stores every follower's group, and a group's member list
//! (paged, searchable by OpenID prefix) from which a selection is moved as a batch job.

pub mod members;
mod sync;

pub use sync::sync_loop;
