//! The JSON document (`--format json`): stable field names, 1-based lines and character columns.

use super::counts;
use crate::policy_error::PolicyError;
use crate::rules::Finding;
use crate::source::{Loc, SourceFile};
use serde_json::{json, Value};

pub const VERSION: u32 = 1;

fn position(loc: &Loc, files: &[SourceFile]) -> serde_json::Map<String, Value> {
    let mut m = serde_json::Map::new();
    m.insert("file".into(), json!(files[loc.file as usize].display));
    m.insert("line".into(), json!(loc.span.line));
    m.insert("column".into(), json!(loc.span.col));
    m.insert("end_line".into(), json!(loc.span.end_line));
    m.insert("end_column".into(), json!(loc.span.end_col));
    m.insert("byte_start".into(), json!(loc.span.start));
    m.insert("byte_end".into(), json!(loc.span.end));
    m
}

pub fn finding_json(f: &Finding, files: &[SourceFile]) -> Value {
    let mut m = serde_json::Map::new();
    m.insert("rule".into(), json!(f.rule));
    m.insert("severity".into(), json!(f.severity));
    m.insert("message".into(), json!(f.message));
    m.extend(position(&f.loc, files));
    m.insert("label".into(), json!(f.label));
    m.insert("package".into(), json!(f.package));
    m.insert("help".into(), json!(f.help));
    let labels: Vec<Value> = f
        .labels
        .iter()
        .map(|l| {
            let mut lm = position(&l.loc, files);
            lm.insert("message".into(), json!(l.message));
            Value::Object(lm)
        })
        .collect();
    m.insert("labels".into(), Value::Array(labels));
    Value::Object(m)
}

pub fn policy_error_json(e: &PolicyError) -> Value {
    let (line, column) = e.line_col();
    json!({
        "file": e.file,
        "line": line,
        "column": column,
        "message": e.message,
        "help": e.help,
    })
}

pub fn document(
    findings: &[Finding],
    files: &[SourceFile],
    errors: &[PolicyError],
    packages: usize,
    suppressed: usize,
    baselined: usize,
) -> Value {
    let c = counts(findings);
    json!({
        "version": VERSION,
        "tool": { "name": "portcullis", "version": env!("CARGO_PKG_VERSION") },
        "findings": findings.iter().map(|f| finding_json(f, files)).collect::<Vec<_>>(),
        "errors": errors.iter().map(policy_error_json).collect::<Vec<_>>(),
        "summary": {
            "files": files.len(),
            "packages": packages,
            "findings": findings.len(),
            "errors": c.errors,
            "warnings": c.warnings,
            "notes": c.notes,
            "suppressed": suppressed,
            "baselined": baselined,
        }
    })
}
