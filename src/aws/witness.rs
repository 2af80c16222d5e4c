//! The raw body of an answer, for the few fields the SDK's types cannot
//! tell apart from their defaults.
//!
//! The SDK reads a missing yes/no `Value` as `false` and a missing required
//! string as `""`. Where such a default would pass a check, the crate reads
//! the answer itself to know whether the field was sent. Installed per call
//! (`customize().interceptor(..)`) on the few operations that need it, whose
//! answers hold no image bytes.

use std::sync::{Arc, Mutex};

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::AfterDeserializationInterceptorContextRef;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;

/// Keeps the body of the last attempt's answer.
#[derive(Debug, Clone, Default)]
pub(crate) struct BodyWitness(Arc<Mutex<Option<Vec<u8>>>>);

impl BodyWitness {
    /// The body the SDK parsed into the call's output (the last attempt's),
    /// if it could be read.
    pub(crate) fn take(&self) -> Option<Vec<u8>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).take()
    }
}

impl Intercept for BodyWitness {
    fn name(&self) -> &'static str {
        "rekognition_guard::BodyWitness"
    }

    fn read_after_deserialization(
        &self,
        context: &AfterDeserializationInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        // The body was read in full before deserialization (neither
        // operation streams); each attempt overwrites the last.
        let body = context.response().body().bytes().map(<[u8]>::to_vec);
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = body;
        Ok(())
    }
}

/// The text of each `<name>…</name>` (or `<name/>`) element at any depth of
/// `xml`, in order. A scan, not a parser: enough to find S3's own elements
/// in an answer the SDK already parsed, and to see that a count matches.
pub(crate) fn elements<'a>(xml: &'a str, name: &str) -> Vec<&'a str> {
    let (open, close, empty) = (
        format!("<{name}>"),
        format!("</{name}>"),
        format!("<{name}/>"),
    );
    let mut found = Vec::new();
    let mut rest = xml;
    loop {
        let at_open = rest.find(&open);
        let at_empty = rest.find(&empty);
        match (at_open, at_empty) {
            (Some(o), e) if e.is_none_or(|e| o < e) => {
                let inner = &rest[o + open.len()..];
                let Some(end) = inner.find(&close) else {
                    return found;
                };
                found.push(&inner[..end]);
                rest = &inner[end + close.len()..];
            }
            (_, Some(e)) => {
                found.push("");
                rest = &rest[e + empty.len()..];
            }
            _ => return found,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn elements_are_found_in_order_with_empty_ones() {
        let xml =
            "<A><Filter><Prefix>p/</Prefix></Filter></A><A><Filter/></A><A><Filter></Filter></A>";
        assert_eq!(elements(xml, "A").len(), 3);
        assert_eq!(elements(xml, "Filter"), ["<Prefix>p/</Prefix>", "", ""]);
        assert_eq!(elements("<A><B>x</B>", "A"), Vec::<&str>::new());
    }
}
