//! The ledger against moto over TLS: Object Lock, conditional writes
//! (`If-None-Match: *`) and HeadObject's lock headers work there; moto
//! lacks `GetObjectRetention`, which the ledger does not use.

use crate::support;
use crate::support::emulator::{emulator, fixture};

/// The ledger conformance suite (`rekognition_guard::conformance::ledger`)
/// on the real SDK clients against the emulator: chains, two writers at
/// once, an overwritten record, records removed with the governance
/// bypass, a record without retention, a bucket without Object Lock.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ledger_conformance() {
    let Some(emu) = emulator() else { return };
    let harness = support::ledger::MotoLedgerHarness::new(fixture(emu, false).await);
    rekognition_guard::conformance::ledger::run_all(&harness).await;
}

/// A guard with a ledger against moto: an approved comparison comes back
/// with its record's receipt, a refusal is recorded too (with its reason,
/// no image bytes), the chain verifies; and when the ledger cannot be
/// written (a bucket without Object Lock) the comparison that moto would
/// have matched is an error, never an approval.
#[tokio::test]
async fn decisions_are_returned_only_once_their_record_is_durable() {
    use rekognition_guard::conformance::ledger::LedgerHarness;
    use rekognition_guard::erasure::RetentionMode;
    use rekognition_guard::ledger::{Ledger, LedgerPolicy};
    use rekognition_guard::{KmsKeyArn, Policy};
    use std::time::Duration;

    let Some(emu) = emulator() else { return };
    let h = support::ledger::MotoLedgerHarness::new(fixture(emu, true).await);
    let f = h.fixture();
    let version = f.put_kms("members/ada.jpg").await.expect("versioned");
    f.put(
        "members/alan.jpg",
        Some(aws_sdk_s3::types::ServerSideEncryption::Aes256),
        None,
    )
    .await;
    let ada = f
        .reference("members/ada.jpg")
        .with_version_id(&version)
        .unwrap();
    let ledger_policy = |bucket: &str| {
        LedgerPolicy::parse(&format!("s3://{bucket}/decisions"))
            .unwrap()
            .with_kms_key(KmsKeyArn::parse(&f.kms_key).unwrap())
            .with_retention(RetentionMode::Compliance, Duration::from_secs(3600))
    };
    let bucket = h.new_bucket(true).await;
    let ledger = Ledger::new(h.backend(), ledger_policy(&bucket));
    let (guard, _) = f.guard(Policy::any_kms_key(), None);
    let guard = guard.with_ledger(ledger.clone());

    let decision = guard.compare(&ada, &ada).await.unwrap();
    assert!(decision.is_approved());
    let receipt = decision.ledger.clone().expect("a receipt");
    assert_eq!(receipt.sequence, 1);

    let err = guard
        .compare(f.reference("members/alan.jpg"), &ada)
        .await
        .unwrap_err();
    assert!(err.as_refusal().is_some(), "{err}");
    let report = ledger.verify(None, |_| {}).await.unwrap();
    assert!(report.is_intact(), "{report:?}");
    assert_eq!(report.records, 2);
    let record =
        f.s3.get_object()
            .bucket(&bucket)
            .key("decisions/00000000000000000002.json")
            .send()
            .await
            .unwrap()
            .body
            .collect()
            .await
            .unwrap()
            .into_bytes();
    let record: serde_json::Value = serde_json::from_slice(&record).unwrap();
    assert_eq!(record["entry"], "decision");
    assert_eq!(record["event"]["decision"], "refused", "{record}");
    assert!(
        record["event"]["reasons"]
            .as_str()
            .unwrap()
            .contains("SSE-S3"),
        "{record}"
    );
    assert_eq!(record["previous"], receipt.hash, "{record}");

    let unlocked = h.new_bucket(false).await;
    let (guard, _) = f.guard(Policy::any_kms_key(), None);
    let guard = guard.with_ledger(Ledger::new(h.backend(), ledger_policy(&unlocked)));
    let err = guard.compare(&ada, &ada).await.unwrap_err();
    assert!(err.to_string().contains("Object Lock"), "{err}");
}
