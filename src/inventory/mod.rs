//! At-rest compliance for a whole fleet: S3 Inventory in, S3 Batch
//! Operations out.
//!
//! The guard refuses a non-compliant photo at the kiosk, one member at a
//! time. [`PhotoStore::audit_inventory`](crate::PhotoStore::audit_inventory) answers
//! for every stored version at once, from the bucket's
//! [S3 Inventory](https://docs.aws.amazon.com/AmazonS3/latest/userguide/storage-inventory.html)
//! report, and writes what must be fixed as
//! [S3 Batch Operations](https://docs.aws.amazon.com/AmazonS3/latest/userguide/batch-ops.html)
//! manifests.
//!
//! 1. **The report**: `manifest.json` is read from
//!    S3 over HTTPS and checked against `manifest.checksum` (the MD5 of
//!    `manifest.json`, hex). Only CSV reports are read (ORC and Parquet are
//!    refused: CSV is also the only inventory format Batch Operations
//!    takes); `fileSchema` must include `Bucket`, `Key` and
//!    `EncryptionStatus` ([`InventoryError::MissingColumn`] says how to add
//!    it).
//! 2. **The data files**: each gzip-compressed CSV file
//!    is streamed from S3 and parsed as it arrives: memory stays bounded
//!    whatever the number of rows. Each file's MD5 and size must match what
//!    the manifest lists; a mismatch fails the whole audit, so no report is
//!    ever built on a file that was not the one S3 Inventory wrote. Keys are
//!    decoded from the inventory's URL encoding (form style: `+` is a space,
//!    `%2B` a plus).
//! 3. **Classification**: `SSE-KMS` and
//!    `DSSE-KMS` are compliant (unless a key check below finds them under
//!    a foreign key or holding client-side ciphertext, or an instruction
//!    file `<key>.instruction` lies beside them); `SSE-S3`, `NOT-SSE` and
//!    `SSE-C` are not; a
//!    delete marker stores nothing and is skipped; a status this crate does
//!    not know is never compliant. Counts are kept per `EncryptionStatus`
//!    and per `BucketKeyStatus`.
//! 4. **The key allowlist at scale**: inventory has **no KMS key column**,
//!    so with [`InventoryAuditOptions::check_kms_keys`] every SSE-KMS and
//!    DSSE-KMS version is checked with HeadObject, pinned to its version id,
//!    at bounded concurrency ([`InventoryAuditOptions::concurrency`]; the
//!    SDK's standard retry policy retries throttling), with progress. The
//!    same HeadObject shows the S3 Encryption Client's metadata envelope:
//!    key checks are the only way the audit sees client-side ciphertext
//!    whose envelope is in its metadata (the client's default).
//! 5. **Client-side ciphertext**: versions carrying that envelope, and keys
//!    with an instruction file beside them (found in every audit, from the
//!    listing), are never compliant
//!    ([`InventoryReport::client_side_encrypted`],
//!    [`InventoryReport::instruction_files`]). An instruction file with no
//!    object beside it still counts: delete it if it is an orphan.
//! 6. **Remediation** ([`RemediationSink`], [`BatchManifestWriter`]): each
//!    non-compliant version goes to one of three Batch Operations CSV
//!    manifests (`S3BatchOperations_CSV_20180820`: `bucket,key,versionId`,
//!    no header, keys percent-encoded): [`Remediation::UpdateObjectEncryption`]
//!    (re-keyed in place; version id and ETag stay, so enrolled pins stay
//!    valid), [`Remediation::CopyObject`] (a copy writes a **new version**:
//!    pins on these versions change), or, for a noncurrent version that
//!    would need a copy, [`Remediation::DeleteNoncurrentVersion`] (copying
//!    it would make its old content current again); client-side
//!    ciphertext goes to the [`Remediation::DecryptClientSide`] list, in
//!    the same format but for no Batch Operations job.
//!
//! Facts and sources: S3 User Guide, "Amazon S3 Inventory list" and
//! "Locating your inventory list"; S3 API `InventoryConfiguration`; S3 User
//! Guide, "Specifying a manifest" (Batch Operations).

mod manifest;
pub(crate) mod reader;
pub(crate) mod remediation;

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

pub(crate) use manifest::{DataFile, InventoryManifest};
pub(crate) use reader::InventoryRow;
pub use remediation::{BatchManifestWriter, Remediation, RemediationSink};

use crate::input::S3ObjectRef;
use crate::text::quote;

/// The longest text from a report that an error quotes.
const QUOTE_MAX: usize = 120;

/// The `EncryptionStatus` column of an S3 Inventory report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum EncryptionStatus {
    /// `SSE-S3`: S3-managed keys (`AES256`). Not compliant.
    SseS3,
    /// `SSE-KMS`: AWS KMS keys. Compliant.
    SseKms,
    /// `DSSE-KMS`: dual-layer encryption with AWS KMS keys. Compliant.
    DsseKms,
    /// `SSE-C`: customer-provided keys. Not compliant.
    SseC,
    /// `NOT-SSE`: not encrypted by S3. Not compliant.
    NotSse,
    /// Any other value, or an empty field: never compliant (the value
    /// itself is not kept: it is text from a file).
    Unknown,
}

impl EncryptionStatus {
    /// Parses the column's value; anything else is
    /// [`Unknown`](Self::Unknown).
    pub(crate) fn parse(value: &str) -> Self {
        match value {
            "SSE-S3" => Self::SseS3,
            "SSE-KMS" => Self::SseKms,
            "DSSE-KMS" => Self::DsseKms,
            "SSE-C" => Self::SseC,
            "NOT-SSE" => Self::NotSse,
            _ => Self::Unknown,
        }
    }

    /// The column's value (`UNKNOWN` for [`Unknown`](Self::Unknown)): the
    /// keys of [`InventoryReport::counts`].
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::SseS3 => "SSE-S3",
            Self::SseKms => "SSE-KMS",
            Self::DsseKms => "DSSE-KMS",
            Self::SseC => "SSE-C",
            Self::NotSse => "NOT-SSE",
            Self::Unknown => "UNKNOWN",
        }
    }

    /// Whether a version with this status is encrypted with SSE-KMS or
    /// DSSE-KMS (its KMS key may still be outside an allowlist).
    pub(crate) fn is_kms(self) -> bool {
        matches!(self, Self::SseKms | Self::DsseKms)
    }

    /// How a version with this status is fixed: `None` when it is
    /// compliant (or unknown: nothing is guessed for a value this crate
    /// does not know; it is counted, never compliant, and left to the
    /// operator).
    ///
    /// | status | remediation |
    /// |---|---|
    /// | `SSE-KMS`, `DSSE-KMS` | none (compliant) |
    /// | `SSE-S3` | [`Remediation::UpdateObjectEncryption`]: re-keyed in place |
    /// | `NOT-SSE`, `SSE-C` | [`Remediation::CopyObject`]: a new version (for a noncurrent version, [`Remediation::DeleteNoncurrentVersion`]: see [`Remediation::for_version`]) |
    /// | unknown | none (not compliant) |
    pub(crate) fn classify(self) -> Option<Remediation> {
        match self {
            Self::SseKms | Self::DsseKms | Self::Unknown => None,
            Self::SseS3 => Some(Remediation::UpdateObjectEncryption),
            Self::NotSse | Self::SseC => Some(Remediation::CopyObject),
        }
    }
}

impl fmt::Display for EncryptionStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The `BucketKeyStatus` column: whether the version was encrypted with an
/// S3 Bucket Key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum BucketKeyStatus {
    /// `ENABLED`.
    Enabled,
    /// `DISABLED`.
    Disabled,
    /// An empty field (S3 leaves it empty for versions not encrypted with
    /// KMS) or any other value.
    Unreported,
}

impl BucketKeyStatus {
    /// Parses the column's value.
    pub(crate) fn parse(value: &str) -> Self {
        match value {
            "ENABLED" => Self::Enabled,
            "DISABLED" => Self::Disabled,
            _ => Self::Unreported,
        }
    }

    /// `ENABLED`, `DISABLED` or `UNREPORTED`: the keys of
    /// [`InventoryReport::bucket_key_counts`].
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Enabled => "ENABLED",
            Self::Disabled => "DISABLED",
            Self::Unreported => "UNREPORTED",
        }
    }
}

/// Why an inventory report could not be read. Every variant fails the whole
/// audit: no counts and no verdict are given for a report that was not
/// read in full, exactly as S3 Inventory wrote it.
///
/// Text taken from the report (file keys, column names, values) is quoted
/// and escaped, never echoed raw.
#[derive(Debug, Clone, PartialEq, Eq, derive_more::Display)]
#[non_exhaustive]
pub enum InventoryError {
    /// `manifest.json` does not have the MD5 that `manifest.checksum`
    /// states: the manifest was changed or cut short after S3 wrote it.
    #[display("the inventory manifest {manifest} does not match its manifest.checksum (MD5 {expected} expected, {actual} read): read a complete report, or wait for S3 Inventory's next delivery")]
    ManifestChecksumMismatch {
        /// The manifest.
        manifest: S3ObjectRef,
        /// The MD5 `manifest.checksum` states (hex).
        expected: String,
        /// The MD5 of what was read (hex).
        actual: String,
    },
    /// A data file's MD5 or size is not what the manifest lists.
    #[display("inventory data file {file} does not match the manifest ({detail}): the file was changed or cut short after S3 Inventory wrote it")]
    DataFileMismatch {
        /// The data file.
        file: S3ObjectRef,
        /// What differs (MD5 or size, expected and read).
        detail: String,
    },
    /// A data file the manifest lists does not exist.
    #[display("inventory data file {file} listed in the manifest does not exist: check that the report was not deleted or moved, and that the manifest names its files exactly (a destination prefix ending in '/' has produced manifests whose file keys lost a slash)")]
    MissingDataFile {
        /// The data file, as the manifest names it.
        file: S3ObjectRef,
    },
    /// The report is not CSV.
    #[display("the inventory report is {format}, but only CSV is read (Batch Operations also takes only CSV inventories): set the inventory configuration's Destination Format to CSV (PutBucketInventoryConfiguration) and use its next report")]
    UnsupportedFormat {
        /// The report's `fileFormat`, quoted.
        format: String,
    },
    /// A column the audit needs is not in the report's `fileSchema`.
    #[display("the inventory report has no {column} column: {fix}")]
    MissingColumn {
        /// The missing column (`Bucket`, `Key` or `EncryptionStatus`).
        column: &'static str,
        /// How to change the inventory configuration.
        fix: &'static str,
    },
    /// `fileSchema` is not one S3 Inventory writes (too many columns, a
    /// column twice).
    #[display("the inventory report's fileSchema is unusable: {reason}")]
    InvalidSchema {
        /// What is wrong.
        reason: String,
    },
    /// `manifest.json` is not a manifest this crate can read.
    #[display("the inventory manifest {manifest} is unusable: {reason}")]
    InvalidManifest {
        /// The manifest.
        manifest: S3ObjectRef,
        /// What is wrong.
        reason: String,
    },
    /// The report covers another bucket than the one audited, or a row
    /// names another bucket than the manifest's `sourceBucket`.
    #[display("the inventory report is about bucket {found}, not {expected}: read the report of the bucket you mean to audit")]
    WrongBucket {
        /// The bucket expected.
        expected: String,
        /// The bucket the report or row names, quoted.
        found: String,
    },
    /// A data file is not gzip, or a row is not a row of this report.
    #[display("inventory data file {file} is unreadable at row {row}: {reason}")]
    InvalidData {
        /// The data file.
        file: S3ObjectRef,
        /// The 1-based row (0 before the first row).
        row: u64,
        /// What is wrong.
        reason: String,
    },
    /// A remediation manifest could not be written.
    #[display("writing a remediation manifest failed: {reason}")]
    RemediationWrite {
        /// The I/O error.
        reason: String,
    },
}

impl InventoryError {
    pub(crate) fn invalid_manifest(manifest: &S3ObjectRef, reason: impl Into<String>) -> Self {
        Self::InvalidManifest {
            manifest: manifest.clone(),
            reason: reason.into(),
        }
    }
}

/// Quotes text from a report for an error message.
pub(crate) fn quoted(text: &str) -> String {
    quote(text, QUOTE_MAX)
}

/// Progress of a running audit, handed to
/// [`InventoryAuditOptions::on_progress`] after each data file and every
/// 100 000 rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct InventoryProgress {
    /// Data files read completely.
    pub files_done: usize,
    /// Data files in the report.
    pub files_total: usize,
    /// Rows read so far (delete markers included).
    pub rows: u64,
    /// KMS keys checked with HeadObject so far.
    pub keys_checked: u64,
}

/// How often (in rows) progress is reported within a data file.
pub(crate) const PROGRESS_EVERY_ROWS: u64 = 100_000;

/// The default number of HeadObject calls in flight for key checks.
pub(crate) const DEFAULT_CONCURRENCY: usize = 16;

/// The most HeadObject calls in flight that
/// [`InventoryAuditOptions::concurrency`] accepts.
pub const MAX_CONCURRENCY: usize = 256;

/// A progress callback.
pub(crate) type ProgressFn = Arc<dyn Fn(&InventoryProgress) + Send + Sync>;

/// Options of [`PhotoStore::audit_inventory`](crate::PhotoStore::audit_inventory).
/// The default: no key checks, 16 calls in flight, no progress callback.
#[derive(Clone, Default)]
pub struct InventoryAuditOptions {
    source_bucket: Option<String>,
    check_kms_keys: bool,
    concurrency: Option<usize>,
    progress: Option<ProgressFn>,
}

impl fmt::Debug for InventoryAuditOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InventoryAuditOptions")
            .field("source_bucket", &self.source_bucket)
            .field("check_kms_keys", &self.check_kms_keys)
            .field("concurrency", &self.calls_in_flight())
            .field("progress", &self.progress.is_some())
            .finish()
    }
}

impl InventoryAuditOptions {
    /// The bucket the report must cover: a report of another bucket
    /// (its `sourceBucket`) fails with [`InventoryError::WrongBucket`]
    /// before any data file is read. Without it, the report says which
    /// bucket it covers ([`InventoryReport::source_bucket`]).
    pub fn source_bucket(mut self, bucket: &str) -> Self {
        self.source_bucket = Some(bucket.to_owned());
        self
    }

    /// Checks the KMS key of every SSE-KMS and DSSE-KMS version against the
    /// policy's allowlist ([`Policy::allow_kms_key`](crate::Policy::allow_kms_key))
    /// with HeadObject, pinned to the version (inventory has no key
    /// column). Needs an allowlist: without one the audit fails with
    /// [`ConfigError::Invalid`](crate::error::ConfigError::Invalid). The
    /// same HeadObject is the only way the audit sees client-side
    /// ciphertext whose S3 Encryption Client envelope is in its metadata
    /// ([`InventoryReport::client_side_encrypted`]): without key checks a
    /// bucket of such objects, stored with SSE-KMS, audits as compliant.
    pub fn check_kms_keys(mut self, check: bool) -> Self {
        self.check_kms_keys = check;
        self
    }

    /// HeadObject calls in flight for key checks, clamped to
    /// `1..=`[`MAX_CONCURRENCY`].
    pub fn concurrency(mut self, calls: usize) -> Self {
        self.concurrency = Some(calls.clamp(1, MAX_CONCURRENCY));
        self
    }

    /// Called after each data file and every 100 000 rows,
    /// on the audit's task: keep it quick.
    pub fn on_progress(
        mut self,
        progress: impl Fn(&InventoryProgress) + Send + Sync + 'static,
    ) -> Self {
        self.progress = Some(Arc::new(progress));
        self
    }

    pub(crate) fn expected_source_bucket(&self) -> Option<&str> {
        self.source_bucket.as_deref()
    }

    pub(crate) fn checks_kms_keys(&self) -> bool {
        self.check_kms_keys
    }

    pub(crate) fn calls_in_flight(&self) -> usize {
        self.concurrency.unwrap_or(DEFAULT_CONCURRENCY)
    }

    pub(crate) fn report_progress(&self, progress: &InventoryProgress) {
        if let Some(f) = &self.progress {
            f(progress);
        }
    }
}

/// What an inventory audit found. Built only by
/// [`PhotoStore::audit_inventory`](crate::PhotoStore::audit_inventory), after every
/// data file was read and matched its checksum.
///
/// With feature `serde`, serializes as the `audit_inventory` example's
/// JSON (without `remediation`, which names the caller's files).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct InventoryReport {
    /// The bucket the report covers (`sourceBucket`).
    pub source_bucket: String,
    /// Whether the report lists every version (`IncludedObjectVersions`
    /// `All`). When not, only current versions were judged: noncurrent
    /// versions, which still store their photos, are not in the report.
    pub all_versions: bool,
    /// Whether the report covers every version the bucket stores: a report
    /// of all versions, or a current-versions report of a bucket whose
    /// versioning was never enabled (`GetBucketVersioning` without a
    /// `Status`: no noncurrent version can exist). Without it there is no
    /// compliant verdict ([`uncovered`](Self::uncovered) says why).
    pub covers_all_versions: bool,
    /// Why the report does not cover every stored version, and how to get
    /// one that does; `None` when it does.
    pub uncovered: Option<String>,
    /// When S3 started the report (`creationTimestamp`, milliseconds since
    /// the Unix epoch), if stated: what was written or re-encrypted since
    /// is not in it.
    pub creation_timestamp_ms: Option<u64>,
    /// Data files read.
    pub files: usize,
    /// Rows read, delete markers included.
    pub rows: u64,
    /// Object versions classified (rows that are not delete markers).
    pub versions: u64,
    /// Delete markers (they store nothing; skipped).
    pub delete_markers: u64,
    /// Versions per `EncryptionStatus`, keyed as the report writes it
    /// (`SSE-S3`, `SSE-KMS`, `DSSE-KMS`, `SSE-C`, `NOT-SSE`, `UNKNOWN`).
    pub counts: BTreeMap<&'static str, u64>,
    /// Versions per `BucketKeyStatus` (`ENABLED`, `DISABLED`,
    /// `UNREPORTED`); empty
    /// when the report has no `BucketKeyStatus` column.
    pub bucket_key_counts: BTreeMap<&'static str, u64>,
    /// Whether KMS keys were checked against the allowlist.
    pub kms_keys_checked: bool,
    /// SSE-KMS and DSSE-KMS versions whose key HeadObject reported.
    pub keys_checked: u64,
    /// Of those, versions under a key outside the allowlist (or no longer
    /// encrypted with KMS at all).
    pub keys_not_allowed: u64,
    /// Versions whose key could not be checked (HeadObject failed after
    /// the SDK's retries, or reported no usable key): never compliant.
    pub keys_unchecked: u64,
    /// Versions the report lists by version id that S3 no longer has
    /// (HeadObject of that version: not found): deleted since the report;
    /// they store nothing. (Without a version id, a miss is
    /// [unchecked](Self::keys_unchecked).)
    pub versions_gone: u64,
    /// SSE-KMS and DSSE-KMS versions whose HeadObject showed the S3
    /// Encryption Client's envelope in their user metadata: client-side
    /// ciphertext, written to the [`Remediation::DecryptClientSide`] list
    /// (seen only when [`kms_keys_checked`](Self::kms_keys_checked), which
    /// reads every such version's metadata).
    pub client_side_encrypted: u64,
    /// Instruction files (`<key>.instruction`, versions that are not delete
    /// markers) the report lists: the S3 Encryption Client's envelope kept
    /// beside `<key>`, whose versions are then client-side ciphertext. Each
    /// puts `<key>` (no version) on the [`Remediation::DecryptClientSide`]
    /// list. Seen in every audit: the report lists every key.
    pub instruction_files: u64,
    /// Versions written to the [`Remediation::UpdateObjectEncryption`]
    /// manifest.
    pub update_in_place: u64,
    /// Versions written to the [`Remediation::CopyObject`] manifest (their
    /// version ids, and so pins, change when copied).
    pub copy: u64,
    /// Noncurrent versions written to the
    /// [`Remediation::DeleteNoncurrentVersion`] list (a copy would make
    /// them current again).
    pub delete_noncurrent: u64,
}

impl InventoryReport {
    /// Versions that are not compliant: every version written to a
    /// remediation manifest, every unknown status and every unchecked key.
    pub fn non_compliant(&self) -> u64 {
        self.update_in_place
            + self.copy
            + self.delete_noncurrent
            + self
                .counts
                .get(EncryptionStatus::Unknown.as_str())
                .copied()
                .unwrap_or(0)
            + self.keys_unchecked
            + self.client_side_encrypted
            + self.instruction_files
    }

    /// Whether every version the bucket stores is encrypted with SSE-KMS
    /// or DSSE-KMS (and, when [`kms_keys_checked`](Self::kms_keys_checked),
    /// under an allowed key). Fails closed: an unknown status or an
    /// unchecked key is not compliant, and neither is a report of no
    /// versions at all (nothing was shown), nor one that does not
    /// [cover every stored version](Self::covers_all_versions) (a
    /// current-versions report of a versioned bucket: its noncurrent
    /// versions were never seen).
    pub fn is_compliant(&self) -> bool {
        self.covers_all_versions && self.versions > 0 && self.non_compliant() == 0
    }
}

#[cfg(feature = "serde")]
#[cfg_attr(docsrs, doc(cfg(feature = "serde")))]
impl serde::Serialize for InventoryReport {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut r = serializer.serialize_struct("InventoryReport", 23)?;
        r.serialize_field("source_bucket", &self.source_bucket)?;
        r.serialize_field("all_versions", &self.all_versions)?;
        r.serialize_field("covers_all_versions", &self.covers_all_versions)?;
        r.serialize_field("uncovered", &self.uncovered)?;
        r.serialize_field("creation_timestamp_ms", &self.creation_timestamp_ms)?;
        r.serialize_field("files", &self.files)?;
        r.serialize_field("rows", &self.rows)?;
        r.serialize_field("versions", &self.versions)?;
        r.serialize_field("delete_markers", &self.delete_markers)?;
        r.serialize_field("compliant", &self.is_compliant())?;
        r.serialize_field("non_compliant", &self.non_compliant())?;
        r.serialize_field("counts", &self.counts)?;
        r.serialize_field("bucket_key_counts", &self.bucket_key_counts)?;
        r.serialize_field("kms_keys_checked", &self.kms_keys_checked)?;
        r.serialize_field("keys_checked", &self.keys_checked)?;
        r.serialize_field("keys_not_allowed", &self.keys_not_allowed)?;
        r.serialize_field("keys_unchecked", &self.keys_unchecked)?;
        r.serialize_field("versions_gone", &self.versions_gone)?;
        r.serialize_field("client_side_encrypted", &self.client_side_encrypted)?;
        r.serialize_field("instruction_files", &self.instruction_files)?;
        r.serialize_field("update_in_place", &self.update_in_place)?;
        r.serialize_field("copy", &self.copy)?;
        r.serialize_field("delete_noncurrent", &self.delete_noncurrent)?;
        r.end()
    }
}

/// What [`PhotoStore::reencrypt`](crate::PhotoStore::reencrypt) did to one version,
/// confirmed by HeadObject afterwards.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Reencrypted {
    /// The version that was fixed, as given.
    pub object: S3ObjectRef,
    /// How.
    pub remediation: Remediation,
    /// The version now stored: the same id after
    /// [`Remediation::UpdateObjectEncryption`], a **new** one after
    /// [`Remediation::CopyObject`] (`None` in a bucket without
    /// versioning).
    pub new_version_id: Option<String>,
    /// The KMS key HeadObject reports for it afterwards (an allowed key).
    pub kms_key: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classification_follows_the_table() {
        use EncryptionStatus as S;
        for (value, status, remediation, kms) in [
            ("SSE-KMS", S::SseKms, None, true),
            ("DSSE-KMS", S::DsseKms, None, true),
            (
                "SSE-S3",
                S::SseS3,
                Some(Remediation::UpdateObjectEncryption),
                false,
            ),
            ("NOT-SSE", S::NotSse, Some(Remediation::CopyObject), false),
            ("SSE-C", S::SseC, Some(Remediation::CopyObject), false),
            ("", S::Unknown, None, false),
            ("sse-kms", S::Unknown, None, false),
            ("SSE-KMS ", S::Unknown, None, false),
        ] {
            let parsed = S::parse(value);
            assert_eq!(parsed, status, "{value:?}");
            assert_eq!(parsed.classify(), remediation, "{value:?}");
            assert_eq!(parsed.is_kms(), kms, "{value:?}");
        }
    }

    #[test]
    fn a_noncurrent_version_is_never_copied_over_its_key() {
        use Remediation as R;
        assert_eq!(R::CopyObject.for_version(true), R::CopyObject);
        assert_eq!(R::CopyObject.for_version(false), R::DeleteNoncurrentVersion);
        for current in [true, false] {
            assert_eq!(
                R::UpdateObjectEncryption.for_version(current),
                R::UpdateObjectEncryption
            );
        }
    }

    #[test]
    fn an_unknown_status_is_never_compliant() {
        let mut report = InventoryReport {
            covers_all_versions: true,
            ..InventoryReport::default()
        };
        assert!(!report.is_compliant(), "no versions shown, no verdict");
        report.versions = 10;
        report.counts.insert("SSE-KMS", 10);
        assert!(report.is_compliant());
        // Every version listed is compliant, but not every stored one
        // was listed: no verdict.
        report.covers_all_versions = false;
        assert!(!report.is_compliant());
        report.covers_all_versions = true;
        report.counts.insert("UNKNOWN", 1);
        assert!(!report.is_compliant());
        assert_eq!(report.non_compliant(), 1);
    }
}
