//! Which AWS account a client's credentials act as: STS
//! `GetCallerIdentity`. Feature `organizations`.
//!
//! The opt-out evidence must be about the account that calls Rekognition,
//! so the guard compares the account the effective opt-out policy was read
//! for with the account of the Rekognition client's credentials. The STS
//! client carries [`HttpsOnly`] and the crate's default timeouts like
//! every other client, and a positive answer is remembered for a short
//! time (credentials of one provider stay in one account).

use std::sync::Mutex;
use std::time::{Duration, Instant};

use aws_sdk_sts::error::ProvideErrorMetadata;

use super::errors::{by_status, common, status};
use crate::backend::{BackendError, BackendErrorKind};
use crate::input::{AccountId, Service};

const OPERATION: &str = "GetCallerIdentity";

/// How long an account learned from STS is reused by default.
pub(crate) const DEFAULT_TTL: Duration = Duration::from_secs(300);

/// An STS client that answers "which account am I?", with a cache.
#[derive(Debug)]
pub(crate) struct CallerAccount {
    client: aws_sdk_sts::Client,
    ttl: Duration,
    cached: Mutex<Option<(Instant, AccountId)>>,
}

impl CallerAccount {
    /// A caller-account lookup with `client` (made by the client recipe,
    /// so with [`HttpsOnly`](crate::transit::HttpsOnly) and timeouts),
    /// remembering an answer for `ttl`.
    pub(crate) fn new(client: aws_sdk_sts::Client, ttl: Duration) -> Self {
        Self {
            client,
            ttl,
            cached: Mutex::new(None),
        }
    }

    /// The account the credentials act as.
    ///
    /// # Errors
    /// A [`BackendError`] (service [`Service::Sts`]) when STS cannot be
    /// asked or answers something that is not an account id.
    pub(crate) async fn account(&self) -> Result<AccountId, BackendError> {
        {
            let cached = self.cached.lock().unwrap_or_else(|e| e.into_inner());
            if let Some((at, account)) = &*cached {
                if at.elapsed() < self.ttl {
                    return Ok(account.clone());
                }
            }
        }
        let out = match self.client.get_caller_identity().send().await {
            Ok(out) => out,
            Err(err) => {
                if let Some(mapped) = common(&err, Service::Sts, OPERATION) {
                    return Err(mapped.with_source(err));
                }
                let code = err.as_service_error().and_then(|e| e.code()).unwrap_or("");
                let (kind, message) = match (status(&err), code) {
                    (Some(403), _) | (_, "AccessDenied") => (
                        BackendErrorKind::AccessDenied,
                        "access denied: STS GetCallerIdentity needs no permission, so the credentials are invalid, expired, or refused by an SCP or a VPC endpoint policy".to_owned(),
                    ),
                    (_, "ExpiredToken" | "InvalidClientTokenId" | "SignatureDoesNotMatch") => (
                        BackendErrorKind::AccessDenied,
                        format!("STS refused the credentials ({code}); refresh or fix them"),
                    ),
                    (_, "Throttling") => (
                        BackendErrorKind::Throttled,
                        "STS is throttling requests; retry later (answers are cached)".to_owned(),
                    ),
                    (s, _) => by_status(s, OPERATION),
                };
                return Err(
                    BackendError::new(kind, Service::Sts, OPERATION, message).with_source(err)
                );
            }
        };
        let account = out
            .account()
            .and_then(|a| AccountId::parse(a).ok())
            .ok_or_else(|| {
                BackendError::new(
                    BackendErrorKind::InvalidResponse,
                    Service::Sts,
                    OPERATION,
                    "STS answered without a 12-digit account id",
                )
            })?;
        if !self.ttl.is_zero() {
            *self.cached.lock().unwrap_or_else(|e| e.into_inner()) =
                Some((Instant::now(), account.clone()));
        }
        Ok(account)
    }
}
