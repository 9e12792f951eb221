//! Batch jobs: moving, tagging, untagging and blacklisting many followers at once, and copying
//! groups into tags, in the background, surviving restarts.
//!
//! - `page.rs`: the jobs page; `sync_card.rs` its follower-sync card.
//! - `list.rs`: a pasted or uploaded list (read by `parse.rs`) into a preview, or discarded; in
//!   tags mode with the action and its tags (`order.rs`).
//! - `copy.rs`: the preview of copying groups into tags.
//! - `queue.rs`: a preview confirmed (or a group's or tag's members chosen) becomes a queued job.
//! - `progress.rs`: a job's page and progress, cancel, the outcome CSV.
//! - `worker.rs`: the one task that writes jobs, chunk by chunk and step by step (`steps.rs`:
//!   what each action's calls are), narrowing refused chunks; `listing.rs` reads an "untag
//!   everyone" job's list as it starts, `copying.rs` finds or creates a copy's tags.
//! - `summary.rs`: what the audit log says of a job.
//!
//! For other pages: [`create_job`] (a group move), [`create_tag_job`] (tag, untag, retag,
//! blacklist a list), [`create_untag_all_job`] (take a tag off everyone, before deleting a tag
//! WeChat will not delete with more than 100,000 followers), and [`jobs_link`] (the jobs page
//! with an action and tags chosen).

pub mod copy;
mod copying;
pub mod list;
pub mod listing;
pub mod order;
mod outcome;
pub mod page;
mod panel;
pub mod parse;
pub mod progress;
pub mod queue;
mod steps;
mod summary;
pub mod sync_card;
pub mod tag_list;
mod worker;

pub use listing::create_untag_all_job;
pub use order::TagOrder;
pub use page::jobs_link;
pub use queue::{create_job, create_tag_job};
pub use sync_card::start_sync;
pub use worker::job_loop;

use crate::{
    domain::{GroupId, OpenId},
    state::AppState,
};

/// A move made through wxgroups confirms the follower's group at once in the follower table.
/// A failure to write it only makes that row stale until the next sync, so it is logged, not shown.
pub async fn follower_moved(state: &AppState, openid: &OpenId, to: GroupId) {
    if let Err(e) = state
        .store
        .followers_moved(&[openid.as_str()], to.get())
        .await
    {
        tracing::warn!(error = %e, "cannot record a moved follower's new group");
    }
}

#[cfg(test)]
mod tests {
    use crate::i18n::Lang;

    /// The keys of this feature's catalogue file (`jobs_tags.yml`), which the catalogue's own
    /// completeness test does not read.
    fn keys() -> Vec<String> {
        include_str!("../i18n/jobs_tags.yml")
            .lines()
            .filter(|l| !l.starts_with(' ') && !l.starts_with('#') && !l.starts_with('_'))
            .filter_map(|l| l.strip_suffix(':'))
            .map(|k| k.trim_matches('"').to_owned())
            .collect()
    }

    #[test]
    fn every_jobs_tags_key_exists_in_both_languages_and_differs_between_them() {
        let keys = keys();
        assert!(keys.len() > 30, "the parser found only {keys:?}");
        for key in &keys {
            let (zh, en) = (Lang::Zh.t(key), Lang::En.t(key));
            // rust-i18n answers a missing entry with the key itself.
            assert!(!zh.ends_with(key.as_str()), "{key} is missing in zh-CN");
            assert!(!en.ends_with(key.as_str()), "{key} is missing in en");
            assert_ne!(zh, en, "{key} is not translated");
        }
    }
}
