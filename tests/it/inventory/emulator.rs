//! Fleet audits from S3 Inventory reports, on the real SDK clients against
//! moto over TLS (`bash scripts/test` starts it). moto never delivers
//! inventory reports, so each test writes one from what moto stores
//! (support::inventory) and the photo store reads it back through
//! `AwsBackend`.

use crate::support;

use rekognition_guard::inventory::{BatchManifestWriter, InventoryAuditOptions, InventoryError};
use rekognition_guard::{Error, KmsKeyArn, PhotoStore, Policy, Violation};
use support::emulator::{emulator, fixture, Fixture};
use support::inventory::{
    deliver, inventory_encode, inventory_rows, mixed_fleet, Delivered, Report, ADA, EMILIE,
};

fn store(f: &Fixture, plain_http: bool) -> PhotoStore {
    PhotoStore::new(
        f.aws_backend(plain_http),
        Policy::allow_kms_key(KmsKeyArn::parse(&f.kms_key).unwrap())
            .with_versioning_required(false),
    )
}

/// The remediation manifests' lines, sorted (key checks finish in any
/// order).
fn lines(bytes: Vec<u8>) -> Vec<String> {
    let mut lines: Vec<String> = String::from_utf8(bytes)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect();
    lines.sort();
    lines
}

/// A mixed fleet (SSE-KMS under the allowed and another key, SSE-S3,
/// no encryption, current and noncurrent, a delete marker; keys with spaces, `+`, `%`, a comma and
/// non-ASCII characters) reported over three data files: every version is
/// classified, the foreign key is found by HeadObject, and both Batch
/// Operations manifests are exact.
#[tokio::test]
async fn a_mixed_fleet_is_classified_and_its_remediation_manifests_are_exact() {
    let Some(emu) = emulator() else { return };
    let f = fixture(emu, true).await;
    let fleet = mixed_fleet(&f).await;
    let rows = inventory_rows(&f, &f.bucket).await;
    assert_eq!(rows.len(), 8, "{rows:?}");
    // The report really carries the keys URL-encoded.
    assert!(Report::csv(&f.bucket, &rows, 1).files[0].contains(&inventory_encode(EMILIE)));
    let delivered = deliver(&f, &Report::csv(&f.bucket, &rows, 3)).await;

    let progress = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen = progress.clone();
    let options = InventoryAuditOptions::default()
        .check_kms_keys(true)
        .concurrency(2)
        .on_progress(move |p| seen.lock().unwrap().push(*p));
    let mut manifests = BatchManifestWriter::new(Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let report = store(&f, false)
        .audit_inventory(&delivered.manifest, options, &mut manifests)
        .await
        .unwrap();

    assert_eq!(
        (
            report.files,
            report.rows,
            report.versions,
            report.delete_markers
        ),
        (3, 8, 7, 1)
    );
    let counts: Vec<(&str, u64)> = report.counts.iter().map(|(k, v)| (*k, *v)).collect();
    assert_eq!(counts, [("NOT-SSE", 2), ("SSE-KMS", 4), ("SSE-S3", 1)]);
    assert_eq!(
        (
            report.keys_checked,
            report.keys_not_allowed,
            report.keys_unchecked
        ),
        (4, 1, 0)
    );
    assert_eq!(
        (
            report.update_in_place,
            report.copy,
            report.delete_noncurrent
        ),
        (2, 1, 1)
    );
    assert!(!report.is_compliant());
    assert_eq!(report.non_compliant(), 4);

    let [in_place, copy, noncurrent, client_side] = manifests.into_inner().unwrap();
    assert!(
        client_side.is_empty(),
        "no client-side ciphertext in this bucket"
    );
    let b = &f.bucket;
    assert_eq!(
        lines(in_place),
        [
            format!(
                "{b},members/%C3%A9milie%2B%E5%B1%B1%E7%94%B0%20100%25.jpg,{}",
                fleet.emilie
            ),
            format!("{b},members/ada%20lovelace.jpg,{}", fleet.ada_sse_s3),
        ]
    );
    assert_eq!(
        lines(copy),
        [format!("{b},members/grace%2Chopper.jpg,{}", fleet.grace)]
    );
    // The noncurrent NOT-SSE version is listed for deletion, not copied:
    // a copy would make its old content current again.
    assert_eq!(
        lines(noncurrent),
        [format!("{b},members/hopper.jpg,{}", fleet.hopper_plain)]
    );

    let progress = progress.lock().unwrap();
    let last = progress.last().unwrap();
    assert_eq!(
        (
            last.files_done,
            last.files_total,
            last.rows,
            last.keys_checked
        ),
        (3, 3, 8, 4)
    );
    assert!(progress
        .windows(2)
        .all(|w| w[0].files_done <= w[1].files_done));
}

/// A fleet stored only with SSE-KMS under the allowed key is compliant,
/// with and without key checks.
#[tokio::test]
async fn an_all_kms_fleet_is_compliant() {
    let Some(emu) = emulator() else { return };
    let f = fixture(emu, true).await;
    f.put_kms(ADA).await.unwrap();
    f.put_kms(EMILIE).await.unwrap();
    let delivered = deliver(
        &f,
        &Report::csv(&f.bucket, &inventory_rows(&f, &f.bucket).await, 2),
    )
    .await;
    for check in [false, true] {
        let report = store(&f, false)
            .audit_inventory(
                &delivered.manifest,
                InventoryAuditOptions::default().check_kms_keys(check),
                &mut (),
            )
            .await
            .unwrap();
        assert!(report.is_compliant(), "{report:?}");
        assert_eq!(report.versions, 2);
        assert_eq!(report.keys_checked, if check { 2 } else { 0 });
        assert_eq!(report.kms_keys_checked, check);
    }
}

/// A report of current versions only covers a bucket whose versioning
/// was never enabled (no noncurrent version can exist), and no other: of a
/// versioned bucket it gives no compliant verdict, says what was not
/// covered and how to get a report that is, however compliant the
/// versions it lists.
#[tokio::test]
async fn a_current_versions_report_proves_compliance_only_of_a_never_versioned_bucket() {
    let Some(emu) = emulator() else { return };
    let versioned = fixture(emu, true).await;
    versioned.put_kms(ADA).await.unwrap();
    versioned.put_kms(ADA).await.unwrap();
    let never = fixture(emulator().expect("the emulator"), false).await;
    never.put_kms(ADA).await;
    for (f, covered) in [(&versioned, false), (&never, true)] {
        let rows = if covered {
            // moto refuses HeadObject of version `null` in a bucket that
            // never had versioning, so this one row is written out.
            vec![support::inventory::Row {
                key: ADA.to_owned(),
                version_id: "null".to_owned(),
                is_latest: true,
                is_delete_marker: false,
                size: 10,
                encryption_status: "SSE-KMS",
                bucket_key_status: "DISABLED",
            }]
        } else {
            inventory_rows(f, &f.bucket).await
        };
        let delivered = deliver(f, &Report::current_versions(&f.bucket, &rows, 1)).await;
        let report = store(f, false)
            .audit_inventory(
                &delivered.manifest,
                InventoryAuditOptions::default(),
                &mut (),
            )
            .await
            .unwrap();
        assert!(!report.all_versions);
        assert_eq!(report.versions, 1, "the current version only");
        assert_eq!(report.non_compliant(), 0);
        assert_eq!(report.covers_all_versions, covered, "{report:?}");
        assert_eq!(report.is_compliant(), covered, "{report:?}");
        match &report.uncovered {
            None => assert!(covered),
            Some(why) => {
                assert!(!covered);
                assert!(
                    why.contains("Enabled") && why.contains("IncludedObjectVersions to All"),
                    "{why}"
                );
            }
        }
    }
}

/// Delivers `report`, lets `tamper` change it, and audits it: the error.
async fn audit_error(
    f: &Fixture,
    report: &Report,
    tamper: impl AsyncFnOnce(&Delivered),
) -> (Error, Delivered) {
    let delivered = deliver(f, report).await;
    tamper(&delivered).await;
    let err = store(f, false)
        .audit_inventory(
            &delivered.manifest,
            InventoryAuditOptions::default(),
            &mut (),
        )
        .await
        .unwrap_err();
    (err, delivered)
}

/// A manifest.json changed after delivery fails its manifest.checksum.
#[tokio::test]
async fn a_changed_manifest_fails_its_checksum() {
    let Some(emu) = emulator() else { return };
    let f = fixture(emu, true).await;
    f.put_kms(ADA).await.unwrap();
    let rows = inventory_rows(&f, &f.bucket).await;
    let (err, _) = audit_error(&f, &Report::csv(&f.bucket, &rows, 1), async |d| {
        let key = d
            .manifest
            .key()
            .replace("manifest.json", "manifest.checksum");
        support::inventory::put(
            &f,
            &d.destination,
            &key,
            b"00000000000000000000000000000000\n".to_vec(),
        )
        .await;
    })
    .await;
    assert!(
        matches!(
            err,
            Error::Inventory(InventoryError::ManifestChecksumMismatch { .. })
        ),
        "{err}"
    );
}

/// A checksum-valid manifest that names a data file outside the report's
/// own data folder, or through a `.` or `..` segment (which a path-style
/// endpoint or a normalising proxy resolves elsewhere, or which names one
/// file twice), is refused before any data file is read.
#[tokio::test]
async fn data_files_outside_the_reports_folder_or_with_dot_segments_are_never_read() {
    let Some(emu) = emulator() else { return };
    let f = fixture(emu, true).await;
    f.put_kms(ADA).await.unwrap();
    let rows = inventory_rows(&f, &f.bucket).await;
    let report = Report::csv(&f.bucket, &rows, 1);
    let delivered = deliver(&f, &report).await;
    let own = delivered.data_keys[0].clone();
    let folder = own.rsplit_once('/').unwrap().0.to_owned();
    let file = support::inventory::gzip(report.files[0].as_bytes());
    // What each manifest names; every named key exists, with this file.
    for (keys, why) in [
        (
            vec!["../other-bucket/secret.csv.gz".to_owned()],
            "'.' or '..'",
        ),
        (
            vec![format!("{folder}/./a.csv.gz"), format!("{folder}/a.csv.gz")],
            "'.' or '..'",
        ),
        (vec!["other-report/data/a.csv.gz".to_owned()], "data folder"),
        (
            vec![own.clone(), own.replacen("/data/", "/data//", 1)],
            "listed twice",
        ),
    ] {
        for key in &keys {
            support::inventory::put(&f, &delivered.destination, key, file.clone()).await;
        }
        let files: Vec<serde_json::Value> = keys
            .iter()
            .map(|k| serde_json::json!({"key": k, "size": file.len(), "MD5checksum": support::inventory::md5_hex(&file)}))
            .collect();
        let manifest = serde_json::json!({
            "sourceBucket": f.bucket,
            "destinationBucket": format!("arn:aws:s3:::{}", delivered.destination),
            "version": "2016-11-30",
            "fileFormat": "CSV",
            "fileSchema": support::inventory::SCHEMA,
            "files": files,
        })
        .to_string();
        support::inventory::put(
            &f,
            &delivered.destination,
            delivered.manifest.key(),
            manifest.clone().into_bytes(),
        )
        .await;
        support::inventory::put(
            &f,
            &delivered.destination,
            &delivered
                .manifest
                .key()
                .replace("manifest.json", "manifest.checksum"),
            format!("{}\n", support::inventory::md5_hex(manifest.as_bytes())).into_bytes(),
        )
        .await;
        let err = store(&f, false)
            .audit_inventory(
                &delivered.manifest,
                InventoryAuditOptions::default(),
                &mut (),
            )
            .await
            .unwrap_err();
        assert!(
            matches!(
                &err,
                Error::Inventory(InventoryError::InvalidManifest { .. })
            ),
            "{keys:?}: {err}"
        );
        assert!(err.to_string().contains(why), "{keys:?}: {err}");
    }
}

/// A data file replaced after delivery fails its MD5checksum.
#[tokio::test]
async fn a_changed_data_file_fails_its_checksum() {
    let Some(emu) = emulator() else { return };
    let f = fixture(emu, true).await;
    f.put_kms(ADA).await.unwrap();
    let rows = inventory_rows(&f, &f.bucket).await;
    let (err, _) = audit_error(&f, &Report::csv(&f.bucket, &rows, 1), async |d| {
        // Well-formed rows, but not the file S3 Inventory wrote.
        let forged = support::inventory::gzip(
            support::inventory::csv_line(&f.bucket, &rows[0])
                .repeat(2)
                .as_bytes(),
        );
        support::inventory::put(&f, &d.destination, &d.data_keys[0], forged).await;
    })
    .await;
    assert!(
        matches!(
            err,
            Error::Inventory(InventoryError::DataFileMismatch { .. })
        ),
        "{err}"
    );
}

/// A data file the manifest lists but S3 does not have is named.
#[tokio::test]
async fn a_missing_data_file_is_named() {
    let Some(emu) = emulator() else { return };
    let f = fixture(emu, true).await;
    f.put_kms(ADA).await.unwrap();
    let rows = inventory_rows(&f, &f.bucket).await;
    let (err, delivered) = audit_error(&f, &Report::csv(&f.bucket, &rows, 1), async |d| {
        f.s3.delete_object()
            .bucket(&d.destination)
            .key(&d.data_keys[0])
            .send()
            .await
            .unwrap();
    })
    .await;
    match err {
        Error::Inventory(InventoryError::MissingDataFile { file }) => {
            assert_eq!(
                (file.bucket(), file.key()),
                (
                    delivered.destination.as_str(),
                    delivered.data_keys[0].as_str()
                )
            );
        }
        other => panic!("{other}"),
    }
}

/// A report without EncryptionStatus says how to add the column.
#[tokio::test]
async fn a_report_without_encryption_status_is_refused_with_the_fix() {
    let Some(emu) = emulator() else { return };
    let f = fixture(emu, true).await;
    let mut report = Report::csv(&f.bucket, &[], 1);
    report.schema = "Bucket, Key, VersionId, IsLatest, IsDeleteMarker, Size".into();
    let (err, _) = audit_error(&f, &report, async |_| {}).await;
    assert!(
        matches!(
            err,
            Error::Inventory(InventoryError::MissingColumn {
                column: "EncryptionStatus",
                ..
            })
        ),
        "{err}"
    );
    assert!(err.to_string().contains("OptionalFields"), "{err}");
}

/// A Parquet report is refused, naming the setting to change.
#[tokio::test]
async fn a_parquet_report_is_refused() {
    let Some(emu) = emulator() else { return };
    let f = fixture(emu, true).await;
    let mut report = Report::csv(&f.bucket, &[], 1);
    report.format = "Parquet".into();
    let (err, _) = audit_error(&f, &report, async |_| {}).await;
    assert!(
        matches!(
            err,
            Error::Inventory(InventoryError::UnsupportedFormat { .. })
        ),
        "{err}"
    );
    assert!(
        err.to_string().contains("Destination Format to CSV"),
        "{err}"
    );
}

/// Over plain HTTP nothing is read: the audit is refused for the endpoint.
#[tokio::test]
async fn a_plain_http_endpoint_reads_nothing() {
    let Some(emu) = emulator() else { return };
    let f = fixture(emu, true).await;
    f.put_kms(ADA).await.unwrap();
    let delivered = deliver(
        &f,
        &Report::csv(&f.bucket, &inventory_rows(&f, &f.bucket).await, 1),
    )
    .await;
    let err = store(&f, true)
        .audit_inventory(
            &delivered.manifest,
            InventoryAuditOptions::default(),
            &mut (),
        )
        .await
        .unwrap_err();
    let refusal = err.as_refusal().unwrap_or_else(|| panic!("{err}"));
    assert!(
        refusal
            .violations
            .iter()
            .all(|v| matches!(v, Violation::InsecureEndpoint(_))),
        "{refusal}"
    );
}

/// `--apply`'s CopyObject against moto: the current NOT-SSE version is
/// copied onto its key with SSE-KMS (a new version, confirmed by
/// HeadObject); a noncurrent one is refused, since a copy would make its
/// old content current again, and nothing is written.
#[tokio::test]
async fn copy_in_place_fixes_the_current_version_and_refuses_a_noncurrent_one() {
    use rekognition_guard::inventory::Remediation;
    use support::inventory::{GRACE, HOPPER};

    let Some(emu) = emulator() else { return };
    let f = fixture(emu, true).await;
    let fleet = mixed_fleet(&f).await;
    let store = store(&f, false);
    let key = KmsKeyArn::parse(&f.kms_key).unwrap();

    let grace = f.reference(GRACE).with_version_id(&fleet.grace).unwrap();
    let done = store
        .reencrypt(&grace, Remediation::CopyObject, &key)
        .await
        .unwrap();
    let new_version = done
        .new_version_id
        .clone()
        .expect("a versioned bucket names the copy");
    assert_ne!(new_version, fleet.grace, "a copy is a new version");
    assert_eq!(done.kms_key, f.kms_key);
    let head =
        f.s3.head_object()
            .bucket(&f.bucket)
            .key(GRACE)
            .send()
            .await
            .unwrap();
    assert_eq!(
        head.version_id(),
        Some(new_version.as_str()),
        "the copy is current"
    );
    assert_eq!(head.ssekms_key_id(), Some(f.kms_key.as_str()));

    let versions_before = inventory_rows(&f, &f.bucket).await.len();
    let hopper = f
        .reference(HOPPER)
        .with_version_id(&fleet.hopper_plain)
        .unwrap();
    let err = store
        .reencrypt(&hopper, Remediation::CopyObject, &key)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Input(_)), "{err}");
    assert!(err.to_string().contains("not the current one"), "{err}");
    assert_eq!(
        inventory_rows(&f, &f.bucket).await.len(),
        versions_before,
        "nothing written"
    );

    // Keys with '+', '%', '#', '?' and non-ASCII characters are copied
    // from the right source.
    let odd = "members/zoë+1 #2?x%.jpg";
    f.put(odd, None, None).await.unwrap();
    let done = store
        .reencrypt(&f.reference(odd), Remediation::CopyObject, &key)
        .await
        .unwrap();
    let head =
        f.s3.head_object()
            .bucket(&f.bucket)
            .key(odd)
            .send()
            .await
            .unwrap();
    assert_eq!(head.version_id(), done.new_version_id.as_deref());
    assert_eq!(head.ssekms_key_id(), Some(f.kms_key.as_str()));

    // A key outside the allowlist is never a target.
    let other = KmsKeyArn::parse(&f.other_kms_key).unwrap();
    let err = store
        .reencrypt(&grace, Remediation::CopyObject, &other)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Config(_)), "{err}");
}

/// Client-side ciphertext in a fleet (issue 24, item 3): a version whose
/// user metadata carries the S3 Encryption Client's envelope is found by
/// its HeadObject (with key checks), and a key with an instruction file
/// beside it by the listing (in every audit); both go to the
/// `decrypt-client-side` list, neither is compliant, and re-encryption
/// refuses to pretend it fixed them.
#[tokio::test]
async fn client_side_ciphertext_is_found_by_its_metadata_and_by_its_instruction_file() {
    use rekognition_guard::conformance::CLIENT_SIDE_V2_METADATA;
    use rekognition_guard::inventory::Remediation;

    let Some(emu) = emulator() else { return };
    let f = fixture(emu, true).await;
    const SEALED: &str = "members/sealed lovelace.jpg";
    const TURING: &str = "members/turing.jpg";
    f.put_kms(ADA).await.unwrap();
    let sealed = f
        .put_client_side_encrypted(SEALED, &CLIENT_SIDE_V2_METADATA)
        .await
        .unwrap();
    f.put_kms(TURING).await.unwrap();
    f.put_kms(&format!("{TURING}.instruction")).await.unwrap();
    let delivered = deliver(
        &f,
        &Report::csv(&f.bucket, &inventory_rows(&f, &f.bucket).await, 2),
    )
    .await;
    let b = &f.bucket;

    for check in [true, false] {
        let mut manifests =
            BatchManifestWriter::new(Vec::new(), Vec::new(), Vec::new(), Vec::new());
        let report = store(&f, false)
            .audit_inventory(
                &delivered.manifest,
                InventoryAuditOptions::default().check_kms_keys(check),
                &mut manifests,
            )
            .await
            .unwrap();
        assert_eq!(report.versions, 4, "{report:?}");
        assert_eq!(report.instruction_files, 1, "{report:?}");
        assert_eq!(
            report.client_side_encrypted,
            u64::from(check),
            "the envelope is seen only where HeadObject is used: {report:?}"
        );
        assert_eq!(report.non_compliant(), 1 + u64::from(check));
        assert!(!report.is_compliant());
        let [in_place, copy, noncurrent, client_side] = manifests.into_inner().unwrap();
        assert!(in_place.is_empty() && copy.is_empty() && noncurrent.is_empty());
        let mut expected = vec![format!("{b},members/turing.jpg")];
        if check {
            expected.push(format!("{b},members/sealed%20lovelace.jpg,{sealed}"));
        }
        expected.sort();
        assert_eq!(lines(client_side), expected);
    }

    // Re-encryption cannot make ciphertext readable: the list's own
    // remediation is refused, and so is a copy (which would copy the
    // envelope with the bytes), before anything is written.
    let key = KmsKeyArn::parse(&f.kms_key).unwrap();
    let object = f.reference(SEALED).with_version_id(&sealed).unwrap();
    let err = store(&f, false)
        .reencrypt(&object, Remediation::DecryptClientSide, &key)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Input(_)), "{err}");
    assert!(err.to_string().contains("S3 Encryption Client"), "{err}");
    let versions_before = inventory_rows(&f, &f.bucket).await.len();
    let err = store(&f, false)
        .reencrypt(&object, Remediation::CopyObject, &key)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::Input(_)) && err.to_string().contains("client-side ciphertext"),
        "{err}"
    );
    assert_eq!(
        inventory_rows(&f, &f.bucket).await.len(),
        versions_before,
        "nothing written"
    );
}
