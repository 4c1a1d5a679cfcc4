//! The bundled fixture services give exactly the findings their `expected.txt` lists: every positive
//! and no near miss. Fixtures run every rule (`--select all`), audit tier included, so a rule keeps its
//! true findings whatever its tier; the default run is checked to be the default-tier part of it.

mod common;
use common::*;
use std::collections::BTreeSet;

fn fixture_dirs() -> Vec<String> {
    let mut dirs: Vec<String> = std::fs::read_dir(repo().join("fixtures"))
        .unwrap()
        .filter_map(Result::ok)
        .filter(|e| e.path().join("expected.txt").is_file())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    dirs.sort();
    dirs
}

fn expected(name: &str) -> Vec<String> {
    let text =
        std::fs::read_to_string(repo().join("fixtures").join(name).join("expected.txt")).unwrap();
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(str::to_string)
        .collect()
}

#[test]
fn fixtures_produce_exactly_the_expected_findings() {
    let dirs = fixture_dirs();
    assert!(dirs.len() >= 4, "fixtures are missing: {dirs:?}");
    let mut failures = vec![];
    for name in &dirs {
        let path = format!("fixtures/{name}");
        let out = run(&["check", &path, "--format", "json", "--select", "all"]);
        let doc = json(&out);
        let mut got = finding_lines(&doc, &format!("{path}/"));
        let mut want = expected(name);
        got.sort();
        want.sort();
        if got != want {
            let g: BTreeSet<_> = got.iter().collect();
            let w: BTreeSet<_> = want.iter().collect();
            failures.push(format!(
                "{name}:\n  unexpected: {:?}\n  missing:    {:?}",
                g.difference(&w).collect::<Vec<_>>(),
                w.difference(&g).collect::<Vec<_>>()
            ));
        }
        let code = out.status.code();
        assert_eq!(
            code,
            Some(if want.is_empty() { 0 } else { 1 }),
            "{name}: exit code"
        );
    }
    assert!(
        failures.is_empty(),
        "fixture findings differ:\n{}",
        failures.join("\n")
    );
}

#[test]
fn the_default_run_is_the_default_tier_part_of_the_full_run() {
    let policy = portcullis::engine::load_policy(&[]).unwrap();
    let audit: Vec<&str> = policy
        .rules
        .rules
        .iter()
        .filter(|r| r.tier == portcullis::rules::Tier::Audit)
        .map(|r| r.id.as_str())
        .collect();
    assert!(!audit.is_empty(), "no audit-tier rule to check");
    let mut seen_audit = false;
    for name in fixture_dirs() {
        let path = format!("fixtures/{name}");
        let all = finding_lines(
            &json(&run(&[
                "check", &path, "--format", "json", "--select", "all",
            ])),
            &format!("{path}/"),
        );
        let default = finding_lines(
            &json(&run(&["check", &path, "--format", "json"])),
            &format!("{path}/"),
        );
        let is_audit = |l: &String| audit.iter().any(|a| l.starts_with(&format!("{a} ")));
        seen_audit |= all.iter().any(is_audit);
        // A suppression of a rule that did not run is not judged: `unused-suppression` may differ.
        let judged = |l: &&String| !l.starts_with("unused-suppression ");
        let want: Vec<&String> = all.iter().filter(|l| !is_audit(l)).filter(judged).collect();
        assert_eq!(
            default.iter().filter(judged).collect::<Vec<_>>(),
            want,
            "{name}"
        );
        // `--select audit` runs the audit tier alone.
        let only_audit = finding_lines(
            &json(&run(&[
                "check", &path, "--format", "json", "--select", "audit",
            ])),
            &format!("{path}/"),
        );
        let want: Vec<String> = all.iter().filter(|l| is_audit(l)).cloned().collect();
        assert_eq!(only_audit, want, "{name}");
    }
    assert!(seen_audit, "no fixture has an audit-tier finding");
}

#[test]
fn every_rule_is_exercised_by_a_fixture() {
    let policy = portcullis::engine::load_policy(&[]).unwrap();
    let all: String = fixture_dirs()
        .iter()
        .map(|d| expected(d).join("\n"))
        .collect::<Vec<_>>()
        .join("\n");
    for rule in &policy.rules.rules {
        assert!(
            all.lines().any(|l| l.starts_with(&format!("{} ", rule.id))),
            "no fixture expects `{}`",
            rule.id
        );
    }
}

#[test]
fn json_output_has_the_documented_schema() {
    let doc = json(&run(&["check", "fixtures/axum-shop", "--format", "json"]));
    assert_eq!(doc["version"], 1);
    assert_eq!(doc["tool"]["name"], "portcullis");
    assert!(doc["tool"]["version"].is_string());
    assert!(doc["errors"].as_array().unwrap().is_empty());
    for key in [
        "files",
        "packages",
        "findings",
        "errors",
        "warnings",
        "notes",
        "suppressed",
    ] {
        assert!(doc["summary"][key].is_u64(), "summary.{key}");
    }
    let findings = doc["findings"].as_array().unwrap();
    assert!(!findings.is_empty());
    for f in findings {
        for key in ["rule", "severity", "message", "file", "help", "label"] {
            assert!(f[key].is_string(), "finding.{key} in {f}");
        }
        for key in [
            "line",
            "column",
            "end_line",
            "end_column",
            "byte_start",
            "byte_end",
        ] {
            assert!(
                f[key]
                    .as_u64()
                    .is_some_and(|n| key.starts_with("byte") || n >= 1),
                "finding.{key} in {f}"
            );
        }
        assert!(["error", "warning", "note"].contains(&f["severity"].as_str().unwrap()));
        assert!(!f["file"].as_str().unwrap().contains('\\'));
        for l in f["labels"].as_array().unwrap() {
            for key in ["file", "message"] {
                assert!(l[key].is_string());
            }
            assert!(l["line"].as_u64().unwrap() >= 1);
        }
    }
    // The cart finding carries the cache header and the auth extractor as evidence.
    let cart = findings
        .iter()
        .find(|f| f["message"].as_str().unwrap().contains("/api/cart"))
        .unwrap();
    let labels: Vec<&str> = cart["labels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["file"].as_str().unwrap())
        .collect();
    assert!(
        labels.iter().any(|f| f.ends_with("handlers/cart.rs")),
        "{labels:?}"
    );
}

#[test]
fn columns_count_characters_and_spans_are_exact() {
    let doc = json(&run(&[
        "check",
        "fixtures/axum-shop",
        "--format",
        "json",
        "--select",
        "plaintext-listener",
    ]));
    let f = &doc["findings"][0];
    assert_eq!(
        (f["line"].as_u64(), f["column"].as_u64()),
        (Some(21), Some(20))
    );
    let text = std::fs::read_to_string(repo().join("fixtures/axum-shop/src/main.rs")).unwrap();
    let span =
        &text[f["byte_start"].as_u64().unwrap() as usize..f["byte_end"].as_u64().unwrap() as usize];
    assert_eq!(span, "tokio::net::TcpListener::bind(&addr)");
}

#[test]
fn output_is_deterministic_whatever_the_thread_count() {
    let one = run(&["check", "fixtures", "--format", "json", "--threads", "1"]);
    let many = run(&["check", "fixtures", "--format", "json", "--threads", "4"]);
    let again = run(&["check", "fixtures", "--format", "json"]);
    assert_eq!(stdout(&one), stdout(&many));
    assert_eq!(stdout(&one), stdout(&again));
    assert!(json(&one)["summary"]["packages"].as_u64().unwrap() >= 4);
}

/// The human rendering of one fixture, compared with a stored snapshot. Set `UPDATE_SNAPSHOTS=1` to
/// rewrite it after an intended change, then review the diff.
#[test]
fn human_output_matches_snapshot() {
    let out = run(&[
        "check",
        "fixtures/axum-accounts",
        "--select",
        "all",
        "--no-color",
    ]);
    let got = stdout(&out);
    let path = repo().join("tests/snapshots/axum-accounts.human.txt");
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
        std::fs::write(&path, &got).unwrap();
    }
    let want = std::fs::read_to_string(&path).unwrap_or_default();
    assert_eq!(
        got, want,
        "human output changed; rerun with UPDATE_SNAPSHOTS=1 and review"
    );
    let err = stderr(&out);
    assert!(
        err.contains("error(s)") && err.contains("package(s)"),
        "summary line: {err}"
    );
}

#[test]
fn findings_in_a_multi_framework_workspace_belong_to_their_package() {
    let doc = json(&run(&[
        "check",
        "fixtures/mixed-workspace",
        "--select",
        "all",
        "--format",
        "json",
    ]));
    let findings = doc["findings"].as_array().unwrap();
    assert!(!findings.is_empty());
    for f in findings {
        let package = f["package"]
            .as_str()
            .unwrap_or_else(|| panic!("no package in {f}"));
        let file = f["file"].as_str().unwrap();
        assert!(
            file.contains(&format!("/services/{package}/")),
            "{package} finding in {file}"
        );
    }
    let frameworks: Vec<&str> = ["actix-web", "rocket"].into_iter().collect();
    let human = stdout(&run(&[
        "check",
        "fixtures/mixed-workspace",
        "--select",
        "all",
        "--no-color",
    ]));
    assert!(frameworks.iter().any(|f| human.contains(f)), "{human}");
}

#[test]
fn data_flow_findings_show_where_the_input_enters_and_the_calls_between() {
    let doc = json(&run(&[
        "check",
        "fixtures/actix-notes",
        "--select",
        "sql-injection",
        "--format",
        "json",
    ]));
    let f = &doc["findings"][0];
    assert_eq!(f["file"], "fixtures/actix-notes/src/archive.rs", "{f}");
    let labels: Vec<(String, u64, String)> = f["labels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            (
                l["file"].as_str().unwrap().to_string(),
                l["line"].as_u64().unwrap(),
                l["message"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let handler = "fixtures/actix-notes/src/api/archive.rs".to_string();
    assert!(
        labels.contains(&(handler.clone(), 13, "request input enters here".into())),
        "{labels:?}"
    );
    assert!(
        labels.iter().any(|(file, line, msg)| *file == handler
            && *line == 15
            && msg.contains("passes request input to `archive::search`")),
        "{labels:?}"
    );
}

#[test]
fn the_input_shown_is_the_one_that_reaches_the_sink() {
    let src = r#"
use axum::extract::{Path, Query, State};

#[derive(serde::Deserialize)]
struct Search { term: String }

async fn find(Path(org): Path<String>, State(pool): State<sqlx::PgPool>, Query(q): Query<Search>) -> String {
    let _ = org;
    let sql = format!("SELECT * FROM t WHERE name = '{}'", q.term);
    let _ = sqlx::query(&sql).fetch_all(&pool).await;
    String::new()
}
"#;
    let pkg = package(&[("src/main.rs", src)]);
    let doc = json(&run_in(
        pkg.path(),
        &["check", "--select", "sql-injection", "--format", "json"],
    ));
    let labels = doc["findings"][0]["labels"].as_array().unwrap();
    // The `Query` parameter (column 74) carries the term; the `Path` parameter does not reach the SQL.
    let at: Vec<(u64, u64)> = labels
        .iter()
        .map(|l| (l["line"].as_u64().unwrap(), l["column"].as_u64().unwrap()))
        .collect();
    assert_eq!(at, vec![(7, 74)], "{doc}");
}
