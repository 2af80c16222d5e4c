//! A refusal: every privacy requirement an operation failed, by
//! requirement (in transit, at rest, opt-out).

use std::fmt;

use crate::at_rest::AtRestViolation;
use crate::opt_out::OptOutViolation;
use crate::transit::InsecureEndpoint;

/// The policy refused the comparison; nothing was sent to Rekognition.
///
/// Holds every requirement that failed, not only the first, so one run tells
/// an operator everything to fix. `Display` is one line (safe for logs):
/// `comparison refused by privacy policy (2 requirements failed; …): 1) …; 2) …`.
#[derive(Debug, Clone, PartialEq)]
pub struct Refusal {
    violations: Vec<Violation>,
}

impl Refusal {
    /// Builds a refusal. Returns `None` when `violations` is empty: a refusal
    /// always names at least one reason.
    pub(crate) fn new(violations: Vec<Violation>) -> Option<Self> {
        (!violations.is_empty()).then_some(Self { violations })
    }

    /// Every requirement that failed, in a stable order (endpoints, opt-out,
    /// source image, target image).
    pub fn violations(&self) -> &[Violation] {
        &self.violations
    }
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.violations.len();
        write!(
            f,
            "comparison refused by privacy policy ({n} requirement{} failed; nothing was sent to Rekognition):",
            if n == 1 { "" } else { "s" }
        )?;
        for (i, v) in self.violations.iter().enumerate() {
            write!(f, " {}) {v}", i + 1)?;
            if i + 1 < n {
                f.write_str(";")?;
            }
        }
        Ok(())
    }
}

impl std::error::Error for Refusal {}

/// One privacy requirement that was not met, by requirement.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum Violation {
    /// **In transit**: an endpoint is not HTTPS (or carries user
    /// information, a query or a fragment). The guard did not call it.
    #[error(transparent)]
    InsecureEndpoint(InsecureEndpoint),
    /// **At rest**: an S3 image is not what the policy requires.
    #[error(transparent)]
    AtRest(AtRestViolation),
    /// **Opt-out**: the evidence does not hold for the account that calls
    /// Rekognition.
    #[error(transparent)]
    OptOut(OptOutViolation),
}

impl From<InsecureEndpoint> for Violation {
    fn from(v: InsecureEndpoint) -> Self {
        Violation::InsecureEndpoint(v)
    }
}

impl From<AtRestViolation> for Violation {
    fn from(v: AtRestViolation) -> Self {
        Violation::AtRest(v)
    }
}

impl From<OptOutViolation> for Violation {
    fn from(v: OptOutViolation) -> Self {
        Violation::OptOut(v)
    }
}
