//! Compare two faces through the guard, from the command line.
//!
//! ```text
//! cargo run --example compare_faces -- --source IMAGE --target IMAGE [options]
//! ```
//!
//! IMAGE is `s3://BUCKET/KEY` (optionally `?versionId=VERSION`) or a local
//! JPEG/PNG file, sent as bytes. Keys may contain spaces and non-ASCII
//! characters.
//!
//! Options: `--threshold N` (0-100, default 99), `--region R`,
//! `--endpoint-url URL` (both services; S3 then uses path-style
//! addressing), `--ca-bundle PEM` (extra trusted CA; without it
//! `AWS_CA_BUNDLE` or the profile's `ca_bundle`, if set, is the only one),
//! `--kms-key-arn ARN` (repeatable allowlist; none means any KMS key),
//! `--expected-bucket-owner ACCOUNT_ID`, `--require-versioning`,
//! `--opt-out-attestation TEXT`, `--verify-opt-out`, `--ledger S3_PREFIX`. The standard AWS
//! credential chain and `AWS_ENDPOINT_URL`, `AWS_ENDPOINT_URL_S3`,
//! `AWS_ENDPOINT_URL_REKOGNITION` apply; an explicit flag wins.
//!
//! Without opt-out evidence the comparison is refused.
//!
//! Output: readable lines on stderr; the last line on stdout is one JSON
//! object: `decision` (`match`, `no_match`, `refused`, `error`),
//! `similarity` (number or null), `reasons` (strings), `threshold`,
//! `opt_out` (`evidence`, `detail`, and `account`: for a verified opt-out
//! the account it was verified for, which called Rekognition), and `source` / `target` (bucket, key, version, KMS key ARN as
//! verified, or format and size for bytes), and `ledger` (`sequence`,
//! `hash` of the decision's record with `--ledger`, else null). Never
//! image bytes or credentials.
//!
//! `--ledger s3://BUCKET/PREFIX` records the guard's decision (a refusal
//! by the guard too, whose `ledger` is null: it carries no receipt) in the
//! ledger there, under the first `--kms-key-arn` (else the bucket's
//! default key) with the bucket's default retention; a ledger bucket
//! without S3 Object Lock is refused before anything is sent, and a match
//! or no-match whose record cannot be written is an error (exit 3): none
//! is reported without its record.
//!
//! Exit status: 0 match; 1 no match (including no face found); 2 refused
//! by policy (nothing sent to Rekognition); 3 any other error (invalid
//! image input, AWS or network error); 64 usage error (unknown or malformed
//! options and option values).

mod common;

use std::process::ExitCode;

use clap::Parser;
use rekognition_guard::{
    ConfigError, Decision, Error, Guard, ImageInput, OptOutEvidence, PhotoStore, Policy,
    SimilarityThreshold, Verdict,
};
use serde_json::{json, Value};

/// Compare two faces with Amazon Rekognition, refusing unless every S3
/// image is SSE-KMS encrypted, every endpoint is HTTPS and the AI-services
/// opt-out is evidenced.
#[derive(Debug, Parser)]
#[command(name = "compare_faces")]
struct Cli {
    /// The reference image: s3://BUCKET/KEY[?versionId=V] or a local JPEG/PNG file.
    #[arg(long, value_name = "IMAGE")]
    source: String,
    /// The image to compare: s3://BUCKET/KEY[?versionId=V] or a local JPEG/PNG file.
    #[arg(long, value_name = "IMAGE")]
    target: String,
    /// Similarity needed for a match, 0 to 100 (default 99).
    #[arg(long, value_name = "N")]
    threshold: Option<f32>,
    #[command(flatten)]
    aws: common::AwsArgs,
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
    opt_out: common::OptOutArgs,
    #[command(flatten)]
    ledger: common::LedgerArgs,
}

/// The contract's exit statuses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Exit {
    Match = 0,
    NoMatch = 1,
    Refused = 2,
    Error = 3,
    Usage = 64,
}

/// What one run decided, ready for both outputs.
struct Report {
    decision: &'static str,
    similarity: Option<f32>,
    reasons: Vec<String>,
    threshold: f32,
    opt_out: Value,
    source: Value,
    target: Value,
    ledger: Value,
}

impl Report {
    fn exit(&self) -> Exit {
        match self.decision {
            "match" => Exit::Match,
            "no_match" => Exit::NoMatch,
            "refused" => Exit::Refused,
            _ => Exit::Error,
        }
    }

    fn json(&self) -> Value {
        json!({
            "decision": self.decision,
            "similarity": self.similarity,
            "reasons": self.reasons,
            "threshold": self.threshold,
            "opt_out": self.opt_out,
            "source": self.source,
            "target": self.target,
            "ledger": self.ledger,
        })
    }
}

/// How an image is described before it was verified.
fn describe_input(input: &Result<ImageInput, String>) -> Value {
    match input {
        Ok(ImageInput::S3(r)) => json!({
            "type": "s3", "verified": false, "bucket": r.bucket(), "key": r.key(),
            "version": r.version_id(), "kms_key_arn": null,
        }),
        Ok(ImageInput::Bytes(b)) => json!({
            "type": "bytes", "verified": false, "format": b.format().to_string(), "size": b.expose_bytes().len(),
        }),
        Ok(_) => json!({ "type": "unknown", "verified": false }),
        Err(_) => json!({ "type": "invalid", "verified": false }),
    }
}

/// The verdict as a decision label and reasons; a match is the only `match`.
fn from_decision(d: &Decision) -> (&'static str, Vec<String>) {
    match &d.verdict {
        Verdict::Match { .. } => ("match", Vec::new()),
        v @ Verdict::NoFace { .. } => ("no_match", vec![v.to_string()]),
        v => (
            "no_match",
            vec![format!("{v} at threshold {}", d.threshold)],
        ),
    }
}

/// Option values checked before anything else: a bad one is a usage error.
struct Options {
    policy: Policy,
    opt_out: Option<OptOutEvidence>,
    ledger: Option<rekognition_guard::ledger::LedgerPolicy>,
}

fn options(cli: &Cli) -> Result<Options, String> {
    let mut policy = Policy::any_kms_key().with_versioning_required(cli.require_versioning);
    if let Some(t) = cli.threshold {
        policy = policy.with_similarity_threshold(
            SimilarityThreshold::new(t).map_err(|e| format!("--threshold: {e}"))?,
        );
    }
    policy = common::with_keys_and_owner(
        policy,
        &cli.kms_key_arns,
        cli.expected_bucket_owner.as_deref(),
    )?;
    let opt_out = match &cli.opt_out.opt_out_attestation {
        Some(text) => Some(
            OptOutEvidence::attested(text).map_err(|e| format!("--opt-out-attestation: {e}"))?,
        ),
        None => None,
    };
    let ledger = common::ledger_policy(&cli.ledger, cli.kms_key_arns.first().map(String::as_str))?;
    Ok(Options {
        policy,
        opt_out,
        ledger,
    })
}

async fn run(cli: Cli, opts: Options) -> Report {
    let threshold = opts.policy.similarity_threshold().get();
    let source = common::read_image(&cli.source);
    let target = common::read_image(&cli.target);
    let mut report = Report {
        decision: "error",
        similarity: None,
        reasons: Vec::new(),
        threshold,
        opt_out: json!(null),
        source: describe_input(&source),
        target: describe_input(&target),
        ledger: json!(null),
    };
    let (source, target) = match (source, target) {
        (Ok(s), Ok(t)) => (s, t),
        (s, t) => {
            report.reasons = [s.err(), t.err()].into_iter().flatten().collect();
            return report;
        }
    };

    let (builder, verifier) = match common::aws_builders(&cli.aws).await {
        Ok(builders) => builders,
        Err(e) => {
            report.reasons.push(e);
            return report;
        }
    };
    // A non-HTTPS endpoint is a refusal; any other setup failure an error.
    let config_failure = |report: &mut Report, e: ConfigError| {
        report.decision = if matches!(e, ConfigError::InsecureEndpoint { .. }) {
            "refused"
        } else {
            "error"
        };
        report.reasons.push(common::explain_config(&e));
    };
    let backend = match builder.build().map_err(common::config_of) {
        Ok(b) => b,
        Err(e) => {
            config_failure(&mut report, e);
            return report;
        }
    };
    let opt_out = if cli.opt_out.verify_opt_out {
        match verifier.build().map_err(common::config_of) {
            Ok(v) => Some(OptOutEvidence::verified_by(v)),
            Err(e) => {
                config_failure(&mut report, e);
                return report;
            }
        }
    } else {
        opts.opt_out
    };

    // No evidence, no guard: the library cannot build one. Its Rust
    // advice would not help a shell user; this command's flags do.
    let Some(evidence) = opt_out else {
        report.decision = "refused";
        report.reasons.push(common::NO_OPT_OUT.to_owned());
        return report;
    };
    // A ledger bucket without Object Lock is refused before anything.
    let ledger = match common::ledger(opts.ledger.as_ref(), &backend).await {
        Ok(l) => l,
        Err(common::NoLedger::Refused(reason)) => {
            report.decision = "refused";
            report.reasons.push(reason);
            return report;
        }
        Err(common::NoLedger::Error(reason)) => {
            report.reasons.push(reason);
            return report;
        }
    };
    let mut guard = Guard::new(
        PhotoStore::new(backend.clone(), opts.policy),
        backend,
        evidence,
    );
    if let Some(ledger) = ledger {
        guard = guard.with_ledger(ledger);
    }

    match guard.compare(source, target).await {
        Ok(d) => {
            let (decision, reasons) = from_decision(&d);
            report.decision = decision;
            report.reasons = reasons;
            report.similarity = d.verdict.similarity();
            report.opt_out = json!({
                "evidence": d.opt_out.kind(),
                "detail": d.opt_out.to_string(),
                "account": d.opt_out.account().map(|a| a.as_str()),
            });
            report.source = common::describe_checked(&d.source);
            report.target = common::describe_checked(&d.target);
            report.ledger = common::ledger_json(d.ledger.as_ref());
        }
        Err(Error::Refused(r)) => {
            report.decision = "refused";
            report.reasons = r.violations.iter().map(ToString::to_string).collect();
        }
        Err(e) => report.reasons.push(common::explain(&e)),
    }
    report
}

fn print(report: &Report) {
    for (name, image) in [("source", &report.source), ("target", &report.target)] {
        eprintln!("{name}: {image}");
    }
    match report.similarity {
        Some(s) => eprintln!(
            "decision: {} (similarity {s:.2}, threshold {})",
            report.decision, report.threshold
        ),
        None => eprintln!("decision: {}", report.decision),
    }
    for reason in &report.reasons {
        eprintln!("  - {reason}");
    }
    println!("{}", report.json());
}

fn usage_error(message: &str) -> ExitCode {
    eprintln!("compare_faces: {message}");
    eprintln!("usage: compare_faces --source IMAGE --target IMAGE [options]; see --help");
    println!(
        "{}",
        json!({ "decision": "error", "similarity": null, "reasons": [message] })
    );
    ExitCode::from(Exit::Usage as u8)
}

#[tokio::main]
async fn main() -> ExitCode {
    common::init_tracing();
    let cli = match common::parse::<Cli>() {
        Ok(cli) => cli,
        Err(common::NotParsed::Shown) => return ExitCode::SUCCESS,
        Err(common::NotParsed::Usage(message)) => return usage_error(&message),
    };
    let opts = match options(&cli) {
        Ok(o) => o,
        Err(message) => return usage_error(&message),
    };
    let report = run(cli, opts).await;
    print(&report);
    ExitCode::from(report.exit() as u8)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rekognition_guard::{FaceImage, S3ObjectRef};

    fn report(decision: &'static str) -> Report {
        Report {
            decision,
            similarity: None,
            reasons: vec![],
            threshold: 99.0,
            opt_out: json!(null),
            source: json!(null),
            target: json!(null),
            ledger: json!(null),
        }
    }

    #[test]
    fn exit_codes_follow_the_contract() {
        assert_eq!(report("match").exit() as u8, 0);
        assert_eq!(report("no_match").exit() as u8, 1);
        assert_eq!(report("refused").exit() as u8, 2);
        assert_eq!(report("error").exit() as u8, 3);
        assert_eq!(Exit::Usage as u8, 64);
    }

    #[test]
    fn no_face_and_no_match_are_no_match() {
        use rekognition_guard::memory::{InMemoryBackend, SimulatedObject};
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        rt.block_on(async {
            let aws = InMemoryBackend::new();
            aws.create_bucket("library-photos", "111122223333", true);
            aws.put(
                "library-photos",
                "a.jpg",
                SimulatedObject {
                    face: Some("ada".into()),
                    ..SimulatedObject::sse_kms("arn:aws:kms:eu-west-1:111122223333:key/k")
                },
            );
            aws.set_similarity("ada", "bob", 12.0);
            let bob = b"\xFF\xD8\xFF bob".to_vec();
            aws.register_image(&bob, "bob");
            let guard = rekognition_guard::Guard::new(
                PhotoStore::new(
                    aws.clone(),
                    Policy::any_kms_key().with_versioning_required(false),
                ),
                aws.clone(),
                OptOutEvidence::attested("unit test: AWS Support case 1234567890").unwrap(),
            );
            let reference = S3ObjectRef::parse("s3://library-photos/a.jpg").unwrap();
            let d = guard
                .compare(reference.clone(), FaceImage::from_vec(bob).unwrap())
                .await
                .unwrap();
            assert_eq!(from_decision(&d).0, "no_match");
            let no_face = FaceImage::from_vec(b"\xFF\xD8\xFF nobody".to_vec()).unwrap();
            let d = guard.compare(reference, no_face).await.unwrap();
            let (decision, reasons) = from_decision(&d);
            assert_eq!(decision, "no_match");
            assert!(reasons[0].contains("no face"), "{reasons:?}");
        });
    }

    #[test]
    fn usage_errors_are_caught_before_any_call() {
        let parse = |args: &[&str]| {
            let mut all = vec![
                "compare_faces",
                "--source",
                "s3://b-b/k",
                "--target",
                "s3://b-b/k",
            ];
            all.extend_from_slice(args);
            options(&Cli::try_parse_from(all).unwrap())
        };
        assert!(parse(&["--threshold", "120"]).is_err());
        assert!(parse(&["--kms-key-arn", "alias/photos"]).is_err());
        assert!(parse(&["--expected-bucket-owner", "12"]).is_err());
        assert!(parse(&["--opt-out-attestation", " "]).is_err());
        assert!(parse(&["--opt-out-attestation", "case 1"]).is_ok());
        assert!(Cli::try_parse_from(["compare_faces", "--source", "x"]).is_err());
    }
}
