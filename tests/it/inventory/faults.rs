//! Fault injection over real TLS: the real SDK clients, built by
//! `AwsBackend`, talk to HTTPS servers on loopback that hang, reset, answer
//! late, answer garbage or answer with errors (see `fault_server`).

use crate::support::fault_server::Response;
use crate::support::faults::*;
use crate::support::KEY;
use rekognition_guard::inventory::Remediation;
use rekognition_guard::{BackendErrorKind, Error};

/// `UpdateObjectEncryption` (which moto lacks) over real TLS, against a
/// canned S3: the request names the version and the KMS key, and the
/// version is checked with HeadObject afterwards; its id stays.
#[tokio::test]
async fn update_object_encryption_re_keys_the_version_in_place_and_checks_it() {
    let (result, seen) = reencrypt_against(
        &format!("s3://library-photos/members/ada lovelace.jpg?versionId={VERSION}"),
        Remediation::UpdateObjectEncryption,
        |request| match request.method.as_str() {
            "PUT" if request.target.contains("encryption") => Response::status(200),
            "HEAD" => Response::sse_kms_head(KEY, VERSION),
            _ => Response::status(400),
        },
    )
    .await;
    let done = result.unwrap();
    assert_eq!(
        done.new_version_id.as_deref(),
        Some(VERSION),
        "in place: the version id stays"
    );
    assert_eq!(done.kms_key, KEY);

    let methods: Vec<&str> = seen.iter().map(|r| r.method.as_str()).collect();
    assert_eq!(methods, ["PUT", "HEAD"]);
    let update = &seen[0];
    assert!(
        update
            .target
            .starts_with("/library-photos/members/ada%20lovelace.jpg?"),
        "{}",
        update.target
    );
    assert!(update.target.contains("encryption"), "{}", update.target);
    assert!(
        update.target.contains(&format!("versionId={VERSION}")),
        "{}",
        update.target
    );
    let body = String::from_utf8_lossy(&update.body);
    assert!(
        body.contains(&format!("<KMSKeyArn>{KEY}</KMSKeyArn>")),
        "{body}"
    );
    assert!(
        seen[1].target.contains(&format!("versionId={VERSION}")),
        "{}",
        seen[1].target
    );
}

/// A re-encryption that S3 accepted but HeadObject does not confirm is an
/// error: nothing is claimed.
#[tokio::test]
async fn a_re_encryption_head_object_does_not_confirm_is_an_error() {
    let (result, _) = reencrypt_against(
        &format!("s3://library-photos/members/ada.jpg?versionId={VERSION}"),
        Remediation::UpdateObjectEncryption,
        |request| match request.method.as_str() {
            "PUT" => Response::status(200),
            _ => Response::status(200)
                .header("content-length", "48213")
                .header("x-amz-server-side-encryption", "AES256")
                .header("x-amz-version-id", VERSION),
        },
    )
    .await;
    let err = result.unwrap_err();
    match &err {
        Error::Backend(b) => {
            assert_eq!(b.kind(), BackendErrorKind::InvalidResponse, "{err}");
            assert!(err.to_string().contains("did not take effect"), "{err}");
        }
        other => panic!("{other}"),
    }
}

/// A copy is conditional on the current version's ETag seen by HeadObject:
/// the copy reads the key (no version id) with
/// `x-amz-copy-source-if-match`, and when S3 answers 412 (a version was
/// written in between) nothing is claimed.
#[tokio::test]
async fn a_copy_is_refused_when_the_current_version_changed_in_between() {
    const ETAG: &str = "\"5d41402abc4b2a76b9719d911017c592\"";
    let (result, seen) = reencrypt_against(
        &format!("s3://library-photos/members/ada smith.jpg?versionId={VERSION}"),
        Remediation::CopyObject,
        |request| match request.method.as_str() {
            "HEAD" => Response::status(200)
                .header("content-length", "48213")
                .header("x-amz-version-id", VERSION)
                .header("etag", ETAG),
            _ => Response::status(412)
                .header("content-type", "application/xml")
                .body("<Error><Code>PreconditionFailed</Code><Message>At least one of the pre-conditions you specified did not hold</Message></Error>"),
        },
    )
    .await;
    let err = result.unwrap_err();
    assert!(matches!(err, Error::Backend(_)), "{err}");
    let copy = seen
        .iter()
        .find(|r| r.method == "PUT")
        .unwrap_or_else(|| panic!("no CopyObject: {seen:?}"));
    assert_eq!(copy.header("x-amz-copy-source-if-match"), Some(ETAG));
    assert_eq!(
        copy.header("x-amz-copy-source"),
        Some("library-photos/members/ada%20smith.jpg"),
        "the current version, by key"
    );
    assert!(
        !seen
            .iter()
            .any(|r| r.method == "HEAD" && r.target.contains("versionId")),
        "nothing confirmed after a refused copy: {seen:?}"
    );
}
