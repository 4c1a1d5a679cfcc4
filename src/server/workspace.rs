//! The server's view of the workspace: each folder's project (configuration, policy, packages), the
//! open documents, and which package each file belongs to.

use super::settings;
use crate::discover::{Discovery, Package};
use crate::engine::{self, Cache, Outcome};
use crate::policy_error::PolicyError;
use crate::project::{Choices, Project, SetupError};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub struct Folder {
    /// The folder with symbolic links resolved, as discovery names its files.
    pub root: PathBuf,
    /// The folder as the client named it: diagnostics go to the paths the client knows.
    pub client_root: PathBuf,
    pub choices: Choices,
    pub project: Project,
    pub cache: Option<Cache>,
    pub disc: Discovery,
    /// The facts of the package analysed last: an edit re-lowers its file and decodes nothing.
    /// Carried over when the folder is loaded again (its keys hold the policy's fingerprint).
    pub memo: engine::FactsMemo,
}

/// What loading a folder's setup reported: errors in its files, or a message for the user.
#[derive(Default)]
pub struct SetupProblems {
    pub errors: Vec<PolicyError>,
    pub message: Option<String>,
}

impl Folder {
    /// Loads the folder's project and finds its packages. A broken configuration or rule file keeps
    /// the project it replaces (the built-in policy when there is none), and is reported.
    pub fn load(
        client_root: PathBuf,
        base: &Choices,
        previous: Option<Project>,
    ) -> (Folder, SetupProblems) {
        let root = client_root.canonicalize().unwrap_or(client_root.clone());
        // The editor's paths are the folder's, whatever the server's working directory.
        let anchor = |p: &PathBuf| {
            if p.is_relative() {
                root.join(p)
            } else {
                p.clone()
            }
        };
        let choices = Choices {
            paths: vec![root.clone()],
            config: base.config.as_ref().map(anchor),
            rules: base.rules.iter().map(anchor).collect(),
            cache_dir: base.cache_dir.as_ref().map(anchor),
            advisory_db: base.advisory_db.as_ref().map(anchor),
            ..base.clone()
        };
        let mut problems = SetupProblems::default();
        let project = match Project::load(&choices) {
            Ok(p) => p,
            Err(e) => {
                match e {
                    SetupError::Policy(errors) => {
                        problems.message = Some(format!(
                            "portcullis: {} error(s) in configuration or rule files; the previous rules stay in force",
                            errors.len()
                        ));
                        problems.errors = errors;
                    }
                    SetupError::Usage(msg, help) => {
                        problems.message = Some(match help {
                            Some(h) => format!("portcullis: {msg} ({h})"),
                            None => format!("portcullis: {msg}"),
                        });
                    }
                }
                match previous {
                    Some(p) => p,
                    // The built-in pack is checked by the test suite: it always loads.
                    None => Project::builtin().expect("the built-in policy loads"),
                }
            }
        };
        let cache = project
            .cache_dir(&choices)
            .filter(|dir| {
                // The server never writes into the workspace, even where the editor's settings say.
                let real = dir.ancestors().find_map(|a| a.canonicalize().ok());
                let inside = real.is_some_and(|r| r.starts_with(&root));
                if inside {
                    problems.message.get_or_insert(format!(
                        "portcullis: the cache directory {} is inside the workspace; running without the cache",
                        dir.display()
                    ));
                }
                !inside
            })
            .map(|d| Cache::new(&d));
        let mut disc = crate::discover::discover(&choices.paths, project.walk).unwrap_or_default();
        project.exclude(&mut disc, &[], false);
        (
            Folder {
                root,
                client_root,
                choices,
                project,
                cache,
                disc,
                memo: engine::FactsMemo::default(),
            },
            problems,
        )
    }

    /// Every package listing a file (a deployment file may serve several); else, for a Rust file,
    /// the deepest whose root holds it (a YAML file no package lists concerns none).
    pub fn packages_of(&self, path: &Path) -> Vec<usize> {
        let pkgs = &self.disc.packages;
        let listing: Vec<usize> = (0..pkgs.len())
            .filter(|&i| listed_in(&pkgs[i], path))
            .collect();
        if !listing.is_empty() || path.extension().is_none_or(|e| e != "rs") {
            return listing;
        }
        self.package_of(path).into_iter().collect()
    }

    /// Whether discovery never lists a file wherever it is created: build output and version
    /// control, a package's tests, benches and examples, tools' TOML files.
    pub fn never_listed(&self, path: &Path) -> bool {
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        let in_package_dir = self.disc.packages.iter().any(|p| {
            path.strip_prefix(&p.root).is_ok_and(|rel| {
                rel.components().next().is_some_and(|c| {
                    crate::discover::NON_SERVICE_DIRS
                        .contains(&c.as_os_str().to_string_lossy().as_ref())
                })
            })
        });
        self.skipped(path) || in_package_dir || crate::discover::TOOL_TOMLS.contains(&name)
    }

    /// Whether a file is one discovery would skip (build output, version control).
    pub fn skipped(&self, path: &Path) -> bool {
        path.strip_prefix(&self.root).is_ok_and(|rel| {
            rel.components().any(|c| {
                crate::discover::SKIP_DIRS.contains(&c.as_os_str().to_string_lossy().as_ref())
            })
        })
    }

    /// Whether some package lists the file as one of its own.
    pub fn lists(&self, path: &Path) -> bool {
        self.disc.packages.iter().any(|p| listed_in(p, path))
    }

    /// The package a file belongs to: the one listing it, else the deepest whose root holds it.
    pub fn package_of(&self, path: &Path) -> Option<usize> {
        let pkgs = &self.disc.packages;
        let listed = pkgs.iter().position(|p| listed_in(p, path));
        listed.or_else(|| {
            pkgs.iter()
                .enumerate()
                .filter(|(_, p)| path.starts_with(&p.root))
                .max_by_key(|(_, p)| p.root.as_os_str().len())
                .map(|(i, _)| i)
        })
    }

    /// One package analysed as `check` would, with the open documents standing for their files.
    pub fn analyse(
        &self,
        package: usize,
        overlays: &HashMap<PathBuf, Arc<str>>,
        keep_model: bool,
    ) -> Outcome {
        let pkg: &Package = &self.disc.packages[package];
        let disc = Discovery {
            packages: vec![pkg.clone()],
            report_only: None,
            unreadable: self
                .disc
                .unreadable
                .iter()
                .filter(|(p, _)| p.starts_with(&pkg.root))
                .cloned()
                .collect(),
        };
        let enabled = |r: &crate::rules::Rule| self.project.enabled(r);
        let options = engine::Options {
            cache: self.cache.as_ref(),
            keep_model,
            // Hover wants the routes, not every call.
            prune_calls: true,
            overlays: Some(overlays),
            memo: Some(&self.memo),
        };
        let mut out = engine::analyze_with(&disc, &self.project.policy, &enabled, options);
        self.project.apply_config(&mut out);
        out
    }
}

fn listed_in(p: &Package, path: &Path) -> bool {
    p.code_files.iter().any(|f| f.path == path)
        || p.toml_files.iter().any(|f| f == path)
        || p.deploy_files.iter().any(|f| f == path)
}

/// The settings of every folder, from the command line and the editor.
pub fn choices(base: &Choices, editor: &serde_json::Value) -> (Choices, Option<String>) {
    match settings::apply(base, editor) {
        Ok(c) => (c, None),
        Err(msg) => (base.clone(), Some(msg)),
    }
}
