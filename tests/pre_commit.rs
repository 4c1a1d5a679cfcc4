//! The pre-commit hook end to end with the real `pre-commit` tool: a commit that stages a vulnerable
//! file is refused with the finding shown; after the fix it goes through. The hook definition is taken
//! from the repository's `.pre-commit-hooks.yaml`. `.ci/run` installs pre-commit and sets
//! `PORTCULLIS_REQUIRE_PRE_COMMIT=1`, so this cannot pass by being skipped there.

mod common;
use common::*;
use std::path::Path;
use std::process::{Command, Output};

fn pre_commit() -> Option<Vec<String>> {
    for cmd in [vec!["pre-commit"], vec!["python3", "-m", "pre_commit"]] {
        let ok = Command::new(cmd[0])
            .args(&cmd[1..])
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success());
        if ok {
            return Some(cmd.iter().map(|s| s.to_string()).collect());
        }
    }
    None
}

fn git(dir: &Path, args: &[&str], path_env: &str, home: &Path) -> Output {
    git_in(dir)
        .args(args)
        .env("PATH", path_env)
        .env("PRE_COMMIT_HOME", home)
        .env("NO_COLOR", "1")
        .output()
        .expect("git runs")
}

/// The `portcullis-system` hook of `.pre-commit-hooks.yaml`, as a `repo: local` configuration.
fn local_config() -> String {
    let manifest = std::fs::read_to_string(repo().join(".pre-commit-hooks.yaml")).unwrap();
    let start = manifest
        .find("- id: portcullis-system")
        .expect("the system hook is defined");
    let block: String = manifest[start..]
        .lines()
        .take_while(|l| !l.is_empty())
        .enumerate()
        .take_while(|(i, l)| *i == 0 || !l.starts_with("- "))
        .map(|(_, l)| format!("      {l}\n"))
        .collect();
    format!("repos:\n  - repo: local\n    hooks:\n{block}")
}

const CLIENT_BAD: &str = "pub fn sandbox() -> reqwest::Client {\n    reqwest::Client::builder().danger_accept_invalid_certs(true).build().unwrap()\n}\n";

#[test]
fn a_commit_with_a_finding_is_refused_until_it_is_fixed() {
    let Some(pc) = pre_commit() else {
        assert!(
            std::env::var_os("PORTCULLIS_REQUIRE_PRE_COMMIT").is_none(),
            "pre-commit is required here but not installed"
        );
        eprintln!("pre-commit is not installed: skipping the end-to-end hook test");
        return;
    };
    let pkg = package(&[
        ("src/lib.rs", "pub mod client;\npub mod legacy;\n"),
        ("src/legacy.rs", CLIENT_BAD),
        (
            "src/client.rs",
            "pub fn client() -> reqwest::Client {\n    reqwest::Client::new()\n}\n",
        ),
    ]);
    let dir = pkg.path();
    std::fs::write(dir.join(".pre-commit-config.yaml"), local_config()).unwrap();
    let home = tempfile::tempdir().unwrap();
    let bin_dir = Path::new(env!("CARGO_BIN_EXE_portcullis"))
        .parent()
        .unwrap();
    let path_env = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );

    assert!(
        git(dir, &["init", "-q", "-b", "main"], &path_env, home.path())
            .status
            .success()
    );
    // The existing finding in legacy.rs is committed before the hook is installed.
    git(dir, &["add", "."], &path_env, home.path());
    assert!(git(
        dir,
        &["commit", "-q", "-m", "initial"],
        &path_env,
        home.path()
    )
    .status
    .success());
    let install = Command::new(&pc[0])
        .args(&pc[1..])
        .arg("install")
        .current_dir(dir)
        .env("PRE_COMMIT_HOME", home.path())
        .env("PORTCULLIS_CACHE_DIR", test_cache())
        .output()
        .unwrap();
    assert!(
        install.status.success(),
        "{}",
        String::from_utf8_lossy(&install.stderr)
    );

    // Staging a vulnerable change: the commit is refused and the finding shown.
    std::fs::write(
        dir.join("src/client.rs"),
        CLIENT_BAD.replace("sandbox", "client"),
    )
    .unwrap();
    git(dir, &["add", "src/client.rs"], &path_env, home.path());
    let refused = git(
        dir,
        &["commit", "-m", "use the sandbox client"],
        &path_env,
        home.path(),
    );
    let shown = format!(
        "{}{}",
        String::from_utf8_lossy(&refused.stdout),
        String::from_utf8_lossy(&refused.stderr)
    );
    assert!(
        !refused.status.success(),
        "the commit went through:\n{shown}"
    );
    assert!(shown.contains("tls-verification-disabled"), "{shown}");
    assert!(shown.contains("src/client.rs"), "{shown}");
    // Only the staged file is reported, though its whole package was analysed.
    assert!(!shown.contains("src/legacy.rs"), "{shown}");

    // After the fix the commit goes through.
    std::fs::write(dir.join("src/client.rs"), "pub fn client() -> reqwest::Client {\n    reqwest::Client::builder().build().unwrap()\n}\n").unwrap();
    git(dir, &["add", "src/client.rs"], &path_env, home.path());
    let ok = git(
        dir,
        &["commit", "-m", "use a verifying client"],
        &path_env,
        home.path(),
    );
    assert!(
        ok.status.success(),
        "{}{}",
        String::from_utf8_lossy(&ok.stdout),
        String::from_utf8_lossy(&ok.stderr)
    );
}

#[test]
fn the_hook_manifest_is_valid() {
    let Some(pc) = pre_commit() else {
        assert!(std::env::var_os("PORTCULLIS_REQUIRE_PRE_COMMIT").is_none());
        return;
    };
    let out = Command::new(&pc[0])
        .args(&pc[1..])
        .args(["validate-manifest", ".pre-commit-hooks.yaml"])
        .current_dir(repo())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}
