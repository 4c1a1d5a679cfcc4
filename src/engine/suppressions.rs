//! Suppression comments within one unit: hide the findings they name, then describe every comment as a
//! `suppression` entity (used or not, rules known or not) for the rules about suppressions.

use super::diagnostics::{enabled_id, PARSE_ERROR};
use super::policy::Policy;
use crate::model::SuppressionInfo;
use crate::rules::{Finding, Rule};
use crate::source::{Loc, SourceFile};
use crate::suppress::{scan, suppressing, Suppression};

pub struct Suppressions {
    /// Per file of the unit, its comments.
    comments: Vec<Vec<Suppression>>,
    /// Whether each comment hid a finding.
    used: Vec<Vec<bool>>,
    first_file: u32,
}

impl Suppressions {
    pub fn scan(files: &[SourceFile], first_file: u32) -> Self {
        let comments: Vec<Vec<Suppression>> = files.iter().map(|f| scan(&f.text, f.kind)).collect();
        Suppressions {
            used: comments.iter().map(|c| vec![false; c.len()]).collect(),
            comments,
            first_file,
        }
    }

    /// Removes the suppressed findings; returns how many there were.
    pub fn apply(&mut self, findings: &mut Vec<Finding>) -> usize {
        let before = findings.len();
        findings.retain(|f| {
            let Some(i) = f.loc.file.checked_sub(self.first_file).map(|i| i as usize) else {
                return true;
            };
            let Some(list) = self.comments.get(i) else {
                return true;
            };
            match suppressing(list, f.loc.span.line, &f.rule) {
                Some(j) => {
                    self.used[i][j] = true;
                    false
                }
                None => true,
            }
        });
        before - findings.len()
    }

    pub fn entities(
        &self,
        files: &[SourceFile],
        policy: &Policy,
        enabled: &(dyn Fn(&Rule) -> bool + Sync),
    ) -> Vec<SuppressionInfo> {
        let mut out = vec![];
        for (i, list) in self.comments.iter().enumerate() {
            for (s, used) in list.iter().zip(&self.used[i]) {
                let unknown: Vec<String> = s
                    .rules
                    .iter()
                    .filter(|r| policy.rules.get(r).is_none() && r.as_str() != PARSE_ERROR)
                    .cloned()
                    .collect();
                // Unused only means something when every rule it names ran.
                let checked = unknown.is_empty()
                    && !s.rules.is_empty()
                    && s.rules
                        .iter()
                        .all(|r| enabled_id(&policy.rules, enabled, r));
                out.push(SuppressionInfo {
                    file: files[i].display.clone(),
                    rules: s.rules.clone(),
                    rule_count: s.rules.len(),
                    reason: s.reason.clone(),
                    file_level: s.applies_to == 0,
                    used: *used,
                    checked,
                    unknown_rules: unknown,
                    reason_required: policy.require_suppression_reason,
                    loc: Loc::new(
                        self.first_file + i as u32,
                        files[i].span_of_bytes(s.bytes.start, s.bytes.end),
                    ),
                });
            }
        }
        out
    }
}
