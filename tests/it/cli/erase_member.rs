//! The `erase_member` example's contract against the emulator over TLS:
//! JSON on stdout's last line; exit 0 complete (or nothing to erase, or a
//! dry run), 2 refused, 3 error, 4 incomplete, 64 usage.

use crate::support;

use rekognition_guard::conformance::erasure::{BucketKind, ErasureHarness, Hold};
use support::emulator::{emulator, example_binary, fixture, run_cli, Run};
use support::erasure::MotoErasureHarness;

fn run(bin: &std::path::PathBuf, object: &str, extra: &[&str], aws: &[&str]) -> Run {
    let mut argv = vec!["--object", object];
    argv.extend_from_slice(extra);
    argv.extend_from_slice(aws);
    run_cli(bin, &argv, &[])
}

fn versions(r: &Run, field: &str) -> Vec<String> {
    r.json[field]
        .as_array()
        .unwrap_or_else(|| panic!("{field}: {}", r.json))
        .iter()
        .map(|v| v["version_id"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn erase_member_keeps_its_contract() {
    let Some(emu) = emulator() else { return };
    let bin = example_binary("erase_member");
    let f = fixture(emu, true).await;
    let (endpoint, ca) = (f.emu.endpoint.clone(), f.emu.ca_path.clone());
    let aws = [
        "--endpoint-url",
        endpoint.as_str(),
        "--ca-bundle",
        ca.as_str(),
    ];
    let h = MotoErasureHarness::new(f);

    // 0: two versions and a delete marker erased; the sibling stays.
    let bucket = h.new_bucket(BucketKind::Versioned).await;
    let v1 = h.put(&bucket, "members/ada.jpg").await;
    let v2 = h.put(&bucket, "members/ada.jpg").await;
    h.delete(&bucket, "members/ada.jpg").await;
    h.put(&bucket, "members/ada.jpg.bak").await;
    let ada = format!("s3://{bucket}/members/ada.jpg");

    // A dry run first: exit 0, everything listed, nothing deleted.
    let r = run(&bin, &ada, &["--dry-run"], &aws);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.json["dry_run"], true);
    assert_eq!(versions(&r, "remaining").len(), 3);
    assert!(versions(&r, "erased").is_empty());
    assert_eq!(h.listed(&bucket, "members/ada.jpg").await.len(), 4);

    let r = run(&bin, &ada, &[], &aws);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.json["bucket"], bucket.as_str());
    assert_eq!(r.json["key"], "members/ada.jpg");
    assert_eq!(r.json["complete"], true);
    let erased = versions(&r, "erased");
    assert_eq!(erased.len(), 3, "{}", r.json);
    assert!(erased.contains(&v1) && erased.contains(&v2));
    assert_eq!(
        r.json["erased"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["delete_marker"] == true)
            .count(),
        1
    );
    assert!(versions(&r, "remaining").is_empty());
    assert!(r.json["finished_at"].as_str().unwrap().ends_with('Z'));
    let left = h.listed(&bucket, "members/ada.jpg").await;
    assert_eq!(left.len(), 1, "only the sibling: {left:?}");
    assert_eq!(left[0].key, "members/ada.jpg.bak");

    // 0: nothing stored under the key.
    let r = run(
        &bin,
        &format!("s3://{bucket}/members/nobody.jpg"),
        &[],
        &aws,
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.json["complete"], true);

    // 4: a governance-locked version remains, said so; 0 with the bypass.
    let locked_bucket = h.new_bucket(BucketKind::ObjectLock).await;
    let locked = h.put(&locked_bucket, "members/edsger.jpg").await;
    h.hold(
        &locked_bucket,
        "members/edsger.jpg",
        &locked,
        Hold::Governance,
    )
    .await;
    let edsger = format!("s3://{locked_bucket}/members/edsger.jpg");
    let r = run(&bin, &edsger, &[], &aws);
    assert_eq!(r.code, 4, "{}", r.stderr);
    assert_eq!(r.json["complete"], false);
    assert_eq!(versions(&r, "remaining"), std::slice::from_ref(&locked));
    let remaining = &r.json["remaining"][0];
    assert!(
        remaining["detail"]
            .as_str()
            .unwrap()
            .contains("s3:DeleteObjectVersion"),
        "what would unblock it: {remaining}"
    );
    let r = run(&bin, &edsger, &["--bypass-governance-retention"], &aws);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(versions(&r, "erased"), [locked]);

    // 4: a legal hold, named as such (moto reads legal holds).
    let held = h.put(&locked_bucket, "members/barbara.jpg").await;
    h.hold(
        &locked_bucket,
        "members/barbara.jpg",
        &held,
        Hold::LegalHold,
    )
    .await;
    let r = run(
        &bin,
        &format!("s3://{locked_bucket}/members/barbara.jpg"),
        &["--bypass-governance-retention"],
        &aws,
    );
    assert_eq!(r.code, 4, "{}", r.stderr);
    assert_eq!(r.json["remaining"][0]["reason"], "legal_hold");

    // 2: a plain http endpoint: nothing sent.
    let plain = endpoint.replacen("https://", "http://", 1);
    let before = h.listed(&bucket, "members/ada.jpg.bak").await;
    let r = run(
        &bin,
        &format!("s3://{bucket}/members/ada.jpg.bak"),
        &[],
        &["--endpoint-url", &plain, "--ca-bundle", &ca],
    );
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert_eq!(h.listed(&bucket, "members/ada.jpg.bak").await, before);

    // 3: a bucket that does not exist: an error, nothing claimed.
    let r = run(&bin, "s3://rg-no-such-bucket-for-erasure/x.jpg", &[], &aws);
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert_eq!(r.json["complete"], false);
    assert!(!r.json["reasons"].as_array().unwrap().is_empty());

    // 64: usage errors.
    for bad in [
        vec!["--object", "s3://b-b/k?versionId=v1"],
        vec!["--object", "s3://Bad_Bucket/k"],
        vec!["--object", "s3://b-b/k", "--expected-bucket-owner", "12"],
        vec![],
    ] {
        let r = run_cli(&bin, &bad, &[]);
        assert_eq!(r.code, 64, "{bad:?}: {}", r.stderr);
    }
}
