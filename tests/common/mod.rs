#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The cache every test run shares (inside the build directory, never a scanned tree): later runs of
/// the same sources answer from it, so the tests exercise the cached path too.
/// Every bundled fixture service's directory, sorted.
pub fn fixture_paths() -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(repo().join("fixtures"))
        .unwrap()
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    assert!(dirs.len() >= 4, "fixtures are missing: {dirs:?}");
    dirs
}

pub fn test_cache() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("portcullis-cache")
}

/// Runs the real binary from `dir`.
pub fn run_in(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_portcullis"))
        .args(args)
        .current_dir(dir)
        .env_remove("PORTCULLIS_DEBUG_MODEL")
        .env("PORTCULLIS_CACHE_DIR", test_cache())
        .env("NO_COLOR", "1")
        .output()
        .expect("the binary runs")
}

pub fn run(args: &[&str]) -> Output {
    run_in(&repo(), args)
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

pub fn json(o: &Output) -> serde_json::Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}):\n{}\nstderr:\n{}",
            stdout(o),
            stderr(o)
        )
    })
}

/// A throwaway Cargo package with the given files.
pub fn package(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("Cargo.toml"),
        "[package]\nname = \"scratch\"\nversion = \"0.1.0\"\nedition = \"2021\"\n",
    )
    .unwrap();
    for (name, text) in files {
        let p = dir.path().join(name);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }
    dir
}

/// One field (`file`, `rule`, `message`) of every finding, in output order.
pub fn finding_field(doc: &serde_json::Value, key: &str) -> Vec<String> {
    doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f[key].as_str().unwrap_or_default().to_string())
        .collect()
}

/// `rule file:line` for every finding, with `file` relative to `strip`.
pub fn finding_lines(doc: &serde_json::Value, strip: &str) -> Vec<String> {
    doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            let file = f["file"].as_str().unwrap();
            let file = file.strip_prefix(strip).unwrap_or(file);
            format!("{} {}:{}", f["rule"].as_str().unwrap(), file, f["line"])
        })
        .collect()
}

/// A small axum service with several findings: an unvalidated JSON body, an unauthenticated POST, a
/// plaintext listener, no rate limit, no request logging.
pub const PLAINTEXT_SERVICE: &str = r#"
use axum::{routing::post, Json, Router};

async fn echo(Json(v): Json<serde_json::Value>) -> Json<serde_json::Value> {
    SEEN.lock().unwrap().push(v.clone()); Json(v)
}

#[tokio::main]
async fn main() {
    let app = Router::new().route("/echo", post(echo));
    let listener = tokio::net::TcpListener::bind("0.0.0.0:8080").await.unwrap();
    axum::serve(listener, app).await.unwrap();
}

static SEEN: std::sync::Mutex<Vec<serde_json::Value>> = std::sync::Mutex::new(Vec::new());
"#;

/// A project configuration that runs every rule, audit tier included: most of the test service's findings
/// come from audit-tier rules.
pub const EVERY_TIER: &str = "select = [\"all\"]\n";

/// `git` in `dir` with a fixed identity and no signing, as tests need it on any machine.
pub fn git_in(dir: &Path) -> Command {
    let mut cmd = Command::new("git");
    cmd.args([
        "-c",
        "user.email=ci@example.invalid",
        "-c",
        "user.name=CI",
        "-c",
        "commit.gpgsign=false",
    ])
    .current_dir(dir)
    // Hooks run portcullis: it uses the tests' cache, not the user's.
    .env("PORTCULLIS_CACHE_DIR", test_cache());
    cmd
}
