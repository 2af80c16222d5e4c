//! The AWS backends on the real SDK clients, without network: aws-smithy-mocks
//! rules answer with real HTTP responses (headers, JSON bodies), so the SDK's
//! own deserialization and our interceptor run exactly as against AWS.
//!
//! Face Liveness on the real SDK clients, answered with the services'
//! response JSON (the scenarios run over TLS in `liveness_https`).

use aws_smithy_mocks::{mock, mock_client, RuleMode};
use rekognition_guard::{
    BackendErrorKind, Error, Guard, KmsKeyArn, OptOutEvidence, PhotoStore, Policy, S3ObjectRef,
};

use crate::support::canned::*;
use crate::support::KEY;
use aws_smithy_mocks::Rule;
use rekognition_guard::liveness::{KioskId, LivenessPolicy, LivenessSessionId};

const SESSION: &str = "2f1c8e5a-9b0d-4e7f-a1c3-5d6e7f809a1b";
const OUTPUT: &str = "liveness-output";

fn member() -> S3ObjectRef {
    reference().with_version_id(VERSION).unwrap()
}

fn kiosk() -> KioskId {
    KioskId::new("branch-1/kiosk-2").unwrap()
}

fn liveness_guard(s3: &[&Rule], rekognition: &[&Rule]) -> rekognition_guard::FaceLiveness {
    let aws = backend(
        mock_client!(aws_sdk_s3, RuleMode::MatchAny, s3),
        mock_client!(aws_sdk_rekognition, RuleMode::MatchAny, rekognition),
    );
    Guard::new(
        PhotoStore::new(
            aws.clone(),
            Policy::allow_kms_key(KmsKeyArn::parse(KEY).unwrap()),
        ),
        aws,
        OptOutEvidence::attested("AWS Support case 1234567890").unwrap(),
    )
    .liveness(policy())
}

/// The session's output prefix, worked out here from its documented
/// layout (not by the code under test): `kiosks/`, `member-` and the first
/// 32 lowercase hexadecimal digits of the SHA-256 of the member's bucket, a
/// NUL byte and key, `/kiosk-` and the first 16 of the SHA-256 of the kiosk
/// id, `/`.
fn assert_session_prefix(prefix: &str) {
    use sha2::{Digest, Sha256};
    let m = member();
    let mut member_digest = Sha256::new();
    member_digest.update(m.bucket().as_bytes());
    member_digest.update([0u8]);
    member_digest.update(m.key().as_bytes());
    let member_tag = &hex::encode(member_digest.finalize())[..32];
    let kiosk_tag = &hex::encode(Sha256::digest(kiosk().as_str().as_bytes()))[..16];
    assert_eq!(
        prefix,
        format!("kiosks/member-{member_tag}/kiosk-{kiosk_tag}/")
    );
}

/// The liveness policy of these tests: output under `kiosks/`.
fn policy() -> LivenessPolicy {
    LivenessPolicy::new(OUTPUT)
        .unwrap()
        .with_output_prefix("kiosks/")
        .unwrap()
}

fn xml(body: &str) -> HttpResponse {
    response(200, &[("content-type", "application/xml")], body)
}

/// The bucket audit's five reads for a compliant output bucket.
fn compliant_output_bucket() -> Vec<Rule> {
    let encryption = format!("<ServerSideEncryptionConfiguration><Rule><ApplyServerSideEncryptionByDefault><SSEAlgorithm>aws:kms</SSEAlgorithm><KMSMasterKeyID>{KEY}</KMSMasterKeyID></ApplyServerSideEncryptionByDefault><BucketKeyEnabled>true</BucketKeyEnabled></Rule></ServerSideEncryptionConfiguration>");
    vec![
        mock!(aws_sdk_s3::Client::get_bucket_encryption)
            .then_http_response(move || xml(&encryption)),
        mock!(aws_sdk_s3::Client::get_bucket_versioning).then_http_response(|| {
            xml("<VersioningConfiguration><Status>Enabled</Status></VersioningConfiguration>")
        }),
        mock!(aws_sdk_s3::Client::get_bucket_policy).then_http_response(|| {
            response(404, &[], "<Error><Code>NoSuchBucketPolicy</Code></Error>")
        }),
        mock!(aws_sdk_s3::Client::get_public_access_block).then_http_response(|| {
            response(
                404,
                &[],
                "<Error><Code>NoSuchPublicAccessBlockConfiguration</Code></Error>",
            )
        }),
        mock!(aws_sdk_s3::Client::list_bucket_inventory_configurations).then_http_response(
            || {
                xml("<ListInventoryConfigurationsResult><IsTruncated>false</IsTruncated></ListInventoryConfigurationsResult>")
            },
        ),
    ]
}

#[tokio::test]
async fn a_session_is_created_with_the_key_bucket_prefix_and_token_aws_expects() {
    let audit = compliant_output_bucket();
    let prefix = policy().output_prefix_for(&member(), &kiosk());
    assert_session_prefix(&prefix);
    let create = mock!(aws_sdk_rekognition::Client::create_face_liveness_session)
        .match_requests(move |input| {
            let settings = input.settings().expect("settings");
            let output = settings.output_config().expect("an output config");
            input.kms_key_id() == Some(KEY)
                && output.s3_bucket() == OUTPUT
                && output.s3_key_prefix() == Some(prefix.as_str())
                && settings.audit_images_limit() == Some(0)
                && input
                    .client_request_token()
                    .is_some_and(|t| uuid::Uuid::parse_str(t).is_ok())
        })
        .then_http_response(|| json(200, &format!(r#"{{"SessionId":"{SESSION}"}}"#)));
    let s3: Vec<&Rule> = audit.iter().collect();
    let guard = liveness_guard(&s3, &[&create]);
    let session = guard.start_session(&member(), &kiosk()).await.unwrap();
    assert_eq!(session.id.as_str(), SESSION);
    assert_eq!(create.num_calls(), 1);
    assert_eq!(session.member, member());
}

#[tokio::test]
async fn a_session_id_that_is_not_a_uuid_is_an_invalid_response() {
    let audit = compliant_output_bucket();
    let create = mock!(aws_sdk_rekognition::Client::create_face_liveness_session)
        .then_http_response(|| json(200, r#"{"SessionId":"../../etc/passwd"}"#));
    let s3: Vec<&Rule> = audit.iter().collect();
    let err = liveness_guard(&s3, &[&create])
        .start_session(&member(), &kiosk())
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::Backend(b) if b.kind() == BackendErrorKind::InvalidResponse),
        "{err:?}"
    );
}

#[tokio::test]
async fn results_from_the_wire_are_judged_and_their_image_bytes_dropped() {
    // As GetFaceLivenessSessionResults answers: the reference image in
    // S3 (and as bytes, which the backend must drop), audit images.
    let prefix = policy().output_prefix_for(&member(), &kiosk());
    assert_session_prefix(&prefix);
    let key = format!("{prefix}{SESSION}/reference.jpg");
    let results = format!(
        r#"{{"SessionId":"{SESSION}","Status":"SUCCEEDED","Confidence":98.73,"ReferenceImage":{{"Bytes":"RkFDRS1CWVRFUy1NQVJLRVI=","S3Object":{{"Bucket":"{OUTPUT}","Name":"{key}","Version":"{VERSION}"}},"BoundingBox":{{"Width":0.33,"Height":0.45,"Left":0.31,"Top":0.2}}}},"AuditImages":[{{"Bytes":"RkFDRS1CWVRFUy1NQVJLRVI=","BoundingBox":{{"Width":0.3,"Height":0.4,"Left":0.3,"Top":0.2}}}}],"Challenge":{{"Type":"FaceMovementAndLightChallenge","Version":"2.0.0"}}}}"#
    );
    let get = mock!(aws_sdk_rekognition::Client::get_face_liveness_session_results)
        .match_requests(|input| input.session_id() == Some(SESSION))
        .then_http_response(move || json(200, &results));
    let compare_key = key.clone();
    let compare = mock!(aws_sdk_rekognition::Client::compare_faces)
        .match_requests(move |input| {
            let target = input.target_image().and_then(|i| i.s3_object());
            target.is_some_and(|o| {
                o.name() == Some(compare_key.as_str()) && o.version() == Some(VERSION)
            })
        })
        .then_http_response(|| one_match(99.2));
    let head = mock!(aws_sdk_s3::Client::head_object).then_http_response(kms_head);
    let guard = liveness_guard(&[&head], &[&get, &compare]);
    let id = LivenessSessionId::parse(SESSION).unwrap();
    let decision = guard
        .verify_session(&id, &member(), &kiosk())
        .await
        .unwrap();
    assert!(decision.is_approved(), "{decision:?}");
    assert_eq!(decision.confidence, Some(98.73));
    assert_eq!(compare.num_calls(), 1);
    let shown = format!("{decision:?} {decision}");
    assert!(!shown.contains("RkFDRS1C"), "no image bytes: {shown}");
}

#[tokio::test]
async fn an_unreadable_results_answer_keeps_its_image_bytes_out_of_the_error() {
    // A 200 answer the SDK cannot parse (a confidence that is not a
    // number) with the reference image as bytes: the error must not
    // carry the raw response, whose Debug would print them.
    let body = r#"{"SessionId":"2f1c8e5a-9b0d-4e7f-a1c3-5d6e7f809a1b","Status":"SUCCEEDED","Confidence":"high","ReferenceImage":{"Bytes":"RkFDRS1CWVRFUy1NQVJLRVI="}}"#;
    let get = mock!(aws_sdk_rekognition::Client::get_face_liveness_session_results)
        .then_http_response(move || json(200, body));
    let head = mock!(aws_sdk_s3::Client::head_object).then_http_response(kms_head);
    let err = liveness_guard(&[&head], &[&get])
        .verify_session(
            &LivenessSessionId::parse(SESSION).unwrap(),
            &member(),
            &kiosk(),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::Backend(b) if b.kind() == BackendErrorKind::InvalidResponse),
        "{err:?}"
    );
    let shown = format!("{err:?} {err}");
    assert!(!shown.contains("RkFDRS1C"), "no image bytes: {shown}");
}

#[tokio::test]
async fn liveness_errors_say_what_to_fix() {
    let id = LivenessSessionId::parse(SESSION).unwrap();
    let head = mock!(aws_sdk_s3::Client::head_object).then_http_response(kms_head);
    for (code, kind, expected) in [
        (
            "SessionNotFoundException",
            BackendErrorKind::NotFound,
            "start a new session",
        ),
        (
            "AccessDeniedException",
            BackendErrorKind::AccessDenied,
            "rekognition:GetFaceLivenessSessionResults",
        ),
    ] {
        let get = mock!(aws_sdk_rekognition::Client::get_face_liveness_session_results)
            .then_http_response(move || service_error(400, code));
        let err = liveness_guard(&[&head], &[&get])
            .verify_session(&id, &member(), &kiosk())
            .await
            .unwrap_err();
        match &err {
            Error::Backend(b) => {
                assert_eq!(b.kind(), kind, "{code}: {b}");
                assert!(b.to_string().contains(expected), "{code}: {b}");
            }
            other => panic!("{code}: {other:?}"),
        }
    }

    let audit = compliant_output_bucket();
    let create = mock!(aws_sdk_rekognition::Client::create_face_liveness_session)
        .then_http_response(|| {
            json(
                400,
                r#"{"__type":"InvalidParameterException","Message":"KMS key is not valid"}"#,
            )
        });
    let s3: Vec<&Rule> = audit.iter().collect();
    let err = liveness_guard(&s3, &[&create])
        .start_session(&member(), &kiosk())
        .await
        .unwrap_err();
    let message = err.to_string();
    for expected in ["KMS key is not valid", KEY, OUTPUT, "region us-east-1"] {
        assert!(message.contains(expected), "{expected:?} in {message}");
    }
}
