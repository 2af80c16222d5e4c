//! Load: thousands of concurrent guarded comparisons on a multi-threaded
//! runtime, through the exported mockall mocks, with failures injected at
//! random into every backend (S3 checks, the opt-out verifier, the
//! comparer), and objects that break the policy (SSE-S3, unencrypted, a
//! KMS key outside the allowlist, too large). Each backend
//! call also yields to the scheduler a random number of times, so checks,
//! the verification cache and comparisons interleave.
//!
//! Asserted: no panic, no deadlock (a generous watchdog), the comparer only
//! ever receives objects that pass the policy, and the approvals are
//! exactly the comparisons whose checks passed and whose comparer answer
//! was a match at or above the threshold, counted one by one.

use crate::support;

use std::sync::atomic::{AtomicU64, AtomicU8, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use rekognition_guard::testing::{MockOptOutVerifier, MockRekognitionBackend, MockS3Backend};
use rekognition_guard::{
    AccountId, BackendError, BackendErrorKind, BoundingBox, CompareFacesRequest, ComparisonFacts,
    Error, FaceImage, FaceMatch, Guard, HeadObjectRequest, KmsKeyArn, ObjectFacts, OptOutEvidence,
    OptOutStatus, OptOutVerifier, PhotoStore, Policy, RekognitionBackend, S3Backend, S3ObjectRef,
    Service, SseAlgorithm, VerifiedImage, Violation,
};
use rekognition_guard::{AtRestViolation, OptOutViolation};

const REQUESTS: usize = 4000;
const OBJECTS: u64 = 200;
use support::wrap::{RekognitionWrap, S3Wrap, Wrapped};
use support::KEY;
const OTHER_KEY: &str =
    "arn:aws:kms:eu-west-1:111122223333:key/99999999-12ab-34cd-56ef-1234567890ab";
/// The account the opt-out is verified for, and another one.
const ACCOUNT: &str = "111122223333";
const OTHER_ACCOUNT: &str = "999988887777";

/// SplitMix64: a fixed, seedable stream of well-mixed numbers.
fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// A percentage draw for call number `n` of a stream.
fn roll(stream: &AtomicU64, salt: u64) -> u64 {
    mix(stream.fetch_add(1, Ordering::Relaxed) ^ salt) % 100
}

/// How object `k` is stored, fixed for the whole run.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Stored {
    Good,
    SseS3,
    Unencrypted,
    ForeignKey,
    TooLarge,
}

fn stored(k: u64) -> Stored {
    match mix(k) % 10 {
        0 => Stored::SseS3,
        1 => Stored::Unencrypted,
        2 => Stored::ForeignKey,
        3 => Stored::TooLarge,
        _ => Stored::Good,
    }
}

fn facts(k: u64) -> ObjectFacts {
    let kms = |key: &str| ObjectFacts {
        kms_key_id: Some(key.into()),
        version_id: Some("v1".into()),
        content_length: Some(48_213),
        ..ObjectFacts::new(SseAlgorithm::AwsKms)
    };
    match stored(k) {
        Stored::Good => kms(KEY),
        Stored::ForeignKey => kms(OTHER_KEY),
        Stored::TooLarge => ObjectFacts {
            content_length: Some(20 * 1024 * 1024),
            ..kms(KEY)
        },
        Stored::SseS3 => ObjectFacts {
            version_id: Some("v1".into()),
            content_length: Some(48_213),
            ..ObjectFacts::new(SseAlgorithm::Aes256)
        },
        Stored::Unencrypted => ObjectFacts {
            version_id: Some("v1".into()),
            content_length: Some(48_213),
            ..ObjectFacts::new(SseAlgorithm::None)
        },
    }
}

fn object_number(key: &str) -> u64 {
    key.strip_prefix("members/")
        .and_then(|k| k.strip_suffix(".jpg"))
        .and_then(|k| k.parse().ok())
        .expect("a key this test made")
}

/// The request number a live photo carries.
fn request_number(image: &VerifiedImage) -> usize {
    match image {
        VerifiedImage::Bytes(b) => std::str::from_utf8(&b.expose_bytes()[4..])
            .ok()
            .and_then(|s| s.strip_prefix("request-"))
            .and_then(|s| s.parse().ok())
            .expect("a live photo this test made"),
        other => panic!("the target is always a live photo: {other:?}"),
    }
}

/// What the comparer answered for one request.
const NOT_CALLED: u8 = 0;
const ANSWERED_MATCH: u8 = 1;
const ANSWERED_NO_MATCH: u8 = 2;
/// An error, or an answer the guard must reject (similarity out of range).
const FAILED: u8 = 3;

/// A backend that yields a random number of times, then asks its mock.
#[derive(Debug)]
struct Yielding<T> {
    inner: T,
    draws: AtomicU64,
}

impl<T> Yielding<T> {
    fn new(inner: T) -> Self {
        Self {
            inner,
            draws: AtomicU64::new(0),
        }
    }

    async fn jitter(&self) {
        for _ in 0..roll(&self.draws, 0x5eed) % 4 {
            tokio::task::yield_now().await;
        }
    }
}

#[async_trait]
impl S3Wrap for Yielding<MockS3Backend> {
    fn inner(&self) -> &dyn S3Backend {
        &self.inner
    }
    async fn head_object(&self, request: &HeadObjectRequest) -> Result<ObjectFacts, BackendError> {
        self.jitter().await;
        self.inner.head_object(request).await
    }
}

#[async_trait]
impl RekognitionWrap for Yielding<MockRekognitionBackend> {
    fn inner(&self) -> &dyn RekognitionBackend {
        &self.inner
    }
    async fn compare_faces(
        &self,
        request: CompareFacesRequest,
    ) -> Result<ComparisonFacts, BackendError> {
        self.jitter().await;
        self.inner.compare_faces(request).await
    }
    async fn caller_account(&self) -> Result<AccountId, BackendError> {
        self.jitter().await;
        self.inner.caller_account().await
    }
    async fn detect_faces(
        &self,
        request: rekognition_guard::DetectFacesRequest,
    ) -> Result<Vec<rekognition_guard::FaceDetail>, BackendError> {
        self.jitter().await;
        self.inner.detect_faces(request).await
    }
}

#[async_trait]
impl OptOutVerifier for Yielding<MockOptOutVerifier> {
    async fn verify(&self) -> Result<OptOutStatus, BackendError> {
        self.jitter().await;
        self.inner.verify().await
    }
}

/// What the mocks saw, shared with their closures.
struct Ledger {
    answers: Vec<AtomicU8>,
    unverified_compared: AtomicUsize,
}

fn inspector() -> MockS3Backend {
    let draws = AtomicU64::new(0);
    let mut m = MockS3Backend::new();
    m.expect_head_object().returning(move |request| {
        let fail = |kind| {
            Err(BackendError::new(
                kind,
                Service::S3,
                "HeadObject",
                "injected",
            ))
        };
        match roll(&draws, 0x1) {
            0..=7 => fail(BackendErrorKind::Throttled),
            8..=11 => fail(BackendErrorKind::Timeout),
            12..=13 => fail(BackendErrorKind::InvalidResponse),
            _ => Ok(facts(object_number(request.object.key()))),
        }
    });
    m
}

fn comparer(ledger: Arc<Ledger>) -> MockRekognitionBackend {
    let draws = AtomicU64::new(0);
    let mut m = MockRekognitionBackend::new();
    m.expect_compare_faces().returning(move |request| {
        let n = request_number(&request.target);
        let good_source = match request.source {
            VerifiedImage::S3(v) => {
                v.kms_key_id() == KEY && stored(object_number(v.reference().key())) == Stored::Good
            }
            _ => false,
        };
        if !good_source {
            ledger.unverified_compared.fetch_add(1, Ordering::SeqCst);
        }
        let face = |similarity| ComparisonFacts::Faces {
            matches: vec![FaceMatch {
                similarity,
                bounding_box: BoundingBox {
                    left: 0.1,
                    top: 0.1,
                    width: 0.2,
                    height: 0.2,
                },
            }],
            unmatched_faces: 0,
        };
        let (answer, result) = match roll(&draws, 0x2) {
            0..=4 => (
                FAILED,
                Err(BackendError::new(
                    BackendErrorKind::Throttled,
                    Service::Rekognition,
                    "CompareFaces",
                    "injected",
                )),
            ),
            5..=7 => (
                FAILED,
                Err(BackendError::new(
                    BackendErrorKind::ServiceUnavailable,
                    Service::Rekognition,
                    "CompareFaces",
                    "injected",
                )),
            ),
            // Out-of-range answers from a broken backend: never a match.
            8 => (FAILED, Ok(face(150.0))),
            9 => (FAILED, Ok(face(f32::NAN))),
            10..=14 => (ANSWERED_NO_MATCH, Ok(ComparisonFacts::NoFaceInSource)),
            // Below the threshold of 99.
            15..=39 => (ANSWERED_NO_MATCH, Ok(face(98.99))),
            _ => (ANSWERED_MATCH, Ok(face(99.0 + (n % 100) as f32 / 100.0))),
        };
        ledger.answers[n].store(answer, Ordering::SeqCst);
        result
    });
    // The account Rekognition is called as: mostly the one the opt-out was
    // verified for, sometimes another one (refused), sometimes unknown.
    let accounts = AtomicU64::new(0);
    m.expect_caller_account()
        .returning(move || match roll(&accounts, 0x4) {
            0..=2 => Err(BackendError::new(
                BackendErrorKind::Throttled,
                Service::Sts,
                "GetCallerIdentity",
                "injected",
            )),
            3..=5 => Ok(AccountId::parse(OTHER_ACCOUNT).unwrap()),
            _ => Ok(AccountId::parse(ACCOUNT).unwrap()),
        });
    m
}

fn verifier() -> MockOptOutVerifier {
    let draws = AtomicU64::new(0);
    let mut m = MockOptOutVerifier::new();
    m.expect_verify()
        .returning(move || match roll(&draws, 0x3) {
            0..=2 => Err(BackendError::new(
                BackendErrorKind::Throttled,
                Service::Organizations,
                "DescribeEffectivePolicy",
                "injected",
            )),
            3..=4 => Ok(OptOutStatus::NotOptedOut {
                reason: "injected".into(),
            }),
            _ => Ok(OptOutStatus::OptedOut {
                detail: "optOut".into(),
                account: AccountId::parse(ACCOUNT).unwrap(),
            }),
        });
    m
}

#[test]
fn thousands_of_concurrent_comparisons_approve_exactly_the_passing_matches() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .enable_all()
        .build()
        .unwrap();
    let ledger = Arc::new(Ledger {
        answers: (0..REQUESTS).map(|_| AtomicU8::new(NOT_CALLED)).collect(),
        unverified_compared: AtomicUsize::new(0),
    });
    let guard = Guard::new(
        PhotoStore::new(
            Wrapped(Yielding::new(inspector())),
            Policy::allow_kms_key(KmsKeyArn::parse(KEY).unwrap()),
        ),
        Wrapped(Yielding::new(comparer(ledger.clone()))),
        OptOutEvidence::verified_by(Yielding::new(verifier())),
    );

    let results = runtime.block_on(async {
        let tasks: Vec<_> = (0..REQUESTS)
            .map(|n| {
                let guard = guard.clone();
                let k = mix(n as u64 ^ 0xface) % OBJECTS;
                tokio::spawn(async move {
                    let reference = S3ObjectRef::parse(&format!(
                        "s3://library-photos/members/{k}.jpg?versionId=v1"
                    ))
                    .unwrap();
                    let photo = FaceImage::from_vec(
                        [&b"\xFF\xD8\xFF\xE0"[..], format!("request-{n}").as_bytes()].concat(),
                    )
                    .unwrap();
                    (k, guard.compare(reference, photo).await)
                })
            })
            .collect();
        let all = async {
            let mut results = Vec::with_capacity(REQUESTS);
            for task in tasks {
                results.push(task.await.expect("no comparison panics"));
            }
            results
        };
        tokio::time::timeout(Duration::from_secs(120), all)
            .await
            .expect("no deadlock: every comparison ends")
    });

    assert_eq!(ledger.unverified_compared.load(Ordering::SeqCst), 0);
    let mut counts = [0usize; 5]; // approved, no match, refused, error, comparer failed
    for (n, (k, result)) in results.iter().enumerate() {
        let answer = ledger.answers[n].load(Ordering::SeqCst);
        match result {
            Ok(d) => {
                assert_ne!(
                    answer, NOT_CALLED,
                    "request {n}: a decision without a comparison"
                );
                assert_eq!(stored(*k), Stored::Good, "request {n}");
                assert_eq!(
                    d.is_approved(),
                    answer == ANSWERED_MATCH,
                    "request {n}: {d:?}"
                );
                counts[if d.is_approved() { 0 } else { 1 }] += 1;
            }
            Err(Error::Refused(r)) => {
                assert_eq!(answer, NOT_CALLED, "request {n}: refused yet compared");
                for v in &r.violations {
                    let expected = match v {
                        Violation::OptOut(OptOutViolation::NotInEffect { .. })
                        | Violation::OptOut(OptOutViolation::ForAnotherAccount { .. }) => true,
                        Violation::AtRest(AtRestViolation::NotKmsEncrypted { .. }) => {
                            matches!(stored(*k), Stored::SseS3 | Stored::Unencrypted)
                        }
                        Violation::AtRest(AtRestViolation::KmsKeyNotAllowed { .. }) => {
                            stored(*k) == Stored::ForeignKey
                        }
                        Violation::AtRest(AtRestViolation::ObjectTooLarge { .. }) => {
                            stored(*k) == Stored::TooLarge
                        }
                        _ => false,
                    };
                    assert!(expected, "request {n} ({:?}): {v:?}", stored(*k));
                }
                counts[2] += 1;
            }
            Err(Error::Backend(b)) => {
                let from_comparer = b.service() == Service::Rekognition;
                assert_eq!(
                    answer == FAILED,
                    from_comparer,
                    "request {n}: {b:?} (comparer answer {answer})"
                );
                if from_comparer {
                    counts[4] += 1;
                } else {
                    counts[3] += 1;
                }
            }
            Err(other) => panic!("request {n}: unexpected {other:?}"),
        }
    }
    let matches = ledger
        .answers
        .iter()
        .filter(|a| a.load(Ordering::SeqCst) == ANSWERED_MATCH)
        .count();
    assert_eq!(
        counts[0], matches,
        "approvals == passing checks answered with a match"
    );
    // Every outcome occurred, so the run exercised every path.
    assert!(counts.iter().all(|&c| c > 0), "outcome counts {counts:?}");
    assert_eq!(counts.iter().sum::<usize>(), REQUESTS);
    eprintln!(
        "load: {REQUESTS} comparisons: {} approved, {} not matched, {} refused, {} check errors, {} comparer errors",
        counts[0], counts[1], counts[2], counts[3], counts[4]
    );
}
