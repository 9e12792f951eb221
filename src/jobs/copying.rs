//! A copy of groups into tags, as its job starts: the tag of each copied group, found by name in
//! the tag list or created.
//!
//! The tag list is read from WeChat once (`tags/get`), not taken from the cache: the cache may be
//! stale, and in groups mode it holds groups. A tag created here is added to that list, so two
//! groups of the same name share one tag. Each tag's id is committed as soon as it is had; a
//! restart after a create whose id was not yet committed finds the tag by name (or, should the
//! list read before it lack it, WeChat answers the create with 45157 and the list is read again),
//! so no tag is created twice. Each create is counted in the job's calls before it is sent.

use std::collections::HashMap;

use crate::{
    domain::{Api, GroupId, GroupName},
    jobs::steps::Stop,
    state::AppState,
    store::{JobRow, JobState, StoreError},
    wechat::{CreateOutcome, Group, WeChatError},
};

/// Each copied group's tag, and the groups whose tag could not be had.
#[derive(Debug, Default)]
pub(super) struct CopyTags {
    pub tags: HashMap<u32, GroupId>,
    /// With WeChat's errcode, if it gave one: their members are reported failed with it.
    pub failed: HashMap<u32, Option<i64>>,
}

/// The tag of every group `job` copies (see the module's docs), or why the job cannot begin
/// (the tag list cannot be read).
pub(super) async fn tags_for(
    state: &AppState,
    job: &JobRow,
) -> Result<Result<CopyTags, Stop>, StoreError> {
    let mut list = match state.client.get_list(Api::Tags).await {
        Ok(list) => list,
        Err(e) => {
            tracing::warn!(job = job.id, error = %e, "copy groups: cannot read the tag list");
            return Ok(Err((JobState::Failed, Some(e))));
        }
    };
    let mut out = CopyTags::default();
    for g in state.store.job_copy_groups(job.id).await? {
        if !g.copied() {
            continue;
        }
        if let Some(tag) = g.tag_id {
            out.tags.insert(g.group_id, GroupId::from_upstream(tag));
            continue;
        }
        match tag_named(state, job.id, &g.name, &mut list).await? {
            Ok((tag, created)) => {
                state
                    .store
                    .job_copy_tag(job.id, g.group_id, tag.get(), created)
                    .await?;
                out.tags.insert(g.group_id, tag);
            }
            Err(e) => {
                tracing::warn!(job = job.id, group = g.group_id, error = %e, "copy groups: no tag for a group");
                let error = e.to_string();
                state
                    .store
                    .job_copy_failed(job.id, g.group_id, e.code(), &error)
                    .await?;
                out.failed.insert(g.group_id, e.code());
            }
        }
    }
    Ok(Ok(out))
}

/// The tag named `name`: the one `list` has, else created (and added to `list`); `true` when
/// created. The outer error: a create could not be counted, so it was not sent.
async fn tag_named(
    state: &AppState,
    job: i64,
    name: &str,
    list: &mut Vec<Group>,
) -> Result<Result<(GroupId, bool), WeChatError>, StoreError> {
    if let Some(t) = list.iter().find(|t| t.name == name) {
        return Ok(Ok((t.id, false)));
    }
    // The preview refused names that cannot be a tag's; this one passed it.
    let parsed = match GroupName::parse_for(Api::Tags, name) {
        Ok(n) => n,
        Err(e) => return Ok(Err(WeChatError::Local(e.to_string()))),
    };
    state.store.job_call_made(job).await?;
    let created = match state.client.create_settled(Api::Tags, &parsed).await {
        Ok(CreateOutcome::Created { id, name, .. }) => (id, name),
        Ok(CreateOutcome::NotCreated { cause }) => return Ok(Err(cause)),
        // A tag of that name made meanwhile, elsewhere or by a run a crash cut off.
        Err(e) if e.code() == Some(45157) => {
            return Ok(match state.client.get_list(Api::Tags).await {
                Ok(fresh) => {
                    *list = fresh;
                    list.iter()
                        .find(|t| t.name == name)
                        .map(|t| (t.id, false))
                        .ok_or(e)
                }
                Err(_) => Err(e),
            });
        }
        Err(e) => return Ok(Err(e)),
    };
    if state.site.api == Api::Tags {
        state.groups.created(created.0, &created.1).await;
    }
    list.push(Group {
        id: created.0,
        name: created.1,
        count: 0,
    });
    Ok(Ok((created.0, true)))
}
