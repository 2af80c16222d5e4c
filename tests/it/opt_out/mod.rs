//! The AI services opt-out evidence: required, and verified for the
//! account that calls Rekognition.

mod mocked;
mod organizations;
