//! Face Liveness at the kiosk, from the command line: the server half.
//!
//! ```text
//! cargo run --example liveness_checkout -- start --member s3://B/K?versionId=V \
//!     --output-bucket B --kms-key-arn ARN --opt-out-attestation TEXT
//! cargo run --example liveness_checkout -- verify --session-id ID --member s3://B/K?versionId=V \
//!     --output-bucket B --kms-key-arn ARN --opt-out-attestation TEXT
//! ```
//!
//! `start` creates a Face Liveness session for the member (Rekognition
//! `CreateFaceLivenessSession`) after checking the output bucket's posture;
//! the kiosk's client component (AWS Amplify `FaceLivenessDetector`) then
//! streams the selfie video with the session id. `verify` reads the
//! session's results and compares the reference image with the member's
//! enrolled photo.
//!
//! `start` options: `--member REF` (the member's enrolled photo), `--output-bucket B`,
//! `--output-prefix P`, `--kms-key-arn ARN` (the session's key, also the
//! allowlist). `verify` options: `--session-id ID`, `--member REF` (the
//! enrolled photo, with its `?versionId=`), `--output-prefix P` and
//! `--output-bucket B` (required, as given to `start`: the reference
//! image is accepted only where a session for this member at this kiosk
//! puts it; without it `verify` is a usage error),
//! `--liveness-threshold N` (default 80), `--threshold N` (similarity,
//! default 99), repeatable `--kms-key-arn ARN`, `--expected-bucket-owner
//! ACCOUNT_ID`, `--require-versioning`. Both: `--opt-out-attestation TEXT`
//! or `--verify-opt-out`, `--kiosk ID`, `--allow-face-movement-challenge`
//! (also request and accept the lighter `FaceMovementChallenge`; by default
//! only `FaceMovementAndLightChallenge`), `--region R`, `--endpoint-url URL`,
//! `--ca-bundle PEM`. The standard AWS credential chain, `AWS_ENDPOINT_URL*`,
//! `AWS_CA_BUNDLE` and the profile's `ca_bundle` apply.
//!
//! Output: readable lines on stderr; the last line on stdout is one JSON
//! object. `start`: `decision` (`started`, `refused`, `error`),
//! `session_id`, `expires_at` (RFC 3339), `member`, `reasons`. `verify`:
//! `decision` (`match`, `no_match`, `not_live`, `refused`, `error`),
//! `liveness` (`status`, `confidence`, `challenge`: `type` and `version`
//! as Rekognition reported them, or null), `similarity`, `reasons`,
//! `threshold`, `liveness_threshold`, `session_id`, and the checked
//! `source` (the member's photo) and `target` (the session's reference
//! image) as in `compare_faces`. Never image bytes or credentials.
//!
//! Exit status, `start`: 0 started; 2 refused by policy (no session); 3
//! any other error; 64 usage error. `verify`: 0 match; 1 no match or not
//! live (including a session that has not finished: `liveness.status`
//! says `CREATED` or `IN_PROGRESS`); 2 refused by policy (nothing
//! compared); 3 any other error; 64 usage error.
//!
//! A session id is verified once per guard, and the failure limit counts
//! per guard, so here once per run and never across runs: a service that
//! verifies sessions keeps one guard for all of them. Across processes,
//! Rekognition's three-minute session lifetime bounds a replay. `start`
//! and `verify` must name the same `--kiosk` (sessions are bound to it).

mod common;

use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use rekognition_guard::liveness::{
    KioskId, LivenessDecision, LivenessPolicy, LivenessSession, LivenessSessionId,
    LivenessThreshold, LivenessVerdict,
};
use rekognition_guard::{
    ConfigError, Error, FaceLiveness, Guard, KmsKeyArn, OptOutEvidence, PhotoStore, Policy,
    S3ObjectRef, SimilarityThreshold, Verdict,
};
use serde_json::{json, Value};

/// The server half of Amazon Rekognition Face Liveness, under the guard.
#[derive(Debug, Parser)]
#[command(name = "liveness_checkout")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Start a Face Liveness session for a member.
    Start(StartArgs),
    /// Verify a session and compare its reference image with the member's photo.
    Verify(VerifyArgs),
}

#[derive(Debug, Args)]
struct StartArgs {
    /// The member's enrolled photo: s3://BUCKET/KEY?versionId=V.
    #[arg(long, value_name = "REF")]
    member: String,
    /// Where Rekognition stores the reference image.
    #[arg(long, value_name = "BUCKET")]
    output_bucket: String,
    /// A key prefix for the output (the member's tag is appended).
    #[arg(long, value_name = "P")]
    output_prefix: Option<String>,
    /// The KMS key for the session (and the allowed key of the output bucket).
    #[arg(long = "kms-key-arn", value_name = "ARN")]
    kms_key_arn: String,
    #[command(flatten)]
    common: CommonArgs,
}

#[derive(Debug, Args)]
struct VerifyArgs {
    /// The session id `start` printed.
    #[arg(long, value_name = "ID")]
    session_id: String,
    /// The member's enrolled photo the session was started for.
    #[arg(long, value_name = "REF")]
    member: String,
    /// The output bucket sessions were started with (required: the
    /// reference image is accepted only from it).
    #[arg(long, value_name = "BUCKET")]
    output_bucket: Option<String>,
    /// The output prefix sessions were started with (the same as `start`'s).
    #[arg(long, value_name = "P")]
    output_prefix: Option<String>,
    /// Liveness confidence needed, 0 to 100 (default 80).
    #[arg(long, value_name = "N")]
    liveness_threshold: Option<f32>,
    /// Similarity needed for a match, 0 to 100 (default 99).
    #[arg(long, value_name = "N")]
    threshold: Option<f32>,
    /// Allowed KMS key ARN (repeatable); none means any KMS key.
    #[arg(long = "kms-key-arn", value_name = "ARN")]
    kms_key_arns: Vec<String>,
    /// The account that must own every bucket.
    #[arg(long, value_name = "ACCOUNT_ID")]
    expected_bucket_owner: Option<String>,
    /// Refuse S3 objects without a version id.
    #[arg(long)]
    require_versioning: bool,
    #[command(flatten)]
    common: CommonArgs,
}

#[derive(Debug, Args)]
struct CommonArgs {
    #[command(flatten)]
    opt_out: common::OptOutArgs,
    /// The kiosk (device) id: sessions are bound to it, and the failure
    /// limit counts per kiosk within one run (see the docs).
    #[arg(long, value_name = "ID", default_value = "liveness_checkout")]
    kiosk: String,
    /// Also request and accept FaceMovementChallenge, the lighter
    /// challenge without the light sequence (by default only
    /// FaceMovementAndLightChallenge).
    #[arg(long)]
    allow_face_movement_challenge: bool,
    #[command(flatten)]
    aws: common::AwsArgs,
}

/// How a run ended, for the exit status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Approved = 0,
    NotApproved = 1,
    Refused = 2,
    Error = 3,
    Usage = 64,
}

/// A failure before the guarded call, in this command's terms.
struct Failure {
    outcome: Outcome,
    reason: String,
}

impl Failure {
    fn usage(reason: String) -> Self {
        Self {
            outcome: Outcome::Usage,
            reason,
        }
    }

    fn of(e: &Error) -> Self {
        let outcome = if e.as_refusal().is_some() {
            Outcome::Refused
        } else {
            Outcome::Error
        };
        Self {
            outcome,
            reason: common::explain(e),
        }
    }

    fn config(e: &ConfigError) -> Self {
        let (outcome, reason) = match e {
            ConfigError::InsecureEndpoint(_) => (Outcome::Refused, e.to_string()),
            _ => (Outcome::Error, common::explain_config(e)),
        };
        Self { outcome, reason }
    }

    fn label(&self) -> &'static str {
        match self.outcome {
            Outcome::Refused => "refused",
            _ => "error",
        }
    }
}

/// Face Liveness for this run: the AWS backend from the standard chain
/// and the flags, the policy, the liveness policy and the opt-out
/// evidence (without evidence there is no guard: refused).
async fn face_liveness(
    common: &CommonArgs,
    policy: Policy,
    liveness: LivenessPolicy,
) -> Result<FaceLiveness, Failure> {
    let (builder, verifier) =
        common::aws_builders(&common.aws)
            .await
            .map_err(|reason| Failure {
                outcome: Outcome::Error,
                reason,
            })?;
    let backend = builder
        .build()
        .map_err(|e| Failure::config(&common::config_of(e)))?;
    let liveness = if common.allow_face_movement_challenge {
        liveness.allow_face_movement_challenge()
    } else {
        liveness
    };
    let evidence = if common.opt_out.verify_opt_out {
        let verifier = verifier
            .build()
            .map_err(|e| Failure::config(&common::config_of(e)))?;
        OptOutEvidence::verified_by(verifier)
    } else if let Some(text) = &common.opt_out.opt_out_attestation {
        OptOutEvidence::attested(text)
            .map_err(|e| Failure::usage(format!("--opt-out-attestation: {e}")))?
    } else {
        return Err(Failure {
            outcome: Outcome::Refused,
            reason: common::NO_OPT_OUT.to_owned(),
        });
    };
    let store = PhotoStore::new(backend.clone(), policy);
    Ok(Guard::new(store, backend, evidence).liveness(liveness))
}

fn parse_member(member: &str) -> Result<S3ObjectRef, Failure> {
    S3ObjectRef::parse(member).map_err(|e| Failure::usage(format!("--member: {e}")))
}

fn parse_kiosk(kiosk: &str) -> Result<KioskId, Failure> {
    KioskId::new(kiosk).map_err(|e| Failure::usage(format!("--kiosk: {e}")))
}

/// RFC 3339, UTC, whole seconds.
fn rfc3339(time: std::time::SystemTime) -> String {
    aws_smithy_types::DateTime::from(time)
        .fmt(aws_smithy_types::date_time::Format::DateTime)
        .unwrap_or_default()
}

async fn start(args: StartArgs) -> (Outcome, Value) {
    let report = |failure: Failure| {
        (
            failure.outcome,
            json!({
                "decision": failure.label(), "session_id": null, "expires_at": null,
                "member": args.member, "reasons": [failure.reason],
            }),
        )
    };
    let member = match parse_member(&args.member) {
        Ok(m) => m,
        Err(f) => return report(f),
    };
    let kiosk = match parse_kiosk(&args.common.kiosk) {
        Ok(k) => k,
        Err(f) => return report(f),
    };
    let key = match KmsKeyArn::parse(&args.kms_key_arn) {
        Ok(k) => k,
        Err(e) => return report(Failure::usage(format!("--kms-key-arn: {e}"))),
    };
    let mut liveness = match LivenessPolicy::new(&args.output_bucket) {
        Ok(l) => l,
        Err(e) => return report(Failure::usage(format!("--output-bucket: {e}"))),
    };
    if let Some(prefix) = &args.output_prefix {
        liveness = match liveness.with_output_prefix(prefix) {
            Ok(l) => l,
            Err(e) => return report(Failure::usage(format!("--output-prefix: {e}"))),
        };
    }
    let policy = Policy::allow_kms_key(key).with_versioning_required(false);
    let liveness = match face_liveness(&args.common, policy, liveness).await {
        Ok(l) => l,
        Err(f) => return report(f),
    };
    match liveness.start_session(&member, &kiosk).await {
        Ok(session) => (Outcome::Approved, started(&session)),
        Err(e) => report(Failure::of(&e)),
    }
}

fn started(session: &LivenessSession) -> Value {
    json!({
        "decision": "started",
        "session_id": session.id.as_str(),
        "expires_at": rfc3339(session.expires_at),
        "member": session.member.to_string(),
        "reasons": [],
    })
}

/// The verify options checked before anything else.
struct VerifyOptions {
    session_id: LivenessSessionId,
    member: S3ObjectRef,
    kiosk: KioskId,
    policy: Policy,
    liveness: LivenessPolicy,
}

fn verify_options(args: &VerifyArgs) -> Result<VerifyOptions, Failure> {
    let session_id = LivenessSessionId::parse(&args.session_id)
        .map_err(|e| Failure::usage(format!("--session-id: {e}")))?;
    let mut policy = Policy::any_kms_key().with_versioning_required(args.require_versioning);
    if let Some(t) = args.threshold {
        policy = policy.with_similarity_threshold(
            SimilarityThreshold::new(t).map_err(|e| Failure::usage(format!("--threshold: {e}")))?,
        );
    }
    let policy = common::with_keys_and_owner(
        policy,
        &args.kms_key_arns,
        args.expected_bucket_owner.as_deref(),
    )
    .map_err(Failure::usage)?;
    // The reference image is trusted only in the bucket sessions were
    // told to use: without it, nothing can be verified.
    let bucket = args.output_bucket.as_deref().ok_or_else(|| {
        Failure::usage(
            "--output-bucket is required: the session's reference image is accepted only from the output bucket sessions were started with".to_owned(),
        )
    })?;
    let mut liveness =
        LivenessPolicy::new(bucket).map_err(|e| Failure::usage(format!("--output-bucket: {e}")))?;
    if let Some(prefix) = &args.output_prefix {
        liveness = liveness
            .with_output_prefix(prefix)
            .map_err(|e| Failure::usage(format!("--output-prefix: {e}")))?;
    }
    if let Some(t) = args.liveness_threshold {
        liveness = liveness.with_threshold(
            LivenessThreshold::new(t)
                .map_err(|e| Failure::usage(format!("--liveness-threshold: {e}")))?,
        );
    }
    Ok(VerifyOptions {
        session_id,
        member: parse_member(&args.member)?,
        kiosk: parse_kiosk(&args.common.kiosk)?,
        policy,
        liveness,
    })
}

async fn verify(args: VerifyArgs) -> (Outcome, Value) {
    let failed = |failure: Failure, threshold: f32, liveness_threshold: f32| {
        (
            failure.outcome,
            json!({
                "decision": failure.label(),
                "liveness": { "status": null, "confidence": null, "challenge": null },
                "similarity": null,
                "reasons": [failure.reason],
                "threshold": threshold,
                "liveness_threshold": liveness_threshold,
                "session_id": args.session_id,
                "source": null,
                "target": null,
            }),
        )
    };
    let defaults = (
        SimilarityThreshold::default().get(),
        LivenessThreshold::default().get(),
    );
    let options = match verify_options(&args) {
        Ok(o) => o,
        Err(f) => return failed(f, defaults.0, defaults.1),
    };
    let thresholds = (
        options.policy.similarity_threshold().get(),
        options.liveness.threshold().get(),
    );
    let liveness = match face_liveness(&args.common, options.policy, options.liveness).await {
        Ok(l) => l,
        Err(f) => return failed(f, thresholds.0, thresholds.1),
    };
    match liveness
        .verify_session(&options.session_id, &options.member, &options.kiosk)
        .await
    {
        Ok(d) => verified(&d),
        Err(e) => failed(Failure::of(&e), thresholds.0, thresholds.1),
    }
}

fn verified(d: &LivenessDecision) -> (Outcome, Value) {
    let (decision, outcome, reasons) = match &d.verdict {
        LivenessVerdict::Compared(Verdict::Match { .. }) => ("match", Outcome::Approved, vec![]),
        LivenessVerdict::Compared(v @ Verdict::NoFace { .. }) => {
            ("no_match", Outcome::NotApproved, vec![v.to_string()])
        }
        LivenessVerdict::Compared(v) => (
            "no_match",
            Outcome::NotApproved,
            vec![format!("{v} at threshold {}", d.threshold)],
        ),
        LivenessVerdict::NotLive(reason) => {
            ("not_live", Outcome::NotApproved, vec![reason.to_string()])
        }
        LivenessVerdict::NotFinished(status) => (
            "not_live",
            Outcome::NotApproved,
            vec![format!(
                "the session has not finished ({status}); verify again when the kiosk is done"
            )],
        ),
        _ => ("not_live", Outcome::NotApproved, vec![d.to_string()]),
    };
    (
        outcome,
        json!({
            "decision": decision,
            "liveness": {
                "status": d.status.as_api(),
                "confidence": d.confidence,
                "challenge": d.challenge.as_ref().map(|c| json!({
                    "type": c.challenge_type.as_api(),
                    "version": c.version,
                })),
            },
            "similarity": d.similarity(),
            "reasons": reasons,
            "threshold": d.threshold.get(),
            "liveness_threshold": d.liveness_threshold.get(),
            "session_id": d.session_id.as_str(),
            "source": d.source.as_ref().map(common::describe_checked),
            "target": d.target.as_ref().map(common::describe_checked),
            "kiosk_text": d.kiosk_text(),
        }),
    )
}

#[tokio::main]
async fn main() -> ExitCode {
    common::init_tracing();
    let cli = match common::parse::<Cli>() {
        Ok(cli) => cli,
        Err(common::NotParsed::Shown) => return ExitCode::SUCCESS,
        Err(common::NotParsed::Usage(message)) => {
            eprintln!("liveness_checkout: {message}");
            eprintln!("usage: liveness_checkout start|verify [options]; see --help");
            println!("{}", json!({ "decision": "error", "reasons": [message] }));
            return ExitCode::from(Outcome::Usage as u8);
        }
    };
    let (outcome, report) = match cli.command {
        Command::Start(args) => start(args).await,
        Command::Verify(args) => verify(args).await,
    };
    eprintln!(
        "decision: {}",
        report["decision"].as_str().unwrap_or("error")
    );
    if let Some(reasons) = report["reasons"].as_array() {
        for reason in reasons {
            eprintln!("  - {}", reason.as_str().unwrap_or_default());
        }
    }
    println!("{report}");
    ExitCode::from(outcome as u8)
}
