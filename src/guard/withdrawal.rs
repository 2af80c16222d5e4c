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
    /// The ledger record of the receipt, if a ledger was given and it was
    /// recorded.
    pub ledger: Option<LedgerReceipt>,
    /// What failed (each step still ran): an erasure that could not list,
    /// a collection that could not be read, a ledger record not written.
    pub errors: Vec<String>,
}

impl WithdrawalReceipt {
    /// Whether everything is gone and recorded: every key and face
    /// confirmed erased, and no step failed.
    pub fn is_complete(&self) -> bool {
        self.errors.is_empty()
            && self.photos.iter().all(ErasureReceipt::is_complete)
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
            "errors": self.errors,
            "complete": self.errors.is_empty()
                && self.photos.iter().all(ErasureReceipt::is_complete)
                && self.liveness_artifacts.iter().all(ErasureReceipt::is_complete)
                && self.collection.as_ref().is_none_or(CollectionErasure::is_complete),
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
    /// Withdraws a member's consent. Every step runs, whatever the one
    /// before it did; what failed is in [`WithdrawalReceipt::errors`]:
    ///
    /// 1. from this moment, this store, its clones and every guard and
    ///    collection built on them refuse the member
    ///    ([`AtRestViolation::MemberWithdrewConsent`](crate::AtRestViolation::MemberWithdrewConsent)
    ///    for enrolling, storing a photo and indexing;
    ///    [`AtRestViolation::ConsentWithdrawn`](crate::AtRestViolation::ConsentWithdrawn)
    ///    for comparing or starting a Face Liveness session with their
    ///    photos; searches identify them no more), nothing sent;
    /// 2. the ledger, if given, records the withdrawal (entry
    ///    `withdrawal`);
    /// 3. every version of each photo's key is erased
    ///    ([`erase`](Self::erase)), then their Face Liveness images
    ///    ([`erase_liveness_artifacts`](Self::erase_liveness_artifacts),
    ///    per photo), then their faces in the collection
    ///    ([`Collection::forget`]);
    /// 4. the ledger records the receipt (entry `erasure`) and the
    ///    records' checks are awaited ([`Ledger::confirm`]).
    ///
    /// Nothing here sends an image anywhere, so no opt-out evidence is
    /// needed. The refusal in step 1 lives in this process and in the
    /// stores cloned from this one (a store made with [`PhotoStore::new`]
    /// elsewhere does not see it; issue 27 shares it between servers):
    /// after a restart, the erased photos and faces are gone, and what
    /// could not be erased (a legal hold, COMPLIANCE retention) is named in
    /// the receipt and the ledger.
    ///
    /// # Errors
    /// [`Error::Input`] for a dry run, or a withdrawal naming no photo and
    /// no collection.
    pub async fn withdraw_consent(
        &self,
        withdrawal: Withdrawal<'_>,
    ) -> Result<WithdrawalReceipt, Error> {
        let invalid = |reason: &str| {
            Error::Input(crate::input::InputError::InvalidConsent {
                reason: reason.to_owned(),
            })
        };
        if withdrawal.options.is_dry_run() {
            return Err(invalid("a withdrawal erases: it cannot be a dry run"));
        }
        if withdrawal.photos.is_empty() && withdrawal.collection.is_none() {
            return Err(invalid(
                "a withdrawal needs the member's photos or their collection: it names neither",
            ));
        }
        self.withdrawn.add_member(&withdrawal.member);
        for photo in &withdrawal.photos {
            self.withdrawn.add(photo);
        }
        tracing::info!(
            target: AUDIT_TARGET,
            decision = "consent_withdrawn",
            member = %withdrawal.member,
            photos = withdrawal.photos.len(),
            "consent withdrawn: the member is refused from now on"
        );
        let mut receipt = WithdrawalReceipt {
            member: withdrawal.member.clone(),
            photos: Vec::new(),
            liveness_artifacts: Vec::new(),
            collection: None,
            ledger: None,
            errors: Vec::new(),
        };
        if let Some(ledger) = withdrawal.ledger {
            let recorded = ledger
                .append(
                    LedgerEntry::Withdrawal,
                    json!({
                        "member": withdrawal.member.as_str(),
                        "photos": withdrawal.photos.iter().map(ToString::to_string).collect::<Vec<_>>(),
                    }),
                )
                .await;
            if let Err(e) = recorded {
                receipt.errors.push(format!(
                    "the withdrawal was not recorded in the ledger: {e}"
                ));
            }
        }
        for photo in &withdrawal.photos {
            match self.erase(photo, withdrawal.options).await {
                Ok(r) => receipt.photos.push(r),
                Err(e) => receipt.errors.push(format!("erasing {photo}: {e}")),
            }
            if let Some(policy) = withdrawal.liveness {
                match self
                    .erase_liveness_artifacts(photo, policy, withdrawal.options)
                    .await
                {
                    Ok(r) => receipt.liveness_artifacts.extend(r),
                    Err(e) => receipt
                        .errors
                        .push(format!("erasing the liveness images of {photo}: {e}")),
                }
            }
        }
        if let Some(collection) = withdrawal.collection {
            match collection.forget(&withdrawal.member).await {
                Ok(r) => receipt.collection = Some(r),
                Err(e) => receipt.errors.push(format!(
                    "forgetting the member in collection {}: {e}",
                    collection.id()
                )),
            }
        }
        if let Some(ledger) = withdrawal.ledger {
            let recorded = match ledger.append(LedgerEntry::Erasure, receipt.event()).await {
                Ok(r) => ledger.confirm().await.map(|()| r),
                Err(e) => Err(e),
            };
            match recorded {
                Ok(r) => receipt.ledger = Some(r),
                Err(e) => receipt
                    .errors
                    .push(format!("the receipt was not recorded in the ledger: {e}")),
            }
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
