//! `portcullis server` driven over stdio with the messages an editor sends: initialize, didOpen,
//! didChange with unsaved text, codeAction, hover, a configuration change, shutdown and exit.

#[path = "support/lsp.rs"]
mod lsp;

use lsp::{fixture, uri, Client};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};

/// Every file below a directory with its bytes: the server must leave them as they were.
fn snapshot(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out: Vec<(PathBuf, Vec<u8>)> = walkdir::WalkDir::new(dir)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file())
        .map(|e| (e.path().to_path_buf(), std::fs::read(e.path()).unwrap()))
        .collect();
    out.sort();
    out
}

fn rules(ds: &[Value]) -> Vec<String> {
    ds.iter()
        .map(|d| {
            format!(
                "{}:{}",
                d["code"].as_str().unwrap(),
                d["range"]["start"]["line"].as_u64().unwrap() + 1
            )
        })
        .collect()
}

#[test]
fn diagnostics_follow_unsaved_edits_across_files() {
    let (_tmp, root) = fixture("axum-shop");
    let before = snapshot(&root);
    let mut c = Client::start(&root, &["--no-cache", "--threads", "2"], Value::Null);
    let cart = root.join("src/handlers/cart.rs");
    let invoices = root.join("src/handlers/invoices.rs");
    c.open(&invoices, 1);
    let ds = c.diagnostics("src/handlers/invoices.rs", |d| !d.is_empty());
    assert_eq!(rules(&ds), ["command-injection:11"]);
    let d = &ds[0];
    assert_eq!(d["source"], "portcullis");
    assert_eq!(d["severity"], 1);
    assert!(d["message"].as_str().unwrap().contains("\nhelp: "), "{d}");
    // The evidence: where the request input enters and where it ends.
    assert!(
        !d["relatedInformation"].as_array().unwrap().is_empty(),
        "{d}"
    );
    // The package's other files get their diagnostics too, opened or not.
    let api = c.diagnostics("src/routes/api.rs", |d| !d.is_empty());
    assert_eq!(rules(&api), ["unauthenticated-cached-route:22"]);

    // Typing the fix in the handler (never saved) clears the route's finding in another file.
    c.open(&cart, 1);
    let text = std::fs::read_to_string(&cart)
        .unwrap()
        .replace("\"public, max-age=60\"", "\"private, max-age=60\"");
    c.change(&cart, 2, &text);
    let api = c.diagnostics("src/routes/api.rs", |d| d.is_empty());
    assert!(api.is_empty());

    // A broken buffer is a located parse error, and the server goes on.
    c.change(&invoices, 2, "pub async fn broken( {\n");
    let ds = c.diagnostics("src/handlers/invoices.rs", |d| {
        d.iter().any(|x| x["code"] == "parse-error")
    });
    assert_eq!(ds[0]["range"]["start"]["line"], 0);
    assert_eq!(
        snapshot(&root),
        before,
        "the server wrote into the workspace"
    );
    c.shutdown();
}

#[test]
fn quick_fixes_and_route_hover() {
    let (_tmp, root) = fixture("axum-shop");
    let mut c = Client::start(
        &root,
        &["--no-cache", "--threads", "2"],
        json!({ "select": "all" }),
    );
    let invoices = root.join("src/handlers/invoices.rs");
    c.open(&invoices, 1);
    let ds = c.diagnostics("src/handlers/invoices.rs", |d| !d.is_empty());
    let actions = c.request(
        "textDocument/codeAction",
        json!({
            "textDocument": { "uri": uri(&invoices) },
            "range": ds[0]["range"],
            "context": { "diagnostics": [ds[0]] },
        }),
    );
    let titles: Vec<&str> = actions
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["title"].as_str().unwrap())
        .collect();
    assert_eq!(
        titles,
        [
            "Suppress `command-injection` on this line",
            "Suppress `command-injection` in this file"
        ]
    );
    let edit = &actions[0]["edit"]["changes"][uri(&invoices)][0];
    assert_eq!(
        edit["range"]["start"],
        json!({ "line": 10, "character": 0 })
    );
    let line = std::fs::read_to_string(&invoices)
        .unwrap()
        .lines()
        .nth(10)
        .unwrap()
        .to_string();
    let indent: String = line.chars().take_while(|c| c.is_whitespace()).collect();
    assert_eq!(
        edit["newText"],
        format!("{indent}// portcullis: ignore[command-injection] \n")
    );

    // Applying the edit (as the editor would, unsaved) silences the finding.
    let text = std::fs::read_to_string(&invoices).unwrap();
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    lines.insert(
        10,
        format!("{indent}// portcullis: ignore[command-injection] reviewed"),
    );
    c.change(&invoices, 2, &(lines.join("\n") + "\n"));
    let ds = c.diagnostics("src/handlers/invoices.rs", |d| d.len() == 1);
    assert_eq!(rules(&ds), ["path-traversal:16"]);

    // Hovering a route registration shows its protections.
    let api = root.join("src/routes/api.rs");
    let line = std::fs::read_to_string(&api)
        .unwrap()
        .lines()
        .position(|l| l.contains("\"/cart\""))
        .unwrap();
    let hover = c.hover(&api, line, 20);
    let md = hover["contents"]["value"].as_str().unwrap();
    assert!(md.contains("**GET /api/cart**"), "{md}");
    assert!(md.contains("| authentication | enforced"), "{md}");
    assert!(md.contains("| rate limit | yes |"), "{md}");
    // And so does the handler's signature; a line of no route shows nothing.
    let handler = root.join("src/handlers/orders.rs");
    let line = std::fs::read_to_string(&handler)
        .unwrap()
        .lines()
        .position(|l| l.starts_with("pub async fn create"))
        .unwrap();
    let hover = c.hover(&handler, line, 15);
    assert!(hover["contents"]["value"]
        .as_str()
        .unwrap()
        .contains("**POST /api/orders**"));
    let none = c.hover(&handler, 0, 0);
    assert_eq!(none, Value::Null);
    c.shutdown();
}

#[test]
fn configuration_changes_apply_and_broken_rules_are_reported() {
    let (_tmp, root) = fixture("axum-shop");
    let mut c = Client::start(
        &root,
        &["--no-cache", "--threads", "2"],
        json!({ "select": ["all"], "ignore": ["path-traversal"] }),
    );
    let invoices = root.join("src/handlers/invoices.rs");
    c.open(&invoices, 1);
    let ds = c.diagnostics("src/handlers/invoices.rs", |d| !d.is_empty());
    assert_eq!(rules(&ds), ["command-injection:11"]);

    // A project configuration written while the server runs is picked up when saved.
    let config = root.join("portcullis.toml");
    std::fs::write(&config, "ignore = [\"command-injection\"]\n").unwrap();
    c.notify(
        "textDocument/didSave",
        json!({ "textDocument": { "uri": uri(&config) } }),
    );
    let ds = c.diagnostics("src/handlers/invoices.rs", |d| d.is_empty());
    assert!(ds.is_empty());

    // A broken rule file is a diagnostic on that file; the rules in force stay.
    let dir = root.join("policy");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("bad.toml"), "id = \"x\"\nseverity = \"loud\"\n").unwrap();
    std::fs::write(
        &config,
        "ignore = [\"command-injection\"]\nrules = [\"policy\"]\n",
    )
    .unwrap();
    c.notify(
        "workspace/didChangeWatchedFiles",
        json!({ "changes": [{ "uri": uri(&config), "type": 2 }] }),
    );
    let ds = c.diagnostics("policy/bad.toml", |d| !d.is_empty());
    assert_eq!(ds[0]["severity"], 1);
    // Once fixed, the project's own rule applies, documented by its file.
    std::fs::write(
        dir.join("bad.toml"),
        r#"id = "orders-route"
title = "Orders route"
severity = "note"
category = "review"
description = "Order routes need a second review."
message = "`{path}` takes orders"

[[match]]
target = "route"
when = { prop = "path", equals = "/api/orders" }
"#,
    )
    .unwrap();
    c.notify(
        "workspace/didChangeWatchedFiles",
        json!({ "changes": [{ "uri": uri(&dir.join("bad.toml")), "type": 2 }] }),
    );
    assert!(c
        .diagnostics("policy/bad.toml", |d| d.is_empty())
        .is_empty());
    c.open(&root.join("src/routes/api.rs"), 1);
    let ds = c.diagnostics("src/routes/api.rs", |d| {
        d.iter().any(|x| x["code"] == "orders-route")
    });
    let custom = ds.iter().find(|x| x["code"] == "orders-route").unwrap();
    assert_eq!(custom["severity"], 3);
    let href = custom["codeDescription"]["href"].as_str().unwrap();
    assert!(href.ends_with("/policy/bad.toml"), "{href}");
    // A change to a rule file in force applies at once.
    let rule = std::fs::read_to_string(dir.join("bad.toml")).unwrap();
    std::fs::write(
        dir.join("bad.toml"),
        rule.replace("\"note\"", "\"warning\""),
    )
    .unwrap();
    c.notify(
        "workspace/didChangeWatchedFiles",
        json!({ "changes": [{ "uri": uri(&dir.join("bad.toml")), "type": 2 }] }),
    );
    let ds = c.diagnostics("src/routes/api.rs", |d| {
        d.iter()
            .any(|x| x["code"] == "orders-route" && x["severity"] == 2)
    });
    // A built-in rule is documented by `portcullis explain`, not a link.
    assert!(ds
        .iter()
        .all(|x| x["code"] == "orders-route" || x.get("codeDescription").is_none()));
    // Settings from the editor replace its earlier ones.
    std::fs::remove_file(&config).unwrap();
    c.notify(
        "workspace/didChangeConfiguration",
        json!({ "settings": { "portcullis": { "select": "all" } } }),
    );
    let ds = c.diagnostics("src/handlers/invoices.rs", |d| d.len() == 2);
    assert_eq!(rules(&ds), ["command-injection:11", "path-traversal:15"]);
    c.shutdown();
}

#[test]
fn symbolic_links_new_files_settings_and_open_configuration() {
    let (tmp, real) = fixture("axum-shop");
    // The editor opens the workspace through a link: diagnostics go to the paths it knows.
    let link = tmp.path().canonicalize().unwrap().join("link");
    std::os::unix::fs::symlink(&real, &link).unwrap();
    let before = snapshot(&real);
    let mut c = Client::start(
        &link,
        &["--threads", "2"],
        json!({ "ignore": ["command-injection"], "cache-dir": ".cache" }),
    );
    let invoices = link.join("src/handlers/invoices.rs");
    c.open(&invoices, 1);
    let ds = c.diagnostics(&uri(&invoices), |_| true);
    assert!(ds.is_empty(), "{ds:?}");
    let api = c.diagnostics(&uri(&link.join("src/routes/api.rs")), |d| !d.is_empty());
    assert_eq!(rules(&api), ["unauthenticated-cached-route:22"]);
    // Settings the editor no longer sends are unset.
    c.notify(
        "workspace/didChangeConfiguration",
        json!({ "settings": { "portcullis": {} } }),
    );
    let ds = c.diagnostics(&uri(&invoices), |d| !d.is_empty());
    assert_eq!(rules(&ds), ["command-injection:11"]);

    // A file created after the packages were found, opened without any watcher telling.
    let copy = link.join("src/handlers/invoices_copy.rs");
    std::fs::copy(&invoices, &copy).unwrap();
    c.open(&copy, 1);
    let ds = c.diagnostics(&uri(&copy), |d| !d.is_empty());
    assert_eq!(rules(&ds), ["command-injection:11"]);
    std::fs::remove_file(real.join("src/handlers/invoices_copy.rs")).unwrap();

    // An open configuration file keeps its error when its package is analysed again: `Cargo.toml`
    // is both (its metadata configures portcullis, and rules read it).
    let manifest = link.join("Cargo.toml");
    let original = std::fs::read_to_string(&manifest).unwrap();
    let broken =
        format!("{original}\n[package.metadata.portcullis]\nselect = [\"no-such-rule\"]\n");
    std::fs::write(&manifest, &broken).unwrap();
    c.open(&manifest, 1);
    c.notify(
        "textDocument/didSave",
        json!({ "textDocument": { "uri": uri(&manifest) } }),
    );
    let ds = c.diagnostics(&uri(&manifest), |d| {
        d.iter().any(|x| x["code"] == "configuration")
    });
    assert!(!ds.is_empty());
    let text = std::fs::read_to_string(&invoices).unwrap() + "// edited\n";
    c.change(&invoices, 2, &text);
    let (_, others) = c.diagnostics_of_version_and_others(&uri(&invoices), 2);
    let of_manifest: Vec<&Value> = others
        .iter()
        .filter(|m| m["params"]["uri"] == uri(&manifest))
        .collect();
    assert!(
        !of_manifest.is_empty(),
        "the manifest was not analysed again"
    );
    assert!(
        of_manifest.iter().all(|m| m["params"]["diagnostics"]
            .as_array()
            .unwrap()
            .iter()
            .any(|x| x["code"] == "configuration")),
        "the analysis cleared the configuration error: {of_manifest:?}"
    );
    std::fs::write(&manifest, &original).unwrap();

    // The cache directory the editor named is inside the workspace: refused, nothing written.
    assert!(!real.join(".cache").exists());
    assert_eq!(
        snapshot(&real),
        before,
        "the server wrote into the workspace"
    );
    c.shutdown();
}

#[test]
fn exit_without_shutdown_is_an_error_exit() {
    let (_tmp, root) = fixture("axum-shop");
    let mut c = Client::start(&root, &["--no-cache"], Value::Null);
    c.notify("exit", Value::Null);
    assert_eq!(c.wait_exit().code(), Some(1));
}

#[test]
fn python_files_get_their_diagnostics_and_edits_apply() {
    let (_tmp, root) = fixture("fastapi-notes");
    let before = snapshot(&root);
    let mut c = Client::start(&root, &["--no-cache", "--threads", "2"], Value::Null);
    let notes = root.join("notes/routers/notes.py");
    c.open(&notes, 1);
    let ds = c.diagnostics("notes/routers/notes.py", |d| !d.is_empty());
    assert_eq!(
        rules(&ds),
        [
            "unauthenticated-cached-route:20",
            "connection-per-request:36",
            "sql-injection:38"
        ]
    );
    // Binding the search term as a parameter (never saved) clears the SQL finding.
    let text = std::fs::read_to_string(&notes)
        .unwrap()
        .replace("title LIKE '%{q}%'\"", "title LIKE $2\", f\"%{q}%\"");
    c.change(&notes, 2, &text);
    let ds = c.diagnostics_of_version("notes/routers/notes.py", 2);
    assert_eq!(
        rules(&ds),
        [
            "unauthenticated-cached-route:20",
            "connection-per-request:36"
        ]
    );
    // A Python syntax error is a located parse error; the rest of the file is still read.
    c.change(&notes, 3, &format!("{text}\ndef broken(:\n"));
    let ds = c.diagnostics_of_version("notes/routers/notes.py", 3);
    assert!(ds.iter().any(|d| d["code"] == "parse-error"), "{ds:?}");
    assert!(
        ds.iter().any(|d| d["code"] == "connection-per-request"),
        "{ds:?}"
    );
    assert_eq!(
        snapshot(&root),
        before,
        "the server wrote into the workspace"
    );
    c.shutdown();
}
