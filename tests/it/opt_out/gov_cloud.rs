//! The AWS GovCloud (US) partition as opt-out evidence (architecture C):
//! it holds only for a Rekognition client whose region is a GovCloud one,
//! is recorded as such, and GovCloud ARNs work throughout.

use rekognition_guard::aws::AwsBackend;
use rekognition_guard::memory::{InMemoryBackend, SimulatedObject};
use rekognition_guard::{
    Guard, KmsKeyArn, OptOutEvidence, OptOutRecord, OptOutViolation, PhotoStore, Policy,
    S3ObjectRef, Violation,
};

use crate::support::canned::Wire;
use crate::support::memory::{library, live_photo};
use crate::support::{self, KEY};

/// A GovCloud KMS key (partition `aws-us-gov`).
const GOV_KEY: &str =
    "arn:aws-us-gov:kms:us-gov-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";

fn gov_guard(aws: &InMemoryBackend) -> Guard {
    Guard::new(
        PhotoStore::new(
            aws.clone(),
            Policy::allow_kms_key(KmsKeyArn::parse(KEY).unwrap()).with_versioning_required(false),
        ),
        aws.clone(),
        OptOutEvidence::gov_cloud_partition(),
    )
}

fn ada(aws: &InMemoryBackend) -> S3ObjectRef {
    aws.put(
        "library-photos",
        "members/ada.jpg",
        SimulatedObject {
            face: Some("ada".into()),
            ..SimulatedObject::sse_kms(KEY)
        },
    );
    S3ObjectRef::parse("s3://library-photos/members/ada.jpg").unwrap()
}

/// In a GovCloud region the partition is the evidence, and the decision
/// records it with the region.
#[tokio::test]
async fn the_partition_is_evidence_for_a_gov_cloud_client_and_is_recorded() {
    let aws = library().with_region("us-gov-west-1");
    let member = ada(&aws);
    let decision = gov_guard(&aws)
        .compare(&member, live_photo(&aws, "ada"))
        .await
        .unwrap();
    assert!(decision.is_approved());
    assert_eq!(
        decision.opt_out,
        OptOutRecord::GovCloudPartition {
            region: "us-gov-west-1".into()
        }
    );
    assert_eq!(decision.opt_out.kind(), "gov_cloud_partition");
    assert_eq!(aws.calls().compare_faces, 1);
}

/// Outside GovCloud, or with a backend that does not say its region, the
/// partition proves nothing: refused, with nothing sent to Rekognition
/// (the enrollment quality gate included).
#[tokio::test]
async fn the_partition_is_no_evidence_outside_gov_cloud() {
    for region in [
        Some("eu-west-1"),
        Some("us-east-1"),
        Some("us-govx-1"),
        None,
    ] {
        let aws = match region {
            Some(r) => library().with_region(r),
            None => library(),
        };
        let member = ada(&aws);
        let guard = gov_guard(&aws);
        let err = guard
            .compare(&member, live_photo(&aws, "ada"))
            .await
            .unwrap_err();
        assert_eq!(
            err.as_refusal().map(|r| r.violations.to_vec()),
            Some(vec![Violation::OptOut(OptOutViolation::NotGovCloud {
                region: region.map(str::to_owned)
            })]),
            "{region:?}: {err}"
        );
        assert!(err.to_string().contains("us-gov-west-1"), "{err}");
        let err = guard
            .assess_face(live_photo(&aws, "ada"))
            .await
            .unwrap_err();
        assert!(
            matches!(
                err.violations(),
                [Violation::OptOut(OptOutViolation::NotGovCloud { .. })]
            ),
            "{region:?}: {err}"
        );
        assert_eq!(
            (aws.calls().compare_faces, aws.calls().detect_faces),
            (0, 0),
            "{region:?}: nothing reached Rekognition"
        );
    }
}

/// The AWS backend in us-gov-west-1 over canned HTTP, with and without
/// FIPS: the region the SDK signs with is the one the guard checks,
/// requests go to the GovCloud endpoints (FIPS ones with FIPS on), the
/// partition is the evidence, and a GovCloud KMS key ARN (`aws-us-gov`) is
/// allowed and matched.
#[tokio::test]
async fn an_aws_backend_in_gov_cloud_with_gov_cloud_arns() {
    for (fips, s3_host, rekognition_host) in [
        (false, "s3", "rekognition"),
        (true, "s3-fips", "rekognition-fips"),
    ] {
        let wire = Wire::new(GOV_KEY);
        let sdk = support::sdk_config("us-gov-west-1", "AKIDGOV", "gov-secret")
            .to_builder()
            .use_fips(fips)
            .http_client(wire.client())
            .build();
        let aws = AwsBackend::from_sdk_config(&sdk).unwrap();
        let guard = Guard::new(
            PhotoStore::new(
                aws.clone(),
                Policy::allow_kms_key(KmsKeyArn::parse(GOV_KEY).unwrap()),
            ),
            aws,
            OptOutEvidence::gov_cloud_partition(),
        );
        let member = support::canned::reference()
            .with_version_id(support::canned::VERSION)
            .unwrap();
        let decision = guard
            .compare(&member, support::canned::live_photo())
            .await
            .unwrap();
        assert!(decision.is_approved());
        assert_eq!(
            decision.opt_out,
            OptOutRecord::GovCloudPartition {
                region: "us-gov-west-1".into()
            }
        );
        let seen = wire.seen();
        assert!(
            seen[0].starts_with(&format!(
                "https://library-photos.{s3_host}.us-gov-west-1.amazonaws.com/"
            )),
            "{seen:?}"
        );
        assert_eq!(
            seen[1],
            format!("https://{rekognition_host}.us-gov-west-1.amazonaws.com/")
        );
    }
}

/// The AWS backend vouches for its region only where its requests are
/// known to be processed: a client it built, with no custom endpoint or
/// one of AWS's own names in that region (a VPC endpoint). A proxy or
/// other endpoint, or a handed-in client (whose endpoint cannot be read
/// back), reports none, so the GovCloud partition is refused for it.
#[test]
fn the_aws_backend_reports_its_region_only_where_requests_go_to_aws_there() {
    use rekognition_guard::RekognitionBackend;
    let sdk = support::sdk_config("us-gov-west-1", "AKIDGOV", "gov-secret");
    let region = |aws: AwsBackend| aws.region();
    assert_eq!(
        region(AwsBackend::from_sdk_config(&sdk).unwrap()),
        Some("us-gov-west-1".to_owned())
    );
    for (endpoint, reported) in [
        (
            "https://vpce-0123-abcd.rekognition.us-gov-west-1.vpce.amazonaws.com",
            true,
        ),
        ("https://rekognition.us-gov-west-1.amazonaws.com", true),
        ("https://rekognition.us-east-1.amazonaws.com", false),
        ("https://sigv4-proxy.example.com", false),
        ("https://us-gov-west-1.amazonaws.com.example.com", false),
    ] {
        let aws = AwsBackend::builder()
            .sdk_config(&sdk)
            .rekognition_endpoint_url(endpoint)
            .build()
            .unwrap();
        assert_eq!(region(aws).is_some(), reported, "{endpoint}");
    }
    let handed_in = AwsBackend::builder()
        .sdk_config(&sdk)
        .rekognition_client(aws_sdk_rekognition::Client::new(&sdk))
        .build()
        .unwrap();
    assert_eq!(region(handed_in), None);
}
