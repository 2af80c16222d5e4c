//! The HTTP side: one guard for every request, the pages, and the JSON
//! endpoints.

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{DefaultBodyLimit, RawQuery, Request, State};
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use rekognition_guard::liveness::{KioskId, LivenessSessionId, LivenessVerdict};
use rekognition_guard::memory::{InMemoryBackend, SimulatedLiveness};
use rekognition_guard::{
    Error, FaceImage, FaceLiveness, Guard, PreparedComparison, S3ObjectRef, MAX_IMAGE_BYTES,
};
use serde_json::{json, Value};

use crate::audit::Decisions;

/// Where members' photos are.
pub enum Backend {
    /// The in-memory AWS; every camera frame (and every simulated liveness
    /// session) shows `face`.
    Simulated {
        aws: InMemoryBackend,
        members: HashMap<String, S3ObjectRef>,
        face: String,
    },
    /// AWS or an emulator: pinned references, else `members/CARD.jpg`.
    Aws {
        bucket: String,
        members: HashMap<String, S3ObjectRef>,
    },
}

impl Backend {
    pub fn label(&self) -> &'static str {
        match self {
            Backend::Simulated { .. } => "in-memory",
            Backend::Aws { .. } => "aws",
        }
    }

    /// The member's reference photo, if the card is known.
    fn reference(&self, card: &str) -> Option<S3ObjectRef> {
        match self {
            Backend::Simulated { members, .. } => members.get(card).cloned(),
            Backend::Aws { bucket, members } => members.get(card).cloned().or_else(|| {
                // Card ids are digits and letters only, so no card names
                // another key.
                (!card.is_empty()
                    && card.len() <= 64
                    && card.bytes().all(|b| b.is_ascii_alphanumeric()))
                .then(|| S3ObjectRef::new(bucket, &format!("members/{card}.jpg")).ok())
                .flatten()
            }),
        }
    }
}

/// What a tap started, waiting for the photo (or the liveness check).
enum Started {
    /// The reference's check, for a comparison with one frame.
    Photo(Box<PreparedComparison>),
    /// A Face Liveness session for the member at the kiosk.
    Liveness {
        session: LivenessSessionId,
        member: S3ObjectRef,
        kiosk: KioskId,
    },
}

/// What every request shares.
#[derive(Clone)]
pub struct Kiosk(Arc<Inner>);

struct Inner {
    guard: Guard,
    liveness: Option<FaceLiveness>,
    backend: Backend,
    decisions: Decisions,
    /// The addresses the pages may be asked for by (`Host`).
    hosts: Vec<String>,
    /// What taps started, by one-use token, oldest first.
    pending: Mutex<VecDeque<(String, Instant, Started)>>,
}

impl Kiosk {
    pub fn new(
        guard: Guard,
        liveness: Option<FaceLiveness>,
        backend: Backend,
        decisions: Decisions,
        address: SocketAddr,
    ) -> Self {
        let port = address.port();
        let mut hosts = vec![
            format!("127.0.0.1:{port}"),
            format!("localhost:{port}"),
            format!("[::1]:{port}"),
        ];
        hosts.push(address.to_string());
        Self(Arc::new(Inner {
            guard,
            liveness,
            backend,
            decisions,
            hosts,
            pending: Mutex::default(),
        }))
    }
}

/// The most taps waiting at once; the oldest are dropped.
const MAX_PENDING: usize = 256;
/// How long a tap waits for its photo: a Face Liveness session lasts
/// three minutes, and a member in front of the camera far less.
const TAP_LIFETIME: Duration = Duration::from_secs(180);

pub fn app(kiosk: Kiosk) -> Router {
    Router::new()
        .route("/", get(|| async { Html(include_str!("kiosk.html")) }))
        .route("/staff", get(|| async { Html(include_str!("staff.html")) }))
        .route("/api/config", get(config))
        .route("/api/tap", post(tap))
        .route("/api/photo", post(photo))
        .route("/api/liveness", post(liveness))
        .route("/api/decisions", get(decisions))
        // A body is read only up to the image limit, whatever it claims;
        // one that declares more is refused before any of it is read.
        .layer(DefaultBodyLimit::max(MAX_IMAGE_BYTES))
        .layer(axum::middleware::from_fn(limit_declared_length))
        .layer(axum::middleware::from_fn_with_state(
            kiosk.clone(),
            known_host,
        ))
        .with_state(kiosk)
}

fn error(status: StatusCode, message: &str) -> Response {
    (status, Json(json!({ "error": message }))).into_response()
}

/// The page's answer to a decision: pass or fail, nothing else; an error
/// that decided nothing is said as such (503), never as the member's
/// failure.
fn answer(decided: Result<bool, Error>) -> Response {
    match decided {
        Ok(approved) => Json(json!({
            "result": if approved { "pass" } else { "fail" },
            "staff_desk": !approved,
        }))
        .into_response(),
        Err(Error::Backend(_)) => error(
            StatusCode::SERVICE_UNAVAILABLE,
            "the check could not be made (AWS did not answer as expected): please see the staff desk",
        ),
        // A refusal is the guard's decision: this member may not borrow
        // here (the staff page says why).
        Err(_) => Json(json!({ "result": "fail", "staff_desk": true })).into_response(),
    }
}

async fn tap(State(kiosk): State<Kiosk>, Json(body): Json<Value>) -> Response {
    let card = body["card"].as_str().unwrap_or_default().trim();
    let Some(reference) = kiosk.0.backend.reference(card) else {
        return error(
            StatusCode::NOT_FOUND,
            "unknown card: please see the staff desk",
        );
    };
    let started = match &kiosk.0.liveness {
        // The check starts now, while the member looks at the camera.
        None => Started::Photo(Box::new(kiosk.0.guard.prepare(&reference))),
        Some(liveness) => {
            let kiosk_id = match KioskId::new(body["kiosk"].as_str().unwrap_or("kiosk-1")) {
                Ok(k) => k,
                Err(_) => return error(StatusCode::BAD_REQUEST, "invalid kiosk id"),
            };
            match liveness.start_session(&reference, &kiosk_id).await {
                Ok(session) => Started::Liveness {
                    session: session.id,
                    member: reference,
                    kiosk: kiosk_id,
                },
                Err(e) => return answer(Err(e)),
            }
        }
    };
    let token = uuid::Uuid::new_v4().to_string();
    let reply = match &started {
        Started::Photo(_) => json!({ "token": token, "mode": "photo" }),
        Started::Liveness { session, .. } => json!({
            "token": token,
            "mode": "liveness",
            "session_id": session.as_str(),
            "simulated": matches!(kiosk.0.backend, Backend::Simulated { .. }),
        }),
    };
    let mut pending = kiosk.0.pending.lock().unwrap_or_else(|e| e.into_inner());
    let now = Instant::now();
    pending.retain(|(_, at, _)| now.duration_since(*at) < TAP_LIFETIME);
    if pending.len() >= MAX_PENDING {
        pending.pop_front();
    }
    pending.push_back((token, now, started));
    Json(reply).into_response()
}

/// Takes what the tap with `token` started, if it is still waiting.
fn take(kiosk: &Kiosk, query: Option<&str>) -> Option<Started> {
    let token = query?.split('&').find_map(|kv| kv.strip_prefix("token="))?;
    let mut pending = kiosk.0.pending.lock().unwrap_or_else(|e| e.into_inner());
    let i = pending.iter().position(|(t, _, _)| t == token)?;
    let (_, at, started) = pending.remove(i)?;
    (at.elapsed() < TAP_LIFETIME).then_some(started)
}

fn no_tap() -> Response {
    error(
        StatusCode::NOT_FOUND,
        "no card was tapped for this photo, or the tap expired: tap again",
    )
}

/// The photo, after its token: the body is read only for a tap that is
/// waiting for it.
async fn photo(
    State(kiosk): State<Kiosk>,
    RawQuery(query): RawQuery,
    request: Request,
) -> Response {
    let Some(started) = take(&kiosk, query.as_deref()) else {
        return no_tap();
    };
    let Started::Photo(prepared) = started else {
        return error(
            StatusCode::CONFLICT,
            "this kiosk checks liveness: the photo is taken by the liveness check",
        );
    };
    let body = match axum::body::to_bytes(request.into_body(), MAX_IMAGE_BYTES).await {
        Ok(body) => body,
        Err(_) => {
            return error(
                StatusCode::PAYLOAD_TOO_LARGE,
                "the photo is larger than Rekognition's 5 MiB limit",
            )
        }
    };
    let live = match FaceImage::from_vec(body.to_vec()) {
        Ok(live) => live,
        Err(_) => {
            return error(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "the photo must be a JPEG or PNG image",
            )
        }
    };
    if let Backend::Simulated { aws, face, .. } = &kiosk.0.backend {
        // The simulation cannot see faces: this frame shows `face`.
        aws.register_image(live.expose_bytes(), face);
    }
    answer(prepared.compare(live).await.map(|d| d.is_approved()))
}

/// Verifies the liveness session the tap started. Simulated, the session
/// is first finished as a live person showing the demo face (what AWS's
/// `FaceLivenessDetector` and Rekognition do for real).
async fn liveness(State(kiosk): State<Kiosk>, RawQuery(query): RawQuery) -> Response {
    let Some(started) = take(&kiosk, query.as_deref()) else {
        return no_tap();
    };
    let (
        Started::Liveness {
            session,
            member,
            kiosk: at,
        },
        Some(liveness),
    ) = (started, &kiosk.0.liveness)
    else {
        return error(StatusCode::CONFLICT, "this tap started no liveness session");
    };
    if let Backend::Simulated { aws, face, .. } = &kiosk.0.backend {
        aws.finish_liveness(&session, SimulatedLiveness::live(99.2, face));
    }
    match liveness.verify_session(&session, &member, &at).await {
        Ok(d) if matches!(d.verdict, LivenessVerdict::NotFinished(_)) => error(
            StatusCode::CONFLICT,
            "the liveness check has not finished: it needs AWS's FaceLivenessDetector in this page",
        ),
        decided => answer(decided.map(|d| d.is_approved())),
    }
}

/// What the kiosk page may know: the backend's label and the mode.
async fn config(State(kiosk): State<Kiosk>) -> Response {
    Json(json!({
        "backend": kiosk.0.backend.label(),
        "liveness": kiosk.0.liveness.is_some(),
    }))
    .into_response()
}

async fn decisions(State(kiosk): State<Kiosk>) -> Response {
    Json(json!({
        "backend": kiosk.0.backend.label(),
        "decisions": kiosk.0.decisions.recent(),
    }))
    .into_response()
}

/// Answers only requests addressed to this server by a name it listens
/// under: a page from elsewhere that renamed its host to this address (DNS
/// rebinding) gets nothing.
async fn known_host(
    State(kiosk): State<Kiosk>,
    request: Request,
    next: axum::middleware::Next,
) -> Response {
    let host = request
        .headers()
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if !kiosk.0.hosts.iter().any(|h| h == host) {
        return error(StatusCode::MISDIRECTED_REQUEST, "unknown host");
    }
    next.run(request).await
}

/// Refuses a body whose `Content-Length` is over the image limit before
/// any of it is read.
pub async fn limit_declared_length(request: Request, next: axum::middleware::Next) -> Response {
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > MAX_IMAGE_BYTES as u64) {
        return error(
            StatusCode::PAYLOAD_TOO_LARGE,
            "the photo is larger than Rekognition's 5 MiB limit",
        );
    }
    next.run(request).await
}
