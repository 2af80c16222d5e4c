//! The ledger on S3 Object Lock (`rekognition_guard::ledger`): the
//! conformance suite against moto over TLS (the in-memory run is the
//! crate's own unit test).

mod emulator;
