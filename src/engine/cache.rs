//! The persistent cache: per-file facts, packed by unit, and per-unit findings, in a directory outside
//! the scanned tree.
//!
//! Facts are stored as one pack per unit (package), each file's facts under its own key: a unit of 700
//! files is one entry to read and write rather than 700 (creating thousands of small files cost more
//! than the facts themselves), and a changed file still re-lowers that file only.
//!
//! Keys are 128-bit hashes of everything the value depends on (portcullis's own sources, the policy,
//! the bytes of the file or of every file of the unit). An entry is `MAGIC`, the payload's length and
//! checksum, then the payload (postcard); anything that does not check out is a miss, never a wrong
//! result. Writers write a private temporary file and rename it into place, so concurrent runs never
//! see half an entry. Entries not used for `MAX_AGE` are pruned at most once a day, and the oldest go
//! when the directory grows past `MAX_BYTES`. A directory that cannot be written costs one warning and
//! the run goes on without storing.

use super::hash::Hasher128;
use crate::facts::FileFacts;
use crate::rules::{Finding, Label, Severity};
use crate::source::{Loc, Span};
use rayon::prelude::*;
use serde::{de::DeserializeOwned, Deserialize, Serialize};
use std::io::{Seek, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

const MAGIC: &[u8; 8] = b"PCLCACH1";
const LAYOUT: &str = "v1";
const MAX_AGE: Duration = Duration::from_secs(30 * 24 * 3600);
const PRUNE_EVERY: Duration = Duration::from_secs(24 * 3600);
const MAX_BYTES: u64 = 1 << 30;
/// After pruning for size, the cache is brought down to this, so that the next run does not prune again.
const PRUNED_BYTES: u64 = 3 << 28;

fn encode<T: Serialize>(value: &T) -> Option<Vec<u8>> {
    postcard::to_stdvec(value).ok()
}

/// One file's facts as they are stored in a pack.
pub fn encode_facts(facts: &FileFacts) -> Option<Vec<u8>> {
    postcard::to_stdvec(facts).ok()
}

/// `None` for bytes that do not decode (the file is lowered again).
pub fn decode_facts(bytes: &[u8]) -> Option<FileFacts> {
    postcard::from_bytes(bytes).ok()
}

/// Encoded facts inside a pack: a byte string, copied out in one piece rather than byte by byte.
struct Encoded(Vec<u8>);
struct EncodedRef<'a>(&'a [u8]);

impl Serialize for EncodedRef<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bytes(self.0)
    }
}

impl<'de> Deserialize<'de> for Encoded {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Bytes;
        impl serde::de::Visitor<'_> for Bytes {
            type Value = Encoded;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("encoded facts")
            }
            fn visit_bytes<E>(self, v: &[u8]) -> Result<Encoded, E> {
                Ok(Encoded(v.to_vec()))
            }
            fn visit_byte_buf<E>(self, v: Vec<u8>) -> Result<Encoded, E> {
                Ok(Encoded(v))
            }
        }
        d.deserialize_byte_buf(Bytes)
    }
}

pub struct Cache {
    root: PathBuf,
    /// Portcullis's build: a different analyser never reads these entries.
    build: u128,
    writable: AtomicBool,
    warned: AtomicBool,
}

/// Temporary file names are unique per process, whatever the number of caches in it.
static TMP_COUNTER: AtomicU64 = AtomicU64::new(0);

/// A finding as stored: file ids are relative to the unit's first file.
#[derive(Serialize, Deserialize)]
struct StoredFinding {
    rule: String,
    severity: Severity,
    message: String,
    label: String,
    package: Option<String>,
    help: String,
    file: u32,
    span: Span,
    labels: Vec<(u32, Span, String)>,
}

#[derive(Serialize, Deserialize)]
struct StoredUnit {
    findings: Vec<StoredFinding>,
    suppressed: u64,
}

/// A unit's result read back from the cache.
pub struct UnitHit {
    pub findings: Vec<Finding>,
    pub suppressed: usize,
}

impl Cache {
    /// A cache in `dir` (created when first written).
    pub fn new(dir: &Path) -> Cache {
        let mut h = Hasher128::new();
        h.str(env!("CARGO_PKG_VERSION"))
            .u64(super::policy::SOURCE_HASH);
        Cache {
            root: dir.join(LAYOUT),
            build: h.finish(),
            writable: AtomicBool::new(true),
            warned: AtomicBool::new(false),
        }
    }

    pub fn dir(&self) -> &Path {
        self.root.parent().unwrap_or(&self.root)
    }

    fn path(&self, kind: &str, key: u128) -> PathBuf {
        let key = Hasher128::new().u128(self.build).u128(key).finish();
        let hex = format!("{key:032x}");
        self.root.join(kind).join(&hex[..2]).join(&hex[2..])
    }

    /// The facts of a unit's files as last stored, by file key, still encoded: the front end decodes
    /// them side by side, and the next pack reuses the bytes of the files that did not change.
    pub fn get_facts(&self, unit: u128) -> std::collections::HashMap<u128, Vec<u8>> {
        let stored: Option<Vec<(u128, Encoded)>> = self.get(&self.path("facts", unit));
        stored
            .unwrap_or_default()
            .into_iter()
            .map(|(k, e)| (k, e.0))
            .collect()
    }

    /// Marks a unit's facts as used though they were not read (its findings were).
    pub fn touch_facts(&self, unit: u128) {
        self.touch(&self.path("facts", unit));
    }

    /// Replaces a unit's pack with the facts of its files now: those lowered in this run are encoded
    /// a slice of files at a time (side by side) and written as they come, so that a large unit's facts
    /// are never held encoded whole (let alone twice, as pack and as payload) beside the facts.
    pub fn put_facts(&self, unit: u128, facts: &[(u128, PackEntry)]) {
        const SLICE: usize = 64;
        self.put_streamed(&self.path("facts", unit), &mut |out| {
            // The payload is postcard's encoding of `Vec<(u128, bytes)>`: the length, then each pair.
            out(&encode(&facts.len()).ok_or_else(failed)?)?;
            for slice in facts.chunks(SLICE) {
                let pieces: Vec<Option<Vec<u8>>> = slice
                    .par_iter()
                    .map(|(key, entry)| match entry {
                        PackEntry::Stored(bytes) => encode(&(*key, EncodedRef(bytes))),
                        PackEntry::Lowered(f) => {
                            let bytes = encode_facts(f)?;
                            encode(&(*key, EncodedRef(&bytes)))
                        }
                    })
                    .collect();
                for piece in pieces {
                    out(&piece.ok_or_else(failed)?)?;
                }
            }
            Ok(())
        });
    }

    pub fn get_unit(&self, key: u128, first_file: u32) -> Option<UnitHit> {
        let stored: StoredUnit = self.get(&self.path("units", key))?;
        let findings = stored
            .findings
            .into_iter()
            .map(|f| Finding {
                rule: f.rule,
                severity: f.severity,
                message: f.message,
                label: f.label,
                package: f.package,
                help: f.help,
                loc: Loc::new(first_file + f.file, f.span),
                labels: f
                    .labels
                    .into_iter()
                    .map(|(file, span, message)| Label {
                        loc: Loc::new(first_file + file, span),
                        message,
                    })
                    .collect(),
            })
            .collect();
        Some(UnitHit {
            findings,
            suppressed: stored.suppressed as usize,
        })
    }

    pub fn put_unit(&self, key: u128, first_file: u32, findings: &[Finding], suppressed: usize) {
        let relative = |loc: &Loc| loc.file.checked_sub(first_file);
        let mut stored = StoredUnit {
            findings: vec![],
            suppressed: suppressed as u64,
        };
        for f in findings {
            let labels: Option<Vec<(u32, Span, String)>> = f
                .labels
                .iter()
                .map(|l| Some((relative(&l.loc)?, l.loc.span, l.message.clone())))
                .collect();
            // A location outside the unit cannot be stored relative to it: keep the unit uncached.
            let (Some(file), Some(labels)) = (relative(&f.loc), labels) else {
                return;
            };
            stored.findings.push(StoredFinding {
                rule: f.rule.clone(),
                severity: f.severity,
                message: f.message.clone(),
                label: f.label.clone(),
                package: f.package.clone(),
                help: f.help.clone(),
                file,
                span: f.loc.span,
                labels,
            });
        }
        self.put(&self.path("units", key), &stored);
    }

    fn get<T: DeserializeOwned>(&self, path: &Path) -> Option<T> {
        let bytes = std::fs::read(path).ok()?;
        let payload = check(&bytes)?;
        let value = postcard::from_bytes(payload).ok()?;
        self.touch(path);
        Some(value)
    }

    /// Marks an entry as used, at most once a day (its modification time is its last use).
    fn touch(&self, path: &Path) {
        let Ok(meta) = std::fs::metadata(path) else {
            return;
        };
        let stale = meta
            .modified()
            .ok()
            .and_then(|m| m.elapsed().ok())
            .is_none_or(|age| age > PRUNE_EVERY);
        if stale && self.writable.load(Ordering::Relaxed) {
            if let Ok(f) = std::fs::File::options().append(true).open(path) {
                let _ = f.set_modified(SystemTime::now());
            }
        }
    }

    fn put<T: Serialize>(&self, path: &Path, value: &T) {
        let Ok(payload) = postcard::to_stdvec(value) else {
            return;
        };
        self.put_streamed(path, &mut |out| out(&payload));
    }

    /// Writes an entry whose payload `write` hands over in pieces.
    fn put_streamed(&self, path: &Path, write: &mut Pieces) {
        if !self.writable.load(Ordering::Relaxed) {
            return;
        }
        let Err(e) = self.write_atomically(path, write) else {
            return;
        };
        if e.kind() == std::io::ErrorKind::InvalidData {
            return;
        }
        // One entry that cannot be written (a directory in its place, a rename refused while another
        // process reads it) costs that entry; a cache directory that cannot be written at all stops
        // the writing, with one warning.
        let unwritable = e.kind() == std::io::ErrorKind::PermissionDenied || !self.root_writable();
        if unwritable {
            self.writable.store(false, Ordering::Relaxed);
            if !self.warned.swap(true, Ordering::Relaxed) {
                eprintln!(
                    "portcullis: warning: cannot write the cache in {} ({e}); running without storing results (choose another with --cache-dir, or turn it off with --no-cache)",
                    self.dir().display()
                );
            }
        }
    }

    /// Writes a placeholder header, the payload's pieces, then the header with the payload's length
    /// and checksum, to a private temporary file, then renames it into place.
    fn write_atomically(&self, path: &Path, write: &mut Pieces) -> std::io::Result<()> {
        let dir = path.parent().unwrap_or(&self.root);
        std::fs::create_dir_all(dir)?;
        let tag = self.dir().join("CACHEDIR.TAG");
        if !tag.exists() {
            let _ = std::fs::write(
                &tag,
                "Signature: 8a477f597d28d172789f06886806bc55\n# This is the portcullis cache: it can be deleted at any time.\n",
            );
        }
        let tmp = dir.join(format!(
            ".tmp-{}-{}",
            std::process::id(),
            TMP_COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        let written = std::fs::File::create(&tmp).and_then(|f| {
            let mut f = std::io::BufWriter::new(f);
            f.write_all(&[0; HEADER])?;
            let (mut len, mut sum) = (0u64, Hasher128::new());
            write(&mut |piece| {
                len += piece.len() as u64;
                sum.stream(piece);
                f.write_all(piece)
            })?;
            f.seek(std::io::SeekFrom::Start(0))?;
            f.write_all(&header(len, sum.finish()))?;
            f.flush()
        });
        let renamed = written.and_then(|()| std::fs::rename(&tmp, path));
        if renamed.is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
        renamed
    }

    /// Whether a file can be created at the top of the cache (read-only media, a full disk, a file where
    /// the directory should be all say no).
    fn root_writable(&self) -> bool {
        let probe = self.root.join(format!(
            ".tmp-probe-{}-{}",
            std::process::id(),
            TMP_COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        let ok = std::fs::create_dir_all(&self.root)
            .and_then(|()| std::fs::write(&probe, b"probe"))
            .is_ok();
        let _ = std::fs::remove_file(&probe);
        ok
    }

    /// Removes entries unused for `MAX_AGE`, then the oldest while the cache is over `MAX_BYTES`; runs
    /// at most once a day (a marker file records when it last ran).
    pub fn prune(&self) {
        if !self.writable.load(Ordering::Relaxed) {
            return;
        }
        let marker = self.root.join("last-prune");
        let recent = std::fs::metadata(&marker)
            .and_then(|m| m.modified())
            .ok()
            .and_then(|m| m.elapsed().ok())
            .is_some_and(|age| age < PRUNE_EVERY);
        if recent || std::fs::create_dir_all(&self.root).is_err() {
            return;
        }
        if std::fs::write(&marker, b"").is_err() {
            return;
        }
        prune_dir(&self.root, MAX_AGE, MAX_BYTES, PRUNED_BYTES);
    }
}

/// The entries of a cache directory with their age order; removes the stale and the excess.
pub fn prune_dir(root: &Path, max_age: Duration, max_bytes: u64, target_bytes: u64) {
    let mut entries: Vec<(SystemTime, u64, PathBuf)> = vec![];
    for e in walkdir::WalkDir::new(root)
        .min_depth(3)
        .max_depth(3)
        .into_iter()
        .filter_map(Result::ok)
    {
        let Ok(meta) = e.metadata() else { continue };
        // Only what this cache writes is ever removed, whatever else the directory holds.
        if !meta.is_file() || !is_entry_path(e.path()) {
            continue;
        }
        let modified = meta.modified().unwrap_or(SystemTime::UNIX_EPOCH);
        let old = modified.elapsed().is_ok_and(|age| age > max_age);
        let abandoned_tmp = e.file_name().to_string_lossy().starts_with(".tmp-")
            && modified.elapsed().is_ok_and(|age| age > PRUNE_EVERY);
        if old || abandoned_tmp {
            let _ = std::fs::remove_file(e.path());
        } else {
            entries.push((modified, meta.len(), e.into_path()));
        }
    }
    let mut total: u64 = entries.iter().map(|e| e.1).sum();
    if total <= max_bytes {
        return;
    }
    entries.sort();
    for (_, len, path) in entries {
        if total <= target_bytes {
            break;
        }
        if std::fs::remove_file(&path).is_ok() {
            total -= len;
        }
    }
}

/// `<facts|units>/<2 hex digits>/<30 hex digits, or a temporary file>`.
fn is_entry_path(path: &Path) -> bool {
    let hex = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_hexdigit());
    let names: Vec<&str> = path
        .iter()
        .rev()
        .take(3)
        .filter_map(|c| c.to_str())
        .collect();
    matches!(names.as_slice(), [file, fan, kind]
        if (hex(file, 30) || file.starts_with(".tmp-"))
            && hex(fan, 2)
            && (*kind == "facts" || *kind == "units"))
}

/// The size of an entry's header.
const HEADER: usize = 32;

/// What precedes an entry's payload: the magic, the payload's length and checksum.
fn header(len: u64, sum: u128) -> Vec<u8> {
    let mut out = Vec::with_capacity(HEADER);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(&sum.to_le_bytes());
    out
}

fn checksum(payload: &[u8]) -> u128 {
    Hasher128::new().stream(payload).finish()
}

/// Hands an entry's payload over in pieces, to the writer given.
type Pieces<'a> =
    dyn FnMut(&mut dyn FnMut(&[u8]) -> std::io::Result<()>) -> std::io::Result<()> + 'a;

/// A value that could not be encoded: the entry is not written.
fn failed() -> std::io::Error {
    std::io::Error::from(std::io::ErrorKind::InvalidData)
}

/// One file's facts for a pack: as read from the previous pack, or lowered in this run.
pub enum PackEntry<'a> {
    Stored(&'a [u8]),
    Lowered(&'a FileFacts),
}

/// The payload of a well-formed entry: magic, length and checksum all agree.
fn check(bytes: &[u8]) -> Option<&[u8]> {
    let rest = bytes.strip_prefix(MAGIC)?;
    let (len, rest) = rest.split_first_chunk::<8>()?;
    let (sum, payload) = rest.split_first_chunk::<16>()?;
    (u64::from_le_bytes(*len) == payload.len() as u64
        && u128::from_le_bytes(*sum) == checksum(payload))
    .then_some(payload)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pack_written_in_slices_reads_back_whole() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::new(dir.path());
        let lowered = FileFacts {
            test_mods: vec![vec![crate::facts::Name::new("tests")]],
            ..FileFacts::default()
        };
        let stored: Vec<Vec<u8>> = (0..150u8).map(|i| vec![i; i as usize]).collect();
        let entries: Vec<(u128, PackEntry)> = (0..300u128)
            .map(|k| match k % 2 {
                0 => (k, PackEntry::Stored(&stored[(k / 2) as usize])),
                _ => (k, PackEntry::Lowered(&lowered)),
            })
            .collect();
        cache.put_facts(9, &entries);
        let back = cache.get_facts(9);
        assert_eq!(back.len(), 300);
        for k in (0..300u128).step_by(2) {
            assert_eq!(back[&k], stored[(k / 2) as usize], "entry {k}");
        }
        let facts = decode_facts(&back[&1]).expect("lowered facts decode");
        assert_eq!(facts.test_mods, lowered.test_mods);
    }

    #[test]
    fn damaged_entries_are_misses() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::new(dir.path());
        let facts = encode_facts(&FileFacts::default()).unwrap();
        cache.put_facts(7, &[(1, PackEntry::Stored(&facts))]);
        let back = cache.get_facts(7);
        assert!(back.get(&1).and_then(|b| decode_facts(b)).is_some());
        let path = cache.path("facts", 7);
        let good = std::fs::read(&path).unwrap();
        let mut flipped = good.clone();
        let last = flipped.len() - 1;
        flipped[last] ^= 1;
        for bad in [
            vec![],
            good[..good.len() - 1].to_vec(),
            good[..10].to_vec(),
            flipped,
            b"garbage".to_vec(),
        ] {
            std::fs::write(&path, &bad).unwrap();
            assert!(cache.get_facts(7).is_empty(), "{bad:?}");
        }
    }

    #[test]
    fn pruning_removes_only_cache_entries() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::new(dir.path());
        cache.put_facts(1, &[(1, PackEntry::Stored(b"facts"))]);
        let foreign = [
            cache.root.join("facts/ab/notes.txt"),
            cache.root.join("src/ab/0123456789abcdef0123456789abcd"),
        ];
        for f in &foreign {
            std::fs::create_dir_all(f.parent().unwrap()).unwrap();
            std::fs::write(f, "keep me").unwrap();
        }
        prune_dir(&cache.root, MAX_AGE, 0, 0);
        assert!(cache.get_facts(1).is_empty());
        assert!(foreign.iter().all(|f| f.is_file()));
    }

    #[test]
    fn pruning_removes_the_oldest_past_the_size_cap() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::new(dir.path());
        for k in 0..20u128 {
            cache.put_facts(k, &[(k, PackEntry::Stored(b"facts"))]);
        }
        prune_dir(&cache.root, MAX_AGE, 0, 0);
        let left = walkdir::WalkDir::new(&cache.root)
            .into_iter()
            .filter_map(Result::ok)
            .filter(|e| e.file_type().is_file())
            .count();
        assert_eq!(left, 0);
    }
}
