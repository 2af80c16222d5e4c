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
use crate::transit::{check_endpoint_url, HttpsOnly};

/// What every client of one backend shares.
#[derive(Clone, Default)]
pub(crate) struct Recipe {
    pub(crate) sdk: Option<SdkConfig>,
    pub(crate) http_client: Option<SharedHttpClient>,
    pub(crate) timeouts: Option<TimeoutConfig>,
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
        if let Some(http) = &self.http_client {
            builder = C::http_client(builder, http.clone());
        }
        let timeouts = super::timeouts(self.timeouts.as_ref(), existing_timeouts.as_ref());
        let (client, region) = C::finish(builder, timeouts, HttpsOnly::permanent(C::SERVICE));
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
