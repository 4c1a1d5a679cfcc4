//! Findings and configuration errors as LSP diagnostics.

use super::position::range;
use crate::engine::Policy;
use crate::policy_error::PolicyError;
use crate::rules::{Finding, Severity};
use crate::source::{Loc, SourceFile};
use lsp_types::{
    CodeDescription, Diagnostic, DiagnosticRelatedInformation, DiagnosticSeverity, Location,
    NumberOrString, Url,
};
use std::path::Path;

pub const SOURCE: &str = "portcullis";

fn severity(s: Severity) -> DiagnosticSeverity {
    match s {
        Severity::Error => DiagnosticSeverity::ERROR,
        Severity::Warning => DiagnosticSeverity::WARNING,
        Severity::Note => DiagnosticSeverity::INFORMATION,
    }
}

pub fn uri(path: &Path) -> Option<Url> {
    Url::from_file_path(path).ok()
}

/// How the server names a file to the client.
pub type UriOf<'a> = &'a dyn Fn(&Path) -> Option<Url>;

fn location(loc: Loc, files: &[SourceFile], uri_of: UriOf) -> Option<Location> {
    let file = files.get(loc.file as usize)?;
    Some(Location {
        uri: uri_of(&file.path)?,
        range: range(&file.text, loc.span.start as usize, loc.span.end as usize),
    })
}

/// The documentation of a rule, where it has a page to open: a rule of a project's rule directory is
/// documented by its own file (`portcullis explain` documents the built-in ones).
fn documentation(policy: &Policy, rule: &str) -> Option<CodeDescription> {
    let r = policy.rules.rules.iter().find(|r| r.id == rule)?;
    if crate::engine::is_builtin(&r.source) {
        return None;
    }
    let path = Path::new(&r.source).canonicalize().ok()?;
    Some(CodeDescription { href: uri(&path)? })
}

/// A finding as a diagnostic of the file it is in: the message with the help on a second line, the
/// evidence as related information.
pub fn from_finding(
    f: &Finding,
    files: &[SourceFile],
    policy: &Policy,
    uri_of: UriOf,
) -> Option<Diagnostic> {
    let primary = location(f.loc, files, uri_of)?;
    let mut related: Vec<DiagnosticRelatedInformation> = f
        .labels
        .iter()
        .filter_map(|l| {
            Some(DiagnosticRelatedInformation {
                location: location(l.loc, files, uri_of)?,
                message: l.message.clone(),
            })
        })
        .collect();
    if !f.label.is_empty() && f.labels.is_empty() {
        related.push(DiagnosticRelatedInformation {
            location: primary.clone(),
            message: f.label.clone(),
        });
    }
    let message = if f.help.is_empty() {
        f.message.clone()
    } else {
        format!("{}\nhelp: {}", f.message, f.help)
    };
    Some(Diagnostic {
        range: primary.range,
        severity: Some(severity(f.severity)),
        code: Some(NumberOrString::String(f.rule.clone())),
        code_description: documentation(policy, &f.rule),
        source: Some(SOURCE.into()),
        message,
        related_information: (!related.is_empty()).then_some(related),
        ..Diagnostic::default()
    })
}

/// A configuration, rule or catalog error, at its place in the file (relative names are the
/// workspace folder's, or the working directory's).
pub fn from_policy_error(
    e: &PolicyError,
    folder: &Path,
) -> Option<(std::path::PathBuf, Diagnostic)> {
    let name = e.file.trim_end_matches(" [catalog]");
    let path = [folder.join(name), Path::new(name).to_path_buf()]
        .into_iter()
        .find(|p| p.is_file())?
        .canonicalize()
        .ok()?;
    let span = e.range.clone().unwrap_or(0..0);
    let message = match &e.help {
        Some(h) => format!("{}\nhelp: {h}", e.message),
        None => e.message.clone(),
    };
    Some((
        path,
        Diagnostic {
            range: range(&e.text, span.start, span.end),
            severity: Some(DiagnosticSeverity::ERROR),
            code: Some(NumberOrString::String("configuration".into())),
            source: Some(SOURCE.into()),
            message,
            ..Diagnostic::default()
        },
    ))
}
