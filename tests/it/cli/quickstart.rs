//! `examples/quickstart.rs` end to end against the emulator: the standard
//! AWS configuration chain (`AWS_ENDPOINT_URL`, `AWS_CA_BUNDLE`), the JSON
//! on the last stdout line and every exit code it documents: against the
//! emulator, and exit 1 (moto's CompareFaces always matches) against the
//! HTTPS fault server.

use crate::support;

use aws_sdk_s3::types::ServerSideEncryption;
use support::emulator::{emulator, example_binary, fixture, run_cli as run, unique, MARKER};

#[tokio::test]
async fn the_quickstart_compares_refuses_and_fails_as_documented() {
    let Some(emu) = emulator() else {
        return;
    };
    let bin = example_binary("quickstart");
    let f = fixture(emu, true).await;
    let version = f
        .put_kms("members/ada.jpg")
        .await
        .expect("a versioned bucket");
    f.put("members/alan.jpg", Some(ServerSideEncryption::Aes256), None)
        .await;

    let dir = std::env::temp_dir().join(unique("rg-quickstart"));
    std::fs::create_dir_all(&dir).unwrap();
    let photo = dir.join("live.jpg");
    std::fs::write(
        &photo,
        [&b"\xFF\xD8\xFF\xE0"[..], MARKER.as_bytes()].concat(),
    )
    .unwrap();
    let photo = photo.to_str().unwrap();
    let env = [
        ("AWS_ENDPOINT_URL", f.emu.endpoint.as_str()),
        ("AWS_CA_BUNDLE", f.emu.ca_path.as_str()),
    ];
    let attestation = "AWS Support case 1234567890";
    let ada = format!("s3://{}/members/ada.jpg?versionId={version}", f.bucket);
    let alan = format!("s3://{}/members/alan.jpg", f.bucket);

    // 0: an SSE-KMS reference photo, version-pinned, over HTTPS, with
    // opt-out evidence: compared.
    let r = run(&bin, &[&ada, photo, attestation], &env);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert_eq!(r.json["decision"], "match");
    assert!(r.json["similarity"].as_f64().unwrap() >= 99.0, "{}", r.json);

    // 2: SSE-S3 is refused, nothing sent to Rekognition.
    let r = run(&bin, &[&alan, photo, attestation], &env);
    assert_eq!(r.code, 2, "{}\n{}", r.stdout, r.stderr);
    assert_eq!(r.json["decision"], "refused");
    assert!(
        r.json["reason"].as_str().unwrap().contains("SSE-S3"),
        "{}",
        r.json
    );

    // 2: so is a plain-HTTP endpoint, whatever set it.
    let plain = f.emu.endpoint.replacen("https://", "http://", 1);
    let r = run(
        &bin,
        &[&ada, photo, attestation],
        &[("AWS_ENDPOINT_URL", plain.as_str())],
    );
    assert_eq!(r.code, 2, "{}\n{}", r.stdout, r.stderr);
    assert_eq!(r.json["decision"], "refused");

    // 3: a live photo that cannot be read, or is not an image.
    let missing = dir.join("missing.jpg");
    let r = run(&bin, &[&ada, missing.to_str().unwrap(), attestation], &env);
    assert_eq!(r.code, 3, "{}\n{}", r.stdout, r.stderr);
    assert_eq!(r.json["decision"], "error");
    let text = dir.join("notes.txt");
    std::fs::write(&text, "not an image").unwrap();
    let r = run(&bin, &[&ada, text.to_str().unwrap(), attestation], &env);
    assert_eq!(r.code, 3, "{}\n{}", r.stdout, r.stderr);

    // 64: usage.
    let r = run(&bin, &[&ada], &env);
    assert_eq!(r.code, 64, "{}\n{}", r.stdout, r.stderr);
    assert_eq!(r.json["decision"], "usage");
    let _ = std::fs::remove_dir_all(&dir);
}

/// Exit 1, which moto cannot produce (its CompareFaces always matches):
/// S3 and Rekognition played by the HTTPS fault server, the reference photo
/// SSE-KMS and pinned, Rekognition finding the face but no match. The
/// standard configuration chain (`AWS_ENDPOINT_URL_S3`,
/// `AWS_ENDPOINT_URL_REKOGNITION`, `AWS_CA_BUNDLE`) points the example at
/// them, as a user's environment would.
#[tokio::test(flavor = "multi_thread")]
async fn the_quickstart_exits_1_when_the_faces_do_not_match() {
    use support::fault_server::{ca_pem, Fault, FaultServer, Response};
    const KEY: &str = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";
    const VERSION: &str = "3HL4kqtJlcpXroDTDmJ.rmSpXd3dIbrHY";
    let bin = example_binary("quickstart");
    let s3 = FaultServer::start(Fault::Respond(Response::sse_kms_head(KEY, VERSION))).await;
    let no_match = r#"{"SourceImageFace":{"BoundingBox":{"Width":0.4,"Height":0.5,"Left":0.3,"Top":0.2},"Confidence":99.9},"FaceMatches":[],"UnmatchedFaces":[{"BoundingBox":{"Width":0.25,"Height":0.4,"Left":0.3,"Top":0.2},"Confidence":99.8}]}"#;
    let rekognition = FaultServer::start(Fault::Respond(Response::json(200, no_match))).await;

    let dir = std::env::temp_dir().join(unique("rg-quickstart-no-match"));
    std::fs::create_dir_all(&dir).unwrap();
    let ca = dir.join("ca.pem");
    std::fs::write(&ca, ca_pem()).unwrap();
    let photo = dir.join("live.jpg");
    std::fs::write(
        &photo,
        [&b"\xFF\xD8\xFF\xE0"[..], MARKER.as_bytes()].concat(),
    )
    .unwrap();
    let member = format!("s3://library-photos/members/ada.jpg?versionId={VERSION}");
    let env = [
        ("AWS_ENDPOINT_URL_S3", s3.endpoint.clone()),
        ("AWS_ENDPOINT_URL_REKOGNITION", rekognition.endpoint.clone()),
        ("AWS_CA_BUNDLE", ca.to_str().unwrap().to_owned()),
    ];
    let photo = photo.to_str().unwrap().to_owned();
    // The servers run on this test's runtime: run the example off it.
    let r = tokio::task::spawn_blocking(move || {
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        run(
            &bin,
            &[&member, &photo, "AWS Support case 1234567890"],
            &env,
        )
    })
    .await
    .unwrap();
    assert_eq!(r.code, 1, "{}\n{}", r.stdout, r.stderr);
    assert_eq!(r.json["decision"], "no_match");
    assert!(r.json["similarity"].is_null(), "{}", r.json);
    assert_eq!(rekognition.requests().len(), 1, "one CompareFaces");
}
