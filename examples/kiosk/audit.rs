//! The staff page's source: the guard's audit events (target
//! `rekognition_guard::audit`), kept as they were recorded, the last 500.
//! Nothing else is read: the page shows what the audit log would hold.

use std::collections::VecDeque;
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use tracing::field::{Field, Visit};
use tracing_subscriber::layer::Context;

const KEPT: usize = 500;

/// Recent comparison decisions, as their audit events recorded them.
#[derive(Clone, Default)]
pub struct Decisions(Arc<Mutex<VecDeque<Value>>>);

impl Decisions {
    /// The decisions kept, newest first.
    pub fn recent(&self) -> Vec<Value> {
        let kept = self.0.lock().unwrap_or_else(|e| e.into_inner());
        kept.iter().rev().cloned().collect()
    }
}

#[derive(Default)]
struct Fields(Vec<(&'static str, String)>);

impl Fields {
    fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }
}

impl Visit for Fields {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.push((field.name(), value.to_owned()));
    }
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.0.push((field.name(), format!("{value:?}")));
    }
}

/// The member's reference as a digest: the first 16 hexadecimal digits of
/// the SHA-256 of a salt drawn at start and `s3://bucket/key` (no
/// version), so the page never shows a key that may spell a name, and
/// card numbers cannot be tried against it.
fn member_digest(source: &str) -> String {
    static SALT: std::sync::LazyLock<[u8; 16]> =
        std::sync::LazyLock::new(|| *uuid::Uuid::new_v4().as_bytes());
    let reference = source.split([' ', '?']).next().unwrap_or_default();
    let mut hasher = Sha256::new();
    hasher.update(*SALT);
    hasher.update(reference.as_bytes());
    hex16(hasher.finalize().as_slice())
}

fn hex16(bytes: &[u8]) -> String {
    bytes.iter().take(8).map(|b| format!("{b:02x}")).collect()
}

/// `reasons` with every `s3://bucket/key…` replaced by its digest, as the
/// member column shows it.
fn without_keys(reasons: &str) -> String {
    reasons
        .split(' ')
        .map(|word| match word.strip_prefix("s3://") {
            Some(_) => format!("[photo {}]", member_digest(word)),
            None => word.to_owned(),
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// The cache age the audit event states for the reference: seconds, or
/// `null` when HeadObject was sent for the decision.
fn cache_age(source: &str) -> Value {
    source
        .split("cached check, ")
        .nth(1)
        .and_then(|rest| rest.split(" s old").next())
        .and_then(|s| s.parse::<f64>().ok())
        .map_or(Value::Null, |s| json!(s))
}

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for Decisions {
    fn on_event(&self, event: &tracing::Event<'_>, _: Context<'_, S>) {
        if event.metadata().target() != rekognition_guard::AUDIT_TARGET {
            return;
        }
        let mut fields = Fields::default();
        event.record(&mut fields);
        let message = fields.get("message").unwrap_or_default();
        // Comparisons, and Face Liveness verifications (which compare too).
        let liveness = message.starts_with("face liveness verified")
            || message.starts_with("face liveness not verified");
        if !message.starts_with("face comparison") && !liveness {
            return;
        }
        let source = fields.get("source").unwrap_or_default();
        let member = fields.get("member").unwrap_or(source);
        let time_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64);
        let record = json!({
            "time_unix_ms": time_ms,
            "member": member_digest(member),
            "check": if liveness { "liveness" } else { "photo" },
            "outcome": fields.get("decision"),
            "reasons": fields.get("reasons").map(without_keys),
            "cache_age_s": cache_age(source),
        });
        let mut kept = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if kept.len() == KEPT {
            kept.pop_front();
        }
        kept.push_back(record);
    }
}
