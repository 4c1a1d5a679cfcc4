//! Stage 2 of a unit: the front end, once per file. A Rust file becomes facts (from the unit's stored
//! facts when its bytes, module path and the policy are unchanged; otherwise parsed with syn, whose tree
//! is dropped as soon as it is lowered); a TOML file becomes configuration entries or, for `Cargo.lock`,
//! advisory matches. Failures become findings located in the file.

use super::cache::decode_facts;
use super::diagnostics::{injected_panic, internal_error, panic_message, parse_error, FIX_SYNTAX};
use super::hash::Hasher128;
use super::read::{FilePlan, ReadFile};
use crate::advisories::Advisory;
use crate::facts::{self, FileFacts};
use crate::model::{self, AdvisoryMatch, ConfigEntry, EnvSetting};
use crate::rules::Finding;
use crate::source::{FileKind, Loc, SourceFile, Span};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// The facts of one unit's files by facts key, kept between analyses by a process that analyses the
/// same unit again and again (the language server): a file whose key is here is neither decoded nor
/// lowered. Each analysis replaces the contents with its unit's facts, so it holds one unit at most.
#[derive(Default)]
pub struct FactsMemo(Mutex<(u128, HashMap<u128, Arc<FileFacts>>)>);

impl FactsMemo {
    fn get(&self, key: u128) -> Option<Arc<FileFacts>> {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .1
            .get(&key)
            .cloned()
    }

    /// Whether it holds the facts of the unit whose facts pack is `pack`.
    pub fn holds(&self, pack: u128) -> bool {
        let m = self.0.lock().unwrap_or_else(|e| e.into_inner());
        m.0 == pack && !m.1.is_empty()
    }

    /// Keeps exactly the facts given, of the unit whose facts pack is `pack`.
    pub fn replace(&self, pack: u128, facts: impl Iterator<Item = (u128, Arc<FileFacts>)>) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = (pack, facts.collect());
    }
}

/// What the front end made of one file.
#[derive(Default)]
pub struct FileOut {
    pub facts: Option<Arc<FileFacts>>,
    /// The facts' cache key, and whether they were lowered now rather than found in the cache.
    pub key: u128,
    pub lowered: bool,
    /// Lowering failed inside portcullis (reported as `internal-error`).
    pub panicked: bool,
    pub config: Vec<ConfigEntry>,
    /// Environment variables a deployment file sets.
    pub env: Vec<EnvSetting>,
    /// Servers a deployment file or Procfile starts.
    pub launches: Vec<model::Launch>,
    pub advisories: Vec<AdvisoryMatch>,
    pub findings: Vec<Finding>,
}

pub struct FrontEnd<'a> {
    /// The unit's packages: configuration and lock files are filed under theirs.
    pub crates: &'a [crate::discover::Crate],
    pub advisories: &'a [Advisory],
    /// The facts the cache holds for this unit, encoded, by file key.
    pub stored: std::collections::HashMap<u128, Vec<u8>>,
    /// The facts a long-running caller (the language server) kept from the unit's last analysis.
    pub memo: Option<&'a FactsMemo>,
    /// The policy's fingerprint, part of every facts key.
    pub policy: u128,
}

impl FrontEnd<'_> {
    pub fn file(&self, plan: &FilePlan, read: &ReadFile, id: u32) -> FileOut {
        if !read.readable {
            return FileOut::default();
        }
        match plan.kind {
            FileKind::Rust | FileKind::Python => self.code(plan, read, id),
            FileKind::Toml => self.toml(&read.file, id, plan.krate),
            FileKind::Deploy => FileOut {
                env: model::env_settings(&read.file, id),
                launches: model::launches(&read.file, id),
                ..FileOut::default()
            },
        }
    }

    fn facts_key(&self, plan: &FilePlan, read: &ReadFile) -> u128 {
        let mut h = Hasher128::new();
        // A Python file's imports resolve differently in a package's `__init__.py`.
        let package = plan.path.file_name().is_some_and(|n| n == "__init__.py");
        h.str("facts")
            .u128(self.policy)
            .u128(read.hash)
            .u64(plan.kind as u64)
            .u64(u64::from(package));
        for m in &plan.module {
            h.str(m);
        }
        h.finish()
    }

    fn code(&self, plan: &FilePlan, read: &ReadFile, id: u32) -> FileOut {
        let key = self.facts_key(plan, read);
        let kept = self.memo.and_then(|m| m.get(key));
        if let Some(facts) = kept.or_else(|| {
            self.stored
                .get(&key)
                .and_then(|b| decode_facts(b))
                .map(Arc::new)
        }) {
            let findings = facts
                .syntax_error
                .iter()
                .map(|e| syntax_error(&read.file, id, plan.kind, e.clone()))
                .collect();
            return FileOut {
                facts: Some(facts),
                key,
                findings,
                ..FileOut::default()
            };
        }
        let text = &read.file.text;
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            injected_panic(&plan.display);
            lower(plan, text)
        }));
        let mut out = FileOut {
            key,
            lowered: true,
            ..FileOut::default()
        };
        match result {
            Ok((f, failure)) => {
                out.facts = f.map(Arc::new);
                if let Some(e) = failure {
                    out.findings
                        .push(syntax_error(&read.file, id, plan.kind, e));
                }
            }
            Err(p) => {
                out.panicked = true;
                out.findings.push(internal_error(
                    id,
                    format!(
                        "internal error while analysing this file: {}",
                        panic_message(p.as_ref())
                    ),
                ))
            }
        }
        out
    }

    fn toml(&self, file: &SourceFile, id: u32, krate: u32) -> FileOut {
        let mut out = FileOut::default();
        let package = self
            .crates
            .get(krate as usize)
            .map_or("", |c| c.name.as_str());
        let is_lock = file.path.file_name().is_some_and(|n| n == "Cargo.lock");
        let parsed = if is_lock {
            model::advisory_matches(package, id, file, self.advisories).map(|m| out.advisories = m)
        } else {
            model::config_entries(package, id, file).map(|e| out.config = e)
        };
        if let Err((range, msg)) = parsed {
            // Keep the label on the line where the error starts.
            let text = &file.text;
            let line_end = text[range.start.min(text.len())..]
                .find('\n')
                .map(|n| range.start + n)
                .unwrap_or(text.len());
            let span = file.span_of_bytes(
                range.start,
                range.end.clamp(range.start, line_end.max(range.start)),
            );
            out.findings.push(parse_error(
                Loc::new(id, span),
                format!("could not parse TOML: {}", msg.trim()),
                FIX_SYNTAX,
            ));
        }
        out
    }
}

/// A source file's facts, and its syntax error. The Rust parser gives up at the first error; the
/// Python parser recovers, so a Python file with an error still has the facts of what it could read.
fn lower(plan: &FilePlan, text: &str) -> (Option<FileFacts>, Option<facts::ParseFailure>) {
    match plan.kind {
        FileKind::Python => {
            let package = plan.path.file_name().is_some_and(|n| n == "__init__.py");
            let f = crate::frontend::python::extract(text, plan.module.clone(), package);
            let failure = f.syntax_error.clone();
            (Some(f), failure)
        }
        _ => match facts::extract(text, plan.module.clone()) {
            Ok(f) => (Some(f), None),
            Err(e) => (None, Some(e)),
        },
    }
}

fn syntax_error(file: &SourceFile, id: u32, kind: FileKind, e: facts::ParseFailure) -> Finding {
    let text = &file.text;
    let off = file.line_range(e.line.saturating_sub(1)).map_or(0, |r| r.0);
    let col_bytes: usize = text[off..].chars().take(e.col0).map(char::len_utf8).sum();
    let start = (off + col_bytes).min(text.len());
    let span = Span {
        line: e.line.max(1) as u32,
        col: e.col0 as u32 + 1,
        end_line: e.line.max(1) as u32,
        end_col: e.col0 as u32 + 2,
        start: start as u32,
        end: (start + 1).min(text.len()) as u32,
    };
    // proc-macro2's lexer error says nothing useful; say what it means.
    let message = if e.message == "cannot parse string into token stream" {
        "unbalanced delimiters: a `(`, `[` or `{` is not closed, or is closed by the wrong bracket"
            .to_string()
    } else {
        e.message
    };
    let language = if kind == FileKind::Python {
        "Python"
    } else {
        "Rust"
    };
    parse_error(
        Loc::new(id, span),
        format!("could not parse {language} source: {message}"),
        FIX_SYNTAX,
    )
}
