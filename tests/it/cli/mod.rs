//! The command-line examples' contracts end to end: flags, the JSON on the
//! last stdout line, exit codes.

mod audit_bucket;
mod audit_inventory;
mod collection_checkout;
mod compare_faces;
mod compare_faces_faults;
mod erase_member;
mod kiosk;
mod ledger;
mod library_checkout;
mod liveness_checkout;
mod quickstart;
