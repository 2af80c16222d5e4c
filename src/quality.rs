use std::fmt;

/// Where a face is in an image, as ratios of the image's width and height.
/// Values may lie slightly outside 0..=1 for faces at the edge.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct BoundingBox {
    /// Left edge.
    pub left: f32,
    /// Top edge.
    pub top: f32,
    /// Width.
    pub width: f32,
    /// Height.
    pub height: f32,
}

impl BoundingBox {
    /// A bounding box.
    pub(crate) fn new(left: f32, top: f32, width: f32, height: f32) -> Self {
        Self {
            left,
            top,
            width,
            height,
        }
    }

    pub(crate) fn is_finite(&self) -> bool {
        [self.left, self.top, self.width, self.height]
            .iter()
            .all(|v| v.is_finite())
    }
}

/// The face attributes the gate asks DetectFaces for, beyond Rekognition's
/// default set (`BoundingBox`, `Confidence`, `Pose`, `Quality`,
/// `Landmarks`, always returned).
pub(crate) const GATE_ATTRIBUTES: &[FaceAttribute] = &[
    FaceAttribute::EyesOpen,
    FaceAttribute::Sunglasses,
    FaceAttribute::FaceOccluded,
];

/// A face attribute DetectFaces can be asked for. Only those the gate uses
/// exist here: the crate never asks for age, gender or emotions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FaceAttribute {
    /// `EYES_OPEN`.
    EyesOpen,
    /// `SUNGLASSES`.
    Sunglasses,
    /// `FACE_OCCLUDED`.
    FaceOccluded,
}

impl FaceAttribute {
    /// The API value (`EYES_OPEN`, `SUNGLASSES`, `FACE_OCCLUDED`): what a
    /// backend sends in `DetectFaces` `Attributes`.
    pub fn as_api(self) -> &'static str {
        match self {
            Self::EyesOpen => "EYES_OPEN",
            Self::Sunglasses => "SUNGLASSES",
            Self::FaceOccluded => "FACE_OCCLUDED",
        }
    }
}

/// Head pose in degrees, as Rekognition reports it (-180 to 180).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Pose {
    /// Rotation in the image plane.
    pub roll: f32,
    /// Turn left or right.
    pub yaw: f32,
    /// Tilt up or down.
    pub pitch: f32,
}

impl Pose {
    /// A pose.
    pub(crate) fn new(roll: f32, yaw: f32, pitch: f32) -> Self {
        Self { roll, yaw, pitch }
    }
}

/// A yes/no attribute with Rekognition's confidence in it (0 to 100).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FaceTrait {
    /// The value.
    pub value: bool,
    /// How sure Rekognition is, 0 to 100.
    pub confidence: f32,
}

impl FaceTrait {
    /// An attribute value.
    pub(crate) fn new(value: bool, confidence: f32) -> Self {
        Self { value, confidence }
    }
}

/// What DetectFaces reported about one face: only what the gate uses.
/// Facts, not verdicts. Values Rekognition did not send are `None`, and the
/// gate counts a missing value as a failed check.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct FaceDetail {
    /// Where the face is, as ratios of the image.
    pub bounding_box: Option<BoundingBox>,
    /// How sure Rekognition is that this is a face, 0 to 100.
    pub confidence: Option<f32>,
    /// `Quality.Brightness`, 0 to 100.
    pub brightness: Option<f32>,
    /// `Quality.Sharpness`, 0 to 100.
    pub sharpness: Option<f32>,
    /// `Pose`.
    pub pose: Option<Pose>,
    /// `EyesOpen`.
    pub eyes_open: Option<FaceTrait>,
    /// `Sunglasses`.
    pub sunglasses: Option<FaceTrait>,
    /// `FaceOccluded`.
    pub face_occluded: Option<FaceTrait>,
}

impl FaceDetail {
    /// A face a good reference photo shows: a large, sharp, bright,
    /// frontal face with open eyes, no sunglasses, not occluded. For tests
    /// and simulations; change what differs with `..`:
    /// `FaceDetail { sunglasses: Some(FaceTrait { value: true, confidence: 99.0 }), ..FaceDetail::good() }`.
    pub fn good() -> Self {
        Self {
            bounding_box: Some(BoundingBox {
                left: 0.3,
                top: 0.2,
                width: 0.4,
                height: 0.5,
            }),
            confidence: Some(99.9),
            brightness: Some(80.0),
            sharpness: Some(85.0),
            pose: Some(Pose {
                roll: 1.0,
                yaw: 2.0,
                pitch: -3.0,
            }),
            eyes_open: Some(FaceTrait {
                value: true,
                confidence: 98.0,
            }),
            sunglasses: Some(FaceTrait {
                value: false,
                confidence: 99.0,
            }),
            face_occluded: Some(FaceTrait {
                value: false,
                confidence: 99.0,
            }),
        }
    }
}

/// The enrollment quality gate: what a photo must show to become a
/// member's reference photo.
///
/// A reference photo that Rekognition cannot compare well later should
/// never be stored. Before enrollment the guard runs Rekognition
/// `DetectFaces` on the photo, asking only for the attributes the gate
/// needs (eyes open, sunglasses, face occluded, on top
/// of Rekognition's default set of bounding box, confidence, pose, quality
/// and landmarks). Age, gender and emotions are never requested.
///
/// The gate accepts a photo only with exactly one face
/// that is large enough, sharp and bright enough, eyes open, no
/// sunglasses, not occluded, and within the pose limits. Defaults follow
/// Rekognition's "Recommendations for facial comparison input images"
/// (Amazon Rekognition Developer Guide): pitch under 30° face down and
/// under 45° face up (the gate applies the stricter 30° both ways, since
/// the API does not document the sign of `Pitch`), yaw under 45° either
/// way, no restriction on roll,
/// both eyes open and visible, nothing blocking the face, a face that
/// occupies a large share of the image. AWS publishes no numbers for
/// sharpness, brightness or face share; this crate's defaults for those are
/// its own choice, stated on [`QualityPolicy::default`].
///
/// ```
/// use rekognition_guard::QualityPolicy;
///
/// let mut gate = QualityPolicy::default();
/// gate.min_sharpness = 60.0;
/// gate.max_yaw = 30.0;
/// assert_eq!(gate.min_face_share, 0.05);
/// ```
///
/// A limit that is not a number (`NaN`) fails every photo: each check is
/// written so that a comparison with `NaN` is an issue.
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub struct QualityPolicy {
    /// The share of the image (0 to 1, by area) the face box must cover.
    pub min_face_share: f32,
    /// The confidence (0 to 100) Rekognition must have that it is a face.
    pub min_face_confidence: f32,
    /// The least `Quality.Sharpness` (0 to 100).
    pub min_sharpness: f32,
    /// The least `Quality.Brightness` (0 to 100).
    pub min_brightness: f32,
    /// The largest yaw, in degrees, either way (a face turned exactly this
    /// far fails).
    pub max_yaw: f32,
    /// The largest pitch, in degrees, either way (a face tilted exactly
    /// this far fails).
    pub max_pitch: f32,
    /// The largest roll, in degrees, either way.
    pub max_roll: f32,
    /// The confidence (0 to 100) the eyes-open, sunglasses and occlusion
    /// answers need before the gate believes them.
    pub min_attribute_confidence: f32,
}

impl Default for QualityPolicy {
    /// * face share **0.05**: the face box covers at least 5 % of the image
    ///   (AWS: "a face that occupies a large proportion of the image"; a
    ///   head-and-shoulders photo, which AWS also recommends, has a face of
    ///   roughly 10–25 %);
    /// * face confidence **90**;
    /// * sharpness **50** and brightness **40** (0–100; AWS recommends
    ///   "bright and sharp" images and publishes no number: these refuse
    ///   clearly blurred or dark photos);
    /// * yaw under **45°** either way, pitch under **30°** either way,
    ///   roll unrestricted (**180°**) (AWS recommends pitch under 30° face
    ///   down and under 45° face up, yaw under 45°, any roll; the API does
    ///   not document the sign of `Pitch`, so the stricter 30° applies both
    ///   ways);
    /// * eyes open, no sunglasses, not occluded, each reported with
    ///   confidence **80** or more.
    fn default() -> Self {
        Self {
            min_face_share: 0.05,
            min_face_confidence: 90.0,
            min_sharpness: 50.0,
            min_brightness: 40.0,
            max_yaw: 45.0,
            max_pitch: 30.0,
            max_roll: 180.0,
            min_attribute_confidence: 80.0,
        }
    }
}

impl QualityPolicy {
    /// Judges what DetectFaces found. Every issue is listed, not only the
    /// first.
    pub(crate) fn assess(&self, faces: &[FaceDetail]) -> FaceAssessment {
        let mut issues = Vec::new();
        let face = match faces {
            [] => {
                issues.push(QualityIssue::NoFace);
                None
            }
            [face] => Some(face.clone()),
            many => {
                issues.push(QualityIssue::SeveralFaces { count: many.len() });
                None
            }
        };
        if let Some(face) = &face {
            self.judge(face, &mut issues);
        }
        FaceAssessment { issues, face }
    }

    fn judge(&self, face: &FaceDetail, issues: &mut Vec<QualityIssue>) {
        let finite = |v: Option<f32>| v.filter(|v| v.is_finite());
        match finite(face.confidence) {
            Some(c) if c >= self.min_face_confidence => {}
            found => issues.push(QualityIssue::UncertainFace {
                confidence: found,
                min: self.min_face_confidence,
            }),
        }
        let share = face
            .bounding_box
            .filter(BoundingBox::is_finite)
            .map(|b| b.width.clamp(0.0, 1.0) * b.height.clamp(0.0, 1.0));
        match share {
            Some(s) if s >= self.min_face_share => {}
            found => issues.push(QualityIssue::FaceTooSmall {
                share: found,
                min: self.min_face_share,
            }),
        }
        // Rekognition reports boxes that reach past the image's edges for
        // faces it sees only partly (API reference, `BoundingBox`): such a
        // face is not all there to compare later.
        if let Some(b) = face.bounding_box.filter(BoundingBox::is_finite) {
            if b.left < 0.0 || b.top < 0.0 || b.left + b.width > 1.0 || b.top + b.height > 1.0 {
                issues.push(QualityIssue::FaceNotInFrame { bounding_box: b });
            }
        }
        match finite(face.sharpness) {
            Some(s) if s >= self.min_sharpness => {}
            found => issues.push(QualityIssue::NotSharp {
                sharpness: found,
                min: self.min_sharpness,
            }),
        }
        match finite(face.brightness) {
            Some(b) if b >= self.min_brightness => {}
            found => issues.push(QualityIssue::TooDark {
                brightness: found,
                min: self.min_brightness,
            }),
        }
        match face
            .pose
            .filter(|p| p.roll.is_finite() && p.yaw.is_finite() && p.pitch.is_finite())
        {
            Some(p)
                if p.yaw.abs() < self.max_yaw
                    && p.pitch.abs() < self.max_pitch
                    && p.roll.abs() <= self.max_roll => {}
            found => issues.push(QualityIssue::PoseOutOfRange { pose: found }),
        }
        let sure = |t: Option<FaceTrait>, wanted: bool| {
            t.is_some_and(|t| t.value == wanted && t.confidence >= self.min_attribute_confidence)
        };
        if !sure(face.eyes_open, true) {
            issues.push(QualityIssue::EyesNotOpen {
                reported: face.eyes_open,
            });
        }
        if !sure(face.sunglasses, false) {
            issues.push(QualityIssue::Sunglasses {
                reported: face.sunglasses,
            });
        }
        if !sure(face.face_occluded, false) {
            issues.push(QualityIssue::FaceOccluded {
                reported: face.face_occluded,
            });
        }
    }
}

/// Why a photo cannot be a reference photo. Each says what to retake.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum QualityIssue {
    /// Rekognition found no face.
    NoFace,
    /// Rekognition found more than one face.
    SeveralFaces {
        /// How many.
        count: usize,
    },
    /// `IndexFaces` left the face out (`UnindexedFaces`), e.g. for low
    /// quality (collections, [`FaceCollection::index`](crate::FaceCollection::index)).
    NotIndexed {
        /// Rekognition's reasons (`LOW_SHARPNESS`, `SMALL_BOUNDING_BOX`, …).
        reasons: Vec<String>,
    },
    /// The face does not match the member's faces already in the
    /// collection at the policy's threshold (`AssociateFaces`:
    /// `LOW_MATCH_CONFIDENCE`): another person, or the wrong member id.
    NotTheMember,
    /// Rekognition is not sure enough that it is a face.
    UncertainFace {
        /// The confidence reported, if any.
        confidence: Option<f32>,
        /// The confidence required.
        min: f32,
    },
    /// The face covers too little of the image.
    FaceTooSmall {
        /// The share of the image (by area) it covers, if reported.
        share: Option<f32>,
        /// The share required.
        min: f32,
    },
    /// The face is not sharp enough.
    NotSharp {
        /// The sharpness reported, if any.
        sharpness: Option<f32>,
        /// The sharpness required.
        min: f32,
    },
    /// The face is too dark.
    TooDark {
        /// The brightness reported, if any.
        brightness: Option<f32>,
        /// The brightness required.
        min: f32,
    },
    /// The face is not wholly in the image: its bounding box reaches past
    /// an edge (`Left` or `Top` under 0, `Left + Width` or `Top + Height`
    /// over 1).
    FaceNotInFrame {
        /// The bounding box reported.
        bounding_box: BoundingBox,
    },
    /// The head is turned or tilted too far (or no pose was reported).
    PoseOutOfRange {
        /// The pose reported, if any.
        pose: Option<Pose>,
    },
    /// The eyes are not surely open.
    EyesNotOpen {
        /// What Rekognition reported.
        reported: Option<FaceTrait>,
    },
    /// Sunglasses, or Rekognition is not sure there are none.
    Sunglasses {
        /// What Rekognition reported.
        reported: Option<FaceTrait>,
    },
    /// Something covers the face, or Rekognition is not sure nothing does.
    FaceOccluded {
        /// What Rekognition reported.
        reported: Option<FaceTrait>,
    },
}

impl QualityIssue {
    /// A stable id: `no_face`, `several_faces`, `uncertain_face`,
    /// `face_too_small`, `face_not_in_frame`, `not_sharp`, `too_dark`,
    /// `pose_out_of_range`,
    /// `eyes_not_open`, `sunglasses`, `face_occluded`.
    pub fn id(&self) -> &'static str {
        match self {
            Self::NoFace => "no_face",
            Self::SeveralFaces { .. } => "several_faces",
            Self::NotIndexed { .. } => "not_indexed",
            Self::NotTheMember => "not_the_member",
            Self::UncertainFace { .. } => "uncertain_face",
            Self::FaceTooSmall { .. } => "face_too_small",
            Self::FaceNotInFrame { .. } => "face_not_in_frame",
            Self::NotSharp { .. } => "not_sharp",
            Self::TooDark { .. } => "too_dark",
            Self::PoseOutOfRange { .. } => "pose_out_of_range",
            Self::EyesNotOpen { .. } => "eyes_not_open",
            Self::Sunglasses { .. } => "sunglasses",
            Self::FaceOccluded { .. } => "face_occluded",
        }
    }
}

/// `Some(12.5)` as `12.5`, `None` as `not reported`.
struct Reported(Option<f32>);

impl fmt::Display for Reported {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(v) => write!(f, "{v:.1}"),
            None => f.write_str("not reported"),
        }
    }
}

impl fmt::Display for QualityIssue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let trait_of = |t: &Option<FaceTrait>| match t {
            Some(t) => format!("reported {} with confidence {:.1}", t.value, t.confidence),
            None => "not reported".to_owned(),
        };
        match self {
            Self::NoFace => f.write_str("no face found; take the photo again, facing the camera"),
            Self::SeveralFaces { count } => write!(
                f,
                "{count} faces found; a reference photo shows the member alone"
            ),
            Self::NotTheMember => f.write_str(
                "the face does not match the member's faces already in the collection; check the member id, or forget the member and index again",
            ),
            Self::NotIndexed { reasons } => write!(
                f,
                "Rekognition would not index the face ({}); take a sharper, brighter photo facing the camera",
                reasons
                    .iter()
                    .map(|r| crate::text::Quoted(r).to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            Self::UncertainFace { confidence, min } => write!(
                f,
                "face confidence {} is under {min}; take a clearer photo",
                Reported(*confidence)
            ),
            Self::FaceTooSmall { share, min } => write!(
                f,
                "the face covers {} of the image, under {min}; move closer to the camera",
                Reported(*share)
            ),
            Self::FaceNotInFrame { bounding_box: b } => write!(
                f,
                "the face is not wholly in the picture (left {:.2}, top {:.2}, right {:.2}, bottom {:.2} of the image); center the face in the camera",
                b.left,
                b.top,
                b.left + b.width,
                b.top + b.height
            ),
            Self::NotSharp { sharpness, min } => write!(
                f,
                "sharpness {} is under {min}; hold still and take the photo again",
                Reported(*sharpness)
            ),
            Self::TooDark { brightness, min } => write!(
                f,
                "brightness {} is under {min}; add light and take the photo again",
                Reported(*brightness)
            ),
            Self::PoseOutOfRange { pose: Some(p) } => write!(
                f,
                "the head is turned or tilted too far (yaw {:.1}°, pitch {:.1}°, roll {:.1}°); face the camera",
                p.yaw, p.pitch, p.roll
            ),
            Self::PoseOutOfRange { pose: None } => {
                f.write_str("no head pose reported; face the camera")
            }
            Self::EyesNotOpen { reported } => write!(
                f,
                "eyes not surely open ({}); open both eyes",
                trait_of(reported)
            ),
            Self::Sunglasses { reported } => write!(
                f,
                "sunglasses not surely absent ({}); take sunglasses off",
                trait_of(reported)
            ),
            Self::FaceOccluded { reported } => write!(
                f,
                "face not surely unobstructed ({}); remove what covers the face",
                trait_of(reported)
            ),
        }
    }
}

/// The gate's answer for one photo: every issue found, and the face it
/// judged when there was exactly one.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct FaceAssessment {
    /// Every issue found.
    pub issues: Vec<QualityIssue>,
    /// The face judged, when exactly one was found.
    pub face: Option<FaceDetail>,
}

impl FaceAssessment {
    /// `true` when the photo may be a reference photo.
    pub fn is_acceptable(&self) -> bool {
        self.issues.is_empty()
    }
}

impl fmt::Display for FaceAssessment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.issues.is_empty() {
            return f.write_str("photo accepted as a reference photo");
        }
        write!(f, "photo not accepted as a reference photo:")?;
        for (i, issue) in self.issues.iter().enumerate() {
            write!(f, " {}) {issue}", i + 1)?;
            if i + 1 < self.issues.len() {
                f.write_str(";")?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(faces: &[FaceDetail], gate: &QualityPolicy) -> Vec<&'static str> {
        gate.assess(faces)
            .issues
            .iter()
            .map(QualityIssue::id)
            .collect()
    }

    /// A limit that is not a number fails the photo, whichever limit it is:
    /// the limits are public fields now, so the gate cannot rely on a
    /// setter to have refused it.
    #[test]
    fn a_nan_limit_fails_every_photo() {
        type SetToNan = fn(&mut QualityPolicy);
        let setters: [(SetToNan, &[&str]); 8] = [
            (|q| q.min_face_share = f32::NAN, &["face_too_small"]),
            (|q| q.min_face_confidence = f32::NAN, &["uncertain_face"]),
            (|q| q.min_sharpness = f32::NAN, &["not_sharp"]),
            (|q| q.min_brightness = f32::NAN, &["too_dark"]),
            (|q| q.max_yaw = f32::NAN, &["pose_out_of_range"]),
            (|q| q.max_pitch = f32::NAN, &["pose_out_of_range"]),
            (|q| q.max_roll = f32::NAN, &["pose_out_of_range"]),
            (
                |q| q.min_attribute_confidence = f32::NAN,
                &["eyes_not_open", "sunglasses", "face_occluded"],
            ),
        ];
        assert!(QualityPolicy::default()
            .assess(&[FaceDetail::good()])
            .is_acceptable());
        for (set, expected) in setters {
            let mut gate = QualityPolicy::default();
            set(&mut gate);
            assert_eq!(ids(&[FaceDetail::good()], &gate), expected, "{gate:?}");
        }
    }

    #[test]
    fn a_good_face_passes_and_every_gap_is_named() {
        let gate = QualityPolicy::default();
        assert!(gate.assess(&[FaceDetail::good()]).is_acceptable());
        // Touching the edges is in frame.
        assert!(gate
            .assess(&[FaceDetail {
                bounding_box: Some(BoundingBox {
                    left: 0.0,
                    top: 0.0,
                    width: 1.0,
                    height: 1.0
                }),
                ..FaceDetail::good()
            }])
            .is_acceptable());
        assert_eq!(ids(&[], &gate), ["no_face"]);
        assert_eq!(
            ids(&[FaceDetail::good(), FaceDetail::good()], &gate),
            ["several_faces"]
        );
        let cases: [(FaceDetail, &[&str]); 12] = [
            (
                FaceDetail {
                    bounding_box: Some(BoundingBox {
                        left: 0.4,
                        top: 0.4,
                        width: 0.1,
                        height: 0.2,
                    }),
                    ..FaceDetail::good()
                },
                &["face_too_small"],
            ),
            // Each edge of the image, crossed.
            (
                FaceDetail {
                    bounding_box: Some(BoundingBox {
                        left: -0.05,
                        top: 0.2,
                        width: 0.5,
                        height: 0.5,
                    }),
                    ..FaceDetail::good()
                },
                &["face_not_in_frame"],
            ),
            (
                FaceDetail {
                    bounding_box: Some(BoundingBox {
                        left: 0.3,
                        top: -0.01,
                        width: 0.4,
                        height: 0.5,
                    }),
                    ..FaceDetail::good()
                },
                &["face_not_in_frame"],
            ),
            (
                FaceDetail {
                    bounding_box: Some(BoundingBox {
                        left: 0.7,
                        top: 0.2,
                        width: 0.35,
                        height: 0.5,
                    }),
                    ..FaceDetail::good()
                },
                &["face_not_in_frame"],
            ),
            (
                FaceDetail {
                    bounding_box: Some(BoundingBox {
                        left: 0.3,
                        top: 0.6,
                        width: 0.4,
                        height: 0.45,
                    }),
                    ..FaceDetail::good()
                },
                &["face_not_in_frame"],
            ),
            (
                FaceDetail {
                    brightness: Some(80.0),
                    sharpness: Some(12.0),
                    ..FaceDetail::good()
                },
                &["not_sharp"],
            ),
            (
                FaceDetail {
                    brightness: Some(10.0),
                    sharpness: Some(80.0),
                    ..FaceDetail::good()
                },
                &["too_dark"],
            ),
            (
                FaceDetail {
                    eyes_open: Some(FaceTrait {
                        value: false,
                        confidence: 97.0,
                    }),
                    ..FaceDetail::good()
                },
                &["eyes_not_open"],
            ),
            (
                FaceDetail {
                    sunglasses: Some(FaceTrait {
                        value: true,
                        confidence: 99.0,
                    }),
                    ..FaceDetail::good()
                },
                &["sunglasses"],
            ),
            (
                FaceDetail {
                    face_occluded: Some(FaceTrait {
                        value: true,
                        confidence: 90.0,
                    }),
                    ..FaceDetail::good()
                },
                &["face_occluded"],
            ),
            (
                FaceDetail {
                    pose: Some(Pose {
                        roll: 0.0,
                        yaw: 50.0,
                        pitch: 0.0,
                    }),
                    ..FaceDetail::good()
                },
                &["pose_out_of_range"],
            ),
            (
                FaceDetail {
                    brightness: Some(5.0),
                    sharpness: Some(5.0),
                    sunglasses: Some(FaceTrait {
                        value: true,
                        confidence: 99.0,
                    }),
                    ..FaceDetail::good()
                },
                &["not_sharp", "too_dark", "sunglasses"],
            ),
        ];
        for (face, expected) in cases {
            assert_eq!(
                ids(std::slice::from_ref(&face), &gate),
                expected,
                "{face:?}"
            );
        }
    }

    #[test]
    fn the_pose_limits_follow_aws_recommendations() {
        let gate = QualityPolicy::default();
        let pose = |yaw, pitch, roll| {
            ids(
                &[FaceDetail {
                    pose: Some(Pose { roll, yaw, pitch }),
                    ..FaceDetail::good()
                }],
                &gate,
            )
        };
        assert!(pose(44.0, 0.0, 0.0).is_empty());
        assert!(pose(-44.0, 0.0, 0.0).is_empty());
        assert_eq!(pose(45.0, 0.0, 0.0), ["pose_out_of_range"]);
        // Under 30° either way (the sign of Pitch is not documented).
        assert!(pose(0.0, 29.0, 0.0).is_empty());
        assert!(pose(0.0, -29.0, 0.0).is_empty());
        assert_eq!(pose(0.0, 30.0, 0.0), ["pose_out_of_range"]);
        assert_eq!(pose(0.0, -30.0, 0.0), ["pose_out_of_range"]);
        // No restriction on roll by default.
        assert!(pose(0.0, 0.0, 170.0).is_empty());
        assert_eq!(
            ids(
                &[FaceDetail {
                    pose: Some(Pose {
                        roll: 40.0,
                        yaw: 0.0,
                        pitch: 0.0
                    }),
                    ..FaceDetail::good()
                }],
                &QualityPolicy {
                    max_roll: 30.0,
                    ..gate
                }
            ),
            ["pose_out_of_range"]
        );
    }

    #[test]
    fn missing_uncertain_or_impossible_values_never_pass() {
        let gate = QualityPolicy::default();
        let mut face = FaceDetail::good();
        face.eyes_open = None;
        face.sharpness = Some(f32::NAN);
        face.pose = None;
        assert_eq!(
            ids(&[face], &gate),
            ["not_sharp", "pose_out_of_range", "eyes_not_open"]
        );
        // Sure enough of the wrong thing, or unsure of the right one.
        assert_eq!(
            ids(
                &[FaceDetail {
                    eyes_open: Some(FaceTrait {
                        value: true,
                        confidence: 50.0
                    }),
                    ..FaceDetail::good()
                }],
                &gate
            ),
            ["eyes_not_open"]
        );
        assert_eq!(
            ids(&[FaceDetail::default()], &gate).len(),
            8,
            "nothing reported: every check fails"
        );
    }

    #[test]
    fn messages_say_what_to_retake() {
        let a = QualityPolicy::default().assess(&[FaceDetail {
            brightness: Some(80.0),
            sharpness: Some(12.0),
            sunglasses: Some(FaceTrait {
                value: true,
                confidence: 99.0,
            }),
            ..FaceDetail::good()
        }]);
        let text = a.to_string();
        assert!(text.contains("sharpness 12.0 is under 50"), "{text}");
        assert!(text.contains("take sunglasses off"), "{text}");
        assert_eq!(
            GATE_ATTRIBUTES
                .iter()
                .map(|a| a.as_api())
                .collect::<Vec<_>>(),
            ["EYES_OPEN", "SUNGLASSES", "FACE_OCCLUDED"]
        );
    }
}
