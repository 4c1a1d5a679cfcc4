//! `portcullis server`: the Language Server Protocol (3.17) over stdio. Open buffers stand for their
//! files (`engine::Options::overlays`); a change re-analyses the package holding the file, after a
//! short pause for more typing, with the same cache as `check`, and publishes the diagnostics of every
//! file of that package. Code actions suppress a finding; hover shows a route's protections.
//!
//! The server is one loop over the client's messages; analyses run on a worker pool inside it, so
//! requests are answered in order. It never writes into the workspace.

mod actions;
mod diagnostics;
mod hover;
mod position;
mod settings;
mod workspace;

use crate::cli::ServerArgs;
use crate::project::Choices;
use lsp_server::{Connection, ErrorCode, Message, Notification, Request, RequestId, Response};
use lsp_types::notification::{self as note, Notification as _};
use lsp_types::request::{self as req, Request as _};
use lsp_types::{self as lsp, Url};
use std::collections::{BTreeSet, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};
use workspace::Folder;

/// How long the server waits after a change for the next one before analysing: typing is a burst of
/// changes, and only the last one needs its diagnostics.
const PAUSE: Duration = Duration::from_millis(30);

pub fn run(args: &ServerArgs) -> i32 {
    let (conn, io) = Connection::stdio();
    let code = match serve(&conn, args) {
        Ok(Ending::AfterShutdown) => 0,
        // LSP: `exit` without `shutdown` first (or the client gone) ends with 1.
        Ok(Ending::Abrupt) => 1,
        Err(e) => {
            eprintln!("portcullis server: {e}");
            crate::commands::EXIT_USAGE
        }
    };
    drop(conn);
    let _ = io.join();
    code
}

type Error = Box<dyn std::error::Error + Send + Sync>;

/// The two kinds of diagnostics a file may have, published together.
#[derive(Clone, Copy)]
enum Layer {
    Findings,
    Setup,
}

/// How the message loop ended.
enum Ending {
    AfterShutdown,
    Abrupt,
}

fn serve(conn: &Connection, args: &ServerArgs) -> Result<Ending, Error> {
    let (id, params) = conn.initialize_start()?;
    let init: lsp::InitializeParams = serde_json::from_value(params)?;
    let result = serde_json::json!({
        "capabilities": capabilities(),
        "serverInfo": { "name": "portcullis", "version": env!("CARGO_PKG_VERSION") },
    });
    conn.initialize_finish(id, result)?;
    let mut pool = rayon::ThreadPoolBuilder::new().stack_size(256 << 20);
    if let Some(n) = args.threads {
        pool = pool.num_threads(n.max(1));
    }
    let mut server = Server::new(conn, pool.build()?, settings::from_args(args), &init);
    server.main_loop()
}

fn capabilities() -> lsp::ServerCapabilities {
    lsp::ServerCapabilities {
        text_document_sync: Some(lsp::TextDocumentSyncCapability::Options(
            lsp::TextDocumentSyncOptions {
                open_close: Some(true),
                change: Some(lsp::TextDocumentSyncKind::FULL),
                save: Some(lsp::TextDocumentSyncSaveOptions::Supported(true)),
                ..Default::default()
            },
        )),
        code_action_provider: Some(lsp::CodeActionProviderCapability::Options(
            lsp::CodeActionOptions {
                code_action_kinds: Some(vec![lsp::CodeActionKind::QUICKFIX]),
                ..Default::default()
            },
        )),
        hover_provider: Some(lsp::HoverProviderCapability::Simple(true)),
        ..Default::default()
    }
}

/// The workspace folders the client names (its root for older clients, else the working directory).
fn folder_roots(init: &lsp::InitializeParams) -> Vec<PathBuf> {
    #[allow(deprecated)]
    let uris: Vec<Url> = match (&init.workspace_folders, &init.root_uri) {
        (Some(fs), _) if !fs.is_empty() => fs.iter().map(|f| f.uri.clone()).collect(),
        (_, Some(u)) => vec![u.clone()],
        _ => vec![],
    };
    let mut roots: Vec<PathBuf> = uris.iter().filter_map(|u| u.to_file_path().ok()).collect();
    if roots.is_empty() {
        roots.extend(std::env::current_dir().ok());
    }
    roots
}

struct Server<'c> {
    conn: &'c Connection,
    pool: rayon::ThreadPool,
    /// The command line's settings, and with the editor's latest over them.
    cli: Choices,
    base: Choices,
    folders: Vec<Folder>,
    /// The open documents: the URI the client named each by, and its version; their texts are in
    /// `overlays`.
    docs: HashMap<PathBuf, (Url, i32)>,
    overlays: HashMap<PathBuf, Arc<str>>,
    /// Packages (folder, package) to analyse when the pause after the last change is over.
    pending: BTreeSet<(usize, usize)>,
    deadline: Option<Instant>,
    /// Per package root, the files its last analysis published diagnostics for.
    published: HashMap<PathBuf, HashSet<Url>>,
    /// The last analysis's diagnostics of each file, and each configuration file's errors: a file
    /// may have both (`Cargo.toml`), and each publication carries both.
    findings: HashMap<Url, Vec<lsp::Diagnostic>>,
    setup: HashMap<Url, Vec<lsp::Diagnostic>>,
    /// Per folder, the configuration files that had errors.
    setup_published: HashMap<usize, HashSet<Url>>,
    /// Files opened or saved that no package lists even after finding the packages again.
    unlisted: HashSet<PathBuf>,
    /// The routes of a package for hover, and the change they were computed after.
    routes: HashMap<(usize, usize), (u64, Vec<hover::RouteSpot>)>,
    changes: u64,
    watch_files: bool,
    next_request: i32,
}

impl<'c> Server<'c> {
    fn new(
        conn: &'c Connection,
        pool: rayon::ThreadPool,
        base: Choices,
        init: &lsp::InitializeParams,
    ) -> Self {
        let watch_files = init
            .capabilities
            .workspace
            .as_ref()
            .and_then(|w| w.did_change_watched_files)
            .and_then(|w| w.dynamic_registration)
            .unwrap_or(false);
        let mut s = Server {
            conn,
            pool,
            cli: base.clone(),
            base,
            folders: vec![],
            docs: HashMap::new(),
            overlays: HashMap::new(),
            pending: BTreeSet::new(),
            deadline: None,
            published: HashMap::new(),
            findings: HashMap::new(),
            setup: HashMap::new(),
            setup_published: HashMap::new(),
            unlisted: HashSet::new(),
            routes: HashMap::new(),
            changes: 0,
            watch_files,
            next_request: 0,
        };
        let options = init.initialization_options.clone().unwrap_or_default();
        let (base, problem) = workspace::choices(&s.cli, &options);
        s.base = base;
        if let Some(msg) = problem {
            s.show(lsp::MessageType::WARNING, msg);
        }
        for (i, root) in folder_roots(init).into_iter().enumerate() {
            let (folder, problems) = Folder::load(root, &s.base, None);
            s.folders.push(folder);
            s.report_setup(i, problems);
        }
        s
    }

    fn main_loop(&mut self) -> Result<Ending, Error> {
        loop {
            let msg = match self.deadline {
                None => self.conn.receiver.recv().ok(),
                Some(d) => match self.conn.receiver.recv_deadline(d) {
                    Ok(m) => Some(m),
                    Err(crossbeam_channel::RecvTimeoutError::Timeout) => {
                        self.guarded("analysing", |s| s.flush());
                        continue;
                    }
                    Err(crossbeam_channel::RecvTimeoutError::Disconnected) => None,
                },
            };
            let Some(msg) = msg else {
                return Ok(Ending::Abrupt);
            };
            match msg {
                Message::Request(r) => {
                    if self.conn.handle_shutdown(&r)? {
                        return Ok(Ending::AfterShutdown);
                    }
                    self.request(r);
                }
                Message::Notification(n) if n.method == note::Exit::METHOD => {
                    return Ok(Ending::Abrupt)
                }
                Message::Notification(n) => {
                    let what = format!("handling `{}`", n.method);
                    self.guarded(&what, |s| s.notification(n));
                }
                Message::Response(_) => {}
            }
        }
    }

    /// Runs a step of the server; a failure inside portcullis is shown to the user, and the server
    /// goes on.
    fn guarded(&mut self, what: &str, step: impl FnOnce(&mut Self)) {
        let run = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| step(self)));
        if let Err(p) = run {
            let msg = crate::engine::panic_message(p.as_ref());
            self.show(
                lsp::MessageType::ERROR,
                format!("portcullis: internal error while {what}: {msg}"),
            );
        }
    }

    fn send(&self, msg: Message) {
        // The client is gone when this fails; the loop ends on the closed channel.
        let _ = self.conn.sender.send(msg);
    }

    fn notify<N: lsp_types::notification::Notification>(&self, params: N::Params) {
        self.send(Message::Notification(Notification::new(
            N::METHOD.to_string(),
            params,
        )));
    }

    fn show(&self, typ: lsp::MessageType, message: String) {
        self.notify::<note::ShowMessage>(lsp::ShowMessageParams { typ, message });
    }

    /// A request, answered whatever happens: a failure inside portcullis is an error response, not
    /// a dead server.
    fn request(&mut self, r: Request) {
        let id = r.id.clone();
        let answer = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.answer(r)));
        let response = match answer {
            Ok(Ok(value)) => Response::new_ok(id, value),
            Ok(Err((code, message))) => Response::new_err(id, code as i32, message),
            Err(p) => Response::new_err(
                id,
                ErrorCode::InternalError as i32,
                format!(
                    "internal error: {}",
                    crate::engine::panic_message(p.as_ref())
                ),
            ),
        };
        self.send(Message::Response(response));
    }

    fn answer(&mut self, r: Request) -> Result<serde_json::Value, (ErrorCode, String)> {
        let bad = |e: serde_json::Error| (ErrorCode::InvalidParams, e.to_string());
        match r.method.as_str() {
            req::HoverRequest::METHOD => {
                let p: lsp::HoverParams = serde_json::from_value(r.params).map_err(bad)?;
                Ok(
                    serde_json::to_value(self.hover(&p.text_document_position_params))
                        .unwrap_or_default(),
                )
            }
            req::CodeActionRequest::METHOD => {
                let p: lsp::CodeActionParams = serde_json::from_value(r.params).map_err(bad)?;
                let uri = &p.text_document.uri;
                let path = path_of(uri);
                let text = path
                    .as_ref()
                    .and_then(|p| self.text_of(p))
                    .unwrap_or_default();
                let policy = path
                    .and_then(|p| self.folder_of(&p))
                    .map(|fi| &self.folders[fi].project.policy);
                let suppressible = |rule: &str| suppressible(policy, rule);
                let acts =
                    actions::for_diagnostics(uri, &text, &p.context.diagnostics, &suppressible);
                Ok(serde_json::to_value(acts).unwrap_or_default())
            }
            _ => Err((
                ErrorCode::MethodNotFound,
                format!("portcullis does not answer `{}`", r.method),
            )),
        }
    }

    fn notification(&mut self, n: Notification) {
        let params = n.params;
        match n.method.as_str() {
            note::Initialized::METHOD => self.watch(),
            note::DidOpenTextDocument::METHOD => {
                if let Ok(p) = serde_json::from_value::<lsp::DidOpenTextDocumentParams>(params) {
                    let d = p.text_document;
                    self.edited(d.uri, d.version, d.text);
                }
            }
            note::DidChangeTextDocument::METHOD => {
                if let Ok(p) = serde_json::from_value::<lsp::DidChangeTextDocumentParams>(params) {
                    // Full synchronisation: the last change holds the whole text.
                    if let Some(c) = p.content_changes.into_iter().last() {
                        let d = p.text_document;
                        self.edited(d.uri, d.version, c.text);
                    }
                }
            }
            note::DidSaveTextDocument::METHOD => {
                if let Ok(p) = serde_json::from_value::<lsp::DidSaveTextDocumentParams>(params) {
                    if let Some(path) = path_of(&p.text_document.uri) {
                        self.files_changed(&[(path.clone(), false)]);
                        self.find_new(&path);
                    }
                }
            }
            note::DidCloseTextDocument::METHOD => {
                if let Ok(p) = serde_json::from_value::<lsp::DidCloseTextDocumentParams>(params) {
                    if let Some(path) = path_of(&p.text_document.uri) {
                        self.docs.remove(&path);
                        self.overlays.remove(&path);
                        // The file on disk takes over: it may differ from the buffer.
                        self.touch(&path);
                    }
                }
            }
            note::DidChangeWatchedFiles::METHOD => {
                if let Ok(p) = serde_json::from_value::<lsp::DidChangeWatchedFilesParams>(params) {
                    let changes: Vec<(PathBuf, bool)> = p
                        .changes
                        .iter()
                        .filter_map(|c| {
                            Some((path_of(&c.uri)?, c.typ != lsp::FileChangeType::CHANGED))
                        })
                        .collect();
                    self.files_changed(&changes);
                }
            }
            note::DidChangeConfiguration::METHOD => {
                if let Ok(p) = serde_json::from_value::<lsp::DidChangeConfigurationParams>(params) {
                    if let Some(v) = p.settings.get("portcullis") {
                        // The editor's settings replace its earlier ones: a key left out is unset.
                        let (base, problem) = workspace::choices(&self.cli, v);
                        if let Some(msg) = problem {
                            self.show(lsp::MessageType::WARNING, msg);
                        }
                        self.base = base;
                        self.reload((0..self.folders.len()).collect());
                    }
                }
            }
            _ => {}
        }
    }

    /// Asks the client to tell the server about changes to source, manifest, configuration and rule
    /// files it has not opened.
    fn watch(&mut self) {
        if !self.watch_files {
            return;
        }
        let watchers = [
            "**/*.rs",
            "**/*.toml",
            "**/Cargo.lock",
            "**/Dockerfile*",
            "**/*.yml",
            "**/*.yaml",
        ]
        .into_iter()
        .map(|g| lsp::FileSystemWatcher {
            glob_pattern: lsp::GlobPattern::String(g.into()),
            kind: None,
        })
        .collect();
        let options = lsp::DidChangeWatchedFilesRegistrationOptions { watchers };
        let params = lsp::RegistrationParams {
            registrations: vec![lsp::Registration {
                id: "portcullis-watched-files".into(),
                method: note::DidChangeWatchedFiles::METHOD.into(),
                register_options: serde_json::to_value(options).ok(),
            }],
        };
        self.next_request += 1;
        self.send(Message::Request(Request::new(
            RequestId::from(format!("portcullis-{}", self.next_request)),
            req::RegisterCapability::METHOD.into(),
            params,
        )));
    }

    fn edited(&mut self, uri: Url, version: i32, text: String) {
        let Some(path) = path_of(&uri) else { return };
        let opened = !self.docs.contains_key(&path);
        self.overlays.insert(path.clone(), Arc::from(text));
        self.docs.insert(path.clone(), (uri, version));
        if opened {
            self.find_new(&path);
        }
        self.touch(&path);
    }

    /// A source or manifest file that no package lists (created since the packages were found, and
    /// no watcher told): the folder's packages are found again, once per such file.
    fn find_new(&mut self, path: &Path) {
        let source = path.extension().is_some_and(|e| e == "rs" || e == "toml");
        let Some(fi) = self.folder_of(path) else {
            return;
        };
        let f = &self.folders[fi];
        if !source || f.lists(path) || f.never_listed(path) || self.unlisted.contains(path) {
            return;
        }
        self.reload(vec![fi]);
        if !self.folders[fi].lists(path) {
            self.unlisted.insert(path.to_path_buf());
        }
    }

    /// Files changed on disk or saved (`true`: created or deleted): a configuration or rule file
    /// reloads its folder, a created or deleted file finds the folder's packages again (each folder
    /// once), any other file re-analyses the packages listing it if the editor shows diagnostics of
    /// them. Files discovery skips (build output) change nothing.
    fn files_changed(&mut self, changes: &[(PathBuf, bool)]) {
        let mut reload = BTreeSet::new();
        let mut touched = vec![];
        for (path, created_or_deleted) in changes {
            let Some(fi) = self.folder_of(path) else {
                continue;
            };
            let f = &self.folders[fi];
            if f.skipped(path) {
                continue;
            }
            let errors_here = self.uri_of(path).is_some_and(|u| {
                self.setup_published
                    .get(&fi)
                    .is_some_and(|us| us.contains(&u))
            });
            // A file with configuration errors is one even when the setup naming it did not load.
            let setup = crate::project::is_setup_file(&f.project, &f.choices, path) || errors_here;
            let found = *created_or_deleted && is_analysed_kind(path) && !f.never_listed(path);
            if setup || found {
                reload.insert(fi);
            } else if !self.docs.contains_key(path) {
                touched.extend(f.packages_of(path).into_iter().map(|pi| (fi, pi)));
            }
        }
        for (fi, pi) in touched {
            if reload.contains(&fi) {
                continue;
            }
            let root = &self.folders[fi].disc.packages[pi].root;
            if self.published.contains_key(root) {
                self.schedule(fi, pi);
            }
        }
        if !reload.is_empty() {
            self.reload(reload.into_iter().collect());
        }
    }

    fn touch(&mut self, path: &Path) {
        if let Some(fi) = self.folder_of(path) {
            for pi in self.folders[fi].packages_of(path) {
                self.schedule(fi, pi);
            }
        }
    }

    fn schedule(&mut self, folder: usize, package: usize) {
        self.changes += 1;
        self.pending.insert((folder, package));
        self.deadline = Some(Instant::now() + PAUSE);
    }

    fn folder_of(&self, path: &Path) -> Option<usize> {
        (0..self.folders.len())
            .filter(|&i| path.starts_with(&self.folders[i].root))
            .max_by_key(|&i| self.folders[i].root.as_os_str().len())
    }

    fn package_of(&self, path: &Path) -> Option<(usize, usize)> {
        let fi = self.folder_of(path)?;
        Some((fi, self.folders[fi].package_of(path)?))
    }

    /// Loads folders' setup and packages again, then re-analyses every package that has open
    /// documents or diagnostics shown.
    fn reload(&mut self, folders: Vec<usize>) {
        for fi in folders {
            let old = self.folders.remove(fi);
            let (mut folder, problems) =
                Folder::load(old.client_root.clone(), &self.base, Some(old.project));
            folder.memo = old.memo;
            self.folders.insert(fi, folder);
            // Package numbers change with a new discovery.
            self.pending.retain(|(f, _)| *f != fi);
            self.report_setup(fi, problems);
            let mut interesting: Vec<usize> = self
                .docs
                .keys()
                .filter(|p| self.folder_of(p) == Some(fi))
                .filter_map(|p| self.folders[fi].package_of(p))
                .collect();
            let gone: Vec<PathBuf> = self
                .published
                .keys()
                .filter(|r| self.folder_of(r) == Some(fi))
                .filter(|r| {
                    match self.folders[fi]
                        .disc
                        .packages
                        .iter()
                        .position(|p| &p.root == *r)
                    {
                        Some(pi) => {
                            interesting.push(pi);
                            false
                        }
                        None => true,
                    }
                })
                .cloned()
                .collect();
            for root in gone {
                for uri in self.published.remove(&root).unwrap_or_default() {
                    self.findings.remove(&uri);
                    self.publish(uri);
                }
            }
            for pi in interesting {
                self.schedule(fi, pi);
            }
        }
        self.routes.clear();
        // A file no package lists is remembered until a discovery lists it.
        let folders = &self.folders;
        self.unlisted
            .retain(|p| !folders.iter().any(|f| p.starts_with(&f.root) && f.lists(p)));
    }

    /// Shows a folder's configuration errors where they are, and clears the ones fixed.
    fn report_setup(&mut self, fi: usize, problems: workspace::SetupProblems) {
        if let Some(msg) = problems.message {
            self.show(lsp::MessageType::ERROR, msg);
        }
        let root = self.folders[fi].root.clone();
        let mut by_file: HashMap<Url, Vec<lsp::Diagnostic>> = HashMap::new();
        for e in &problems.errors {
            if let Some((path, d)) = diagnostics::from_policy_error(e, &root) {
                if let Some(uri) = self.uri_of(&path) {
                    by_file.entry(uri).or_default().push(d);
                }
            }
        }
        let old = self.setup_published.remove(&fi).unwrap_or_default();
        let files = self.replace(Layer::Setup, old, by_file);
        self.setup_published.insert(fi, files);
    }

    /// Replaces one layer of the diagnostics of a group of files (a package's findings, a folder's
    /// configuration errors): the files no longer in the group are cleared, every file of it is
    /// published, in URI order. Returns the group's files.
    fn replace(
        &mut self,
        layer: Layer,
        old: HashSet<Url>,
        new: HashMap<Url, Vec<lsp::Diagnostic>>,
    ) -> HashSet<Url> {
        for uri in old.into_iter().filter(|u| !new.contains_key(u)) {
            self.layer(layer).remove(&uri);
            self.publish(uri);
        }
        let files: HashSet<Url> = new.keys().cloned().collect();
        let mut sorted: Vec<(Url, Vec<lsp::Diagnostic>)> = new.into_iter().collect();
        sorted.sort_by(|a, b| a.0.cmp(&b.0));
        for (uri, ds) in sorted {
            self.layer(layer).insert(uri.clone(), ds);
            self.publish(uri);
        }
        files
    }

    fn layer(&mut self, layer: Layer) -> &mut HashMap<Url, Vec<lsp::Diagnostic>> {
        match layer {
            Layer::Findings => &mut self.findings,
            Layer::Setup => &mut self.setup,
        }
    }

    /// Publishes a file's diagnostics: its findings and its configuration errors.
    fn publish(&self, uri: Url) {
        let mut diagnostics = self.findings.get(&uri).cloned().unwrap_or_default();
        diagnostics.extend(self.setup.get(&uri).cloned().unwrap_or_default());
        let version = path_of(&uri)
            .and_then(|p| self.docs.get(&p))
            .map(|(_, v)| *v);
        self.notify::<note::PublishDiagnostics>(lsp::PublishDiagnosticsParams {
            uri,
            diagnostics,
            version,
        });
    }

    /// The URI of a file as the client knows it: the one it opened it by, else its path below the
    /// folder as the client named the folder.
    fn uri_of(&self, path: &Path) -> Option<Url> {
        if let Some((uri, _)) = self.docs.get(path) {
            return Some(uri.clone());
        }
        let client_path = self
            .folders
            .iter()
            .filter_map(|f| Some(f.client_root.join(path.strip_prefix(&f.root).ok()?)))
            .next();
        diagnostics::uri(client_path.as_deref().unwrap_or(path))
    }

    /// Analyses the packages changed since the last pause, and publishes their files' diagnostics.
    fn flush(&mut self) {
        self.deadline = None;
        for (fi, pi) in std::mem::take(&mut self.pending) {
            self.analyse_and_publish(fi, pi);
        }
    }

    fn analyse_and_publish(&mut self, fi: usize, pi: usize) {
        let folder = &self.folders[fi];
        if pi >= folder.disc.packages.len() {
            return;
        }
        let run = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            self.pool
                .install(|| folder.analyse(pi, &self.overlays, false))
        }));
        let out = match run {
            Ok(out) => out,
            Err(p) => {
                let msg = crate::engine::panic_message(p.as_ref());
                return self.show(
                    lsp::MessageType::ERROR,
                    format!("portcullis: internal error while analysing: {msg}"),
                );
            }
        };
        let policy = &folder.project.policy;
        let uri_of = |p: &Path| self.uri_of(p);
        let mut by_file: HashMap<Url, Vec<lsp::Diagnostic>> = HashMap::new();
        for f in &out.findings {
            let Some(file) = out.files.get(f.loc.file as usize) else {
                continue;
            };
            let (Some(uri), Some(d)) = (
                uri_of(&file.path),
                diagnostics::from_finding(f, &out.files, policy, &uri_of),
            ) else {
                continue;
            };
            by_file.entry(uri).or_default().push(d);
        }
        let root = folder.disc.packages[pi].root.clone();
        // Open documents of the package always get an answer, empty or not, for their version.
        for (path, (uri, _)) in &self.docs {
            if folder.packages_of(path).contains(&pi) {
                by_file.entry(uri.clone()).or_default();
            }
        }
        let old = self.published.remove(&root).unwrap_or_default();
        let files = self.replace(Layer::Findings, old, by_file);
        self.published.insert(root, files);
    }

    fn hover(&mut self, at: &lsp::TextDocumentPositionParams) -> Option<lsp::Hover> {
        let path = path_of(&at.text_document.uri)?;
        let (fi, pi) = self.package_of(&path)?;
        let fresh = self
            .routes
            .get(&(fi, pi))
            .is_some_and(|(n, _)| *n == self.changes);
        if !fresh {
            let folder = &self.folders[fi];
            let out = self
                .pool
                .install(|| folder.analyse(pi, &self.overlays, true));
            let spots = hover::spots(&out.model, &out.files);
            self.routes.insert((fi, pi), (self.changes, spots));
        }
        let text = self.text_of(&path)?;
        let offset = position::offset(&text, at.position);
        let spots = &self.routes.get(&(fi, pi))?.1;
        let rows = hover::at(spots, &path, offset);
        if rows.is_empty() {
            return None;
        }
        Some(lsp::Hover {
            contents: lsp::HoverContents::Markup(lsp::MarkupContent {
                kind: lsp::MarkupKind::Markdown,
                value: hover::markdown(&rows),
            }),
            range: None,
        })
    }

    /// A file's text as the editor has it: the open buffer, else the file on disk.
    fn text_of(&self, path: &Path) -> Option<Arc<str>> {
        match self.overlays.get(path) {
            Some(t) => Some(t.clone()),
            None => std::fs::read_to_string(path).ok().map(Arc::from),
        }
    }
}

/// Whether a rule's findings can be hidden by a suppression comment: not the findings about the
/// comments themselves (they are judged after suppressions apply), nor failures inside portcullis.
fn suppressible(policy: Option<&crate::engine::Policy>, rule: &str) -> bool {
    let about_comments = policy.is_some_and(|p| {
        p.rules.rules.iter().any(|r| {
            r.id == rule && !r.cases.is_empty() && r.cases.iter().all(|c| c.target == "suppression")
        })
    });
    rule != crate::engine::INTERNAL_ERROR && !about_comments
}

/// Source, manifest and deployment files: what discovery lists.
fn is_analysed_kind(path: &Path) -> bool {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_lowercase())
        .unwrap_or_default();
    name.ends_with(".rs")
        || name.ends_with(".toml")
        || name == "cargo.lock"
        || crate::model::deploy_kind(&name).is_some()
}

/// The path of a `file:` URI as discovery names files (symbolic links resolved where it exists).
fn path_of(uri: &Url) -> Option<PathBuf> {
    let p = uri.to_file_path().ok()?;
    Some(p.canonicalize().unwrap_or(p))
}
