//! The fleet audit on the guarded path: an S3 Inventory report read over
//! HTTPS, every version classified, KMS keys checked at bounded
//! concurrency, remediation streamed out. The rules are in
//! [`crate::inventory`].

use tokio::task::{JoinError, JoinSet};

use super::path::backend_error;
use super::PhotoStore;
use crate::at_rest::SseAlgorithm;
use crate::backend::{
    BackendError, BackendErrorKind, GetBucketVersioningRequest, GetObjectRequest,
    HeadObjectRequest, ReencryptRequest, S3Backend,
};
use crate::error::{ConfigError, Error};
use crate::input::{has_dot_segment, InputError, KmsKeyArn, S3ObjectRef, Service, NULL_VERSION_ID};
use crate::inventory::reader::{Inflater, RowParser, INFLATE_STEP};
use crate::inventory::{
    BucketKeyStatus, EncryptionStatus, InventoryAuditOptions, InventoryError, InventoryManifest,
    InventoryProgress, InventoryReport, Reencrypted, Remediation, RemediationSink,
    PROGRESS_EVERY_ROWS,
};
use crate::refusal::Operation;
use crate::text::AUDIT_TARGET;

const OP: Operation = Operation::AuditInventory;

/// The largest `manifest.json` (or `manifest.checksum`) read: a manifest
/// lists about 200 bytes per data file.
const MAX_MANIFEST_BYTES: usize = 16 * 1024 * 1024;

/// Compressed bytes parsed between starts of key checks.
const KEY_CHECK_SLICE: usize = 1024;

/// How often (in keys) progress is reported while the last key checks
/// finish.
const PROGRESS_EVERY_KEYS: u64 = 1_000;

/// Chunks (and inflated blocks) in flight between the reading side and
/// the inflater.
const PIPELINE_DEPTH: usize = 4;

/// What the inflater hands the reading side.
enum Inflated {
    Block(Vec<u8>),
    /// Size and MD5 matched, and the gzip stream ended.
    Done,
    Failed(InventoryError),
}

/// The inflater (or the reading side) ended without a word: it
/// panicked, or was cancelled.
fn stopped(file: &S3ObjectRef) -> InventoryError {
    InventoryError::InvalidData {
        file: file.clone(),
        row: 0,
        reason: "the inflating thread stopped before the end of the file".to_owned(),
    }
}

/// Versions per status, counted in arrays (a map lookup per row costs
/// more than the row's classification), turned into the report's maps at
/// the end.
#[derive(Default)]
struct Tally {
    statuses: [(u64, Option<EncryptionStatus>); 6],
    bucket_keys: [(u64, Option<BucketKeyStatus>); 3],
}

impl Tally {
    fn count(&mut self, status: EncryptionStatus, bucket_key: Option<BucketKeyStatus>) {
        let at = match status {
            EncryptionStatus::SseS3 => 0,
            EncryptionStatus::SseKms => 1,
            EncryptionStatus::DsseKms => 2,
            EncryptionStatus::SseC => 3,
            EncryptionStatus::NotSse => 4,
            _ => 5,
        };
        self.statuses[at] = (self.statuses[at].0 + 1, Some(status));
        if let Some(key) = bucket_key {
            let at = match key {
                BucketKeyStatus::Enabled => 0,
                BucketKeyStatus::Disabled => 1,
                _ => 2,
            };
            self.bucket_keys[at] = (self.bucket_keys[at].0 + 1, Some(key));
        }
    }

    fn into_report(self, report: &mut InventoryReport) {
        for (n, status) in self.statuses {
            if let Some(status) = status {
                report.counts.insert(status.as_str(), n);
            }
        }
        for (n, key) in self.bucket_keys {
            if let Some(key) = key {
                report.bucket_key_counts.insert(key.as_str(), n);
            }
        }
    }
}

/// A version whose KMS key is to be checked with HeadObject.
struct KeyCheck {
    bucket: String,
    key: String,
    version_id: Option<String>,
    current: bool,
}

/// What a key check found.
enum KeyOutcome {
    Allowed,
    /// Outside the allowlist (or no longer KMS): fixed this way.
    NotAllowed(Remediation),
    /// Client-side ciphertext (the S3 Encryption Client's envelope).
    ClientSide,
    /// The version no longer exists.
    Gone,
    /// Could not be checked: never compliant.
    Unchecked,
}

impl PhotoStore {
    /// Audits at-rest compliance of every object version an S3 Inventory
    /// report lists: `manifest` is the report's `manifest.json`
    /// (`s3://DESTINATION/PREFIX/SOURCE-BUCKET/CONFIG-ID/YYYY-MM-DDTHH-MMZ/manifest.json`).
    ///
    /// Reads `manifest.checksum` and `manifest.json` (checked against each
    /// other), then streams each data file, checking its MD5 and size;
    /// classifies every version
    /// (`SSE-KMS` and `DSSE-KMS` pass, everything else is
    /// remediated, see the [`inventory`](crate::inventory) module); with
    /// [`InventoryAuditOptions::check_kms_keys`], checks the KMS key of
    /// every SSE-KMS and DSSE-KMS version with HeadObject against the
    /// policy's allowlist. Each version to fix goes to `remediation` as it
    /// is found (pass `&mut ()` for counts only). Memory stays bounded
    /// whatever the number of rows. `ExpectedBucketOwner` is sent on every
    /// read when the policy sets one. One audit event per audit.
    ///
    /// The report states what the inventory knew when S3 wrote it (daily
    /// or weekly): versions written or re-encrypted since are not in it.
    ///
    /// # Errors
    /// [`Error::Config`] for key checks
    /// without an allowlist; [`Error::Refused`] for an insecure endpoint
    /// (nothing read); [`Error::Inventory`] when the report is not usable
    /// ([`InventoryError`]: checksum, format, columns, rows);
    /// [`Error::Backend`] when S3 failed. Any error means no verdict:
    /// manifests written to `remediation` before it are incomplete.
    pub async fn audit_inventory(
        &self,
        manifest: &S3ObjectRef,
        options: InventoryAuditOptions,
        remediation: &mut dyn RemediationSink,
    ) -> Result<InventoryReport, Error> {
        let result = self
            .audit_inventory_inner(manifest, &options, remediation)
            .await;
        match &result {
            Ok(r) => tracing::info!(
                target: AUDIT_TARGET,
                decision = if r.is_compliant() {
                    "compliant"
                } else if r.non_compliant() == 0 && r.versions > 0 {
                    "not_covered"
                } else {
                    "non_compliant"
                },
                manifest = %manifest,
                source_bucket = %crate::text::escape(&r.source_bucket),
                covers_all_versions = r.covers_all_versions,
                uncovered = r.uncovered.as_deref(),
                versions = r.versions,
                non_compliant = r.non_compliant(),
                counts = ?r.counts,
                keys_checked = r.keys_checked,
                keys_not_allowed = r.keys_not_allowed,
                keys_unchecked = r.keys_unchecked,
                client_side_encrypted = r.client_side_encrypted,
                instruction_files = r.instruction_files,
                "inventory audit"
            ),
            Err(e) => tracing::warn!(
                target: AUDIT_TARGET,
                decision = if e.as_refusal().is_some() { "refused" } else { "error" },
                manifest = %manifest,
                reasons = %e,
                "inventory audit not completed"
            ),
        }
        result
    }

    async fn audit_inventory_inner(
        &self,
        manifest_ref: &S3ObjectRef,
        options: &InventoryAuditOptions,
        remediation: &mut dyn RemediationSink,
    ) -> Result<InventoryReport, Error> {
        let reader = self.s3.as_ref();
        if options.checks_kms_keys() && self.policy.kms_keys().is_none() {
            return Err(ConfigError::Invalid(
                "KMS key checks need an allowlist, and this policy allows any SSE-KMS key: build it with Policy::allow_kms_key"
                    .into(),
            )
            .into());
        }
        let checksum_ref = InventoryManifest::checksum_object(manifest_ref)?;

        let owner = self.policy.expected_bucket_owner().cloned();
        let read = |object: &S3ObjectRef| GetObjectRequest::new(object.clone(), owner.clone());
        let checksum = read_small(reader, &read(&checksum_ref)).await?;
        let json = read_small(reader, &read(manifest_ref)).await?;
        let manifest = InventoryManifest::parse(manifest_ref, &json, &checksum)?;
        if let Some(expected) = options.expected_source_bucket() {
            if manifest.source_bucket() != expected {
                return Err(InventoryError::WrongBucket {
                    expected: crate::text::escape(expected).into_owned(),
                    found: crate::inventory::quoted(manifest.source_bucket()),
                }
                .into());
            }
        }
        tracing::info!(
            manifest = %manifest_ref,
            files = manifest.files().len(),
            all_versions = manifest.includes_all_versions(),
            "inventory report: manifest checked"
        );

        let (covers_all_versions, uncovered) = self.coverage(&manifest, owner.clone()).await?;
        let mut report = InventoryReport {
            source_bucket: manifest.source_bucket().to_owned(),
            kms_keys_checked: options.checks_kms_keys(),
            all_versions: manifest.includes_all_versions(),
            covers_all_versions,
            uncovered,
            creation_timestamp_ms: manifest.creation_timestamp_ms(),
            ..InventoryReport::default()
        };
        let limit = options.calls_in_flight();
        // Key checks run as tasks of their own, so each request progresses
        // while rows are parsed (a request polled only now and then could
        // stall mid-handshake and time out).
        let mut inflight: JoinSet<(KeyCheck, KeyOutcome)> = JoinSet::new();
        let mut pending: Vec<KeyCheck> = Vec::new();
        let mut progress = InventoryProgress {
            files_done: 0,
            files_total: manifest.files().len(),
            rows: 0,
            keys_checked: 0,
        };
        let mut next_progress = PROGRESS_EVERY_ROWS;
        let mut tally = Tally::default();

        for file in manifest.files() {
            let mut body = match reader.get_object(&read(&file.object)).await {
                Ok(body) => body,
                Err(e) if e.kind() == BackendErrorKind::NotFound => {
                    return Err(InventoryError::MissingDataFile {
                        file: file.object.clone(),
                    }
                    .into())
                }
                Err(e) => return Err(backend_error(OP, e)),
            };
            // Size, MD5 and gzip on a blocking thread; CSV rows, their
            // classification and key checks here, as blocks arrive: the
            // two run side by side, and neither holds more than a few
            // chunks. With key checks, smaller steps keep the pending list
            // bounded by what one step inflates to.
            let step = if options.checks_kms_keys() {
                KEY_CHECK_SLICE
            } else {
                INFLATE_STEP
            };
            let (chunks, mut chunks_out) =
                tokio::sync::mpsc::channel::<bytes::Bytes>(PIPELINE_DEPTH);
            let (blocks_in, mut blocks) = tokio::sync::mpsc::channel(PIPELINE_DEPTH);
            let mut inflater = Inflater::new(file, step);
            let object = file.object.clone();
            tokio::task::spawn_blocking(move || {
                let mut hand_over = |inflated: &[u8]| {
                    blocks_in
                        .blocking_send(Inflated::Block(inflated.to_vec()))
                        .map_err(|_| stopped(&object))
                };
                let mut result = Ok(());
                while let Some(chunk) = chunks_out.blocking_recv() {
                    result = inflater.push(&chunk, &mut hand_over);
                    if result.is_err() {
                        break;
                    }
                }
                let result = result.and_then(|()| inflater.finish(&mut hand_over));
                // When the reading side has gone, nobody is told.
                let _ = blocks_in.blocking_send(match result {
                    Ok(()) => Inflated::Done,
                    Err(e) => Inflated::Failed(e),
                });
            });
            let feed = async move {
                while let Some(chunk) = body.next().await {
                    let chunk = chunk.map_err(|e| body_error(&file.object, e))?;
                    if chunks.send(chunk).await.is_err() {
                        // The inflater stopped: its message says why.
                        break;
                    }
                }
                Ok::<(), Error>(())
            };
            let mut parser = RowParser::new(&manifest, file);
            let consume = async {
                loop {
                    match blocks.recv().await {
                        Some(Inflated::Block(block)) => {
                            parser.parse(&block, false, &mut |row| {
                                classify(
                                    &mut report,
                                    &mut tally,
                                    remediation,
                                    &mut pending,
                                    options,
                                    row,
                                )
                            })?;
                            self.start_key_checks(
                                &mut pending,
                                &mut inflight,
                                limit,
                                &mut report,
                                remediation,
                            )
                            .await?;
                            if report.rows + parser.rows() >= next_progress {
                                next_progress += PROGRESS_EVERY_ROWS;
                                progress.rows = report.rows + parser.rows();
                                progress.keys_checked = report.keys_checked;
                                options.report_progress(&progress);
                            }
                        }
                        Some(Inflated::Done) => break,
                        Some(Inflated::Failed(e)) => return Err(Error::from(e)),
                        None => return Err(Error::from(stopped(&file.object))),
                    }
                }
                parser.parse(&[], true, &mut |row| {
                    classify(
                        &mut report,
                        &mut tally,
                        remediation,
                        &mut pending,
                        options,
                        row,
                    )
                })?;
                Ok::<u64, Error>(parser.rows())
            };
            let ((), file_rows) = tokio::try_join!(feed, consume)?;
            report.rows += file_rows;
            report.files += 1;
            self.start_key_checks(&mut pending, &mut inflight, limit, &mut report, remediation)
                .await?;
            progress.files_done += 1;
            progress.rows = report.rows;
            progress.keys_checked = report.keys_checked;
            options.report_progress(&progress);
            tracing::info!(file = %file.object, rows = file_rows, "inventory data file read");
        }
        let mut settled = 0u64;
        while let Some(done) = inflight.join_next().await {
            settle(&mut report, remediation, done)?;
            settled += 1;
            if settled.is_multiple_of(PROGRESS_EVERY_KEYS) {
                progress.keys_checked = report.keys_checked;
                options.report_progress(&progress);
            }
        }
        progress.keys_checked = report.keys_checked;
        options.report_progress(&progress);
        tally.into_report(&mut report);
        Ok(report)
    }

    /// Whether the report covers every version the bucket stores, and if
    /// not, why and what to do: a report of all versions does; a report of
    /// current versions does only for a bucket whose versioning was never
    /// enabled, which `GetBucketVersioning` must say.
    async fn coverage(
        &self,
        manifest: &InventoryManifest,
        owner: Option<crate::input::AccountId>,
    ) -> Result<(bool, Option<String>), Error> {
        if manifest.includes_all_versions() {
            return Ok((true, None));
        }
        const FIX: &str = "set the inventory configuration's IncludedObjectVersions to All (put-bucket-inventory-configuration) and audit its next report";
        let bucket = crate::text::escape(manifest.source_bucket());
        let request = GetBucketVersioningRequest::new(manifest.source_bucket(), owner);
        match self.s3.get_bucket_versioning(&request).await {
            Ok(v) if v.never_enabled() => Ok((true, None)),
            Ok(v) => Ok((
                false,
                Some(format!(
                    "the report lists current versions only, and versioning of bucket {bucket} is {}: its noncurrent versions, which still hold photos, were not read, so the bucket is not proven compliant; {FIX}",
                    crate::text::quote(v.status.as_deref().unwrap_or_default(), 32)
                )),
            )),
            Err(e) if e.insecure_endpoint().is_some() => Err(backend_error(OP, e)),
            Err(e) => Ok((
                false,
                Some(format!(
                    "the report lists current versions only, and the versioning of bucket {bucket} could not be read ({e}{}), so noncurrent versions the report does not list may exist; {FIX}",
                    if e.kind() == BackendErrorKind::AccessDenied {
                        "; grant s3:GetBucketVersioning"
                    } else {
                        ""
                    }
                )),
            )),
        }
    }

    /// Starts the pending key checks, with at most `limit` in flight,
    /// settling finished ones to make room.
    async fn start_key_checks(
        &self,
        pending: &mut Vec<KeyCheck>,
        inflight: &mut JoinSet<(KeyCheck, KeyOutcome)>,
        limit: usize,
        report: &mut InventoryReport,
        remediation: &mut dyn RemediationSink,
    ) -> Result<(), InventoryError> {
        for check in pending.drain(..) {
            while inflight.len() >= limit {
                if let Some(done) = inflight.join_next().await {
                    settle(report, remediation, done)?;
                }
            }
            let guard = self.clone();
            inflight.spawn(async move { guard.check_kms_key(check).await });
        }
        Ok(())
    }

    /// HeadObject of one version, judged against the allowlist.
    async fn check_kms_key(&self, check: KeyCheck) -> (KeyCheck, KeyOutcome) {
        let object =
            S3ObjectRef::new(&check.bucket, &check.key).and_then(|o| match &check.version_id {
                Some(v) => o.with_version_id(v),
                None => Ok(o),
            });
        let Ok(object) = object else {
            // A key this crate will not name (control characters, over
            // 1,024 bytes): not checked, so not compliant.
            return (check, KeyOutcome::Unchecked);
        };
        if has_dot_segment(&check.key) {
            // A path-style endpoint or a proxy could answer for another
            // key: not checked, so not compliant.
            tracing::warn!(object = %object, "KMS key check skipped: the key has a '.' or '..' segment; counted as unchecked");
            return (check, KeyOutcome::Unchecked);
        }
        let request = HeadObjectRequest::new(object, self.policy.expected_bucket_owner().cloned());
        let outcome = match self.s3.head_object(&request).await {
            // An answer about another version than the one asked about
            // says nothing about this one.
            Ok(facts)
                if answered_for_another_version(
                    check.version_id.as_deref(),
                    facts.version_id.as_deref(),
                ) =>
            {
                tracing::warn!(object = %request.object, "KMS key check answered for another version: counted as unchecked");
                KeyOutcome::Unchecked
            }
            Ok(facts)
                if !crate::at_rest::client_side_markers(&facts.user_metadata_keys).is_empty() =>
            {
                tracing::warn!(target: AUDIT_TARGET, object = %request.object, "client-side encrypted version: the S3 Encryption Client's envelope is in its user metadata");
                KeyOutcome::ClientSide
            }
            Ok(facts) => {
                let key = facts.kms_key_id.as_deref().filter(|k| !k.is_empty());
                match (&facts.encryption, key) {
                    (SseAlgorithm::AwsKms | SseAlgorithm::AwsKmsDsse, Some(k))
                        if facts.sse_customer_algorithm.is_none()
                            && self.policy.allows_kms_key(k) =>
                    {
                        KeyOutcome::Allowed
                    }
                    (SseAlgorithm::AwsKms | SseAlgorithm::AwsKmsDsse, None) => {
                        KeyOutcome::Unchecked
                    }
                    (SseAlgorithm::AwsKms | SseAlgorithm::Aes256, _) => {
                        KeyOutcome::NotAllowed(Remediation::UpdateObjectEncryption)
                    }
                    _ => KeyOutcome::NotAllowed(Remediation::CopyObject),
                }
            }
            // Only a pinned version can be known gone: an unpinned miss
            // may be a key that does not name what the report meant.
            Err(e) if e.kind() == BackendErrorKind::NotFound && check.version_id.is_some() => {
                KeyOutcome::Gone
            }
            Err(e) => {
                tracing::warn!(object = %request.object, error = %e, "KMS key check failed: counted as unchecked");
                KeyOutcome::Unchecked
            }
        };
        (check, outcome)
    }
}

/// Whether HeadObject of version `asked` answered about another one. S3
/// may leave out the header for the `null` version; a version asked for
/// and not named back otherwise is not an answer about it.
fn answered_for_another_version(asked: Option<&str>, reported: Option<&str>) -> bool {
    match (asked, reported) {
        (Some(asked), Some(reported)) => asked != reported,
        (Some(asked), None) => asked != NULL_VERSION_ID,
        (None, _) => false,
    }
}

/// Counts one row and routes it: a remediation manifest, a key check, or
/// nothing (compliant, or a delete marker).
fn classify(
    report: &mut InventoryReport,
    tally: &mut Tally,
    remediation: &mut dyn RemediationSink,
    pending: &mut Vec<KeyCheck>,
    options: &InventoryAuditOptions,
    row: crate::inventory::InventoryRow<'_>,
) -> Result<(), InventoryError> {
    if row.is_delete_marker {
        report.delete_markers += 1;
        return Ok(());
    }
    report.versions += 1;
    tally.count(row.encryption_status, row.bucket_key_status);
    // An instruction file: its key's versions are client-side ciphertext.
    if let Some(encrypted) = row.key.strip_suffix(INSTRUCTION_SUFFIX) {
        if !encrypted.is_empty() {
            report.instruction_files += 1;
            tracing::warn!(target: AUDIT_TARGET, bucket = %crate::text::Quoted(row.bucket), key = %crate::text::Quoted(encrypted), "client-side encrypted key: an S3 Encryption Client instruction file lies beside it");
            add(
                report,
                remediation,
                Remediation::DecryptClientSide,
                row.bucket,
                encrypted,
                None,
            )?;
        }
    }
    let version_id = row.version_id;
    // A report of current versions only has no IsLatest column; in a
    // report of all versions, a row without IsLatest is not known to be
    // current, and a copy of a noncurrent version would resurrect it.
    let current = row.is_latest.unwrap_or(row.version_id.is_none());
    match row.encryption_status.classify() {
        Some(fix) => add(
            report,
            remediation,
            fix.for_version(current),
            row.bucket,
            &row.key,
            version_id,
        ),
        None if options.checks_kms_keys() && row.encryption_status.is_kms() => {
            pending.push(KeyCheck {
                bucket: row.bucket.to_owned(),
                key: row.key.into_owned(),
                version_id: version_id.map(str::to_owned),
                current,
            });
            Ok(())
        }
        None => Ok(()),
    }
}

/// The suffix of an S3 Encryption Client instruction file, kept beside
/// the object it describes (`<key>.instruction`).
const INSTRUCTION_SUFFIX: &str = ".instruction";

fn settle(
    report: &mut InventoryReport,
    remediation: &mut dyn RemediationSink,
    done: Result<(KeyCheck, KeyOutcome), JoinError>,
) -> Result<(), InventoryError> {
    let (check, outcome) = match done {
        Ok(done) => done,
        Err(e) => {
            // A check that panicked checked nothing: not compliant.
            tracing::error!(error = %e, "a KMS key check ended abnormally: counted as unchecked");
            report.keys_unchecked += 1;
            return Ok(());
        }
    };
    match outcome {
        KeyOutcome::Allowed => report.keys_checked += 1,
        KeyOutcome::NotAllowed(fix) => {
            report.keys_checked += 1;
            report.keys_not_allowed += 1;
            add(
                report,
                remediation,
                fix.for_version(check.current),
                &check.bucket,
                &check.key,
                check.version_id.as_deref(),
            )?;
        }
        KeyOutcome::ClientSide => {
            report.keys_checked += 1;
            report.client_side_encrypted += 1;
            add(
                report,
                remediation,
                Remediation::DecryptClientSide,
                &check.bucket,
                &check.key,
                check.version_id.as_deref(),
            )?;
        }
        KeyOutcome::Gone => report.versions_gone += 1,
        KeyOutcome::Unchecked => report.keys_unchecked += 1,
    }
    Ok(())
}

fn add(
    report: &mut InventoryReport,
    remediation: &mut dyn RemediationSink,
    fix: Remediation,
    bucket: &str,
    key: &str,
    version_id: Option<&str>,
) -> Result<(), InventoryError> {
    match fix {
        Remediation::UpdateObjectEncryption => report.update_in_place += 1,
        Remediation::CopyObject => report.copy += 1,
        Remediation::DeleteNoncurrentVersion => report.delete_noncurrent += 1,
        // Counted by the caller (client_side_encrypted or
        // instruction_files), which knows how it was found.
        Remediation::DecryptClientSide => {}
    }
    remediation
        .add(fix, bucket, key, version_id)
        .map_err(|e| InventoryError::RemediationWrite {
            reason: e.to_string(),
        })
}

/// A GetObject body that ended before its end.
fn body_error(
    object: &S3ObjectRef,
    e: aws_smithy_types::byte_stream::error::Error,
) -> BackendError {
    BackendError::new(
        BackendErrorKind::Transport,
        Service::S3,
        "GetObject",
        format!("reading {object} failed: the connection ended early"),
    )
    .with_source(e)
}

/// Reads a small object whole, refusing one over [`MAX_MANIFEST_BYTES`].
async fn read_small(reader: &dyn S3Backend, request: &GetObjectRequest) -> Result<Vec<u8>, Error> {
    let mut body = reader
        .get_object(request)
        .await
        .map_err(|e| backend_error(OP, e))?;
    let mut bytes = Vec::new();
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(|e| body_error(&request.object, e))?;
        if bytes.len() + chunk.len() > MAX_MANIFEST_BYTES {
            return Err(InventoryError::invalid_manifest(
                &request.object,
                "larger than 16 MiB: not an S3 Inventory manifest",
            )
            .into());
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(bytes)
}

impl PhotoStore {
    /// Fixes one version found by [`audit_inventory`](Self::audit_inventory):
    /// re-encrypts it with SSE-KMS under `kms_key` (which must be in the
    /// policy's allowlist), then checks with HeadObject that the version
    /// now stored is SSE-KMS under an allowed key.
    ///
    /// * [`Remediation::UpdateObjectEncryption`] uses S3
    ///   `UpdateObjectEncryption`, in place; version id, ETag and
    ///   last-modified date stay, so pins stay valid.
    /// * [`Remediation::CopyObject`] uses S3 `CopyObject` onto the same key,
    ///   only for the **current** version (checked with HeadObject first:
    ///   copying a noncurrent one would make its old content current
    ///   again), and only if the key's current version still has the ETag
    ///   seen then (`x-amz-copy-source-if-match`: a version written in
    ///   between makes S3 refuse the copy); the copy is a new version, the
    ///   old one remains until deleted, and pins on it must be renewed.
    ///   The copy takes S3's defaults for what `CopyObject` does not copy
    ///   (the storage class, ACL grants).
    ///
    /// For small fleets: large ones run the audit's manifests as S3 Batch
    /// Operations jobs. The verification cache forgets the object.
    ///
    /// # Errors
    /// [`Error::Config`] when `kms_key` is not allowed; [`Error::Input`] for
    /// [`Remediation::DeleteNoncurrentVersion`] and
    /// [`Remediation::DecryptClientSide`], or a copy of a version
    /// that is not current; [`Error::Refused`] for an insecure endpoint
    /// (nothing changed); [`Error::Backend`] when S3 refused or failed, or
    /// when HeadObject afterwards does not report an allowed KMS key or
    /// still shows the S3 Encryption Client's envelope (client-side
    /// ciphertext, which a server-side copy copies as it is)
    /// ([`BackendErrorKind::InvalidResponse`]).
    pub async fn reencrypt(
        &self,
        object: &S3ObjectRef,
        remediation: Remediation,
        kms_key: &KmsKeyArn,
    ) -> Result<Reencrypted, Error> {
        const OP: Operation = Operation::Reencrypt;
        if !self.policy.allows_kms_key(kms_key.as_str()) {
            return Err(ConfigError::Invalid(format!(
                "re-encryption under {kms_key} was asked for, but the policy does not allow that key: add it with Policy::with_kms_key, or re-encrypt under an allowed key"
            ))
            .into());
        }
        if remediation == Remediation::DecryptClientSide {
            return Err(InputError::InvalidS3Reference {
                input: object.to_string(),
                reason: "client-side ciphertext cannot be re-encrypted by S3: decrypt it with the S3 Encryption Client and store the plaintext as a new object with SSE-KMS".into(),
            }
            .into());
        }
        if remediation == Remediation::DeleteNoncurrentVersion {
            return Err(InputError::InvalidS3Reference {
                input: object.to_string(),
                reason: "a noncurrent version that needs a copy is not re-encrypted: copying it would make its old content current again; delete it by version id".into(),
            }
            .into());
        }
        let owner = self.policy.expected_bucket_owner().cloned();
        let head = |o: S3ObjectRef| HeadObjectRequest::new(o, owner.clone());
        let unpinned = S3ObjectRef::new(object.bucket(), object.key())?;
        // A copy reads the key's current version: it must be the version
        // asked for (a copy of an older one would make its content current
        // again), and S3 copies it only if its ETag is still the one seen
        // here, so a version written in between is never overwritten.
        let mut current_etag = None;
        let mut versioned = false;
        if remediation == Remediation::CopyObject {
            let latest = self
                .s3
                .head_object(&head(unpinned.clone()))
                .await
                .map_err(|e| backend_error(OP, e))?;
            // Client-side ciphertext: a copy would copy the envelope with
            // the bytes and fix nothing; refused before anything is written.
            if !crate::at_rest::client_side_markers(&latest.user_metadata_keys).is_empty() {
                return Err(InputError::InvalidS3Reference {
                    input: object.to_string(),
                    reason: "the current version is client-side ciphertext (the S3 Encryption Client's envelope is in its user metadata): a copy would copy it as it is; decrypt it with the S3 Encryption Client and store the plaintext with SSE-KMS".into(),
                }
                .into());
            }
            versioned = latest
                .version_id
                .as_deref()
                .is_some_and(crate::input::names_immutable_version);
            if let Some(requested) = object.version_id() {
                if latest.version_id.as_deref() != Some(requested) {
                    return Err(InputError::InvalidS3Reference {
                        input: object.to_string(),
                        reason: "this version is not the current one: copying it would make its old content current again; delete it by version id instead".into(),
                    }
                    .into());
                }
            }
            current_etag = Some(latest.etag.ok_or_else(|| {
                Error::Backend(BackendError::new(
                    BackendErrorKind::InvalidResponse,
                    Service::S3,
                    "HeadObject",
                    format!("HeadObject of {unpinned} reported no ETag: a copy could not be made conditional, so none is made"),
                ))
            })?);
        }

        let request =
            ReencryptRequest::new(object.clone(), kms_key.clone(), owner.clone(), current_etag);
        self.forget_check(object);
        let new_version_id = match remediation {
            Remediation::CopyObject => self.s3.copy_object(&request).await,
            _ => self
                .s3
                .update_object_encryption(&request)
                .await
                .map(|()| object.version_id().map(str::to_owned)),
        }
        .map_err(|e| backend_error(OP, e))?;
        self.forget_check(object);
        // A copy in a versioned bucket makes a new version, and S3 says
        // which: without it, the check below would read whatever is latest
        // (perhaps another writer's), so nothing is confirmed.
        if versioned && new_version_id.is_none() {
            return Err(Error::Backend(BackendError::new(
                BackendErrorKind::InvalidResponse,
                Service::S3,
                "CopyObject",
                format!("CopyObject of {unpinned} in a versioned bucket answered without the new version id, so the copy cannot be confirmed; check the key's versions"),
            )));
        }

        let stored = match &new_version_id {
            Some(v) => unpinned.clone().with_version_id(v)?,
            None => unpinned.clone(),
        };
        let facts = self
            .s3
            .head_object(&head(stored.clone()))
            .await
            .map_err(|e| backend_error(OP, e))?;
        let key = facts.kms_key_id.as_deref().filter(|k| !k.is_empty());
        let client_side =
            !crate::at_rest::client_side_markers(&facts.user_metadata_keys).is_empty();
        match key {
            Some(k) if facts.encryption.is_kms() && self.policy.allows_kms_key(k) && !client_side => {
                tracing::info!(
                    target: AUDIT_TARGET,
                    decision = "reencrypted",
                    object = %object,
                    remediation = remediation.as_str(),
                    new_version_id = new_version_id.as_deref().unwrap_or(""),
                    kms_key = %k,
                    "object version re-encrypted"
                );
                Ok(Reencrypted {
                    object: object.clone(),
                    remediation,
                    new_version_id,
                    kms_key: k.to_owned(),
                })
            }
            _ if client_side => Err(Error::Backend(BackendError::new(
                BackendErrorKind::InvalidResponse,
                Service::S3,
                "HeadObject",
                format!(
                    "after {}, HeadObject of {stored} still shows the S3 Encryption Client's envelope in its user metadata: the object is client-side ciphertext, which no server-side re-encryption makes readable; decrypt it with the S3 Encryption Client and store the plaintext with SSE-KMS",
                    remediation.as_str(),
                ),
            ))),
            _ => Err(Error::Backend(BackendError::new(
                BackendErrorKind::InvalidResponse,
                Service::S3,
                "HeadObject",
                format!(
                    "after {}, HeadObject of {stored} reports it {}: the re-encryption did not take effect; nothing is claimed",
                    remediation.as_str(),
                    facts.encryption
                ),
            ))),
        }
    }
}
