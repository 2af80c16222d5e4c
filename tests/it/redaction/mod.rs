//! No biometric data or credentials in `Debug`, errors, logs or the SDK's
//! own logs.

mod body_logging;
mod debug;
