//! `manifest.json` of an S3 Inventory report, and its `manifest.checksum`.

use md5::{Digest, Md5};
use serde_json::Value;

use super::{quoted, InventoryError};
use crate::input::{has_dot_segment, S3ObjectRef};

/// The only `version` of `manifest.json` S3 has written.
const MANIFEST_VERSION: &str = "2016-11-30";

/// How to add a column to the report, per column the audit needs.
const ADD_FIELD: &str = "add it to the inventory configuration's OptionalFields (PutBucketInventoryConfiguration, or Management > Inventory configurations > Additional metadata fields in the S3 console) and audit the next report";
const REQUIRED_FIELD: &str =
    "S3 Inventory always writes it: this manifest was not written by S3 Inventory";
const WITH_ALL_VERSIONS: &str = "S3 Inventory writes it in every report of all versions (IncludedObjectVersions All): without it no row is known to be current, so this manifest was not written by S3 Inventory";

/// More columns than S3 Inventory has fields.
const MAX_COLUMNS: usize = 64;

/// The column positions of a report's `fileSchema` that the audit reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Columns {
    pub(crate) count: usize,
    pub(crate) bucket: usize,
    pub(crate) key: usize,
    pub(crate) version_id: Option<usize>,
    pub(crate) is_latest: Option<usize>,
    pub(crate) is_delete_marker: Option<usize>,
    pub(crate) encryption_status: usize,
    pub(crate) bucket_key_status: Option<usize>,
}

impl Columns {
    /// Reads `fileSchema`: column names separated by commas, with or
    /// without spaces (`"Bucket, Key, VersionId, ..."`).
    pub(crate) fn from_schema(schema: &str) -> Result<Self, InventoryError> {
        let names: Vec<&str> = schema.split(',').map(str::trim).collect();
        if names.len() > MAX_COLUMNS {
            return Err(InventoryError::InvalidSchema {
                reason: format!("{} columns, more than S3 Inventory writes", names.len()),
            });
        }
        let find = |name: &str| -> Result<Option<usize>, InventoryError> {
            let mut at = names
                .iter()
                .enumerate()
                .filter(|(_, n)| **n == name)
                .map(|(i, _)| i);
            match (at.next(), at.next()) {
                (Some(_), Some(_)) => Err(InventoryError::InvalidSchema {
                    reason: format!("column {name} appears twice"),
                }),
                (first, _) => Ok(first),
            }
        };
        let required = |name: &'static str, fix: &'static str| {
            find(name)?.ok_or(InventoryError::MissingColumn { column: name, fix })
        };
        let version_id = find("VersionId")?;
        Ok(Self {
            count: names.len(),
            bucket: required("Bucket", REQUIRED_FIELD)?,
            key: required("Key", REQUIRED_FIELD)?,
            encryption_status: required("EncryptionStatus", ADD_FIELD)?,
            is_latest: match version_id {
                Some(_) => Some(required("IsLatest", WITH_ALL_VERSIONS)?),
                None => find("IsLatest")?,
            },
            is_delete_marker: match version_id {
                Some(_) => Some(required("IsDeleteMarker", WITH_ALL_VERSIONS)?),
                None => find("IsDeleteMarker")?,
            },
            version_id,
            bucket_key_status: find("BucketKeyStatus")?,
        })
    }
}

/// One data file of a report, as `manifest.json` lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DataFile {
    /// The file, in the destination bucket, exactly as the manifest names
    /// it.
    pub(crate) object: S3ObjectRef,
    /// Its size in bytes (gzip-compressed).
    pub(crate) size: u64,
    /// The MD5 of its bytes, lowercase hex.
    pub(crate) md5: String,
}

/// An S3 Inventory report's `manifest.json`, checked against its
/// `manifest.checksum`.
///
/// Shape (S3 User Guide, "Inventory manifest"):
/// `{"sourceBucket": "…", "destinationBucket": "arn:aws:s3:::…",
/// "version": "2016-11-30", "creationTimestamp": "<ms since epoch>",
/// "fileFormat": "CSV", "fileSchema": "Bucket, Key, …",
/// "files": [{"key": "…", "size": 2046, "MD5checksum": "…"}]}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct InventoryManifest {
    manifest: S3ObjectRef,
    source_bucket: String,
    destination_bucket: String,
    creation_timestamp_ms: Option<u64>,
    columns: Columns,
    schema: String,
    files: Vec<DataFile>,
}

impl InventoryManifest {
    /// Parses `manifest.json` (the bytes read from `manifest`) after
    /// checking it against `checksum` (the bytes of `manifest.checksum`:
    /// the MD5 of `manifest.json`, hex, with or without a trailing
    /// newline).
    ///
    /// # Errors
    /// [`InventoryError::ManifestChecksumMismatch`];
    /// [`InventoryError::UnsupportedFormat`] for ORC or Parquet;
    /// [`InventoryError::MissingColumn`] without `Bucket`, `Key` or
    /// `EncryptionStatus`; [`InventoryError::InvalidManifest`] for anything
    /// else a manifest must have.
    pub(crate) fn parse(
        manifest: &S3ObjectRef,
        json: &[u8],
        checksum: &[u8],
    ) -> Result<Self, InventoryError> {
        let expected = std::str::from_utf8(checksum)
            .ok()
            .map(str::trim)
            .filter(|c| c.len() == 32 && c.bytes().all(|b| b.is_ascii_hexdigit()))
            .map(str::to_ascii_lowercase)
            .ok_or_else(|| {
                InventoryError::invalid_manifest(
                    manifest,
                    "manifest.checksum is not an MD5 in hex (32 hexadecimal digits)",
                )
            })?;
        let actual = hex::encode(Md5::digest(json));
        if actual != expected {
            return Err(InventoryError::ManifestChecksumMismatch {
                manifest: manifest.clone(),
                expected,
                actual,
            });
        }
        Self::parse_unchecked(manifest, json)
    }

    fn parse_unchecked(manifest: &S3ObjectRef, json: &[u8]) -> Result<Self, InventoryError> {
        let invalid = |reason: String| InventoryError::invalid_manifest(manifest, reason);
        let value: Value = serde_json::from_slice(json).map_err(|e| {
            invalid(format!(
                "not JSON (line {}, column {})",
                e.line(),
                e.column()
            ))
        })?;
        let text = |field: &str| -> Result<&str, InventoryError> {
            value
                .get(field)
                .and_then(Value::as_str)
                .ok_or_else(|| invalid(format!("no string field {field}")))
        };

        let version = text("version")?;
        if version != MANIFEST_VERSION {
            return Err(invalid(format!(
                "version {} is not the S3 Inventory manifest version {MANIFEST_VERSION}",
                quoted(version)
            )));
        }
        let format = text("fileFormat")?;
        if !format.eq_ignore_ascii_case("CSV") {
            return Err(InventoryError::UnsupportedFormat {
                format: quoted(format),
            });
        }
        let source_bucket = text("sourceBucket")?.to_owned();
        if S3ObjectRef::new(&source_bucket, "k").is_err() {
            return Err(invalid(format!(
                "sourceBucket {} is not a bucket name",
                quoted(&source_bucket)
            )));
        }
        let destination = text("destinationBucket")?;
        // S3 writes the destination as a bucket ARN.
        let destination_bucket = destination
            .strip_prefix("arn:aws:s3:::")
            .or_else(|| destination.strip_prefix("arn:aws-us-gov:s3:::"))
            .or_else(|| destination.strip_prefix("arn:aws-cn:s3:::"))
            .unwrap_or(destination)
            .to_owned();
        // The data files are read from where the manifest is: a manifest
        // that sends the reader to another bucket is not S3 Inventory's.
        if destination_bucket != manifest.bucket() {
            return Err(invalid(format!(
                "destinationBucket {} is not the bucket the manifest is in",
                quoted(destination)
            )));
        }
        let schema = text("fileSchema")?.to_owned();
        let columns = Columns::from_schema(&schema)?;
        let creation_timestamp_ms = value
            .get("creationTimestamp")
            .and_then(Value::as_str)
            .and_then(|t| t.parse().ok());

        let listed = value
            .get("files")
            .and_then(Value::as_array)
            .ok_or_else(|| invalid("no files array".to_owned()))?;
        // S3 Inventory writes a report's data files under its own folder,
        // `PREFIX/SOURCE-BUCKET/CONFIG-ID/data/`, beside the dated folder
        // of its manifest (S3 User Guide, "Inventory manifest"). A
        // manifest names only those: never another report's files, never a
        // key a path-style endpoint would resolve elsewhere.
        let root = report_root(manifest.key());
        // The root is `PREFIX/SOURCE-BUCKET/CONFIG-ID/`: the report names
        // the bucket it is about where S3 Inventory puts it, too.
        let root_source = root
            .trim_end_matches('/')
            .rsplit('/')
            .nth(1)
            .filter(|_| root.contains('/'));
        if root_source != Some(source_bucket.as_str()) {
            return Err(invalid(format!(
                "manifest.json is not at PREFIX/{}/CONFIG-ID/YYYY-MM-DDTHH-MMZ/manifest.json, where S3 Inventory writes the report of sourceBucket {}",
                quoted(&source_bucket),
                quoted(&source_bucket)
            )));
        }
        let data_folder = format!("{root}data/");
        let mut files = Vec::with_capacity(listed.len());
        for (i, file) in listed.iter().enumerate() {
            let key = file.get("key").and_then(Value::as_str);
            let size = file.get("size").and_then(Value::as_u64);
            let md5 = file
                .get("MD5checksum")
                .and_then(Value::as_str)
                .filter(|c| c.len() == 32 && c.bytes().all(|b| b.is_ascii_hexdigit()));
            let (Some(key), Some(size), Some(md5)) = (key, size, md5) else {
                return Err(invalid(format!(
                    "files[{i}] needs a key, a size in bytes and an MD5checksum in hex"
                )));
            };
            let object = S3ObjectRef::new(&destination_bucket, key).map_err(|e| {
                invalid(format!(
                    "files[{i}] does not name an S3 object in {}: {e}",
                    quoted(&destination_bucket)
                ))
            })?;
            if has_dot_segment(key) {
                return Err(invalid(format!(
                    "files[{i}] key {} has a '.' or '..' segment, which an endpoint could resolve to another object",
                    quoted(key)
                )));
            }
            if !in_folder(key, &data_folder) {
                return Err(invalid(format!(
                    "files[{i}] key {} is not in this report's data folder {} (PREFIX/SOURCE-BUCKET/CONFIG-ID/data/ beside the manifest's dated folder)",
                    quoted(key),
                    quoted(&data_folder)
                )));
            }
            // Two spellings of one file (`data//a` and `data/a`) are read
            // as one by a normalising endpoint: listed twice all the same.
            if files
                .iter()
                .any(|f: &DataFile| collapse_slashes(f.object.key()) == collapse_slashes(key))
            {
                return Err(invalid(format!("files[{i}] is listed twice")));
            }
            files.push(DataFile {
                object,
                size,
                md5: md5.to_ascii_lowercase(),
            });
        }
        if files.is_empty() {
            return Err(invalid("no data files".to_owned()));
        }
        Ok(Self {
            manifest: manifest.clone(),
            source_bucket,
            destination_bucket,
            creation_timestamp_ms,
            columns,
            schema,
            files,
        })
    }

    /// Where `manifest.checksum` is: beside `manifest.json`.
    ///
    /// # Errors
    /// [`InventoryError::InvalidManifest`] when `manifest` is not a
    /// `manifest.json`.
    pub(crate) fn checksum_object(manifest: &S3ObjectRef) -> Result<S3ObjectRef, InventoryError> {
        manifest
            .key()
            .strip_suffix("manifest.json")
            .and_then(|dir| S3ObjectRef::new(manifest.bucket(), &format!("{dir}manifest.checksum")).ok())
            .ok_or_else(|| {
                InventoryError::invalid_manifest(
                    manifest,
                    "the key must end in manifest.json (s3://DESTINATION/PREFIX/SOURCE-BUCKET/CONFIG-ID/YYYY-MM-DDTHH-MMZ/manifest.json)",
                )
            })
    }

    /// `sourceBucket`: the bucket the report covers.
    pub(crate) fn source_bucket(&self) -> &str {
        &self.source_bucket
    }

    /// The destination bucket's name (from `destinationBucket`, an ARN).
    #[cfg(test)]
    pub(crate) fn destination_bucket(&self) -> &str {
        &self.destination_bucket
    }

    /// `creationTimestamp`: when the report was started, in milliseconds
    /// since the Unix epoch, if the manifest states it.
    pub(crate) fn creation_timestamp_ms(&self) -> Option<u64> {
        self.creation_timestamp_ms
    }

    /// Whether the report lists every version (`IncludedObjectVersions`
    /// `All`: it has a `VersionId` column).
    pub(crate) fn includes_all_versions(&self) -> bool {
        self.columns.version_id.is_some()
    }

    /// The data files, in the manifest's order.
    pub(crate) fn files(&self) -> &[DataFile] {
        &self.files
    }

    pub(crate) fn columns(&self) -> &Columns {
        &self.columns
    }
}

/// `PREFIX/SOURCE-BUCKET/CONFIG-ID/` (with its slash; empty at the top
/// of the bucket) of a manifest at
/// `PREFIX/SOURCE-BUCKET/CONFIG-ID/YYYY-MM-DDTHH-MMZ/manifest.json`.
fn report_root(manifest_key: &str) -> &str {
    // Without `manifest.json`, then without the dated folder.
    let Some((folder, _)) = manifest_key.rsplit_once('/') else {
        return "";
    };
    match folder.rsplit_once('/') {
        Some((root, _)) => &manifest_key[..root.len() + 1],
        None => "",
    }
}

/// Whether `key` is in `folder` (which ends in `/`): exactly, as S3 reads
/// keys. One tolerance, for a known S3 Inventory quirk: when the
/// manifest's own path has a doubled `/` (a destination prefix ending in
/// `/`), data file keys may have lost it, so a key without any doubled
/// `/` may match the folder with its `/` runs read as one.
fn in_folder(key: &str, folder: &str) -> bool {
    key.starts_with(folder)
        || (folder.contains("//")
            && !key.contains("//")
            && key.starts_with(&collapse_slashes(folder)))
}

/// `key` with runs of `/` as one: how a normalising endpoint reads it.
fn collapse_slashes(key: &str) -> String {
    let mut out = String::with_capacity(key.len());
    for c in key.chars() {
        if !(c == '/' && out.ends_with('/')) {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A checked manifest of one data file, `data`, with `schema`.
    pub(crate) fn manifest_with(schema: &str, data: &[u8]) -> InventoryManifest {
        let json = serde_json::json!({
            "sourceBucket": "library-photos",
            "destinationBucket": "arn:aws:s3:::inventory-dest",
            "version": "2016-11-30",
            "fileFormat": "CSV",
            "fileSchema": schema,
            "files": [{"key": "photos/library-photos/all/data/a.csv.gz", "size": data.len(), "MD5checksum": hex::encode(Md5::digest(data))}]
        })
        .to_string();
        parse(json.as_bytes()).unwrap()
    }

    fn manifest_ref() -> S3ObjectRef {
        S3ObjectRef::parse(
            "s3://inventory-dest/photos/library-photos/all/2026-11-29T01-00Z/manifest.json",
        )
        .unwrap()
    }

    fn json(format: &str, schema: &str) -> Vec<u8> {
        serde_json::json!({
            "sourceBucket": "library-photos",
            "destinationBucket": "arn:aws:s3:::inventory-dest",
            "version": "2016-11-30",
            "creationTimestamp": "1764378000000",
            "fileFormat": format,
            "fileSchema": schema,
            "files": [{"key": "photos/library-photos/all/data/a.csv.gz", "size": 10, "MD5checksum": "0123456789ABCDEF0123456789abcdef"}]
        })
        .to_string()
        .into_bytes()
    }

    fn parse(json: &[u8]) -> Result<InventoryManifest, InventoryError> {
        let checksum = format!("{}\n", hex::encode(Md5::digest(json)));
        InventoryManifest::parse(&manifest_ref(), json, checksum.as_bytes())
    }

    pub(crate) const SCHEMA: &str =
        "Bucket, Key, VersionId, IsLatest, IsDeleteMarker, Size, EncryptionStatus, BucketKeyStatus";

    #[test]
    fn a_manifest_with_its_checksum_parses() {
        let m = parse(&json("CSV", SCHEMA)).unwrap();
        assert_eq!(m.source_bucket(), "library-photos");
        assert_eq!(m.destination_bucket(), "inventory-dest");
        assert_eq!(m.creation_timestamp_ms(), Some(1_764_378_000_000));
        assert!(m.includes_all_versions());
        assert_eq!(m.files().len(), 1);
        assert_eq!(m.files()[0].object.bucket(), "inventory-dest");
        assert_eq!(m.files()[0].md5, "0123456789abcdef0123456789abcdef");
        let c = m.columns();
        assert_eq!(
            (c.count, c.bucket, c.key, c.encryption_status),
            (8, 0, 1, 6)
        );
        assert_eq!(c.bucket_key_status, Some(7));
    }

    #[test]
    fn a_gov_cloud_destination_arn_names_the_bucket() {
        let mut value: serde_json::Value = serde_json::from_slice(&json("CSV", SCHEMA)).unwrap();
        let arn = value["destinationBucket"]
            .as_str()
            .unwrap()
            .replace("arn:aws:", "arn:aws-us-gov:");
        value["destinationBucket"] = arn.into();
        let m = parse(value.to_string().as_bytes()).unwrap();
        assert_eq!(m.source_bucket(), "library-photos");
    }

    #[test]
    fn a_changed_manifest_fails_its_checksum() {
        let original = json("CSV", SCHEMA);
        let checksum = hex::encode(Md5::digest(&original));
        let mut changed = original.clone();
        changed.extend_from_slice(b" ");
        let err =
            InventoryManifest::parse(&manifest_ref(), &changed, checksum.as_bytes()).unwrap_err();
        assert!(
            matches!(err, InventoryError::ManifestChecksumMismatch { .. }),
            "{err}"
        );
        assert!(err.to_string().contains("manifest.checksum"));
    }

    #[test]
    fn orc_and_parquet_are_refused_with_the_fix() {
        for format in ["Parquet", "ORC"] {
            let err = parse(&json(format, SCHEMA)).unwrap_err();
            assert!(
                matches!(err, InventoryError::UnsupportedFormat { .. }),
                "{err}"
            );
            assert!(
                err.to_string().contains("Destination Format to CSV"),
                "{err}"
            );
        }
    }

    #[test]
    fn a_report_without_encryption_status_says_how_to_add_it() {
        let err = parse(&json("CSV", "Bucket, Key, Size")).unwrap_err();
        assert_eq!(
            err,
            InventoryError::MissingColumn {
                column: "EncryptionStatus",
                fix: ADD_FIELD
            }
        );
        assert!(err.to_string().contains("OptionalFields"), "{err}");
    }

    #[test]
    fn a_report_of_all_versions_needs_is_latest() {
        let err = parse(&json(
            "CSV",
            "Bucket, Key, VersionId, IsDeleteMarker, EncryptionStatus",
        ))
        .unwrap_err();
        assert!(
            matches!(
                err,
                InventoryError::MissingColumn {
                    column: "IsLatest",
                    ..
                }
            ),
            "{err}"
        );
        let twice = parse(&json("CSV", "Bucket, Key, Key, EncryptionStatus")).unwrap_err();
        assert!(
            matches!(twice, InventoryError::InvalidSchema { .. }),
            "{twice}"
        );
    }

    #[test]
    fn a_manifest_must_name_its_own_bucket_a_valid_source_and_each_file_once() {
        let mut value: serde_json::Value = serde_json::from_slice(&json("CSV", SCHEMA)).unwrap();
        let with = |field: &str, v: serde_json::Value| {
            let mut changed = value.clone();
            changed[field] = v;
            parse(changed.to_string().as_bytes())
                .unwrap_err()
                .to_string()
        };
        assert!(with("destinationBucket", "arn:aws:s3:::elsewhere".into())
            .contains("not the bucket the manifest is in"));
        assert!(
            with("destinationBucket", "arn:aws-us-gov:s3:::elsewhere".into())
                .contains("not the bucket the manifest is in")
        );
        assert!(with("sourceBucket", "bad\nbucket,".into()).contains("not a bucket name"));
        // The report of another bucket than the path S3 put it under.
        assert!(with("sourceBucket", "other-photos".into())
            .contains("PREFIX/\"other-photos\"/CONFIG-ID"));
        let file = value["files"][0].clone();
        value["files"] = serde_json::json!([file.clone(), file]);
        let err = parse(value.to_string().as_bytes()).unwrap_err();
        assert!(err.to_string().contains("listed twice"), "{err}");
    }

    /// Data files only from this report's own data folder, never through
    /// a `.` or `..` segment, and one file never twice under two
    /// spellings.
    #[test]
    fn data_files_come_from_the_reports_own_folder_and_are_named_plainly() {
        let with_keys = |keys: &[&str]| {
            let mut value: serde_json::Value =
                serde_json::from_slice(&json("CSV", SCHEMA)).unwrap();
            let file = value["files"][0].clone();
            value["files"] = keys
                .iter()
                .map(|k| {
                    let mut f = file.clone();
                    f["key"] = (*k).into();
                    f
                })
                .collect();
            parse(value.to_string().as_bytes()).map_err(|e| e.to_string())
        };
        const OWN: &str = "photos/library-photos/all/data/";
        assert!(with_keys(&[&format!("{OWN}a.csv.gz"), &format!("{OWN}b.csv.gz")]).is_ok());
        // Read as S3 reads keys: a doubled slash names another folder.
        assert!(with_keys(&["photos//library-photos/all/data/a.csv.gz"])
            .unwrap_err()
            .contains("data folder"));
        assert!(with_keys(&["photos/library-photos//all/data/a.csv.gz"])
            .unwrap_err()
            .contains("data folder"));
        assert!(
            in_folder("p/src/cfg/data/a.csv.gz", "p//src/cfg/data/"),
            "the quirk"
        );
        assert!(!in_folder("p//src/cfg/data/a.csv.gz", "p/src/cfg/data/"));
        for (keys, why) in [
            (vec!["../other-bucket/secret.csv.gz"], "'.' or '..'"),
            (
                vec!["photos/library-photos/all/data/../../x/data/a.csv.gz"],
                "'.' or '..'",
            ),
            (
                vec!["photos/library-photos/all/data/./a.csv.gz"],
                "'.' or '..'",
            ),
            (
                vec!["photos/library-photos/other-config/data/a.csv.gz"],
                "data folder",
            ),
            (
                vec!["photos/library-photos/all/2026-11-28T01-00Z/a.csv.gz"],
                "data folder",
            ),
            (vec!["elsewhere/a.csv.gz"], "data folder"),
            (
                vec![
                    "photos/library-photos/all/data/a.csv.gz",
                    "photos/library-photos/all/data//a.csv.gz",
                ],
                "listed twice",
            ),
        ] {
            let err = with_keys(&keys).unwrap_err();
            assert!(err.contains(why), "{keys:?}: {err}");
        }
        assert_eq!(
            report_root("p/src/cfg/2026-11-29T01-00Z/manifest.json"),
            "p/src/cfg/"
        );
        assert_eq!(report_root("2026-11-29T01-00Z/manifest.json"), "");
        assert_eq!(report_root("manifest.json"), "");
    }

    #[test]
    fn the_checksum_sits_beside_the_manifest() {
        let c = InventoryManifest::checksum_object(&manifest_ref()).unwrap();
        assert_eq!(
            c.key(),
            "photos/library-photos/all/2026-11-29T01-00Z/manifest.checksum"
        );
        let not_a_manifest = S3ObjectRef::parse("s3://inventory-dest/report.json").unwrap();
        assert!(InventoryManifest::checksum_object(&not_a_manifest).is_err());
    }
}
