//! One follower at a time: find their group (or their tags) by OpenID, move them to another
//! group (or add, remove and replace tags).

mod answer;
pub mod lookup;
pub mod moving;
mod panel;
pub mod tagging;

pub use lookup::lookup_into;
pub use panel::{Carried, Found, MemberPanel};
