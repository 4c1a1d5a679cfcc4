//! The persistent cache never changes a result: output is byte-identical with and without it, cold or
//! warm, at any thread count, after a file changes, with damaged entries, with several runs sharing the
//! directory at once, and when the directory cannot be written. By default it lives in the user's cache
//! directory, never in the scanned tree.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A copy of some fixtures (a workspace, a broken file, a multi-package tree) to scan and change.
fn tree() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for fixture in [
        "axum-ledger",
        "axum-broken-file",
        "actix-payroll",
        "mixed-workspace",
    ] {
        copy(
            &common::repo().join("fixtures").join(fixture),
            &dir.path().join(fixture),
        );
    }
    dir
}

fn copy(from: &Path, to: &Path) {
    for e in walkdir::WalkDir::new(from)
        .into_iter()
        .filter_map(Result::ok)
    {
        let dest = to.join(e.path().strip_prefix(from).unwrap());
        if e.file_type().is_dir() {
            std::fs::create_dir_all(&dest).unwrap();
        } else {
            std::fs::copy(e.path(), &dest).unwrap();
        }
    }
}

/// Runs `check` on `dir` with only the environment given (no cache variables of the caller's).
fn check(dir: &Path, args: &[&str], env: &[(&str, &Path)]) -> Output {
    command(dir, args, env).output().expect("the binary runs")
}

/// `check . --select all --format json` in `dir`, with only the environment given.
fn command(dir: &Path, args: &[&str], env: &[(&str, &Path)]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_portcullis"));
    cmd.args(["check", ".", "--select", "all", "--format", "json"])
        .args(args)
        .current_dir(dir)
        .env_remove("PORTCULLIS_CACHE_DIR")
        .env_remove("XDG_CACHE_HOME")
        .env_remove("PORTCULLIS_DEBUG_MODEL")
        .env("NO_COLOR", "1");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd
}

fn with_cache(dir: &Path, cache: &Path, args: &[&str]) -> Output {
    let mut all = vec!["--cache-dir", cache.to_str().unwrap()];
    all.extend_from_slice(args);
    check(dir, &all, &[])
}

/// The findings part of the JSON output (the summary line on stderr has the run's time).
fn findings(o: &Output) -> String {
    assert!(
        o.status.code().is_some_and(|c| c <= 1),
        "exit {:?}: {}",
        o.status,
        common::stderr(o)
    );
    common::stdout(o)
}

fn entries(cache: &Path) -> Vec<PathBuf> {
    walkdir::WalkDir::new(cache)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file() && e.depth() >= 4)
        .map(|e| e.into_path())
        .collect()
}

fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    walkdir::WalkDir::new(dir)
        .into_iter()
        .filter_map(Result::ok)
        .map(|e| {
            let bytes = if e.file_type().is_file() {
                std::fs::read(e.path()).unwrap()
            } else {
                vec![]
            };
            (e.into_path(), bytes)
        })
        .collect()
}

#[test]
fn output_is_identical_with_and_without_the_cache_at_any_thread_count() {
    let tree = tree();
    let cache = tempfile::tempdir().unwrap();
    let expected = findings(&check(tree.path(), &["--no-cache"], &[]));
    assert!(expected.contains("parse-error"), "{expected}");
    let cold = findings(&with_cache(tree.path(), cache.path(), &[]));
    assert!(
        !entries(cache.path()).is_empty(),
        "the cold run stored entries"
    );
    let warm = findings(&with_cache(tree.path(), cache.path(), &[]));
    let warm_one_thread = findings(&with_cache(tree.path(), cache.path(), &["--threads", "1"]));
    let cold_one_thread = findings(&check(tree.path(), &["--no-cache", "--threads", "1"], &[]));
    for (name, out) in [
        ("cold", &cold),
        ("warm", &warm),
        ("warm, one thread", &warm_one_thread),
        ("no cache, one thread", &cold_one_thread),
    ] {
        assert_eq!(out, &expected, "{name}");
    }
}

#[test]
fn a_changed_file_is_analysed_again() {
    let tree = tree();
    let cache = tempfile::tempdir().unwrap();
    let before = findings(&with_cache(tree.path(), cache.path(), &[]));
    let handler = tree.path().join("axum-ledger/crates/api/src/handlers.rs");
    let text = std::fs::read_to_string(&handler).unwrap();
    // Moving every line down changes every finding's line in the file, and only there.
    std::fs::write(&handler, format!("// moved down\n{text}")).unwrap();
    let after = findings(&with_cache(tree.path(), cache.path(), &[]));
    assert_ne!(before, after);
    assert_eq!(after, findings(&check(tree.path(), &["--no-cache"], &[])));
}

#[test]
fn damaged_entries_are_ignored() {
    let tree = tree();
    let cache = tempfile::tempdir().unwrap();
    let expected = findings(&with_cache(tree.path(), cache.path(), &[]));
    let stored = entries(cache.path());
    assert!(stored.len() > 4);
    for (i, path) in stored.iter().enumerate() {
        let bytes = std::fs::read(path).unwrap();
        let damaged = match i % 4 {
            0 => bytes[..bytes.len() / 2].to_vec(),
            1 => {
                let mut b = bytes.clone();
                let n = b.len() - 1;
                b[n] ^= 0x55;
                b
            }
            2 => vec![],
            _ => b"not a cache entry".to_vec(),
        };
        std::fs::write(path, damaged).unwrap();
    }
    let out = with_cache(tree.path(), cache.path(), &[]);
    assert_eq!(findings(&out), expected);
    assert!(!common::stderr(&out).contains("panicked"));
    // The damaged entries were replaced: the next run answers every unit from the cache again.
    let answered = units_answered(tree.path(), cache.path());
    assert!(
        !answered.is_empty() && answered.iter().all(|(_, hit, _)| *hit),
        "{answered:?}"
    );
    assert_eq!(
        findings(&with_cache(tree.path(), cache.path(), &[])),
        expected
    );
}

#[test]
fn concurrent_runs_share_the_cache_safely() {
    let tree = tree();
    let cache = tempfile::tempdir().unwrap();
    let expected = findings(&check(tree.path(), &["--no-cache"], &[]));
    let cache_dir = ["--cache-dir", cache.path().to_str().unwrap()];
    let runs: Vec<std::process::Child> = (0..4)
        .map(|_| {
            command(tree.path(), &cache_dir, &[])
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for run in runs {
        assert_eq!(findings(&run.wait_with_output().unwrap()), expected);
    }
    let leftovers: Vec<PathBuf> = entries(cache.path())
        .into_iter()
        .filter(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with(".tmp-")
        })
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    assert_eq!(
        findings(&with_cache(tree.path(), cache.path(), &[])),
        expected
    );
}

#[test]
fn the_default_cache_is_outside_the_scanned_tree() {
    let tree = tree();
    let home = tempfile::tempdir().unwrap();
    let before = snapshot(tree.path());
    let out = check(tree.path(), &[], &[("HOME", home.path())]);
    findings(&out);
    assert_eq!(
        snapshot(tree.path()),
        before,
        "the scanned tree is untouched"
    );
    let cache = home.path().join(".cache/portcullis");
    assert!(
        !entries(&cache).is_empty(),
        "the cache is in ~/.cache/portcullis"
    );
    assert!(cache.join("CACHEDIR.TAG").is_file());
    let xdg = tempfile::tempdir().unwrap();
    findings(&check(
        tree.path(),
        &[],
        &[("HOME", home.path()), ("XDG_CACHE_HOME", xdg.path())],
    ));
    assert!(!entries(&xdg.path().join("portcullis")).is_empty());
    assert_eq!(snapshot(tree.path()), before);
}

#[test]
fn the_cache_directory_can_be_configured() {
    let tree = tree();
    let outside = tempfile::tempdir().unwrap();
    let dir = outside.path().join("from-config");
    std::fs::write(
        tree.path().join("portcullis.toml"),
        format!("cache-dir = {:?}\n", dir.to_str().unwrap()),
    )
    .unwrap();
    findings(&check(tree.path(), &[], &[]));
    assert!(!entries(&dir).is_empty());
    // The environment variable wins over the configuration, `--no-cache` over both.
    let env_dir = outside.path().join("from-env");
    findings(&check(
        tree.path(),
        &[],
        &[("PORTCULLIS_CACHE_DIR", &env_dir)],
    ));
    assert!(!entries(&env_dir).is_empty());
    let none = outside.path().join("never");
    findings(&check(
        tree.path(),
        &["--no-cache"],
        &[("PORTCULLIS_CACHE_DIR", &none)],
    ));
    assert!(!none.exists());
    std::fs::write(tree.path().join("portcullis.toml"), "cache-dir = 5\n").unwrap();
    let bad = check(tree.path(), &[], &[]);
    let said = format!("{}{}", common::stdout(&bad), common::stderr(&bad));
    assert_eq!(bad.status.code(), Some(2), "{said}");
    assert!(
        said.contains("`cache-dir` must be a directory path"),
        "{said}"
    );
}

#[test]
fn an_unwritable_cache_is_one_warning_and_a_normal_run() {
    let tree = tree();
    let expected = findings(&check(tree.path(), &["--no-cache"], &[]));
    // A regular file where the directory should be: no entry can be written, whoever runs the test.
    let blocker = tempfile::NamedTempFile::new().unwrap();
    let out = with_cache(tree.path(), blocker.path(), &[]);
    assert_eq!(findings(&out), expected);
    let warnings = common::stderr(&out)
        .matches("cannot write the cache")
        .count();
    assert_eq!(warnings, 1, "{}", common::stderr(&out));
}

/// Per unit, whether it was answered from the cache and how many files it lowered
/// (`PORTCULLIS_TIMINGS` reports each unit's stages).
fn units_answered(dir: &Path, cache: &Path) -> Vec<(String, bool, usize)> {
    let out = command(
        dir,
        &["--cache-dir", cache.to_str().unwrap()],
        &[("PORTCULLIS_TIMINGS", Path::new("1"))],
    )
    .output()
    .unwrap();
    let mut units: Vec<(String, bool, usize)> = common::stderr(&out)
        .lines()
        .filter_map(|l| l.strip_prefix("portcullis: timing: "))
        .map(|l| {
            let (unit, stages) = l.split_once(": ").unwrap();
            let lowered = stages
                .split_once(" file(s) lowered")
                .and_then(|(before, _)| before.rsplit('(').next()?.parse().ok())
                .unwrap_or(0);
            let answered = stages.contains(", cached ") && !stages.contains("front end");
            (unit.to_string(), answered, lowered)
        })
        .collect();
    units.sort();
    units
}

#[test]
fn a_warm_run_analyses_nothing_and_a_change_only_its_unit() {
    let tree = tree();
    let cache = tempfile::tempdir().unwrap();
    let cold = units_answered(tree.path(), cache.path());
    assert!(
        cold.len() > 4 && cold.iter().all(|(_, hit, _)| !hit),
        "{cold:?}"
    );
    assert!(cold.iter().any(|(_, _, lowered)| *lowered > 3), "{cold:?}");
    let warm = units_answered(tree.path(), cache.path());
    assert_eq!(warm.len(), cold.len());
    assert!(warm.iter().all(|(_, hit, _)| *hit), "{warm:?}");
    let file = tree.path().join("axum-ledger/crates/api/src/handlers.rs");
    let text = std::fs::read_to_string(&file).unwrap();
    std::fs::write(&file, format!("{text}\n// changed\n")).unwrap();
    let missed: Vec<(String, bool, usize)> = units_answered(tree.path(), cache.path())
        .into_iter()
        .filter(|(_, hit, _)| !hit)
        .collect();
    assert_eq!(missed.len(), 1, "{missed:?}");
    assert!(missed[0].0.starts_with("ledger-api "), "{missed:?}");
    assert_eq!(
        missed[0].2, 1,
        "only the changed file is lowered again: {missed:?}"
    );
}

#[test]
fn every_setting_that_changes_findings_changes_the_key() {
    let tree = tree();
    let cache = tempfile::tempdir().unwrap();
    // Each variant runs warm after the others, so a key that missed the setting would answer with
    // another variant's findings.
    let variants: Vec<Vec<&str>> = vec![
        vec![],
        vec!["--ignore", "plaintext-listener"],
        vec!["--ignore", "audit"],
        vec!["--max-file-size", "600"],
        vec!["--select", "all", "--ignore", "parse-error"],
    ];
    let mut seen = std::collections::BTreeSet::new();
    for round in 0..2 {
        for args in &variants {
            let expected = findings(&check(
                tree.path(),
                &[&["--no-cache"][..], args].concat(),
                &[],
            ));
            let got = findings(&with_cache(tree.path(), cache.path(), args));
            assert_eq!(got, expected, "round {round}, {args:?}");
            seen.insert(expected);
        }
    }
    assert_eq!(
        seen.len(),
        variants.len(),
        "every variant reports differently"
    );
    // A configuration setting read by the rules about suppressions.
    std::fs::write(
        tree.path().join("axum-ledger/portcullis.toml"),
        "require-suppression-reason = true\n",
    )
    .unwrap();
    let ledger = tree.path().join("axum-ledger");
    for _ in 0..2 {
        assert_eq!(
            findings(&with_cache(&ledger, cache.path(), &[])),
            findings(&check(&ledger, &["--no-cache"], &[]))
        );
    }
}

#[test]
fn a_cache_inside_the_scanned_tree_needs_an_explicit_flag() {
    let tree = tree();
    let before = snapshot(tree.path());
    // The tree's own configuration cannot make portcullis write into it.
    std::fs::write(
        tree.path().join("portcullis.toml"),
        "cache-dir = \".cache\"\n",
    )
    .unwrap();
    let out = check(tree.path(), &[], &[("HOME", tree.path())]);
    findings(&out);
    assert!(
        common::stderr(&out).contains("inside the scanned tree"),
        "{}",
        common::stderr(&out)
    );
    std::fs::remove_file(tree.path().join("portcullis.toml")).unwrap();
    // Nor can a home directory that is being scanned.
    let out = check(tree.path(), &[], &[("HOME", tree.path())]);
    assert!(common::stderr(&out).contains("inside the scanned tree"));
    assert_eq!(snapshot(tree.path()), before);
    // `--cache-dir` says so explicitly.
    let inside = tree.path().join("cache-here");
    findings(&with_cache(tree.path(), &inside, &[]));
    assert!(!entries(&inside).is_empty());
}
