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
    pub root: PathBuf,
    pub choices: Choices,
    pub project: Project,
    pub cache: Option<Cache>,
    pub disc: Discovery,
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
        root: PathBuf,
        base: &Choices,
        previous: Option<Project>,
    ) -> (Folder, SetupProblems) {
        let choices = Choices {
            paths: vec![root.clone()],
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
        let cache = project.cache_dir(&choices).map(|d| Cache::new(&d));
        let mut disc = crate::discover::discover(&choices.paths, project.walk).unwrap_or_default();
        project.exclude(&mut disc, &[], false);
        (
            Folder {
                root,
                choices,
                project,
                cache,
                disc,
            },
            problems,
        )
    }

    /// The package a file belongs to: the one listing it, else the deepest whose root holds it.
    pub fn package_of(&self, path: &Path) -> Option<usize> {
        let pkgs = &self.disc.packages;
        let listed = pkgs.iter().position(|p| {
            p.rust_files.iter().any(|f| f.path == path)
                || p.toml_files.iter().any(|f| f == path)
                || p.deploy_files.iter().any(|f| f == path)
        });
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
            overlays: Some(overlays),
        };
        let mut out = engine::analyze_with(&disc, &self.project.policy, &enabled, options);
        self.project.apply_config(&mut out);
        out
    }
}

/// The settings of every folder, from the command line and the editor.
pub fn choices(base: &Choices, editor: &serde_json::Value) -> (Choices, Option<String>) {
    match settings::apply(base, editor) {
        Ok(c) => (c, None),
        Err(msg) => (base.clone(), Some(msg)),
    }
}
