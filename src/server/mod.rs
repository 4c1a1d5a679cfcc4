//! `portcullis server`: the Language Server Protocol (3.17) over stdio. Open buffers stand for their
//! files (`engine::Options::overlays`); a change re-analyses the package holding the file, after a
//! short pause for more typing, with the same cache as `check`, and publishes the diagnostics of every
//! file of that package. Code actions suppress a finding; hover shows a route's protections.
//!
//! The server is one loop over the client's messages; analyses run on a worker pool inside it, so
//! requests are answered in order. It never writes into the workspace.

mod actions;
mod changes;
mod diagnostics;
mod hover;
mod position;
mod publishing;
mod requests;
mod settings;
mod workspace;

use crate::cli::ServerArgs;
use crate::project::Choices;
use lsp_server::{Connection, Message, Notification};
use lsp_types::notification::{self as note, Notification as _};

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
}

/// The path of a `file:` URI as discovery names files (symbolic links resolved where it exists).
fn path_of(uri: &Url) -> Option<PathBuf> {
    let p = uri.to_file_path().ok()?;
    Some(p.canonicalize().unwrap_or(p))
}
