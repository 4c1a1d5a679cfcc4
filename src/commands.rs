//! What each subcommand does; `main` only maps the result to an exit code.

use crate::cli::{
    CheckArgs, CheckFormat, ExplainArgs, FailOn, Format, InitArgs, RoutesArgs, RulesArgs,
};
use crate::engine::{self, Policy};
use crate::policy_error::{did_you_mean, PolicyError};
use crate::project::{config_for, policy_for, Choices, Project, SetupError};
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

/// The choices of `check`'s command line.
fn choices(args: &CheckArgs) -> Choices {
    Choices {
        paths: args.paths.clone(),
        config: args.config.clone(),
        rules: args.policy.rules.clone(),
        select: args.select.clone(),
        ignore: args.ignore.clone(),
        max_file_size: args.max_file_size,
        advisory_db: args.advisory_db.clone(),
        follow_symlinks: args.follow_symlinks,
        cache_dir: args.cache_dir.clone(),
        no_cache: args.no_cache,
    }
}

pub fn check(args: &CheckArgs) -> i32 {
    let json_err = json_errors(args.format);
    let choices = choices(args);
    let project = match Project::load(&choices) {
        Ok(p) => p,
        Err(SetupError::Policy(errors)) => return fail_policy(&errors, json_err, args.no_color),
        Err(SetupError::Usage(msg, help)) => return usage_error(&msg, help),
    };
    let policy = &project.policy;
    let mut disc = match crate::discover::discover(&args.paths, project.walk) {
        Ok(d) => d,
        Err(e) => return usage_error(&e.0, None),
    };
    project.exclude(&mut disc, &args.paths, args.force_exclude);
    let enabled = |r: &Rule| project.enabled(r);
    let started = std::time::Instant::now();
    let mut pool = rayon::ThreadPoolBuilder::new().stack_size(256 << 20);
    if let Some(n) = args.threads {
        pool = pool.num_threads(n.max(1));
    }
    let cache = project.cache_dir(&choices).map(|d| engine::Cache::new(&d));
    let options = engine::Options {
        cache: cache.as_ref(),
        keep_model: std::env::var_os("PORTCULLIS_DEBUG_MODEL").is_some(),
        prune_calls: false,
        overlays: None,
        memo: None,
    };
    let outcome = match pool.build() {
        Ok(pool) => pool.install(|| engine::analyze_with(&disc, policy, &enabled, options)),
        Err(e) => return usage_error(&format!("cannot start worker threads: {e}"), None),
    };
    if options.keep_model {
        eprintln!(
            "{}",
            serde_json::to_string_pretty(&outcome.model).unwrap_or_default()
        );
    }
    let mut outcome = outcome;
    project.apply_config(&mut outcome);
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
        None => project.cfg.fail_on.unwrap_or(Severity::Warning),
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
        print_statistics(&outcome.findings, args.format, policy);
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

pub fn routes(args: &RoutesArgs) -> i32 {
    let json = args.format == Format::Json;
    let cfg = match config_for(&args.paths, args.config.as_ref()) {
        Ok(c) => c,
        Err(errors) => return fail_policy(&errors, json, false),
    };
    let policy = match policy_for(&cfg, &args.policy.rules) {
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
        .and_then(|cfg| policy_for(&cfg, &args.policy.rules))
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
        .and_then(|cfg| policy_for(&cfg, &args.policy.rules))
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
