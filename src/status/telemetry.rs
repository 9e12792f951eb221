//! Metrics and request ids.
//!
//! One Prometheus recorder per process (the `metrics` macros are global); request ids are
//! made here, put on the request's tracing span (so every log line of a request carries it)
//! and returned in `X-Request-Id`.

use std::{
    sync::{Arc, OnceLock},
    time::Instant,
};

use axum::{
    extract::{MatchedPath, Request},
    http::HeaderValue,
    middleware::Next,
    response::Response,
};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use tower_http::request_id::{MakeRequestId, RequestId};

static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// Installs the recorder once (tests build many apps in one process).
pub fn install() {
    HANDLE.get_or_init(|| {
        let recorder = PrometheusBuilder::new()
            .set_buckets(&[
                0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
            ])
            .ok()?
            .build_recorder();
        let handle = recorder.handle();
        // Another recorder may already be installed (an embedding program): then we have none.
        metrics::set_global_recorder(recorder).ok()?;
        Some(handle)
    });
}

/// The current metrics in Prometheus' text format.
pub fn render() -> String {
    match HANDLE.get().and_then(Option::as_ref) {
        Some(h) => {
            h.run_upkeep();
            h.render()
        }
        None => "# no metrics recorder installed\n".into(),
    }
}

/// Counts every request by route and status, with its latency.
///
/// This runs outside the router (around the whole app, so a request that times out is counted
/// too), where the route is not known yet: it leaves a [`RouteSlot`] on the request, and
/// [`note_route`], inside the router, fills it in.
pub async fn http_metrics(mut request: Request, next: Next) -> Response {
    let slot = RouteSlot::default();
    request.extensions_mut().insert(slot.clone());
    let method = request.method().as_str().to_owned();
    let start = Instant::now();
    let response = next.run(request).await;
    let route = slot
        .0
        .get()
        .cloned()
        .unwrap_or_else(|| "unmatched".to_owned());
    let status = response.status().as_u16().to_string();
    metrics::counter!("wxgroups_http_requests_total", "route" => route.clone(), "method" => method.clone(), "status" => status)
        .increment(1);
    metrics::histogram!("wxgroups_http_request_duration_seconds", "route" => route, "method" => method)
        .record(start.elapsed().as_secs_f64());
    response
}

/// Where [`note_route`] puts the route a request matched, for [`http_metrics`].
#[derive(Clone, Default)]
pub struct RouteSlot(Arc<OnceLock<String>>);

/// Notes the matched route (e.g. `/groups/{id}/edit`) for [`http_metrics`].
pub async fn note_route(request: Request, next: Next) -> Response {
    if let (Some(slot), Some(path)) = (
        request.extensions().get::<RouteSlot>(),
        request.extensions().get::<MatchedPath>(),
    ) {
        let _ = slot.0.set(path.as_str().to_owned());
    }
    next.run(request).await
}

/// 16 hex digits: short enough to read out, random enough not to collide in a day's logs.
#[derive(Clone, Copy, Default)]
pub struct MakeId;

impl MakeRequestId for MakeId {
    fn make_request_id<B>(&mut self, _: &axum::http::Request<B>) -> Option<RequestId> {
        let id: u64 = rand::random();
        HeaderValue::from_str(&format!("{id:016x}"))
            .ok()
            .map(RequestId::new)
    }
}

/// The id of this request, for logs and error pages.
pub fn request_id<B>(request: &axum::http::Request<B>) -> String {
    request
        .extensions()
        .get::<RequestId>()
        .and_then(|id| id.header_value().to_str().ok())
        .unwrap_or("-")
        .to_owned()
}
