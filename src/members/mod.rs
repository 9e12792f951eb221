//! One follower at a time: find their group by OpenID, move them to another.

pub mod lookup;
pub mod moving;
mod panel;

pub use lookup::lookup_into;
pub use panel::{Found, MemberPanel};
