//! The AI services opt-out verified through AWS Organizations, on the real
//! SDK client with aws-smithy-mocks (moto does not implement
//! DescribeEffectivePolicy).

use std::time::Duration;

use aws_sdk_organizations::operation::describe_effective_policy::{
    DescribeEffectivePolicyError, DescribeEffectivePolicyOutput,
};
use aws_sdk_organizations::types::error as org;
use aws_sdk_organizations::types::{EffectivePolicy, EffectivePolicyType};
use aws_smithy_http_client::test_util::capture_request;
use aws_smithy_mocks::{mock, mock_client, Rule, RuleMode};
use aws_smithy_types::retry::RetryConfig;
use rekognition_guard::aws::OrganizationsOptOutVerifier;
use rekognition_guard::memory::InMemoryBackend;
use rekognition_guard::{
    AccountId, BackendErrorKind, ConfigError, Error, FaceImage, Guard, OptOutEvidence,
    OptOutRecord, OptOutStatus, OptOutVerifier, Service, Violation,
};

fn policy(content: &'static str) -> Rule {
    mock!(aws_sdk_organizations::Client::describe_effective_policy)
        .match_requests(|r| r.policy_type() == Some(&EffectivePolicyType::AiservicesOptOutPolicy))
        .then_output(move || {
            DescribeEffectivePolicyOutput::builder()
                .effective_policy(
                    EffectivePolicy::builder()
                        .policy_type(EffectivePolicyType::AiservicesOptOutPolicy)
                        .policy_content(content)
                        .build(),
                )
                .build()
        })
}

/// Makes a modeled error for a mock rule.
type MakeError = fn() -> DescribeEffectivePolicyError;

fn error(make: MakeError) -> Rule {
    mock!(aws_sdk_organizations::Client::describe_effective_policy).then_error(make)
}

fn verifier(rule: &Rule, ttl: Duration) -> OrganizationsOptOutVerifier {
    OrganizationsOptOutVerifier::builder()
        .client(mock_client!(
            aws_sdk_organizations,
            RuleMode::MatchAny,
            &[rule],
            |c| c.retry_config(RetryConfig::disabled())
        ))
        .cache_ttl(ttl)
        .build()
        .unwrap()
}

async fn status_of(rule: Rule) -> OptOutStatus {
    verifier(&rule, Duration::ZERO).verify().await.unwrap()
}

#[tokio::test]
async fn effective_policy_shapes() {
    let cases: [(&'static str, bool); 6] = [
        (
            r#"{"services":{"default":{"opt_out_policy":"optOut"}}}"#,
            true,
        ),
        (
            r#"{"services":{"rekognition":{"opt_out_policy":"optOut"}}}"#,
            true,
        ),
        (
            r#"{"services":{"default":{"opt_out_policy":"optIn"},"rekognition":{"opt_out_policy":"optOut"}}}"#,
            true,
        ),
        (
            r#"{"services":{"default":{"opt_out_policy":"optOut"},"rekognition":{"opt_out_policy":"optIn"}}}"#,
            false,
        ),
        (r#"{"services":{"lex":{"opt_out_policy":"optOut"}}}"#, false),
        (
            r#"{"services":{"default":{"opt_out_policy":{"@@assign":"optOut"}}}}"#,
            false,
        ),
    ];
    for (content, opted_out) in cases {
        let status = status_of(policy(content)).await;
        assert_eq!(
            matches!(status, OptOutStatus::OptedOut { .. }),
            opted_out,
            "{content}: {status:?}"
        );
    }
}

#[tokio::test]
async fn errors_are_refusals_that_say_how_to_fix_them() {
    let cases: [(MakeError, &str); 4] = [
        (
            || {
                DescribeEffectivePolicyError::AwsOrganizationsNotInUseException(
                    org::AwsOrganizationsNotInUseException::builder().build(),
                )
            },
            "OptOutEvidence::attested",
        ),
        (
            || {
                DescribeEffectivePolicyError::EffectivePolicyNotFoundException(
                    org::EffectivePolicyNotFoundException::builder().build(),
                )
            },
            "AISERVICES_OPT_OUT_POLICY",
        ),
        (
            || {
                DescribeEffectivePolicyError::AccessDeniedException(
                    org::AccessDeniedException::builder().build(),
                )
            },
            "organizations:DescribeEffectivePolicy",
        ),
        (
            || {
                DescribeEffectivePolicyError::TargetNotFoundException(
                    org::TargetNotFoundException::builder().build(),
                )
            },
            "account id",
        ),
    ];
    for (make, hint) in cases {
        match status_of(error(make)).await {
            OptOutStatus::NotOptedOut { reason } => {
                assert!(reason.contains(hint), "{reason:?} should mention {hint:?}")
            }
            other => panic!("{other:?}"),
        }
    }
}

#[tokio::test]
async fn throttling_and_service_errors_are_retryable_backend_errors() {
    let cases: [(MakeError, BackendErrorKind); 2] = [
        (
            || {
                DescribeEffectivePolicyError::TooManyRequestsException(
                    org::TooManyRequestsException::builder().build(),
                )
            },
            BackendErrorKind::Throttled,
        ),
        (
            || {
                DescribeEffectivePolicyError::ServiceException(
                    org::ServiceException::builder().build(),
                )
            },
            BackendErrorKind::ServiceUnavailable,
        ),
    ];
    for (make, kind) in cases {
        let err = verifier(&error(make), Duration::ZERO)
            .verify()
            .await
            .unwrap_err();
        assert_eq!(err.kind(), kind);
        assert_eq!(err.service(), Service::Organizations);
        assert!(err.is_retryable());
    }
}

#[tokio::test]
async fn the_target_account_is_sent_when_set() {
    let rule = mock!(aws_sdk_organizations::Client::describe_effective_policy)
        .match_requests(|r| r.target_id() == Some("111122223333"))
        .then_output(|| {
            DescribeEffectivePolicyOutput::builder()
                .effective_policy(
                    EffectivePolicy::builder()
                        .policy_content(r#"{"services":{"default":{"opt_out_policy":"optOut"}}}"#)
                        .build(),
                )
                .build()
        });
    let v = OrganizationsOptOutVerifier::builder()
        .client(mock_client!(
            aws_sdk_organizations,
            RuleMode::Sequential,
            &[&rule]
        ))
        .target_account(AccountId::parse("111122223333").unwrap())
        .build()
        .unwrap();
    assert!(matches!(
        v.verify().await.unwrap(),
        OptOutStatus::OptedOut { .. }
    ));
}

#[tokio::test]
async fn positive_answers_are_cached_negative_ones_never() {
    let yes = policy(r#"{"services":{"default":{"opt_out_policy":"optOut"}}}"#);
    let cached = verifier(&yes, Duration::from_secs(60));
    for _ in 0..3 {
        assert!(matches!(
            cached.verify().await.unwrap(),
            OptOutStatus::OptedOut { .. }
        ));
    }
    assert_eq!(yes.num_calls(), 1);

    let uncached = verifier(&yes, Duration::ZERO);
    uncached.verify().await.unwrap();
    uncached.verify().await.unwrap();
    assert_eq!(yes.num_calls(), 3);

    let no = policy(r#"{"services":{"default":{"opt_out_policy":"optIn"}}}"#);
    let v = verifier(&no, Duration::from_secs(60));
    v.verify().await.unwrap();
    v.verify().await.unwrap();
    assert_eq!(no.num_calls(), 2);
}

fn photo() -> FaceImage {
    FaceImage::from_vec(b"\xFF\xD8\xFF\xE0live".to_vec()).unwrap()
}

fn guard(verifier: OrganizationsOptOutVerifier) -> (Guard, InMemoryBackend) {
    let aws = InMemoryBackend::new();
    aws.register_image(photo().expose_bytes(), "ada");
    aws.set_similarity("ada", "ada", 99.9);
    let guard = Guard::builder(aws.clone(), aws.clone())
        .opt_out(OptOutEvidence::verified_by(verifier))
        .build()
        .unwrap();
    (guard, aws)
}

#[tokio::test]
async fn the_guard_records_a_verified_opt_out_and_refuses_without_one() {
    let yes = policy(r#"{"services":{"rekognition":{"opt_out_policy":"optOut"}}}"#);
    let (g, _) = guard(verifier(&yes, Duration::ZERO));
    let d = g.compare(photo(), photo()).await.unwrap();
    assert!(d.is_approved());
    assert!(
        matches!(d.opt_out(), OptOutRecord::Verified { detail } if detail.contains("rekognition optOut")),
        "{:?}",
        d.opt_out()
    );

    let not_in_org = error(|| {
        DescribeEffectivePolicyError::AwsOrganizationsNotInUseException(
            org::AwsOrganizationsNotInUseException::builder().build(),
        )
    });
    let (g, aws) = guard(verifier(&not_in_org, Duration::ZERO));
    let err = g.compare(photo(), photo()).await.unwrap_err();
    assert!(
        matches!(err.as_refusal().unwrap().violations(), [Violation::OptOutNotInEffect { reason }] if reason.contains("not in an AWS organization")),
        "{err}"
    );
    assert_eq!(aws.compare_calls(), 0);
}

#[tokio::test]
async fn the_organizations_client_is_https_only_too() {
    let err = OrganizationsOptOutVerifier::builder()
        .client(mock_client!(aws_sdk_organizations, RuleMode::MatchAny, &[]))
        .endpoint_url("http://organizations.local")
        .build()
        .unwrap_err();
    assert!(matches!(
        err,
        ConfigError::InsecureEndpoint(e) if e.service() == Service::Organizations
    ));

    // A client whose endpoint was set elsewhere: refused on the wire.
    let (http, rx) = capture_request(None);
    let client = aws_sdk_organizations::Client::from_conf(
        aws_sdk_organizations::Config::builder()
            .with_test_defaults_v2()
            .http_client(http)
            .endpoint_url("http://127.0.0.1:9")
            .build(),
    );
    let v = OrganizationsOptOutVerifier::builder()
        .client(client)
        .build()
        .unwrap();
    let (g, aws) = guard(v);
    let err = g.compare(photo(), photo()).await.unwrap_err();
    assert!(
        matches!(
            err.as_refusal().map(|r| r.violations()),
            Some([Violation::InsecureEndpoint(e)]) if e.service() == Service::Organizations
        ),
        "{err:?}"
    );
    assert!(!matches!(err, Error::Backend(_)));
    rx.expect_no_request();
    assert_eq!(aws.compare_calls(), 0);
}
