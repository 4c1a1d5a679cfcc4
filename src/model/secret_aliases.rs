//! Secrets logged under another name: a log or panic macro's argument that is a local bound to a
//! secret (`let t = token.clone()`, `let header = format!("Bearer {token}")`, `let key = api_key()`),
//! through nothing that changes the value. A call in between (a hash, a length, a verification, a
//! lookup) ends the alias: what it returns is not the secret.

use super::analysis::Analyzer;
use super::program::FnId;
use super::Evidence;
use crate::facts::{Block, CallSite, Expr, FnDef, Let, Lit, Stmt};
use crate::source::Span;

/// Methods whose result is the receiver's value, or its text.
const KEEPS_VALUE: &[&str] = &[
    "clone",
    "to_string",
    "to_owned",
    "as_str",
    "as_ref",
    "as_deref",
    "into",
    "as_bytes",
    "borrow",
    "expose_secret",
    "unwrap",
    "expect",
    "unwrap_or_default",
    "trim",
];

/// Macros that build text from their arguments.
const TEXT_MACROS: &[&str] = &["format", "concat"];

/// One `let` of the function: the name it binds, where, and the secret its value is, if it is one.
struct Binding<'a> {
    name: &'a str,
    span: Span,
    holds: Option<String>,
}

/// The single-name `let`s of one function, in source order, each with the secret it holds.
pub struct Aliases<'a> {
    lets: Vec<Binding<'a>>,
}

impl<'a> Aliases<'a> {
    pub fn of(an: &Analyzer, f: &'a FnDef) -> Self {
        let mut lets: Vec<&'a Let> = vec![];
        collect_lets(&f.body, &mut lets);
        f.body.walk(&mut |e| {
            let nested = match e {
                Expr::Block { block, .. } | Expr::If { then: block, .. } => Some(block),
                Expr::Loop { body, .. } => Some(body),
                _ => None,
            };
            if let Some(b) = nested {
                collect_lets(b, &mut lets);
            }
        });
        lets.sort_by_key(|l| l.span.start);
        let mut out = Aliases { lets: vec![] };
        for l in lets {
            let ([name], Some(init)) = (l.pat.bindings.as_slice(), &l.init) else {
                continue;
            };
            let holds = out.secret_in(an, init, l.span.start);
            out.lets.push(Binding {
                name: name.as_str(),
                span: l.span,
                holds,
            });
        }
        out
    }

    /// The secret a local holds at a point of the function: its latest `let` before there.
    fn held(&self, name: &str, at: u32) -> Option<(&Binding<'a>, &str)> {
        let b = self
            .lets
            .iter()
            .rev()
            .find(|b| b.name == name && b.span.end <= at)?;
        Some((b, b.holds.as_deref()?))
    }

    /// The secret an expression's value is, named as written: a binding or field named for one, a
    /// local holding one, a function named for one called without arguments (`api_key()`), or text
    /// built from one.
    fn secret_in(&self, an: &Analyzer, e: &Expr, at: u32) -> Option<String> {
        match e {
            Expr::Path { segs, .. } => match &segs[..] {
                [name] if an.catalog.is_secret_name(name) => Some(name.to_string()),
                [name] => self.held(name, at).map(|(_, s)| s.to_string()),
                _ => None,
            },
            // The field's own name says what it is (`req.password`).
            Expr::Field { name, .. } if an.catalog.is_secret_name(name) => Some(name.to_string()),
            Expr::Method(m) if KEEPS_VALUE.contains(&m.name.as_str()) => {
                self.secret_in(an, &m.recv, at)
            }
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
                        captures(format).find_map(|name| self.secret_in(an, &path_of(name), at))
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

fn collect_lets<'a>(block: &'a Block, out: &mut Vec<&'a Let>) {
    out.extend(block.stmts.iter().filter_map(|s| match s {
        Stmt::Let(l) => Some(&**l),
        Stmt::Expr { .. } => None,
    }));
}

fn path_of(name: &str) -> Expr {
    Expr::Path {
        segs: Box::new([crate::facts::Name::new(name)]),
        generics: Box::new([]),
        span: Span::default(),
    }
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
