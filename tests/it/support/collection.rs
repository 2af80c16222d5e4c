//! The collection conformance harness for `AwsBackend` over canned HTTP: a
//! small Rekognition with collections and an S3 for the photos, with state,
//! answering the real SDK clients in the test process (moto has no
//! collections).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use aws_smithy_types::body::SdkBody;
use rekognition_guard::aws::AwsBackend;
use rekognition_guard::collection::{CollectionId, CollectionPolicy};
use rekognition_guard::conformance::collection::{CollectionHarness, Face};
use rekognition_guard::conformance::Stored;
use rekognition_guard::liveness::{LivenessPolicy, LivenessSessionId};
use rekognition_guard::{
    FaceCollection, FaceImage, KmsKeyArn, OptOutEvidence, PhotoStore, Policy, S3ObjectRef,
};
use serde_json::{json, Value};

const BUCKET: &str = "collection-photos";

fn label(face: Face) -> &'static str {
    face.label()
}

/// The similarity of two faces, as the conformance suite defines it.
fn similarity(a: &str, b: &str) -> f64 {
    match (a.min(b), a.max(b)) {
        ("ada", "ada") => 99.7,
        ("grace", "grace") => 99.4,
        ("twin", "twin") => 99.9,
        ("ada", "twin") => 99.6,
        _ => 12.0,
    }
}

#[derive(Default)]
struct SimCollection {
    /// Face id: external image id, user, label.
    faces: BTreeMap<String, (String, Option<String>, String)>,
    users: BTreeSet<String>,
}

/// A Face Liveness session: its output prefix, and once ended, where its
/// reference image is (key and version; `None`: `FAILED`).
type LiveSession = (String, Option<Option<(String, String)>>);

#[derive(Default)]
struct World {
    /// Photo key: versions (reference photos and liveness output alike).
    photos: HashMap<String, Vec<super::canned::CannedVersion>>,
    sessions: HashMap<String, LiveSession>,
    collections: HashMap<String, SimCollection>,
    next: usize,
    faces_made: usize,
    calls: usize,
}

/// A stand-in for Rekognition collections and S3 photos, with state: for
/// the in-process harness below, and for the HTTPS fault server that the
/// `collection_checkout` example talks to.
#[derive(Clone, Default)]
pub struct Stand {
    world: Arc<Mutex<World>>,
}

impl Stand {
    pub fn new() -> Self {
        Self::default()
    }

    /// Creates collection `id`.
    pub fn create_collection(&self, id: &str) {
        self.world
            .lock()
            .unwrap()
            .collections
            .insert(id.to_owned(), SimCollection::default());
    }

    /// Stores a photo of `face` at `members/LABEL.jpg`; returns the
    /// reference pinned to the version stored.
    pub fn put_photo(&self, face: Face, stored: Stored) -> S3ObjectRef {
        self.put_at(&format!("members/{}.jpg", label(face)), stored)
    }

    /// Ends Face Liveness session `session`: `Some(face)` as `SUCCEEDED`
    /// with a reference image of `face` under the session's prefix
    /// (`PREFIX/reference-LABEL.jpg`, SSE-KMS), `None` as `FAILED`.
    pub fn finish_session(&self, session: &str, shown: Option<Face>) {
        let prefix = self.world.lock().unwrap().sessions[session].0.clone();
        let reference = shown.map(|face| {
            let object = self.put_at(
                &format!("{prefix}reference-{}.jpg", label(face)),
                Stored::SseKms,
            );
            let version = object.version_id().unwrap_or_default().to_owned();
            (object.key().to_owned(), version)
        });
        self.world
            .lock()
            .unwrap()
            .sessions
            .get_mut(session)
            .unwrap()
            .1 = Some(reference);
    }

    fn put_at(&self, key: &str, stored: Stored) -> S3ObjectRef {
        let mut world = self.world.lock().unwrap();
        world.next += 1;
        let version = format!("canned-v{}", world.next);
        let headers = match stored {
            Stored::SseKms => vec![
                ("x-amz-server-side-encryption", "aws:kms".to_owned()),
                (
                    "x-amz-server-side-encryption-aws-kms-key-id",
                    super::KEY.to_owned(),
                ),
            ],
            Stored::SseS3 => vec![("x-amz-server-side-encryption", "AES256".to_owned())],
            other => panic!("the collection stand-in cannot store {other:?}"),
        };
        let key = key.to_owned();
        world
            .photos
            .entry(key.clone())
            .or_default()
            .push((version.clone(), headers));
        S3ObjectRef::new(BUCKET, &key)
            .and_then(|r| r.with_version_id(&version))
            .unwrap()
    }

    /// How many `IndexFaces` and `SearchUsersByImage` requests arrived.
    pub fn collection_calls(&self) -> usize {
        self.world.lock().unwrap().calls
    }

    /// The answer to a request the fault server received.
    pub fn answer(&self, request: &super::fault_server::Request) -> super::fault_server::Response {
        let mut world = self.world.lock().unwrap();
        match request.header("x-amz-target") {
            Some(target) => {
                let op = target.trim_start_matches("RekognitionService.").to_owned();
                let body: Value = serde_json::from_slice(&request.body).unwrap_or_default();
                let (status, answer) = rekognition(&mut world, &op, &body);
                super::fault_server::Response::json(status, &answer.to_string())
            }
            None => {
                let uri: http::Uri = request.target.parse().unwrap_or_default();
                let head = s3(&world, &request.method, &uri);
                let mut response = super::fault_server::Response::status(head.status().as_u16());
                for (name, value) in head.headers() {
                    response = response.header(name.as_str(), value.to_str().unwrap_or_default());
                }
                response
            }
        }
    }
}

/// A live photo of `face`, as the stand-in reads it.
pub fn live_bytes(face: Face) -> Vec<u8> {
    [b"\xFF\xD8\xFF\xE0 live ".as_slice(), label(face).as_bytes()].concat()
}

#[derive(Clone, Default)]
pub struct CannedCollectionHarness {
    stand: Stand,
}

impl CannedCollectionHarness {
    pub fn new() -> Self {
        Self::default()
    }

    fn http_client(&self) -> aws_smithy_runtime_api::client::http::SharedHttpClient {
        let world = self.stand.world.clone();
        aws_smithy_http_client::test_util::infallible_client_fn(
            move |request: http::Request<SdkBody>| {
                let mut world = world.lock().unwrap();
                match request.headers().get("x-amz-target") {
                    Some(target) => {
                        let op = target
                            .to_str()
                            .unwrap()
                            .trim_start_matches("RekognitionService.")
                            .to_owned();
                        let body: Value =
                            serde_json::from_slice(request.body().bytes().unwrap_or_default())
                                .unwrap_or_default();
                        let (status, answer) = rekognition(&mut world, &op, &body);
                        http::Response::builder()
                            .status(status)
                            .header("content-type", "application/x-amz-json-1.1")
                            .body(SdkBody::from(answer.to_string()))
                            .unwrap()
                    }
                    None => s3(&world, request.method().as_str(), request.uri()),
                }
            },
        )
    }

    async fn over(
        &self,
        rekognition_endpoint: &str,
        liveness: Option<LivenessPolicy>,
    ) -> FaceCollection {
        let id = {
            let mut world = self.stand.world.lock().unwrap();
            world.next += 1;
            format!("conformance-{}", world.next)
        };
        self.stand.create_collection(&id);
        let sdk = super::sdk_config("eu-west-1", "AKIDCOLLECTIONS", "collections-secret");
        let http = self.http_client();
        let rekognition = aws_sdk_rekognition::Client::from_conf(
            aws_sdk_rekognition::config::Builder::from(&sdk)
                .http_client(http.clone())
                .endpoint_url(rekognition_endpoint)
                .build(),
        );
        let policy = CollectionPolicy::dangerous()
            .face_vectors_without_customer_kms_key(CollectionId::parse(&id).unwrap());
        let aws = AwsBackend::builder()
            .sdk_config(&sdk)
            .http_client(http)
            .s3_endpoint_url("https://s3.canned.localhost")
            .rekognition_client(rekognition)
            .build()
            .expect("backend");
        FaceCollection::new(
            PhotoStore::new(
                aws.clone(),
                Policy::allow_kms_key(KmsKeyArn::parse(super::KEY).unwrap()),
            ),
            aws,
            OptOutEvidence::attested("conformance suite").unwrap(),
            match liveness {
                Some(l) => policy.with_liveness(l),
                None => policy,
            },
        )
    }
}

/// Answers one S3 request: HeadObject of a photo, or the bucket audit's
/// reads of the bucket (compliant), which is also the liveness output.
fn s3(world: &World, method: &str, uri: &http::Uri) -> http::Response<SdkBody> {
    match (method, uri.query()) {
        ("GET", Some(query)) if uri.path().trim_matches('/') == BUCKET => {
            super::canned::compliant_bucket_answer(query, super::KEY).unwrap_or_else(|| {
                http::Response::builder()
                    .status(405)
                    .body(SdkBody::empty())
                    .unwrap()
            })
        }
        _ => super::canned::head_answer(BUCKET, uri, &world.photos),
    }
}

/// The face an `Image` shows: the label at the end of live bytes
/// (`… live LABEL`), or the photo's key (`members/LABEL.jpg`, a liveness
/// reference image's `…/reference-LABEL.jpg`).
fn face_of(image: &Value) -> String {
    if let Some(bytes) = image["Bytes"].as_str() {
        let bytes = aws_smithy_types::base64::decode(bytes).unwrap_or_default();
        let text = String::from_utf8_lossy(&bytes).into_owned();
        return text.rsplit(" live ").next().unwrap_or_default().to_owned();
    }
    let key = image["S3Object"]["Name"].as_str().unwrap_or_default();
    let file = key.rsplit('/').next().unwrap_or_default();
    file.trim_start_matches("reference-")
        .trim_end_matches(".jpg")
        .to_owned()
}

fn faces_shown(label: &str) -> usize {
    match label {
        "crowd" => 2,
        "nobody" => 0,
        _ => 1,
    }
}

fn error(code: &str) -> (u16, Value) {
    (400, json!({"__type": code, "Message": code}))
}

/// Answers one Rekognition operation.
fn rekognition(world: &mut World, op: &str, body: &Value) -> (u16, Value) {
    if matches!(op, "IndexFaces" | "SearchUsersByImage") {
        world.calls += 1;
    }
    match op {
        "CreateFaceLivenessSession" => return create_session(world, body),
        "GetFaceLivenessSessionResults" => return session_results(world, body),
        _ => {}
    }
    world.faces_made += 1;
    let next = world.faces_made;
    let Some(collection) = body["CollectionId"]
        .as_str()
        .and_then(|id| world.collections.get_mut(id))
    else {
        return error("ResourceNotFoundException");
    };
    let user = body["UserId"].as_str().map(str::to_owned);
    match op {
        "IndexFaces" => {
            let label = face_of(&body["Image"]);
            let shown = faces_shown(&label);
            if shown == 0 {
                return (200, json!({"FaceRecords": [], "UnindexedFaces": []}));
            }
            let face_id = format!("{next:08x}-0000-4000-8000-{next:012x}");
            let external = body["ExternalImageId"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            collection
                .faces
                .insert(face_id.clone(), (external.clone(), None, label));
            let unindexed: Vec<Value> = (1..shown)
                .map(|_| json!({"Reasons": ["EXCEEDS_MAX_FACES"]}))
                .collect();
            (
                200,
                json!({"FaceRecords": [{"Face": {"FaceId": face_id, "ExternalImageId": external}}], "UnindexedFaces": unindexed}),
            )
        }
        "CreateUser" => {
            let user = user.unwrap_or_default();
            if !collection.users.insert(user) {
                return error("ConflictException");
            }
            (200, json!({}))
        }
        "AssociateFaces" => {
            let user = user.unwrap_or_default();
            if !collection.users.contains(&user) {
                return error("ResourceNotFoundException");
            }
            let threshold = body["UserMatchThreshold"].as_f64().unwrap_or(75.0);
            let known: Vec<String> = collection
                .faces
                .values()
                .filter(|f| f.1.as_deref() == Some(&user))
                .map(|f| f.2.clone())
                .collect();
            let (mut associated, mut unsuccessful) = (Vec::new(), Vec::new());
            for id in body["FaceIds"].as_array().into_iter().flatten() {
                let id = id.as_str().unwrap_or_default().to_owned();
                let Some(face) = collection.faces.get_mut(&id) else {
                    unsuccessful.push(json!({"FaceId": id, "Reasons": ["FACE_NOT_FOUND"]}));
                    continue;
                };
                if known.iter().all(|k| similarity(k, &face.2) >= threshold) {
                    face.1 = Some(user.clone());
                    associated.push(json!({"FaceId": id}));
                } else {
                    unsuccessful.push(json!({"FaceId": id, "Reasons": ["LOW_MATCH_CONFIDENCE"]}));
                }
            }
            (
                200,
                json!({"AssociatedFaces": associated, "UnsuccessfulFaceAssociations": unsuccessful, "UserStatus": "ACTIVE"}),
            )
        }
        "SearchUsersByImage" => {
            let label = face_of(&body["Image"]);
            let threshold = body["UserMatchThreshold"].as_f64().unwrap_or(80.0);
            let mut best: BTreeMap<String, f64> = BTreeMap::new();
            for (_, owner, face) in collection.faces.values() {
                if let Some(owner) = owner {
                    let s = similarity(face, &label);
                    let e = best.entry(owner.clone()).or_insert(0.0);
                    *e = e.max(s);
                }
            }
            let matches: Vec<Value> = best
                .into_iter()
                .filter(|(_, s)| *s >= threshold)
                .map(|(u, s)| json!({"Similarity": s, "User": {"UserId": u, "UserStatus": "ACTIVE"}}))
                .collect();
            let unsearched: Vec<Value> = (1..faces_shown(&label).max(1))
                .map(|_| json!({"Reasons": ["FACE_NOT_LARGEST"]}))
                .collect();
            (
                200,
                json!({"UserMatches": matches, "UnsearchedFaces": unsearched}),
            )
        }
        "ListFaces" => {
            // Two faces a page, so every listing pages.
            let start: usize = body["NextToken"]
                .as_str()
                .and_then(|t| t.parse().ok())
                .unwrap_or(0);
            let all: Vec<Value> = collection
                .faces
                .iter()
                .filter(|(_, f)| user.is_none() || f.1 == user)
                .map(|(id, f)| json!({"FaceId": id, "ExternalImageId": f.0, "UserId": f.1}))
                .collect();
            let page: Vec<Value> = all.iter().skip(start).take(2).cloned().collect();
            let mut answer = json!({"Faces": page});
            if start + 2 < all.len() {
                answer["NextToken"] = json!((start + 2).to_string());
            }
            (200, answer)
        }
        "DeleteUser" => {
            let user = user.unwrap_or_default();
            if !collection.users.remove(&user) {
                return error("ResourceNotFoundException");
            }
            for face in collection.faces.values_mut() {
                if face.1.as_deref() == Some(&user) {
                    face.1 = None;
                }
            }
            (200, json!({}))
        }
        "DeleteFaces" => {
            let (mut deleted, mut unsuccessful) = (Vec::new(), Vec::new());
            for id in body["FaceIds"].as_array().into_iter().flatten() {
                let id = id.as_str().unwrap_or_default().to_owned();
                match collection.faces.get(&id) {
                    None => unsuccessful.push(json!({"FaceId": id, "Reasons": ["FACE_NOT_FOUND"]})),
                    Some(f) if f.1.is_some() => unsuccessful.push(
                        json!({"FaceId": id, "UserId": f.1, "Reasons": ["ASSOCIATED_TO_AN_EXISTING_USER"]}),
                    ),
                    Some(_) => {
                        collection.faces.remove(&id);
                        deleted.push(json!(id));
                    }
                }
            }
            (
                200,
                json!({"DeletedFaces": deleted, "UnsuccessfulFaceDeletions": unsuccessful}),
            )
        }
        _ => error("InvalidParameterException"),
    }
}

fn create_session(world: &mut World, body: &Value) -> (u16, Value) {
    world.next += 1;
    let id = format!("00000000-0000-4000-9000-{:012x}", world.next);
    let output = &body["Settings"]["OutputConfig"];
    if output["S3Bucket"].as_str() != Some(BUCKET) {
        return error("InvalidParameterException");
    }
    let prefix = output["S3KeyPrefix"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    world.sessions.insert(id.clone(), (prefix, None));
    (200, json!({ "SessionId": id }))
}

fn session_results(world: &mut World, body: &Value) -> (u16, Value) {
    let id = body["SessionId"].as_str().unwrap_or_default();
    let Some((_, ended)) = world.sessions.get(id) else {
        return error("SessionNotFoundException");
    };
    let answer = match ended {
        None => json!({ "SessionId": id, "Status": "IN_PROGRESS" }),
        Some(None) => json!({ "SessionId": id, "Status": "FAILED" }),
        Some(Some((key, version))) => json!({
            "SessionId": id,
            "Status": "SUCCEEDED",
            "Confidence": 99.5,
            "Challenge": {"Type": "FaceMovementAndLightChallenge", "Version": "2.0.0"},
            "ReferenceImage": {
                "S3Object": {"Bucket": BUCKET, "Name": key, "Version": version},
                "BoundingBox": {"Width": 0.33, "Height": 0.45, "Left": 0.31, "Top": 0.2}
            }
        }),
    };
    (200, answer)
}

#[async_trait]
impl CollectionHarness for CannedCollectionHarness {
    fn name(&self) -> &str {
        "canned HTTP"
    }
    async fn faces(&self) -> FaceCollection {
        self.over("https://rekognition.canned.localhost", None)
            .await
    }
    async fn faces_over_plain_http(&self) -> FaceCollection {
        self.over("http://rekognition.canned.localhost:8080", None)
            .await
    }
    async fn photo(&self, face: Face, stored: Stored) -> S3ObjectRef {
        self.stand.put_photo(face, stored)
    }
    fn live_photo(&self, face: Face) -> FaceImage {
        FaceImage::from_vec(live_bytes(face)).unwrap()
    }
    fn collection_calls(&self) -> usize {
        self.stand.collection_calls()
    }
    async fn faces_with_liveness(&self) -> FaceCollection {
        self.over(
            "https://rekognition.canned.localhost",
            Some(rekognition_guard::conformance::collection::liveness_policy(
                BUCKET,
            )),
        )
        .await
    }
    async fn finish_session(&self, session: &LivenessSessionId, shown: Option<Face>) {
        self.stand.finish_session(session.as_str(), shown);
    }
}
