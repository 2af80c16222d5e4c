//! Rekognition collections (architecture B): indexing, 1:N search and
//! erasure under the guard.

mod canned_http;
mod in_memory;
mod mocked;
