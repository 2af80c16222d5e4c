//! `AwsBackend::audit_bucket`: the bucket configuration that keeps future
//! photos compliant.

mod canned_http;
mod emulator;
