//! The AWS backend as the guard sees it: its guard builder, and what a
//! guard built by it reads directly instead of through the backend traits
//! (the Rekognition client CompareFaces is awaited on, and the in-transit
//! verdicts on the S3 and Rekognition endpoints).

use super::{Guard, GuardBuilder};
use crate::aws::AwsBackend;
use crate::backend::{FaceAnalyzer, ObjectInspector};
use crate::input::Service;
use crate::transit::InsecureEndpoint;

impl AwsBackend {
    /// A guard builder over this backend: inspector, analyzer, the
    /// uploader for [`Guard::enroll`], the bucket auditor for
    /// [`Guard::start_liveness`], the eraser for [`Guard::erase`], the
    /// reader for [`Guard::audit_inventory`] and the re-encryptor for
    /// [`Guard::reencrypt`].
    pub fn guard_builder(&self) -> GuardBuilder {
        Guard::builder(self.clone(), self.clone())
            .direct(Direct::new(
                self.rekognition_client().clone(),
                &ObjectInspector::endpoint(self),
                &FaceAnalyzer::endpoint(self),
            ))
            .uploader(self.clone())
            .bucket_auditor(self.clone())
            .eraser(self.clone())
            .object_reader(self.clone())
            .reencryptor(self.clone())
    }
}

/// The AWS backend as the guard's inspector and analyzer, seen directly:
/// its Rekognition client, so that CompareFaces is awaited in place (through
/// the trait object its future, about 5.7 KB, would be boxed: a large
/// allocation on every comparison), and the in-transit verdicts on its two
/// endpoints, which cannot change once it is built (through the trait each
/// check would clone both URLs). The same checks and the same call run
/// either way.
#[derive(Clone)]
pub(super) struct Direct {
    pub(super) rekognition: aws_sdk_rekognition::Client,
    pub(super) s3_endpoint: Result<(), InsecureEndpoint>,
    pub(super) rekognition_endpoint: Result<(), InsecureEndpoint>,
}

impl Direct {
    /// From the backend's Rekognition client and its endpoint URLs.
    fn new(
        rekognition: aws_sdk_rekognition::Client,
        s3_endpoint: &str,
        rekognition_endpoint: &str,
    ) -> Self {
        Self {
            rekognition,
            s3_endpoint: crate::transit::check_endpoint_url(Service::S3, s3_endpoint),
            rekognition_endpoint: crate::transit::check_endpoint_url(
                Service::Rekognition,
                rekognition_endpoint,
            ),
        }
    }
}
