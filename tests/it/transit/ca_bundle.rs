//! `AWS_CA_BUNDLE` and the profile's `ca_bundle`, honoured by
//! `AwsBackend::from_sdk_config` as by the AWS CLI and the other AWS SDKs,
//! over real TLS against the fault server (its throwaway CA is in no
//! system store). One test, in a process of its own (`support::process`),
//! because the environment is process-wide.

use crate::support;

use aws_config::BehaviorVersion;
use aws_credential_types::Credentials;
use aws_runtime::env_config::file::{EnvConfigFileKind, EnvConfigFiles};
use aws_smithy_http_client::tls::{rustls_provider::CryptoMode, Provider};
use rekognition_guard::aws::AwsBackend;
use rekognition_guard::{BackendErrorKind, ConfigError, Error, Guard, Policy, S3ObjectRef};
use support::fault_server::{ca_pem, Fault, FaultServer, Response};
use support::{KEY, VERSION};

/// A guard on a backend built like an application does, from the
/// environment's `SdkConfig`, with S3 at `endpoint`.
fn guard(sdk: &aws_types::SdkConfig, endpoint: &str) -> Result<Guard, ConfigError> {
    let aws = AwsBackend::builder()
        .sdk_config(sdk)
        .endpoint_url(endpoint)
        .build()
        .map_err(crate::support::config_error)?;
    Ok(crate::support::canned::uncached_guard(
        aws,
        Policy::any_kms_key().with_versioning_required(false),
    ))
}

/// The standard loader, reading only the profile file `profile`.
fn loader(profile: &std::path::Path) -> aws_config::ConfigLoader {
    aws_config::defaults(BehaviorVersion::latest())
        .region("eu-west-1")
        .credentials_provider(Credentials::for_tests())
        .profile_files(
            EnvConfigFiles::builder()
                .with_file(EnvConfigFileKind::Config, profile)
                .build(),
        )
}

async fn load(profile: &std::path::Path) -> aws_types::SdkConfig {
    loader(profile).load().await
}

#[test]
fn the_ca_bundle_of_the_environment_or_the_profile_is_the_one_trusted() {
    // It sets environment variables: in a process of its own.
    if !crate::support::process::in_own_process(&crate::support::process::test_path(
        module_path!(),
        "the_ca_bundle_of_the_environment_or_the_profile_is_the_one_trusted",
    )) {
        return;
    }
    // Set before any thread exists.
    for var in [
        "AWS_CA_BUNDLE",
        "AWS_PROFILE",
        "AWS_ENDPOINT_URL",
        "AWS_ENDPOINT_URL_S3",
        "AWS_ENDPOINT_URL_REKOGNITION",
    ] {
        std::env::remove_var(var);
    }
    let dir = std::env::temp_dir().join(format!("rg-ca-bundle-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let ca = dir.join("fault-ca.pem");
    std::fs::write(&ca, ca_pem()).unwrap();
    let missing = dir.join("missing.pem");
    let profile = |name: &str, bundle: Option<&std::path::Path>| {
        let path = dir.join(name);
        let mut text = "[default]\nregion = eu-west-1\n".to_owned();
        if let Some(bundle) = bundle {
            text.push_str(&format!("ca_bundle = {}\n", bundle.display()));
        }
        std::fs::write(&path, text).unwrap();
        path
    };
    let plain = profile("plain", None);
    let trusting = profile("trusting", Some(&ca));
    let broken = profile("broken", Some(&missing));

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let server = FaultServer::start(Fault::Respond(Response::sse_kms_head(KEY, VERSION))).await;
        let reference = S3ObjectRef::parse(&format!(
            "s3://library-photos/members/ada.jpg?versionId={VERSION}"
        ))
        .unwrap();
        let check = |sdk: aws_types::SdkConfig| {
            let endpoint = server.endpoint.clone();
            let reference = reference.clone();
            async move {
                guard(&sdk, &endpoint)
                    .unwrap()
                    .store()
                    .check(&reference)
                    .await
            }
        };
        let untrusted = |result: Result<_, Error>, case: &str| match result {
            Err(Error::Backend(b)) => {
                assert_eq!(
                    b.kind(),
                    BackendErrorKind::CertificateNotTrusted,
                    "{case}: {b}"
                )
            }
            other => panic!("{case}: expected an untrusted certificate, got {other:?}"),
        };

        // Nothing configured: the system's roots, which do not hold the CA.
        untrusted(check(load(&plain).await).await, "no CA bundle");

        // The profile's ca_bundle.
        let verified = check(load(&trusting).await)
            .await
            .expect("profile ca_bundle");
        assert_eq!(verified.reference().version_id(), Some(VERSION));

        // AWS_CA_BUNDLE wins over the profile (which names a missing file).
        std::env::set_var("AWS_CA_BUNDLE", &ca);
        check(load(&broken).await).await.expect("AWS_CA_BUNDLE");

        // An HTTP client in code wins over the environment: its own trust
        // (the system's roots) applies, so the CA is not trusted.
        let with_client = loader(&plain)
            .http_client(
                aws_smithy_http_client::Builder::new()
                    .tls_provider(Provider::Rustls(CryptoMode::AwsLc))
                    .build_https(),
            )
            .load()
            .await;
        untrusted(check(with_client).await, "an HTTP client in code");

        // A bundle that cannot be read fails the build and names it.
        std::env::set_var("AWS_CA_BUNDLE", &missing);
        let err = guard(&load(&plain).await, &server.endpoint).unwrap_err();
        let message = err.to_string();
        assert!(matches!(err, ConfigError::Invalid(_)), "{err:?}");
        for expected in ["AWS_CA_BUNDLE", "missing.pem", "cannot be read"] {
            assert!(message.contains(expected), "{expected:?} in {message}");
        }
        assert!(
            server.requests().len() == 2,
            "only the two trusted checks reached the server: {:?}",
            server.requests()
        );
    });
    std::fs::remove_dir_all(&dir).unwrap();
}
