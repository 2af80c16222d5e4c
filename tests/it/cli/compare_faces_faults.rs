//! The `compare_faces` example, run as a user would with its default
//! timeouts, against S3, Rekognition and AWS Organizations endpoints on
//! loopback that hang or answer garbage (see `fault_server`): it must end
//! with exit status 3 within 60 seconds, send nothing to Rekognition when a
//! check failed, and print neither credentials nor image bytes, even with
//! `RUST_LOG=trace`.
//!
//! `bash scripts/test` builds the example and passes its path in
//! `RG_COMPARE_FACES_BIN`.

use crate::support;

use std::path::PathBuf;
use std::time::Duration;

use support::emulator::{run_cli_within, unique, Run, MARKER, SECRET};
use support::fault_server::{ca_pem, Fault, FaultServer, Response};

const KEY: &str = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";
const VERSION: &str = "3HL4kqtJlcpXroDTDmJ.rmSpXd3dIbrHY";
const SESSION_TOKEN: &str = "cli-fault-session-token-52e0";
/// The bound: a kiosk must get an answer within a minute.
const DEADLINE: Duration = Duration::from_secs(60);

fn good_s3() -> Fault {
    Fault::Respond(Response::sse_kms_head(KEY, VERSION))
}

fn good_rekognition() -> Fault {
    Fault::Respond(Response::compare_match(99.9))
}

struct Outcome {
    run: Run,
    elapsed: Duration,
    s3_requests: Vec<String>,
    rekognition_requests: Vec<String>,
}

/// Compares an S3 reference photo with a local live photo through the
/// example, S3 and Rekognition each played by a fault server. `None` when
/// the example binary is not available outside CI.
async fn compare(s3: Fault, rekognition: Fault) -> Option<Outcome> {
    compare_with(s3, rekognition, None).await
}

/// [`compare`], with the opt-out verified through AWS Organizations played
/// by a fault server when `organizations` is given (else attested).
async fn compare_with(
    s3: Fault,
    rekognition: Fault,
    organizations: Option<Fault>,
) -> Option<Outcome> {
    let bin: PathBuf = support::emulator::binary_from_env("RG_COMPARE_FACES_BIN")?;
    let s3 = FaultServer::start(s3).await;
    let rekognition = FaultServer::start(rekognition).await;
    let organizations = match organizations {
        Some(fault) => Some(FaultServer::start(fault).await),
        None => None,
    };

    let dir = std::env::temp_dir().join(unique("rg-cli-faults"));
    std::fs::create_dir_all(&dir).unwrap();
    let ca = dir.join("ca.pem");
    std::fs::write(&ca, ca_pem()).unwrap();
    let photo_bytes = [&b"\xFF\xD8\xFF\xE0"[..], MARKER.as_bytes(), &[0x5a; 64]].concat();
    let photo = dir.join("live.jpg");
    std::fs::write(&photo, &photo_bytes).unwrap();

    let source = format!("s3://library-photos/members/ada.jpg?versionId={VERSION}");
    let mut args: Vec<String> = [
        "--source",
        &source,
        "--target",
        photo.to_str().unwrap(),
        "--ca-bundle",
        ca.to_str().unwrap(),
        "--kms-key-arn",
        KEY,
    ]
    .map(str::to_owned)
    .into();
    let mut env: Vec<(&str, String)> = vec![
        ("AWS_ENDPOINT_URL_S3", s3.endpoint.clone()),
        ("AWS_ENDPOINT_URL_REKOGNITION", rekognition.endpoint.clone()),
        ("AWS_SESSION_TOKEN", SESSION_TOKEN.into()),
        ("RUST_LOG", "trace".into()),
    ];
    match &organizations {
        Some(server) => {
            args.push("--verify-opt-out".into());
            env.push(("AWS_ENDPOINT_URL_ORGANIZATIONS", server.endpoint.clone()));
        }
        None => {
            args.extend(["--opt-out-attestation", "AWS Support case 1234567890"].map(str::to_owned))
        }
    }
    let (run, elapsed) = tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        run_cli_within(&bin, &args, &env, DEADLINE)
    })
    .await
    .expect("the runner thread");
    let _ = std::fs::remove_dir_all(&dir);

    for text in [&run.stdout, &run.stderr] {
        support::capture::assert_clean(
            "compare_faces output",
            text,
            &[&photo_bytes, SECRET.as_bytes(), SESSION_TOKEN.as_bytes()],
        );
    }
    assert!(
        run.stderr.contains("TRACE"),
        "RUST_LOG=trace reached the example, so its logs were inspected"
    );
    Some(Outcome {
        run,
        elapsed,
        s3_requests: s3.requests(),
        rekognition_requests: rekognition.requests(),
    })
}

#[track_caller]
fn assert_error_exit(o: &Outcome, reason: &[&str]) {
    assert_eq!(o.run.code, 3, "{}", o.run.stdout);
    assert_eq!(o.run.json["decision"], "error");
    let reasons = o.run.json["reasons"].to_string();
    for part in reason {
        assert!(reasons.contains(part), "{part:?} not in {reasons}");
    }
    eprintln!("exit 3 after {:?}: {reasons}", o.elapsed);
}

#[tokio::test(flavor = "multi_thread")]
async fn working_endpoints_match_the_positive_control() {
    let Some(o) = compare(good_s3(), good_rekognition()).await else {
        return;
    };
    assert_eq!(o.run.code, 0, "{}\n{}", o.run.stdout, o.run.stderr);
    assert_eq!(o.run.json["decision"], "match");
    assert_eq!(o.s3_requests.len(), 1);
    assert_eq!(o.rekognition_requests, ["POST /"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_s3_answering_garbage_ends_in_exit_3() {
    let Some(o) = compare(Fault::Garbage, good_rekognition()).await else {
        return;
    };
    assert_error_exit(&o, &["S3 HeadObject"]);
    assert!(o.rekognition_requests.is_empty());
}

/// The four hangs run at once: each waits out the default timeouts (up to
/// 30 s), and the test harness would otherwise run them two at a time.
#[tokio::test(flavor = "multi_thread")]
async fn hanging_endpoints_end_in_exit_3_within_a_minute() {
    let (s3, s3_silent, rekognition, organizations) = tokio::join!(
        compare(Fault::Hang, good_rekognition()),
        compare(Fault::SilentTcp, good_rekognition()),
        compare(good_s3(), Fault::Hang),
        compare_with(good_s3(), good_rekognition(), Some(Fault::Hang)),
    );
    let (Some(s3), Some(s3_silent), Some(rekognition), Some(organizations)) =
        (s3, s3_silent, rekognition, organizations)
    else {
        return;
    };
    for (what, o, operation) in [
        ("S3 hangs after the request", &s3, "S3 HeadObject"),
        ("S3 never starts TLS", &s3_silent, "S3 HeadObject"),
        (
            "Rekognition hangs",
            &rekognition,
            "Rekognition CompareFaces",
        ),
        (
            "Organizations hangs",
            &organizations,
            "Organizations DescribeEffectivePolicy",
        ),
    ] {
        eprintln!("{what}:");
        assert_error_exit(o, &[operation, "timed out"]);
    }
    assert!(!s3.s3_requests.is_empty());
    assert!(!rekognition.rekognition_requests.is_empty());
    for o in [&s3, &s3_silent, &organizations] {
        assert!(
            o.rekognition_requests.is_empty(),
            "a failed check sends nothing to Rekognition"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rekognition_answering_garbage_ends_in_exit_3() {
    for fault in [
        Fault::Garbage,
        Fault::Respond(Response::json(200, "{\"FaceMatches\": [ garbage")),
    ] {
        let Some(o) = compare(good_s3(), fault).await else {
            return;
        };
        assert_error_exit(&o, &["Rekognition CompareFaces"]);
    }
}
