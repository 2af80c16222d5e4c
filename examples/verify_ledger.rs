//! Verify a ledger of decisions, consents and erasures (see the README,
//! "A ledger regulators can check").
//!
//! ```text
//! cargo run --example verify_ledger -- --ledger s3://BUCKET/PREFIX [--expected-head SEQUENCE:HASH] \
//!     [--region R] [--endpoint-url URL] [--ca-bundle PEM]
//! ```
//!
//! Walks the ledger from record 1: no gap, one version per record (no
//! overwrite, no delete marker), each record's own sequence number, every
//! hash link, each record SSE-KMS and under an S3 Object Lock retention in
//! force; then any other object under the prefix. It cannot tell records
//! removed or replaced from some record to the end on its own (see the
//! README): give `--expected-head SEQUENCE:HASH` (the `ledger` a command
//! printed, kept by you) and the record at that sequence must have that
//! hash (`altered` otherwise), and the ledger must reach it (`truncated`
//! otherwise).
//!
//! Output: progress on stderr; the last line on stdout is one JSON object:
//! `records` (how many good records from 1), `intact` (bool), `problem`
//! (null, or `{kind, sequence, detail}` with `kind` one of `gap`,
//! `overwritten`, `altered`, `reordered`, `unlocked`, `not_encrypted`,
//! `unreadable`, `truncated`, `foreign`) and `head` (the SHA-256 of the
//! last good record, or null), plus `reasons` for errors.
//!
//! Exit status: 0 intact; 2 tampered or incomplete (a problem found); 3
//! any other error (the ledger could not be listed); 64 usage error.

mod common;

use std::process::ExitCode;

use clap::Parser;
use serde_json::{json, Value};

/// Verify a ledger on S3 Object Lock.
#[derive(Debug, Parser)]
#[command(name = "verify_ledger")]
struct Cli {
    #[command(flatten)]
    ledger: common::LedgerArgs,
    /// A head you kept, SEQUENCE:HASH (from a command's `ledger`).
    #[arg(long, value_name = "SEQUENCE:HASH")]
    expected_head: Option<String>,
    #[command(flatten)]
    aws: common::AwsArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Exit {
    Intact = 0,
    Problem = 2,
    Error = 3,
    Usage = 64,
}

fn error(exit: Exit, reason: String) -> (Exit, Value) {
    (
        exit,
        json!({ "records": null, "intact": false, "problem": null, "head": null, "reasons": [reason] }),
    )
}

async fn run(cli: &Cli) -> (Exit, Value) {
    let policy = match common::ledger_policy(&cli.ledger, None) {
        Ok(Some(p)) => p,
        Ok(None) => {
            return error(
                Exit::Usage,
                "--ledger s3://BUCKET/PREFIX is required".into(),
            )
        }
        Err(e) => return error(Exit::Usage, e),
    };
    let expected = match &cli.expected_head {
        None => None,
        Some(head) => {
            let kept = head
                .split_once(':')
                .and_then(|(n, hash)| Some((n.parse::<u64>().ok()?, hash)))
                .ok_or_else(|| "--expected-head: expected SEQUENCE:HASH".to_owned())
                .and_then(|(n, hash)| {
                    policy
                        .kept_receipt(n, hash)
                        .map_err(|e| format!("--expected-head: {e}"))
                });
            match kept {
                Ok(k) => Some(k),
                Err(e) => return error(Exit::Usage, e),
            }
        }
    };
    let (builder, _) = match common::aws_builders(&cli.aws).await {
        Ok(b) => b,
        Err(e) => return error(Exit::Error, e),
    };
    let backend = match builder.build() {
        Ok(b) => b,
        Err(e) => return error(Exit::Error, common::explain_config(&common::config_of(e))),
    };
    let ledger = rekognition_guard::ledger::Ledger::new(backend, policy);
    let report = ledger
        .verify(expected.as_ref(), |n| {
            if n % 100 == 0 {
                eprintln!("verify_ledger: {n} records checked");
            }
        })
        .await;
    match report {
        Ok(r) => {
            let problem = r.problem.as_ref().map(
                |p| json!({ "kind": p.kind(), "sequence": p.sequence(), "detail": p.to_string() }),
            );
            let exit = if r.is_intact() {
                Exit::Intact
            } else {
                Exit::Problem
            };
            (
                exit,
                json!({
                    "records": r.records,
                    "intact": r.is_intact(),
                    "problem": problem,
                    "head": r.head,
                    "reasons": [],
                }),
            )
        }
        Err(e) => error(Exit::Error, common::explain(&e)),
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    common::init_tracing();
    let cli = match common::parse::<Cli>() {
        Ok(cli) => cli,
        Err(common::NotParsed::Shown) => return ExitCode::SUCCESS,
        Err(common::NotParsed::Usage(message)) => {
            eprintln!("verify_ledger: {message}");
            println!("{}", error(Exit::Usage, message).1);
            return ExitCode::from(Exit::Usage as u8);
        }
    };
    let (exit, report) = run(&cli).await;
    match (&report["intact"], &report["problem"]) {
        (Value::Bool(true), _) => eprintln!("verify_ledger: intact, {} records", report["records"]),
        (_, Value::Object(p)) => eprintln!(
            "verify_ledger: {}",
            p["detail"].as_str().unwrap_or_default()
        ),
        _ => {}
    }
    println!("{report}");
    ExitCode::from(exit as u8)
}
