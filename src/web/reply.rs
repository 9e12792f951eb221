//! One way to answer: the fragment for htmx, the whole page (or a 303) for a plain request.
//!
//! Every form works with and without JavaScript. htmx wants the pieces that changed — the
//! fragment its target swaps, any out-of-band ones (a table whose counts changed), and the message
//! region — while a browser without JavaScript wants the whole page with the message in it, or
//! the redirect after a successful post. A handler says what happened once, in one [`Reply`],
//! and ends it with [`Reply::or_page`] or [`Reply::or_redirect`]: which of the two answers is
//! sent is decided here, not in every handler.

use askama::Template;
use axum::{
    http::StatusCode,
    response::{Html, IntoResponse, Redirect, Response},
};
use axum_htmx::{HxRequest, HxReswap, SwapOption};

use crate::web::{AppError, Notice, Notices};

/// An answer being put together (see the module's docs).
#[must_use = "a reply is sent by or_page or or_redirect"]
pub struct Reply {
    hx: bool,
    status: StatusCode,
    notices: Vec<Notice>,
    /// For htmx: the fragments rendered so far, main target first.
    html: String,
    /// For htmx: swap nothing into the target, only the out-of-band parts.
    keep_target: bool,
}

impl Reply {
    pub fn new(HxRequest(hx): HxRequest) -> Reply {
        Reply {
            hx,
            status: StatusCode::OK,
            notices: Vec::new(),
            html: String::new(),
            keep_target: false,
        }
    }

    /// Whether this answers htmx (the fragments) rather than a plain request (a page or a 303).
    pub fn is_htmx(&self) -> bool {
        self.hx
    }

    pub fn status(mut self, status: StatusCode) -> Reply {
        self.status = status;
        self
    }

    /// A message for the page's message region (none: the region is emptied).
    pub fn notice(mut self, notice: impl Into<Option<Notice>>) -> Reply {
        self.notices.extend(notice.into());
        self
    }

    /// For htmx, a fragment to send, in order: the target's first, then any marked out-of-band.
    /// Nothing is rendered for a plain request.
    pub fn swap(mut self, fragment: &impl Template) -> Result<Reply, AppError> {
        if self.hx {
            fragment.render_into(&mut self.html)?;
        }
        Ok(self)
    }

    /// The same, for a fragment rendered elsewhere.
    pub fn swap_html(mut self, fragment: &str) -> Reply {
        if self.hx {
            self.html.push_str(fragment);
        }
        self
    }

    /// For htmx, leave the target as it is: only the message region (and out-of-band parts)
    /// change, as after a refusal that has no form to show again.
    pub fn keep_target(mut self) -> Reply {
        self.keep_target = true;
        self
    }

    /// Ends the reply: the fragments for htmx, else the whole page that `page` builds around
    /// the messages.
    pub fn or_page<P: IntoResponse>(
        self,
        page: impl FnOnce(Notices) -> Result<P, AppError>,
    ) -> Result<Response, AppError> {
        if self.hx {
            return self.fragments();
        }
        let status = self.status;
        Ok((status, page(Notices::from(self.notices))?).into_response())
    }

    /// Ends the reply: the fragments for htmx, else "303 See Other" to `to` (which says on its
    /// own what happened, see [`Flash`](crate::web::Flash)).
    pub fn or_redirect(self, to: impl AsRef<str>) -> Result<Response, AppError> {
        if self.hx {
            return self.fragments();
        }
        Ok(Redirect::to(to.as_ref()).into_response())
    }

    /// Ends the reply with the fragments alone, for a route only htmx asks for (a plain
    /// request never gets this far).
    pub fn fragments(mut self) -> Result<Response, AppError> {
        Notices::from(self.notices)
            .oob()
            .render_into(&mut self.html)?;
        let html = Html(self.html);
        Ok(if self.keep_target {
            (self.status, HxReswap(SwapOption::None), html).into_response()
        } else {
            (self.status, html).into_response()
        })
    }
}

/// A template as a whole response: a page, or a fragment htmx asked for.
pub fn html(template: &impl Template) -> Result<Response, AppError> {
    Ok(Html(template.render()?).into_response())
}
