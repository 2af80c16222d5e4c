//! Withdrawal of consent (GDPR Art. 7(3): as easy as giving it; it ends
//! the processing): the member's photos are refused from that moment, then
//! erased with every version, their Face Liveness images and collection
//! faces too, and the receipt recorded.

use std::fmt;

use serde_json::json;

use super::collection::Collection;
use super::PhotoStore;
use crate::collection::{CollectionErasure, MemberId};
use crate::decision::LedgerReceipt;
use crate::erasure::{EraseOptions, ErasureReceipt};
use crate::error::Error;
use crate::input::S3ObjectRef;
use crate::ledger::{Ledger, LedgerEntry};
use crate::liveness::LivenessPolicy;
use crate::text::AUDIT_TARGET;

/// What a member's withdrawal of consent reaches: their reference photos
/// (every version of each key), the images of their Face Liveness
/// sessions, their faces in a collection, and the ledger the receipt goes
/// to. Give [`PhotoStore::withdraw_consent`] all that applies.
#[derive(Debug, Clone)]
#[must_use]
pub struct Withdrawal<'a> {
    member: MemberId,
    photos: Vec<S3ObjectRef>,
    liveness: Option<&'a LivenessPolicy>,
    collection: Option<&'a Collection>,
    ledger: Option<&'a Ledger>,
    options: EraseOptions,
}

impl<'a> Withdrawal<'a> {
    /// The withdrawal of `member`'s consent.
    pub fn new(member: &MemberId) -> Self {
        Self {
            member: member.clone(),
            photos: Vec::new(),
            liveness: None,
            collection: None,
            ledger: None,
            options: EraseOptions::default(),
        }
    }

    /// A reference photo of the member (its key; any version named is
    /// ignored: every version goes).
    pub fn photo(mut self, reference: &S3ObjectRef) -> Self {
        self.photos.push(
            S3ObjectRef::new(reference.bucket(), reference.key())
                .expect("the bucket and key of a valid reference"),
        );
        self
    }

    /// Their Face Liveness sessions' images, under `policy`'s output
    /// prefix for each photo given.
    pub fn liveness(mut self, policy: &'a LivenessPolicy) -> Self {
        self.liveness = Some(policy);
        self
    }

    /// Their faces in `collection`.
    pub fn collection(mut self, collection: &'a Collection) -> Self {
        self.collection = Some(collection);
        self
    }

    /// Records the withdrawal and its receipt in `ledger`.
    pub fn ledger(mut self, ledger: &'a Ledger) -> Self {
        self.ledger = Some(ledger);
        self
    }

    /// How versions are erased (the governance bypass; a dry run is not
    /// a withdrawal and is refused).
    pub fn erase_options(mut self, options: EraseOptions) -> Self {
        self.options = options;
        self
    }
}

/// What a withdrawal did.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct WithdrawalReceipt {
    /// The member.
    pub member: MemberId,
    /// One receipt per reference photo key.
    pub photos: Vec<ErasureReceipt>,
    /// One receipt per Face Liveness image key.
    pub liveness_artifacts: Vec<ErasureReceipt>,
    /// The collection's receipt, if one was given.
    pub collection: Option<CollectionErasure>,
    /// The ledger record of the receipt, if a ledger was given.
    pub ledger: Option<LedgerReceipt>,
}

impl WithdrawalReceipt {
    /// Whether everything is gone: every key and face confirmed erased.
    pub fn is_complete(&self) -> bool {
        self.photos.iter().all(ErasureReceipt::is_complete)
            && self
                .liveness_artifacts
                .iter()
                .all(ErasureReceipt::is_complete)
            && self
                .collection
                .as_ref()
                .is_none_or(CollectionErasure::is_complete)
    }

    /// The receipt as a ledger event: keys and counts, never image bytes.
    fn event(&self) -> serde_json::Value {
        let keys = |receipts: &[ErasureReceipt]| {
            receipts
                .iter()
                .map(|r| {
                    json!({
                        "object": format!("s3://{}/{}", r.bucket, r.key),
                        "erased": r.erased.len(),
                        "remaining": r.remaining.len(),
                        "complete": r.is_complete(),
                    })
                })
                .collect::<Vec<_>>()
        };
        json!({
            "member": self.member.as_str(),
            "photos": keys(&self.photos),
            "liveness_artifacts": keys(&self.liveness_artifacts),
            "collection": self.collection.as_ref().map(|c| json!({
                "collection": c.collection.as_str(),
                "removed": c.removed,
                "remaining": c.remaining.iter().map(|r| &r.face_id).collect::<Vec<_>>(),
            })),
            "complete": self.is_complete(),
        })
    }
}

impl fmt::Display for WithdrawalReceipt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "withdrawal of {}: {} photo key(s), {} liveness image key(s){} ({})",
            self.member,
            self.photos.len(),
            self.liveness_artifacts.len(),
            match &self.collection {
                Some(c) => format!(", {} face(s) removed", c.removed.len()),
                None => String::new(),
            },
            if self.is_complete() {
                "complete"
            } else {
                "incomplete"
            }
        )
    }
}

impl PhotoStore {
    /// Withdraws a member's consent, in this order:
    ///
    /// 1. their reference photos are refused from this moment by this
    ///    store, its clones and every guard built on it
    ///    ([`AtRestViolation::ConsentWithdrawn`](crate::AtRestViolation::ConsentWithdrawn),
    ///    nothing sent), whatever the erasure below achieves;
    /// 2. the ledger, if given, records the withdrawal (entry
    ///    `withdrawal`);
    /// 3. every version of each photo's key is erased
    ///    ([`erase`](Self::erase)), then their Face Liveness images
    ///    ([`erase_liveness_artifacts`](Self::erase_liveness_artifacts),
    ///    per photo), then their faces in the collection
    ///    ([`Collection::forget`]);
    /// 4. the ledger records the receipt (entry `erasure`).
    ///
    /// Nothing here sends an image anywhere, so no opt-out evidence is
    /// needed. The refusal in step 1 lives in this process: after a
    /// restart, the erased photos are gone, and what could not be erased
    /// (a legal hold, COMPLIANCE retention) is named in the receipt and
    /// the ledger.
    ///
    /// # Errors
    /// [`Error::Input`] for a dry run; the first error of a step (the
    /// steps before it are done; a photo stays refused).
    pub async fn withdraw_consent(
        &self,
        withdrawal: Withdrawal<'_>,
    ) -> Result<WithdrawalReceipt, Error> {
        if withdrawal.options.is_dry_run() {
            return Err(Error::Input(crate::input::InputError::InvalidConsent {
                reason: "a withdrawal erases: it cannot be a dry run".to_owned(),
            }));
        }
        for photo in &withdrawal.photos {
            self.withdrawn.add(photo);
        }
        tracing::info!(
            target: AUDIT_TARGET,
            decision = "consent_withdrawn",
            member = %withdrawal.member,
            photos = withdrawal.photos.len(),
            "consent withdrawn: the member's photos are refused from now on"
        );
        if let Some(ledger) = withdrawal.ledger {
            ledger
                .append(
                    LedgerEntry::Withdrawal,
                    json!({
                        "member": withdrawal.member.as_str(),
                        "photos": withdrawal.photos.iter().map(ToString::to_string).collect::<Vec<_>>(),
                    }),
                )
                .await?;
        }
        let mut receipt = WithdrawalReceipt {
            member: withdrawal.member.clone(),
            photos: Vec::new(),
            liveness_artifacts: Vec::new(),
            collection: None,
            ledger: None,
        };
        for photo in &withdrawal.photos {
            receipt
                .photos
                .push(self.erase(photo, withdrawal.options).await?);
            if let Some(policy) = withdrawal.liveness {
                receipt.liveness_artifacts.extend(
                    self.erase_liveness_artifacts(photo, policy, withdrawal.options)
                        .await?,
                );
            }
        }
        if let Some(collection) = withdrawal.collection {
            receipt.collection = Some(collection.forget(&withdrawal.member).await?);
        }
        if let Some(ledger) = withdrawal.ledger {
            receipt.ledger = Some(ledger.append(LedgerEntry::Erasure, receipt.event()).await?);
        }
        tracing::info!(
            target: AUDIT_TARGET,
            decision = if receipt.is_complete() { "erased" } else { "incomplete" },
            member = %receipt.member,
            receipt = %receipt,
            "withdrawal of consent carried out"
        );
        Ok(receipt)
    }
}
