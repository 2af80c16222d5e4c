//! `Guard::prepare`: the reference is checked when the card is tapped, so
//! the comparison after the photo is one round trip, under the
//! verification cache's rules and never looser.

use rekognition_guard::aws::AwsBackend;
use rekognition_guard::{
    AtRestViolation, CheckOrigin, CheckedImage, Error, Guard, KmsKeyArn, Policy, S3ObjectRef,
    Violation,
};

use crate::support::canned::{self, live_photo, Wire};
use crate::support::{self, KEY, OTHER_KEY};

fn member() -> S3ObjectRef {
    canned::reference()
        .with_version_id(canned::VERSION)
        .unwrap()
}

fn backend(wire: &Wire) -> AwsBackend {
    let sdk = support::sdk_config("eu-west-1", "AKIDPREPARE", "prepare-secret")
        .to_builder()
        .http_client(wire.client())
        .build();
    AwsBackend::from_sdk_config(&sdk).unwrap()
}

fn policy() -> Policy {
    Policy::allow_kms_key(KmsKeyArn::parse(KEY).unwrap())
}

fn guard(wire: &Wire) -> Guard {
    canned::guard(backend(wire), policy())
}

fn is_head(uri: &str) -> bool {
    uri.contains("members/ada.jpg")
}

/// Waits until the wire has seen `n` requests (the prepared check runs on
/// its own task).
async fn until_seen(wire: &Wire, n: usize) {
    tokio::time::timeout(std::time::Duration::from_secs(10), async {
        while wire.seen().len() < n {
            tokio::time::sleep(std::time::Duration::from_millis(1)).await;
        }
    })
    .await
    .expect("the prepared check ran");
}

/// HeadObject goes out when the card is tapped, before any photo exists;
/// the comparison after the photo sends CompareFaces only, and the
/// decision says the reference's check came from the cache, and how old.
#[tokio::test]
async fn the_reference_is_checked_at_the_tap_and_the_photo_costs_one_round_trip() {
    let wire = Wire::new(KEY);
    let pending = guard(&wire).prepare(&member());
    assert_eq!(pending.reference(), &member());
    until_seen(&wire, 1).await;
    assert!(is_head(&wire.seen()[0]), "{:?}", wire.seen());

    let decision = pending.compare(live_photo()).await.unwrap();
    assert!(decision.is_approved());
    let seen = wire.seen();
    assert_eq!(seen.len(), 2, "one HeadObject, one CompareFaces: {seen:?}");
    assert!(!is_head(&seen[1]), "{seen:?}");
    assert!(
        matches!(
            decision.source,
            CheckedImage::S3 {
                origin: CheckOrigin::Cache { .. },
                ..
            }
        ),
        "{:?}",
        decision.source
    );
}

/// A photo taken before the check finished waits for it: HeadObject is
/// never sent twice.
#[tokio::test]
async fn a_comparison_right_after_the_tap_waits_for_the_check_instead_of_repeating_it() {
    let wire = Wire::new(KEY);
    let decision = guard(&wire)
        .prepare(&member())
        .compare(live_photo())
        .await
        .unwrap();
    assert!(decision.is_approved());
    let seen = wire.seen();
    assert_eq!(
        seen.iter().filter(|u| is_head(u)).count(),
        1,
        "HeadObject once: {seen:?}"
    );
    assert_eq!(seen.len(), 2, "{seen:?}");
}

/// What the cache would not keep, preparing does not keep either: with the
/// cache off, or the check forgotten (an erasure, a re-encryption) between
/// tap and photo, the comparison checks again.
#[tokio::test]
async fn without_the_cache_or_after_forget_check_the_comparison_checks_again() {
    let wire = Wire::new(KEY);
    let uncached = canned::uncached_guard(backend(&wire), policy());
    let pending = uncached.prepare(&member());
    until_seen(&wire, 1).await;
    assert!(pending.compare(live_photo()).await.unwrap().is_approved());
    let seen = wire.seen();
    assert_eq!(seen.iter().filter(|u| is_head(u)).count(), 2, "{seen:?}");

    let wire = Wire::new(KEY);
    let cached = guard(&wire);
    let pending = cached.prepare(&member());
    until_seen(&wire, 1).await;
    cached.store().forget_check(&member());
    let decision = pending.compare(live_photo()).await.unwrap();
    let seen = wire.seen();
    assert_eq!(seen.iter().filter(|u| is_head(u)).count(), 2, "{seen:?}");
    assert!(
        matches!(
            decision.source,
            CheckedImage::S3 {
                origin: CheckOrigin::HeadObject,
                ..
            }
        ),
        "{:?}",
        decision.source
    );
}

/// A reference the prepared check refuses is refused by the comparison
/// with the reason, and nothing reaches Rekognition.
#[tokio::test]
async fn a_reference_refused_at_the_tap_is_refused_and_nothing_is_sent_to_rekognition() {
    let wire = Wire::new(OTHER_KEY);
    let pending = guard(&wire).prepare(&member());
    until_seen(&wire, 1).await;
    let err = pending.compare(live_photo()).await.unwrap_err();
    assert!(
        matches!(
            &err,
            Error::Refused(r) if matches!(
                r.violations.as_slice(),
                [Violation::AtRest(AtRestViolation::KmsKeyNotAllowed { .. })]
            )
        ),
        "{err}"
    );
    let seen = wire.seen();
    assert!(seen.iter().all(|u| is_head(u)), "no CompareFaces: {seen:?}");
}
