//! **Encrypted in transit**: every call goes over HTTPS, whatever set the
//! endpoint.
//!
//! One home for the requirement:
//!
//! * [`check_endpoint_url`]: the rule for a configured endpoint URL:
//!   `https://`, a host, and no user information, query or fragment (the
//!   AWS SDK prints endpoint URLs in its DEBUG logs, so a password in one
//!   would reach them);
//! * [`InsecureEndpoint`]: the one refusal, used by configuration errors
//!   ([`ConfigError::InsecureEndpoint`](crate::ConfigError::InsecureEndpoint)),
//!   policy violations ([`Violation::InsecureEndpoint`](crate::Violation::InsecureEndpoint))
//!   and the wire check;
//! * [`HttpsOnly`]: the wire check, an AWS SDK interceptor on every client
//!   the crate builds or is handed. Before anything else it checks the
//!   client's configured endpoint URL (from code, `SdkConfig`, environment
//!   or profile) by the rule above, so a URL with a password is refused
//!   before the SDK resolves (and logs) it; before every attempt is sent it
//!   checks the final URI: `https://`, a host, no user information;
//! * how endpoints are shown: `scheme://host[:port]`, never user
//!   information, path or query.
//!
//! The guard does not ask backends for endpoints: HTTPS is enforced where
//! an endpoint is fixed (an [`AwsBackend`](crate::aws::AwsBackend) refuses
//! to build with a configured non-HTTPS endpoint) and on the wire of every
//! request ([`HttpsOnly`]). A backend reports a request it refused there
//! as [`BackendError::refused_endpoint`](crate::BackendError::refused_endpoint),
//! and the guard turns that into a refusal naming the endpoint.

use std::fmt;

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::{
    BeforeSerializationInterceptorContextRef, BeforeTransmitInterceptorContextRef,
};
use aws_smithy_runtime_api::client::interceptors::{Intercept, OverriddenHooks, SharedInterceptor};
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;

use crate::input::Service;

/// What is wrong with an endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum EndpointProblem {
    /// The scheme is not `https` (compared case-insensitively).
    NotHttps,
    /// The URL has no host.
    NoHost,
    /// The URL carries user information (`user:password@`), which the AWS
    /// SDK prints in its DEBUG logs.
    UserInfo,
    /// The URL has a query string, which the SDK would print too and which
    /// no AWS endpoint needs.
    Query,
    /// The URL has a fragment (`#…`).
    Fragment,
    /// The text is not a URL.
    Unparseable,
    /// A FIPS endpoint (`rekognition-fips.REGION.amazonaws.com`,
    /// `s3-fips.REGION.amazonaws.com`) in a region where the service has
    /// none: the AWS SDK builds a FIPS host name for any region when FIPS
    /// is on (`use_fips`, `AWS_USE_FIPS_ENDPOINT`, the profile's
    /// `use_fips_endpoint`), and that host does not exist.
    NoFipsEndpoint,
}

impl fmt::Display for EndpointProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::NotHttps => "is not HTTPS",
            Self::NoHost => "has no host",
            Self::UserInfo => {
                "carries user information (user:password@), which the AWS SDK would print in its DEBUG logs"
            }
            Self::Query => "has a query string, which the AWS SDK would print in its DEBUG logs",
            Self::Fragment => "has a fragment (#…)",
            Self::Unparseable => "is not a URL",
            Self::NoFipsEndpoint => "is a FIPS endpoint in a region where the service has none",
        })
    }
}

/// An endpoint refused for transport security: which service, the
/// endpoint as `scheme://host[:port]` (never user information, path or
/// query), and what is wrong with it. Nothing was sent
/// to it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct InsecureEndpoint {
    service: Service,
    endpoint: String,
    problem: EndpointProblem,
}

impl InsecureEndpoint {
    fn new(service: Service, endpoint: &str, problem: EndpointProblem) -> Self {
        Self {
            service,
            endpoint: redact(endpoint),
            problem,
        }
    }

    /// The service whose endpoint was refused.
    pub fn service(&self) -> Service {
        self.service
    }

    /// The endpoint, as `scheme://host[:port]` (no user information, path
    /// or query). Private, with this getter, so the crate can write it into
    /// messages and logs as is: no one can put other text in it.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// What is wrong with it.
    pub fn problem(&self) -> EndpointProblem {
        self.problem
    }
}

impl fmt::Display for InsecureEndpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.problem == EndpointProblem::NoFipsEndpoint {
            return write!(
                f,
                "{} endpoint {} {} ({} has FIPS endpoints in {}; the AWS SDK builds a FIPS host name for any region, and this one does not exist); use one of those regions, or turn FIPS off (use_fips, AWS_USE_FIPS_ENDPOINT, the profile's use_fips_endpoint)",
                self.service,
                self.endpoint,
                self.problem,
                self.service,
                fips_regions(self.service).unwrap_or("no region this crate knows of"),
            );
        }
        write!(
            f,
            "{} endpoint {} {}; configure an https:// endpoint without user information, query or fragment (check code, AWS_ENDPOINT_URL, AWS_ENDPOINT_URL_* and profile endpoint_url settings)",
            self.service, self.endpoint, self.problem
        )
    }
}

/// The regions where Amazon Rekognition has a FIPS endpoint
/// (`rekognition-fips.REGION.amazonaws.com`; AWS General Reference,
/// "Amazon Rekognition endpoints and quotas", as of December 2026). A
/// region AWS adds later is refused until this list is updated.
const REKOGNITION_FIPS_REGIONS: [&str; 6] = [
    "us-east-1",
    "us-east-2",
    "us-west-1",
    "us-west-2",
    "ca-central-1",
    "us-gov-west-1",
];

/// Where `service` has FIPS endpoints, for messages; `None` for a service
/// whose FIPS regions this crate does not check.
fn fips_regions(service: Service) -> Option<&'static str> {
    match service {
        Service::Rekognition => {
            Some("us-east-1, us-east-2, us-west-1, us-west-2, ca-central-1 and us-gov-west-1")
        }
        Service::S3 => Some("the US, Canada and AWS GovCloud (US) regions (us-…, ca-…)"),
        _ => None,
    }
}

/// Whether `service` has a FIPS endpoint in `region`: Rekognition in the
/// six regions above, S3 in the US, Canada and GovCloud regions (AWS
/// General Reference, "FIPS endpoints"). `None`: not checked (STS,
/// Organizations).
fn has_fips_endpoint(service: Service, region: &str) -> Option<bool> {
    match service {
        Service::Rekognition => Some(REKOGNITION_FIPS_REGIONS.contains(&region)),
        Service::S3 => Some(region.starts_with("us-") || region.starts_with("ca-")),
        _ => None,
    }
}

/// The first label of `service`'s FIPS host names.
fn fips_label(service: Service) -> Option<&'static str> {
    match service {
        Service::Rekognition => Some("rekognition-fips"),
        Service::S3 => Some("s3-fips"),
        _ => None,
    }
}

/// The refusal for FIPS endpoints of `service` in `region` when the
/// service has none there (checked when a client is built from an
/// `SdkConfig` with FIPS on).
pub(crate) fn no_fips_endpoint(service: Service, region: &str) -> Option<InsecureEndpoint> {
    let label = fips_label(service)?;
    (has_fips_endpoint(service, region) == Some(false)).then(|| {
        InsecureEndpoint::new(
            service,
            &format!("https://{label}.{region}.amazonaws.com"),
            EndpointProblem::NoFipsEndpoint,
        )
    })
}

/// An [`InsecureEndpoint`] as the error an interceptor returns to the SDK
/// (the refusal itself is data, not an error type of its own).
#[derive(Debug)]
struct Refused(InsecureEndpoint);

impl fmt::Display for Refused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for Refused {}

/// Which parts of a URL a check looks at.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Rule {
    /// A configured endpoint: no user information, query or fragment.
    Configured,
    /// A request on the wire: operations add query strings (`?versionId=`),
    /// so only scheme, host and user information are checked.
    Wire,
}

fn problem(url: &str, rule: Rule) -> Option<EndpointProblem> {
    // `http::Uri` drops a fragment silently: look for it in the text.
    if rule == Rule::Configured && url.contains('#') {
        return Some(EndpointProblem::Fragment);
    }
    let Ok(uri) = url.parse::<http::Uri>() else {
        return Some(EndpointProblem::Unparseable);
    };
    if !uri
        .scheme_str()
        .is_some_and(|s| s.eq_ignore_ascii_case("https"))
    {
        return Some(EndpointProblem::NotHttps);
    }
    let Some(authority) = uri.authority() else {
        return Some(EndpointProblem::NoHost);
    };
    if authority.host().is_empty() {
        return Some(EndpointProblem::NoHost);
    }
    if authority.as_str().contains('@') {
        return Some(EndpointProblem::UserInfo);
    }
    if rule == Rule::Configured && uri.query().is_some() {
        return Some(EndpointProblem::Query);
    }
    None
}

/// The wire rule on the hot path, without parsing or allocating: `https://`
/// (any case), then an authority (up to the first `/`, `?` or `#`) with a
/// host and no user information. Stricter than or equal to [`problem`]
/// with [`Rule::Wire`]: whatever it passes, that passes too (tested).
fn wire_ok(uri: &str) -> bool {
    authority_end(uri).is_some()
}

/// The configured-endpoint rule's fast path: [`wire_ok`] and nothing after
/// the authority but an optional `/` (so no query or fragment). Stricter
/// than or equal to [`problem`] with [`Rule::Configured`] (tested); a URL
/// it does not pass takes the full check.
fn configured_ok(url: &str) -> bool {
    authority_end(url).is_some_and(|end| matches!(&url[end..], "" | "/"))
}

/// Where the authority of an `https://` URI that passes [`wire_ok`] ends
/// (its byte offset); `None` when the URI does not pass.
fn authority_end(uri: &str) -> Option<usize> {
    let b = uri.as_bytes();
    // Longer than `http::Uri` accepts: not for the fast path.
    if b.len() > MAX_URI_LEN || b.len() < 8 || !b[..8].eq_ignore_ascii_case(b"https://") {
        return None;
    }
    // One pass over the bytes: host, optional port, then the end of the
    // authority (the end of the URI, `/`, `?` or `#`).
    let mut i = 8;
    if b.get(i) == Some(&b'[') {
        // An IPv6 literal: hex digits and at most 8 colons, as
        // `http::Uri` allows.
        i += 1;
        let start = i;
        let mut colons = 0;
        while let Some(&c) = b.get(i) {
            match c {
                b':' => colons += 1,
                c if c.is_ascii_hexdigit() => {}
                _ => break,
            }
            i += 1;
        }
        if i == start || colons > 8 || b.get(i) != Some(&b']') {
            return None;
        }
        i += 1;
    } else {
        let start = i;
        while b.get(i).is_some_and(|&c| HOST_BYTE[usize::from(c)]) {
            i += 1;
        }
        if i == start {
            return None;
        }
    }
    if b.get(i) == Some(&b':') {
        i += 1;
        let start = i;
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        if i == start || i - start > 5 {
            return None;
        }
    }
    match b.get(i) {
        None | Some(b'/' | b'?' | b'#') => Some(i),
        _ => None,
    }
}

/// The longest URI `http::Uri` parses (`u16::MAX - 1` bytes).
const MAX_URI_LEN: usize = 65_534;

/// The bytes [`wire_ok`] accepts in a host name or IPv4 address: ASCII
/// letters, digits, `-` and `.`, as one table lookup per byte.
static HOST_BYTE: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        table[b] = c.is_ascii_alphanumeric() || c == b'-' || c == b'.';
        b += 1;
    }
    table
};

/// Checks a configured endpoint URL: `https://` (case-insensitive), a host,
/// and no user information, query string or fragment.
///
/// ```
/// use rekognition_guard::transit::{check_endpoint_url, EndpointProblem};
/// use rekognition_guard::Service;
///
/// assert!(check_endpoint_url(Service::S3, "https://s3.eu-west-1.amazonaws.com").is_ok());
/// let refused = check_endpoint_url(Service::S3, "https://user:secret@10.0.0.1:9000").unwrap_err();
/// assert_eq!(refused.problem(), EndpointProblem::UserInfo);
/// assert_eq!(refused.endpoint(), "https://10.0.0.1:9000");
/// assert!(!refused.to_string().contains("secret"));
/// ```
///
/// # Errors
/// [`InsecureEndpoint`] saying what is wrong, with the endpoint redacted.
pub fn check_endpoint_url(service: Service, url: &str) -> Result<(), InsecureEndpoint> {
    if configured_ok(url) {
        return Ok(());
    }
    match problem(url, Rule::Configured) {
        None => Ok(()),
        Some(p) => Err(InsecureEndpoint::new(service, url, p)),
    }
}

/// `endpoint` as `scheme://host[:port]`, without user information, path
/// or query; `<unparseable endpoint>` when it is not a URL.
pub(crate) fn redact(endpoint: &str) -> String {
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

/// An AWS SDK interceptor that refuses every request to an endpoint that
/// is not HTTPS, whatever chose it: code, `AWS_ENDPOINT_URL`,
/// `AWS_ENDPOINT_URL_<SERVICE>`, a profile, or a custom endpoint resolver.
///
/// * `read_before_execution`, before the SDK does anything else: the
///   client's configured endpoint URL, if any, must pass
///   [`check_endpoint_url`], so a URL with a password is refused before the
///   SDK resolves the endpoint and prints it in its DEBUG logs.
/// * `read_before_transmit`, once per attempt after endpoint resolution and
///   signing: the URI that would go on the wire must be `https://` with a
///   host and no user information (this catches custom resolvers).
///
/// A refusal ends the call before any byte is sent and is not retried; the
/// error's source chain holds an [`InsecureEndpoint`]. The AWS backends
/// install it, [permanent](HttpsOnly::permanent), on every client they build
/// or are given; add it to your own clients with
/// `config::Builder::push_interceptor(HttpsOnly::permanent(..))`.
#[derive(Debug, Clone, Copy)]
pub struct HttpsOnly {
    service: Service,
}

impl HttpsOnly {
    /// An interceptor for `service`'s client (named in refusals). Private:
    /// an interceptor that is not permanent could be disabled through the
    /// config bag, so [`permanent`](Self::permanent) is the only way to
    /// get one.
    fn new(service: Service) -> Self {
        Self { service }
    }

    /// This interceptor, shared and **permanent**: it cannot be disabled
    /// through the config bag (`disable_interceptor`), and the SDK skips
    /// the per-hook lookup that disabling needs. How the crate installs it
    /// (`config::Builder::push_interceptor`).
    pub fn permanent(service: Service) -> SharedInterceptor {
        SharedInterceptor::permanent(Self::new(service))
    }

    fn refuse(&self, refusal: InsecureEndpoint) -> BoxError {
        if refusal.problem == EndpointProblem::NoFipsEndpoint {
            tracing::warn!(
                target: crate::text::AUDIT_TARGET,
                service = %self.service,
                endpoint = %refusal.endpoint,
                problem = %refusal.problem,
                "refused a request to a FIPS endpoint that does not exist (a configuration error) before it was sent"
            );
        } else {
            tracing::warn!(
                target: crate::text::AUDIT_TARGET,
                service = %self.service,
                endpoint = %refusal.endpoint,
                problem = %refusal.problem,
                "refused a request to an insecure endpoint before transmit"
            );
        }
        Box::new(Refused(refusal))
    }
}

impl Intercept for HttpsOnly {
    fn name(&self) -> &'static str {
        "rekognition_guard::HttpsOnly"
    }

    /// Only the two hooks below: the SDK skips this interceptor at every
    /// other hook.
    fn overridden_hooks(&self) -> OverriddenHooks {
        OverriddenHooks::READ_BEFORE_EXECUTION | OverriddenHooks::READ_BEFORE_TRANSMIT
    }

    fn read_before_execution(
        &self,
        _context: &BeforeSerializationInterceptorContextRef<'_>,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        // FIPS where the service has none: the SDK would build a host name
        // that does not exist. Read from the client's own settings, so a
        // handed-in client is checked too.
        if cfg
            .load::<aws_types::endpoint_config::UseFips>()
            .is_some_and(|fips| fips.0)
        {
            if let Some(refusal) = cfg
                .load::<aws_types::region::Region>()
                .and_then(|region| no_fips_endpoint(self.service, region.as_ref()))
            {
                return Err(self.refuse(refusal));
            }
        }
        match cfg.load::<aws_types::endpoint_config::EndpointUrl>() {
            Some(url) => check_endpoint_url(self.service, &url.0).map_err(|r| self.refuse(r)),
            None => Ok(()),
        }
    }

    fn read_before_transmit(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let uri = context.request().uri();
        if wire_ok(uri) {
            return Ok(());
        }
        let problem = problem(uri, Rule::Wire).unwrap_or(EndpointProblem::Unparseable);
        Err(self.refuse(InsecureEndpoint::new(self.service, uri, problem)))
    }
}

/// Finds an [`InsecureEndpoint`] in `err`'s source chain.
pub(crate) fn find_insecure<'a>(
    err: &'a (dyn std::error::Error + 'static),
) -> Option<&'a InsecureEndpoint> {
    let mut current = Some(err);
    while let Some(e) = current {
        if let Some(Refused(found)) = e.downcast_ref::<Refused>() {
            return Some(found);
        }
        current = e.source();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fips_endpoints_exist_only_in_their_regions() {
        assert_eq!(
            has_fips_endpoint(Service::Rekognition, "us-gov-west-1"),
            Some(true)
        );
        assert_eq!(
            has_fips_endpoint(Service::Rekognition, "us-gov-east-1"),
            Some(false)
        );
        assert_eq!(
            has_fips_endpoint(Service::Rekognition, "eu-west-1"),
            Some(false)
        );
        assert_eq!(has_fips_endpoint(Service::S3, "us-gov-east-1"), Some(true));
        assert_eq!(has_fips_endpoint(Service::S3, "eu-central-1"), Some(false));
        assert_eq!(has_fips_endpoint(Service::Organizations, "eu-west-1"), None);
        let refusal = no_fips_endpoint(Service::Rekognition, "eu-west-1").unwrap();
        assert_eq!(
            refusal.endpoint(),
            "https://rekognition-fips.eu-west-1.amazonaws.com"
        );
        assert!(no_fips_endpoint(Service::Rekognition, "us-west-2").is_none());
    }

    /// Whether `uri` is HTTPS with a host under the wire rule, user
    /// information aside (the configured rule refuses it separately).
    fn is_https(uri: &str) -> bool {
        matches!(
            problem(uri, Rule::Wire),
            None | Some(EndpointProblem::UserInfo)
        )
    }

    #[test]
    fn redaction_keeps_scheme_host_and_port_only() {
        assert_eq!(
            redact("http://AKIA:secret@example.com:8080/path?x=1"),
            "http://example.com:8080"
        );
    }

    #[test]
    fn only_https_with_a_host_passes() {
        for good in [
            "https://s3.eu-west-1.amazonaws.com",
            "https://127.0.0.1:4566",
            "HTTPS://localhost:5000/",
            "https://[::1]:8443",
        ] {
            assert!(is_https(good), "{good}");
            assert!(check_endpoint_url(Service::S3, good).is_ok(), "{good}");
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
            assert!(check_endpoint_url(Service::S3, bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn configured_endpoints_carry_no_secrets_queries_or_fragments() {
        for (url, expected) in [
            ("https://user:secret@host", EndpointProblem::UserInfo),
            ("https://user@host:443/", EndpointProblem::UserInfo),
            ("https://:secret@host", EndpointProblem::UserInfo),
            ("https://host/?X-Amz-Credential=x", EndpointProblem::Query),
            ("https://host/path#token", EndpointProblem::Fragment),
            ("http://user:secret@host", EndpointProblem::NotHttps),
        ] {
            let refused = check_endpoint_url(Service::Rekognition, url).unwrap_err();
            assert_eq!(refused.problem, expected, "{url}");
            let shown = format!("{refused} {refused:?}");
            assert!(
                !shown.contains("secret") && !shown.contains("token"),
                "{shown}"
            );
            assert!(!shown.contains("X-Amz-Credential"), "{shown}");
        }
        // On the wire, operations add queries; user information never.
        assert_eq!(problem("https://h/k?versionId=v1", Rule::Wire), None);
        assert_eq!(
            problem("https://u:p@h/k", Rule::Wire),
            Some(EndpointProblem::UserInfo)
        );
    }

    #[test]
    fn the_fast_wire_check_never_passes_what_the_full_rule_refuses() {
        for uri in [
            "https://s3.eu-west-1.amazonaws.com/b/k?versionId=v1",
            "HTTPS://rekognition.eu-west-1.amazonaws.com/",
            "https://127.0.0.1:4566/b/k",
            "https://[::1]:8443/x",
            "https://host",
        ] {
            assert!(wire_ok(uri), "{uri}");
            assert_eq!(problem(uri, Rule::Wire), None, "{uri}");
        }
        for uri in [
            "http://host/",
            "https:/host",
            "https://",
            "https:///path",
            "https://u:p@host/",
            "https://@host/",
            "https://:443/",
            "ftp://host",
            "https://ho st/",
            "",
            "https://[:::::::::]/",
        ] {
            assert!(!wire_ok(uri), "{uri}");
        }
        let too_long = format!("https://{}", "a".repeat(MAX_URI_LEN));
        assert!(!wire_ok(&too_long));
        assert!(problem(&too_long, Rule::Wire).is_some());
        assert!(problem("https://[:::::::::]", Rule::Configured).is_some());
        assert!(!configured_ok("https://[:::::::::]"));
    }

    #[test]
    fn the_one_pass_authority_check_at_its_edges() {
        for (uri, end) in [
            ("HTTPS://S3.EU-WEST-1.AMAZONAWS.COM/k", Some(34)),
            ("https://h:1/p", Some(11)),
            ("https://host?x=1", Some(12)),
            ("https://host#f", Some(12)),
            ("https://host:443?x", Some(16)),
            ("https://[::1]", Some(13)),
            ("https://[1:2:3:4:5:6:7::]:8443/", Some(30)),
            ("https://h\u{f3}st/", None),
            ("https://host:/", None),
            ("https://host:123456/", None),
            ("https://a:1:2/", None),
            ("https://[::1]x/", None),
            ("https://[::1]:/", None),
            ("https://[::1]]/", None),
            ("https://[g::1]/", None),
            ("https://[]/", None),
            ("https://host\\evil/", None),
            ("https://host%2f/", None),
            ("https://u@host/", None),
            ("http://host/", None),
        ] {
            assert_eq!(authority_end(uri), end, "{uri}");
        }
        assert!(configured_ok("https://host/"));
        assert!(configured_ok("https://host:4566"));
        // Not for the fast path; the full rule decides.
        assert!(!configured_ok("https://host/path"));
        assert!(!configured_ok("https://host?x=1"));
        assert!(check_endpoint_url(Service::S3, "https://host/path").is_ok());
        assert!(check_endpoint_url(Service::S3, "https://host?x=1").is_err());
    }

    proptest::proptest! {
        #[test]
        fn whatever_the_fast_wire_check_passes_the_full_rule_passes(uri in "(https|HTTPS|http)://[a-z0-9@:.\\[\\]-]{0,20}(/[a-z?#=&]{0,10})?") {
            if wire_ok(&uri) {
                proptest::prop_assert_eq!(problem(&uri, Rule::Wire), None, "{}", uri);
            }
        }

        #[test]
        fn whatever_the_fast_configured_check_passes_the_full_rule_passes(uri in "(https|HTTPS|http)://[a-z0-9@:.\\[\\]-]{0,20}(/[a-z?#=&]{0,10}|/)?") {
            if configured_ok(&uri) {
                proptest::prop_assert_eq!(problem(&uri, Rule::Configured), None, "{}", uri);
            }
        }
    }

    #[test]
    fn refusals_never_show_credentials_in_urls() {
        let v = check_endpoint_url(
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
