//! S3 erasure: `ListObjectVersions`, `DeleteObject` by version id, and
//! `GetObjectRetention` / `GetObjectLegalHold` to explain refusals.

use std::time::SystemTime;

use aws_sdk_s3::types::{EncodingType, ObjectLockLegalHoldStatus};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

use super::errors::{by_status, common, status, wrong_region};
use crate::backend::{
    BackendError, BackendErrorKind, DeleteObjectVersionRequest, ListObjectVersionsRequest,
};
use crate::erasure::{ObjectLockFacts, RetentionMode, StoredVersion};
use crate::input::{validate_version_id, Service};

const LIST: &str = "ListObjectVersions";

/// Pages of versions (1,000 each) of one key's prefix before a listing is
/// taken to be looping: a million versions of one photo is not a photo.
const MAX_PAGES: usize = 1_000;
const DELETE: &str = "DeleteObject";

/// A listed key as S3 sent it: with `EncodingType=url` (asked for so that
/// any key S3 holds can be listed, even one XML 1.0 cannot carry) S3 writes
/// keys form-style, a space as `+` and a plus as `%2B` (as botocore's
/// `unquote_plus` reads them), so they are decoded that way, strictly.
/// A server that does not echo `EncodingType` (some emulators ignore the
/// request) is taken to send keys raw.
///
/// S3 lists only keys that start with the prefix asked for, so a key that
/// does not is not trusted: it strays, or (without the echo) it was
/// encoded after all, which a wrong reading would turn into "nothing of
/// the key remains".
fn listed_key(text: &str, url_encoded: bool, prefix: &str) -> Result<String, BackendError> {
    let invalid =
        |why: &str| BackendError::new(BackendErrorKind::InvalidResponse, Service::S3, LIST, why);
    let key = if url_encoded {
        crate::inventory::reader::decode_form(text)
            .ok_or_else(|| invalid("a listed key is not URL-encoded UTF-8"))?
    } else {
        text.to_owned()
    };
    if key.starts_with(prefix) {
        return Ok(key);
    }
    let encoded_after_all = !url_encoded
        && crate::inventory::reader::decode_form(text).is_some_and(|k| k.starts_with(prefix));
    Err(invalid(if encoded_after_all {
        "S3 was asked for URL-encoded keys and did not say whether it encoded them (no EncodingType in the answer), and a listed key reads as one under the prefix only when decoded; nothing is assumed"
    } else {
        "a listed key does not start with the prefix asked for; the listing is not trusted"
    }))
}

/// A listed version id, checked: it is echoed in receipts and messages.
/// S3 lists every version with a `VersionId` (`null` for the one written
/// while versioning was off), so an entry without one is not an answer.
fn listed_version(version_id: Option<&str>) -> Result<&str, BackendError> {
    let v =
        version_id.ok_or_else(|| missing("a listed version or delete marker has no VersionId"))?;
    validate_version_id(v).map(|()| v).map_err(|_| {
        BackendError::new(
            BackendErrorKind::InvalidResponse,
            Service::S3,
            LIST,
            "a listed version id has characters S3 never uses",
        )
    })
}

/// An answer without a field the listing cannot do without.
#[cold]
fn missing(what: &str) -> BackendError {
    BackendError::new(
        BackendErrorKind::InvalidResponse,
        Service::S3,
        LIST,
        format!("{what}: a field S3 always sends is missing, so the listing is not trusted"),
    )
}

pub(super) fn map_error<E>(
    err: SdkError<E, HttpResponse>,
    operation: &'static str,
    what: &str,
    bucket: &str,
    region: Option<&str>,
) -> BackendError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    if let Some(mapped) = common(&err, Service::S3, operation) {
        return mapped.with_source(err);
    }
    if let Some(hint) = wrong_region(&err, region, bucket) {
        return BackendError::new(
            BackendErrorKind::InvalidRequest,
            Service::S3,
            operation,
            format!("{operation} for {what} failed: {hint}"),
        )
        .with_source(err);
    }
    let said = err
        .as_service_error()
        .map(|e| {
            let code = e.code().map(|c| crate::text::quote(c, 64));
            let message = e.message().map(|m| crate::text::quote(m, 200));
            match (code, message) {
                (Some(c), Some(m)) => format!(" (S3 said {c}: {m})"),
                (Some(c), None) => format!(" (S3 said {c})"),
                (None, Some(m)) => format!(" (S3 said: {m})"),
                (None, None) => String::new(),
            }
        })
        .unwrap_or_default();
    let (kind, message) = match status(&err) {
        Some(403) => (
            BackendErrorKind::AccessDenied,
            format!("{operation} for {what} was denied (403){said}"),
        ),
        Some(404) => (
            BackendErrorKind::NotFound,
            format!("{operation} for {what}: not found (404){said}"),
        ),
        other => {
            let (kind, message) = by_status(other, &format!("{operation} for {what}"));
            (kind, format!("{message}{said}"))
        }
    };
    BackendError::new(kind, Service::S3, operation, message).with_source(err)
}

/// `ListObjectVersions` with the prefix, `EncodingType=url` and the
/// expected owner, every page.
pub(super) async fn list_object_versions(
    s3: &aws_sdk_s3::Client,
    request: &ListObjectVersionsRequest,
) -> Result<Vec<StoredVersion>, BackendError> {
    let region = s3.config().region().map(|r| r.as_ref());
    let what = format!("s3://{}/{}*", request.bucket, request.prefix);
    let mut found = Vec::new();
    let (mut key_marker, mut version_marker): (Option<String>, Option<String>) = (None, None);
    let mut previous: (Option<String>, Option<String>) = (None, None);
    let mut pages = 0;
    loop {
        pages += 1;
        if pages > MAX_PAGES {
            return Err(BackendError::new(
                BackendErrorKind::InvalidResponse,
                Service::S3,
                LIST,
                format!("{LIST} for {what} went on for {MAX_PAGES} pages: stopped rather than list forever"),
            ));
        }
        let out = s3
            .list_object_versions()
            .bucket(&request.bucket)
            .prefix(&request.prefix)
            .encoding_type(EncodingType::Url)
            .set_key_marker(key_marker.take())
            .set_version_id_marker(version_marker.take())
            .set_expected_bucket_owner(
                request
                    .expected_bucket_owner
                    .as_ref()
                    .map(|a| a.as_str().to_owned()),
            )
            .send()
            .await
            .map_err(|e| map_error(e, LIST, &what, &request.bucket, region))?;
        let url_encoded = out.encoding_type() == Some(&EncodingType::Url);
        // An entry without its key would be neither erased nor named
        // as remaining, and a page that does not say whether more
        // follow could end the listing early: either would let a
        // receipt say "complete" about versions never seen.
        for v in out.versions() {
            let key = v
                .key()
                .ok_or_else(|| missing("a listed version has no Key"))?;
            found.push(StoredVersion::new(
                &listed_key(key, url_encoded, &request.prefix)?,
                listed_version(v.version_id())?,
                false,
            ));
        }
        for m in out.delete_markers() {
            let key = m
                .key()
                .ok_or_else(|| missing("a listed delete marker has no Key"))?;
            found.push(StoredVersion::new(
                &listed_key(key, url_encoded, &request.prefix)?,
                listed_version(m.version_id())?,
                true,
            ));
        }
        match out.is_truncated() {
            Some(false) => return Ok(found),
            Some(true) => {}
            None => {
                return Err(missing(
                    "the listing does not say whether it is truncated (IsTruncated)",
                ))
            }
        }
        let next_key = out
            .next_key_marker()
            .map(|k| listed_key(k, url_encoded, &request.prefix))
            .transpose()?;
        let next_version = out.next_version_id_marker().map(str::to_owned);
        // A listing must move on: markers S3 already gave (or none at
        // all, checked below) would list the same page forever.
        if (next_key.is_some() || next_version.is_some())
            && (&next_key, &next_version) == (&previous.0, &previous.1)
        {
            return Err(BackendError::new(
                BackendErrorKind::InvalidResponse,
                Service::S3,
                LIST,
                format!("{LIST} for {what} gave the same markers twice: stopped rather than list forever"),
            ));
        }
        previous = (next_key.clone(), next_version.clone());
        key_marker = next_key;
        version_marker = next_version;
        if key_marker.is_none() && version_marker.is_none() {
            // Truncated without a way on: refuse rather than stop short.
            return Err(BackendError::new(
                BackendErrorKind::InvalidResponse,
                Service::S3,
                LIST,
                format!("{LIST} for {what} said the listing is truncated but gave no marker to continue from"),
            ));
        }
    }
}

/// `DeleteObject` with the version id, the expected owner and, when
/// asked, `x-amz-bypass-governance-retention: true`.
pub(super) async fn delete_object_version(
    s3: &aws_sdk_s3::Client,
    request: &DeleteObjectVersionRequest,
) -> Result<(), BackendError> {
    let region = s3.config().region().map(|r| r.as_ref());
    let what = format!(
        "s3://{}/{} version {}",
        request.bucket, request.key, request.version_id
    );
    s3.delete_object()
        .bucket(&request.bucket)
        .key(&request.key)
        .version_id(&request.version_id)
        .set_bypass_governance_retention(request.bypass_governance_retention.then_some(true))
        .set_expected_bucket_owner(
            request
                .expected_bucket_owner
                .as_ref()
                .map(|a| a.as_str().to_owned()),
        )
        .send()
        .await
        .map(|_| ())
        .map_err(|e| map_error(e, DELETE, &what, &request.bucket, region))
}

/// `GetObjectRetention` and `GetObjectLegalHold`, concurrently. A
/// bucket without Object Lock answers with an error code that means
/// "none", read as such; a read that fails otherwise reports nothing
/// (the refusal is then explained in S3's words).
pub(super) async fn object_lock(
    s3: &aws_sdk_s3::Client,
    request: &DeleteObjectVersionRequest,
) -> Result<ObjectLockFacts, BackendError> {
    let region = s3.config().region().map(|r| r.as_ref());
    let what = format!(
        "s3://{}/{} version {}",
        request.bucket, request.key, request.version_id
    );
    let owner = request
        .expected_bucket_owner
        .as_ref()
        .map(|a| a.as_str().to_owned());
    let (retention, hold) = tokio::join!(
        s3.get_object_retention()
            .bucket(&request.bucket)
            .key(&request.key)
            .version_id(&request.version_id)
            .set_expected_bucket_owner(owner.clone())
            .send(),
        s3.get_object_legal_hold()
            .bucket(&request.bucket)
            .key(&request.key)
            .version_id(&request.version_id)
            .set_expected_bucket_owner(owner)
            .send(),
    );
    // What cannot be read is left out, never reported as absent: the
    // guard then gives S3's own words for the refused deletion.
    let mut facts = ObjectLockFacts::none();
    match retention {
        Ok(out) => {
            if let Some(r) = out.retention() {
                if let Some(mode) = r.mode() {
                    let until = r
                        .retain_until_date()
                        .and_then(|d| SystemTime::try_from(*d).ok());
                    facts.retention = Some((RetentionMode::from_api(mode.as_str()), until));
                }
            }
        }
        Err(e) if means_no_lock(&e) => {}
        Err(e) => {
            let e = map_error(e, "GetObjectRetention", &what, &request.bucket, region);
            tracing::debug!(error = %e, "object retention unreadable");
        }
    }
    match hold {
        Ok(out) => {
            facts.legal_hold = out
                .legal_hold()
                .and_then(|h| h.status())
                .is_some_and(|s| *s == ObjectLockLegalHoldStatus::On);
        }
        Err(e) if means_no_lock(&e) => {}
        Err(e) => {
            let e = map_error(e, "GetObjectLegalHold", &what, &request.bucket, region);
            tracing::debug!(error = %e, "object legal hold unreadable");
        }
    }
    Ok(facts)
}

/// The errors with which S3 says a version has no retention or legal
/// hold, or its bucket no Object Lock ("InvalidRequest: Bucket is missing
/// Object Lock Configuration").
fn means_no_lock<E: ProvideErrorMetadata>(err: &SdkError<E, HttpResponse>) -> bool {
    let Some(e) = err.as_service_error() else {
        return false;
    };
    match e.code() {
        Some("NoSuchObjectLockConfiguration" | "ObjectLockConfigurationNotFoundError") => true,
        Some("InvalidRequest") => e
            .message()
            .is_some_and(|m| m.to_ascii_lowercase().contains("object lock")),
        _ => false,
    }
}
