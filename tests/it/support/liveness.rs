//! The Face Liveness conformance harness for `AwsBackend` over real TLS:
//! one scripted HTTPS stand-in (the fault server) plays S3 (HeadObject and
//! the bucket audit's reads) and Rekognition (`CreateFaceLivenessSession`,
//! `GetFaceLivenessSessionResults`, `CompareFaces`), keeping state as the
//! services do and answering with their wire shapes. moto has no Face
//! Liveness. The in-memory harness lives in the crate.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use rekognition_guard::aws::AwsBackend;
use rekognition_guard::conformance::liveness::{
    dot_segment_key, LivenessHarness, LivenessOutcome, OutputPosture, ReferenceImage,
    ReportedChallenge, StartedSession, FOREIGN_BUCKET,
};
use rekognition_guard::conformance::{Stored, CLIENT_SIDE_V2_METADATA};
use rekognition_guard::liveness::{LivenessPolicy, LivenessSessionId};
use rekognition_guard::{
    Guard, KmsKeyArn, OptOutEvidence, PhotoStore, Policy, S3ObjectRef, Service,
};
use serde_json::{json, Value};

use super::fault_server::{ca_pem, Fault, FaultServer, Request, Response, Script};
use super::{KEY, OTHER_KEY};

const PHOTOS: &str = "liveness-members";
const OUTPUT: &str = "liveness-output";

/// One stored object version: encryption header, KMS key, face.
#[derive(Debug, Clone)]
struct Object {
    sse: Option<&'static str>,
    kms_key: Option<String>,
    face: String,
    /// User-metadata names HeadObject reports (`x-amz-meta-<name>`).
    user_metadata: &'static [&'static str],
}

/// Where a reference image was reported: bucket, key, version.
type Location = (String, String, Option<String>);

/// A session: what was asked, and how and where it ended.
#[derive(Debug, Clone)]
struct Session {
    started: StartedSession,
    ended: Option<(LivenessOutcome, Option<Location>)>,
}

#[derive(Debug)]
struct World {
    objects: HashMap<(String, String), Vec<(String, Object)>>,
    next_version: u64,
    posture: OutputPosture,
    sessions: HashMap<String, Session>,
    next_session: u64,
    liveness_calls: usize,
    compare_calls: usize,
}

impl World {
    fn put(&mut self, bucket: &str, key: &str, object: Object) -> String {
        self.next_version += 1;
        let version = format!("3HL4kqtJlcpXroDTDmJ.v{}", self.next_version);
        self.objects
            .entry((bucket.to_owned(), key.to_owned()))
            .or_default()
            .push((version.clone(), object));
        version
    }

    fn get(&self, bucket: &str, key: &str, version: Option<&str>) -> Option<&Object> {
        let versions = self.objects.get(&(bucket.to_owned(), key.to_owned()))?;
        match version {
            Some(v) => versions.iter().find(|(id, _)| id == v).map(|(_, o)| o),
            None => versions.last().map(|(_, o)| o),
        }
    }
}

/// `AwsBackend` over real TLS against the scripted stand-in.
pub struct TlsLivenessHarness {
    server: FaultServer,
    world: Arc<Mutex<World>>,
}

impl TlsLivenessHarness {
    pub async fn start() -> Self {
        let world = Arc::new(Mutex::new(World {
            objects: HashMap::new(),
            next_version: 0,
            posture: OutputPosture::Compliant,
            sessions: HashMap::new(),
            next_session: 0,
            liveness_calls: 0,
            compare_calls: 0,
        }));
        let script = {
            let world = world.clone();
            Script(Arc::new(move |request: &Request| {
                answer(&mut world.lock().unwrap(), request)
            }))
        };
        Self {
            server: FaultServer::start(Fault::Script(script)).await,
            world,
        }
    }

    /// The stand-in's HTTPS endpoint (S3 path-style and Rekognition).
    pub fn endpoint(&self) -> &str {
        &self.server.endpoint
    }

    fn backend(&self, plain_http: Option<Service>) -> AwsBackend {
        let sdk = super::sdk_config("eu-west-1", "AKIDLIVENESS", "liveness-secret");
        let endpoint = |service: Service| {
            if plain_http == Some(service) {
                "http://127.0.0.1:9".to_owned()
            } else {
                self.server.endpoint.clone()
            }
        };
        let s3 = aws_sdk_s3::config::Builder::from(&sdk)
            .endpoint_url(endpoint(Service::S3))
            .force_path_style(true)
            .build();
        let rekognition = aws_sdk_rekognition::config::Builder::from(&sdk)
            .endpoint_url(endpoint(Service::Rekognition))
            .build();
        AwsBackend::builder()
            .s3_client(aws_sdk_s3::Client::from_conf(s3))
            .rekognition_client(aws_sdk_rekognition::Client::from_conf(rekognition))
            .ca_bundle_pem(ca_pem())
            .trust_native_roots(false)
            .build()
            .expect("a backend")
    }
}

fn s3_error(status: u16, code: &str) -> Response {
    Response::status(status)
        .header("content-type", "application/xml")
        .body(format!(
            r#"<?xml version="1.0" encoding="UTF-8"?><Error><Code>{code}</Code><Message>{code}</Message><RequestId>4442587FB7D0A2F9</RequestId></Error>"#
        ))
}

fn xml(body: String) -> Response {
    Response::status(200)
        .header("content-type", "application/xml")
        .body(body)
}

/// Splits `/bucket/key?query` into bucket, key and query.
fn path(target: &str) -> (String, String, String) {
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let path = path.trim_start_matches('/');
    let (bucket, key) = path.split_once('/').unwrap_or((path, ""));
    (bucket.to_owned(), key.to_owned(), query.to_owned())
}

fn answer(world: &mut World, request: &Request) -> Response {
    match request.operation().as_deref() {
        Some("CreateFaceLivenessSession") => create_session(world, request),
        Some("GetFaceLivenessSessionResults") => session_results(world, request),
        Some("CompareFaces") => compare(world, request),
        Some(other) => Response::json(
            400,
            &json!({"__type": "UnknownOperationException", "Message": other}).to_string(),
        ),
        None => s3(world, request),
    }
}

fn body(request: &Request) -> Value {
    serde_json::from_slice(&request.body).unwrap_or_default()
}

fn create_session(world: &mut World, request: &Request) -> Response {
    world.liveness_calls += 1;
    let b = body(request);
    let output = &b["Settings"]["OutputConfig"];
    world.next_session += 1;
    let id = format!("00000000-0000-4000-9000-{:012x}", world.next_session);
    world.sessions.insert(
        id.clone(),
        Session {
            started: StartedSession {
                kms_key: b["KmsKeyId"].as_str().map(str::to_owned),
                output_bucket: output["S3Bucket"].as_str().unwrap_or_default().to_owned(),
                output_prefix: output["S3KeyPrefix"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
                audit_images_limit: b["Settings"]["AuditImagesLimit"].as_u64().unwrap_or(99) as u8,
                client_request_token: b["ClientRequestToken"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
                challenge_preferences: b["Settings"]["ChallengePreferences"]
                    .as_array()
                    .map(|prefs| {
                        prefs
                            .iter()
                            .map(|p| p["Type"].as_str().unwrap_or_default().to_owned())
                            .collect()
                    })
                    .unwrap_or_default(),
            },
            ended: None,
        },
    );
    Response::json(200, &json!({ "SessionId": id }).to_string())
}

fn session_results(world: &mut World, request: &Request) -> Response {
    world.liveness_calls += 1;
    let id = body(request)["SessionId"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let Some(session) = world.sessions.get(&id) else {
        return Response::json(
            400,
            &json!({"__type": "SessionNotFoundException", "Message": "Session not found"})
                .to_string(),
        );
    };
    let mut answer = json!({ "SessionId": id, "Status": "CREATED", "AuditImages": [] });
    if let Some((outcome, reference)) = &session.ended {
        answer["Status"] = json!(outcome.status.as_api());
        if let Some(c) = outcome.confidence {
            answer["Confidence"] = json!(c);
        }
        if let Some((bucket, key, version)) = reference {
            let mut s3 = json!({ "Bucket": bucket, "Name": key });
            if let Some(v) = version {
                s3["Version"] = json!(v);
            }
            answer["ReferenceImage"] = json!({
                "S3Object": s3,
                "BoundingBox": {"Width": 0.33, "Height": 0.45, "Left": 0.31, "Top": 0.2}
            });
        }
        match &outcome.challenge {
            ReportedChallenge::AsRequested => {
                let first = session
                    .started
                    .challenge_preferences
                    .first()
                    .cloned()
                    .unwrap_or_else(|| "FaceMovementAndLightChallenge".to_owned());
                answer["Challenge"] = json!({"Type": first, "Version": "2.0.0"});
            }
            ReportedChallenge::Reported(c) => {
                let mut challenge = json!({"Type": c.challenge_type.as_api()});
                if let Some(v) = &c.version {
                    challenge["Version"] = json!(v);
                }
                answer["Challenge"] = challenge;
            }
            _ => {}
        }
    }
    Response::json(200, &answer.to_string())
}

fn compare(world: &mut World, request: &Request) -> Response {
    world.compare_calls += 1;
    let b = body(request);
    let face = |image: &Value| {
        let s3 = &image["S3Object"];
        world
            .get(
                s3["Bucket"].as_str().unwrap_or_default(),
                s3["Name"].as_str().unwrap_or_default(),
                s3["Version"].as_str(),
            )
            .map(|o| o.face.clone())
    };
    let (Some(source), Some(target)) = (face(&b["SourceImage"]), face(&b["TargetImage"])) else {
        return Response::json(
            400,
            &json!({"__type": "InvalidS3ObjectException", "Message": "Unable to get object metadata from S3"}).to_string(),
        );
    };
    let similarity = if source == target { 99.4 } else { 12.0 };
    let threshold = b["SimilarityThreshold"].as_f64().unwrap_or(80.0);
    let face_json = json!({"BoundingBox": {"Width": 0.25, "Height": 0.4, "Left": 0.3, "Top": 0.2}, "Confidence": 99.8});
    let answer = if similarity >= threshold {
        json!({"SourceImageFace": face_json, "FaceMatches": [{"Similarity": similarity, "Face": face_json}], "UnmatchedFaces": []})
    } else {
        json!({"SourceImageFace": face_json, "FaceMatches": [], "UnmatchedFaces": [face_json]})
    };
    Response::json(200, &answer.to_string())
}

fn s3(world: &mut World, request: &Request) -> Response {
    let (bucket, key, query) = path(&request.target);
    match request.method.as_str() {
        "HEAD" => {
            let version = query
                .split('&')
                .find_map(|kv| kv.strip_prefix("versionId="))
                .map(str::to_owned);
            let Some(object) = world.get(&bucket, &key, version.as_deref()) else {
                return Response::status(404);
            };
            let version = version.unwrap_or_else(|| {
                world.objects[&(bucket.clone(), key.clone())]
                    .last()
                    .map(|(v, _)| v.clone())
                    .unwrap_or_default()
            });
            let mut r = Response::status(200)
                .header("content-type", "image/jpeg")
                .header("content-length", "48213")
                .header("x-amz-version-id", &version);
            if let Some(sse) = object.sse {
                r = r.header("x-amz-server-side-encryption", sse);
            }
            if let Some(k) = &object.kms_key {
                r = r.header("x-amz-server-side-encryption-aws-kms-key-id", k);
            }
            for name in object.user_metadata.iter() {
                r = r.header(&format!("x-amz-meta-{name}"), "AQIDAHhA84wnXjEJdBbBBylRUFcZZK2j");
            }
            r
        }
        "GET" if query.starts_with("encryption") => {
            let (algorithm, key) = match world.posture {
                OutputPosture::SseS3Default => ("AES256", String::new()),
                _ => ("aws:kms", format!("<KMSMasterKeyID>{KEY}</KMSMasterKeyID>")),
            };
            xml(format!(
                r#"<?xml version="1.0" encoding="UTF-8"?><ServerSideEncryptionConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Rule><ApplyServerSideEncryptionByDefault><SSEAlgorithm>{algorithm}</SSEAlgorithm>{key}</ApplyServerSideEncryptionByDefault><BucketKeyEnabled>true</BucketKeyEnabled></Rule></ServerSideEncryptionConfiguration>"#
            ))
        }
        "GET" if query.starts_with("versioning") => {
            let status = match world.posture {
                OutputPosture::Unversioned => String::new(),
                _ => "<Status>Enabled</Status>".to_owned(),
            };
            xml(format!(
                r#"<?xml version="1.0" encoding="UTF-8"?><VersioningConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">{status}</VersioningConfiguration>"#
            ))
        }
        "GET" if query.starts_with("policy") => s3_error(404, "NoSuchBucketPolicy"),
        "GET" if query.starts_with("publicAccessBlock") => {
            s3_error(404, "NoSuchPublicAccessBlockConfiguration")
        }
        "GET" if query.starts_with("inventory") => xml(
            r#"<?xml version="1.0" encoding="UTF-8"?><ListInventoryConfigurationsResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><IsTruncated>false</IsTruncated></ListInventoryConfigurationsResult>"#.to_owned(),
        ),
        _ => s3_error(405, "MethodNotAllowed"),
    }
}

fn object(stored: Stored, face: &str) -> Object {
    let (sse, kms_key) = match stored {
        Stored::SseKms | Stored::ClientSideEncrypted => (Some("aws:kms"), Some(KEY.to_owned())),
        Stored::SseKmsOtherKey => (Some("aws:kms"), Some(OTHER_KEY.to_owned())),
        Stored::SseS3 => (Some("AES256"), None),
        Stored::Unencrypted => (None, None),
        other => panic!("the liveness stand-in cannot store {other:?}"),
    };
    Object {
        sse,
        kms_key,
        face: face.to_owned(),
        user_metadata: if stored == Stored::ClientSideEncrypted {
            &CLIENT_SIDE_V2_METADATA
        } else {
            &[]
        },
    }
}

#[async_trait]
impl LivenessHarness for TlsLivenessHarness {
    fn name(&self) -> &str {
        "AwsBackend over TLS (liveness stand-in)"
    }
    fn kms_key(&self) -> KmsKeyArn {
        KmsKeyArn::parse(KEY).unwrap()
    }
    fn output_bucket(&self) -> String {
        OUTPUT.to_owned()
    }
    async fn enroll(&self, name: &str) -> S3ObjectRef {
        let key = format!("members/{name}.jpg");
        let version = self
            .world
            .lock()
            .unwrap()
            .put(PHOTOS, &key, object(Stored::SseKms, name));
        S3ObjectRef::new(PHOTOS, &key)
            .and_then(|r| r.with_version_id(&version))
            .unwrap()
    }
    async fn set_output_posture(&self, posture: OutputPosture) {
        self.world.lock().unwrap().posture = posture;
    }
    fn face_liveness(
        &self,
        policy: Policy,
        liveness: LivenessPolicy,
        plain_http: Option<Service>,
    ) -> rekognition_guard::FaceLiveness {
        let aws = self.backend(plain_http);
        Guard::new(
            PhotoStore::new(aws.clone(), policy),
            aws,
            OptOutEvidence::attested("conformance suite").unwrap(),
        )
        .liveness(liveness)
    }
    async fn finish(&self, session: &LivenessSessionId, outcome: LivenessOutcome) {
        let mut world = self.world.lock().unwrap();
        let started = world.sessions[session.as_str()].started.clone();
        let key = format!("{}{session}/reference.jpg", started.output_prefix);
        let bucket = started.output_bucket.clone();
        let reference = match outcome.reference {
            ReferenceImage::None => None,
            ReferenceImage::Stored(stored) => {
                let v = world.put(&bucket, &key, object(stored, &outcome.face));
                Some((bucket, key, Some(v)))
            }
            ReferenceImage::Unversioned => {
                world.put(&bucket, &key, object(Stored::SseKms, &outcome.face));
                Some((bucket, key, None))
            }
            ReferenceImage::NotStored => Some((bucket, key, Some("3HL4kqtJgone".to_owned()))),
            ReferenceImage::OutsideOutputBucket => {
                let v = world.put(FOREIGN_BUCKET, &key, object(Stored::SseKms, &outcome.face));
                Some((FOREIGN_BUCKET.to_owned(), key, Some(v)))
            }
            ReferenceImage::DotSegmentKey => {
                let key = dot_segment_key(&started.output_prefix);
                let v = world.put(&bucket, &key, object(Stored::SseKms, &outcome.face));
                Some((bucket, key, Some(v)))
            }
            _ => None,
        };
        world
            .sessions
            .get_mut(session.as_str())
            .expect("a started session")
            .ended = Some((outcome, reference));
    }
    fn started(&self) -> Vec<StartedSession> {
        let world = self.world.lock().unwrap();
        let mut sessions: Vec<_> = world.sessions.iter().collect();
        sessions.sort_by(|a, b| a.0.cmp(b.0));
        sessions
            .into_iter()
            .map(|(_, s)| s.started.clone())
            .collect()
    }
    fn liveness_calls(&self) -> usize {
        self.world.lock().unwrap().liveness_calls
    }
    fn compare_calls(&self) -> usize {
        self.world.lock().unwrap().compare_calls
    }
}
