//! Audit at-rest compliance of a whole photo bucket from its S3 Inventory
//! report, and write S3 Batch Operations manifests of what to fix.
//!
//! ```text
//! cargo run --example audit_inventory -- --manifest s3://DEST/PREFIX/SOURCE/CONFIG/YYYY-MM-DDTHH-MMZ/manifest.json \
//!     [--source-bucket SOURCE] [--kms-key-arn ARN]... [--check-keys] [--concurrency N] [--remediation-out DIR_OR_S3_PREFIX] [--apply] \
//!     [--expected-bucket-owner ACCOUNT_ID] [--region R] [--endpoint-url URL] [--ca-bundle PEM]
//! ```
//!
//! Reads `manifest.checksum` and `manifest.json` (checked against each
//! other; with `--source-bucket`, the report must be about that bucket),
//! then streams every CSV data file (MD5 and size checked), and
//! classifies every object version by `EncryptionStatus`: SSE-KMS and
//! DSSE-KMS are compliant; SSE-S3, NOT-SSE, SSE-C and any unknown value are
//! not; delete markers are skipped. With `--check-keys` (which needs at
//! least one `--kms-key-arn`, and the reverse) the KMS key of every
//! SSE-KMS and DSSE-KMS version is checked with HeadObject, pinned to its
//! version, `--concurrency` calls at a time (default 16, at most 256).
//! With `--remediation-out DIR` (or `s3://BUCKET/PREFIX`: uploaded over
//! HTTPS with **SSE-S3**, each checked with HeadObject of the version
//! written; S3 Batch Operations reads SSE-KMS only from S3 Inventory
//! report manifests, never from hand-made CSV manifests, and these hold
//! bucket, key and version id, never image bytes), the Batch Operations
//! CSV manifests
//! (`bucket,key,versionId`, keys percent-encoded, no header) are written
//! there: `update-object-encryption.csv` (re-key in place; version ids and
//! pins stay), `copy-object.csv` (current versions only: a copy writes new
//! versions; pins on them change) and `delete-noncurrent-version.csv`
//! (noncurrent versions that would need a copy: copying one would make its
//! old content current again, so delete it; Batch Operations cannot
//! delete, the format is the same for other tools). They appear only when
//! the audit completes. With `--apply` (small fleets: at most 1,000
//! versions to fix; needs `--check-keys`), each version is fixed now under
//! the first `--kms-key-arn`: `UpdateObjectEncryption` in place, or
//! `CopyObject` of a current version onto its key, each confirmed by
//! HeadObject; noncurrent versions that need a copy are not touched. The
//! standard
//! AWS credential chain, `AWS_ENDPOINT_URL*`, `AWS_CA_BUNDLE` and the
//! profile's `ca_bundle` apply.
//!
//! Output: progress on stderr; the last line on stdout is one JSON object:
//! `manifest`, `source_bucket`, `all_versions` (whether noncurrent versions
//! were in the report), `creation_timestamp_ms` (when S3 started it),
//! `files`, `rows`, `versions` (versions
//! classified), `delete_markers`, `compliant`, `non_compliant`, `counts`
//! (per `EncryptionStatus`), `bucket_key_counts`, `kms_keys_checked`,
//! `keys_checked`, `keys_not_allowed`, `keys_unchecked`, `versions_gone`,
//! `update_in_place`, `copy`, `delete_noncurrent` (versions to fix, by
//! remediation), `client_side_encrypted` and `instruction_files`
//! (client-side ciphertext: versions whose metadata carries the S3
//! Encryption Client's envelope, and `<key>.instruction` files; listed in
//! `decrypt-client-side`, which no Batch Operations job and no `--apply`
//! can fix), `remediation` (`null`, or per manifest `{path, rows}`),
//! (each also `format`, `S3BatchOperations_CSV_20180820`, and `fields`,
//! the columns for CreateJob's `ManifestSpec`; uploaded to S3 also
//! `object_arn`, `etag` and `version_id`, CreateJob's `Location`, and
//! `encryption`, `SSE-S3`), `covers_all_versions` and `uncovered` (a
//! report of current versions only covers a bucket only if its versioning
//! was never enabled; otherwise why not and how to get an all-versions
//! report, also in `reasons`),
//! with `--apply` `applied` (per version `bucket`, `key`, `remediation`,
//! `old_version_id`, `new_version_id`, `error`), `compliant_after_apply`
//! (a bool, also without `--apply`) and `reasons` (for errors). Never
//! credentials.
//!
//! Exit status: 0 compliant (or, with `--apply`, every non-compliant
//! version fixed and confirmed, in a report that covers every stored
//! version); 2 not compliant, or not proven compliant (a current-versions
//! report of a versioned bucket); 3 error, no verdict (a
//! checksum mismatch, a missing column, a report that is not CSV, an
//! unreadable report, an insecure endpoint, S3 failing); 64 usage error.

mod common;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Parser;
use rekognition_guard::inventory::{
    BatchManifestWriter, InventoryAuditOptions, InventoryReport, Remediation, RemediationSink,
    MAX_CONCURRENCY,
};
use rekognition_guard::{KmsKeyArn, PhotoStore, Policy, S3ObjectRef};
use serde_json::{json, Value};

/// Audit at-rest compliance of a bucket from its S3 Inventory report.
#[derive(Debug, Parser)]
#[command(name = "audit_inventory")]
struct Cli {
    /// The report's manifest: s3://DEST/PREFIX/SOURCE/CONFIG/DATE/manifest.json.
    #[arg(long, value_name = "REF")]
    manifest: String,
    /// The bucket the report must cover (its sourceBucket).
    #[arg(long, value_name = "BUCKET")]
    source_bucket: Option<String>,
    /// An allowed KMS key ARN (repeatable); needs --check-keys.
    #[arg(long, value_name = "ARN")]
    kms_key_arn: Vec<String>,
    /// Check every SSE-KMS version's key with HeadObject; needs --kms-key-arn.
    #[arg(long)]
    check_keys: bool,
    /// HeadObject calls in flight for --check-keys (1 to 256).
    #[arg(long, value_name = "N", default_value_t = 16,
          value_parser = clap::value_parser!(u16).range(1..=MAX_CONCURRENCY as i64))]
    concurrency: u16,
    /// Fix a small fleet now: UpdateObjectEncryption / CopyObject under the
    /// first --kms-key-arn (needs --check-keys; at most 1,000 versions).
    #[arg(long)]
    apply: bool,
    /// Where the Batch Operations manifests of what to fix go: a local
    /// directory, or s3://BUCKET/PREFIX (written with SSE-S3 over HTTPS,
    /// which Batch Operations can read).
    #[arg(long, value_name = "DIR_OR_S3_PREFIX")]
    remediation_out: Option<String>,
    /// The account that must own the report's bucket and the photos' bucket.
    #[arg(long, value_name = "ACCOUNT_ID")]
    expected_bucket_owner: Option<String>,
    #[command(flatten)]
    aws: common::AwsArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Exit {
    Compliant = 0,
    NotCompliant = 2,
    Error = 3,
    Usage = 64,
}

fn failed(manifest: &str, exit: Exit, reason: String) -> (Exit, Value) {
    (
        exit,
        json!({
            "manifest": manifest, "compliant": false, "versions": null, "counts": null,
            "keys_checked": null, "keys_not_allowed": null, "remediation": null,
            "reasons": [reason],
        }),
    )
}

/// The manifests being written: `NAME.csv.partial` until the audit
/// completes, then renamed to `NAME.csv`.
struct Outputs {
    dir: PathBuf,
}

impl Outputs {
    const NAMES: [&'static str; 4] = [
        "update-object-encryption",
        "copy-object",
        "delete-noncurrent-version",
        "decrypt-client-side",
    ];

    fn partial(&self, name: &str) -> PathBuf {
        self.dir.join(format!("{name}.csv.partial"))
    }

    fn done(&self, name: &str) -> PathBuf {
        self.dir.join(format!("{name}.csv"))
    }

    fn open(&self) -> std::io::Result<BatchManifestWriter<std::io::BufWriter<std::fs::File>>> {
        std::fs::create_dir_all(&self.dir)?;
        // Manifests of an earlier run must not pass for this one's.
        for name in Self::NAMES {
            match std::fs::remove_file(self.done(name)) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
                _ => {}
            }
        }
        let file = |name| std::fs::File::create(self.partial(name)).map(std::io::BufWriter::new);
        Ok(BatchManifestWriter::new(
            file(Self::NAMES[0])?,
            file(Self::NAMES[1])?,
            file(Self::NAMES[2])?,
            file(Self::NAMES[3])?,
        ))
    }

    fn publish(&self, report: &InventoryReport) -> std::io::Result<Value> {
        // Every row carries a version id exactly when the report lists
        // every version.
        let fields: &[&str] = if report.all_versions {
            &["Bucket", "Key", "VersionId"]
        } else {
            &["Bucket", "Key"]
        };
        let mut written = serde_json::Map::new();
        for (name, rows) in Self::NAMES.into_iter().zip([
            report.update_in_place,
            report.copy,
            report.delete_noncurrent,
            report.client_side_encrypted + report.instruction_files,
        ]) {
            std::fs::rename(self.partial(name), self.done(name))?;
            // The client-side list is for the S3 Encryption Client, not a
            // Batch Operations job (none can decrypt it), and its rows may
            // lack a version id (a key found by its instruction file).
            let batch = name != Remediation::DecryptClientSide.as_str();
            written.insert(
                name.to_owned(),
                json!({
                    "path": display(&self.done(name)),
                    "rows": rows,
                    "format": batch.then_some(BATCH_FORMAT),
                    "fields": batch.then_some(fields),
                }),
            );
        }
        Ok(Value::Object(written))
    }

    fn discard(&self) {
        for name in Self::NAMES {
            let _ = std::fs::remove_file(self.partial(name));
        }
    }
}

/// The S3 Batch Operations manifest format of the CSV files written
/// (CreateJob `ManifestSpec.Format`).
const BATCH_FORMAT: &str = "S3BatchOperations_CSV_20180820";

/// The most versions `--apply` fixes; beyond, S3 Batch Operations.
const MAX_APPLY: usize = 1_000;

/// One version to fix, kept for `--apply`.
struct Fix {
    remediation: Remediation,
    bucket: String,
    key: String,
    version_id: Option<String>,
}

/// Writes the manifests (if asked for) and keeps the versions to fix (with
/// `--apply`, up to [`MAX_APPLY`]).
struct Collect<'w> {
    manifests: Option<&'w mut dyn RemediationSink>,
    fixes: Vec<Fix>,
    overflow: bool,
    collect: bool,
}

impl RemediationSink for Collect<'_> {
    fn add(
        &mut self,
        remediation: Remediation,
        bucket: &str,
        key: &str,
        version_id: Option<&str>,
    ) -> std::io::Result<()> {
        if let Some(m) = self.manifests.as_mut() {
            m.add(remediation, bucket, key, version_id)?;
        }
        // Client-side ciphertext cannot be fixed here (nor by Batch
        // Operations): not kept, so it takes no place in the --apply
        // budget; it still counts as not compliant.
        if remediation == Remediation::DecryptClientSide {
            return Ok(());
        }
        if self.collect && self.fixes.len() < MAX_APPLY {
            self.fixes.push(Fix {
                remediation,
                bucket: bucket.to_owned(),
                key: key.to_owned(),
                version_id: version_id.map(str::to_owned),
            });
        } else if self.collect {
            self.overflow = true;
        }
        Ok(())
    }
}

/// Fixes each version, `concurrency` at a time: old and new version ids,
/// or the error. Noncurrent versions that need a copy are not re-encrypted
/// (a copy would make them current again): they are reported as such.
async fn apply(
    store: &PhotoStore,
    fixes: &[Fix],
    target: &KmsKeyArn,
    concurrency: usize,
) -> Vec<Value> {
    use futures_util::stream::{self, StreamExt};
    stream::iter(fixes)
        .map(|fix| async move {
            let object =
                S3ObjectRef::new(&fix.bucket, &fix.key).and_then(|o| match &fix.version_id {
                    Some(v) => o.with_version_id(v),
                    None => Ok(o),
                });
            let result = match object {
                Ok(object) => store
                    .reencrypt(&object, fix.remediation, target)
                    .await
                    .map_err(|e| common::explain(&e)),
                Err(e) => Err(e.to_string()),
            };
            let (new_version_id, error) = match result {
                Ok(done) => (json!(done.new_version_id), Value::Null),
                Err(e) => (Value::Null, json!(e)),
            };
            json!({
                "bucket": fix.bucket,
                "key": fix.key,
                "remediation": fix.remediation.as_str(),
                "old_version_id": fix.version_id,
                "new_version_id": new_version_id,
                "error": error,
            })
        })
        .buffer_unordered(concurrency)
        .collect()
        .await
}

/// Where `--remediation-out` points.
enum Destination {
    Local(PathBuf),
    /// Staged in a private temporary directory (mode 0700, a random name,
    /// removed when dropped, also after an error), then uploaded.
    S3 {
        bucket: String,
        prefix: String,
        staging: tempfile::TempDir,
    },
}

impl Destination {
    fn parse(value: &str) -> Result<Self, String> {
        let Some(rest) = value.strip_prefix("s3://") else {
            return Ok(Self::Local(PathBuf::from(value)));
        };
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        S3ObjectRef::new(bucket, "manifest.csv").map_err(|e| e.to_string())?;
        if prefix.split('/').any(|s| s == "." || s == "..") {
            return Err(format!(
                "the prefix {prefix:?} has a '.' or '..' segment, which an endpoint could resolve elsewhere"
            ));
        }
        let prefix = match prefix {
            "" => String::new(),
            p if p.ends_with('/') => p.to_owned(),
            p => format!("{p}/"),
        };
        let staging = tempfile::Builder::new()
            .prefix("audit-inventory-")
            .tempdir()
            .map_err(|e| format!("cannot make a staging directory: {e}"))?;
        Ok(Self::S3 {
            bucket: bucket.to_owned(),
            prefix,
            staging,
        })
    }

    fn local_dir(&self) -> PathBuf {
        match self {
            Self::Local(dir) => dir.clone(),
            Self::S3 { staging, .. } => staging.path().to_owned(),
        }
    }
}

/// Uploads the published manifests with SSE-S3 over the backend's
/// HTTPS-only S3 client, checks each (the ETag S3 answered is the MD5 of
/// the file, as for every single-part SSE-S3 upload, and HeadObject of the
/// version written reports SSE-S3, that ETag and the size), and returns
/// `remediation` with what CreateJob's manifest `Location` needs: object
/// ARN, ETag, version id.
///
/// Why SSE-S3: S3 Batch Operations reads SSE-KMS only from S3 Inventory
/// report manifests, never from hand-made CSV manifests
/// (`S3BatchOperations_CSV_20180820`), and never SSE-C (S3 User Guide,
/// "Creating an S3 Batch Operations job"). These files list bucket, key
/// and version id, never image bytes.
async fn upload(
    backend: &rekognition_guard::aws::AwsBackend,
    bucket: &str,
    prefix: &str,
    staging: &Path,
    remediation: &Value,
    owner: Option<&str>,
) -> Result<Value, String> {
    use aws_sdk_s3::types::ServerSideEncryption;
    use md5::Digest;
    let s3 = backend.s3_client();
    // The partition of the client's region, for the object ARNs.
    let partition = match s3.config().region().map(|r| r.as_ref()) {
        Some(r) if r.starts_with("cn-") => "aws-cn",
        Some(r) if r.starts_with("us-gov-") => "aws-us-gov",
        _ => "aws",
    };
    let sdk_error = |what: &str, e: &dyn std::error::Error| {
        format!(
            "{what} failed: {}",
            // The text is S3's, not ours: escaped with Rust's
            // `escape_debug` (control, separator and invisible format
            // characters as `\u{..}`; quotes and backslashes escaped too),
            // so it cannot break or disguise the line it is printed on.
            aws_smithy_types::error::display::DisplayErrorContext(e)
                .to_string()
                .escape_debug()
        )
    };
    let mut uploaded = serde_json::Map::new();
    for name in Outputs::NAMES {
        let key = format!("{prefix}{name}.csv");
        let path = staging.join(format!("{name}.csv"));
        let written = std::fs::read(&path).map_err(|e| e.to_string())?;
        let size = written.len() as u64;
        let md5 = hex::encode(md5::Md5::digest(&written));
        let body = aws_sdk_s3::primitives::ByteStream::from_path(&path)
            .await
            .map_err(|e| e.to_string())?;
        let put = s3
            .put_object()
            .bucket(bucket)
            .key(&key)
            .body(body)
            .content_type("text/csv")
            .server_side_encryption(ServerSideEncryption::Aes256)
            .set_expected_bucket_owner(owner.map(str::to_owned))
            .send()
            .await
            .map_err(|e| sdk_error(&format!("PutObject s3://{bucket}/{key}"), &e))?;
        let Some(written_etag) = put.e_tag().map(str::to_owned) else {
            return Err(format!(
                "PutObject s3://{bucket}/{key} answered without an ETag, which CreateJob needs"
            ));
        };
        if !written_etag.trim_matches('"').eq_ignore_ascii_case(&md5) {
            return Err(format!(
                "s3://{bucket}/{key}: S3's ETag is not the MD5 of the file written"
            ));
        }
        let version_id = put.version_id().map(str::to_owned);
        let head = s3
            .head_object()
            .bucket(bucket)
            .key(&key)
            .set_version_id(version_id.clone())
            .set_expected_bucket_owner(owner.map(str::to_owned))
            .send()
            .await
            .map_err(|e| sdk_error(&format!("HeadObject s3://{bucket}/{key}"), &e))?;
        if head.server_side_encryption() != Some(&ServerSideEncryption::Aes256) {
            return Err(format!(
                "s3://{bucket}/{key} was not stored with SSE-S3, which S3 Batch Operations needs for a CSV manifest"
            ));
        }
        if head.content_length() != i64::try_from(size).ok()
            || head.e_tag() != Some(written_etag.as_str())
        {
            return Err(format!(
                "s3://{bucket}/{key} does not hold what was written"
            ));
        }
        let mut entry = remediation[name].clone();
        entry["path"] = json!(format!("s3://{bucket}/{key}"));
        entry["object_arn"] = json!(format!("arn:{partition}:s3:::{bucket}/{key}"));
        entry["etag"] = json!(written_etag.trim_matches('"'));
        entry["version_id"] = json!(version_id);
        entry["encryption"] = json!("SSE-S3");
        uploaded.insert(name.to_owned(), entry);
    }
    Ok(Value::Object(uploaded))
}

fn display(path: &Path) -> String {
    path.display().to_string()
}

async fn run(cli: &Cli) -> (Exit, Value) {
    let manifest = match S3ObjectRef::parse(&cli.manifest) {
        Ok(m) => m,
        Err(e) => return failed(&cli.manifest, Exit::Usage, format!("--manifest: {e}")),
    };
    match (cli.check_keys, cli.kms_key_arn.is_empty()) {
        (true, true) => {
            return failed(
                &cli.manifest,
                Exit::Usage,
                "--check-keys needs the allowlist: add --kms-key-arn ARN (repeatable)".into(),
            )
        }
        (false, false) => {
            return failed(
                &cli.manifest,
                Exit::Usage,
                "--kms-key-arn is checked only with --check-keys (inventory reports have no KMS key column): add --check-keys".into(),
            )
        }
        _ => {}
    }
    if cli.apply && !cli.check_keys {
        return failed(
            &cli.manifest,
            Exit::Usage,
            "--apply re-encrypts under the first --kms-key-arn and needs the key checks: add --check-keys --kms-key-arn ARN".into(),
        );
    }
    let policy = match common::with_keys_and_owner(
        Policy::any_kms_key().with_versioning_required(false),
        &cli.kms_key_arn,
        cli.expected_bucket_owner.as_deref(),
    ) {
        Ok(p) => p,
        Err(e) => return failed(&cli.manifest, Exit::Usage, e),
    };
    let (backend, store) = match common::photo_store(&cli.aws, policy).await {
        Ok(made) => made,
        Err(common::NoStore::Setup(e)) => return failed(&cli.manifest, Exit::Error, e),
        Err(common::NoStore::Config(e)) => {
            return failed(&cli.manifest, Exit::Error, common::explain_config(&e))
        }
    };
    let mut options = InventoryAuditOptions::default();
    if let Some(bucket) = &cli.source_bucket {
        options = options.source_bucket(bucket);
    }
    let options = options
        .check_kms_keys(cli.check_keys)
        .concurrency(usize::from(cli.concurrency))
        .on_progress(|p| {
            eprintln!(
                "inventory: {}/{} data files, {} rows, {} KMS keys checked",
                p.files_done, p.files_total, p.rows, p.keys_checked
            )
        });

    let destination = match cli
        .remediation_out
        .as_deref()
        .map(Destination::parse)
        .transpose()
    {
        Ok(d) => d,
        Err(e) => {
            return failed(
                &cli.manifest,
                Exit::Usage,
                format!("--remediation-out: {e}"),
            )
        }
    };
    let outputs = destination.as_ref().map(|d| Outputs { dir: d.local_dir() });
    let mut writer = match outputs.as_ref().map(Outputs::open).transpose() {
        Ok(w) => w,
        Err(e) => {
            return failed(
                &cli.manifest,
                Exit::Error,
                format!("--remediation-out: cannot write there: {e}"),
            )
        }
    };
    let mut sink = Collect {
        manifests: writer.as_mut().map(|w| w as &mut dyn RemediationSink),
        fixes: Vec::new(),
        overflow: false,
        collect: cli.apply,
    };
    let result = store.audit_inventory(&manifest, options, &mut sink).await;
    let (fixes, overflow) = (std::mem::take(&mut sink.fixes), sink.overflow);
    drop(sink);
    let flushed = writer.map(BatchManifestWriter::into_inner).transpose();
    let report = match (result, flushed) {
        (Ok(report), Ok(_)) => report,
        (Err(e), _) => {
            if let Some(o) = &outputs {
                o.discard();
            }
            return failed(&cli.manifest, Exit::Error, common::explain(&e));
        }
        (Ok(_), Err(e)) => {
            if let Some(o) = &outputs {
                o.discard();
            }
            return failed(
                &cli.manifest,
                Exit::Error,
                format!("--remediation-out: {e}"),
            );
        }
    };
    let remediation = match outputs.as_ref().map(|o| o.publish(&report)).transpose() {
        Ok(r) => r.unwrap_or(Value::Null),
        Err(e) => {
            return failed(
                &cli.manifest,
                Exit::Error,
                format!("--remediation-out: {e}"),
            )
        }
    };
    let remediation = match &destination {
        Some(Destination::S3 {
            bucket,
            prefix,
            staging,
        }) => {
            let owner = cli.expected_bucket_owner.as_deref();
            let uploaded = upload(
                &backend,
                bucket,
                prefix,
                staging.path(),
                &remediation,
                owner,
            )
            .await;
            match uploaded {
                Ok(r) => r,
                Err(e) => {
                    return failed(
                        &cli.manifest,
                        Exit::Error,
                        format!("--remediation-out: {e}"),
                    )
                }
            }
        }
        _ => remediation,
    };
    let out = json!({
        "manifest": manifest.to_string(),
        "source_bucket": report.source_bucket,
        "all_versions": report.all_versions,
        "covers_all_versions": report.covers_all_versions,
        "uncovered": report.uncovered,
        "creation_timestamp_ms": report.creation_timestamp_ms,
        "files": report.files,
        "rows": report.rows,
        "versions": report.versions,
        "delete_markers": report.delete_markers,
        "compliant": report.is_compliant(),
        "non_compliant": report.non_compliant(),
        "counts": report.counts,
        "bucket_key_counts": report.bucket_key_counts,
        "kms_keys_checked": report.kms_keys_checked,
        "keys_checked": report.keys_checked,
        "keys_not_allowed": report.keys_not_allowed,
        "keys_unchecked": report.keys_unchecked,
        "versions_gone": report.versions_gone,
        "update_in_place": report.update_in_place,
        "copy": report.copy,
        "delete_noncurrent": report.delete_noncurrent,
        "client_side_encrypted": report.client_side_encrypted,
        "instruction_files": report.instruction_files,
        "remediation": remediation,
        "reasons": report.uncovered.iter().collect::<Vec<_>>(),
    });
    let mut out = out;
    let mut fixed = 0;
    if cli.apply {
        if overflow {
            if let Some(reasons) = out["reasons"].as_array_mut() {
                reasons.push(json!(format!(
                    "--apply fixes at most {MAX_APPLY} versions and this report has {}: run S3 Batch Operations jobs with the manifests of --remediation-out",
                    report.non_compliant()
                )));
            }
        } else {
            let target = KmsKeyArn::parse(&cli.kms_key_arn[0]).expect("checked with the policy");
            let applied = apply(&store, &fixes, &target, usize::from(cli.concurrency)).await;
            fixed = applied.iter().filter(|a| a["error"].is_null()).count() as u64;
            out["applied"] = Value::Array(applied);
        }
    }
    // Fixing every version listed proves nothing about versions the report
    // did not list.
    let fixed_all = cli.apply
        && !overflow
        && report.covers_all_versions
        && report.versions > 0
        && fixed == report.non_compliant();
    out["compliant_after_apply"] = json!(report.is_compliant() || fixed_all);
    let exit = if report.is_compliant() || fixed_all {
        Exit::Compliant
    } else {
        Exit::NotCompliant
    };
    (exit, out)
}

#[tokio::main]
async fn main() -> ExitCode {
    common::init_tracing();
    let cli = match common::parse::<Cli>() {
        Ok(cli) => cli,
        Err(common::NotParsed::Shown) => return ExitCode::SUCCESS,
        Err(common::NotParsed::Usage(message)) => {
            eprintln!("audit_inventory: {message}");
            eprintln!("usage: audit_inventory --manifest s3://DEST/.../manifest.json [options]; see --help");
            println!("{}", json!({ "compliant": false, "reasons": [message] }));
            return ExitCode::from(Exit::Usage as u8);
        }
    };
    let (exit, report) = run(&cli).await;
    match exit {
        Exit::Compliant | Exit::NotCompliant => {
            eprintln!(
                "{}: {} versions, {} not compliant ({})",
                report["source_bucket"].as_str().unwrap_or_default(),
                report["versions"],
                report["non_compliant"],
                report["counts"]
            );
            for reason in report["reasons"].as_array().into_iter().flatten() {
                eprintln!("  - {}", reason.as_str().unwrap_or_default());
            }
        }
        Exit::Error | Exit::Usage => {
            for reason in report["reasons"].as_array().into_iter().flatten() {
                eprintln!("audit_inventory: {}", reason.as_str().unwrap_or_default());
            }
        }
    }
    println!("{report}");
    ExitCode::from(exit as u8)
}
