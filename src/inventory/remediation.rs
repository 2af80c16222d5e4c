//! S3 Batch Operations manifests of what must be fixed.

use std::io::{self, Write};

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

/// Every byte but `A-Z a-z 0-9 - _ . ~ /` is percent-encoded in a written
/// key, so a space is `%20`, a plus `%2B`, `%` is `%25` and a comma or a
/// quote can never split or open a CSV field: form-style and plain
/// percent-decoding read the same key back. The same encoding carries a
/// key in `x-amz-copy-source` (as the AWS SDKs encode it, `/` kept).
pub(crate) const KEY_ENCODE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~')
    .remove(b'/');

/// How a non-compliant version is fixed, and so which manifest it goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Remediation {
    /// S3 `UpdateObjectEncryption` (Batch Operations operation
    /// `UpdateObjectEncryption`): the version is re-encrypted in place with
    /// SSE-KMS under the policy's key, keeping its version id, ETag and
    /// last-modified date, so pins made at enrollment stay valid. For
    /// `SSE-S3` versions and SSE-KMS versions under a key outside the
    /// allowlist.
    UpdateObjectEncryption,
    /// S3 `CopyObject` onto itself with SSE-KMS (Batch Operations operation
    /// `S3PutObjectCopy`): writes a **new version**; the old one must then
    /// be deleted, and pins on it change. For `NOT-SSE`, `SSE-C`, and
    /// DSSE-KMS versions under a key outside the allowlist, when the
    /// version is the **current** one.
    CopyObject,
    /// A **noncurrent** version that needs a copy: copying it onto its key
    /// would make its old content current again, so it is listed for
    /// deletion instead (by version id, with
    /// [`PhotoStore::erase`](crate::PhotoStore::erase)'s rules or a lifecycle
    /// `NoncurrentVersionExpiration` rule). Batch Operations cannot delete
    /// objects: this list is in the same CSV format, for those tools.
    DeleteNoncurrentVersion,
    /// Client-side ciphertext: the S3 Encryption Client's envelope is in
    /// the version's user metadata, or an instruction file
    /// (`<key>.instruction`) lies beside the key. No server-side operation
    /// makes it readable by Rekognition: decrypt it with the S3 Encryption
    /// Client and store the plaintext as a new object with SSE-KMS, then
    /// delete the ciphertext. Listed (in the same CSV format) for that
    /// work; neither Batch Operations nor
    /// [`PhotoStore::reencrypt`](crate::PhotoStore::reencrypt) can do it.
    /// A row found by an instruction file names the key without a version
    /// (every version of it may be ciphertext).
    DecryptClientSide,
}

impl Remediation {
    /// `update-object-encryption` or `copy-object`: the manifests' file
    /// names in the `audit_inventory` example.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::UpdateObjectEncryption => "update-object-encryption",
            Self::CopyObject => "copy-object",
            Self::DeleteNoncurrentVersion => "delete-noncurrent-version",
            Self::DecryptClientSide => "decrypt-client-side",
        }
    }

    /// This remediation for a version that is current or not: a copy of a
    /// noncurrent version becomes
    /// [`DeleteNoncurrentVersion`](Self::DeleteNoncurrentVersion).
    pub(crate) fn for_version(self, current: bool) -> Self {
        match self {
            Self::CopyObject if !current => Self::DeleteNoncurrentVersion,
            other => other,
        }
    }
}

/// Receives each version that needs fixing, as the audit finds it (rows
/// are never gathered in memory).
pub trait RemediationSink: Send {
    /// One version of `key` in `bucket` (its version id, when the report
    /// has one) to be fixed by `remediation`.
    ///
    /// # Errors
    /// An I/O error stops the audit.
    fn add(
        &mut self,
        remediation: Remediation,
        bucket: &str,
        key: &str,
        version_id: Option<&str>,
    ) -> io::Result<()>;
}

/// Discards every version (counts only).
impl RemediationSink for () {
    fn add(&mut self, _: Remediation, _: &str, _: &str, _: Option<&str>) -> io::Result<()> {
        Ok(())
    }
}

/// Writes the remediation manifests in the S3 Batch Operations CSV format
/// `S3BatchOperations_CSV_20180820`, one per [`Remediation`]: one line per
/// version,
/// `bucket,key,versionId` (or `bucket,key` without a version id), no
/// header, keys percent-encoded (a space as `%20`, `+` as `%2B`, `%` as
/// `%25`, every non-ASCII byte as `%XX`). The first row of a manifest
/// decides whether it has a version-id column; Batch Operations requires
/// every row of such a manifest to carry one, so a row that differs is an
/// error (S3 User Guide, "Creating an S3 Batch Operations job").
///
/// Batch Operations reads a CSV manifest stored with SSE-S3, not SSE-KMS
/// (which it reads only for S3 Inventory report manifests) and not SSE-C:
/// store these files in S3 with SSE-S3. They hold bucket, key and version
/// id, never image bytes. The [`Remediation::DecryptClientSide`] list is
/// not a Batch Operations manifest (no operation can decrypt client-side
/// ciphertext): its rows may mix keys with and without a version id.
///
/// ```
/// use rekognition_guard::inventory::{BatchManifestWriter, Remediation, RemediationSink};
///
/// let mut manifests = BatchManifestWriter::new(Vec::new(), Vec::new(), Vec::new(), Vec::new());
/// manifests.add(Remediation::CopyObject, "library-photos", "members/ada lovelace+1.jpg", Some("3sL4kqtJ"))?;
/// let [in_place, copy, delete_noncurrent, client_side] = manifests.into_inner()?;
/// assert!(in_place.is_empty() && delete_noncurrent.is_empty() && client_side.is_empty());
/// assert_eq!(copy, b"library-photos,members/ada%20lovelace%2B1.jpg,3sL4kqtJ\n");
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug)]
pub struct BatchManifestWriter<W: Write> {
    update_in_place: W,
    copy: W,
    delete_noncurrent: W,
    decrypt_client_side: W,
    /// Per Batch Operations manifest (in the order above), whether its
    /// rows carry a version id, once the first row is written.
    versioned: [Option<bool>; 3],
}

impl<W: Write> BatchManifestWriter<W> {
    /// Writes [`Remediation::UpdateObjectEncryption`] versions to
    /// `update_in_place`, [`Remediation::CopyObject`] versions to `copy`
    /// and [`Remediation::DeleteNoncurrentVersion`] versions to
    /// `delete_noncurrent` and [`Remediation::DecryptClientSide`] keys and
    /// versions to `decrypt_client_side`.
    pub fn new(update_in_place: W, copy: W, delete_noncurrent: W, decrypt_client_side: W) -> Self {
        Self {
            update_in_place,
            copy,
            delete_noncurrent,
            decrypt_client_side,
            versioned: [None; 3],
        }
    }

    /// Flushes and returns the writers, in the order
    /// [`new`](Self::new) took them.
    ///
    /// # Errors
    /// A flush error.
    pub fn into_inner(mut self) -> io::Result<[W; 4]> {
        self.update_in_place.flush()?;
        self.copy.flush()?;
        self.delete_noncurrent.flush()?;
        self.decrypt_client_side.flush()?;
        Ok([
            self.update_in_place,
            self.copy,
            self.delete_noncurrent,
            self.decrypt_client_side,
        ])
    }
}

impl<W: Write + Send> RemediationSink for BatchManifestWriter<W> {
    fn add(
        &mut self,
        remediation: Remediation,
        bucket: &str,
        key: &str,
        version_id: Option<&str>,
    ) -> io::Result<()> {
        let (out, slot) = match remediation {
            Remediation::UpdateObjectEncryption => (&mut self.update_in_place, Some(0)),
            Remediation::CopyObject => (&mut self.copy, Some(1)),
            Remediation::DeleteNoncurrentVersion => (&mut self.delete_noncurrent, Some(2)),
            Remediation::DecryptClientSide => (&mut self.decrypt_client_side, None),
        };
        let has_version = version_id.is_some();
        if slot.is_some_and(|slot| *self.versioned[slot].get_or_insert(has_version) != has_version)
        {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "the {} manifest mixes rows with and without a version id; S3 Batch Operations needs every row of a manifest with a version-id column to carry one",
                    remediation.as_str()
                ),
            ));
        }
        // Bucket names and version ids need no encoding; the reader
        // refuses version ids with a comma or a quote.
        write!(out, "{bucket},{}", utf8_percent_encode(key, KEY_ENCODE))?;
        match version_id {
            Some(v) => writeln!(out, ",{v}"),
            None => writeln!(out),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_manifest_with_a_version_column_has_a_version_in_every_row() {
        let mut w = BatchManifestWriter::new(Vec::new(), Vec::new(), Vec::new(), Vec::new());
        w.add(Remediation::CopyObject, "b", "k1", Some("v1"))
            .unwrap();
        let err = w.add(Remediation::CopyObject, "b", "k2", None).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
        assert!(err.to_string().contains("copy-object"), "{err}");
        // Each manifest decides by its own first row.
        w.add(Remediation::UpdateObjectEncryption, "b", "k3", None)
            .unwrap();
        assert!(w
            .add(Remediation::UpdateObjectEncryption, "b", "k4", Some("v4"))
            .is_err());
        // The client-side list is no Batch Operations manifest: an
        // instruction file names a key without a version.
        w.add(Remediation::DecryptClientSide, "b", "k5", Some("v5"))
            .unwrap();
        w.add(Remediation::DecryptClientSide, "b", "k6", None)
            .unwrap();
        let [in_place, copy, _, client_side] = w.into_inner().unwrap();
        assert_eq!(copy, b"b,k1,v1\n");
        assert_eq!(in_place, b"b,k3\n");
        assert_eq!(client_side, b"b,k5,v5\nb,k6\n");
    }

    #[test]
    fn written_keys_read_back_with_either_decoder() {
        for key in [
            "a b+c%d,e\"f.jpg",
            "members/émilie 山田.jpg",
            "x/~y_z-1.jpg",
            "a\nb",
        ] {
            let mut w = BatchManifestWriter::new(Vec::new(), Vec::new(), Vec::new(), Vec::new());
            w.add(Remediation::UpdateObjectEncryption, "b", key, None)
                .unwrap();
            let [line, ..] = w.into_inner().unwrap();
            let line = String::from_utf8(line).unwrap();
            let encoded = line.trim_end().strip_prefix("b,").unwrap();
            assert!(!encoded.contains([' ', '+', ',', '"', '\n']), "{encoded}");
            let plain = percent_encoding::percent_decode_str(encoded)
                .decode_utf8()
                .unwrap();
            let form = percent_encoding::percent_decode_str(&encoded.replace('+', " "))
                .decode_utf8()
                .unwrap()
                .into_owned();
            assert_eq!(plain, key);
            assert_eq!(form, key);
        }
    }
}
