//! Erasure by the photo store: every version and delete marker of one
//! key, confirmed by listing again. The rules are in [`crate::erasure`].

use std::collections::{BTreeSet, HashMap};
use std::time::SystemTime;

use super::path::backend_error;
use super::PhotoStore;
use crate::backend::{BackendError, BackendErrorKind};
use crate::backend::{
    DeleteObjectVersionRequest, GetBucketVersioningRequest, ListObjectVersionsRequest, S3Backend,
    VersioningFacts,
};
use crate::erasure::{
    BlockReason, EraseOptions, ErasedVersion, ErasureReceipt, MemberRecord, RemainingVersion,
    RetentionPolicy, StoredVersion, SweepSummary,
};
use crate::error::Error;
use crate::input::{has_dot_segment, InputError, S3ObjectRef, Service};
use crate::liveness::LivenessPolicy;
use crate::refusal::Operation;
use crate::text::Quoted;
use crate::text::AUDIT_TARGET;

impl PhotoStore {
    /// Erases **every version and delete marker of exactly `object`'s
    /// key** (S3's `null` version included), by version id, then lists
    /// again to confirm nothing remains. Keys that merely share the prefix
    /// (`members/ada.jpg.bak` for `members/ada.jpg`) are never touched.
    ///
    /// Every S3 request goes over HTTPS (checked on the wire); `ExpectedBucketOwner` is sent
    /// when the policy sets one; the verification cache forgets the key.
    /// A version that cannot be deleted (Object Lock retention or legal
    /// hold, MFA delete, a missing permission) stays in
    /// [`ErasureReceipt::remaining`] with the reason and what would
    /// unblock it: never silently. One audit event per erasure.
    ///
    /// # Errors
    /// [`Error::Input`] when `object` names a version (erasure takes the
    /// whole key);
    /// [`Error::Refused`] for an insecure endpoint (nothing listed or
    /// deleted); [`Error::Backend`] when listing failed (nothing is known,
    /// so nothing is claimed).
    pub async fn erase(
        &self,
        object: &S3ObjectRef,
        options: EraseOptions,
    ) -> Result<ErasureReceipt, Error> {
        let result = self.erase_inner(object, options).await;
        match &result {
            Ok(r) => {
                let erased: Vec<&str> = r.erased.iter().map(|e| e.version_id.as_str()).collect();
                let remaining: Vec<String> = r
                    .remaining
                    .iter()
                    .map(|v| format!("{} ({})", v.version_id, v.reason.label()))
                    .collect();
                tracing::info!(
                    target: AUDIT_TARGET,
                    decision = if r.dry_run {
                        "dry_run"
                    } else if r.is_complete() {
                        "erased"
                    } else {
                        "incomplete"
                    },
                    object = %object,
                    erased = ?erased,
                    remaining = ?remaining,
                    "object erasure"
                );
            }
            Err(e) => tracing::warn!(
                target: AUDIT_TARGET,
                decision = if e.as_refusal().is_some() { "refused" } else { "error" },
                object = %object,
                reasons = %e,
                "object erasure not performed"
            ),
        }
        result
    }

    async fn erase_inner(
        &self,
        object: &S3ObjectRef,
        options: EraseOptions,
    ) -> Result<ErasureReceipt, Error> {
        const OP: Operation = Operation::Erase;
        if object.version_id().is_some() {
            return Err(InputError::InvalidS3Reference {
                input: object.to_string(),
                reason:
                    "erasure removes every version of a key; give the reference without ?versionId="
                        .into(),
            }
            .into());
        }
        // Whatever happens next, no pass of this key may outlive it.
        self.forget_check(object);
        let result = erase_key(
            self.s3.as_ref(),
            object,
            options,
            self.policy.expected_bucket_owner().cloned(),
        )
        .await;
        self.forget_check(object);
        result.map_err(|e| backend_error(OP, e))
    }

    /// Erases the output images of `member`'s Face Liveness sessions under
    /// `liveness` (its output bucket and prefix): every key under the
    /// member's output prefix, at every kiosk
    /// ([`LivenessPolicy::member_prefix`](crate::liveness::LivenessPolicy::member_prefix)),
    /// each as [`erase`](Self::erase) erases a key. One receipt per key.
    ///
    /// # Errors
    /// As [`erase`](Self::erase); [`Error::Backend`] when the listing names a key outside the
    /// member's prefix or with a `.` or `..` segment (nothing erased).
    pub async fn erase_liveness_artifacts(
        &self,
        member: &S3ObjectRef,
        liveness: &LivenessPolicy,
        options: EraseOptions,
    ) -> Result<Vec<ErasureReceipt>, Error> {
        const OP: Operation = Operation::Erase;
        let bucket = liveness.output_bucket();
        let prefix = liveness.member_prefix(member);
        let listed = self
            .s3
            .list_object_versions(&ListObjectVersionsRequest::new(
                bucket,
                &prefix,
                self.policy.expected_bucket_owner().cloned(),
            ))
            .await
            .map_err(|e| backend_error(OP, e))?;
        let keys: BTreeSet<String> = listed.into_iter().map(|v| v.key).collect();
        // Only keys under the member's prefix, as asked, are erased: a
        // listing that strays (or names a key a path-style endpoint would
        // resolve elsewhere) is not evidence of what to delete.
        if let Some(stray) = keys
            .iter()
            .find(|k| !k.starts_with(&prefix) || has_dot_segment(k))
        {
            return Err(Error::Backend(BackendError::new(
                BackendErrorKind::InvalidResponse,
                Service::S3,
                "ListObjectVersions",
                format!(
                    "the listing of prefix {} in bucket {bucket} named key {}, which is not a plain key under that prefix; nothing was erased",
                    Quoted(&prefix),
                    Quoted(stray)
                ),
            )));
        }
        // Every key named first, so none is erased when one cannot be.
        let objects = keys
            .iter()
            .map(|key| S3ObjectRef::new(bucket, key))
            .collect::<Result<Vec<_>, _>>()?;
        let mut receipts = Vec::with_capacity(objects.len());
        for object in objects {
            receipts.push(self.erase(&object, options).await?);
        }
        Ok(receipts)
    }

    /// Erases the photo of every member in `records` whose last
    /// interaction is older than `policy` allows, as [`erase`](Self::erase)
    /// does, one after another; with [`EraseOptions::dry_run`], only
    /// reports what would be erased. An error erasing one member is
    /// recorded and the sweep goes on.
    ///
    /// Records are counted per distinct photo (bucket and key): a photo
    /// listed twice is one member, due only when its **latest** last
    /// interaction is older than the policy allows, and erased once.
    ///
    /// `as_of` is the instant the sweep judges ages against: usually
    /// `SystemTime::now()`; one fixed instant for sweeps (or tests) that
    /// must agree on it.
    pub async fn sweep_retention(
        &self,
        records: impl IntoIterator<Item = MemberRecord>,
        policy: &RetentionPolicy,
        options: EraseOptions,
        as_of: SystemTime,
    ) -> SweepSummary {
        let mut summary = SweepSummary::new(options.is_dry_run());
        // One entry per photo, in the order first seen, with its latest
        // last interaction.
        let mut photos: Vec<MemberRecord> = Vec::new();
        let mut at: HashMap<(String, String), usize> = HashMap::new();
        for record in records {
            let id = (
                record.reference.bucket().to_owned(),
                record.reference.key().to_owned(),
            );
            match at.get(&id) {
                Some(&i) => {
                    let kept = &mut photos[i];
                    kept.last_interaction = kept.last_interaction.max(record.last_interaction);
                }
                None => {
                    at.insert(id, photos.len());
                    photos.push(record);
                }
            }
        }
        for record in photos {
            summary.examined += 1;
            if !policy.is_due(&record, as_of) {
                continue;
            }
            // The key, whatever version the record pins.
            let key = S3ObjectRef::new(record.reference.bucket(), record.reference.key());
            let result = match key {
                Ok(key) => self.erase(&key, options).await,
                Err(e) => Err(e.into()),
            };
            match result {
                Ok(receipt) => summary.receipts.push(receipt),
                Err(e) => summary.failed.push((record.reference, e)),
            }
        }
        let summary = summary.finish();
        tracing::info!(
            target: AUDIT_TARGET,
            dry_run = summary.dry_run,
            examined = summary.examined,
            due = summary.due,
            complete = summary.complete,
            would_erase = summary.would_erase,
            failed = summary.failed.len(),
            "retention sweep"
        );
        summary
    }
}

/// The exact key's versions and delete markers among `listed`.
fn exactly(listed: Vec<StoredVersion>, key: &str) -> Vec<StoredVersion> {
    listed.into_iter().filter(|v| v.key == key).collect()
}

async fn erase_key(
    s3: &dyn S3Backend,
    object: &S3ObjectRef,
    options: EraseOptions,
    owner: Option<crate::input::AccountId>,
) -> Result<ErasureReceipt, crate::backend::BackendError> {
    let list = ListObjectVersionsRequest::new(object.bucket(), object.key(), owner.clone());
    let found = exactly(s3.list_object_versions(&list).await?, object.key());
    // With MFA Delete on, S3 deletes no version without the owner's MFA
    // code: read once, so the receipt can say so instead of guessing.
    let versioning = if found.is_empty() {
        None
    } else {
        match s3
            .get_bucket_versioning(&GetBucketVersioningRequest::new(
                object.bucket(),
                owner.clone(),
            ))
            .await
        {
            Err(e) if e.insecure_endpoint().is_some() => return Err(e),
            read => Some(read),
        }
    };
    let mfa_delete = versioning
        .as_ref()
        .and_then(|v| v.as_ref().ok())
        .map(VersioningFacts::mfa_delete_enabled);
    let receipt = |erased, remaining, unconfirmed| ErasureReceipt {
        bucket: object.bucket().to_owned(),
        key: object.key().to_owned(),
        erased,
        remaining,
        dry_run: options.is_dry_run(),
        finished_at: SystemTime::now(),
        unconfirmed,
        mfa_delete_enabled: mfa_delete,
    };
    if options.is_dry_run() {
        let remaining = found
            .into_iter()
            .map(|v| RemainingVersion {
                version_id: v.version_id,
                delete_marker: v.delete_marker,
                reason: BlockReason::DryRun,
            })
            .collect();
        return Ok(receipt(Vec::new(), remaining, None));
    }

    let mut erased = Vec::new();
    let mut remaining = Vec::new();
    for version in &found {
        let request = DeleteObjectVersionRequest::new(
            object.bucket(),
            object.key(),
            &version.version_id,
            options.bypasses_governance_retention(),
            owner.clone(),
        );
        match s3.delete_object_version(&request).await {
            Ok(()) => erased.push(ErasedVersion {
                version_id: version.version_id.clone(),
                delete_marker: version.delete_marker,
            }),
            Err(e) if e.insecure_endpoint().is_some() => return Err(e),
            Err(e) => remaining.push(RemainingVersion {
                version_id: version.version_id.clone(),
                delete_marker: version.delete_marker,
                reason: block_reason(s3, &request, version.delete_marker, &e, versioning.as_ref())
                    .await,
            }),
        }
    }

    // Confirm: list again. What was deleted must be gone; anything new
    // was written meanwhile. When the listing fails, what was deleted is
    // still said (S3 confirmed each deletion), and nothing is claimed
    // about the rest.
    let after = match s3.list_object_versions(&list).await {
        Ok(listed) => exactly(listed, object.key()),
        Err(e) if e.insecure_endpoint().is_some() => return Err(e),
        Err(e) => return Ok(receipt(erased, remaining, Some(e.to_string()))),
    };
    for v in after {
        let known = remaining.iter().any(|r| r.version_id == v.version_id);
        if known {
            continue;
        }
        let was_erased = erased.iter().position(|e| e.version_id == v.version_id);
        let reason = match was_erased {
            Some(at) => {
                erased.remove(at);
                BlockReason::StillListed
            }
            None => BlockReason::AppearedDuringErasure,
        };
        remaining.push(RemainingVersion {
            version_id: v.version_id,
            delete_marker: v.delete_marker,
            reason,
        });
    }
    Ok(receipt(erased, remaining, None))
}

/// Why a deletion failed: what Object Lock holds, if anything, else MFA
/// Delete when the bucket has it on and S3 denied the deletion, else S3's
/// words (saying when MFA Delete could not be read). Never a guess.
async fn block_reason(
    s3: &dyn S3Backend,
    request: &DeleteObjectVersionRequest,
    delete_marker: bool,
    error: &crate::backend::BackendError,
    versioning: Option<&Result<VersioningFacts, crate::backend::BackendError>>,
) -> BlockReason {
    // Delete markers carry no Object Lock settings.
    if !delete_marker {
        if let Ok(lock) = s3.object_lock(request).await {
            if lock.legal_hold {
                return BlockReason::LegalHold;
            }
            if let Some((mode, retain_until)) = lock.retention {
                let expired = retain_until.is_some_and(|t| t <= SystemTime::now());
                if !expired {
                    return BlockReason::Retention { mode, retain_until };
                }
            }
        }
    }
    let mut message = error.to_string();
    match versioning {
        Some(Ok(v)) if v.mfa_delete_enabled() && error.kind() == BackendErrorKind::AccessDenied => {
            return BlockReason::MfaDelete { message };
        }
        Some(Err(e)) => message.push_str(&format!(
            "; whether the bucket has MFA Delete could not be read ({e}{})",
            if e.kind() == BackendErrorKind::AccessDenied {
                "; grant s3:GetBucketVersioning to know"
            } else {
                ""
            }
        )),
        _ => {}
    }
    BlockReason::Refused {
        kind: error.kind(),
        message,
    }
}
