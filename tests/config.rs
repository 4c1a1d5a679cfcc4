//! Project configuration end to end: discovery of the file, selection by id and tag, severity overrides,
//! per-file ignores, excludes, fail-on, catalog extensions, located errors, and `portcullis init`.

mod common;
use common::*;

fn rules_of(doc: &serde_json::Value) -> Vec<String> {
    doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            format!(
                "{}:{}",
                f["rule"].as_str().unwrap(),
                f["severity"].as_str().unwrap()
            )
        })
        .collect()
}

fn check(pkg: &tempfile::TempDir, extra: &[&str]) -> std::process::Output {
    let mut args = vec!["check", pkg.path().to_str().unwrap(), "--format", "json"];
    args.extend_from_slice(extra);
    run(&args)
}

#[test]
fn selection_severity_and_fail_on_come_from_the_config() {
    let pkg = package(&[
        ("src/main.rs", PLAINTEXT_SERVICE),
        (
            "portcullis.toml",
            "select = [\"cwe-319\", \"unvalidated-input\"]\nfail-on = \"error\"\n[severity]\nunvalidated-input = \"note\"\n",
        ),
    ]);
    let out = check(&pkg, &[]);
    // CWE-319 would select plaintext-listener, but it is an audit-tier rule: a tag selects only
    // default-tier rules. The warning became a note, below `fail-on = "error"`.
    assert_eq!(rules_of(&json(&out)), vec!["unvalidated-input:note"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "a note is below fail-on = error"
    );
    // The command line replaces `select` and overrides `fail-on`; an audit rule named by its id runs.
    let out = check(&pkg, &["--select", "unvalidated-input,plaintext-listener"]);
    assert_eq!(
        rules_of(&json(&out)),
        vec!["unvalidated-input:note", "plaintext-listener:error"]
    );
    assert_eq!(out.status.code(), Some(1));
    let out = check(
        &pkg,
        &["--select", "unvalidated-input", "--fail-on", "note"],
    );
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn cargo_metadata_tables_are_configuration_too() {
    let pkg = package(&[("src/main.rs", PLAINTEXT_SERVICE)]);
    let manifest = pkg.path().join("Cargo.toml");
    let mut text = std::fs::read_to_string(&manifest).unwrap();
    text.push_str("\n[package.metadata.portcullis]\nselect = [\"all\"]\nignore = [\"missing-request-logging\", \"OWASP-API4:2023\"]\n");
    std::fs::write(&manifest, text).unwrap();
    let doc = json(&check(&pkg, &[]));
    assert_eq!(
        rules_of(&doc),
        vec![
            "unauthenticated-state-change:warning",
            "plaintext-listener:error"
        ]
    );
}

#[test]
fn per_file_ignores_and_excludes_apply_to_paths() {
    let pkg = package(&[
        ("src/main.rs", PLAINTEXT_SERVICE),
        ("src/generated/client.rs", "pub fn c() -> reqwest::Client { reqwest::Client::builder().danger_accept_invalid_certs(true).build().unwrap() }\n"),
        ("src/dev.rs", "pub fn d() -> reqwest::Client { reqwest::Client::builder().danger_accept_invalid_certs(true).build().unwrap() }\n"),
        (
            "portcullis.toml",
            "select = [\"tls-verification-disabled\", \"plaintext-listener\"]\nexclude = [\"src/generated/**\"]\n[per-file-ignores]\n\"src/main.rs\" = [\"plaintext-listener\"]\n",
        ),
    ]);
    let doc = json(&check(&pkg, &[]));
    let files: Vec<String> = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            f["file"]
                .as_str()
                .unwrap()
                .rsplit("src/")
                .next()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(files, vec!["dev.rs"]);
    assert_eq!(doc["summary"]["suppressed"], 1);
    // A file named on the command line is analysed even when excluded, unless --force-exclude.
    let generated = pkg.path().join("src/generated/client.rs");
    let g = generated.to_str().unwrap();
    let doc = json(&run(&["check", g, "--format", "json"]));
    assert_eq!(doc["findings"].as_array().unwrap().len(), 1);
    let doc = json(&run(&["check", g, "--format", "json", "--force-exclude"]));
    assert_eq!(doc["findings"].as_array().unwrap().len(), 0);
}

#[test]
fn catalog_extensions_teach_the_projects_auth_and_public_paths() {
    let src = PLAINTEXT_SERVICE.replace(
        "Router::new().route(\"/echo\", post(echo))",
        "Router::new().route(\"/echo\", post(echo)).route(\"/integrations/stripe\", post(echo)).layer(RequireUser::new())",
    );
    let pkg = package(&[("src/main.rs", &src)]);
    let doc = json(&check(&pkg, &["--select", "unauthenticated-state-change"]));
    assert_eq!(doc["findings"].as_array().unwrap().len(), 2, "{doc}");
    std::fs::write(
        pkg.path().join("portcullis.toml"),
        "[catalog]\nauth = [\"RequireUser::new\", \"RequireUser\"]\n",
    )
    .unwrap();
    let doc = json(&check(&pkg, &["--select", "unauthenticated-state-change"]));
    assert_eq!(doc["findings"].as_array().unwrap().len(), 0, "{doc}");
    std::fs::write(
        pkg.path().join("portcullis.toml"),
        "[catalog]\npublic-paths = [\"^/integrations/\"]\n",
    )
    .unwrap();
    let doc = json(&check(&pkg, &["--select", "unauthenticated-state-change"]));
    let paths: Vec<&str> = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["message"].as_str().unwrap())
        .collect();
    assert_eq!(paths.len(), 1, "{paths:?}");
    assert!(paths[0].contains("/echo"), "{paths:?}");
}

#[test]
fn a_broken_config_reports_every_error_located_and_exits_two() {
    let pkg = package(&[
        ("src/main.rs", PLAINTEXT_SERVICE),
        (
            "portcullis.toml",
            "selct = [\"plaintext-listener\"]\nignore = \"missing-rate-limit\"\n[severity]\nplaintext-listner = \"note\"\n",
        ),
    ]);
    let out = run(&["check", pkg.path().to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains("unknown key `selct`") && err.contains("did you mean `select`?"),
        "{err}"
    );
    assert!(err.contains("portcullis.toml:1:1"), "{err}");
    assert!(
        err.contains("`ignore` must be an array of strings"),
        "{err}"
    );
    assert!(err.contains("portcullis.toml:2:10"), "{err}");
    // Unknown rule ids are found once the schema is valid.
    std::fs::write(
        pkg.path().join("portcullis.toml"),
        "[severity]\nplaintext-listner = \"note\"\n",
    )
    .unwrap();
    let out = run(&["check", pkg.path().to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains("unknown rule `plaintext-listner`")
            && err.contains("did you mean `plaintext-listener`?"),
        "{err}"
    );
    assert!(err.contains("portcullis.toml:2:1"), "{err}");
    // `--config` names the file explicitly; a missing one is an error.
    let out = run(&[
        "check",
        pkg.path().to_str().unwrap(),
        "--config",
        "no/such.toml",
    ]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn init_writes_a_valid_commented_config_once() {
    let pkg = package(&[("src/main.rs", PLAINTEXT_SERVICE)]);
    let dir = pkg.path().to_str().unwrap();
    let out = run(&["init", dir]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = std::fs::read_to_string(pkg.path().join("portcullis.toml")).unwrap();
    assert!(text.lines().filter(|l| l.starts_with('#')).count() > 20);
    assert_eq!(run(&["init", dir]).status.code(), Some(2));
    assert_eq!(run(&["init", dir, "--force"]).status.code(), Some(0));
    // The starter configuration changes nothing.
    let with = json(&check(&pkg, &[]));
    std::fs::remove_file(pkg.path().join("portcullis.toml")).unwrap();
    let without = json(&check(&pkg, &[]));
    assert_eq!(with["findings"], without["findings"]);
}
