//! The guarded comparison (`Guard::compare`, `Guard::check`): the at-rest
//! checks, version pinning, the verification cache, verdicts, load.

mod canned_http;
mod emulator;
mod in_memory;
mod load;
mod mocked;
mod prepared;
