//! Human output: codespan-reporting diagnostics with the evidence as secondary labels.

use crate::policy_error::PolicyError;
use crate::rules::{Finding, Severity};
use crate::source::SourceFile;
use codespan_reporting::diagnostic::{Diagnostic, Label, LabelStyle};
use codespan_reporting::files::SimpleFiles;
use codespan_reporting::term::{self, termcolor::WriteColor};
use std::collections::HashMap;

fn severity(s: Severity) -> codespan_reporting::diagnostic::Severity {
    match s {
        Severity::Error => codespan_reporting::diagnostic::Severity::Error,
        Severity::Warning => codespan_reporting::diagnostic::Severity::Warning,
        Severity::Note => codespan_reporting::diagnostic::Severity::Note,
    }
}

fn config() -> term::Config {
    term::Config::default()
}

pub fn render_findings(
    out: &mut dyn WriteColor,
    findings: &[Finding],
    files: &[SourceFile],
) -> std::io::Result<()> {
    let mut db = SimpleFiles::new();
    let mut ids: HashMap<u32, usize> = HashMap::new();
    let cfg = config();
    for f in findings {
        let mut labels = vec![];
        for (loc, msg, style) in std::iter::once((f.loc, f.label.clone(), LabelStyle::Primary))
            .chain(
                f.labels
                    .iter()
                    .map(|l| (l.loc, l.message.clone(), LabelStyle::Secondary)),
            )
        {
            let file = &files[loc.file as usize];
            let id = *ids
                .entry(loc.file)
                .or_insert_with(|| db.add(file.display.clone(), file.text.clone()));
            let len = file.text.len();
            let start = (loc.span.start as usize).min(len);
            let end = (loc.span.end as usize).clamp(start, len);
            labels.push(Label::new(style, id, start..end).with_message(msg));
        }
        let mut d = Diagnostic::new(severity(f.severity))
            .with_code(&f.rule)
            .with_message(&f.message)
            .with_labels(labels);
        if !f.help.is_empty() {
            d = d.with_notes(vec![format!("help: {}", f.help)]);
        }
        term::emit(out, &cfg, &db, &d).map_err(std::io::Error::other)?;
    }
    Ok(())
}

pub fn render_policy_errors(
    out: &mut dyn WriteColor,
    errors: &[PolicyError],
) -> std::io::Result<()> {
    let cfg = config();
    for e in errors {
        let mut db = SimpleFiles::new();
        let id = db.add(e.file.clone(), e.text.to_string());
        let mut d = Diagnostic::error().with_message(&e.message);
        match &e.range {
            Some(r) if !e.text.is_empty() => {
                let start = r.start.min(e.text.len());
                let end = r.end.clamp(start, e.text.len());
                d = d.with_labels(vec![Label::primary(id, start..end)]);
            }
            _ => d = d.with_notes(vec![format!("in {}", e.file)]),
        }
        if let Some(h) = &e.help {
            d = d.with_notes(vec![format!("help: {h}")]);
        }
        term::emit(out, &cfg, &db, &d).map_err(std::io::Error::other)?;
    }
    Ok(())
}
