//! Every output format on a real fixture: snapshot-tested, and checked against what its consumers read
//! (the SARIF 2.1.0 schema, rustc's diagnostic shape as cargo_metadata parses it, GitHub's workflow
//! command syntax).

mod common;
use common::*;

const FIXTURE: &str = "fixtures/actix-notes";

fn output(format: &str, extra: &[&str]) -> String {
    // Every tier, so the formats are exercised on every kind of finding.
    let mut args = vec!["check", FIXTURE, "--select", "all", "--format", format];
    args.extend_from_slice(extra);
    let out = run(&args);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    stdout(&out)
}

/// Compares with `tests/snapshots/NAME`, or rewrites it under `UPDATE_SNAPSHOTS=1`.
fn snapshot(name: &str, actual: &str) {
    let path = repo().join("tests/snapshots").join(name);
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path)
        .unwrap_or_else(|_| panic!("missing snapshot {name}; run with UPDATE_SNAPSHOTS=1"));
    assert!(
        expected == actual,
        "{name} differs from its snapshot (UPDATE_SNAPSHOTS=1 rewrites it)\n--- actual ---\n{actual}"
    );
}

/// The machine-specific parts of SARIF (the repository's absolute path, the version) made stable.
fn stable_sarif(text: &str) -> String {
    let root = repo().display().to_string();
    text.replace(&format!("file://{root}/"), "file:///REPO/")
        .replace(env!("CARGO_PKG_VERSION"), "VERSION")
}

#[test]
fn sarif_is_valid_and_complete() {
    let text = output("sarif", &["--sarif-category", "portcullis/api"]);
    let doc: serde_json::Value = serde_json::from_str(&text).unwrap();
    let schema: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(repo().join("tests/schemas/sarif-schema-2.1.0.json")).unwrap(),
    )
    .unwrap();
    let validator = jsonschema::draft4::new(&schema).expect("the SARIF schema compiles");
    let errors: Vec<String> = validator
        .iter_errors(&doc)
        .map(|e| format!("{e} at {}", e.instance_path))
        .collect();
    assert!(
        errors.is_empty(),
        "SARIF does not validate:\n{}",
        errors.join("\n")
    );
    // The validator does reject what the schema forbids.
    let mut broken = doc.clone();
    broken["runs"][0]["results"][0]["level"] = serde_json::json!("fatal");
    assert!(!validator.is_valid(&broken));

    let run = &doc["runs"][0];
    assert_eq!(run["automationDetails"]["id"], "portcullis/api/");
    assert_eq!(run["columnKind"], "unicodeCodePoints");
    let rules = run["tool"]["driver"]["rules"].as_array().unwrap();
    let listed = run_rules_count();
    assert_eq!(
        rules.len(),
        listed,
        "every rule is described, not only those that fired"
    );
    let sql = rules.iter().find(|r| r["id"] == "sql-injection").unwrap();
    let tags: Vec<&str> = sql["properties"]["tags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap())
        .collect();
    assert!(
        tags.contains(&"security") && tags.contains(&"external/cwe/cwe-89"),
        "{tags:?}"
    );
    assert_eq!(sql["properties"]["security-severity"], "9.8");
    assert_eq!(sql["properties"]["precision"], "high");
    assert_eq!(sql["defaultConfiguration"]["level"], "error");

    let results = run["results"].as_array().unwrap();
    let r = results
        .iter()
        .find(|r| r["ruleId"] == "sql-injection")
        .unwrap();
    assert_eq!(
        rules[r["ruleIndex"].as_u64().unwrap() as usize]["id"],
        "sql-injection"
    );
    let loc = &r["locations"][0]["physicalLocation"];
    assert_eq!(
        loc["artifactLocation"]["uri"],
        "fixtures/actix-notes/src/archive.rs"
    );
    assert_eq!(loc["artifactLocation"]["uriBaseId"], "%SRCROOT%");
    // endColumn is exclusive: the region covers exactly the reported bytes.
    let region = &loc["region"];
    let text = std::fs::read_to_string(repo().join(FIXTURE).join("src/archive.rs")).unwrap();
    let start = region["charOffset"].as_u64().unwrap() as usize;
    let len = region["charLength"].as_u64().unwrap() as usize;
    let covered = &text[start..start + len];
    assert_eq!(
        covered.chars().count() as u64,
        region["endColumn"].as_u64().unwrap() - region["startColumn"].as_u64().unwrap()
    );
    // Evidence is kept as related locations.
    let cached = results
        .iter()
        .find(|r| r["ruleId"] == "unauthenticated-cached-route")
        .unwrap();
    assert!(!cached["relatedLocations"].as_array().unwrap().is_empty());
    snapshot(
        "actix-notes.sarif.json",
        &stable_sarif(&text_of_sarif(&doc)),
    );
}

fn text_of_sarif(doc: &serde_json::Value) -> String {
    serde_json::to_string_pretty(doc).unwrap() + "\n"
}

fn run_rules_count() -> usize {
    let out = run(&["rules", "--format", "json"]);
    json(&out).as_array().unwrap().len()
}

#[test]
fn rustc_json_is_what_cargo_and_rust_analyzer_parse() {
    let text = output("rustc-json", &[]);
    let mut n = 0;
    for line in text.lines() {
        let d: cargo_metadata::diagnostic::Diagnostic =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
        let code = d.code.as_ref().unwrap().code.clone();
        assert!(code.starts_with("portcullis::"), "{code}");
        let primary = d.spans.iter().find(|s| s.is_primary).unwrap();
        assert!(primary.line_start >= 1 && primary.column_start >= 1);
        assert_eq!(
            d.children[0].level,
            cargo_metadata::diagnostic::DiagnosticLevel::Help
        );
        n += 1;
    }
    assert!(n > 10);
    snapshot("actix-notes.rustc.jsonl", &text);
}

#[test]
fn github_annotations_follow_the_workflow_command_syntax() {
    let text = output("github", &[]);
    for line in text.lines() {
        assert!(
            line.starts_with("::error file=")
                || line.starts_with("::warning file=")
                || line.starts_with("::notice file="),
            "{line}"
        );
        let (props, message) = line[2..].split_once("::").unwrap();
        assert!(!message.contains('\n'));
        for key in [
            "line=",
            "endLine=",
            "col=",
            "endColumn=",
            "title=portcullis ",
        ] {
            assert!(props.contains(key), "{line}");
        }
    }
    snapshot("actix-notes.github.txt", &text);
}

#[test]
fn jsonl_has_one_finding_a_line_with_the_json_fields() {
    let lines = output("jsonl", &[]);
    let doc = json(&run(&[
        "check", FIXTURE, "--select", "all", "--format", "json",
    ]));
    let findings = doc["findings"].as_array().unwrap();
    let parsed: Vec<serde_json::Value> = lines
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(&parsed, findings);
    snapshot("actix-notes.jsonl", &lines);
}

#[test]
fn statistics_count_findings_per_rule() {
    let out = run(&[
        "check",
        FIXTURE,
        "--select",
        "all",
        "--statistics",
        "--format",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let stats = json(&out);
    let total: u64 = stats
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["count"].as_u64().unwrap())
        .sum();
    let doc = json(&run(&[
        "check", FIXTURE, "--select", "all", "--format", "json",
    ]));
    assert_eq!(total as usize, doc["findings"].as_array().unwrap().len());
    let human = stdout(&run(&["check", FIXTURE, "--select", "all", "--statistics"]));
    assert!(
        human
            .lines()
            .any(|l| l.contains("vulnerable-dependency") && l.trim_start().starts_with('2')),
        "{human}"
    );
}
