//! Cookies where they are sent: a function's statements in order, following each cookie from where it is
//! created (`Cookie::new`, `build`, `named`, `from`, `parse` of literal text, a helper of the crate that
//! returns one) through what sets its `Secure` attribute (`.secure(true)`, `set_secure(true)`,
//! `partitioned(true)`) to where it reaches a jar or a response (`jar.add(c)`, `add_original`, a response
//! builder's `.cookie(c)`, `add_cookie`, a `Set-Cookie` header of `c.to_string()`). A `set_secure(true)` after
//! the add does not help, and one made in a single branch of an `if` or `match` does not count after it.

use super::analysis::Analyzer;
use super::program::{Ctx, FnId};
use crate::facts::{Block, Expr, Lit, Stmt};
use crate::source::Span;
use std::collections::HashMap;

/// Calls that hand a cookie to a jar or a response, the cookie first.
pub const SENDS: &[&str] = &["add", "add_original", "cookie", "add_cookie", "set_cookie"];

/// Calls that write a header, its name first and its value second.
pub const HEADER_WRITES: &[&str] = &[
    "insert_header",
    "append_header",
    "header",
    "insert",
    "append",
];

/// Helpers of the crate followed to the cookie they return.
const MAX_DEPTH: usize = 2;

#[derive(Debug, Clone)]
pub struct Cookie {
    /// The cookie's name as written (`"session"`, or the expression that names it).
    pub name: String,
    pub secure: bool,
    /// An expired or emptied cookie, sent to delete one: nothing to protect.
    pub removal: bool,
    /// The creating call, imports resolved (`axum_extra::extract::cookie::Cookie::new`).
    pub creator: String,
    /// Where it is created.
    pub unit: u32,
    pub span: Span,
    /// Where `Secure` was last turned off explicitly (`set_secure(false)`, `.secure(false)`), while it
    /// stays off: the unit and the setter's span.
    pub turned_off: Option<(u32, Span)>,
}

/// Each call of the function that sends a cookie (by the call site's span), with the cookie as it is
/// then.
pub type Sent = HashMap<(u32, u32), Cookie>;

pub fn sent(an: &Analyzer, id: FnId) -> Sent {
    let mut walk = Walk {
        an,
        ctx: an.prog.ctx_of(id),
        unit: id.unit,
        depth: 0,
        sent: HashMap::new(),
    };
    walk.block(&an.prog.func(id).body, &mut HashMap::new());
    walk.sent
}

struct Walk<'x, 'p, 'a> {
    an: &'x Analyzer<'p, 'a>,
    ctx: Ctx,
    unit: u32,
    depth: usize,
    sent: Sent,
}

/// The cookies bound to names at a point of the function.
type State = HashMap<String, Cookie>;

impl Walk<'_, '_, '_> {
    fn block(&mut self, b: &Block, state: &mut State) -> Option<Cookie> {
        for s in &b.stmts {
            match s {
                Stmt::Let(l) => {
                    let Some(init) = &l.init else { continue };
                    self.visit(init, state);
                    if let ([name], Some(c)) = (l.pat.bindings.as_slice(), self.cookie(init, state))
                    {
                        state.insert(name.to_string(), c);
                    }
                }
                Stmt::Expr { expr, .. } => self.visit(expr, state),
            }
        }
        b.tail().and_then(|t| self.cookie(t, state))
    }

    /// A nested block: its own bindings end with it (an outer cookie it shadows is the outer one again
    /// after it); what it does to the outer cookies stays.
    fn scoped(&mut self, b: &Block, state: &mut State) {
        let mut inner = state.clone();
        self.block(b, &mut inner);
        let rebound: Vec<&str> = b
            .stmts
            .iter()
            .filter_map(|s| match s {
                Stmt::Let(l) => Some(l.pat.bindings.iter().map(|s| s.as_str())),
                _ => None,
            })
            .flatten()
            .collect();
        for (name, c) in inner {
            if state.contains_key(&name) && !rebound.contains(&name.as_str()) {
                state.insert(name, c);
            }
        }
    }

    /// Follows the sends and `Secure` changes of an expression, in evaluation order.
    fn visit(&mut self, e: &Expr, state: &mut State) {
        match e {
            Expr::Method(m) => {
                self.visit(&m.recv, state);
                m.args.iter().for_each(|a| self.visit(a, state));
                let name = m.name.as_str();
                if let (Some(binding), Some(flag)) = (m.recv.as_ident(), m.args.first()) {
                    if let Some(c) = state.get_mut(binding) {
                        let setter = name.strip_prefix("set_").unwrap_or("");
                        let at = (self.unit, crate::facts::method_span(m.name_span, m.span));
                        set_flag(c, setter, flag, at);
                    }
                }
                let span = crate::facts::method_span(m.name_span, m.span);
                let cookie = if SENDS.contains(&name) {
                    m.args.first().and_then(|a| self.cookie(a, state))
                } else if HEADER_WRITES.contains(&name) {
                    // `.header(SET_COOKIE, v)`, or actix's `.insert_header((SET_COOKIE, v))`.
                    let pair = match m.args.as_slice() {
                        [Expr::Tuple { items, .. }] => items.as_slice(),
                        args => args,
                    };
                    match pair {
                        [header, value] => {
                            let text = self.an.text(self.unit, header.span()).to_ascii_lowercase();
                            (text.contains("set_cookie") || text.contains("set-cookie"))
                                .then(|| self.cookie(value, state))
                                .flatten()
                        }
                        _ => None,
                    }
                } else {
                    None
                };
                if let Some(c) = cookie {
                    self.sent.insert((span.start, span.end), c);
                }
            }
            Expr::If {
                cond, then, els, ..
            } => {
                self.visit(cond, state);
                let mut a = state.clone();
                self.scoped(then, &mut a);
                let mut b = state.clone();
                if let Some(e) = els {
                    self.visit(e, &mut b);
                }
                *state = meet(state, &[a, b]);
            }
            Expr::Match {
                scrutinee, arms, ..
            } => {
                self.visit(scrutinee, state);
                let outs: Vec<State> = arms
                    .iter()
                    .map(|arm| {
                        let mut s = state.clone();
                        match arm {
                            Expr::Block { block, .. } => self.scoped(block, &mut s),
                            other => self.visit(other, &mut s),
                        }
                        s
                    })
                    .collect();
                *state = meet(state, &outs);
            }
            Expr::Loop { head, body, .. } => {
                if let Some(h) = head {
                    self.visit(h, state);
                }
                let mut s = state.clone();
                self.scoped(body, &mut s);
                *state = meet(state, &[s, state.clone()]);
            }
            Expr::Block { block, .. } => {
                self.scoped(block, state);
            }
            Expr::Call { func, args, .. } => {
                self.visit(func, state);
                args.iter().for_each(|a| self.visit(a, state));
            }
            Expr::Macro(m) => m.args.iter().for_each(|a| self.visit(a, state)),
            Expr::Try { inner: x, .. }
            | Expr::Keyword { value: x, .. }
            | Expr::Field { base: x, .. } => self.visit(x, state),
            Expr::Return { value: Some(x), .. } | Expr::LetCond { expr: x, .. } => {
                self.visit(x, state)
            }
            Expr::Assign { value, .. } => self.visit(value, state),
            Expr::Tuple { items, .. } | Expr::Array { items, .. } => {
                items.iter().for_each(|a| self.visit(a, state))
            }
            _ => {}
        }
    }

    /// The cookie an expression is, if it is one.
    fn cookie(&mut self, e: &Expr, state: &State) -> Option<Cookie> {
        match e {
            Expr::Path { .. } => state.get(e.as_ident()?).cloned(),
            // The block's statements were walked where it stands; its value is its tail's.
            Expr::Block { block, .. } => self.cookie(block.tail()?, state),
            Expr::Method(m) => {
                let mut c = self.cookie(&m.recv, state)?;
                match (m.name.as_str(), m.args.first()) {
                    (setter @ ("secure" | "partitioned"), Some(flag)) => {
                        let at = (self.unit, crate::facts::method_span(m.name_span, m.span));
                        set_flag(&mut c, setter, flag, at);
                    }
                    ("max_age", Some(d)) => c.removal |= is_zero_duration(d),
                    ("make_removal", _) => c.removal = true,
                    _ => {}
                }
                Some(c)
            }
            Expr::Call { func, args, span } => {
                let Expr::Path { segs, .. } = func.as_ref() else {
                    return None;
                };
                match &segs[..] {
                    // A header value made of the cookie's text.
                    [.., ty, conv]
                        if ty == "HeaderValue"
                            && matches!(
                                conv.as_str(),
                                "from_str" | "try_from" | "from_maybe_shared"
                            ) =>
                    {
                        self.cookie(args.first()?, state)
                    }
                    [.., ty, ctor]
                        if matches!(ty.as_str(), "Cookie" | "CookieBuilder")
                            && matches!(
                                ctor.as_str(),
                                "new" | "build" | "named" | "from" | "parse" | "parse_encoded"
                            ) =>
                    {
                        self.created(segs, ctor, args, *span)
                    }
                    _ => self.returned(segs),
                }
            }
            _ => None,
        }
    }

    fn created(
        &self,
        segs: &[crate::facts::Name],
        ctor: &str,
        args: &[Expr],
        span: Span,
    ) -> Option<Cookie> {
        let first = args.first()?;
        let (name, secure, removal) = match ctor {
            "parse" | "parse_encoded" => {
                let text = first.as_str_lit()?;
                let mut parts = text.split(';');
                let pair = parts.next()?;
                let name = pair
                    .split('=')
                    .next()
                    .unwrap_or_default()
                    .trim()
                    .to_string();
                let attrs: Vec<String> = parts.map(|a| a.trim().to_ascii_lowercase()).collect();
                let secure = attrs
                    .iter()
                    .any(|a| a == "secure" || a.starts_with("partitioned"));
                let removal = attrs.iter().any(|a| a == "max-age=0") || pair.trim().ends_with('=');
                (name, secure, removal)
            }
            _ => {
                // `Cookie::build(("name", value))`, `Cookie::new("name", value)`.
                let (name, value) = match first {
                    Expr::Tuple { items, .. } => (items.first()?, items.get(1)),
                    _ => (first, args.get(1)),
                };
                let name = match name.as_str_lit() {
                    Some(s) => s.to_string(),
                    None => self.an.text(self.unit, name.span()).to_string(),
                };
                let removal = value.and_then(Expr::as_str_lit) == Some("");
                (name, false, removal)
            }
        };
        Some(Cookie {
            name,
            secure,
            removal,
            creator: self.an.prog.resolved_name(&self.ctx, segs),
            unit: self.unit,
            span,
            turned_off: None,
        })
    }

    /// The cookie a helper of the crate returns (`jar.add(session_cookie(&token))`).
    fn returned(&mut self, segs: &[crate::facts::Name]) -> Option<Cookie> {
        if self.depth >= MAX_DEPTH {
            return None;
        }
        let callee = self.an.prog.resolve_fn(&self.ctx, segs)?;
        let returns_cookie =
            |f: &crate::facts::FnDef| f.ret.as_ref().is_some_and(|r| r.text.contains("Cookie"));
        if !returns_cookie(self.an.prog.func(callee)) {
            return None;
        }
        let mut inner = Walk {
            an: self.an,
            ctx: self.an.prog.ctx_of(callee),
            unit: callee.unit,
            depth: self.depth + 1,
            sent: HashMap::new(),
        };
        inner.block(&self.an.prog.func(callee).body, &mut HashMap::new())
    }
}

/// After branches: a cookie is Secure only if every way through made it so.
fn meet(before: &State, outs: &[State]) -> State {
    let mut out = before.clone();
    if outs.is_empty() {
        return out;
    }
    for (name, c) in out.iter_mut() {
        let after: Vec<&Cookie> = outs.iter().map(|s| s.get(name).unwrap_or(c)).collect();
        let secure = after.iter().all(|x| x.secure);
        let turned_off = after
            .iter()
            .filter(|x| !x.secure)
            .find_map(|x| x.turned_off);
        c.secure = secure;
        c.turned_off = turned_off;
    }
    out
}

/// A setter on a cookie: `secure(x)` sets `Secure` (a flag it cannot read is taken as set: only what
/// is known to be off counts); `partitioned(true)` implies it, `partitioned(false)` leaves it as it
/// was; other setters do not touch it. `at` is the setter, remembered when it turns `Secure` off.
fn set_flag(c: &mut Cookie, setter: &str, flag: &Expr, at: (u32, Span)) {
    match setter {
        "secure" => {
            let value = flag_value(flag);
            c.secure = value.unwrap_or(true);
            c.turned_off = (value == Some(false)).then_some(at);
        }
        "partitioned" if flag_value(flag).unwrap_or(true) => {
            c.secure = true;
            c.turned_off = None;
        }
        _ => {}
    }
}

/// `true`, `false`, `Some(true)`, `None`: the flag's value when written literally.
fn flag_value(e: &Expr) -> Option<bool> {
    match e {
        Expr::Lit {
            lit: Lit::Bool(b), ..
        } => Some(*b),
        Expr::Call { func, args, .. } if func.as_ident() == Some("Some") => {
            flag_value(args.first()?)
        }
        Expr::Path { .. } if e.as_ident() == Some("None") => Some(false),
        _ => None,
    }
}

fn is_zero_duration(e: &Expr) -> bool {
    match e {
        Expr::Path { segs, .. } => segs.last().is_some_and(|s| s == "ZERO"),
        Expr::Call { args, .. } => matches!(
            args.first(),
            Some(Expr::Lit {
                lit: Lit::Int(0),
                ..
            })
        ),
        _ => false,
    }
}
