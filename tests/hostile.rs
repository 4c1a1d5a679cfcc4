//! Hostile input, built on the fly: pathological sources, hostile trees, hostile rules, a failure inside
//! portcullis, and proof that a scan changes nothing and runs nothing of the scanned project.

mod common;
use common::*;
use std::collections::BTreeMap;
use std::path::Path;

const BAD_CLIENT: &str = "pub fn c() -> reqwest::Client {\n    reqwest::Client::builder().danger_accept_invalid_certs(true).build().unwrap()\n}\n";

fn findings(out: &std::process::Output) -> Vec<(String, String)> {
    json(out)["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            let file = f["file"].as_str().unwrap();
            let name = file.rsplit('/').next().unwrap().to_string();
            (f["rule"].as_str().unwrap().to_string(), name)
        })
        .collect()
}

/// The run finished and still reported `BAD_CLIENT` in `lib.rs`: the hostile file hid nothing.
fn assert_bad_client_reported(out: &std::process::Output) {
    assert_eq!(out.status.code(), Some(1), "{}", stderr(out));
    assert!(
        findings(out).contains(&("tls-verification-disabled".into(), "lib.rs".into())),
        "{}",
        stderr(out)
    );
}

fn check_json(dir: &Path, extra: &[&str]) -> std::process::Output {
    let mut args = vec!["check", dir.to_str().unwrap(), "--format", "json"];
    args.extend_from_slice(extra);
    run(&args)
}

#[test]
fn pathologically_nested_sources_are_refused_and_the_rest_is_analysed() {
    let n = 100_000;
    let pkg = package(&[
        ("src/lib.rs", BAD_CLIENT),
        (
            "src/parens.rs",
            &format!(
                "fn f() {{ let x = {}1{}; }}\n",
                "(".repeat(n),
                ")".repeat(n)
            ),
        ),
        (
            "src/bangs.rs",
            &format!("fn f() -> bool {{ {}true }}\n", "!".repeat(n)),
        ),
        (
            "src/types.rs",
            &format!("type T = {}u8{};\n", "Vec<".repeat(n), ">".repeat(n)),
        ),
        (
            "src/blocks.rs",
            &format!("fn f() {}{}\n", "{".repeat(n), "}".repeat(n)),
        ),
        (
            "src/sums.rs",
            &format!("fn f() -> u64 {{ 1{} }}\n", "+1".repeat(n)),
        ),
        (
            "src/short_sums.rs",
            &format!("fn g() -> u64 {{ 1{} }}\n", "+1".repeat(1000)),
        ),
    ]);
    let out = check_json(pkg.path(), &[]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let got = findings(&out);
    for f in ["parens.rs", "bangs.rs", "types.rs", "blocks.rs", "sums.rs"] {
        assert!(
            got.contains(&("parse-error".into(), f.into())),
            "{f}: {got:?}"
        );
    }
    assert!(
        got.contains(&("tls-verification-disabled".into(), "lib.rs".into())),
        "{got:?}"
    );
    // Ordinary long expressions are analysed.
    assert!(!got.iter().any(|(_, f)| f == "short_sums.rs"), "{got:?}");
}

#[test]
fn constants_that_refer_to_each_other_do_not_recurse_forever() {
    // Constant initialisers are evaluated where they are used; a cycle (directly, or through a foreign
    // constant of the same name: `Modifier::DIM` in `const DIM`) used to recurse until the stack overflowed.
    let pkg = package(&[
        ("src/lib.rs", BAD_CLIENT),
        (
            "src/main.rs",
            "use ratatui::style::{Modifier, Style};\n\
             const DIM: Style = Style::new().add_modifier(Modifier::DIM);\n\
             const A: Style = B.add_modifier(Modifier::BOLD);\nconst B: Style = A;\n\
             fn main() { let x = (DIM, A); run(x); }\n",
        ),
    ]);
    assert_bad_client_reported(&check_json(pkg.path(), &[]));
}

#[test]
fn python_re_exports_that_go_round_do_not_recurse_forever() {
    // `loop/__init__.py` takes `create_app` from `loop.api`, which takes it from `loop`: nobody defines
    // it. Looking the name up (to serve the app uvicorn names) used to recurse until the stack
    // overflowed, as on Prefect's package.
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in [
        (
            "pyproject.toml",
            "[project]\nname = \"loop\"\ndependencies = [\"fastapi\"]\n",
        ),
        ("loop/__init__.py", "from loop.api import create_app\n"),
        (
            "loop/api.py",
            "import uvicorn\nfrom loop import create_app\n\nuvicorn.run(\"loop.api:create_app\", factory=True)\n",
        ),
        (
            "loop/client.py",
            "import requests\n\n\ndef fetch():\n    return requests.get(\"https://example.com\", verify=False)\n",
        ),
    ] {
        let p = dir.path().join(name);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }
    let out = check_json(dir.path(), &[]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        findings(&out).contains(&("tls-verification-disabled".into(), "client.py".into())),
        "{}",
        stderr(&out)
    );
}

#[test]
fn nested_blocks_are_walked_once_by_the_cookie_analysis() {
    // A function that sends something (`insert`) is walked statement by statement for cookies; a `let`
    // whose value is a block used to be walked again for its value, so 30 nested blocks took minutes.
    let depth = 60;
    let mut body = String::from("x");
    for i in 0..depth {
        body = format!("{{ let v{i} = {body}; v{i} }}");
    }
    let pkg = package(&[
        ("src/lib.rs", BAD_CLIENT),
        (
            "src/nested.rs",
            &format!(
                "pub fn f(m: &mut std::collections::HashMap<u8, u8>, x: u8) -> u8 {{
    m.insert(1, 2);
    let r = {body};
    r
}}
"
            ),
        ),
    ]);
    assert_bad_client_reported(&check_json(pkg.path(), &[]));
}

#[test]
fn huge_files_respect_the_size_limit_and_long_lines_are_fine() {
    // Generated code: a large data table and its accessor.
    let big = format!(
        "pub static TABLE: &str = \"{}\";\npub fn table() -> &'static str {{ TABLE }}\n",
        "0123456789abcdef".repeat(600_000)
    );
    assert!(big.len() > 8 << 20);
    let long_line = format!("pub const DATA: &[u8] = &[{}];\n", "7, ".repeat(300_000));
    let pkg = package(&[
        ("src/lib.rs", BAD_CLIENT),
        ("src/generated.rs", &big),
        ("src/table.rs", &long_line),
    ]);
    let out = check_json(pkg.path(), &[]);
    let doc = json(&out);
    let too_big = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["file"].as_str().unwrap().ends_with("generated.rs"))
        .expect("the large file is reported");
    assert_eq!(too_big["rule"], "parse-error");
    assert!(
        too_big["message"]
            .as_str()
            .unwrap()
            .contains("--max-file-size"),
        "{too_big}"
    );
    assert!(findings(&out).contains(&("tls-verification-disabled".into(), "lib.rs".into())));
    assert!(!findings(&out).iter().any(|(_, f)| f == "table.rs"));
    // Raised limit: analysed.
    let out = check_json(pkg.path(), &["--max-file-size", "100000000"]);
    assert!(
        !findings(&out).iter().any(|(_, f)| f == "generated.rs"),
        "{:?}",
        findings(&out)
    );
}

#[test]
fn binary_and_non_utf8_files_are_reported_per_file() {
    let pkg = package(&[("src/lib.rs", BAD_CLIENT)]);
    std::fs::write(pkg.path().join("src/latin1.rs"), b"// caf\xe9\nfn x() {}\n").unwrap();
    let mut binary = vec![0x7f, b'E', b'L', b'F', 2, 1, 1, 0];
    binary.extend((0..4096u32).map(|i| (i * 31 % 251) as u8));
    std::fs::write(pkg.path().join("src/blob.rs"), &binary).unwrap();
    std::fs::write(pkg.path().join("src/nul.rs"), "fn a() {}\0\0\0fn b() {}\n").unwrap();
    let out = check_json(pkg.path(), &[]);
    let got = findings(&out);
    for f in ["latin1.rs", "blob.rs", "nul.rs"] {
        assert!(
            got.contains(&("parse-error".into(), f.into())),
            "{f}: {got:?}"
        );
    }
    assert!(got.contains(&("tls-verification-disabled".into(), "lib.rs".into())));
}

#[cfg(unix)]
#[test]
fn hostile_trees_symlinks_odd_names_and_missing_paths() {
    use std::os::unix::ffi::OsStrExt;
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("secret.rs"), BAD_CLIENT).unwrap();
    let pkg = package(&[("src/lib.rs", "pub fn ok() {}\n")]);
    // A loop and a link out of the tree: neither is followed.
    std::os::unix::fs::symlink(pkg.path(), pkg.path().join("src/loop")).unwrap();
    std::os::unix::fs::symlink(
        outside.path().join("secret.rs"),
        pkg.path().join("src/linked.rs"),
    )
    .unwrap();
    std::os::unix::fs::symlink(outside.path(), pkg.path().join("src/outside")).unwrap();
    // A file name that is not UTF-8.
    let odd = pkg
        .path()
        .join("src")
        .join(std::ffi::OsStr::from_bytes(b"caf\xe9.rs"));
    std::fs::write(&odd, BAD_CLIENT).unwrap();
    let out = check_json(pkg.path(), &[]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let files = finding_field(&json(&out), "file");
    assert_eq!(files.len(), 1, "{files:?}");
    assert!(files[0].ends_with("src/caf\u{fffd}.rs"), "{files:?}");

    // An empty directory is clean; a path that does not exist is a usage error.
    let empty = tempfile::tempdir().unwrap();
    let out = check_json(empty.path(), &[]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(json(&out)["summary"]["files"], 0);
    let out = run(&["check", "definitely/not/here"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("cannot read `definitely/not/here`"),
        "{}",
        stderr(&out)
    );
}

#[cfg(unix)]
#[test]
fn symlinks_are_followed_only_when_asked_and_each_file_is_analysed_once() {
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("secret.rs"), BAD_CLIENT).unwrap();
    let pkg = package(&[
        ("src/lib.rs", "pub fn ok() {}\n"),
        ("src/inner.rs", BAD_CLIENT),
    ]);
    let link = |target: &Path, name: &str| {
        std::os::unix::fs::symlink(target, pkg.path().join("src").join(name)).unwrap()
    };
    link(pkg.path(), "loop");
    link(outside.path(), "outside");
    link(Path::new("/definitely/not/here"), "dangling.rs");
    // Sorted first, so walked first: the real location must still win.
    link(&pkg.path().join("src/inner.rs"), "alias.rs");
    // Reading either would never end: only regular files are read, even through a followed link.
    link(Path::new("/dev/zero"), "zero.rs");
    let fifo = std::ffi::CString::new(pkg.path().join("src/pipe.rs").to_str().unwrap()).unwrap();
    assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o644) }, 0);
    let messages = |out: &std::process::Output| finding_field(&json(out), "message");

    let out = check_json(pkg.path(), &[]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let got = messages(&out);
    assert_eq!(got.len(), 1, "{got:?}");
    assert!(got[0].contains("`inner::c`"), "{got:?}");

    // Followed: the tree outside is analysed, the loop ends, the dangling link is nothing, and the file
    // reachable twice is analysed once, under its real module path.
    let out = check_json(pkg.path(), &["--follow-symlinks"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let mut got = messages(&out);
    got.sort();
    assert_eq!(got.len(), 2, "{got:?}");
    assert!(got[0].contains("`inner::c`"), "{got:?}");
    assert!(got[1].contains("`outside::secret::c`"), "{got:?}");
    assert_eq!(json(&out)["summary"]["files"], 4, "{}", stdout(&out));

    // The same from the project configuration.
    std::fs::write(
        pkg.path().join("portcullis.toml"),
        "follow-symlinks = true\n",
    )
    .unwrap();
    let from_config = check_json(pkg.path(), &[]);
    assert_eq!(messages(&from_config).len(), 2, "{}", stdout(&from_config));
    std::fs::write(
        pkg.path().join("portcullis.toml"),
        "follow-symlinks = \"yes\"\n",
    )
    .unwrap();
    let bad = check_json(pkg.path(), &[]);
    assert_eq!(bad.status.code(), Some(2));
    // With `--format json`, configuration errors are JSON on stdout too.
    assert!(
        stdout(&bad).contains("`follow-symlinks` must be true or false"),
        "{}",
        stdout(&bad)
    );
}

/// Runs portcullis as an unprivileged user, since root reads anything: directly when not root, through
/// `setpriv` as `nobody` when root; `None` when neither is possible.
#[cfg(unix)]
fn run_unprivileged(dir: &Path, args: &[&str]) -> Option<std::process::Output> {
    let uid = std::process::Command::new("id").arg("-u").output().ok()?;
    let root = String::from_utf8_lossy(&uid.stdout).trim() == "0";
    let mut cmd = if root {
        let mut c = std::process::Command::new("setpriv");
        c.args(["--reuid=65534", "--regid=65534", "--clear-groups"]);
        c.arg(env!("CARGO_BIN_EXE_portcullis"));
        c
    } else {
        std::process::Command::new(env!("CARGO_BIN_EXE_portcullis"))
    };
    // Nobody may write the shared test cache: an unprivileged run uses none.
    let args: Vec<&str> = match args.split_first() {
        Some((&"check", rest)) => ["check", "--no-cache"]
            .into_iter()
            .chain(rest.iter().copied())
            .collect(),
        _ => args.to_vec(),
    };
    cmd.args(&args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .output()
        .ok()
        .filter(|o| !(root && o.status.code() == Some(127)))
}

#[cfg(unix)]
#[test]
fn an_unreadable_directory_is_reported_where_no_package_is_found() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let locked = dir.path().join("service");
    std::fs::create_dir(&locked).unwrap();
    std::fs::write(locked.join("Cargo.toml"), "[package]\nname = \"s\"\n").unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o000)).unwrap();
    let out = run_unprivileged(dir.path(), &["check", ".", "--format", "json"]);
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o755)).unwrap();
    let Some(out) = out else {
        eprintln!("skipped: no way to run as an unprivileged user here");
        return;
    };
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let doc = json(&out);
    assert_eq!(finding_field(&doc, "rule"), ["parse-error"]);
    assert_eq!(finding_field(&doc, "file"), ["service"]);
}

#[cfg(unix)]
#[test]
fn unreadable_files_and_directories_are_reported_not_lost() {
    use std::os::unix::fs::PermissionsExt;
    let pkg = package(&[
        ("src/lib.rs", BAD_CLIENT),
        ("src/private/a.rs", "fn y() {}\n"),
    ]);
    std::fs::write(pkg.path().join("src/locked.rs"), "fn x() {}\n").unwrap();
    let mode = |p: &str, m: u32| {
        std::fs::set_permissions(pkg.path().join(p), std::fs::Permissions::from_mode(m)).unwrap()
    };
    // The scratch directory is private to its creator; the unprivileged user must be able to enter it.
    std::fs::set_permissions(pkg.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    mode("src/locked.rs", 0o000);
    mode("src/private", 0o000);
    let out = run_unprivileged(pkg.path(), &["check", ".", "--format", "json"]);
    mode("src/private", 0o755);
    let Some(out) = out else {
        eprintln!("skipped: no way to run as an unprivileged user here");
        return;
    };
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let doc = json(&out);
    let found: Vec<(String, String)> = finding_field(&doc, "rule")
        .into_iter()
        .zip(finding_field(&doc, "file"))
        .collect();
    let found: Vec<(&str, &str)> = found
        .iter()
        .map(|(r, f)| (r.as_str(), f.as_str()))
        .collect();
    assert_eq!(
        found,
        [
            ("tls-verification-disabled", "src/lib.rs"),
            ("parse-error", "src/locked.rs"),
            ("parse-error", "src/private"),
        ],
    );
    let messages = finding_field(&doc, "message");
    assert!(
        messages[1].starts_with("cannot read file: "),
        "{messages:?}"
    );
    assert!(
        messages[2].starts_with("cannot read directory: ") && messages[2].contains("not analysed"),
        "{messages:?}"
    );
    let help = finding_field(&doc, "help");
    assert!(help[2].starts_with("make it readable"), "{help:?}");
}

#[test]
fn a_failure_inside_portcullis_is_contained_to_its_file() {
    let pkg = package(&[
        ("src/lib.rs", BAD_CLIENT),
        ("src/cursed.rs", "pub fn c() {}\n"),
    ]);
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_portcullis"))
        .args(["check", pkg.path().to_str().unwrap(), "--format", "json"])
        .env("PORTCULLIS_INJECT_PANIC", "cursed.rs")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    let got = findings(&out);
    assert!(
        got.contains(&("internal-error".into(), "cursed.rs".into())),
        "{got:?}"
    );
    assert!(
        got.contains(&("tls-verification-disabled".into(), "lib.rs".into())),
        "{got:?}"
    );
}

#[test]
fn hostile_rules_are_located_errors_never_hangs_or_panics() {
    let pkg = package(&[("src/lib.rs", BAD_CLIENT)]);
    let rules = tempfile::tempdir().unwrap();
    // Catastrophic backtracking in other engines; linear here, on a long argument text.
    std::fs::write(
        rules.path().join("slow.toml"),
        r#"id = "slow-regex"
title = "t"
severity = "warning"
category = "x"
tags = ["CWE-1333"]
description = "d"
message = "m"
help = "h"
[[match]]
target = "call"
when = { prop = "statement", matches = "^(a+)+$" }
[[example]]
bad = "fn f() { g(\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"); }"
good = "fn f() {}"
"#,
    )
    .unwrap();
    let long = format!(
        "pub fn f() {{ let s = \"{}!\"; g(s); }}\n",
        "a".repeat(50_000)
    );
    std::fs::write(pkg.path().join("src/long.rs"), long).unwrap();
    let out = run(&[
        "check",
        pkg.path().to_str().unwrap(),
        "--rules",
        rules.path().to_str().unwrap(),
        "--select",
        "slow-regex",
    ]);
    assert!(
        matches!(out.status.code(), Some(0) | Some(1)),
        "{}",
        stderr(&out)
    );
    // Duplicate ids, invalid TOML and unknown placeholders: all reported at once, exit 2.
    std::fs::write(
        rules.path().join("dup.toml"),
        std::fs::read_to_string(rules.path().join("slow.toml")).unwrap(),
    )
    .unwrap();
    std::fs::write(rules.path().join("broken.toml"), "id = \"x\"\ntitle = [\n").unwrap();
    std::fs::write(
        rules.path().join("placeholder.toml"),
        std::fs::read_to_string(rules.path().join("slow.toml"))
            .unwrap()
            .replace("slow-regex", "other")
            .replace("message = \"m\"", "message = \"{nope}\""),
    )
    .unwrap();
    let out = run(&[
        "check",
        pkg.path().to_str().unwrap(),
        "--rules",
        rules.path().to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(err.contains("broken.toml:"), "{err}");
    assert!(err.contains("slow-regex"), "{err}");
    assert!(err.contains("unknown placeholder `{nope}`"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}

fn tree_hash(root: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    for e in walkdir::WalkDir::new(root).sort_by_file_name() {
        let e = e.unwrap();
        let rel = e
            .path()
            .strip_prefix(root)
            .unwrap()
            .to_string_lossy()
            .into_owned();
        let meta = std::fs::symlink_metadata(e.path()).unwrap();
        let content = if meta.is_file() {
            std::fs::read(e.path()).unwrap()
        } else {
            vec![]
        };
        out.insert(format!("{rel} {:?}", meta.file_type()), content);
    }
    out
}

#[test]
fn a_scan_changes_nothing_in_the_tree() {
    let fixtures = repo().join("fixtures");
    let before = tree_hash(&fixtures);
    for format in ["human", "json", "jsonl", "sarif", "github", "rustc-json"] {
        run(&["check", "fixtures", "--format", format]);
    }
    run(&["routes", "fixtures"]);
    run(&["check", "fixtures", "--statistics"]);
    assert!(
        before == tree_hash(&fixtures),
        "scanning changed the fixtures"
    );
}

#[test]
fn build_scripts_and_proc_macros_are_never_run() {
    let marker = tempfile::tempdir().unwrap();
    let m = marker.path().join("ran");
    let build = format!(
        "fn main() {{ std::fs::write({:?}, \"build.rs ran\").unwrap(); }}\n",
        m.display().to_string()
    );
    let pkg = package(&[
        ("build.rs", &build),
        ("src/lib.rs", &format!("#[my_macro::evil]\npub fn f() {{}}\ninclude!(concat!(env!(\"OUT_DIR\"), \"/gen.rs\"));\n{BAD_CLIENT}")),
    ]);
    let out = check_json(pkg.path(), &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(!m.exists(), "the build script ran");
    assert!(!pkg.path().join("target").exists(), "cargo ran");
}
