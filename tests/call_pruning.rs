//! A model built for rules leaves out the call entities that no enabled rule could match (decided on
//! each call's head, `Cond::decided`). The findings must be those of the full model whatever rules are
//! enabled: every rule on its own, and all of them together, on every fixture.

mod common;
use common::*;
use portcullis::discover::discover;
use portcullis::engine::{analyze, analyze_with, load_policy, Options};
use portcullis::rules::Finding;

fn lines(findings: &[Finding]) -> Vec<String> {
    let mut out: Vec<String> = findings
        .iter()
        .map(|f| serde_json::to_string(f).unwrap())
        .collect();
    out.sort();
    out
}

#[test]
fn pruned_models_give_the_findings_of_full_models() {
    let policy = load_policy(&[]).expect("the built-in rules load");
    let fixtures = fixture_paths();
    let call_rules: Vec<&str> = policy
        .rules
        .rules
        .iter()
        .filter(|r| r.cases.iter().any(|c| c.target == "call"))
        .map(|r| r.id.as_str())
        .collect();
    assert!(call_rules.len() >= 10, "call rules: {call_rules:?}");
    let mut differences = vec![];
    let mut pruned_findings = 0;
    for dir in &fixtures {
        let disc = discover(std::slice::from_ref(dir), Default::default()).unwrap();
        let selections: Vec<Option<&str>> = std::iter::once(None)
            .chain(call_rules.iter().map(|r| Some(*r)))
            .collect();
        for only in selections {
            let enabled = |r: &portcullis::rules::Rule| only.is_none_or(|id| r.id == id);
            let full = analyze(&disc, &policy, &enabled);
            let pruned = analyze_with(&disc, &policy, &enabled, Options::default());
            let (want, got) = (lines(&full.findings), lines(&pruned.findings));
            pruned_findings += got.len();
            if want != got {
                differences.push(format!(
                    "{} with {only:?}:\n  full:   {want:?}\n  pruned: {got:?}",
                    dir.display()
                ));
            }
        }
    }
    // The comparison means something only if the fixtures give call findings.
    assert!(pruned_findings > 100, "only {pruned_findings} findings");
    assert!(differences.is_empty(), "{}", differences.join("\n"));
}
