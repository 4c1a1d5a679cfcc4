//! Renderers: one per output format.

pub mod github;
pub mod human;
pub mod json;
pub mod routes;
pub mod rustc;
pub mod sarif;

use crate::rules::{Finding, Severity};

#[derive(Debug, Default, Clone, Copy)]
pub struct Counts {
    pub errors: usize,
    pub warnings: usize,
    pub notes: usize,
}

pub fn counts(findings: &[Finding]) -> Counts {
    let mut c = Counts::default();
    for f in findings {
        match f.severity {
            Severity::Error => c.errors += 1,
            Severity::Warning => c.warnings += 1,
            Severity::Note => c.notes += 1,
        }
    }
    c
}

/// `--statistics`: findings per rule, most frequent first (then by rule id).
pub fn statistics(findings: &[Finding]) -> Vec<(String, Severity, usize)> {
    let mut by_rule: std::collections::BTreeMap<&str, (Severity, usize)> = Default::default();
    for f in findings {
        let e = by_rule.entry(f.rule.as_str()).or_insert((f.severity, 0));
        e.0 = e.0.max(f.severity);
        e.1 += 1;
    }
    let mut out: Vec<(String, Severity, usize)> = by_rule
        .into_iter()
        .map(|(r, (s, n))| (r.to_string(), s, n))
        .collect();
    out.sort_by(|a, b| b.2.cmp(&a.2).then_with(|| a.0.cmp(&b.0)));
    out
}
