//! One gzip-compressed CSV data file of an S3 Inventory report, parsed as
//! its bytes arrive.

use std::borrow::Cow;
use std::io::Write;

use csv_core::ReadRecordResult;
use flate2::write::MultiGzDecoder;
use md5::{Digest, Md5};

use super::manifest::Columns;
use super::{
    quoted, BucketKeyStatus, DataFile, EncryptionStatus, InventoryError, InventoryManifest,
};
use crate::input::{S3ObjectRef, NULL_VERSION_ID};

/// Compressed bytes inflated at a time: with deflate's worst ratio
/// (about 1:1032) the inflated buffer stays under 9 MiB whatever a chunk
/// holds.
pub(crate) const INFLATE_STEP: usize = 8 * 1024;

/// The longest row accepted. A key is at most 1,024 bytes, three times
/// that URL-encoded; every other column is short.
const MAX_ROW_BYTES: usize = 64 * 1024;

/// One row of an inventory report: an object version or a delete marker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct InventoryRow<'a> {
    /// `Bucket`.
    pub(crate) bucket: &'a str,
    /// `Key`, decoded from the inventory's URL encoding. S3 keys may hold
    /// any Unicode, control characters included: escape it
    /// ([`text::escape`](crate::text::escape)) before showing it.
    pub(crate) key: Cow<'a, str>,
    /// `VersionId` (reports of all versions only). S3 Inventory leaves it
    /// empty for the `null` version (written while versioning was off or
    /// suspended); it is given here as `null`, the id S3's API takes for
    /// that version.
    pub(crate) version_id: Option<&'a str>,
    /// `IsLatest`.
    pub(crate) is_latest: Option<bool>,
    /// `IsDeleteMarker` (`false` in reports of current versions only).
    pub(crate) is_delete_marker: bool,
    /// `EncryptionStatus`.
    pub(crate) encryption_status: EncryptionStatus,
    /// `BucketKeyStatus`, when the report has the column.
    pub(crate) bucket_key_status: Option<BucketKeyStatus>,
}

/// Parses one data file pushed chunk by chunk, as it streams from S3:
/// gzip (multi-member), then CSV (no header, quoted fields), row by row,
/// while the file's MD5 and size are computed. Memory is bounded (a few
/// MiB) whatever the file's size. The guard's own reading
/// ([`PhotoStore::audit_inventory`](crate::PhotoStore::audit_inventory))
/// drives the same [`Inflater`] and [`RowParser`]; this pairs them for the
/// tests.
#[cfg(test)]
pub(crate) struct DataFileReader {
    inflater: Inflater,
    parser: RowParser,
}

#[cfg(test)]
impl std::fmt::Debug for DataFileReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DataFileReader")
            .field("file", &self.inflater.file)
            .field("compressed", &self.inflater.compressed)
            .field("rows", &self.parser.rows)
            .finish_non_exhaustive()
    }
}

/// What a callback does with each row; an error stops the file.
pub(crate) type RowFn<'f> = dyn FnMut(InventoryRow<'_>) -> Result<(), InventoryError> + 'f;

#[cfg(test)]
impl DataFileReader {
    /// A reader for `file`, one of `manifest`'s data files.
    pub(crate) fn new(manifest: &InventoryManifest, file: &DataFile) -> Self {
        Self {
            inflater: Inflater::new(file, INFLATE_STEP),
            parser: RowParser::new(manifest, file),
        }
    }

    /// Feeds the next `chunk` of the file's (compressed) bytes; `on_row`
    /// is called for every row completed.
    ///
    /// # Errors
    /// [`InventoryError::InvalidData`] when the bytes are not gzip, a row
    /// is malformed or over 64 KiB, or names another bucket
    /// ([`InventoryError::WrongBucket`]); [`InventoryError::DataFileMismatch`]
    /// as soon as the file is longer than listed; any error `on_row`
    /// returns. After an error the reader takes no more input.
    pub(crate) fn push(
        &mut self,
        chunk: &[u8],
        on_row: &mut RowFn<'_>,
    ) -> Result<(), InventoryError> {
        let parser = &mut self.parser;
        self.inflater
            .push(chunk, &mut |inflated| parser.parse(inflated, false, on_row))
    }

    /// Ends the file: checks the file's size and MD5 against the manifest,
    /// then parses what remains. Returns the number of rows.
    ///
    /// # Errors
    /// [`InventoryError::DataFileMismatch`] when size or MD5 differ (also
    /// for a file cut short); [`InventoryError::InvalidData`] for a gzip
    /// stream cut short; the errors of [`push`](Self::push).
    pub(crate) fn finish(mut self, on_row: &mut RowFn<'_>) -> Result<u64, InventoryError> {
        let parser = &mut self.parser;
        self.inflater
            .finish(&mut |inflated| parser.parse(inflated, false, on_row))?;
        self.parser.parse(&[], true, on_row)?;
        Ok(self.parser.rows)
    }
}

/// The first half of a [`DataFileReader`]: size, MD5 and gzip. The guard
/// runs it on a blocking thread, beside the CSV parsing.
pub(crate) struct Inflater {
    file: S3ObjectRef,
    expected_size: u64,
    expected_md5: String,
    step: usize,
    inflate: MultiGzDecoder<Vec<u8>>,
    md5: Md5,
    compressed: u64,
    failed: bool,
}

/// Where an [`Inflater`] hands inflated bytes.
pub(crate) type InflatedFn<'f> = dyn FnMut(&[u8]) -> Result<(), InventoryError> + 'f;

impl Inflater {
    /// Inflates `file`, `step` compressed bytes at a time (bounding what
    /// one hand-over holds).
    pub(crate) fn new(file: &DataFile, step: usize) -> Self {
        Self {
            file: file.object.clone(),
            expected_size: file.size,
            expected_md5: file.md5.clone(),
            step,
            inflate: MultiGzDecoder::new(Vec::with_capacity(64 * 1024)),
            md5: Md5::new(),
            compressed: 0,
            failed: false,
        }
    }

    pub(crate) fn push(
        &mut self,
        chunk: &[u8],
        out: &mut InflatedFn<'_>,
    ) -> Result<(), InventoryError> {
        let result = self.push_inner(chunk, out);
        // After an error the file is not read further: its rows could
        // only be misread.
        self.failed |= result.is_err();
        result
    }

    fn push_inner(&mut self, chunk: &[u8], out: &mut InflatedFn<'_>) -> Result<(), InventoryError> {
        if self.failed {
            return Err(self.invalid("an earlier error ended this file"));
        }
        self.md5.update(chunk);
        self.compressed += chunk.len() as u64;
        if self.compressed > self.expected_size {
            return Err(InventoryError::DataFileMismatch {
                file: self.file.clone(),
                detail: format!(
                    "more bytes than the {} bytes listed ({} read so far)",
                    self.expected_size, self.compressed
                ),
            });
        }
        for step in chunk.chunks(self.step) {
            if let Err(e) = self.inflate.write_all(step) {
                return Err(self.invalid(&format!("not gzip ({e})")));
            }
            self.hand_over(out)?;
        }
        // flate2's writer hands the last inflated bytes on at the next
        // write; flushing hands them on now, so no row is held back.
        if let Err(e) = self.inflate.flush() {
            return Err(self.invalid(&format!("not gzip ({e})")));
        }
        self.hand_over(out)
    }

    /// Checks size and MD5 (first: a file that is not the one S3 wrote is
    /// reported as such, not by whatever its damage causes), then hands
    /// over the rest of the gzip stream.
    pub(crate) fn finish(mut self, out: &mut InflatedFn<'_>) -> Result<(), InventoryError> {
        if self.failed {
            return Err(self.invalid("an earlier error ended this file"));
        }
        let actual = hex::encode(std::mem::take(&mut self.md5).finalize());
        if self.compressed != self.expected_size || actual != self.expected_md5 {
            return Err(InventoryError::DataFileMismatch {
                file: self.file.clone(),
                detail: format!(
                    "{} bytes and MD5 {} listed, {} bytes and MD5 {actual} read",
                    self.expected_size, self.expected_md5, self.compressed
                ),
            });
        }
        if let Err(e) = self.inflate.try_finish() {
            return Err(self.invalid(&format!("the gzip stream is incomplete ({e})")));
        }
        self.hand_over(out)
    }

    fn hand_over(&mut self, out: &mut InflatedFn<'_>) -> Result<(), InventoryError> {
        let inflated = self.inflate.get_mut();
        if inflated.is_empty() {
            return Ok(());
        }
        let result = out(inflated);
        inflated.clear();
        result
    }

    fn invalid(&self, reason: &str) -> InventoryError {
        InventoryError::InvalidData {
            file: self.file.clone(),
            row: 0,
            reason: reason.to_owned(),
        }
    }
}

/// The second half of a [`DataFileReader`]: CSV rows from inflated bytes.
pub(crate) struct RowParser {
    file: S3ObjectRef,
    source_bucket: String,
    columns: Columns,
    csv: csv_core::Reader,
    rows: u64,
    record: Vec<u8>,
    record_len: usize,
    ends: Vec<usize>,
    ends_len: usize,
    key: Vec<u8>,
}

impl RowParser {
    pub(crate) fn new(manifest: &InventoryManifest, file: &DataFile) -> Self {
        let columns = manifest.columns().clone();
        Self {
            file: file.object.clone(),
            source_bucket: manifest.source_bucket().to_owned(),
            ends: vec![0; columns.count + 1],
            columns,
            csv: csv_core::ReaderBuilder::new().build(),
            rows: 0,
            record: vec![0; 4096],
            record_len: 0,
            ends_len: 0,
            key: Vec::new(),
        }
    }

    pub(crate) fn rows(&self) -> u64 {
        self.rows
    }

    fn invalid(&self, reason: String) -> InventoryError {
        InventoryError::InvalidData {
            file: self.file.clone(),
            row: self.rows,
            reason,
        }
    }

    /// Parses every complete row in `inflated` (and, `at_end`, a last row
    /// without a line break).
    pub(crate) fn parse(
        &mut self,
        inflated: &[u8],
        at_end: bool,
        on_row: &mut RowFn<'_>,
    ) -> Result<(), InventoryError> {
        let mut input = inflated;
        loop {
            // csv-core reads an empty input as the end of the file: call it
            // with one only at the end.
            if input.is_empty() && !at_end {
                return Ok(());
            }
            let (state, read, written, ended) = self.csv.read_record(
                input,
                &mut self.record[self.record_len..],
                &mut self.ends[self.ends_len..],
            );
            input = &input[read..];
            self.record_len += written;
            self.ends_len += ended;
            match state {
                // The next call, with an empty input, ends the file.
                ReadRecordResult::InputEmpty if at_end => {}
                ReadRecordResult::InputEmpty | ReadRecordResult::End => return Ok(()),
                ReadRecordResult::OutputFull => {
                    if self.record.len() >= MAX_ROW_BYTES {
                        return Err(
                            self.invalid(format!("row {} is longer than 64 KiB", self.rows + 1))
                        );
                    }
                    self.record.resize(self.record.len() * 2, 0);
                }
                ReadRecordResult::OutputEndsFull => {
                    return Err(self.invalid(format!(
                        "row {} has more than the {} columns of fileSchema",
                        self.rows + 1,
                        self.columns.count
                    )));
                }
                ReadRecordResult::Record => self.emit(on_row)?,
            }
        }
    }

    fn emit(&mut self, on_row: &mut RowFn<'_>) -> Result<(), InventoryError> {
        self.rows += 1;
        let (record_len, ends_len) = (self.record_len, self.ends_len);
        self.record_len = 0;
        self.ends_len = 0;
        let row = self.rows;
        let file = &self.file;
        let invalid = |reason: String| InventoryError::InvalidData {
            file: file.clone(),
            row,
            reason,
        };
        if ends_len != self.columns.count {
            return Err(invalid(format!(
                "{ends_len} columns where fileSchema names {}",
                self.columns.count
            )));
        }
        let record = std::str::from_utf8(&self.record[..record_len])
            .map_err(|_| invalid("not UTF-8".to_owned()))?;
        let ends = &self.ends[..ends_len];
        let field = |i: usize| &record[if i == 0 { 0 } else { ends[i - 1] }..ends[i]];
        let optional = |i: Option<usize>| i.map(field);
        let flag = |i: Option<usize>, name: &str| -> Result<Option<bool>, InventoryError> {
            // AWS's documentation shows `true`, `TRUE` and `True`; any
            // other value fails the audit.
            match optional(i) {
                None => Ok(None),
                Some(v) if v.eq_ignore_ascii_case("true") => Ok(Some(true)),
                Some(v) if v.eq_ignore_ascii_case("false") => Ok(Some(false)),
                Some(other) => Err(invalid(format!(
                    "{name} is {}, not true or false",
                    quoted(other)
                ))),
            }
        };

        let bucket = field(self.columns.bucket);
        if bucket != self.source_bucket {
            return Err(InventoryError::WrongBucket {
                expected: self.source_bucket.clone(),
                found: quoted(bucket),
            });
        }
        let key = decode_key(field(self.columns.key), &mut self.key)
            .ok_or_else(|| invalid("the key is not URL-encoded UTF-8".to_owned()))?;
        if key.is_empty() {
            return Err(invalid("the key is empty".to_owned()));
        }
        let version_id =
            optional(self.columns.version_id)
                .map(|v| if v.is_empty() { NULL_VERSION_ID } else { v });
        if version_id.is_some_and(|v| {
            !v.bytes()
                .all(|b| b.is_ascii_graphic() && b != b',' && b != b'"')
        }) {
            return Err(invalid(
                "the version id has characters S3 never uses".to_owned(),
            ));
        }
        let row = InventoryRow {
            bucket,
            key: Cow::Borrowed(key),
            version_id,
            is_latest: flag(self.columns.is_latest, "IsLatest")?,
            is_delete_marker: flag(self.columns.is_delete_marker, "IsDeleteMarker")?
                .unwrap_or(false),
            encryption_status: EncryptionStatus::parse(field(self.columns.encryption_status)),
            bucket_key_status: optional(self.columns.bucket_key_status).map(BucketKeyStatus::parse),
        };
        on_row(row)
    }
}

/// Decodes a key as S3 Inventory writes it: URL-encoded in the form style,
/// where `+` is a space and `%2B` a plus. Strict: `None` for a `%` without
/// two hexadecimal digits, a character no URL encoder leaves as is (a
/// space, a control character, a quote, a comma, anything not ASCII), or a
/// result that is not UTF-8. A loose decoder could turn a damaged row into
/// another object's key; `percent-encoding`'s decoder passes a stray `%`
/// through, so the decoding is done here, checked as it goes.
fn decode_key<'a>(encoded: &'a str, decoded: &'a mut Vec<u8>) -> Option<&'a str> {
    let bytes = encoded.as_bytes();
    if !bytes.iter().any(|&b| b == b'%' || b == b'+') {
        return bytes.iter().all(|&b| unreserved(b)).then_some(encoded);
    }
    // One pass, checking as it decodes, into a buffer kept across rows.
    decoded.clear();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                let high = hex_digit(*bytes.get(i + 1)?)?;
                let low = hex_digit(*bytes.get(i + 2)?)?;
                decoded.push(high << 4 | low);
                i += 3;
            }
            b'+' => {
                decoded.push(b' ');
                i += 1;
            }
            b if unreserved(b) => {
                decoded.push(b);
                i += 1;
            }
            _ => return None,
        }
    }
    std::str::from_utf8(decoded).ok()
}

/// [`decode_key`] into a new string: for keys S3 lists with
/// `EncodingType=url`, which it encodes the same way.
pub(crate) fn decode_form(encoded: &str) -> Option<String> {
    let mut buffer = Vec::new();
    decode_key(encoded, &mut buffer).map(str::to_owned)
}

/// The characters URL encoders leave as they are.
fn unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric()
        || matches!(
            b,
            b'*' | b'-' | b'.' | b'_' | b'~' | b'/' | b'!' | b'\'' | b'(' | b')'
        )
}

fn hex_digit(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inventory::manifest::tests::{manifest_with, SCHEMA};

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(data).unwrap();
        gz.finish().unwrap()
    }

    /// Keys are URL-decoded (`+` is a space), rows are reported whatever
    /// the chunk size the bytes arrive in (formerly the doc example of the
    /// public `DataFileReader`).
    #[test]
    fn keys_are_url_decoded_across_any_chunking() {
        let data = gzip(b"\"library-photos\",\"members/ada+lovelace.jpg\",\"SSE-KMS\"\n");
        let md5_hex = |d: &[u8]| hex::encode(Md5::digest(d));
        let json = serde_json::json!({
            "sourceBucket": "library-photos", "destinationBucket": "arn:aws:s3:::inventory",
            "version": "2016-11-30", "fileFormat": "CSV", "fileSchema": "Bucket, Key, EncryptionStatus",
            "files": [{"key": "library-photos/all/data/1.csv.gz", "size": data.len(), "MD5checksum": md5_hex(&data)}],
        })
        .to_string();
        let manifest = InventoryManifest::parse(
            &S3ObjectRef::parse(
                "s3://inventory/library-photos/all/2026-11-29T01-00Z/manifest.json",
            )
            .unwrap(),
            json.as_bytes(),
            md5_hex(json.as_bytes()).as_bytes(),
        )
        .unwrap();
        let mut reader = DataFileReader::new(&manifest, &manifest.files()[0]);
        let mut keys = Vec::new();
        for chunk in data.chunks(7) {
            reader
                .push(chunk, &mut |row| {
                    assert_eq!(row.encryption_status, EncryptionStatus::SseKms);
                    keys.push(row.key.into_owned());
                    Ok(())
                })
                .unwrap();
        }
        reader.finish(&mut |_| Ok(())).unwrap();
        assert_eq!(keys, ["members/ada lovelace.jpg"]);
    }

    type Row = (
        String,
        Option<String>,
        bool,
        EncryptionStatus,
        Option<BucketKeyStatus>,
    );

    /// Reads `data` pushed `step` bytes at a time.
    fn read(data: &[u8], step: usize) -> Result<Vec<Row>, InventoryError> {
        let manifest = manifest_with(SCHEMA, data);
        let mut reader = DataFileReader::new(&manifest, &manifest.files()[0]);
        let mut rows = Vec::new();
        let mut collect = |row: InventoryRow<'_>| {
            rows.push((
                row.key.into_owned(),
                row.version_id.map(str::to_owned),
                row.is_delete_marker,
                row.encryption_status,
                row.bucket_key_status,
            ));
            Ok(())
        };
        for chunk in data.chunks(step) {
            reader.push(chunk, &mut collect)?;
        }
        reader.finish(&mut collect)?;
        Ok(rows)
    }

    const ROWS: &str = concat!(
        "\"library-photos\",\"members/ada+lovelace.jpg\",\"v1\",\"true\",\"false\",\"48213\",\"SSE-KMS\",\"ENABLED\"\n",
        "\"library-photos\",\"members/a%2Bb%2C%22c.jpg\",\"v2\",\"false\",\"false\",\"1\",\"SSE-S3\",\"\"\n",
        "\"library-photos\",\"members/%C3%A9milie.jpg\",\"v3\",\"true\",\"true\",\"\",\"\",\"\"",
    );

    #[test]
    fn rows_parse_whatever_the_chunking_and_gzip_members() {
        // Two gzip members (S3 may write several): one stream of rows.
        let (first, second) = ROWS.split_at(ROWS.find("\"library-photos\",\"members/%C3").unwrap());
        let mut data = gzip(first.as_bytes());
        data.extend(gzip(second.as_bytes()));
        let expected: Vec<Row> = vec![
            (
                "members/ada lovelace.jpg".into(),
                Some("v1".into()),
                false,
                EncryptionStatus::SseKms,
                Some(BucketKeyStatus::Enabled),
            ),
            (
                "members/a+b,\"c.jpg".into(),
                Some("v2".into()),
                false,
                EncryptionStatus::SseS3,
                Some(BucketKeyStatus::Unreported),
            ),
            (
                "members/émilie.jpg".into(),
                Some("v3".into()),
                true,
                EncryptionStatus::Unknown,
                Some(BucketKeyStatus::Unreported),
            ),
        ];
        for step in [1, 3, 64, data.len()] {
            assert_eq!(read(&data, step).unwrap(), expected, "step {step}");
        }
    }

    #[test]
    fn a_changed_or_short_file_fails_its_checksum() {
        let data = gzip(ROWS.as_bytes());
        let manifest = manifest_with(SCHEMA, &data);
        let mut short = DataFileReader::new(&manifest, &manifest.files()[0]);
        short
            .push(&data[..data.len() - 4], &mut |_| Ok(()))
            .unwrap();
        let err = short.finish(&mut |_| Ok(())).unwrap_err();
        assert!(
            matches!(err, InventoryError::DataFileMismatch { .. }),
            "{err}"
        );

        let mut changed = data.clone();
        let last = changed.len() - 1;
        changed[last] ^= 1;
        let mut reader = DataFileReader::new(&manifest, &manifest.files()[0]);
        reader.push(&changed, &mut |_| Ok(())).unwrap();
        let err = reader.finish(&mut |_| Ok(())).unwrap_err();
        assert!(
            matches!(err, InventoryError::DataFileMismatch { .. }),
            "{err}"
        );
    }

    #[test]
    fn a_gzip_stream_cut_short_or_followed_by_other_bytes_is_refused() {
        // The manifest lists exactly these bytes (MD5 and size match): the
        // damage is in the gzip stream itself.
        let data = gzip(ROWS.as_bytes());
        let err = read(&data[..data.len() - 6], 7).unwrap_err();
        assert!(err.to_string().contains("incomplete"), "{err}");
        let mut trailing = data.clone();
        trailing.extend_from_slice(b"\"library-photos\",\"x\"");
        let err = read(&trailing, 7).unwrap_err();
        assert!(matches!(err, InventoryError::InvalidData { .. }), "{err}");
    }

    /// AWS documents `true` in more than one spelling; any case reads the
    /// same, and anything else still fails.
    #[test]
    fn booleans_are_read_whatever_their_case() {
        for (latest, marker, expected) in [
            ("true", "false", (Some(true), false)),
            ("TRUE", "FALSE", (Some(true), false)),
            ("True", "False", (Some(true), false)),
            ("tRUE", "fALSE", (Some(true), false)),
            ("False", "TRUE", (Some(false), true)),
        ] {
            let row = format!(
                "\"library-photos\",\"k\",\"v1\",\"{latest}\",\"{marker}\",\"1\",\"SSE-KMS\",\"\"\n"
            );
            let manifest = manifest_with(SCHEMA, &gzip(row.as_bytes()));
            let data = gzip(row.as_bytes());
            let mut reader = DataFileReader::new(&manifest, &manifest.files()[0]);
            let mut seen = None;
            reader
                .push(&data, &mut |r| {
                    seen = Some((r.is_latest, r.is_delete_marker));
                    Ok(())
                })
                .unwrap();
            reader.finish(&mut |_| Ok(())).unwrap();
            assert_eq!(seen, Some(expected), "{latest} {marker}");
        }
        for bad in ["yes", "1", "t", " true", ""] {
            let row = format!(
                "\"library-photos\",\"k\",\"v1\",\"{bad}\",\"false\",\"1\",\"SSE-KMS\",\"\"\n"
            );
            let err = read(&gzip(row.as_bytes()), 64).unwrap_err();
            assert!(err.to_string().contains("IsLatest"), "{bad:?}: {err}");
        }
    }

    #[test]
    fn an_empty_version_id_is_the_null_version() {
        let row = "\"library-photos\",\"k\",\"\",\"true\",\"false\",\"1\",\"SSE-S3\",\"\"\n";
        let rows = read(&gzip(row.as_bytes()), 64).unwrap();
        assert_eq!(rows[0].1.as_deref(), Some("null"));
    }

    #[test]
    fn after_an_error_the_file_is_not_read_further() {
        let data =
            gzip(b"\"other-bucket\",\"k\",\"v\",\"true\",\"false\",\"1\",\"SSE-KMS\",\"\"\n");
        let manifest = manifest_with(SCHEMA, &data);
        let mut reader = DataFileReader::new(&manifest, &manifest.files()[0]);
        assert!(reader.push(&data, &mut |_| Ok(())).is_err());
        let err = reader.push(b"", &mut |_| Ok(())).unwrap_err();
        assert!(err.to_string().contains("earlier error"), "{err}");
        assert!(reader.finish(&mut |_| Ok(())).is_err());
    }

    #[test]
    fn more_bytes_than_listed_stop_the_file_at_once() {
        let data = gzip(ROWS.as_bytes());
        let manifest = manifest_with(SCHEMA, &data[..10]);
        let mut reader = DataFileReader::new(&manifest, &manifest.files()[0]);
        let err = reader
            .push(&data, &mut |_| {
                panic!("no row from a file larger than listed")
            })
            .unwrap_err();
        assert!(
            matches!(err, InventoryError::DataFileMismatch { .. }),
            "{err}"
        );
    }

    #[test]
    fn malformed_rows_are_errors_with_their_row_number() {
        for (rows, expect) in [
            ("\"library-photos\",\"k\",\"SSE-KMS\"\n", "3 columns"),
            (
                "\"other-bucket\",\"k\",\"v\",\"true\",\"false\",\"1\",\"SSE-KMS\",\"\"\n",
                "other-bucket",
            ),
            (
                "\"library-photos\",\"k%FF\",\"v\",\"true\",\"false\",\"1\",\"SSE-KMS\",\"\"\n",
                "URL-encoded UTF-8",
            ),
            (
                "\"library-photos\",\"k\",\"v\",\"yes\",\"false\",\"1\",\"SSE-KMS\",\"\"\n",
                "IsLatest",
            ),
            (
                "\"library-photos\",\"k\",\"v,1\",\"true\",\"false\",\"1\",\"SSE-KMS\",\"\"\n",
                "version id",
            ),
        ] {
            let err = read(&gzip(rows.as_bytes()), 5).unwrap_err();
            assert!(err.to_string().contains(expect), "{rows}: {err}");
        }
        let err = read(b"not gzip at all", 4).unwrap_err();
        assert!(matches!(err, InventoryError::InvalidData { .. }), "{err}");
    }

    #[test]
    fn a_row_longer_than_the_limit_is_refused_not_buffered() {
        let long = format!(
            "\"library-photos\",\"{}\",\"v\",\"true\",\"false\",\"1\",\"SSE-KMS\",\"\"\n",
            "k".repeat(MAX_ROW_BYTES + 1)
        );
        let err = read(&gzip(long.as_bytes()), 1024).unwrap_err();
        assert!(err.to_string().contains("longer than 64 KiB"), "{err}");
    }

    #[test]
    fn keys_decode_in_the_form_style() {
        let mut decoded = Vec::new();
        for (encoded, key) in [
            ("members/ada.jpg", "members/ada.jpg"),
            ("members/ada+lovelace.jpg", "members/ada lovelace.jpg"),
            ("members/a%2Bb.jpg", "members/a+b.jpg"),
            ("members/100%25.jpg", "members/100%.jpg"),
            (
                "members/%C3%A9milie+%E5%B1%B1%E7%94%B0.jpg",
                "members/émilie 山田.jpg",
            ),
            ("members/%0A.jpg", "members/\n.jpg"),
        ] {
            assert_eq!(decode_key(encoded, &mut decoded), Some(key), "{encoded}");
        }
        for damaged in [
            "members/%FF.jpg",
            "members/%4.jpg",
            "members/%zz.jpg",
            "members/100%",
            "members/ada lovelace.jpg",
            "members/a,b.jpg",
            "members/é.jpg",
            "members/a\"b.jpg",
        ] {
            assert_eq!(decode_key(damaged, &mut decoded), None, "{damaged}");
        }
    }
}
