//! Fleet audits at scale: `Guard::audit_inventory` over a generated S3
//! Inventory report against the physical floor, decompressing the same
//! gzip files and nothing else, side by side in one run; and its peak heap
//! at 100,000 and 1,000,000 rows (dhat), which must not grow with the rows.
//!
//! The report (8 data files, every version, mixed statuses, URL-encoded
//! keys) is served from memory by a mock `S3Backend`: the audit's own
//! work is measured, not a network. Run without arguments, the binary runs
//! itself once per measurement (dhat's peak is per process) and ends with
//! one line `INVENTORY rows=N speed_ratio=X memory_ratio=Y`, where
//! `speed_ratio` is audit throughput over gunzip throughput (at least 0.5
//! is the target) and `memory_ratio` the peak at 1M rows over the peak at
//! 100k (about 1 when memory is bounded).

#[global_allocator]
static ALLOC: dhat::Alloc = dhat::Alloc;

mod support;

use std::collections::HashMap;
use std::io::{Read, Write};
use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_smithy_types::byte_stream::ByteStream;
use bytes::Bytes;
use md5::{Digest, Md5};
use rekognition_guard::inventory::{BatchManifestWriter, InventoryAuditOptions};
use rekognition_guard::testing::MockS3Backend;
use rekognition_guard::{PhotoStore, Policy, S3ObjectRef};

const FILES: usize = 8;
const BUCKET: &str = "library-photos";
const DESTINATION: &str = "inventory-reports";
const MANIFEST: &str = "photos/library-photos/all/2026-11-29T01-00Z/manifest.json";

/// A report of `rows` rows: its objects by key, and the data files alone.
fn report(rows: usize) -> (HashMap<String, Bytes>, Vec<Bytes>) {
    let statuses = ["SSE-KMS"; 16]
        .into_iter()
        .chain(["SSE-S3", "NOT-SSE", "DSSE-KMS", "SSE-KMS"])
        .collect::<Vec<_>>();
    let mut objects = HashMap::new();
    let mut data = Vec::new();
    let mut listed = Vec::new();
    for f in 0..FILES {
        let mut csv = Vec::new();
        for i in (f..rows).step_by(FILES) {
            let marker = i % 50 == 49;
            writeln!(
                csv,
                "\"{BUCKET}\",\"members%2F{:07}%2Fphoto+{i}%C3%A9.jpg\",\"{:032x}\",\"{}\",\"{}\",\"{}\",\"{}\",\"{}\"",
                i / 3,
                i as u128 * 0x9e37_79b9_7f4a_7c15,
                i % 3 == 0,
                marker,
                if marker { String::new() } else { (40_000 + i % 9_000).to_string() },
                if marker { "" } else { statuses[i % statuses.len()] },
                if marker { "" } else { "ENABLED" },
            )
            .unwrap();
        }
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(&csv).unwrap();
        let file = Bytes::from(gz.finish().unwrap());
        let key = format!("photos/library-photos/all/data/{f:02}.csv.gz");
        listed.push(serde_json::json!({"key": key, "size": file.len(), "MD5checksum": hex::encode(Md5::digest(&file))}));
        objects.insert(key, file.clone());
        data.push(file);
    }
    let manifest = serde_json::json!({
        "sourceBucket": BUCKET,
        "destinationBucket": format!("arn:aws:s3:::{DESTINATION}"),
        "version": "2016-11-30",
        "fileFormat": "CSV",
        "fileSchema": "Bucket, Key, VersionId, IsLatest, IsDeleteMarker, Size, EncryptionStatus, BucketKeyStatus",
        "files": listed,
    })
    .to_string();
    objects.insert(
        MANIFEST.replace("manifest.json", "manifest.checksum"),
        Bytes::from(hex::encode(Md5::digest(manifest.as_bytes()))),
    );
    objects.insert(MANIFEST.to_owned(), Bytes::from(manifest));
    (objects, data)
}

fn store(objects: HashMap<String, Bytes>) -> PhotoStore {
    let objects = Arc::new(objects);
    let mut s3 = MockS3Backend::new();
    s3.expect_get_object()
        .returning(move |request| Ok(ByteStream::from(objects[request.object.key()].clone())));
    PhotoStore::new(s3, Policy::any_kms_key().with_versioning_required(false))
}

/// One audit; returns the rows read.
async fn audit(store: &PhotoStore) -> u64 {
    let manifest = S3ObjectRef::new(DESTINATION, MANIFEST).unwrap();
    let mut sink = BatchManifestWriter::new(
        std::io::sink(),
        std::io::sink(),
        std::io::sink(),
        std::io::sink(),
    );
    let report = store
        .audit_inventory(&manifest, InventoryAuditOptions::default(), &mut sink)
        .await
        .unwrap();
    assert!(report.update_in_place > 0 && report.copy > 0, "{report:?}");
    report.rows
}

/// The floor: gunzip every data file into nothing.
fn gunzip(data: &[Bytes]) -> u64 {
    let mut out = 0;
    let mut buffer = vec![0u8; 64 * 1024];
    for file in data {
        let mut gz = flate2::read::MultiGzDecoder::new(&file[..]);
        loop {
            let n = gz.read(&mut buffer).unwrap();
            if n == 0 {
                break;
            }
            out += n as u64;
        }
    }
    out
}

fn best_of(runs: usize, mut f: impl FnMut()) -> Duration {
    (0..runs)
        .map(|_| {
            let start = Instant::now();
            f();
            start.elapsed()
        })
        .min()
        .unwrap()
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
}

fn time(rows: usize) {
    let (objects, data) = report(rows);
    let rt = runtime();
    let store = store(objects);
    let mut read = 0;
    let floor = best_of(5, || {
        std::hint::black_box(gunzip(&data));
    });
    let audited = best_of(5, || read = rt.block_on(audit(&store)));
    assert_eq!(read, rows as u64);
    println!("TIME {} {}", floor.as_nanos(), audited.as_nanos());
}

fn memory(rows: usize) {
    let (objects, _) = report(rows);
    let rt = runtime();
    let store = store(objects);
    // Everything above (the report itself, held in memory as S3 would hold
    // it) is outside the measurement.
    let _profiler = dhat::Profiler::builder().testing().build();
    let read = rt.block_on(audit(&store));
    assert_eq!(read, rows as u64);
    println!("MEMORY {}", dhat::HeapStats::get().max_bytes);
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let rows = |i: usize| {
        args.get(i)
            .and_then(|r| r.parse().ok())
            .unwrap_or(1_000_000)
    };
    match args.first().map(String::as_str) {
        Some("time") => return time(rows(1)),
        Some("memory") => return memory(rows(1)),
        Some("--list") => return, // cargo bench --list: nothing to list
        _ if !support::selected("inventory") => return,
        _ => {}
    }
    let timed = support::measure_in_child(&["time", "1000000"], "TIME ");
    let (floor, audited) = (timed[0] as f64, timed[1] as f64);
    let small = support::measure_in_child(&["memory", "100000"], "MEMORY ")[0] as f64;
    let large = support::measure_in_child(&["memory", "1000000"], "MEMORY ")[0] as f64;
    let mib = |b: f64| b / (1024.0 * 1024.0);
    println!("inventory: 1,000,000 rows in {FILES} gzip CSV files");
    println!(
        "  gunzip alone:        {:.1} ms ({:.2} M rows/s)",
        floor / 1e6,
        1e9 / floor
    );
    println!(
        "  audit_inventory:     {:.1} ms ({:.2} M rows/s)",
        audited / 1e6,
        1e9 / audited
    );
    println!(
        "  peak heap: {:.2} MiB at 100,000 rows, {:.2} MiB at 1,000,000",
        mib(small),
        mib(large)
    );
    println!(
        "INVENTORY rows=1000000 speed_ratio={:.2} memory_ratio={:.2} peak_mib_100k={:.2} peak_mib_1m={:.2}",
        floor / audited,
        large / small,
        mib(small),
        mib(large)
    );
}
