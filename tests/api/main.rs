//! The dashboard over real HTTP against the simulator (and a scripted fake for faults).

mod helpers;

mod access;
mod accounts;
mod audit;
mod bulk;
mod comforts;
mod crash;

mod create;
mod faults;
mod groups_page;
mod hardening;
mod languages;
mod members;
mod nginx;
mod observability;
mod rename;
mod site;
mod tag_jobs;
mod tags;
