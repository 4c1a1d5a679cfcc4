//! The findings portcullis reports about its own run: files it could not read or parse
//! (`parse-error`) and failures inside portcullis (`internal-error`), plus which of them are enabled.

use crate::rules::{Finding, Rule, RuleSet, Severity};
use crate::source::{Loc, Span};

/// The rule id of files that cannot be read or parsed.
pub const PARSE_ERROR: &str = "parse-error";

/// The rule id of analysis failures inside portcullis (a caught panic).
pub const INTERNAL_ERROR: &str = "internal-error";

pub const FIX_UNREADABLE: &str = "make it readable by the user running portcullis, or exclude it";
pub const FIX_SYNTAX: &str = "fix the syntax error";

pub fn parse_error(loc: Loc, message: String, fix: &str) -> Finding {
    Finding {
        rule: PARSE_ERROR.into(),
        severity: Severity::Error,
        message,
        label: String::new(),
        package: None,
        help: format!(
            "{fix}; the other files were still analysed, but facts from this file are missing"
        ),
        loc,
        labels: vec![],
    }
}

pub fn internal_error(file: u32, message: String) -> Finding {
    Finding {
        rule: INTERNAL_ERROR.into(),
        severity: Severity::Error,
        message,
        label: String::new(),
        package: None,
        help: "this is a bug in portcullis: please report it with the file; every other file was analysed".into(),
        loc: Loc::new(file, Span { line: 1, col: 1, end_line: 1, end_col: 1, start: 0, end: 0 }),
        labels: vec![],
    }
}

pub fn panic_message(p: &(dyn std::any::Any + Send)) -> String {
    p.downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| p.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".into())
}

/// Tests make portcullis fail on purpose in the files whose path contains this variable's value, to check
/// that one failure does not stop the others.
pub const INJECT_PANIC_VAR: &str = "PORTCULLIS_INJECT_PANIC";

pub fn injected_panic(display: &str) {
    if let Some(v) = std::env::var_os(INJECT_PANIC_VAR) {
        if !v.is_empty() && display.contains(v.to_string_lossy().as_ref()) {
            panic!("injected failure for {display}");
        }
    }
}

/// Whether findings of rule `id` are reported; built-in diagnostics such as `parse-error` are matched by
/// a stand-in rule.
pub fn enabled_id(rules: &RuleSet, enabled: &(dyn Fn(&Rule) -> bool + Sync), id: &str) -> bool {
    match rules.get(id) {
        Some(r) => enabled(r),
        None => {
            let stand_in = Rule {
                id: id.to_string(),
                title: String::new(),
                severity: Severity::Error,
                category: "diagnostic".into(),
                tags: vec![],
                description: String::new(),
                security_severity: None,
                precision: None,
                tier: crate::rules::Tier::Default,
                cases: vec![],
                examples: vec![],
                source: String::new(),
            };
            enabled(&stand_in)
        }
    }
}
