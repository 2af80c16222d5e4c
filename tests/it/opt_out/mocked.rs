//! Opt-out evidence with the exported mockall mocks: required, verified for
//! the account that calls Rekognition, and failing closed.

use rekognition_guard::testing::MockOptOutVerifier;
use rekognition_guard::OptOutViolation;
use rekognition_guard::{
    BackendError, BackendErrorKind, Error, Guard, OptOutEvidence, OptOutRecord, OptOutStatus,
    PhotoStore, Policy, Service, Violation,
};

use crate::support::mocks::*;

/// Without evidence there is no guard: [`Guard::new`] takes it (its docs
/// hold the example that does not compile). A waiver is reached only
/// through `OptOutEvidence::dangerous()`, and every decision says so.
#[tokio::test]
async fn a_waiver_is_reached_only_through_dangerous_and_is_recorded() {
    let mut rekognition = comparer();
    rekognition
        .expect_compare_faces()
        .times(1)
        .returning(|_| Ok(one_match(99.5)));
    let guard = Guard::new(
        PhotoStore::new(inspector(), Policy::any_kms_key()),
        rekognition,
        OptOutEvidence::dangerous()
            .waived("sandbox account 111122223333, synthetic faces only")
            .unwrap(),
    );
    let d = guard.compare(live_photo(), live_photo()).await.unwrap();
    assert_eq!(d.opt_out.kind(), "waived");
    assert!(
        d.opt_out.to_string().contains("synthetic faces only"),
        "{}",
        d.opt_out
    );
}

#[tokio::test]
async fn a_verified_opt_out_is_recorded_in_the_decision() {
    let mut v = verifier();
    v.expect_verify().times(1).returning(|| {
        Ok(OptOutStatus::OptedOut {
            detail: "effective policy: rekognition optOut".into(),
            account: account(KIOSK_ACCOUNT),
        })
    });
    let mut rekognition = comparer();
    rekognition
        .expect_compare_faces()
        .times(1)
        .returning(|_| Ok(one_match(99.9)));
    let decision = verified_guard(v, rekognition)
        .compare(live_photo(), live_photo())
        .await
        .unwrap();
    assert_eq!(
        decision.opt_out,
        OptOutRecord::Verified {
            detail: "effective policy: rekognition optOut".into(),
            account: account(KIOSK_ACCOUNT),
        }
    );
    assert_eq!(decision.opt_out.account(), Some(&account(KIOSK_ACCOUNT)));
}

/// A verifier built with another account's credentials vouches for that
/// account, not for the one that calls Rekognition.
#[tokio::test]
async fn opt_out_evidence_about_another_account_is_refused_and_never_compared() {
    let mut v = verifier();
    v.expect_verify().times(1).returning(|| {
        Ok(OptOutStatus::OptedOut {
            detail: "effective policy: default optOut".into(),
            account: account("999988887777"),
        })
    });
    let violations = refusal(
        verified_guard(v, never_called_comparer())
            .compare(live_photo(), live_photo())
            .await
            .unwrap_err(),
    );
    assert_eq!(
        violations,
        [Violation::OptOut(OptOutViolation::ForAnotherAccount {
            evidence_account: account("999988887777"),
            rekognition_account: account(KIOSK_ACCOUNT),
        })]
    );
    let text = violations[0].to_string();
    assert!(
        text.contains("999988887777") && text.contains(KIOSK_ACCOUNT),
        "{text}"
    );
}

#[tokio::test]
async fn a_verified_opt_out_needs_the_account_that_calls_rekognition() {
    let mut v = verifier();
    v.expect_verify().returning(|| {
        Ok(OptOutStatus::OptedOut {
            detail: "effective policy: default optOut".into(),
            account: account(KIOSK_ACCOUNT),
        })
    });
    let mut rekognition = never_called_comparer();
    rekognition.expect_caller_account().times(1).returning(|| {
        Err(BackendError::new(
            BackendErrorKind::AccessDenied,
            Service::Sts,
            "GetCallerIdentity",
            "the credentials are invalid",
        ))
    });
    let guard = Guard::new(
        PhotoStore::new(
            inspector(),
            Policy::any_kms_key().with_versioning_required(false),
        ),
        rekognition,
        OptOutEvidence::verified_by(v),
    );
    let err = guard.compare(live_photo(), live_photo()).await.unwrap_err();
    assert!(
        matches!(err, Error::Backend(ref b) if b.service() == Service::Sts),
        "{err:?}"
    );
}

#[tokio::test]
async fn not_opted_out_is_refused_and_never_compared() {
    let mut v = verifier();
    v.expect_verify().times(1).returning(|| {
        Ok(OptOutStatus::NotOptedOut {
            reason: "the effective policy sets rekognition to optIn".into(),
        })
    });
    let violations = refusal(
        verified_guard(v, never_called_comparer())
            .compare(live_photo(), live_photo())
            .await
            .unwrap_err(),
    );
    assert_eq!(
        violations,
        vec![Violation::OptOut(OptOutViolation::NotInEffect {
            reason: "the effective policy sets rekognition to optIn".into()
        })]
    );
}

/// Both answers count: "not opted out" and a caller lookup refused on the
/// wire are both reported, and a verifier error with a refused lookup is a
/// refusal (not a retryable error that would be retried forever).
#[tokio::test]
async fn a_request_refused_on_the_wire_is_reported_beside_the_opt_out_answer() {
    /// A comparison whose caller lookup (STS) is refused on the wire.
    async fn compare_with(v: MockOptOutVerifier) -> Error {
        let mut rekognition = never_called_comparer();
        rekognition.expect_caller_account().times(1).returning(|| {
            Err(refused_on_the_wire(
                Service::Sts,
                "GetCallerIdentity",
                "http://sts.eu-west-1.amazonaws.com",
            ))
        });
        Guard::new(
            PhotoStore::new(inspector(), Policy::any_kms_key()),
            rekognition,
            OptOutEvidence::verified_by(v),
        )
        .compare(live_photo(), live_photo())
        .await
        .unwrap_err()
    }

    let mut v = verifier();
    v.expect_verify().times(1).returning(|| {
        Ok(OptOutStatus::NotOptedOut {
            reason: "the effective policy sets rekognition to optIn".into(),
        })
    });
    let err = compare_with(v).await;
    assert!(
        matches!(
            err.violations(),
            [Violation::InsecureEndpoint(e), Violation::OptOut(OptOutViolation::NotInEffect { .. })]
                if e.service() == Service::Sts
        ),
        "{err}"
    );

    let mut v = verifier();
    v.expect_verify().times(1).returning(|| {
        Err(BackendError::new(
            BackendErrorKind::Throttled,
            Service::Organizations,
            "DescribeEffectivePolicy",
            "rate exceeded",
        ))
    });
    let err = compare_with(v).await;
    assert!(!err.is_retryable(), "{err}");
    assert!(
        matches!(err.violations(), [Violation::InsecureEndpoint(_)]),
        "{err}"
    );
}

#[tokio::test]
async fn a_failing_verifier_blocks_the_comparison() {
    let mut v = verifier();
    v.expect_verify().times(1).returning(|| {
        Err(BackendError::new(
            BackendErrorKind::AccessDenied,
            Service::Organizations,
            "DescribeEffectivePolicy",
            "grant organizations:DescribeEffectivePolicy",
        ))
    });
    let err = verified_guard(v, never_called_comparer())
        .compare(live_photo(), live_photo())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Backend(ref b) if b.service() == Service::Organizations));
}
