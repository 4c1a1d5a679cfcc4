//! The policy in force: rules, catalog and advisories, loaded and checked once before any file is read.

use crate::catalog::Catalog;
use crate::policy_error::PolicyError;
use crate::rules::{RuleSet, RuleSource};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::display_path;
use super::hash::Hasher128;
pub(super) use embedded::SOURCE_HASH;

pub(super) mod embedded {
    include!(concat!(env!("OUT_DIR"), "/embedded.rs"));
}

pub const DEFAULT_MAX_FILE_SIZE: u64 = 8 << 20;

/// Whether a rule's `source` names a file of the built-in pack rather than a file on disk.
pub fn is_builtin(source: &str) -> bool {
    embedded::RULES.iter().any(|(name, _)| *name == source)
}

pub struct Policy {
    pub catalog: Catalog,
    pub rules: RuleSet,
    /// Advisories matched against `Cargo.lock`: the curated set, plus any `--advisory-db`.
    pub advisories: Vec<crate::advisories::Advisory>,
    /// Suppression comments must give a reason (project configuration).
    pub require_suppression_reason: bool,
    /// Larger files are reported, not read (`--max-file-size`, `max-file-size`).
    pub max_file_size: u64,
    /// A hash of every rule and catalog source loaded: part of every cache key.
    pub sources_hash: u128,
}

impl Policy {
    /// Everything about the policy that can change a finding: rules, catalog, advisories, settings.
    pub fn fingerprint(&self) -> u128 {
        let mut h = Hasher128::new();
        h.u128(self.sources_hash)
            .str(&format!("{:?}", self.advisories))
            .u64(self.max_file_size)
            .u64(self.require_suppression_reason as u64);
        h.finish()
    }

    /// Adds every advisory of a RustSec advisory-db checkout.
    pub fn add_advisory_db(&mut self, dir: &Path) -> Result<usize, Vec<PolicyError>> {
        let list = crate::advisories::load_dir(dir)?;
        let n = list.len();
        // The database's copy of an advisory replaces the curated one.
        let ids: std::collections::HashSet<&str> = list.iter().map(|a| a.id.as_str()).collect();
        self.advisories.retain(|a| !ids.contains(a.id.as_str()));
        self.advisories.extend(list);
        Ok(n)
    }
}

fn bundled_advisories(errors: &mut Vec<PolicyError>) -> Vec<crate::advisories::Advisory> {
    let mut out = vec![];
    for (name, text) in embedded::ADVISORIES {
        match crate::advisories::parse(name, &Arc::from(*text), "bundled") {
            Ok(Some(a)) => out.push(a),
            Ok(None) => {}
            Err(e) => errors.push(e),
        }
    }
    out
}

/// Loads the built-in pack and catalog plus every extra rule directory (`DIR/*.toml` rules,
/// `DIR/catalog/*.toml` catalog extensions). All errors are returned together.
pub fn load_policy(extra_dirs: &[PathBuf]) -> Result<Policy, Vec<PolicyError>> {
    load_policy_with(extra_dirs, vec![])
}

/// `load_policy` plus catalog sources that are not files of a rule directory (project configuration).
pub fn load_policy_with(
    extra_dirs: &[PathBuf],
    extra_catalog: Vec<(String, Arc<str>)>,
) -> Result<Policy, Vec<PolicyError>> {
    let mut catalog_src: Vec<(String, Arc<str>)> = embedded::CATALOG
        .iter()
        .map(|(n, t)| (n.to_string(), Arc::from(*t)))
        .collect();
    catalog_src.extend(extra_catalog);
    let mut rule_src: Vec<RuleSource> = embedded::RULES
        .iter()
        .map(|(n, t)| RuleSource {
            name: n.to_string(),
            text: Arc::from(*t),
        })
        .collect();
    let mut errors = vec![];
    for dir in extra_dirs {
        if !dir.is_dir() {
            let text: Arc<str> = Arc::from("");
            errors.push(PolicyError::new(
                &display_path(dir),
                &text,
                None,
                "rule directory does not exist",
            ));
            continue;
        }
        for (path, target) in [(dir.to_path_buf(), false), (dir.join("catalog"), true)] {
            let mut files: Vec<PathBuf> = std::fs::read_dir(&path)
                .map(|rd| {
                    rd.filter_map(Result::ok)
                        .map(|e| e.path())
                        .filter(|p| p.is_file() && p.extension().is_some_and(|e| e == "toml"))
                        .collect()
                })
                .unwrap_or_default();
            files.sort();
            for f in files {
                let name = display_path(&f);
                match std::fs::read_to_string(&f) {
                    Ok(text) if target => catalog_src.push((name, Arc::from(text))),
                    Ok(text) => rule_src.push(RuleSource {
                        name,
                        text: Arc::from(text),
                    }),
                    Err(e) => errors.push(PolicyError::new(
                        &name,
                        &Arc::from(""),
                        None,
                        format!("cannot read rule file: {e}"),
                    )),
                }
            }
        }
    }
    let catalog = match Catalog::load(&catalog_src) {
        Ok(c) => c,
        Err(mut e) => {
            errors.append(&mut e);
            return Err(errors);
        }
    };
    let advisories = bundled_advisories(&mut errors);
    let mut h = Hasher128::new();
    for (name, text) in &catalog_src {
        h.str(name).str(text);
    }
    for r in &rule_src {
        h.str(&r.name).str(&r.text);
    }
    let sources_hash = h.finish();
    match RuleSet::load(&rule_src, &catalog) {
        Ok(rules) if errors.is_empty() => Ok(Policy {
            catalog,
            rules,
            advisories,
            require_suppression_reason: false,
            max_file_size: DEFAULT_MAX_FILE_SIZE,
            sources_hash,
        }),
        Ok(_) => Err(errors),
        Err(mut e) => {
            errors.append(&mut e);
            Err(errors)
        }
    }
}
