//! The AI services opt-out, verified through AWS Organizations
//! (`DescribeEffectivePolicy`). Feature `organizations`.

use std::fmt;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use aws_sdk_organizations::operation::describe_effective_policy::DescribeEffectivePolicyError;
use aws_sdk_organizations::types::EffectivePolicyType;
use aws_smithy_runtime_api::client::http::SharedHttpClient;
use aws_types::SdkConfig;

use super::client::Recipe;
use super::errors::{by_status, common, status};
use super::sts::CallerAccount;
use crate::error::{BackendError, BackendErrorKind, ConfigError};
use crate::input::{AccountId, Service};
use crate::opt_out::{resolve_rekognition_opt_out, OptOutStatus, OptOutVerifier};

const OPERATION: &str = "DescribeEffectivePolicy";

/// Every `aws`-partition region resolves Organizations to this endpoint.
const DEFAULT_ENDPOINT: &str = "https://organizations.us-east-1.amazonaws.com";

/// Verifies the AI services opt-out for Rekognition from the account's
/// effective AWS Organizations `AISERVICES_OPT_OUT_POLICY`.
///
/// Opted out (a `rekognition` entry, else `default`, resolves to `optOut`):
/// the comparison may proceed, **if** the account the effective policy was
/// read for (the `TargetId` Organizations answers with; else the target
/// account set here; else the verifier's own account from STS
/// `GetCallerIdentity`) is the account whose credentials call Rekognition
/// ([`RekognitionBackend::caller_account`](crate::RekognitionBackend::caller_account)).
/// A verifier built from the same `SdkConfig` as the backend passes without
/// extra setup. Not in an organization, no policy, access denied, opted in
/// or another account: the guard refuses, with a message that says which
/// and how to fix it. A positive answer is cached for
/// [`cache_ttl`](OrganizationsVerifierBuilder::cache_ttl) (default five
/// minutes); a negative one never is. The client carries [`HttpsOnly`](crate::transit::HttpsOnly).
///
/// ```no_run
/// # async fn f() -> Result<(), Box<dyn std::error::Error>> {
/// use rekognition_guard::aws::{AwsBackend, OrganizationsOptOutVerifier};
/// use rekognition_guard::{Guard, OptOutEvidence, PhotoStore, Policy};
///
/// let sdk_config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
/// let verifier = OrganizationsOptOutVerifier::from_sdk_config(&sdk_config)?;
/// let aws = AwsBackend::from_sdk_config(&sdk_config)?;
/// let store = PhotoStore::new(aws.clone(), Policy::any_kms_key());
/// let guard = Guard::new(store, aws, OptOutEvidence::verified_by(verifier));
/// # let _ = guard; Ok(()) }
/// ```
///
/// IAM: `organizations:DescribeEffectivePolicy` (STS `GetCallerIdentity`
/// needs no permission).
#[cfg_attr(docsrs, doc(cfg(feature = "organizations")))]
pub struct OrganizationsOptOutVerifier {
    client: aws_sdk_organizations::Client,
    target: Option<AccountId>,
    endpoint: String,
    cache_ttl: Duration,
    cached: Mutex<Option<(Instant, String, AccountId)>>,
    /// STS with the verifier's credentials, for when Organizations does
    /// not say which account it answered for.
    sts: Option<CallerAccount>,
}

impl fmt::Debug for OrganizationsOptOutVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OrganizationsOptOutVerifier")
            .field("endpoint", &crate::transit::redact(&self.endpoint))
            .field("target", &self.target)
            .field("cache_ttl", &self.cache_ttl)
            .finish_non_exhaustive()
    }
}

impl OrganizationsOptOutVerifier {
    /// A verifier for the caller's own account.
    ///
    /// # Errors
    /// [`Error::Config`](crate::Error::Config) with
    /// [`ConfigError::InsecureEndpoint`] for a configured non-HTTPS endpoint.
    pub fn from_sdk_config(sdk_config: &SdkConfig) -> Result<Self, crate::Error> {
        Self::builder().sdk_config(sdk_config).build()
    }

    /// A builder.
    pub fn builder() -> OrganizationsVerifierBuilder {
        OrganizationsVerifierBuilder {
            sdk_config: None,
            client: None,
            target: None,
            cache_ttl: Duration::from_secs(300),
            endpoint_url: None,
            http_client: None,
            sts: None,
        }
    }

    fn cached(&self) -> Option<(String, AccountId)> {
        let cached = self.cached.lock().unwrap_or_else(|e| e.into_inner());
        match &*cached {
            Some((at, detail, account)) if at.elapsed() < self.cache_ttl => {
                Some((detail.clone(), account.clone()))
            }
            _ => None,
        }
    }

    fn remember(&self, detail: &str, account: &AccountId) {
        if !self.cache_ttl.is_zero() {
            *self.cached.lock().unwrap_or_else(|e| e.into_inner()) =
                Some((Instant::now(), detail.to_owned(), account.clone()));
        }
    }

    /// The account the effective policy was read for: the `TargetId`
    /// Organizations answered with; else the target asked about; else the
    /// account of the verifier's own credentials (STS). `Err` is a reason
    /// not to trust the answer.
    async fn policy_account(
        &self,
        answered: Option<&str>,
    ) -> Result<Result<AccountId, String>, BackendError> {
        let asked = self.target.as_ref();
        Ok(match (answered.map(AccountId::parse), asked) {
            (Some(Ok(answered)), Some(asked)) if answered != *asked => Err(format!(
                "Organizations answered for account {answered}, but account {asked} was asked about"
            )),
            (Some(Ok(answered)), _) => Ok(answered),
            (Some(Err(_)), _) => Err(
                "Organizations answered with a target that is not a 12-digit account id".to_owned(),
            ),
            (None, Some(asked)) => Ok(asked.clone()),
            (None, None) => match &self.sts {
                Some(sts) => Ok(sts.account().await?),
                None => Err("Organizations did not say which account the effective policy is for, and the verifier cannot ask STS (it was handed a client without an SdkConfig); set OrganizationsVerifierBuilder::target_account".to_owned()),
            },
        })
    }
}

/// Builds an [`OrganizationsOptOutVerifier`].
#[must_use]
#[cfg_attr(docsrs, doc(cfg(feature = "organizations")))]
pub struct OrganizationsVerifierBuilder {
    sdk_config: Option<SdkConfig>,
    client: Option<aws_sdk_organizations::Client>,
    target: Option<AccountId>,
    cache_ttl: Duration,
    endpoint_url: Option<String>,
    http_client: Option<SharedHttpClient>,
    sts: Option<aws_sdk_sts::Client>,
}

impl fmt::Debug for OrganizationsVerifierBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OrganizationsVerifierBuilder")
            .field("target", &self.target)
            .field("cache_ttl", &self.cache_ttl)
            .finish_non_exhaustive()
    }
}

impl OrganizationsVerifierBuilder {
    /// The config the client is built from.
    pub fn sdk_config(mut self, sdk_config: &SdkConfig) -> Self {
        self.sdk_config = Some(sdk_config.clone());
        self
    }

    /// An existing client; it is rebuilt with [`HttpsOnly`](crate::transit::HttpsOnly) added.
    pub fn client(mut self, client: aws_sdk_organizations::Client) -> Self {
        self.client = Some(client);
        self
    }

    /// Asks about `account` instead of the caller's account (needs the
    /// management or a delegated administrator account).
    pub fn target_account(mut self, account: AccountId) -> Self {
        self.target = Some(account);
        self
    }

    /// How long a positive answer is reused (zero: ask every time).
    pub fn cache_ttl(mut self, ttl: Duration) -> Self {
        self.cache_ttl = ttl;
        self
    }

    /// A private Organizations endpoint (must be `https://`).
    pub fn endpoint_url(mut self, url: impl Into<String>) -> Self {
        self.endpoint_url = Some(url.into());
        self
    }

    /// The HTTP client, e.g. [`https_client_trusting`](super::https_client_trusting)
    /// (also for STS).
    pub fn http_client(mut self, client: SharedHttpClient) -> Self {
        self.http_client = Some(client);
        self
    }

    /// An STS client with the **same credentials as the Organizations
    /// client**, asked which account they belong to when Organizations does
    /// not say which account it answered for and no target is set. Without
    /// it, STS is built from the `SdkConfig` (not when an Organizations
    /// client was handed in: its credentials cannot be read back).
    pub fn sts_client(mut self, client: aws_sdk_sts::Client) -> Self {
        self.sts = Some(client);
        self
    }

    /// Builds the verifier.
    ///
    /// # Errors
    /// [`Error::Config`](crate::Error::Config) with
    /// [`ConfigError::InsecureEndpoint`] for a non-HTTPS endpoint, or
    /// [`ConfigError::Invalid`] without a config or a client.
    pub fn build(self) -> Result<OrganizationsOptOutVerifier, crate::Error> {
        self.build_config().map_err(crate::Error::Config)
    }

    fn build_config(self) -> Result<OrganizationsOptOutVerifier, ConfigError> {
        let recipe = Recipe::new(self.sdk_config.clone(), self.http_client.clone(), None)?;
        let organizations = recipe.make::<aws_sdk_organizations::Client>(
            self.client.as_ref(),
            self.endpoint_url.as_deref(),
            "OrganizationsVerifierBuilder::client",
        )?;
        // STS with the verifier's credentials: a handed-in STS client, else
        // one from the SdkConfig the Organizations client is built from.
        let sts = if self.sts.is_some() || self.client.is_none() && self.sdk_config.is_some() {
            let sts = recipe.make::<aws_sdk_sts::Client>(
                self.sts.as_ref(),
                None,
                "OrganizationsVerifierBuilder::sts_client",
            )?;
            Some(CallerAccount::new(sts.client, self.cache_ttl))
        } else {
            None
        };
        Ok(OrganizationsOptOutVerifier {
            client: organizations.client,
            target: self.target,
            endpoint: organizations
                .endpoint
                .unwrap_or_else(|| DEFAULT_ENDPOINT.to_owned()),
            cache_ttl: self.cache_ttl,
            cached: Mutex::new(None),
            sts,
        })
    }
}

#[async_trait]
impl OptOutVerifier for OrganizationsOptOutVerifier {
    async fn verify(&self) -> Result<OptOutStatus, BackendError> {
        if let Some((detail, account)) = self.cached() {
            return Ok(OptOutStatus::OptedOut { detail, account });
        }
        let result = self
            .client
            .describe_effective_policy()
            .policy_type(EffectivePolicyType::AiservicesOptOutPolicy)
            .set_target_id(self.target.as_ref().map(|a| a.as_str().to_owned()))
            .send()
            .await;
        let status = match result {
            Ok(out) => {
                let policy = out.effective_policy();
                match (
                    policy.and_then(|p| p.policy_content()),
                    self.policy_account(policy.and_then(|p| p.target_id()))
                        .await?,
                ) {
                    (Some(content), Ok(account)) => resolve_rekognition_opt_out(content, &account),
                    (None, _) => OptOutStatus::NotOptedOut {
                        reason:
                            "Organizations returned no effective AI services opt-out policy content"
                                .into(),
                    },
                    (_, Err(reason)) => OptOutStatus::NotOptedOut { reason },
                }
            }
            Err(err) => {
                if let Some(mapped) = common(&err, Service::Organizations, OPERATION) {
                    return Err(mapped.with_source(err));
                }
                let not = |reason: &str| {
                    Ok(OptOutStatus::NotOptedOut {
                        reason: reason.to_owned(),
                    })
                };
                return match err.as_service_error() {
                    Some(DescribeEffectivePolicyError::AwsOrganizationsNotInUseException(_)) => not(
                        "the account is not in an AWS organization, so no AI services opt-out policy applies; join or create an organization and attach an opt-out policy, or, if AWS Support arranged your opt-out, use OptOutEvidence::attested with the case id",
                    ),
                    Some(DescribeEffectivePolicyError::EffectivePolicyNotFoundException(_)) => not(
                        "no AI services opt-out policy applies to this account; enable the AISERVICES_OPT_OUT_POLICY policy type on the organization root and attach a policy that sets rekognition (or default) to optOut",
                    ),
                    Some(DescribeEffectivePolicyError::AccessDeniedException(_)) => not(
                        "access denied reading the effective AI services opt-out policy; grant organizations:DescribeEffectivePolicy to the caller",
                    ),
                    Some(DescribeEffectivePolicyError::TargetNotFoundException(_)) => not(
                        "the target account was not found in the organization; check the account id",
                    ),
                    Some(DescribeEffectivePolicyError::TooManyRequestsException(_)) => Err(BackendError::new(
                        BackendErrorKind::Throttled,
                        Service::Organizations,
                        OPERATION,
                        "AWS Organizations is throttling requests; retry later (positive answers are cached)",
                    )
                    .with_source(err)),
                    Some(DescribeEffectivePolicyError::ServiceException(_)) => Err(BackendError::new(
                        BackendErrorKind::ServiceUnavailable,
                        Service::Organizations,
                        OPERATION,
                        "AWS Organizations had an internal error",
                    )
                    .with_source(err)),
                    _ => {
                        let (kind, message) = by_status(status(&err), OPERATION);
                        Err(BackendError::new(kind, Service::Organizations, OPERATION, message).with_source(err))
                    }
                };
            }
        };
        if let OptOutStatus::OptedOut { detail, account } = &status {
            self.remember(detail, account);
        }
        Ok(status)
    }
}
