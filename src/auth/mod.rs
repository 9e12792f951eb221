//! Who is acting: built-in operators (password, session), proxy single sign-on, the demo admin.
//!
//! The `authenticate` middleware decides once per request and puts an [`Actor`] in the request's
//! extensions; handlers demand a minimum role with the [`CanView`], [`CanChange`] and
//! [`IsAdmin`] extractors.

pub mod accounts;
mod authenticate;
pub mod cli;
pub mod network;
pub mod password;
mod roles;
pub mod session_cache;
pub mod signin;

pub use authenticate::{authenticate, authenticate_anywhere};
pub use network::ClientInfo;
pub use roles::{CanChange, CanView, IsAdmin, MaybeActor, Who};

pub use crate::state::{Access, Actor, Role, SignInLimiter, Source};
