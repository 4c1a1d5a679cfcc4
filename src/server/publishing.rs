//! Analysing the packages that changed, and publishing every file's diagnostics: its findings and its
//! configuration errors, under the URI the client knows it by.

use super::{diagnostics, path_of, workspace, Layer, Server};
use lsp_types::notification::{self as note};
use lsp_types::{self as lsp, Url};
use std::collections::{HashMap, HashSet};
use std::path::Path;

impl Server<'_> {
    /// Shows a folder's configuration errors where they are, and clears the ones fixed.
    pub(super) fn report_setup(&mut self, fi: usize, problems: workspace::SetupProblems) {
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
    pub(super) fn replace(
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

    pub(super) fn layer(&mut self, layer: Layer) -> &mut HashMap<Url, Vec<lsp::Diagnostic>> {
        match layer {
            Layer::Findings => &mut self.findings,
            Layer::Setup => &mut self.setup,
        }
    }

    /// Publishes a file's diagnostics: its findings and its configuration errors.
    pub(super) fn publish(&self, uri: Url) {
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
    pub(super) fn uri_of(&self, path: &Path) -> Option<Url> {
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
    pub(super) fn flush(&mut self) {
        self.deadline = None;
        for (fi, pi) in std::mem::take(&mut self.pending) {
            self.analyse_and_publish(fi, pi);
        }
    }

    pub(super) fn analyse_and_publish(&mut self, fi: usize, pi: usize) {
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
}
