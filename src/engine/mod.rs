//! The pipeline, as stages with one-way hand-offs:
//!
//! 1. discover (`crate::discover`): the packages and their files;
//! 2. plan (`read::plan`): the units of analysis (one per package) and the id of every file;
//! 3. per unit, side by side (`unit::analyse`): read its files, answer from the cache when nothing it
//!    depends on changed, else run the front end per file (`frontend`), build the unit's model, evaluate
//!    the rules and apply suppression comments; the unit's facts and model are dropped before the next;
//! 4. merge (here): every unit's findings in one deterministic order, ready for the reporters.

mod cache;
mod diagnostics;
mod frontend;
mod hash;
mod policy;
mod read;
mod schedule;
mod suppressions;
mod unit;

pub use cache::Cache;
pub use diagnostics::{panic_message, INJECT_PANIC_VAR, INTERNAL_ERROR, PARSE_ERROR};
pub use frontend::FactsMemo;
pub use policy::{is_builtin, load_policy, load_policy_with, Policy, DEFAULT_MAX_FILE_SIZE};

use crate::discover::{Crate, Discovery, Package};
use crate::model::Model;
use crate::rules::{Finding, Label, Rule};
use crate::source::SourceFile;
use rayon::prelude::*;
use read::{FilePlan, UnitPlan};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use unit::{RunCx, UnitResult};

/// Display paths for many files: the working directory is looked up once.
pub(crate) struct DisplayPaths {
    cwd: Option<PathBuf>,
}

impl DisplayPaths {
    pub(crate) fn new() -> Self {
        DisplayPaths {
            cwd: std::env::current_dir()
                .ok()
                .and_then(|c| c.canonicalize().ok()),
        }
    }

    pub(crate) fn of(&self, p: &Path) -> String {
        let abs = p.canonicalize().unwrap_or_else(|_| p.to_path_buf());
        let shown = match &self.cwd {
            Some(c) => abs
                .strip_prefix(c)
                .map(Path::to_path_buf)
                .unwrap_or(abs.clone()),
            None => abs.clone(),
        };
        let s = shown.to_string_lossy().replace('\\', "/");
        if s.is_empty() {
            ".".into()
        } else {
            s
        }
    }
}

/// A path as the user sees it: relative to the working directory when below it, `/`-separated.
pub fn display_path(p: &Path) -> String {
    DisplayPaths::new().of(p)
}

pub struct Outcome {
    /// Every file of the run, indexed by file id. Only the files findings point into keep their text
    /// (all of them when the model is kept).
    pub files: Vec<SourceFile>,
    pub findings: Vec<Finding>,
    pub packages: usize,
    /// Findings hidden by suppression comments.
    pub suppressed: usize,
    /// Findings hidden because the baseline records them.
    pub baselined: usize,
    /// The service model of every unit, when `Options::keep_model` asked for it (else empty).
    pub model: Model,
}

/// How a run is carried out; none of it changes the findings.
#[derive(Default, Clone, Copy)]
pub struct Options<'a> {
    pub cache: Option<&'a Cache>,
    /// Keep every unit's model (the route inventory, debugging); it bypasses the unit cache.
    pub keep_model: bool,
    /// A kept model holds every call entity, unless this is set: then, as for rules alone, only the
    /// calls some enabled rule could match (the model is wanted for its routes).
    pub prune_calls: bool,
    /// Texts that stand for files on disk (an editor's unsaved buffers), by the path discovery gives
    /// the file.
    pub overlays: Option<&'a HashMap<PathBuf, Arc<str>>>,
    /// Facts kept from the last analysis of the same unit (see `FactsMemo`).
    pub memo: Option<&'a FactsMemo>,
}

/// Analyses discovered packages with the given policy, keeping the model, without a cache.
pub fn analyze(
    disc: &Discovery,
    policy: &Policy,
    enabled: &(dyn Fn(&Rule) -> bool + Sync),
) -> Outcome {
    analyze_with(
        disc,
        policy,
        enabled,
        Options {
            keep_model: true,
            ..Options::default()
        },
    )
}

pub fn analyze_with(
    disc: &Discovery,
    policy: &Policy,
    enabled: &(dyn Fn(&Rule) -> bool + Sync),
    options: Options,
) -> Outcome {
    // What the walk could not enter is still reported when no package was found to hold it.
    let placeholder;
    let packages = if disc.packages.is_empty() && !disc.unreadable.is_empty() {
        placeholder = [Package {
            name: String::new(),
            root: PathBuf::from("."),
            manifest: None,
            code_files: vec![],
            toml_files: vec![],
            deploy_files: vec![],
            crates: vec![Crate::named("", Path::new("."))],
        }];
        &placeholder[..]
    } else {
        &disc.packages[..]
    };
    let mut units = read::plan(packages, disc);
    if let Some(texts) = options.overlays {
        for f in units.iter_mut().flat_map(|u| u.files.iter_mut()) {
            if let Some(t) = texts.get(&f.path) {
                f.text = Some(t.to_string());
            }
        }
    }
    let mut outcome = run(&units, packages, policy, enabled, options);
    outcome.packages = disc.packages.iter().map(|p| p.crates.len()).sum();
    if let Some(allowed) = &disc.report_only {
        let files = &outcome.files;
        outcome.findings.retain(|f| {
            allowed
                .iter()
                .any(|a| files[f.loc.file as usize].path.starts_with(a))
        });
    }
    if let Some(c) = options.cache {
        c.prune();
    }
    outcome
}

/// Analyses in-memory sources as one package (rule examples, tests).
pub fn analyze_sources(
    package: &str,
    sources: &[(&str, &str)],
    policy: &Policy,
    enabled: &(dyn Fn(&Rule) -> bool + Sync),
) -> Outcome {
    let pkg = Package {
        name: package.to_string(),
        root: PathBuf::from("."),
        manifest: None,
        code_files: vec![],
        toml_files: vec![],
        deploy_files: vec![],
        crates: vec![Crate::named(package, Path::new("."))],
    };
    let files = sources
        .iter()
        .map(|(name, text)| {
            let kind = if name.ends_with(".toml") || name.ends_with("Cargo.lock") {
                crate::source::FileKind::Toml
            } else if name.ends_with(".py") {
                crate::source::FileKind::Python
            } else {
                crate::source::FileKind::Rust
            };
            let module = if kind == crate::source::FileKind::Python {
                crate::discover::python_module_of(Path::new(name))
            } else {
                name.trim_start_matches("src/")
                    .trim_end_matches(".rs")
                    .split('/')
                    .filter(|s| !s.is_empty() && *s != "main" && *s != "lib" && *s != "mod")
                    .map(str::to_string)
                    .collect()
            };
            FilePlan {
                path: PathBuf::from(name),
                display: name.to_string(),
                kind,
                target: "main".into(),
                module,
                krate: 0,
                unread: None,
                text: Some(text.to_string()),
            }
        })
        .collect();
    let units = [UnitPlan {
        package: 0,
        first_file: 0,
        files,
    }];
    let options = Options {
        keep_model: true,
        ..Options::default()
    };
    run(&units, &[pkg], policy, enabled, options)
}

/// Runs every unit (side by side within a memory budget, each parallel inside) and merges their results
/// in unit order.
fn run(
    units: &[UnitPlan],
    packages: &[Package],
    policy: &Policy,
    enabled: &(dyn Fn(&Rule) -> bool + Sync),
    options: Options,
) -> Outcome {
    let cx = RunCx::new(
        policy,
        enabled,
        options.cache,
        options.keep_model,
        options.memo,
    )
    .pruning_calls(options.prune_calls);
    let weights: Vec<u64> = units.par_iter().map(read::weight).collect();
    let results: Vec<UnitResult> = schedule::run(&weights, &|i| {
        let u = &units[i];
        unit::analyse(&cx, u, &packages[u.package])
    });
    let mut outcome = Outcome {
        files: vec![],
        findings: vec![],
        packages: packages.len(),
        suppressed: 0,
        baselined: 0,
        model: Model::default(),
    };
    for r in results {
        outcome.files.extend(r.files);
        outcome.findings.extend(r.findings);
        outcome.suppressed += r.suppressed;
        if let Some(m) = r.model {
            outcome.model.extend(m);
        }
    }
    sort_findings(&mut outcome.findings, &outcome.files);
    outcome
}

pub fn sort_findings(findings: &mut Vec<Finding>, files: &[SourceFile]) {
    findings.sort_by(|a, b| {
        let fa = &files[a.loc.file as usize].display;
        let fb = &files[b.loc.file as usize].display;
        (fa, a.loc.span.line, a.loc.span.col, &a.rule, &a.message).cmp(&(
            fb,
            b.loc.span.line,
            b.loc.span.col,
            &b.rule,
            &b.message,
        ))
    });
    findings.dedup_by(|a, b| a.rule == b.rule && a.loc == b.loc && a.message == b.message);
    for f in findings.iter_mut() {
        f.labels.sort_by(|a: &Label, b: &Label| {
            (a.loc.file, a.loc.span.start, &a.message).cmp(&(
                b.loc.file,
                b.loc.span.start,
                &b.message,
            ))
        });
    }
}
