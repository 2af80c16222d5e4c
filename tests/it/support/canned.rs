//! Shared by the tests of the AWS backends on canned HTTP answers
//! (aws-smithy-mocks).
#![allow(dead_code)]

use aws_sdk_rekognition::config::Region;
use aws_smithy_http_client::test_util::capture_request;
use aws_smithy_mocks::{mock, mock_client, RuleMode};
use aws_smithy_runtime_api::http::{Response, StatusCode};
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::retry::RetryConfig;
use rekognition_guard::aws::AwsBackend;
use rekognition_guard::{Error, FaceImage, Guard, OptOutEvidence, PhotoStore, Policy, S3ObjectRef};

use crate::support::KEY;

pub const VERSION: &str = "3HL4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY+MTRCxf3vjVBH40Nr8X8gdRQBpUMLUo";

pub type HttpResponse = Response<SdkBody>;

pub fn response(status: u16, headers: &[(&'static str, &str)], body: &str) -> HttpResponse {
    let mut r = Response::new(
        StatusCode::try_from(status).unwrap(),
        SdkBody::from(body.to_owned()),
    );
    for (name, value) in headers {
        r.headers_mut().insert(*name, value.to_string());
    }
    r
}

/// A HeadObject answer with these headers (plus a size).
pub fn head(headers: &[(&'static str, &str)]) -> HttpResponse {
    let mut all = vec![("content-length", "48213"), ("content-type", "image/jpeg")];
    all.extend_from_slice(headers);
    response(200, &all, "")
}

pub fn kms_head() -> HttpResponse {
    head(&[
        ("x-amz-server-side-encryption", "aws:kms"),
        ("x-amz-server-side-encryption-aws-kms-key-id", KEY),
        ("x-amz-server-side-encryption-bucket-key-enabled", "true"),
        ("x-amz-version-id", VERSION),
    ])
}

pub fn json(status: u16, body: &str) -> HttpResponse {
    response(
        status,
        &[("content-type", "application/x-amz-json-1.1")],
        body,
    )
}

pub fn one_match(similarity: f32) -> HttpResponse {
    json(
        200,
        &format!(
            r#"{{"FaceMatches":[{{"Similarity":{similarity},"Face":{{"BoundingBox":{{"Width":0.25,"Height":0.4,"Left":0.3,"Top":0.2}},"Confidence":99.9}}}}],"UnmatchedFaces":[],"SourceImageFace":{{"BoundingBox":{{"Width":0.3,"Height":0.4,"Left":0.3,"Top":0.2}},"Confidence":99.9}}}}"#
        ),
    )
}

pub fn service_error(status: u16, code: &str) -> HttpResponse {
    json(
        status,
        &format!(r#"{{"__type":"{code}","Message":"test"}}"#),
    )
}

pub fn reference() -> S3ObjectRef {
    S3ObjectRef::parse("s3://library-photos/members/ada.jpg").unwrap()
}

pub fn live_photo() -> FaceImage {
    FaceImage::from_vec(b"\xFF\xD8\xFF\xE0live".to_vec()).unwrap()
}

pub fn guard(backend: AwsBackend, policy: Policy) -> Guard {
    Guard::new(
        PhotoStore::new(backend.clone(), policy),
        backend.clone(),
        OptOutEvidence::attested("AWS Support case 1234567890").unwrap(),
    )
}

/// Like [`guard`], without the verification cache: every comparison sends
/// its HeadObject.
pub fn uncached_guard(backend: AwsBackend, policy: Policy) -> Guard {
    Guard::new(
        PhotoStore::new(backend.clone(), policy).with_verification_cache(None),
        backend,
        OptOutEvidence::attested("AWS Support case 1234567890").unwrap(),
    )
}

pub fn backend(s3: aws_sdk_s3::Client, rekognition: aws_sdk_rekognition::Client) -> AwsBackend {
    AwsBackend::builder()
        .s3_client(s3)
        .rekognition_client(rekognition)
        .build()
        .unwrap()
}

pub async fn compare_with(answer: HttpResponse) -> Result<rekognition_guard::Decision, Error> {
    let head_rule = mock!(aws_sdk_s3::Client::head_object).then_http_response(kms_head);
    let answer = std::sync::Mutex::new(Some(answer));
    let compare_rule = mock!(aws_sdk_rekognition::Client::compare_faces)
        .then_http_response(move || answer.lock().unwrap().take().expect("one attempt only"));
    let guard = guard(
        backend(
            mock_client!(aws_sdk_s3, RuleMode::MatchAny, &[&head_rule]),
            mock_client!(
                aws_sdk_rekognition,
                RuleMode::MatchAny,
                &[&compare_rule],
                |c| c
                    .retry_config(RetryConfig::disabled())
                    .region(Region::new("eu-west-1"))
            ),
        ),
        Policy::any_kms_key().with_versioning_required(false),
    );
    guard.compare(reference(), live_photo()).await
}

/// A client whose HTTP layer records requests: if anything were
/// transmitted, the receiver would see it.
pub fn s3_capturing(
    endpoint: &str,
) -> (
    aws_sdk_s3::Client,
    aws_smithy_http_client::test_util::CaptureRequestReceiver,
) {
    let (http, rx) = capture_request(None);
    let conf = aws_sdk_s3::Config::builder()
        .with_test_defaults_v2()
        .http_client(http)
        .endpoint_url(endpoint)
        .build();
    (aws_sdk_s3::Client::from_conf(conf), rx)
}

pub fn rekognition_capturing(
    configure: impl FnOnce(aws_sdk_rekognition::config::Builder) -> aws_sdk_rekognition::config::Builder,
) -> (
    aws_sdk_rekognition::Client,
    aws_smithy_http_client::test_util::CaptureRequestReceiver,
) {
    let (http, rx) = capture_request(None);
    let conf = configure(
        aws_sdk_rekognition::Config::builder()
            .with_test_defaults_v2()
            .http_client(http),
    )
    .build();
    (aws_sdk_rekognition::Client::from_conf(conf), rx)
}

/// Every URI the SDK sends, answered with no network: Rekognition
/// `CompareFaces` with a match, anything else as S3 `HeadObject` of an
/// SSE-KMS object under `kms_key` at [`VERSION`]. For tests that assert
/// where requests went (FIPS, GovCloud endpoints).
#[derive(Clone)]
pub struct Wire {
    seen: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
    kms_key: &'static str,
}

impl Wire {
    pub fn new(kms_key: &'static str) -> Self {
        Self {
            seen: std::sync::Arc::default(),
            kms_key,
        }
    }

    pub fn client(&self) -> aws_smithy_runtime_api::client::http::SharedHttpClient {
        let (seen, kms_key) = (self.seen.clone(), self.kms_key);
        aws_smithy_http_client::test_util::infallible_client_fn(
            move |request: http::Request<SdkBody>| {
                seen.lock().unwrap().push(request.uri().to_string());
                if request.headers().contains_key("x-amz-target") {
                    return http::Response::builder()
                        .status(200)
                        .header("content-type", "application/x-amz-json-1.1")
                        .body(SdkBody::from(crate::support::answers::compare_match(99.9)))
                        .unwrap();
                }
                http::Response::builder()
                    .status(200)
                    .header("content-length", "48213")
                    .header("x-amz-server-side-encryption", "aws:kms")
                    .header("x-amz-server-side-encryption-aws-kms-key-id", kms_key)
                    .header("x-amz-version-id", VERSION)
                    .body(SdkBody::empty())
                    .unwrap()
            },
        )
    }

    /// The URIs sent so far, in order.
    pub fn seen(&self) -> Vec<String> {
        self.seen.lock().unwrap().clone()
    }
}

/// One stored version of a canned object: its id and the headers HeadObject
/// answers with.
pub type CannedVersion = (String, Vec<(&'static str, String)>);

/// A canned HeadObject answer, path style (`/BUCKET/KEY[?versionId=…]`):
/// the version asked for, else the latest; 404 when there is none.
pub fn head_answer(
    bucket: &str,
    uri: &http::Uri,
    objects: &std::collections::HashMap<String, Vec<CannedVersion>>,
) -> http::Response<SdkBody> {
    let key = uri.path().trim_start_matches(&format!("/{bucket}/"));
    let wanted = uri.query().and_then(|q| {
        q.split('&')
            .find_map(|kv| kv.strip_prefix("versionId="))
            .map(str::to_owned)
    });
    let found = objects.get(key).and_then(|versions| match &wanted {
        Some(v) => versions.iter().find(|(id, _)| id == v),
        None => versions.last(),
    });
    let mut response = http::Response::builder();
    match found {
        Some((version, headers)) => {
            response = response
                .status(200)
                .header("content-length", "48213")
                .header("content-type", "image/jpeg")
                .header("x-amz-version-id", version.as_str());
            for (name, value) in headers {
                response = response.header(*name, value.as_str());
            }
        }
        None => response = response.status(404),
    }
    response.body(SdkBody::empty()).unwrap()
}

/// A canned answer to the bucket audit's reads (`GET /BUCKET?QUERY`) of a
/// compliant bucket: default encryption SSE-KMS under `kms_key`,
/// versioning on, no bucket policy, no public access block, no inventory;
/// `None` for any other query.
pub fn compliant_bucket_answer(query: &str, kms_key: &str) -> Option<http::Response<SdkBody>> {
    let answer = |status: u16, body: String| {
        http::Response::builder()
            .status(status)
            .header("content-type", "application/xml")
            .body(SdkBody::from(format!(
                r#"<?xml version="1.0" encoding="UTF-8"?>{body}"#
            )))
            .unwrap()
    };
    let xml = |body: String| answer(200, body);
    let error = |code: &str| {
        answer(
            404,
            format!("<Error><Code>{code}</Code><Message>{code}</Message></Error>"),
        )
    };
    const NS: &str = "http://s3.amazonaws.com/doc/2006-03-01/";
    Some(if query.starts_with("encryption") {
        xml(format!(
            r#"<ServerSideEncryptionConfiguration xmlns="{NS}"><Rule><ApplyServerSideEncryptionByDefault><SSEAlgorithm>aws:kms</SSEAlgorithm><KMSMasterKeyID>{kms_key}</KMSMasterKeyID></ApplyServerSideEncryptionByDefault><BucketKeyEnabled>true</BucketKeyEnabled></Rule></ServerSideEncryptionConfiguration>"#
        ))
    } else if query.starts_with("versioning") {
        xml(format!(
            r#"<VersioningConfiguration xmlns="{NS}"><Status>Enabled</Status></VersioningConfiguration>"#
        ))
    } else if query.starts_with("policy") {
        error("NoSuchBucketPolicy")
    } else if query.starts_with("publicAccessBlock") {
        error("NoSuchPublicAccessBlockConfiguration")
    } else if query.starts_with("inventory") {
        xml(format!(
            r#"<ListInventoryConfigurationsResult xmlns="{NS}"><IsTruncated>false</IsTruncated></ListInventoryConfigurationsResult>"#
        ))
    } else {
        return None;
    })
}
