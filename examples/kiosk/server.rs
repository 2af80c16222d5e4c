//! The HTTP side: one guard for every request, the pages, and the four
//! JSON endpoints.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, RawQuery, State};
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use rekognition_guard::memory::InMemoryBackend;
use rekognition_guard::{FaceImage, Guard, PreparedComparison, S3ObjectRef, MAX_IMAGE_BYTES};
use serde_json::{json, Value};

use crate::audit::Decisions;

/// Where members' photos are.
pub enum Backend {
    /// The in-memory AWS; every camera frame shows `face`.
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

/// What every request shares.
#[derive(Clone)]
pub struct Kiosk(Arc<Inner>);

struct Inner {
    guard: Guard,
    backend: Backend,
    decisions: Decisions,
    /// Checks started at a tap, by one-use token, oldest first.
    pending: Mutex<VecDeque<(String, PreparedComparison)>>,
}

impl Kiosk {
    pub fn new(guard: Guard, backend: Backend, decisions: Decisions) -> Self {
        Self(Arc::new(Inner {
            guard,
            backend,
            decisions,
            pending: Mutex::default(),
        }))
    }
}

/// The most taps waiting for a photo at once; the oldest are dropped.
const MAX_PENDING: usize = 256;

pub fn app(kiosk: Kiosk) -> Router {
    Router::new()
        .route("/", get(|| async { Html(include_str!("kiosk.html")) }))
        .route("/staff", get(|| async { Html(include_str!("staff.html")) }))
        .route("/api/tap", post(tap))
        .route("/api/photo", post(photo))
        .route("/api/decisions", get(decisions))
        .route("/api/config", get(config))
        // A body is read only up to the image limit, whatever it claims;
        // one that declares more is refused before any of it is read.
        .layer(DefaultBodyLimit::max(MAX_IMAGE_BYTES))
        .layer(axum::middleware::from_fn(limit_declared_length))
        .with_state(kiosk)
}

fn error(status: StatusCode, message: &str) -> Response {
    (status, Json(json!({ "error": message }))).into_response()
}

async fn tap(State(kiosk): State<Kiosk>, Json(body): Json<Value>) -> Response {
    let card = body["card"].as_str().unwrap_or_default().trim();
    let Some(reference) = kiosk.0.backend.reference(card) else {
        return error(
            StatusCode::NOT_FOUND,
            "unknown card: please see the staff desk",
        );
    };
    // The check starts now, while the member looks at the camera.
    let prepared = kiosk.0.guard.prepare(&reference);
    let token = uuid::Uuid::new_v4().to_string();
    let mut pending = kiosk.0.pending.lock().unwrap_or_else(|e| e.into_inner());
    if pending.len() >= MAX_PENDING {
        pending.pop_front();
    }
    pending.push_back((token.clone(), prepared));
    Json(json!({ "token": token })).into_response()
}

async fn photo(State(kiosk): State<Kiosk>, RawQuery(query): RawQuery, body: Bytes) -> Response {
    let prepared = {
        let token = token_of(query.as_deref()).unwrap_or_default();
        let mut pending = kiosk.0.pending.lock().unwrap_or_else(|e| e.into_inner());
        pending
            .iter()
            .position(|(t, _)| t == token)
            .and_then(|i| pending.remove(i))
            .map(|(_, p)| p)
    };
    let Some(prepared) = prepared else {
        return error(
            StatusCode::NOT_FOUND,
            "no card was tapped for this photo: tap again",
        );
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
    let approved = matches!(prepared.compare(live).await, Ok(d) if d.is_approved());
    Json(json!({
        "result": if approved { "pass" } else { "fail" },
        "staff_desk": !approved,
    }))
    .into_response()
}

/// The `token` of a query string (a UUID: no escaping to undo).
fn token_of(query: Option<&str>) -> Option<&str> {
    query?.split('&').find_map(|kv| kv.strip_prefix("token="))
}

/// What the kiosk page may know: the backend's label, nothing else.
async fn config(State(kiosk): State<Kiosk>) -> Response {
    Json(json!({ "backend": kiosk.0.backend.label() })).into_response()
}

async fn decisions(State(kiosk): State<Kiosk>) -> Response {
    Json(json!({
        "backend": kiosk.0.backend.label(),
        "decisions": kiosk.0.decisions.recent(),
    }))
    .into_response()
}

/// Refuses a body whose `Content-Length` is over the image limit before
/// any of it is read.
pub async fn limit_declared_length(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
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
