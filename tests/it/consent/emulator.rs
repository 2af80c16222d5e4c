//! Consent and its withdrawal against moto over TLS, with the ledger on an
//! Object Lock bucket.

use std::time::Duration;

use rekognition_guard::collection::MemberId;
use rekognition_guard::conformance::ledger::LedgerHarness;
use rekognition_guard::consent::{Consent, ConsentMethod, ConsentNotice, ConsentRecord};
use rekognition_guard::erasure::RetentionMode;
use rekognition_guard::ledger::{Ledger, LedgerPolicy};
use rekognition_guard::{AtRestViolation, FaceImage, KmsKeyArn, Policy, Violation, Withdrawal};

use crate::support;
use crate::support::emulator::{emulator, fixture};

/// A member's consent recorded in the ledger, a reference photo stored on
/// it, a comparison approved; then the consent withdrawn: the photo is
/// refused at once with nothing sent to Rekognition, every version of it
/// and delete marker is erased (listed: none), and the ledger holds the consent, the
/// approved decision, the withdrawal, the erasure receipt and the refused
/// decision, in that order, intact.
#[tokio::test]
async fn consent_then_withdrawal_erases_the_member_and_refuses_their_comparisons() {
    let Some(emu) = emulator() else { return };
    let h = support::ledger::MotoLedgerHarness::new(fixture(emu, true).await);
    let f = h.fixture();
    let ledger_bucket = h.new_bucket(true).await;
    let ledger = Ledger::new(
        h.backend(),
        LedgerPolicy::parse(&format!("s3://{ledger_bucket}/library"))
            .unwrap()
            .with_kms_key(KmsKeyArn::parse(&f.kms_key).unwrap())
            .with_retention(RetentionMode::Compliance, Duration::from_secs(3600)),
    );
    let member = MemberId::parse("member-000417").unwrap();
    let consent = Consent::new(
        member.clone(),
        ConsentNotice::new("2026-12", "We collect a scan of your face geometry to ...").unwrap(),
        "identity check at self-service loans",
        Duration::from_secs(3 * 365 * 24 * 3600),
        ConsentMethod::KioskScreen,
    )
    .unwrap()
    .record(&ledger)
    .await
    .unwrap();
    assert!(matches!(consent.record(), ConsentRecord::Ledger(r) if r.sequence == 1));

    let (guard, wire) = f.guard(
        Policy::allow_kms_key(KmsKeyArn::parse(&f.kms_key).unwrap()),
        None,
    );
    let guard = guard.with_ledger(ledger.clone());
    let photo = FaceImage::from_vec(b"\xFF\xD8\xFF\xE0 ada, enrolled".to_vec()).unwrap();
    let stored = guard
        .store()
        .store_reference(&consent, &f.reference("members/ada.jpg"), photo)
        .await
        .unwrap();
    let reference = stored.reference().clone();
    let decision = guard.compare(&reference, &reference).await.unwrap();
    assert!(decision.is_approved());
    let sent = wire.transmitted();

    let receipt = guard
        .store()
        .withdraw_consent(Withdrawal::new(&member).photo(&reference).ledger(&ledger))
        .await
        .unwrap();
    assert!(receipt.is_complete(), "{receipt}");
    assert_eq!(receipt.photos.len(), 1);
    assert!(!receipt.photos[0].erased.is_empty(), "{receipt}");

    let err = guard.compare(&reference, &reference).await.unwrap_err();
    assert!(
        matches!(
            err.violations(),
            [
                Violation::AtRest(AtRestViolation::ConsentWithdrawn { .. }),
                ..
            ]
        ),
        "{err}"
    );
    assert_eq!(wire.transmitted(), sent, "nothing sent to Rekognition");
    let left =
        f.s3.list_object_versions()
            .bucket(&f.bucket)
            .prefix("members/ada.jpg")
            .send()
            .await
            .unwrap();
    assert!(
        left.versions().is_empty() && left.delete_markers().is_empty(),
        "every version and delete marker erased: {left:?}"
    );

    ledger.confirm().await.unwrap();
    let report = ledger
        .verify(receipt.ledger.as_ref(), |_| {})
        .await
        .unwrap();
    assert!(report.is_intact(), "{report:?}");
    let mut entries = Vec::new();
    for n in 1..=report.records {
        let body =
            f.s3.get_object()
                .bucket(&ledger_bucket)
                .key(format!("library/{n:020}.json"))
                .send()
                .await
                .unwrap()
                .body
                .collect()
                .await
                .unwrap()
                .into_bytes();
        let record: serde_json::Value = serde_json::from_slice(&body).unwrap();
        entries.push(record["entry"].as_str().unwrap().to_owned());
    }
    // The refused comparison after the withdrawal is recorded too.
    assert_eq!(
        entries,
        ["consent", "decision", "withdrawal", "erasure", "decision"],
        "consent, approved decision, withdrawal, erasure receipt, refused decision"
    );
}
