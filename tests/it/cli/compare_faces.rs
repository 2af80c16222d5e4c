//! The `compare_faces` example's contract (exit codes, JSON, precedence of
//! flags over the environment), run as a user would against the emulator.
//!
//! `bash scripts/test` builds the example and passes its path in
//! `RG_COMPARE_FACES_BIN`, next to the emulator's endpoint and CA.

use crate::support;

use std::path::PathBuf;

use aws_sdk_s3::types::ServerSideEncryption;
use serde_json::Value;
use support::emulator::{args, emulator, fixture, run_cli as run, unique, MARKER};

fn binary() -> Option<PathBuf> {
    support::emulator::binary_from_env("RG_COMPARE_FACES_BIN")
}

#[tokio::test]
async fn compare_faces_keeps_its_contract() {
    let (Some(emu), Some(bin)) = (emulator(), binary()) else {
        return;
    };
    let f = fixture(emu, true).await;
    let v_ada = f.put_kms("members/Zoë Smith.jpg").await.unwrap();
    f.put("members/alan.jpg", Some(ServerSideEncryption::Aes256), None)
        .await;

    let dir = std::env::temp_dir().join(unique("rg-cli"));
    std::fs::create_dir_all(&dir).unwrap();
    let photo = dir.join("live photo.jpg");
    std::fs::write(
        &photo,
        [&b"\xFF\xD8\xFF\xE0"[..], MARKER.as_bytes()].concat(),
    )
    .unwrap();
    let text = dir.join("notes.txt");
    std::fs::write(&text, "not an image").unwrap();
    let (photo, text) = (photo.to_str().unwrap(), text.to_str().unwrap());

    let endpoint = f.emu.endpoint.clone();
    let ca = f.emu.ca_path.clone();
    let ada = format!("s3://{}/members/Zoë Smith.jpg", f.bucket);
    let alan = format!("s3://{}/members/alan.jpg", f.bucket);
    let missing = format!("s3://{}/members/nobody.jpg", f.bucket);
    let base = |source: &str, target: &str| -> Vec<String> {
        [
            "--source",
            source,
            "--target",
            target,
            "--endpoint-url",
            &endpoint,
            "--ca-bundle",
            &ca,
        ]
        .iter()
        .map(|s| s.to_string())
        .collect()
    };
    let with = |mut v: Vec<String>, extra: &[&str]| {
        v.extend(extra.iter().map(|s| s.to_string()));
        v
    };
    let attest = ["--opt-out-attestation", "AWS Support case 1234567890"];

    // 0: a compliant S3 reference (key with a space and non-ASCII) against a
    // local photo sent as bytes.
    let kms_arn = f.kms_key.clone();
    let v = with(base(&ada, photo), &attest);
    let v = with(
        v,
        &[
            "--kms-key-arn",
            &kms_arn,
            "--require-versioning",
            "--threshold",
            "99.5",
        ],
    );
    let r = run(&bin, &args(&v), &[]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert_eq!(r.json["decision"], "match");
    assert!(r.json["similarity"].as_f64().unwrap() >= 99.5);
    assert_eq!(r.json["reasons"], serde_json::json!([]));
    assert_eq!(r.json["source"]["bucket"], f.bucket.as_str());
    assert_eq!(r.json["source"]["key"], "members/Zoë Smith.jpg");
    assert_eq!(r.json["source"]["version"], v_ada.as_str());
    assert_eq!(r.json["source"]["kms_key_arn"], f.kms_key.as_str());
    assert_eq!(r.json["target"]["type"], "bytes");
    assert_eq!(r.json["opt_out"]["evidence"], "attested");
    assert!(r.stderr.contains("decision: match"), "{}", r.stderr);

    // 2: SSE-S3, refused by policy.
    let r = run(&bin, &args(&with(base(&alan, photo), &attest)), &[]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert_eq!(r.json["decision"], "refused");
    assert!(
        r.json["reasons"][0].as_str().unwrap().contains("SSE-S3"),
        "{}",
        r.json
    );
    assert_eq!(r.json["similarity"], Value::Null);

    // 2: no opt-out evidence; the advice names this command's flags, not
    // the library's Rust API.
    let r = run(&bin, &args(&base(&ada, photo)), &[]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    let reason = r.json["reasons"][0].as_str().unwrap();
    assert!(reason.contains("opt-out"), "{}", r.json);
    assert!(
        reason.contains("--verify-opt-out") && reason.contains("--opt-out-attestation"),
        "{reason}"
    );
    assert!(!reason.contains("GuardBuilder"), "{reason}");

    // 2: an http:// endpoint from the flag, or from the environment.
    let plain = endpoint.replacen("https://", "http://", 1);
    let v = with(
        vec![
            "--source".into(),
            ada.clone(),
            "--target".into(),
            photo.into(),
            "--endpoint-url".into(),
            plain.clone(),
        ],
        &attest,
    );
    let r = run(&bin, &args(&v), &[]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.json["reasons"][0].as_str().unwrap().contains("not HTTPS"),
        "{}",
        r.json
    );
    let v = with(
        vec![
            "--source".into(),
            ada.clone(),
            "--target".into(),
            photo.into(),
            "--ca-bundle".into(),
            ca.clone(),
        ],
        &attest,
    );
    let r = run(&bin, &args(&v), &[("AWS_ENDPOINT_URL", &plain)]);
    assert_eq!(
        r.code, 2,
        "AWS_ENDPOINT_URL=http://… must be refused: {}",
        r.stderr
    );
    // An explicit flag wins over the environment.
    let r = run(
        &bin,
        &args(&with(base(&ada, photo), &attest)),
        &[("AWS_ENDPOINT_URL_S3", &plain)],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    // The CA bundle from AWS_CA_BUNDLE.
    let v = with(
        vec![
            "--source".into(),
            ada.clone(),
            "--target".into(),
            photo.into(),
            "--endpoint-url".into(),
            endpoint.clone(),
        ],
        &attest,
    );
    let r = run(&bin, &args(&v), &[("AWS_CA_BUNDLE", &ca)]);
    assert_eq!(r.code, 0, "{}", r.stderr);

    // 3: a missing object, a file that is not an image, a malformed reference.
    for (source, what) in [
        (missing.as_str(), "was not found"),
        (text, "neither JPEG nor PNG"),
        ("s3://Bad_Bucket/x", "bucket"),
    ] {
        let r = run(&bin, &args(&with(base(source, photo), &attest)), &[]);
        assert_eq!(r.code, 3, "{source}: {}", r.stderr);
        assert_eq!(r.json["decision"], "error");
        assert!(
            r.json["reasons"][0].as_str().unwrap().contains(what),
            "{source}: {}",
            r.json
        );
    }

    // 3: no region is a configuration error that says so, not a
    // retryable connection failure.
    let r = run(
        &bin,
        &args(&with(base(&ada, photo), &attest)),
        &[("AWS_REGION", "")],
    );
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert_eq!(r.json["decision"], "error");
    let reason = r.json["reasons"][0].as_str().unwrap();
    assert!(reason.contains("no AWS region"), "{reason}");
    assert!(
        reason.contains("--region"),
        "names this command's flag: {reason}"
    );
    assert!(!reason.contains("connection failed"), "{reason}");

    // 3: the emulator's certificate without its CA is untrusted, said as
    // such with this command's flag, not as a retryable connection failure.
    let v = with(
        vec![
            "--source".into(),
            ada.clone(),
            "--target".into(),
            photo.into(),
            "--endpoint-url".into(),
            endpoint.clone(),
        ],
        &attest,
    );
    let r = run(&bin, &args(&v), &[]);
    assert_eq!(r.code, 3, "{}", r.stderr);
    let reason = r.json["reasons"][0].as_str().unwrap();
    for expected in ["not trusted", "UnknownIssuer", "--ca-bundle"] {
        assert!(reason.contains(expected), "{expected:?} in {reason}");
    }

    // --verify-opt-out asks AWS Organizations, which moto does not
    // implement: an error (3), and nothing is compared.
    let r = run(
        &bin,
        &args(&with(base(&ada, photo), &["--verify-opt-out"])),
        &[],
    );
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert_eq!(r.json["decision"], "error");
    assert!(
        r.json["reasons"][0]
            .as_str()
            .unwrap()
            .contains("AWS Organizations DescribeEffectivePolicy"),
        "{}",
        r.json
    );
    let r = run(
        &bin,
        &args(&with(
            with(base(&ada, photo), &attest),
            &["--verify-opt-out"],
        )),
        &[],
    );
    assert_eq!(
        r.code, 64,
        "attestation and verification conflict: {}",
        r.stderr
    );

    // 64: usage errors.
    for extra in [
        &["--threshold", "120"][..],
        &["--no-such-flag"],
        &["--kms-key-arn", "alias/photos"],
        &["--threshold", "NaN"],
    ] {
        let r = run(
            &bin,
            &args(&with(with(base(&ada, photo), &attest), extra)),
            &[],
        );
        assert_eq!(r.code, 64, "{extra:?}: {}", r.stderr);
        assert_eq!(r.json["decision"], "error");
    }
    let r = run(&bin, &["--source", &ada], &[]);
    assert_eq!(r.code, 64, "{}", r.stderr);

    std::fs::remove_dir_all(&dir).ok();
}
