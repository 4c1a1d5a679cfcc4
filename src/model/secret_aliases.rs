//! Secrets logged under another name: a log or panic macro's argument that is a local bound to a
//! secret (`let t = token.clone()`, `let header = format!("Bearer {token}")`, `let key = api_key()`),
//! through nothing that changes the value. A call in between (a hash, a length, a verification, a
//! lookup) ends the alias: what it returns is not the secret.

use super::analysis::Analyzer;
use super::constants::{KEEPS_VALUE, UNWRAPS};
use super::program::FnId;
use super::Evidence;
use crate::facts::{Block, CallSite, Expr, FnDef, Let, Lit, Stmt};
use crate::source::Span;

/// Methods whose result is the receiver's text, besides the value-keeping conversions and unwraps
/// constant folding follows.
const KEEPS_TEXT: &[&str] = &[
    "as_deref",
    "as_bytes",
    "borrow",
    "expose_secret",
    "unwrap_or_default",
    "trim",
];

fn keeps_text(method: &str) -> bool {
    [KEEPS_VALUE, UNWRAPS, KEEPS_TEXT]
        .iter()
        .any(|list| list.contains(&method))
}

/// Macros that build text from their arguments.
const TEXT_MACROS: &[&str] = &["format", "concat"];

/// One binding of the function: the name, where it is bound, where its scope ends, and the secret its
/// value is, if it is one. Loop patterns, `if let` patterns and assignments bind too (to no secret).
struct Binding<'a> {
    name: &'a str,
    span: Span,
    scope_end: u32,
    holds: Option<String>,
}

/// The single-name bindings of one function, in source order, each with the secret it holds; and the
/// match arms, whose patterns the facts do not keep (a name used in an arm is followed only to a `let`
/// inside that arm).
pub struct Aliases<'a> {
    bindings: Vec<Binding<'a>>,
    arms: Vec<Span>,
}

/// A binding found in the body, before its value is judged.
enum Bound<'a> {
    Let(&'a Let, u32),
    Other(&'a str, Span, u32),
    Assign(&'a str, &'a Expr, Span),
}

impl<'a> Aliases<'a> {
    pub fn of(an: &Analyzer, f: &'a FnDef) -> Self {
        let mut found: Vec<Bound<'a>> = vec![];
        let mut arms = vec![];
        lets_of(&f.body, u32::MAX, &mut found);
        f.body.walk(&mut |e| match e {
            Expr::Block { block, span, .. }
            | Expr::If {
                then: block, span, ..
            } => lets_of(block, span.end, &mut found),
            Expr::Loop {
                body, pat, span, ..
            } => {
                lets_of(body, span.end, &mut found);
                for name in pat.iter().flat_map(|p| p.bindings.iter()) {
                    found.push(Bound::Other(name, *span, span.end));
                }
            }
            Expr::LetCond { pat, span, .. } => {
                for name in pat.bindings.iter() {
                    found.push(Bound::Other(name, *span, u32::MAX));
                }
            }
            Expr::Assign {
                target,
                value,
                span,
            } => {
                if let Some(name) = target.as_ident() {
                    found.push(Bound::Assign(name, value, *span));
                }
            }
            Expr::Match { arms: a, .. } => arms.extend(a.iter().map(Expr::span)),
            _ => {}
        });
        let start = |b: &Bound| match b {
            Bound::Let(l, _) => l.span.start,
            Bound::Other(_, s, _) | Bound::Assign(_, _, s) => s.start,
        };
        found.sort_by_key(start);
        let mut out = Aliases {
            bindings: vec![],
            arms,
        };
        for b in found {
            let binding = match b {
                Bound::Let(l, scope_end) => {
                    let [name] = l.pat.bindings.as_slice() else {
                        continue;
                    };
                    let holds = l
                        .init
                        .as_ref()
                        .and_then(|i| out.secret_in(an, i, l.span.start));
                    Binding {
                        name: name.as_str(),
                        span: l.span,
                        scope_end,
                        holds,
                    }
                }
                // Bound from where the loop or `if let` starts, for all of it.
                Bound::Other(name, span, scope_end) => Binding {
                    name,
                    span: Span {
                        end: span.start,
                        ..span
                    },
                    scope_end,
                    holds: None,
                },
                Bound::Assign(name, value, span) => Binding {
                    name,
                    span,
                    scope_end: u32::MAX,
                    holds: out.secret_in(an, value, span.start),
                },
            };
            out.bindings.push(binding);
        }
        out
    }

    /// The secret a local holds at a point of the function: its latest binding in scope there. Inside
    /// a match arm, only a `let` of that arm counts (the arm's pattern may bind the name).
    fn held(&self, name: &str, at: u32) -> Option<(&Binding<'a>, &str)> {
        let arm_start = self
            .arms
            .iter()
            .filter(|a| a.start <= at && at < a.end)
            .map(|a| a.start)
            .max()
            .unwrap_or(0);
        let b = self.bindings.iter().rev().find(|b| {
            b.name == name && b.span.end <= at && at < b.scope_end && b.span.start >= arm_start
        })?;
        Some((b, b.holds.as_deref()?))
    }

    /// The secret a name is: named for one, or a local holding one.
    fn named(&self, an: &Analyzer, name: &str, at: u32) -> Option<String> {
        if an.catalog.is_secret_name(name) {
            return Some(name.to_string());
        }
        self.held(name, at).map(|(_, s)| s.to_string())
    }

    /// The secret an expression's value is, named as written: a binding or field named for one, a
    /// local holding one, a function named for one called without arguments (`api_key()`), or text
    /// built from one.
    fn secret_in(&self, an: &Analyzer, e: &Expr, at: u32) -> Option<String> {
        match e {
            Expr::Path { segs, .. } => match &segs[..] {
                [name] => self.named(an, name, at),
                _ => None,
            },
            // The field's own name says what it is (`req.password`).
            Expr::Field { name, .. } if an.catalog.is_secret_name(name) => Some(name.to_string()),
            Expr::Method(m) if keeps_text(&m.name) => self.secret_in(an, &m.recv, at),
            Expr::Unary { op, expr, .. } if *op == "&" || *op == "*" => {
                self.secret_in(an, expr, at)
            }
            Expr::Try { inner, .. } => self.secret_in(an, inner, at),
            Expr::Binary { op, lhs, rhs, .. } if *op == "+" => self
                .secret_in(an, lhs, at)
                .or_else(|| self.secret_in(an, rhs, at)),
            Expr::Macro(m)
                if m.path
                    .last()
                    .is_some_and(|p| TEXT_MACROS.contains(&p.as_str())) =>
            {
                m.args
                    .iter()
                    .find_map(|a| self.secret_in(an, a, at))
                    .or_else(|| {
                        let format = m.args.first().and_then(Expr::as_str_lit)?;
                        captures(format).find_map(|name| self.named(an, name, at))
                    })
            }
            Expr::Call { func, args, .. } if args.is_empty() => match &**func {
                Expr::Path { segs, .. }
                    if segs.last().is_some_and(|n| an.catalog.is_secret_name(n)) =>
                {
                    Some(format!("{}()", segs.join("::")))
                }
                _ => None,
            },
            _ => None,
        }
    }
}

/// The `let`s directly in a block, whose scope ends with the block.
fn lets_of<'a>(block: &'a Block, scope_end: u32, out: &mut Vec<Bound<'a>>) {
    out.extend(block.stmts.iter().filter_map(|s| match s {
        Stmt::Let(l) => Some(Bound::Let(l, scope_end)),
        Stmt::Expr { .. } => None,
    }));
}

/// The names captured inline by a format string: `{token}`, `{token:?}` (not `{}`, `{0}`, `{{x}}`).
fn captures(format: &str) -> impl Iterator<Item = &str> {
    let mut out = vec![];
    let mut rest = format;
    while let Some(open) = rest.find('{') {
        let after = &rest[open + 1..];
        if let Some(escaped) = after.strip_prefix('{') {
            rest = escaped;
            continue;
        }
        let Some(close) = after.find('}') else { break };
        let name = after[..close].split(':').next().unwrap_or("");
        if is_ident(name) {
            out.push(name);
        }
        rest = &after[close + 1..];
    }
    out.into_iter()
}

fn is_ident(text: &str) -> bool {
    text.chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && text.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// The local an argument logs whole, as written: `t`, `&t`, `?t`, `%t`, `field = %t`, `t.clone()`.
fn logged_local(text: &str) -> Option<&str> {
    let mut t = text.trim();
    if let Some((field, value)) = t.split_once('=') {
        let field = field.trim();
        if field
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.')
        {
            t = value.trim();
        }
    }
    t = t.trim_start_matches(['?', '%', '&']).trim();
    for suffix in [".clone()", ".as_str()", ".to_string()", ".expose_secret()"] {
        t = t.strip_suffix(suffix).unwrap_or(t);
    }
    is_ident(t).then_some(t)
}

/// Where the locals a macro logs were bound to a secret, for a macro that logs (or panics with) its
/// arguments. (A local the rule's name test also reports gives one finding: findings at one place with
/// one message are merged.)
pub fn logged(an: &Analyzer, id: FnId, aliases: &Aliases, call: &CallSite) -> Vec<Evidence> {
    let mut names: Vec<&str> = call
        .args
        .iter()
        .filter_map(|a| logged_local(&a.text))
        .collect();
    for a in &call.args {
        if let Some(Lit::Str(format)) = &a.lit {
            names.extend(captures(format));
        }
    }
    let mut out: Vec<Evidence> = vec![];
    let mut seen: Vec<&str> = vec![];
    for name in names {
        if seen.contains(&name) {
            continue;
        }
        seen.push(name);
        if let Some((b, secret)) = aliases.held(name, call.span.start) {
            out.push(Evidence {
                loc: an.loc(id.unit, b.span),
                note: format!("`{name}` holds `{secret}`, from here"),
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logged_locals_and_captures_are_read_as_written() {
        assert_eq!(logged_local("t"), Some("t"));
        assert_eq!(logged_local("?creds"), Some("creds"));
        assert_eq!(logged_local("auth = %header"), Some("header"));
        assert_eq!(logged_local("&key.clone()"), Some("key"));
        assert_eq!(logged_local("t.len()"), None);
        assert_eq!(logged_local("\"text\""), None);
        assert_eq!(logged_local("user.id"), None);
        let names: Vec<&str> = captures("{} {t} {0} {{x}} {h:?} {a.b} {{").collect();
        assert_eq!(names, ["t", "h"]);
    }
}
