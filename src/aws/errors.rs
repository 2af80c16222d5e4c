//! SDK errors → [`BackendError`], with hints that say what to fix.

use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;

use crate::error::{BackendError, BackendErrorKind};
use crate::input::Service;
use crate::transit::find_insecure;

/// The HTTP status of the response behind `err`, if one arrived.
pub(crate) fn status<E>(err: &SdkError<E, HttpResponse>) -> Option<u16> {
    err.raw_response().map(|r| r.status().as_u16())
}

/// Maps what every operation shares: refusals of [`HttpsOnly`](crate::transit::HttpsOnly),
/// timeouts, connection failures and unreadable responses. `None` when a
/// response arrived: the caller looks at the service error, then falls back
/// to [`by_status`].
pub(crate) fn common<E>(
    err: &SdkError<E, HttpResponse>,
    service: Service,
    operation: &'static str,
) -> Option<BackendError>
where
    E: std::error::Error + Send + Sync + 'static,
{
    if let Some(insecure) = find_insecure(err) {
        return Some(BackendError::refused_endpoint(operation, insecure.clone()));
    }
    let (kind, message) = match err {
        SdkError::TimeoutError(_) => (
            BackendErrorKind::Timeout,
            "the call timed out; check network reachability of the endpoint".to_owned(),
        ),
        SdkError::DispatchFailure(d) if d.is_timeout() => (
            BackendErrorKind::Timeout,
            "connecting or sending timed out; check network reachability of the endpoint".to_owned(),
        ),
        SdkError::DispatchFailure(_) => (
            BackendErrorKind::Transport,
            "the connection failed (refused, reset, a TLS error, or an answer that is not HTTP); check the endpoint, and that its certificate is trusted (custom CA bundle for private endpoints)".to_owned(),
        ),
        SdkError::ResponseError(_) => (
            BackendErrorKind::InvalidResponse,
            match status(err) {
                Some(s) => format!("the response (HTTP {s}) could not be read"),
                None => "the response could not be read".to_owned(),
            },
        ),
        SdkError::ConstructionFailure(_) => (
            BackendErrorKind::Other,
            "the request could not be built (check region and credentials configuration)".to_owned(),
        ),
        _ => return None,
    };
    Some(BackendError::new(kind, service, operation, message))
}

/// The fallback for responses no modeled error explains: a success status
/// whose body could not be parsed is an invalid response, 5xx is the
/// service failing (retryable), anything else is reported with its status.
pub(crate) fn by_status(status: Option<u16>, what: &str) -> (BackendErrorKind, String) {
    match status {
        Some(s @ 200..=299) => (
            BackendErrorKind::InvalidResponse,
            format!("{what}: the service answered HTTP {s} with a body that could not be parsed"),
        ),
        Some(s) if s >= 500 => (
            BackendErrorKind::ServiceUnavailable,
            format!("{what}: the service answered HTTP {s}"),
        ),
        Some(s) => (
            BackendErrorKind::Other,
            format!("{what}: the service answered HTTP {s}"),
        ),
        None => (BackendErrorKind::Other, format!("{what}: the call failed")),
    }
}
