//! Consent before collection: a member's consent, recorded, is what
//! [`Guard::enroll`](crate::Guard::enroll),
//! [`PhotoStore::store_reference`](crate::PhotoStore::store_reference) and
//! [`FaceCollection::index`](crate::FaceCollection::index) take. Without a
//! [`RecordedConsent`] there is no call that stores a face or sends one to
//! Rekognition for collection, so enrollment without consent does not
//! compile.
//!
//! What a consent records is what the law asks a controller to be able to
//! show: who (an opaque [`MemberId`]), which notice text (its version and
//! SHA-256), for what purpose, for how long, when, and how it was given
//! (BIPA 740 ILCS 14/15(b): a written notice of collection, purpose and
//! term, and a written release, before the scan; GDPR Art. 7(1) and
//! 9(2)(a): explicit consent the controller can demonstrate).
//!
//! A consent is recorded in one of two ways:
//! - [`Consent::record`]: in the [ledger](crate::ledger) (an S3 Object Lock
//!   record, hash-chained), which is how this crate demonstrates it;
//! - [`Consent::kept_in`]: in your own system of record (a signed form's
//!   id, a document reference), named in every audit event and decision.
//!
//! ```
//! use std::time::Duration;
//! use rekognition_guard::collection::MemberId;
//! use rekognition_guard::consent::{Consent, ConsentMethod, ConsentNotice};
//!
//! let notice = ConsentNotice::new("2026-12", "We collect a scan of your face geometry to ...")?;
//! let consent = Consent::new(
//!     MemberId::parse("member-000417")?,
//!     notice,
//!     "identity check at self-service loans",
//!     Duration::from_secs(3 * 365 * 24 * 3600),
//!     ConsentMethod::KioskScreen,
//! )?
//! .kept_in("consent form 2026-000417")?;
//! assert_eq!(consent.member().as_str(), "member-000417");
//! # Ok::<(), rekognition_guard::InputError>(())
//! ```
//!
//! Without one, enrollment does not compile:
//!
//! ```compile_fail
//! # use rekognition_guard::{FaceImage, Guard, S3ObjectRef};
//! # async fn f(guard: Guard, object: S3ObjectRef, photo: FaceImage) {
//! let enrolled = guard.enroll(&object, photo).await;
//! # }
//! ```

use std::fmt;
use std::time::{Duration, SystemTime};

use sha2::{Digest, Sha256};

use crate::collection::MemberId;
use crate::decision::LedgerReceipt;
use crate::error::Error;
use crate::input::InputError;
use crate::ledger::{Ledger, LedgerEntry};
use crate::text::Quoted;

/// The notice a member was shown: its version and the SHA-256 of its exact
/// text (the text itself is yours to keep; the digest proves which one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsentNotice {
    version: String,
    sha256: String,
}

impl ConsentNotice {
    /// The notice `text`, as version `version`.
    ///
    /// # Errors
    /// [`InputError::InvalidConsent`] when the version is empty, longer
    /// than 64 bytes or holds a character that could forge a log line, or
    /// the text is empty.
    pub fn new(version: &str, text: &str) -> Result<Self, InputError> {
        check_text("the notice version", version, 64)?;
        if text.trim().is_empty() {
            return Err(InputError::InvalidConsent {
                reason: "the notice text is empty".to_owned(),
            });
        }
        Ok(Self {
            version: version.to_owned(),
            sha256: hex::encode(Sha256::digest(text.as_bytes())),
        })
    }

    /// The version.
    pub fn version(&self) -> &str {
        &self.version
    }

    /// The SHA-256 of the text, 64 hexadecimal digits.
    pub fn sha256(&self) -> &str {
        &self.sha256
    }
}

/// How consent was given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConsentMethod {
    /// Signed on a kiosk's screen.
    KioskScreen,
    /// Signed on paper.
    Paper,
    /// Given electronically elsewhere (a web form, an app).
    Electronic,
}

impl ConsentMethod {
    /// `kiosk_screen`, `paper` or `electronic`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::KioskScreen => "kiosk_screen",
            Self::Paper => "paper",
            Self::Electronic => "electronic",
        }
    }
}

/// A member's consent to the collection of their face geometry, not yet
/// recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Consent {
    member: MemberId,
    notice: ConsentNotice,
    purpose: String,
    retention: Duration,
    given_at: SystemTime,
    method: ConsentMethod,
}

impl Consent {
    /// `member`'s consent, given now by `method` after seeing `notice`, to
    /// the collection for `purpose` for at most `retention`.
    ///
    /// # Errors
    /// [`InputError::InvalidConsent`] when the purpose is empty, longer
    /// than 256 bytes or holds a character that could forge a log line, or
    /// the retention is zero.
    pub fn new(
        member: MemberId,
        notice: ConsentNotice,
        purpose: &str,
        retention: Duration,
        method: ConsentMethod,
    ) -> Result<Self, InputError> {
        check_text("the purpose", purpose, 256)?;
        if retention.is_zero() {
            return Err(InputError::InvalidConsent {
                reason: "the retention term is zero".to_owned(),
            });
        }
        Ok(Self {
            member,
            notice,
            purpose: purpose.to_owned(),
            retention,
            given_at: SystemTime::now(),
            method,
        })
    }

    /// The same consent, given at `when` (on paper, say, before it was
    /// entered).
    #[must_use]
    pub fn given_at(mut self, when: SystemTime) -> Self {
        self.given_at = when;
        self
    }

    /// Records this consent in `ledger` (a record of entry `consent`:
    /// member, notice version and digest, purpose, retention in seconds,
    /// when, how) and returns it recorded, with the record's receipt.
    ///
    /// # Errors
    /// As [`Ledger::append`]: the consent is not recorded, and nothing may
    /// be collected on it.
    pub async fn record(self, ledger: &Ledger) -> Result<RecordedConsent, Error> {
        let receipt = ledger.append(LedgerEntry::Consent, self.event()).await?;
        // Nothing is collected on a consent whose record is not checked.
        ledger.confirm().await?;
        Ok(RecordedConsent {
            consent: self,
            record: ConsentRecord::Ledger(receipt),
        })
    }

    /// This consent, recorded in your own system of record under
    /// `reference` (a signed form's id, a document number). The crate
    /// cannot check that record: keep it as long as the photos it covers.
    ///
    /// # Errors
    /// [`InputError::InvalidConsent`] when the reference is empty, longer
    /// than 128 bytes or holds a character that could forge a log line.
    pub fn kept_in(self, reference: &str) -> Result<RecordedConsent, InputError> {
        check_text("the consent record's reference", reference, 128)?;
        Ok(RecordedConsent {
            consent: self,
            record: ConsentRecord::Kept(reference.to_owned()),
        })
    }

    /// The consent as a ledger event.
    fn event(&self) -> serde_json::Value {
        serde_json::json!({
            "member": self.member.as_str(),
            "notice_version": self.notice.version,
            "notice_sha256": self.notice.sha256,
            "purpose": self.purpose,
            "retention_s": self.retention.as_secs(),
            "given_at_unix_s": self.given_at
                .duration_since(SystemTime::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs()),
            "method": self.method.as_str(),
        })
    }

    /// The member.
    pub fn member(&self) -> &MemberId {
        &self.member
    }

    /// The notice shown.
    pub fn notice(&self) -> &ConsentNotice {
        &self.notice
    }

    /// The purpose.
    pub fn purpose(&self) -> &str {
        &self.purpose
    }

    /// The retention term.
    pub fn retention(&self) -> Duration {
        self.retention
    }

    /// How it was given.
    pub fn method(&self) -> ConsentMethod {
        self.method
    }
}

/// Where a consent is recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConsentRecord {
    /// In the ledger.
    Ledger(LedgerReceipt),
    /// In the controller's own records, under this reference.
    Kept(String),
}

impl fmt::Display for ConsentRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Ledger(r) => write!(f, "ledger record {} ({})", r.sequence, r.record),
            Self::Kept(reference) => write!(f, "kept in {}", Quoted(reference)),
        }
    }
}

/// A consent that was recorded: what enrollment, storing a reference
/// photo and indexing into a collection take. Made only by
/// [`Consent::record`] and [`Consent::kept_in`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedConsent {
    consent: Consent,
    record: ConsentRecord,
}

impl RecordedConsent {
    /// The member it is for.
    pub fn member(&self) -> &MemberId {
        &self.consent.member
    }

    /// The consent.
    pub fn consent(&self) -> &Consent {
        &self.consent
    }

    /// Where it is recorded.
    pub fn record(&self) -> &ConsentRecord {
        &self.record
    }
}

fn check_text(what: &str, value: &str, max: usize) -> Result<(), InputError> {
    if value.trim().is_empty() || value.len() > max || crate::text::has_log_unsafe(value) {
        return Err(InputError::InvalidConsent {
            reason: format!(
                "{what} must be 1 to {max} bytes with no line breaks or control characters"
            ),
        });
    }
    Ok(())
}
