//! `portcullis server` driven over stdio with the messages an editor sends: initialize, didOpen,
//! didChange with unsaved text, codeAction, hover, a configuration change, shutdown and exit.

use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

const WAIT: Duration = Duration::from_secs(60);

struct Client {
    child: Child,
    stdin: ChildStdin,
    incoming: Receiver<Value>,
    next_id: i64,
    /// Notifications read while waiting for something else, oldest first.
    backlog: Vec<Value>,
}

fn read_message(r: &mut impl BufRead) -> Option<Value> {
    let mut len = None;
    loop {
        let mut line = String::new();
        if r.read_line(&mut line).ok()? == 0 {
            return None;
        }
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some(v) = line.strip_prefix("Content-Length: ") {
            len = v.parse::<usize>().ok();
        }
    }
    let mut body = vec![0; len?];
    r.read_exact(&mut body).ok()?;
    serde_json::from_slice(&body).ok()
}

impl Client {
    fn start(root: &Path, options: Value) -> Client {
        let mut child = Command::new(env!("CARGO_BIN_EXE_portcullis"))
            .args(["server", "--no-cache", "--threads", "2"])
            .current_dir(root)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start portcullis server");
        let stdin = child.stdin.take().unwrap();
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let (tx, incoming) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            while let Some(m) = read_message(&mut stdout) {
                if tx.send(m).is_err() {
                    break;
                }
            }
        });
        let mut c = Client {
            child,
            stdin,
            incoming,
            next_id: 0,
            backlog: vec![],
        };
        let init = c.request(
            "initialize",
            json!({
                "processId": null,
                "rootUri": uri(root),
                "capabilities": {},
                "initializationOptions": options,
            }),
        );
        assert_eq!(init["serverInfo"]["name"], "portcullis");
        assert_eq!(init["capabilities"]["hoverProvider"], true);
        c.notify("initialized", json!({}));
        c
    }

    fn send(&mut self, msg: Value) {
        let body = msg.to_string();
        write!(self.stdin, "Content-Length: {}\r\n\r\n{body}", body.len()).unwrap();
        self.stdin.flush().unwrap();
    }

    fn notify(&mut self, method: &str, params: Value) {
        self.send(json!({ "jsonrpc": "2.0", "method": method, "params": params }));
    }

    fn next(&mut self, deadline: Instant) -> Option<Value> {
        match self
            .incoming
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
        {
            Ok(m) => Some(m),
            Err(RecvTimeoutError::Timeout) => None,
            Err(RecvTimeoutError::Disconnected) => panic!("the server closed its output"),
        }
    }

    fn request(&mut self, method: &str, params: Value) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        self.send(json!({ "jsonrpc": "2.0", "id": id, "method": method, "params": params }));
        let deadline = Instant::now() + WAIT;
        loop {
            let m = self
                .next(deadline)
                .unwrap_or_else(|| panic!("no answer to {method}"));
            if m["id"] == id && m.get("method").is_none() {
                assert!(m.get("error").is_none(), "{method} failed: {m}");
                return m["result"].clone();
            }
            self.backlog.push(m);
        }
    }

    /// The next diagnostics published for a file whose path ends with `suffix` that satisfy `want`.
    fn diagnostics(&mut self, suffix: &str, want: impl Fn(&[Value]) -> bool) -> Vec<Value> {
        let deadline = Instant::now() + WAIT;
        let matches = |m: &Value| {
            m["method"] == "textDocument/publishDiagnostics"
                && m["params"]["uri"].as_str().unwrap_or("").ends_with(suffix)
                && want(m["params"]["diagnostics"].as_array().unwrap())
        };
        if let Some(i) = self.backlog.iter().position(matches) {
            let m = self.backlog.remove(i);
            self.backlog.drain(..i);
            return m["params"]["diagnostics"].as_array().unwrap().clone();
        }
        self.backlog.clear();
        loop {
            let m = self
                .next(deadline)
                .unwrap_or_else(|| panic!("no diagnostics as wanted for {suffix}"));
            if matches(&m) {
                return m["params"]["diagnostics"].as_array().unwrap().clone();
            }
            self.backlog.push(m);
        }
    }

    fn open(&mut self, path: &Path, version: i32) {
        let text = std::fs::read_to_string(path).unwrap();
        self.notify(
            "textDocument/didOpen",
            json!({ "textDocument": { "uri": uri(path), "languageId": "rust", "version": version, "text": text } }),
        );
    }

    fn change(&mut self, path: &Path, version: i32, text: &str) {
        self.notify(
            "textDocument/didChange",
            json!({ "textDocument": { "uri": uri(path), "version": version }, "contentChanges": [{ "text": text }] }),
        );
    }

    fn shutdown(mut self) {
        assert_eq!(self.request("shutdown", Value::Null), Value::Null);
        self.notify("exit", Value::Null);
        let started = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                assert!(status.success(), "exit status {status}");
                return;
            }
            assert!(started.elapsed() < WAIT, "the server did not exit");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

fn uri(p: &Path) -> String {
    format!("file://{}", p.display())
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let dest = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &dest);
        } else {
            std::fs::copy(e.path(), dest).unwrap();
        }
    }
}

fn fixture(name: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().canonicalize().unwrap().join(name);
    copy_dir(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures").join(name),
        &root,
    );
    (dir, root)
}

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
        .map(|d| format!("{}:{}", d["code"].as_str().unwrap(), d["range"]["start"]["line"].as_u64().unwrap() + 1))
        .collect()
}

#[test]
fn diagnostics_follow_unsaved_edits_across_files() {
    let (_tmp, root) = fixture("axum-shop");
    let before = snapshot(&root);
    let mut c = Client::start(&root, Value::Null);
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
    assert!(!d["relatedInformation"].as_array().unwrap().is_empty(), "{d}");
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
    assert_eq!(snapshot(&root), before, "the server wrote into the workspace");
    c.shutdown();
}

#[test]
fn quick_fixes_and_route_hover() {
    let (_tmp, root) = fixture("axum-shop");
    let mut c = Client::start(&root, json!({ "select": "all" }));
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
    assert_eq!(edit["range"]["start"], json!({ "line": 10, "character": 0 }));
    let line = std::fs::read_to_string(&invoices).unwrap().lines().nth(10).unwrap().to_string();
    let indent: String = line.chars().take_while(|c| c.is_whitespace()).collect();
    assert_eq!(
        edit["newText"],
        format!("{indent}// portcullis: ignore[command-injection] \n")
    );

    // Applying the edit (as the editor would, unsaved) silences the finding.
    let text = std::fs::read_to_string(&invoices).unwrap();
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    lines.insert(10, format!("{indent}// portcullis: ignore[command-injection] reviewed"));
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
    let hover = c.request(
        "textDocument/hover",
        json!({ "textDocument": { "uri": uri(&api) }, "position": { "line": line, "character": 20 } }),
    );
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
    let hover = c.request(
        "textDocument/hover",
        json!({ "textDocument": { "uri": uri(&handler) }, "position": { "line": line, "character": 15 } }),
    );
    assert!(hover["contents"]["value"].as_str().unwrap().contains("**POST /api/orders**"));
    let none = c.request(
        "textDocument/hover",
        json!({ "textDocument": { "uri": uri(&handler) }, "position": { "line": 0, "character": 0 } }),
    );
    assert_eq!(none, Value::Null);
    c.shutdown();
}

#[test]
fn configuration_changes_apply_and_broken_rules_are_reported() {
    let (_tmp, root) = fixture("axum-shop");
    let mut c = Client::start(&root, json!({ "select": ["all"], "ignore": ["path-traversal"] }));
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
    std::fs::write(&config, "ignore = [\"command-injection\"]\nrules = [\"policy\"]\n").unwrap();
    c.notify(
        "workspace/didChangeWatchedFiles",
        json!({ "changes": [{ "uri": uri(&config), "type": 2 }] }),
    );
    let ds = c.diagnostics("policy/bad.toml", |d| !d.is_empty());
    assert_eq!(ds[0]["severity"], 1);
    // Settings from the editor replace the command line's.
    std::fs::remove_file(&config).unwrap();
    c.notify(
        "workspace/didChangeConfiguration",
        json!({ "settings": { "portcullis": { "ignore": [] } } }),
    );
    let ds = c.diagnostics("src/handlers/invoices.rs", |d| d.len() == 2);
    assert_eq!(rules(&ds), ["command-injection:11", "path-traversal:15"]);
    c.shutdown();
}
