//! Canned service answers with the shapes the real services send: the
//! bodies of Rekognition `CompareFaces` and `DetectFaces`, Organizations
//! `DescribeEffectivePolicy` and STS `GetCallerIdentity`.

/// A face as DetectFaces describes it (only the fields the quality gate
/// reads, plus landmarks as Rekognition always sends them).
#[derive(Debug, Clone, Copy)]
pub struct Face {
    pub width: f32,
    pub height: f32,
    pub sharpness: f32,
    pub brightness: f32,
    pub yaw: f32,
    pub eyes_open: bool,
    pub sunglasses: bool,
    pub occluded: bool,
}

impl Face {
    /// A face a good reference photo shows.
    pub const GOOD: Face = Face {
        width: 0.38,
        height: 0.52,
        sharpness: 86.9,
        brightness: 78.2,
        yaw: -3.4,
        eyes_open: true,
        sunglasses: false,
        occluded: false,
    };

    fn json(&self) -> String {
        format!(
            r#"{{"BoundingBox":{{"Width":{},"Height":{},"Left":0.31,"Top":0.2}},"Landmarks":[{{"Type":"eyeLeft","X":0.42,"Y":0.39}},{{"Type":"eyeRight","X":0.58,"Y":0.39}}],"Pose":{{"Roll":1.2,"Yaw":{},"Pitch":2.1}},"Quality":{{"Brightness":{},"Sharpness":{}}},"Confidence":99.99,"EyesOpen":{{"Value":{},"Confidence":98.4}},"Sunglasses":{{"Value":{},"Confidence":99.7}},"FaceOccluded":{{"Value":{},"Confidence":99.1}}}}"#,
            self.width,
            self.height,
            self.yaw,
            self.brightness,
            self.sharpness,
            self.eyes_open,
            self.sunglasses,
            self.occluded
        )
    }
}

/// A DetectFaces response body with these faces.
pub fn detect_faces(faces: &[Face]) -> String {
    let faces: Vec<String> = faces.iter().map(Face::json).collect();
    format!(r#"{{"FaceDetails":[{}]}}"#, faces.join(","))
}

/// A CompareFaces response body with one match at `similarity`.
pub fn compare_match(similarity: f32) -> String {
    format!(
        r#"{{"SourceImageFace":{{"BoundingBox":{{"Width":0.4,"Height":0.5,"Left":0.3,"Top":0.2}},"Confidence":99.9}},"FaceMatches":[{{"Similarity":{similarity},"Face":{{"BoundingBox":{{"Width":0.25,"Height":0.4,"Left":0.3,"Top":0.2}},"Confidence":99.8}}}}],"UnmatchedFaces":[]}}"#
    )
}

/// A DescribeEffectivePolicy response body: the resolved AI services
/// opt-out policy `content` (JSON text), read for `account`.
pub fn effective_policy(content: &str, account: &str) -> String {
    format!(
        r#"{{"EffectivePolicy":{{"PolicyContent":{},"LastUpdatedTimestamp":1.7E9,"TargetId":"{account}","PolicyType":"AISERVICES_OPT_OUT_POLICY"}}}}"#,
        serde_json::Value::String(content.to_owned())
    )
}

/// A GetCallerIdentity response body (XML, query protocol) for `account`.
pub fn caller_identity(account: &str) -> String {
    format!(
        r#"<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><GetCallerIdentityResult><Arn>arn:aws:iam::{account}:user/kiosk</Arn><UserId>AIDAEXAMPLE</UserId><Account>{account}</Account></GetCallerIdentityResult><ResponseMetadata><RequestId>01234567-89ab-cdef-0123-456789abcdef</RequestId></ResponseMetadata></GetCallerIdentityResponse>"#
    )
}
