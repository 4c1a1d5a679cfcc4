//! The pipeline: discover → parse (once per file, in parallel) → facts → model (per package) →
//! evaluate rules → findings in a deterministic order.

use crate::catalog::Catalog;
use crate::discover::{Discovery, Package};
use crate::facts::{self, FileFacts};
use crate::model::{self, Model, Program, Unit};
use crate::policy_error::PolicyError;
use crate::rules::{Finding, Label, Rule, RuleSet, RuleSource, Severity};
use crate::source::{FileKind, Loc, SourceFile, Span};
use rayon::prelude::*;
use std::path::{Path, PathBuf};
use std::sync::Arc;

mod embedded {
    include!(concat!(env!("OUT_DIR"), "/embedded.rs"));
}

/// The rule id of files that cannot be read or parsed.
pub const PARSE_ERROR: &str = "parse-error";

pub struct Policy {
    pub catalog: Catalog,
    pub rules: RuleSet,
    /// Advisories matched against `Cargo.lock`: the curated set, plus any `--advisory-db`.
    pub advisories: Vec<crate::advisories::Advisory>,
    /// Suppression comments must give a reason (project configuration).
    pub require_suppression_reason: bool,
    /// Larger files are reported, not read (`--max-file-size`, `max-file-size`).
    pub max_file_size: u64,
}

pub const DEFAULT_MAX_FILE_SIZE: u64 = 8 << 20;

/// Why a file's bytes are missing, and what the user can do about it.
struct Unread {
    message: String,
    fix: &'static str,
}

const FIX_UNREADABLE: &str = "make it readable by the user running portcullis, or exclude it";
const FIX_SYNTAX: &str = "fix the syntax error";

/// Reads a file unless it is larger than the limit (checked before reading, so memory stays bounded).
fn read_limited(path: &Path, limit: u64) -> Result<Vec<u8>, Unread> {
    let unreadable = |e: std::io::Error| Unread {
        message: format!("cannot read file: {e}"),
        fix: FIX_UNREADABLE,
    };
    let len = std::fs::metadata(path).map_err(unreadable)?.len();
    if len > limit {
        return Err(Unread {
            message: format!(
                "file is {len} bytes, more than the {limit}-byte limit; not analysed (raise it with --max-file-size or `max-file-size`)"
            ),
            fix: "exclude generated files, or raise the limit",
        });
    }
    std::fs::read(path).map_err(unreadable)
}

impl Policy {
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
    match RuleSet::load(&rule_src, &catalog) {
        Ok(rules) if errors.is_empty() => Ok(Policy {
            catalog,
            rules,
            advisories,
            require_suppression_reason: false,
            max_file_size: DEFAULT_MAX_FILE_SIZE,
        }),
        Ok(_) => Err(errors),
        Err(mut e) => {
            errors.append(&mut e);
            Err(errors)
        }
    }
}

/// A path as the user sees it: relative to the working directory when below it, `/`-separated.
pub fn display_path(p: &Path) -> String {
    let cwd = std::env::current_dir()
        .ok()
        .and_then(|c| c.canonicalize().ok());
    let abs = p.canonicalize().unwrap_or_else(|_| p.to_path_buf());
    let shown = match &cwd {
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

pub struct Outcome {
    pub files: Vec<SourceFile>,
    pub findings: Vec<Finding>,
    pub packages: usize,
    /// Findings hidden by suppression comments.
    pub suppressed: usize,
    /// Findings hidden because the baseline records them.
    pub baselined: usize,
    pub model: Model,
}

enum Parsed {
    Facts(FileFacts),
    Failed {
        message: String,
        span: Span,
    },
    /// Analysing the file panicked: a bug in portcullis, reported for this file only.
    Panicked {
        message: String,
    },
}

/// The rule id of analysis failures inside portcullis (a caught panic).
pub const INTERNAL_ERROR: &str = "internal-error";

fn panic_message(p: &(dyn std::any::Any + Send)) -> String {
    p.downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| p.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".into())
}

/// Tests make portcullis fail on purpose in the files whose path contains this variable's value, to check
/// that one failure does not stop the others.
fn injected_panic(display: &str) {
    if let Some(v) = std::env::var_os("PORTCULLIS_INJECT_PANIC") {
        if !v.is_empty() && display.contains(v.to_string_lossy().as_ref()) {
            panic!("injected failure for {display}");
        }
    }
}

fn internal_error(file: u32, message: String) -> Finding {
    Finding {
        rule: INTERNAL_ERROR.into(),
        severity: Severity::Error,
        message,
        label: String::new(),
        package: None,
        help: "this is a bug in portcullis: please report it with the file; every other file was analysed".into(),
        loc: Loc::new(file, Span { line: 1, col: 1, end_line: 1, end_col: 1, start: 0, end: 0 }),
        labels: vec![],
    }
}

/// One input file before analysis: where it is, what it is, and its bytes (or why it could not be read).
struct Input {
    path: PathBuf,
    display: String,
    kind: FileKind,
    package: usize,
    target: String,
    module: Vec<String>,
    bytes: Result<Vec<u8>, Unread>,
}

/// Analyses discovered packages with the given policy.
pub fn analyze(
    disc: &Discovery,
    policy: &Policy,
    enabled: &(dyn Fn(&Rule) -> bool + Sync),
) -> Outcome {
    let mut inputs = vec![];
    for (pi, pkg) in disc.packages.iter().enumerate() {
        for rf in &pkg.rust_files {
            inputs.push((
                pi,
                rf.path.clone(),
                FileKind::Rust,
                rf.target.clone(),
                rf.module.clone(),
            ));
        }
        for t in &pkg.toml_files {
            inputs.push((pi, t.clone(), FileKind::Toml, String::new(), vec![]));
        }
    }
    let mut inputs: Vec<Input> = inputs
        .into_par_iter()
        .map(|(package, path, kind, target, module)| Input {
            display: display_path(&path),
            bytes: read_limited(&path, policy.max_file_size),
            path,
            kind,
            package,
            target,
            module,
        })
        .collect();
    // What the walk could not enter is reported where it is, with the package that holds it.
    for (path, why) in &disc.unreadable {
        let package = disc
            .packages
            .iter()
            .enumerate()
            .filter(|(_, p)| path.starts_with(&p.root))
            .max_by_key(|(_, p)| p.root.as_os_str().len())
            .map_or(0, |(i, _)| i);
        inputs.push(Input {
            display: display_path(path),
            bytes: Err(Unread {
                message: why.clone(),
                fix: FIX_UNREADABLE,
            }),
            path: path.clone(),
            kind: FileKind::Toml,
            package,
            target: String::new(),
            module: vec![],
        });
    }
    let mut outcome = run(inputs, &disc.packages, policy, enabled);
    if let Some(allowed) = &disc.report_only {
        let files = &outcome.files;
        outcome.findings.retain(|f| {
            allowed
                .iter()
                .any(|a| files[f.loc.file as usize].path.starts_with(a))
        });
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
        rust_files: vec![],
        toml_files: vec![],
    };
    let inputs = sources
        .iter()
        .map(|(name, text)| {
            let kind = if name.ends_with(".toml") || name.ends_with("Cargo.lock") {
                FileKind::Toml
            } else {
                FileKind::Rust
            };
            let module = name
                .trim_start_matches("src/")
                .trim_end_matches(".rs")
                .split('/')
                .filter(|s| !s.is_empty() && *s != "main" && *s != "lib" && *s != "mod")
                .map(str::to_string)
                .collect();
            Input {
                path: PathBuf::from(name),
                display: name.to_string(),
                kind,
                package: 0,
                target: "main".into(),
                module,
                bytes: Ok(text.as_bytes().to_vec()),
            }
        })
        .collect();
    run(inputs, &[pkg], policy, enabled)
}

fn run(
    inputs: Vec<Input>,
    packages: &[Package],
    policy: &Policy,
    enabled: &(dyn Fn(&Rule) -> bool + Sync),
) -> Outcome {
    let mut files: Vec<SourceFile> = Vec::with_capacity(inputs.len());
    let mut findings: Vec<Finding> = vec![];
    let mut meta: Vec<(usize, String, Vec<String>, FileKind)> = vec![];
    let mut texts: Vec<Option<String>> = vec![];
    for inp in &inputs {
        let (text, problem) = match &inp.bytes {
            Ok(b) => match String::from_utf8(b.clone()) {
                Ok(t) => (Some(t), None),
                Err(e) => {
                    let valid = e.utf8_error().valid_up_to();
                    (
                        None,
                        Some((
                            format!("file is not valid UTF-8 (invalid byte at offset {valid})"),
                            "save the file as UTF-8, as rustc requires",
                            String::from_utf8_lossy(b).into_owned(),
                            valid,
                        )),
                    )
                }
            },
            Err(e) => (None, Some((e.message.clone(), e.fix, String::new(), 0))),
        };
        let file_id = files.len() as u32;
        match (text, problem) {
            (Some(t), _) => {
                files.push(SourceFile::new(
                    inp.path.clone(),
                    inp.display.clone(),
                    inp.kind,
                    t.clone(),
                ));
                texts.push(Some(t));
            }
            (None, Some((msg, fix, lossy, offset))) => {
                let sf = SourceFile::new(inp.path.clone(), inp.display.clone(), inp.kind, lossy);
                let span = sf.span_of_bytes(offset.min(sf.text.len()), offset.min(sf.text.len()));
                files.push(sf);
                texts.push(None);
                findings.push(parse_error(file_id, span, msg, fix));
            }
            (None, None) => unreachable!("no text and no problem"),
        }
        meta.push((
            inp.package,
            inp.target.clone(),
            inp.module.clone(),
            inp.kind,
        ));
    }

    // Parse every Rust file once, in parallel.
    let parsed: Vec<Option<Parsed>> = texts
        .par_iter()
        .zip(meta.par_iter())
        .zip(files.par_iter())
        .map(|((text, (_, _, module, kind)), file)| {
            let text = text.as_ref()?;
            if *kind != FileKind::Rust {
                return None;
            }
            let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                injected_panic(&file.display);
                facts::extract(text, module.clone())
            }));
            Some(match result {
                Err(p) => Parsed::Panicked {
                    message: panic_message(p.as_ref()),
                },
                Ok(Ok(f)) => Parsed::Facts(f),
                Ok(Err(e)) => {
                    let starts = crate::source::line_starts(text);
                    let off = starts.get(e.line.saturating_sub(1)).copied().unwrap_or(0);
                    let line_text = &text[off..];
                    let col_bytes: usize = line_text.chars().take(e.col0).map(char::len_utf8).sum();
                    let start = (off + col_bytes).min(text.len());
                    Parsed::Failed {
                        message: e.message,
                        span: Span {
                            line: e.line.max(1) as u32,
                            col: e.col0 as u32 + 1,
                            end_line: e.line.max(1) as u32,
                            end_col: e.col0 as u32 + 2,
                            start: start as u32,
                            end: (start + 1).min(text.len()) as u32,
                        },
                    }
                }
            })
        })
        .collect();

    let mut per_pkg_units: Vec<Vec<Unit>> = (0..packages.len()).map(|_| vec![]).collect();
    let mut per_pkg_config: Vec<Vec<model::ConfigEntry>> =
        (0..packages.len()).map(|_| vec![]).collect();
    let mut advisory_matches: Vec<model::AdvisoryMatch> = vec![];
    for (i, p) in parsed.into_iter().enumerate() {
        let (pkg, target, module, kind) = &meta[i];
        match p {
            Some(Parsed::Facts(f)) => per_pkg_units[*pkg].push(Unit {
                file: i as u32,
                target: target.clone(),
                module: module.clone(),
                facts: f,
                text: Arc::from(files[i].text.as_str()),
            }),
            Some(Parsed::Panicked { message }) => findings.push(internal_error(
                i as u32,
                format!("internal error while analysing this file: {message}"),
            )),
            Some(Parsed::Failed { message, span }) => {
                // proc-macro2's lexer error says nothing useful; say what it means.
                let message = if message == "cannot parse string into token stream" {
                    "unbalanced delimiters: a `(`, `[` or `{` is not closed, or is closed by the wrong bracket".to_string()
                } else {
                    message
                };
                findings.push(parse_error(
                    i as u32,
                    span,
                    format!("could not parse Rust source: {message}"),
                    FIX_SYNTAX,
                ))
            }
            None if *kind == FileKind::Toml && texts[i].is_some() => {
                let is_lock = files[i].path.file_name().is_some_and(|n| n == "Cargo.lock");
                let parsed = if is_lock {
                    model::advisory_matches(
                        &packages[*pkg].name,
                        i as u32,
                        &files[i],
                        &policy.advisories,
                    )
                    .map(|m| advisory_matches.extend(m))
                } else {
                    model::config_entries(&packages[*pkg].name, i as u32, &files[i])
                        .map(|entries| per_pkg_config[*pkg].extend(entries))
                };
                match parsed {
                    Ok(()) => {}
                    Err((range, msg)) => {
                        // Keep the label on the line where the error starts.
                        let text = &files[i].text;
                        let line_end = text[range.start.min(text.len())..]
                            .find('\n')
                            .map(|n| range.start + n)
                            .unwrap_or(text.len());
                        let span = files[i].span_of_bytes(
                            range.start,
                            range.end.clamp(range.start, line_end.max(range.start)),
                        );
                        findings.push(parse_error(
                            i as u32,
                            span,
                            format!("could not parse TOML: {}", msg.trim()),
                            FIX_SYNTAX,
                        ));
                    }
                }
            }
            None => {}
        }
    }
    // Files of `#[cfg(test)] mod x;` modules are test code.
    for units in &mut per_pkg_units {
        let test_mods: Vec<(String, Vec<String>)> = units
            .iter()
            .flat_map(|u| {
                u.facts
                    .test_mods
                    .iter()
                    .map(move |m| (u.target.clone(), m.clone()))
            })
            .collect();
        // `src/main.rs` and `src/lib.rs` share `src/`: a module file below it is filed under `lib`
        // whichever root declares it.
        let same_tree = |a: &str, b: &str| {
            a == b || (["main", "lib"].contains(&a) && ["main", "lib"].contains(&b))
        };
        units.retain(|u| {
            !test_mods
                .iter()
                .any(|(t, m)| same_tree(t, &u.target) && u.module.starts_with(m))
        });
    }

    let models: Vec<Model> = per_pkg_units
        .par_iter()
        .zip(per_pkg_config.into_par_iter())
        .enumerate()
        .map(|(i, (units, config))| {
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                let prog = Program::new(&packages[i].name, units);
                model::build_package(&prog, &policy.catalog, config)
            }))
            .map_err(|p| (i, panic_message(p.as_ref())))
        })
        .collect::<Vec<_>>()
        .into_iter()
        .map(|r| match r {
            Ok(m) => m,
            Err((i, message)) => {
                // The package's model is lost; its parse and configuration findings remain.
                if let Some(first) = per_pkg_first_file(&meta, i) {
                    findings.push(internal_error(
                        first,
                        format!(
                            "internal error while building the model of package `{}`: {message}",
                            packages[i].name
                        ),
                    ));
                }
                Model::default()
            }
        })
        .collect();
    let mut model = Model::default();
    for m in models {
        model.extend(m);
    }
    model.advisories = advisory_matches;
    findings.retain(|f| enabled_id(policy, enabled, &f.rule));
    // Rules about suppressions run once the other findings are known.
    let about_suppressions =
        |r: &Rule| r.cases.iter().all(|c| c.target == "suppression") && !r.cases.is_empty();
    findings.extend(
        policy
            .rules
            .evaluate(&model, &|r: &Rule| enabled(r) && !about_suppressions(r)),
    );
    let sups: Vec<Vec<crate::suppress::Suppression>> = files
        .iter()
        .map(|f| crate::suppress::scan(&f.text, f.kind))
        .collect();
    let mut used: Vec<Vec<bool>> = sups.iter().map(|s| vec![false; s.len()]).collect();
    let before = findings.len();
    findings.retain(|f| {
        let file = f.loc.file as usize;
        match crate::suppress::suppressing(&sups[file], f.loc.span.line, &f.rule) {
            Some(j) => {
                used[file][j] = true;
                false
            }
            None => true,
        }
    });
    let suppressed = before - findings.len();
    model.suppressions = suppression_entities(&files, &sups, &used, policy, enabled);
    findings.extend(
        policy
            .rules
            .evaluate(&model, &|r: &Rule| enabled(r) && about_suppressions(r)),
    );
    sort_findings(&mut findings, &files);
    Outcome {
        files,
        findings,
        packages: packages.len(),
        suppressed,
        baselined: 0,
        model,
    }
}

fn per_pkg_first_file(meta: &[(usize, String, Vec<String>, FileKind)], pkg: usize) -> Option<u32> {
    meta.iter().position(|m| m.0 == pkg).map(|i| i as u32)
}

fn suppression_entities(
    files: &[SourceFile],
    sups: &[Vec<crate::suppress::Suppression>],
    used: &[Vec<bool>],
    policy: &Policy,
    enabled: &(dyn Fn(&Rule) -> bool + Sync),
) -> Vec<model::SuppressionInfo> {
    let mut out = vec![];
    for (i, list) in sups.iter().enumerate() {
        for (j, s) in list.iter().enumerate() {
            let unknown: Vec<String> = s
                .rules
                .iter()
                .filter(|r| policy.rules.get(r).is_none() && r.as_str() != PARSE_ERROR)
                .cloned()
                .collect();
            // Unused only means something when every rule it names ran.
            let checked = unknown.is_empty()
                && !s.rules.is_empty()
                && s.rules.iter().all(|r| enabled_id(policy, enabled, r));
            out.push(model::SuppressionInfo {
                file: files[i].display.clone(),
                rules: s.rules.clone(),
                rule_count: s.rules.len(),
                reason: s.reason.clone(),
                file_level: s.applies_to == 0,
                used: used[i][j],
                checked,
                unknown_rules: unknown,
                reason_required: policy.require_suppression_reason,
                loc: Loc::new(i as u32, files[i].span_of_bytes(s.bytes.start, s.bytes.end)),
            });
        }
    }
    out
}

fn enabled_id(policy: &Policy, enabled: &(dyn Fn(&Rule) -> bool + Sync), id: &str) -> bool {
    match policy.rules.get(id) {
        Some(r) => enabled(r),
        None => {
            // Built-in diagnostics such as `parse-error` are matched by a stand-in rule.
            let stand_in = Rule {
                id: id.to_string(),
                title: String::new(),
                severity: Severity::Error,
                category: "diagnostic".into(),
                tags: vec![],
                description: String::new(),
                security_severity: None,
                precision: None,
                tier: crate::rules::Tier::Default,
                cases: vec![],
                examples: vec![],
                source: String::new(),
            };
            enabled(&stand_in)
        }
    }
}

fn parse_error(file: u32, span: Span, message: String, fix: &str) -> Finding {
    Finding {
        rule: PARSE_ERROR.into(),
        severity: Severity::Error,
        message,
        label: String::new(),
        package: None,
        help: format!(
            "{fix}; the other files were still analysed, but facts from this file are missing"
        ),
        loc: Loc::new(file, span),
        labels: vec![],
    }
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
