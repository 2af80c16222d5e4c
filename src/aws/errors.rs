//! SDK errors → [`BackendError`], with hints that say what to fix.

use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

use crate::backend::{BackendError, BackendErrorKind};
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
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    if let Some(insecure) = find_insecure(err) {
        return Some(BackendError::refused_endpoint(operation, insecure.clone()));
    }
    let (kind, message) = match err {
        // A success status with a body the SDK could not parse (e.g. an
        // S3-compatible server answering with the wrong XML root): the
        // generated deserializers report it as an unhandled service error.
        SdkError::ServiceError(se)
            if (200..300).contains(&se.raw().status().as_u16()) && se.err().code().is_none() =>
        {
            (
            BackendErrorKind::InvalidResponse,
                format!(
                    "the response (HTTP {}) could not be parsed: {}",
                    se.raw().status().as_u16(),
                    parser_reason(se.err())
                ),
            )
        }
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
                Some(s) => format!(
                    "the response (HTTP {s}) could not be parsed: {}",
                    parser_reason(err)
                ),
                None => format!("the response could not be parsed: {}", parser_reason(err)),
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

/// What the parser said, from the innermost cause of `err` (quoted,
/// escaped and cut short: it may quote the response).
fn parser_reason(err: &(dyn std::error::Error + 'static)) -> String {
    let mut innermost = err;
    while let Some(source) = innermost.source() {
        innermost = source;
    }
    let text = innermost.to_string();
    if text.is_empty() {
        "no reason given".to_owned()
    } else {
        crate::text::quote(&text, 200)
    }
}

/// When S3 named the bucket's region (`x-amz-bucket-region`, sent with
/// any status) and it is not the client's, a sentence saying so with both
/// regions.
pub(crate) fn wrong_region<E>(
    err: &SdkError<E, HttpResponse>,
    client_region: Option<&str>,
    bucket: &str,
) -> Option<String> {
    let bucket_region = err.raw_response()?.headers().get("x-amz-bucket-region")?;
    if client_region == Some(bucket_region) {
        return None;
    }
    let bucket_region = crate::text::quote(bucket_region, 32);
    Some(format!(
        "bucket {bucket} is in region {bucket_region}, but the S3 client uses {}; configure region {bucket_region} (Rekognition must use it too: it reads S3 only in its own region)",
        client_region.map_or_else(|| "no region".to_owned(), |r| format!("region \"{r}\""))
    ))
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
