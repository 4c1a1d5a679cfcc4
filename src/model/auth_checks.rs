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
    // Every function's summary, side by side: a summary is the same whichever thread computes it.
    let all: Vec<FnId> = prog.all_fns().collect();
    let candidates: Vec<FnId> = all
        .into_par_iter()
        .filter(|id| {
            let f = prog.func(*id);
            !f.is_closure
                && !handlers.contains(id)
                && !is_route_handler(f)
                && !an.summary(*id).checked_auth.is_empty()
        })
        .collect();
    let set: HashSet<FnId> = candidates.iter().copied().collect();
    // A check called by another check is part of it: report the outermost one.
    let mut inner: HashSet<FnId> = HashSet::new();
    for &id in &candidates {
        let ctx = prog.ctx_of(id);
        for c in &prog.func(id).calls {
            if let Some(callee) = an.callee(&ctx, c).filter(|x| *x != id && set.contains(x)) {
                inner.insert(callee);
            }
        }
    }
    // Free functions count when they are handed to the framework by name (`from_fn(auth)`,
    // `HttpAuthentication::bearer(validator)`, `.hoop(auth_user)`): helpers called directly are part of
    // whatever calls them.
    let mut passed: HashSet<&str> = HashSet::new();
    for id in prog.all_fns() {
        // Handed to a route (`post(create_bot)`, `routes![..]`), a function is a handler, not a check.
        for c in prog
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
    let mut out = vec![];
    for id in candidates.into_iter().filter(|id| !inner.contains(id)) {
        let f = prog.func(id);
        let file = prog.unit(id.unit).file;
        let s = an.summary(id);
        let kind = match f.trait_name.as_deref() {
            Some(t) if GUARD_TRAITS.contains(&t) => {
                if t.starts_with("From") {
                    "extractor"
                } else {
                    "middleware"
                }
            }
            Some(_) => continue,
            None if f.self_ty.is_none() && passed.contains(f.name.as_str()) => "middleware",
            None => continue,
        };
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
