//! Opt-out evidence with the exported mockall mocks: required, verified for
//! the account that calls Rekognition, and failing closed.

use rekognition_guard::OptOutViolation;
use rekognition_guard::{
    BackendError, BackendErrorKind, ConfigError, Error, Guard, OptOutEvidence, OptOutRecord,
    OptOutStatus, Service, Violation,
};

use crate::support::mocks::*;

#[test]
fn a_guard_without_opt_out_evidence_cannot_be_built() {
    let err = Guard::builder(inspector(), never_called_comparer())
        .build()
        .unwrap_err();
    assert_eq!(err, ConfigError::MissingOptOutEvidence);
    assert!(
        err.to_string().contains("OptOutEvidence::attested"),
        "{err}"
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
        decision.opt_out(),
        &OptOutRecord::Verified {
            detail: "effective policy: rekognition optOut".into(),
            account: account(KIOSK_ACCOUNT),
        }
    );
    assert_eq!(decision.opt_out().account(), Some(&account(KIOSK_ACCOUNT)));
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
    let guard = Guard::builder(inspector(), rekognition)
        .opt_out(OptOutEvidence::verified_by(v))
        .build()
        .unwrap();
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
