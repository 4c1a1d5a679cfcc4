//! rustc's JSON diagnostics (`--format rustc-json`), one object per line: the format cargo and
//! rust-analyzer read, so findings show inline in any editor that runs rust-analyzer with
//! `check.overrideCommand`.

use crate::rules::{Finding, Severity};
use crate::source::{Loc, SourceFile};
use serde_json::{json, Value};

fn span(loc: &Loc, files: &[SourceFile], primary: bool, label: &str) -> Value {
    let file = &files[loc.file as usize];
    let s = loc.span;
    // The source lines the span covers, with the highlighted columns (1-based, end exclusive).
    let mut lines = vec![];
    for line in s.line..=s.end_line {
        let i = line as usize - 1;
        let Some((start, end)) = file.line_range(i) else {
            break;
        };
        let text = file.text[start..end].trim_end_matches(['\n', '\r']);
        let width = text.chars().count() as u32 + 1;
        let hs = if line == s.line { s.col } else { 1 };
        let he = if line == s.end_line { s.end_col } else { width };
        lines.push(json!({ "text": text, "highlight_start": hs, "highlight_end": he }));
    }
    json!({
        "file_name": file.display,
        "byte_start": s.start,
        "byte_end": s.end,
        "line_start": s.line,
        "line_end": s.end_line,
        "column_start": s.col,
        "column_end": s.end_col,
        "is_primary": primary,
        "text": lines,
        "label": if label.is_empty() { Value::Null } else { json!(label) },
        "suggested_replacement": null,
        "suggestion_applicability": null,
        "expansion": null,
    })
}

pub fn diagnostic(f: &Finding, files: &[SourceFile]) -> Value {
    let level = match f.severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Note => "note",
    };
    let mut spans = vec![span(&f.loc, files, true, &f.label)];
    spans.extend(
        f.labels
            .iter()
            .map(|l| span(&l.loc, files, false, &l.message)),
    );
    let file = &files[f.loc.file as usize];
    let rendered = format!(
        "{level}[portcullis::{}]: {}\n  --> {}:{}:{}\n  = help: {}\n",
        f.rule, f.message, file.display, f.loc.span.line, f.loc.span.col, f.help
    );
    json!({
        "$message_type": "diagnostic",
        "message": f.message,
        "code": { "code": format!("portcullis::{}", f.rule), "explanation": null },
        "level": level,
        "spans": spans,
        "children": [{
            "message": f.help,
            "code": null,
            "level": "help",
            "spans": [],
            "children": [],
            "rendered": null,
        }],
        "rendered": rendered,
    })
}

pub fn render(findings: &[Finding], files: &[SourceFile]) -> String {
    let mut out = String::new();
    for f in findings {
        out.push_str(&diagnostic(f, files).to_string());
        out.push('\n');
    }
    out
}
