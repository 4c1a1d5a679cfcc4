//! Symbolic evaluation of function bodies: follows `let` bindings, assignments, calls into other functions
//! of the crate (across files), constants and configuration keys, and hands framework API calls to the
//! framework adapters. It never runs anything: every value is a description of what the code builds.

use super::program::{Ctx, FnId, Program};
use super::value::*;
use super::ConfigEntry;
use crate::catalog::Catalog;
use crate::facts::{Block, Expr, Lit, MethodCall, Name, Stmt, TypeRef};
use crate::source::{Loc, Span};
use std::collections::{HashMap, HashSet};
use std::rc::Rc;

/// Evaluation gives up on a package after this many steps: pathological code must not stall a run.
const STEP_BUDGET: usize = 2_000_000;
const MAX_CALL_DEPTH: usize = 16;

/// A served app: the serve call, what it listens on and what it serves.
#[derive(Debug, Clone)]
pub struct ServeEvent {
    pub loc: Loc,
    /// What it listens on: one serve call may bind several listeners (actix-web `bind` twice).
    pub listeners: Vec<ListenerVal>,
    pub app: Value,
    pub framework: &'static str,
}

pub struct Frame {
    pub ctx: Ctx,
    env: HashMap<Name, Value>,
    returned: Option<Value>,
    branch_depth: usize,
}

/// A call as the adapters see it.
pub struct CallCx<'e> {
    /// The path as written (for calls and macros) or `[method]`.
    pub segs: &'e [Name],
    /// The names the callee may be known by: as written, its last two segments, resolved through imports.
    pub names: Vec<String>,
    pub generics: &'e [TypeRef],
    pub args: Vec<Value>,
    pub raw: &'e [Expr],
    pub loc: Loc,
    pub unit: u32,
}

impl CallCx<'_> {
    pub fn last(&self) -> &str {
        self.segs.last().map(|s| s.as_str()).unwrap_or("")
    }

    /// The last two segments, e.g. `Router::new`.
    pub fn short(&self) -> String {
        let n = self.segs.len();
        self.segs[n.saturating_sub(2)..].join("::")
    }

    pub fn arg(&self, i: usize) -> Value {
        self.args.get(i).cloned().unwrap_or(Value::Unknown)
    }

    pub fn arg_loc(&self, i: usize) -> Loc {
        self.raw
            .get(i)
            .map(|e| Loc::new(self.loc.file, e.span()))
            .unwrap_or(self.loc)
    }
}

type CallAdapter = fn(&mut Evaluator, &mut Frame, &CallCx) -> Option<Value>;
type MethodAdapter = fn(&mut Evaluator, &mut Frame, &Value, &CallCx) -> Option<Value>;

/// The framework adapters, asked in order.
const ADAPTERS: &[(CallAdapter, MethodAdapter)] = &[
    (super::actix::call, super::actix::method),
    (super::rocket::call, super::rocket::method),
    (super::warp::call, super::warp::method),
    (super::poem::call, super::poem::method),
    (super::salvo::call, super::salvo::method),
    (super::acceptors::call, super::acceptors::method),
    (super::axum::call, super::axum::method),
];

pub struct Evaluator<'p, 'a> {
    pub prog: &'p Program<'a>,
    pub catalog: &'p Catalog,
    pub config: &'p [ConfigEntry],
    memo: HashMap<FnId, Value>,
    stack: Vec<FnId>,
    /// Constants being evaluated: `const A: X = B; const B: X = A;` (or a name that resolves back to the
    /// constant itself) would otherwise recurse until the stack overflows.
    const_stack: Vec<(u32, Span)>,
    pub serves: Vec<ServeEvent>,
    serve_locs: HashSet<(Loc, Option<Loc>)>,
    pub called_by_other: HashSet<FnId>,
    /// Handlers whose parameters are request inputs by position (warp: `body::json()` extracts into the
    /// handler's n-th parameter): parameter index and input kind.
    pub positional_inputs: HashMap<FnId, Vec<(usize, &'static str, &'static str)>>,
    steps: usize,
    /// Settings written in code on a configuration builder (the `config` crate's
    /// `set_default("host", "0.0.0.0")` and `set_override(..)`): key, value, where, and whether it
    /// overrides the configuration files.
    code_config: Vec<(String, String, Loc, bool)>,
}

impl<'p, 'a> Evaluator<'p, 'a> {
    pub fn new(prog: &'p Program<'a>, catalog: &'p Catalog, config: &'p [ConfigEntry]) -> Self {
        Evaluator {
            prog,
            catalog,
            config,
            memo: HashMap::new(),
            stack: vec![],
            const_stack: vec![],
            serves: vec![],
            serve_locs: HashSet::new(),
            called_by_other: HashSet::new(),
            positional_inputs: HashMap::new(),
            steps: 0,
            code_config: code_config(prog),
        }
    }

    pub fn loc(&self, f: &Frame, span: Span) -> Loc {
        Loc::new(self.prog.unit(f.ctx.unit).file, span)
    }

    pub fn text(&self, unit: u32, span: Span) -> String {
        let t = &self.prog.unit(unit).text;
        t.get(span.start as usize..span.end as usize)
            .unwrap_or("")
            .chars()
            .take(240)
            .collect()
    }

    /// Records a served app once per serve call and listener set.
    pub fn record_serve(&mut self, ev: ServeEvent) {
        let key = (ev.loc, ev.listeners.first().map(|l| l.loc));
        if self.serve_locs.insert(key) {
            self.serves.push(ev);
        }
    }

    /// A fresh frame for `id` with its parameters bound to `args` (missing ones are unknown).
    fn frame_for(&self, id: FnId, args: Vec<Value>) -> Frame {
        let mut frame = Frame {
            ctx: self.prog.ctx_of(id),
            env: HashMap::new(),
            returned: None,
            branch_depth: 0,
        };
        for (i, p) in self.prog.func(id).params.iter().enumerate() {
            if let Some(b) = p.pat.bindings.first() {
                frame
                    .env
                    .insert(*b, args.get(i).cloned().unwrap_or(Value::Unknown));
            }
        }
        frame
    }

    /// Evaluates a function with the given arguments (missing ones are unknown).
    pub fn call_fn(&mut self, id: FnId, args: Vec<Value>) -> Value {
        if !self.stack.is_empty() {
            self.called_by_other.insert(id);
        }
        if self.stack.contains(&id) || self.stack.len() >= MAX_CALL_DEPTH {
            return Value::Unknown;
        }
        let memoisable = !args.iter().any(Value::is_structural);
        if memoisable {
            if let Some(v) = self.memo.get(&id) {
                return v.clone();
            }
        }
        let f = self.prog.func(id);
        let mut frame = self.frame_for(id, args);
        self.stack.push(id);
        let tail = self.exec_block(&mut frame, &f.body);
        self.stack.pop();
        let v = frame.returned.take().unwrap_or(tail);
        if memoisable {
            self.memo.insert(id, v.clone());
        }
        v
    }

    /// A call into the crate that hands on actix-web's `&mut ServiceConfig` (`|cfg| api::config(cfg,
    /// &state)`): what the callee registers on it is registered on the caller's variable.
    fn call_configuring(
        &mut self,
        f: &mut Frame,
        id: FnId,
        args: Vec<Value>,
        raw: &[Expr],
    ) -> Value {
        let config = args.iter().zip(raw).enumerate().find_map(|(i, (v, e))| {
            let actix = matches!(v, Value::Router(r) if r.framework == super::actix::FRAMEWORK);
            let e = match e {
                Expr::Unary { expr, .. } => expr.as_ref(),
                other => other,
            };
            Some((i, Name::new(e.as_ident()?))).filter(|_| actix)
        });
        match config {
            Some((i, var)) => {
                let out = self.call_fn_param_out(id, args, i);
                if matches!(out, Value::Router(_)) {
                    f.env.insert(var, out);
                }
                Value::Unknown
            }
            None => self.call_fn(id, args),
        }
    }

    /// Evaluates a function for the value its parameter `param` holds at the end: builder functions that
    /// take `&mut` configuration (`fn config(cfg: &mut web::ServiceConfig)`).
    pub fn call_fn_param_out(&mut self, id: FnId, args: Vec<Value>, param: usize) -> Value {
        if self.stack.contains(&id) || self.stack.len() >= MAX_CALL_DEPTH {
            return Value::Unknown;
        }
        if !self.stack.is_empty() {
            self.called_by_other.insert(id);
        }
        let f = self.prog.func(id);
        let out_name = f
            .params
            .get(param)
            .and_then(|p| p.pat.bindings.first().cloned());
        let mut frame = self.frame_for(id, args);
        self.stack.push(id);
        self.exec_block(&mut frame, &f.body);
        self.stack.pop();
        out_name
            .and_then(|n| frame.env.remove(&n))
            .unwrap_or(Value::Unknown)
    }

    fn bind(&mut self, f: &mut Frame, pat: &crate::facts::Pat, v: Value) {
        match (&v, pat.bindings.len()) {
            (_, 0) => {}
            (Value::Tuple(items), n) if n > 1 => {
                for (b, item) in pat.bindings.iter().zip(items.iter()) {
                    f.env.insert(*b, item.clone());
                }
            }
            // `let (stream, peer) = listener.accept()`: the stream is the first binding.
            (_, _) => {
                f.env.insert(pat.bindings[0], v.clone());
                for b in &pat.bindings[1..] {
                    f.env.insert(*b, Value::Unknown);
                }
            }
        }
    }

    pub fn exec_block(&mut self, f: &mut Frame, b: &Block) -> Value {
        let mut last = Value::Unknown;
        let n = b.stmts.len();
        for (i, stmt) in b.stmts.iter().enumerate() {
            if f.returned.is_some() {
                break;
            }
            match stmt {
                Stmt::Let(l) => {
                    let crate::facts::Let { pat, init, els, .. } = &**l;
                    let v = init
                        .as_ref()
                        .map(|e| self.eval(f, e))
                        .unwrap_or(Value::Unknown);
                    if let Some(els) = els {
                        f.branch_depth += 1;
                        self.exec_block(f, els);
                        f.branch_depth -= 1;
                    }
                    self.bind(f, pat, v);
                }
                Stmt::Expr { expr, semi } => {
                    let v = self.eval(f, expr);
                    if i + 1 == n && !semi {
                        last = v;
                    }
                }
            }
        }
        last
    }

    pub fn eval(&mut self, f: &mut Frame, e: &Expr) -> Value {
        self.steps += 1;
        if self.steps > STEP_BUDGET {
            return Value::Unknown;
        }
        match e {
            Expr::Lit { lit, span } => match lit {
                Lit::Str(s) => Value::str(s.clone(), Origin::Literal(self.loc(f, *span))),
                Lit::Int(i) => Value::Int(i128::from(*i)),
                Lit::Bool(b) => Value::Bool(*b),
                Lit::Bytes(b) => Value::str(
                    String::from_utf8_lossy(b).into_owned(),
                    Origin::Literal(self.loc(f, *span)),
                ),
                _ => Value::Unknown,
            },
            Expr::Path { segs, span, .. } => self.eval_path(f, segs, *span),
            Expr::Call { func, args, span } => {
                let argv: Vec<Value> = args.iter().map(|a| self.eval(f, a)).collect();
                match func.as_ref() {
                    Expr::Path { segs, generics, .. } => {
                        self.eval_call(f, segs, generics, argv, args, *span)
                    }
                    other => {
                        self.eval(f, other);
                        Value::Unknown
                    }
                }
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
                let r = self.eval(f, recv);
                let argv: Vec<Value> = args.iter().map(|a| self.eval(f, a)).collect();
                let mutable =
                    matches!(&r, Value::Router(rv) if rv.framework == super::actix::FRAMEWORK);
                // A method call is located from its name (`.bind(..)`), not from the start of the chain.
                let call_span = crate::facts::method_span(*name_span, *span);
                let v = self.eval_method(f, r, name, turbofish, argv, args, call_span);
                // actix-web's `ServiceConfig` is configured through `&mut`: `cfg.service(..);` changes `cfg`.
                if mutable && matches!(v, Value::Router(_)) {
                    let mut base = recv;
                    while let Expr::Method(m) = base {
                        base = &m.recv;
                    }
                    if let Some(var) = base.as_ident() {
                        f.env.insert(Name::new(var), v.clone());
                    }
                }
                v
            }
            Expr::Macro(m) => {
                let argv: Vec<Value> = m.args.iter().map(|a| self.eval(f, a)).collect();
                self.eval_macro(f, &m.path, argv, &m.args, m.span)
            }
            Expr::Field { base, name, span } => {
                let b = self.eval(f, base);
                match &b {
                    Value::Struct(_, fields, _) => fields
                        .iter()
                        .find(|(n, _)| n == name)
                        .map(|(_, v)| v.clone())
                        .unwrap_or(Value::Unknown),
                    Value::Tuple(items) => name
                        .parse::<usize>()
                        .ok()
                        .and_then(|i| items.get(i).cloned())
                        .unwrap_or(Value::Unknown),
                    _ => self.config_lookup(e).unwrap_or_else(|| {
                        let _ = span;
                        Value::Unknown
                    }),
                }
            }
            Expr::Index { base, index, .. } => {
                self.eval(f, base);
                self.eval(f, index);
                Value::Unknown
            }
            Expr::Tuple { items, .. } | Expr::Array { items, .. } => {
                let v: Vec<Value> = items.iter().map(|a| self.eval(f, a)).collect();
                if let [single] = v.as_slice() {
                    if matches!(e, Expr::Tuple { .. }) {
                        return single.clone();
                    }
                }
                Value::Tuple(Rc::new(v))
            }
            Expr::Struct { path, fields, span } => {
                let fv: Vec<(Name, Value)> =
                    fields.iter().map(|(n, x)| (*n, self.eval(f, x))).collect();
                Value::Struct(Rc::new(path.to_vec()), Rc::new(fv), self.loc(f, *span))
            }
            Expr::Closure { fn_index, span } => Value::Fn(
                FnId {
                    unit: f.ctx.unit,
                    idx: *fn_index,
                },
                self.loc(f, *span),
            ),
            Expr::Block { block, .. } => self.exec_block(f, block),
            Expr::If {
                cond, then, els, ..
            } => {
                self.eval(f, cond);
                f.branch_depth += 1;
                let a = self.exec_block(f, then);
                let b = els
                    .as_ref()
                    .map(|e| self.eval(f, e))
                    .unwrap_or(Value::Unknown);
                f.branch_depth -= 1;
                if a.is_unknown() {
                    b
                } else {
                    a
                }
            }
            Expr::Match {
                scrutinee, arms, ..
            } => {
                self.eval(f, scrutinee);
                f.branch_depth += 1;
                let mut out = Value::Unknown;
                for a in arms {
                    let v = self.eval(f, a);
                    if out.is_unknown() {
                        out = v;
                    }
                }
                f.branch_depth -= 1;
                out
            }
            Expr::Loop { head, body, .. } => {
                if let Some(h) = head {
                    self.eval(f, h);
                }
                f.branch_depth += 1;
                self.exec_block(f, body);
                f.branch_depth -= 1;
                Value::Unknown
            }
            Expr::LetCond { pat, expr, .. } => {
                let v = self.eval(f, expr);
                self.bind(f, pat, v);
                Value::Unknown
            }
            Expr::Try { inner, .. } | Expr::Keyword { value: inner, .. } => self.eval(f, inner),
            Expr::Unary { expr, .. } => {
                self.eval(f, expr);
                Value::Unknown
            }
            Expr::Binary { op, lhs, rhs, .. } => {
                let l = self.eval(f, lhs);
                let r = self.eval(f, rhs);
                if op == "+" {
                    if let (Some(a), Some(b)) = (l.as_str(), r.as_str()) {
                        return Value::str(format!("{}{}", a.text, b.text), a.origin.clone());
                    }
                }
                Value::Unknown
            }
            Expr::Assign { target, value, .. } => {
                let v = self.eval(f, value);
                if let Some(name) = target.as_ident() {
                    // A conditional assignment keeps the assigned value: the branch is assumed taken.
                    if !v.is_unknown() || f.branch_depth == 0 {
                        f.env.insert(Name::new(name), v);
                    }
                }
                Value::Unknown
            }
            Expr::Return { value, .. } => {
                let v = value
                    .as_ref()
                    .map(|x| self.eval(f, x))
                    .unwrap_or(Value::Unknown);
                if f.branch_depth == 0 {
                    f.returned = Some(v.clone());
                }
                v
            }
            Expr::Unknown { .. } => Value::Unknown,
        }
    }

    fn eval_path(&mut self, f: &mut Frame, segs: &[Name], span: Span) -> Value {
        if let [name] = segs {
            if let Some(v) = f.env.get(name) {
                return v.clone();
            }
        }
        let loc = self.loc(f, span);
        if let Some(v) = well_known_path(segs, loc) {
            return v;
        }
        if let Some((unit, c)) = self.prog.resolve_const(&f.ctx, segs) {
            let key = (unit, c.span);
            if self.const_stack.contains(&key) || self.const_stack.len() >= MAX_CALL_DEPTH {
                return Value::Unknown;
            }
            let mut cf = Frame {
                ctx: Ctx {
                    unit,
                    module: c.module.clone(),
                    self_ty: None,
                },
                env: HashMap::new(),
                returned: None,
                branch_depth: 0,
            };
            self.const_stack.push(key);
            let v = self.eval(&mut cf, &c.value);
            self.const_stack.pop();
            let cloc = Loc::new(self.prog.unit(unit).file, c.span);
            return match v {
                Value::Str(s) => Value::str(
                    s.text.clone(),
                    match &s.origin {
                        Origin::Literal(_) => Origin::Constant(c.name.to_string(), cloc),
                        o => o.clone(),
                    },
                ),
                other => other,
            };
        }
        if let Some(id) = self.prog.resolve_fn(&f.ctx, segs) {
            return Value::Fn(id, loc);
        }
        Value::Path(Rc::new(segs.to_vec()), loc)
    }

    fn names(&self, f: &Frame, segs: &[Name]) -> Vec<String> {
        let n = segs.len();
        let mut names = vec![segs[n.saturating_sub(2)..].join("::"), segs.join("::")];
        let resolved = self.prog.resolved_name(&f.ctx, segs);
        if !resolved.is_empty() {
            names.push(resolved);
        }
        names.dedup();
        names
    }

    fn eval_call(
        &mut self,
        f: &mut Frame,
        segs: &[Name],
        generics: &[TypeRef],
        args: Vec<Value>,
        raw: &[Expr],
        span: Span,
    ) -> Value {
        // A closure or function value held in a variable.
        if let [name] = segs {
            if let Some(Value::Fn(id, _)) = f.env.get(name).cloned() {
                return self.call_fn(id, args);
            }
        }
        if let Some(id) = self.prog.resolve_fn(&f.ctx, segs) {
            return self.call_configuring(f, id, args, raw);
        }
        let cx = CallCx {
            segs,
            names: self.names(f, segs),
            generics,
            args,
            raw,
            loc: self.loc(f, span),
            unit: f.ctx.unit,
        };
        if let Some(v) = self.builtin_call(f, &cx) {
            return v;
        }
        // A connection wrapped by a TLS stream type (`SslStream::new(ssl, conn)`) is a TLS connection.
        if let Some(Value::Stream(s)) = cx.args.iter().find(|a| matches!(a, Value::Stream(_))) {
            if self
                .catalog
                .call_capabilities(&cx.names)
                .any(|c| c.capability == "tls-acceptor")
            {
                let mut s2 = (**s).clone();
                s2.tls = Tls::On;
                s2.tls_loc = Some(cx.loc);
                return Value::Stream(Rc::new(s2));
            }
        }
        for (call, _) in ADAPTERS {
            if let Some(v) = call(self, f, &cx) {
                return v;
            }
        }
        self.opaque(&cx, vec![])
    }

    /// An unknown constructor call: kept with its names and arguments, since it may be a layer.
    pub fn opaque(&self, cx: &CallCx, methods: Vec<String>) -> Value {
        let tls = self
            .catalog
            .call_capabilities(&cx.names)
            .any(|c| c.capability == "tls-acceptor");
        Value::Opaque(Rc::new(Opaque {
            name: cx.short(),
            names: cx.names.clone(),
            arg_texts: cx
                .raw
                .iter()
                .map(|e| self.text(cx.unit, e.span()))
                .collect(),
            arg_values: cx.args.iter().map(Value::known_text).collect(),
            loc: cx.loc,
            methods,
            tls,
        }))
    }

    #[allow(clippy::too_many_arguments)]
    fn eval_method(
        &mut self,
        f: &mut Frame,
        recv: Value,
        name: &str,
        turbofish: &[TypeRef],
        args: Vec<Value>,
        raw: &[Expr],
        span: Span,
    ) -> Value {
        let segs = [Name::new(name)];
        let cx = CallCx {
            segs: &segs,
            names: vec![format!(".{name}")],
            generics: turbofish,
            args,
            raw,
            loc: self.loc(f, span),
            unit: f.ctx.unit,
        };
        if let Some(v) = self.builtin_method(&recv, &cx) {
            return v;
        }
        for (_, method) in ADAPTERS {
            if let Some(v) = method(self, f, &recv, &cx) {
                return v;
            }
        }
        if matches!(recv, Value::Router(_) | Value::MethodRouter(_)) {
            return self.unknown_router_method(recv, name, &cx);
        }
        match &recv {
            Value::Opaque(o) => {
                let mut o2 = (**o).clone();
                o2.methods.push(name.to_string());
                o2.arg_texts
                    .extend(raw.iter().map(|e| self.text(cx.unit, e.span())));
                o2.arg_values.extend(cx.args.iter().map(Value::known_text));
                if self
                    .catalog
                    .call_capabilities(&cx.names)
                    .any(|c| c.capability == "tls-acceptor")
                {
                    o2.tls = true;
                }
                Value::Opaque(Rc::new(o2))
            }
            Value::Unknown | Value::Struct(..) | Value::Path(..) => {
                // A method of this crate called on a value of unknown type, when the name is unambiguous.
                let cands = self.prog.methods_named(name);
                if let [id] = cands.as_slice() {
                    let mut a = vec![recv.clone()];
                    a.extend(cx.args.iter().cloned());
                    return self.call_fn(*id, a);
                }
                Value::Unknown
            }
            _ => Value::Unknown,
        }
    }

    /// A method no adapter knows, called on a router. The crate's own method of that name (an extension
    /// trait of the crate, a helper taking `self`) is evaluated when it is the only one and returns a
    /// router; anything else (an extension trait from another crate, a wrapper returning `Self`) passes the
    /// router through with what it holds, rather than losing every route built so far.
    fn unknown_router_method(&mut self, recv: Value, name: &str, cx: &CallCx) -> Value {
        if let [id] = self.prog.methods_named(name).as_slice() {
            let mut args = vec![recv.clone()];
            args.extend(cx.args.iter().cloned());
            let v = self.call_fn(*id, args);
            if matches!(v, Value::Router(_) | Value::MethodRouter(_)) {
                return v;
            }
        }
        recv
    }

    fn builtin_call(&mut self, _f: &mut Frame, cx: &CallCx) -> Option<Value> {
        let short = cx.short();
        let last = cx.last();
        Some(match (short.as_str(), last) {
            (_, "Some" | "Ok" | "Box::new")
            | (
                "Arc::new" | "Rc::new" | "Box::new" | "String::from" | "IpAddr::V4" | "IpAddr::V6"
                | "IpAddr::from",
                _,
            ) => cx.arg(0),
            (
                "HeaderValue::from_static"
                | "HeaderValue::from_str"
                | "HeaderValue::try_from"
                | "HeaderValue::from",
                _,
            ) => cx.arg(0),
            ("Ipv4Addr::new", _) => {
                let parts: Option<Vec<String>> = cx.args.iter().map(Value::known_text).collect();
                match parts {
                    Some(p) if p.len() == 4 => Value::str(p.join("."), Origin::Literal(cx.loc)),
                    _ => Value::Unknown,
                }
            }
            ("SocketAddr::from" | "SocketAddrV4::from", _) => {
                Value::Addr(Rc::new(to_addr(&cx.arg(0))))
            }
            ("SocketAddr::new" | "SocketAddrV4::new" | "SocketAddrV6::new", _) => {
                Value::Addr(Rc::new(to_addr(&Value::Tuple(Rc::new(vec![
                    cx.arg(0),
                    cx.arg(1),
                ])))))
            }
            (_, "var" | "var_os")
                if cx
                    .segs
                    .iter()
                    .any(|s| s == "env" || s == "dotenvy" || s == "dotenv") =>
            {
                let name = cx.arg(0).known_text().unwrap_or_else(|| "?".into());
                Value::str("{?}", Origin::Env(name, None, cx.loc))
            }
            _ => return None,
        })
    }

    fn builtin_method(&mut self, recv: &Value, cx: &CallCx) -> Option<Value> {
        let name = cx.last();
        match name {
            "unwrap"
            | "expect"
            | "into"
            | "to_string"
            | "to_owned"
            | "clone"
            | "as_str"
            | "as_ref"
            | "unwrap_or_default"
            | "borrow"
            | "context"
            | "with_context"
            | "map_err"
            | "as_deref"
            | "to_socket_addrs"
            | "into_owned"
            | "into_make_service"
            | "into_make_service_with_connect_info"
            | "into_service" => Some(recv.clone()),
            "parse" | "try_into" => Some(match recv {
                Value::Str(_) => Value::Addr(Rc::new(to_addr(recv))),
                other => other.clone(),
            }),
            "unwrap_or" | "unwrap_or_else" | "or" => match recv {
                Value::Str(s) => {
                    if let Origin::Env(var, _, loc) = &s.origin {
                        let default = cx.arg(0).known_text().or_else(|| {
                            // `unwrap_or_else(|_| "0.0.0.0".into())`: the closure's literal.
                            match &cx.args.first() {
                                Some(Value::Fn(id, _)) => {
                                    let body = &self.prog.func(*id).body;
                                    let mut lit = None;
                                    body.walk(&mut |e| {
                                        if lit.is_none() {
                                            lit = e.as_str_lit().map(str::to_string);
                                        }
                                    });
                                    lit
                                }
                                _ => None,
                            }
                        });
                        return Some(Value::str("{?}", Origin::Env(var.clone(), default, *loc)));
                    }
                    Some(recv.clone())
                }
                Value::Unknown => Some(cx.arg(0)),
                // Framework values (`Filter::or`) are the adapters' to interpret.
                other if other.is_structural() || matches!(other, Value::Filter(_)) => None,
                other => Some(other.clone()),
            },
            _ => None,
        }
    }

    fn eval_macro(
        &mut self,
        f: &mut Frame,
        path: &[Name],
        args: Vec<Value>,
        raw: &[Expr],
        span: Span,
    ) -> Value {
        let name = path.last().map(|s| s.as_str()).unwrap_or("");
        let loc = self.loc(f, span);
        match name {
            "format" | "format_args" => format_value(&args, loc),
            "concat" => {
                let parts: Option<Vec<String>> = args.iter().map(Value::known_text).collect();
                parts
                    .map(|p| Value::str(p.concat(), Origin::Literal(loc)))
                    .unwrap_or(Value::Unknown)
            }
            "env" | "option_env" => {
                let var = args.first().and_then(Value::known_text).unwrap_or_default();
                Value::str("{?}", Origin::Env(var, None, loc))
            }
            "vec" => Value::Tuple(Rc::new(args)),
            _ => {
                let names = vec![format!("{name}!"), format!("{}!", path.join("::"))];
                let segs = [Name::new(&format!("{name}!"))];
                let cx = CallCx {
                    segs: &segs,
                    names,
                    generics: &[],
                    args,
                    raw,
                    loc,
                    unit: f.ctx.unit,
                };
                for (call, _) in ADAPTERS {
                    if let Some(v) = call(self, f, &cx) {
                        return v;
                    }
                }
                self.opaque(&cx, vec![])
            }
        }
    }

    /// `settings.server.host` → the configuration key whose path ends with `server.host`.
    fn config_lookup(&self, e: &Expr) -> Option<Value> {
        let mut chain = vec![];
        let mut cur = e;
        while let Expr::Field { base, name, .. } = cur {
            chain.push(*name);
            cur = base;
        }
        chain.reverse();
        if chain.is_empty() {
            return None;
        }
        for start in 0..chain.len() {
            let suffix = chain[start..].join(".");
            let matches = |key: &str| key == suffix || key.ends_with(&format!(".{suffix}"));
            // Overrides in code, then the configuration files, then defaults in code.
            let in_code = |overrides: bool| {
                self.code_config
                    .iter()
                    .find(|(k, _, _, o)| *o == overrides && matches(k))
                    .map(|(k, v, loc, _)| Value::str(v.clone(), Origin::Config(k.clone(), *loc)))
            };
            if let Some(v) = in_code(true) {
                return Some(v);
            }
            if let Some(c) = self.config.iter().find(|c| matches(&c.key)) {
                let text = match &c.value {
                    serde_json::Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                return Some(Value::str(text, Origin::Config(c.key.clone(), c.loc)));
            }
            if let Some(v) = in_code(false) {
                return Some(v);
            }
            if chain.len() - start <= 1 {
                break;
            }
        }
        None
    }
}

/// `ConfigBuilder::set_default("server.host", "0.0.0.0")` and `set_override(..)` with literal keys and
/// values, anywhere in the crate.
fn code_config(prog: &Program) -> Vec<(String, String, Loc, bool)> {
    let mut out = vec![];
    for id in prog.all_fns() {
        let file = prog.unit(id.unit).file;
        for c in &prog.func(id).calls {
            let overrides = match c.name.as_str() {
                "set_default" => false,
                "set_override" => true,
                _ => continue,
            };
            let (Some(Lit::Str(key)), Some(value)) = (
                c.args.first().and_then(|a| a.lit.as_ref()),
                c.args.get(1).and_then(|a| a.lit.as_ref()),
            ) else {
                continue;
            };
            let value = match value {
                Lit::Str(v) => v.clone(),
                Lit::Int(i) => i.to_string(),
                Lit::Bool(b) => b.to_string(),
                _ => continue,
            };
            out.push((key.clone(), value, Loc::new(file, c.span), overrides));
        }
    }
    out
}

/// `Ipv4Addr::UNSPECIFIED` and friends.
fn well_known_path(segs: &[Name], loc: Loc) -> Option<Value> {
    let n = segs.len();
    let short = segs[n.saturating_sub(2)..].join("::");
    let text = match short.as_str() {
        "Ipv4Addr::UNSPECIFIED" => "0.0.0.0",
        "Ipv4Addr::LOCALHOST" => "127.0.0.1",
        "Ipv6Addr::UNSPECIFIED" => "::",
        "Ipv6Addr::LOCALHOST" => "::1",
        _ => return None,
    };
    Some(Value::str(text, Origin::Literal(loc)))
}

fn format_value(args: &[Value], loc: Loc) -> Value {
    let Some(fmt) = args
        .first()
        .and_then(|a| a.as_str())
        .map(|s| s.text.clone())
    else {
        return Value::Unknown;
    };
    let mut out = String::new();
    let mut origin = Origin::Literal(loc);
    let mut next_arg = 1;
    let mut chars = fmt.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '{' {
            if chars.peek() == Some(&'{') {
                chars.next();
                out.push('{');
                continue;
            }
            let mut spec = String::new();
            for c in chars.by_ref() {
                if c == '}' {
                    break;
                }
                spec.push(c);
            }
            let key = spec.split(':').next().unwrap_or("");
            let v = if key.is_empty() {
                next_arg += 1;
                args.get(next_arg - 1)
            } else if let Ok(i) = key.parse::<usize>() {
                args.get(i + 1)
            } else {
                None
            };
            match v {
                Some(v) => {
                    if let Value::Str(s) = v {
                        if !matches!(s.origin, Origin::Literal(_))
                            && matches!(origin, Origin::Literal(_))
                        {
                            origin = s.origin.clone();
                        }
                    }
                    out.push_str(&v.known_text().unwrap_or_else(|| "{?}".into()));
                }
                None => out.push_str("{?}"),
            }
        } else if c == '}' && chars.peek() == Some(&'}') {
            chars.next();
            out.push('}');
        } else {
            out.push(c);
        }
    }
    Value::str(out, origin)
}

/// What address a value describes.
pub fn to_addr(v: &Value) -> AddrVal {
    let unknown = |origin| AddrVal {
        host: None,
        port: None,
        text: "{?}".into(),
        origin,
    };
    match v {
        Value::Addr(a) => (**a).clone(),
        Value::Listener(l) | Value::Stream(l) => l.addr.clone(),
        Value::Str(s) => {
            let text = s.text.clone();
            let (host, port) = split_host_port(&text);
            AddrVal {
                host: host.filter(|h| !h.contains("{?}")),
                port,
                text,
                origin: s.origin.clone(),
            }
        }
        Value::Tuple(items) if items.len() == 2 => {
            let host = match &items[0] {
                Value::Tuple(octets) if octets.len() == 4 || octets.len() == 8 => {
                    let parts: Option<Vec<String>> = octets.iter().map(Value::known_text).collect();
                    parts.map(|p| {
                        if p.len() == 4 {
                            p.join(".")
                        } else {
                            p.join(":")
                        }
                    })
                }
                other => match to_addr(other) {
                    AddrVal { host: Some(h), .. } => Some(h),
                    a if a.text != "{?}" && !a.text.contains("{?}") => Some(a.text),
                    _ => None,
                },
            };
            let origin = match &items[0] {
                Value::Str(s) => s.origin.clone(),
                Value::Tuple(_) => Origin::Unknown,
                _ => Origin::Unknown,
            };
            let port = match &items[1] {
                Value::Int(p) => Some(*p),
                other => other.known_text().and_then(|t| t.parse().ok()),
            };
            let text = format!(
                "{}:{}",
                host.clone().unwrap_or_else(|| "{?}".into()),
                port.map(|p| p.to_string()).unwrap_or_else(|| "{?}".into())
            );
            AddrVal {
                host,
                port,
                text,
                origin: if matches!(origin, Origin::Unknown) {
                    Origin::Unknown
                } else {
                    origin
                },
            }
        }
        _ => unknown(Origin::Unknown),
    }
}

fn split_host_port(text: &str) -> (Option<String>, Option<i128>) {
    let text = text
        .trim()
        .trim_start_matches("http://")
        .trim_start_matches("https://");
    if let Some(rest) = text.strip_prefix('[') {
        if let Some((h, p)) = rest.split_once(']') {
            return (Some(h.to_string()), p.trim_start_matches(':').parse().ok());
        }
    }
    match text.rsplit_once(':') {
        Some((h, p)) if !h.contains(':') => (Some(h.to_string()), p.parse().ok()),
        Some(_) => (Some(text.to_string()), None),
        None => (Some(text.to_string()), None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_split_into_host_and_port() {
        assert_eq!(
            split_host_port("0.0.0.0:8080"),
            (Some("0.0.0.0".into()), Some(8080))
        );
        assert_eq!(
            split_host_port("[::1]:3000"),
            (Some("::1".into()), Some(3000))
        );
        assert_eq!(
            split_host_port("localhost"),
            (Some("localhost".into()), None)
        );
    }

    #[test]
    fn format_fills_known_arguments() {
        let loc = Loc::default();
        let v = format_value(
            &[
                Value::str("{}:{}", Origin::Literal(loc)),
                Value::str("0.0.0.0", Origin::Literal(loc)),
                Value::Int(80),
            ],
            loc,
        );
        assert_eq!(v.as_str().unwrap().text, "0.0.0.0:80");
        let v = format_value(
            &[
                Value::str("{host}:{}", Origin::Literal(loc)),
                Value::Int(80),
            ],
            loc,
        );
        assert_eq!(v.as_str().unwrap().text, "{?}:80");
    }
}
