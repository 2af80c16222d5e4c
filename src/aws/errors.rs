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
            "connecting or sending timed out; check network reachability of the endpoint"
                .to_owned(),
        ),
        SdkError::DispatchFailure(d) => dispatch_failure(d, err),
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
            "the request could not be built (check region and credentials configuration)"
                .to_owned(),
        ),
        _ => return None,
    };
    Some(BackendError::new(kind, service, operation, message))
}

/// A request that got no answer and did not time out: a certificate the
/// client does not trust, a connection failure, or an error the SDK raised
/// before the network (endpoint resolution, credentials, signing).
fn dispatch_failure(
    d: &aws_smithy_runtime_api::client::result::DispatchFailure,
    err: &(dyn std::error::Error + 'static),
) -> (BackendErrorKind, String) {
    if let Some(tls) = find_tls_error(err) {
        return match tls {
            rustls::Error::InvalidCertificate(reason) => (
                BackendErrorKind::CertificateNotTrusted,
                format!(
                    "the endpoint's TLS certificate is not trusted: {}; this is not transient: if the endpoint uses a private CA (an emulator, a proxy), trust that CA with AwsBackendBuilder::ca_bundle_pem or AWS_CA_BUNDLE, else check the endpoint URL",
                    certificate_reason(reason)
                ),
            ),
            other => (
                BackendErrorKind::Transport,
                format!(
                    "the TLS handshake failed: {}; check the endpoint URL and that it speaks HTTPS",
                    crate::text::quote(&other.to_string(), 200)
                ),
            ),
        };
    }
    // Raised by the SDK before anything is sent: resolving the endpoint
    // (e.g. no region) and loading credentials.
    if let Some(e) = find::<aws_smithy_http::endpoint::ResolveEndpointError>(err) {
        return (
            BackendErrorKind::Configuration,
            format!(
                "the SDK could not resolve the endpoint, so nothing was sent: {}; this is not transient: check the client's region, endpoint URL and endpoint settings (FIPS, dual-stack)",
                crate::text::quote(&e.to_string(), 200)
            ),
        );
    }
    if let Some(e) = find::<aws_credential_types::provider::error::CredentialsError>(err) {
        use aws_credential_types::provider::error::CredentialsError as C;
        let reason = parser_reason(e);
        return match e {
            C::ProviderTimedOut(_) => (
                BackendErrorKind::Timeout,
                format!("loading credentials timed out, so nothing was sent: {reason}"),
            ),
            _ => (
                BackendErrorKind::Configuration,
                format!(
                    "the SDK could not load credentials, so nothing was sent: {reason}; check the credential chain (environment, profile, role)"
                ),
            ),
        };
    }
    if d.is_user() {
        return (
            BackendErrorKind::Other,
            format!(
                "the HTTP client could not send the request: {}",
                parser_reason(err)
            ),
        );
    }
    (
        BackendErrorKind::Transport,
        "the connection failed (refused, reset, or an answer that is not HTTP); check the endpoint and network reachability".to_owned(),
    )
}

/// The first `E` in `err`'s chain.
fn find<'a, E: std::error::Error + 'static>(
    err: &'a (dyn std::error::Error + 'static),
) -> Option<&'a E> {
    let mut next = Some(err);
    while let Some(e) = next {
        if let Some(found) = e.downcast_ref::<E>() {
            return Some(found);
        }
        next = e.source();
    }
    None
}

/// The rustls error somewhere in `err`'s chain. TLS errors reach the SDK
/// inside an `std::io::Error`, whose `source()` skips the error it wraps,
/// so each I/O error's inner error is looked at too.
fn find_tls_error<'a>(err: &'a (dyn std::error::Error + 'static)) -> Option<&'a rustls::Error> {
    let mut next = Some(err);
    while let Some(e) = next {
        if let Some(tls) = e.downcast_ref::<rustls::Error>() {
            return Some(tls);
        }
        if let Some(inner) = e
            .downcast_ref::<std::io::Error>()
            .and_then(std::io::Error::get_ref)
        {
            if let Some(tls) = find_tls_error(inner) {
                return Some(tls);
            }
        }
        next = e.source();
    }
    None
}

/// Why a certificate was refused, in words, from rustls' reason.
fn certificate_reason(reason: &rustls::CertificateError) -> String {
    use rustls::CertificateError as C;
    match reason {
        C::UnknownIssuer => {
            "it is issued by a CA this client does not trust (UnknownIssuer)".to_owned()
        }
        C::NotValidForName | C::NotValidForNameContext { .. } => {
            "it is not valid for the endpoint's host name (NotValidForName)".to_owned()
        }
        C::Expired | C::ExpiredContext { .. } => "it has expired (Expired)".to_owned(),
        C::NotValidYet | C::NotValidYetContext { .. } => {
            "it is not valid yet (NotValidYet)".to_owned()
        }
        C::Revoked => "it has been revoked (Revoked)".to_owned(),
        other => crate::text::quote(&other.to_string(), 200),
    }
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
