//! The one rule for text that can reach a log line (see the crate docs,
//! "Text that reaches a log line").

use std::borrow::Cow;
use std::fmt::Write as _;

/// The `tracing` target of audit events: one event per guarded operation,
/// at `INFO` when it ran and `WARN` when it was refused or failed.
///
/// Comparisons: `decision` (`match`, `no_match`, `no_face`, `refused`,
/// `error`), `source` and `target` (S3 reference with pinned version, KMS
/// key ARN and where its check came from, or image format and size),
/// `similarity`, `threshold`, `opt_out` (which evidence), `opt_out_account`
/// (for verified evidence, the account it was verified for, which is the
/// account that called Rekognition) and `reasons`. Enrollment: `decision`
/// (`enrolled`, `rejected`, `refused`, `error`), `object`, `reasons`. Face
/// assessment: `decision` (`acceptable`, `rejected`, `refused`, `error`),
/// `image`, `issues` or `reasons`. Face Liveness start: `decision`
/// (`started`, `refused`, `error`), `session_id`, `member`, `kiosk`;
/// verification: `decision` (`match`, `no_match`, `no_face`, `not_live`,
/// `not_finished`, `refused`, `error`), `session_id`, `kiosk`, `status`,
/// `confidence`, `liveness_threshold`, `source`, `target`, `similarity`,
/// `threshold`, `opt_out`; a kiosk locked by the failure limit is logged
/// at `WARN`. Never image bytes.
pub const AUDIT_TARGET: &str = "rekognition_guard::audit";

/// Whether `c` must never reach a log line unescaped: a control
/// character, a line or paragraph separator, or a Unicode format
/// character (bidirectional controls, zero-width characters, …).
pub(crate) fn is_log_unsafe(c: char) -> bool {
    c.is_control() || matches!(c, '\u{2028}' | '\u{2029}') || is_format(c)
}

/// Unicode general category `Cf` (format), as of Unicode 16.
fn is_format(c: char) -> bool {
    matches!(
        c,
        '\u{00AD}'
            | '\u{0600}'..='\u{0605}'
            | '\u{061C}'
            | '\u{06DD}'
            | '\u{070F}'
            | '\u{0890}'..='\u{0891}'
            | '\u{08E2}'
            | '\u{180E}'
            | '\u{200B}'..='\u{200F}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{2064}'
            | '\u{2066}'..='\u{206F}'
            | '\u{FEFF}'
            | '\u{FFF9}'..='\u{FFFB}'
            | '\u{110BD}'
            | '\u{110CD}'
            | '\u{13430}'..='\u{1343F}'
            | '\u{1BCA0}'..='\u{1BCA3}'
            | '\u{1D173}'..='\u{1D17A}'
            | '\u{E0001}'
            | '\u{E0020}'..='\u{E007F}'
    )
}

/// Whether `text` holds any [log-unsafe](is_log_unsafe) character.
pub(crate) fn has_log_unsafe(text: &str) -> bool {
    text.chars().any(is_log_unsafe)
}

/// `text` with every [log-unsafe](is_log_unsafe) character written as
/// `\u{XXXX}` and every backslash doubled, so the escaped form cannot be
/// mistaken for an escape. Text without either is returned as is.
pub(crate) fn escape(text: &str) -> Cow<'_, str> {
    if !text.chars().any(|c| c == '\\' || is_log_unsafe(c)) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if c == '\\' {
            out.push_str("\\\\");
        } else if is_log_unsafe(c) {
            let _ = write!(out, "\\u{{{:04x}}}", c as u32);
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// `text` with every [log-unsafe](is_log_unsafe) character written as
/// `\u{XXXX}`, backslashes left alone: for messages that may already hold
/// [`Quoted`] text, so nothing is escaped twice. No copy when nothing needs
/// it.
pub(crate) fn neutralize(text: String) -> String {
    if !has_log_unsafe(&text) {
        return text;
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if is_log_unsafe(c) {
            let _ = write!(out, "\\u{{{:04x}}}", c as u32);
        } else {
            out.push(c);
        }
    }
    out
}

/// Displays text in double quotes, [`escape`]d, with `"` written as `\"`:
/// how this crate quotes text it was given or a service answered.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Quoted<'a>(pub(crate) &'a str);

impl std::fmt::Display for Quoted<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_char('"')?;
        for (i, part) in escape(self.0).split('"').enumerate() {
            if i > 0 {
                f.write_str("\\\"")?;
            }
            f.write_str(part)?;
        }
        f.write_char('"')
    }
}

/// [`Quoted`], cut to at most `max` characters of the original (an
/// ellipsis marks a cut): for text a service answered that a message
/// quotes.
pub(crate) fn quote(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((at, _)) => format!("{}…", Quoted(&text[..at])),
        None => Quoted(text).to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_line_breaking_or_reordering_character_is_unsafe() {
        for c in [
            '\n',
            '\r',
            '\u{0}',
            '\u{1b}',
            '\u{7f}',
            '\u{85}',
            '\u{2028}',
            '\u{2029}',
            '\u{202A}',
            '\u{202B}',
            '\u{202C}',
            '\u{202D}',
            '\u{202E}',
            '\u{2066}',
            '\u{2067}',
            '\u{2068}',
            '\u{2069}',
            '\u{200E}',
            '\u{200F}',
            '\u{061C}',
            '\u{200B}',
            '\u{FEFF}',
            '\u{00AD}',
            '\u{E0041}',
        ] {
            assert!(is_log_unsafe(c), "{:04x}", c as u32);
        }
        for c in [
            'a',
            'é',
            'Z',
            ' ',
            '/',
            '%',
            '+',
            '日',
            '\u{1F600}',
            '\u{00A0}',
        ] {
            assert!(!is_log_unsafe(c), "{:04x}", c as u32);
        }
    }

    #[test]
    fn escaping_is_unambiguous_and_leaves_safe_text_alone() {
        assert!(matches!(escape("members/Zoë.jpg"), Cow::Borrowed(_)));
        assert_eq!(escape("a\nb"), "a\\u{000a}b");
        assert_eq!(escape("a\\u{000a}b"), "a\\\\u{000a}b");
        assert_eq!(escape("\u{202E}gpj.exe"), "\\u{202e}gpj.exe");
        assert_eq!(neutralize("a\\\"b\n".into()), "a\\\"b\\u{000a}");
        assert_eq!(quote("abcdef", 3), "\"abc\"…");
        assert_eq!(quote("a\u{2028}\"", 10), "\"a\\u{2028}\\\"\"");
    }

    #[test]
    fn separators_and_bidi_overrides_are_unsafe_and_escaped() {
        assert!(is_log_unsafe('\u{2028}'));
        assert!(is_log_unsafe('\u{202E}'));
        assert!(!is_log_unsafe('é'));
        assert_eq!(
            escape("x.jpg\u{2028} INFO forged"),
            "x.jpg\\u{2028} INFO forged"
        );
    }

    /// The hand-written list is exactly Unicode's `Cc`, `Zl`, `Zp` and `Cf`
    /// (Unicode 16.0), checked for every code point.
    #[test]
    fn the_rule_is_exactly_unicodes_control_separator_and_format_characters() {
        use unicode_general_category::{get_general_category, GeneralCategory as G};
        // The version the hand-written list follows; a newer table is a
        // reason to review the list, not a bare code-point mismatch.
        assert_eq!(unicode_general_category::UNICODE_VERSION, (16, 0, 0));
        for c in (0..=0x10FFFF_u32).filter_map(char::from_u32) {
            let by_table = matches!(
                get_general_category(c),
                G::Control | G::LineSeparator | G::ParagraphSeparator | G::Format
            );
            assert_eq!(is_log_unsafe(c), by_table, "U+{:04X}", c as u32);
        }
    }

    #[test]
    fn quoted_text_escapes_quotes_and_separators() {
        assert_eq!(Quoted("a\u{2029}\"b").to_string(), r#""a\u{2029}\"b""#);
    }
}
