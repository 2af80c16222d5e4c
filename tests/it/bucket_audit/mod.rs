//! `PhotoStore::audit_bucket` over the AWS backend: the bucket configuration that keeps future
//! photos compliant.

mod canned_http;
mod emulator;
