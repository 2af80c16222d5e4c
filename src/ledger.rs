//! A tamper-evident ledger of decisions, consents, withdrawals and erasure
//! receipts on S3 Object Lock.
//!
//! One object per record under a prefix, `PREFIX` + the sequence number in
//! 20 digits + `.json`, each:
//! - written only if no object has that key (`PutObject` with
//!   `If-None-Match: *`): among several kiosks or processes, one writer
//!   takes each sequence number; the others re-read the head and retry;
//! - SSE-KMS under the policy's key (or the bucket's default key), with an
//!   S3 Object Lock retention (the policy's mode and period, or the
//!   bucket's default retention), both checked with `HeadObject` after the
//!   write: an append returns only once its record is durable, encrypted
//!   and locked;
//! - hash-chained: each record holds its sequence number and the SHA-256
//!   of the previous record's exact bytes.
//!
//! Records hold no biometric data: what a caller appends is what its audit
//! events hold (member references or digests, versions, KMS keys,
//! outcomes).
//!
//! [`Ledger::verify`] walks the ledger and reports the first problem. What
//! it cannot detect is said in [`LedgerReport`].
//!
//! Sources: Amazon S3 User Guide, "Locking objects with Object Lock" and
//! "Conditional writes"; S3 API Reference, `PutObject`
//! (`If-None-Match`, `x-amz-object-lock-mode`,
//! `x-amz-object-lock-retain-until-date`).

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use sha2::{Digest, Sha256};

use crate::backend::{
    BackendError, BackendErrorKind, GetObjectRequest, HeadObjectRequest, ListObjectVersionsRequest,
    PutRecordRequest, RetentionMode, S3Backend,
};
use crate::error::Error;
use crate::input::{AccountId, InputError, KmsKeyArn, S3ObjectRef, Service};

/// How many times an append re-reads the head after another writer took
/// its sequence number, before it gives up.
const MAX_ATTEMPTS: usize = 16;
/// The largest record the ledger reads back.
const MAX_RECORD_BYTES: usize = 1024 * 1024;
/// The largest record the ledger writes: far below what it reads, so no
/// record it wrote can be one it cannot read.
const MAX_APPENDED_BYTES: usize = 64 * 1024;
/// The hash a first record names as its predecessor's.
const GENESIS: [u8; 32] = [0; 32];

/// Where the ledger is and how its records are kept.
///
/// ```
/// use std::time::Duration;
/// use rekognition_guard::ledger::LedgerPolicy;
/// use rekognition_guard::erasure::RetentionMode;
///
/// let policy = LedgerPolicy::parse("s3://library-ledger/kiosk/")?
///     .with_retention(RetentionMode::Compliance, Duration::from_secs(7 * 365 * 24 * 3600));
/// assert_eq!(policy.bucket(), "library-ledger");
/// # Ok::<(), rekognition_guard::InputError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LedgerPolicy {
    bucket: String,
    prefix: String,
    kms_key: Option<KmsKeyArn>,
    retention: Option<(RetentionMode, Duration)>,
    expected_bucket_owner: Option<AccountId>,
}

impl LedgerPolicy {
    /// The ledger at `s3://BUCKET/PREFIX` (the prefix a folder: a `/` is
    /// added when missing; it may be empty). Records are encrypted with
    /// the bucket's default key and take the bucket's default retention
    /// until [`with_kms_key`](Self::with_kms_key) and
    /// [`with_retention`](Self::with_retention) say otherwise.
    ///
    /// # Errors
    /// [`InputError`] when it is not an `s3://` location whose bucket and
    /// record keys are valid, or it names a version.
    pub fn parse(location: &str) -> Result<Self, InputError> {
        let bad = |reason: &str| InputError::InvalidS3Reference {
            input: location.to_owned(),
            reason: reason.to_owned(),
        };
        let rest = location
            .strip_prefix("s3://")
            .ok_or_else(|| bad("a ledger location starts with s3://"))?;
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        let mut prefix = prefix.to_owned();
        if !prefix.is_empty() && !prefix.ends_with('/') {
            prefix.push('/');
        }
        // The longest record key must be a key this crate accepts.
        S3ObjectRef::new(bucket, &record_key(&prefix, u64::MAX))?;
        if prefix.contains('?') {
            return Err(bad("a ledger location names no version"));
        }
        Ok(Self {
            bucket: bucket.to_owned(),
            prefix,
            kms_key: None,
            retention: None,
            expected_bucket_owner: None,
        })
    }

    /// Encrypts records with SSE-KMS under `key` (checked on each write).
    #[must_use]
    pub fn with_kms_key(mut self, key: KmsKeyArn) -> Self {
        self.kms_key = Some(key);
        self
    }

    /// Locks each record for `period` in `mode`. `COMPLIANCE` is the mode
    /// to choose: nobody, the account's root user included, can delete or
    /// overwrite a record before its retain-until date; under `GOVERNANCE`
    /// a principal with `s3:BypassGovernanceRetention` can.
    #[must_use]
    pub fn with_retention(mut self, mode: RetentionMode, period: Duration) -> Self {
        self.retention = Some((mode, period));
        self
    }

    /// Sends `ExpectedBucketOwner` on every request.
    #[must_use]
    pub fn with_expected_bucket_owner(mut self, account: AccountId) -> Self {
        self.expected_bucket_owner = Some(account);
        self
    }

    /// The bucket.
    pub fn bucket(&self) -> &str {
        &self.bucket
    }

    /// The prefix (empty, or ending in `/`).
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// A receipt kept as the command-line examples print it (`sequence`
    /// and `hash`), for [`Ledger::verify`]'s expected head: the record at
    /// `sequence` must have that SHA-256 (its version is not known, so
    /// not compared).
    ///
    /// # Errors
    /// [`InputError::InvalidS3Reference`] when `sequence` is 0 or `hash`
    /// is not 64 lowercase hexadecimal digits.
    pub fn kept_receipt(&self, sequence: u64, hash: &str) -> Result<LedgerReceipt, InputError> {
        let hex = hash.len() == 64
            && hash
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        if sequence == 0 || !hex {
            return Err(InputError::InvalidS3Reference {
                input: format!("{sequence}:{}", crate::text::quote(hash, 80)),
                reason: "a kept head is SEQUENCE:HASH, the sequence from 1 and the hash 64 lowercase hexadecimal digits".to_owned(),
            });
        }
        Ok(LedgerReceipt {
            sequence,
            hash: hash.to_owned(),
            record: self.object(sequence),
        })
    }

    fn object(&self, sequence: u64) -> S3ObjectRef {
        S3ObjectRef::new(&self.bucket, &record_key(&self.prefix, sequence))
            .expect("record keys were validated by parse")
    }
}

fn record_key(prefix: &str, sequence: u64) -> String {
    format!("{prefix}{sequence:020}.json")
}

/// What a record is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum LedgerEntry {
    /// A decision: a comparison, a Face Liveness verification, a search.
    Decision,
    /// A member's consent.
    Consent,
    /// A member's withdrawal of consent.
    Withdrawal,
    /// An erasure receipt.
    Erasure,
}

impl LedgerEntry {
    /// `decision`, `consent`, `withdrawal` or `erasure`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Decision => "decision",
            Self::Consent => "consent",
            Self::Withdrawal => "withdrawal",
            Self::Erasure => "erasure",
        }
    }
}

pub use crate::decision::LedgerReceipt;

/// The ledger's head as this process knows it.
#[derive(Debug, Clone, Copy)]
struct Head {
    sequence: u64,
    hash: [u8; 32],
}

/// A ledger on S3: [`append`](Self::append) and
/// [`verify`](Self::verify). Appends from one `Ledger` (and its clones)
/// are taken one at a time; appends from other processes are told apart
/// by the conditional write. Cheap to clone.
#[derive(Clone)]
pub struct Ledger {
    s3: Arc<dyn S3Backend>,
    policy: LedgerPolicy,
    state: Arc<tokio::sync::Mutex<State>>,
}

/// What appends from one [`Ledger`] and its clones share.
#[derive(Default)]
struct State {
    /// The head, once found.
    head: Option<Head>,
    /// The check of the last record written, still running.
    check: Option<tokio::task::JoinHandle<Result<(), Error>>>,
    /// Why appends stopped: a record failed its check.
    failed: Option<String>,
}

impl fmt::Debug for Ledger {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Ledger")
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

fn ledger_error(kind: BackendErrorKind, operation: &'static str, message: String) -> Error {
    Error::Backend(BackendError::new(kind, Service::S3, operation, message))
}

impl Ledger {
    /// The ledger `policy` names, through `s3`.
    pub fn new(s3: impl S3Backend + 'static, policy: LedgerPolicy) -> Self {
        Self {
            s3: Arc::new(s3),
            policy,
            state: Arc::default(),
        }
    }

    /// The policy.
    pub fn policy(&self) -> &LedgerPolicy {
        &self.policy
    }

    /// Appends a record of `entry` holding `event` (JSON; no biometric
    /// data: references, digests, versions, outcomes; at most 64 KiB as
    /// a record) and returns once it is durable: written as the next
    /// sequence number with `If-None-Match: *`, SSE-KMS (under the
    /// policy's key when it names one, else any KMS key: the bucket's
    /// default) and under an S3 Object Lock retention.
    ///
    /// Every record is then checked with `HeadObject` and a listing of its
    /// key, at once: SSE-KMS under that key, a retention in the policy's
    /// mode until at least the policy's date (any retention in the future
    /// when the bucket's default applies), and this version the key's only
    /// one (no writer with a stale head wrote over a delete marker).
    /// - With a retention in the policy, the record was written with
    ///   explicit `x-amz-object-lock-mode` and `-retain-until-date`
    ///   headers, which S3 applies or refuses (400), and `PutObject`'s
    ///   answer states its encryption: the append returns after
    ///   `PutObject` (one round trip), and the check runs meanwhile; the
    ///   next append waits for it, and if it failed, that append and every
    ///   later one from this `Ledger` fail with the reason
    ///   ([`confirm`](Self::confirm) waits for it on demand).
    /// - With the bucket's default retention, or when `PutObject`'s answer
    ///   does not state SSE-KMS under the policy's key, the append waits
    ///   for the check (two round trips).
    ///
    /// Cost: one `PutObject` (and the check's `HeadObject` and
    /// `ListObjectVersions`). The first append of a process lists the
    /// whole ledger to find and check its head; each conflict with
    /// another writer reads the records it missed (`GetObject`), each of
    /// which must chain onto the one before.
    ///
    /// # Errors
    /// [`Error::Backend`] when the record could not be written; when it
    /// (or, checked meanwhile, the record before it) was written but is not
    /// protected or not the key's only version (it stays in the chain, the
    /// message names its sequence number and version, and
    /// [`verify`](Self::verify) reports it); when the ledger
    /// is damaged (a gap, an overwritten record, a broken link where the
    /// head is sought); when the event is too large; or when other writers
    /// took 16 sequence numbers in a row. Nothing that depends on the
    /// record should go ahead.
    pub async fn append(
        &self,
        entry: LedgerEntry,
        event: serde_json::Value,
    ) -> Result<LedgerReceipt, Error> {
        let mut state = self.state.lock().await;
        Self::settle(&mut state).await?;
        let mut current = match state.head {
            Some(h) => h,
            None => self.discover_head().await?,
        };
        for _ in 0..MAX_ATTEMPTS {
            let sequence = current.sequence.checked_add(1).ok_or_else(|| {
                ledger_error(
                    BackendErrorKind::InvalidResponse,
                    "ledger append",
                    "the ledger's head is at the largest sequence number".to_owned(),
                )
            })?;
            let body = serde_json::to_vec(&serde_json::json!({
                "sequence": sequence,
                "previous": hex::encode(current.hash),
                "time_unix_ms": SystemTime::now()
                    .duration_since(SystemTime::UNIX_EPOCH)
                    .map_or(0, |d| d.as_millis() as u64),
                "entry": entry.as_str(),
                "event": event,
                // Two writers appending the same event in the same
                // millisecond still write different records: a record is
                // recognised as this append's own only by its hash.
                "nonce": uuid::Uuid::new_v4().to_string(),
            }))
            .map_err(|e| {
                ledger_error(
                    BackendErrorKind::Other,
                    "ledger append",
                    format!("the record could not be serialised: {e}"),
                )
            })?;
            if body.len() > MAX_APPENDED_BYTES {
                return Err(ledger_error(
                    BackendErrorKind::InvalidRequest,
                    "ledger append",
                    format!(
                        "the record would be {} bytes, over the ledger's 64 KiB: a record holds references and outcomes, never images",
                        body.len()
                    ),
                ));
            }
            let hash: [u8; 32] = Sha256::digest(&body).into();
            let object = self.policy.object(sequence);
            let retention = self
                .policy
                .retention
                .as_ref()
                .map(|(mode, period)| (mode.clone(), SystemTime::now() + *period));
            let written = self
                .s3
                .put_record(PutRecordRequest::new(
                    object.clone(),
                    body,
                    self.policy.kms_key.clone(),
                    retention.clone(),
                    self.policy.expected_bucket_owner.clone(),
                ))
                .await;
            let (version, stated_kms) = match written {
                Ok(receipt) => {
                    let kms = receipt.encryption.as_ref().is_some_and(|e| e.is_kms())
                        && self
                            .policy
                            .kms_key
                            .as_ref()
                            .is_none_or(|k| receipt.kms_key_id.as_deref() == Some(k.as_str()));
                    (receipt.version_id, kms)
                }
                Err(e) if e.kind() == BackendErrorKind::PreconditionFailed => {
                    // Another writer took `sequence`, or a retry of this
                    // very write found it done: read on from `current`.
                    match self.advance(current, hash).await? {
                        Advanced::Ours(version) => (Some(version), false),
                        Advanced::To(next) => {
                            current = next;
                            state.head = Some(current);
                            continue;
                        }
                    }
                }
                Err(e) => return Err(Error::Backend(e)),
            };
            // The chain goes on from this record whatever its protection:
            // it exists, and the next one must name it.
            state.head = Some(Head { sequence, hash });
            let pinned = version
                .filter(|v| v != "null")
                .and_then(|v| object.clone().with_version_id(&v).ok())
                .ok_or_else(|| {
                    ledger_error(
                        BackendErrorKind::InvalidResponse,
                        "PutObject",
                        format!(
                            "ledger record {object} was written without a usable version id: the bucket {} needs versioning and S3 Object Lock",
                            self.policy.bucket
                        ),
                    )
                })?;
            let until = retention.as_ref().map(|(_, until)| *until);
            if retention.is_some() && stated_kms {
                // S3 applied the explicit lock headers or would have
                // refused the write, and stated the encryption: the check
                // runs while the decision goes back, and the next append
                // waits for it.
                let ledger = self.clone();
                let record = pinned.clone();
                state.check = Some(tokio::spawn(async move {
                    ledger.check_written_retrying(&record, until).await
                }));
            } else if let Err(e) = self.check_written(&pinned, until).await {
                state.failed = Some(e.to_string());
                return Err(e);
            }
            return Ok(LedgerReceipt {
                sequence,
                hash: hex::encode(hash),
                record: pinned,
            });
        }
        Err(ledger_error(
            BackendErrorKind::Other,
            "ledger append",
            format!(
                "other writers took {MAX_ATTEMPTS} sequence numbers in a row in s3://{}/{}; nothing was appended",
                self.policy.bucket, self.policy.prefix
            ),
        ))
    }

    /// Waits for the check of the last record this `Ledger` (or a clone)
    /// wrote, if it is still running.
    ///
    /// # Errors
    /// [`Error::Backend`] when that record (or an earlier one) failed its
    /// check; appends fail from then on.
    pub async fn confirm(&self) -> Result<(), Error> {
        let mut state = self.state.lock().await;
        Self::settle(&mut state).await
    }

    /// Waits for a running check, and fails if any check failed.
    async fn settle(state: &mut State) -> Result<(), Error> {
        // Awaited in place and cleared only once it resolved: an append
        // cancelled while waiting leaves the check for the next one.
        if let Some(check) = state.check.as_mut() {
            let checked = check.await.unwrap_or_else(|e| {
                Err(ledger_error(
                    BackendErrorKind::Other,
                    "ledger append",
                    format!("the check of the last record did not finish: {e}"),
                ))
            });
            state.check = None;
            if let Err(e) = checked {
                state.failed = Some(e.to_string());
            }
        }
        match &state.failed {
            None => Ok(()),
            Some(reason) => Err(ledger_error(
                BackendErrorKind::InvalidResponse,
                "ledger append",
                format!(
                    "{reason}; this ledger appends nothing more until it is verified and made anew"
                ),
            )),
        }
    }

    /// [`check_written`](Self::check_written), tried again (three times
    /// in all, 100 ms then 400 ms apart) while it fails for a reason that
    /// may pass (throttling, 5xx, a timeout, a connection error): only a
    /// record found unprotected, or a check that kept failing, stops the
    /// ledger.
    async fn check_written_retrying(
        &self,
        record: &S3ObjectRef,
        until: Option<SystemTime>,
    ) -> Result<(), Error> {
        let mut wait = Duration::from_millis(100);
        for _ in 0..2 {
            match self.check_written(record, until).await {
                Err(Error::Backend(e)) if e.is_retryable() => {
                    tokio::time::sleep(wait).await;
                    wait *= 4;
                }
                other => return other,
            }
        }
        self.check_written(record, until).await
    }

    /// A written record, at once: `HeadObject` (SSE-KMS under the
    /// policy's key, a retention in the policy's mode until at least
    /// `until`, or any retention in the future when the bucket's default
    /// applies) and `ListObjectVersions` of its key (this version is the
    /// only one: no writer with a stale head wrote over a delete marker).
    async fn check_written(
        &self,
        record: &S3ObjectRef,
        until: Option<SystemTime>,
    ) -> Result<(), Error> {
        let head_request =
            HeadObjectRequest::new(record.clone(), self.policy.expected_bucket_owner.clone());
        let list_request = ListObjectVersionsRequest::new(
            &self.policy.bucket,
            record.key(),
            self.policy.expected_bucket_owner.clone(),
        );
        let (facts, versions) = tokio::join!(
            self.s3.head_object(&head_request),
            self.s3.list_object_versions(&list_request)
        );
        let (facts, versions) = (
            facts.map_err(Error::Backend)?,
            versions.map_err(Error::Backend)?,
        );
        let mut problems =
            protection_problems(&self.policy, &facts, until.unwrap_or_else(SystemTime::now));
        let others = versions
            .iter()
            .filter(|v| v.key == record.key() && Some(v.version_id.as_str()) != record.version_id())
            .count();
        if others > 0 {
            problems.push(format!(
                "its key has {others} other version(s) or delete marker(s): the ledger forked or was tampered with (run verify)"
            ));
        }
        if problems.is_empty() {
            return Ok(());
        }
        Err(ledger_error(
            BackendErrorKind::InvalidResponse,
            "ledger append",
            format!(
                "ledger record {record} (sequence {}) was written but {}; nothing that depends on it may go ahead",
                sequence_of(&self.policy.prefix, record.key()).unwrap_or_default(),
                problems.join("; ")
            ),
        ))
    }

    /// The last record and its hash, from a listing of the whole ledger,
    /// which must be whole: records 1 to N, one version each, the last
    /// one saying it is record N.
    async fn discover_head(&self) -> Result<Head, Error> {
        let (records, _) = self.list_all().await?;
        let damaged = |detail: String| {
            ledger_error(
                BackendErrorKind::InvalidResponse,
                "ledger append",
                format!(
                    "the ledger s3://{}/{} is damaged ({detail}): nothing is appended to it; run verify",
                    self.policy.bucket, self.policy.prefix
                ),
            )
        };
        for (expected, (sequence, versions)) in (1u64..).zip(&records) {
            if *sequence != expected {
                return Err(damaged(format!("record {expected} is missing")));
            }
            if versions.len() != 1 || versions[0].1 {
                return Err(damaged(format!(
                    "record {sequence} has {} versions or delete markers",
                    versions.len()
                )));
            }
        }
        let Some((&sequence, versions)) = records.iter().next_back() else {
            return Ok(Head {
                sequence: 0,
                hash: GENESIS,
            });
        };
        let bytes = self.read(sequence, Some(&versions[0].0)).await?;
        match parse(&bytes) {
            Some((own, _)) if own == sequence => Ok(Head {
                sequence,
                hash: Sha256::digest(&bytes).into(),
            }),
            _ => Err(damaged(format!(
                "record {sequence} is not a ledger record for its place"
            ))),
        }
    }

    /// Reads the records other writers appended past `from`, each of which
    /// must chain onto the one before; or finds that the record after
    /// `from` is this append's own (`mine`: its hash), written by an
    /// earlier attempt whose answer was lost.
    async fn advance(&self, from: Head, mine: [u8; 32]) -> Result<Advanced, Error> {
        let mut head = from;
        loop {
            let Some(next) = head.sequence.checked_add(1) else {
                return Ok(Advanced::To(head));
            };
            let bytes = match self.read(next, None).await {
                Ok(bytes) => bytes,
                Err(Error::Backend(e)) if e.kind() == BackendErrorKind::NotFound => {
                    // The end, as far as a read can tell: a delete marker
                    // reads as missing too, which the write's own check
                    // (its key's only version) then catches.
                    return Ok(Advanced::To(head));
                }
                Err(e) => return Err(e),
            };
            let hash: [u8; 32] = Sha256::digest(&bytes).into();
            if next == from.sequence + 1 && hash == mine {
                let version = self
                    .s3
                    .head_object(&HeadObjectRequest::new(
                        self.policy.object(next),
                        self.policy.expected_bucket_owner.clone(),
                    ))
                    .await
                    .map_err(Error::Backend)?
                    .version_id;
                return version.map(Advanced::Ours).ok_or_else(|| {
                    ledger_error(
                        BackendErrorKind::InvalidResponse,
                        "HeadObject",
                        format!("ledger record {next}: HeadObject reported no version id"),
                    )
                });
            }
            match parse(&bytes) {
                Some((own, previous)) if own == next && previous == hex::encode(head.hash) => {
                    head = Head {
                        sequence: next,
                        hash,
                    };
                }
                _ => {
                    return Err(ledger_error(
                        BackendErrorKind::InvalidResponse,
                        "ledger append",
                        format!(
                            "record {next} of s3://{}/{} does not chain onto record {}: the ledger forked or was tampered with; nothing is appended (run verify)",
                            self.policy.bucket, self.policy.prefix, head.sequence
                        ),
                    ))
                }
            }
        }
    }

    /// Every version of every record, by sequence number: version id and
    /// whether it is a delete marker; and the keys under the prefix that
    /// are not record keys.
    async fn list_all(&self) -> Result<(BTreeMap<u64, Vec<(String, bool)>>, Vec<String>), Error> {
        let versions = self
            .s3
            .list_object_versions(&ListObjectVersionsRequest::new(
                &self.policy.bucket,
                &self.policy.prefix,
                self.policy.expected_bucket_owner.clone(),
            ))
            .await
            .map_err(Error::Backend)?;
        let mut records: BTreeMap<u64, Vec<(String, bool)>> = BTreeMap::new();
        let mut foreign = Vec::new();
        for v in versions {
            match sequence_of(&self.policy.prefix, &v.key) {
                Some(n) => records
                    .entry(n)
                    .or_default()
                    .push((v.version_id, v.delete_marker)),
                None => foreign.push(v.key),
            }
        }
        Ok((records, foreign))
    }

    /// A record's bytes (at `version`, else the current version), at most
    /// 1 MiB.
    async fn read(&self, sequence: u64, version: Option<&str>) -> Result<Vec<u8>, Error> {
        let mut object = self.policy.object(sequence);
        if let Some(v) = version {
            object = object.with_version_id(v).map_err(|_| {
                ledger_error(
                    BackendErrorKind::InvalidResponse,
                    "GetObject",
                    format!("record {sequence}: an unusable version id"),
                )
            })?;
        }
        let mut stream = self
            .s3
            .get_object(&GetObjectRequest::new(
                object.clone(),
                self.policy.expected_bucket_owner.clone(),
            ))
            .await
            .map_err(Error::Backend)?;
        let mut bytes = Vec::new();
        while let Some(chunk) = stream.try_next().await.map_err(|e| {
            ledger_error(
                BackendErrorKind::Transport,
                "GetObject",
                format!("reading {object} failed: {e}"),
            )
        })? {
            if bytes.len() + chunk.len() > MAX_RECORD_BYTES {
                return Err(ledger_error(
                    BackendErrorKind::InvalidResponse,
                    "GetObject",
                    format!("{object} is larger than a ledger record can be (1 MiB)"),
                ));
            }
            bytes.extend_from_slice(&chunk);
        }
        Ok(bytes)
    }

    /// Walks the ledger from its first record: a contiguous sequence from
    /// 1, one version per record (no overwrite, no delete marker), each
    /// record's own sequence number, every hash link, and each record
    /// still SSE-KMS (under the policy's key, when it names one) and under
    /// a retention that has not ended (in the policy's mode, when it sets
    /// one). Reports the first problem; then any object under the prefix
    /// that is not a record. `progress` is called with each record checked.
    ///
    /// With `expected_head` (a receipt an append returned, kept by the
    /// caller), the record at its sequence number must be that very record
    /// (same version, same hash): every record up to it is then the one
    /// the caller saw chained. Without it, and past it, a walk cannot tell
    /// a ledger whose newest records were removed or replaced (from some
    /// record on, by a principal allowed to bypass `GOVERNANCE`, or once
    /// retentions ended) from one that never had them: see
    /// [`LedgerReport`].
    ///
    /// Cost: `ListObjectVersions`, then one `GetObject` and one
    /// `HeadObject` per record.
    ///
    /// # Errors
    /// [`Error::Backend`] when the ledger cannot be listed. A record that
    /// cannot be read is a problem in the report, not an error.
    pub async fn verify(
        &self,
        expected_head: Option<&LedgerReceipt>,
        mut progress: impl FnMut(u64),
    ) -> Result<LedgerReport, Error> {
        let (records, foreign) = self.list_all().await?;
        let mut report = LedgerReport {
            records: 0,
            head: None,
            problem: None,
        };
        report.problem = self
            .walk(&records, expected_head, &mut report, &mut progress)
            .await;
        if report.problem.is_none() {
            if let Some(expected) = expected_head {
                if report.records < expected.sequence {
                    report.problem = Some(LedgerProblem::Truncated {
                        expected: expected.sequence,
                        found: report.records,
                    });
                }
            }
        }
        if report.problem.is_none() {
            report.problem = foreign
                .into_iter()
                .next()
                .map(|key| LedgerProblem::Foreign { key });
        }
        Ok(report)
    }

    /// The walk of [`verify`](Self::verify): the first problem, with the
    /// good records counted in `report`.
    async fn walk(
        &self,
        records: &BTreeMap<u64, Vec<(String, bool)>>,
        expected_head: Option<&LedgerReceipt>,
        report: &mut LedgerReport,
        progress: &mut impl FnMut(u64),
    ) -> Option<LedgerProblem> {
        let mut previous = GENESIS;
        let now = SystemTime::now();
        for (expected, (&sequence, versions)) in (1u64..).zip(records) {
            if sequence != expected {
                return Some(LedgerProblem::Gap { sequence: expected });
            }
            if versions.len() != 1 || versions[0].1 {
                return Some(LedgerProblem::Overwritten {
                    sequence,
                    versions: versions.len(),
                });
            }
            let version = &versions[0].0;
            let bytes = match self.read(sequence, Some(version)).await {
                Ok(b) => b,
                Err(e) => {
                    return Some(LedgerProblem::Unreadable {
                        sequence,
                        reason: e.to_string(),
                    })
                }
            };
            let Some((own, link)) = parse(&bytes) else {
                return Some(LedgerProblem::Unreadable {
                    sequence,
                    reason: "not a ledger record (no sequence or previous)".to_owned(),
                });
            };
            if own != sequence {
                return Some(LedgerProblem::Reordered {
                    sequence,
                    found: own,
                });
            }
            if link != hex::encode(previous) {
                return Some(LedgerProblem::Altered { sequence });
            }
            let hash: [u8; 32] = Sha256::digest(&bytes).into();
            if let Some(kept) = expected_head.filter(|k| k.sequence == sequence) {
                // A receipt kept without its version (`kept_receipt`) is
                // held to its hash alone.
                if kept.hash != hex::encode(hash)
                    || kept.record.version_id().is_some_and(|v| v != version)
                {
                    return Some(LedgerProblem::Altered { sequence });
                }
            }
            let record = match self.policy.object(sequence).with_version_id(version) {
                Ok(r) => r,
                Err(_) => {
                    return Some(LedgerProblem::Unreadable {
                        sequence,
                        reason: "an unusable version id".to_owned(),
                    })
                }
            };
            let facts = match self
                .s3
                .head_object(&HeadObjectRequest::new(
                    record,
                    self.policy.expected_bucket_owner.clone(),
                ))
                .await
            {
                Ok(f) => f,
                Err(e) => {
                    return Some(LedgerProblem::Unreadable {
                        sequence,
                        reason: e.to_string(),
                    })
                }
            };
            let wanted_mode = self.policy.retention.as_ref().map(|(m, _)| m.to_string());
            let locked = facts
                .object_lock_mode
                .as_ref()
                .is_some_and(|m| wanted_mode.as_ref().is_none_or(|w| w == m))
                && facts.object_lock_retain_until.is_some_and(|t| t > now);
            if !locked {
                return Some(LedgerProblem::Unlocked { sequence });
            }
            let key_ok = self
                .policy
                .kms_key
                .as_ref()
                .is_none_or(|k| facts.kms_key_id.as_deref() == Some(k.as_str()));
            if !facts.encryption.is_kms() || !key_ok {
                return Some(LedgerProblem::NotEncrypted { sequence });
            }
            previous = hash;
            report.records = sequence;
            report.head = Some(hex::encode(previous));
            progress(sequence);
        }
        None
    }
}

/// What [`Ledger::advance`] found.
enum Advanced {
    /// The head after the records other writers appended.
    To(Head),
    /// The record after the head is this append's own, at this version.
    Ours(String),
}

/// A record's own sequence number and `previous` link.
fn parse(bytes: &[u8]) -> Option<(u64, String)> {
    let v: serde_json::Value = serde_json::from_slice(bytes).ok()?;
    Some((v["sequence"].as_u64()?, v["previous"].as_str()?.to_owned()))
}

/// What keeps a written record from counting as protected under `policy`.
fn protection_problems(
    policy: &LedgerPolicy,
    facts: &crate::at_rest::ObjectFacts,
    floor: SystemTime,
) -> Vec<String> {
    let mut problems = Vec::new();
    if !facts.encryption.is_kms() {
        problems.push(format!("it is not SSE-KMS ({})", facts.encryption));
    } else if let Some(key) = &policy.kms_key {
        if facts.kms_key_id.as_deref() != Some(key.as_str()) {
            problems.push(format!("it is not encrypted under {key}"));
        }
    }
    let wanted_mode = policy.retention.as_ref().map(|(m, _)| m.to_string());
    match (&facts.object_lock_mode, facts.object_lock_retain_until) {
        (Some(mode), Some(retained)) => {
            if wanted_mode.as_ref().is_some_and(|w| w != mode) {
                problems.push(format!(
                    "its Object Lock mode is {} instead of {}",
                    crate::text::Quoted(mode),
                    wanted_mode.unwrap_or_default()
                ));
            }
            // S3 keeps the date to the second.
            if retained + Duration::from_secs(1) < floor {
                problems.push("its retention ends earlier than the policy's".to_owned());
            }
        }
        _ => problems.push(
            "HeadObject reports no S3 Object Lock retention on it (enable Object Lock with a default retention on the bucket, or set one in the ledger policy)"
                .to_owned(),
        ),
    }
    problems
}

/// The sequence number of a record key under `prefix`, if it is one.
fn sequence_of(prefix: &str, key: &str) -> Option<u64> {
    let digits = key.strip_prefix(prefix)?.strip_suffix(".json")?;
    (digits.len() == 20 && digits.bytes().all(|b| b.is_ascii_digit()))
        .then(|| digits.parse().ok())
        .flatten()
}

/// What [`Ledger::verify`] found.
///
/// What it proves: the records listed form one chain from record 1, none
/// overwritten, removed from the middle or reordered, each SSE-KMS and
/// locked today; with a kept head, every record up to it is the one its
/// append returned. What it cannot see on its own: records removed or
/// replaced **from some record to the end** (by a principal allowed to
/// bypass `GOVERNANCE`, or once retentions end), since a rewritten tail
/// chains as well as the original. Close that by choosing `COMPLIANCE`
/// and by keeping the latest [`LedgerReceipt`] an append returned, passed
/// as `expected_head`: the walk then covers everything up to it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct LedgerReport {
    /// How many records were checked and found good (the chain's length
    /// up to the first problem).
    pub records: u64,
    /// The SHA-256 of the last good record, 64 hexadecimal digits.
    pub head: Option<String>,
    /// The first problem, if any.
    pub problem: Option<LedgerProblem>,
}

impl LedgerReport {
    /// Whether the ledger is intact as far as it can be checked.
    pub fn is_intact(&self) -> bool {
        self.problem.is_none()
    }
}

/// The first problem [`Ledger::verify`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum LedgerProblem {
    /// Record `sequence` is missing while later ones exist.
    Gap {
        /// The missing sequence number.
        sequence: u64,
    },
    /// Record `sequence` has more than one version, or a delete marker:
    /// it was overwritten or deleted.
    Overwritten {
        /// The record.
        sequence: u64,
        /// How many versions and delete markers it has.
        versions: usize,
    },
    /// The chain breaks at record `sequence`: its `previous` is not the
    /// SHA-256 of the record before (one of the two changed), or it is not
    /// the record (version and hash) the kept head names.
    Altered {
        /// The record.
        sequence: u64,
    },
    /// The record at `sequence`'s key says it is record `found`.
    Reordered {
        /// Where it is.
        sequence: u64,
        /// The sequence number it holds.
        found: u64,
    },
    /// Record `sequence` has no S3 Object Lock retention, or it has ended.
    Unlocked {
        /// The record.
        sequence: u64,
    },
    /// Record `sequence` is not SSE-KMS.
    NotEncrypted {
        /// The record.
        sequence: u64,
    },
    /// Record `sequence` could not be read or parsed.
    Unreadable {
        /// The record.
        sequence: u64,
        /// Why.
        reason: String,
    },
    /// The ledger ends before the expected head.
    Truncated {
        /// The expected head's sequence number.
        expected: u64,
        /// The last record found.
        found: u64,
    },
    /// An object under the prefix that is not a record key.
    Foreign {
        /// Its key.
        key: String,
    },
}

impl LedgerProblem {
    /// `gap`, `overwritten`, `altered`, `reordered`, `unlocked`,
    /// `not_encrypted`, `unreadable`, `truncated` or `foreign`.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Gap { .. } => "gap",
            Self::Overwritten { .. } => "overwritten",
            Self::Altered { .. } => "altered",
            Self::Reordered { .. } => "reordered",
            Self::Unlocked { .. } => "unlocked",
            Self::NotEncrypted { .. } => "not_encrypted",
            Self::Unreadable { .. } => "unreadable",
            Self::Truncated { .. } => "truncated",
            Self::Foreign { .. } => "foreign",
        }
    }

    /// The record the problem is at (for `foreign`, none).
    pub fn sequence(&self) -> Option<u64> {
        match self {
            Self::Gap { sequence }
            | Self::Overwritten { sequence, .. }
            | Self::Altered { sequence }
            | Self::Reordered { sequence, .. }
            | Self::Unlocked { sequence }
            | Self::NotEncrypted { sequence }
            | Self::Unreadable { sequence, .. } => Some(*sequence),
            Self::Truncated { found, .. } => Some(found + 1),
            Self::Foreign { .. } => None,
        }
    }
}

impl fmt::Display for LedgerProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Gap { sequence } => write!(f, "record {sequence} is missing while later records exist"),
            Self::Overwritten { sequence, versions } => write!(
                f,
                "record {sequence} has {versions} versions or delete markers: it was overwritten or deleted"
            ),
            Self::Altered { sequence } => write!(
                f,
                "the chain breaks at record {sequence}: it does not link to the record before it, or it is not the record the kept head names"
            ),
            Self::Reordered { sequence, found } => {
                write!(f, "the record stored as {sequence} says it is record {found}")
            }
            Self::Unlocked { sequence } => write!(
                f,
                "record {sequence} has no S3 Object Lock retention in force"
            ),
            Self::NotEncrypted { sequence } => write!(f, "record {sequence} is not SSE-KMS"),
            Self::Unreadable { sequence, reason } => {
                write!(f, "record {sequence} could not be read: {reason}")
            }
            Self::Truncated { expected, found } => write!(
                f,
                "the ledger ends at record {found}, before the expected head {expected}: the newest records were removed"
            ),
            Self::Foreign { key } => write!(
                f,
                "{} is under the ledger's prefix but is not a record",
                crate::text::Quoted(key)
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A record whose check fails after the append returned (S3 stated
    /// SSE-KMS, but HeadObject shows no retention): the failure comes back
    /// from `confirm` and from every later append, and nothing more is
    /// written.
    #[cfg(feature = "test-util")]
    #[tokio::test]
    async fn a_check_that_fails_after_the_append_stops_every_later_one() {
        use crate::at_rest::{ObjectFacts, SseAlgorithm};
        use crate::backend::{MockS3Backend, PutRecordReceipt, StoredVersion};
        const KEY: &str =
            "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";
        let mut s3 = MockS3Backend::new();
        s3.expect_list_object_versions().returning(|r| {
            Ok(if r.prefix.ends_with(".json") {
                vec![StoredVersion::new(&r.prefix, "v1", false)]
            } else {
                Vec::new()
            })
        });
        s3.expect_put_record().times(1).returning(|_| {
            Ok(PutRecordReceipt::new(
                Some("v1".into()),
                Some(SseAlgorithm::AwsKms),
                Some(KEY.into()),
            ))
        });
        s3.expect_head_object()
            .returning(|_| Ok(ObjectFacts::sse_kms(KEY, 200)));
        let ledger = Ledger::new(
            s3,
            LedgerPolicy::parse("s3://ledger/kiosk")
                .unwrap()
                .with_kms_key(KmsKeyArn::parse(KEY).unwrap())
                .with_retention(RetentionMode::Compliance, Duration::from_secs(60)),
        );
        let receipt = ledger
            .append(LedgerEntry::Decision, serde_json::json!({}))
            .await
            .expect("returned after PutObject");
        assert_eq!(receipt.sequence, 1);
        let err = ledger.confirm().await.unwrap_err();
        assert!(
            err.to_string().contains("no S3 Object Lock retention"),
            "{err}"
        );
        let err = ledger
            .append(LedgerEntry::Decision, serde_json::json!({}))
            .await
            .unwrap_err();
        assert!(err.to_string().contains("appends nothing more"), "{err}");
    }

    #[test]
    fn locations_are_checked() {
        assert_eq!(LedgerPolicy::parse("s3://ledger").unwrap().prefix(), "");
        assert_eq!(
            LedgerPolicy::parse("s3://ledger/a/b").unwrap().prefix(),
            "a/b/"
        );
        assert!(LedgerPolicy::parse("ledger/a").is_err());
        assert!(LedgerPolicy::parse("s3://Not_A_Bucket/a").is_err());
        assert_eq!(sequence_of("p/", "p/00000000000000000042.json"), Some(42));
        assert_eq!(sequence_of("p/", "p/42.json"), None);
        assert_eq!(sequence_of("p/", "q/00000000000000000042.json"), None);
        let policy = LedgerPolicy::parse("s3://ledger/p").unwrap();
        let kept = policy.kept_receipt(2, &"ab".repeat(32)).unwrap();
        assert_eq!(kept.record.key(), "p/00000000000000000002.json");
        assert!(kept.record.version_id().is_none());
        assert!(policy.kept_receipt(0, &"ab".repeat(32)).is_err());
        assert!(policy.kept_receipt(2, "not-a-hash").is_err());
        assert!(policy.kept_receipt(2, &"AB".repeat(32)).is_err());
    }
}
