//! Every public type that can hold image bytes, credentials or URLs with
//! user information is formatted with `Debug` and `Display` (where it has
//! one) during a full run, and none of those secrets may appear, nor in
//! any `tracing` event of the run (every crate, TRACE level).

use crate::support;

use aws_credential_types::provider::SharedCredentialsProvider;
use aws_credential_types::Credentials;
use aws_sdk_s3::config::{BehaviorVersion, Region};
use rekognition_guard::aws::AwsBackend;
use rekognition_guard::memory::{InMemoryBackend, SimulatedObject};
use rekognition_guard::{
    CacheConfig, FaceImage, Guard, ImageInput, KmsKeyArn, OptOutEvidence, PhotoStore, Policy,
    S3ObjectRef,
};

const IMAGE_MARKER: &[u8] = b"FACE-MARKER-5c2e9";
const ACCESS_KEY: &str = "AKIDREDACTTEST01";
const SECRET_KEY: &str = "secret-redact-3b7f";
const SESSION_TOKEN: &str = "token-redact-91aa";
const URL_PASSWORD: &str = "urlpass-77d1";
use support::KEY;

fn photo(aws: &InMemoryBackend, face: &str) -> FaceImage {
    let mut bytes = vec![0xFF, 0xD8, 0xFF, 0xE0];
    bytes.extend_from_slice(IMAGE_MARKER);
    bytes.extend_from_slice(face.as_bytes());
    aws.register_image(&bytes, face);
    FaceImage::from_vec(bytes).unwrap()
}

fn assert_clean(what: &str, text: &str) {
    let marker = std::str::from_utf8(IMAGE_MARKER).unwrap();
    let hex: String = IMAGE_MARKER.iter().map(|b| format!("{b:02x}")).collect();
    for secret in [
        marker,
        hex.as_str(),
        SECRET_KEY,
        SESSION_TOKEN,
        URL_PASSWORD,
    ] {
        assert!(!text.contains(secret), "{what} leaks {secret:?}: {text}");
    }
    // The image bytes as a Debug list of numbers.
    let as_list = format!("{:?}", &IMAGE_MARKER[..6]);
    assert!(
        !text.contains(&as_list[1..as_list.len() - 1]),
        "{what} leaks image bytes: {text}"
    );
}

#[tokio::test]
async fn no_public_type_shows_image_bytes_or_credentials() {
    support::capture::start();
    let mut shown: Vec<(String, String)> = Vec::new();
    let mut show = |what: &str, text: String| shown.push((what.to_owned(), text));

    // Images and inputs.
    let aws = InMemoryBackend::new();
    aws.create_bucket("library-photos", "111122223333", true);
    aws.set_similarity("ada", "ada", 99.5);
    let image = photo(&aws, "ada");
    show("FaceImage", format!("{image:?}"));
    show(
        "ImageInput",
        format!("{:?}", ImageInput::from(photo(&aws, "ada"))),
    );

    // A full run: enrollment, a match, a refusal, an error.
    let guard = Guard::new(
        PhotoStore::new(
            aws.clone(),
            Policy::allow_kms_key(KmsKeyArn::parse(KEY).unwrap()).with_versioning_required(false),
        )
        .with_verification_cache(Some(CacheConfig::default())),
        aws.clone(),
        OptOutEvidence::attested("AWS Support case 1234567890").unwrap(),
    );
    show("Guard", format!("{guard:?}"));
    let object = S3ObjectRef::parse("s3://library-photos/members/ada.jpg").unwrap();
    let enrolled = guard
        .enroll(&crate::support::consent(), &object, image)
        .await
        .unwrap();
    show("VerifiedS3Object", format!("{enrolled:?} {enrolled}"));
    let decision = guard
        .compare(enrolled.reference(), photo(&aws, "ada"))
        .await
        .unwrap();
    show(
        "Decision",
        format!("{decision:?} {} {}", decision.verdict, decision.source),
    );
    aws.put(
        "library-photos",
        "members/old.jpg",
        SimulatedObject::new(rekognition_guard::SseAlgorithm::Aes256),
    );
    let refused = guard
        .compare(
            S3ObjectRef::parse("s3://library-photos/members/old.jpg").unwrap(),
            photo(&aws, "ada"),
        )
        .await
        .unwrap_err();
    show("Error::Refused", format!("{refused:?} {refused}"));
    let failed = guard
        .compare(
            S3ObjectRef::parse("s3://library-photos/members/none.jpg").unwrap(),
            photo(&aws, "ada"),
        )
        .await
        .unwrap_err();
    show("Error::Backend", format!("{failed:?} {failed}"));
    let invalid = FaceImage::from_vec([b"GIF89a".as_slice(), IMAGE_MARKER].concat()).unwrap_err();
    show("InputError", format!("{invalid:?} {invalid}"));

    // AWS types built with credentials and a URL that carries a password.
    let sdk = aws_types::SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("eu-west-1"))
        .credentials_provider(SharedCredentialsProvider::new(Credentials::new(
            ACCESS_KEY,
            SECRET_KEY,
            Some(SESSION_TOKEN.to_owned()),
            None,
            "test",
        )))
        .build();
    let builder = AwsBackend::builder()
        .sdk_config(&sdk)
        .endpoint_url(format!("https://user:{URL_PASSWORD}@s3.example.com"));
    show("AwsBackendBuilder", format!("{builder:?}"));
    // A password in the endpoint URL is refused outright (the SDK would
    // print the URL in its DEBUG logs); the refusal is redacted too.
    let refused = builder.build().unwrap_err();
    show("ConfigError (user info)", format!("{refused:?} {refused}"));
    let backend = AwsBackend::builder()
        .sdk_config(&sdk)
        .endpoint_url("https://s3.example.com")
        .build()
        .unwrap();
    show("AwsBackend", format!("{backend:?}"));
    let insecure = AwsBackend::builder()
        .sdk_config(&sdk)
        .endpoint_url(format!("http://user:{URL_PASSWORD}@s3.example.com"))
        .build()
        .unwrap_err();
    show("ConfigError", format!("{insecure:?} {insecure}"));
    let aws_guard = Guard::new(
        PhotoStore::new(
            backend.clone(),
            Policy::any_kms_key().with_versioning_required(false),
        ),
        backend.clone(),
        OptOutEvidence::attested("AWS Support case 1234567890").unwrap(),
    );
    show("Guard (AWS)", format!("{aws_guard:?}"));
    let verifier =
        rekognition_guard::aws::OrganizationsOptOutVerifier::from_sdk_config(&sdk).unwrap();
    show("OrganizationsOptOutVerifier", format!("{verifier:?}"));
    show(
        "OptOutEvidence",
        format!("{:?}", OptOutEvidence::verified_by(verifier)),
    );

    assert_eq!(shown.len(), 15, "every formatted type is checked");
    let logged = support::capture::logged();
    assert!(
        logged.contains("reference photo enrolled") && logged.contains("face comparison decided"),
        "the run's audit events were captured: {logged}"
    );
    shown.push(("the captured logs".into(), logged));
    for (what, text) in &shown {
        assert_clean(what, text);
        support::capture::assert_clean(
            what,
            text,
            &[
                IMAGE_MARKER,
                SECRET_KEY.as_bytes(),
                SESSION_TOKEN.as_bytes(),
                URL_PASSWORD.as_bytes(),
            ],
        );
    }
}
