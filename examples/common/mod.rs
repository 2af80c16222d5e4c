//! Shared by the examples: logging and command-line plumbing.
#![allow(dead_code)] // each example uses part of it

/// Logs to stderr, filtered by `RUST_LOG` (off by default); audit events
/// appear with `RUST_LOG=rekognition_guard=info`.
pub fn init_tracing() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("off")),
        )
        .with_writer(std::io::stderr)
        .init();
}

/// Why parsing the command line did not give options.
pub enum NotParsed {
    /// `--help` or `--version` was printed: exit 0.
    Shown,
    /// A usage error, as its first line.
    Usage(String),
}

/// Parses the command line without letting clap exit (its status for
/// usage errors is 2, and the examples' contracts use 64).
pub fn parse<T: clap::Parser>() -> Result<T, NotParsed> {
    T::try_parse().map_err(|e| match e.kind() {
        clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion => {
            let _ = e.print();
            NotParsed::Shown
        }
        _ => NotParsed::Usage(
            e.to_string()
                .lines()
                .next()
                .unwrap_or("invalid arguments")
                .to_owned(),
        ),
    })
}

/// The standard AWS configuration chain, with `region` if given.
pub async fn load_sdk_config(region: Option<&str>) -> aws_types::SdkConfig {
    let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest());
    if let Some(region) = region {
        loader = loader.region(aws_config::Region::new(region.to_owned()));
    }
    loader.load().await
}

/// Adds the allowlist from `--kms-key-arn` (repeatable) and the owner from
/// `--expected-bucket-owner` to `policy`; a bad value is an error naming
/// its flag.
pub fn with_keys_and_owner(
    mut policy: rekognition_guard::Policy,
    kms_key_arns: &[String],
    expected_bucket_owner: Option<&str>,
) -> Result<rekognition_guard::Policy, String> {
    use rekognition_guard::{AccountId, KmsKeyArn};
    for arn in kms_key_arns {
        policy =
            policy.with_kms_key(KmsKeyArn::parse(arn).map_err(|e| format!("--kms-key-arn: {e}"))?);
    }
    if let Some(owner) = expected_bucket_owner {
        policy = policy.with_expected_bucket_owner(
            AccountId::parse(owner).map_err(|e| format!("--expected-bucket-owner: {e}"))?,
        );
    }
    Ok(policy)
}

/// A library error in this command's terms: the message, and the flag or
/// variable that fixes it when the library's advice names its Rust API.
pub fn explain(error: &rekognition_guard::Error) -> String {
    use rekognition_guard::{BackendErrorKind, Error};
    let hint = match error {
        Error::Config(config) => return explain_config(config),
        Error::Backend(b) if b.kind() == BackendErrorKind::CertificateNotTrusted => {
            Some("with this command: --ca-bundle PEM adds a trusted CA, AWS_CA_BUNDLE=PEM makes it the only one")
        }
        _ => None,
    };
    with_hint(error.to_string(), hint)
}

/// A configuration error in this command's terms (see [`explain`]).
/// The configuration error of a failed backend or verifier build (a build
/// fails in no other way).
pub fn config_of(error: rekognition_guard::Error) -> rekognition_guard::ConfigError {
    match error {
        rekognition_guard::Error::Config(c) => c,
        other => rekognition_guard::ConfigError::Invalid(other.to_string()),
    }
}

pub fn explain_config(error: &rekognition_guard::ConfigError) -> String {
    use rekognition_guard::ConfigError;
    let hint = match error {
        ConfigError::MissingRegion { .. } | ConfigError::InvalidRegion { .. } => {
            Some("with this command: --region R or AWS_REGION=R")
        }
        _ => None,
    };
    with_hint(error.to_string(), hint)
}

fn with_hint(message: String, hint: Option<&str>) -> String {
    match hint {
        Some(hint) => format!("{message} ({hint})"),
        None => message,
    }
}

/// A checked image as the command-line contracts print it: for S3 the
/// bucket, key, version, whether it is pinned, the KMS key ARN, the
/// encryption and where the check came from; for bytes the format and
/// size. Never image bytes.
pub fn describe_checked(image: &rekognition_guard::CheckedImage) -> serde_json::Value {
    use rekognition_guard::{CheckOrigin, CheckedImage};
    use serde_json::json;
    match image {
        CheckedImage::S3 { object: o, origin } => json!({
            "type": "s3", "verified": true, "bucket": o.reference().bucket(), "key": o.reference().key(),
            "version": o.reference().version_id(), "pinned": o.is_pinned(), "kms_key_arn": o.kms_key_id(),
            "encryption": o.encryption().as_header(),
            "check": match origin {
                CheckOrigin::Cache { age } => json!({ "cached": true, "age_ms": age.as_millis() as u64 }),
                _ => json!({ "cached": false, "age_ms": 0 }),
            },
        }),
        CheckedImage::Bytes { format, len } => json!({
            "type": "bytes", "verified": true, "format": format.to_string(), "size": len,
        }),
        _ => json!({ "type": "unknown", "verified": true }),
    }
}

/// Where AWS is: the flags every AWS-facing example shares.
#[derive(Debug, clap::Args)]
pub struct AwsArgs {
    /// AWS region (else from the environment or profile).
    #[arg(long, global = true, value_name = "R")]
    pub region: Option<String>,
    /// One endpoint for S3 and Rekognition (https only; S3 path-style).
    #[arg(long, global = true, value_name = "URL")]
    pub endpoint_url: Option<String>,
    /// Extra trusted CA certificates (PEM), besides the system's roots.
    /// Without it, AWS_CA_BUNDLE or the profile's ca_bundle is the only
    /// trusted CA, if set (as in the AWS CLI).
    #[arg(long, global = true, value_name = "PEM")]
    pub ca_bundle: Option<std::path::PathBuf>,
}

/// How the account is opted out: the flags of the examples that call
/// Rekognition.
#[derive(Debug, clap::Args)]
pub struct OptOutArgs {
    /// Opt-out evidence: a reference such as an AWS Support case id.
    #[arg(long, global = true, value_name = "TEXT")]
    pub opt_out_attestation: Option<String>,
    /// Verify the opt-out through AWS Organizations (DescribeEffectivePolicy).
    #[arg(long, global = true, conflicts_with = "opt_out_attestation")]
    pub verify_opt_out: bool,
}

/// The refusal without opt-out evidence, in the examples' terms (the
/// library's message names its Rust API).
pub const NO_OPT_OUT: &str = "no AI services opt-out evidence was given: pass --verify-opt-out (reads the AWS Organizations AI services opt-out policy in effect for the account that calls Rekognition) or --opt-out-attestation TEXT (how your account is opted out, e.g. the AWS Support case id)";

/// The AWS backend and the Organizations verifier builders for `aws`:
/// the standard configuration chain, the endpoint and the CA bundle (one
/// HTTP client shared by both).
///
/// # Errors
/// A message when the CA bundle cannot be read or holds no certificate.
pub async fn aws_builders(
    aws: &AwsArgs,
) -> Result<
    (
        rekognition_guard::aws::AwsBackendBuilder,
        rekognition_guard::aws::OrganizationsVerifierBuilder,
    ),
    String,
> {
    use rekognition_guard::aws::{https_client_trusting, AwsBackend, OrganizationsOptOutVerifier};
    let sdk_config = load_sdk_config(aws.region.as_deref()).await;
    let mut backend = AwsBackend::builder().sdk_config(&sdk_config);
    let mut verifier = OrganizationsOptOutVerifier::builder().sdk_config(&sdk_config);
    if let Some(url) = &aws.endpoint_url {
        backend = backend.endpoint_url(url);
        verifier = verifier.endpoint_url(url);
    }
    if let Some(path) = &aws.ca_bundle {
        let pem = std::fs::read(path)
            .map_err(|e| format!("cannot read CA bundle {}: {e}", path.display()))?;
        let client = https_client_trusting(&pem, true).map_err(|e| e.to_string())?;
        backend = backend.http_client(client.clone());
        verifier = verifier.http_client(client);
    }
    Ok((backend, verifier))
}

/// Why the photo store for an S3-only command could not be made.
pub enum NoStore {
    /// The AWS flags or environment are unusable (the message says why).
    Setup(String),
    /// The configuration is unsafe or incomplete.
    Config(rekognition_guard::ConfigError),
}

/// The AWS backend and a photo store under `policy`, for a command that
/// calls S3 only (erasure, fleet audits): no opt-out evidence is needed,
/// as nothing is sent to an AI service.
pub async fn photo_store(
    aws: &AwsArgs,
    policy: rekognition_guard::Policy,
) -> Result<
    (
        rekognition_guard::aws::AwsBackend,
        rekognition_guard::PhotoStore,
    ),
    NoStore,
> {
    let (builder, _) = aws_builders(aws).await.map_err(NoStore::Setup)?;
    let backend = builder.build().map_err(|e| NoStore::Config(config_of(e)))?;
    let store = rekognition_guard::PhotoStore::new(backend.clone(), policy);
    Ok((backend, store))
}

/// Reads an IMAGE argument: an S3 reference, or a local file sent as bytes.
pub fn read_image(arg: &str) -> Result<rekognition_guard::ImageInput, String> {
    use rekognition_guard::{FaceImage, ImageInput, S3ObjectRef};
    if arg.starts_with("s3://") {
        return S3ObjectRef::parse(arg)
            .map(ImageInput::from)
            .map_err(|e| e.to_string());
    }
    let bytes = std::fs::read(arg).map_err(|e| format!("cannot read image file {arg:?}: {e}"))?;
    FaceImage::from_vec(bytes)
        .map(ImageInput::from)
        .map_err(|e| format!("{arg:?}: {e}"))
}

/// `--ledger s3://BUCKET/PREFIX`: the examples that record decisions and
/// erasures in a ledger.
#[derive(Debug, clap::Args)]
pub struct LedgerArgs {
    /// Record the result in the ledger at s3://BUCKET/PREFIX (S3 Object
    /// Lock on the bucket; records under the first --kms-key-arn, else the
    /// bucket's default key, with the bucket's default retention).
    #[arg(long, global = true, value_name = "S3_PREFIX")]
    pub ledger: Option<String>,
}

/// Why the ledger could not be used.
pub enum NoLedger {
    /// The bucket is not set up for a ledger: refused before the operation.
    Refused(String),
    /// The bucket's configuration could not be read.
    Error(String),
}

/// The ledger `--ledger` names (`Ok(None)` without the flag), after
/// checking its bucket has S3 Object Lock enabled
/// (`GetObjectLockConfiguration`), before the operation runs.
pub async fn ledger(
    location: Option<&rekognition_guard::ledger::LedgerPolicy>,
    backend: &rekognition_guard::aws::AwsBackend,
) -> Result<Option<rekognition_guard::ledger::Ledger>, NoLedger> {
    use aws_sdk_s3::types::ObjectLockEnabled;
    let Some(policy) = location else {
        return Ok(None);
    };
    let answer = backend
        .s3_client()
        .get_object_lock_configuration()
        .bucket(policy.bucket())
        .send()
        .await;
    let enabled = match &answer {
        Ok(out) => {
            out.object_lock_configuration()
                .and_then(|c| c.object_lock_enabled())
                == Some(&ObjectLockEnabled::Enabled)
        }
        Err(e)
            if e.as_service_error()
                .and_then(|s| aws_smithy_types::error::metadata::ProvideErrorMetadata::code(s))
                == Some("ObjectLockConfigurationNotFoundError") =>
        {
            false
        }
        Err(e) => {
            return Err(NoLedger::Error(format!(
                "the ledger bucket {}'s Object Lock configuration could not be read: {}",
                policy.bucket(),
                aws_smithy_types::error::display::DisplayErrorContext(e)
            )))
        }
    };
    if !enabled {
        return Err(NoLedger::Refused(format!(
            "the ledger bucket {} does not have S3 Object Lock enabled: a ledger needs it (create the bucket with --object-lock-enabled-for-bucket and a default retention); nothing was done",
            policy.bucket()
        )));
    }
    Ok(Some(rekognition_guard::ledger::Ledger::new(
        backend.clone(),
        policy.clone(),
    )))
}

/// The ledger policy `--ledger` names, its records under `kms_key`.
pub fn ledger_policy(
    args: &LedgerArgs,
    kms_key: Option<&str>,
) -> Result<Option<rekognition_guard::ledger::LedgerPolicy>, String> {
    let Some(location) = &args.ledger else {
        return Ok(None);
    };
    let mut policy = rekognition_guard::ledger::LedgerPolicy::parse(location)
        .map_err(|e| format!("--ledger: {e}"))?;
    if let Some(key) = kms_key {
        policy = policy.with_kms_key(
            rekognition_guard::KmsKeyArn::parse(key).map_err(|e| format!("--kms-key-arn: {e}"))?,
        );
    }
    Ok(Some(policy))
}

/// A ledger receipt in the examples' JSON: `{sequence, hash}`, or null.
pub fn ledger_json(
    receipt: Option<&rekognition_guard::ledger::LedgerReceipt>,
) -> serde_json::Value {
    match receipt {
        Some(r) => serde_json::json!({ "sequence": r.sequence, "hash": r.hash }),
        None => serde_json::Value::Null,
    }
}
