//! The crate's own authentication checks (extractors, guards, middleware functions, validators): the
//! functions that read credentials and turn requests away, and whether they record the rejection.

use super::analysis::Analyzer;
use super::program::FnId;
use super::{AuthCheck, Evidence};
use crate::facts::Expr;
use crate::source::Loc;
use rayon::prelude::*;
use std::collections::HashSet;

/// Traits whose implementations run before a handler and may reject the request.
const GUARD_TRAITS: &[&str] = &[
    "FromRequestParts",
    "FromRequest",
    "Middleware",
    "Transform",
    "Service",
    "Handler",
    "Fairing",
    "Endpoint",
];

/// Calls that register handlers: a function passed to them is a handler.
const ROUTING: &[&str] = &[
    "get",
    "post",
    "put",
    "patch",
    "delete",
    "head",
    "options",
    "trace",
    "any",
    "on",
    "route",
    "to",
    "service",
    "routes",
    "openapi_get_routes",
    "get_service",
    "post_service",
];

/// Route attributes (`#[post("/bots/create")]`, actix-web, Rocket, poem-openapi): the function is a
/// handler. (salvo's `#[handler]` also marks middleware, so it says nothing.)
fn is_route_handler(f: &crate::facts::FnDef) -> bool {
    f.attrs.iter().any(|a| {
        let last = a.path.rsplit("::").next().unwrap_or(&a.path);
        super::ROUTE_ATTRIBUTES.contains(&last) || last == "oai"
    })
}

/// Traits through which a rejection type becomes a response (where it may be logged).
const RESPONSE_TRAITS: &[&str] = &["IntoResponse", "ResponseError", "Responder", "Reject"];

pub fn collect(an: &Analyzer, handlers: &HashSet<FnId>) -> Vec<AuthCheck> {
    let prog = an.prog;
    let passed = passed_by_name(an);
    let not_handler = |id: FnId| {
        let f = prog.func(id);
        !f.is_closure && !handlers.contains(&id) && !is_route_handler(f)
    };
    // What a check is, from its signature alone: the summary (what the function does, to the depth
    // of its callees) is computed only for functions that could be reported, and their callers.
    let kind = |id: FnId| -> Option<&'static str> {
        let f = prog.func(id);
        match f.trait_name.as_deref() {
            Some(t) if GUARD_TRAITS.contains(&t) && t.starts_with("From") => Some("extractor"),
            Some(t) if GUARD_TRAITS.contains(&t) => Some("middleware"),
            Some(_) => None,
            None if f.self_ty.is_none() && passed.contains(f.name.as_str()) => Some("middleware"),
            None => None,
        }
    };
    // A Python dependency that returns `None` without credentials turns nobody away: only one that
    // raises (itself, or through a function of the project it calls) is a check.
    let rejects = |id: FnId| prog.unit(id.unit).language != "python" || raises(an, id, 1);
    let checks =
        |id: FnId| not_handler(id) && !an.summary(id).checked_auth.is_empty() && rejects(id);
    let all: Vec<FnId> = prog.all_fns().collect();
    let reported: Vec<(FnId, &'static str)> = all
        .par_iter()
        .filter_map(|&id| kind(id).filter(|_| checks(id)).map(|k| (id, k)))
        .collect();
    let set: HashSet<FnId> = reported.iter().map(|(id, _)| *id).collect();
    // A check called by another check is part of it: report the outermost one.
    let inner: HashSet<FnId> = all
        .par_iter()
        .flat_map_iter(|&caller| {
            let ctx = prog.ctx_of(caller);
            let called: Vec<FnId> = prog
                .func(caller)
                .calls
                .iter()
                .filter_map(|c| an.callee(&ctx, c))
                .filter(|x| *x != caller && set.contains(x))
                .collect();
            let keep = !called.is_empty() && checks(caller);
            called.into_iter().filter(move |_| keep)
        })
        .collect();
    let mut out = vec![];
    for (id, kind) in reported.into_iter().filter(|(id, _)| !inner.contains(id)) {
        let f = prog.func(id);
        let file = prog.unit(id.unit).file;
        let s = an.summary(id);
        let mut audit = s.audit.clone();
        if audit.is_empty() {
            audit.extend(rejection_logging(an, id));
        }
        out.push(AuthCheck {
            package: prog.package_of(id.unit).to_string(),
            name: prog.fn_display(id),
            kind: kind.into(),
            loc: Loc::new(file, f.span),
            records: !audit.is_empty(),
            evidence: s.checked_auth.iter().take(2).cloned().collect(),
            audit,
        });
    }
    out
}

/// Free functions count when they are handed to the framework by name (`from_fn(auth)`,
/// `HttpAuthentication::bearer(validator)`, `.hoop(auth_user)`): helpers called directly are part of
/// whatever calls them. Handed to a route (`post(create_bot)`, `routes![..]`), a function is a
/// handler, not a check.
fn passed_by_name<'p>(an: &Analyzer<'p, '_>) -> HashSet<&'p str> {
    let mut passed: HashSet<&str> = HashSet::new();
    for id in an.prog.all_fns() {
        // Python's `user = Depends(current_user)`: a dependency handed over in a parameter's default.
        for p in &an.prog.func(id).params {
            if let Some(d) = p.default.as_deref() {
                d.walk(&mut |e| {
                    if let Expr::Call { args, .. } = e {
                        for a in args {
                            if let Expr::Path { segs, .. } = a {
                                passed.extend(segs.last().map(|s| s.as_str()));
                            }
                        }
                    }
                });
            }
        }
        for c in an
            .prog
            .func(id)
            .calls
            .iter()
            .filter(|c| !ROUTING.contains(&c.name.as_str()))
        {
            for a in &c.args {
                let t = a.text.trim();
                if !t.is_empty()
                    && t.chars()
                        .all(|ch| ch.is_ascii_alphanumeric() || ch == '_' || ch == ':')
                {
                    passed.insert(t.rsplit("::").next().unwrap_or(t));
                }
            }
        }
    }
    passed
}

/// Logging done where the function's error type turns into a response (`impl IntoResponse for ApiError`).
fn rejection_logging(an: &Analyzer, id: FnId) -> Vec<Evidence> {
    let prog = an.prog;
    let mut types: Vec<crate::facts::Name> = vec![];
    prog.func(id).body.walk(&mut |e| {
        if let Expr::Path { segs, .. } = e {
            if segs.len() >= 2 {
                let ty = &segs[segs.len() - 2];
                if ty.chars().next().is_some_and(char::is_uppercase) && !types.contains(ty) {
                    types.push(*ty);
                }
            }
        }
    });
    for ty in types {
        for (u, imp) in prog.impls_of(&ty) {
            let responds = imp
                .trait_path
                .as_ref()
                .and_then(|p| p.last())
                .is_some_and(|t| RESPONSE_TRAITS.contains(&t.as_str()));
            if !responds {
                continue;
            }
            for &i in &imp.fns {
                let s = an.summary(FnId { unit: u, idx: i });
                if let Some(first) = s.audit.first() {
                    return vec![Evidence {
                        loc: first.loc,
                        note: format!("`{ty}` records rejections when it responds"),
                    }];
                }
            }
        }
    }
    vec![]
}

/// Whether a Python function raises (`raise` is lowered to `return Err(..)`), or a function of the
/// project it calls does, `depth` calls down.
fn raises(an: &Analyzer, id: FnId, depth: usize) -> bool {
    let f = an.prog.func(id);
    let own = f.body.raises();
    if own || depth == 0 {
        return own;
    }
    let ctx = an.prog.ctx_of(id);
    f.calls.iter().any(|c| {
        an.callee(&ctx, c)
            .filter(|callee| *callee != id)
            .is_some_and(|callee| raises(an, callee, depth - 1))
    })
}
