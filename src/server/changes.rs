//! What the server does when the client tells it something changed: a buffer opened, edited, saved or
//! closed, files changed on disk, the editor's settings; and the watchers it asks the client for.

use super::{path_of, workspace, Server, PAUSE};
use lsp_server::{Message, Notification, Request, RequestId};
use lsp_types::notification::{self as note, Notification as _};
use lsp_types::request::{self as req, Request as _};
use lsp_types::{self as lsp, Url};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

impl Server<'_> {
    pub(super) fn notification(&mut self, n: Notification) {
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
                    self.closed(&p.text_document.uri);
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
                        self.settings_changed(v);
                    }
                }
            }
            _ => {}
        }
    }

    fn closed(&mut self, uri: &Url) {
        if let Some(path) = path_of(uri) {
            self.docs.remove(&path);
            self.overlays.remove(&path);
            // The file on disk takes over: it may differ from the buffer.
            self.touch(&path);
        }
    }

    /// The editor's settings replace its earlier ones (a key left out is unset) over the command
    /// line's; every folder is loaded again with them.
    fn settings_changed(&mut self, editor: &serde_json::Value) {
        let (base, problem) = workspace::choices(&self.cli, editor);
        if let Some(msg) = problem {
            self.show(lsp::MessageType::WARNING, msg);
        }
        self.base = base;
        self.reload((0..self.folders.len()).collect());
    }

    /// Asks the client to tell the server about changes to source, manifest, configuration and rule
    /// files it has not opened.
    pub(super) fn watch(&mut self) {
        if !self.watch_files {
            return;
        }
        let watchers = [
            "**/*.rs",
            "**/*.py",
            "**/*.toml",
            "**/requirements*.txt",
            "**/setup.cfg",
            "**/Pipfile",
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

    pub(super) fn edited(&mut self, uri: Url, version: i32, text: String) {
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
    pub(super) fn find_new(&mut self, path: &Path) {
        let source = path
            .extension()
            .is_some_and(|e| e == "rs" || e == "py" || e == "toml");
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
    pub(super) fn files_changed(&mut self, changes: &[(PathBuf, bool)]) {
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

    pub(super) fn touch(&mut self, path: &Path) {
        if let Some(fi) = self.folder_of(path) {
            for pi in self.folders[fi].packages_of(path) {
                self.schedule(fi, pi);
            }
        }
    }

    pub(super) fn schedule(&mut self, folder: usize, package: usize) {
        self.changes += 1;
        self.pending.insert((folder, package));
        self.deadline = Some(Instant::now() + PAUSE);
    }
}

/// Source, manifest and deployment files: what discovery lists.
fn is_analysed_kind(path: &Path) -> bool {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_lowercase())
        .unwrap_or_default();
    name.ends_with(".rs")
        || name.ends_with(".py")
        || name.ends_with(".toml")
        || name == "cargo.lock"
        || crate::model::deploy_kind(&name).is_some()
}
