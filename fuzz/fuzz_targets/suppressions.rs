//! The suppression-comment reader on arbitrary text, Rust and TOML comment styles.
#![no_main]

use libfuzzer_sys::fuzz_target;
use portcullis::source::FileKind;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        for kind in [FileKind::Rust, FileKind::Toml] {
            for s in portcullis::suppress::scan(text, kind) {
                assert!(s.bytes.start <= s.bytes.end && s.bytes.end <= text.len());
                let _ = &text[s.bytes.clone()];
            }
        }
    }
});
