//! Enrollment: the quality gate (DetectFaces), storing with SSE-KMS, the
//! pinned read-back.

mod canned_http;
mod emulator;
mod faults;
mod in_memory;
