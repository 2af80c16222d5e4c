//! The ledger scenarios ([`crate::ledger`]), written once over a
//! [`LedgerHarness`]. This crate runs them against
//! [`InMemoryBackend`](crate::memory::InMemoryBackend) and against
//! `AwsBackend` talking to moto over TLS (Object Lock and conditional
//! writes work there).
//!
//! ```
//! use rekognition_guard::conformance::ledger::{run_all, LedgerHarness};
//!
//! async fn my_backend_conforms(harness: &dyn LedgerHarness) {
//!     run_all(harness).await;
//! }
//! ```
//!
//! The crate's own runs are models for a harness: over the simulation in
//! `src/conformance/ledger.rs` (module `in_memory`), over moto in
//! `tests/it/support/ledger.rs`.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

use crate::backend::{RetentionMode, S3Backend};
use crate::input::KmsKeyArn;
use crate::ledger::{Ledger, LedgerEntry, LedgerPolicy, LedgerProblem, LedgerReceipt};

/// One backend under test: buckets for ledgers, and the tampering a
/// scenario needs done behind the ledger's back.
#[async_trait]
pub trait LedgerHarness: Send + Sync {
    /// A short name for messages.
    fn name(&self) -> &str;
    /// The backend the ledgers write through.
    fn backend(&self) -> Arc<dyn S3Backend>;
    /// The KMS key the buckets' default encryption uses.
    fn kms_key(&self) -> KmsKeyArn;
    /// A new versioned bucket, default encryption SSE-KMS under
    /// [`kms_key`](Self::kms_key), with S3 Object Lock enabled (no default
    /// retention) if `object_lock`.
    async fn new_bucket(&self, object_lock: bool) -> String;
    /// Writes a new version of `key` (SSE-KMS, no retention), as someone
    /// with `s3:PutObject` could.
    async fn overwrite(&self, bucket: &str, key: &str);
    /// Deletes version `version` of `key` with the governance bypass, as a
    /// principal with `s3:BypassGovernanceRetention` could.
    async fn delete_bypassing_governance(&self, bucket: &str, key: &str, version: &str);
}

/// Runs every ledger scenario against `h`.
pub async fn run_all(h: &dyn LedgerHarness) {
    appended_records_chain_and_verify_intact(h).await;
    two_writers_at_once_neither_fork_nor_leave_a_gap(h).await;
    an_overwritten_record_is_found(h).await;
    a_record_removed_from_the_middle_is_a_gap_and_the_newest_needs_the_kept_head(h).await;
    a_record_without_retention_or_a_bucket_without_object_lock_approves_nothing(h).await;
    a_rewritten_tail_is_caught_by_the_kept_head_and_appends_refuse_a_damaged_ledger(h).await;
    an_oversized_record_is_refused_and_a_foreign_object_is_named(h).await;
}

const DAY: Duration = Duration::from_secs(24 * 3600);

fn policy(h: &dyn LedgerHarness, bucket: &str, mode: RetentionMode) -> LedgerPolicy {
    LedgerPolicy::parse(&format!("s3://{bucket}/kiosk"))
        .expect("a ledger location")
        .with_kms_key(h.kms_key())
        .with_retention(mode, DAY)
}

async fn append(h: &dyn LedgerHarness, ledger: &Ledger, n: u64) -> LedgerReceipt {
    ledger
        .append(
            LedgerEntry::Decision,
            serde_json::json!({ "decision": "match", "n": n }),
        )
        .await
        .unwrap_or_else(|e| panic!("{}: append {n}: {e}", h.name()))
}

/// Three records chain from 1 under `PREFIX/<20 digits>.json`; the walk
/// finds them intact, reaches the head the last append returned, and
/// reports progress per record; another process finds the head by
/// listing and goes on from it.
async fn appended_records_chain_and_verify_intact(h: &dyn LedgerHarness) {
    let name = h.name();
    let bucket = h.new_bucket(true).await;
    let ledger = Ledger::new(h.backend(), policy(h, &bucket, RetentionMode::Compliance));
    let mut last = None;
    for n in 1..=3 {
        let receipt = append(h, &ledger, n).await;
        assert_eq!(receipt.sequence, n, "{name}");
        assert_eq!(
            receipt.record.key(),
            format!("kiosk/{n:020}.json"),
            "{name}"
        );
        assert!(receipt.record.version_id().is_some(), "{name}: pinned");
        last = Some(receipt);
    }
    let mut seen = Vec::new();
    let report = ledger
        .verify(last.as_ref(), |n| seen.push(n))
        .await
        .unwrap();
    assert!(report.is_intact(), "{name}: {report:?}");
    assert_eq!(report.records, 3, "{name}");
    assert_eq!(
        report.head.as_deref(),
        last.map(|r| r.hash).as_deref(),
        "{name}"
    );
    assert_eq!(seen, [1, 2, 3], "{name}");

    let other = Ledger::new(h.backend(), policy(h, &bucket, RetentionMode::Compliance));
    assert_eq!(append(h, &other, 4).await.sequence, 4, "{name}");
    assert!(
        other.verify(None, |_| {}).await.unwrap().is_intact(),
        "{name}"
    );
}

/// Two writers (two processes' ledgers) appending at the same time: every
/// append succeeds, the sequence numbers are 1 to 10 with none twice, and
/// the chain verifies.
async fn two_writers_at_once_neither_fork_nor_leave_a_gap(h: &dyn LedgerHarness) {
    let name = h.name();
    let bucket = h.new_bucket(true).await;
    let a = Ledger::new(h.backend(), policy(h, &bucket, RetentionMode::Compliance));
    let b = Ledger::new(h.backend(), policy(h, &bucket, RetentionMode::Compliance));
    let mut sequences = Vec::new();
    for round in 0..5 {
        let (x, y) = tokio::join!(append(h, &a, round), append(h, &b, round));
        sequences.extend([x.sequence, y.sequence]);
    }
    sequences.sort_unstable();
    assert_eq!(sequences, (1..=10).collect::<Vec<_>>(), "{name}");
    let report = a.verify(None, |_| {}).await.unwrap();
    assert!(report.is_intact(), "{name}: {report:?}");
    assert_eq!(report.records, 10, "{name}");
}

/// A record written again as a new version (Object Lock protects
/// versions, not keys) is named: the walk stops before it.
async fn an_overwritten_record_is_found(h: &dyn LedgerHarness) {
    let name = h.name();
    let bucket = h.new_bucket(true).await;
    let ledger = Ledger::new(h.backend(), policy(h, &bucket, RetentionMode::Compliance));
    for n in 1..=3 {
        append(h, &ledger, n).await;
    }
    h.overwrite(&bucket, "kiosk/00000000000000000002.json")
        .await;
    let report = ledger.verify(None, |_| {}).await.unwrap();
    assert_eq!(
        report.problem,
        Some(LedgerProblem::Overwritten {
            sequence: 2,
            versions: 2
        }),
        "{name}"
    );
    assert_eq!(report.records, 1, "{name}");
}

/// Under GOVERNANCE, a record deleted with the bypass: from the middle,
/// a gap; the newest, invisible to the walk alone (as documented) and a
/// truncation against the head the caller kept.
async fn a_record_removed_from_the_middle_is_a_gap_and_the_newest_needs_the_kept_head(
    h: &dyn LedgerHarness,
) {
    let name = h.name();
    for removed in [1usize, 2] {
        let bucket = h.new_bucket(true).await;
        let ledger = Ledger::new(h.backend(), policy(h, &bucket, RetentionMode::Governance));
        let mut receipts = Vec::new();
        for n in 1..=3 {
            receipts.push(append(h, &ledger, n).await);
        }
        let r = &receipts[removed];
        h.delete_bypassing_governance(&bucket, r.record.key(), r.record.version_id().unwrap())
            .await;
        let alone = ledger.verify(None, |_| {}).await.unwrap();
        let against_head = ledger.verify(receipts.last(), |_| {}).await.unwrap();
        if removed == 1 {
            assert_eq!(
                alone.problem,
                Some(LedgerProblem::Gap { sequence: 2 }),
                "{name}"
            );
            assert_eq!(alone.problem.as_ref().map(|p| p.kind()), Some("gap"));
        } else {
            assert!(
                alone.is_intact(),
                "{name}: the newest removed leaves no trace alone"
            );
            assert_eq!(
                against_head.problem,
                Some(LedgerProblem::Truncated {
                    expected: 3,
                    found: 2
                }),
                "{name}"
            );
        }
    }
}

/// A record written without any retention (Object Lock on, no default,
/// none in the policy) is an error of the append, and the walk reports it
/// unlocked; a bucket without Object Lock refuses a record with a
/// retention.
async fn a_record_without_retention_or_a_bucket_without_object_lock_approves_nothing(
    h: &dyn LedgerHarness,
) {
    let name = h.name();
    let bucket = h.new_bucket(true).await;
    let unlocked = LedgerPolicy::parse(&format!("s3://{bucket}/kiosk")).unwrap();
    let ledger = Ledger::new(h.backend(), unlocked);
    let err = ledger
        .append(LedgerEntry::Decision, serde_json::json!({}))
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("was written but")
            && err.to_string().contains("no S3 Object Lock retention"),
        "{name}: {err}"
    );
    let report = ledger.verify(None, |_| {}).await.unwrap();
    assert_eq!(
        report.problem,
        Some(LedgerProblem::Unlocked { sequence: 1 }),
        "{name}"
    );

    let bucket = h.new_bucket(false).await;
    let ledger = Ledger::new(h.backend(), policy(h, &bucket, RetentionMode::Compliance));
    let err = ledger
        .append(LedgerEntry::Decision, serde_json::json!({}))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("Object Lock"), "{name}: {err}");
}

/// Under GOVERNANCE, records 2 and 3 removed with the bypass and written
/// again by a new process (a rewritten tail chains as well as the
/// original): the walk alone cannot tell, the receipt of record 2 kept by
/// the caller can (`altered` at 2). A ledger with a gap or an overwritten
/// record is refused by a new process's append.
async fn a_rewritten_tail_is_caught_by_the_kept_head_and_appends_refuse_a_damaged_ledger(
    h: &dyn LedgerHarness,
) {
    let name = h.name();
    let bucket = h.new_bucket(true).await;
    let ledger = Ledger::new(h.backend(), policy(h, &bucket, RetentionMode::Governance));
    let mut receipts = Vec::new();
    for n in 1..=3 {
        receipts.push(append(h, &ledger, n).await);
    }
    for r in receipts[1..].iter().rev() {
        h.delete_bypassing_governance(&bucket, r.record.key(), r.record.version_id().unwrap())
            .await;
    }
    let forger = Ledger::new(h.backend(), policy(h, &bucket, RetentionMode::Governance));
    for n in 2..=4 {
        assert_eq!(append(h, &forger, 100 + n).await.sequence, n, "{name}");
    }
    assert!(
        forger.verify(None, |_| {}).await.unwrap().is_intact(),
        "{name}"
    );
    let report = forger.verify(Some(&receipts[1]), |_| {}).await.unwrap();
    assert_eq!(
        report.problem,
        Some(LedgerProblem::Altered { sequence: 2 }),
        "{name}"
    );
    assert_eq!(report.records, 1, "{name}");

    h.overwrite(&bucket, "kiosk/00000000000000000003.json")
        .await;
    let newcomer = Ledger::new(h.backend(), policy(h, &bucket, RetentionMode::Governance));
    let err = newcomer
        .append(LedgerEntry::Decision, serde_json::json!({}))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("damaged"), "{name}: {err}");
}

/// An event too large for a record (an image, say) is refused before
/// anything is written; an object under the prefix that is not a record
/// is named after the walk.
async fn an_oversized_record_is_refused_and_a_foreign_object_is_named(h: &dyn LedgerHarness) {
    let name = h.name();
    let bucket = h.new_bucket(true).await;
    let ledger = Ledger::new(h.backend(), policy(h, &bucket, RetentionMode::Compliance));
    append(h, &ledger, 1).await;
    let err = ledger
        .append(
            LedgerEntry::Decision,
            serde_json::json!({ "photo": "A".repeat(70 * 1024) }),
        )
        .await
        .unwrap_err();
    assert!(err.to_string().contains("64 KiB"), "{name}: {err}");
    h.overwrite(&bucket, "kiosk/readme.txt").await;
    let report = ledger.verify(None, |_| {}).await.unwrap();
    assert_eq!(report.records, 1, "{name}: nothing more was written");
    assert_eq!(
        report.problem,
        Some(LedgerProblem::Foreign {
            key: "kiosk/readme.txt".to_owned()
        }),
        "{name}"
    );
    assert_eq!(append(h, &ledger, 2).await.sequence, 2, "{name}");
}

#[cfg(test)]
mod in_memory {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use crate::memory::{InMemoryBackend, SimulatedObject, DEFAULT_ACCOUNT};

    const KEY: &str = super::super::in_memory::KEY;

    /// The ledger harness over [`InMemoryBackend`].
    #[derive(Default)]
    struct InMemoryLedgerHarness {
        aws: InMemoryBackend,
        buckets: AtomicUsize,
    }

    #[async_trait]
    impl LedgerHarness for InMemoryLedgerHarness {
        fn name(&self) -> &str {
            "in-memory ledger"
        }
        fn backend(&self) -> Arc<dyn S3Backend> {
            Arc::new(self.aws.clone())
        }
        fn kms_key(&self) -> KmsKeyArn {
            KmsKeyArn::parse(KEY).unwrap()
        }
        async fn new_bucket(&self, object_lock: bool) -> String {
            let bucket = format!("ledger-{}", self.buckets.fetch_add(1, Ordering::SeqCst));
            self.aws.create_bucket(&bucket, DEFAULT_ACCOUNT, true);
            self.aws.set_default_encryption(&bucket, Some(KEY));
            if object_lock {
                self.aws.enable_object_lock(&bucket, None);
            }
            bucket
        }
        async fn overwrite(&self, bucket: &str, key: &str) {
            self.aws.put(bucket, key, SimulatedObject::sse_kms(KEY));
        }
        async fn delete_bypassing_governance(&self, bucket: &str, key: &str, version: &str) {
            self.aws
                .delete_object_version(&crate::backend::DeleteObjectVersionRequest::new(
                    bucket, key, version, true, None,
                ))
                .await
                .expect("deleted with the bypass");
        }
    }

    /// The ledger conformance suite on the in-memory simulation.
    #[tokio::test]
    async fn in_memory_ledger_conformance() {
        run_all(&InMemoryLedgerHarness::default()).await;
    }
}
