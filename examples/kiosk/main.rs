//! The kiosk, in a browser: a member taps a card, looks at the camera, and
//! the page says **pass** or **fail**; a staff page lists the decisions
//! as the guard's audit events recorded them.
//!
//! ```text
//! cargo run --example kiosk                                  # simulated: no AWS account needed
//! cargo run --example kiosk -- --bucket B --kms-key-arn ARN --opt-out-attestation TEXT \
//!     [--member CARD=s3://B/KEY?versionId=V ...] [--region R] [--endpoint-url URL] [--ca-bundle PEM]
//! ```
//!
//! Open the printed address in a browser (the camera needs `localhost`
//! or `127.0.0.1`, which browsers treat as secure). Simulated, three
//! members are enrolled in an in-memory AWS: cards `1001` (Ada) and
//! `1002` (Grace), SSE-KMS; `1003` (Alan), stored long ago with SSE-S3,
//! which the guard refuses. The simulation cannot see faces: it takes
//! every camera frame as the face of `--demo-face` (default `ada`), so
//! card 1001 passes and 1002 fails. Against AWS (`--bucket`), a card `C`
//! is the photo `s3://BUCKET/members/C.jpg`, or the pinned reference given
//! with `--member C=s3://…?versionId=…` (a pinned reference lets the
//! check at the tap count, so the photo costs one round trip).
//!
//! The flow: `POST /api/tap {"card": …}` starts the guarded check of the
//! member's reference at once ([`Guard::prepare`]) and answers a one-use
//! token; the page opens the camera, takes one frame and `POST`s it as
//! `image/jpeg` to `/api/photo?token=…`; the answer is only
//! `{"result": "pass" | "fail", "staff_desk": bool}`: never a score,
//! never a member's data. Bodies over Rekognition's 5 MiB limit are
//! refused from their `Content-Length` before they are read.
//!
//! Face Liveness (`--liveness`; against AWS `--liveness-output-bucket B`):
//! the tap starts a Face Liveness session for the member at the kiosk
//! (`FaceLiveness::start_session`; the page may name its kiosk, default
//! `kiosk-1`), and `POST /api/liveness?token=…` verifies it and compares
//! its reference image with the member's photo. The video part runs only
//! against AWS, in AWS's Amplify `FaceLivenessDetector` (a React component
//! with Cognito credentials), which this page does not embed: the page
//! says so. Simulated, the server finishes each session as a live person
//! showing the demo face, so the rest of the path (verification, the
//! reference image's checks, the comparison, the kiosk's failure limit)
//! runs for real against the simulation. Against AWS without the detector
//! the session never finishes and the page says that.
//!
//! Output: readable lines on stderr; once listening, one JSON line on
//! stdout: `{"kiosk": URL, "staff": URL, "backend": "in-memory" | "aws"}`.
//! Exit status: 0 after Ctrl-C; 3 when the server cannot start (address in
//! use, unusable AWS configuration); 64 usage error (also `--listen`
//! beyond loopback without `--listen-beyond-loopback`).

#[path = "../common/mod.rs"]
mod common;

mod audit;
mod server;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::process::ExitCode;

use clap::Parser;
use rekognition_guard::liveness::LivenessPolicy;
use rekognition_guard::memory::{InMemoryBackend, SimulatedObject, DEFAULT_ACCOUNT};
use rekognition_guard::{Guard, OptOutEvidence, PhotoStore, Policy, S3ObjectRef, SseAlgorithm};
use serde_json::json;
use tracing_subscriber::layer::{Layer, SubscriberExt};
use tracing_subscriber::util::SubscriberInitExt;

const DEMO_BUCKET: &str = "library-photos";
const DEMO_LIVENESS_BUCKET: &str = "kiosk-liveness";
const DEMO_KEY: &str =
    "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";
/// The simulated members: card, face, SSE-KMS (else SSE-S3).
const DEMO_MEMBERS: [(&str, &str, bool); 3] = [
    ("1001", "ada", true),
    ("1002", "grace", true),
    ("1003", "alan", false),
];

/// Serve the kiosk and staff pages.
#[derive(Debug, Parser)]
#[command(name = "kiosk")]
struct Cli {
    /// Address to listen on (loopback by default; the pages have no login).
    #[arg(long, default_value = "127.0.0.1:8080", value_name = "ADDR")]
    listen: SocketAddr,
    /// Allow --listen beyond loopback (the staff page then shows the
    /// decisions to anyone who can reach it).
    #[arg(long)]
    listen_beyond_loopback: bool,
    /// Check Face Liveness before the comparison: simulated in memory;
    /// against AWS give --liveness-output-bucket.
    #[arg(long)]
    liveness: bool,
    /// The Face Liveness output bucket (against AWS; implies --liveness).
    #[arg(long, value_name = "BUCKET", requires = "bucket")]
    liveness_output_bucket: Option<String>,
    /// The bucket of the members' photos: run against AWS or an emulator
    /// instead of the simulation.
    #[arg(long, value_name = "BUCKET")]
    bucket: Option<String>,
    /// A member's pinned reference, CARD=s3://BUCKET/KEY?versionId=V
    /// (repeatable; with --bucket).
    #[arg(long = "member", value_name = "CARD=S3", requires = "bucket")]
    members: Vec<String>,
    /// Allowed KMS key ARN (repeatable); none means any KMS key.
    #[arg(long = "kms-key-arn", value_name = "ARN")]
    kms_key_arns: Vec<String>,
    /// Simulation only: whose face every camera frame shows.
    #[arg(long, default_value = "ada", value_name = "FACE")]
    demo_face: String,
    #[command(flatten)]
    aws: common::AwsArgs,
    #[command(flatten)]
    opt_out: common::OptOutArgs,
}

fn usage_error(message: &str) -> ExitCode {
    eprintln!("kiosk: {message}");
    ExitCode::from(64)
}

fn start_error(message: &str) -> ExitCode {
    eprintln!("kiosk: {message}");
    println!("{}", json!({ "error": message }));
    ExitCode::from(3)
}

/// The simulated AWS: three members, a similarity table, and the guard.
fn simulated(policy: Policy) -> (server::Backend, Guard) {
    let aws = InMemoryBackend::new();
    aws.create_bucket(DEMO_BUCKET, DEFAULT_ACCOUNT, true);
    aws.create_bucket(DEMO_LIVENESS_BUCKET, DEFAULT_ACCOUNT, true);
    aws.set_default_encryption(DEMO_LIVENESS_BUCKET, Some(DEMO_KEY));
    let mut members = HashMap::new();
    for (card, face, kms) in DEMO_MEMBERS {
        let object = if kms {
            SimulatedObject::sse_kms(DEMO_KEY)
        } else {
            SimulatedObject::new(SseAlgorithm::Aes256)
        };
        let key = format!("members/{face}.jpg");
        let version = aws
            .put(DEMO_BUCKET, &key, object.with_face(face))
            .expect("a versioned bucket");
        let reference = S3ObjectRef::new(DEMO_BUCKET, &key)
            .and_then(|r| r.with_version_id(&version))
            .expect("a reference");
        members.insert(card.to_owned(), reference);
        aws.set_similarity(face, face, 99.6);
    }
    for (a, b) in [("ada", "grace"), ("ada", "alan"), ("grace", "alan")] {
        aws.set_similarity(a, b, 8.0);
    }
    let guard = Guard::new(
        PhotoStore::new(aws.clone(), policy),
        aws.clone(),
        OptOutEvidence::attested("simulation: no AWS account").expect("evidence"),
    );
    (
        server::Backend::Simulated {
            aws,
            members,
            face: String::new(),
        },
        guard,
    )
}

async fn against_aws(
    cli: &Cli,
    policy: Policy,
    bucket: &str,
) -> Result<(server::Backend, Guard), String> {
    let mut members = HashMap::new();
    for spec in &cli.members {
        let (card, reference) = spec.split_once('=').ok_or_else(|| {
            format!("--member {spec:?}: expected CARD=s3://BUCKET/KEY?versionId=V")
        })?;
        let reference =
            S3ObjectRef::parse(reference).map_err(|e| format!("--member {card}: {e}"))?;
        members.insert(card.to_owned(), reference);
    }
    let (builder, verifier) = common::aws_builders(&cli.aws).await?;
    let backend = builder
        .build()
        .map_err(|e| common::explain_config(&common::config_of(e)))?;
    let evidence = match (&cli.opt_out.opt_out_attestation, cli.opt_out.verify_opt_out) {
        (Some(text), _) => {
            OptOutEvidence::attested(text).map_err(|e| format!("--opt-out-attestation: {e}"))?
        }
        (None, true) => OptOutEvidence::verified_by(
            verifier
                .build()
                .map_err(|e| common::explain_config(&common::config_of(e)))?,
        ),
        (None, false) => return Err(common::NO_OPT_OUT.to_owned()),
    };
    let guard = Guard::new(PhotoStore::new(backend.clone(), policy), backend, evidence);
    Ok((
        server::Backend::Aws {
            bucket: bucket.to_owned(),
            members,
        },
        guard,
    ))
}

#[tokio::main]
async fn main() -> ExitCode {
    let decisions = audit::Decisions::default();
    tracing_subscriber::registry()
        .with(
            tracing_subscriber::fmt::layer()
                .with_writer(std::io::stderr)
                .with_filter(
                    tracing_subscriber::EnvFilter::try_from_default_env()
                        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("off")),
                ),
        )
        .with(decisions.clone())
        .init();
    let cli = match common::parse::<Cli>() {
        Ok(cli) => cli,
        Err(common::NotParsed::Shown) => return ExitCode::SUCCESS,
        Err(common::NotParsed::Usage(message)) => return usage_error(&message),
    };
    let policy = match common::with_keys_and_owner(Policy::any_kms_key(), &cli.kms_key_arns, None) {
        Ok(p) => p,
        Err(message) => return usage_error(&message),
    };
    let (mut backend, guard) = match &cli.bucket {
        None => simulated(policy),
        Some(bucket) => match against_aws(&cli, policy, bucket).await {
            Ok(made) => made,
            Err(message) => return start_error(&message),
        },
    };
    if let server::Backend::Simulated { face, .. } = &mut backend {
        *face = cli.demo_face.clone();
    }
    let output = match (&cli.liveness_output_bucket, cli.liveness, &backend) {
        (Some(bucket), _, _) => Some(bucket.as_str()),
        (None, true, server::Backend::Simulated { .. }) => Some(DEMO_LIVENESS_BUCKET),
        (None, true, server::Backend::Aws { .. }) => {
            return usage_error("--liveness against AWS needs --liveness-output-bucket")
        }
        (None, false, _) => None,
    };
    let liveness = match output.map(LivenessPolicy::new).transpose() {
        Ok(policy) => policy.map(|p| guard.liveness(p)),
        Err(e) => return usage_error(&format!("--liveness-output-bucket: {e}")),
    };
    if !cli.listen.ip().is_loopback() && !cli.listen_beyond_loopback {
        return usage_error(&format!(
            "--listen {} is beyond this machine and the pages have no login: add --listen-beyond-loopback to mean it",
            cli.listen
        ));
    }
    let listener = match tokio::net::TcpListener::bind(cli.listen).await {
        Ok(l) => l,
        Err(e) => return start_error(&format!("cannot listen on {}: {e}", cli.listen)),
    };
    let address = listener.local_addr().expect("a bound address");
    let label = backend.label();
    let app = server::app(server::Kiosk::new(
        guard, liveness, backend, decisions, address,
    ));
    eprintln!("kiosk: http://{address}/ (staff: http://{address}/staff); Ctrl-C stops");
    println!(
        "{}",
        json!({
            "kiosk": format!("http://{address}/"),
            "staff": format!("http://{address}/staff"),
            "backend": label,
        })
    );
    let served = axum::serve(listener, app)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await;
    match served {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => start_error(&format!("the server stopped: {e}")),
    }
}
