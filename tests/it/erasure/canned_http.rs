//! The AWS backends on the real SDK clients, without network: aws-smithy-mocks
//! rules answer with real HTTP responses (headers, JSON bodies), so the SDK's
//! own deserialization and our interceptor run exactly as against AWS.

use aws_smithy_mocks::{mock, mock_client, RuleMode};
use rekognition_guard::{BackendErrorKind, Error, Policy, S3ObjectRef};

use crate::support::canned::*;
use crate::support::{self};

fn versions(keys: &[(&str, &str)]) -> HttpResponse {
    page(keys, None)
}

/// GetBucketVersioning, which erasure reads once when there is
/// something to delete (for MFA Delete): versioning on, no MFA Delete.
fn versioning_enabled() -> aws_smithy_mocks::Rule {
    mock!(aws_sdk_s3::Client::get_bucket_versioning).then_output(|| {
        aws_sdk_s3::operation::get_bucket_versioning::GetBucketVersioningOutput::builder()
            .status(aws_sdk_s3::types::BucketVersioningStatus::Enabled)
            .build()
    })
}

/// A listing page; truncated, with these next markers, when given.
fn page(keys: &[(&str, &str)], next: Option<(&str, &str)>) -> HttpResponse {
    let truncation = match next {
        Some((key, version)) => format!(
            "<IsTruncated>true</IsTruncated><NextKeyMarker>{key}</NextKeyMarker><NextVersionIdMarker>{version}</NextVersionIdMarker>"
        ),
        None => "<IsTruncated>false</IsTruncated>".to_owned(),
    };
    let versions: String = keys
        .iter()
        .map(|(k, v)| {
            format!("<Version><Key>{k}</Key><VersionId>{v}</VersionId><IsLatest>true</IsLatest><Size>10</Size></Version>")
        })
        .collect();
    response(
        200,
        &[("content-type", "application/xml")],
        &format!(
            r#"<?xml version="1.0" encoding="UTF-8"?><ListVersionsResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>library-photos</Name><EncodingType>url</EncodingType>{truncation}{versions}</ListVersionsResult>"#
        ),
    )
}

/// S3 lists keys with `EncodingType=url` form-style: a space as `+`, a
/// plus as `%2B` (moto writes `%20`, so only canned answers show it).
/// `members/ada smith.jpg` is found, erased by version id, confirmed
/// gone; its sibling `…jpg.bak` is left alone.
#[tokio::test]
async fn a_key_s3_lists_with_a_plus_for_its_space_is_erased() {
    let first = mock!(aws_sdk_s3::Client::list_object_versions).then_http_response(|| {
        versions(&[
            ("members/ada+smith.jpg", "v-space"),
            ("members/ada+smith.jpg.bak", "v-bak"),
        ])
    });
    let delete = mock!(aws_sdk_s3::Client::delete_object)
        .match_requests(|input| {
            input.key() == Some("members/ada smith.jpg") && input.version_id() == Some("v-space")
        })
        .then_http_response(|| response(204, &[], ""));
    let confirm = mock!(aws_sdk_s3::Client::list_object_versions)
        .then_http_response(|| versions(&[("members/ada+smith.jpg.bak", "v-bak")]));
    let versioning = versioning_enabled();
    let aws = backend(
        mock_client!(
            aws_sdk_s3,
            RuleMode::Sequential,
            &[&first, &versioning, &delete, &confirm]
        ),
        mock_client!(aws_sdk_rekognition, RuleMode::MatchAny, &[]),
    );
    let receipt = guard(aws, Policy::any_kms_key().with_versioning_required(false))
        .store()
        .erase(
            &S3ObjectRef::parse("s3://library-photos/members/ada smith.jpg").unwrap(),
            rekognition_guard::erasure::EraseOptions::default(),
        )
        .await
        .unwrap();
    assert!(receipt.is_complete(), "{receipt:?}");
    let erased = support::erasure::erased_version_ids(&receipt);
    assert_eq!(erased, ["v-space"]);
    assert_eq!(delete.num_calls(), 1);
}

/// Versions over two pages are all erased; the second page is asked
/// for from the markers of the first.
#[tokio::test]
async fn versions_over_several_pages_are_all_erased() {
    let first = mock!(aws_sdk_s3::Client::list_object_versions)
        .match_requests(|input| input.key_marker().is_none())
        .then_http_response(|| {
            page(
                &[("members/ada.jpg", "v2")],
                Some(("members/ada.jpg", "v2")),
            )
        });
    let second = mock!(aws_sdk_s3::Client::list_object_versions)
        .match_requests(|input| {
            input.key_marker() == Some("members/ada.jpg") && input.version_id_marker() == Some("v2")
        })
        .then_http_response(|| versions(&[("members/ada.jpg", "v1")]));
    let delete_v2 = mock!(aws_sdk_s3::Client::delete_object)
        .match_requests(|input| input.version_id() == Some("v2"))
        .then_http_response(|| response(204, &[], ""));
    let delete_v1 = mock!(aws_sdk_s3::Client::delete_object)
        .match_requests(|input| input.version_id() == Some("v1"))
        .then_http_response(|| response(204, &[], ""));
    let gone = mock!(aws_sdk_s3::Client::list_object_versions).then_http_response(|| versions(&[]));
    let versioning = versioning_enabled();
    let aws = backend(
        mock_client!(
            aws_sdk_s3,
            RuleMode::Sequential,
            &[&first, &second, &versioning, &delete_v2, &delete_v1, &gone]
        ),
        mock_client!(aws_sdk_rekognition, RuleMode::MatchAny, &[]),
    );
    let receipt = guard(aws, Policy::any_kms_key().with_versioning_required(false))
        .store()
        .erase(
            &S3ObjectRef::parse("s3://library-photos/members/ada.jpg").unwrap(),
            rekognition_guard::erasure::EraseOptions::default(),
        )
        .await
        .unwrap();
    let erased = support::erasure::erased_version_ids(&receipt);
    assert_eq!(erased, ["v2", "v1"]);
    assert!(receipt.is_complete(), "{receipt}");
}

/// A listing whose markers do not move on is an error, not a loop.
#[tokio::test]
async fn a_listing_that_repeats_its_markers_is_an_error_not_a_loop() {
    let stuck = mock!(aws_sdk_s3::Client::list_object_versions).then_http_response(|| {
        page(
            &[("members/ada.jpg", "v1")],
            Some(("members/ada.jpg", "v1")),
        )
    });
    let aws = backend(
        mock_client!(aws_sdk_s3, RuleMode::MatchAny, &[&stuck]),
        mock_client!(aws_sdk_rekognition, RuleMode::MatchAny, &[]),
    );
    let err = guard(aws, Policy::any_kms_key().with_versioning_required(false))
        .store()
        .erase(
            &S3ObjectRef::parse("s3://library-photos/members/ada.jpg").unwrap(),
            rekognition_guard::erasure::EraseOptions::default(),
        )
        .await
        .unwrap_err();
    assert!(err.to_string().contains("same markers twice"), "{err}");
    assert_eq!(stuck.num_calls(), 2);
}

/// A listed key that is not form-style URL encoding (a stray `%`) is an
/// error, never another key.
#[tokio::test]
async fn a_listed_key_that_is_not_url_encoded_is_an_error() {
    let list = mock!(aws_sdk_s3::Client::list_object_versions)
        .then_http_response(|| versions(&[("members/ada%smith.jpg", "v1")]));
    let aws = backend(
        mock_client!(aws_sdk_s3, RuleMode::MatchAny, &[&list]),
        mock_client!(aws_sdk_rekognition, RuleMode::MatchAny, &[]),
    );
    let err = guard(aws, Policy::any_kms_key().with_versioning_required(false))
        .store()
        .erase(
            &S3ObjectRef::parse("s3://library-photos/members/ada").unwrap(),
            rekognition_guard::erasure::EraseOptions::default(),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::Backend(b) if b.kind() == BackendErrorKind::InvalidResponse),
        "{err}"
    );
}
