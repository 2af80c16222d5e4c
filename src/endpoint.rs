//! HTTPS enforcement for the endpoints backends report.
//!
//! The guard asks each backend for its endpoint before every comparison and
//! calls none of them unless the endpoint is `https://` with a host. The
//! scheme is compared case-insensitively. Endpoints are shown in errors with
//! any user information (`user:password@`) and path removed, so a URL
//! carrying credentials never reaches a log.

use crate::error::Violation;
use crate::input::Service;

/// Whether `endpoint` is an absolute `https://` URL with a host.
///
/// ```
/// use rekognition_guard::endpoint::is_https;
///
/// assert!(is_https("https://rekognition.eu-west-1.amazonaws.com"));
/// assert!(is_https("HTTPS://127.0.0.1:4566/"));
/// assert!(!is_https("http://127.0.0.1:4566"));
/// assert!(!is_https("https://"));
/// assert!(!is_https("rekognition.eu-west-1.amazonaws.com"));
/// ```
pub fn is_https(endpoint: &str) -> bool {
    match endpoint.parse::<http::Uri>() {
        Ok(uri) => {
            uri.scheme_str()
                .is_some_and(|s| s.eq_ignore_ascii_case("https"))
                && uri.host().is_some_and(|h| !h.is_empty())
        }
        Err(_) => false,
    }
}

/// `endpoint` as `scheme://host[:port]`, without user information, path or
/// query; `<unparseable endpoint>` when it is not a URL.
///
/// ```
/// use rekognition_guard::endpoint::redact;
///
/// assert_eq!(redact("http://AKIA:secret@example.com:8080/path?x=1"), "http://example.com:8080");
/// ```
pub fn redact(endpoint: &str) -> String {
    match endpoint.parse::<http::Uri>() {
        Ok(uri) => {
            let scheme = uri.scheme_str().unwrap_or("<no scheme>");
            let host = uri.host().unwrap_or("<no host>");
            match uri.port_u16() {
                Some(port) => format!("{scheme}://{host}:{port}"),
                None => format!("{scheme}://{host}"),
            }
        }
        Err(_) => "<unparseable endpoint>".to_owned(),
    }
}

/// `Ok` when `endpoint` is HTTPS, else the violation naming `service`.
pub(crate) fn require_https(service: Service, endpoint: &str) -> Result<(), Violation> {
    if is_https(endpoint) {
        Ok(())
    } else {
        Err(Violation::InsecureEndpoint {
            service,
            endpoint: redact(endpoint),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_https_with_a_host_passes() {
        for good in [
            "https://s3.eu-west-1.amazonaws.com",
            "https://127.0.0.1:4566",
            "HTTPS://localhost:5000/",
            "https://[::1]:8443",
        ] {
            assert!(is_https(good), "{good}");
        }
        for bad in [
            "http://s3.eu-west-1.amazonaws.com",
            "HTTP://127.0.0.1",
            "ftp://example.com",
            "https://",
            "https:/example.com",
            "s3.eu-west-1.amazonaws.com",
            "",
            "httpsx://example.com",
            "  https://example.com",
        ] {
            assert!(!is_https(bad), "{bad}");
        }
    }

    #[test]
    fn violations_never_show_credentials_in_urls() {
        let v = require_https(
            Service::S3,
            "http://AKIAEXAMPLE:wJalrXUtnFEMI@127.0.0.1:4566/p?X-Amz-Signature=abc",
        )
        .unwrap_err();
        let shown = format!("{v} {v:?}");
        assert!(!shown.contains("AKIAEXAMPLE"), "{shown}");
        assert!(!shown.contains("wJalrXUtnFEMI"), "{shown}");
        assert!(!shown.contains("Signature"), "{shown}");
        assert!(shown.contains("http://127.0.0.1:4566"), "{shown}");
        assert_eq!(redact("not a url at all"), "<unparseable endpoint>");
    }
}
