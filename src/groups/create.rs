//! Create a group: a name in, a new row out.

use askama::Template;
use axum::{
    extract::State,
    http::StatusCode,
    response::{Html, IntoResponse, Redirect, Response},
};
use serde::Deserialize;

use crate::{
    audit::{self, Change},
    auth::{CanChange, ClientInfo},
    domain::GroupName,
    groups::{
        Snapshot,
        listing::{CarriedView, ListView},
        page::{GroupsPage, GroupsTable, name_taken, render_page},
    },
    members::MemberPanel,
    web::{AppError, AppState, Chrome, Form, HxRequest, Notice, Notices},
};

/// WeChat's limit, system groups included.
pub const MAX_GROUPS: usize = 500;

#[derive(Debug, Deserialize)]
pub struct CreateInput {
    #[serde(default)]
    name: String,
}

/// The create form, empty or with what the operator typed and why it was refused.
#[derive(Template)]
#[template(path = "groups/_create_form.html")]
pub struct CreateForm {
    pub chrome: Chrome,
    pub value: String,
    pub error: Option<String>,
    /// Groups in use, to show how many are left before the cap.
    pub used: usize,
}

impl CreateForm {
    pub fn new(chrome: &Chrome, snapshot: Option<&Snapshot>) -> Self {
        CreateForm {
            chrome: chrome.clone(),
            value: String::new(),
            error: None,
            used: snapshot.map_or(0, |s| s.groups.len()),
        }
    }

    pub fn max(&self) -> usize {
        MAX_GROUPS
    }

    pub fn full(&self) -> bool {
        self.used >= MAX_GROUPS
    }
}

/// `POST /groups`.
pub async fn create(
    State(state): State<AppState>,
    CanChange(actor): CanChange,
    client: ClientInfo,
    chrome: Chrome,
    HxRequest(hx): HxRequest,
    CarriedView(list): CarriedView,
    Form(input): Form<CreateInput>,
) -> Result<Response, AppError> {
    // The cap and the names in use are checked against the list, so make sure there is one.
    let snapshot = state.groups.view(&state.client).await.snapshot;
    let mut form = CreateForm::new(&chrome, snapshot.as_deref());
    form.value = input.name.clone();

    // Everything that can be checked here is, so that WeChat never sees a name it would refuse.
    let checked = GroupName::parse(&input.name)
        .map_err(|e| e.message(chrome.lang))
        .and_then(|name| {
            if form.full() {
                return Err(chrome.t1("groups.create.full", "max", MAX_GROUPS));
            }
            match name_taken(snapshot.as_deref(), &name, None) {
                Some(id) => Err(chrome.t2("groups.create.taken", "name", &name, "id", id)),
                None => Ok(name),
            }
        });
    let name = match checked {
        Ok(name) => name,
        Err(message) => {
            form.error = Some(message);
            return respond_with_form(
                &state,
                chrome,
                hx,
                form,
                None,
                StatusCode::UNPROCESSABLE_ENTITY,
                list,
            );
        }
    };

    let change = Change {
        action: "group_create",
        target: name.to_string(),
        before: None,
        after: Some(name.to_string()),
    };
    match audit::record(
        &state,
        &actor,
        &client,
        change,
        state.client.create_group(&name),
    )
    .await?
    {
        Ok((id, created_name)) => {
            tracing::info!(operator = %actor.name, action = "group_create", group = %id, "created a group");
            state.groups.created(id, &created_name);
            if !hx {
                return Ok(Redirect::to(&format!(
                    "{}?done=created&id={id}{}#group-{id}",
                    chrome.urls.groups(),
                    list.and_query()
                ))
                .into_response());
            }
            let snapshot = state.groups.peek();
            let fresh_form = CreateForm::new(&chrome, snapshot.as_deref());
            let mut table = GroupsTable::new(&chrome, snapshot).with_view(list);
            table.highlight = Some(id);
            table.oob = true;
            let notice =
                Notice::success(chrome.t2("groups.created", "name", &created_name, "id", id));
            let html = format!(
                "{}{}{}",
                fresh_form.render()?,
                table.render()?,
                Notices::one(notice).oob().render()?
            );
            Ok(Html(html).into_response())
        }
        Err(error) => {
            tracing::warn!(error = %error, "creating a group failed");
            let notice = Notice::wechat(&error, chrome.lang);
            respond_with_form(
                &state,
                chrome,
                hx,
                form,
                Some(notice),
                crate::web::upstream_status(&error),
                list,
            )
        }
    }
}

/// The form again (as a fragment for htmx, or inside the whole page) with a message.
fn respond_with_form(
    state: &AppState,
    chrome: Chrome,
    hx: bool,
    form: CreateForm,
    notice: Option<Notice>,
    status: StatusCode,
    list: ListView,
) -> Result<Response, AppError> {
    let notices = Notices {
        items: notice.into_iter().collect(),
        oob: hx,
    };
    if hx {
        let html = format!("{}{}", form.render()?, notices.render()?);
        return Ok((status, Html(html)).into_response());
    }
    let snapshot = state.groups.peek();
    render_page(
        GroupsPage {
            notices,
            table: GroupsTable::new(&chrome, snapshot.clone()).with_view(list),
            create: form,
            member: MemberPanel::new(&chrome, snapshot),
            chrome,
        },
        status,
    )
}
