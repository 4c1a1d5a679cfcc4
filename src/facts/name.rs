//! Identifiers stored once per process. Facts hold about a million identifiers and path segments for a
//! large package, drawn from a vocabulary of a few tens of thousands: as `String`s they were a fifth of
//! the facts' memory (a 24-byte header plus an allocation each). A `Name` is a shared `&'static str`.
//!
//! Interned text is never freed. What is interned is names: identifiers and path segments, joined
//! callee paths, normalized type names, and closure names (`{closure@12:5}`, one per line and column
//! seen); these grow with the distinct names met, not with the code analysed, though closure names
//! and type names grow slowly with the code too. Literal text and source excerpts stay `String`s.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::collections::HashSet;
use std::fmt;
use std::hash::BuildHasher;
use std::sync::{LazyLock, Mutex};

/// An interned identifier: compares, hashes and prints as its text.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Name(&'static str);

/// Shards, so that files lowered side by side rarely wait for each other.
const SHARDS: usize = 32;
/// Interned text is copied into chunks of this size (longer names get their own).
const CHUNK: usize = 16 * 1024;

#[derive(Default)]
struct Shard {
    names: HashSet<&'static str>,
    /// The unused tail of the current chunk.
    free: &'static mut [u8],
}

impl Shard {
    fn store(&mut self, text: &str) -> &'static str {
        let len = text.len();
        if len > CHUNK / 4 {
            return Box::leak(text.to_owned().into_boxed_str());
        }
        if self.free.len() < len {
            self.free = Box::leak(vec![0u8; CHUNK].into_boxed_slice());
        }
        let (head, tail) = std::mem::take(&mut self.free).split_at_mut(len);
        head.copy_from_slice(text.as_bytes());
        self.free = tail;
        // `head` holds a copy of valid UTF-8 and is never written again.
        std::str::from_utf8(head).expect("a copy of a str is UTF-8")
    }
}

static TABLE: LazyLock<(std::collections::hash_map::RandomState, Vec<Mutex<Shard>>)> =
    LazyLock::new(|| {
        let shards = (0..SHARDS).map(|_| Mutex::new(Shard::default())).collect();
        (Default::default(), shards)
    });

impl Name {
    pub fn new(text: &str) -> Name {
        if text.is_empty() {
            return Name("");
        }
        let (hasher, shards) = &*TABLE;

        let shard = &shards[hasher.hash_one(text) as usize % SHARDS];
        let mut shard = shard.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(s) = shard.names.get(text) {
            return Name(s);
        }
        let s = shard.store(text);
        shard.names.insert(s);
        Name(s)
    }

    /// Borrowed like a `String`'s text, so that a `Name` can stand where a `String` stood.
    pub fn as_str(&self) -> &str {
        self.0
    }
}

impl std::ops::Deref for Name {
    type Target = str;
    fn deref(&self) -> &str {
        self.0
    }
}

impl AsRef<str> for Name {
    fn as_ref(&self) -> &str {
        self.0
    }
}

impl std::borrow::Borrow<str> for Name {
    fn borrow(&self) -> &str {
        self.0
    }
}

impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(self.0)
    }
}

impl fmt::Debug for Name {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        fmt::Debug::fmt(self.0, f)
    }
}

impl From<&str> for Name {
    fn from(s: &str) -> Name {
        Name::new(s)
    }
}

impl From<String> for Name {
    fn from(s: String) -> Name {
        Name::new(&s)
    }
}

impl From<&String> for Name {
    fn from(s: &String) -> Name {
        Name::new(s)
    }
}

impl From<Name> for String {
    fn from(n: Name) -> String {
        n.0.to_owned()
    }
}

impl PartialEq<str> for Name {
    fn eq(&self, other: &str) -> bool {
        self.0 == other
    }
}

impl PartialEq<&str> for Name {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other
    }
}

impl PartialEq<String> for Name {
    fn eq(&self, other: &String) -> bool {
        self.0 == other
    }
}

impl PartialEq<Name> for str {
    fn eq(&self, other: &Name) -> bool {
        self == other.0
    }
}

impl PartialEq<Name> for &str {
    fn eq(&self, other: &Name) -> bool {
        *self == other.0
    }
}

impl PartialEq<Name> for String {
    fn eq(&self, other: &Name) -> bool {
        self == other.0
    }
}

impl Serialize for Name {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.0)
    }
}

impl<'de> Deserialize<'de> for Name {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Name, D::Error> {
        struct Visit;
        impl serde::de::Visitor<'_> for Visit {
            type Value = Name;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a name")
            }
            fn visit_str<E>(self, v: &str) -> Result<Name, E> {
                Ok(Name::new(v))
            }
        }
        d.deserialize_str(Visit)
    }
}

/// Names from their texts.
pub fn names<S: AsRef<str>>(texts: &[S]) -> Vec<Name> {
    texts.iter().map(|t| Name::new(t.as_ref())).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_texts_share_storage_and_compare_as_text() {
        let a = Name::new("verify_password");
        let b = Name::new(&String::from("verify_password"));
        assert!(std::ptr::eq(a.as_str(), b.as_str()));
        assert_eq!(a, "verify_password");
        assert_ne!(a, Name::new("verify"));
        assert_eq!(Name::new(""), Name::default());
        let long = "x".repeat(CHUNK);
        assert_eq!(Name::new(&long).len(), CHUNK);
    }

    #[test]
    fn names_from_many_threads_agree() {
        let texts: Vec<String> = (0..2000).map(|i| format!("n{}", i % 300)).collect();
        let got: Vec<Vec<Name>> = std::thread::scope(|s| {
            let hs: Vec<_> = (0..4)
                .map(|_| s.spawn(|| texts.iter().map(|t| Name::new(t)).collect::<Vec<_>>()))
                .collect();
            hs.into_iter().map(|h| h.join().unwrap()).collect()
        });
        for names in &got[1..] {
            for (a, b) in names.iter().zip(&got[0]) {
                assert!(std::ptr::eq(a.as_str(), b.as_str()));
            }
        }
    }

    #[test]
    fn round_trips_through_the_cache_encoding() {
        let n = Name::new("Authorization");
        let bytes = postcard::to_stdvec(&n).unwrap();
        let back: Name = postcard::from_bytes(&bytes).unwrap();
        assert_eq!(back, n);
    }
}
