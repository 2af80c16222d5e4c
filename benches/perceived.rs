//! Perceived latency at the kiosk: the time from the photo to the decision
//! for a member not seen before (nothing cached), with every request
//! answered after 20 ms and the camera taking 1 s after the card is
//! tapped. The raw SDK's single CompareFaces against the guard's
//! `Guard::prepare` (HeadObject and the opt-out check at the tap) and
//! `PreparedComparison::compare` at the photo. The live photo is sent as
//! bytes, as a kiosk sends it, on both sides.
//!
//! Prints the medians of the rounds and one line
//! `PERCEIVED raw_ms=X guarded_ms=X ratio=X` (target 1.00; without
//! preparing, a cold comparison is two round trips, about 2.0).

mod support;

use std::time::{Duration, Instant};

use rekognition_guard::{FaceImage, S3ObjectRef};

const DELAY: Duration = Duration::from_millis(20);
const CAMERA: Duration = Duration::from_secs(1);
const ROUNDS: usize = 10;

fn photo() -> Vec<u8> {
    let mut bytes = vec![0x5Au8; 64 * 1024];
    bytes[..4].copy_from_slice(&[0xFF, 0xD8, 0xFF, 0xE0]);
    bytes
}

fn median(mut v: Vec<Duration>) -> f64 {
    v.sort();
    v[v.len() / 2].as_secs_f64() * 1e3
}

fn main() {
    if !support::selected("perceived") {
        return;
    }
    let rt = support::current_thread();
    let raw = support::raw(DELAY);
    let guard = support::guard(DELAY, true);
    let (raw_ms, guarded_ms) = rt.block_on(async {
        // Credentials, endpoint resolution and lazy statics, once each.
        support::raw_compare(&raw).await;
        support::guarded_compare(&guard).await;
        let mut raw_times = Vec::new();
        let mut guarded_times = Vec::new();
        for round in 0..ROUNDS {
            let image = aws_sdk_rekognition::types::Image::builder()
                .bytes(aws_sdk_rekognition::primitives::Blob::new(photo()))
                .build();
            let start = Instant::now();
            raw.compare_faces()
                .source_image(
                    aws_sdk_rekognition::types::Image::builder()
                        .s3_object(
                            aws_sdk_rekognition::types::S3Object::builder()
                                .bucket(support::BUCKET)
                                .name(format!("members/member-{round}.jpg"))
                                .version(support::VERSION)
                                .build(),
                        )
                        .build(),
                )
                .target_image(image)
                .similarity_threshold(99.0)
                .quality_filter(aws_sdk_rekognition::types::QualityFilter::Auto)
                .send()
                .await
                .expect("raw compare");
            raw_times.push(start.elapsed());

            // A member never seen before: a key the cache has not held.
            let member = S3ObjectRef::new(support::BUCKET, &format!("members/new-{round}.jpg"))
                .and_then(|r| r.with_version_id(support::VERSION))
                .unwrap();
            let pending = guard.prepare(&member); // the card is tapped
            tokio::time::sleep(CAMERA).await; // the camera runs
            let live = FaceImage::from_vec(photo()).unwrap();
            let start = Instant::now(); // the photo exists
            let decision = pending.compare(live).await.expect("guarded compare");
            guarded_times.push(start.elapsed());
            assert!(decision.is_approved());
        }
        (median(raw_times), median(guarded_times))
    });
    println!("photo to decision, member not seen before, 20 ms network, camera 1 s ({ROUNDS} rounds, medians): raw SDK {raw_ms:.3} ms, guard {guarded_ms:.3} ms");
    println!(
        "PERCEIVED raw_ms={raw_ms:.3} guarded_ms={guarded_ms:.3} ratio={:.2}",
        guarded_ms / raw_ms
    );
}
