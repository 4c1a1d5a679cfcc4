//! Baselines: recorded findings stay hidden across edits that move them; new ones are reported.

mod common;
use common::*;

#[test]
fn a_baseline_hides_recorded_findings_even_when_lines_move() {
    let pkg = package(&[
        ("src/main.rs", PLAINTEXT_SERVICE),
        ("portcullis.toml", EVERY_TIER),
    ]);
    let dir = pkg.path().to_str().unwrap();
    let baseline = pkg.path().join("portcullis-baseline.json");
    let b = baseline.to_str().unwrap();
    let before = json(&run(&["check", dir, "--format", "json"]));
    let recorded = before["findings"].as_array().unwrap().len();
    assert!(recorded >= 4);
    let out = run(&["check", dir, "--write-baseline", b]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&baseline).unwrap()).unwrap();
    assert_eq!(doc["findings"].as_array().unwrap().len(), recorded);
    assert_eq!(doc["findings"][0]["file"], "src/main.rs");

    // Unrelated edits move every line down; nothing new is reported.
    let moved = format!("//! The echo service.\n\nuse std::time::Duration;\n{PLAINTEXT_SERVICE}\nfn _unused(_: Duration) {{}}\n");
    std::fs::write(pkg.path().join("src/main.rs"), &moved).unwrap();
    let out = run(&["check", dir, "--format", "json", "--baseline", b]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    let doc = json(&out);
    assert_eq!(doc["findings"].as_array().unwrap().len(), 0, "{doc}");
    assert_eq!(doc["summary"]["baselined"], recorded);

    // A new finding is reported, the old ones stay hidden; the baseline works from another directory.
    let added = moved.replace(
        "    axum::serve(listener, app)",
        "    let admin = tokio::net::TcpListener::bind(\"0.0.0.0:9000\").await.unwrap();\n    axum::serve(admin, Router::new()).await.unwrap();\n    axum::serve(listener, app)",
    );
    std::fs::write(pkg.path().join("src/main.rs"), &added).unwrap();
    let out = run_in(
        pkg.path(),
        &[
            "check",
            ".",
            "--format",
            "json",
            "--baseline",
            "portcullis-baseline.json",
        ],
    );
    let doc = json(&out);
    let rules: Vec<&str> = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["rule"].as_str().unwrap())
        .collect();
    assert!(rules.contains(&"plaintext-listener"), "{rules:?}");
    assert!(doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .all(|f| f["message"].as_str().unwrap().contains("9000")
            || f["rule"] != "plaintext-listener"));
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn a_missing_or_foreign_baseline_is_a_usage_error() {
    let pkg = package(&[
        ("src/main.rs", PLAINTEXT_SERVICE),
        ("portcullis.toml", EVERY_TIER),
    ]);
    let dir = pkg.path().to_str().unwrap();
    let out = run(&["check", dir, "--baseline", "no/such/baseline.json"]);
    assert_eq!(out.status.code(), Some(2));
    std::fs::write(pkg.path().join("other.json"), "{\"findings\": 3}").unwrap();
    let out = run(&[
        "check",
        dir,
        "--baseline",
        pkg.path().join("other.json").to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("is not a portcullis baseline"),
        "{}",
        stderr(&out)
    );
}
