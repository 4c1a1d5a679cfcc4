//! One arbitrary `.rs` file through the whole pipeline: parse, facts, model, every rule.
#![no_main]

use libfuzzer_sys::fuzz_target;
use portcullis::engine::{analyze_sources, load_policy, Policy};
use std::sync::OnceLock;

fn policy() -> &'static Policy {
    static POLICY: OnceLock<Policy> = OnceLock::new();
    POLICY.get_or_init(|| load_policy(&[]).expect("the built-in policy loads"))
}

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = analyze_sources("fuzz", &[("src/main.rs", text)], policy(), &|_| true);
    }
});
