//! FastAPI dependencies by behaviour: a dependency that reads credentials (a security scheme such as
//! `OAuth2PasswordBearer`, an `Authorization` header or cookie parameter, a credential header read in
//! its body, or another dependency that does) and rejects a request without them (the scheme's
//! `auto_error`, a `raise` in the function) enforces authentication; one that reads them but can
//! return without raising (`auto_error=False`, `return None`) identifies the caller only. Rate-limit
//! dependencies (fastapi-limiter's `RateLimiter`) limit the route. Other dependencies (a database
//! session) wrap nothing the rules ask about and become no layer.

use super::values::{Obj, Py};
use super::{Frame, Interp};
use crate::facts::{Expr, Name};
use crate::model::program::FnId;
use crate::model::value::LayerVal;
use crate::model::Middleware;
use crate::source::Loc;
use std::rc::Rc;

/// fastapi.security's schemes: each reads a credential and, unless `auto_error=False`, answers 401 or
/// 403 itself when it is missing.
const SCHEMES: &[&str] = &[
    "OAuth2PasswordBearer",
    "OAuth2AuthorizationCodeBearer",
    "OAuth2",
    "OpenIdConnect",
    "HTTPBearer",
    "HTTPBasic",
    "HTTPDigest",
    "APIKeyHeader",
    "APIKeyCookie",
    "APIKeyQuery",
];

/// fastapi-jwt-auth's class (and its forks'), given as `Authorize: AuthJWT = Depends()`: it reads the
/// token; `Authorize.jwt_required()` rejects a request without a valid one.
const JWT_HELPERS: &[&str] = &["AuthJWT", "AuthJWTBearer"];
/// Its methods that reject a request without a valid token.
const JWT_REQUIRED: &[&str] = &[
    "jwt_required",
    "fresh_jwt_required",
    "jwt_refresh_token_required",
];

/// Dependencies are followed this deep.
const MAX_DEPTH: usize = 4;

/// What a dependency does for authentication: it reads credentials, and whether it always rejects a
/// request without valid ones.
#[derive(Clone, Default)]
struct Reads {
    enforced: bool,
    /// Enforced only when a setting asks for it (`if not settings.auth_enabled: return None`).
    conditional: bool,
    note: String,
}

enum Kind {
    Auth(Reads),
    RateLimit(String),
}

impl Interp<'_, '_> {
    /// `dependencies=[Depends(a), Depends(b)]` as layers (innermost first: FastAPI runs them in order).
    pub(super) fn deps_list(&mut self, v: Option<&Py>) -> Vec<LayerVal> {
        let Some(Py::List(items)) = v else {
            return vec![];
        };
        let items = items.clone();
        items
            .iter()
            .rev()
            .filter_map(|d| match d {
                Py::Dep(inner, loc) => self.dep_layer(inner, *loc),
                _ => None,
            })
            .collect()
    }

    /// The dependencies a route function's parameters declare (`user = Depends(current_user)`,
    /// `user: CurrentUser` for an `Annotated` alias), and the indices of those parameters, which are no request inputs.
    pub(super) fn param_deps(&mut self, id: FnId) -> (Vec<LayerVal>, Vec<usize>) {
        let mut layers = vec![];
        let mut params = vec![];
        for (dep, loc, index) in self.declared_deps(id) {
            let mut layer = self.dep_layer(&dep, loc);
            // `user = Depends(optional_user)` and `if user is None: raise HTTPException(401)`: the
            // route rejects a request without an identity.
            let func = self.prog.func(id);
            if let (Some(preset), Some(name)) = (
                layer.as_mut().and_then(|l| l.preset.as_mut()),
                func.params.get(index).and_then(|p| p.pat.bindings.first()),
            ) {
                let (m, note) = &mut **preset;
                let conditional = m.tags.iter().any(|t| t == "conditional");
                if m.capability == "auth" && m.optional && !conditional {
                    let required = jwt_required(func, *name);
                    if rejects_without(&func.body, *name) || required == Some(false) {
                        m.optional = false;
                        *note = format!("{note}; `{}` raises without `{name}`", func.name);
                    } else if required == Some(true) {
                        m.tags.push("conditional".into());
                        *note =
                            format!("{note}; `{}` requires it only under a condition", func.name);
                    }
                }
            }
            layers.extend(layer);
            params.push(index);
        }
        (layers, params)
    }

    /// A class-based view's dependencies (fastapi-utils' `@cbv`, and controllers like it): the class
    /// attributes whose value is `Depends(..)`, the base classes' included, apply to every route method.
    pub(super) fn class_deps(&mut self, id: FnId) -> Vec<LayerVal> {
        let Some(class) = self.prog.func(id).self_ty else {
            return vec![];
        };
        let ctx = self.prog.ctx_of(id);
        let mut found = vec![];
        for (_, def) in self.class_chain(&ctx, class) {
            let Some((unit, t)) = def else { continue };
            for field in &t.fields {
                if let Some(d) = &field.default {
                    found.push((unit, t.module.clone(), (**d).clone(), field.span));
                }
            }
        }
        let mut out = vec![];
        for (unit, module, default, span) in found {
            let Some(globals) = self.module_env(&module) else {
                continue;
            };
            let mut frame = Frame {
                ctx: crate::model::program::Ctx {
                    unit,
                    module,
                    self_ty: None,
                },
                locals: Rc::default(),
                globals,
                returned: None,
            };
            if let Py::Dep(inner, _) = self.eval(&mut frame, &default) {
                let loc = Loc::new(self.prog.unit(unit).file, span);
                out.extend(self.dep_layer(&inner, loc));
            }
        }
        out
    }

    fn declared_deps(&mut self, id: FnId) -> Vec<(Py, Loc, usize)> {
        let func = self.prog.func(id);
        let Some(globals) = self.module_env(&func.module) else {
            return vec![];
        };
        let mut frame = Frame {
            ctx: self.prog.ctx_of(id),
            locals: Rc::default(),
            globals,
            returned: None,
        };
        let file = self.prog.unit(id.unit).file;
        let mut out = vec![];
        for (i, p) in func.params.iter().enumerate() {
            let loc = Loc::new(file, p.span);
            let from_default = p.default.as_ref().map(|d| self.eval(&mut frame, d));
            // `user: CurrentUser` or `auth: auth.OrganizationsRead`, aliases of `Annotated[.., Depends(..)]`.
            let from_alias = p.ty.as_ref().filter(|t| !t.segs.is_empty()).map(|t| {
                let mut v = self.lookup(&frame, t.segs[0]);
                for s in &t.segs[1..] {
                    v = self.attr(v, *s);
                }
                v
            });
            for v in from_default.into_iter().chain(from_alias.clone()) {
                match v {
                    // `Authorize: AuthJWT = Depends()`: the dependency is the annotated class.
                    Py::Dep(inner, _) if matches!(*inner, Py::Unknown) => {
                        if let Some(class) = from_alias.clone().filter(|c| matches!(c, Py::Ext(_)))
                        {
                            out.push((class, loc, i));
                        }
                    }
                    Py::Dep(inner, _) => out.push((*inner, loc, i)),
                    _ => {}
                }
            }
        }
        out
    }

    fn dep_layer(&mut self, inner: &Py, loc: Loc) -> Option<LayerVal> {
        let kind = self.dep_kind(inner, 0)?;
        let name = format!("Depends({})", self.dep_name(inner));
        let (capability, optional, conditional, note) = match kind {
            Kind::Auth(r) => ("auth", !r.enforced || r.conditional, r.conditional, r.note),
            Kind::RateLimit(note) => ("rate-limit", false, false, note),
        };
        let mut tags = vec!["dependency".to_string()];
        if conditional {
            tags.push("conditional".into());
        }
        let m = Middleware {
            name: name.clone(),
            capability: capability.into(),
            tags,
            loc,
            directives: None,
            keys_identity: None,
            optional,
        };
        let note = format!("{capability} dependency `{name}`: {note}");
        Some(super::preset_layer(m, note))
    }

    fn dep_name(&self, v: &Py) -> String {
        match v {
            Py::Func(id, _) => self.prog.func(*id).name.to_string(),
            Py::Obj(o) => o.name().to_string(),
            Py::Ext(p) => p.last().map_or(String::new(), |n| n.to_string()),
            _ => "..".into(),
        }
    }

    fn dep_kind(&mut self, v: &Py, depth: usize) -> Option<Kind> {
        if depth > MAX_DEPTH {
            return None;
        }
        match v {
            Py::Obj(o) => self.object_kind(o, depth),
            Py::Func(id, _) => self.fn_kind(*id, depth).map(Kind::Auth),
            // fastapi-jwt-auth: reads the token, and enforces only where `jwt_required()` is called.
            Py::Ext(p) if p.last().is_some_and(|c| JWT_HELPERS.contains(&c.as_str())) => {
                Some(Kind::Auth(Reads {
                    enforced: false,
                    note: format!(
                        "`{}` reads a JWT, enforced where `jwt_required()` is called",
                        p.last().map_or("", |c| c.as_str())
                    ),
                    ..Default::default()
                }))
            }
            _ => None,
        }
    }

    fn object_kind(&mut self, o: &Obj, depth: usize) -> Option<Kind> {
        let name = o.name();
        // A scheme, or a class of the project built on one (`class BearerAuth(HTTPBearer)`).
        let chain = match o.path.as_slice() {
            [class] if o.method.is_none() => self.class_chain(&self.prog.ctx_of_unit(0), *class),
            _ => vec![],
        };
        let scheme = o.method.is_none()
            && (SCHEMES.contains(&name)
                || chain.iter().any(|(c, _)| SCHEMES.contains(&c.as_str())));
        if scheme {
            let enforced = !matches!(o.kwarg("auto_error"), Some(Py::Bool(false)));
            return Some(Kind::Auth(Reads {
                enforced,
                note: if enforced {
                    format!("`{name}` rejects requests without credentials")
                } else {
                    format!("`{name}(auto_error=False)` lets requests without credentials through")
                },
                ..Default::default()
            }));
        }
        // fastapi-users: `fastapi_users.current_user(active=True)`.
        if o.method.as_ref().is_some_and(|m| m == "current_user") {
            let enforced = !matches!(o.kwarg("optional"), Some(Py::Bool(true)));
            return Some(Kind::Auth(Reads {
                enforced,
                note: "fastapi-users `current_user`".into(),
                ..Default::default()
            }));
        }
        if name == "RateLimiter" {
            return Some(Kind::RateLimit("fastapi-limiter `RateLimiter`".into()));
        }
        // An instance of a class of the project whose `__call__` (its own or a base class's) is the
        // dependency.
        let calls: Vec<FnId> = chain
            .iter()
            .filter_map(|(c, _)| self.method_of(*c, "__call__"))
            .collect();
        calls
            .into_iter()
            .find_map(|call| self.fn_kind(call, depth).map(Kind::Auth))
    }

    /// A dependency function: whether it reads credentials, and whether it always rejects without.
    fn fn_kind(&mut self, id: FnId, depth: usize) -> Option<Reads> {
        let mut reads: Option<Reads> = None;
        let mut sub_enforced = false;
        for (dep, _, _) in self.declared_deps(id) {
            if let Some(Kind::Auth(r)) = self.dep_kind(&dep, depth + 1) {
                sub_enforced |= r.enforced;
                reads.get_or_insert(r);
            }
        }
        let func = self.prog.func(id);
        for p in &func.params {
            if let Some(h) = p.default.as_deref().and_then(|d| header_param(d, &p.pat)) {
                let lower = h.to_ascii_lowercase();
                let catalog = self.an.catalog;
                if catalog.is_credential_header(&lower) || catalog.is_credential_name(&lower) {
                    reads.get_or_insert(Reads {
                        enforced: false,
                        note: format!("reads credentials (`{h}`)"),
                        ..Default::default()
                    });
                }
            }
        }
        let summary = self.an.summary(id);
        if let Some(c) = summary.credential.first() {
            reads.get_or_insert(Reads {
                enforced: false,
                note: c.note.clone(),
                ..Default::default()
            });
        }
        let text = &self.prog.unit(id.unit).text;
        let gate = setting_gate(func);
        let (own_raise, denies, lets_through) =
            raises_and_returns_none(gate.as_ref().unwrap_or(&func.body), text);
        // `return await _check_account_exists(r, token)`: a function of the project it calls may be
        // the one that raises.
        let raises = own_raise || self.callee_raises(id, 2);
        // Where the credential is read out of sight (a scheme built at run time), a dependency that
        // answers 401/403 (`raise Unauthorized()`) is still authentication.
        if let (None, Some(d)) = (&reads, &denies) {
            reads = Some(Reads {
                enforced: false,
                note: format!("`{}` raises `{d}`", func.name),
                ..Default::default()
            });
        }
        let mut r = reads?;
        // `Authorize.jwt_required()` on a fastapi-jwt-auth parameter: raises without a valid token.
        let required = func
            .params
            .iter()
            .filter_map(|p| p.pat.bindings.first())
            .find_map(|name| jwt_required(func, *name));
        let raises = raises || required == Some(false);
        r.enforced = sub_enforced || ((raises || !summary.denies.is_empty()) && !lets_through);
        if required == Some(true) && !r.enforced {
            r.enforced = true;
            r.conditional = true;
            r.note = format!(
                "`{}` requires a JWT only when a setting asks for it (`jwt_required()` under a condition)",
                func.name
            );
            return Some(r);
        }
        if r.enforced && !sub_enforced {
            r.note = format!("`{}` reads credentials and raises without them", func.name);
        }
        if r.enforced && gate.is_some() {
            r.conditional = true;
            r.note = format!(
                "`{}` reads credentials and raises without them, unless a setting turns it off",
                func.name
            );
        }
        Some(r)
    }
}

impl Interp<'_, '_> {
    /// Whether a function of the project that `id` calls (by path, `depth` calls deep) raises.
    fn callee_raises(&self, id: FnId, depth: usize) -> bool {
        if depth == 0 {
            return false;
        }
        let ctx = self.prog.ctx_of(id);
        let func = self.prog.func(id);
        let instances = instances_of_classes(&func.body);
        func.calls.iter().any(|c| {
            c.kind == crate::facts::CallKind::Call
                && match c.path.as_slice() {
                    // `check = KeyChecker(..); return await check(request)`: the class's `__call__`.
                    [local] if instances.contains_key(local) => self
                        .class_chain(&ctx, instances[local])
                        .iter()
                        .find_map(|(class, _)| self.method_of(*class, "__call__")),
                    path => self.prog.resolve_fn(&ctx, path),
                }
                .filter(|callee| *callee != id)
                .is_some_and(|callee| {
                    let text = &self.prog.unit(callee.unit).text;
                    raises_and_returns_none(&self.prog.func(callee).body, text).0
                        || self.callee_raises(callee, depth - 1)
                })
        })
    }
}

/// A dependency that first returns `None` when a setting says so (`if not require_login(): return
/// None`, a condition that reads none of its parameters): the rest of its body, which runs when the
/// setting asks for authentication.
fn setting_gate(func: &crate::facts::FnDef) -> Option<crate::facts::Block> {
    use crate::facts::Stmt;
    let params: Vec<Name> = func
        .params
        .iter()
        .flat_map(|p| p.pat.bindings.iter().copied())
        .collect();
    // A docstring comes first.
    let first = func.body.stmts.iter().position(|s| {
        !matches!(
            s,
            Stmt::Expr {
                expr: Expr::Lit { .. },
                ..
            }
        )
    })?;
    let Stmt::Expr {
        expr:
            Expr::If {
                cond,
                then,
                els: None,
                ..
            },
        ..
    } = &func.body.stmts[first]
    else {
        return None;
    };
    let returns_none = matches!(
        &then.stmts[..],
        [Stmt::Expr { expr: Expr::Return { value, .. }, .. }]
            if value.as_deref().is_none_or(Expr::is_none_value)
    );
    if !returns_none || cond.reads_any(&params) {
        return None;
    }
    Some(crate::facts::Block {
        stmts: func.body.stmts[first + 1..].to_vec().into_boxed_slice(),
    })
}

/// Whether a function calls `name.jwt_required()` (fastapi-jwt-auth): `Some(false)` where it always
/// runs, `Some(true)` only under a condition that reads none of the function's parameters (a setting:
/// `if env == "PROD": Authorize.jwt_required()`).
fn jwt_required(func: &crate::facts::FnDef, name: Name) -> Option<bool> {
    use crate::facts::Stmt;
    // The parameters, and the locals computed from them: a condition on those is the route's logic.
    let mut request: Vec<Name> = func
        .params
        .iter()
        .flat_map(|p| p.pat.bindings.iter().copied())
        .collect();
    let is_required = |e: &Expr| {
        let e = match e {
            Expr::Try { inner, .. } => inner,
            e => e,
        };
        matches!(e, Expr::Method(m) if JWT_REQUIRED.contains(&m.name.as_str())
            && matches!(&m.recv, Expr::Path { segs, .. } if segs.len() == 1 && segs[0] == name))
    };
    let mut conditional = None;
    for s in func.body.stmts.iter() {
        let expr = match s {
            Stmt::Let(l) => {
                if l.init.as_ref().is_some_and(|i| i.reads_any(&request)) {
                    request.extend(l.pat.bindings.iter().copied());
                }
                continue;
            }
            Stmt::Expr { expr, .. } => expr,
        };
        if is_required(expr) {
            return Some(conditional.unwrap_or(false));
        }
        if let Expr::If { cond, then, .. } = expr {
            let in_then = then
                .stmts
                .iter()
                .any(|t| matches!(t, Stmt::Expr { expr, .. } if is_required(expr)));
            if in_then && !cond.reads_any(&request) {
                conditional = Some(true);
                continue;
            }
        }
        // A return before the call may skip it.
        let mut returns = false;
        expr.walk(&mut |x| {
            if let Expr::Return { value, .. } = x {
                returns |= !value.as_deref().is_some_and(Expr::is_err);
            }
        });
        if returns {
            return conditional;
        }
    }
    conditional
}

/// Whether a function raises, in a top-level statement, when `name` is empty: `if not user: raise ..`,
/// `if user is None: raise ..`.
fn rejects_without(body: &crate::facts::Block, name: Name) -> bool {
    // Only a check of the handler's own top-level statements guards everything after it: one nested
    // in another condition (`if body.private: if user is None: raise`) lets the rest through.
    body.stmts.iter().any(|s| {
        matches!(s, crate::facts::Stmt::Expr { expr: Expr::If { cond, then, .. }, .. }
            if cond.tested_missing() == Some(name) && raises_and_returns_none(then, "").0)
    })
}

/// Locals bound to a new instance of a class: `check = KeyChecker(api_key=key)` (local to class).
fn instances_of_classes(body: &crate::facts::Block) -> std::collections::HashMap<Name, Name> {
    let mut out = std::collections::HashMap::new();
    for s in body.stmts.iter() {
        if let crate::facts::Stmt::Let(l) = s {
            if let ([local], Some(Expr::Call { func, .. })) = (&l.pat.bindings[..], &l.init) {
                if let Expr::Path { segs, .. } = &**func {
                    if let Some(class) = segs.last().filter(|c| c.starts_with(char::is_uppercase)) {
                        out.insert(*local, *class);
                    }
                }
            }
        }
    }
    out
}

/// Whether a function body raises (`return Err(..)` after lowering), and whether it returns `None`
/// (or nothing) anywhere: a dependency that does lets a request without credentials through.
fn raises_and_returns_none(body: &crate::facts::Block, text: &str) -> (bool, Option<String>, bool) {
    let mut raises = false;
    let mut denies = None;
    let mut none = false;
    body.walk(&mut |e| {
        if let Expr::Return { value, .. } = e {
            match value.as_deref() {
                Some(v @ Expr::Call { args, .. }) if v.is_err() => {
                    raises = true;
                    let span = args.first().map(|a| a.span()).unwrap_or_default();
                    let exc = text
                        .get(span.start as usize..span.end as usize)
                        .unwrap_or("");
                    if denies.is_none() && crate::model::analysis::says_denied(exc) {
                        denies = Some(exc.chars().take(60).collect());
                    }
                }
                None => none = true,
                Some(v) if v.is_none_value() => none = true,
                _ => {}
            }
        }
    });
    (raises, denies, none)
}

/// The header or cookie a parameter reads: `authorization: str = Header(..)`,
/// `key = Header(alias="X-API-Key")`, `session: str = Cookie(None)`.
fn header_param(default: &Expr, pat: &crate::facts::Pat) -> Option<String> {
    let Expr::Call { func, args, .. } = default else {
        return None;
    };
    let Expr::Path { segs, .. } = &**func else {
        return None;
    };
    if !segs
        .last()
        .is_some_and(|s| *s == "Header" || *s == "Cookie")
    {
        return None;
    }
    let alias = args.iter().find_map(|a| match a {
        Expr::Keyword { name, value, .. } if *name == "alias" => {
            value.as_str_lit().map(str::to_string)
        }
        _ => None,
    });
    alias.or_else(|| pat.bindings.first().map(|b| b.replace('_', "-")))
}
