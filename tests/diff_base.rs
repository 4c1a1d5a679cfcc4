//! `--diff-base`: on a real git repository, only findings on changed lines (and untracked files) are
//! reported, while the whole package is still analysed.

mod common;
use common::*;
fn git(dir: &std::path::Path, args: &[&str]) {
    let ok = git_in(dir).args(args).output().expect("git runs");
    assert!(
        ok.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&ok.stderr)
    );
}

const CLIENT: &str = "pub fn sandbox() -> reqwest::Client {\n    reqwest::Client::builder().danger_accept_invalid_certs(true).build().unwrap()\n}\n";

#[test]
fn only_changed_lines_are_reported() {
    let pkg = package(&[
        ("src/lib.rs", "pub mod client;\n"),
        ("src/client.rs", CLIENT),
    ]);
    let dir = pkg.path();
    git(dir, &["init", "-q", "-b", "main"]);
    git(dir, &["add", "."]);
    git(dir, &["commit", "-q", "-m", "initial"]);
    let changed = format!(
        "{CLIENT}\npub fn staging() -> reqwest::Client {{\n    reqwest::Client::builder().danger_accept_invalid_certs(true).build().unwrap()\n}}\n"
    );
    std::fs::write(dir.join("src/client.rs"), changed).unwrap();
    std::fs::write(dir.join("src/extra.rs"), CLIENT).unwrap();
    let d = dir.to_str().unwrap();
    let all = json(&run(&[
        "check",
        d,
        "--format",
        "json",
        "--select",
        "tls-verification-disabled",
    ]));
    assert_eq!(all["findings"].as_array().unwrap().len(), 3);
    let out = run(&[
        "check",
        d,
        "--format",
        "json",
        "--select",
        "tls-verification-disabled",
        "--diff-base",
        "HEAD",
    ]);
    let doc = json(&out);
    let lines = finding_lines(&doc, &format!("{d}/"));
    assert_eq!(
        lines,
        vec![
            "tls-verification-disabled src/client.rs:6",
            "tls-verification-disabled src/extra.rs:2"
        ],
        "{doc}"
    );
    let out = run(&["check", d, "--diff-base", "no-such-rev"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("is not a commit"), "{}", stderr(&out));
}
