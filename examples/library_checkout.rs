//! A library's self-service kiosk, on the in-memory simulation of S3 and
//! Rekognition: no AWS account needed.
//!
//! ```text
//! cargo run --example library_checkout
//! RUST_LOG=rekognition_guard=info cargo run --example library_checkout   # with audit events
//! ```
//!
//! Five members try to borrow a book. Each row of the table shows what the
//! guard decided and why; the example exits 0 when every outcome is the
//! expected one.

use std::process::ExitCode;

use rekognition_guard::memory::{InMemoryBackend, SimulatedObject};
use rekognition_guard::{
    Error, FaceImage, Guard, GuardBuilder, OptOutEvidence, Policy, S3ObjectRef, Verdict,
};

const BUCKET: &str = "library-photos";
const ACCOUNT: &str = "111122223333";
const KMS_KEY: &str = "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";

/// What the kiosk shows for one member.
struct Row {
    member: &'static str,
    situation: &'static str,
    outcome: String,
    detail: String,
    expected: &'static str,
}

/// A photo taken at the kiosk. The simulation does not read faces: it is
/// told which face the bytes show.
fn kiosk_photo(aws: &InMemoryBackend, face: &str) -> FaceImage {
    let mut bytes = vec![0xFF, 0xD8, 0xFF, 0xE0];
    bytes.extend_from_slice(format!("kiosk camera frame of {face}").as_bytes());
    aws.register_image(&bytes, face);
    FaceImage::from_vec(bytes).expect("a JPEG under 5 MiB")
}

fn builder(aws: &InMemoryBackend) -> GuardBuilder {
    Guard::builder(aws.clone(), aws.clone()).policy(Policy::new().require_versioning(true))
}

fn opt_out() -> OptOutEvidence {
    OptOutEvidence::attested("AWS Organizations AI opt-out policy p-examplepolicy")
        .expect("a valid reference")
}

/// Runs one checkout and turns the result into a table row.
async fn checkout(
    guard: &Guard,
    aws: &InMemoryBackend,
    member: &'static str,
    situation: &'static str,
    face_at_kiosk: &str,
    expected: &'static str,
) -> Row {
    let reference = S3ObjectRef::new(BUCKET, &format!("members/{member}.jpg")).expect("valid key");
    let sent_before = aws.compare_calls();
    let result = guard
        .compare(reference, kiosk_photo(aws, face_at_kiosk))
        .await;
    let sent = aws.compare_calls() - sent_before;
    let (outcome, detail) = match result {
        Ok(d) if d.is_approved() => (
            "APPROVED".to_owned(),
            format!("{}; reference {}", d.verdict(), d.source()),
        ),
        Ok(d) => (
            "DENIED".to_owned(),
            match d.verdict() {
                v @ Verdict::NoFace { .. } => v.to_string(),
                v => format!("{v} at threshold {}", d.threshold()),
            },
        ),
        Err(Error::Refused(r)) => (
            "REFUSED".to_owned(),
            format!(
                "{}; {} request(s) sent to Rekognition",
                r.violations()
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join("; "),
                sent
            ),
        ),
        Err(e) => ("ERROR".to_owned(), e.to_string()),
    };
    Row {
        member,
        situation,
        outcome,
        detail,
        expected,
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("off")),
        )
        .with_writer(std::io::stderr)
        .init();

    // The library's AWS account, simulated: a versioned bucket of member
    // photos, most stored with SSE-KMS, one uploaded by an old script with
    // SSE-S3.
    let aws = InMemoryBackend::new();
    aws.create_bucket(BUCKET, ACCOUNT, true);
    for (member, object) in [
        ("ada", SimulatedObject::sse_kms(KMS_KEY).with_face("ada")),
        (
            "grace",
            SimulatedObject::sse_kms(KMS_KEY).with_face("grace"),
        ),
        ("alan", SimulatedObject::sse_s3().with_face("alan")),
        (
            "edsger",
            SimulatedObject::sse_kms(KMS_KEY).with_face("edsger"),
        ),
        (
            "barbara",
            SimulatedObject::sse_kms(KMS_KEY).with_face("barbara"),
        ),
    ] {
        aws.put_object(BUCKET, &format!("members/{member}.jpg"), object);
    }
    for face in ["ada", "grace", "alan", "edsger", "barbara"] {
        aws.set_similarity(face, face, 99.4);
    }
    aws.set_similarity("grace", "ada", 41.0);

    let guard = builder(&aws)
        .opt_out(opt_out())
        .build()
        .expect("opt-out evidence given");
    let mut rows = vec![
        checkout(
            &guard,
            &aws,
            "ada",
            "compliant photo, same person",
            "ada",
            "APPROVED",
        )
        .await,
        checkout(
            &guard,
            &aws,
            "alan",
            "photo stored with SSE-S3",
            "alan",
            "REFUSED",
        )
        .await,
        checkout(
            &guard,
            &aws,
            "grace",
            "someone else at the kiosk",
            "ada",
            "DENIED",
        )
        .await,
    ];

    // A kiosk misconfigured to reach Rekognition over plain HTTP.
    let insecure = InMemoryBackend::with_rekognition_endpoint(
        aws.clone(),
        "http://rekognition.eu-west-1.amazonaws.com",
    );
    let insecure_guard = Guard::builder(aws.clone(), insecure)
        .policy(Policy::new().require_versioning(true))
        .opt_out(opt_out())
        .build()
        .expect("opt-out evidence given");
    rows.push(
        checkout(
            &insecure_guard,
            &aws,
            "edsger",
            "Rekognition endpoint is http://",
            "edsger",
            "REFUSED",
        )
        .await,
    );

    // A kiosk whose operator never stated the AI-services opt-out.
    rows.push(match builder(&aws).build() {
        Ok(guard) => {
            checkout(
                &guard,
                &aws,
                "barbara",
                "no opt-out evidence",
                "barbara",
                "REFUSED",
            )
            .await
        }
        Err(e) => Row {
            member: "barbara",
            situation: "no opt-out evidence",
            outcome: "REFUSED".to_owned(),
            detail: format!("guard not built: {e}"),
            expected: "REFUSED",
        },
    });

    print_table(&rows);
    let unexpected: Vec<_> = rows.iter().filter(|r| r.outcome != r.expected).collect();
    println!(
        "\n{} checkouts, {} requests reached Rekognition, {} unexpected outcomes",
        rows.len(),
        aws.compare_calls(),
        unexpected.len()
    );
    if unexpected.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

fn print_table(rows: &[Row]) {
    let member_w = rows
        .iter()
        .map(|r| r.member.len())
        .max()
        .unwrap_or(6)
        .max(6);
    let situation_w = rows
        .iter()
        .map(|r| r.situation.len())
        .max()
        .unwrap_or(9)
        .max(9);
    println!(
        "{:<member_w$}  {:<situation_w$}  {:<8}  detail",
        "member", "situation", "outcome"
    );
    println!(
        "{}  {}  {}  {}",
        "-".repeat(member_w),
        "-".repeat(situation_w),
        "-".repeat(8),
        "-".repeat(6)
    );
    for r in rows {
        println!(
            "{:<member_w$}  {:<situation_w$}  {:<8}  {}",
            r.member, r.situation, r.outcome, r.detail
        );
    }
}
