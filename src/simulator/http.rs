//! The simulator over HTTP: WeChat's paths under `/cgi-bin/` (one entry function for all of them)
//! and the loopback-only control endpoints under `/_sim/`.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{ConnectInfo, Query, Request, State};
use axum::http::{HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use serde_json::Value;

use super::endpoints::{Call, Endpoint};
use super::errcode::Errcode;
use super::faults::{Fault, parse_fault_spec};
use super::handle::Simulator;

impl Simulator {
    /// The simulator's HTTP API: every path under `/cgi-bin/`, with its state inside.
    ///
    /// Also the control endpoints under `/_sim/`, which answer only to loopback peers and need
    /// the peer's address: serve with `into_make_service_with_connect_info::<SocketAddr>()` (as
    /// [`serve`] does); without it they refuse every request.
    ///
    /// No fallback is set, so the router can be merged into another one.
    pub fn router(&self) -> Router {
        Router::new()
            .route("/cgi-bin/{*path}", any(entry))
            .route("/_sim/faults", post(control_inject).delete(control_clear))
            .route("/_sim/stats", get(control_stats))
            .with_state(self.clone())
    }
}

/// Serves the simulator on a bound listener until the future is dropped (used by `wxgroups sim`
/// and [`spawn_local`]).
///
/// With the peer's address, so that the control endpoints can tell loopback from the rest.
pub async fn serve(listener: tokio::net::TcpListener, sim: Simulator) -> std::io::Result<()> {
    axum::serve(
        listener,
        sim.router()
            .into_make_service_with_connect_info::<SocketAddr>(),
    )
    .await
}

/// Serves `sim` on a free loopback port, on a task of its own, and answers its base URL
/// (`http://127.0.0.1:PORT`): the demo account's WeChat, and every test's and the benchmark's.
///
/// The port is bound before this returns, so the URL answers at once; the task serves until the
/// runtime shuts down.
pub async fn spawn_local(sim: &Simulator) -> std::io::Result<String> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}", listener.local_addr()?);
    tokio::spawn(serve(listener, sim.clone()));
    Ok(url)
}

/// Whether the request comes from this machine. No peer address (the router served without
/// connect info, or driven in-process) is not proof of that, so it is refused too.
fn from_loopback(request: &Request) -> bool {
    request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .is_some_and(|ConnectInfo(peer)| peer.ip().is_loopback())
}

fn refused() -> Response {
    (
        StatusCode::FORBIDDEN,
        "the simulator's control endpoints answer only to loopback peers\n",
    )
        .into_response()
}

/// `POST /_sim/faults`: `{"endpoint": "groups/get", "fault": {...}}` or `{"spec": "..."}`.
async fn control_inject(State(sim): State<Simulator>, request: Request) -> Response {
    if !from_loopback(&request) {
        return refused();
    }
    #[derive(serde::Deserialize)]
    #[serde(untagged)]
    enum Body {
        Fault { endpoint: String, fault: Fault },
        Spec { spec: String },
    }
    let bytes = match axum::body::to_bytes(request.into_body(), 64 * 1024).await {
        Ok(bytes) => bytes,
        Err(_) => return (StatusCode::BAD_REQUEST, "unreadable body\n").into_response(),
    };
    let (endpoint, fault) = match serde_json::from_slice::<Body>(&bytes) {
        Ok(Body::Fault { endpoint, fault }) => (endpoint, fault),
        Ok(Body::Spec { spec }) => match parse_fault_spec(&spec) {
            Ok(parsed) => parsed,
            Err(why) => return (StatusCode::BAD_REQUEST, format!("{why}\n")).into_response(),
        },
        Err(e) => {
            return (
                StatusCode::BAD_REQUEST,
                format!("expected {{\"endpoint\":…,\"fault\":{{…}}}} or {{\"spec\":…}}: {e}\n"),
            )
                .into_response();
        }
    };
    sim.inject(&endpoint, fault);
    axum::Json(sim.stats()).into_response()
}

/// `DELETE /_sim/faults`: clears every fault.
async fn control_clear(State(sim): State<Simulator>, request: Request) -> Response {
    if !from_loopback(&request) {
        return refused();
    }
    sim.clear_faults();
    axum::Json(sim.stats()).into_response()
}

/// `GET /_sim/stats`: call counts per path and the faults in force.
async fn control_stats(State(sim): State<Simulator>, request: Request) -> Response {
    if !from_loopback(&request) {
        return refused();
    }
    axum::Json(sim.stats()).into_response()
}

/// The one way into the simulator: counts the call, then answers as WeChat would.
async fn entry(
    State(sim): State<Simulator>,
    method: Method,
    uri: Uri,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let path = uri.path();
    let endpoint = Endpoint::from_path(path);
    sim.count(path, endpoint.is_some());

    let fault = sim.take_fault(path);
    let failure = match fault {
        None => None,
        Some(fault) => {
            if fault.latency_ms > 0 {
                tokio::time::sleep(Duration::from_millis(fault.latency_ms)).await;
            }
            // Without after_write the failure comes instead of the request's effect, as when
            // WeChat refuses; with it, the effect happens and only the answer is lost.
            match fault.failure() {
                Some(failure) if !fault.after_write => {
                    tracing::debug!(path, "simulator: injected fault");
                    return failure.respond().await;
                }
                other => other,
            }
        }
    };

    let answer = match endpoint {
        None => Err(Errcode::ApiUnauthorized),
        Some(endpoint) => {
            // A malformed query string is treated as an empty one: the missing parameter then
            // gets its own errcode, which is what a client needs to see.
            let query = Query::<HashMap<String, String>>::try_from_uri(&uri)
                .map(|Query(q)| q)
                .unwrap_or_default();
            let body = body.unwrap_or_default();
            let call = Call {
                query: &query,
                body: &body,
            };
            sim.answer(endpoint, &method, &call)
        }
    };
    // The path only: the query holds the token or the secret.
    match &answer {
        Ok(_) => tracing::debug!(path, "simulator: ok"),
        Err(e) => tracing::debug!(path, errcode = e.code(), "simulator: error"),
    }
    if let Some(failure) = failure {
        tracing::debug!(
            path,
            "simulator: done, but the answer is replaced by a fault"
        );
        return failure.respond().await;
    }
    wechat_json(answer.unwrap_or_else(Errcode::body))
}

/// WeChat answers `application/json` with this exact (non-standard) parameter.
fn wechat_json(body: Value) -> Response {
    let mut response = body.to_string().into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json; encoding=utf-8"),
    );
    response
}

#[cfg(test)]
mod tests {
    use axum::body::Body;
    use axum::http::{Request, StatusCode};
    use tower::ServiceExt as _;

    use super::*;
    use crate::simulator::SimConfig;
    use serde_json::json;

    async fn send(router: Router, method: Method, uri: &str, body: &str) -> (StatusCode, Value) {
        let request = Request::builder()
            .method(method)
            .uri(uri)
            .body(Body::from(body.to_owned()))
            .expect("a valid request");
        let response = router.oneshot(request).await.expect("infallible");
        let status = response.status();
        assert_eq!(
            response.headers().get(header::CONTENT_TYPE),
            Some(&HeaderValue::from_static(
                "application/json; encoding=utf-8"
            ))
        );
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .expect("a body");
        (status, serde_json::from_slice(&bytes).expect("JSON"))
    }

    #[tokio::test]
    async fn the_router_merges_into_an_app_that_has_its_own_fallback() {
        let sim = Simulator::new(SimConfig::default());
        let app = Router::new()
            .fallback(|| async { "the app's own 404" })
            .merge(sim.router());
        let (status, v) = send(app, Method::GET, "/cgi-bin/groups/get", "").await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(v["errcode"], 41001);
        assert_eq!(sim.calls("/cgi-bin/groups/get"), 1);
    }

    #[tokio::test]
    async fn an_error_carries_wechats_message_and_a_request_id() {
        let sim = Simulator::new(SimConfig::default());
        let (_, v) = send(sim.router(), Method::GET, "/cgi-bin/groups/get", "").await;
        let msg = v["errmsg"].as_str().expect("an errmsg");
        assert!(msg.starts_with("access_token missing rid: "), "{msg}");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_moves_keep_the_counts_consistent() {
        let sim = Simulator::new(SimConfig::default());
        let uri =
            "/cgi-bin/token?grant_type=client_credential&appid=wxdemo0000000000&secret=demo-secret";
        let (_, v) = send(sim.router(), Method::GET, uri, "").await;
        let token = v["access_token"].as_str().expect("a token").to_owned();
        let mut tasks = Vec::new();
        for i in 0..200u32 {
            let router = sim.router();
            let to = [0, 1, 2, 100, 101][(i % 5) as usize];
            let body =
                json!({ "openid": sim.follower_openid(i % 50), "to_groupid": to }).to_string();
            let uri = format!("/cgi-bin/groups/members/update?access_token={token}");
            tasks.push(tokio::spawn(async move {
                send(router, Method::POST, &uri, &body).await.1
            }));
        }
        for task in tasks {
            assert_eq!(task.await.expect("no panic")["errcode"], 0);
        }
        let uri = format!("/cgi-bin/groups/get?access_token={token}");
        let (_, v) = send(sim.router(), Method::GET, &uri, "").await;
        let groups = v["groups"].as_array().expect("groups");
        let total: u64 = groups.iter().filter_map(|g| g["count"].as_u64()).sum();
        assert_eq!(total, 1_000);
        for g in groups {
            let id = g["id"].as_u64().expect("an id") as u32;
            let members = (0..1_000)
                .filter(|&i| sim.group_of(&sim.follower_openid(i)) == Some(id))
                .count() as u64;
            assert_eq!(g["count"], members, "group {id}");
        }
    }
}
