//! A library's self-service kiosk. The library enrolls its members' photos
//! through the guard, then four members try to borrow a book; the table
//! shows what the guard decided and why.
//!
//! ```text
//! cargo run --example library_checkout                       # simulated: no AWS account needed
//! RUST_LOG=rekognition_guard=info cargo run --example library_checkout   # with audit events
//! cargo run --example library_checkout -- --bucket B --kms-key-arn ARN \
//!     --photo member.jpg --other-photo someone-else.jpg \
//!     [--region R] [--endpoint-url URL] [--s3-endpoint-url URL] \
//!     [--rekognition-endpoint-url URL] [--ca-bundle PEM]     # against AWS or an emulator
//! ```
//!
//! Enrollment ([`Guard::enroll`]) runs the quality gate (DetectFaces),
//! stores each photo over HTTPS with SSE-KMS under the policy's key, reads
//! it back and keeps the version-pinned reference the kiosk compares
//! against. moto has no DetectFaces: against it, point
//! `--rekognition-endpoint-url` at something that answers DetectFaces
//! (the test suite uses an HTTPS stand-in). One member's photo was stored long
//! ago by an old script with SSE-S3.
//!
//! Simulated, the example exits 0 when every outcome is the expected one.
//! Against a real endpoint (the bucket is created, versioned, if missing)
//! only the policy outcomes are checked: whether two photos match depends
//! on the faces in them (and an emulator's CompareFaces may not look).

mod common;

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use rekognition_guard::aws::AwsBackend;
use rekognition_guard::collection::MemberId;
use rekognition_guard::consent::{Consent, ConsentMethod, ConsentNotice};
use rekognition_guard::memory::{InMemoryBackend, SimulatedObject};
use rekognition_guard::{
    Error, FaceImage, Guard, KmsKeyArn, OptOutEvidence, PhotoStore, Policy, S3ObjectRef, Verdict,
};

const SIMULATED_BUCKET: &str = "library-photos";
const ACCOUNT: &str = "111122223333";
const SIMULATED_KMS_KEY: &str =
    "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";
/// Members enrolled through the guard; `alan` is the old script's upload.
const ENROLLED: [&str; 3] = ["ada", "grace", "edsger"];
/// The notice members sign before their photo is taken.
const NOTICE: &str = "The library collects a scan of your face geometry from your photo to check your identity at self-service loans. It is kept for at most three years after your last loan, or until you withdraw consent, and then destroyed.";

/// Run the kiosk story simulated (no options) or against AWS / an emulator.
#[derive(Debug, Parser)]
#[command(name = "library_checkout")]
struct Cli {
    /// Bucket for the member photos (real endpoint mode).
    #[arg(long, requires_all = ["kms_key_arn", "photo", "other_photo"])]
    bucket: Option<String>,
    /// KMS key ARN to encrypt the enrolled photos with.
    #[arg(long, value_name = "ARN")]
    kms_key_arn: Option<String>,
    /// A JPEG/PNG of the member (reference and live photo).
    #[arg(long, value_name = "FILE")]
    photo: Option<PathBuf>,
    /// A JPEG/PNG of someone else.
    #[arg(long, value_name = "FILE")]
    other_photo: Option<PathBuf>,
    /// AWS region.
    #[arg(long)]
    region: Option<String>,
    /// One https endpoint for every service (an emulator).
    #[arg(long, value_name = "URL")]
    endpoint_url: Option<String>,
    /// The https endpoint for S3 only (wins over --endpoint-url).
    #[arg(long, value_name = "URL")]
    s3_endpoint_url: Option<String>,
    /// The https endpoint for Rekognition only (wins over --endpoint-url).
    #[arg(long, value_name = "URL")]
    rekognition_endpoint_url: Option<String>,
    /// Extra trusted CA certificates (PEM), besides the system's roots.
    /// Without it, AWS_CA_BUNDLE or the profile's ca_bundle is the only
    /// trusted CA, if set (as in the AWS CLI).
    #[arg(long, value_name = "PEM")]
    ca_bundle: Option<PathBuf>,
}

/// Who stores and compares the photos.
enum Backend {
    Simulated(InMemoryBackend),
    Aws {
        backend: AwsBackend,
        sdk_config: Box<aws_types::SdkConfig>,
        member_photo: Vec<u8>,
        other_photo: Vec<u8>,
    },
}

/// The library's setup: where photos live and which key protects them.
struct Site {
    backend: Backend,
    bucket: String,
    kms_key: KmsKeyArn,
}

/// What the kiosk shows for one member.
struct Row {
    member: &'static str,
    situation: &'static str,
    outcome: String,
    detail: String,
    /// The expected outcome, when this run can know it.
    expected: Option<&'static str>,
}

impl Site {
    /// A photo of `face`.
    fn photo_of(&self, face: &str) -> FaceImage {
        let bytes = match &self.backend {
            Backend::Simulated(aws) => {
                // The simulation does not read faces: it is told which face
                // the bytes show.
                let mut bytes = vec![0xFF, 0xD8, 0xFF, 0xE0];
                bytes.extend_from_slice(format!("camera frame of {face}").as_bytes());
                aws.register_image(&bytes, face);
                bytes
            }
            Backend::Aws { other_photo, .. } if face == "grace" => other_photo.clone(),
            Backend::Aws { member_photo, .. } => member_photo.clone(),
        };
        FaceImage::from_vec(bytes).expect("a JPEG or PNG under 5 MiB")
    }

    fn policy(&self) -> Policy {
        Policy::allow_kms_key(self.kms_key.clone())
    }

    /// A guard over the site's backends.
    fn guard(&self) -> Guard {
        match &self.backend {
            Backend::Simulated(aws) => Guard::new(
                PhotoStore::new(aws.clone(), self.policy()),
                aws.clone(),
                opt_out(),
            ),
            Backend::Aws { backend, .. } => Guard::new(
                PhotoStore::new(backend.clone(), self.policy()),
                backend.clone(),
                opt_out(),
            ),
        }
    }

    /// The same site, but with Rekognition reached over plain HTTP.
    fn insecure_guard(&self) -> Guard {
        let http = "http://rekognition.eu-west-1.amazonaws.com";
        match &self.backend {
            Backend::Simulated(aws) => Guard::new(
                PhotoStore::new(aws.clone(), self.policy()),
                aws.clone()
                    .with_endpoint(rekognition_guard::Service::Rekognition, http),
                opt_out(),
            ),
            Backend::Aws {
                backend,
                sdk_config,
                ..
            } => {
                let rekognition = aws_sdk_rekognition::Client::from_conf(
                    aws_sdk_rekognition::config::Builder::from(sdk_config.as_ref())
                        .endpoint_url(http)
                        .build(),
                );
                let insecure = AwsBackend::builder()
                    .s3_client(backend.s3_client().clone())
                    .rekognition_client(rekognition)
                    .build()
                    .expect("clients given");
                Guard::new(
                    PhotoStore::new(backend.clone(), self.policy()),
                    insecure,
                    opt_out(),
                )
            }
        }
    }

    fn reference(&self, member: &str) -> S3ObjectRef {
        S3ObjectRef::new(&self.bucket, &format!("members/{member}.jpg")).expect("valid key")
    }

    /// Enrolls the members through the guard, and lets the "old script"
    /// store alan's photo with SSE-S3. Returns the references to compare
    /// against: pinned for enrolled members.
    async fn enroll(&self, guard: &Guard) -> Result<HashMap<&'static str, S3ObjectRef>, String> {
        let mut references = HashMap::new();
        for member in ENROLLED {
            // Consent before collection: each member signed the notice on
            // paper at the desk (the form's number is the record).
            let consent = Consent::new(
                MemberId::parse(&format!("member-{member}")).expect("a member id"),
                ConsentNotice::new("2026-12", NOTICE).expect("a notice"),
                "identity check at self-service loans",
                Duration::from_secs(3 * 365 * 24 * 3600),
                ConsentMethod::Paper,
            )
            .expect("a consent")
            .kept_in(&format!("desk consent form for member-{member}"))
            .expect("a reference");
            let verified = guard
                .enroll(&consent, &self.reference(member), self.photo_of(member))
                .await
                .map_err(|e| format!("enrolling {member}: {e}"))?;
            eprintln!("enrolled {member}: {verified}");
            references.insert(member, verified.reference().clone());
        }
        match &self.backend {
            Backend::Simulated(aws) => {
                aws.put(
                    &self.bucket,
                    "members/alan.jpg",
                    SimulatedObject {
                        face: Some("alan".into()),
                        ..SimulatedObject::new(rekognition_guard::SseAlgorithm::Aes256)
                    },
                );
            }
            Backend::Aws {
                backend,
                member_photo,
                ..
            } => {
                backend
                    .s3_client()
                    .put_object()
                    .bucket(&self.bucket)
                    .key("members/alan.jpg")
                    .body(member_photo.clone().into())
                    .server_side_encryption(aws_sdk_s3::types::ServerSideEncryption::Aes256)
                    .send()
                    .await
                    .map_err(|e| format!("PutObject members/alan.jpg: {e:?}"))?;
            }
        }
        references.insert("alan", self.reference("alan"));
        Ok(references)
    }

    fn requests_sent(&self) -> Option<usize> {
        match &self.backend {
            Backend::Simulated(aws) => Some(aws.calls().compare_faces),
            Backend::Aws { .. } => None,
        }
    }

    /// Runs one checkout and turns the result into a table row.
    async fn checkout(
        &self,
        guard: &Guard,
        reference: &S3ObjectRef,
        (member, situation): (&'static str, &'static str),
        face_at_kiosk: &str,
        expected: Option<&'static str>,
    ) -> Row {
        let sent_before = self.requests_sent();
        let result = guard
            .compare(reference.clone(), self.photo_of(face_at_kiosk))
            .await;
        let sent = match (sent_before, self.requests_sent()) {
            (Some(before), Some(after)) => {
                format!("; {} request(s) sent to Rekognition", after - before)
            }
            _ => String::new(),
        };
        let (outcome, detail) = match result {
            Ok(d) if d.is_approved() => {
                ("APPROVED", format!("{}; reference {}", d.verdict, d.source))
            }
            Ok(d) => (
                "DENIED",
                match d.verdict {
                    v @ Verdict::NoFace { .. } => v.to_string(),
                    v => format!("{v} at threshold {}", d.threshold),
                },
            ),
            Err(Error::Refused(r)) => (
                "REFUSED",
                format!(
                    "{}{sent}",
                    r.violations
                        .iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join("; ")
                ),
            ),
            Err(e) => ("ERROR", e.to_string()),
        };
        Row {
            member,
            situation,
            outcome: outcome.to_owned(),
            detail,
            expected,
        }
    }
}

fn opt_out() -> OptOutEvidence {
    OptOutEvidence::attested("AWS Organizations AI opt-out policy p-examplepolicy")
        .expect("a valid reference")
}

fn simulated() -> Site {
    let aws = InMemoryBackend::new();
    aws.create_bucket(SIMULATED_BUCKET, ACCOUNT, true);
    for face in ["ada", "grace", "alan", "edsger"] {
        aws.set_similarity(face, face, 99.4);
    }
    aws.set_similarity("grace", "ada", 41.0);
    Site {
        backend: Backend::Simulated(aws),
        bucket: SIMULATED_BUCKET.to_owned(),
        kms_key: KmsKeyArn::parse(SIMULATED_KMS_KEY).expect("a key ARN"),
    }
}

/// Connects to AWS (or an emulator); creates the bucket, versioned, if
/// missing.
async fn real(cli: &Cli) -> Result<Site, String> {
    let (Some(bucket), Some(kms_key), Some(photo), Some(other)) =
        (&cli.bucket, &cli.kms_key_arn, &cli.photo, &cli.other_photo)
    else {
        return Err("--bucket, --kms-key-arn, --photo and --other-photo go together".into());
    };
    let kms_key = KmsKeyArn::parse(kms_key).map_err(|e| e.to_string())?;
    let read =
        |p: &PathBuf| std::fs::read(p).map_err(|e| format!("cannot read {}: {e}", p.display()));
    let (member_photo, other_photo) = (read(photo)?, read(other)?);
    let sdk_config = common::load_sdk_config(cli.region.as_deref()).await;
    let mut builder = AwsBackend::builder().sdk_config(&sdk_config);
    if let Some(url) = &cli.endpoint_url {
        builder = builder.endpoint_url(url);
    }
    if let Some(url) = &cli.s3_endpoint_url {
        builder = builder.s3_endpoint_url(url);
    }
    if let Some(url) = &cli.rekognition_endpoint_url {
        builder = builder.rekognition_endpoint_url(url);
    }
    if let Some(ca) = &cli.ca_bundle {
        builder = builder.ca_bundle_pem(read(ca)?);
    }
    let backend = builder.build().map_err(|e| e.to_string())?;
    let s3 = backend.s3_client();
    if s3.head_bucket().bucket(bucket).send().await.is_err() {
        eprintln!("creating versioned bucket {bucket}");
        s3.create_bucket()
            .bucket(bucket)
            .send()
            .await
            .map_err(|e| format!("CreateBucket {bucket}: {e:?}"))?;
    }
    s3.put_bucket_versioning()
        .bucket(bucket)
        .versioning_configuration(
            aws_sdk_s3::types::VersioningConfiguration::builder()
                .status(aws_sdk_s3::types::BucketVersioningStatus::Enabled)
                .build(),
        )
        .send()
        .await
        .map_err(|e| format!("PutBucketVersioning {bucket}: {e:?}"))?;
    Ok(Site {
        backend: Backend::Aws {
            backend,
            sdk_config: Box::new(sdk_config),
            member_photo,
            other_photo,
        },
        bucket: bucket.clone(),
        kms_key,
    })
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    common::init_tracing();
    let cli = Cli::parse();
    let simulated_run = cli.bucket.is_none();
    let site = if simulated_run {
        simulated()
    } else {
        match real(&cli).await {
            Ok(site) => site,
            Err(e) => {
                eprintln!("library_checkout: {e}");
                return ExitCode::from(3);
            }
        }
    };
    // Whether two photos show one person is only known in the simulation.
    let faces = |expected| simulated_run.then_some(expected);

    let guard = site.guard();
    let references = match site.enroll(&guard).await {
        Ok(r) => r,
        Err(e) => {
            eprintln!("library_checkout: {e}");
            return ExitCode::from(3);
        }
    };
    let reference = |member: &str| &references[member];

    let mut rows = vec![
        site.checkout(
            &guard,
            reference("ada"),
            ("ada", "compliant photo, same person"),
            "ada",
            faces("APPROVED"),
        )
        .await,
        site.checkout(
            &guard,
            reference("alan"),
            ("alan", "photo stored with SSE-S3"),
            "alan",
            Some("REFUSED"),
        )
        .await,
        site.checkout(
            &guard,
            reference("grace"),
            ("grace", "someone else at the kiosk"),
            "ada",
            faces("DENIED"),
        )
        .await,
    ];

    // A kiosk misconfigured to reach Rekognition over plain HTTP.
    let insecure = site.insecure_guard();
    rows.push(
        site.checkout(
            &insecure,
            reference("edsger"),
            ("edsger", "Rekognition endpoint is http://"),
            "edsger",
            Some("REFUSED"),
        )
        .await,
    );

    // A kiosk whose operator never stated the AI-services opt-out has no
    // row: without evidence there is no `Guard` to compare with (only a
    // `PhotoStore`, which cannot send a photo to Rekognition).

    print_table(&rows);
    let unexpected = rows
        .iter()
        .filter(|r| r.expected.is_some_and(|e| e != r.outcome))
        .count();
    let sent = site
        .requests_sent()
        .map(|n| format!(", {n} requests reached Rekognition"))
        .unwrap_or_default();
    println!(
        "\n{} checkouts{sent}, {unexpected} unexpected outcomes",
        rows.len()
    );
    if rows.iter().any(|r| r.expected.is_none()) {
        println!("(* depends on the faces in the photos: not checked against a real endpoint)");
    }
    if unexpected == 0 {
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
        "{:<member_w$}  {:<situation_w$}  {:<9}  detail",
        "member", "situation", "outcome"
    );
    println!(
        "{}  {}  {}  {}",
        "-".repeat(member_w),
        "-".repeat(situation_w),
        "-".repeat(9),
        "-".repeat(6)
    );
    for r in rows {
        let outcome = if r.expected.is_none() {
            format!("{}*", r.outcome)
        } else {
            r.outcome.clone()
        };
        println!(
            "{:<member_w$}  {:<situation_w$}  {:<9}  {}",
            r.member, r.situation, outcome, r.detail
        );
    }
}
