//! An arbitrary `portcullis.toml`: it loads or gives located errors, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::path::PathBuf;
use std::sync::Arc;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        for in_manifest in [false, true] {
            match portcullis::config::parse(
                "portcullis.toml",
                Arc::from(text),
                PathBuf::from("."),
                in_manifest,
            ) {
                Ok(cfg) => {
                    let _ = cfg.check_rules(&["plaintext-listener"], &["CWE-319".to_string()]);
                }
                Err(errors) => {
                    for e in errors {
                        let _ = e.line_col();
                    }
                }
            }
        }
    }
});
