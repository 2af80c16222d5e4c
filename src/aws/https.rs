//! The `HttpsOnly` interceptor: refuses, before transmit, any request whose
//! final URI is not `https://`.

use std::fmt;

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::BeforeTransmitInterceptorContextRef;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;

use crate::endpoint::{is_https, redact};
use crate::input::Service;

/// An SDK interceptor that refuses every request whose final URI is not
/// `https://`, whatever chose the endpoint: code, `AWS_ENDPOINT_URL`,
/// `AWS_ENDPOINT_URL_<SERVICE>`, a profile, or a custom endpoint resolver.
///
/// It runs in `read_before_transmit`, once per attempt, after endpoint
/// resolution and signing, so it sees the URI that would go on the wire. A
/// refusal ends the call before any byte is sent and is not retried. The
/// AWS backends install it on every client they build or are given; add it
/// to your own clients with `config::Builder::interceptor(HttpsOnly::new(..))`.
#[derive(Debug, Clone, Copy)]
pub struct HttpsOnly {
    service: Service,
}

impl HttpsOnly {
    /// An interceptor for `service`'s client (named in refusals).
    pub fn new(service: Service) -> Self {
        Self { service }
    }
}

impl Intercept for HttpsOnly {
    fn name(&self) -> &'static str {
        "rekognition_guard::HttpsOnly"
    }

    fn read_before_transmit(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let uri = context.request().uri();
        if is_https(uri) {
            Ok(())
        } else {
            tracing::warn!(
                target: crate::AUDIT_TARGET,
                service = %self.service,
                endpoint = %redact(uri),
                "refused a request to a non-HTTPS endpoint before transmit"
            );
            Err(Box::new(InsecureEndpointError {
                service: self.service,
                endpoint: redact(uri),
            }))
        }
    }
}

/// The refusal [`HttpsOnly`] returns; the AWS backends turn it into
/// [`Violation::InsecureEndpoint`](crate::Violation::InsecureEndpoint).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InsecureEndpointError {
    service: Service,
    endpoint: String,
}

impl InsecureEndpointError {
    /// The service whose request was refused.
    pub fn service(&self) -> Service {
        self.service
    }

    /// The endpoint, as `scheme://host[:port]`.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }
}

impl fmt::Display for InsecureEndpointError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "refused to send a {} request to non-HTTPS endpoint {}",
            self.service, self.endpoint
        )
    }
}

impl std::error::Error for InsecureEndpointError {}

/// Finds an [`InsecureEndpointError`] in `err`'s source chain.
pub(crate) fn find_insecure<'a>(
    err: &'a (dyn std::error::Error + 'static),
) -> Option<&'a InsecureEndpointError> {
    let mut current = Some(err);
    while let Some(e) = current {
        if let Some(found) = e.downcast_ref::<InsecureEndpointError>() {
            return Some(found);
        }
        current = e.source();
    }
    None
}
