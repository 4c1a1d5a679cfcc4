//! What each subcommand does; `main` only maps the result to an exit code.

use crate::cli::{
    CheckArgs, CheckFormat, ExplainArgs, FailOn, Format, InitArgs, RoutesArgs, RulesArgs,
};
use crate::config::{matches_rule, selects, Config, TIER_SELECTORS};
use crate::engine::{self, Policy};
use crate::policy_error::{did_you_mean, PolicyError};
use crate::report;
use crate::rules::{Rule, Severity};
use codespan_reporting::term::termcolor::{ColorChoice, StandardStream, WriteColor};
use std::io::{IsTerminal, Write};

pub const EXIT_CLEAN: i32 = 0;
pub const EXIT_FINDINGS: i32 = 1;
pub const EXIT_USAGE: i32 = 2;
/// Some file or package could not be analysed because of a bug in portcullis (`internal-error`).
pub const EXIT_INTERNAL: i32 = 3;

/// Colour only for a terminal, and never when asked not to (`--no-color`, `NO_COLOR`).
fn color(no_color: bool, is_terminal: bool) -> ColorChoice {
    if no_color || !is_terminal || std::env::var_os("NO_COLOR").is_some() {
        ColorChoice::Never
    } else {
        ColorChoice::Auto
    }
}

fn stdout(no_color: bool) -> StandardStream {
    StandardStream::stdout(color(no_color, std::io::stdout().is_terminal()))
}

fn stderr(no_color: bool) -> StandardStream {
    StandardStream::stderr(color(no_color, std::io::stderr().is_terminal()))
}

/// Prints policy errors in the requested format and returns the usage/config exit code.
fn fail_policy(errors: &[PolicyError], json: bool, no_color: bool) -> i32 {
    match json {
        true => {
            let doc = report::json::document(&[], &[], errors, 0, 0, 0);
            println!("{}", serde_json::to_string_pretty(&doc).unwrap_or_default());
        }
        false => {
            let mut err = stderr(no_color);
            let _ = report::human::render_policy_errors(&mut err, errors);
            let _ = writeln!(
                err,
                "portcullis: {} error(s) in rule, catalog or advisory files",
                errors.len()
            );
        }
    }
    EXIT_USAGE
}

/// Formats read by programs get policy errors as a JSON document; the others on stderr.
fn json_errors(f: CheckFormat) -> bool {
    matches!(f, CheckFormat::Json | CheckFormat::Jsonl)
}

fn usage_error(msg: &str, help: Option<String>) -> i32 {
    let mut err = stderr(false);
    let _ = writeln!(err, "error: {msg}");
    if let Some(h) = help {
        let _ = writeln!(err, "  help: {h}");
    }
    EXIT_USAGE
}

/// Rule selectors on the command line: rule ids or tags.
fn check_ids(ids: &[String], policy: &Policy, flag: &str) -> Result<(), i32> {
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
            return Err(usage_error(
                &format!("unknown rule `{id}` in {flag}"),
                did_you_mean(id, known.iter().copied()),
            ));
        }
    }
    Ok(())
}

fn project_config(args: &CheckArgs) -> Result<Config, Vec<PolicyError>> {
    config_for(&args.paths, args.config.as_ref())
}

fn config_for(
    paths: &[std::path::PathBuf],
    explicit: Option<&std::path::PathBuf>,
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
fn project_policy(
    cfg: &Config,
    cli_dirs: &[std::path::PathBuf],
) -> Result<Policy, Vec<PolicyError>> {
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

pub fn check(args: &CheckArgs) -> i32 {
    let json_err = json_errors(args.format);
    let cfg = match project_config(args) {
        Ok(c) => c,
        Err(errors) => return fail_policy(&errors, json_err, args.no_color),
    };
    let mut policy = match project_policy(&cfg, &args.policy.rules) {
        Ok(p) => p,
        Err(errors) => return fail_policy(&errors, json_err, args.no_color),
    };
    policy.require_suppression_reason = cfg.require_suppression_reason;
    if let Some(n) = args.max_file_size.or(cfg.max_file_size) {
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
        return fail_policy(&cfg_errors, json_err, args.no_color);
    }
    if let Some(db) = args.advisory_db.as_ref().or(cfg.advisory_db.as_ref()) {
        if let Err(errors) = policy.add_advisory_db(db) {
            return fail_policy(&errors, json_err, args.no_color);
        }
    }
    if let Err(code) = check_ids(&args.select, &policy, "--select")
        .and_then(|_| check_ids(&args.ignore, &policy, "--ignore"))
    {
        return code;
    }
    let walk = crate::discover::WalkOptions {
        follow_symlinks: args.follow_symlinks || cfg.follow_symlinks,
    };
    let mut disc = match crate::discover::discover(&args.paths, walk) {
        Ok(d) => d,
        Err(e) => return usage_error(&e.0, None),
    };
    if cfg.exclude.is_some() {
        let named: Vec<std::path::PathBuf> = args
            .paths
            .iter()
            .filter(|p| p.is_file())
            .filter_map(|p| p.canonicalize().ok())
            .collect();
        let keep = |p: &std::path::Path| {
            !cfg.excludes(p)
                || (!args.force_exclude && p.canonicalize().is_ok_and(|c| named.contains(&c)))
        };
        for pkg in &mut disc.packages {
            pkg.rust_files.retain(|f| keep(&f.path));
            pkg.toml_files.retain(|f| keep(f));
        }
    }
    let select: Vec<String> = if args.select.is_empty() {
        cfg.select.iter().map(|s| s.value.clone()).collect()
    } else {
        args.select.clone()
    };
    let ignore: Vec<String> = args
        .ignore
        .iter()
        .cloned()
        .chain(cfg.ignore.iter().map(|s| s.value.clone()))
        .collect();
    let enabled = |r: &Rule| {
        selects(&select, &r.id, &r.tags, r.tier)
            && !ignore.iter().any(|s| s == r.tier.as_str())
            && !ignore.iter().any(|s| matches_rule(s, &r.id, &r.tags))
    };
    let started = std::time::Instant::now();
    let mut pool = rayon::ThreadPoolBuilder::new().stack_size(256 << 20);
    if let Some(n) = args.threads {
        pool = pool.num_threads(n.max(1));
    }
    let cache = cache_dir(args, &cfg).map(|d| engine::Cache::new(&d));
    let options = engine::Options {
        cache: cache.as_ref(),
        keep_model: std::env::var_os("PORTCULLIS_DEBUG_MODEL").is_some(),
    };
    let outcome = match pool.build() {
        Ok(pool) => pool.install(|| engine::analyze_with(&disc, &policy, &enabled, options)),
        Err(e) => return usage_error(&format!("cannot start worker threads: {e}"), None),
    };
    if options.keep_model {
        eprintln!(
            "{}",
            serde_json::to_string_pretty(&outcome.model).unwrap_or_default()
        );
    }
    let mut outcome = outcome;
    apply_config(&cfg, &policy, &mut outcome);
    if let Some(path) = &args.write_baseline {
        return match crate::baseline::write(path, &outcome.findings, &outcome.files) {
            Ok(()) => {
                eprintln!(
                    "portcullis: recorded {} finding(s) in {}",
                    outcome.findings.len(),
                    path.display()
                );
                EXIT_CLEAN
            }
            Err(e) => usage_error(&e, None),
        };
    }
    if let Some(rev) = &args.diff_base {
        // The repository of the scanned tree, not of wherever portcullis was started.
        let first = args.paths.first().cloned().unwrap_or_else(|| ".".into());
        let dir = if first.is_dir() {
            first
        } else {
            first
                .parent()
                .map(|p| p.to_path_buf())
                .unwrap_or_else(|| ".".into())
        };
        let dir = if dir.as_os_str().is_empty() {
            ".".into()
        } else {
            dir
        };
        match crate::diff::Changes::since(rev, &dir) {
            Ok(changes) => {
                let files = &outcome.files;
                outcome
                    .findings
                    .retain(|f| changes.touches(&files[f.loc.file as usize].path, f.loc.span.line));
            }
            Err(e) => return usage_error(&e, None),
        }
    }
    if let Some(path) = &args.baseline {
        match crate::baseline::apply(path, &mut outcome.findings, &outcome.files) {
            Ok(n) => outcome.baselined = n,
            Err(e) => return usage_error(&e, Some("write one with --write-baseline FILE".into())),
        }
    }
    let threshold = match args.fail_on {
        Some(FailOn::Error) => Severity::Error,
        Some(FailOn::Warning) => Severity::Warning,
        Some(FailOn::Note) => Severity::Note,
        None => cfg.fail_on.unwrap_or(Severity::Warning),
    };
    let c = report::counts(&outcome.findings);
    let summary = format!(
        "portcullis: {} file(s) in {} package(s): {} error(s), {} warning(s), {} note(s), {} suppressed{} in {:.2}s",
        outcome.files.len(),
        outcome.packages,
        c.errors,
        c.warnings,
        c.notes,
        outcome.suppressed,
        if args.baseline.is_some() {
            format!(", {} in the baseline", outcome.baselined)
        } else {
            String::new()
        },
        started.elapsed().as_secs_f64()
    );
    if args.statistics {
        print_statistics(&outcome.findings, args.format, &policy);
    } else {
        match args.format {
            CheckFormat::Json => {
                let doc = report::json::document(
                    &outcome.findings,
                    &outcome.files,
                    &[],
                    outcome.packages,
                    outcome.suppressed,
                    outcome.baselined,
                );
                println!("{}", serde_json::to_string_pretty(&doc).unwrap_or_default());
            }
            CheckFormat::Jsonl => {
                for f in &outcome.findings {
                    println!("{}", report::json::finding_json(f, &outcome.files));
                }
            }
            CheckFormat::Sarif => {
                let opts = report::sarif::SarifOptions {
                    category: args.sarif_category.as_deref(),
                    cwd: std::env::current_dir().unwrap_or_default(),
                };
                let fps = crate::fingerprint::fingerprints(&outcome.findings, &outcome.files);
                let doc = report::sarif::document(
                    &outcome.findings,
                    &outcome.files,
                    &policy.rules.rules,
                    &fps,
                    &opts,
                );
                println!("{}", serde_json::to_string_pretty(&doc).unwrap_or_default());
            }
            CheckFormat::Github => {
                print!(
                    "{}",
                    report::github::render(&outcome.findings, &outcome.files)
                );
            }
            CheckFormat::RustcJson => {
                print!(
                    "{}",
                    report::rustc::render(&outcome.findings, &outcome.files)
                );
            }
            CheckFormat::Human => {
                let mut out = stdout(args.no_color);
                let _ = report::human::render_findings(&mut out, &outcome.findings, &outcome.files);
            }
        }
    }
    if args.format == CheckFormat::Human {
        let _ = writeln!(stderr(args.no_color), "{summary}");
    }
    if outcome
        .findings
        .iter()
        .any(|f| f.rule == engine::INTERNAL_ERROR)
    {
        return EXIT_INTERNAL;
    }
    let failing = outcome.findings.iter().any(|f| f.severity >= threshold);
    if failing && !args.exit_zero {
        EXIT_FINDINGS
    } else {
        EXIT_CLEAN
    }
}

/// Per-file ignores and severity overrides from the project configuration.
/// The cache directory in force: `--no-cache`, `--cache-dir`, `PORTCULLIS_CACHE_DIR`, the config's
/// `cache-dir`, then the user's cache directory. Only the first two (said by whoever runs portcullis)
/// may point into the scanned tree: the configuration belongs to the tree, which may be a stranger's
/// pull request, and a home directory can be scanned too.
fn cache_dir(args: &CheckArgs, cfg: &Config) -> Option<std::path::PathBuf> {
    // A failure injected on purpose must happen, not be answered from the cache.
    if args.no_cache || std::env::var_os(engine::INJECT_PANIC_VAR).is_some() {
        return None;
    }
    let env = |name: &str| {
        std::env::var_os(name)
            .filter(|v| !v.is_empty())
            .map(std::path::PathBuf::from)
    };
    if let Some(dir) = args
        .cache_dir
        .clone()
        .or_else(|| env("PORTCULLIS_CACHE_DIR"))
    {
        return Some(dir);
    }
    let dir = cfg
        .cache_dir
        .clone()
        .or_else(|| {
            env("XDG_CACHE_HOME")
                .filter(|p| p.is_absolute())
                .map(|p| p.join("portcullis"))
        })
        .or_else(|| env("HOME").map(|h| h.join(".cache").join("portcullis")))?;
    let scanned: Vec<std::path::PathBuf> = args
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

/// Applies the configuration's per-file ignores and severity overrides to the findings.
fn apply_config(cfg: &Config, policy: &Policy, outcome: &mut engine::Outcome) {
    if cfg.per_file_ignores.is_empty() && cfg.severity.is_empty() {
        return;
    }
    let tags_of = |id: &str| -> Vec<String> {
        policy
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

pub fn routes(args: &RoutesArgs) -> i32 {
    let json = args.format == Format::Json;
    let cfg = match config_for(&args.paths, args.config.as_ref()) {
        Ok(c) => c,
        Err(errors) => return fail_policy(&errors, json, false),
    };
    let policy = match project_policy(&cfg, &args.policy.rules) {
        Ok(p) => p,
        Err(errors) => return fail_policy(&errors, json, false),
    };
    let walk = crate::discover::WalkOptions {
        follow_symlinks: args.follow_symlinks || cfg.follow_symlinks,
    };
    let disc = match crate::discover::discover(&args.paths, walk) {
        Ok(d) => d,
        Err(e) => return usage_error(&e.0, None),
    };
    let pool = rayon::ThreadPoolBuilder::new()
        .stack_size(256 << 20)
        .build();
    let outcome = match pool {
        Ok(pool) => pool.install(|| engine::analyze(&disc, &policy, &|_: &Rule| false)),
        Err(e) => return usage_error(&format!("cannot start worker threads: {e}"), None),
    };
    let rows = report::routes::rows(&outcome.model, &outcome.files);
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&rows).unwrap_or_default()
        );
    } else {
        print!("{}", report::routes::table(&rows));
    }
    EXIT_CLEAN
}

pub fn init(args: &InitArgs) -> i32 {
    let path = args.dir.join("portcullis.toml");
    if path.exists() && !args.force {
        return usage_error(
            &format!("`{}` already exists", path.display()),
            Some("pass --force to overwrite it".into()),
        );
    }
    match std::fs::write(&path, crate::config::STARTER) {
        Ok(()) => {
            println!("wrote {}", path.display());
            EXIT_CLEAN
        }
        Err(e) => usage_error(&format!("cannot write `{}`: {e}", path.display()), None),
    }
}

fn print_statistics(findings: &[crate::rules::Finding], format: CheckFormat, policy: &Policy) {
    let stats = report::statistics(findings);
    if json_errors(format) {
        let list: Vec<serde_json::Value> = stats
            .iter()
            .map(|(rule, sev, n)| serde_json::json!({ "rule": rule, "severity": sev, "count": n }))
            .collect();
        println!(
            "{}",
            serde_json::to_string_pretty(&list).unwrap_or_default()
        );
        return;
    }
    let width = stats.iter().map(|(r, _, _)| r.len()).max().unwrap_or(0);
    for (rule, sev, n) in &stats {
        let title = policy
            .rules
            .rules
            .iter()
            .find(|r| &r.id == rule)
            .map(|r| r.title.as_str())
            .unwrap_or("could not read or parse the file");
        println!("{n:>5}  {rule:<width$}  {:<7}  {title}", sev.as_str());
    }
}

pub fn rules(args: &RulesArgs) -> i32 {
    let json = args.format == Format::Json;
    let policy = match config_for(&[], args.config.as_ref())
        .and_then(|cfg| project_policy(&cfg, &args.policy.rules))
    {
        Ok(p) => p,
        Err(errors) => return fail_policy(&errors, json, false),
    };
    match args.format {
        Format::Json => {
            let list: Vec<serde_json::Value> = policy
                .rules
                .rules
                .iter()
                .map(|r| {
                    serde_json::json!({
                        "id": r.id,
                        "title": r.title,
                        "severity": r.severity,
                        "category": r.category,
                        "tags": r.tags,
                        "security_severity": r.security_severity,
                        "precision": r.precision,
                        "tier": r.tier,
                        "source": r.source,
                    })
                })
                .collect();
            println!(
                "{}",
                serde_json::to_string_pretty(&list).unwrap_or_default()
            );
        }
        Format::Human => {
            let width = policy
                .rules
                .rules
                .iter()
                .map(|r| r.id.len())
                .max()
                .unwrap_or(0);
            for r in &policy.rules.rules {
                println!(
                    "{:<width$}  {:<7}  {:<7}  {}",
                    r.id,
                    r.severity.as_str(),
                    r.tier.as_str(),
                    r.title
                );
            }
        }
    }
    EXIT_CLEAN
}

pub fn explain(args: &ExplainArgs) -> i32 {
    let policy = match config_for(&[], args.config.as_ref())
        .and_then(|cfg| project_policy(&cfg, &args.policy.rules))
    {
        Ok(p) => p,
        Err(errors) => return fail_policy(&errors, false, false),
    };
    let Some(rule) = policy.rules.get(&args.rule) else {
        let ids = policy.rules.rules.iter().map(|r| r.id.as_str());
        return usage_error(
            &format!("unknown rule `{}`", args.rule),
            did_you_mean(&args.rule, ids),
        );
    };
    let mut out = stdout(false);
    let _ = print_explanation(&mut out, rule);
    EXIT_CLEAN
}

fn print_explanation(out: &mut dyn WriteColor, r: &Rule) -> std::io::Result<()> {
    writeln!(out, "{} ({})", r.id, r.severity.as_str())?;
    writeln!(out, "{}", r.title)?;
    writeln!(out)?;
    writeln!(out, "category: {}", r.category)?;
    match r.tier {
        crate::rules::Tier::Default => writeln!(out, "tier: default (runs unless ignored)")?,
        crate::rules::Tier::Audit => writeln!(
            out,
            "tier: audit (runs only when selected: `--select {}` or `--select audit`)",
            r.id
        )?,
    }
    if !r.tags.is_empty() {
        writeln!(out, "tags: {}", r.tags.join(", "))?;
    }
    writeln!(out)?;
    writeln!(out, "{}", r.description.trim())?;
    for (i, ex) in r.examples.iter().enumerate() {
        writeln!(out)?;
        let name = ex
            .name
            .clone()
            .unwrap_or_else(|| format!("example {}", i + 1));
        if let Some(bad) = &ex.bad {
            writeln!(out, "── bad: {name} ──")?;
            writeln!(out, "{}", bad.trim_end())?;
        }
        if let Some(good) = &ex.good {
            writeln!(
                out,
                "── good: {} ──",
                ex.good_name.as_deref().unwrap_or(&name)
            )?;
            writeln!(out, "{}", good.trim_end())?;
        }
    }
    Ok(())
}
