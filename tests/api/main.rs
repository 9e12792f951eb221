//! The dashboard over real HTTP against the simulator (and a scripted fake for faults).

mod helpers;

mod create;
mod faults;
mod groups_page;
mod languages;
mod members;
mod rename;
mod site;
