//! The constant value of a call's argument when it is not written in the call: a `const` or `static`
//! (of any module or workspace member), a `let` bound once to a constant and never assigned or shadowed by
//! a pattern, `!`, `&&` and `||` of constants,
//! an `if` on a constant, `format!`/`concat!` of constant pieces, conversions that keep the value
//! (`.to_string()`, `String::from`), and a parameter for which every call passes the same constant (of
//! a function only the crate can call, with at most 16 calls; see `parameter`). Rules read it as `args.N.value`, so `danger_accept_invalid_certs(FLAG)`
//! and `client.get(format!("{BASE}/v1"))` are judged like their literal forms; where the constant is
//! written becomes the call's `constants` evidence.

use super::analysis::Analyzer;
use super::literals::Scope;
use super::program::FnId;
use crate::facts::{CallKind, Expr, Lit, Name};
use crate::source::Span;

/// Depth of the chain of bindings and constants followed from an argument.
const MAX_DEPTH: usize = 8;
/// Beyond this many callers a parameter is not followed: each would be folded.
const MAX_CALLERS: usize = 16;

/// Methods that take a value out of its `Result` or `Option`.
pub(super) const UNWRAPS: &[&str] = &["unwrap", "expect"];

/// Conversions through which a value stays the value.
pub(super) const KEEPS_VALUE: &[&str] =
    &["into", "to_string", "to_owned", "as_ref", "clone", "as_str"];

/// Constructors through which a value stays the value.
const KEEPS_VALUE_CALLS: &[&str] = &["String::from", "Cow::from", "Cow::Borrowed", "Box::from"];

#[derive(Debug, Clone, PartialEq)]
pub enum Const {
    Bool(bool),
    Int(i128),
    Str(String),
}

impl Const {
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            Const::Bool(b) => serde_json::Value::Bool(*b),
            Const::Int(i) => i64::try_from(*i).map_or(serde_json::Value::Null, Into::into),
            Const::Str(s) => serde_json::Value::String(s.clone()),
        }
    }

    pub fn text(&self) -> String {
        match self {
            Const::Bool(b) => b.to_string(),
            Const::Int(i) => i.to_string(),
            Const::Str(s) => s.clone(),
        }
    }
}

/// A folded value and the place the constant it came from is written, when that is outside the
/// expression itself (a `const` item, a `let`).
pub type Folded = (Const, Option<(u32, Span)>);

pub struct Constants<'x, 'p, 'a> {
    an: &'x Analyzer<'p, 'a>,
    scope: Scope<'a>,
    /// Whether a parameter is followed to its callers' arguments (only one step: each step multiplies
    /// the work by the number of callers).
    follow_parameters: bool,
}

impl<'x, 'p, 'a> Constants<'x, 'p, 'a> {
    pub fn new(an: &'x Analyzer<'p, 'a>, id: FnId) -> Self {
        Constants {
            an,
            scope: Scope::of(an, id),
            follow_parameters: true,
        }
    }

    /// The constant value of an expression of the function, if it has one.
    pub fn of(&self, e: &'a Expr) -> Option<Folded> {
        self.fold(&self.scope, e, 0)
    }

    /// The shape of a URL built at run time, its run-time pieces written `{}`:
    /// `format!("{BASE}/users/{id}")` is `http://host/users/{}`, `Url::parse(BASE)?.join(path)` is
    /// `http://host/{}`, `BASE.to_string() + "/v1/" + path` is `http://host/v1/{}`. Kept only when
    /// its constant start holds a whole scheme and host (`format!("http://{host}/x")` says nothing
    /// about the host).
    pub fn template(&self, e: &'a Expr) -> Option<Folded> {
        let (v, at) = self.shape(&self.scope, e, 0)?;
        let Const::Str(s) = &v else { return None };
        let start = s.split("{}").next().unwrap_or("");
        let (_, rest) = start.split_once("://")?;
        (s.contains("{}") && rest.contains(['/', '?', '#', ':'])).then_some((v, at))
    }

    fn shape(&self, scope: &Scope<'a>, e: &'a Expr, depth: usize) -> Option<Folded> {
        if depth > MAX_DEPTH {
            return None;
        }
        if let Some(whole) = self.fold(scope, e, depth) {
            return Some(whole);
        }
        let next = |x: &'a Expr| self.shape(scope, x, depth + 1);
        match e {
            Expr::Path { segs, .. } => match &segs[..] {
                [name] => {
                    let init = (*scope.lets.get(name.as_str())?)?;
                    let (v, at) = next(init)?;
                    Some((v, at.or(Some((scope.ctx.unit, init.span())))))
                }
                _ => None,
            },
            Expr::Macro(m) if m.path.last().is_some_and(|n| *n == "format") => {
                self.format_pieces(scope, &m.args, depth, true)
            }
            Expr::Method(m) if m.name == "join" => {
                // An absolute URL joined replaces the base; a relative path keeps its scheme and host.
                if let Some((Const::Str(url), at)) =
                    m.args.first().and_then(|a| self.fold(scope, a, depth + 1))
                {
                    if url.contains("://") {
                        return Some((Const::Str(url), at));
                    }
                }
                let (v, at) = next(&m.recv)?;
                let Const::Str(base) = v else { return None };
                let (scheme, rest) = base.split_once("://")?;
                let host = rest.split(['/', '?', '#']).next().unwrap_or(rest);
                Some((Const::Str(format!("{scheme}://{host}/{{}}")), at))
            }
            Expr::Method(m)
                if KEEPS_VALUE.contains(&m.name.as_str()) || UNWRAPS.contains(&m.name.as_str()) =>
            {
                next(&m.recv)
            }
            Expr::Call { func, args, .. } => match (func.as_ref(), args.as_slice()) {
                (Expr::Path { segs, .. }, [only])
                    if segs.ends_with(&[Name::new("Url"), Name::new("parse")]) =>
                {
                    next(only)
                }
                _ => None,
            },
            Expr::Try { inner, .. } | Expr::Keyword { value: inner, .. } => next(inner),
            Expr::Unary { op, expr, .. } if *op == "&" => next(expr),
            Expr::Binary { op, lhs, rhs, .. } if *op == "+" => {
                let (l, at) = next(lhs)?;
                let r = next(rhs).map_or_else(|| "{}".to_string(), |(r, _)| r.text());
                Some((Const::Str(format!("{}{r}", l.text())), at))
            }
            _ => None,
        }
    }

    fn fold(&self, scope: &Scope<'a>, e: &'a Expr, depth: usize) -> Option<Folded> {
        if depth > MAX_DEPTH {
            return None;
        }
        let next = |x: &'a Expr| self.fold(scope, x, depth + 1);
        match e {
            Expr::Lit { lit, .. } => Some((lit_value(lit)?, None)),
            Expr::Path { segs, .. } => self.named(scope, segs, depth),
            // Python's `config.SECRET_KEY`: a constant of an imported module.
            Expr::Field { base, name, .. } => match &**base {
                Expr::Path { segs, .. }
                    if segs.len() == 1
                        && self.an.prog.unit(scope.ctx.unit).language == "python" =>
                {
                    let path = [segs[0], *name];
                    let (cu, c) = self.an.prog.resolve_const(&scope.ctx, &path)?;
                    let (v, at) =
                        self.fold(&Scope::of_const(cu, &c.module), &c.value, depth + 1)?;
                    Some((v, at.or(Some((cu, c.value.span())))))
                }
                _ => None,
            },
            Expr::Unary { op, expr, .. } => {
                let (v, at) = next(expr)?;
                match (op.as_str(), v) {
                    ("!", Const::Bool(b)) => Some((Const::Bool(!b), at)),
                    ("-", Const::Int(i)) => Some((Const::Int(-i), at)),
                    _ => None,
                }
            }
            Expr::Binary { op, lhs, rhs, .. } if op == "&&" || op == "||" => {
                let (l, at) = next(lhs)?;
                let Const::Bool(l) = l else { return None };
                // `false && x` and `true || x` do not depend on `x`.
                if (op == "&&") != l {
                    return Some((Const::Bool(l), at));
                }
                match next(rhs)? {
                    (Const::Bool(r), at_r) => Some((Const::Bool(r), at.or(at_r))),
                    _ => None,
                }
            }
            Expr::If {
                cond, then, els, ..
            } => match next(cond)?.0 {
                Const::Bool(true) => next(then.tail()?),
                Const::Bool(false) => next(els.as_deref()?),
                _ => None,
            },
            Expr::Block { block, .. } => next(block.tail()?),
            // Python's keyword arguments (`base_url=BASE`) and string concatenation (`BASE + "/v1"`).
            Expr::Keyword { value, .. } => next(value),
            Expr::Binary { op, lhs, rhs, .. } if op == "+" || op == "*" => {
                let ((l, at), (r, at_r)) = (next(lhs)?, next(rhs)?);
                let v = match (op.as_str(), l, r) {
                    ("+", Const::Str(l), Const::Str(r)) => Const::Str(l + &r),
                    ("+", Const::Int(l), Const::Int(r)) => Const::Int(l.checked_add(r)?),
                    ("*", Const::Int(l), Const::Int(r)) => Const::Int(l.checked_mul(r)?),
                    _ => return None,
                };
                Some((v, at.or(at_r)))
            }
            Expr::Method(m) if KEEPS_VALUE.contains(&m.name.as_str()) && m.args.is_empty() => {
                next(&m.recv)
            }
            Expr::Call { func, args, .. } => {
                let Expr::Path { segs, .. } = func.as_ref() else {
                    return None;
                };
                let short = segs[segs.len().saturating_sub(2)..].join("::");
                match args.as_slice() {
                    [only] if KEEPS_VALUE_CALLS.contains(&short.as_str()) => next(only),
                    _ => None,
                }
            }
            Expr::Macro(m) => {
                let name = m.path.last()?.as_str();
                match name {
                    "concat" => {
                        let mut out = String::new();
                        let mut at = None;
                        for a in &m.args {
                            let (v, a_at) = next(a)?;
                            out.push_str(&v.text());
                            at = at.or(a_at);
                        }
                        Some((Const::Str(out), at))
                    }
                    "format" => self.format_pieces(scope, &m.args, depth, false),
                    _ => None,
                }
            }
            _ => None,
        }
    }

    /// A binding of the function, or a constant of the crate, by name.
    fn named(
        &self,
        scope: &Scope<'a>,
        segs: &'a [crate::facts::Name],
        depth: usize,
    ) -> Option<Folded> {
        if let [name] = segs {
            if let Some(init) = scope.lets.get(name.as_str()) {
                let init = (*init)?;
                let (v, at) = self.fold(scope, init, depth + 1)?;
                return Some((v, at.or(Some((scope.ctx.unit, init.span())))));
            }
        }
        if let ([name], Some(id), true) = (segs, scope.fn_id, self.follow_parameters) {
            if let Some(folded) = self.parameter(id, name, depth) {
                return Some(folded);
            }
        }
        let (cu, c) = self.an.prog.resolve_const(&scope.ctx, segs)?;
        let (v, at) = self.fold(&Scope::of_const(cu, &c.module), &c.value, depth + 1)?;
        Some((v, at.or(Some((cu, c.value.span())))))
    }

    /// A parameter of a function only the crate can call (not `pub`, not a trait's, never used as a
    /// value), never bound again in it, for which every call passes the same constant
    /// (`fn client(insecure: bool)` called only as `client(true)`): that constant, shown where the first
    /// call passes it. A function with a `match` is left alone: the facts do not keep arm patterns,
    /// which may bind the name.
    fn parameter(&self, id: FnId, name: &str, depth: usize) -> Option<Folded> {
        let f = self.an.prog.func(id);
        if f.public || f.is_closure {
            return None;
        }
        let index = f
            .params
            .iter()
            .position(|p| matches!(p.pat.bindings.as_slice(), [b] if *b == name))?;
        let has_self = f.params.first().is_some_and(|p| p.pat.text == "self");
        let mut rebound = false;
        f.body.walk(&mut |e| {
            rebound |= match e {
                Expr::Assign { target, .. } => target.as_ident() == Some(name),
                Expr::LetCond { pat, .. } => pat.bindings.iter().any(|b| *b == name),
                Expr::Loop { pat, .. } => pat.iter().any(|p| p.bindings.iter().any(|b| *b == name)),
                Expr::Match { .. } => true,
                _ => false,
            };
        });
        let callers = self.an.callers(id)?;
        if rebound || callers.is_empty() || callers.len() > MAX_CALLERS {
            return None;
        }
        let mut out: Option<Folded> = None;
        for &(caller, span, kind) in callers {
            // A method call's receiver is its `self`; its arguments start at the next parameter.
            let arg = match kind {
                CallKind::Method if has_self => index.checked_sub(1)?,
                CallKind::Call if !has_self => index,
                _ => return None,
            };
            let args = super::literals::call_args(&self.an.prog.func(caller).body, span)?;
            let passed = Constants {
                follow_parameters: false,
                ..Constants::new(self.an, caller)
            };
            let (v, at) = passed.fold(&passed.scope, args.get(arg)?, depth + 1)?;
            let at = at.or(Some((caller.unit, args[arg].span())));
            match &out {
                None => out = Some((v, at)),
                Some((first, _)) if *first == v => {}
                Some(_) => return None,
            }
        }
        out
    }

    /// `format!("{}/v1", BASE)`, `format!("{BASE}/v1")`: every piece constant, no format specs; or,
    /// for a `shape`, with `{}` for each piece that is not.
    fn format_pieces(
        &self,
        scope: &Scope<'a>,
        args: &'a [Expr],
        depth: usize,
        shape: bool,
    ) -> Option<Folded> {
        let (template, rest) = args.split_first()?;
        let template = template.as_str_lit()?;
        let mut out = String::new();
        let mut at = None;
        let mut positional = rest.iter().filter(|a| !matches!(a, Expr::Assign { .. }));
        let mut chars = template.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '{' if chars.peek() == Some(&'{') => {
                    chars.next();
                    out.push('{');
                }
                '}' if chars.peek() == Some(&'}') => {
                    chars.next();
                    out.push('}');
                }
                '{' => {
                    let mut inner = String::new();
                    for c in chars.by_ref() {
                        if c == '}' {
                            break;
                        }
                        inner.push(c);
                    }
                    // `{:?}` and `{:>8}` take a positional argument too; their text is not folded.
                    let piece = if let Some((name, _)) = inner.split_once(':') {
                        if name.is_empty() {
                            positional.next();
                        }
                        None
                    } else if inner.is_empty() {
                        positional
                            .next()
                            .and_then(|a| self.fold(scope, a, depth + 1))
                    } else if let Ok(i) = inner.parse::<usize>() {
                        rest.get(i).and_then(|a| self.fold(scope, a, depth + 1))
                    } else {
                        self.placeholder(scope, rest, &inner, depth)
                    };
                    let Some((v, a_at)) = piece else {
                        if !shape {
                            return None;
                        }
                        out.push_str("{}");
                        continue;
                    };
                    out.push_str(&v.text());
                    at = at.or(a_at);
                }
                c => out.push(c),
            }
        }
        Some((Const::Str(out), at))
    }

    /// `{name}`: a `name = value` argument of the macro, else a binding or constant in scope.
    fn placeholder(
        &self,
        scope: &Scope<'a>,
        args: &'a [Expr],
        name: &str,
        depth: usize,
    ) -> Option<Folded> {
        let named = args.iter().find_map(|a| match a {
            Expr::Assign { target, value, .. } if target.as_ident() == Some(name) => Some(value),
            _ => None,
        });
        match named {
            Some(v) => self.fold(scope, v, depth + 1),
            None => {
                let lets_name = scope.lets.keys().find(|k| **k == name).copied();
                match lets_name {
                    Some(k) => {
                        let init = (*scope.lets.get(k)?)?;
                        let (v, at) = self.fold(scope, init, depth + 1)?;
                        Some((v, at.or(Some((scope.ctx.unit, init.span())))))
                    }
                    None => {
                        let (cu, c) = self
                            .an
                            .prog
                            .resolve_const(&scope.ctx, &[crate::facts::Name::new(name)])?;
                        let (v, at) =
                            self.fold(&Scope::of_const(cu, &c.module), &c.value, depth + 1)?;
                        Some((v, at.or(Some((cu, c.value.span())))))
                    }
                }
            }
        }
    }
}

fn lit_value(lit: &Lit) -> Option<Const> {
    match lit {
        Lit::Str(s) => Some(Const::Str(s.clone())),
        Lit::Int(i) => Some(Const::Int(i128::from(*i))),
        Lit::Bool(b) => Some(Const::Bool(*b)),
        Lit::Char(c) => Some(Const::Str(c.to_string())),
        Lit::Float(_) | Lit::Bytes(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::program::Program;

    /// The value of the argument of `sink(..)` in `f`, folded.
    fn folded(src: &str) -> Option<Const> {
        let (units, crates) = crate::model::program::one_file(src);
        let prog = Program::new(&crates, &units);
        let policy = crate::engine::load_policy(&[]).unwrap();
        let an = Analyzer::new(&prog, &policy.catalog);
        let id = prog
            .all_fns()
            .find(|id| prog.func(*id).name == "f")
            .unwrap();
        let mut arg = None;
        prog.func(id).body.walk(&mut |e| {
            if let Expr::Call { func, args, .. } = e {
                if func.as_ident() == Some("sink") {
                    arg = args.first();
                }
            }
        });
        Constants::new(&an, id).of(arg?).map(|(v, _)| v)
    }

    #[test]
    fn folds_constants_bindings_and_operators() {
        let s = |x: &str| Some(Const::Str(x.into()));
        let b = |x: bool| Some(Const::Bool(x));
        assert_eq!(folded("const A: bool = true; fn f() { sink(A) }"), b(true));
        assert_eq!(
            folded("const A: bool = true; fn f() { sink(!A) }"),
            b(false)
        );
        assert_eq!(
            folded("static A: bool = false; fn f() { sink(A || true) }"),
            b(true)
        );
        assert_eq!(folded("fn f(x: bool) { sink(false && x) }"), b(false));
        assert_eq!(folded("fn f(x: bool) { sink(true && x) }"), None);
        assert_eq!(folded("fn f() { let on = true; sink(on) }"), b(true));
        assert_eq!(
            folded("fn f() { let on = true; let on = false; sink(on) }"),
            None
        );
        assert_eq!(
            folded("const D: bool = true; fn f() { sink(if D { 1 } else { 2 }) }"),
            Some(Const::Int(1))
        );
        assert_eq!(
            folded(
                r#"const B: &str = "http://api.example.net"; fn f() { sink(format!("{}/v1", B)) }"#
            ),
            s("http://api.example.net/v1")
        );
        assert_eq!(
            folded(
                r#"const B: &str = "http://h.io"; fn f() { sink(format!("{B}/{p}", p = "x")) }"#
            ),
            s("http://h.io/x")
        );
        assert_eq!(
            folded(r#"fn f() { sink(concat!("http://", "h.io")) }"#),
            s("http://h.io")
        );
        assert_eq!(
            folded(r#"const B: &str = "h"; fn f(x: u8) { sink(format!("{B}{x}")) }"#),
            None
        );
        assert_eq!(
            folded(r#"const B: &str = "h"; fn f() { sink(format!("{:>9}", B)) }"#),
            None
        );
        assert_eq!(
            folded(r#"const B: &str = "h"; fn f() { sink(B.to_string()) }"#),
            s("h")
        );
        assert_eq!(folded("fn f(cfg: C) { sink(cfg.insecure) }"), None);
    }
}
