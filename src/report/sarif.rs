//! SARIF 2.1.0 (`--format sarif`) as GitHub code scanning reads it: one run, the full rule list with
//! security metadata, results located relative to the repository root.

use crate::rules::{Finding, Rule, Severity};
use crate::source::{Loc, SourceFile};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};

const SCHEMA: &str = "https://json.schemastore.org/sarif-2.1.0.json";
/// Where the tool is published (its crates.io page).
const INFORMATION_URI: &str = concat!("https://crates.io/crates/", env!("CARGO_PKG_NAME"));

fn level(s: Severity) -> &'static str {
    match s {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Note => "note",
    }
}

/// The repository root: the nearest ancestor of the working directory with a `.git`, else the working
/// directory itself.
pub fn repository_root(cwd: &Path) -> PathBuf {
    cwd.ancestors()
        .find(|a| a.join(".git").exists())
        .unwrap_or(cwd)
        .to_path_buf()
}

/// A `file:` URI path segment: `/` separators, percent-encoding of what URIs do not allow.
fn uri_path(p: &Path) -> String {
    let s = p.to_string_lossy().replace('\\', "/");
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'/' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

fn artifact(file: &SourceFile, root: &Path, cwd: &Path) -> Value {
    let abs = if file.path.is_absolute() {
        file.path.clone()
    } else {
        cwd.join(&file.path)
    };
    let abs = normalize(&abs);
    match abs.strip_prefix(root) {
        Ok(rel) => json!({ "uri": uri_path(rel), "uriBaseId": "%SRCROOT%" }),
        Err(_) => json!({ "uri": format!("file://{}", uri_path(&abs)) }),
    }
}

/// `a/./b/../c` → `a/c`, without touching the filesystem.
fn normalize(p: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            std::path::Component::CurDir => {}
            std::path::Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

fn region(loc: &Loc) -> Value {
    let s = loc.span;
    json!({
        "startLine": s.line,
        "startColumn": s.col,
        "endLine": s.end_line,
        "endColumn": s.end_col,
        "charOffset": s.start,
        "charLength": s.end.saturating_sub(s.start),
    })
}

fn physical(loc: &Loc, files: &[SourceFile], root: &Path, cwd: &Path) -> Value {
    json!({
        "artifactLocation": artifact(&files[loc.file as usize], root, cwd),
        "region": region(loc),
    })
}

fn tags(rule: &Rule) -> Vec<String> {
    let mut out = vec!["security".to_string()];
    for t in &rule.tags {
        match t.strip_prefix("CWE-") {
            Some(n) => out.push(format!("external/cwe/cwe-{n}")),
            None => out.push(t.clone()),
        }
    }
    if !rule.category.is_empty() {
        out.push(rule.category.clone());
    }
    out
}

fn rule_json(rule: &Rule) -> Value {
    let first_paragraph = rule
        .description
        .split("\n\n")
        .next()
        .unwrap_or("")
        .replace('\n', " ");
    let mut properties = json!({ "tags": tags(rule) });
    properties["tier"] = json!(rule.tier);
    if let Some(p) = &rule.precision {
        properties["precision"] = json!(p);
    }
    if let Some(s) = rule.security_severity {
        // GitHub reads `security-severity` as a string holding a number.
        properties["security-severity"] = json!(format!("{s:.1}"));
    }
    json!({
        "id": rule.id,
        "name": rule.id.split('-').map(|w| {
            let mut c = w.chars();
            c.next().map(|f| f.to_ascii_uppercase().to_string() + c.as_str()).unwrap_or_default()
        }).collect::<String>(),
        "shortDescription": { "text": rule.title },
        "fullDescription": { "text": first_paragraph.trim_start_matches("What it finds: ") },
        "help": {
            "text": rule.description,
            "markdown": format!("## {}\n\n{}", rule.title, rule.description),
        },
        "defaultConfiguration": { "level": level(rule.severity) },
        "properties": properties,
    })
}

pub struct SarifOptions<'a> {
    pub category: Option<&'a str>,
    pub cwd: PathBuf,
}

pub fn document(
    findings: &[Finding],
    files: &[SourceFile],
    rules: &[Rule],
    fingerprints: &[String],
    opts: &SarifOptions,
) -> Value {
    let root = repository_root(&opts.cwd);
    let index = |id: &str| rules.iter().position(|r| r.id == id);
    let results: Vec<Value> = findings
        .iter()
        .enumerate()
        .map(|(n, f)| {
            let mut message = f.message.clone();
            if !f.help.is_empty() {
                message.push_str("\nhelp: ");
                message.push_str(&f.help);
            }
            let related: Vec<Value> = f
                .labels
                .iter()
                .enumerate()
                .map(|(i, l)| {
                    json!({
                        "id": i,
                        "physicalLocation": physical(&l.loc, files, &root, &opts.cwd),
                        "message": { "text": if l.message.is_empty() { "evidence".to_string() } else { l.message.clone() } },
                    })
                })
                .collect();
            let mut r = json!({
                "ruleId": f.rule,
                "level": level(f.severity),
                "message": { "text": message },
                "locations": [{ "physicalLocation": physical(&f.loc, files, &root, &opts.cwd) }],
                "relatedLocations": related,
            });
            if let Some(i) = index(&f.rule) {
                r["ruleIndex"] = json!(i);
            }
            if let Some(fp) = fingerprints.get(n) {
                r["partialFingerprints"] = json!({ "portcullis/v1": fp });
            }
            r
        })
        .collect();
    let mut run = json!({
        "tool": {
            "driver": {
                "name": "portcullis",
                "semanticVersion": env!("CARGO_PKG_VERSION"),
                "version": env!("CARGO_PKG_VERSION"),
                "informationUri": INFORMATION_URI,
                "rules": rules.iter().map(rule_json).collect::<Vec<_>>(),
            }
        },
        "originalUriBaseIds": {
            "%SRCROOT%": { "uri": format!("file://{}/", uri_path(&root).trim_end_matches('/')) }
        },
        "columnKind": "unicodeCodePoints",
        "results": results,
    });
    if let Some(c) = opts.category {
        run["automationDetails"] = json!({ "id": format!("{}/", c.trim_end_matches('/')) });
    }
    json!({
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [run],
    })
}
