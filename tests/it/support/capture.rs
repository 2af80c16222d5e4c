//! Captures every `tracing` event of the test process, at TRACE level and
//! from every crate (the SDK, hyper, rustls through the `log` bridge, the
//! guard), so a test can assert that no secret reached any log.
#![allow(dead_code)] // each test binary uses part of it

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};

#[derive(Clone, Default)]
struct Sink(Arc<Mutex<Vec<u8>>>);

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).write(buf)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn sink() -> &'static Sink {
    static SINK: OnceLock<Sink> = OnceLock::new();
    SINK.get_or_init(|| {
        let sink = Sink::default();
        let writer = sink.clone();
        tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .try_init()
            .expect("the capture is the only subscriber of this test binary");
        sink
    })
}

/// Starts capturing (once per process; later calls do nothing).
pub fn start() {
    sink();
}

/// Everything logged so far, by every test of this binary.
pub fn logged() -> String {
    String::from_utf8_lossy(&sink().0.lock().unwrap_or_else(|e| e.into_inner())).into_owned()
}

/// The forms in which `bytes` could appear in text: as is, in hex, as a
/// Debug list of numbers, and in base64 (as JSON request bodies carry
/// images), at each of the three alignments.
pub fn forms_of(bytes: &[u8]) -> Vec<String> {
    let mut forms = vec![
        String::from_utf8_lossy(bytes).into_owned(),
        bytes.iter().map(|b| format!("{b:02x}")).collect(),
        {
            let list = format!("{:?}", &bytes[..bytes.len().min(8)]);
            list[1..list.len() - 1].to_owned()
        },
    ];
    for skip in 0..3 {
        let encoded = aws_smithy_types::base64::encode(&bytes[skip..]);
        // Only the characters fixed by whole 3-byte groups of `bytes`.
        let whole = (bytes.len() - skip) / 3 * 4;
        forms.push(encoded[..whole.min(encoded.len())].to_owned());
    }
    forms.retain(|f| f.len() >= 8);
    forms
}

/// Asserts that `text` holds none of `secrets`, in any of their forms.
pub fn assert_clean(what: &str, text: &str, secrets: &[&[u8]]) {
    for secret in secrets {
        for form in forms_of(secret) {
            assert!(
                !text.contains(&form),
                "{what} leaks a secret as {form:?}:\n{text}"
            );
        }
    }
}

/// Whether `text` holds a character that must never reach a log line
/// unescaped: a control character (`Cc`), a line or paragraph separator
/// (`Zl`, `Zp`) or a format character (`Cf`: bidirectional controls,
/// zero-width characters, …). The test's own oracle: the categories come
/// from Unicode's tables (`unicode-general-category`), not from the
/// crate's hand-written list, so the two check each other.
pub fn has_log_unsafe(text: &str) -> bool {
    use unicode_general_category::{get_general_category, GeneralCategory as G};
    text.chars().any(|c| {
        matches!(
            get_general_category(c),
            G::Control | G::LineSeparator | G::ParagraphSeparator | G::Format
        )
    })
}
