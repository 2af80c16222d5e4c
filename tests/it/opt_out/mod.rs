//! The AI services opt-out evidence: required, and verified for the
//! account that calls Rekognition.

mod gov_cloud;
mod mocked;
mod organizations;
