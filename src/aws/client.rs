//! The one recipe for every AWS SDK client the crate builds or is handed
//! (S3, Rekognition, AWS Organizations, AWS STS):
//!
//! 1. start from the handed-in client's config, else from the `SdkConfig`
//!    (whose endpoint may come from code, `AWS_ENDPOINT_URL*` or a
//!    profile), else fail with what to call;
//! 2. apply an endpoint given to the crate's builder;
//! 3. refuse an endpoint that breaks the in-transit rule
//!    ([`check_endpoint_url`]) before the SDK ever resolves it;
//! 4. use the crate's HTTP client, if one was given (a custom CA bundle);
//! 5. set timeouts: the builder's, else the config's with the crate's
//!    defaults filling the gaps ([`default_timeouts`](super::default_timeouts));
//! 6. add [`HttpsOnly`].

use aws_smithy_runtime_api::client::http::SharedHttpClient;
use aws_smithy_runtime_api::client::interceptors::SharedInterceptor;
use aws_smithy_types::timeout::TimeoutConfig;
use aws_types::service_config::ServiceConfigKey;
use aws_types::SdkConfig;

use crate::error::ConfigError;
use crate::input::Service;
use crate::transit::{check_endpoint_url, no_fips_endpoint, redact, HttpsOnly};

/// What every client of one backend shares.
#[derive(Clone, Default)]
pub(crate) struct Recipe {
    sdk: Option<SdkConfig>,
    /// Given in code: applied to every client.
    http_client: Option<SharedHttpClient>,
    /// Trusting only the CA bundle that `AWS_CA_BUNDLE` or the profile's
    /// `ca_bundle` names: applied to clients built from the `SdkConfig`
    /// (a client handed in keeps the HTTP client it was built with).
    environment_tls: Option<SharedHttpClient>,
    timeouts: Option<TimeoutConfig>,
}

/// One client made by the recipe, with the endpoint it was configured with
/// (when the SDK lets it be known) and its region.
pub(crate) struct Made<C> {
    pub(crate) client: C,
    pub(crate) endpoint: Option<String>,
    pub(crate) region: Option<String>,
}

/// An SDK service client the recipe can make (implemented below for every
/// service the crate calls).
pub(crate) trait ServiceClient: Sized {
    type Builder;
    /// The service, as named in refusals and errors.
    const SERVICE: Service;
    /// The SDK's service id, as `AWS_ENDPOINT_URL_<ID>` and profiles name it.
    const SERVICE_ID: &'static str;
    fn from_sdk(sdk: &SdkConfig) -> Self::Builder;
    fn to_builder(&self) -> Self::Builder;
    fn timeouts(&self) -> Option<TimeoutConfig>;
    /// Sets the endpoint (S3 also switches to path-style addressing).
    fn endpoint_url(builder: Self::Builder, url: &str) -> Self::Builder;
    fn http_client(builder: Self::Builder, client: SharedHttpClient) -> Self::Builder;
    /// Sets timeouts, adds the (permanent) interceptor and builds the
    /// client.
    fn finish(
        builder: Self::Builder,
        timeouts: TimeoutConfig,
        https: SharedInterceptor,
    ) -> (Self, Option<String>);
}

macro_rules! service_client {
    ($sdk:ident, $service:expr, $id:literal, |$b:ident, $url:ident| $endpoint:expr) => {
        impl ServiceClient for $sdk::Client {
            type Builder = $sdk::config::Builder;
            const SERVICE: Service = $service;
            const SERVICE_ID: &'static str = $id;
            fn from_sdk(sdk: &SdkConfig) -> Self::Builder {
                $sdk::config::Builder::from(sdk)
            }
            fn to_builder(&self) -> Self::Builder {
                self.config().to_builder()
            }
            fn timeouts(&self) -> Option<TimeoutConfig> {
                self.config().timeout_config().cloned()
            }
            fn endpoint_url($b: Self::Builder, $url: &str) -> Self::Builder {
                $endpoint
            }
            fn http_client(builder: Self::Builder, client: SharedHttpClient) -> Self::Builder {
                builder.http_client(client)
            }
            fn finish(
                builder: Self::Builder,
                timeouts: TimeoutConfig,
                https: SharedInterceptor,
            ) -> (Self, Option<String>) {
                let mut builder = builder.timeout_config(timeouts);
                builder.push_interceptor(https);
                let config = builder.build();
                let region = config.region().map(ToString::to_string);
                (Self::from_conf(config), region)
            }
        }
    };
}

service_client!(aws_sdk_s3, Service::S3, "S3", |b, url| b
    .endpoint_url(url)
    .force_path_style(true));
service_client!(
    aws_sdk_rekognition,
    Service::Rekognition,
    "Rekognition",
    |b, url| b.endpoint_url(url)
);
#[cfg(feature = "organizations")]
service_client!(
    aws_sdk_organizations,
    Service::Organizations,
    "Organizations",
    |b, url| b.endpoint_url(url)
);
#[cfg(feature = "organizations")]
service_client!(aws_sdk_sts, Service::Sts, "STS", |b, url| b
    .endpoint_url(url));

impl Recipe {
    /// A recipe for clients from `sdk` (or handed in), with the HTTP client
    /// given in code, if any, and `timeouts` replacing the defaults.
    ///
    /// Without an HTTP client in code (here or in the `SdkConfig`), a CA
    /// bundle named by `AWS_CA_BUNDLE`, else by the active profile's
    /// `ca_bundle`, is honoured as the AWS CLI and the other AWS SDKs do
    /// (the Rust SDK reads neither): the clients built from the `SdkConfig`
    /// trust only that bundle.
    ///
    /// # Errors
    /// [`ConfigError::Invalid`] when that bundle cannot be read or holds
    /// no valid PEM certificate.
    pub(crate) fn new(
        sdk: Option<SdkConfig>,
        http_client: Option<SharedHttpClient>,
        timeouts: Option<TimeoutConfig>,
    ) -> Result<Self, ConfigError> {
        let environment_tls = match (&sdk, &http_client) {
            (Some(sdk), None) => environment_tls(sdk)?,
            _ => None,
        };
        Ok(Self {
            sdk,
            http_client,
            environment_tls,
            timeouts,
        })
    }

    /// Makes `C`'s client: from `existing` if given, else from the
    /// `SdkConfig`; with `endpoint` if given. `setter` names the builder
    /// method that hands in a client (`Builder::method`), for the error when
    /// there is neither.
    ///
    /// # Errors
    /// [`ConfigError::InsecureEndpoint`] for an endpoint that breaks the
    /// in-transit rule; [`ConfigError::Invalid`] with neither a client nor
    /// an `SdkConfig`.
    pub(crate) fn make<C: ServiceClient>(
        &self,
        existing: Option<&C>,
        endpoint: Option<&str>,
        setter: &str,
    ) -> Result<Made<C>, ConfigError> {
        // FIPS asked for by the SdkConfig (`use_fips`, AWS_USE_FIPS_ENDPOINT,
        // the profile's use_fips_endpoint). A handed-in client's setting is
        // checked by `HttpsOnly` on every call, from the client's own
        // settings, before anything is sent.
        let fips =
            existing.is_none() && self.sdk.as_ref().and_then(SdkConfig::use_fips) == Some(true);
        let (mut builder, mut configured, existing_timeouts) = match (existing, &self.sdk) {
            (Some(client), _) => (client.to_builder(), None, client.timeouts()),
            (None, Some(sdk)) => (
                C::from_sdk(sdk),
                configured_endpoint(sdk, C::SERVICE_ID),
                sdk.timeout_config().cloned(),
            ),
            (None, None) => {
                let builder = setter.split("::").next().unwrap_or(setter);
                return Err(ConfigError::Invalid(format!(
                    "no {} client: call {builder}::sdk_config or {setter}",
                    C::SERVICE
                )));
            }
        };
        if let Some(url) = endpoint {
            builder = C::endpoint_url(builder, url);
            configured = Some(url.to_owned());
        }
        if let Some(url) = &configured {
            check_endpoint_url(C::SERVICE, url).map_err(ConfigError::InsecureEndpoint)?;
        }
        let http = match existing {
            Some(_) => self.http_client.as_ref(),
            None => self.http_client.as_ref().or(self.environment_tls.as_ref()),
        };
        if let Some(http) = http {
            builder = C::http_client(builder, http.clone());
        }
        let timeouts = super::timeouts(self.timeouts.as_ref(), existing_timeouts.as_ref());
        let (client, region) = C::finish(builder, timeouts, HttpsOnly::permanent(C::SERVICE));
        // Without a region every call fails at endpoint resolution or
        // signing, which the SDK reports like a network error: say so now.
        match region.as_deref() {
            None | Some("") => {
                return Err(ConfigError::MissingRegion {
                    service: C::SERVICE,
                })
            }
            Some(r) if !is_region_name(r) => {
                return Err(ConfigError::InvalidRegion {
                    service: C::SERVICE,
                    region: r.to_owned(),
                })
            }
            Some(_) => {}
        }
        if fips {
            if let Some(url) = &configured {
                return Err(ConfigError::Invalid(format!(
                    "{}: FIPS endpoints are asked for (use_fips, AWS_USE_FIPS_ENDPOINT or the profile's use_fips_endpoint) together with the endpoint {}, which the AWS SDK cannot combine (every call would fail); to reach FIPS through a private endpoint, give its FIPS DNS name as the endpoint URL and turn FIPS off",
                    C::SERVICE,
                    redact(url)
                )));
            }
            if let Some(refusal) = region
                .as_deref()
                .and_then(|r| no_fips_endpoint(C::SERVICE, r))
            {
                return Err(ConfigError::InsecureEndpoint(refusal));
            }
        }
        Ok(Made {
            client,
            endpoint: configured,
            region,
        })
    }
}

/// The endpoint URL an SDK client built from `sdk` will use, resolved as
/// the generated `config::Builder::from(&SdkConfig)` does: an endpoint set
/// in code on the `SdkConfig` wins; otherwise `AWS_ENDPOINT_URL_<SERVICE>`
/// or the profile's service section, then `AWS_ENDPOINT_URL` / profile.
fn configured_endpoint(sdk: &SdkConfig, service_id: &str) -> Option<String> {
    if sdk.get_origin("endpoint_url").is_client_config() {
        return sdk.endpoint_url().map(str::to_owned);
    }
    let key = ServiceConfigKey::builder()
        .service_id(service_id)
        .env("AWS_ENDPOINT_URL")
        .profile("endpoint_url")
        .build()
        .ok()?;
    sdk.service_config()
        .and_then(|c| c.load_config(key))
        .or_else(|| sdk.endpoint_url().map(str::to_owned))
}

/// The CA bundle path the `SdkConfig`'s environment names: `AWS_CA_BUNDLE`,
/// else the active profile's `ca_bundle` (as aws-config loaded them).
fn configured_ca_bundle(sdk: &SdkConfig) -> Option<String> {
    // The setting is global; the key needs a service id, and an empty one
    // names no service-specific variable or profile section.
    let key = ServiceConfigKey::builder()
        .service_id("")
        .env("AWS_CA_BUNDLE")
        .profile("ca_bundle")
        .build()
        .ok()?;
    sdk.service_config()?
        .load_config(key)
        .filter(|path| !path.trim().is_empty())
}

/// An HTTP client trusting only the configured CA bundle, if one is
/// configured and the `SdkConfig` has no HTTP client of its own (code wins
/// over the environment, as everywhere in AWS configuration).
fn environment_tls(sdk: &SdkConfig) -> Result<Option<SharedHttpClient>, ConfigError> {
    let Some(path) = configured_ca_bundle(sdk) else {
        return Ok(None);
    };
    let shown = crate::text::quote(&path, 256);
    if sdk.http_client().is_some() {
        tracing::warn!(
            ca_bundle = %shown,
            "the CA bundle named by AWS_CA_BUNDLE or the profile's ca_bundle is not applied: the SdkConfig has an HTTP client of its own, whose trust settings apply"
        );
        return Ok(None);
    }
    let pem = std::fs::read(&path).map_err(|e| {
        ConfigError::Invalid(format!(
            "the CA bundle {shown} named by AWS_CA_BUNDLE or the profile's ca_bundle cannot be read: {e}; fix the path or unset it"
        ))
    })?;
    super::https_client_trusting(&pem, false)
        .map(Some)
        .map_err(|e| {
            let reason = match e {
                ConfigError::Invalid(reason) => reason,
                other => other.to_string(),
            };
            ConfigError::Invalid(format!(
                "the CA bundle {shown} named by AWS_CA_BUNDLE or the profile's ca_bundle: {reason}"
            ))
        })
}

/// Whether `region` can name a region: one DNS label (letters, digits and
/// hyphens, 1 to 63 characters, no leading hyphen), the rule the SDK's
/// endpoint resolvers apply (`isValidHostLabel`).
fn is_region_name(region: &str) -> bool {
    (1..=63).contains(&region.len())
        && !region.starts_with('-')
        && region
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-')
}
