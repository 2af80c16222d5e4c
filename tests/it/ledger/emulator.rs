//! The ledger against moto over TLS: Object Lock, conditional writes
//! (`If-None-Match: *`) and HeadObject's lock headers work there; moto
//! lacks `GetObjectRetention`, which the ledger does not use.

use crate::support;
use crate::support::emulator::{emulator, fixture};

/// The ledger conformance suite (`rekognition_guard::conformance::ledger`)
/// on the real SDK clients against the emulator: chains, two writers at
/// once, an overwritten record, records removed with the governance
/// bypass, a record without retention, a bucket without Object Lock.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ledger_conformance() {
    let Some(emu) = emulator() else { return };
    let harness = support::ledger::MotoLedgerHarness::new(fixture(emu, false).await);
    rekognition_guard::conformance::ledger::run_all(&harness).await;
}
