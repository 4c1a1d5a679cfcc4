//! A minimal LSP client over a child process's stdio, as an editor drives `portcullis server`: used
//! by the server's tests and its benchmark.
#![allow(dead_code)]

use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

pub const WAIT: Duration = Duration::from_secs(60);

pub struct Client {
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
    /// Starts `portcullis server ARGS` in `root` and initializes it with `options`.
    pub fn start(root: &Path, args: &[&str], options: Value) -> Client {
        let mut child = Command::new(env!("CARGO_BIN_EXE_portcullis"))
            .arg("server")
            .args(args)
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

    pub fn send(&mut self, msg: Value) {
        let body = msg.to_string();
        write!(self.stdin, "Content-Length: {}\r\n\r\n{body}", body.len()).unwrap();
        self.stdin.flush().unwrap();
    }

    pub fn notify(&mut self, method: &str, params: Value) {
        self.send(json!({ "jsonrpc": "2.0", "method": method, "params": params }));
    }

    pub fn next(&mut self, deadline: Instant) -> Option<Value> {
        match self
            .incoming
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
        {
            Ok(m) => Some(m),
            Err(RecvTimeoutError::Timeout) => None,
            Err(RecvTimeoutError::Disconnected) => panic!("the server closed its output"),
        }
    }

    pub fn request(&mut self, method: &str, params: Value) -> Value {
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
    pub fn diagnostics(&mut self, suffix: &str, want: impl Fn(&[Value]) -> bool) -> Vec<Value> {
        self.publication(suffix, |p| want(p["diagnostics"].as_array().unwrap()))
    }

    /// The diagnostics published for an open document's version.
    pub fn diagnostics_of_version(&mut self, suffix: &str, version: i32) -> Vec<Value> {
        self.publication(suffix, |p| p["version"] == version)
    }

    /// Like `diagnostics_of_version`, with the publications for other files seen on the way (the
    /// unread backlog included).
    pub fn diagnostics_of_version_and_others(
        &mut self,
        suffix: &str,
        version: i32,
    ) -> (Vec<Value>, Vec<Value>) {
        let mut others: Vec<Value> = self.backlog.clone();
        let deadline = Instant::now() + WAIT;
        loop {
            let m = match others.iter().position(|m| {
                m["params"]["uri"].as_str().unwrap_or("").ends_with(suffix)
                    && m["params"]["version"] == version
            }) {
                Some(i) => others.remove(i),
                None => match self.next(deadline) {
                    Some(m) => {
                        others.push(m);
                        continue;
                    }
                    None => panic!("no diagnostics for version {version} of {suffix}"),
                },
            };
            self.backlog.clear();
            others.retain(|o| o["method"] == "textDocument/publishDiagnostics");
            return (
                m["params"]["diagnostics"].as_array().unwrap().clone(),
                others,
            );
        }
    }

    /// The first diagnostics publication (from the unread backlog on) for a file whose path ends with
    /// `suffix` whose parameters satisfy `want`; the messages before it are dropped.
    fn publication(&mut self, suffix: &str, want: impl Fn(&Value) -> bool) -> Vec<Value> {
        let deadline = Instant::now() + WAIT;
        let matches = |m: &Value| {
            m["method"] == "textDocument/publishDiagnostics"
                && m["params"]["uri"].as_str().unwrap_or("").ends_with(suffix)
                && want(&m["params"])
        };
        if let Some(i) = self.backlog.iter().position(matches) {
            let m = self.backlog.remove(i);
            self.backlog.drain(..i);
            return m["params"]["diagnostics"].as_array().unwrap().clone();
        }
        self.backlog.clear();
        loop {
            let Some(m) = self.next(deadline) else {
                let seen: Vec<String> = self.backlog.iter().map(|m| m.to_string()).collect();
                panic!(
                    "no diagnostics as wanted for {suffix}; seen:\n{}",
                    seen.join("\n")
                );
            };
            if matches(&m) {
                return m["params"]["diagnostics"].as_array().unwrap().clone();
            }
            self.backlog.push(m);
        }
    }

    /// The answer to a hover at a 0-based line and UTF-16 column of a file.
    pub fn hover(&mut self, path: &Path, line: usize, character: u32) -> Value {
        self.request(
            "textDocument/hover",
            json!({ "textDocument": { "uri": uri(path) }, "position": { "line": line, "character": character } }),
        )
    }

    pub fn open(&mut self, path: &Path, version: i32) {
        let text = std::fs::read_to_string(path).unwrap();
        self.notify(
            "textDocument/didOpen",
            json!({ "textDocument": { "uri": uri(path), "languageId": "rust", "version": version, "text": text } }),
        );
    }

    pub fn change(&mut self, path: &Path, version: i32, text: &str) {
        self.notify(
            "textDocument/didChange",
            json!({ "textDocument": { "uri": uri(path), "version": version }, "contentChanges": [{ "text": text }] }),
        );
    }

    pub fn shutdown(mut self) {
        assert_eq!(self.request("shutdown", Value::Null), Value::Null);
        self.notify("exit", Value::Null);
        let status = self.wait_exit();
        assert!(status.success(), "exit status {status}");
    }

    /// The server's exit status, once it has exited.
    pub fn wait_exit(&mut self) -> std::process::ExitStatus {
        let started = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(started.elapsed() < WAIT, "the server did not exit");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

pub fn uri(p: &Path) -> String {
    format!("file://{}", p.display())
}

pub fn copy_dir(from: &Path, to: &Path) {
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

pub fn fixture(name: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().canonicalize().unwrap().join(name);
    copy_dir(
        &Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("fixtures")
            .join(name),
        &root,
    );
    (dir, root)
}
