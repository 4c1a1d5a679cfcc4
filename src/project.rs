//! A project as a run sees it: its configuration, its policy, which rules are enabled and where the
//! cache lives. `check` builds one per run from the command line; the language server builds one from
//! its initialization options and builds it again when a configuration or rule file changes.

use crate::config::{matches_rule, selects, Config, TIER_SELECTORS};
use crate::engine::{self, Policy};
use crate::policy_error::{did_you_mean, PolicyError};
use crate::rules::Rule;
use std::path::{Path, PathBuf};

/// What the user chose, from the command line or the editor's settings.
#[derive(Debug, Default, Clone)]
pub struct Choices {
    /// What is analysed; the configuration is looked up from the first.
    pub paths: Vec<PathBuf>,
    pub config: Option<PathBuf>,
    pub rules: Vec<PathBuf>,
    pub select: Vec<String>,
    pub ignore: Vec<String>,
    pub max_file_size: Option<u64>,
    pub advisory_db: Option<PathBuf>,
    pub follow_symlinks: bool,
    pub cache_dir: Option<PathBuf>,
    pub no_cache: bool,
}

/// Why a project could not be set up.
#[derive(Debug)]
pub enum SetupError {
    /// Errors in configuration, rule, catalog or advisory files, all of them, located.
    Policy(Vec<PolicyError>),
    /// A wrong choice (an unknown rule id): the message and a hint.
    Usage(String, Option<String>),
}

pub struct Project {
    pub cfg: Config,
    pub policy: Policy,
    select: Vec<String>,
    ignore: Vec<String>,
    pub walk: crate::discover::WalkOptions,
}

impl Project {
    pub fn load(ch: &Choices) -> Result<Project, SetupError> {
        let cfg = config_for(&ch.paths, ch.config.as_ref()).map_err(SetupError::Policy)?;
        let mut policy = policy_for(&cfg, &ch.rules).map_err(SetupError::Policy)?;
        policy.require_suppression_reason = cfg.require_suppression_reason;
        if let Some(n) = ch.max_file_size.or(cfg.max_file_size) {
            policy.max_file_size = n;
        }
        let ids: Vec<&str> = policy.rules.rules.iter().map(|r| r.id.as_str()).collect();
        let tags: Vec<String> = policy
            .rules
            .rules
            .iter()
            .flat_map(|r| r.tags.clone())
            .collect();
        let cfg_errors = cfg.check_rules(&ids, &tags);
        if !cfg_errors.is_empty() {
            return Err(SetupError::Policy(cfg_errors));
        }
        if let Some(db) = ch.advisory_db.as_ref().or(cfg.advisory_db.as_ref()) {
            policy.add_advisory_db(db).map_err(SetupError::Policy)?;
        }
        check_ids(&ch.select, &policy, "--select")?;
        check_ids(&ch.ignore, &policy, "--ignore")?;
        let select = if ch.select.is_empty() {
            cfg.select.iter().map(|s| s.value.clone()).collect()
        } else {
            ch.select.clone()
        };
        let ignore = ch
            .ignore
            .iter()
            .cloned()
            .chain(cfg.ignore.iter().map(|s| s.value.clone()))
            .collect();
        let walk = crate::discover::WalkOptions {
            follow_symlinks: ch.follow_symlinks || cfg.follow_symlinks,
        };
        Ok(Project {
            cfg,
            policy,
            select,
            ignore,
            walk,
        })
    }

    /// The built-in policy, no configuration, the default selection.
    pub fn builtin() -> Result<Project, Vec<PolicyError>> {
        Ok(Project {
            cfg: Config::default(),
            policy: engine::load_policy(&[])?,
            select: vec![],
            ignore: vec![],
            walk: Default::default(),
        })
    }

    /// Whether the selection (command line over configuration) enables a rule.
    pub fn enabled(&self, r: &Rule) -> bool {
        selects(&self.select, &r.id, &r.tags, r.tier)
            && !self.ignore.iter().any(|s| s == r.tier.as_str())
            && !self.ignore.iter().any(|s| matches_rule(s, &r.id, &r.tags))
    }

    /// The cache directory in force, `None` for no cache: a directory inside the scanned tree is refused
    /// with a warning, since the tool never writes into what it scans.
    pub fn cache_dir(&self, ch: &Choices) -> Option<PathBuf> {
        // A failure injected on purpose must happen, not be answered from the cache.
        if ch.no_cache || std::env::var_os(engine::INJECT_PANIC_VAR).is_some() {
            return None;
        }
        let env = |name: &str| {
            std::env::var_os(name)
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
        };
        if let Some(dir) = ch.cache_dir.clone().or_else(|| env("PORTCULLIS_CACHE_DIR")) {
            return Some(dir);
        }
        let dir = self
            .cfg
            .cache_dir
            .clone()
            .or_else(|| {
                env("XDG_CACHE_HOME")
                    .filter(|p| p.is_absolute())
                    .map(|p| p.join("portcullis"))
            })
            .or_else(|| env("HOME").map(|h| h.join(".cache").join("portcullis")))?;
        let scanned: Vec<PathBuf> = ch
            .paths
            .iter()
            .filter_map(|p| p.canonicalize().ok())
            .collect();
        // The directory may not exist yet: compare its nearest existing ancestor.
        let real = dir
            .ancestors()
            .find_map(|a| a.canonicalize().ok())
            .unwrap_or_default();
        if scanned.iter().any(|s| real.starts_with(s)) {
            eprintln!(
                "portcullis: warning: the cache directory {} is inside the scanned tree; running without the cache (choose one with --cache-dir or PORTCULLIS_CACHE_DIR)",
                dir.display()
            );
            return None;
        }
        Some(dir)
    }

    /// Drops the files the configuration's `exclude` names from a discovery, except files named
    /// explicitly (unless `force`, pre-commit's `--force-exclude`).
    pub fn exclude(&self, disc: &mut crate::discover::Discovery, named: &[PathBuf], force: bool) {
        if self.cfg.exclude.is_none() {
            return;
        }
        let named: Vec<PathBuf> = named
            .iter()
            .filter(|p| p.is_file())
            .filter_map(|p| p.canonicalize().ok())
            .collect();
        let keep = |p: &Path| {
            !self.cfg.excludes(p) || (!force && p.canonicalize().is_ok_and(|c| named.contains(&c)))
        };
        for pkg in &mut disc.packages {
            pkg.code_files.retain(|f| keep(&f.path));
            pkg.toml_files.retain(|f| keep(f));
        }
    }

    /// The configuration's per-file ignores and severity overrides, applied to a run's findings.
    pub fn apply_config(&self, outcome: &mut engine::Outcome) {
        let cfg = &self.cfg;
        if cfg.per_file_ignores.is_empty() && cfg.severity.is_empty() {
            return;
        }
        let tags_of = |id: &str| -> Vec<String> {
            self.policy
                .rules
                .rules
                .iter()
                .find(|r| r.id == id)
                .map(|r| r.tags.clone())
                .unwrap_or_default()
        };
        let files = &outcome.files;
        let before = outcome.findings.len();
        outcome.findings.retain(|f| {
            let path = &files[f.loc.file as usize].path;
            !cfg.ignores_in_file(path, &f.rule, &tags_of(&f.rule))
        });
        outcome.suppressed += before - outcome.findings.len();
        for f in &mut outcome.findings {
            if let Some((_, s)) = cfg.severity.iter().find(|(r, _)| r.value == f.rule) {
                f.severity = *s;
            }
        }
    }
}

/// The configuration file named, else the nearest one walking up from the first path.
pub fn config_for(
    paths: &[PathBuf],
    explicit: Option<&PathBuf>,
) -> Result<Config, Vec<PolicyError>> {
    let path = match explicit {
        Some(p) => Some(p.clone()),
        None => {
            let start = paths.first().cloned().unwrap_or_else(|| ".".into());
            crate::config::find(&start)
        }
    };
    match path {
        Some(p) => crate::config::load(&p),
        None => Ok(Config::default()),
    }
}

/// The built-in policy plus the rule directories and catalog shorthands of the command line and config.
pub fn policy_for(cfg: &Config, cli_dirs: &[PathBuf]) -> Result<Policy, Vec<PolicyError>> {
    let mut dirs = cli_dirs.to_vec();
    dirs.extend(cfg.rules.iter().cloned());
    let extra: Vec<(String, std::sync::Arc<str>)> = cfg
        .catalog
        .iter()
        .map(|t| {
            (
                format!("{} [catalog]", cfg.display),
                std::sync::Arc::from(t.as_str()),
            )
        })
        .collect();
    engine::load_policy_with(&dirs, extra)
}

/// Rule selectors chosen by the user: rule ids, tags, tiers or `all`.
fn check_ids(ids: &[String], policy: &Policy, flag: &str) -> Result<(), SetupError> {
    let known: Vec<&str> = policy
        .rules
        .rules
        .iter()
        .map(|r| r.id.as_str())
        .chain([engine::PARSE_ERROR, engine::INTERNAL_ERROR, "all"])
        .chain(TIER_SELECTORS)
        .collect();
    for id in ids {
        let is_tag = policy
            .rules
            .rules
            .iter()
            .any(|r| r.tags.iter().any(|t| t.eq_ignore_ascii_case(id)));
        if !known.contains(&id.as_str()) && !is_tag {
            return Err(SetupError::Usage(
                format!("unknown rule `{id}` in {flag}"),
                did_you_mean(id, known.iter().copied()),
            ));
        }
    }
    Ok(())
}

/// Whether a path is one whose change alters the project's setup: a configuration file, or a rule or
/// catalog file of a rule directory in force.
pub fn is_setup_file(project: &Project, ch: &Choices, path: &Path) -> bool {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    if matches!(name, "portcullis.toml" | ".portcullis.toml" | "Cargo.toml") {
        return true;
    }
    if project.cfg.file.as_deref() == Some(path) {
        return true;
    }
    let toml = path.extension().is_some_and(|e| e == "toml");
    toml && ch
        .rules
        .iter()
        .chain(project.cfg.rules.iter())
        .any(|d| path.starts_with(d) || d.canonicalize().is_ok_and(|d| path.starts_with(d)))
}
