//! Fault injection over real TLS: the real SDK clients, built by
//! `AwsBackend`, talk to HTTPS servers on loopback that hang, reset, answer
//! late, answer garbage or answer with errors (see `fault_server`).

use std::time::Duration;

use crate::support::fault_server::{ca_pem, Fault, Response};
use crate::support::faults::*;
use crate::support::{self, KEY};
use aws_credential_types::provider::SharedCredentialsProvider;
use aws_credential_types::Credentials;
use aws_sdk_s3::config::{BehaviorVersion, Region};
use rekognition_guard::{BackendErrorKind, KmsKeyArn, Policy, S3ObjectRef, Service};

#[tokio::test]
async fn malformed_or_impossible_answers_are_invalid_responses() {
    for body in [
        "not json at all",
        r#"{"FaceMatches":[{"Similarity":99.9,"Face":{"BoundingBox":{"#,
        r#"{"FaceMatches":[{"Similarity":150.0,"Face":{"BoundingBox":{"Width":0.2,"Height":0.2,"Left":0.1,"Top":0.1}}}]}"#,
        r#"{"FaceMatches":[{"Similarity":"NaN","Face":{"BoundingBox":{"Width":0.2,"Height":0.2,"Left":0.1,"Top":0.1}}}]}"#,
        r#"{"FaceMatches":[{"Face":{"BoundingBox":{"Width":0.2,"Height":0.2,"Left":0.1,"Top":0.1}}}]}"#,
        r#"{"FaceMatches":[{"Similarity":99.9}]}"#,
    ] {
        let run = run(good_s3(), Fault::Respond(Response::json(200, body))).await;
        assert_backend_error(
            &run,
            Service::Rekognition,
            &[BackendErrorKind::InvalidResponse],
        );
    }
}

/// An SDK default is not an answer: every field the crate reads from an
/// AWS answer whose absence the SDK turns into a passing value (`false`,
/// `0`, `""`, an empty list, "not truncated", "no version"), each left out
/// of an otherwise good answer from a stand-in over real TLS, and what the
/// crate then does. The table is the list: a field added to what the
/// crate reads belongs here.
mod sdk_defaults {
    use std::sync::Arc;

    use rekognition_guard::erasure::EraseOptions;
    use rekognition_guard::inventory::Remediation;
    use rekognition_guard::liveness::{
        KioskId, LivenessPolicy, LivenessSessionId, LivenessVerdict, NotLiveReason,
    };
    use rekognition_guard::{AtRestViolation, Error, OptOutVerifier, Violation};
    use serde_json::{json, Value};

    use super::support::answers::{self, Face};
    use super::support::fault_server::{Fault, FaultServer, Request, Response, Script};
    use super::support::ACCOUNT;
    use super::*;

    /// What the probe leaves out, where.
    #[derive(Debug, Clone, Copy)]
    enum Probe {
        /// DetectFaces (enrollment's gate): a JSON pointer in the face.
        Detect(&'static str),
        /// CompareFaces: a JSON pointer in the answer.
        Compare(&'static str),
        /// GetFaceLivenessSessionResults: a JSON pointer in the answer.
        Liveness(&'static str),
        /// HeadObject (a comparison): a header.
        Head(&'static str),
        /// PutObject (enrollment, versioning required): a header.
        Put(&'static str),
        /// CopyObject (re-encryption in a versioned bucket): a header.
        Copy(&'static str),
        /// ListObjectVersions (erasure): an element, or a key with `+`
        /// without `EncodingType`.
        List(&'static str),
        /// ListBucketInventoryConfigurations (bucket audit): an element.
        InventoryConfigurations(&'static str),
        /// Organizations DescribeEffectivePolicy: a JSON pointer.
        EffectivePolicy(&'static str),
        /// STS GetCallerIdentity: an element.
        CallerIdentity(&'static str),
    }

    /// One field: where it is read, what its absence leads to, the AWS
    /// source that says it may be absent (or is required and so filled in
    /// by the SDK).
    struct Row {
        field: &'static str,
        probe: Probe,
        outcome: &'static str,
        source: &'static str,
    }

    const TABLE: &[Row] = &[
        Row {
            field: "DetectFaces FaceDetails[].Sunglasses.Value",
            probe: Probe::Detect("/Sunglasses/Value"),
            outcome: "photo rejected: sunglasses (not reported)",
            source: "API_Sunglasses: Value optional; Rust SDK reads it as bool false",
        },
        Row {
            field: "DetectFaces FaceDetails[].FaceOccluded.Value",
            probe: Probe::Detect("/FaceOccluded/Value"),
            outcome: "photo rejected: face_occluded (not reported)",
            source: "API_FaceOccluded: Value optional; SDK bool false",
        },
        Row {
            field: "DetectFaces FaceDetails[].EyesOpen.Value",
            probe: Probe::Detect("/EyesOpen/Value"),
            outcome: "photo rejected: eyes_not_open (not reported)",
            source: "API_EyeOpen: Value optional; SDK bool false",
        },
        Row {
            field: "DetectFaces FaceDetails[].Sunglasses.Confidence",
            probe: Probe::Detect("/Sunglasses/Confidence"),
            outcome: "photo rejected: sunglasses (not reported)",
            source: "API_Sunglasses: Confidence optional",
        },
        Row {
            field: "DetectFaces FaceDetails[].BoundingBox",
            probe: Probe::Detect("/BoundingBox"),
            outcome: "photo rejected: face_too_small (not reported)",
            source: "API_FaceDetail: BoundingBox optional",
        },
        Row {
            field: "DetectFaces FaceDetails[].Confidence",
            probe: Probe::Detect("/Confidence"),
            outcome: "photo rejected: uncertain_face (not reported)",
            source: "API_FaceDetail: Confidence optional",
        },
        Row {
            field: "DetectFaces FaceDetails[].Pose",
            probe: Probe::Detect("/Pose"),
            outcome: "photo rejected: pose_out_of_range (not reported)",
            source: "API_FaceDetail: Pose optional",
        },
        Row {
            field: "DetectFaces FaceDetails[].Quality.Sharpness",
            probe: Probe::Detect("/Quality/Sharpness"),
            outcome: "photo rejected: not_sharp (not reported)",
            source: "API_ImageQuality: Sharpness optional",
        },
        Row {
            field: "CompareFaces FaceMatches[].Similarity",
            probe: Probe::Compare("/FaceMatches/0/Similarity"),
            outcome: "error: InvalidResponse",
            source: "API_CompareFacesMatch: Similarity optional",
        },
        Row {
            field: "CompareFaces FaceMatches[].Face.BoundingBox",
            probe: Probe::Compare("/FaceMatches/0/Face/BoundingBox"),
            outcome: "error: InvalidResponse",
            source: "API_ComparedFace: BoundingBox optional",
        },
        Row {
            field: "CompareFaces FaceMatches",
            probe: Probe::Compare("/FaceMatches"),
            outcome: "not approved",
            source: "API_CompareFaces: FaceMatches optional; SDK empty list",
        },
        Row {
            field: "GetFaceLivenessSessionResults Status",
            probe: Probe::Liveness("/Status"),
            outcome: "error: InvalidResponse",
            source:
                "API_GetFaceLivenessSessionResults: Status required; SDK fills an unknown value",
        },
        Row {
            field: "GetFaceLivenessSessionResults Confidence",
            probe: Probe::Liveness("/Confidence"),
            outcome: "error: InvalidResponse",
            source: "API_GetFaceLivenessSessionResults: Confidence optional",
        },
        Row {
            field: "GetFaceLivenessSessionResults Challenge",
            probe: Probe::Liveness("/Challenge"),
            outcome: "not live: challenge not allowed (none named)",
            source: "API_GetFaceLivenessSessionResults: Challenge optional",
        },
        Row {
            field: "GetFaceLivenessSessionResults Challenge.Type",
            probe: Probe::Liveness("/Challenge/Type"),
            outcome: "not live: challenge not allowed (none named)",
            source: "API_Challenge: Type required; SDK fills \"no value was set\"",
        },
        Row {
            field: "GetFaceLivenessSessionResults Challenge.Version",
            probe: Probe::Liveness("/Challenge/Version"),
            outcome: "approved, version recorded as none",
            source: "API_Challenge: Version required; SDK fills \"\"",
        },
        Row {
            field: "GetFaceLivenessSessionResults ReferenceImage.S3Object.Version",
            probe: Probe::Liveness("/ReferenceImage/S3Object/Version"),
            outcome: "refused: VersionRequired",
            source: "API_S3Object: Version optional",
        },
        Row {
            field: "HeadObject x-amz-server-side-encryption",
            probe: Probe::Head("x-amz-server-side-encryption"),
            outcome: "refused: NotKmsEncrypted",
            source: "API_HeadObject: header absent for unencrypted objects (aws-facts 0.5)",
        },
        Row {
            field: "HeadObject x-amz-server-side-encryption-aws-kms-key-id",
            probe: Probe::Head("x-amz-server-side-encryption-aws-kms-key-id"),
            outcome: "refused: KmsKeyUnknown",
            source: "API_HeadObject: SSEKMSKeyId optional",
        },
        Row {
            field: "HeadObject x-amz-version-id (versioning required)",
            probe: Probe::Head("x-amz-version-id"),
            outcome: "refused: VersionRequired",
            source: "API_HeadObject: VersionId optional",
        },
        Row {
            field: "PutObject x-amz-version-id (versioning required)",
            probe: Probe::Put("x-amz-version-id"),
            outcome: "refused: VersionRequired",
            source: "API_PutObject: VersionId optional",
        },
        Row {
            field: "CopyObject x-amz-version-id (versioned bucket)",
            probe: Probe::Copy("x-amz-version-id"),
            outcome: "error: InvalidResponse",
            source: "API_CopyObject: VersionId optional",
        },
        Row {
            field: "ListObjectVersions IsTruncated",
            probe: Probe::List("IsTruncated"),
            outcome: "error: InvalidResponse",
            source: "API_ListObjectVersions: IsTruncated optional; SDK None",
        },
        Row {
            field: "ListObjectVersions Version.Key",
            probe: Probe::List("Key"),
            outcome: "error: InvalidResponse",
            source: "API_ObjectVersion: Key optional",
        },
        Row {
            field: "ListObjectVersions Version.VersionId",
            probe: Probe::List("VersionId"),
            outcome: "error: InvalidResponse",
            source: "API_ObjectVersion: VersionId optional",
        },
        Row {
            field: "ListObjectVersions EncodingType (a key with '+')",
            probe: Probe::List("EncodingType"),
            outcome: "error: InvalidResponse",
            source: "API_ListObjectVersions: EncodingType echoed when requested",
        },
        Row {
            field: "ListBucketInventoryConfigurations IsTruncated",
            probe: Probe::InventoryConfigurations("IsTruncated"),
            outcome: "finding: unverifiable-inventory",
            source: "API_ListBucketInventoryConfigurations: IsTruncated optional",
        },
        Row {
            field: "ListBucketInventoryConfigurations Filter.Prefix",
            probe: Probe::InventoryConfigurations("Prefix"),
            outcome: "finding: no-inventory-encryption-status",
            source: "API_InventoryFilter: Prefix required; SDK fills \"\"",
        },
        Row {
            field: "DescribeEffectivePolicy EffectivePolicy.PolicyContent",
            probe: Probe::EffectivePolicy("/EffectivePolicy/PolicyContent"),
            outcome: "not opted out",
            source: "API_EffectivePolicy: PolicyContent optional",
        },
        Row {
            field: "GetCallerIdentity Account",
            probe: Probe::CallerIdentity("Account"),
            outcome: "error: InvalidResponse",
            source: "API_GetCallerIdentity: Account optional",
        },
    ];

    const PHOTOS: &str = "library-photos";
    const OUTPUT: &str = "library-liveness";
    const SESSION: &str = "0f6b3a0e-27a4-4b8e-9a61-2c1d5e8f7a90";

    fn without(mut value: Value, pointer: &str) -> Value {
        let (parent, last) = pointer.rsplit_once('/').expect("a pointer");
        if let Some(p) = value.pointer_mut(parent).and_then(Value::as_object_mut) {
            assert!(p.remove(last).is_some(), "{pointer} is in the good answer");
        }
        value
    }

    fn json_response(value: &Value) -> Response {
        Response::json(200, &value.to_string())
    }

    fn script(f: impl Fn(&Request) -> Response + Send + Sync + 'static) -> Fault {
        Fault::Script(Script(Arc::new(f)))
    }

    fn kms_policy() -> Policy {
        Policy::allow_kms_key(KmsKeyArn::parse(KEY).unwrap())
    }

    fn pinned(key: &str) -> S3ObjectRef {
        S3ObjectRef::new(PHOTOS, key)
            .unwrap()
            .with_version_id(VERSION)
            .unwrap()
    }

    fn guard_over(s3: &FaultServer, rekognition: &FaultServer) -> rekognition_guard::Guard {
        crate::support::canned::uncached_guard(
            backend(s3, rekognition, &Setup::default()),
            kms_policy(),
        )
    }

    fn error_kind(result: Result<impl std::fmt::Debug, Error>) -> String {
        match result {
            Err(Error::Backend(b)) => format!("error: {:?}", b.kind()),
            Err(Error::Refused(r)) => match r.violations.as_slice() {
                [Violation::AtRest(AtRestViolation::UnusableMetadata { field, .. })] => {
                    format!("refused: UnusableMetadata {field}")
                }
                [Violation::AtRest(v)] => {
                    format!(
                        "refused: {}",
                        format!("{v:?}").split([' ', '{']).next().unwrap()
                    )
                }
                other => format!("refused: {other:?}"),
            },
            Err(other) => format!("other error: {other}"),
            Ok(v) => format!("passed: {v:?}"),
        }
    }

    fn good_face() -> Value {
        serde_json::from_str::<Value>(&answers::detect_faces(&[Face::GOOD])).unwrap()["FaceDetails"]
            [0]
        .clone()
    }

    fn head_without(header: &'static str) -> Response {
        let mut r = Response::status(200)
            .header("content-type", "image/jpeg")
            .header("content-length", "48213")
            .header("etag", "\"5d41402abc4b2a76b9719d911017c592\"");
        for (name, value) in [
            ("x-amz-server-side-encryption", "aws:kms"),
            ("x-amz-server-side-encryption-aws-kms-key-id", KEY),
            ("x-amz-version-id", VERSION),
        ] {
            if name != header {
                r = r.header(name, value);
            }
        }
        r
    }

    fn xml(body: String) -> Response {
        Response::status(200)
            .header("content-type", "application/xml")
            .body(body)
    }

    /// What the crate did with the answer `probe` describes.
    async fn outcome(probe: Probe) -> String {
        match probe {
            Probe::Detect(pointer) => {
                let face = without(good_face(), pointer);
                let body = json!({ "FaceDetails": [face] });
                let s3 = FaultServer::start(script(|r| match r.method.as_str() {
                    "PUT" => Response::status(200).header("x-amz-version-id", VERSION),
                    _ => Response::sse_kms_head(KEY, VERSION),
                }))
                .await;
                let rekognition = FaultServer::start(Fault::Respond(json_response(&body))).await;
                let object = S3ObjectRef::new(PHOTOS, "members/new.jpg").unwrap();
                match guard_over(&s3, &rekognition)
                    .enroll(&crate::support::consent(), &object, live_photo())
                    .await
                {
                    Err(Error::PhotoRejected(a)) => {
                        let issue = &a.issues[0];
                        // Each issue holds what was reported, `None` when nothing.
                        let reported = format!("{issue:?}").contains("None");
                        format!(
                            "photo rejected: {}{}",
                            issue.id(),
                            if reported { " (not reported)" } else { "" }
                        )
                    }
                    other => error_kind(other),
                }
            }
            Probe::Compare(pointer) => {
                let good: Value = serde_json::from_str(&answers::compare_match(99.9)).unwrap();
                let body = without(good, pointer);
                let s3 =
                    FaultServer::start(Fault::Respond(Response::sse_kms_head(KEY, VERSION))).await;
                let rekognition = FaultServer::start(Fault::Respond(json_response(&body))).await;
                match guard_over(&s3, &rekognition)
                    .compare(pinned("members/ada.jpg"), live_photo())
                    .await
                {
                    Ok(d) if !d.is_approved() => "not approved".to_owned(),
                    other => error_kind(other),
                }
            }
            Probe::Liveness(pointer) => {
                let member = pinned("members/ada.jpg");
                let kiosk = KioskId::new("kiosk-1").unwrap();
                let prefix = LivenessPolicy::new(OUTPUT)
                    .unwrap()
                    .output_prefix_for(&member, &kiosk);
                let good = json!({
                    "SessionId": SESSION,
                    "Status": "SUCCEEDED",
                    "Confidence": 98.5,
                    "ReferenceImage": {
                        "S3Object": {"Bucket": OUTPUT, "Name": format!("{prefix}{SESSION}/reference.jpg"), "Version": VERSION},
                        "BoundingBox": {"Width": 0.33, "Height": 0.45, "Left": 0.31, "Top": 0.2}
                    },
                    "AuditImages": [],
                    "Challenge": {"Type": "FaceMovementAndLightChallenge", "Version": "2.0.0"}
                });
                let results = without(good, pointer);
                let s3 =
                    FaultServer::start(Fault::Respond(Response::sse_kms_head(KEY, VERSION))).await;
                let rekognition =
                    FaultServer::start(script(move |r| match r.operation().as_deref() {
                        Some("GetFaceLivenessSessionResults") => json_response(&results),
                        _ => Response::compare_match(99.9),
                    }))
                    .await;
                let id = LivenessSessionId::parse(SESSION).unwrap();
                match guard_over(&s3, &rekognition)
                    .liveness(LivenessPolicy::new(OUTPUT).unwrap())
                    .verify_session(&id, &member, &kiosk)
                    .await
                {
                    Ok(d) => match d.verdict {
                        LivenessVerdict::NotLive(NotLiveReason::ChallengeNotAllowed {
                            found: None,
                        }) => "not live: challenge not allowed (none named)".to_owned(),
                        _ if d.is_approved() => format!(
                            "approved, version recorded as {}",
                            d.challenge
                                .as_ref()
                                .and_then(|c| c.version.as_deref())
                                .unwrap_or("none")
                        ),
                        other => format!("decided: {other:?}"),
                    },
                    Err(e) => error_kind(Err::<(), _>(e)),
                }
            }
            Probe::Head(header) => {
                let s3 = FaultServer::start(Fault::Respond(head_without(header))).await;
                let rekognition = FaultServer::start(good_rekognition()).await;
                let result = guard_over(&s3, &rekognition)
                    .compare(
                        S3ObjectRef::new(PHOTOS, "members/ada.jpg").unwrap(),
                        live_photo(),
                    )
                    .await;
                assert!(rekognition.requests().is_empty(), "nothing compared");
                error_kind(result)
            }
            Probe::Put(header) => {
                let s3 = FaultServer::start(script(move |r| match r.method.as_str() {
                    "PUT" if header == "x-amz-version-id" => Response::status(200),
                    "PUT" => Response::status(200).header("x-amz-version-id", VERSION),
                    _ => Response::sse_kms_head(KEY, VERSION),
                }))
                .await;
                let rekognition =
                    FaultServer::start(Fault::Respond(Response::detect_faces(&[Face::GOOD]))).await;
                let object = S3ObjectRef::new(PHOTOS, "members/new.jpg").unwrap();
                error_kind(
                    guard_over(&s3, &rekognition)
                        .enroll(&crate::support::consent(), &object, live_photo())
                        .await,
                )
            }
            Probe::Copy(header) => {
                let (result, _) = reencrypt_against(
                    &format!("s3://{PHOTOS}/members/ada.jpg?versionId={VERSION}"),
                    Remediation::CopyObject,
                    move |r| match r.method.as_str() {
                        "HEAD" => Response::status(200)
                            .header("content-length", "48213")
                            .header("x-amz-version-id", VERSION)
                            .header("etag", "\"5d41402abc4b2a76b9719d911017c592\""),
                        "PUT" => {
                            let ok = xml(r#"<?xml version="1.0" encoding="UTF-8"?><CopyObjectResult><ETag>"6e2f"</ETag></CopyObjectResult>"#.to_owned());
                            if header == "x-amz-version-id" {
                                ok
                            } else {
                                ok.header("x-amz-version-id", "3HL4kqtJnew")
                            }
                        }
                        _ => Response::status(400),
                    },
                )
                .await;
                error_kind(result)
            }
            Probe::List(element) => {
                let key = if element == "EncodingType" {
                    "members/ada+smith.jpg"
                } else {
                    "members/ada.jpg"
                };
                let listing = {
                    let mut version = String::new();
                    if element != "Key" {
                        version.push_str(&format!("<Key>{key}</Key>"));
                    }
                    if element != "VersionId" {
                        version.push_str(&format!("<VersionId>{VERSION}</VersionId>"));
                    }
                    format!(
                        r#"<?xml version="1.0" encoding="UTF-8"?><ListVersionsResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>{PHOTOS}</Name>{}{}<Version>{version}<IsLatest>true</IsLatest><Size>10</Size></Version></ListVersionsResult>"#,
                        if element == "EncodingType" {
                            ""
                        } else {
                            "<EncodingType>url</EncodingType>"
                        },
                        if element == "IsTruncated" {
                            ""
                        } else {
                            "<IsTruncated>false</IsTruncated>"
                        },
                    )
                };
                let s3 = FaultServer::start(script(move |r| match r.method.as_str() {
                    "GET" if r.target.contains("versions") => xml(listing.clone()),
                    "GET" if r.target.contains("versioning") => xml(r#"<?xml version="1.0" encoding="UTF-8"?><VersioningConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Status>Enabled</Status></VersioningConfiguration>"#.to_owned()),
                    "DELETE" => Response::status(204),
                    _ => Response::status(400),
                }))
                .await;
                let rekognition = FaultServer::start(good_rekognition()).await;
                let object = S3ObjectRef::new(PHOTOS, key.replace('+', " ").as_str()).unwrap();
                let result = guard_over(&s3, &rekognition)
                    .store()
                    .erase(&object, EraseOptions::default())
                    .await;
                assert!(
                    !s3.requests().iter().any(|r| r.starts_with("DELETE")),
                    "nothing deleted on such a listing: {:?}",
                    s3.requests()
                );
                error_kind(result)
            }
            Probe::InventoryConfigurations(element) => {
                let configuration = format!(
                    "<InventoryConfiguration><Id>photos-audit</Id><IsEnabled>true</IsEnabled>{}<Destination><S3BucketDestination><Bucket>arn:aws:s3:::inventory-dest</Bucket><Format>CSV</Format></S3BucketDestination></Destination><IncludedObjectVersions>All</IncludedObjectVersions><OptionalFields><Field>EncryptionStatus</Field></OptionalFields><Schedule><Frequency>Daily</Frequency></Schedule></InventoryConfiguration>",
                    if element == "Prefix" { "<Filter></Filter>" } else { "" }
                );
                let list = format!(
                    r#"<?xml version="1.0" encoding="UTF-8"?><ListInventoryConfigurationsResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">{configuration}{}</ListInventoryConfigurationsResult>"#,
                    if element == "IsTruncated" {
                        ""
                    } else {
                        "<IsTruncated>false</IsTruncated>"
                    }
                );
                let s3 = FaultServer::start(script(move |r| {
                    let q = r.target.split_once('?').map_or("", |(_, q)| q);
                    if q.starts_with("inventory") {
                        xml(list.clone())
                    } else {
                        Response::status(403)
                            .header("content-type", "application/xml")
                            .body("<Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>")
                    }
                }))
                .await;
                let rekognition = FaultServer::start(good_rekognition()).await;
                let audit = rekognition_guard::PhotoStore::new(
                    backend(&s3, &rekognition, &Setup::default()),
                    kms_policy(),
                )
                .audit_bucket(PHOTOS)
                .await
                .unwrap();
                let ids: Vec<String> = audit.findings.iter().map(|f| f.id.to_string()).collect();
                ids.into_iter()
                    .find(|id| id.contains("inventory"))
                    .map_or("no inventory finding".to_owned(), |id| {
                        format!("finding: {id}")
                    })
            }
            Probe::EffectivePolicy(pointer) => {
                let good: Value = serde_json::from_str(&answers::effective_policy(
                    r#"{"services":{"default":{"opt_out_policy":"optOut"}}}"#,
                    ACCOUNT,
                ))
                .unwrap();
                let body = without(good, pointer);
                let org = FaultServer::start(Fault::Respond(json_response(&body))).await;
                let status = verifier(&org, None).verify().await;
                match status {
                    Ok(rekognition_guard::OptOutStatus::NotOptedOut { .. }) => {
                        "not opted out".to_owned()
                    }
                    other => format!("{other:?}"),
                }
            }
            Probe::CallerIdentity(element) => {
                let good = answers::caller_identity(ACCOUNT);
                let body = good.replace(&format!("<{element}>{ACCOUNT}</{element}>"), "");
                assert_ne!(body, good, "{element} is in the good answer");
                let org_body = answers::effective_policy(
                    r#"{"services":{"default":{"opt_out_policy":"optOut"}}}"#,
                    ACCOUNT,
                )
                .replace(&format!(r#","TargetId":"{ACCOUNT}""#), "");
                let org = FaultServer::start(Fault::Respond(Response::json(200, &org_body))).await;
                let sts = FaultServer::start(Fault::Respond(
                    Response::status(200)
                        .header("content-type", "text/xml")
                        .body(body),
                ))
                .await;
                error_kind(
                    verifier(&org, Some(&sts))
                        .verify()
                        .await
                        .map_err(Error::Backend),
                )
            }
        }
    }

    /// An Organizations verifier over TLS to `org` (and STS at `sts`).
    fn verifier(
        org: &FaultServer,
        sts: Option<&FaultServer>,
    ) -> rekognition_guard::aws::OrganizationsOptOutVerifier {
        let http =
            rekognition_guard::aws::https_client_trusting(ca_pem().as_bytes(), false).unwrap();
        let sdk = aws_types::SdkConfig::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .credentials_provider(SharedCredentialsProvider::new(Credentials::new(
                ACCESS_KEY,
                SECRET_KEY,
                None,
                None,
                "fault-test",
            )))
            .http_client(http)
            .retry_config(aws_smithy_types::retry::RetryConfig::disabled())
            .build();
        let mut builder = rekognition_guard::aws::OrganizationsOptOutVerifier::builder()
            .client(aws_sdk_organizations::Client::from_conf(
                aws_sdk_organizations::config::Builder::from(&sdk)
                    .endpoint_url(&org.endpoint)
                    .build(),
            ))
            .cache_ttl(Duration::ZERO);
        if let Some(sts) = sts {
            builder = builder.sts_client(aws_sdk_sts::Client::from_conf(
                aws_sdk_sts::config::Builder::from(&sdk)
                    .endpoint_url(&sts.endpoint)
                    .build(),
            ));
        }
        builder.build().unwrap()
    }

    #[tokio::test]
    async fn a_field_the_service_did_not_send_never_reads_as_its_passing_value() {
        let mut failures = Vec::new();
        for row in TABLE {
            let got = outcome(row.probe).await;
            eprintln!("{:<70} -> {got}   [{}]", row.field, row.source);
            if got != row.outcome {
                failures.push(format!(
                    "{}: expected {:?}, got {got:?}",
                    row.field, row.outcome
                ));
            }
        }
        assert!(failures.is_empty(), "{}", failures.join("\n"));
    }
}
