//! Does the guard copy a 5 MiB image? Heap use of one comparison with a
//! 5 MiB image sent as bytes, raw SDK against the guard, measured with dhat.
//!
//! Each side runs in its own process (dhat's peak is per process): run
//! without arguments, the binary runs itself with `raw` and `guarded`
//! and prints both and the ratios, ending with one line
//! `IMAGE peak_ratio=X extra_bytes=N`.

#[global_allocator]
static ALLOC: dhat::Alloc = dhat::Alloc;

mod support;

use std::time::Duration;

use rekognition_guard::{FaceImage, MAX_IMAGE_BYTES};

/// A JPEG-signed buffer of exactly 5 MiB.
fn image() -> Vec<u8> {
    let mut bytes = vec![0x5Au8; MAX_IMAGE_BYTES];
    bytes[..4].copy_from_slice(&[0xFF, 0xD8, 0xFF, 0xE0]);
    bytes
}

/// Measures one comparison: returns (peak bytes, bytes allocated in total)
/// from the moment the image exists.
fn measure(guarded: bool) -> (usize, u64) {
    let rt = support::current_thread();
    let raw = support::raw(Duration::ZERO);
    let guard = support::guard(Duration::ZERO, true);
    // Warm up both paths (credentials, endpoint resolution, lazy statics)
    // before the profiler starts.
    rt.block_on(async {
        raw.compare_faces()
            .source_image(bytes_image(image()))
            .target_image(bytes_image(image()))
            .send()
            .await
            .unwrap();
        guard
            .compare(
                FaceImage::from_vec(image()).unwrap(),
                FaceImage::from_vec(image()).unwrap(),
            )
            .await
            .unwrap();
        // The measured call's S3 source is then a cache hit, as on a
        // kiosk's steady state: only the image path is measured.
        guard
            .compare(support::source(), FaceImage::from_vec(image()).unwrap())
            .await
            .unwrap();
    });

    let _profiler = dhat::Profiler::builder().testing().build();
    let source = image();
    rt.block_on(async {
        if guarded {
            let d = guard
                .compare(support::source(), FaceImage::from_vec(source).unwrap())
                .await
                .unwrap();
            assert!(d.is_approved());
        } else {
            raw.compare_faces()
                .source_image(s3_image())
                .target_image(bytes_image(source))
                .similarity_threshold(99.0)
                .quality_filter(aws_sdk_rekognition::types::QualityFilter::Auto)
                .send()
                .await
                .unwrap();
        }
    });
    let stats = dhat::HeapStats::get();
    (stats.max_bytes, stats.total_bytes)
}

fn bytes_image(bytes: Vec<u8>) -> aws_sdk_rekognition::types::Image {
    aws_sdk_rekognition::types::Image::builder()
        .bytes(aws_sdk_rekognition::primitives::Blob::new(bytes))
        .build()
}

fn s3_image() -> aws_sdk_rekognition::types::Image {
    aws_sdk_rekognition::types::Image::builder()
        .s3_object(
            aws_sdk_rekognition::types::S3Object::builder()
                .bucket(support::BUCKET)
                .name("members/ada.jpg")
                .version(support::VERSION)
                .build(),
        )
        .build()
}

fn run_child(side: &str) -> (usize, u64) {
    let measured = support::measure_in_child(&[side], "MEASURE ");
    (
        usize::try_from(measured[0]).unwrap(),
        u64::try_from(measured[1]).unwrap(),
    )
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.iter().any(|a| a == "raw" || a == "guarded") {
        let (peak, total) = measure(args.iter().any(|a| a == "guarded"));
        println!("MEASURE {peak} {total}");
        return;
    }
    if args.iter().any(|a| a == "--list") || !support::selected("image_copy") {
        return; // cargo bench --list: nothing to list; or filtered out
    }
    let (raw_peak, raw_total) = run_child("raw");
    let (guarded_peak, guarded_total) = run_child("guarded");
    let mib = |b: usize| b as f64 / (1024.0 * 1024.0);
    println!("image bytes: 5 MiB sent as bytes, one comparison");
    println!(
        "  raw:     peak {:.2} MiB, allocated {:.2} MiB",
        mib(raw_peak),
        mib(raw_total as usize)
    );
    println!(
        "  guarded: peak {:.2} MiB, allocated {:.2} MiB",
        mib(guarded_peak),
        mib(guarded_total as usize)
    );
    let extra = guarded_total as i64 - raw_total as i64;
    println!(
        "IMAGE peak_ratio={:.2} extra_bytes={extra}",
        guarded_peak as f64 / raw_peak as f64
    );
}
