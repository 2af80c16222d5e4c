//! 1:N identification at the kiosk through a Rekognition collection, under
//! the guard, from the command line.
//!
//! ```text
//! cargo run --example collection_checkout -- index  --collection ID --member MEMBER_ID --photo IMAGE --accept-face-vectors-without-customer-kms-key --consent-reference REF --consent-notice FILE [options]
//! cargo run --example collection_checkout -- search --collection ID --photo IMAGE --accept-face-vectors-without-customer-kms-key [options]
//! cargo run --example collection_checkout -- forget --collection ID --member MEMBER_ID [options]
//! ```
//!
//! IMAGE is `s3://BUCKET/KEY?versionId=VERSION` (a member's enrolled
//! photo, checked at rest) or a local JPEG/PNG file, sent as bytes.
//! MEMBER_ID is an opaque id (1 to 128 of `a-z A-Z 0-9 _ . - :`), never a
//! name. A collection keeps a face vector per member, encrypted by AWS
//! with no customer KMS key, until it is forgotten: `index` and `search`
//! are refused unless `--accept-face-vectors-without-customer-kms-key`
//! says that is chosen. `forget` needs neither that flag nor opt-out
//! evidence (it sends no image).
//!
//! Options: `--threshold N` (search threshold, 99 to 100, default 99),
//! `--region R`, `--endpoint-url URL`, `--ca-bundle PEM`, `--kms-key-arn
//! ARN` (repeatable allowlist; none means any KMS key),
//! `--expected-bucket-owner ACCOUNT_ID`, `--require-versioning`,
//! `--opt-out-attestation TEXT`, `--verify-opt-out`, as for
//! `compare_faces`.
//!
//! Output: readable lines on stderr; the last line on stdout is one JSON
//! object: `command`, `decision` (`indexed`, `photo_rejected`,
//! `identified`, `no_match`, `ambiguous`, `forgotten`, `incomplete`,
//! `refused`, `error`), `collection`, `member` (the member indexed,
//! identified or forgotten, else null), `face_id`, `similarity`,
//! `candidates` (for `ambiguous`), `removed` and `remaining` (`face_id`,
//! `reason`) for `forget`, `face_vectors` (how the vectors are kept),
//! `opt_out` (`evidence`, `detail`), `consent` (for `index`: where the
//! member's consent is recorded) and `reasons`. Never image bytes, face
//! vectors or credentials.
//!
//! `index` needs the member's recorded consent (consent before
//! collection): `--consent-reference REF --consent-notice FILE`
//! [`--consent-notice-version V` (default 1)] [`--consent-method
//! kiosk_screen|paper|electronic` (default paper)] [`--consent-purpose
//! TEXT`] [`--consent-retention-days N` (default 1095)]; without it,
//! `index` is refused (exit 2) before anything is sent.
//!
//! Exit status: 0 indexed, identified or forgotten (every face gone); 1
//! photo rejected (no face, several faces, not indexed, not the member),
//! no match, ambiguous, or faces remaining after `forget`; 2 refused by
//! policy (nothing sent to Rekognition); 3 any other error; 64 usage
//! error.

mod common;

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use rekognition_guard::collection::{
    CollectionId, CollectionPolicy, IdentificationVerdict, MemberId,
};
use rekognition_guard::{
    Collection, ConfigError, Error, FaceCollection, OptOutEvidence, PhotoStore, Policy,
    SimilarityThreshold,
};
use serde_json::{json, Value};

/// Identify library members with a Rekognition collection, under the
/// guard's at-rest, in-transit and opt-out rules.
#[derive(Debug, Parser)]
#[command(name = "collection_checkout")]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// The collection id.
    #[arg(long, global = true, value_name = "ID")]
    collection: Option<String>,
    /// Search threshold, 99 to 100 (default 99).
    #[arg(long, global = true, value_name = "N")]
    threshold: Option<f32>,
    /// Choose to keep face vectors in the collection, encrypted by AWS
    /// with no customer KMS key (needed for index and search).
    #[arg(long, global = true)]
    accept_face_vectors_without_customer_kms_key: bool,
    #[command(flatten)]
    aws: common::AwsArgs,
    /// Allowed KMS key ARN (repeatable); none means any KMS key.
    #[arg(long = "kms-key-arn", global = true, value_name = "ARN")]
    kms_key_arns: Vec<String>,
    /// The account that must own every bucket.
    #[arg(long, global = true, value_name = "ACCOUNT_ID")]
    expected_bucket_owner: Option<String>,
    /// Refuse S3 objects without a version id.
    #[arg(long, global = true)]
    require_versioning: bool,
    #[command(flatten)]
    opt_out: common::OptOutArgs,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Index a member's face.
    Index {
        /// The member id (opaque, never a name).
        #[arg(long, value_name = "MEMBER_ID")]
        member: String,
        /// The photo: s3://BUCKET/KEY?versionId=V or a local JPEG/PNG file.
        #[arg(long, value_name = "IMAGE")]
        photo: String,
        #[command(flatten)]
        consent: ConsentArgs,
    },
    /// Who is this? Search the collection with a live photo.
    Search {
        /// The live photo: a local JPEG/PNG file or s3://BUCKET/KEY?versionId=V.
        #[arg(long, value_name = "IMAGE")]
        photo: String,
    },
    /// Forget a member: delete their user and face vectors.
    Forget {
        /// The member id.
        #[arg(long, value_name = "MEMBER_ID")]
        member: String,
    },
}

/// The member's recorded consent, which indexing requires.
#[derive(Debug, clap::Args)]
struct ConsentArgs {
    /// Where the member's consent is recorded (a signed form's id); without
    /// it, indexing is refused before anything is sent.
    #[arg(long, value_name = "REF", requires = "consent_notice")]
    consent_reference: Option<String>,
    /// The notice text the member was shown (a text file).
    #[arg(long, value_name = "FILE")]
    consent_notice: Option<std::path::PathBuf>,
    /// The notice's version.
    #[arg(long, value_name = "V", default_value = "1")]
    consent_notice_version: String,
    /// How consent was given: kiosk_screen, paper or electronic.
    #[arg(long, value_name = "HOW", default_value = "paper")]
    consent_method: String,
    /// The purpose consented to.
    #[arg(
        long,
        value_name = "TEXT",
        default_value = "identity check at self-service loans"
    )]
    consent_purpose: String,
    /// The retention term consented to, in days.
    #[arg(long, value_name = "DAYS", default_value_t = 1095)]
    consent_retention_days: u64,
}

/// The refusal without recorded consent.
const NO_CONSENT: &str = "no recorded consent: indexing a member's face needs their consent first (BIPA 15(b), GDPR Art. 9(2)(a)); pass --consent-reference REF and --consent-notice FILE";

/// The consent the flags describe, for `member`: `Ok(None)` when none was
/// given.
fn consent_of(
    args: &ConsentArgs,
    member: &MemberId,
) -> Result<Option<rekognition_guard::consent::RecordedConsent>, String> {
    use rekognition_guard::consent::{Consent, ConsentMethod, ConsentNotice};
    let (Some(reference), Some(notice)) = (&args.consent_reference, &args.consent_notice) else {
        return Ok(None);
    };
    let text = std::fs::read_to_string(notice)
        .map_err(|e| format!("--consent-notice {}: {e}", notice.display()))?;
    let notice = ConsentNotice::new(&args.consent_notice_version, &text)
        .map_err(|e| format!("--consent-notice: {e}"))?;
    let method = match args.consent_method.as_str() {
        "kiosk_screen" => ConsentMethod::KioskScreen,
        "paper" => ConsentMethod::Paper,
        "electronic" => ConsentMethod::Electronic,
        other => {
            return Err(format!(
                "--consent-method {other:?}: expected kiosk_screen, paper or electronic"
            ))
        }
    };
    let consent = Consent::new(
        member.clone(),
        notice,
        &args.consent_purpose,
        std::time::Duration::from_secs(args.consent_retention_days.saturating_mul(86_400)),
        method,
    )
    .map_err(|e| format!("--consent-*: {e}"))?;
    consent
        .kept_in(reference)
        .map(Some)
        .map_err(|e| format!("--consent-reference: {e}"))
}

/// The contract's exit statuses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Exit {
    Done = 0,
    NotDone = 1,
    Refused = 2,
    Error = 3,
    Usage = 64,
}

fn exit_of(decision: &str) -> Exit {
    match decision {
        "indexed" | "identified" | "forgotten" => Exit::Done,
        "photo_rejected" | "no_match" | "ambiguous" | "incomplete" => Exit::NotDone,
        "refused" => Exit::Refused,
        _ => Exit::Error,
    }
}

const NO_CHOICE: &str = "a collection keeps a face vector per member, encrypted by AWS with no customer KMS key, until the member is forgotten: pass --accept-face-vectors-without-customer-kms-key to choose that";

/// Option values checked before anything else: a bad one is a usage error.
struct Options {
    collection: CollectionId,
    member: Option<MemberId>,
    policy: Policy,
    threshold: Option<SimilarityThreshold>,
    opt_out: Option<OptOutEvidence>,
    consent: Option<rekognition_guard::consent::RecordedConsent>,
}

fn options(cli: &Cli) -> Result<Options, String> {
    let collection = CollectionId::parse(
        cli.collection
            .as_deref()
            .ok_or("--collection ID is required")?,
    )
    .map_err(|e| format!("--collection: {e}"))?;
    let member = match &cli.command {
        Command::Index { member, .. } | Command::Forget { member } => {
            Some(MemberId::parse(member).map_err(|e| format!("--member: {e}"))?)
        }
        Command::Search { .. } => None,
    };
    let threshold = match cli.threshold {
        Some(t) if (99.0..=100.0).contains(&t) => {
            Some(SimilarityThreshold::new(t).map_err(|e| format!("--threshold: {e}"))?)
        }
        Some(t) => {
            return Err(format!(
                "--threshold: {t} is outside 99 to 100 (1:N search needs at least 99)"
            ))
        }
        None => None,
    };
    let policy = common::with_keys_and_owner(
        Policy::any_kms_key().with_versioning_required(cli.require_versioning),
        &cli.kms_key_arns,
        cli.expected_bucket_owner.as_deref(),
    )?;
    let opt_out = match &cli.opt_out.opt_out_attestation {
        Some(text) => Some(
            OptOutEvidence::attested(text).map_err(|e| format!("--opt-out-attestation: {e}"))?,
        ),
        None => None,
    };
    let consent = match (&cli.command, &member) {
        (Command::Index { consent, .. }, Some(member)) => consent_of(consent, member)?,
        _ => None,
    };
    Ok(Options {
        collection,
        member,
        policy,
        threshold,
        opt_out,
        consent,
    })
}

/// The JSON report, filled as the run goes.
fn report(command: &str, collection: &CollectionId, member: Option<&MemberId>) -> Value {
    json!({
        "command": command,
        "decision": "error",
        "collection": collection.as_str(),
        "member": member.map(MemberId::as_str),
        "face_id": null,
        "similarity": null,
        "candidates": null,
        "removed": null,
        "remaining": null,
        "face_vectors": null,
        "opt_out": null,
        "consent": null,
        "reasons": [],
    })
}

fn fail(out: &mut Value, decision: &str, reason: String) {
    out["decision"] = json!(decision);
    if let Some(reasons) = out["reasons"].as_array_mut() {
        reasons.push(json!(reason));
    }
}

/// A library error: a refusal, a rejected photo, or anything else.
fn failed(out: &mut Value, e: &Error) {
    match e {
        Error::Refused(r) => {
            out["decision"] = json!("refused");
            out["reasons"] = json!(r
                .violations
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>());
        }
        Error::PhotoRejected(a) => {
            out["decision"] = json!("photo_rejected");
            out["reasons"] = json!(a.issues.iter().map(ToString::to_string).collect::<Vec<_>>());
        }
        other => fail(out, "error", common::explain(other)),
    }
}

async fn run(cli: &Cli, opts: Options) -> Value {
    let name = match &cli.command {
        Command::Index { .. } => "index",
        Command::Search { .. } => "search",
        Command::Forget { .. } => "forget",
    };
    let mut out = report(name, &opts.collection, opts.member.as_ref());
    let (builder, verifier) = match common::aws_builders(&cli.aws).await {
        Ok(b) => b,
        Err(e) => {
            fail(&mut out, "error", e);
            return out;
        }
    };
    let config_failure = |out: &mut Value, e: ConfigError| {
        let decision = if matches!(e, ConfigError::InsecureEndpoint { .. }) {
            "refused"
        } else {
            "error"
        };
        fail(out, decision, common::explain_config(&e));
    };
    let backend = match builder.build().map_err(common::config_of) {
        Ok(b) => b,
        Err(e) => {
            config_failure(&mut out, e);
            return out;
        }
    };

    if let Command::Forget { .. } = &cli.command {
        let member = opts.member.expect("checked with the options");
        match Collection::new(backend, opts.collection)
            .forget(&member)
            .await
        {
            Ok(receipt) => {
                out["decision"] = json!(if receipt.is_complete() {
                    "forgotten"
                } else {
                    "incomplete"
                });
                out["removed"] = json!(receipt.removed);
                out["remaining"] = json!(receipt
                    .remaining
                    .iter()
                    .map(|r| json!({"face_id": r.face_id, "reason": r.reason}))
                    .collect::<Vec<_>>());
            }
            Err(e) => failed(&mut out, &e),
        }
        return out;
    }

    // Index and search: the choice to keep face vectors, and evidence.
    if !cli.accept_face_vectors_without_customer_kms_key {
        fail(&mut out, "refused", NO_CHOICE.to_owned());
        return out;
    }
    let mut policy = CollectionPolicy::dangerous()
        .face_vectors_without_customer_kms_key(opts.collection.clone());
    if let Some(t) = opts.threshold {
        policy = match policy.with_search_threshold(t) {
            Ok(p) => p,
            Err(e) => {
                fail(&mut out, "refused", format!("--threshold: {e}"));
                return out;
            }
        };
    }
    let evidence = if cli.opt_out.verify_opt_out {
        match verifier.build().map_err(common::config_of) {
            Ok(v) => Some(OptOutEvidence::verified_by(v)),
            Err(e) => {
                config_failure(&mut out, e);
                return out;
            }
        }
    } else {
        opts.opt_out
    };
    let Some(evidence) = evidence else {
        fail(&mut out, "refused", common::NO_OPT_OUT.to_owned());
        return out;
    };
    let faces = FaceCollection::new(
        PhotoStore::new(backend.clone(), opts.policy),
        backend,
        evidence,
        policy,
    );
    let photo = match &cli.command {
        Command::Index { photo, .. } | Command::Search { photo } => common::read_image(photo),
        Command::Forget { .. } => unreachable!("handled above"),
    };
    let photo = match photo {
        Ok(p) => p,
        Err(e) => {
            fail(&mut out, "error", e);
            return out;
        }
    };
    match &cli.command {
        Command::Index { .. } => {
            let Some(consent) = opts.consent else {
                fail(&mut out, "refused", NO_CONSENT.to_owned());
                return out;
            };
            out["consent"] = json!(consent.record().to_string());
            match faces.index(&consent, photo).await {
                Ok(face) => {
                    out["decision"] = json!("indexed");
                    out["face_id"] = json!(face.face_id);
                    out["face_vectors"] = json!(face.face_vectors);
                    out["opt_out"] = json!({"evidence": face.opt_out.kind(), "detail": face.opt_out.to_string()});
                }
                Err(e) => failed(&mut out, &e),
            }
        }
        _ => match faces.search(photo).await {
            Ok(found) => {
                out["face_vectors"] = json!(found.face_vectors);
                out["opt_out"] =
                    json!({"evidence": found.opt_out.kind(), "detail": found.opt_out.to_string()});
                out["decision"] = json!(found.verdict.label());
                match found.verdict {
                    IdentificationVerdict::Identified { member, similarity } => {
                        out["member"] = json!(member.as_str());
                        out["similarity"] = json!(similarity);
                    }
                    IdentificationVerdict::Ambiguous { candidates } => {
                        out["candidates"] = json!(candidates);
                    }
                    _ => {}
                }
            }
            Err(e) => failed(&mut out, &e),
        },
    }
    out
}

fn usage_error(message: &str) -> ExitCode {
    eprintln!("collection_checkout: {message}");
    eprintln!(
        "usage: collection_checkout index|search|forget --collection ID [options]; see --help"
    );
    println!("{}", json!({ "decision": "error", "reasons": [message] }));
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
    let out = run(&cli, opts).await;
    let decision = out["decision"].as_str().unwrap_or("error").to_owned();
    eprintln!(
        "{}: {decision}",
        out["command"].as_str().unwrap_or_default()
    );
    for reason in out["reasons"].as_array().into_iter().flatten() {
        eprintln!("  - {}", reason.as_str().unwrap_or_default());
    }
    println!("{out}");
    ExitCode::from(exit_of(&decision) as u8)
}
