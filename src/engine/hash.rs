//! A 128-bit content hash for cache keys and entry checksums. Two SipHash-1-3 streams (std's
//! `DefaultHasher`, whose keys are fixed) fed distinct prefixes: no dependency, and a collision needs
//! both 64-bit halves to collide. A different standard library may hash differently; that only turns
//! cache hits into misses, because every key is compared whole.

use std::hash::{DefaultHasher, Hasher};

pub struct Hasher128(DefaultHasher, DefaultHasher);

impl Hasher128 {
    pub fn new() -> Self {
        let a = DefaultHasher::new();
        let mut b = DefaultHasher::new();
        b.write_u64(0x9e37_79b9_7f4a_7c15);
        Hasher128(a, b)
    }

    pub fn bytes(&mut self, bytes: &[u8]) -> &mut Self {
        // The length first, so that consecutive fields cannot run into each other.
        self.0.write_u64(bytes.len() as u64);
        self.1.write_u64(bytes.len() as u64);
        self.0.write(bytes);
        self.1.write(bytes);
        self
    }

    pub fn str(&mut self, s: &str) -> &mut Self {
        self.bytes(s.as_bytes())
    }

    pub fn u64(&mut self, n: u64) -> &mut Self {
        self.bytes(&n.to_le_bytes())
    }

    pub fn u128(&mut self, n: u128) -> &mut Self {
        self.bytes(&n.to_le_bytes())
    }

    /// Bytes as a stream: fed in pieces, the same as fed whole (no length, unlike `bytes`).
    pub fn stream(&mut self, bytes: &[u8]) -> &mut Self {
        self.0.write(bytes);
        self.1.write(bytes);
        self
    }

    pub fn finish(&self) -> u128 {
        ((self.0.finish() as u128) << 64) | self.1.finish() as u128
    }
}

impl Default for Hasher128 {
    fn default() -> Self {
        Self::new()
    }
}

pub fn hash_bytes(bytes: &[u8]) -> u128 {
    Hasher128::new().bytes(bytes).finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stream_hashes_the_same_however_it_is_cut() {
        let data: Vec<u8> = (0..10_000u32).map(|i| (i * 7 % 251) as u8).collect();
        let whole = Hasher128::new().stream(&data).finish();
        for cut in [1, 7, 64, 999] {
            let mut h = Hasher128::new();
            data.chunks(cut).for_each(|c| {
                h.stream(c);
            });
            assert_eq!(h.finish(), whole, "pieces of {cut}");
        }
        assert_ne!(whole, Hasher128::new().stream(&data[1..]).finish());
    }
}
