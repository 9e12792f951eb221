//! The jobs page around its panels, the recent jobs list, and what every job page needs.

use std::sync::Arc;

use askama::Template;
use axum::{
    extract::FromRequestParts,
    http::request::Parts,
    response::{IntoResponse, Response},
};

use crate::{
    domain::{Api, GroupId},
    jobs::sync_card::SyncPanel,
    state::{AppState, Snapshot},
    store::{JobAction, JobRow},
    web::{AppError, Chrome, Notices, Urls, form::path_id, htmx::HxCurrentUrl, urls::with_query},
};

/// The jobs page.
#[derive(Template)]
#[template(path = "jobs/page.html")]
pub struct JobsPage {
    pub chrome: Chrome,
    pub notices: Notices,
    pub sync: SyncPanel,
    /// The list form, or a preview in its place.
    pub panel: String,
    pub recent: RecentJobs,
    /// Queued or running jobs of accounts no longer in the configuration: kept, not run.
    pub orphaned: Vec<JobRow>,
}

/// The jobs page with a tags-mode action and its tags already chosen in the list form, e.g.
/// `/jobs?action=untag&from_tag=101` (`from`: tag A, taken off; `to`: tag B, given). Other
/// pages link here ("untag a list from this tag").
pub fn jobs_link(
    urls: &Urls,
    action: JobAction,
    from: Option<GroupId>,
    to: Option<GroupId>,
) -> String {
    let (from, to) = (from.map(|t| t.to_string()), to.map(|t| t.to_string()));
    let mut pairs = vec![("action", action.as_str())];
    pairs.extend(from.as_deref().map(|f| ("from_tag", f)));
    pairs.extend(to.as_deref().map(|t| ("to_tag", t)));
    with_query(&urls.jobs(), &pairs)
}

/// The newest jobs, as the jobs page lists them.
#[derive(Template)]
#[template(path = "jobs/_recent.html")]
pub struct RecentJobs {
    pub chrome: Chrome,
    pub jobs: Vec<JobRow>,
    pub names: Option<Arc<Snapshot>>,
    pub oob: bool,
}

impl RecentJobs {
    pub async fn load(state: &AppState, chrome: &Chrome) -> Result<Self, AppError> {
        Ok(RecentJobs {
            chrome: chrome.clone(),
            jobs: state.store.jobs_recent(20).await?,
            names: state.groups.peek(),
            oob: false,
        })
    }

    /// The list again, out of band, when the request came from the jobs page itself (the job's
    /// own page has no list). Empty otherwise.
    pub async fn oob_for(
        state: &AppState,
        chrome: &Chrome,
        HxCurrentUrl(from): &HxCurrentUrl,
    ) -> Result<String, AppError> {
        let jobs_url = chrome.urls.jobs();
        let from_jobs_page = from
            .as_ref()
            .is_some_and(|url| url.path().ends_with(&jobs_url));
        if !from_jobs_page {
            return Ok(String::new());
        }
        let mut recent = RecentJobs::load(state, chrome).await?;
        recent.oob = true;
        Ok(recent.render()?)
    }

    fn group_name(&self, job: &JobRow) -> String {
        job_target(&self.chrome, self.names.as_deref(), job)
    }

    /// The column naming what each job does: its target group, or in tags mode its action.
    fn target_header(&self) -> String {
        in_mode(&self.chrome, "jobs.col.target", "jobs.tags.col.target")
    }

    /// The column counting the OpenIDs done: moved, or in tags mode done whatever the action.
    fn done_header(&self) -> String {
        in_mode(&self.chrome, "jobs.col.moved", "jobs.tags.col.done")
    }

    fn state_name(&self, job: &JobRow) -> String {
        self.chrome.t(&format!("jobs.state.{}", job.state.as_str()))
    }

    fn when(&self, us: &i64) -> String {
        jiff::Timestamp::from_microsecond(*us)
            .map(|t| self.chrome.time(t))
            .unwrap_or_default()
    }
}

/// The words of `groups` in groups mode, of `tags` in tags mode, where the jobs pages say
/// different things (the catalogue's "tags:KEY" overrides belong to tags.yml).
pub fn in_mode(chrome: &Chrome, groups: &str, tags: &str) -> String {
    chrome.t(if chrome.api == Api::Tags {
        tags
    } else {
        groups
    })
}

/// "VIP客户 (101)" as the group list names group `id`, or "(101)" while it is not loaded.
pub fn group_label(snapshot: Option<&Snapshot>, id: u32) -> String {
    labelled(listed_name(snapshot, id), id)
}

/// A job's target group, named as the group list names it now (it may have been renamed since),
/// or else by the name the job stored when it was created: right after a restart the list is
/// not loaded until something reads it, and a job's page should not say only "(107)" meanwhile.
/// A job from before names were stored falls back to the id alone.
pub fn job_group_label(snapshot: Option<&Snapshot>, job: &JobRow) -> String {
    let name = listed_name(snapshot, job.to_group).or(job.to_group_name.as_deref());
    labelled(name, job.to_group)
}

/// What a job does to its list, in a few words: the group of a move ("VIP客户 (101)", as
/// before there were actions), "+ VIP (101)", "− VIP (101)", "A (100) → B (101)", the
/// blacklist, the copy.
pub fn job_target(chrome: &Chrome, list: Option<&Snapshot>, job: &JobRow) -> String {
    let to = job_group_label(list, job);
    match job.action {
        JobAction::Move => to,
        JobAction::Tag => chrome.t1("jobs.tags.target.tag", "tag", to),
        JobAction::Untag => chrome.t1("jobs.tags.target.untag", "tag", to),
        JobAction::Retag => {
            let id = job.from_tag.unwrap_or(0);
            let from = labelled(listed_name(list, id).or(job.from_name.as_deref()), id);
            chrome.t2("jobs.tags.target.retag", "from", from, "to", to)
        }
        JobAction::Blacklist => chrome.t("jobs.tags.target.blacklist"),
        JobAction::Unblacklist => chrome.t("jobs.tags.target.unblacklist"),
        JobAction::CopyGroups => chrome.t("jobs.tags.target.copy_groups"),
    }
}

/// Group `id`'s name in the group list, if the list is loaded and has it.
pub fn listed_name(snapshot: Option<&Snapshot>, id: u32) -> Option<&str> {
    snapshot
        .and_then(|s| s.find(GroupId::from_upstream(id)))
        .map(|g| g.name.as_str())
}

fn labelled(name: Option<&str>, id: u32) -> String {
    match name {
        Some(name) => format!("{name} ({id})"),
        None => format!("({id})"),
    }
}

impl JobsPage {
    /// The page with `panel` (the list form, or a preview in its place).
    pub async fn load(state: &AppState, chrome: Chrome, panel: String) -> Result<Self, AppError> {
        Ok(JobsPage {
            sync: SyncPanel::load(state, &chrome).await?,
            recent: RecentJobs::load(state, &chrome).await?,
            notices: Notices::default(),
            panel,
            orphaned: orphaned(state).await?,
            chrome,
        })
    }

    fn list_title(&self) -> String {
        in_mode(&self.chrome, "jobs.list.title", "jobs.tags.list_title")
    }

    /// The tags mode offers copying groups into tags (a card of its own).
    fn offers_copy(&self) -> bool {
        self.chrome.api == Api::Tags && self.chrome.can_change()
    }

    pub fn with_notices(mut self, notices: Notices) -> Self {
        self.notices = notices;
        self
    }
}

/// Jobs left queued or running by an account removed from the configuration: shown, so that
/// they are not lost, but never run (no worker serves their account).
async fn orphaned(state: &AppState) -> Result<Vec<JobRow>, AppError> {
    let known: Vec<&str> = state
        .directory
        .accounts
        .iter()
        .map(|a| a.key.as_str())
        .collect();
    Ok(state.store.jobs_orphaned(&known).await?)
}

/// The job an `{id}` in a URL names; 404 for one that is malformed or not there.
pub async fn job_or_404(state: &AppState, id: &str) -> Result<JobRow, AppError> {
    let id: i64 = id.parse().map_err(|_| AppError::NotFound)?;
    state.store.job(id).await?.ok_or(AppError::NotFound)
}

/// The same as an extractor, for the routes under `/jobs/{id}/…` (after the role extractor).
pub struct JobInUrl(pub JobRow);

impl FromRequestParts<AppState> for JobInUrl {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let id = path_id(parts, state).await?;
        let job = job_or_404(state, &id).await;
        Ok(JobInUrl(job.map_err(IntoResponse::into_response)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::JobState;

    fn job(to_group_name: Option<&str>) -> JobRow {
        JobRow {
            id: 1,
            state: JobState::Running,
            operator: "alice".into(),
            source: "builtin".into(),
            ip: None,
            to_group: 107,
            origin: "list".into(),
            total: 50,
            moved: 0,
            invalid: 0,
            failed: 0,
            cancelled: 0,
            calls: 0,
            cancel_requested: false,
            created_at: 0,
            queued_at: None,
            started_at: None,
            finished_at: None,
            error: None,
            audit_id: None,
            to_group_name: to_group_name.map(str::to_owned),
            action: JobAction::Move,
            from_tag: None,
            from_name: None,
            listing: false,
            account: "default".into(),
        }
    }

    #[test]
    fn without_the_group_list_a_job_names_its_group_by_the_name_it_stored() {
        assert_eq!(
            job_group_label(None, &job(Some("华东媒体"))),
            "华东媒体 (107)"
        );
    }

    #[test]
    fn a_link_to_the_jobs_page_preselects_an_action_and_its_tags() {
        let urls = Urls::new("/wx");
        assert_eq!(
            jobs_link(
                &urls,
                JobAction::Untag,
                Some(GroupId::from_upstream(101)),
                None
            ),
            "/wx/jobs?action=untag&from_tag=101"
        );
        assert_eq!(
            jobs_link(
                &urls,
                JobAction::Retag,
                Some(GroupId::from_upstream(100)),
                Some(GroupId::from_upstream(101))
            ),
            "/wx/jobs?action=retag&from_tag=100&to_tag=101"
        );
    }

    #[test]
    fn a_job_from_before_names_were_stored_falls_back_to_the_id() {
        assert_eq!(job_group_label(None, &job(None)), "(107)");
        assert_eq!(group_label(None, 107), "(107)");
    }
}
