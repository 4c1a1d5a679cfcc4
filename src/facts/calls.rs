//! The call sites of a function body, with whether each call's outcome is checked (`?`, an `if`/`match`
//! condition, `let … else`): an unchecked verification call enforces nothing.

use super::{Block, Expr, Lit, MacroCall, MethodCall, Name, Stmt};
use crate::source::{Span, Spanner};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CallKind {
    Call,
    Method,
    Macro,
    /// `x.field = value`: `name` is the field, the value is the one argument.
    Assign,
    /// `Type { field: value, .. }`: `path` is the type, `name` the field, the value the one argument.
    Field,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ArgFact {
    /// Shared with the call entity's argument.
    pub text: std::sync::Arc<str>,
    pub lit: Option<Lit>,
    /// The parameter a keyword argument names (Python's `verify=False`); the text and literal are
    /// its value's.
    pub keyword: Option<Name>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CallSite {
    pub kind: CallKind,
    /// The last path segment, the method name or the macro name.
    pub name: Name,
    /// The callee path as written (calls and macros).
    pub path: Vec<Name>,
    /// Turbofish types, normalized.
    pub generics: Vec<Name>,
    pub args: Vec<ArgFact>,
    /// The receiver's source text (method calls), shared with the call entity.
    pub recv: Option<std::sync::Arc<str>>,
    pub checked: bool,
    pub span: Span,
}

/// Methods through which a check of the receiver's outcome still holds: `verify(t).map_err(..)?`.
const CHECK_THROUGH: &[&str] = &[
    "map_err",
    "ok_or",
    "ok_or_else",
    "context",
    "with_context",
    "or_else",
    "and_then",
    "map",
    "unwrap",
    "expect",
    "is_ok",
    "is_err",
    "is_some",
    "is_none",
    "ok",
    "into_inner",
];

/// A method call is located from its name to its end (`.secure(false)`), not from the start of the chain.
pub fn method_span(name: Span, whole: Span) -> Span {
    Span {
        line: name.line,
        col: name.col,
        start: name.start,
        ..whole
    }
}

pub fn collect_calls(body: &Block, sp: &Spanner) -> Vec<CallSite> {
    let mut out = Out::default();
    block(body, sp, &mut out);
    super::exact(out.sites)
}

/// The calls found so far, and the plain names whose value the current statement checks.
#[derive(Default)]
struct Out {
    sites: Vec<CallSite>,
    checked_names: Vec<Name>,
}

impl Out {
    fn push(&mut self, c: CallSite) {
        self.sites.push(c);
    }
}

/// A `let x = <calls>;` whose outcome is still unchecked: the statement's calls are `sites[from..to]`.
struct Pending<'e> {
    name: &'e str,
    init: &'e Expr,
    from: usize,
    to: usize,
}

fn block(b: &Block, sp: &Spanner, out: &mut Out) {
    let mut pending: Vec<Pending> = vec![];
    for s in &b.stmts {
        // Names checked by this statement, nested blocks included (an enclosing block sees them too).
        let mark = out.checked_names.len();
        match s {
            Stmt::Let(l) => {
                let super::Let { init, els, pat, .. } = &**l;
                if let Some(e) = init {
                    let from = out.sites.len();
                    visit(e, els.is_some(), sp, out);
                    if let ([name], None) = (pat.bindings.as_slice(), els) {
                        pending.retain(|p| p.name != name);
                        pending.push(Pending {
                            name,
                            init: e,
                            from,
                            to: out.sites.len(),
                        });
                    }
                }
                if let Some(b) = els {
                    block(b, sp, out);
                }
            }
            Stmt::Expr { expr, .. } => visit(expr, false, sp, out),
        }
        check_later(&mut pending, mark, sp, out);
    }
}

/// `let token = headers.get(AUTHORIZATION); let Some(t) = token else { return Err(..) };`: the check of
/// the binding is a check of the calls that produced it.
fn check_later(pending: &mut Vec<Pending>, mark: usize, sp: &Spanner, out: &mut Out) {
    if out.checked_names.len() == mark {
        return;
    }
    let names = &out.checked_names[mark..];
    let mut hit = vec![];
    pending.retain(|p| {
        let checked = names.iter().any(|n| n == p.name);
        if checked {
            hit.push((p.init, p.from, p.to));
        }
        !checked
    });
    for (init, from, to) in hit {
        let mut again = Out::default();
        visit(init, true, sp, &mut again);
        for (site, checked) in out.sites[from..to].iter_mut().zip(&again.sites) {
            site.checked |= checked.checked;
        }
    }
}

fn arg(e: &Expr, sp: &Spanner) -> ArgFact {
    let (keyword, e) = match e {
        Expr::Keyword { name, value, .. } => (Some(*name), &**value),
        _ => (None, e),
    };
    ArgFact {
        text: sp.text_of(e.span(), 240).into(),
        lit: match e {
            Expr::Lit { lit, .. } => Some(lit.clone()),
            _ => None,
        },
        keyword,
    }
}

fn visit(e: &Expr, checked: bool, sp: &Spanner, out: &mut Out) {
    match e {
        Expr::Call { func, args, span } => {
            if let Expr::Path { segs, generics, .. } = func.as_ref() {
                out.push(CallSite {
                    kind: super::CallKind::Call,
                    name: segs.last().cloned().unwrap_or_default(),
                    path: segs.to_vec(),
                    generics: generics.iter().map(|g| g.normalized().into()).collect(),
                    args: args.iter().map(|a| arg(a, sp)).collect(),
                    recv: None,
                    checked,
                    span: *span,
                });
            } else {
                visit(func, false, sp, out);
            }
            args.iter().for_each(|a| visit(a, false, sp, out));
        }
        Expr::Method(m) => {
            let MethodCall {
                recv,
                name,
                turbofish,
                args,
                span,
                name_span,
            } = &**m;
            out.push(CallSite {
                kind: CallKind::Method,
                name: *name,
                path: vec![],
                generics: turbofish.iter().map(|g| g.normalized().into()).collect(),
                args: args.iter().map(|a| arg(a, sp)).collect(),
                recv: Some(sp.text_of(recv.span(), 240).into()),
                checked,
                span: method_span(*name_span, *span),
            });
            visit(
                recv,
                checked && CHECK_THROUGH.contains(&name.as_str()),
                sp,
                out,
            );
            args.iter().for_each(|a| visit(a, false, sp, out));
        }
        Expr::Macro(m) => {
            let MacroCall {
                path,
                args,
                tokens,
                span,
            } = &**m;
            // `info!(user = %id, token = ?t, "login")` is not a list of expressions: keep the text of
            // each field, so a message that mentions a password is not taken for the password.
            let facts = if args.is_empty() && !tokens.is_empty() {
                macro_fields(tokens)
                    .into_iter()
                    .map(|f| ArgFact {
                        lit: (f.len() >= 2 && f.starts_with('"') && f.ends_with('"'))
                            .then(|| Lit::Str(f[1..f.len() - 1].to_string())),
                        text: f.into(),
                        keyword: None,
                    })
                    .collect()
            } else {
                args.iter().map(|a| arg(a, sp)).collect()
            };
            out.push(CallSite {
                kind: CallKind::Macro,
                name: path.last().cloned().unwrap_or_default(),
                path: path.clone(),
                generics: vec![],
                args: facts,
                recv: None,
                checked,
                span: *span,
            });
            args.iter().for_each(|a| visit(a, false, sp, out));
        }
        Expr::Try { inner, .. } => visit(inner, true, sp, out),
        Expr::Keyword { value, .. } => visit(value, checked, sp, out),
        Expr::If {
            cond, then, els, ..
        } => {
            visit(cond, true, sp, out);
            block(then, sp, out);
            if let Some(e) = els {
                visit(e, false, sp, out);
            }
        }
        Expr::Match {
            scrutinee, arms, ..
        } => {
            visit(scrutinee, true, sp, out);
            arms.iter().for_each(|a| visit(a, false, sp, out));
        }
        Expr::LetCond { expr, .. } => visit(expr, true, sp, out),
        Expr::Unary { expr, .. } => visit(expr, checked, sp, out),
        Expr::Binary { lhs, rhs, .. } => {
            visit(lhs, checked, sp, out);
            visit(rhs, checked, sp, out);
        }
        Expr::Block { block: b, .. } => block(b, sp, out),
        Expr::Loop { head, body, .. } => {
            if let Some(h) = head {
                visit(h, false, sp, out);
            }
            block(body, sp, out);
        }
        Expr::Field { base, .. } => visit(base, checked, sp, out),
        Expr::Index { base, index, .. } => {
            visit(base, false, sp, out);
            visit(index, false, sp, out);
        }
        Expr::Tuple { items, .. } | Expr::Array { items, .. } => {
            items.iter().for_each(|a| visit(a, false, sp, out))
        }
        // Settings written as fields are as much configuration as builder calls (`validate_exp = false`).
        Expr::Struct { path, fields, span } => {
            for (name, value) in fields {
                out.push(CallSite {
                    kind: CallKind::Field,
                    name: *name,
                    path: path.to_vec(),
                    generics: vec![],
                    args: vec![arg(value, sp)],
                    recv: None,
                    checked: false,
                    span: Span { ..value.span() },
                });
                let _ = span;
                visit(value, false, sp, out);
            }
        }
        Expr::Assign {
            target,
            value,
            span,
        } => {
            if let Expr::Field { base, name, .. } = target.as_ref() {
                out.push(CallSite {
                    kind: CallKind::Assign,
                    name: *name,
                    path: vec![],
                    generics: vec![],
                    args: vec![arg(value, sp)],
                    recv: Some(sp.text_of(base.span(), 240).into()),
                    checked: false,
                    span: *span,
                });
            }
            visit(target, false, sp, out);
            visit(value, false, sp, out);
        }
        Expr::Return { value: Some(v), .. } => visit(v, false, sp, out),
        Expr::Path { segs, .. } => {
            if let (true, [name]) = (checked, &segs[..]) {
                out.checked_names.push(*name);
            }
        }
        Expr::Lit { .. }
        | Expr::Closure { .. }
        | Expr::Return { value: None, .. }
        | Expr::Unknown { .. } => {}
    }
}

/// The comma-separated fields of a macro's tokens that are not a list of expressions (`tracing`'s
/// `name = %value` fields), split at top-level commas outside strings and brackets.
fn macro_fields(tokens: &str) -> Vec<&str> {
    let (mut out, mut depth, mut start, mut in_str, mut escaped) = (vec![], 0i32, 0, false, false);
    for (i, c) in tokens.char_indices() {
        if in_str {
            match c {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                '"' => in_str = false,
                _ => {}
            }
            continue;
        }
        match c {
            '"' => in_str = true,
            '(' | '[' | '{' => depth += 1,
            ')' | ']' | '}' => depth -= 1,
            ',' if depth == 0 => {
                out.push(tokens[start..i].trim());
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(tokens[start..].trim());
    out.retain(|f| !f.is_empty());
    out
}

#[cfg(test)]
mod macro_field_tests {
    use super::macro_fields;

    #[test]
    fn tracing_fields_are_split_outside_strings_and_brackets() {
        assert_eq!(
            macro_fields(r#"err = ?e, user = %f(a, b), "bad password, try \"again\"""#),
            vec![
                "err = ?e",
                "user = %f(a, b)",
                r#""bad password, try \"again\"""#
            ]
        );
    }
}
