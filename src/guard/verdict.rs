//! The guard's reading of a comparer's facts.

use crate::backend::{BackendError, BackendErrorKind, ComparisonFacts};
use crate::decision::{ImageRole, Verdict};
use crate::error::Error;
use crate::input::Service;
use crate::policy::SimilarityThreshold;

/// Turns a comparer's facts into a verdict, refusing facts that cannot be
/// trusted (similarity out of range, non-finite numbers).
pub(super) fn verdict_from(
    facts: ComparisonFacts,
    threshold: SimilarityThreshold,
) -> Result<Verdict, Error> {
    #[cold]
    #[inline(never)]
    fn invalid(message: String) -> Error {
        Error::Backend(BackendError::new(
            BackendErrorKind::InvalidResponse,
            Service::Rekognition,
            "CompareFaces",
            message,
        ))
    }
    match facts {
        ComparisonFacts::NoFaceInSource => Ok(Verdict::NoFace {
            image: Some(ImageRole::Source),
        }),
        ComparisonFacts::NoFaceDetected => Ok(Verdict::NoFace { image: None }),
        ComparisonFacts::Faces {
            matches,
            unmatched_faces,
        } => {
            for m in &matches {
                if !(0.0..=100.0).contains(&m.similarity) {
                    return Err(invalid(format!(
                        "the comparer reported similarity {}, outside 0 to 100",
                        m.similarity
                    )));
                }
                if !m.bounding_box.is_finite() {
                    return Err(invalid(
                        "the comparer reported a face box that is not a finite number".into(),
                    ));
                }
            }
            let best = matches
                .iter()
                .max_by(|a, b| a.similarity.total_cmp(&b.similarity));
            Ok(match best {
                Some(m) if m.similarity >= threshold.get() => Verdict::Match {
                    similarity: m.similarity,
                    face: m.bounding_box,
                },
                Some(_) => Verdict::NoMatch,
                None if unmatched_faces == 0 => Verdict::NoFace {
                    image: Some(ImageRole::Target),
                },
                None => Verdict::NoMatch,
            })
        }
    }
}
