//! The conformance harnesses for `AwsBackend`: over canned HTTP (the real
//! SDK clients, answered by a small stateful S3 + Rekognition in the test
//! process, no network) and against the emulator over TLS. The in-memory
//! harness lives in the crate (`rekognition_guard::conformance`).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use aws_sdk_s3::types::ServerSideEncryption;
use aws_smithy_types::body::SdkBody;
use rekognition_guard::aws::AwsBackend;
use rekognition_guard::conformance::{ComparedSource, Harness, Stored, CLIENT_SIDE_V2_METADATA};
use rekognition_guard::{
    FaceImage, Guard, KmsKeyArn, OptOutEvidence, PhotoStore, Policy, S3ObjectRef,
};

use super::emulator::Fixture;

const BUCKET: &str = "conformance-photos";

fn attested() -> OptOutEvidence {
    OptOutEvidence::attested("conformance suite").unwrap()
}

fn live() -> FaceImage {
    FaceImage::from_vec(b"\xFF\xD8\xFF\xE0 conformance live photo".to_vec()).unwrap()
}

/// The source S3 image a CompareFaces request body asks for: key and
/// version.
fn source(body: &[u8]) -> ComparedSource {
    let json: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
    let s3 = &json["SourceImage"]["S3Object"];
    (
        s3["Name"].as_str().unwrap_or_default().to_owned(),
        s3["Version"].as_str().map(str::to_owned),
    )
}

/// The `x-amz-meta-` header of a user-metadata name.
fn client_side_header(name: &str) -> &'static str {
    match name {
        "x-amz-key-v2" => "x-amz-meta-x-amz-key-v2",
        "x-amz-iv" => "x-amz-meta-x-amz-iv",
        "x-amz-cek-alg" => "x-amz-meta-x-amz-cek-alg",
        "x-amz-wrap-alg" => "x-amz-meta-x-amz-wrap-alg",
        other => panic!("no header for {other}"),
    }
}

use super::canned::CannedVersion;

/// Stored objects: key → versions.
#[derive(Default)]
struct CannedS3 {
    objects: HashMap<String, Vec<CannedVersion>>,
    next: usize,
    compared: Vec<ComparedSource>,
}

/// `AwsBackend` over canned HTTP: every request goes through the real SDK
/// clients (serialization, signing, `HttpsOnly`, deserialization) to an
/// HTTP client function that answers HeadObject from what was put and
/// CompareFaces with a match.
#[derive(Clone, Default)]
pub struct CannedHarness {
    state: Arc<Mutex<CannedS3>>,
}

impl CannedHarness {
    pub fn new() -> Self {
        Self::default()
    }

    fn http_client(&self) -> aws_smithy_runtime_api::client::http::SharedHttpClient {
        let state = self.state.clone();
        aws_smithy_http_client::test_util::infallible_client_fn(
            move |request: http::Request<SdkBody>| {
                let mut state = state.lock().unwrap();
                let uri = request.uri().clone();
                if request.headers().get("x-amz-target").is_some() {
                    let asked = source(request.body().bytes().unwrap_or_default());
                    state.compared.push(asked);
                    return http::Response::builder()
                        .status(200)
                        .header("content-type", "application/x-amz-json-1.1")
                        .body(SdkBody::from(super::answers::compare_match(99.9)))
                        .unwrap();
                }
                super::canned::head_answer(BUCKET, &uri, &state.objects)
            },
        )
    }

    fn backend(&self, rekognition_endpoint: Option<&str>) -> AwsBackend {
        let sdk = super::sdk_config("eu-west-1", "AKIDCONFORMANCE", "conformance-secret");
        let http = self.http_client();
        let mut rekognition =
            aws_sdk_rekognition::config::Builder::from(&sdk).http_client(http.clone());
        if let Some(endpoint) = rekognition_endpoint {
            rekognition = rekognition.endpoint_url(endpoint);
        }
        AwsBackend::builder()
            .sdk_config(&sdk)
            .http_client(http)
            .s3_endpoint_url("https://s3.canned.localhost")
            .rekognition_client(aws_sdk_rekognition::Client::from_conf(rekognition.build()))
            .build()
            .expect("backend")
    }
}

#[async_trait]
impl Harness for CannedHarness {
    fn name(&self) -> &str {
        "canned HTTP"
    }
    fn kms_key(&self) -> KmsKeyArn {
        KmsKeyArn::parse(super::KEY).unwrap()
    }
    fn other_kms_key(&self) -> KmsKeyArn {
        KmsKeyArn::parse(super::OTHER_KEY).unwrap()
    }
    async fn put(&self, key: &str, stored: Stored) -> Option<String> {
        let mut state = self.state.lock().unwrap();
        state.next += 1;
        let version = format!("canned-v{}", state.next);
        let kms = |k: &str| {
            vec![
                ("x-amz-server-side-encryption", "aws:kms".to_owned()),
                ("x-amz-server-side-encryption-aws-kms-key-id", k.to_owned()),
            ]
        };
        let headers = match stored {
            Stored::SseKms => kms(super::KEY),
            Stored::SseKmsOtherKey => kms(super::OTHER_KEY),
            Stored::SseS3 => vec![("x-amz-server-side-encryption", "AES256".to_owned())],
            Stored::Unencrypted => Vec::new(),
            Stored::ClientSideEncrypted => {
                let mut headers = kms(super::KEY);
                headers.extend(CLIENT_SIDE_V2_METADATA.map(|name| {
                    (
                        client_side_header(name),
                        "AQIDAHhA84wnXjEJdBbBBylRUFcZZK2j7xwh6UyLoL28nQ+0FAAAAH4wfAYJ".to_owned(),
                    )
                }));
                headers
            }
            other => panic!("canned HTTP cannot store {other:?}"),
        };
        state
            .objects
            .entry(key.to_owned())
            .or_default()
            .push((version.clone(), headers));
        Some(version)
    }
    fn reference(&self, key: &str) -> S3ObjectRef {
        S3ObjectRef::new(BUCKET, key).unwrap()
    }
    fn live_photo(&self) -> FaceImage {
        live()
    }
    fn guard(&self, policy: Policy) -> Guard {
        let aws = self.backend(Some("https://rekognition.canned.localhost"));
        Guard::new(PhotoStore::new(aws.clone(), policy), aws, attested())
    }
    fn guard_with_plain_http_rekognition(&self, policy: Policy) -> (Guard, String) {
        let plain = "http://rekognition.canned.localhost:8080";
        let aws = self.backend(Some(plain));
        let guard = Guard::new(PhotoStore::new(aws.clone(), policy), aws, attested());
        (guard, plain.to_owned())
    }
    fn compared_sources(&self) -> Vec<ComparedSource> {
        self.state.lock().unwrap().compared.clone()
    }
}

/// `AwsBackend` against the emulator (moto) over TLS, with a wire recorder
/// on the Rekognition client. moto's CompareFaces answers a canned match
/// without reading the images.
pub struct MotoHarness {
    fixture: Fixture,
    compared: Arc<Mutex<Vec<ComparedSource>>>,
}

impl MotoHarness {
    pub fn new(fixture: Fixture) -> Self {
        Self {
            fixture,
            compared: Arc::default(),
        }
    }

    fn guard_at(&self, policy: Policy, rekognition_endpoint: Option<&str>) -> Guard {
        let f = &self.fixture;
        let mut rekognition = aws_sdk_rekognition::config::Builder::from(&f.sdk)
            .interceptor(SourceVersions(self.compared.clone()));
        if let Some(endpoint) = rekognition_endpoint {
            rekognition = rekognition.endpoint_url(endpoint);
        }
        let aws = AwsBackend::builder()
            .sdk_config(&f.sdk)
            .rekognition_client(aws_sdk_rekognition::Client::from_conf(rekognition.build()))
            .ca_bundle_pem(f.emu.ca.clone())
            .trust_native_roots(false)
            .build()
            .expect("backend");
        Guard::new(PhotoStore::new(aws.clone(), policy), aws, attested())
    }
}

/// Records the source version of every CompareFaces request that went on
/// the wire (after `HttpsOnly`, which runs first, let it through).
#[derive(Debug, Clone)]
struct SourceVersions(Arc<Mutex<Vec<ComparedSource>>>);

impl aws_smithy_runtime_api::client::interceptors::Intercept for SourceVersions {
    fn name(&self) -> &'static str {
        "conformance wire recorder"
    }
    fn read_after_transmit(
        &self,
        _ctx: &aws_smithy_runtime_api::client::interceptors::context::BeforeDeserializationInterceptorContextRef<'_>,
        _rc: &aws_smithy_runtime_api::client::runtime_components::RuntimeComponents,
        cfg: &mut aws_smithy_types::config_bag::ConfigBag,
    ) -> Result<(), aws_smithy_runtime_api::box_error::BoxError> {
        let body = cfg
            .load::<SentBody>()
            .map(|b| b.0.clone())
            .unwrap_or_default();
        self.0.lock().unwrap().push(source(&body));
        Ok(())
    }
    fn read_before_transmit(
        &self,
        ctx: &aws_smithy_runtime_api::client::interceptors::context::BeforeTransmitInterceptorContextRef<'_>,
        _rc: &aws_smithy_runtime_api::client::runtime_components::RuntimeComponents,
        cfg: &mut aws_smithy_types::config_bag::ConfigBag,
    ) -> Result<(), aws_smithy_runtime_api::box_error::BoxError> {
        let body = ctx.request().body().bytes().unwrap_or_default().to_vec();
        let mut layer = aws_smithy_types::config_bag::Layer::new("conformance");
        layer.store_put(SentBody(body));
        cfg.push_layer(layer);
        Ok(())
    }
}

#[derive(Debug, Clone)]
struct SentBody(Vec<u8>);

impl aws_smithy_types::config_bag::Storable for SentBody {
    type Storer = aws_smithy_types::config_bag::StoreReplace<Self>;
}

#[async_trait]
impl Harness for MotoHarness {
    fn name(&self) -> &str {
        "moto"
    }
    fn kms_key(&self) -> KmsKeyArn {
        KmsKeyArn::parse(&self.fixture.kms_key).unwrap()
    }
    fn other_kms_key(&self) -> KmsKeyArn {
        KmsKeyArn::parse(&self.fixture.other_kms_key).unwrap()
    }
    async fn put(&self, key: &str, stored: Stored) -> Option<String> {
        let f = &self.fixture;
        match stored {
            Stored::SseKms => f.put_kms(key).await,
            Stored::SseKmsOtherKey => {
                f.put(
                    key,
                    Some(ServerSideEncryption::AwsKms),
                    Some(&f.other_kms_key),
                )
                .await
            }
            Stored::SseS3 => f.put(key, Some(ServerSideEncryption::Aes256), None).await,
            Stored::Unencrypted => f.put(key, None, None).await,
            Stored::ClientSideEncrypted => {
                f.put_client_side_encrypted(key, &CLIENT_SIDE_V2_METADATA)
                    .await
            }
            other => panic!("moto cannot store {other:?}"),
        }
    }
    fn reference(&self, key: &str) -> S3ObjectRef {
        self.fixture.reference(key)
    }
    fn live_photo(&self) -> FaceImage {
        live()
    }
    fn guard(&self, policy: Policy) -> Guard {
        self.guard_at(policy, None)
    }
    fn guard_with_plain_http_rekognition(&self, policy: Policy) -> (Guard, String) {
        let plain = self.fixture.emu.endpoint.replacen("https://", "http://", 1);
        (self.guard_at(policy, Some(&plain)), plain)
    }
    fn compared_sources(&self) -> Vec<ComparedSource> {
        self.compared.lock().unwrap().clone()
    }
}
