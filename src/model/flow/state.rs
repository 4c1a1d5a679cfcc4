//! The analysis of one function body: an environment from bindings to taints, updated statement by
//! statement.

use super::vocab::*;
use super::{label_bits, Flows, FnResult, Taint, DYNAMIC, INPUT, MAX_PARAMS, SECRET, VARIABLE};
use crate::catalog::FlowEntry;
use crate::facts::{Block, CallKind, Expr, FnDef, Lit, Name, Pat, Stmt, TypeRef};
use crate::model::analysis::norm_name;
use crate::model::program::{Ctx, FnId};
use crate::source::Span;
use std::collections::HashMap;
use std::sync::Arc;

pub fn analyse(fl: &Flows, id: FnId) -> FnResult {
    let f = fl.prog.func(id);
    let mut st = FnState {
        fl,
        unit: id.unit,
        ctx: fl.prog.ctx_of(id),
        env: HashMap::new(),
        res: FnResult::default(),
        fn_calls: f,
        closure_depth: 0,
        resolved: HashMap::new(),
        lookups: HashMap::new(),
        rebound: Default::default(),
    };
    let computed;
    let params = match fl.params.get(&id) {
        Some(p) => p,
        None => {
            computed = param_taints(fl, id);
            &computed
        }
    };
    for (i, (p, &t)) in f.params.iter().zip(params).enumerate() {
        if t.labels & INPUT != 0 {
            st.res
                .origins
                .push((p.span, "request input enters here", Some(i)));
        }
        st.bind(&p.pat, t, true);
    }
    // Twice, so that values assigned late in a loop reach the uses before them.
    st.block(&f.body);
    let tail = st.block(&f.body);
    st.res.ret = st.res.ret.join(tail);
    if f.ret.as_ref().is_some_and(is_scalar_type) {
        st.res.ret = Taint::NONE;
    }
    st.res
}

/// The taint each parameter of `id` starts with (computed once per function: re-analyses reuse it).
pub fn param_taints(fl: &Flows, id: FnId) -> Vec<Taint> {
    let f = fl.prog.func(id);
    let ctx = fl.prog.ctx_of(id);
    let inputs = fl.input_params.get(&id);
    let route_params = attribute_route_params(f);
    let mut out = Vec::with_capacity(f.params.len());
    for (i, p) in f.params.iter().enumerate() {
        let mut t = Taint::label(VARIABLE);
        if i < MAX_PARAMS {
            t.params = 1 << i;
        }
        // Outside the routes found, a parameter typed as an extractor (`Path<String>`, `Multipart`)
        // is still request input; a bare `String` is only when a route says so.
        // `Option<String>` is no extractor either: the option is looked through first.
        let typed_input = p.ty.as_ref().is_some_and(|ty| {
            let (inner, _) = ty.strip_option();
            (!inner.args.is_empty() || inner.name() == "Multipart")
                && fl.an.classify_input(ty, &ctx).is_some()
        });
        let segment_input = route_params.iter().any(|(name, rest)| {
            // Rocket's `PathBuf` from `<path..>` rejects `..` and absolute segments itself.
            p.pat.bindings.first().is_some_and(|b| b == name)
                && !(*rest && p.ty.as_ref().is_some_and(|t| t.name() == "PathBuf"))
        });
        let self_validating =
            p.ty.as_ref()
                .is_some_and(|ty| fl.an.validates_itself(ty, &ctx));
        if (typed_input || segment_input || inputs.is_some_and(|v| v.contains(&i)))
            && !self_validating
        {
            t = t.with(INPUT);
        }
        // A value of a self-validating type is no longer raw input, whatever the caller passed.
        if self_validating {
            t = t.without(INPUT);
        }
        if p.ty.as_ref().is_some_and(is_scalar_type) {
            t = Taint::NONE;
        }
        out.push(t);
    }
    out
}

/// Dynamic segments named in a route attribute (`#[get("/files/<name>?<q>")]`, Rocket): the name and
/// whether it takes the rest of the path (`<path..>`).
fn attribute_route_params(f: &FnDef) -> Vec<(String, bool)> {
    let mut out = vec![];
    for a in &f.attrs {
        let last = a.path.rsplit("::").next().unwrap_or("");
        if !crate::model::ROUTE_ATTRIBUTES.contains(&last) {
            continue;
        }
        let mut rest = a.tokens.as_str();
        while let Some(i) = rest.find('<') {
            rest = &rest[i + 1..];
            let Some(end) = rest.find('>') else { break };
            let inner = &rest[..end];
            let (name, tail) = match inner.strip_suffix("..") {
                Some(n) => (n, true),
                None => (inner, false),
            };
            if !name.is_empty() && name.chars().all(|c| c.is_alphanumeric() || c == '_') {
                out.push((name.to_string(), tail));
            }
            rest = &rest[end..];
        }
    }
    out
}

pub struct FnState<'s, 'p, 'a> {
    fl: &'s Flows<'p, 'a>,
    unit: u32,
    ctx: Ctx,
    env: HashMap<Name, Taint>,
    res: FnResult,
    fn_calls: &'a FnDef,
    closure_depth: usize,
    /// Per call expression, by the address of its node (the callee path of a call, the receiver of a
    /// method call): what it resolves to. The body is walked twice and resolving a path is costly;
    /// neither depends on taints.
    resolved: HashMap<usize, Resolved>,
    /// Bindings holding the row of a constant `SELECT`, with the values it was looked up by: when the
    /// function rejects a missing row, those values are known keys of the service's own table.
    lookups: HashMap<Name, Vec<Name>>,
    /// What the function binds again (names, and fields assigned), read by the field checks.
    rebound: std::cell::OnceCell<crate::facts::Rebinds>,
}

#[derive(Clone)]
struct Resolved {
    callee: Option<FnId>,
    /// The catalog's flow entries matching the call's names.
    entries: Arc<[usize]>,
}

impl FnState<'_, '_, '_> {
    fn catalog_flow(&self) -> &[FlowEntry] {
        &self.fl.an.catalog.flow
    }

    fn is_secret(&self, name: &str) -> bool {
        self.fl.an.catalog.is_secret_name(name)
    }

    fn bind(&mut self, pat: &Pat, t: Taint, strong: bool) {
        for b in &pat.bindings {
            let mut v = t;
            if self.is_secret(b) {
                v = v.with(SECRET);
            }
            if strong {
                self.env.insert(*b, v);
            } else {
                let e = self.env.entry(*b).or_default();
                *e = e.join(v);
            }
        }
    }

    fn record(&mut self, span: Span, recv: Taint, args: Vec<Taint>) {
        let key = (self.unit, span.start, span.end);
        let slot = self.res.calls.entry(key).or_insert((Taint::NONE, vec![]));
        slot.0 = slot.0.join(recv);
        if slot.1.len() < args.len() {
            slot.1.resize(args.len(), Taint::NONE);
        }
        for (i, a) in args.into_iter().enumerate() {
            slot.1[i] = slot.1[i].join(a);
        }
    }

    fn block(&mut self, b: &Block) -> Taint {
        let mut last = Taint::NONE;
        for (i, s) in b.stmts.iter().enumerate() {
            match s {
                Stmt::Let(l) => {
                    let crate::facts::Let {
                        pat, ty, init, els, ..
                    } = &**l;
                    let mut t = init.as_ref().map(|e| self.expr(e)).unwrap_or_default();
                    if ty.as_ref().is_some_and(is_scalar_type) {
                        t = Taint::NONE;
                    }
                    self.bind(pat, t, true);
                    // A key bound again is no longer the value that was looked up.
                    self.forget_keys(&pat.bindings);
                    if let ([row], Some(init)) = (&pat.bindings[..], init) {
                        match row_lookup_keys(init) {
                            Some(keys) => self.lookups.insert(*row, keys),
                            None => self.lookups.remove(row),
                        };
                    }
                    if let Some(e) = els {
                        self.block(e);
                    }
                    last = Taint::NONE;
                }
                Stmt::Expr { expr, semi } => {
                    let t = self.expr(expr);
                    last = if !semi && i + 1 == b.stmts.len() {
                        t
                    } else {
                        Taint::NONE
                    };
                }
            }
        }
        last
    }

    /// Drops these names from the keys of the rows looked up so far.
    fn forget_keys(&mut self, names: &[Name]) {
        if self.lookups.is_empty() {
            return;
        }
        for keys in self.lookups.values_mut() {
            keys.retain(|k| !names.contains(k));
        }
    }

    /// The local binding an expression is rooted in (`s` in `s`, `&mut s`, `self.s`).
    fn root(e: &Expr) -> Option<Name> {
        match e {
            Expr::Path { segs, .. } if segs.len() == 1 => Some(segs[0]),
            Expr::Field { base, name, .. } => Self::root(base).map(|r| {
                if r == "self" {
                    Name::new(&format!("self.{name}"))
                } else {
                    r
                }
            }),
            Expr::Index { base, .. } | Expr::Unary { expr: base, .. } => Self::root(base),
            _ => None,
        }
    }

    fn append_to(&mut self, target: &Expr, t: Taint) {
        if let Some(r) = Self::root(target) {
            let e = self.env.entry(r).or_default();
            *e = e.join(t);
        }
    }

    fn lookup(&self, name: &str) -> Taint {
        match self.env.get(name) {
            Some(t) => *t,
            // Bindings the IR does not introduce (loop variables, match arms) are unknown values.
            None if name
                .chars()
                .next()
                .is_some_and(|c| c.is_lowercase() || c == '_') =>
            {
                let t = Taint::label(VARIABLE);
                if self.is_secret(name) {
                    t.with(SECRET)
                } else {
                    t
                }
            }
            // Constants, unit structs and enum variants.
            None => Taint::NONE,
        }
    }

    fn exprs(&mut self, list: &[Expr]) -> Vec<Taint> {
        list.iter().map(|e| self.expr(e)).collect()
    }

    fn expr(&mut self, e: &Expr) -> Taint {
        match e {
            Expr::Lit { .. } => Taint::NONE,
            Expr::Path { segs, .. } => {
                if segs.len() == 1 {
                    self.lookup(&segs[0])
                } else {
                    Taint::NONE
                }
            }
            Expr::Field { base, name, .. } => {
                let mut t = match Self::root(e).filter(|r| r.starts_with("self.")) {
                    Some(r) if self.env.contains_key(&r) => self.env[&r],
                    _ => self.expr(base),
                };
                if self.is_secret(name) {
                    t = t.with(SECRET);
                }
                // A parameter's taint is symbolic here (`params`) until a caller's is substituted.
                if (t.labels & INPUT != 0 || t.params != 0) && self.checked_field(base, name) {
                    t = t.without(INPUT);
                }
                t
            }
            Expr::Index { base, index, .. } => {
                self.expr(index);
                self.expr(base)
            }
            Expr::Tuple { items, .. } | Expr::Array { items, .. } => {
                self.exprs(items).into_iter().fold(Taint::NONE, Taint::join)
            }
            Expr::Struct { fields, .. } => {
                let mut all = Taint::NONE;
                for (_, v) in fields {
                    let t = self.expr(v);
                    self.record(v.span(), Taint::NONE, vec![t]);
                    all = all.join(t);
                }
                all
            }
            Expr::Block { block, .. } => self.block(block),
            Expr::If {
                cond, then, els, ..
            } => {
                self.expr(cond);
                if rejects(then) {
                    self.guard(cond);
                }
                let a = self.block(then);
                let b = els.as_ref().map(|e| self.expr(e)).unwrap_or_default();
                a.join(b)
            }
            Expr::Match {
                scrutinee, arms, ..
            } => {
                self.expr(scrutinee);
                self.exprs(arms).into_iter().fold(Taint::NONE, Taint::join)
            }
            Expr::Loop {
                pat, head, body, ..
            } => {
                if let Some(h) = head {
                    // `for field in fields`: each item carries what the sequence carries.
                    let t = self.expr(h);
                    if let Some(p) = pat {
                        self.bind(p, t, false);
                    }
                }
                self.block(body);
                Taint::NONE
            }
            Expr::LetCond { pat, expr, .. } => {
                let t = self.expr(expr);
                self.bind(pat, t, false);
                Taint::NONE
            }
            Expr::Try { inner, .. } | Expr::Keyword { value: inner, .. } => self.expr(inner),
            Expr::Unary { expr, op, .. } => {
                let t = self.expr(expr);
                if op == "!" {
                    Taint::NONE
                } else {
                    t
                }
            }
            Expr::Binary { op, lhs, rhs, .. } => {
                let l = self.expr(lhs);
                let r = self.expr(rhs);
                match op.as_str() {
                    "+" => {
                        let t = l.join(r);
                        if l.is_variable() || r.is_variable() {
                            t.with(DYNAMIC)
                        } else {
                            t
                        }
                    }
                    "+=" => {
                        let add = if r.is_variable() { r.with(DYNAMIC) } else { r };
                        self.append_to(lhs, add);
                        Taint::NONE
                    }
                    "==" | "!=" | "<" | ">" | "<=" | ">=" | "&&" | "||" => Taint::NONE,
                    _ => l.join(r),
                }
            }
            Expr::Assign {
                target,
                value,
                span,
            } => {
                let t = self.expr(value);
                if let Expr::Field { .. } = target.as_ref() {
                    self.record(*span, Taint::NONE, vec![t]);
                }
                if let Some(r) = Self::root(target) {
                    self.forget_keys(&[r]);
                    self.lookups.remove(&r);
                }
                match Self::root(target) {
                    Some(r) => {
                        let e = self.env.entry(r).or_default();
                        *e = e.join(t);
                    }
                    None => {
                        self.expr(target);
                    }
                }
                Taint::NONE
            }
            Expr::Return { value, .. } => {
                if let Some(v) = value {
                    let mut t = self.expr(v);
                    // An error that quotes the input (`raise ValueError(f"no release {v}")`,
                    // `return Err(..)`) is not the value callers go on with.
                    if v.is_err() {
                        t = t.without(INPUT);
                    }
                    self.res.ret = self.res.ret.join(t);
                }
                Taint::NONE
            }
            Expr::Closure { fn_index, .. } => {
                self.closure(*fn_index, Taint::NONE);
                Taint::NONE
            }
            Expr::Macro(m) => self.mac(&m.path, &m.args, &m.tokens, m.span),
            Expr::Call { func, args, span } => self.call(func, args, *span),
            Expr::Method(m) => {
                let r = self.expr(&m.recv);
                let span = crate::facts::method_span(m.name_span, m.span);
                self.method(&m.recv, r, &m.name, &m.turbofish, &m.args, span)
            }
            Expr::Unknown { .. } => Taint::label(VARIABLE),
        }
    }

    /// Analyses a closure body in the current environment, its parameters bound to `param`.
    fn closure(&mut self, fn_index: u32, param: Taint) -> Taint {
        if self.closure_depth > 8 {
            return Taint::label(VARIABLE);
        }
        let f = self.fl.prog.func(FnId {
            unit: self.unit,
            idx: fn_index,
        });
        let saved = self.env.clone();
        for p in &f.params {
            self.bind(&p.pat, param, true);
        }
        self.closure_depth += 1;
        let t = self.block(&f.body);
        self.closure_depth -= 1;
        // Appends inside the closure (`parts.push(..)`) are kept; its own bindings are dropped.
        let mut merged = saved;
        for (k, v) in &self.env {
            if let Some(old) = merged.get_mut(k) {
                *old = old.join(*v);
            }
        }
        self.env = merged;
        t
    }

    fn mac(&mut self, path: &[Name], args: &[Expr], tokens: &str, span: Span) -> Taint {
        let name = path.last().map(|s| s.as_str()).unwrap_or("");
        let mut ts = self.exprs(args);
        // Inline captures: `format!("… {name} …")`.
        let fmt_index = if matches!(name, "write" | "writeln") {
            1
        } else {
            0
        };
        if let Some(Expr::Lit {
            lit: Lit::Str(f), ..
        }) = args.get(fmt_index)
        {
            for cap in captures(f) {
                let t = self.lookup(&cap);
                ts.push(t);
            }
        }
        if args.is_empty() && !tokens.is_empty() {
            // Unparsed arguments: any known binding named in them flows in.
            // `vec![elem; n]`: the elements are copies of `elem`, the count adds nothing.
            let tokens = match name {
                "vec" => tokens.split(';').next().unwrap_or(tokens),
                _ => tokens,
            };
            let mut t = Taint::NONE;
            for word in tokens.split(|c: char| !(c.is_alphanumeric() || c == '_')) {
                if let Some(v) = self.env.get(word) {
                    t = t.join(*v);
                }
            }
            ts.push(t);
        }
        self.record(span, Taint::NONE, ts.clone());
        let parts: Vec<Taint> = if matches!(name, "write" | "writeln") {
            ts.iter().skip(1).copied().collect()
        } else {
            ts.clone()
        };
        let mut t = parts.iter().copied().fold(Taint::NONE, Taint::join);
        let names = vec![format!("{name}!"), format!("{}!", path.join("::"))];
        t = self.apply_catalog(&names, None, t, &parts);
        if FORMAT_MACROS.contains(&name) {
            if parts.iter().any(|p| p.is_variable()) {
                t = t.with(DYNAMIC);
            }
            if matches!(name, "write" | "writeln") {
                if let Some(target) = args.first() {
                    self.append_to(target, t);
                }
                return Taint::NONE;
            }
        }
        t
    }

    fn call(&mut self, func: &Expr, args: &[Expr], span: Span) -> Taint {
        let Expr::Path { segs, .. } = func else {
            self.expr(func);
            let ts = self.exprs(args);
            return ts.into_iter().fold(Taint::label(VARIABLE), Taint::join);
        };
        let ts = self.exprs(args);
        self.record(span, Taint::NONE, ts.clone());
        let res = self.resolve(func as *const Expr as usize, || {
            synthetic_site(
                CallKind::Call,
                segs.last().cloned().unwrap_or_default(),
                segs.to_vec(),
                span,
            )
        });
        let joined = ts.iter().copied().fold(Taint::NONE, Taint::join);
        let last = segs.last().map(|s| s.as_str()).unwrap_or("");
        let t = if let Some(callee) = res.callee {
            self.res.edges.push((callee, ts.clone(), span));
            match self.fl.summaries.get(&callee) {
                Some(sum) => substitute(*sum, &ts),
                None => Taint::label(VARIABLE),
            }
        } else if last.chars().next().is_some_and(char::is_uppercase)
            || matches!(
                last,
                "from" | "new" | "from_str" | "from_utf8" | "from_utf8_lossy"
            )
        {
            // Constructors and conversions wrap their arguments.
            joined
        } else {
            joined.with(VARIABLE)
        };
        self.apply_entries(&res.entries, None, t, &ts)
    }

    /// A call's callee and catalog entries, resolved on first use.
    fn resolve(&mut self, key: usize, site: impl FnOnce() -> crate::facts::CallSite) -> Resolved {
        if let Some(r) = self.resolved.get(&key) {
            return r.clone();
        }
        let site = site();
        let names = self.fl.an.call_names(&self.ctx, &site);
        let r = Resolved {
            callee: self.fl.an.callee(&self.ctx, &site),
            entries: self.fl.matching_entries(&names),
        };
        self.resolved.insert(key, r.clone());
        r
    }

    fn method(
        &mut self,
        recv: &Expr,
        r: Taint,
        name: &str,
        turbofish: &[TypeRef],
        args: &[Expr],
        span: Span,
    ) -> Taint {
        let mut ts = vec![];
        let mut closure_result = None;
        for a in args {
            if let Expr::Closure { fn_index, .. } = a {
                let t = self.closure(*fn_index, r);
                closure_result = Some(closure_result.unwrap_or(Taint::NONE).join(t));
                ts.push(t);
            } else if let Some(names) = self.fn_path_names(a) {
                // A function given by name (`.map_or_else(.., sanitize_filename::sanitize)`) runs on the
                // receiver's value.
                let t = self.apply_catalog(&names, None, r, &[]);
                closure_result = Some(closure_result.unwrap_or(Taint::NONE).join(t));
                ts.push(Taint::NONE);
            } else {
                ts.push(self.expr(a));
            }
        }
        self.record(span, r, ts.clone());
        let res = self.resolve(recv as *const Expr as usize, || {
            synthetic_site(CallKind::Method, Name::new(name), vec![], span)
        });
        let joined = ts.iter().copied().fold(Taint::NONE, Taint::join);
        let mut t = if APPEND.contains(&name) {
            let add = if joined.is_variable() {
                joined.with(DYNAMIC)
            } else {
                joined
            };
            self.append_to(recv, add);
            Taint::NONE
        } else if SCALAR.contains(&name)
            || name.starts_with("is_")
            || (name == "parse" && turbofish.first().is_some_and(is_scalar_type))
        {
            Taint::NONE
        } else if MAPPERS.contains(&name) && closure_result.is_some() {
            closure_result.unwrap_or_default()
        } else if COMBINE.contains(&name) {
            r.join(joined)
        } else if PROPAGATE.contains(&name) {
            r
        } else {
            match res.callee {
                Some(callee) if self.fl.prog.func(callee).params.len() == args.len() + 1 => {
                    let mut all = vec![r];
                    all.extend(ts.iter().copied());
                    self.res.edges.push((callee, all.clone(), span));
                    match self.fl.summaries.get(&callee) {
                        Some(sum) => substitute(*sum, &all),
                        None => Taint::label(VARIABLE),
                    }
                }
                _ => r.with(VARIABLE),
            }
        };
        // A secret read by name: `headers.get(AUTHORIZATION)`, `jar.get("session_id")`, `bearer.token()`.
        if self.is_secret(name) && args.is_empty() {
            t = t.with(SECRET);
        }
        if name == "get" || name == "get_one" || name == "header" {
            if let Some(a) = args.first() {
                let text = self.fl.an.text(self.unit, a.span());
                let key = a
                    .as_str_lit()
                    .map(str::to_string)
                    .unwrap_or_else(|| norm_name(text));
                if self.fl.an.catalog.is_credential_header(&norm_name(&key))
                    || self.is_secret(&key.to_lowercase().replace('-', "_"))
                {
                    t = t.with(SECRET);
                }
            }
        }
        let fl = self.fl;
        let recv_text = fl.an.text(self.unit, recv.span());
        let out = self.apply_entries(&res.entries, Some(recv_text), t, &ts);
        if out.labels & INPUT != 0 && t.labels & INPUT == 0 {
            self.res
                .origins
                .push((span, "request input read here", None));
        }
        out
    }

    fn apply_catalog(
        &self,
        names: &[String],
        recv_text: Option<&str>,
        t: Taint,
        args: &[Taint],
    ) -> Taint {
        self.apply_entries(&self.fl.matching_entries(names), recv_text, t, args)
    }

    fn apply_entries(
        &self,
        matching: &[usize],
        recv_text: Option<&str>,
        mut t: Taint,
        args: &[Taint],
    ) -> Taint {
        let entries = self.catalog_flow();
        for &i in matching {
            let entry = &entries[i];
            if let Some(r) = &entry.receiver {
                if !recv_text.is_some_and(|t| r.is_match(t)) {
                    continue;
                }
            }
            if !entry.requires.is_empty() && !self.fn_makes(&entry.requires) {
                continue;
            }
            let bits = label_bits(&entry.labels);
            t = match entry.effect.as_str() {
                "source" => t.with(bits),
                "clear" => t.without(bits),
                _ => args.iter().copied().fold(t, Taint::join),
            };
        }
        t
    }

    /// The catalog names of a path argument that names a function rather than a value.
    fn fn_path_names(&self, e: &Expr) -> Option<Vec<String>> {
        let Expr::Path { segs, .. } = e else {
            return None;
        };
        let first = segs.first()?;
        if segs.len() == 1 && self.env.contains_key(first) {
            return None;
        }
        if segs.last()?.chars().next()?.is_uppercase() {
            return None;
        }
        let site = synthetic_site(
            CallKind::Call,
            segs.last().cloned().unwrap_or_default(),
            segs.to_vec(),
            e.span(),
        );
        Some(self.fl.an.call_names(&self.ctx, &site))
    }

    /// A condition that guards a rejection: the values tested by a catalog `guard` call (or a predicate
    /// of the crate) lose the guard's labels.
    fn guard(&mut self, cond: &Expr) {
        let mut tested: Vec<(Name, u8)> = vec![];
        cond.walk(&mut |x| {
            let (names, operands): (Vec<String>, Vec<&Expr>) = match x {
                Expr::Call { func, args, .. } => match func.as_ref() {
                    Expr::Path { segs, .. } => {
                        let mut n = vec![segs.join("::")];
                        let site = synthetic_site(
                            CallKind::Call,
                            segs.last().cloned().unwrap_or_default(),
                            segs.to_vec(),
                            x.span(),
                        );
                        n.extend(self.fl.an.call_names(&self.ctx, &site));
                        (n, args.iter().collect())
                    }
                    _ => return,
                },
                Expr::Method(m) => {
                    let mut ops: Vec<&Expr> = vec![&m.recv];
                    ops.extend(m.args.iter());
                    (vec![format!(".{}", m.name)], ops)
                }
                _ => return,
            };
            for entry in self.catalog_flow().iter().filter(|e| e.effect == "guard") {
                if entry
                    .patterns
                    .iter()
                    .any(|p| names.iter().any(|n| p.is_match(n)))
                {
                    let bits = label_bits(&entry.labels);
                    for op in &operands {
                        if let Some(r) = Self::root(op) {
                            tested.push((r, bits));
                        }
                    }
                }
            }
        });
        // `row = fetchone("SELECT .. WHERE id = :id", {"id": v}); if not row: raise`: `v` names a row
        // of the service's table, an allow-list check.
        if let Some(row) = cond.tested_missing() {
            for key in self.lookups.get(&row).into_iter().flatten() {
                tested.push((*key, INPUT));
            }
        }
        for (name, bits) in tested {
            if let Some(t) = self.env.get_mut(&name) {
                *t = t.without(bits);
            }
        }
    }

    /// `data.id` where `data` is a parameter of a pydantic model type whose `id` field is checked
    /// (and is not bound to something else in the function). A Rust struct's checks hold only once
    /// something calls them, which is the validation rules' concern.
    fn checked_field(&self, base: &Expr, field: &str) -> bool {
        let Some(root) = base.as_ident() else {
            return false;
        };
        if self.fl.prog.unit(self.unit).language != "python" {
            return false;
        }
        // Pydantic does not check assignments (`data.id = q`) by default.
        let (names, fields) = self.rebound.get_or_init(|| self.fn_calls.body.rebinds());
        if names.iter().any(|n| n == root) || fields.iter().any(|(b, f)| b == root && f == field) {
            return false;
        }
        self.fn_calls
            .params
            .iter()
            .find(|p| p.pat.bindings.first().is_some_and(|b| b == root))
            .and_then(|p| p.ty.as_ref())
            .is_some_and(|ty| self.fl.an.field_checked(ty, field, &self.ctx))
    }

    /// Whether the function (or a closure in it) makes one of these calls.
    fn fn_makes(&self, pats: &[crate::catalog::Pattern]) -> bool {
        self.fn_calls.calls.iter().any(|c| {
            let n = match c.kind {
                CallKind::Method => format!(".{}", c.name),
                _ => c.path.join("::"),
            };
            pats.iter().any(|p| p.is_match(&n))
        })
    }
}

/// A call site made up for catalog and callee lookups of an expression.
fn synthetic_site(
    kind: CallKind,
    name: Name,
    path: Vec<Name>,
    span: Span,
) -> crate::facts::CallSite {
    crate::facts::CallSite {
        kind,
        name,
        path,
        generics: vec![],
        args: vec![],
        recv: None,
        checked: false,
        span,
    }
}

/// The locals a `SELECT` written as one string literal is looked up by (its bound parameters, whole
/// names only), when `e` fetches at most a row: `conn.fetchone("SELECT * FROM t WHERE id = :id",
/// {"id": v})`, `sqlx::query("SELECT .. WHERE id = $1").bind(v).fetch_optional(db)`.
fn row_lookup_keys(e: &Expr) -> Option<Vec<Name>> {
    const FETCH_ROW: [&str; 9] = [
        "fetchone",
        "fetchrow",
        "fetch_one",
        "fetch_optional",
        "fetchval",
        "fetch_val",
        "query_row",
        "query_opt",
        "query_one",
    ];
    // One row per match of a key compared for equality: `SELECT count(*)`, `EXISTS (..)` and other
    // computed columns give a row whatever the key.
    let is_select = |a: Option<&Expr>| {
        a.and_then(Expr::as_str_lit).is_some_and(|s| {
            let lower = s.trim_start().to_ascii_lowercase();
            let columns = lower
                .get(7..)
                .and_then(|r| r.split(" from ").next())
                .unwrap_or("");
            let compared = [
                "= :", "=:", "= $", "=$", "= ?", "=?", "= %s", "=%s", "= %(", "=%(",
            ]
            .iter()
            .any(|p| lower.contains(p));
            lower.starts_with("select ") && !columns.contains('(') && compared
        })
    };
    let mut e = e;
    while let Expr::Try { inner, .. } = e {
        e = inner;
    }
    let Expr::Method(fetch) = e else { return None };
    if !FETCH_ROW.contains(&fetch.name.as_str()) {
        return None;
    }
    let mut keys = vec![];
    // DB-API and `databases`: the SQL, then its parameters (a dict, tuple or list of them).
    if is_select(fetch.args.first()) {
        for a in &fetch.args[1..] {
            bound_names(a, &mut keys);
        }
        return (!keys.is_empty()).then_some(keys);
    }
    // sqlx: `query("SELECT ..").bind(a).bind(b).fetch_optional(db)`.
    let mut recv = &fetch.recv;
    loop {
        match recv {
            Expr::Method(m) if m.name == "bind" => {
                m.args.iter().for_each(|a| bound_names(a, &mut keys));
                recv = &m.recv;
            }
            Expr::Call { func, args, .. } => {
                let query = matches!(&**func, Expr::Path { segs, .. }
                    if segs.last().is_some_and(|l| matches!(l.as_str(), "query" | "query_as" | "query_scalar")));
                return (query && is_select(args.first()) && !keys.is_empty()).then_some(keys);
            }
            _ => return None,
        }
    }
}

/// The whole local names among a query's bound parameters: `v`, `&v`, `{"id": v}`, `(v, w)`.
fn bound_names(e: &Expr, out: &mut Vec<Name>) {
    match e {
        Expr::Path { segs, .. } if segs.len() == 1 => out.push(segs[0]),
        Expr::Unary { op, expr, .. } if *op == "&" => bound_names(expr, out),
        Expr::Keyword { value, .. } => bound_names(value, out),
        Expr::Array { items, .. } => items.iter().for_each(|i| match i {
            Expr::Tuple { items: kv, .. } if kv.len() == 2 => bound_names(&kv[1], out),
            other => bound_names(other, out),
        }),
        Expr::Tuple { items, .. } => items.iter().for_each(|i| bound_names(i, out)),
        _ => {}
    }
}

/// Whether a block leaves the function or produces an error: the branch of a check that rejects.
fn rejects(b: &Block) -> bool {
    let mut hit = false;
    b.walk(&mut |e| match e {
        Expr::Return { .. } => hit = true,
        Expr::Call { func, .. } => {
            if let Expr::Path { segs, .. } = func.as_ref() {
                hit |= segs.last().is_some_and(|l| l == "Err");
            }
        }
        Expr::Macro(m) => {
            hit |= m
                .path
                .last()
                .is_some_and(|l| matches!(l.as_str(), "bail" | "panic" | "unreachable"));
        }
        _ => {}
    });
    hit
}

/// A callee's summary applied to the taints of the arguments at a call.
fn substitute(sum: Taint, args: &[Taint]) -> Taint {
    let mut t = Taint::label(sum.labels);
    for (i, a) in args.iter().enumerate().take(MAX_PARAMS) {
        if sum.clean & (1 << i) != 0 {
            t = t.join(a.without(sum.cleared));
        } else if sum.params & (1 << i) != 0 {
            t = t.join(*a);
        }
    }
    t
}

/// Identifiers captured inline by a format string: `{name}`, `{name:?}`, not `{}` or `{0}`.
fn captures(f: &str) -> Vec<String> {
    let mut out = vec![];
    let mut rest = f;
    while let Some(i) = rest.find('{') {
        rest = &rest[i + 1..];
        if rest.starts_with('{') {
            rest = &rest[1..];
            continue;
        }
        let end = rest.find(['}', ':']).unwrap_or(rest.len());
        let id = &rest[..end];
        if !id.is_empty()
            && id
                .chars()
                .next()
                .is_some_and(|c| c.is_alphabetic() || c == '_')
            && id.chars().all(|c| c.is_alphanumeric() || c == '_')
        {
            out.push(id.to_string());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_captures_are_found() {
        assert_eq!(
            captures("SELECT * FROM t WHERE a = '{name}' AND b = {id:?} {{x}} {} {0}"),
            vec!["name", "id"]
        );
    }
}
