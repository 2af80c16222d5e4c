//! The whole crate in one call: compare a member's reference photo in S3
//! with a live photo, only if the photo is SSE-KMS encrypted, every request
//! is HTTPS and the account's AI services opt-out is evidenced.
//!
//! ```text
//! cargo run --example quickstart -- 's3://BUCKET/KEY?versionId=V' live.jpg 'AWS Support case 1234567890'
//! ```
//!
//! The standard AWS configuration chain applies (region, credentials,
//! `AWS_ENDPOINT_URL`, `AWS_CA_BUNDLE`). The last stdout line is one JSON
//! object, `{"decision": …, "similarity": …}`; exit 0 match, 1 no match,
//! 2 refused (nothing sent to Rekognition), 3 other error, 64 usage.
use std::process::ExitCode;

use rekognition_guard::aws::AwsBackend;
use rekognition_guard::{
    ConfigError, Error, ErrorKind, FaceImage, Guard, OptOutEvidence, PhotoStore, Policy,
    S3ObjectRef,
};

async fn compare(member: &str, live: Vec<u8>, attestation: &str) -> Result<(u8, String), Error> {
    let sdk_config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let aws = AwsBackend::from_sdk_config(&sdk_config)?;
    let store = PhotoStore::new(aws.clone(), Policy::any_kms_key());
    let guard = Guard::new(store, aws, OptOutEvidence::attested(attestation)?);
    let decision = guard
        .compare(S3ObjectRef::parse(member)?, FaceImage::from_vec(live)?)
        .await?;
    let similarity = decision.verdict.similarity();
    let line = serde_json::json!({"decision": decision.verdict.label(), "similarity": similarity});
    Ok((if decision.is_approved() { 0 } else { 1 }, line.to_string()))
}

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [member, live, attestation] = &args[..] else {
        let usage = "usage: quickstart s3://BUCKET/KEY?versionId=V LIVE_PHOTO OPT_OUT_ATTESTATION";
        println!(
            "{}",
            serde_json::json!({"decision": "usage", "reason": usage})
        );
        return ExitCode::from(64);
    };
    let live = match std::fs::read(live) {
        Ok(bytes) => bytes,
        Err(e) => {
            let reason = format!("cannot read {live:?}: {e}");
            println!(
                "{}",
                serde_json::json!({"decision": "error", "reason": reason})
            );
            return ExitCode::from(3);
        }
    };
    let (code, line) = compare(member, live, attestation)
        .await
        .unwrap_or_else(|e| {
            // A plain-HTTP endpoint configured anywhere is refused at build.
            let insecure = matches!(e, Error::Config(ConfigError::InsecureEndpoint(_)));
            let code = if e.kind() == ErrorKind::Refused || insecure {
                2
            } else {
                3
            };
            let decision = if code == 2 { "refused" } else { "error" };
            (
                code,
                serde_json::json!({"decision": decision, "reason": e.to_string()}).to_string(),
            )
        });
    println!("{line}");
    ExitCode::from(code)
}
