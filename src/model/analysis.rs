//! What a function does that matters for security, summarised once per function: reading or verifying
//! credentials, explicit auth checks, rate-limit checks, cache headers, response-cache stores, redirects,
//! validation. Middleware layers and handler parameters are classified here too.

use super::fast_hash::FastHash;
use super::program::{Ctx, FnId, Program};
use super::value::LayerVal;
use super::{Evidence, Middleware};
use crate::catalog::{CallEntry, Catalog};
use crate::facts::{CallKind, CallSite, Expr, TypeRef};
use crate::source::{Loc, Span};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

#[derive(Debug, Default)]
pub struct FnSummary {
    /// Reads credentials (Authorization, API key, session, auth cookie) or verifies a token.
    pub credential: Vec<Evidence>,
    /// A credential read or verification whose outcome decides what happens next.
    pub checked_auth: Vec<Evidence>,
    pub rate_limit: Vec<Evidence>,
    /// Cache-Control values the function sets on its response.
    pub cache_headers: Vec<(String, Evidence)>,
    pub redirect: bool,
    /// Redirects to an `https` URL (not, say, to a login page).
    pub redirect_https: bool,
    pub cache_store: Option<Evidence>,
    /// Calls a validation API or rejects input with an early `Err`.
    pub validates: Vec<Evidence>,
    /// Records something: a log or tracing event, a metric.
    pub audit: Vec<Evidence>,
    /// May write something (a database, a file, a cache, a channel, shared state): it makes a call that
    /// is not known to only read, parse or build a response, directly or through the crate's functions.
    pub may_change_state: bool,
    /// Checks a submitted password or one-time code (the catalog's `password-verify` calls), itself or
    /// through the crate's functions.
    pub verifies_password: Vec<Evidence>,
    /// Denies access: returns an `Err` that says unauthorized or forbidden, itself (when called) or
    /// through a call whose outcome it checks (`principal.require_admin()?`).
    pub denies: Vec<Evidence>,
}

pub struct Analyzer<'p, 'a> {
    pub prog: &'p Program<'a>,
    pub catalog: &'p Catalog,
    // Mutexes, not cells, so that summaries can be asked for from several threads: each is a function
    // of the program alone, whoever computes it first.
    memo: Mutex<HashMap<(FnId, usize), Arc<FnSummary>>>,
    /// Layers are shared by every route they wrap: classify each once.
    layers: Mutex<HashMap<(Loc, String), Middleware>>,
    /// Per call site (unit, span), the crate function it calls and its catalog capabilities.
    sites: Sites,
    /// Per function, the crate's calls into it, and the names of the paths used as values rather
    /// than called (`.map(make_client)`), gathered when first asked for.
    callers: std::sync::OnceLock<CallersOf<'a>>,
}

/// A call into a crate function: the calling function, the call's span and kind.
pub type Caller = (FnId, Span, CallKind);

/// Per function, the calls into it; and the names used as values.
type CallersOf<'a> = (
    HashMap<FnId, Vec<Caller>>,
    std::collections::HashSet<&'a str>,
);

/// Header and key names compared in one form: last path segment, no quotes, lowercase, `-` for `_`.
pub fn norm_name(text: &str) -> String {
    let t = text.trim().trim_start_matches('&').trim();
    let t = t.rsplit("::").next().unwrap_or(t);
    t.trim_matches('"').to_lowercase().replace('_', "-")
}

/// Whether an error value says that access is denied: unauthorized or forbidden, by name or status.
pub(crate) fn says_denied(text: &str) -> bool {
    const MARKERS: &[&str] = &[
        "unauthorized",
        "unauthorised",
        "forbidden",
        "unauthenticated",
        "notauthenticated",
        "not_authenticated",
        "notauthorized",
        "not_authorized",
        "accessdenied",
        "access_denied",
        "permissiondenied",
        "permission_denied",
    ];
    let t = text.to_lowercase();
    let status = |code: &str| {
        t.match_indices(code).any(|(i, _)| {
            let digit = |c: Option<char>| c.is_some_and(|c| c.is_ascii_digit());
            !digit(t[..i].chars().next_back()) && !digit(t[i + code.len()..].chars().next())
        })
    };
    MARKERS.iter().any(|m| t.contains(m)) || status("401") || status("403")
}

/// The first string literal in a piece of source text.
pub fn first_string_literal(text: &str) -> Option<String> {
    let start = text.find('"')?;
    let mut out = String::new();
    let mut chars = text[start + 1..].chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                if let Some(n) = chars.next() {
                    out.push(n);
                }
            }
            '"' => return Some(out),
            c => out.push(c),
        }
    }
    None
}

/// The Cache-Control value in a piece of source text that names the header: the first string literal
/// that is not the header name itself (`(header::CACHE_CONTROL, "public")`, `("Cache-Control", "public")`).
pub fn cache_directives_in(text: &str) -> Option<String> {
    let mut rest = text;
    while let Some(lit) = first_string_literal(rest) {
        if norm_name(&lit) != "cache-control" {
            return Some(lit);
        }
        let at = rest
            .find(&format!("\"{lit}\""))
            .map(|i| i + lit.len() + 2)?;
        rest = &rest[at..];
    }
    None
}

/// actix-web's typed header: `CacheControl(vec![CacheDirective::Public, CacheDirective::MaxAge(300)])`.
fn typed_cache_control(text: &str) -> Option<String> {
    if !text.contains("CacheControl(") {
        return None;
    }
    let mut parts = vec![];
    for (variant, directive) in [
        ("Public", "public"),
        ("Private", "private"),
        ("NoStore", "no-store"),
        ("NoCache", "no-cache"),
        ("MaxAge(", "max-age"),
        ("SMaxAge(", "s-maxage"),
    ] {
        if let Some(i) = text.find(&format!("CacheDirective::{variant}")) {
            if variant.ends_with('(') {
                let start = i + "CacheDirective::".len() + variant.len();
                let n: String = text[start..]
                    .chars()
                    .take_while(char::is_ascii_digit)
                    .collect();
                parts.push(format!(
                    "{directive}={}",
                    if n.is_empty() { "1" } else { &n }
                ));
            } else {
                parts.push(directive.to_string());
            }
        }
    }
    (!parts.is_empty()).then(|| parts.join(", "))
}

fn sets_cache_control(d: &str, loc: Loc) -> (String, Evidence) {
    (
        d.to_string(),
        Evidence {
            loc,
            note: format!("sets `Cache-Control: {d}`"),
        },
    )
}

const HEADER_SETTERS: &[&str] = &[
    "raw_header",
    "adjoin_raw_header",
    "set_header",
    "header",
    "insert",
    "append",
    "insert_header",
    "append_header",
    "typed_insert",
    "try_insert",
];
const CACHE_STORE_METHODS: &[&str] = &[
    "get",
    "get_with",
    "try_get_with",
    "insert",
    "set",
    "set_ex",
    "get_value",
    "put",
    "cache_get",
    "cache_set",
];

impl<'p, 'a> Analyzer<'p, 'a> {
    pub fn new(prog: &'p Program<'a>, catalog: &'p Catalog) -> Self {
        Analyzer {
            prog,
            catalog,
            memo: Mutex::new(HashMap::new()),
            layers: Mutex::new(HashMap::new()),
            sites: Sites::resolve(prog, catalog),
            callers: Default::default(),
        }
    }

    /// The crate's calls into a function; `None` when the function is also used as a value (then
    /// it may be called from anywhere).
    pub fn callers(&self, id: FnId) -> Option<&[Caller]> {
        let (calls, values) = self.callers.get_or_init(|| {
            let mut calls: HashMap<FnId, Vec<Caller>> = HashMap::new();
            let mut values = std::collections::HashSet::new();
            for caller in self.prog.all_fns() {
                let f = self.prog.func(caller);
                let ctx = self.prog.ctx_of(caller);
                for c in &f.calls {
                    if let Some(callee) = self.callee(&ctx, c) {
                        calls
                            .entry(callee)
                            .or_default()
                            .push((caller, c.span, c.kind));
                    }
                }
                // Walked in pre-order: a call is met before the path it calls.
                let mut called: std::collections::HashSet<(u32, u32)> = Default::default();
                f.body.walk(&mut |e| match e {
                    Expr::Call { func, .. } => {
                        called.insert((func.span().start, func.span().end));
                    }
                    Expr::Path { segs, span, .. } if !called.contains(&(span.start, span.end)) => {
                        values.extend(segs.last().map(|n| n.as_str()));
                    }
                    _ => {}
                });
            }
            (calls, values)
        });
        if values.contains(self.prog.func(id).name.as_str()) {
            return None;
        }
        Some(calls.get(&id).map_or(&[], Vec::as_slice))
    }

    pub fn loc(&self, unit: u32, span: Span) -> Loc {
        Loc::new(self.prog.unit(unit).file, span)
    }

    pub fn text(&self, unit: u32, span: Span) -> &'a str {
        self.prog
            .unit(unit)
            .text
            .get(span.start as usize..span.end as usize)
            .unwrap_or("")
    }

    /// The names a call may be known by in the catalog.
    pub fn call_names(&self, ctx: &Ctx, c: &CallSite) -> Vec<String> {
        call_names(self.prog, ctx, c)
    }

    /// The crate function a call lands in, if any.
    pub fn callee(&self, ctx: &Ctx, c: &CallSite) -> Option<FnId> {
        match self.sites.get(ctx, c) {
            Some(site) => site.callee,
            None => callee_of(self.prog, ctx, c),
        }
    }

    /// The catalog's entries for what a call of the function whose context is `ctx` is
    /// (`token-verify`, `blocking`, `input`, ..).
    pub fn capabilities(&self, ctx: &Ctx, c: &CallSite) -> Vec<&CallEntry> {
        if matches!(c.kind, CallKind::Field | CallKind::Assign) {
            return vec![];
        }
        match self.sites.get(ctx, c) {
            Some(site) => self.sites.caps[site.caps as usize]
                .iter()
                .map(|&i| &self.catalog.calls[i as usize])
                .collect(),
            None => self.capabilities_in(ctx, c),
        }
    }

    /// The catalog's entries for a call named in another function's context (a closure's calls,
    /// named where the closure is written: `Self::` is the enclosing impl's).
    pub fn capabilities_in(&self, ctx: &Ctx, c: &CallSite) -> Vec<&CallEntry> {
        self.catalog
            .call_entries(&self.call_names(ctx, c))
            .into_iter()
            .map(|i| &self.catalog.calls[i])
            .collect()
    }
}

/// What every call site of the program calls, resolved once: summaries at every depth, the blocking
/// analysis, inputs and the call entities all ask for the same sites.
struct Sites {
    by_span: HashMap<SiteKey, Site, FastHash>,
    /// The distinct lists of catalog entries sites have (the first is empty).
    caps: Vec<Box<[u32]>>,
}

/// A call site: its unit, and where its span starts and ends.
type SiteKey = (u32, u32, u32);

struct Site {
    callee: Option<FnId>,
    /// Index into `Sites::caps`.
    caps: u32,
}

impl Sites {
    fn resolve(prog: &Program, catalog: &Catalog) -> Sites {
        use rayon::prelude::*;
        let fns: Vec<FnId> = prog.all_fns().collect();
        let sites = fns.iter().map(|id| prog.func(*id).calls.len()).sum();
        let mut caps: Vec<Box<[u32]>> = vec![Box::new([])];
        let mut ids: HashMap<Vec<usize>, u32> = HashMap::from([(vec![], 0)]);
        let mut by_span = HashMap::with_capacity_and_hasher(sites, FastHash);
        // A chunk of functions at a time: the sites' entry lists are held only until they are shared.
        for chunk in fns.chunks(1024) {
            let found: Vec<(SiteKey, Option<FnId>, Vec<usize>)> = chunk
                .par_iter()
                .flat_map_iter(|&id| {
                    let ctx = prog.ctx_of(id);
                    prog.func(id)
                        .calls
                        .iter()
                        .map(|c| {
                            let names = call_names(prog, &ctx, c);
                            (
                                (id.unit, c.span.start, c.span.end),
                                callee_of(prog, &ctx, c),
                                catalog.call_entries(&names),
                            )
                        })
                        .collect::<Vec<_>>()
                })
                .collect();
            for (key, callee, entries) in found {
                let next = caps.len() as u32;
                let id = *ids.entry(entries).or_insert_with_key(|e| {
                    caps.push(e.iter().map(|&i| i as u32).collect());
                    next
                });
                // A struct field's site has its value's span, shared with the call that computes
                // it: the later site decides the callee (as it always has), and only a call, which
                // has entries, sets them.
                by_span
                    .entry(key)
                    .and_modify(|s: &mut Site| {
                        s.callee = callee;
                        if id != 0 {
                            s.caps = id;
                        }
                    })
                    .or_insert(Site { callee, caps: id });
            }
        }
        Sites { by_span, caps }
    }

    fn get(&self, ctx: &Ctx, c: &CallSite) -> Option<&Site> {
        self.by_span.get(&(ctx.unit, c.span.start, c.span.end))
    }
}

/// The names the catalog may know a call by: as written, its last two segments, resolved, `.method`,
/// `macro!`.
fn call_names(prog: &Program, ctx: &Ctx, c: &CallSite) -> Vec<String> {
    match c.kind {
        // Python names what a method is by its receiver more often than by a type: `logger.info(..)`
        // (`receiver.method`, the receiver in lower case).
        CallKind::Method if prog.unit(ctx.unit).language == "python" => {
            let mut v = vec![format!(".{}", c.name)];
            if let Some(r) = c.recv.as_deref().filter(|r| {
                r.len() <= 40
                    && r.chars()
                        .all(|ch| ch.is_alphanumeric() || ch == '_' || ch == '.')
            }) {
                v.push(format!("{}.{}", r.to_ascii_lowercase(), c.name));
            }
            v
        }
        CallKind::Method => vec![format!(".{}", c.name)],
        CallKind::Macro => vec![format!("{}!", c.name), format!("{}!", c.path.join("::"))],
        CallKind::Call => {
            let n = c.path.len();
            let mut v = vec![c.path[n.saturating_sub(2)..].join("::"), c.path.join("::")];
            let resolved = prog.resolved_name(ctx, &c.path);
            if !resolved.is_empty() {
                v.push(resolved);
            }
            v
        }
        // Field settings are not calls: the catalog does not name them.
        CallKind::Assign | CallKind::Field => vec![],
    }
}

/// The crate function a call lands in: a path resolved through imports, or the only method of that
/// name the crate defines. In Python, where no receiver has a declared type, only `self.m(..)` and
/// `cls.m(..)` are resolved, to the enclosing class's method: a driver's `conn.fetch(..)` is not the
/// project's `Pool.fetch`.
fn callee_of(prog: &Program, ctx: &Ctx, c: &CallSite) -> Option<FnId> {
    match c.kind {
        CallKind::Call => prog.resolve_fn(ctx, &c.path),
        CallKind::Method if prog.unit(ctx.unit).language == "python" => {
            // `crud.authenticate(..)` after `from app import crud`: a function of an imported module.
            if let Some(recv) = prog.imported_receiver(ctx, c) {
                return prog.resolve_fn(ctx, &[recv, c.name]);
            }
            let own = matches!(c.recv.as_deref(), Some("self" | "cls"));
            let mut cands = prog
                .methods_named(&c.name)
                .into_iter()
                .filter(|id| own && prog.func(*id).self_ty == ctx.self_ty);
            match (cands.next(), cands.next()) {
                (Some(id), None) => Some(id),
                _ => None,
            }
        }
        CallKind::Method => match prog.methods_named(&c.name).as_slice() {
            [id] => Some(*id),
            _ => None,
        },
        CallKind::Macro | CallKind::Assign | CallKind::Field => None,
    }
}

impl Analyzer<'_, '_> {
    pub fn summary(&self, id: FnId) -> Arc<FnSummary> {
        self.summary_at(id, 0)
    }

    /// A function's summary seen from `depth` calls away: callees are followed only a few calls deep.
    /// Memoised by function and depth, so a summary never depends on which caller asked first, and a
    /// recursive cycle ends because the depth grows with every call followed.
    fn summary_at(&self, id: FnId, depth: usize) -> Arc<FnSummary> {
        if let Some(s) = self.lock_memo().get(&(id, depth)) {
            return s.clone();
        }
        let s = Arc::new(self.compute(id, depth));
        self.lock_memo().insert((id, depth), s.clone());
        s
    }

    fn lock_memo(&self) -> std::sync::MutexGuard<'_, HashMap<(FnId, usize), Arc<FnSummary>>> {
        // A panic while holding the lock fails the whole model build: the data is never read after.
        self.memo.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn compute(&self, id: FnId, depth: usize) -> FnSummary {
        let f = self.prog.func(id);
        let ctx = self.prog.ctx_of(id);
        let unit = id.unit;
        let mut s = FnSummary::default();
        for p in &f.params {
            if let Some(ty) = &p.ty {
                if let Some((_, note)) = self.auth_extractor(ty, depth) {
                    s.credential.push(Evidence {
                        loc: self.loc(unit, p.span),
                        note,
                    });
                }
            }
        }
        // Calls inside closures of this function act for it (`.and_then(|h| verify(h))`).
        let mut closures = vec![];
        f.body.walk(&mut |e| {
            if let Expr::Closure { fn_index, .. } = e {
                closures.push(FnId {
                    unit,
                    idx: *fn_index,
                });
            }
        });
        let mut i = 0;
        while i < closures.len() && i < 64 {
            let inner = self.prog.func(closures[i]);
            inner.body.walk(&mut |e| {
                if let Expr::Closure { fn_index, .. } = e {
                    closures.push(FnId {
                        unit,
                        idx: *fn_index,
                    });
                }
            });
            i += 1;
        }
        let all_calls = f.calls.iter().map(|c| (c, true)).chain(
            closures
                .iter()
                .flat_map(|c| self.prog.func(*c).calls.iter().map(|c| (c, false))),
        );
        for (c, own) in all_calls {
            let loc = self.loc(unit, c.span);
            let entries = if own {
                self.capabilities(&ctx, c)
            } else {
                self.capabilities_in(&ctx, c)
            };
            for entry in entries {
                let ev = Evidence {
                    loc,
                    note: format!("`{}` ({})", c.name, entry.name),
                };
                match entry.capability.as_str() {
                    "token-verify" | "credential-read" | "auth" => {
                        if c.checked || entry.capability == "auth" {
                            s.checked_auth.push(ev.clone());
                        }
                        s.credential.push(ev);
                    }
                    "rate-limit" => s.rate_limit.push(ev),
                    "password-verify" => s.verifies_password.push(ev),
                    "redirect" => s.redirect = true,
                    "validation" => s.validates.push(ev),
                    "audit" => s.audit.push(ev),
                    _ => {}
                }
            }
            // One argument: reading (`headers.get(AUTHORIZATION)`); two would be setting a header.
            if c.kind == CallKind::Method
                && c.args.len() <= 1
                && self.catalog.read_methods.iter().any(|m| m == &c.name)
            {
                let arg = c.args.first().map(|a| &*a.text).unwrap_or("");
                let by_header = self.catalog.is_credential_header(&norm_name(arg));
                // A literal key (`jar.get("session_id")`) or a constant named for one (`cookies.get(AUTH_TOKEN)`).
                let by_name = c.args.first().is_some_and(|a| match &a.lit {
                    Some(crate::facts::Lit::Str(s)) => self.catalog.is_credential_name(s),
                    Some(_) => false,
                    None => {
                        let t = a.text.trim().trim_start_matches('&');
                        let is_const = t.rsplit("::").next().is_some_and(|n| {
                            !n.is_empty()
                                && n.chars().all(|c| {
                                    c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_'
                                })
                        });
                        is_const && self.catalog.is_credential_name(&norm_name(t))
                    }
                });
                let by_type = c.generics.iter().any(|g| {
                    g.starts_with("Authorization<")
                        || self
                            .catalog
                            .extractor(g)
                            .is_some_and(|e| e.capability == "auth")
                });
                if by_header || by_name || by_type {
                    let what = if by_type {
                        c.generics.join(", ")
                    } else {
                        arg.to_string()
                    };
                    let ev = Evidence {
                        loc,
                        note: format!("reads credentials (`{what}`)"),
                    };
                    if c.checked {
                        s.checked_auth.push(ev.clone());
                    }
                    s.credential.push(ev);
                }
            }
            if c.kind == CallKind::Method
                && HEADER_SETTERS.contains(&c.name.as_str())
                && c.args.len() >= 2
                && norm_name(&c.args[0].text) == "cache-control"
            {
                if let Some(d) = first_string_literal(&c.args[1].text) {
                    s.cache_headers.push(sets_cache_control(&d, loc));
                }
            }
            // `warp::reply::with_header(reply, "cache-control", "public, max-age=60")`.
            if c.kind == CallKind::Call
                && c.name == "with_header"
                && c.args.len() == 3
                && norm_name(&c.args[1].text) == "cache-control"
            {
                if let Some(d) = first_string_literal(&c.args[2].text) {
                    s.cache_headers.push(sets_cache_control(&d, loc));
                }
            }
            if c.kind == CallKind::Method
                && HEADER_SETTERS.contains(&c.name.as_str())
                && c.args.len() == 1
            {
                let text = &c.args[0].text;
                let named = text
                    .to_lowercase()
                    .replace('_', "-")
                    .contains("cache-control");
                let found = typed_cache_control(text)
                    .or_else(|| named.then(|| cache_directives_in(text)).flatten());
                if let Some(d) = found {
                    s.cache_headers.push(sets_cache_control(&d, loc));
                }
            }
            if c.kind == CallKind::Method
                && CACHE_STORE_METHODS.contains(&c.name.as_str())
                && c.recv.as_deref().is_some_and(|r| {
                    let r = r.to_lowercase();
                    r.contains("cache") || r.contains("redis")
                })
                && s.cache_store.is_none()
            {
                s.cache_store = Some(Evidence {
                    loc,
                    note: format!(
                        "response cache lookup `{}.{}`",
                        c.recv.as_deref().unwrap_or(""),
                        c.name
                    ),
                });
            }
            if c.kind == CallKind::Macro && matches!(c.name.as_str(), "bail" | "ensure") {
                s.validates.push(Evidence {
                    loc,
                    note: format!("rejects input with `{}!`", c.name),
                });
            }
            // A response wrapper of the crate (`Cached(Json(x))`) whose `Responder`/`IntoResponse` impl
            // sets Cache-Control.
            if depth < 2 && c.kind == CallKind::Call && s.cache_headers.is_empty() {
                for (u, imp) in self.prog.impls_of(&c.name) {
                    let responder = imp
                        .trait_path
                        .as_ref()
                        .and_then(|p| p.last())
                        .is_some_and(|t| t == "Responder" || t == "IntoResponse");
                    if !responder {
                        continue;
                    }
                    for &i in &imp.fns {
                        let sub = self.summary_at(FnId { unit: u, idx: i }, depth + 1);
                        if let Some((d, _)) = sub.cache_headers.first() {
                            s.cache_headers.push((
                                d.clone(),
                                Evidence {
                                    loc,
                                    note: format!(
                                        "`{}` responds with `Cache-Control: {d}`",
                                        c.name
                                    ),
                                },
                            ));
                        }
                    }
                }
            }
            if depth < 2 {
                if let Some(callee) = self.callee(&ctx, c).filter(|x| *x != id) {
                    let sub = self.summary_at(callee, depth + 1);
                    let cname = &self.prog.func(callee).name;
                    if let Some(first) = sub.credential.first() {
                        let ev = Evidence {
                            loc,
                            note: format!("calls `{cname}`, which {}", first.note),
                        };
                        if c.checked || !sub.checked_auth.is_empty() {
                            s.checked_auth.push(ev.clone());
                        }
                        s.credential.push(ev);
                    }
                    if !sub.rate_limit.is_empty() {
                        s.rate_limit.push(Evidence {
                            loc,
                            note: format!("calls `{cname}`, which checks a rate limit"),
                        });
                    }
                    if let Some(first) = sub.verifies_password.first() {
                        s.verifies_password.push(Evidence {
                            loc,
                            note: format!("calls `{cname}`, which checks {}", first.note),
                        });
                    }
                    if !sub.cache_headers.is_empty() && s.cache_headers.is_empty() {
                        let (d, _) = &sub.cache_headers[0];
                        s.cache_headers.push((
                            d.clone(),
                            Evidence {
                                loc,
                                note: format!("`{cname}` sets `Cache-Control: {d}`"),
                            },
                        ));
                    }
                    s.redirect |= sub.redirect;
                    if let Some(first) = sub.audit.first() {
                        s.audit.push(Evidence {
                            loc,
                            note: format!("calls `{cname}`, which records: {}", first.note),
                        });
                    }
                }
            }
        }
        s.may_change_state = f
            .calls
            .iter()
            .chain(
                closures
                    .iter()
                    .flat_map(|c| self.prog.func(*c).calls.iter()),
            )
            .any(|c| match self.callee(&ctx, c).filter(|x| *x != id) {
                // The crate's own function (`Note::new(&db, ..)` may insert): what it does counts.
                Some(callee) if depth < 3 => self.summary_at(callee, depth + 1).may_change_state,
                Some(_) => true,
                None => !only_reads(c),
            });
        // One walk of the body for what its expressions say. Cache-Control in response tuples:
        // `([(header::CACHE_CONTROL, "public, max-age=60")], body)`.
        let mut own_denial = None;
        f.body.walk(&mut |e| {
            // Answering 429 is what a rate limiter does, whatever it counts with.
            if let Expr::Path { segs, span, .. } = e {
                let too_many = segs
                    .last()
                    .is_some_and(|l| l == "TooManyRequests" || l == "TOO_MANY_REQUESTS");
                if too_many && s.rate_limit.is_empty() {
                    s.rate_limit.push(Evidence {
                        loc: self.loc(unit, *span),
                        note: "answers 429 Too Many Requests".into(),
                    });
                }
            }
            if own_denial.is_none() && depth > 0 {
                own_denial = self.denial_at(unit, e);
            }
            // `("cache-control", "..")` in a header list or dict; Python's
            // `response.headers["Cache-Control"] = ".."`.
            let header = match e {
                Expr::Tuple { items, span } if items.len() == 2 => Some((&items[0], &items[1], *span)),
                Expr::Assign { target, value, span } => match &**target {
                    Expr::Index { index, .. } => Some((&**index, &**value, *span)),
                    _ => None,
                },
                _ => None,
            };
            if let Some((name, value, span)) = header {
                if norm_name(self.text(unit, name.span())) == "cache-control" {
                    if let Some(d) = first_string_literal(self.text(unit, value.span())) {
                        s.cache_headers.push((d.clone(), Evidence { loc: self.loc(unit, span), note: format!("sets `Cache-Control: {d}`") }));
                    }
                }
            }
            // Conditional rejection: `if .. { return Err(..) }`, or a `match` arm producing `Err(..)`.
            let rejects = |x: &Expr| match x {
                Expr::Call { func, .. } => matches!(func.as_ref(), Expr::Path { segs, .. } if segs.last().is_some_and(|l| l == "Err")),
                Expr::Return { value: Some(v), .. } => {
                    matches!(v.as_ref(), Expr::Call { func, .. } if matches!(func.as_ref(), Expr::Path { segs, .. } if segs.last().is_some_and(|l| l == "Err")))
                }
                _ => false,
            };
            let branch_rejects = match e {
                Expr::Match { arms, .. } => arms.iter().find(|a| rejects(a)).map(|a| a.span()),
                Expr::If { then, .. } => {
                    let mut hit = None;
                    then.walk(&mut |x| {
                        if hit.is_none() && rejects(x) {
                            hit = Some(x.span());
                        }
                    });
                    hit
                }
                _ => None,
            };
            if let Some(sp) = branch_rejects {
                if s.validates.is_empty() {
                    s.validates.push(Evidence {
                        loc: self.loc(unit, sp),
                        note: "rejects invalid input with `Err`".into(),
                    });
                }
            }
        });
        s.denies = self.denials(id, depth, own_denial);
        if s.redirect {
            let mut https = false;
            f.body.walk(&mut |e| {
                if let Expr::Lit {
                    lit: crate::facts::Lit::Str(v),
                    ..
                } = e
                {
                    https |= v.starts_with("https");
                }
            });
            s.redirect_https = https;
        }
        // `CacheControl::new().with_public().with_max_age(..)` (headers crate).
        let typed: Vec<&str> = f
            .calls
            .iter()
            .filter_map(|c| match c.name.as_str() {
                "with_public" => Some("public"),
                "with_private" => Some("private"),
                "with_no_store" => Some("no-store"),
                "with_no_cache" => Some("no-cache"),
                "with_max_age" => Some("max-age=1"),
                "with_s_max_age" => Some("s-maxage=1"),
                _ => None,
            })
            .collect();
        if !typed.is_empty() {
            if let Some(c) = f.calls.iter().find(|c| {
                c.name == "with_public"
                    || c.name == "with_private"
                    || c.name == "with_max_age"
                    || c.name == "with_no_store"
            }) {
                let d = typed.join(", ");
                s.cache_headers.push((
                    d.clone(),
                    Evidence {
                        loc: self.loc(unit, c.span),
                        note: format!("sets `Cache-Control: {d}`"),
                    },
                ));
            }
        }
        s
    }

    /// Whether a parameter type authenticates the request: a catalog extractor, or a type of the crate whose
    /// `FromRequestParts`/`FromRequest` implementation reads credentials. Returns (optional, note).
    pub fn auth_extractor(&self, ty: &TypeRef, depth: usize) -> Option<(bool, String)> {
        let (inner, is_opt) = ty.strip_option();
        let norm = inner.normalized();
        if let Some(e) = self.catalog.extractor(&norm) {
            if e.capability == "auth" {
                return Some((
                    is_opt || e.optional,
                    format!("`{}` extractor ({})", inner.text, e.name),
                ));
            }
            return None;
        }
        if depth > 2 {
            return None;
        }
        // poem-openapi: `#[derive(SecurityScheme)]` types are checked before the operation runs.
        if let Some((_, def)) = self
            .prog
            .resolve_type(&self.prog.ctx_of_unit(0), inner.name())
        {
            if def.derives.iter().any(|d| d.ends_with("SecurityScheme")) {
                return Some((is_opt, format!("`{}` security scheme", inner.text)));
            }
        }
        for (u, imp) in self.prog.impls_of(inner.name()) {
            let Some(tr) = imp.trait_path.as_ref().and_then(|t| t.last()) else {
                continue;
            };
            let optional_impl = tr == "OptionalFromRequestParts" || tr == "OptionalFromRequest";
            if !matches!(
                tr.as_str(),
                "FromRequestParts"
                    | "FromRequest"
                    | "OptionalFromRequestParts"
                    | "OptionalFromRequest"
            ) {
                continue;
            }
            for &i in &imp.fns {
                let id = FnId { unit: u, idx: i };
                let s = self.summary_at(id, depth + 1);
                if !s.credential.is_empty() {
                    // An extractor that reads credentials but never rejects on them is optional auth,
                    // and so is one that lets a request without credentials through as a guest and
                    // only rejects malformed ones.
                    let never_rejects = s.checked_auth.is_empty();
                    return Some((
                        is_opt || optional_impl || never_rejects || self.admits_anonymous(id),
                        format!(
                            "`{}` extractor, whose `{tr}` impl {}",
                            inner.text, s.credential[0].note
                        ),
                    ));
                }
            }
        }
        None
    }

    /// `Err(Forbidden)`, `Err(ErrorUnauthorized(..))`: an error value that denies access.
    fn denial_at(&self, unit: u32, e: &Expr) -> Option<Evidence> {
        let Expr::Call { func, args, span } = e else {
            return None;
        };
        let is_err =
            matches!(&**func, Expr::Path { segs, .. } if segs.last().is_some_and(|s| s == "Err"));
        let text = args.first().map_or("", |a| self.text(unit, a.span()));
        (is_err && says_denied(text)).then(|| Evidence {
            loc: self.loc(unit, *span),
            note: "denies access".into(),
        })
    }

    /// Where a function denies access. Its own `Err(Forbidden)` (`own`, found when it is called: a
    /// handler's own rejection may be a login's wrong password) counts; a call counts when it denies
    /// and, in the function asked about, its outcome is checked (`?`, a condition), deeper wherever it
    /// is made.
    fn denials(&self, id: FnId, depth: usize, own: Option<Evidence>) -> Vec<Evidence> {
        let mut out: Vec<Evidence> = own.into_iter().collect();
        if !out.is_empty() || depth >= 3 {
            return out;
        }
        let ctx = self.prog.ctx_of(id);
        for c in &self.prog.func(id).calls {
            if depth == 0 && !c.checked {
                continue;
            }
            let Some(callee) = self.callee(&ctx, c).filter(|x| *x != id) else {
                continue;
            };
            if !self.summary_at(callee, depth + 1).denies.is_empty() {
                out.push(Evidence {
                    loc: self.loc(id.unit, c.span),
                    note: format!(
                        "calls `{}`, which denies access",
                        self.prog.func(callee).name
                    ),
                });
                break;
            }
        }
        out
    }

    /// Whether a middleware lets a request without credentials through: it, or a function of the crate
    /// it calls that reads credentials, succeeds without an identity (`Ok(None)`).
    fn lets_anonymous_through(&self, id: FnId) -> bool {
        if self.admits_anonymous(id) {
            return true;
        }
        let ctx = self.prog.ctx_of(id);
        self.prog.func(id).calls.iter().any(|c| {
            self.callee(&ctx, c).filter(|g| *g != id).is_some_and(|g| {
                !self.summary_at(g, 1).credential.is_empty() && self.admits_anonymous(g)
            })
        })
    }

    /// An actix-web middleware written in the crate (`.wrap(AccessLog)`): its `Transform` creates a
    /// service whose `Service::call` does the work, analysed like a middleware function.
    fn transform_call(&self, l: &LayerVal) -> Option<FnId> {
        let first = l.names.first()?;
        let head = first.split('(').next().unwrap_or(first);
        let head = head.trim_end_matches("::new").trim_end_matches("::default");
        let ty = head.rsplit("::").next()?;
        let is_trait = |imp: &crate::facts::ImplDef, name: &str| {
            imp.trait_path
                .as_ref()
                .and_then(|p| p.last())
                .is_some_and(|t| t == name)
        };
        let (tu, transform) = self
            .prog
            .impls_of(ty)
            .find(|(_, i)| is_trait(i, "Transform"))?;
        // The service type the transform builds: named in its `new_transform`.
        let built = transform
            .fns
            .iter()
            .map(|&i| FnId { unit: tu, idx: i })
            .find(|id| self.prog.func(*id).name == "new_transform")
            .map(|id| self.text(id.unit, self.prog.func(id).item_span))?;
        self.prog
            .units
            .iter()
            .enumerate()
            .flat_map(|(u, unit)| unit.facts.impls.iter().map(move |imp| (u as u32, imp)))
            .filter(|(_, imp)| is_trait(imp, "Service") && imp.self_ty.name() != ty)
            .find(|(_, imp)| super::inputs::contains_word(built, imp.self_ty.name()))
            .and_then(|(u, imp)| {
                imp.fns
                    .iter()
                    .map(|&i| FnId { unit: u, idx: i })
                    .find(|id| self.prog.func(*id).name == "call")
            })
    }

    /// Whether a function succeeds without an identity somewhere: `Ok(None)`, `Ok(MaybeUser(None))`,
    /// `Ok(Self::Guest)`, `Ok(Viewer::Anonymous)`.
    fn admits_anonymous(&self, id: FnId) -> bool {
        let mut found = false;
        self.prog.func(id).body.walk(&mut |e| {
            let Expr::Call { func, args, .. } = e else {
                return;
            };
            let is_ok = matches!(&**func, Expr::Path { segs, .. } if segs.last().is_some_and(|s| s == "Ok"));
            if let (true, Some(a)) = (is_ok, args.first()) {
                found |= is_anonymous_value(self.text(id.unit, a.span()));
            }
        });
        found
    }

    /// Classifies a layer by what it is (catalog) or, for middleware functions, by what it does.
    pub fn classify_layer(&self, l: &LayerVal) -> Middleware {
        let key = (l.loc, l.name.clone());
        if let Some(m) = self
            .layers
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&key)
        {
            return m.clone();
        }
        let m = self.classify_layer_uncached(l);
        self.layers
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(key, m.clone());
        m
    }

    fn classify_layer_uncached(&self, l: &LayerVal) -> Middleware {
        if let Some(preset) = &l.preset {
            return preset.0.clone();
        }
        let mut m = Middleware {
            name: l.name.clone(),
            capability: "other".into(),
            tags: vec![],
            loc: l.loc,
            directives: None,
            keys_identity: None,
            optional: false,
        };
        if let Some(id) = l.fn_id.or_else(|| self.transform_call(l)) {
            let s = self.summary(id);
            if !s.checked_auth.is_empty() || (s.cache_store.is_none() && !s.credential.is_empty()) {
                m.capability = "auth".into();
                m.tags.push("middleware-fn".into());
                // Reads credentials but never rejects a request on them, or lets a request without
                // them through (its credential reader answers `Ok(None)`): it identifies, it does not
                // enforce.
                m.optional = s.checked_auth.is_empty() || self.lets_anonymous_through(id);
            } else if let Some(_store) = &s.cache_store {
                m.capability = "cache".into();
                m.tags.push("response-cache".into());
                m.keys_identity = Some(!s.credential.is_empty());
            } else if !s.rate_limit.is_empty() {
                m.capability = "rate-limit".into();
            } else if s.redirect_https {
                // Middleware or a fairing that sends every request to HTTPS.
                m.tags.push("https-redirect".into());
            } else if let Some((d, _)) = s.cache_headers.first() {
                m.capability = "cache".into();
                m.tags.push("cache-header".into());
                m.tags.push("overriding".into());
                m.directives = Some(d.clone());
            } else if !s.audit.is_empty() {
                // A middleware of the crate that writes a log or trace event for the requests it sees.
                m.capability = "trace".into();
                m.tags.push("middleware-fn".into());
            }
            return m;
        }
        if let Some(ty) = &l.extractor {
            if let Some((optional, _)) = self.auth_extractor(ty, 0) {
                m.capability = "auth".into();
                m.optional = optional;
            }
            return m;
        }
        if let Some(e) = self.catalog.layer(&l.names, &l.arg_texts) {
            m.capability = e.capability.clone();
            m.tags = e.tags.clone();
            m.keys_identity = e.keys_identity;
            m.optional = e.optional;
            if let Some(i) = e.directives_arg {
                m.directives = l
                    .arg_values
                    .get(i)
                    .cloned()
                    .flatten()
                    .or_else(|| l.arg_texts.get(i).and_then(|t| first_string_literal(t)));
            } else if m.tags.iter().any(|t| t == "cache-header") {
                // The header name and its value may be one argument (a tuple) or two.
                let all = l.arg_texts.join(", ");
                m.directives = cache_directives_in(&all);
            }
            // actix-web `Condition::new(flag, mw)`: enforced only when `flag` is true.
            if l.names.iter().any(|n| n == "Condition::new") {
                m.optional = true;
                m.tags.push("conditional".into());
            }
        }
        m
    }

    /// Why a layer has its capability, for labels.
    pub fn layer_note(&self, m: &Middleware, l: &LayerVal) -> String {
        if let Some(preset) = &l.preset {
            return preset.1.clone();
        }
        if let Some(id) = l.fn_id {
            let s = self.summary(id);
            let why = s
                .checked_auth
                .first()
                .or(s.credential.first())
                .or(s.cache_store.as_ref())
                .or(s.rate_limit.first());
            if let Some(w) = why {
                return format!("{} middleware `{}`: {}", m.capability, l.name, w.note);
            }
        }
        if m.tags.iter().any(|t| t == "conditional") {
            return format!(
                "{} layer `{}`, applied only when its condition is true",
                m.capability, l.name
            );
        }
        match m.capability.as_str() {
            "other" => format!("layer `{}`", l.name),
            cap => format!("{cap} layer `{}`", l.name),
        }
    }
}

/// Whether Cache-Control directives let a shared cache (proxy, CDN) store the response.
pub fn is_shared_cacheable(directives: &str) -> bool {
    let d = directives.to_lowercase();
    let parts: Vec<&str> = d.split(',').map(str::trim).collect();
    if parts.iter().any(|p| *p == "private" || *p == "no-store") {
        return false;
    }
    if parts
        .iter()
        .any(|p| *p == "public" || p.starts_with("s-maxage"))
    {
        return true;
    }
    parts
        .iter()
        .filter_map(|p| p.strip_prefix("max-age="))
        .any(|v| v.trim().parse::<u64>().map(|n| n > 0).unwrap_or(true))
}

/// `None`, `MaybeUser(None)`, `Self(None)`, `Viewer::Guest`, `Self::Anonymous`: a value that is nobody.
/// A value that only holds a `None` somewhere (`User { id, impersonator: None }`) is somebody.
fn is_anonymous_value(text: &str) -> bool {
    let t: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    let inner = t
        .strip_suffix(')')
        .and_then(|x| x.split_once('('))
        .filter(|(head, _)| {
            head.chars()
                .all(|c| c.is_alphanumeric() || c == '_' || c == ':')
        })
        .map(|(_, inner)| inner)
        .unwrap_or(&t);
    let last = inner.rsplit("::").next().unwrap_or(inner);
    matches!(
        last,
        "None" | "Guest" | "Anonymous" | "Anon" | "Unauthenticated"
    )
}

/// Calls that only read, parse, convert or build a response: a handler that makes nothing else (and no
/// call into the crate that does) changes no state. Everything not listed may write.
fn only_reads(c: &CallSite) -> bool {
    const READS: &[&str] = &[
        // Conversions, options and results, iterators.
        "clone",
        "to_string",
        "to_owned",
        "into",
        "from",
        "try_into",
        "try_from",
        "as_ref",
        "as_str",
        "as_bytes",
        "as_deref",
        "borrow",
        "unwrap",
        "unwrap_or",
        "unwrap_or_default",
        "unwrap_or_else",
        "expect",
        "ok",
        "err",
        "ok_or",
        "ok_or_else",
        "map",
        "map_err",
        "and_then",
        "or_else",
        "filter",
        "filter_map",
        "iter",
        "into_iter",
        "collect",
        "contains_key",
        "get",
        "first",
        "last",
        "parse",
        "to_str",
        "trim",
        "split",
        "join",
        "chars",
        "bytes",
        "min",
        "max",
        "sum",
        "Some",
        "Ok",
        "Err",
        "Box",
        "new",
        "default",
        "into_inner",
        "await",
        // Reading the request.
        "param",
        "params",
        "queries",
        "header",
        "headers",
        "form",
        "parse_json",
        "parse_form",
        "parse_queries",
        "parse_body",
        "extract",
        "match_info",
        "path",
        "uri",
        "method",
        "cookie",
        "cookies",
        "jwt_auth_state",
        "jwt_auth_data",
        "validate",
        // Building the response.
        "Json",
        "Html",
        "Redirect",
        "found",
        "to",
        "permanent",
        "render",
        "status_code",
        "status",
        "body",
        "json",
        "finish",
        "into_response",
        "with_status",
        "text",
        "html",
        "StatusCode",
        "HttpResponse",
        "Ok",
        "BadRequest",
        "NotFound",
        "Unauthorized",
        "Forbidden",
        "InternalServerError",
        "Created",
        "NoContent",
        "Accepted",
        // Macros that log, format or stop.
        "format",
        "println",
        "print",
        "eprintln",
        "eprint",
        "trace",
        "debug",
        "info",
        "warn",
        "error",
        "event",
        "span",
        "log",
        "dbg",
        "vec",
        "assert",
        "assert_eq",
        "assert_ne",
        "debug_assert",
        "unimplemented",
        "todo",
        "unreachable",
        "panic",
        "matches",
        "concat",
        "stringify",
        "json",
        "html",
    ];
    // Sizes, tests and comparisons (the flow analysis's list) read too.
    READS.contains(&c.name.as_str()) || super::flow::vocab::SCALAR.contains(&c.name.as_str())
}

#[cfg(test)]
mod tests {
    #[test]
    fn anonymous_values_are_nobody_and_values_holding_none_are_somebody() {
        for t in [
            "None",
            "MaybeUser(None)",
            "Self( None )",
            "Viewer::Guest",
            "Self::Anonymous",
        ] {
            assert!(super::is_anonymous_value(t), "{t}");
        }
        for t in [
            "User { id, impersonator: None }",
            "Some(user)",
            "MaybeUser(Some(u))",
            "token",
        ] {
            assert!(!super::is_anonymous_value(t), "{t}");
        }
    }

    use super::*;

    #[test]
    fn shared_cacheability_follows_directives() {
        assert!(is_shared_cacheable("public, max-age=300"));
        assert!(is_shared_cacheable("max-age=60"));
        assert!(is_shared_cacheable("s-maxage=60"));
        assert!(!is_shared_cacheable("private, max-age=60"));
        assert!(!is_shared_cacheable("no-store"));
        assert!(!is_shared_cacheable("max-age=0"));
        assert!(!is_shared_cacheable("no-cache"));
    }

    #[test]
    fn names_normalise() {
        assert_eq!(norm_name("header::AUTHORIZATION"), "authorization");
        assert_eq!(norm_name("\"X-Api-Key\""), "x-api-key");
        assert_eq!(norm_name("&http::header::CACHE_CONTROL"), "cache-control");
    }
}
