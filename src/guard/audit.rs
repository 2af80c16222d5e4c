//! Audit events: one `tracing` event per guarded operation, never image
//! bytes.

use std::fmt;

use super::Guard;
use crate::at_rest::VerifiedS3Object;
use crate::decision::Decision;
use crate::error::Error;
use crate::input::{ImageFormat, ImageInput, S3ObjectRef};
use crate::quality::FaceAssessment;
use crate::text::AUDIT_TARGET;

/// An input, for the audit event: the S3 reference, or the bytes' format
/// and size.
pub(super) enum InputLabel {
    S3(S3ObjectRef),
    Bytes { format: ImageFormat, len: usize },
}

impl InputLabel {
    pub(super) fn of(input: &ImageInput) -> Self {
        match input {
            ImageInput::S3(r) => InputLabel::S3(r.clone()),
            ImageInput::Bytes(b) => InputLabel::Bytes {
                format: b.format(),
                len: b.len(),
            },
        }
    }
}

impl fmt::Display for InputLabel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InputLabel::S3(r) => r.fmt(f),
            InputLabel::Bytes { format, len } => write!(f, "image bytes ({format}, {len} bytes)"),
        }
    }
}

/// `refused` for a policy refusal, `rejected` for a photo the quality gate
/// rejected, `error` for anything else.
fn failure(e: &Error) -> &'static str {
    match e {
        Error::Refused(_) => "refused",
        Error::PhotoRejected(_) => "rejected",
        _ => "error",
    }
}

impl Guard {
    pub(super) fn audit_compare(
        &self,
        result: &Result<Decision, Error>,
        labels: (InputLabel, InputLabel),
    ) {
        match result {
            Ok(d) => tracing::info!(
                target: AUDIT_TARGET,
                decision = d.verdict.label(),
                source = %d.source,
                target = %d.target,
                similarity = d.verdict.similarity().map(tracing::field::display),
                threshold = %d.threshold,
                opt_out = d.opt_out.kind(),
                opt_out_account = d.opt_out.account().map(tracing::field::display),
                opt_out_detail = %d.opt_out,
                "face comparison decided"
            ),
            Err(e) => tracing::warn!(
                target: AUDIT_TARGET,
                decision = failure(e),
                source = %labels.0,
                target = %labels.1,
                threshold = %self.policy().similarity_threshold(),
                opt_out = self.opt_out.kind(),
                reasons = %e,
                "face comparison not performed"
            ),
        }
    }

    pub(super) fn audit_enroll(
        &self,
        result: &Result<VerifiedS3Object, Error>,
        object: &S3ObjectRef,
        consent: &crate::consent::RecordedConsent,
    ) {
        match result {
            Ok(v) => tracing::info!(
                target: AUDIT_TARGET,
                decision = "enrolled",
                object = %v,
                member = %consent.member(),
                consent = %consent.record(),
                opt_out = self.opt_out.kind(),
                "reference photo enrolled"
            ),
            Err(e) => tracing::warn!(
                target: AUDIT_TARGET,
                decision = failure(e),
                object = %object,
                member = %consent.member(),
                consent = %consent.record(),
                reasons = %e,
                "reference photo not enrolled"
            ),
        }
    }

    pub(super) fn audit_assess(&self, result: &Result<FaceAssessment, Error>, label: InputLabel) {
        match result {
            Ok(a) => tracing::info!(
                target: AUDIT_TARGET,
                decision = if a.is_acceptable() { "acceptable" } else { "rejected" },
                image = %label,
                issues = %a,
                opt_out = self.opt_out.kind(),
                "face assessed"
            ),
            Err(e) => tracing::warn!(
                target: AUDIT_TARGET,
                decision = failure(e),
                image = %label,
                reasons = %e,
                "face not assessed"
            ),
        }
    }
}
