//! S3 Inventory reports for tests, made as S3 Inventory makes them: moto
//! stores inventory configurations but never delivers a report, so the
//! tests list a bucket's versions, HeadObject each one, and write the
//! report (gzip CSV data files, manifest.json, manifest.checksum) into a
//! destination bucket in moto, over TLS.

use std::io::Write;

use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::ServerSideEncryption;
use md5::{Digest, Md5};
use rekognition_guard::S3ObjectRef;

use super::emulator::{unique, Fixture};

/// The columns of a report of all versions with encryption fields.
pub const SCHEMA: &str =
    "Bucket, Key, VersionId, IsLatest, IsDeleteMarker, Size, EncryptionStatus, BucketKeyStatus";

/// One row, before encoding.
#[derive(Debug, Clone)]
pub struct Row {
    pub key: String,
    pub version_id: String,
    pub is_latest: bool,
    pub is_delete_marker: bool,
    pub size: i64,
    pub encryption_status: &'static str,
    pub bucket_key_status: &'static str,
}

/// Encodes a key as S3 Inventory does: form-style URL encoding (a space
/// is `+`, a plus `%2B`, every byte but `A-Z a-z 0-9 * - . _` is `%XX`).
pub fn inventory_encode(key: &str) -> String {
    let mut out = String::new();
    for b in key.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'*' | b'-' | b'.' | b'_' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// The CSV line of `row` in `bucket` under the [`SCHEMA`] columns: every
/// field quoted, no header.
pub fn csv_line(bucket: &str, row: &Row) -> String {
    format!(
        "\"{bucket}\",\"{}\",\"{}\",\"{}\",\"{}\",\"{}\",\"{}\",\"{}\"\n",
        inventory_encode(&row.key),
        row.version_id,
        row.is_latest,
        row.is_delete_marker,
        if row.is_delete_marker {
            String::new()
        } else {
            row.size.to_string()
        },
        row.encryption_status,
        row.bucket_key_status,
    )
}

pub fn gzip(data: &[u8]) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(data).unwrap();
    gz.finish().unwrap()
}

pub fn md5_hex(data: &[u8]) -> String {
    hex::encode(Md5::digest(data))
}

/// Every version and delete marker of `bucket`, with what HeadObject
/// reports of each version, as inventory rows.
pub async fn inventory_rows(f: &Fixture, bucket: &str) -> Vec<Row> {
    let listed =
        f.s3.list_object_versions()
            .bucket(bucket)
            .send()
            .await
            .expect("ListObjectVersions");
    let mut rows = Vec::new();
    for v in listed.versions() {
        let (key, version) = (v.key().unwrap(), v.version_id().unwrap());
        let head =
            f.s3.head_object()
                .bucket(bucket)
                .key(key)
                .version_id(version)
                .send()
                .await
                .expect("HeadObject");
        let (status, bucket_key) = match head.server_side_encryption() {
            Some(ServerSideEncryption::AwsKms) => {
                ("SSE-KMS", bucket_key_status(head.bucket_key_enabled()))
            }
            Some(ServerSideEncryption::AwsKmsDsse) => {
                ("DSSE-KMS", bucket_key_status(head.bucket_key_enabled()))
            }
            Some(ServerSideEncryption::Aes256) => ("SSE-S3", ""),
            None if head.sse_customer_algorithm().is_some() => ("SSE-C", ""),
            None => ("NOT-SSE", ""),
            Some(other) => panic!("unexpected encryption {other:?}"),
        };
        rows.push(Row {
            key: key.to_owned(),
            version_id: version.to_owned(),
            is_latest: v.is_latest().unwrap_or(false),
            is_delete_marker: false,
            size: v.size().unwrap_or(0),
            encryption_status: status,
            bucket_key_status: bucket_key,
        });
    }
    for m in listed.delete_markers() {
        rows.push(Row {
            key: m.key().unwrap().to_owned(),
            version_id: m.version_id().unwrap().to_owned(),
            is_latest: m.is_latest().unwrap_or(false),
            is_delete_marker: true,
            size: 0,
            encryption_status: "",
            bucket_key_status: "",
        });
    }
    rows
}

fn bucket_key_status(enabled: Option<bool>) -> &'static str {
    if enabled == Some(true) {
        "ENABLED"
    } else {
        "DISABLED"
    }
}

/// A report to deliver: its format, schema and data files can be made
/// wrong on purpose.
pub struct Report {
    pub source_bucket: String,
    pub format: String,
    pub schema: String,
    /// The data files' uncompressed CSV.
    pub files: Vec<String>,
}

impl Report {
    /// `rows` of `source_bucket`, split over `files` data files.
    pub fn csv(source_bucket: &str, rows: &[Row], files: usize) -> Self {
        let mut data = vec![String::new(); files];
        for (i, row) in rows.iter().enumerate() {
            data[i % files].push_str(&csv_line(source_bucket, row));
        }
        Self {
            source_bucket: source_bucket.to_owned(),
            format: "CSV".into(),
            schema: SCHEMA.into(),
            files: data,
        }
    }
}

impl Report {
    /// The current versions among `rows` of `source_bucket`, as a report
    /// configured with `IncludedObjectVersions` `Current` has them: no
    /// `VersionId`, `IsLatest` or `IsDeleteMarker` column, no delete
    /// markers, no noncurrent versions.
    pub fn current_versions(source_bucket: &str, rows: &[Row], files: usize) -> Self {
        let mut data = vec![String::new(); files];
        let current = rows.iter().filter(|r| r.is_latest && !r.is_delete_marker);
        for (i, row) in current.enumerate() {
            data[i % files].push_str(&format!(
                "\"{source_bucket}\",\"{}\",\"{}\",\"{}\"\n",
                inventory_encode(&row.key),
                row.size,
                row.encryption_status,
            ));
        }
        Self {
            source_bucket: source_bucket.to_owned(),
            format: "CSV".into(),
            schema: "Bucket, Key, Size, EncryptionStatus".into(),
            files: data,
        }
    }
}

/// Where a delivered report is, and what was written.
pub struct Delivered {
    pub manifest: S3ObjectRef,
    pub destination: String,
    pub data_keys: Vec<String>,
}

/// Delivers `report` as S3 Inventory would, into a new destination bucket:
/// `PREFIX/SOURCE/CONFIG/DATE/manifest.json` beside `manifest.checksum`,
/// data files under `PREFIX/SOURCE/CONFIG/data/`.
pub async fn deliver(f: &Fixture, report: &Report) -> Delivered {
    let destination = unique("rg-inventory");
    f.s3.create_bucket()
        .bucket(&destination)
        .send()
        .await
        .expect("CreateBucket");
    let base = format!("reports/{}/photos-audit", report.source_bucket);
    let mut files = Vec::new();
    let mut data_keys = Vec::new();
    for (i, csv) in report.files.iter().enumerate() {
        let data = gzip(csv.as_bytes());
        let key = format!("{base}/data/{i:04}-{}.csv.gz", unique("part"));
        put(f, &destination, &key, data.clone()).await;
        files.push(
            serde_json::json!({"key": key, "size": data.len(), "MD5checksum": md5_hex(&data)}),
        );
        data_keys.push(key);
    }
    let manifest = serde_json::json!({
        "sourceBucket": report.source_bucket,
        "destinationBucket": format!("arn:aws:s3:::{destination}"),
        "version": "2016-11-30",
        "creationTimestamp": "1764378000000",
        "fileFormat": report.format,
        "fileSchema": report.schema,
        "files": files,
    })
    .to_string();
    let dir = format!("{base}/2026-11-29T01-00Z");
    put(
        f,
        &destination,
        &format!("{dir}/manifest.json"),
        manifest.clone().into_bytes(),
    )
    .await;
    put(
        f,
        &destination,
        &format!("{dir}/manifest.checksum"),
        format!("{}\n", md5_hex(manifest.as_bytes())).into_bytes(),
    )
    .await;
    Delivered {
        manifest: S3ObjectRef::new(&destination, &format!("{dir}/manifest.json")).unwrap(),
        destination,
        data_keys,
    }
}

/// Puts `body` at `key` in `bucket`, with SSE-KMS as an inventory
/// destination should be (the report lists every photo's key).
pub async fn put(f: &Fixture, bucket: &str, key: &str, body: Vec<u8>) {
    f.s3.put_object()
        .bucket(bucket)
        .key(key)
        .body(ByteStream::from(body))
        .server_side_encryption(ServerSideEncryption::AwsKms)
        .ssekms_key_id(&f.kms_key)
        .send()
        .await
        .expect("PutObject");
}

/// The photo keys the fleet tests store: spaces, `+`, `%`, a comma, and
/// non-ASCII characters, each of which S3 Inventory URL-encodes.
pub const ADA: &str = "members/ada lovelace.jpg";
pub const EMILIE: &str = "members/émilie+山田 100%.jpg";
pub const GRACE: &str = "members/grace,hopper.jpg";
pub const GONE: &str = "members/gone.jpg";
pub const HOPPER: &str = "members/hopper.jpg";

/// A versioned photo bucket with a fleet of mixed statuses:
/// * `ADA`: SSE-KMS under the allowed key, then overwritten with SSE-S3
///   (two versions: one compliant, one for UpdateObjectEncryption);
/// * `EMILIE`: SSE-KMS under the other key (UpdateObjectEncryption, found
///   only by key checks);
/// * `GRACE`: no encryption header (NOT-SSE: CopyObject);
/// * `GONE`: SSE-KMS under the allowed key, then deleted (a delete marker
///   and a compliant noncurrent version);
/// * `HOPPER`: no encryption header, then SSE-KMS under the allowed key
///   (a noncurrent NOT-SSE version: a copy would make it current again,
///   so it is listed for deletion).
///
/// Returns the version ids by name.
pub async fn mixed_fleet(f: &Fixture) -> Fleet {
    let ada_kms = f.put_kms(ADA).await.unwrap();
    let ada_sse_s3 = f
        .put(ADA, Some(ServerSideEncryption::Aes256), None)
        .await
        .unwrap();
    let emilie = f
        .put(
            EMILIE,
            Some(ServerSideEncryption::AwsKms),
            Some(&f.other_kms_key),
        )
        .await
        .unwrap();
    let grace = f.put(GRACE, None, None).await.unwrap();
    let gone = f.put_kms(GONE).await.unwrap();
    f.s3.delete_object()
        .bucket(&f.bucket)
        .key(GONE)
        .send()
        .await
        .expect("DeleteObject");
    let hopper_plain = f.put(HOPPER, None, None).await.unwrap();
    let hopper_kms = f.put_kms(HOPPER).await.unwrap();
    Fleet {
        ada_kms,
        ada_sse_s3,
        emilie,
        grace,
        gone,
        hopper_plain,
        hopper_kms,
    }
}

pub struct Fleet {
    pub ada_kms: String,
    pub ada_sse_s3: String,
    pub emilie: String,
    pub grace: String,
    pub gone: String,
    pub hopper_plain: String,
    pub hopper_kms: String,
}

/// An enabled daily CSV inventory of all versions with EncryptionStatus
/// and BucketKeyStatus, delivered to `destination` (a bucket ARN) under
/// `inventory/`: what the bucket audit asks for.
pub fn configuration(destination: &str) -> aws_sdk_s3::types::InventoryConfiguration {
    use aws_sdk_s3::types::{
        InventoryConfiguration, InventoryDestination, InventoryFormat, InventoryFrequency,
        InventoryIncludedObjectVersions, InventoryOptionalField, InventoryS3BucketDestination,
        InventorySchedule,
    };
    InventoryConfiguration::builder()
        .id("photos-audit")
        .is_enabled(true)
        .included_object_versions(InventoryIncludedObjectVersions::All)
        .optional_fields(InventoryOptionalField::EncryptionStatus)
        .optional_fields(InventoryOptionalField::BucketKeyStatus)
        .schedule(
            InventorySchedule::builder()
                .frequency(InventoryFrequency::Daily)
                .build()
                .unwrap(),
        )
        .destination(
            InventoryDestination::builder()
                .s3_bucket_destination(
                    InventoryS3BucketDestination::builder()
                        .bucket(destination)
                        .prefix("inventory")
                        .format(InventoryFormat::Csv)
                        .build()
                        .unwrap(),
                )
                .build(),
        )
        .build()
        .unwrap()
}
