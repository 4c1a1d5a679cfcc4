//! Every input a fuzz target ever crashed on, kept in `tests/fuzz-regressions/<target>/`, replayed
//! through the same entry points as the targets in `fuzz/fuzz_targets/`.

mod common;
use common::*;
use portcullis::engine::{analyze_sources, load_policy};
use portcullis::rules::{RuleSet, RuleSource};
use std::path::PathBuf;
use std::sync::Arc;

fn inputs(target: &str) -> Vec<(String, String)> {
    let dir = repo().join("tests/fuzz-regressions").join(target);
    let mut out: Vec<(String, String)> = std::fs::read_dir(&dir)
        .map(|rd| {
            rd.filter_map(Result::ok)
                .map(|e| {
                    let bytes = std::fs::read(e.path()).unwrap();
                    (
                        e.file_name().to_string_lossy().into_owned(),
                        String::from_utf8_lossy(&bytes).into_owned(),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out
}

#[test]
fn crashing_inputs_stay_fixed() {
    let policy = load_policy(&[]).unwrap();
    let sources = inputs("analyze_source");
    assert!(!sources.is_empty());
    for (name, text) in &sources {
        let out = analyze_sources("fuzz", &[("src/main.rs", text)], &policy, &|_| true);
        assert!(
            !out.findings.iter().any(|f| f.rule == "internal-error"),
            "{name}"
        );
    }
    for (_, text) in inputs("load_rule") {
        let src = RuleSource {
            name: "fuzz.toml".into(),
            text: Arc::from(text.as_str()),
        };
        let _ = RuleSet::load(&[src], &policy.catalog);
    }
    for (_, text) in inputs("load_config") {
        let _ = portcullis::config::parse(
            "portcullis.toml",
            Arc::from(text.as_str()),
            PathBuf::from("."),
            false,
        );
    }
    for (_, text) in inputs("suppressions") {
        let _ = portcullis::suppress::scan(&text, portcullis::source::FileKind::Rust);
    }
}
