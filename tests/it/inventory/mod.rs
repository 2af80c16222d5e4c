//! Fleet audits from S3 Inventory reports, remediation manifests and
//! re-encryption.

mod emulator;
mod faults;
