//! Consent before collection and its withdrawal (`rekognition_guard::consent`,
//! `PhotoStore::withdraw_consent`): against moto over TLS with a ledger.
//! That collecting without consent does not compile is the `consent`
//! module's `compile_fail` doc test.

mod emulator;
mod in_memory;
