//! Property tests for every parser and validator: hostile input never
//! panics, and what is accepted is exactly what the rules allow. Unit
//! tests (they reach the crate's log-safety rules and the opt-out policy
//! resolver, which are not public).

use crate::text::{has_log_unsafe, is_log_unsafe};
use crate::{
    AccountId, FaceImage, ImageFormat, InputError, KmsKeyArn, S3ObjectRef, SimilarityThreshold,
    SseAlgorithm, MAX_IMAGE_BYTES,
};
use crate::{AtRestViolation, OptOutViolation};
use proptest::prelude::*;

/// Bucket names S3 allows (general purpose, current rules), mostly.
fn bucket() -> impl Strategy<Value = String> {
    "[a-z0-9][a-z0-9-]{1,30}[a-z0-9]".prop_filter("reserved prefixes and suffixes", |b| {
        !b.starts_with("xn--")
            && !b.starts_with("sthree-")
            && !b.starts_with("amzn-s3-demo-")
            && !b.ends_with("-s3alias")
            && !b.ends_with("--ol-s3")
            && !b.ends_with("--x-s3")
            && !b.ends_with("--table-s3")
    })
}

/// Keys with arbitrary Unicode, including %, ?, #, spaces and slashes, but
/// no log-unsafe characters, 1 to 1024 bytes.
fn key() -> impl Strategy<Value = String> {
    proptest::collection::vec(
        prop_oneof![
            any::<char>().prop_filter("no log-unsafe characters", |c| !is_log_unsafe(*c)),
            Just('%'),
            Just('?'),
            Just('#'),
            Just('/'),
            Just(' '),
        ],
        1..200,
    )
    .prop_map(|chars| chars.into_iter().collect::<String>())
    .prop_filter("1 to 1024 bytes", |k| (1..=1024).contains(&k.len()))
}

/// Characters that could forge or disguise a log line: controls, line and
/// paragraph separators, bidirectional controls, zero-width characters.
fn log_unsafe_char() -> impl Strategy<Value = char> {
    prop_oneof![
        proptest::char::range('\u{0}', '\u{1f}'),
        proptest::char::range('\u{7f}', '\u{9f}'),
        Just('\u{2028}'),
        Just('\u{2029}'),
        proptest::char::range('\u{202a}', '\u{202e}'),
        proptest::char::range('\u{2066}', '\u{2069}'),
        proptest::char::range('\u{200b}', '\u{200f}'),
        Just('\u{061c}'),
        Just('\u{feff}'),
        Just('\u{00ad}'),
    ]
}

/// Text with log-unsafe characters somewhere in it.
fn hostile_text() -> impl Strategy<Value = String> {
    (".{0,40}", log_unsafe_char(), ".{0,40}", log_unsafe_char())
        .prop_map(|(a, c, b, d)| format!("{a}{c}{b}{d}"))
}

fn version() -> impl Strategy<Value = String> {
    "[A-Za-z0-9._+/=-]{1,64}"
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn parsing_any_text_never_panics_and_accepts_only_valid_references(input in ".{0,300}") {
        if let Ok(r) = S3ObjectRef::parse(&input) {
            prop_assert!(input.starts_with("s3://"));
            prop_assert!((3..=63).contains(&r.bucket().len()));
            prop_assert!((1..=1024).contains(&r.key().len()));
            prop_assert!(!r.key().chars().any(is_log_unsafe));
        }
    }

    #[test]
    fn references_round_trip_through_their_text(
        b in bucket(),
        k in prop_oneof![
            key(),
            // Keys holding the version marker, which would be ambiguous.
            (key(), key())
                .prop_map(|(a, z)| format!("{a}?versionId={z}"))
                .prop_filter("1 to 1024 bytes", |k| k.len() <= 1024),
        ],
        v in proptest::option::of(version()),
    ) {
        let r = match S3ObjectRef::new(&b, &k) {
            Err(InputError::AmbiguousKey { len }) => {
                prop_assert!(k.contains("?versionId="), "{k:?}");
                prop_assert_eq!(len, k.len());
                return Ok(());
            }
            other => other.unwrap(),
        };
        prop_assert!(!k.contains("?versionId="), "{k:?}");
        let r = match &v {
            Some(v) => r.with_version_id(v).unwrap(),
            None => r,
        };
        // Every reference reads back from its text as itself.
        prop_assert_eq!(S3ObjectRef::parse(&r.to_string()).unwrap(), r.clone());
        prop_assert_eq!(r.key(), k.as_str());
    }

    #[test]
    fn keys_with_control_characters_or_too_long_are_refused(b in bucket(), k in key(), c in proptest::char::range('\u{0}', '\u{1f}')) {
        let with_control = format!("{k}{c}");
        prop_assert!(S3ObjectRef::new(&b, &with_control).is_err());
        let too_long = "a".repeat(1025);
        prop_assert!(S3ObjectRef::new(&b, &too_long).is_err());
    }

    #[test]
    fn keys_and_evidence_with_log_unsafe_characters_are_refused(b in bucket(), k in key(), c in log_unsafe_char(), at in 0usize..200) {
        let mut chars: Vec<char> = k.chars().collect();
        chars.insert(at.min(chars.len()), c);
        let with_unsafe: String = chars.into_iter().collect();
        prop_assert!(S3ObjectRef::new(&b, &with_unsafe).is_err());
        let reference = format!("s3://{b}/{with_unsafe}");
        prop_assert!(S3ObjectRef::parse(&reference).is_err());
        let attestation = format!("case 1{c}2");
        prop_assert!(crate::OptOutEvidence::attested(&attestation).is_err());
        let waiver = format!("test{c}x");
        prop_assert!(crate::OptOutEvidence::dangerous().waived(&waiver).is_err());
    }

    /// One rule for every string that can reach Display, Debug, errors or
    /// audit events: whatever text goes in, nothing shown holds a
    /// log-unsafe character.
    #[test]
    fn nothing_shown_holds_a_log_unsafe_character(text in hostile_text()) {
        use crate::{
            BackendError, BackendErrorKind, OptOutEvidence, OptOutRecord, Service, Violation,
        };
        let object = S3ObjectRef::parse("s3://library-photos/members/ada.jpg").unwrap();
        let mut shown = Vec::new();
        let mut show = |d: &dyn std::fmt::Display, g: &dyn std::fmt::Debug| {
            shown.push(d.to_string());
            shown.push(format!("{g:?}"));
        };
        if let Err(e) = S3ObjectRef::parse(&text) { show(&e, &e); }
        if let Err(e) = S3ObjectRef::parse(&format!("s3://{text}")) { show(&e, &e); }
        if let Err(e) = S3ObjectRef::new(&text, "k") { show(&e, &e); }
        if let Err(e) = S3ObjectRef::new("library-photos", &text) { show(&e, &e); }
        if let Err(e) = object.clone().with_version_id(&text) { show(&e, &e); }
        if let Err(e) = KmsKeyArn::parse(&text) { show(&e, &e); }
        if let Err(e) = AccountId::parse(&text) { show(&e, &e); }
        if let Err(e) = OptOutEvidence::attested(&text) { show(&e, &e); }
        let sse = SseAlgorithm::from_header(Some(&text));
        show(&sse, &sse);
        let violations = [
            Violation::AtRest(AtRestViolation::NotKmsEncrypted { object: object.clone(), found: sse.clone() }),
            Violation::AtRest(AtRestViolation::CustomerProvidedKey { object: object.clone(), algorithm: text.clone() }),
            Violation::OptOut(OptOutViolation::NotInEffect { reason: text.clone() }),
        ];
        for v in &violations { show(v, v); }
        let backend = BackendError::new(BackendErrorKind::Other, Service::S3, "HeadObject", text.clone());
        show(&backend, &backend);
        for record in [
            OptOutRecord::Verified { detail: text.clone(), account: AccountId::parse("111122223333").unwrap() },
            OptOutRecord::Attested { reference: text.clone() },
            OptOutRecord::Waived { reason: text.clone() },
        ] {
            show(&record, &record);
        }
        let policy = serde_json::json!({"services": {"rekognition": {"opt_out_policy": text.clone()}}}).to_string();
        let status = crate::opt_out::resolve_rekognition_opt_out(&policy, &AccountId::parse("111122223333").unwrap());
        show(&format!("{status:?}"), &status);
        if let crate::OptOutStatus::NotOptedOut { reason } = &status {
            show(reason, reason);
        }
        for s in shown {
            prop_assert!(!has_log_unsafe(&s), "{:?}", s);
        }
    }

    #[test]
    fn bucket_names_outside_the_rules_are_refused(b in "[A-Z_ .]{1}[a-z0-9]{2,10}") {
        prop_assert!(S3ObjectRef::new(&b, "k").is_err());
    }

    #[test]
    fn image_sniffing_accepts_exactly_jpeg_and_png_by_content(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
        let expected = if bytes.is_empty() {
            None
        } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
            Some(ImageFormat::Jpeg)
        } else if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
            Some(ImageFormat::Png)
        } else {
            None
        };
        let result = FaceImage::from_vec(bytes.clone());
        match &result {
            // Recognised, then refused for its pixel size.
            Err(crate::InputError::ImageTooSmall { .. }) => {
                prop_assert!(expected.is_some())
            }
            _ => prop_assert_eq!(result.as_ref().ok().map(FaceImage::format), expected),
        }
        // Debug never shows the bytes.
        if let Ok(image) = result {
            let shown = format!("{image:?}");
            prop_assert!(shown.starts_with("FaceImage { format: "), "{}", shown);
            prop_assert!(!shown.contains('['));
        }
    }

    /// PNG headers of every size: below 80 pixels in either direction is
    /// an input error naming the limit; otherwise the size is known.
    #[test]
    fn the_pixel_minimum_is_exact(width in 1u32..400, height in 1u32..400) {
        let mut png = b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR".to_vec();
        png.extend_from_slice(&width.to_be_bytes());
        png.extend_from_slice(&height.to_be_bytes());
        png.extend_from_slice(&[8, 2, 0, 0, 0, 0, 0, 0, 0]);
        match FaceImage::from_vec(png) {
            Ok(image) => {
                prop_assert!(width >= 80 && height >= 80);
                prop_assert_eq!(image.dimensions(), Some((width, height)));
            }
            Err(e) => {
                prop_assert!(width < 80 || height < 80, "{}", e);
                prop_assert_eq!(e, crate::InputError::ImageTooSmall { width, height, min: 80 });
            }
        }
    }

    #[test]
    fn truncated_signatures_are_not_images(n in 1usize..8) {
        let png = b"\x89PNG\r\n\x1a\n";
        prop_assert!(FaceImage::from_vec(png[..n].to_vec()).is_err());
    }

    #[test]
    fn thresholds_are_accepted_exactly_within_0_to_100(x in any::<f32>()) {
        prop_assert_eq!(SimilarityThreshold::new(x).is_ok(), x.is_finite() && (0.0..=100.0).contains(&x));
    }

    #[test]
    fn only_the_exact_kms_header_values_count_as_kms(value in ".{0,20}") {
        let kms = SseAlgorithm::from_header(Some(&value)).is_kms();
        prop_assert_eq!(kms, value == "aws:kms" || value == "aws:kms:dsse");
    }

    #[test]
    fn case_and_whitespace_variants_of_kms_are_refused(pad in "[ \t]{0,2}", upper in any::<bool>()) {
        for base in ["aws:kms", "aws:kms:dsse"] {
            let v = if upper { base.to_uppercase() } else { base.to_owned() };
            let variant = format!("{pad}{v}{pad}");
            if variant != base {
                prop_assert!(!SseAlgorithm::from_header(Some(&variant)).is_kms(), "{:?}", variant);
            }
        }
    }

    #[test]
    fn account_ids_are_exactly_twelve_digits(input in ".{0,16}") {
        let valid = input.len() == 12 && input.bytes().all(|b| b.is_ascii_digit());
        prop_assert_eq!(AccountId::parse(&input).is_ok(), valid);
    }

    #[test]
    fn kms_key_arn_parsing_never_panics(input in ".{0,120}") {
        if let Ok(arn) = KmsKeyArn::parse(&input) {
            prop_assert!(input.starts_with("arn:"));
            prop_assert_eq!(arn.account().len(), 12);
            prop_assert!(!input.contains(":alias/"));
        }
    }
}

#[test]
fn the_image_size_bound_is_exact() {
    let mut at = vec![0u8; MAX_IMAGE_BYTES];
    at[..3].copy_from_slice(&[0xFF, 0xD8, 0xFF]);
    assert!(FaceImage::from_vec(at.clone()).is_ok());
    at.push(0);
    assert!(FaceImage::from_vec(at).is_err());
}
