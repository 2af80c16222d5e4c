//! The one guarded path every operation that reaches Rekognition takes
//! before it may call a backend: the opt-out evidence for the account that
//! calls Rekognition, and each S3 image checked at rest (HTTPS is enforced
//! on the wire by the backends; a request refused there is a violation). It returns the
//! proofs, or one [`Refusal`] naming the operation and every requirement
//! that failed, or the first backend error.

use std::time::Instant;

use futures_util::future::join_all;

use super::{Guard, PhotoStore};
use crate::at_rest::{verify, AtRestViolation, VerifiedS3Object};
use crate::backend::{BackendError, BackendErrorKind, HeadObjectRequest, VerifiedImage};
use crate::decision::CheckOrigin;
use crate::error::Error;
use crate::input::{ImageInput, S3ObjectRef, Service};
use crate::opt_out::{OptOutRecord, OptOutStatus, OptOutViolation};
use crate::refusal::{Operation, Refusal, Violation};

/// How one check ended.
pub(super) enum Check<T> {
    Passed(T),
    Refused(Vec<Violation>),
    Failed(BackendError),
}

impl<T> Check<T> {
    /// A backend failure as a check result: a request refused before
    /// transmit for an insecure endpoint is a violation, anything else a
    /// failure.
    pub(super) fn failed(e: BackendError) -> Self {
        match e.insecure_endpoint() {
            Some(v) => Check::Refused(vec![Violation::InsecureEndpoint(v.clone())]),
            None => Check::Failed(e),
        }
    }

    /// This check as the result of `operation`.
    pub(super) fn into_result(self, operation: Operation) -> Result<T, Error> {
        match self {
            Check::Passed(v) => Ok(v),
            Check::Refused(v) => Err(refused(operation, v)),
            Check::Failed(e) => Err(Error::Backend(e)),
        }
    }
}

/// An image that passed, and where its S3 check came from.
pub(super) struct Cleared {
    pub(super) image: VerifiedImage,
    pub(super) origin: Option<CheckOrigin>,
}

/// What the guarded path hands an operation: its images, checked, and the
/// opt-out evidence it relied on (when it calls Rekognition).
pub(super) struct Clearance<const N: usize> {
    pub(super) images: [Cleared; N],
    pub(super) opt_out: Option<OptOutRecord>,
}

/// The guarded path part-way: what is settled, what still needs I/O.
pub(super) struct Settled<const N: usize> {
    violations: Vec<Violation>,
    cleared: [Option<Cleared>; N],
    /// S3 images (with their index) still to check with HeadObject.
    pending: Vec<(usize, S3ObjectRef)>,
    rekognition: bool,
    /// `Some` once the opt-out requirement passed (`Some(None)`: nothing
    /// to verify); `None` while the verifier is still to be asked.
    opt_out: Option<Option<(String, crate::input::AccountId)>>,
    failure: Option<BackendError>,
}

impl<const N: usize> Settled<N> {
    pub(super) fn needs_io(&self) -> bool {
        !self.pending.is_empty() || self.opt_out.is_none()
    }
}

impl Guard {
    /// The guarded path of `operation` over `images`.
    ///
    /// Every requirement is checked before anything is called for the
    /// operation, and the checks that need I/O (the opt-out verifier, the
    /// account that calls Rekognition, HeadObject per S3 image) run
    /// concurrently. A refusal lists every failed requirement in a stable
    /// order (endpoints, opt-out, then the images in order); it wins over a
    /// backend error found at the same time.
    pub(super) async fn clear<const N: usize>(
        &self,
        operation: Operation,
        images: [ImageInput; N],
    ) -> Result<Clearance<N>, Error> {
        // Two plain functions around the only await, so that the state
        // machine of every operation stays small: a warm call runs
        // `settle` and `conclude` and awaits nothing.
        let mut settled = self.settle(operation, images);
        if settled.needs_io() {
            self.check_pending(&mut settled).await;
        }
        self.conclude(operation, settled)
    }

    /// The checks that need no I/O: endpoints, image bytes, and S3 images
    /// whose pass is cached. What is left is in `pending`.
    #[inline(never)]
    pub(super) fn settle<const N: usize>(
        &self,
        operation: Operation,
        images: [ImageInput; N],
    ) -> Settled<N> {
        // Endpoints are not checked here: HTTPS is enforced where a
        // backend's endpoint is set and on the wire (`transit`); a request
        // refused there comes back as a violation (`Check::failed`).
        let mut violations = Vec::new();
        let rekognition = operation.calls_rekognition();
        let verifier = self.opt_out.verifier().filter(|_| rekognition);
        if rekognition && self.opt_out.is_gov_cloud_partition() {
            let region = self.rekognition.region();
            if !region.as_deref().is_some_and(crate::opt_out::is_gov_cloud) {
                violations.push(Violation::OptOut(OptOutViolation::NotGovCloud { region }));
            }
        }

        // What needs no I/O is settled here: image bytes, and S3 images
        // whose pass is cached. Only the rest is awaited, concurrently
        // with the opt-out verifier, so a warm call builds no futures.
        let mut cleared: [Option<Cleared>; N] = std::array::from_fn(|_| None);
        let mut pending: Vec<(usize, S3ObjectRef)> = Vec::new();
        // One clock read for every cache lookup of this call.
        let mut now = None;
        for (i, input) in images.into_iter().enumerate() {
            match input {
                ImageInput::Bytes(image) => {
                    cleared[i] = Some(Cleared {
                        image: VerifiedImage::Bytes(image),
                        origin: None,
                    });
                }
                ImageInput::S3(object) if self.store.withdrawn.contains(&object) => {
                    violations.push(Violation::AtRest(AtRestViolation::ConsentWithdrawn {
                        object,
                    }));
                }
                ImageInput::S3(object) => {
                    match self
                        .store
                        .cached(&object, *now.get_or_insert_with(Instant::now))
                    {
                        Some((hit, origin)) => {
                            cleared[i] = Some(Cleared {
                                image: VerifiedImage::S3(hit),
                                origin: Some(origin),
                            });
                        }
                        None => pending.push((i, object)),
                    }
                }
            }
        }
        Settled {
            violations,
            cleared,
            pending,
            rekognition,
            // Nothing to verify: passed, with no verified evidence.
            opt_out: if verifier.is_some() { None } else { Some(None) },
            failure: None,
        }
    }

    /// The checks that need I/O, concurrently: the opt-out verifier (with
    /// the account that calls Rekognition) and HeadObject per pending S3
    /// image. Violations come in a stable order: opt-out, then the images
    /// in order; the first backend error is kept.
    pub(super) async fn check_pending<const N: usize>(&self, settled: &mut Settled<N>) {
        let (opt_out, fetched) = tokio::join!(
            self.check_opt_out(settled.rekognition),
            join_all(
                settled
                    .pending
                    .iter()
                    .map(|(_, o)| self.store.check_uncached(o))
            ),
        );
        match opt_out {
            Check::Passed(v) => settled.opt_out = Some(v),
            Check::Refused(v) => push_violations(&mut settled.violations, v),
            Check::Failed(e) => {
                settled.failure.get_or_insert(e);
            }
        }
        for ((i, _), check) in settled.pending.iter().zip(fetched) {
            match check {
                Check::Passed((v, origin)) => {
                    settled.cleared[*i] = Some(Cleared {
                        image: VerifiedImage::S3(v),
                        origin: Some(origin),
                    });
                }
                Check::Refused(v) => push_violations(&mut settled.violations, v),
                Check::Failed(e) => {
                    settled.failure.get_or_insert(e);
                }
            }
        }
    }

    /// The refusal naming every violation, else the first backend error,
    /// else the proofs.
    #[inline(never)]
    pub(super) fn conclude<const N: usize>(
        &self,
        operation: Operation,
        settled: Settled<N>,
    ) -> Result<Clearance<N>, Error> {
        let Settled {
            violations,
            cleared,
            opt_out,
            failure,
            rekognition,
            ..
        } = settled;
        if !violations.is_empty() {
            return Err(refused(operation, violations));
        }
        if let Some(e) = failure {
            return Err(backend_failure(e));
        }
        // Every check that did not pass left a violation or an error, so
        // these hold; should one ever not, fail closed, not panic.
        let Some(opt_out) = opt_out else {
            return Err(internal_error(operation));
        };
        if cleared.iter().any(Option::is_none) {
            return Err(internal_error(operation));
        }
        let images = cleared.map(|c| c.expect("checked just above"));
        let opt_out = match opt_out {
            Some(verified) => Some(
                self.opt_out
                    .record(Some(verified), || self.rekognition.region())
                    .ok_or_else(|| internal_error(operation))?,
            ),
            None if rekognition => Some(
                self.opt_out
                    .record(None, || self.rekognition.region())
                    .ok_or_else(|| internal_error(operation))?,
            ),
            None => None,
        };
        Ok(Clearance { images, opt_out })
    }

    /// For an operation that calls Rekognition: verified evidence must be
    /// about the account that calls Rekognition, so both are asked
    /// concurrently and must agree. `Passed(None)`: nothing to verify.
    async fn check_opt_out(
        &self,
        rekognition: bool,
    ) -> Check<Option<(String, crate::input::AccountId)>> {
        let verifier = match self.opt_out.verifier() {
            Some(v) if rekognition => v,
            _ => return Check::Passed(None),
        };
        let (status, caller) = tokio::join!(verifier.verify(), self.rekognition.caller_account());
        // Both answers count: a request either refused on the wire is a
        // violation even when the other answer already refuses.
        let mut violations = Vec::new();
        let mut failure = None;
        let mut note = |e: BackendError| match Check::<()>::failed(e) {
            Check::Refused(v) => violations.extend(v),
            Check::Failed(e) => {
                failure.get_or_insert(e);
            }
            Check::Passed(()) => {}
        };
        let (status, caller) = match (status, caller) {
            (Ok(s), Ok(c)) => (Some(s), Some(c)),
            (Ok(s), Err(e)) => {
                note(e);
                (Some(s), None)
            }
            (Err(e), Ok(_)) => {
                note(e);
                (None, None)
            }
            (Err(a), Err(b)) => {
                note(a);
                note(b);
                (None, None)
            }
        };
        match (status, caller) {
            (Some(OptOutStatus::OptedOut { detail, account }), Some(caller))
                if account == caller =>
            {
                return Check::Passed(Some((detail, account)));
            }
            (Some(OptOutStatus::OptedOut { account, .. }), Some(caller)) => {
                violations.push(Violation::OptOut(OptOutViolation::ForAnotherAccount {
                    evidence_account: account,
                    rekognition_account: caller,
                }));
            }
            (Some(OptOutStatus::NotOptedOut { reason }), _) => {
                violations.push(Violation::OptOut(OptOutViolation::NotInEffect { reason }));
            }
            _ => {}
        }
        if !violations.is_empty() {
            return Check::Refused(violations);
        }
        match failure {
            Some(e) => Check::Failed(e),
            // Unreachable: without both answers, one was an error.
            None => Check::Failed(BackendError::new(
                BackendErrorKind::Other,
                Service::Rekognition,
                "opt-out check",
                "the opt-out check ended without an answer; nothing was sent to Rekognition",
            )),
        }
    }
}

impl PhotoStore {
    /// HeadObject and the at-rest judge, or a cached pass. Any error or
    /// refusal about the object drops what the cache knew about it.
    pub(super) async fn check_object(
        &self,
        object: &S3ObjectRef,
    ) -> Check<(VerifiedS3Object, CheckOrigin)> {
        if let Some(hit) = self.cached(object, Instant::now()) {
            return Check::Passed(hit);
        }
        self.check_uncached(object).await
    }

    /// The cached pass of `object` at `now`, if any.
    pub(super) fn cached(
        &self,
        object: &S3ObjectRef,
        now: Instant,
    ) -> Option<(VerifiedS3Object, CheckOrigin)> {
        let (hit, age) = self.cache.as_ref()?.get(object, now)?;
        tracing::debug!(object = %object, age_ms = age.as_millis(), "verification cache hit: HeadObject skipped");
        Some((hit, CheckOrigin::Cache { age }))
    }

    /// HeadObject and the at-rest judge; a pass is cached.
    pub(super) async fn check_uncached(
        &self,
        object: &S3ObjectRef,
    ) -> Check<(VerifiedS3Object, CheckOrigin)> {
        let request =
            HeadObjectRequest::new(object.clone(), self.policy.expected_bucket_owner().cloned());
        // Taken before HeadObject: an erasure or forgetting while it runs
        // keeps this pass out of the cache.
        let ticket = self.cache.as_ref().map(|c| (c, c.ticket(object)));
        let check = match self.s3.head_object(&request).await {
            Ok(facts) => match verify(object, &facts, &self.policy) {
                Ok(v) => {
                    if let Some((cache, ticket)) = ticket {
                        cache.insert(object, &v, ticket);
                    }
                    return Check::Passed((v, CheckOrigin::HeadObject));
                }
                Err(v) => Check::Refused(v.into_iter().map(Violation::AtRest).collect()),
            },
            Err(e) => Check::failed(e),
        };
        self.forget_check(object);
        check
    }
}

// The functions below build errors. `#[cold]` keeps them, and the branches
// that reach them, out of the warm path's code, which runs from a cold
// instruction cache on every call.

/// Adds `found` to `violations`, an insecure endpoint once: several
/// requests of one operation (both images' HeadObject, on one S3 client)
/// are refused for the same one.
#[cold]
#[inline(never)]
fn push_violations(violations: &mut Vec<Violation>, found: Vec<Violation>) {
    for v in found {
        if !(matches!(v, Violation::InsecureEndpoint(_)) && violations.contains(&v)) {
            violations.push(v);
        }
    }
}

#[cold]
#[inline(never)]
fn backend_failure(e: BackendError) -> Error {
    Error::Backend(e)
}

/// A refusal of `operation`; fails closed should `violations` be empty.
#[cold]
#[inline(never)]
pub(super) fn refused(operation: Operation, violations: Vec<Violation>) -> Error {
    match Refusal::new(operation, violations) {
        Some(r) => Error::Refused(r),
        None => internal_error(operation),
    }
}

/// A backend failure as this crate's error: a refusal before transmit is a
/// policy refusal of `operation`, anything else a backend error.
#[cold]
#[inline(never)]
pub(super) fn backend_error(operation: Operation, e: BackendError) -> Error {
    match e.insecure_endpoint() {
        Some(v) => refused(operation, vec![Violation::InsecureEndpoint(v.clone())]),
        None => Error::Backend(e),
    }
}

/// For states the checks rule out by construction: should one ever occur,
/// fail closed with an error naming the operation rather than panic.
#[cold]
#[inline(never)]
pub(super) fn internal_error(operation: Operation) -> Error {
    let service = if operation.calls_rekognition() {
        Service::Rekognition
    } else {
        Service::S3
    };
    Error::Backend(BackendError::new(
        BackendErrorKind::Other,
        service,
        operation.name(),
        format!(
            "internal error: a check of this {operation} ended without a result; {}",
            operation.consequence()
        ),
    ))
}
