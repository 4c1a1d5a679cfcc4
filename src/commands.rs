//! What each subcommand does; `main` only maps the result to an exit code.

use crate::cli::{CheckArgs, CheckFormat, ExplainArgs, FailOn, Format, RulesArgs};
use crate::engine::{self, Policy};
use crate::policy_error::{did_you_mean, PolicyError};
use crate::report;
use crate::rules::{Rule, Severity};
use codespan_reporting::term::termcolor::{ColorChoice, StandardStream, WriteColor};
use std::io::{IsTerminal, Write};

pub const EXIT_CLEAN: i32 = 0;
pub const EXIT_FINDINGS: i32 = 1;
pub const EXIT_USAGE: i32 = 2;

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
            let doc = report::json::document(&[], &[], errors, 0, 0);
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

fn check_ids(ids: &[String], policy: &Policy, flag: &str) -> Result<(), i32> {
    let known: Vec<&str> = policy
        .rules
        .rules
        .iter()
        .map(|r| r.id.as_str())
        .chain([engine::PARSE_ERROR])
        .collect();
    for id in ids {
        if !known.contains(&id.as_str()) {
            return Err(usage_error(
                &format!("unknown rule `{id}` in {flag}"),
                did_you_mean(id, known.iter().copied()),
            ));
        }
    }
    Ok(())
}

pub fn check(args: &CheckArgs) -> i32 {
    let mut policy = match engine::load_policy(&args.policy.rules) {
        Ok(p) => p,
        Err(errors) => return fail_policy(&errors, json_errors(args.format), args.no_color),
    };
    if let Some(db) = &args.advisory_db {
        if let Err(errors) = policy.add_advisory_db(db) {
            return fail_policy(&errors, json_errors(args.format), args.no_color);
        }
    }
    if let Err(code) = check_ids(&args.select, &policy, "--select")
        .and_then(|_| check_ids(&args.ignore, &policy, "--ignore"))
    {
        return code;
    }
    let disc = match crate::discover::discover(&args.paths) {
        Ok(d) => d,
        Err(e) => return usage_error(&e.0, None),
    };
    let enabled = |r: &Rule| {
        (args.select.is_empty() || args.select.contains(&r.id)) && !args.ignore.contains(&r.id)
    };
    let started = std::time::Instant::now();
    let mut pool = rayon::ThreadPoolBuilder::new().stack_size(64 << 20);
    if let Some(n) = args.threads {
        pool = pool.num_threads(n.max(1));
    }
    let outcome = match pool.build() {
        Ok(pool) => pool.install(|| engine::analyze(&disc, &policy, &enabled)),
        Err(e) => return usage_error(&format!("cannot start worker threads: {e}"), None),
    };
    if std::env::var_os("PORTCULLIS_DEBUG_MODEL").is_some() {
        eprintln!(
            "{}",
            serde_json::to_string_pretty(&outcome.model).unwrap_or_default()
        );
    }
    let threshold = match args.fail_on {
        FailOn::Error => Severity::Error,
        FailOn::Warning => Severity::Warning,
        FailOn::Note => Severity::Note,
    };
    let c = report::counts(&outcome.findings);
    let summary = format!(
        "portcullis: {} file(s) in {} package(s): {} error(s), {} warning(s), {} note(s), {} suppressed in {:.2}s",
        outcome.files.len(),
        outcome.packages,
        c.errors,
        c.warnings,
        c.notes,
        outcome.suppressed,
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
    let failing = outcome.findings.iter().any(|f| f.severity >= threshold);
    if failing && !args.exit_zero {
        EXIT_FINDINGS
    } else {
        EXIT_CLEAN
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
    let policy = match engine::load_policy(&args.policy.rules) {
        Ok(p) => p,
        Err(errors) => return fail_policy(&errors, args.format == Format::Json, false),
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
                println!("{:<width$}  {:<7}  {}", r.id, r.severity.as_str(), r.title);
            }
        }
    }
    EXIT_CLEAN
}

pub fn explain(args: &ExplainArgs) -> i32 {
    let policy = match engine::load_policy(&args.policy.rules) {
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
            writeln!(out, "── good: {name} ──")?;
            writeln!(out, "{}", good.trim_end())?;
        }
    }
    Ok(())
}
