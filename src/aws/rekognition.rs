//! Rekognition CompareFaces, fed only verified images.

use aws_sdk_rekognition::error::SdkError;
use aws_sdk_rekognition::operation::compare_faces::{CompareFacesError, CompareFacesOutput};
use aws_sdk_rekognition::primitives::Blob;
use aws_sdk_rekognition::types::{self as rk, Image};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;

use super::errors::{by_status, common, status};
use crate::at_rest::VerifiedS3Object;
use crate::backend::{BackendError, BackendErrorKind};
use crate::backend::{BoundingBox, CompareRequest, ComparisonFacts, FaceMatch, VerifiedImage};
use crate::input::Service;

const OPERATION: &str = "CompareFaces";

/// Sends CompareFaces. S3 images go as `S3Object` with the **pinned**
/// version; bytes are moved into the request without a copy.
pub(crate) async fn compare(
    client: &aws_sdk_rekognition::Client,
    request: CompareRequest,
) -> Result<ComparisonFacts, BackendError> {
    if matches!(request.source(), VerifiedImage::Bytes(_))
        || matches!(request.target(), VerifiedImage::Bytes(_))
    {
        super::refuse_if_bodies_logged(Service::Rekognition, OPERATION)?;
    }
    let threshold = request.threshold().get();
    let quality = rk::QualityFilter::from(request.quality_filter().as_str());
    let (source, target) = request.into_images();
    // The S3 proofs are kept (moved, not copied) for error hints, which are
    // only formatted when a call fails.
    let (source, source_s3) = image(source);
    let (target, target_s3) = image(target);
    let result = client
        .compare_faces()
        .source_image(source)
        .target_image(target)
        .similarity_threshold(threshold)
        .quality_filter(quality)
        .send()
        .await;
    match result {
        Ok(out) => facts(&out),
        Err(err) => {
            let s3_images: Vec<String> = [source_s3, target_s3]
                .into_iter()
                .flatten()
                .map(|o| o.to_string())
                .collect();
            map_error(
                err,
                &s3_images,
                client.config().region().map(|r| r.as_ref()),
            )
        }
    }
}

/// The SDK image; for S3, also the proof it came from.
fn image(image: VerifiedImage) -> (Image, Option<VerifiedS3Object>) {
    match image {
        VerifiedImage::S3(o) => {
            let s3 = rk::S3Object::builder()
                .bucket(o.bucket())
                .name(o.key())
                .set_version(o.version_id().map(str::to_owned))
                .build();
            (Image::builder().s3_object(s3).build(), Some(o))
        }
        VerifiedImage::Bytes(b) => (
            Image::builder().bytes(Blob::new(b.into_bytes())).build(),
            None,
        ),
    }
}

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
    if let Some(mapped) = common(&err, Service::Rekognition, OPERATION) {
        return Err(mapped.with_source(err));
    }
    let service_error = err.as_service_error();
    let (kind, message) = match service_error {
        // Rekognition reports "no face detected in the source or target
        // image" as InvalidParameterException; the guard validated every
        // other parameter (threshold range, image size and format), so that
        // is what it means here. Not an approval either way.
        Some(CompareFacesError::InvalidParameterException(_)) => {
            tracing::debug!("CompareFaces: InvalidParameterException, read as no face detected");
            return Ok(ComparisonFacts::NoFaceDetected);
        }
        Some(CompareFacesError::InvalidS3ObjectException(_)) => (
            BackendErrorKind::InvalidS3Object,
            format!(
                "Rekognition could not read {}: the caller needs s3:GetObject (and s3:GetObjectVersion for a pinned version) and kms:Decrypt on the KMS key shown; the bucket must be in the same region as Rekognition ({}); and the version must still exist",
                if s3_images.is_empty() { "an S3 image".to_owned() } else { s3_images.join(" and ") },
                region.unwrap_or("no region configured")
            ),
        ),
        Some(CompareFacesError::ImageTooLargeException(_)) => (
            BackendErrorKind::ImageTooLarge,
            "an image exceeds Rekognition's limits (5 MiB as bytes, 15 MiB from S3, or too many pixels); resize it".to_owned(),
        ),
        Some(CompareFacesError::InvalidImageFormatException(_)) => (
            BackendErrorKind::InvalidImageFormat,
            "Rekognition could not decode an image as JPEG or PNG; re-encode it".to_owned(),
        ),
        Some(CompareFacesError::AccessDeniedException(_)) => (
            BackendErrorKind::AccessDenied,
            "access denied: the caller needs rekognition:CompareFaces".to_owned(),
        ),
        Some(
            CompareFacesError::ThrottlingException(_)
            | CompareFacesError::ProvisionedThroughputExceededException(_),
        ) => (
            BackendErrorKind::Throttled,
            "Rekognition is throttling requests; retry later or request a higher CompareFaces quota".to_owned(),
        ),
        Some(CompareFacesError::InternalServerError(_)) => (
            BackendErrorKind::ServiceUnavailable,
            "Rekognition had an internal error".to_owned(),
        ),
        _ => by_status(status(&err), "CompareFaces"),
    };
    Err(BackendError::new(kind, Service::Rekognition, OPERATION, message).with_source(err))
}
