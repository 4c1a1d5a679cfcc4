//! Project configuration: `portcullis.toml`, `.portcullis.toml`, or `[workspace.metadata.portcullis]` /
//! `[package.metadata.portcullis]` in Cargo.toml, found by walking up from the scanned path. Validated
//! by hand over `toml_edit` so that every error (unknown key, wrong type, unknown rule) is reported at
//! once, located in the user's file.

use crate::policy_error::{did_you_mean, PolicyError};
use crate::rules::{Severity, Tier};
use globset::{Glob, GlobSet, GlobSetBuilder};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use toml_edit::{ImDocument, Item, Table, Value};

const KEYS: &[&str] = &[
    "select",
    "ignore",
    "fail-on",
    "exclude",
    "rules",
    "advisory-db",
    "require-suppression-reason",
    "max-file-size",
    "follow-symlinks",
    "cache-dir",
    "severity",
    "per-file-ignores",
    "catalog",
];
const CATALOG_KEYS: &[&str] = &[
    "auth",
    "rate-limit",
    "cache",
    "validation",
    "public-paths",
    "credential-paths",
];

/// What a project can say about itself.
#[derive(Debug, Default)]
pub struct Config {
    /// The file it came from (None: no configuration found).
    pub file: Option<PathBuf>,
    /// Paths in the configuration are relative to this directory.
    pub base: PathBuf,
    pub select: Vec<Spanned>,
    pub ignore: Vec<Spanned>,
    pub fail_on: Option<Severity>,
    pub exclude: Option<GlobSet>,
    pub rules: Vec<PathBuf>,
    pub advisory_db: Option<PathBuf>,
    pub require_suppression_reason: bool,
    pub max_file_size: Option<u64>,
    pub follow_symlinks: bool,
    /// Where the cache lives (relative paths are relative to this file).
    pub cache_dir: Option<PathBuf>,
    pub severity: Vec<(Spanned, Severity)>,
    pub per_file_ignores: Vec<(GlobSet, Vec<Spanned>)>,
    /// Catalog entries generated from `[catalog]`, as a catalog file's text.
    pub catalog: Option<String>,
    /// For errors found later (unknown rule ids): the file's name and text.
    pub display: String,
    pub text: Arc<str>,
}

/// A string from the configuration with its byte range.
#[derive(Debug, Clone)]
pub struct Spanned {
    pub value: String,
    pub range: Option<std::ops::Range<usize>>,
}

/// The configuration file that applies to `start` (a path being scanned): the nearest
/// `portcullis.toml`/`.portcullis.toml`, or Cargo.toml with a `portcullis` metadata table.
pub fn find(start: &Path) -> Option<PathBuf> {
    let start = start.canonicalize().ok()?;
    let dir = if start.is_dir() {
        start
    } else {
        start.parent()?.to_path_buf()
    };
    for d in dir.ancestors() {
        for name in ["portcullis.toml", ".portcullis.toml"] {
            let p = d.join(name);
            if p.is_file() {
                return Some(p);
            }
        }
        let manifest = d.join("Cargo.toml");
        if let Ok(text) = std::fs::read_to_string(&manifest) {
            if let Ok(doc) = text.parse::<toml_edit::DocumentMut>() {
                let has = ["workspace", "package"].iter().any(|t| {
                    doc.get(t)
                        .and_then(|t| t.get("metadata"))
                        .and_then(|m| m.get("portcullis"))
                        .is_some()
                });
                if has {
                    return Some(manifest);
                }
            }
        }
    }
    None
}

pub fn load(path: &Path) -> Result<Config, Vec<PolicyError>> {
    let display = crate::engine::display_path(path);
    let text: Arc<str> = match std::fs::read_to_string(path) {
        Ok(t) => Arc::from(t),
        Err(e) => {
            return Err(vec![PolicyError::new(
                &display,
                &Arc::from(""),
                None,
                format!("cannot read configuration: {e}"),
            )])
        }
    };
    let base = path
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."));
    parse(
        &display,
        text,
        base,
        path.file_name().is_some_and(|n| n == "Cargo.toml"),
    )
    .map(|mut c| {
        c.file = Some(path.to_path_buf());
        c
    })
}

struct Cx<'a> {
    file: &'a str,
    text: &'a Arc<str>,
    errors: Vec<PolicyError>,
}

impl Cx<'_> {
    fn err(
        &mut self,
        range: Option<std::ops::Range<usize>>,
        msg: impl Into<String>,
    ) -> &mut PolicyError {
        self.errors
            .push(PolicyError::new(self.file, self.text, range, msg));
        self.errors.last_mut().expect("just pushed")
    }

    fn strings(&mut self, key: &str, item: &Item) -> Vec<Spanned> {
        match item.as_value() {
            Some(Value::Array(a)) => a
                .iter()
                .filter_map(|v| match v.as_str() {
                    Some(s) => Some(Spanned {
                        value: s.to_string(),
                        range: v.span(),
                    }),
                    None => {
                        self.err(v.span(), format!("`{key}` takes strings"));
                        None
                    }
                })
                .collect(),
            _ => {
                self.err(item.span(), format!("`{key}` must be an array of strings"))
                    .help = Some(format!("e.g. `{key} = [\"...\"]`"));
                vec![]
            }
        }
    }

    fn regexes(&mut self, list: &[Spanned]) {
        for s in list {
            if let Err(e) = regex::Regex::new(&s.value) {
                self.err(s.range.clone(), "invalid regular expression").help = Some(
                    e.to_string()
                        .lines()
                        .last()
                        .unwrap_or("")
                        .trim()
                        .to_string(),
                );
            }
        }
    }

    fn globs(&mut self, key: &str, list: &[Spanned]) -> Option<GlobSet> {
        let mut b = GlobSetBuilder::new();
        for g in list {
            match Glob::new(&g.value) {
                Ok(glob) => {
                    b.add(glob);
                }
                Err(e) => {
                    self.err(
                        g.range.clone(),
                        format!("invalid glob in `{key}`: {}", e.kind()),
                    );
                }
            }
        }
        b.build().ok()
    }
}

fn severity_of(s: &str) -> Option<Severity> {
    match s {
        "error" => Some(Severity::Error),
        "warning" => Some(Severity::Warning),
        "note" => Some(Severity::Note),
        _ => None,
    }
}

pub fn parse(
    display: &str,
    text: Arc<str>,
    base: PathBuf,
    in_manifest: bool,
) -> Result<Config, Vec<PolicyError>> {
    let doc = match ImDocument::parse(text.to_string()) {
        Ok(d) => d,
        Err(e) => {
            return Err(vec![PolicyError::new(
                display,
                &text,
                e.span(),
                format!("invalid TOML: {}", e.message().trim()),
            )])
        }
    };
    let mut cx = Cx {
        file: display,
        text: &text,
        errors: vec![],
    };
    let mut cfg = Config {
        base: base.clone(),
        display: display.to_string(),
        text: text.clone(),
        ..Config::default()
    };
    let root: &Table = if in_manifest {
        let found = ["workspace", "package"].iter().find_map(|t| {
            doc.get(t)
                .and_then(|t| t.get("metadata"))
                .and_then(|m| m.get("portcullis"))
        });
        match found.and_then(Item::as_table_like) {
            Some(_) => match found.and_then(Item::as_table) {
                Some(t) => t,
                None => {
                    cx.err(
                        found.and_then(Item::span),
                        "`metadata.portcullis` must be a table",
                    );
                    return Err(cx.errors);
                }
            },
            None => return Ok(cfg),
        }
    } else {
        doc.as_table()
    };
    for (key, item) in root.iter() {
        let key_span = root.key(key).and_then(|k| k.span());
        match key {
            "select" => cfg.select = cx.strings(key, item),
            "ignore" => cfg.ignore = cx.strings(key, item),
            "exclude" => {
                let list = cx.strings(key, item);
                cfg.exclude = cx.globs(key, &list);
            }
            "rules" => {
                cfg.rules = cx
                    .strings(key, item)
                    .into_iter()
                    .map(|s| base.join(s.value))
                    .collect()
            }
            "advisory-db" => match item.as_str() {
                Some(s) => cfg.advisory_db = Some(base.join(s)),
                None => {
                    cx.err(item.span(), "`advisory-db` must be a path (a string)");
                }
            },
            "fail-on" => match item.as_str().and_then(severity_of) {
                Some(s) => cfg.fail_on = Some(s),
                None => {
                    cx.err(
                        item.span(),
                        "`fail-on` must be \"error\", \"warning\" or \"note\"",
                    );
                }
            },
            "max-file-size" => match item.as_integer().filter(|n| *n > 0) {
                Some(n) => cfg.max_file_size = Some(n as u64),
                None => {
                    cx.err(
                        item.span(),
                        "`max-file-size` must be a positive number of bytes",
                    );
                }
            },
            "cache-dir" => match item.as_str().filter(|s| !s.is_empty()) {
                Some(s) => cfg.cache_dir = Some(base.join(s)),
                None => {
                    cx.err(
                        item.span(),
                        "`cache-dir` must be a directory path (a string)",
                    );
                }
            },
            "follow-symlinks" => match item.as_bool() {
                Some(b) => cfg.follow_symlinks = b,
                None => {
                    cx.err(item.span(), "`follow-symlinks` must be true or false");
                }
            },
            "require-suppression-reason" => match item.as_bool() {
                Some(b) => cfg.require_suppression_reason = b,
                None => {
                    cx.err(
                        item.span(),
                        "`require-suppression-reason` must be true or false",
                    );
                }
            },
            "severity" => match item.as_table_like() {
                Some(t) => {
                    for (rule, v) in t.iter() {
                        let range = t.key(rule).and_then(|k| k.span());
                        match v.as_str().and_then(severity_of) {
                            Some(s) => cfg.severity.push((
                                Spanned {
                                    value: rule.to_string(),
                                    range,
                                },
                                s,
                            )),
                            None => {
                                cx.err(
                                    v.span(),
                                    format!("severity of `{rule}` must be \"error\", \"warning\" or \"note\""),
                                );
                            }
                        }
                    }
                }
                None => {
                    cx.err(
                        item.span(),
                        "`severity` must be a table of rule = \"level\"",
                    );
                }
            },
            "per-file-ignores" => match item.as_table_like() {
                Some(t) => {
                    for (glob, v) in t.iter() {
                        let range = t.key(glob).and_then(|k| k.span());
                        let set = cx.globs(
                            "per-file-ignores",
                            &[Spanned {
                                value: glob.to_string(),
                                range,
                            }],
                        );
                        let rules = cx.strings(&format!("per-file-ignores.\"{glob}\""), v);
                        if let Some(set) = set {
                            cfg.per_file_ignores.push((set, rules));
                        }
                    }
                }
                None => {
                    cx.err(
                        item.span(),
                        "`per-file-ignores` must be a table of \"glob\" = [rules]",
                    );
                }
            },
            "catalog" => match item.as_table_like() {
                Some(t) => cfg.catalog = catalog_text(&mut cx, t),
                None => {
                    cx.err(item.span(), "`catalog` must be a table");
                }
            },
            other => {
                let help = did_you_mean(other, KEYS.iter().copied())
                    .unwrap_or_else(|| format!("known keys: {}", KEYS.join(", ")));
                cx.err(key_span, format!("unknown key `{other}`")).help = Some(help);
            }
        }
    }
    if cx.errors.is_empty() {
        Ok(cfg)
    } else {
        Err(cx.errors)
    }
}

/// `[catalog]` shorthands become catalog entries: names of the project's own types and functions, and
/// path patterns.
fn catalog_text(cx: &mut Cx, t: &dyn toml_edit::TableLike) -> Option<String> {
    let mut out = String::new();
    let mut paths = String::new();
    let q = |s: &str| toml_edit::Value::from(s).to_string();
    for (key, item) in t.iter() {
        let key_span = t.key(key).and_then(|k| k.span());
        if !CATALOG_KEYS.contains(&key) {
            let help = did_you_mean(key, CATALOG_KEYS.iter().copied())
                .unwrap_or_else(|| format!("known keys: {}", CATALOG_KEYS.join(", ")));
            cx.err(key_span, format!("unknown catalog key `{key}`"))
                .help = Some(help);
            continue;
        }
        let list = cx.strings(&format!("catalog.{key}"), item);
        if list.is_empty() {
            continue;
        }
        let pats = list
            .iter()
            .map(|s| q(&s.value))
            .collect::<Vec<_>>()
            .join(", ");
        let mut entry = |section: &str, cap: &str| {
            out.push_str(&format!(
                "[[{section}]]\nname = \"project {key}\"\nmatch = [{pats}]\ncapability = \"{cap}\"\n\n"
            ));
        };
        match key {
            "auth" => {
                entry("layer", "auth");
                entry("extractor", "auth");
                entry("call", "auth");
            }
            "rate-limit" => {
                entry("layer", "rate-limit");
                entry("call", "rate-limit");
            }
            "cache" => entry("layer", "cache"),
            "validation" => {
                entry("call", "validation");
                out.push_str(&format!(
                    "[[input]]\nmatch = [{pats}]\nwrapper = true\nvalidates = true\n\n"
                ));
            }
            "public-paths" => {
                cx.regexes(&list);
                paths.push_str(&format!("public-state-change = [{pats}]\n"));
            }
            "credential-paths" => {
                cx.regexes(&list);
                paths.push_str(&format!("credential-endpoints = [{pats}]\n"));
            }
            _ => {}
        }
    }
    if !paths.is_empty() {
        out.push_str("[paths]\n");
        out.push_str(&paths);
    }
    (!out.is_empty()).then_some(out)
}

impl Config {
    /// Checks rule ids and tags named in the configuration against the loaded rules.
    pub fn check_rules(&self, known_ids: &[&str], known_tags: &[String]) -> Vec<PolicyError> {
        let mut errors = vec![];
        let mut check = |s: &Spanned, tags_ok: bool| {
            let v = s.value.as_str();
            let is_tag = tags_ok
                && (known_tags.iter().any(|t| t.eq_ignore_ascii_case(v))
                    || v == "all"
                    || TIER_SELECTORS.contains(&v));
            if !known_ids.contains(&v) && !is_tag && v != crate::engine::PARSE_ERROR {
                let mut e = PolicyError::new(
                    &self.display,
                    &self.text,
                    s.range.clone(),
                    format!("unknown rule `{v}`"),
                );
                e.help = did_you_mean(v, known_ids.iter().copied());
                errors.push(e);
            }
        };
        for s in self.select.iter().chain(&self.ignore) {
            check(s, true);
        }
        for (s, _) in &self.severity {
            check(s, false);
        }
        for (_, list) in &self.per_file_ignores {
            for s in list {
                check(s, true);
            }
        }
        errors
    }

    /// Whether a path (relative to the config's base) is excluded.
    pub fn excludes(&self, path: &Path) -> bool {
        let Some(set) = &self.exclude else {
            return false;
        };
        let rel = relative(path, &self.base);
        set.is_match(&rel)
            || rel
                .ancestors()
                .any(|a| !a.as_os_str().is_empty() && set.is_match(a))
    }

    /// Whether a finding of `rule` (with `tags`) in `path` is ignored by `per-file-ignores`.
    pub fn ignores_in_file(&self, path: &Path, rule: &str, tags: &[String]) -> bool {
        let rel = relative(path, &self.base);
        self.per_file_ignores.iter().any(|(set, rules)| {
            set.is_match(&rel) && rules.iter().any(|r| matches_rule(&r.value, rule, tags))
        })
    }
}

/// A selector (rule id, tag such as `cwe-89`, or `all`) matching a rule.
pub fn matches_rule(selector: &str, id: &str, tags: &[String]) -> bool {
    selector == id || selector == "all" || tags.iter().any(|t| t.eq_ignore_ascii_case(selector))
}

/// Tier names are selectors too: `default` and `audit` select every rule of that tier.
pub const TIER_SELECTORS: [&str; 2] = ["default", "audit"];

/// Whether a rule runs under `select`. With no selection every default-tier rule runs. A selector picks
/// the rules it names, but an audit-tier rule only when named by its id, by `audit` or by `all`: selecting
/// a tag such as `cwe-89` must not switch on rules that are not precise enough to run by default.
pub fn selects(select: &[String], id: &str, tags: &[String], tier: Tier) -> bool {
    if select.is_empty() {
        return tier == Tier::Default;
    }
    select.iter().any(|s| {
        s == id
            || s == "all"
            || s == tier.as_str()
            || (tier == Tier::Default && tags.iter().any(|t| t.eq_ignore_ascii_case(s)))
    })
}

fn relative(path: &Path, base: &Path) -> PathBuf {
    let abs = path.canonicalize().unwrap_or_else(|_| path.to_path_buf());
    let base = base.canonicalize().unwrap_or_else(|_| base.to_path_buf());
    abs.strip_prefix(&base)
        .map(Path::to_path_buf)
        .unwrap_or(abs)
}

pub const STARTER: &str = r#"# portcullis configuration. Every key is optional; `portcullis check` finds this file by walking up
# from the scanned path. The same keys can live in Cargo.toml under [workspace.metadata.portcullis].

# Rules to run: rule ids, tags (`cwe-89`, `OWASP-API4:2023`), tiers (`default`, `audit`) or `all`;
# default: the default tier. Audit-tier rules run only when named by id, `audit` or `all`.
# select = ["sql-injection", "cwe-862", "secret-in-log"]

# Rules (or tags) to skip.
# ignore = ["missing-request-logging"]

# The lowest severity that fails the run: "error", "warning" (default) or "note".
# fail-on = "warning"

# Files and directories not analysed (globs relative to this file). Files named on the command line
# are still analysed unless `--force-exclude` is given.
# exclude = ["src/generated/**", "vendor/**"]

# Extra rule directories: DIR/*.toml rules, DIR/catalog/*.toml catalog extensions.
# rules = ["policy"]

# A local RustSec advisory-db checkout for vulnerable-dependency.
# advisory-db = "../advisory-db"

# Files larger than this (bytes) are reported as too large instead of analysed (default 8 MiB).
# max-file-size = 8388608

# Where the cache of facts and findings lives (default: $XDG_CACHE_HOME/portcullis or
# ~/.cache/portcullis, never the scanned tree).
# cache-dir = "../.portcullis-cache"

# Follow symbolic links met while walking the tree (off: a link can point out of the checkout).
# follow-symlinks = false

# Require a reason in every `// portcullis: ignore[rule] reason` comment.
# require-suppression-reason = true

# Per-rule severity overrides.
[severity]
# missing-rate-limit = "error"

# Rules ignored in some files (globs relative to this file).
[per-file-ignores]
# "src/bin/dev_server.rs" = ["plaintext-listener"]

# Teach portcullis the project's own building blocks (types, layers, functions and `.methods`; `*` is a
# wildcard) and paths (regular expressions).
[catalog]
# auth = ["RequireUser", "AuthUser", "check_session"]
# rate-limit = ["QuotaLayer", "check_quota"]
# cache = ["EdgeCacheLayer"]
# validation = ["ValidatedJson", "validate_payload"]
# public-paths = ["^/hooks/"]            # public by design: not an unauthenticated state change
# credential-paths = ["/v1/session/exchange$"]
"#;

#[cfg(test)]
mod tests {
    use super::*;

    fn errs(text: &str) -> Vec<PolicyError> {
        parse(
            "portcullis.toml",
            Arc::from(text),
            PathBuf::from("."),
            false,
        )
        .unwrap_err()
    }

    #[test]
    fn the_starter_config_is_valid() {
        parse(
            "portcullis.toml",
            Arc::from(STARTER),
            PathBuf::from("."),
            false,
        )
        .unwrap();
    }

    #[test]
    fn every_error_is_reported_and_located() {
        let e = errs("selct = [\"x\"]\nfail-on = \"fatal\"\n[severity]\nsql-injection = 3\n[catalog]\nauht = [\"A\"]\n");
        let msgs: Vec<(String, (usize, usize), Option<String>)> = e
            .iter()
            .map(|e| (e.message.clone(), e.line_col(), e.help.clone()))
            .collect();
        assert_eq!(msgs.len(), 4, "{msgs:?}");
        assert_eq!(msgs[0].0, "unknown key `selct`");
        assert_eq!(msgs[0].1, (1, 1));
        assert_eq!(msgs[0].2.as_deref(), Some("did you mean `select`?"));
        assert_eq!(msgs[1].1, (2, 11));
        assert_eq!(msgs[2].1, (4, 17));
        assert_eq!(msgs[3].2.as_deref(), Some("did you mean `auth`?"));
    }

    #[test]
    fn catalog_shorthands_become_catalog_entries() {
        let c = parse(
            "portcullis.toml",
            Arc::from("[catalog]\nauth = [\"RequireUser\"]\npublic-paths = [\"^/hooks/\"]\n"),
            PathBuf::from("."),
            false,
        )
        .unwrap();
        let text = c.catalog.unwrap();
        crate::catalog::Catalog::load(&[("cfg".into(), Arc::from(text.as_str()))]).unwrap();
        assert!(text.contains("capability = \"auth\""));
        assert!(text.contains("public-state-change = [\"^/hooks/\"]"));
    }
}
