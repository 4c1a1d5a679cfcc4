//! Every rule's `[[example]]` entries: `bad` code must produce the rule, `good` code must not. A rule
//! without both a bad and a good example fails the test.

use portcullis::engine::{analyze_sources, load_policy};

#[test]
fn every_rule_has_bad_and_good_examples_that_behave() {
    let policy = load_policy(&[]).expect("built-in policy loads");
    let mut failures = vec![];
    for rule in &policy.rules.rules {
        let has_bad = rule.examples.iter().any(|e| e.bad.is_some());
        let has_good = rule.examples.iter().any(|e| e.good.is_some());
        if !has_bad || !has_good {
            failures.push(format!(
                "{}: needs at least one `bad` and one `good` example",
                rule.id
            ));
        }
        for (i, ex) in rule.examples.iter().enumerate() {
            let name = ex
                .name
                .clone()
                .unwrap_or_else(|| format!("example {}", i + 1));
            let only = |r: &portcullis::rules::Rule| r.id == rule.id;
            let file = ex.file.as_deref().unwrap_or("src/main.rs");
            if let Some(bad) = &ex.bad {
                let out = analyze_sources("example", &[(file, bad)], &policy, &only);
                let hits = out.findings.iter().filter(|f| f.rule == rule.id).count();
                let parse = out.findings.iter().any(|f| f.rule == "parse-error");
                if hits == 0 || parse {
                    failures.push(format!(
                        "{} / {name}: bad example produced no finding{}",
                        rule.id,
                        if parse { " (it does not parse)" } else { "" }
                    ));
                }
            }
            if let Some(good) = &ex.good {
                let out = analyze_sources("example", &[(file, good)], &policy, &only);
                let hits: Vec<String> = out
                    .findings
                    .iter()
                    .filter(|f| f.rule == rule.id)
                    .map(|f| f.message.clone())
                    .collect();
                let parse = out.findings.iter().any(|f| f.rule == "parse-error");
                if !hits.is_empty() || parse {
                    failures.push(format!(
                        "{} / {name}: good example produced {:?}{}",
                        rule.id,
                        hits,
                        if parse { " (it does not parse)" } else { "" }
                    ));
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "rule examples misbehave:\n{}",
        failures.join("\n")
    );
}
