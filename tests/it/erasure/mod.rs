//! Erasure and retention: every version of exactly one key, receipts,
//! what blocks, retention sweeps, liveness artifacts.

mod canned_http;
mod emulator;
mod faults;
mod in_memory;
mod mocked;
