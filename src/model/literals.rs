//! The literals a call's arguments are, wherever they were written: in the call, in a `let` of the
//! function, a `const` or `static` (of any module or workspace member), through conversions that keep
//! the value (`.as_bytes()`, `.into()`, `String::from`, `"…".repeat(n)`), as the fallback of an
//! environment read (`env::var("K").unwrap_or("…")`, `unwrap_or_else(|_| "…".into())`) or as a clap
//! argument's `default_value`. Computed for the catalog's `secret-sink` calls only (key constructors,
//! session keys, literal credentials of auth layers): what reaches them is key material.

use super::analysis::Analyzer;
use super::program::{Ctx, FnId};
use super::ArgLiteral;
use crate::facts::{Block, Expr, FnDef, Lit, Stmt};
use crate::source::Span;
use std::collections::HashMap;

/// Conversions through which a literal stays the literal.
const KEEPS_VALUE: &[&str] = &[
    "as_bytes",
    "into",
    "to_string",
    "to_owned",
    "as_ref",
    "to_vec",
    "clone",
    "as_str",
    "into_bytes",
    "as_slice",
    "repeat",
    "expose_secret",
];

/// Constructors through which a literal stays the literal (`String::from("…")`, `Secret::new(…)`).
const KEEPS_VALUE_CALLS: &[&str] = &[
    "String::from",
    "Vec::from",
    "Cow::from",
    "Cow::Borrowed",
    "SecretString::from",
    "SecretString::new",
    "Secret::new",
    "SecretBox::new",
    "Box::from",
];

/// Depth of the chain of bindings, constants and conversions followed from an argument.
const MAX_DEPTH: usize = 8;

pub struct Literals<'x, 'p, 'a> {
    an: &'x Analyzer<'p, 'a>,
    /// The function making the call.
    id: FnId,
    scope: Scope<'a>,
}

/// A function whose bindings an expression may name.
pub(super) struct Scope<'a> {
    pub ctx: Ctx,
    /// The function whose bindings these are (`None` for a constant's initializer).
    pub fn_id: Option<FnId>,
    /// The function's `let` bindings by name; `None` when a name is bound more than once.
    pub lets: HashMap<&'a str, Option<&'a Expr>>,
}

impl<'a> Scope<'a> {
    pub fn of(an: &Analyzer<'_, 'a>, id: FnId) -> Scope<'a> {
        let f: &'a FnDef = an.prog.func(id);
        let mut lets = HashMap::new();
        direct_lets(&f.body, &mut lets);
        // Names also bound another way, or assigned later, have no one value.
        let mut rebound: Vec<&'a str> = f
            .params
            .iter()
            .flat_map(|p| p.pat.bindings.iter().map(|s| s.as_str()))
            .collect();
        f.body.walk(&mut |e| match e {
            Expr::Block { block, .. } => direct_lets(block, &mut lets),
            Expr::If { then, .. } => direct_lets(then, &mut lets),
            Expr::Loop { body, pat, .. } => {
                direct_lets(body, &mut lets);
                rebound.extend(
                    pat.iter()
                        .flat_map(|p| p.bindings.iter().map(|s| s.as_str())),
                );
            }
            Expr::LetCond { pat, .. } => rebound.extend(pat.bindings.iter().map(|s| s.as_str())),
            Expr::Assign { target, .. } => rebound.extend(target.as_ident()),
            _ => {}
        });
        for name in rebound {
            if let Some(v) = lets.get_mut(name) {
                *v = None;
            }
        }
        Scope {
            ctx: an.prog.ctx_of(id),
            fn_id: Some(id),
            lets,
        }
    }

    /// A constant's initializer is read where the constant is declared.
    pub fn of_const(unit: u32, module: &[crate::facts::Name]) -> Scope<'a> {
        Scope {
            ctx: Ctx {
                unit,
                module: module.to_vec(),
                self_ty: None,
            },
            fn_id: None,
            lets: HashMap::new(),
        }
    }
}

impl<'x, 'p, 'a> Literals<'x, 'p, 'a> {
    pub fn new(an: &'x Analyzer<'p, 'a>, id: FnId) -> Self {
        Literals {
            an,
            id,
            scope: Scope::of(an, id),
        }
    }

    /// The literal origin of each argument of the call at `span` that has one, last argument first
    /// (the key of `basic(user, password)`, the value of `exact(header, value)`).
    pub fn of_call(&self, span: Span) -> Vec<ArgLiteral> {
        let Some(args) = call_args(&self.an.prog.func(self.id).body, span) else {
            return vec![];
        };
        let mut out: Vec<ArgLiteral> = args
            .iter()
            .enumerate()
            .filter_map(|(i, a)| {
                let (value, unit, span) = self.resolve(&self.scope, a, 0)?;
                Some(ArgLiteral {
                    arg: i,
                    value,
                    loc: self.an.loc(unit, span),
                })
            })
            .collect();
        out.reverse();
        out
    }

    /// The literal an expression of `scope` is, with where it is written.
    fn resolve(&self, scope: &Scope<'a>, e: &'a Expr, depth: usize) -> Option<(String, u32, Span)> {
        if depth > MAX_DEPTH {
            return None;
        }
        let unit = scope.ctx.unit;
        let next = |x: &'a Expr| self.resolve(scope, x, depth + 1);
        match e {
            Expr::Lit {
                lit: Lit::Str(s), ..
            } => Some((s.clone(), unit, e.span())),
            Expr::Lit {
                lit: Lit::Bytes(b), ..
            } => Some((String::from_utf8_lossy(b).into_owned(), unit, e.span())),
            // `[0; 64]`, `[7u8, 1, ..]`: a fixed key.
            Expr::Array { items, span } if !items.is_empty() => items
                .iter()
                .all(|i| matches!(i, Expr::Lit { .. }))
                .then(|| (self.an.text(unit, *span).to_string(), unit, *span)),
            Expr::Unary { expr, .. } => next(expr),
            Expr::Path { segs, .. } => {
                if let [name] = &segs[..] {
                    if let Some(init) = scope.lets.get(name.as_str()) {
                        return next((*init)?);
                    }
                }
                let (cu, c) = self.an.prog.resolve_const(&scope.ctx, segs)?;
                self.resolve(&Scope::of_const(cu, &c.module), &c.value, depth + 1)
            }
            Expr::Method(m) => match m.name.as_str() {
                n if KEEPS_VALUE.contains(&n) => next(&m.recv),
                "unwrap_or" if reads_env(&m.recv) => next(m.args.first()?),
                "unwrap_or_else" if reads_env(&m.recv) => {
                    let Expr::Closure { fn_index, .. } = m.args.first()? else {
                        return None;
                    };
                    let closure = FnId {
                        unit,
                        idx: *fn_index,
                    };
                    self.returned(closure, depth)
                }
                _ => None,
            },
            Expr::Call { func, args, .. } => {
                let Expr::Path { segs, .. } = func.as_ref() else {
                    return None;
                };
                let short = segs[segs.len().saturating_sub(2)..].join("::");
                if KEEPS_VALUE_CALLS.contains(&short.as_str()) {
                    return next(args.first()?);
                }
                // A function of the crate without arguments that returns one (`config::jwt_secret()`).
                let callee = self
                    .an
                    .prog
                    .resolve_fn(&scope.ctx, segs)
                    .filter(|_| args.is_empty())?;
                self.returned(callee, depth)
            }
            Expr::Field { name, .. } => self.clap_default(name),
            Expr::Block { block, .. } => next(block.tail()?),
            _ => None,
        }
    }

    /// The literal a function (or closure) returns as its value.
    fn returned(&self, id: FnId, depth: usize) -> Option<(String, u32, Span)> {
        let scope = Scope::of(self.an, id);
        let tail = self.an.prog.func(id).body.tail()?;
        self.resolve(&scope, tail, depth + 1)
    }

    /// `#[arg(long, default_value = "…")] jwt_secret: String` on a clap argument struct of the crate.
    fn clap_default(&self, field: &str) -> Option<(String, u32, Span)> {
        let prog = self.an.prog;
        prog.units.iter().enumerate().find_map(|(u, unit)| {
            unit.facts
                .types
                .iter()
                .filter(|t| {
                    t.derives.iter().any(|d| {
                        matches!(
                            d.rsplit("::").next().unwrap_or(d),
                            "Parser" | "Args" | "StructOpt"
                        )
                    })
                })
                .flat_map(|t| t.fields.iter())
                .filter(|f| f.name == field)
                .flat_map(|f| f.attrs.iter())
                .find_map(|a| {
                    let at = a.tokens.find("default_value")?;
                    let rest = &a.tokens[at..];
                    let rest = rest.strip_prefix("default_value")?.trim_start();
                    let rest = rest.strip_prefix('=')?.trim_start();
                    let value = super::analysis::first_string_literal(rest)
                        .filter(|_| rest.starts_with('"'))?;
                    Some((value, u as u32, a.span))
                })
        })
    }
}

/// The `let` bindings of a block's own statements (nested blocks are visited by the caller).
fn direct_lets<'a>(b: &'a Block, out: &mut HashMap<&'a str, Option<&'a Expr>>) {
    for s in &b.stmts {
        let Stmt::Let(l) = s else { continue };
        if let ([name], Some(init)) = (l.pat.bindings.as_slice(), &l.init) {
            out.entry(name.as_str())
                .and_modify(|v| *v = None)
                .or_insert(Some(init));
        }
    }
}

/// `env::var("K")`, `std::env::var("K").ok()`, `dotenvy::var("K")`: a value read from the environment.
fn reads_env(e: &Expr) -> bool {
    match e {
        Expr::Method(m) if matches!(m.name.as_str(), "ok" | "map_err") => reads_env(&m.recv),
        Expr::Call { func, .. } => matches!(func.as_ref(), Expr::Path { segs, .. }
            if matches!(segs.last().map(|s| s.as_str()), Some("var" | "var_os"))
                && segs.iter().any(|s| s == "env" || s.starts_with("dotenv"))),
        _ => false,
    }
}

/// The argument expressions of the call written at `span` (a method call's span starts at its name).
pub(super) fn call_args(body: &Block, span: Span) -> Option<&Vec<Expr>> {
    let mut found = None;
    body.walk(&mut |e| {
        if found.is_some() {
            return;
        }
        match e {
            Expr::Call { args, span: s, .. } if s.start == span.start && s.end == span.end => {
                found = Some(args)
            }
            Expr::Method(m) if m.name_span.start == span.start => found = Some(&m.args),
            _ => {}
        }
    });
    found
}
