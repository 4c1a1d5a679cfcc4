//! Baselines: `--write-baseline FILE` records today's findings; `--baseline FILE` hides them and reports
//! only new ones. Findings are identified by rule, file (relative to the baseline's directory) and a
//! fingerprint of the code at the finding, so edits that only move lines keep them recognised.

use crate::fingerprint::fingerprints_with;
use crate::rules::Finding;
use crate::source::SourceFile;
use serde::{Deserialize, Serialize};
use std::collections::HashSet;
use std::path::{Path, PathBuf};

const VERSION: u32 = 1;

#[derive(Serialize, Deserialize)]
struct Document {
    version: u32,
    findings: Vec<Entry>,
}

#[derive(Serialize, Deserialize)]
struct Entry {
    rule: String,
    file: String,
    fingerprint: String,
    /// For people reading the file; not used for matching.
    message: String,
}

fn namer(baseline: &Path) -> impl Fn(&SourceFile) -> String {
    let base: PathBuf = baseline
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."));
    let base = base.canonicalize().unwrap_or(base);
    move |f: &SourceFile| {
        let abs = f.path.canonicalize().unwrap_or_else(|_| f.path.clone());
        abs.strip_prefix(&base)
            .unwrap_or(&abs)
            .to_string_lossy()
            .replace('\\', "/")
    }
}

pub fn write(path: &Path, findings: &[Finding], files: &[SourceFile]) -> Result<(), String> {
    let name = namer(path);
    let fps = fingerprints_with(findings, files, &name);
    let doc = Document {
        version: VERSION,
        findings: findings
            .iter()
            .zip(fps)
            .map(|(f, fingerprint)| Entry {
                rule: f.rule.clone(),
                file: name(&files[f.loc.file as usize]),
                fingerprint,
                message: f.message.clone(),
            })
            .collect(),
    };
    let text = serde_json::to_string_pretty(&doc).map_err(|e| e.to_string())? + "\n";
    std::fs::write(path, text).map_err(|e| format!("cannot write `{}`: {e}", path.display()))
}

/// Removes the findings recorded in the baseline; returns how many were hidden.
pub fn apply(
    path: &Path,
    findings: &mut Vec<Finding>,
    files: &[SourceFile],
) -> Result<usize, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read baseline `{}`: {e}", path.display()))?;
    let doc: Document = serde_json::from_str(&text).map_err(|e| {
        format!(
            "`{}` is not a portcullis baseline (line {}, column {}): {e}",
            path.display(),
            e.line(),
            e.column()
        )
    })?;
    if doc.version != VERSION {
        return Err(format!(
            "`{}` is a version {} baseline; this portcullis reads version {VERSION}",
            path.display(),
            doc.version
        ));
    }
    let known: HashSet<(String, String, String)> = doc
        .findings
        .into_iter()
        .map(|e| (e.rule, e.file, e.fingerprint))
        .collect();
    let name = namer(path);
    let fps = fingerprints_with(findings, files, &name);
    let before = findings.len();
    let mut i = 0;
    findings.retain(|f| {
        let key = (
            f.rule.clone(),
            name(&files[f.loc.file as usize]),
            fps[i].clone(),
        );
        i += 1;
        !known.contains(&key)
    });
    Ok(before - findings.len())
}
