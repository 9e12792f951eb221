//! Create a group: a name in, a new row out.

use axum::{extract::State, http::StatusCode, response::Response};
use serde::Deserialize;

use crate::{
    audit::{self, Change},
    auth::CanChange,
    domain::{GroupId, GroupName, ListChange},
    groups::{
        create_form::CreateForm,
        dashboard::GroupsPage,
        listing::{CarriedView, ListView},
        table::GroupsTable,
    },
    state::{AppState, Snapshot},
    web::{AppError, Chrome, Flash, Form, HxRequest, Notice, Reply, upstream_status},
    wechat::{CreateOutcome, WeChatError},
};

#[derive(Debug, Deserialize)]
pub struct CreateInput {
    #[serde(default)]
    name: String,
}

/// `POST /groups`.
pub async fn create(
    State(state): State<AppState>,
    CanChange(who): CanChange,
    chrome: Chrome,
    hx: HxRequest,
    CarriedView(list): CarriedView,
    Form(input): Form<CreateInput>,
) -> Result<Response, AppError> {
    // The cap and the names in use are checked against the list, so make sure there is one.
    let snapshot = state.groups.view(&state.client).await.snapshot;
    let mut form = CreateForm::new(&chrome, snapshot.as_deref());
    form.value = input.name.clone();
    let reply = Reply::new(hx);
    let name = match check(&chrome, &form, snapshot.as_deref(), &input.name) {
        Ok(name) => name,
        Err(message) => {
            form.error = Some(message);
            let reply = reply.status(StatusCode::UNPROCESSABLE_ENTITY);
            return again(&state, &chrome, reply, form, list);
        }
    };
    let change = Change {
        action: chrome.api.action(ListChange::Create),
        target: name.to_string(),
        before: None,
        after: Some(name.to_string()),
    };
    let created = state.client.create_settled(chrome.api, &name);
    let notice = match audit::record(&state, &who, change, created).await? {
        Ok(CreateOutcome::Created {
            id,
            name,
            recovered_from,
        }) => {
            tracing::info!(operator = %who.actor.name, action = "group_create", group = %id, "created a group");
            state.groups.created(id, &name).await;
            return answer_created(&state, &chrome, reply, list, (id, &name), recovered_from);
        }
        Ok(CreateOutcome::NotCreated { cause }) => {
            tracing::warn!(error = %cause, "a group was not created: its answer was lost");
            let detail = rust_i18n::replace_patterns(
                &chrome.t("wechat.create.not_created"),
                &["cause", "name"],
                &[cause.fault(chrome.lang), name.to_string()],
            );
            let title = chrome.t("wechat.create.not_created_title");
            (upstream_status(&cause), Notice::error(title, detail))
        }
        Err(error) => {
            tracing::warn!(error = %error, "creating a group failed");
            (upstream_status(&error), Notice::wechat(&error, chrome.lang))
        }
    };
    let reply = reply.status(notice.0).notice(notice.1);
    again(&state, &chrome, reply, form, list)
}

/// The new row in the table, the create form empty again, and the message; without
/// JavaScript, back to the page at that row.
fn answer_created(
    state: &AppState,
    chrome: &Chrome,
    reply: Reply,
    list: ListView,
    (id, name): (GroupId, &str),
    recovered_from: Option<WeChatError>,
) -> Result<Response, AppError> {
    let snapshot = state.groups.peek();
    let table = GroupsTable::new(chrome, snapshot.clone())
        .with_view(list.clone())
        .highlighting(id)
        .out_of_band();
    let mut notice = Notice::success(chrome.t2("groups.created", "name", name, "id", id));
    // The re-read found it: say why the answer took the long way round.
    notice.detail = recovered_from.map(|cause| {
        let text = chrome.t("wechat.create.recovered");
        rust_i18n::replace_patterns(&text, &["cause"], &[cause.fault(chrome.lang)])
    });
    reply
        .notice(notice)
        .swap(&CreateForm::new(chrome, snapshot.as_deref()))?
        .swap(&table)?
        .or_redirect(Flash::Created(id).groups_url(&chrome.urls, &list.query()))
}

/// Everything that can be checked here is, so that WeChat never sees a name it would refuse.
fn check(
    chrome: &Chrome,
    form: &CreateForm,
    snapshot: Option<&Snapshot>,
    input: &str,
) -> Result<GroupName, String> {
    let name = GroupName::parse_for(chrome.api, input)
        .map_err(|e| e.message_in(chrome.lang, chrome.api))?;
    if form.full() {
        return Err(chrome.t1("groups.create.full", "max", chrome.api.max_entries()));
    }
    match snapshot.and_then(|s| s.name_taken(&name, None)) {
        Some(id) => Err(chrome.t2("groups.create.taken", "name", &name, "id", id)),
        None => Ok(name),
    }
}

/// The form again, with what was typed and why it did not go through.
fn again(
    state: &AppState,
    chrome: &Chrome,
    reply: Reply,
    form: CreateForm,
    list: ListView,
) -> Result<Response, AppError> {
    reply.swap(&form)?.or_page(|notices| {
        GroupsPage::new(chrome, state.groups.peek())
            .with_view(list)
            .with_create(form)
            .answer(notices)
    })
}
