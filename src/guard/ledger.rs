//! Decisions into the ledger ([`crate::ledger`]): with a ledger on the
//! guard, a decision is returned only once its record is durable (written
//! with `If-None-Match: *`), its protection checked before the next
//! append ([`Ledger::append`]); a ledger that cannot be written is an
//! error and approves nothing.

use serde_json::{json, Value};

use super::audit::InputLabel;
use super::Guard;
use crate::collection::Identification;
use crate::decision::Decision;
use crate::error::Error;
use crate::ledger::{Ledger, LedgerEntry, LedgerReceipt};
use crate::liveness::LivenessDecision;
use crate::text::AUDIT_TARGET;

impl Guard {
    /// The same guard recording every decision it makes (comparisons,
    /// Face Liveness verifications, collection searches) in `ledger`
    /// before returning it: a decision comes back with its
    /// [`LedgerReceipt`]
    /// ([`Decision::ledger`](crate::Decision::ledger)) once its record is
    /// durable, and one whose record cannot be written (or whose previous
    /// record failed its check) comes back as that error instead: nothing
    /// is approved. A record's own check (encryption, retention, the key's
    /// only version) finishes before the next append
    /// ([`Ledger::append`]; [`Ledger::confirm`] waits for it).
    ///
    /// Set it before making [`FaceLiveness`](crate::FaceLiveness) from
    /// the guard ([`Guard::liveness`]) or cloning it: those keep the guard
    /// as it was. A refusal or an error is recorded too; when
    /// its record fails, the refusal or error is returned and the failure
    /// logged (an audit event `not_recorded`).
    ///
    /// Cost: one round trip after each decision (`PutObject`) when the
    /// ledger's policy sets a retention, the record's check running
    /// meanwhile and gating the next append; two with the bucket's default
    /// retention ([`Ledger::append`]).
    #[must_use]
    pub fn with_ledger(mut self, ledger: Ledger) -> Self {
        self.ledger = Some(ledger);
        self
    }

    /// The ledger, if decisions are recorded.
    pub fn ledger(&self) -> Option<&Ledger> {
        self.ledger.as_ref()
    }

    /// `result` after `event` was recorded: with its receipt attached, or
    /// the ledger's error in place of a decision.
    pub(super) async fn recorded<T>(
        &self,
        result: Result<T, Error>,
        event: Value,
        attach: impl FnOnce(&mut T, LedgerReceipt),
    ) -> Result<T, Error> {
        let Some(ledger) = &self.ledger else {
            return result;
        };
        match ledger.append(LedgerEntry::Decision, event).await {
            Ok(receipt) => result.map(|mut decided| {
                attach(&mut decided, receipt);
                decided
            }),
            Err(e) => {
                tracing::warn!(
                    target: AUDIT_TARGET,
                    decision = "not_recorded",
                    reasons = %e,
                    "ledger record not written: nothing is approved"
                );
                match result {
                    Ok(_) => Err(e),
                    Err(original) => Err(original),
                }
            }
        }
    }
}

/// What a failure records: its kind and the log-safe message.
fn failure(e: &Error) -> Value {
    json!({
        "decision": match e {
            Error::Refused(_) => "refused",
            _ => "error",
        },
        "reasons": e.to_string(),
    })
}

fn merge(mut base: Value, extra: Value) -> Value {
    if let (Some(base), Value::Object(extra)) = (base.as_object_mut(), extra) {
        base.extend(extra);
    }
    base
}

/// A comparison's record: what the audit event holds.
pub(super) fn compare_event(
    result: &Result<Decision, Error>,
    labels: &(InputLabel, InputLabel),
) -> Value {
    let base = json!({ "operation": "CompareFaces" });
    match result {
        Ok(d) => merge(
            base,
            json!({
                "decision": d.verdict.label(),
                "source": d.source.to_string(),
                "target": d.target.to_string(),
                "similarity": d.verdict.similarity(),
                "threshold": d.threshold.get(),
                "opt_out": d.opt_out.kind(),
            }),
        ),
        Err(e) => merge(
            merge(
                base,
                json!({ "source": labels.0.to_string(), "target": labels.1.to_string() }),
            ),
            failure(e),
        ),
    }
}

/// A Face Liveness verification's record.
pub(crate) fn liveness_event(
    result: &Result<LivenessDecision, Error>,
    session_id: &crate::liveness::LivenessSessionId,
    member: &crate::input::S3ObjectRef,
    kiosk: &crate::liveness::KioskId,
) -> Value {
    let base = json!({
        "operation": "VerifyFaceLiveness",
        "session_id": session_id.to_string(),
        "member": member.to_string(),
        "kiosk": kiosk.as_str(),
    });
    match result {
        Ok(d) => merge(
            base,
            json!({
                "decision": d.verdict.label(),
                "status": d.status.to_string(),
                "confidence": d.confidence,
                "source": d.source.as_ref().map(ToString::to_string),
                "target": d.target.as_ref().map(ToString::to_string),
                "similarity": d.similarity(),
                "threshold": d.threshold.get(),
                "opt_out": d.opt_out.kind(),
            }),
        ),
        Err(e) => merge(base, failure(e)),
    }
}

/// A collection search's record.
pub(crate) fn search_event(
    result: Result<&Identification, &Error>,
    collection: &crate::collection::CollectionId,
) -> Value {
    let base = json!({ "operation": "SearchUsersByImage", "collection": collection.as_str() });
    match result {
        Ok(found) => {
            let (member, similarity) = match &found.verdict {
                crate::collection::IdentificationVerdict::Identified { member, similarity } => {
                    (Some(member.as_str()), Some(*similarity))
                }
                _ => (None, None),
            };
            merge(
                base,
                json!({
                    "decision": found.verdict.label(),
                    "member": member,
                    "similarity": similarity,
                    "threshold": found.threshold.get(),
                    "target": found.target.to_string(),
                    "liveness_session": found.liveness_session.as_ref().map(ToString::to_string),
                    "opt_out": found.opt_out.kind(),
                    "face_vectors": found.face_vectors,
                }),
            )
        }
        Err(e) => merge(base, failure(e)),
    }
}
