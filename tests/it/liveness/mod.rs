//! Face Liveness at the kiosk: sessions, verification, the failure limit.

mod canned_http;
mod in_memory;
mod tls;
