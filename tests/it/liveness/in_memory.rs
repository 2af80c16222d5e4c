//! Face Liveness on the in-memory simulation.

/// Races made deterministic with answers held at a gate (`support::gate`).
mod races {
    use std::sync::atomic::Ordering;
    use std::sync::Arc;
    use std::time::Duration;

    use async_trait::async_trait;
    use futures_util::stream::{FuturesUnordered, StreamExt};

    use rekognition_guard::liveness::{
        FailureLimit, KioskId, LivenessFacts, LivenessPolicy, LivenessStatus, LivenessVerdict,
        LivenessViolation, NotLiveReason,
    };
    use rekognition_guard::memory::{InMemoryBackend, SimulatedLiveness};
    use rekognition_guard::{
        BackendError, GetFaceLivenessSessionResultsRequest, Guard, RekognitionBackend, Violation,
    };

    use crate::support::gate::*;
    use crate::support::wrap::{RekognitionWrap, Wrapped};

    /// Rekognition whose liveness results are held at the gate.
    #[derive(Debug)]
    struct HeldResults {
        aws: InMemoryBackend,
        gate: Arc<Gate>,
    }

    #[async_trait]
    impl RekognitionWrap for HeldResults {
        fn inner(&self) -> &dyn RekognitionBackend {
            &self.aws
        }
        async fn get_face_liveness_session_results(
            &self,
            r: GetFaceLivenessSessionResultsRequest,
        ) -> Result<LivenessFacts, BackendError> {
            self.gate.hold().await;
            self.aws.get_face_liveness_session_results(r).await
        }
    }

    /// Twenty verifications at one kiosk run at once, every one of them a
    /// failure: only as many as the failure limit allows reach
    /// Rekognition; the others are refused before any AWS call, while the
    /// first are still in flight. When those fail the kiosk is locked.
    #[tokio::test]
    async fn concurrent_failures_cannot_outrun_the_kiosk_limit() {
        let aws = world();
        let ada = enrolled(&aws);
        let gate = Arc::new(Gate::default());
        let held = HeldResults {
            aws: aws.clone(),
            gate: gate.clone(),
        };
        let limit = FailureLimit::new(5, Duration::from_secs(180), Duration::from_secs(1800));
        let guard = Guard::new(
            rekognition_guard::PhotoStore::new(aws.clone(), policy()),
            Wrapped(held),
            evidence(),
        )
        .liveness(
            LivenessPolicy::new("library-liveness")
                .unwrap()
                .with_failure_limit(limit),
        );
        let at = KioskId::new("kiosk-under-attack").unwrap();
        let mut sessions = Vec::new();
        for _ in 0..20 {
            let started = guard.start_session(&ada, &at).await.unwrap();
            aws.finish_liveness(
                &started.id,
                SimulatedLiveness::ended(LivenessStatus::Failed),
            );
            sessions.push(started.id.clone());
        }
        let before = aws.calls().liveness;

        let mut running: FuturesUnordered<_> = sessions
            .iter()
            .map(|id| {
                let (guard, ada, at) = (guard.clone(), ada.clone(), at.clone());
                async move { guard.verify_session(id, &ada, &at).await }
            })
            .collect();
        // The held five cannot finish, so the first fifteen to finish are
        // the refused ones.
        for _ in 0..15 {
            let err = tokio::time::timeout(Duration::from_secs(30), running.next())
                .await
                .expect("refusals come at once")
                .unwrap()
                .expect_err("refused");
            assert!(
                matches!(
                    err.as_refusal().map(|r| r.violations.as_slice()),
                    Some([Violation::Liveness(LivenessViolation::KioskBusy {
                        in_flight: 5,
                        ..
                    })])
                ),
                "{err}"
            );
        }
        gate.until_arrived(5).await;
        assert_eq!(aws.calls().liveness - before, 0, "held before answering");
        assert_eq!(gate.arrived.load(Ordering::SeqCst), 5);

        gate.release(5);
        for _ in 0..5 {
            let d = tokio::time::timeout(Duration::from_secs(30), running.next())
                .await
                .expect("released")
                .unwrap()
                .expect("decided");
            assert_eq!(d.verdict, LivenessVerdict::NotLive(NotLiveReason::Failed));
        }
        assert_eq!(aws.calls().liveness - before, 5, "five reached Rekognition");
        // Five failures: locked, for new checks and every clone.
        let err = guard
            .clone()
            .verify_session(&sessions[0], &ada, &at)
            .await
            .expect_err("locked");
        assert!(
            matches!(
                err.as_refusal().map(|r| r.violations.as_slice()),
                Some([Violation::Liveness(LivenessViolation::KioskLocked { .. })])
            ),
            "{err}"
        );
        assert_eq!(gate.arrived.load(Ordering::SeqCst), 5);
    }
}

/// A verification refused only because Rekognition was reached over plain
/// HTTP decided nothing: once the endpoint is fixed, the same session is
/// verified (it is not taken as already used).
mod insecure_results {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;

    use async_trait::async_trait;
    use rekognition_guard::liveness::{KioskId, LivenessFacts, LivenessPolicy};
    use rekognition_guard::memory::{InMemoryBackend, SimulatedLiveness};
    use rekognition_guard::transit::check_endpoint_url;
    use rekognition_guard::{
        BackendError, GetFaceLivenessSessionResultsRequest, Guard, PhotoStore, RekognitionBackend,
        Service, Violation,
    };

    use crate::support::gate::*;
    use crate::support::wrap::{RekognitionWrap, Wrapped};

    /// Rekognition whose results requests are refused on the wire while
    /// `insecure` is set.
    #[derive(Debug)]
    struct RefusedWhile {
        aws: InMemoryBackend,
        insecure: Arc<AtomicBool>,
    }

    #[async_trait]
    impl RekognitionWrap for RefusedWhile {
        fn inner(&self) -> &dyn RekognitionBackend {
            &self.aws
        }
        async fn get_face_liveness_session_results(
            &self,
            r: GetFaceLivenessSessionResultsRequest,
        ) -> Result<LivenessFacts, BackendError> {
            if self.insecure.load(Ordering::SeqCst) {
                let url = "http://rekognition.eu-west-1.amazonaws.com";
                return Err(BackendError::refused_endpoint(
                    "GetFaceLivenessSessionResults",
                    check_endpoint_url(Service::Rekognition, url).unwrap_err(),
                ));
            }
            self.aws.get_face_liveness_session_results(r).await
        }
    }

    #[tokio::test]
    async fn a_verification_refused_for_an_insecure_endpoint_keeps_the_session() {
        let aws = world();
        let ada = enrolled(&aws);
        let insecure = Arc::new(AtomicBool::new(true));
        let rekognition = RefusedWhile {
            aws: aws.clone(),
            insecure: insecure.clone(),
        };
        let liveness = Guard::new(
            PhotoStore::new(aws.clone(), policy()),
            Wrapped(rekognition),
            evidence(),
        )
        .liveness(LivenessPolicy::new("library-liveness").unwrap());
        let kiosk = KioskId::new("kiosk-1").unwrap();
        let session = liveness.start_session(&ada, &kiosk).await.unwrap();
        aws.finish_liveness(&session.id, SimulatedLiveness::live(99.0, "ada"));

        let err = liveness
            .verify_session(&session.id, &ada, &kiosk)
            .await
            .unwrap_err();
        assert!(
            matches!(err.violations(), [Violation::InsecureEndpoint(_)]),
            "{err}"
        );
        insecure.store(false, Ordering::SeqCst);
        let decision = liveness
            .verify_session(&session.id, &ada, &kiosk)
            .await
            .unwrap();
        assert!(decision.is_approved(), "{decision:?}");
    }
}

/// A backend that reports an empty challenge version: the decision records
/// none (`None`, never `""`), and the challenge still counts.
#[tokio::test]
async fn an_empty_challenge_version_is_recorded_as_none() {
    use rekognition_guard::liveness::{Challenge, ChallengeType, KioskId, LivenessPolicy};
    use rekognition_guard::memory::SimulatedLiveness;
    use rekognition_guard::{Guard, PhotoStore};

    use crate::support::gate::{enrolled, evidence, policy, world};

    let aws = world();
    let ada = enrolled(&aws);
    let liveness = Guard::new(
        PhotoStore::new(aws.clone(), policy()),
        aws.clone(),
        evidence(),
    )
    .liveness(LivenessPolicy::new("library-liveness").unwrap());
    let kiosk = KioskId::new("kiosk-1").unwrap();
    let session = liveness.start_session(&ada, &kiosk).await.unwrap();
    aws.finish_liveness(
        &session.id,
        SimulatedLiveness {
            challenge: Some(Some(Challenge {
                challenge_type: ChallengeType::FaceMovementAndLight,
                version: Some(String::new()),
            })),
            ..SimulatedLiveness::live(99.0, "ada")
        },
    );
    let decision = liveness
        .verify_session(&session.id, &ada, &kiosk)
        .await
        .unwrap();
    assert!(decision.is_approved(), "{decision:?}");
    let challenge = decision.challenge.expect("a challenge");
    assert_eq!(
        challenge.challenge_type,
        ChallengeType::FaceMovementAndLight
    );
    assert_eq!(challenge.version, None);
}

/// Face Liveness in AWS GovCloud (US), where Rekognition has no streaming
/// video: starting and verifying a session are refused with the reason,
/// before any call, and the kiosk's failure count is untouched. The same
/// guard in a commercial region starts sessions.
#[tokio::test]
async fn face_liveness_is_refused_in_gov_cloud_before_any_call() {
    use rekognition_guard::liveness::{
        KioskId, LivenessPolicy, LivenessSessionId, LivenessViolation,
    };
    use rekognition_guard::{Guard, PhotoStore, Violation};

    use crate::support::gate::{enrolled, policy, world};

    let aws = world().with_region("us-gov-west-1");
    let ada = enrolled(&aws);
    let liveness = Guard::new(
        PhotoStore::new(aws.clone(), policy()),
        aws.clone(),
        rekognition_guard::OptOutEvidence::gov_cloud_partition(),
    )
    .liveness(LivenessPolicy::new("library-liveness").unwrap());
    let kiosk = KioskId::new("kiosk-1").unwrap();
    let refused = |err: rekognition_guard::Error| {
        assert!(
            matches!(
                err.violations(),
                [Violation::Liveness(LivenessViolation::UnavailableInGovCloud { region })]
                    if region == "us-gov-west-1"
            ),
            "{err}"
        );
        assert!(
            err.to_string().contains("not documented as available"),
            "{err}"
        );
    };
    refused(liveness.start_session(&ada, &kiosk).await.unwrap_err());
    let id = LivenessSessionId::parse("00000000-0000-4000-8000-000000000001").unwrap();
    for _ in 0..6 {
        refused(
            liveness
                .verify_session(&id, &ada, &kiosk)
                .await
                .unwrap_err(),
        );
    }
    assert_eq!(aws.calls().liveness, 0, "nothing reached Rekognition");

    let commercial = world().with_region("us-east-1");
    let ada = enrolled(&commercial);
    let session = Guard::new(
        PhotoStore::new(commercial.clone(), policy()),
        commercial.clone(),
        crate::support::gate::evidence(),
    )
    .liveness(LivenessPolicy::new("library-liveness").unwrap())
    .start_session(&ada, &kiosk)
    .await;
    assert!(session.is_ok(), "{session:?}");
}
