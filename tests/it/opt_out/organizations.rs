//! The AI services opt-out verified through AWS Organizations, on the real
//! SDK client with aws-smithy-mocks (moto does not implement
//! DescribeEffectivePolicy).

use crate::support;

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
use rekognition_guard::OptOutViolation;
use rekognition_guard::{
    AccountId, BackendErrorKind, ConfigError, Error, FaceImage, Guard, OptOutEvidence,
    OptOutRecord, OptOutStatus, OptOutVerifier, Service, Violation,
};
use rekognition_guard::{RekognitionBackend, S3Backend};

/// The account the in-memory Rekognition is called as.
const ACCOUNT: &str = rekognition_guard::memory::DEFAULT_ACCOUNT;

/// An effective policy, read for [`ACCOUNT`] (Organizations names the
/// account in `TargetId`).
fn policy(content: &'static str) -> Rule {
    policy_for(content, Some(ACCOUNT))
}

fn policy_for(content: &'static str, target: Option<&'static str>) -> Rule {
    mock!(aws_sdk_organizations::Client::describe_effective_policy)
        .match_requests(|r| r.policy_type() == Some(&EffectivePolicyType::AiservicesOptOutPolicy))
        .then_output(move || {
            DescribeEffectivePolicyOutput::builder()
                .effective_policy(
                    EffectivePolicy::builder()
                        .policy_type(EffectivePolicyType::AiservicesOptOutPolicy)
                        .policy_content(content)
                        .set_target_id(target.map(str::to_owned))
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

/// A guard over `backend` (any SSE-KMS key, versioning not required)
/// whose opt-out evidence `verifier` checks on every comparison.
fn verified_guard(
    backend: impl S3Backend + RekognitionBackend + Clone + 'static,
    verifier: OrganizationsOptOutVerifier,
) -> Guard {
    Guard::new(
        rekognition_guard::PhotoStore::new(
            backend.clone(),
            rekognition_guard::Policy::any_kms_key().with_versioning_required(false),
        ),
        backend,
        OptOutEvidence::verified_by(verifier),
    )
}

fn guard(verifier: OrganizationsOptOutVerifier) -> (Guard, InMemoryBackend) {
    let aws = InMemoryBackend::new();
    aws.register_image(photo().expose_bytes(), "ada");
    aws.set_similarity("ada", "ada", 99.9);
    let guard = verified_guard(aws.clone(), verifier);
    (guard, aws)
}

#[tokio::test]
async fn the_guard_records_a_verified_opt_out_and_refuses_without_one() {
    let yes = policy(r#"{"services":{"rekognition":{"opt_out_policy":"optOut"}}}"#);
    let (g, _) = guard(verifier(&yes, Duration::ZERO));
    let d = g.compare(photo(), photo()).await.unwrap();
    assert!(d.is_approved());
    assert!(
        matches!(&d.opt_out, OptOutRecord::Verified { detail, account } if detail.contains("rekognition optOut") && account.as_str() == ACCOUNT),
        "{:?}",
        d.opt_out
    );

    let not_in_org = error(|| {
        DescribeEffectivePolicyError::AwsOrganizationsNotInUseException(
            org::AwsOrganizationsNotInUseException::builder().build(),
        )
    });
    let (g, aws) = guard(verifier(&not_in_org, Duration::ZERO));
    let err = g.compare(photo(), photo()).await.unwrap_err();
    assert!(
        matches!(err.as_refusal().unwrap().violations.as_slice(), [Violation::OptOut(OptOutViolation::NotInEffect { reason })] if reason.contains("not in an AWS organization")),
        "{err}"
    );
    assert_eq!(aws.calls().compare_faces, 0);
}

#[tokio::test]
async fn the_organizations_client_is_https_only_too() {
    let err = OrganizationsOptOutVerifier::builder()
        .client(mock_client!(aws_sdk_organizations, RuleMode::MatchAny, &[]))
        .endpoint_url("http://organizations.local")
        .build()
        .map_err(crate::support::config_error)
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
            err.as_refusal().map(|r| r.violations.as_slice()),
            Some([Violation::InsecureEndpoint(e)]) if e.service() == Service::Organizations
        ),
        "{err:?}"
    );
    assert!(!matches!(err, Error::Backend(_)));
    rx.expect_no_request();
    assert_eq!(aws.calls().compare_faces, 0);
}

fn sts_answering(account: &'static str) -> Rule {
    mock!(aws_sdk_sts::Client::get_caller_identity).then_output(move || {
        aws_sdk_sts::operation::get_caller_identity::GetCallerIdentityOutput::builder()
            .account(account)
            .arn(format!("arn:aws:iam::{account}:user/kiosk"))
            .user_id("AIDAEXAMPLE")
            .build()
    })
}

/// Organizations answers for the account it names in `TargetId`; a
/// verifier built with another account's credentials vouches for that
/// account, and the guard refuses to call Rekognition under it.
#[tokio::test]
async fn evidence_for_another_account_is_refused() {
    let other = policy_for(
        r#"{"services":{"default":{"opt_out_policy":"optOut"}}}"#,
        Some("999988887777"),
    );
    let (g, aws) = guard(verifier(&other, Duration::ZERO));
    let err = g.compare(photo(), photo()).await.unwrap_err();
    assert_eq!(
        err.as_refusal().map(|r| r.violations.to_vec()),
        Some(vec![Violation::OptOut(
            OptOutViolation::ForAnotherAccount {
                evidence_account: AccountId::parse("999988887777").unwrap(),
                rekognition_account: AccountId::parse(ACCOUNT).unwrap(),
            }
        )]),
        "{err}"
    );
    assert_eq!(aws.calls().compare_faces, 0);
}

/// Which account the effective policy was read for: the `TargetId`
/// Organizations names; else the target asked about; else the verifier's
/// own account (STS); never a guess.
#[tokio::test]
async fn the_account_the_policy_was_read_for_is_never_guessed() {
    const OPT_OUT: &str = r#"{"services":{"default":{"opt_out_policy":"optOut"}}}"#;
    let account_of = |status: OptOutStatus| match status {
        OptOutStatus::OptedOut { account, .. } => Ok(account.as_str().to_owned()),
        OptOutStatus::NotOptedOut { reason } => Err(reason),
        other => panic!("{other:?}"),
    };
    let org = |rule: &Rule| {
        mock_client!(aws_sdk_organizations, RuleMode::MatchAny, &[rule], |c| c
            .retry_config(RetryConfig::disabled()))
    };

    // No TargetId, no target: the verifier's own account from STS.
    let unnamed = policy_for(OPT_OUT, None);
    let sts = sts_answering("444455556666");
    let v = OrganizationsOptOutVerifier::builder()
        .client(org(&unnamed))
        .sts_client(mock_client!(aws_sdk_sts, RuleMode::MatchAny, &[&sts]))
        .cache_ttl(Duration::ZERO)
        .build()
        .unwrap();
    assert_eq!(
        account_of(v.verify().await.unwrap()).unwrap(),
        "444455556666"
    );
    assert_eq!(sts.num_calls(), 1);

    // No TargetId, no target and no way to ask STS: not proof.
    let v = OrganizationsOptOutVerifier::builder()
        .client(org(&unnamed))
        .build()
        .unwrap();
    let reason = account_of(v.verify().await.unwrap()).unwrap_err();
    assert!(reason.contains("target_account"), "{reason}");

    // A TargetId other than the target asked about: not proof.
    let named = policy_for(OPT_OUT, Some("999988887777"));
    let v = OrganizationsOptOutVerifier::builder()
        .client(org(&named))
        .target_account(AccountId::parse("111122223333").unwrap())
        .build()
        .unwrap();
    let reason = account_of(v.verify().await.unwrap()).unwrap_err();
    assert!(
        reason.contains("999988887777") && reason.contains("111122223333"),
        "{reason}"
    );

    // A TargetId that is not an account id: not proof.
    let garbage = policy_for(OPT_OUT, Some("r-abcd"));
    let v = OrganizationsOptOutVerifier::builder()
        .client(org(&garbage))
        .build()
        .unwrap();
    assert!(account_of(v.verify().await.unwrap()).is_err());
}

/// The AWS backend learns the account that calls Rekognition from STS with
/// the Rekognition client's credentials; the guard compares it with the
/// account the opt-out was read for.
#[tokio::test]
async fn the_aws_backend_binds_the_evidence_to_the_rekognition_account() {
    use rekognition_guard::aws::AwsBackend;
    const OPT_OUT: &str = r#"{"services":{"rekognition":{"opt_out_policy":"optOut"}}}"#;
    let compare = mock!(aws_sdk_rekognition::Client::compare_faces).then_output(|| {
        aws_sdk_rekognition::operation::compare_faces::CompareFacesOutput::builder()
            .face_matches(
                aws_sdk_rekognition::types::CompareFacesMatch::builder()
                    .similarity(99.8)
                    .face(
                        aws_sdk_rekognition::types::ComparedFace::builder()
                            .bounding_box(
                                aws_sdk_rekognition::types::BoundingBox::builder()
                                    .left(0.1)
                                    .top(0.1)
                                    .width(0.3)
                                    .height(0.4)
                                    .build(),
                            )
                            .build(),
                    )
                    .build(),
            )
            .build()
    });
    let run = |evidence_for: &'static str, rekognition_as: &'static str| {
        let compare = &compare;
        async move {
            let sts = sts_answering(rekognition_as);
            let backend = AwsBackend::builder()
                .s3_client(mock_client!(aws_sdk_s3, RuleMode::MatchAny, &[]))
                .rekognition_client(mock_client!(
                    aws_sdk_rekognition,
                    RuleMode::MatchAny,
                    &[compare]
                ))
                .sts_client(mock_client!(aws_sdk_sts, RuleMode::MatchAny, &[&sts]))
                .build()
                .unwrap();
            let evidence = policy_for(OPT_OUT, Some(evidence_for));
            let guard = verified_guard(backend.clone(), verifier(&evidence, Duration::ZERO));
            guard.compare(photo(), photo()).await
        }
    };

    let decision = run("111122223333", "111122223333").await.unwrap();
    assert!(decision.is_approved());
    assert_eq!(
        decision.opt_out.account().map(AccountId::as_str),
        Some("111122223333")
    );
    assert_eq!(compare.num_calls(), 1);

    let err = run("111122223333", "999988887777").await.unwrap_err();
    assert!(
        matches!(
            err.as_refusal().map(|r| r.violations.as_slice()),
            Some([Violation::OptOut(OptOutViolation::ForAnotherAccount { evidence_account, rekognition_account })])
                if evidence_account.as_str() == "111122223333" && rekognition_account.as_str() == "999988887777"
        ),
        "{err}"
    );
    assert_eq!(
        compare.num_calls(),
        1,
        "nothing more was sent to Rekognition"
    );

    // A handed-in Rekognition client without an STS client: the account
    // cannot be known, so verified evidence cannot be bound.
    let backend = AwsBackend::builder()
        .s3_client(mock_client!(aws_sdk_s3, RuleMode::MatchAny, &[]))
        .rekognition_client(mock_client!(
            aws_sdk_rekognition,
            RuleMode::MatchAny,
            &[&compare]
        ))
        .build()
        .unwrap();
    let evidence = policy_for(OPT_OUT, Some("111122223333"));
    let guard = verified_guard(backend.clone(), verifier(&evidence, Duration::ZERO));
    let err = guard.compare(photo(), photo()).await.unwrap_err();
    assert!(
        matches!(&err, Error::Backend(b) if b.service() == Service::Sts && b.message().contains("sts_client")),
        "{err}"
    );
    assert_eq!(compare.num_calls(), 1);
}

mod over_https {
    //! The binding over real TLS: one HTTPS stand-in on loopback plays
    //! Rekognition, AWS Organizations and AWS STS, answering by the
    //! access key each request was signed with.

    use std::sync::{Arc, Mutex};

    use rekognition_guard::aws::{https_client_trusting, AwsBackend, OrganizationsOptOutVerifier};
    use rekognition_guard::{AccountId, OptOutViolation, Violation};

    use super::support::answers;
    use super::support::fault_server::{ca_pem, Fault, FaultServer, Request, Response, Script};
    use super::{photo, verified_guard};

    const KIOSK_KEY: &str = "AKIDKIOSK00000000001";
    const OTHER_KEY: &str = "AKIDOTHER00000000002";

    fn account_of(access_key: Option<&str>) -> &'static str {
        match access_key {
            Some(KIOSK_KEY) => "111122223333",
            Some(OTHER_KEY) => "999988887777",
            _ => "000000000000",
        }
    }

    fn answer(request: &Request) -> Response {
        let account = account_of(request.access_key());
        match request.operation().as_deref() {
            Some("DescribeEffectivePolicy") => Response::json(
                200,
                &answers::effective_policy(
                    r#"{"services":{"default":{"opt_out_policy":"optOut"}}}"#,
                    account,
                ),
            ),
            Some("GetCallerIdentity") => Response::caller_identity(account),
            Some("CompareFaces") => Response::compare_match(99.9),
            _ => Response::status(400),
        }
    }

    fn sdk(server: &FaultServer, access_key: &str) -> aws_types::SdkConfig {
        crate::support::sdk_config("eu-west-1", access_key, "stand-in-secret")
            .to_builder()
            .http_client(https_client_trusting(ca_pem().as_bytes(), false).unwrap())
            .endpoint_url(&server.endpoint)
            .build()
    }

    #[tokio::test]
    async fn a_verifier_from_the_backends_sdk_config_passes_and_another_accounts_is_refused() {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let server = FaultServer::start(Fault::Script(Script(Arc::new({
            let seen = seen.clone();
            move |request: &Request| {
                seen.lock()
                    .unwrap()
                    .push(request.operation().unwrap_or_default());
                answer(request)
            }
        }))))
        .await;
        let kiosk = sdk(&server, KIOSK_KEY);
        let backend = AwsBackend::from_sdk_config(&kiosk).unwrap();

        // Same SdkConfig: no extra setup, approved, account recorded.
        let guard = verified_guard(
            backend.clone(),
            OrganizationsOptOutVerifier::from_sdk_config(&kiosk).unwrap(),
        );
        let decision = guard.compare(photo(), photo()).await.unwrap();
        assert!(decision.is_approved());
        assert_eq!(
            decision.opt_out.account().map(AccountId::as_str),
            Some("111122223333")
        );
        let calls = std::mem::take(&mut *seen.lock().unwrap());
        for op in [
            "DescribeEffectivePolicy",
            "GetCallerIdentity",
            "CompareFaces",
        ] {
            assert!(calls.iter().any(|c| c == op), "{op} not in {calls:?}");
        }

        // A verifier with another account's credentials: refused, and
        // nothing reaches Rekognition.
        let guard = verified_guard(
            backend.clone(),
            OrganizationsOptOutVerifier::from_sdk_config(&sdk(&server, OTHER_KEY)).unwrap(),
        );
        let err = guard.compare(photo(), photo()).await.unwrap_err();
        assert_eq!(
            err.as_refusal().map(|r| r.violations.to_vec()),
            Some(vec![Violation::OptOut(
                OptOutViolation::ForAnotherAccount {
                    evidence_account: AccountId::parse("999988887777").unwrap(),
                    rekognition_account: AccountId::parse("111122223333").unwrap(),
                }
            )]),
            "{err}"
        );
        let calls = seen.lock().unwrap().clone();
        assert!(
            !calls.iter().any(|c| c == "CompareFaces"),
            "a refused comparison reached Rekognition: {calls:?}"
        );
    }
}
