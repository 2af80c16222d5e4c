//! The `library_checkout` example against AWS-compatible endpoints over
//! TLS: S3 in moto, Rekognition (DetectFaces for the enrollment gate, and
//! CompareFaces) in an HTTPS stand-in on loopback, since moto has no
//! DetectFaces. The example enrolls through the guard and runs the four
//! checkouts; every policy outcome must be the expected one.

use crate::support;

use std::sync::Arc;

use support::emulator::{emulator, example_binary, fixture, run_example, unique};
use support::fault_server::{ca_pem, Fault, FaultServer, Request, Response, Script};

// Multi-threaded: the stand-in keeps answering while this test waits for
// the example to exit.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn library_checkout_runs_against_moto_and_a_rekognition_stand_in() {
    let Some(emu) = emulator() else { return };
    let bin = example_binary("library_checkout");
    let f = fixture(emu, true).await;
    let rekognition = FaultServer::start(Fault::Script(Script(Arc::new(|r: &Request| {
        match r.operation().as_deref() {
            Some("DetectFaces") => Response::detect_faces(&[support::answers::Face::GOOD]),
            Some("CompareFaces") => Response::compare_match(99.9),
            _ => Response::status(400),
        }
    }))))
    .await;

    let dir = std::env::temp_dir().join(unique("rg-checkout"));
    std::fs::create_dir_all(&dir).unwrap();
    let file = |name: &str, bytes: &[u8]| {
        let path = dir.join(name);
        std::fs::write(&path, bytes).unwrap();
        path.to_string_lossy().into_owned()
    };
    let mut cas = f.emu.ca.clone();
    cas.extend_from_slice(ca_pem().as_bytes());
    let ca = file("cas.pem", &cas);
    let member = file("member.jpg", b"\xFF\xD8\xFF\xE0 member photo");
    let other = file("other.jpg", b"\xFF\xD8\xFF\xE0 someone else");
    let bucket = unique("rg-kiosk");

    let (code, stdout, stderr) = run_example(
        &bin,
        &[
            "--bucket",
            &bucket,
            "--kms-key-arn",
            &f.kms_key,
            "--photo",
            &member,
            "--other-photo",
            &other,
            "--endpoint-url",
            &f.emu.endpoint,
            "--rekognition-endpoint-url",
            &rekognition.endpoint,
            "--ca-bundle",
            &ca,
        ],
        &[],
    );
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(code, 0, "stdout:\n{stdout}\nstderr:\n{stderr}");
    assert!(stdout.contains("4 checkouts"), "{stdout}");
    assert!(stdout.contains("0 unexpected outcomes"), "{stdout}");
    for member in ["ada", "grace", "edsger"] {
        assert!(
            stderr.contains(&format!(
                "enrolled {member}: s3://{bucket}/members/{member}.jpg (version "
            )),
            "{stderr}"
        );
    }
    // Three enrollments went through the gate and two comparisons were
    // sent; the SSE-S3 photo and the misconfigured kiosk never reached
    // Rekognition.
    assert!(
        rekognition.requests().len() >= 5,
        "{:?}",
        rekognition.requests()
    );
}
