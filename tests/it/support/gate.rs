//! Races made deterministic: a stand-in backend holds its answers at a
//! [`Gate`] until the test releases them, so what happens meanwhile happens
//! every run; and the small in-memory world those tests share.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use rekognition_guard::memory::{InMemoryBackend, SimulatedObject};
use rekognition_guard::{KmsKeyArn, OptOutEvidence, Policy, S3ObjectRef};
use tokio::sync::{Notify, Semaphore};

use super::KEY;

/// Holds answers until released: each held call first counts itself
/// as arrived (and says so), then waits for a permit.
#[derive(Debug)]
pub struct Gate {
    pub arrived: AtomicUsize,
    arrival: Notify,
    permits: Semaphore,
}

impl Default for Gate {
    fn default() -> Self {
        Self {
            arrived: AtomicUsize::new(0),
            arrival: Notify::new(),
            permits: Semaphore::new(0),
        }
    }
}

impl Gate {
    pub async fn hold(&self) {
        self.arrived.fetch_add(1, Ordering::SeqCst);
        self.arrival.notify_waiters();
        self.permits.acquire().await.expect("open").forget();
    }

    /// Waits until `n` calls are held (a condition, not a timer; the
    /// bound only turns a hang into a failure).
    pub async fn until_arrived(&self, n: usize) {
        tokio::time::timeout(Duration::from_secs(30), async {
            loop {
                let notified = self.arrival.notified();
                if self.arrived.load(Ordering::SeqCst) >= n {
                    return;
                }
                notified.await;
            }
        })
        .await
        .expect("the calls arrive");
    }

    pub fn release(&self, n: usize) {
        self.permits.add_permits(n);
    }
}

pub fn world() -> InMemoryBackend {
    let aws = InMemoryBackend::new();
    aws.create_bucket("library-photos", "111122223333", true);
    aws.create_bucket("library-liveness", "111122223333", true);
    aws.set_default_encryption("library-liveness", Some(KEY));
    aws.set_similarity("ada", "ada", 99.5);
    aws
}

pub fn enrolled(aws: &InMemoryBackend) -> S3ObjectRef {
    let v = aws
        .put(
            "library-photos",
            "members/ada.jpg",
            SimulatedObject {
                face: Some("ada".into()),
                ..SimulatedObject::sse_kms(KEY)
            },
        )
        .expect("a versioned bucket");
    S3ObjectRef::new("library-photos", "members/ada.jpg")
        .and_then(|r| r.with_version_id(&v))
        .unwrap()
}

pub fn policy() -> Policy {
    Policy::allow_kms_key(KmsKeyArn::parse(KEY).unwrap())
}

pub fn evidence() -> OptOutEvidence {
    OptOutEvidence::attested("AWS Support case 1234567890").unwrap()
}
