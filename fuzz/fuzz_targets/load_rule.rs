//! An arbitrary rule file: it loads or gives located errors, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use portcullis::engine::{load_policy, Policy};
use portcullis::rules::{RuleSet, RuleSource};
use std::sync::{Arc, OnceLock};

fn policy() -> &'static Policy {
    static POLICY: OnceLock<Policy> = OnceLock::new();
    POLICY.get_or_init(|| load_policy(&[]).expect("the built-in policy loads"))
}

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let src = RuleSource {
            name: "fuzz.toml".into(),
            text: Arc::from(text),
        };
        if let Err(errors) = RuleSet::load(&[src], &policy().catalog) {
            for e in errors {
                let _ = e.line_col();
            }
        }
    }
});
