//! Erase a member's photo: every version and delete marker of one S3 key.
//!
//! ```text
//! cargo run --example erase_member -- --object s3://BUCKET/KEY [--expected-bucket-owner ACCOUNT_ID] \
//!     [--dry-run] [--bypass-governance-retention] [--region R] [--endpoint-url URL] [--ca-bundle PEM] \
//!     [--ledger s3://BUCKET/PREFIX [--kms-key-arn ARN]]
//! ```
//!
//! Lists every version and delete marker of exactly that key (never keys
//! that merely share its prefix), deletes each by version id (S3's `null`
//! version included), then lists again to confirm. `--dry-run` lists what
//! would be erased and deletes nothing. `--bypass-governance-retention`
//! also deletes versions under S3 Object Lock GOVERNANCE retention (needs
//! `s3:BypassGovernanceRetention`); COMPLIANCE retention and legal holds
//! always block. The standard AWS credential chain, `AWS_ENDPOINT_URL*`,
//! `AWS_CA_BUNDLE` and the profile's `ca_bundle` apply.
//!
//! Output: readable lines on stderr; the last line on stdout is one JSON
//! object: `bucket`, `key`, `erased` (`{version_id, delete_marker}`),
//! `remaining` (`{version_id, delete_marker, reason, detail}`: what is left
//! and what would unblock it; for a dry run, everything that would be
//! erased, with reason `dry_run`), `complete`, `unconfirmed` (why the
//! listing after the deletions failed, else null), `mfa_delete` (whether
//! the bucket has MFA Delete enabled, which blocks every deletion with
//! reason `mfa_delete`; null when not read or unreadable), `dry_run`, `finished_at`
//! (RFC 3339), `ledger` (`sequence`, `hash` of the receipt's record with
//! `--ledger`, else null) and `reasons` (for refusals and errors). Never
//! image bytes or credentials.
//!
//! `--ledger s3://BUCKET/PREFIX` records the receipt (not a dry run's)
//! there, under the first `--kms-key-arn` (else the bucket's default key);
//! a ledger bucket without S3 Object Lock is refused before anything is
//! listed or deleted; a receipt that cannot be recorded is an error
//! (exit 3), its JSON still saying what was erased.
//!
//! Exit status: 0 complete, or nothing to erase (also a dry run, whatever
//! it found); 2 refused by policy (nothing listed or deleted); 3 any other
//! error (nothing is claimed); 4 incomplete (the receipt says what
//! remains and why); 64 usage error.

mod common;

use std::process::ExitCode;

use clap::Parser;
use rekognition_guard::erasure::{EraseOptions, ErasureReceipt};
use rekognition_guard::{AccountId, ConfigError, Error, Policy, S3ObjectRef};
use serde_json::{json, Value};

/// Erase every version and delete marker of one S3 key.
#[derive(Debug, Parser)]
#[command(name = "erase_member")]
struct Cli {
    /// The key to erase: s3://BUCKET/KEY (no versionId: every version goes).
    #[arg(long, value_name = "REF")]
    object: String,
    /// The account that must own the bucket.
    #[arg(long, value_name = "ACCOUNT_ID")]
    expected_bucket_owner: Option<String>,
    /// List what would be erased; delete nothing.
    #[arg(long)]
    dry_run: bool,
    /// Also delete versions under Object Lock GOVERNANCE retention.
    #[arg(long)]
    bypass_governance_retention: bool,
    /// KMS key ARN for the ledger's records (the first one counts).
    #[arg(long = "kms-key-arn", value_name = "ARN")]
    kms_key_arns: Vec<String>,
    #[command(flatten)]
    aws: common::AwsArgs,
    #[command(flatten)]
    ledger: common::LedgerArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Exit {
    Complete = 0,
    Refused = 2,
    Error = 3,
    Incomplete = 4,
    Usage = 64,
}

fn rfc3339(time: std::time::SystemTime) -> String {
    aws_smithy_types::DateTime::from(time)
        .fmt(aws_smithy_types::date_time::Format::DateTime)
        .unwrap_or_default()
}

fn receipt_json(r: &ErasureReceipt) -> Value {
    json!({
        "bucket": r.bucket,
        "key": r.key,
        "erased": r.erased.iter().map(|e| json!({
            "version_id": e.version_id, "delete_marker": e.delete_marker,
        })).collect::<Vec<_>>(),
        "remaining": r.remaining.iter().map(|v| json!({
            "version_id": v.version_id, "delete_marker": v.delete_marker,
            "reason": v.reason.label(), "detail": v.reason.to_string(),
        })).collect::<Vec<_>>(),
        "complete": r.is_complete(),
        "unconfirmed": r.unconfirmed,
        "mfa_delete": r.mfa_delete_enabled,
        "dry_run": r.dry_run,
        "finished_at": rfc3339(r.finished_at),
        "ledger": null,
        "reasons": [],
    })
}

/// The receipt as a ledger event: the key and what happened to its
/// versions, never image bytes.
fn receipt_event(r: &ErasureReceipt) -> Value {
    json!({
        "object": format!("s3://{}/{}", r.bucket, r.key),
        "erased": r.erased.iter().map(|e| &e.version_id).collect::<Vec<_>>(),
        "remaining": r.remaining.iter().map(|v| json!({
            "version_id": v.version_id, "reason": v.reason.label(),
        })).collect::<Vec<_>>(),
        "complete": r.is_complete(),
    })
}

fn failed(object: &str, exit: Exit, reason: String) -> (Exit, Value) {
    let (bucket, key) = object
        .strip_prefix("s3://")
        .and_then(|rest| rest.split_once('/'))
        .unwrap_or(("", ""));
    (
        exit,
        json!({
            "bucket": bucket, "key": key, "erased": [], "remaining": [],
            "complete": false, "unconfirmed": null, "mfa_delete": null, "dry_run": null, "finished_at": null, "ledger": null, "reasons": [reason],
        }),
    )
}

async fn run(cli: &Cli) -> (Exit, Value) {
    let object = match S3ObjectRef::parse(&cli.object) {
        Ok(o) if o.version_id().is_some() => {
            return failed(
                &cli.object,
                Exit::Usage,
                "--object: give the key without ?versionId=: erasure removes every version".into(),
            )
        }
        Ok(o) => o,
        Err(e) => return failed(&cli.object, Exit::Usage, format!("--object: {e}")),
    };
    let mut policy = Policy::any_kms_key().with_versioning_required(false);
    if let Some(owner) = &cli.expected_bucket_owner {
        match AccountId::parse(owner) {
            Ok(a) => policy = policy.with_expected_bucket_owner(a),
            Err(e) => {
                return failed(
                    &cli.object,
                    Exit::Usage,
                    format!("--expected-bucket-owner: {e}"),
                )
            }
        }
    }
    let ledger_policy =
        match common::ledger_policy(&cli.ledger, cli.kms_key_arns.first().map(String::as_str)) {
            Ok(p) => p,
            Err(e) => return failed(&cli.object, Exit::Usage, e),
        };
    let (backend, store) = match common::photo_store(&cli.aws, policy).await {
        Ok(made) => made,
        Err(common::NoStore::Setup(e)) => return failed(&cli.object, Exit::Error, e),
        Err(common::NoStore::Config(e)) => {
            let exit = if matches!(e, ConfigError::InsecureEndpoint(_)) {
                Exit::Refused
            } else {
                Exit::Error
            };
            return failed(&cli.object, exit, common::explain_config(&e));
        }
    };
    // A ledger bucket without Object Lock is refused before anything.
    let ledger = match common::ledger(ledger_policy.as_ref(), &backend).await {
        Ok(l) => l,
        Err(common::NoLedger::Refused(reason)) => {
            return failed(&cli.object, Exit::Refused, reason)
        }
        Err(common::NoLedger::Error(reason)) => return failed(&cli.object, Exit::Error, reason),
    };
    let options = EraseOptions::default()
        .dry_run(cli.dry_run)
        .bypass_governance_retention(cli.bypass_governance_retention);
    let erased = store.erase(&object, options).await;
    // The receipt goes into the ledger (not a dry run's: nothing was done).
    let recorded = match (&erased, &ledger) {
        (Ok(r), Some(ledger)) if !r.dry_run => Some(
            ledger
                .append(
                    rekognition_guard::ledger::LedgerEntry::Erasure,
                    receipt_event(r),
                )
                .await,
        ),
        _ => None,
    };
    match (erased, recorded) {
        (Ok(r), Some(Err(e))) => {
            let mut report = receipt_json(&r);
            report["reasons"] = json!([format!(
                "erased as this receipt says, but the receipt could not be recorded in the ledger: {}",
                common::explain(&e)
            )]);
            (Exit::Error, report)
        }
        (Ok(r), recorded) => {
            let mut report = receipt_json(&r);
            report["ledger"] = common::ledger_json(recorded.as_ref().and_then(|r| r.as_ref().ok()));
            let exit = if r.is_complete() || r.dry_run {
                Exit::Complete
            } else {
                Exit::Incomplete
            };
            (exit, report)
        }
        (Err(e @ Error::Refused(_)), _) => failed(&cli.object, Exit::Refused, common::explain(&e)),
        (Err(e), _) => failed(&cli.object, Exit::Error, common::explain(&e)),
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    common::init_tracing();
    let cli = match common::parse::<Cli>() {
        Ok(cli) => cli,
        Err(common::NotParsed::Shown) => return ExitCode::SUCCESS,
        Err(common::NotParsed::Usage(message)) => {
            eprintln!("erase_member: {message}");
            eprintln!("usage: erase_member --object s3://BUCKET/KEY [options]; see --help");
            println!("{}", json!({ "complete": false, "reasons": [message] }));
            return ExitCode::from(Exit::Usage as u8);
        }
    };
    let (exit, report) = run(&cli).await;
    eprintln!(
        "s3://{}/{}: {} erased, {} remaining{}",
        report["bucket"].as_str().unwrap_or_default(),
        report["key"].as_str().unwrap_or_default(),
        report["erased"].as_array().map_or(0, Vec::len),
        report["remaining"].as_array().map_or(0, Vec::len),
        if report["dry_run"] == true {
            " (dry run)"
        } else {
            ""
        }
    );
    for remaining in report["remaining"].as_array().into_iter().flatten() {
        eprintln!(
            "  - {}: {}",
            remaining["version_id"].as_str().unwrap_or_default(),
            remaining["detail"].as_str().unwrap_or_default()
        );
    }
    for reason in report["reasons"].as_array().into_iter().flatten() {
        eprintln!("  - {}", reason.as_str().unwrap_or_default());
    }
    println!("{report}");
    ExitCode::from(exit as u8)
}
