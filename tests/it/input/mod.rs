//! Parsing what callers hand in: references, images, thresholds.

mod properties;
