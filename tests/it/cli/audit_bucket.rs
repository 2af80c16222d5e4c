//! The `audit_bucket` example's contract against the emulator: JSON on
//! stdout's last line, exit 0 compliant, 2 findings, 3 error, 64 usage.

use crate::support;

use support::emulator::{emulator, example_binary, fixture, run_cli};

#[tokio::test]
async fn audit_bucket_keeps_its_contract() {
    let Some(emu) = emulator() else { return };
    let bin = example_binary("audit_bucket");
    let f = fixture(emu, false).await;
    let (endpoint, ca) = (f.emu.endpoint.clone(), f.emu.ca_path.clone());
    let common = ["--endpoint-url", &endpoint, "--ca-bundle", &ca];

    // A bare bucket: findings, exit 2.
    let mut argv = vec!["--bucket", f.bucket.as_str()];
    argv.extend_from_slice(&common);
    let r = run_cli(&bin, &argv, &[]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert_eq!(r.json["bucket"], f.bucket.as_str());
    assert_eq!(r.json["compliant"], false);
    let findings = r.json["findings"].as_array().unwrap();
    let ids: Vec<_> = findings.iter().map(|x| x["id"].as_str().unwrap()).collect();
    assert!(
        ids.contains(&"versioning-not-enabled") && ids.contains(&"no-tls-only-policy"),
        "{ids:?}"
    );
    for finding in findings {
        for field in ["id", "severity", "detail", "fix"] {
            assert!(
                finding[field].as_str().is_some_and(|v| !v.is_empty()),
                "{finding}"
            );
        }
    }
    assert!(r.stderr.contains("NOT compliant"), "{}", r.stderr);

    // The same bucket made compliant: exit 0, no findings.
    support::emulator::configure_well(&f).await;
    let kms = f.kms_key.clone();
    let mut argv = vec!["--bucket", f.bucket.as_str(), "--kms-key-arn", &kms];
    argv.extend_from_slice(&common);
    let r = run_cli(&bin, &argv, &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.json["compliant"], true);
    assert_eq!(r.json["findings"], serde_json::json!([]));

    // A missing bucket: exit 3. Usage errors: exit 64.
    let mut argv = vec!["--bucket", "rg-no-such-bucket-y"];
    argv.extend_from_slice(&common);
    assert_eq!(run_cli(&bin, &argv, &[]).code, 3);
    assert_eq!(
        run_cli(&bin, &["--bucket", "b", "--kms-key-arn", "alias/x"], &[]).code,
        64
    );
    assert_eq!(run_cli(&bin, &[], &[]).code, 64);
}
