//! The ledger from the command line against moto over TLS: `compare_faces`
//! and `erase_member` with `--ledger` append to one chain (their JSON
//! names each record), `verify_ledger` finds it intact (exit 0), then finds
//! a record deleted with the governance bypass (exit 2, `gap`); a ledger
//! bucket without Object Lock is refused before anything is sent (exit 2).

use aws_sdk_s3::types::{
    DefaultRetention, ObjectLockConfiguration, ObjectLockEnabled, ObjectLockRetentionMode,
    ObjectLockRule, ServerSideEncryption,
};
use rekognition_guard::conformance::ledger::LedgerHarness;

use crate::support;
use support::emulator::{emulator, example_binary, fixture, run_cli, unique, MARKER};

#[tokio::test]
async fn decisions_and_erasures_from_the_command_line_chain_and_verify() {
    let Some(emu) = emulator() else { return };
    let h = support::ledger::MotoLedgerHarness::new(fixture(emu, true).await);
    let f = h.fixture();
    let (compare, erase, verify) = (
        example_binary("compare_faces"),
        example_binary("erase_member"),
        example_binary("verify_ledger"),
    );
    let aws = [
        "--endpoint-url",
        f.emu.endpoint.as_str(),
        "--ca-bundle",
        f.emu.ca_path.as_str(),
        "--region",
        "us-east-1",
    ];
    let with_aws = |args: &[&str]| -> Vec<String> {
        args.iter()
            .chain(aws.iter())
            .map(|s| (*s).to_owned())
            .collect()
    };
    let run = |bin: &std::path::PathBuf, args: Vec<String>| {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        run_cli(bin, &args, &[])
    };

    // The ledger bucket: Object Lock with a default GOVERNANCE retention.
    let ledger_bucket = h.new_bucket(true).await;
    f.s3.put_object_lock_configuration()
        .bucket(&ledger_bucket)
        .object_lock_configuration(
            ObjectLockConfiguration::builder()
                .object_lock_enabled(ObjectLockEnabled::Enabled)
                .rule(
                    ObjectLockRule::builder()
                        .default_retention(
                            DefaultRetention::builder()
                                .mode(ObjectLockRetentionMode::Governance)
                                .days(1)
                                .build(),
                        )
                        .build(),
                )
                .build(),
        )
        .send()
        .await
        .expect("PutObjectLockConfiguration");
    let ledger = format!("s3://{ledger_bucket}/cli");

    let version = f.put_kms("members/ada.jpg").await.expect("versioned");
    f.put(
        "members/gone.jpg",
        Some(ServerSideEncryption::AwsKms),
        Some(&f.kms_key),
    )
    .await;
    let dir = std::env::temp_dir().join(unique("rg-cli-ledger"));
    std::fs::create_dir_all(&dir).unwrap();
    let photo = dir.join("live.jpg");
    std::fs::write(
        &photo,
        [&b"\xFF\xD8\xFF\xE0"[..], MARKER.as_bytes()].concat(),
    )
    .unwrap();
    let photo = photo.to_str().unwrap().to_owned();
    let ada = format!("s3://{}/members/ada.jpg?versionId={version}", f.bucket);

    let r = run(
        &compare,
        with_aws(&[
            "--source",
            &ada,
            "--target",
            &photo,
            "--opt-out-attestation",
            "AWS Support case 1234567890",
            "--kms-key-arn",
            &f.kms_key,
            "--ledger",
            &ledger,
        ]),
    );
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert_eq!(r.json["ledger"]["sequence"], 1, "{}", r.json);
    assert_eq!(r.json["ledger"]["hash"].as_str().unwrap().len(), 64);

    let gone = format!("s3://{}/members/gone.jpg", f.bucket);
    let r = run(
        &erase,
        with_aws(&[
            "--object",
            &gone,
            "--kms-key-arn",
            &f.kms_key,
            "--ledger",
            &ledger,
        ]),
    );
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert_eq!(r.json["ledger"]["sequence"], 2, "{}", r.json);
    let head = format!(
        "2:{}",
        r.json["ledger"]["hash"]
            .as_str()
            .expect("the receipt's hash")
    );

    let r = run(
        &verify,
        with_aws(&["--ledger", &ledger, "--expected-head", &head]),
    );
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert_eq!(r.json["intact"], true, "{}", r.json);
    assert_eq!(r.json["records"], 2, "{}", r.json);
    assert_eq!(r.json["problem"], serde_json::Value::Null);

    // The newest record deleted with the governance bypass: the walk alone
    // sees an intact, shorter ledger; the kept head sees the truncation.
    let newest =
        f.s3.list_object_versions()
            .bucket(&ledger_bucket)
            .prefix("cli/00000000000000000002.json")
            .send()
            .await
            .unwrap();
    let newest = newest.versions()[0].version_id().unwrap().to_owned();
    h.delete_bypassing_governance(&ledger_bucket, "cli/00000000000000000002.json", &newest)
        .await;
    let r = run(&verify, with_aws(&["--ledger", &ledger]));
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert_eq!(r.json["records"], 1, "{}", r.json);
    let r = run(
        &verify,
        with_aws(&["--ledger", &ledger, "--expected-head", &head]),
    );
    assert_eq!(r.code, 2, "{}\n{}", r.stdout, r.stderr);
    assert_eq!(r.json["problem"]["kind"], "truncated", "{}", r.json);
    let r = run(
        &verify,
        with_aws(&["--ledger", &ledger, "--expected-head", "2:not-a-hash"]),
    );
    assert_eq!(r.code, 64, "{}\n{}", r.stdout, r.stderr);
    // Appending again after the truncation: record 2 anew.
    let r = run(
        &erase,
        with_aws(&[
            "--object",
            &gone,
            "--kms-key-arn",
            &f.kms_key,
            "--ledger",
            &ledger,
        ]),
    );
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert_eq!(r.json["ledger"]["sequence"], 2, "{}", r.json);
    let r = run(
        &verify,
        with_aws(&["--ledger", &ledger, "--expected-head", &head]),
    );
    assert_eq!(r.code, 2, "{}\n{}", r.stdout, r.stderr);
    assert_eq!(
        r.json["problem"]["kind"], "altered",
        "a rewritten tail: {}",
        r.json
    );

    // Record 1 deleted with the governance bypass: a gap.
    let listed =
        f.s3.list_object_versions()
            .bucket(&ledger_bucket)
            .prefix("cli/00000000000000000001.json")
            .send()
            .await
            .unwrap();
    let first = listed.versions()[0].version_id().unwrap().to_owned();
    // Record 1 goes, record 2 stays: the chain has a hole at 1.
    h.delete_bypassing_governance(&ledger_bucket, "cli/00000000000000000001.json", &first)
        .await;
    let r = run(&verify, with_aws(&["--ledger", &ledger]));
    assert_eq!(r.code, 2, "{}\n{}", r.stdout, r.stderr);
    assert_eq!(r.json["intact"], false);
    assert_eq!(r.json["problem"]["kind"], "gap", "{}", r.json);
    assert_eq!(r.json["problem"]["sequence"], 1, "{}", r.json);

    // A ledger bucket without Object Lock: refused, nothing sent.
    let plain = h.new_bucket(false).await;
    let r = run(
        &compare,
        with_aws(&[
            "--source",
            &ada,
            "--target",
            &photo,
            "--opt-out-attestation",
            "AWS Support case 1234567890",
            "--ledger",
            &format!("s3://{plain}/cli"),
        ]),
    );
    assert_eq!(r.code, 2, "{}\n{}", r.stdout, r.stderr);
    assert!(
        r.json["reasons"][0]
            .as_str()
            .unwrap()
            .contains("Object Lock"),
        "{}",
        r.json
    );
}
