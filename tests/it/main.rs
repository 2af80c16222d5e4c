//! The integration tests: one crate (one link of the AWS SDK), a module per
//! feature, each with a submodule per way of running it: `in_memory` (the
//! simulation), `mocked` (the exported mockall mocks), `canned_http` (the
//! real SDK clients on aws-smithy-mocks answers), `faults` (the real SDK
//! clients over TLS against HTTPS fault servers on loopback), `emulator`
//! (moto over TLS; `bash scripts/test` starts it), and `cli` runs the
//! command-line examples end to end. Shared scaffolding is in `support`.

mod support;

mod answers;
mod bucket_audit;
mod cli;
mod collections;
mod compare;
mod consent;
mod enrollment;
mod erasure;
mod inventory;
mod ledger;
mod liveness;
mod opt_out;
mod project;
mod redaction;
mod transit;
