//! Audit whether a bucket's configuration keeps every face image compliant.
//!
//! ```text
//! cargo run --example audit_bucket -- --bucket NAME [--kms-key-arn ARN]... \
//!     [--expected-bucket-owner ACCOUNT_ID] [--region R] [--endpoint-url URL] [--ca-bundle PEM]
//! ```
//!
//! Checks: default encryption is SSE-KMS (with an allowed key when
//! `--kms-key-arn` is given; S3 Bucket Key noted), versioning is enabled, a
//! bucket policy denies requests without TLS and uploads without SSE-KMS,
//! and Block Public Access is fully on. A configuration that cannot be read
//! is a finding, never a pass.
//!
//! Output: a readable report on stderr; the last line on stdout is one JSON
//! object `{"bucket", "compliant", "findings": [{"id", "severity",
//! "detail", "fix"}]}`. Exit status: 0 compliant, 2 findings, 3 error,
//! 64 usage error.

mod common;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use rekognition_guard::aws::AwsBackend;
use rekognition_guard::Policy;
use serde_json::json;

/// Audit an S3 bucket's posture for storing face images.
#[derive(Debug, Parser)]
#[command(name = "audit_bucket")]
struct Cli {
    /// The bucket to audit.
    #[arg(long)]
    bucket: String,
    /// Allowed KMS key ARN for default encryption (repeatable).
    #[arg(long = "kms-key-arn", value_name = "ARN")]
    kms_key_arns: Vec<String>,
    /// The account that must own the bucket.
    #[arg(long, value_name = "ACCOUNT_ID")]
    expected_bucket_owner: Option<String>,
    /// AWS region.
    #[arg(long)]
    region: Option<String>,
    /// An https endpoint for S3 (path-style addressing).
    #[arg(long, value_name = "URL")]
    endpoint_url: Option<String>,
    /// Extra trusted CA certificates (PEM), besides the system's roots.
    /// Without it, AWS_CA_BUNDLE or the profile's ca_bundle is the only
    /// trusted CA, if set (as in the AWS CLI).
    #[arg(long, value_name = "PEM")]
    ca_bundle: Option<PathBuf>,
}

fn fail(code: u8, bucket: &str, message: &str) -> ExitCode {
    eprintln!("audit_bucket: {message}");
    println!(
        "{}",
        json!({ "bucket": bucket, "compliant": false, "findings": [], "error": message })
    );
    ExitCode::from(code)
}

fn policy(cli: &Cli) -> Result<Policy, String> {
    common::with_keys_and_owner(
        Policy::any_kms_key().with_versioning_required(false),
        &cli.kms_key_arns,
        cli.expected_bucket_owner.as_deref(),
    )
}

#[tokio::main]
async fn main() -> ExitCode {
    common::init_tracing();
    let cli = match common::parse::<Cli>() {
        Ok(cli) => cli,
        Err(common::NotParsed::Shown) => return ExitCode::SUCCESS,
        Err(common::NotParsed::Usage(message)) => return fail(64, "", &message),
    };
    let policy = match policy(&cli) {
        Ok(p) => p,
        Err(message) => return fail(64, &cli.bucket, &message),
    };

    let sdk_config = common::load_sdk_config(cli.region.as_deref()).await;
    let mut builder = AwsBackend::builder().sdk_config(&sdk_config);
    if let Some(url) = &cli.endpoint_url {
        builder = builder.endpoint_url(url);
    }
    if let Some(path) = &cli.ca_bundle {
        match std::fs::read(path) {
            Ok(pem) => builder = builder.ca_bundle_pem(pem),
            Err(e) => {
                return fail(
                    3,
                    &cli.bucket,
                    &format!("cannot read CA bundle {}: {e}", path.display()),
                )
            }
        }
    }
    let backend = match builder.build() {
        Ok(b) => b,
        Err(e) => return fail(3, &cli.bucket, &common::explain(&e)),
    };
    // An insecure endpoint is a refusal here, a backend error anywhere
    // else: either way exit 3 (the documented contract).
    let audit = match rekognition_guard::PhotoStore::new(backend, policy)
        .audit_bucket(&cli.bucket)
        .await
    {
        Ok(a) => a,
        Err(e) => return fail(3, &cli.bucket, &common::explain(&e)),
    };

    eprintln!(
        "bucket {}: {}",
        audit.bucket,
        if audit.is_compliant() {
            "compliant"
        } else {
            "NOT compliant"
        }
    );
    for f in &audit.findings {
        eprintln!(
            "  [{}] {}: {}\n      fix: {}",
            f.severity, f.id, f.detail, f.fix
        );
    }
    let findings: Vec<_> = audit
        .findings
        .iter()
        .map(|f| json!({ "id": f.id, "severity": f.severity.to_string(), "detail": f.detail, "fix": f.fix }))
        .collect();
    println!(
        "{}",
        json!({ "bucket": audit.bucket, "compliant": audit.is_compliant(), "findings": findings })
    );
    ExitCode::from(if audit.is_compliant() { 0 } else { 2 })
}
