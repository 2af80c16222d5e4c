//! The `liveness_checkout` command-line contract, end to end: the example
//! binary, its AWS SDK clients over real TLS, and a scripted HTTPS stand-in
//! playing S3 and Rekognition Face Liveness (moto has none). Every exit
//! status of both subcommands, and the JSON on stdout's last line.

use crate::support;

use rekognition_guard::conformance::liveness::{
    LivenessHarness, LivenessOutcome, OutputPosture, ReferenceImage,
};
use rekognition_guard::liveness::{LivenessSessionId, LivenessStatus};
use serde_json::Value;
use support::emulator::{example_binary, run_cli, unique, Run};
use support::liveness::TlsLivenessHarness;

const ATTEST: &str = "AWS Support case 1234567890";

struct Cli {
    bin: std::path::PathBuf,
    endpoint: String,
    ca: String,
}

impl Cli {
    /// Runs `liveness_checkout SUBCOMMAND args… --endpoint-url … --ca-bundle …`
    /// off the runtime thread (the stand-in keeps serving meanwhile).
    async fn run(&self, subcommand: &str, args: &[String]) -> Run {
        let mut all: Vec<String> = vec![subcommand.into()];
        all.extend(args.iter().cloned());
        all.extend(["--endpoint-url".into(), self.endpoint.clone()]);
        all.extend(["--ca-bundle".into(), self.ca.clone()]);
        self.raw(all).await
    }

    async fn raw(&self, args: Vec<String>) -> Run {
        let bin = self.bin.clone();
        tokio::task::spawn_blocking(move || {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            run_cli(&bin, &args, &[])
        })
        .await
        .unwrap()
    }
}

fn session_id(run: &Run) -> LivenessSessionId {
    LivenessSessionId::parse(run.json["session_id"].as_str().expect("a session id"))
        .expect("a UUID")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn liveness_checkout_keeps_its_contract() {
    let h = TlsLivenessHarness::start().await;
    let dir = std::env::temp_dir().join(unique("rg-liveness-cli"));
    std::fs::create_dir_all(&dir).unwrap();
    let ca = dir.join("ca.pem");
    std::fs::write(&ca, support::fault_server::ca_pem()).unwrap();
    let cli = Cli {
        bin: example_binary("liveness_checkout"),
        endpoint: h.endpoint().to_owned(),
        ca: ca.to_string_lossy().into_owned(),
    };
    let ada = h.enroll("ada").await.to_string();
    let key = h.kms_key().as_str().to_owned();
    let start = |member: &str| {
        vec![
            "--member".to_owned(),
            member.to_owned(),
            "--output-bucket".to_owned(),
            h.output_bucket(),
            "--output-prefix".to_owned(),
            "kiosks/".to_owned(),
            "--kms-key-arn".to_owned(),
            key.clone(),
            "--opt-out-attestation".to_owned(),
            ATTEST.to_owned(),
        ]
    };
    let verify = |id: &LivenessSessionId, member: &str| {
        vec![
            "--session-id".to_owned(),
            id.to_string(),
            "--member".to_owned(),
            member.to_owned(),
            "--output-prefix".to_owned(),
            "kiosks/".to_owned(),
            "--output-bucket".to_owned(),
            h.output_bucket(),
            "--kms-key-arn".to_owned(),
            key.clone(),
            "--require-versioning".to_owned(),
            "--opt-out-attestation".to_owned(),
            ATTEST.to_owned(),
        ]
    };

    // start, 0: a session with its expiry and member.
    let r = cli.run("start", &start(&ada)).await;
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.json["decision"], "started");
    assert_eq!(r.json["member"], ada.as_str());
    let id = session_id(&r);
    let expires = r.json["expires_at"].as_str().unwrap();
    let expires = aws_smithy_types::DateTime::from_str(
        expires,
        aws_smithy_types::date_time::Format::DateTime,
    )
    .unwrap_or_else(|e| panic!("expires_at is RFC 3339: {expires}: {e}"));
    let in_s =
        expires.secs() - aws_smithy_types::DateTime::from(std::time::SystemTime::now()).secs();
    assert!((170..=181).contains(&in_s), "three minutes ahead: {in_s} s");

    // verify, 0: live and matching.
    h.finish(&id, LivenessOutcome::live(98.5, "ada")).await;
    let r = cli.run("verify", &verify(&id, &ada)).await;
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.json["decision"], "match");
    assert_eq!(r.json["liveness"]["status"], "SUCCEEDED");
    assert_eq!(r.json["liveness"]["confidence"].as_f64(), Some(98.5));
    assert!(r.json["similarity"].as_f64().unwrap() >= 99.0);
    assert_eq!(r.json["source"]["key"], "members/ada.jpg");
    assert_eq!(r.json["source"]["pinned"], true);
    assert_eq!(r.json["target"]["bucket"], h.output_bucket().as_str());
    assert_eq!(r.json["target"]["kms_key_arn"], key.as_str());
    assert_eq!(r.json["liveness_threshold"].as_f64(), Some(80.0));
    assert_eq!(
        r.json["liveness"]["challenge"]["type"],
        "FaceMovementAndLightChallenge"
    );
    assert_eq!(r.json["liveness"]["challenge"]["version"], "2.0.0");

    // verify, 1: not live (FAILED; low confidence), told apart.
    for (outcome, reason) in [
        (LivenessOutcome::ended(LivenessStatus::Failed), "FAILED"),
        (LivenessOutcome::live(55.0, "ada"), "below the threshold"),
    ] {
        let r = cli.run("start", &start(&ada)).await;
        let id = session_id(&r);
        h.finish(&id, outcome).await;
        let r = cli.run("verify", &verify(&id, &ada)).await;
        assert_eq!(r.code, 1, "{}", r.stderr);
        assert_eq!(r.json["decision"], "not_live");
        assert!(
            r.json["reasons"][0].as_str().unwrap().contains(reason),
            "{}",
            r.json
        );
        assert_eq!(r.json["similarity"], Value::Null);
    }

    // verify, 1: live, but another face.
    let r = cli.run("start", &start(&ada)).await;
    let id = session_id(&r);
    h.finish(&id, LivenessOutcome::live(99.0, "grace")).await;
    let r = cli.run("verify", &verify(&id, &ada)).await;
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert_eq!(r.json["decision"], "no_match");

    // verify, 2: a session started for another member.
    let grace = h.enroll("grace").await.to_string();
    let r = cli.run("start", &start(&grace)).await;
    let id = session_id(&r);
    h.finish(&id, LivenessOutcome::live(99.0, "grace")).await;
    let r = cli.run("verify", &verify(&id, &ada)).await;
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert_eq!(r.json["decision"], "refused");
    assert!(r.json["reasons"][0]
        .as_str()
        .unwrap()
        .contains("was not started for"));

    // verify, 2: Rekognition names a reference image in a bucket the guard
    // never told it to use (compliant there, under the right tags): not
    // trusted, nothing compared.
    let r = cli.run("start", &start(&ada)).await;
    let id = session_id(&r);
    h.finish(
        &id,
        LivenessOutcome::live(99.0, "ada").reference(ReferenceImage::OutsideOutputBucket),
    )
    .await;
    let compares = h.compare_calls();
    let r = cli.run("verify", &verify(&id, &ada)).await;
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert_eq!(r.json["decision"], "refused");
    assert!(
        r.json["reasons"][0]
            .as_str()
            .unwrap()
            .contains("not in the output bucket"),
        "{}",
        r.json
    );
    assert_eq!(h.compare_calls(), compares);

    // verify, 64: without --output-bucket nothing can be verified (the
    // reference image would have no place it must come from).
    let r = cli.run("start", &start(&ada)).await;
    let id = session_id(&r);
    h.finish(&id, LivenessOutcome::live(99.0, "ada")).await;
    let mut no_bucket = verify(&id, &ada);
    let at = no_bucket
        .iter()
        .position(|a| a == "--output-bucket")
        .unwrap();
    no_bucket.drain(at..at + 2);
    let r = cli.run("verify", &no_bucket).await;
    assert_eq!(r.code, 64, "{}", r.stderr);
    assert_eq!(r.json["decision"], "error");
    assert!(
        r.json["reasons"][0]
            .as_str()
            .unwrap()
            .contains("--output-bucket is required"),
        "{}",
        r.json
    );
    assert_eq!(h.compare_calls(), compares);

    // start, 2: an output bucket without versioning gets no session.
    h.set_output_posture(OutputPosture::Unversioned).await;
    let r = cli.run("start", &start(&ada)).await;
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert_eq!(r.json["decision"], "refused");
    assert_eq!(r.json["session_id"], Value::Null);
    assert!(r.json["reasons"][0]
        .as_str()
        .unwrap()
        .contains("versioning-not-enabled"));
    h.set_output_posture(OutputPosture::Compliant).await;

    // 2: without opt-out evidence, naming this command's flags.
    let mut no_opt_out = start(&ada);
    no_opt_out.truncate(no_opt_out.len() - 2);
    let r = cli.run("start", &no_opt_out).await;
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.json["reasons"][0]
        .as_str()
        .unwrap()
        .contains("--verify-opt-out"));

    // 2: a plain http endpoint.
    let plain = cli.endpoint.replacen("https://", "http://", 1);
    let mut args = start(&ada);
    args.extend([
        "--endpoint-url".into(),
        plain,
        "--ca-bundle".into(),
        cli.ca.clone(),
    ]);
    let mut all = vec!["start".to_owned()];
    all.extend(args);
    let r = cli.raw(all).await;
    assert_eq!(r.code, 2, "{}", r.stderr);

    // verify, 3: a session Rekognition does not know.
    let unknown = LivenessSessionId::parse("00000000-0000-4000-9000-0000000fffff").unwrap();
    let r = cli.run("verify", &verify(&unknown, &ada)).await;
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert_eq!(r.json["decision"], "error");
    assert!(r.json["reasons"][0]
        .as_str()
        .unwrap()
        .contains("start a new session"));

    // 64: usage errors, before any call.
    for bad in [
        vec!["verify", "--session-id", "not-a-uuid", "--member", &ada],
        vec![
            "verify",
            "--session-id",
            &id.to_string(),
            "--member",
            "s3://Bad_Bucket/x",
        ],
        vec![
            "start",
            "--member",
            &ada,
            "--output-bucket",
            "b-b",
            "--kms-key-arn",
            "not-an-arn",
        ],
        vec!["launch"],
        vec![],
    ] {
        let r = cli.raw(bad.iter().map(|s| s.to_string()).collect()).await;
        assert_eq!(r.code, 64, "{bad:?}: {}", r.stderr);
        assert_eq!(r.json["decision"], "error", "{bad:?}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}
