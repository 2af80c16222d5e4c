//! Rekognition CompareFaces, DetectFaces and Face Liveness, fed only
//! what the guard approved.

use aws_sdk_rekognition::error::SdkError;
use aws_sdk_rekognition::operation::compare_faces::builders::CompareFacesFluentBuilder;
use aws_sdk_rekognition::operation::compare_faces::{CompareFacesError, CompareFacesOutput};
use aws_sdk_rekognition::primitives::Blob;
use aws_sdk_rekognition::types::{self as rk, Image};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

use super::errors::{by_status, common, status};
use crate::at_rest::VerifiedS3Object;
use crate::backend::{BackendError, BackendErrorKind};
use crate::backend::{
    BoundingBox, CompareFacesRequest, ComparisonFacts, CreateFaceLivenessSessionRequest,
    DetectFacesRequest, FaceMatch, GetFaceLivenessSessionResultsRequest, VerifiedImage,
};
use crate::input::Service;
use crate::liveness::{
    Challenge, ChallengeType, LivenessFacts, LivenessImage, LivenessSessionId, LivenessStatus,
};
use crate::quality::{FaceDetail, FaceTrait, Pose};

const OPERATION: &str = "CompareFaces";

/// Sends CompareFaces. S3 images go as `S3Object` with the **pinned**
/// version; bytes are moved into the request without a copy.
pub(crate) async fn compare(
    client: &aws_sdk_rekognition::Client,
    request: CompareFacesRequest,
) -> Result<ComparisonFacts, BackendError> {
    let (call, sent) = prepare_compare(client, request)?;
    sent.finish(call.send().await)
}

/// The CompareFaces call for `request`, not yet sent, and what reading its
/// result needs. Split from [`compare`] so that the guard can await the
/// SDK's future in place (see `Guard::compare`).
pub(crate) fn prepare_compare<'a>(
    client: &'a aws_sdk_rekognition::Client,
    request: CompareFacesRequest,
) -> Result<(CompareFacesFluentBuilder, SentCompare<'a>), BackendError> {
    if matches!(request.source, VerifiedImage::Bytes(_))
        || matches!(request.target, VerifiedImage::Bytes(_))
    {
        super::refuse_if_bodies_logged(Service::Rekognition, OPERATION)?;
    }
    let threshold = request.threshold.get();
    let quality = sdk_quality_filter(request.quality_filter);
    let (source, target) = (request.source, request.target);
    // The S3 proofs are kept (moved, not copied) for error hints, which are
    // only formatted when a call fails.
    let (source, source_s3) = image(source);
    let (target, target_s3) = image(target);
    let call = client
        .compare_faces()
        .source_image(source)
        .target_image(target)
        .similarity_threshold(threshold)
        .quality_filter(quality);
    Ok((
        call,
        SentCompare {
            client,
            s3_images: [source_s3, target_s3],
        },
    ))
}

/// A CompareFaces call on its way: the S3 images it names, for the hints
/// of an error.
pub(crate) struct SentCompare<'a> {
    client: &'a aws_sdk_rekognition::Client,
    s3_images: [Option<VerifiedS3Object>; 2],
}

impl SentCompare<'_> {
    /// The call's result as facts, or as the crate's error.
    pub(crate) fn finish(
        self,
        result: Result<CompareFacesOutput, SdkError<CompareFacesError, HttpResponse>>,
    ) -> Result<ComparisonFacts, BackendError> {
        match result {
            Ok(out) => facts(&out),
            Err(err) => self.failed(err),
        }
    }

    /// Out of line: the warm path only reads successes.
    #[cold]
    #[inline(never)]
    fn failed(
        self,
        err: SdkError<CompareFacesError, HttpResponse>,
    ) -> Result<ComparisonFacts, BackendError> {
        let s3_images: Vec<String> = self
            .s3_images
            .into_iter()
            .flatten()
            .map(|o| o.to_string())
            .collect();
        map_error(
            err,
            &s3_images,
            self.client.config().region().map(|r| r.as_ref()),
        )
    }
}

/// The SDK's value of `filter`.
fn sdk_quality_filter(filter: crate::policy::QualityFilter) -> rk::QualityFilter {
    use crate::policy::QualityFilter as Q;
    match filter {
        Q::None => rk::QualityFilter::None,
        Q::Auto => rk::QualityFilter::Auto,
        Q::Low => rk::QualityFilter::Low,
        Q::Medium => rk::QualityFilter::Medium,
        Q::High => rk::QualityFilter::High,
    }
}

/// The SDK image; for S3, also the proof it came from.
pub(super) fn image(image: VerifiedImage) -> (Image, Option<VerifiedS3Object>) {
    match image {
        VerifiedImage::S3(o) => {
            let s3 = rk::S3Object::builder()
                .bucket(o.reference().bucket())
                .name(o.reference().key())
                .set_version(o.reference().version_id().map(str::to_owned))
                .build();
            (Image::builder().s3_object(s3).build(), Some(o))
        }
        VerifiedImage::Bytes(b) => (
            Image::builder().bytes(Blob::new(b.into_bytes())).build(),
            None,
        ),
    }
}

#[cold]
fn invalid(message: &str) -> BackendError {
    BackendError::new(
        BackendErrorKind::InvalidResponse,
        Service::Rekognition,
        OPERATION,
        message,
    )
}

/// The response as facts; a match without similarity or face box is an
/// error, never a match.
pub(crate) fn facts(out: &CompareFacesOutput) -> Result<ComparisonFacts, BackendError> {
    let mut matches = Vec::with_capacity(out.face_matches().len());
    for m in out.face_matches() {
        let similarity = m
            .similarity()
            .ok_or_else(|| invalid("a face match has no similarity"))?;
        let b = m
            .face()
            .and_then(|f| f.bounding_box())
            .ok_or_else(|| invalid("a face match has no bounding box"))?;
        let (Some(left), Some(top), Some(width), Some(height)) =
            (b.left(), b.top(), b.width(), b.height())
        else {
            return Err(invalid("a face match has an incomplete bounding box"));
        };
        matches.push(FaceMatch::new(
            similarity,
            BoundingBox::new(left, top, width, height),
        ));
    }
    Ok(ComparisonFacts::Faces {
        matches,
        unmatched_faces: out.unmatched_faces().len(),
    })
}

fn map_error(
    err: SdkError<CompareFacesError, HttpResponse>,
    s3_images: &[String],
    region: Option<&str>,
) -> Result<ComparisonFacts, BackendError> {
    // Rekognition answers "no face detected in the source or target image"
    // with InvalidParameterException; the guard validated every other
    // parameter it could (threshold range, image format, size and pixel
    // dimensions). Not an approval either way.
    if matches!(
        err.as_service_error(),
        Some(CompareFacesError::InvalidParameterException(_))
    ) {
        tracing::debug!("CompareFaces: InvalidParameterException, read as no face detected");
        return Ok(ComparisonFacts::NoFaceDetected);
    }
    Err(map_rekognition_error(err, OPERATION, s3_images, region))
}

/// Rekognition's errors, the same for every image operation (matched on
/// the error code, which every modeled error carries).
pub(crate) fn map_rekognition_error<E>(
    err: SdkError<E, HttpResponse>,
    operation: &'static str,
    s3_images: &[String],
    region: Option<&str>,
) -> BackendError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    if let Some(mapped) = common(&err, Service::Rekognition, operation) {
        return mapped.with_source(err);
    }
    let code = err.as_service_error().and_then(|e| e.code()).unwrap_or("");
    let (kind, message) = match code {
        "InvalidS3ObjectException" => (
            BackendErrorKind::InvalidS3Object,
            format!(
                "Rekognition could not read {}: the caller needs s3:GetObject (and s3:GetObjectVersion for a pinned version) and kms:Decrypt on the KMS key shown; the bucket must be in the same region as Rekognition ({}); and the version must still exist",
                if s3_images.is_empty() { "an S3 image".to_owned() } else { s3_images.join(" and ") },
                region.unwrap_or("no region configured")
            ),
        ),
        "InvalidParameterException" => (
            BackendErrorKind::InvalidRequest,
            "Rekognition answered InvalidParameterException (a parameter it refused, such as an image it cannot use; it did not say which)".to_owned(),
        ),
        "ImageTooLargeException" => (
            BackendErrorKind::ImageTooLarge,
            "an image exceeds Rekognition's limits (5 MiB as bytes, 15 MiB from S3, or too many pixels); resize it".to_owned(),
        ),
        "InvalidImageFormatException" => (
            BackendErrorKind::InvalidImageFormat,
            "Rekognition could not decode an image as JPEG or PNG; re-encode it".to_owned(),
        ),
        "AccessDeniedException" => (
            BackendErrorKind::AccessDenied,
            format!("access denied: the caller needs rekognition:{operation}"),
        ),
        "ThrottlingException" | "ProvisionedThroughputExceededException" => (
            BackendErrorKind::Throttled,
            format!("Rekognition is throttling requests; retry later or request a higher {operation} quota"),
        ),
        "InternalServerError" => (
            BackendErrorKind::ServiceUnavailable,
            "Rekognition had an internal error".to_owned(),
        ),
        _ => by_status(status(&err), operation),
    };
    BackendError::new(kind, Service::Rekognition, operation, message).with_source(err)
}

const DETECT: &str = "DetectFaces";

/// Sends DetectFaces for the request's image, asking only for the
/// requested attributes (Rekognition adds its default set).
pub(crate) async fn detect_faces(
    client: &aws_sdk_rekognition::Client,
    request: DetectFacesRequest,
) -> Result<Vec<FaceDetail>, BackendError> {
    if matches!(request.image, VerifiedImage::Bytes(_)) {
        super::refuse_if_bodies_logged(Service::Rekognition, DETECT)?;
    }
    let attributes = request
        .attributes
        .iter()
        .map(|a| rk::Attribute::from(a.as_api()))
        .collect();
    let (image, s3) = image(request.image);
    // The body itself says which yes/no attributes came with a `Value`.
    let witness = super::witness::BodyWitness::default();
    let result = client
        .detect_faces()
        .image(image)
        .set_attributes(Some(attributes))
        .customize()
        .interceptor(witness.clone())
        .send()
        .await;
    match result {
        Ok(out) => {
            let mut sent = witness.take().map(|b| values_sent(&b)).unwrap_or_default();
            // Should the two readings ever disagree on the faces, nothing
            // counts as sent.
            if sent.len() != out.face_details().len() {
                sent.clear();
            }
            Ok(out
                .face_details()
                .iter()
                .enumerate()
                .map(|(i, f)| face_detail(f, sent.get(i).copied().unwrap_or_default()))
                .collect())
        }
        Err(err) => {
            let s3_images: Vec<String> = s3.iter().map(ToString::to_string).collect();
            Err(map_rekognition_error(
                err,
                DETECT,
                &s3_images,
                client.config().region().map(|r| r.as_ref()),
            ))
        }
    }
}

/// Which yes/no attributes of one face came with a `Value` on the wire:
/// `EyesOpen`, `Sunglasses`, `FaceOccluded`. The SDK's types hold these
/// values as plain `bool`s and read a missing `Value` as `false`, which is
/// the passing value for sunglasses and occlusion; only the response
/// itself can tell "false" from "not sent".
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct ValuesSent {
    pub(crate) eyes_open: bool,
    pub(crate) sunglasses: bool,
    pub(crate) face_occluded: bool,
}

/// Per face of a DetectFaces response body, which yes/no attributes carry
/// a boolean `Value`. Empty when the body is not such a response.
pub(crate) fn values_sent(body: &[u8]) -> Vec<ValuesSent> {
    let Ok(json) = serde_json::from_slice::<serde_json::Value>(body) else {
        return Vec::new();
    };
    let Some(faces) = json.get("FaceDetails").and_then(|f| f.as_array()) else {
        return Vec::new();
    };
    let sent = |face: &serde_json::Value, name: &str| {
        face.get(name)
            .and_then(|a| a.get("Value"))
            .is_some_and(serde_json::Value::is_boolean)
    };
    faces
        .iter()
        .map(|face| ValuesSent {
            eyes_open: sent(face, "EyesOpen"),
            sunglasses: sent(face, "Sunglasses"),
            face_occluded: sent(face, "FaceOccluded"),
        })
        .collect()
}

/// The facts the gate uses; everything else Rekognition sends (landmarks)
/// is dropped, and it was never asked for age, gender or emotions. A yes/no
/// attribute counts as not reported (an issue, never a pass) unless the
/// response carried both its `Value` (`sent`) and its `Confidence`.
pub(crate) fn face_detail(f: &rk::FaceDetail, sent: ValuesSent) -> FaceDetail {
    let trait_of = |value: bool, sent: bool, confidence: Option<f32>| {
        confidence
            .filter(|_| sent)
            .map(|c| FaceTrait::new(value, c))
    };
    FaceDetail {
        bounding_box: f.bounding_box().and_then(|b| {
            Some(BoundingBox::new(
                b.left()?,
                b.top()?,
                b.width()?,
                b.height()?,
            ))
        }),
        confidence: f.confidence(),
        brightness: f.quality().and_then(|q| q.brightness()),
        sharpness: f.quality().and_then(|q| q.sharpness()),
        pose: f
            .pose()
            .and_then(|p| Some(Pose::new(p.roll()?, p.yaw()?, p.pitch()?))),
        eyes_open: f
            .eyes_open()
            .and_then(|e| trait_of(e.value, sent.eyes_open, e.confidence)),
        sunglasses: f
            .sunglasses()
            .and_then(|e| trait_of(e.value, sent.sunglasses, e.confidence)),
        face_occluded: f
            .face_occluded()
            .and_then(|e| trait_of(e.value, sent.face_occluded, e.confidence)),
    }
}

/// What the SDK's deserializer puts in a required enum field the service
/// did not send (`serde_util::*_correct_errors`).
const SDK_MISSING_VALUE: &str = "no value was set";

const CREATE_LIVENESS: &str = "CreateFaceLivenessSession";
const LIVENESS_RESULTS: &str = "GetFaceLivenessSessionResults";

/// Sends CreateFaceLivenessSession with the request's KMS key, output
/// bucket and prefix, audit image limit, challenge preferences and
/// idempotency token.
pub(crate) async fn create_liveness_session(
    client: &aws_sdk_rekognition::Client,
    request: CreateFaceLivenessSessionRequest,
) -> Result<LivenessSessionId, BackendError> {
    let settings = rk::CreateFaceLivenessSessionRequestSettings::builder()
        .output_config(
            rk::LivenessOutputConfig::builder()
                .s3_bucket(&request.output_bucket)
                .s3_key_prefix(request.output_prefix)
                .build()
                .map_err(|e| invalid_request(CREATE_LIVENESS, &e.to_string()))?,
        )
        .audit_images_limit(i32::from(request.audit_images_limit))
        .set_challenge_preferences(Some(
            request
                .challenge_preferences
                .iter()
                .map(|c| {
                    rk::ChallengePreference::builder()
                        .r#type(rk::ChallengeType::from(c.as_api()))
                        .build()
                        .map_err(|e| invalid_request(CREATE_LIVENESS, &e.to_string()))
                })
                .collect::<Result<Vec<_>, _>>()?,
        ))
        .build();
    let result = client
        .create_face_liveness_session()
        .set_kms_key_id(request.kms_key.as_ref().map(|k| k.as_str().to_owned()))
        .settings(settings)
        .client_request_token(request.client_request_token)
        .send()
        .await;
    match result {
        Ok(out) => LivenessSessionId::parse(out.session_id()).map_err(|_| {
            BackendError::new(
                BackendErrorKind::InvalidResponse,
                Service::Rekognition,
                CREATE_LIVENESS,
                "Rekognition answered a session id that is not a UUID",
            )
        }),
        Err(err) => Err(map_liveness_error(
            err,
            CREATE_LIVENESS,
            &format!(
                "KmsKeyId {}, output bucket {}",
                request.kms_key.as_ref().map_or(
                    "(none: the bucket's default key)",
                    crate::input::KmsKeyArn::as_str
                ),
                request.output_bucket
            ),
            client.config().region().map(|r| r.as_ref()),
        )),
    }
}

/// Sends GetFaceLivenessSessionResults and keeps the status, confidence,
/// the challenge and where the reference image is; image bytes and audit
/// images are dropped.
pub(crate) async fn liveness_session_results(
    client: &aws_sdk_rekognition::Client,
    request: GetFaceLivenessSessionResultsRequest,
) -> Result<LivenessFacts, BackendError> {
    let result = client
        .get_face_liveness_session_results()
        .session_id(request.session_id.as_str())
        .send()
        .await;
    match result {
        Ok(out) => Ok(liveness_facts(&out)),
        Err(err) => Err(map_liveness_error(
            err,
            LIVENESS_RESULTS,
            &format!("session {}", request.session_id),
            client.config().region().map(|r| r.as_ref()),
        )),
    }
}

/// The facts the guard judges; never the bytes of any image.
pub(crate) fn liveness_facts(
    out: &aws_sdk_rekognition::operation::get_face_liveness_session_results::GetFaceLivenessSessionResultsOutput,
) -> LivenessFacts {
    let mut facts = LivenessFacts::new(LivenessStatus::from_api(out.status().as_str()));
    facts.confidence = out.confidence();
    // `Challenge.Type` and `Version` are required in the model, so the SDK
    // fills them in when they are missing: `Type` with the unknown value
    // "no value was set" and `Version` with "". Neither is an answer: a
    // challenge without its type names none, a version "" is no version.
    facts.challenge = out
        .challenge()
        .filter(|c| c.r#type().as_str() != SDK_MISSING_VALUE)
        .map(|c| {
            Challenge::new(
                ChallengeType::from_api(c.r#type().as_str()),
                Some(c.version()),
            )
        });
    facts.reference_image = out.reference_image().map(|image| match image.s3_object() {
        Some(o) => match (o.bucket(), o.name()) {
            (Some(bucket), Some(key)) => LivenessImage::S3 {
                bucket: bucket.to_owned(),
                key: key.to_owned(),
                version: o.version().map(str::to_owned),
            },
            _ => LivenessImage::NotInS3,
        },
        None => LivenessImage::NotInS3,
    });
    facts
}

fn invalid_request(operation: &'static str, why: &str) -> BackendError {
    BackendError::new(
        BackendErrorKind::InvalidRequest,
        Service::Rekognition,
        operation,
        format!(
            "the request could not be built: {}",
            crate::text::quote(why, 200)
        ),
    )
}

/// Face Liveness errors: what was asked (`asked`: the key, bucket or
/// session) and what to fix, quoting the service's message where it is the
/// only one who knows; the errors every Rekognition operation shares are
/// [`map_rekognition_error`]'s.
fn map_liveness_error<E>(
    err: SdkError<E, HttpResponse>,
    operation: &'static str,
    asked: &str,
    region: Option<&str>,
) -> BackendError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    // A results answer may hold the reference and audit images as bytes;
    // the SDK error keeps the raw response, which its Debug prints. The
    // message carries Rekognition's words; the source goes.
    let keep_source = operation != LIVENESS_RESULTS;
    let service_error = err.as_service_error();
    let code = service_error.and_then(|e| e.code()).unwrap_or("");
    let said = service_error
        .and_then(|e| e.message())
        .map(|m| format!(" (Rekognition said: {})", crate::text::quote(m, 200)))
        .unwrap_or_default();
    let shown_region = region.unwrap_or("no region configured");
    let (kind, message) = match code {
        "SessionNotFoundException" => (
            BackendErrorKind::NotFound,
            format!("{asked} was not found in region {shown_region}: it expired, belongs to another account or region, or never existed; start a new session{said}"),
        ),
        "AccessDeniedException" if operation == CREATE_LIVENESS => (
            BackendErrorKind::AccessDenied,
            format!("access denied for {asked}: the caller needs rekognition:{operation}, s3:PutObject on the output bucket and use of the KMS key{said}"),
        ),
        "AccessDeniedException" => (
            BackendErrorKind::AccessDenied,
            format!("access denied for {asked}: the caller needs rekognition:{operation}{said}"),
        ),
        "InvalidParameterException" if operation == CREATE_LIVENESS => (
            BackendErrorKind::InvalidRequest,
            format!("Rekognition refused a parameter of {asked}: the KMS key and the output bucket must be in the caller's account and in region {shown_region}{said}"),
        ),
        "InvalidParameterException" => (
            BackendErrorKind::InvalidRequest,
            format!("Rekognition refused {asked}{said}"),
        ),
        _ => {
            let mapped = map_rekognition_error(err, operation, &[], region);
            return if keep_source {
                mapped
            } else {
                mapped.without_source()
            };
        }
    };
    let mapped = BackendError::new(kind, Service::Rekognition, operation, message);
    if keep_source {
        mapped.with_source(err)
    } else {
        mapped
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::QualityFilter;

    #[test]
    fn quality_filters_are_sent_as_their_api_values() {
        let all = [
            QualityFilter::None,
            QualityFilter::Auto,
            QualityFilter::Low,
            QualityFilter::Medium,
            QualityFilter::High,
        ];
        let names: Vec<_> = all.iter().map(|q| sdk_quality_filter(*q)).collect();
        let names: Vec<&str> = names.iter().map(|q| q.as_str()).collect();
        assert_eq!(names, ["NONE", "AUTO", "LOW", "MEDIUM", "HIGH"]);
        // The value a backend of its own sends is the same.
        let own: Vec<&str> = all.iter().map(|q| q.as_api()).collect();
        assert_eq!(own, names);
    }
}
