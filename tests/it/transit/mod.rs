//! Encrypted in transit: HTTPS wherever the endpoint comes from, trusted
//! CAs, faults on the wire, timeouts.

mod ca_bundle;
mod canned_http;
mod emulator;
mod endpoint_secrets;
mod env_endpoint;
mod env_endpoint_secrets;
mod faults;
mod fips;
mod mocked;
