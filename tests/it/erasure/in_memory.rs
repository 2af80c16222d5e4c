//! Erasure and retention on the in-memory simulation.

use crate::support::KEY;

/// Retention and liveness artifacts, on the simulation (the per-key
/// erasure scenarios are the conformance suite's).
mod retention {
    use std::time::{Duration, SystemTime};

    use rekognition_guard::erasure::{EraseOptions, MemberRecord, RetentionPolicy};
    use rekognition_guard::liveness::{KioskId, LivenessPolicy};
    use rekognition_guard::memory::{InMemoryBackend, SimulatedLiveness, SimulatedObject};
    use rekognition_guard::{Guard, KmsKeyArn, OptOutEvidence, Policy, S3ObjectRef};

    use super::KEY;

    const YEAR: Duration = Duration::from_secs(365 * 86_400);

    fn world() -> (InMemoryBackend, Guard) {
        let aws = InMemoryBackend::new();
        aws.create_bucket("library-photos", "111122223333", true);
        aws.create_bucket("library-liveness", "111122223333", true);
        aws.set_default_encryption("library-liveness", Some(KEY));
        aws.set_similarity("ada", "ada", 99.5);
        let guard = Guard::new(
            rekognition_guard::PhotoStore::new(
                aws.clone(),
                Policy::allow_kms_key(KmsKeyArn::parse(KEY).unwrap())
                    .with_versioning_required(false),
            ),
            aws.clone(),
            OptOutEvidence::attested("AWS Support case 1234567890").unwrap(),
        );
        (aws, guard)
    }

    fn enrolled(aws: &InMemoryBackend, name: &str) -> S3ObjectRef {
        let key = format!("members/{name}.jpg");
        let v = aws
            .put(
                "library-photos",
                &key,
                SimulatedObject {
                    face: Some(name.into()),
                    ..SimulatedObject::sse_kms(KEY)
                },
            )
            .unwrap();
        S3ObjectRef::new("library-photos", &key)
            .unwrap()
            .with_version_id(&v)
            .unwrap()
    }

    #[tokio::test]
    async fn a_sweep_erases_exactly_the_members_past_the_retention_period() {
        let (aws, guard) = world();
        let now = SystemTime::now();
        let records = vec![
            MemberRecord {
                reference: enrolled(&aws, "ada"),
                last_interaction: now - 4 * YEAR,
            },
            MemberRecord {
                reference: enrolled(&aws, "grace"),
                last_interaction: now - YEAR,
            },
        ];
        let policy = RetentionPolicy::new(RetentionPolicy::BIPA_MAXIMUM);

        let dry = guard
            .store()
            .sweep_retention(
                records.clone(),
                &policy,
                EraseOptions::default().dry_run(true),
                now,
            )
            .await;
        assert!(dry.dry_run);
        assert_eq!((dry.examined, dry.due), (2, 1));
        assert_eq!(dry.receipts[0].key, "members/ada.jpg");
        assert_eq!(
            aws.calls().delete_object_version,
            0,
            "a dry run deletes nothing"
        );

        let summary = guard
            .store()
            .sweep_retention(records, &policy, EraseOptions::default(), now)
            .await;
        assert_eq!((summary.examined, summary.due, summary.complete), (2, 1, 1));
        assert!(summary.failed.is_empty());
        assert_eq!(aws.calls().delete_object_version, 1);
        // Ada is gone, Grace is not.
        let ada = S3ObjectRef::parse("s3://library-photos/members/ada.jpg").unwrap();
        assert!(guard.store().check(&ada).await.is_err());
        let grace = S3ObjectRef::parse("s3://library-photos/members/grace.jpg").unwrap();
        guard.store().check(&grace).await.expect("grace stays");
        assert!(
            summary.to_string().contains("1 erased completely"),
            "{summary}"
        );
    }

    /// A sweep counts photos, not records: a member listed twice is one
    /// photo, due only by their latest interaction, erased once; a dry
    /// run says what it would erase, not that anything is incomplete.
    #[tokio::test]
    async fn a_sweep_counts_each_photo_once_and_a_dry_run_says_what_it_would_erase() {
        let (aws, guard) = world();
        let now = SystemTime::now();
        let old = now - 4 * YEAR;
        let mut records = Vec::new();
        for name in ["ada", "grace", "hedy", "katherine", "mary"] {
            records.push(MemberRecord {
                reference: enrolled(&aws, name),
                last_interaction: old,
            });
        }
        // Ada listed again (same photo, an older version pinned): one
        // photo. Mary listed again with a recent interaction: not due.
        records.push(MemberRecord {
            reference: records[0].reference.clone(),
            last_interaction: old - YEAR,
        });
        records.push(MemberRecord {
            reference: records[4].reference.clone(),
            last_interaction: now - YEAR,
        });
        // Katherine's photo cannot be erased (a legal hold), hedy's has two
        // versions.
        let katherine = records[3].reference.clone();
        aws.set_object_lock(
            katherine.bucket(),
            katherine.key(),
            katherine.version_id().unwrap(),
            rekognition_guard::erasure::ObjectLockFacts {
                legal_hold: true,
                ..Default::default()
            },
        );
        enrolled(&aws, "hedy");
        let policy = RetentionPolicy::new(RetentionPolicy::BIPA_MAXIMUM);

        let dry = guard
            .store()
            .sweep_retention(
                records.clone(),
                &policy,
                EraseOptions::default().dry_run(true),
                now,
            )
            .await;
        assert_eq!((dry.examined, dry.due, dry.complete), (5, 4, 0));
        assert_eq!(
            dry.would_erase, 5,
            "ada, grace, katherine and hedy's two versions"
        );
        let text = dry.to_string();
        assert!(
            text.contains("would erase 5 versions and delete markers of 4 photos")
                && !text.contains("incomplete"),
            "{text}"
        );
        assert_eq!(aws.calls().delete_object_version, 0);

        let summary = guard
            .store()
            .sweep_retention(records, &policy, EraseOptions::default(), now)
            .await;
        assert_eq!((summary.examined, summary.due, summary.complete), (5, 4, 3));
        assert_eq!(summary.would_erase, 0);
        assert_eq!(summary.receipts.len(), 4, "each due photo erased once");
        let text = summary.to_string();
        assert!(
            text.contains("5 examined, 4 due, 3 erased completely, 1 incomplete"),
            "{text}"
        );
        let mary = S3ObjectRef::parse("s3://library-photos/members/mary.jpg").unwrap();
        guard
            .store()
            .check(&mary)
            .await
            .expect("mary interacted recently");
    }

    /// With MFA Delete on, S3 deletes no version without the owner's MFA
    /// code: the receipt says so, and each version remains for that
    /// reason (not a generic hint).
    #[tokio::test]
    async fn mfa_delete_is_named_as_what_blocks_an_erasure() {
        let (aws, guard) = world();
        let ada = enrolled(&aws, "ada");
        aws.set_versioning("library-photos", "Enabled", "Enabled");
        let key = S3ObjectRef::new(ada.bucket(), ada.key()).unwrap();
        let receipt = guard
            .store()
            .erase(&key, EraseOptions::default())
            .await
            .unwrap();
        assert!(!receipt.is_complete());
        assert_eq!(receipt.mfa_delete_enabled, Some(true));
        assert_eq!(receipt.remaining.len(), 1);
        assert_eq!(receipt.remaining[0].reason.label(), "mfa_delete");
        assert!(
            receipt.to_string().contains("MFA Delete enabled"),
            "{receipt}"
        );

        // Without it, a refusal does not talk about MFA at all.
        aws.set_versioning("library-photos", "Enabled", "Disabled");
        let receipt = guard
            .store()
            .erase(&key, EraseOptions::default())
            .await
            .unwrap();
        assert!(receipt.is_complete(), "{receipt}");
        assert_eq!(receipt.mfa_delete_enabled, Some(false));
    }

    #[tokio::test]
    async fn erasing_a_members_liveness_artifacts_leaves_other_members_alone() {
        let (aws, guard) = world();
        let ada = enrolled(&aws, "ada");
        let grace = enrolled(&aws, "grace");
        let kiosk = KioskId::new("kiosk-1").unwrap();
        let liveness = guard.liveness(LivenessPolicy::new("library-liveness").unwrap());
        for (member, face) in [(&ada, "ada"), (&ada, "ada"), (&grace, "grace")] {
            let session = liveness.start_session(member, &kiosk).await.unwrap();
            aws.finish_liveness(&session.id, SimulatedLiveness::live(99.0, face));
        }
        let receipts = guard
            .store()
            .erase_liveness_artifacts(&ada, liveness.policy(), EraseOptions::default())
            .await
            .unwrap();
        assert_eq!(receipts.len(), 2, "one reference image per session");
        assert!(receipts.iter().all(|r| r.is_complete()));
        assert!(receipts
            .iter()
            .all(|r| r.bucket == "library-liveness" && r.key.contains("member-")));
        // Grace's session output is still there.
        let again = guard
            .store()
            .erase_liveness_artifacts(
                &ada,
                liveness.policy(),
                EraseOptions::default().dry_run(true),
            )
            .await
            .unwrap();
        assert!(again.is_empty(), "nothing of ada's remains");
        let graces = guard
            .store()
            .erase_liveness_artifacts(
                &grace,
                liveness.policy(),
                EraseOptions::default().dry_run(true),
            )
            .await
            .unwrap();
        assert_eq!(graces.len(), 1);
    }
}
