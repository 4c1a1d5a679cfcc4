//! Builds one package's model: evaluates the functions that serve or build routers, then turns the
//! evaluated routers and listeners into model entities with their protections resolved.

use super::analysis::{is_shared_cacheable, Analyzer};
use super::eval::{Evaluator, ServeEvent};
use super::inputs::InputClass;
use super::program::{FnId, Program};
use super::value::{Origin, RouteVal, Tls, Value};
use super::*;
use crate::catalog::Catalog;
use crate::facts::{Block, CallKind, Expr, Name, Stmt, TypeRef};
use std::collections::{HashMap, HashSet};
mod calls;
pub use calls::{head_known, Built};

/// `keep_call` tells, from a call's head (see `add_calls`), whether its entity is wanted: a model
/// built for rules keeps only the calls some rule could match.
pub fn build_package(
    prog: &Program,
    catalog: &Catalog,
    config: Vec<ConfigEntry>,
    env: Vec<super::EnvSetting>,
    launches: &[super::Launch],
    keep_call: &(dyn Fn(&Call, Built) -> bool + Sync),
) -> Model {
    let mut ev = Evaluator::new(prog, catalog, &config);
    let an = Analyzer::new(prog, catalog);

    let serves_something = |id: FnId| {
        let f = prog.func(id);
        !f.is_closure
            && f.calls.iter().any(|c| {
                SERVE_CALLS.contains(&c.name.as_str())
                    || (c.kind == CallKind::Call && c.name == "bind" && c.path.len() >= 2)
            })
    };
    for id in prog.all_fns().filter(|id| serves_something(*id)) {
        ev.call_fn(id, vec![]);
    }
    // Rocket's `#[launch] fn rocket() -> _`: the returned Rocket is launched.
    for id in prog.all_fns() {
        let f = prog.func(id);
        if let Some(attr) = f
            .attrs
            .iter()
            .find(|a| a.path == "launch" || a.path == "rocket::launch")
        {
            if let Value::Server(s) = ev.call_fn(id, vec![]) {
                let loc = Loc::new(prog.unit(id.unit).file, attr.span);
                super::rocket::launched(&mut ev, &s, loc);
            }
        }
    }
    let builds_router = |id: FnId| {
        let f = prog.func(id);
        !f.is_closure
            && (f
                .ret
                .as_ref()
                .is_some_and(|r| r.text.contains("Router") || r.text.ends_with("Routes"))
                || f.calls.iter().any(|c| {
                    c.kind == CallKind::Call
                        && c.path.ends_with(&[Name::new("Router"), Name::new("new")])
                }))
    };
    let mut candidates: Vec<(FnId, Value)> = vec![];
    for id in prog.all_fns().filter(|id| builds_router(*id)) {
        let v = ev.call_fn(id, vec![]);
        if matches!(v, Value::Router(_)) {
            candidates.push((id, v));
        }
    }

    let mut b = Builder {
        prog,
        an: &an,
        model: Model::default(),
        route_keys: HashSet::new(),
        handlers_seen: HashSet::new(),
        inputs_seen: HashSet::new(),
        positional_inputs: std::mem::take(&mut ev.positional_inputs),
        preset_inputs: HashMap::new(),
        input_params: HashMap::new(),
        flows: HashMap::new(),
        input_origins: HashMap::new(),
        blocking: None,
        env,
        keep_call,
        cli_packages: Default::default(),
    };
    let python = super::fastapi::apps(prog, &an, launches);
    b.preset_inputs = python.inputs;
    let serves: Vec<ServeEvent> = ev.serves.iter().chain(&python.serves).cloned().collect();
    for s in &serves {
        b.add_served(s);
    }
    for r in &python.unserved {
        b.add_app(r.framework, (r.loc, None), false, &r.routes(), vec![]);
    }
    if serves.is_empty() {
        for (id, v) in &candidates {
            if ev.called_by_other.contains(id) {
                continue;
            }
            if let Value::Router(r) = v {
                if r.has_routes() {
                    b.add_app(
                        r.framework,
                        (r.loc, None),
                        false,
                        &r.as_root().routes(),
                        vec![],
                    );
                }
            }
        }
    }
    let flows = super::flow::Flows::compute(prog, &an, &b.input_params);
    b.flows = flows.calls;
    b.input_origins = flows.origins;
    b.blocking = Some(super::blocking::Blocking::compute(&an));
    b.add_calls();
    b.add_types();
    b.add_functions();
    b.model.auth_checks = super::auth_checks::collect(&an, &b.handlers_seen);
    b.model.config = config;
    let roles: HashMap<&str, &'static str> = prog
        .crates
        .iter()
        .map(|c| (c.name.as_str(), package_role(&b, &c.name)))
        .collect();
    for c in &mut b.model.calls {
        c.role = roles.get(&*c.package).copied().unwrap_or("library");
    }
    for f in &mut b.model.functions {
        f.role = roles.get(f.package.as_str()).copied().unwrap_or("library");
    }
    b.model
}

/// What a package is: `service` (it serves, or defines routes or handlers that a sibling serves),
/// `cli` (a command-line program: clap, argh or structopt, and nothing served), or `library`.
fn package_role(b: &Builder, package: &str) -> &'static str {
    let m = &b.model;
    if m.routes.iter().any(|r| r.package == package)
        || m.listeners.iter().any(|l| l.package == package)
        || m.handlers.iter().any(|h| h.package == package)
        || m.apps.iter().any(|a| a.package == package)
    {
        return "service";
    }
    let cli_derive = m.types.iter().filter(|t| t.package == package).any(|t| {
        t.derives.iter().any(|d| {
            matches!(
                d.rsplit("::").next().unwrap_or(d),
                "Parser" | "Subcommand" | "FromArgs" | "StructOpt"
            )
        })
    });
    let cli_call = b
        .cli_packages
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .contains(package);
    if cli_derive || cli_call {
        "cli"
    } else {
        "library"
    }
}

/// Calls that serve: the functions evaluated as entry points make one, and `main` starts serving at its
/// first one (or at a TLS bind, or waiting for shutdown).
const SERVE_CALLS: &[&str] = &[
    "serve",
    "run",
    "launch",
    "serve_connection",
    "serve_connection_with_upgrades",
];

struct Builder<'p, 'a> {
    prog: &'p Program<'a>,
    an: &'p Analyzer<'p, 'a>,
    model: Model,
    route_keys: HashSet<(Loc, String, Vec<String>)>,
    handlers_seen: HashSet<FnId>,
    inputs_seen: HashSet<Loc>,
    positional_inputs: HashMap<FnId, Vec<(usize, &'static str, &'static str)>>,
    /// Inputs an adapter classified itself (FastAPI), by parameter index.
    preset_inputs: HashMap<FnId, Vec<(usize, InputClass)>>,
    /// Handler parameters that hold request input.
    input_params: HashMap<FnId, Vec<usize>>,
    flows: super::flow::FlowMap,
    /// Per call site, where the request input in its arguments comes from.
    input_origins: HashMap<(u32, u32, u32), Vec<Evidence>>,
    /// The crate's synchronous functions that block, and how.
    blocking: Option<super::blocking::Blocking>,
    /// Environment variables the repository's deployment files set.
    env: Vec<super::EnvSetting>,
    keep_call: &'p (dyn Fn(&Call, Built) -> bool + Sync),
    /// The packages that call a command-line parser (`clap::..`), kept or not.
    cli_packages: std::sync::Mutex<HashSet<std::sync::Arc<str>>>,
}

impl Builder<'_, '_> {
    fn add_served(&mut self, s: &ServeEvent) {
        let (routes, fallback, direct_handler) = match &s.app {
            Value::Router(r) => (r.as_root().routes(), r.fallback.clone(), None),
            Value::Fn(id, _) => (vec![], None, Some(*id)),
            _ => (vec![], None, None),
        };
        let mut listeners = vec![];
        for l in &s.listeners {
            let redirect_only = {
                let acme = |p: &str| p.contains("/.well-known/acme-challenge");
                // A layer that redirects every request to HTTPS (salvo `ForceHttps`).
                // Only plaintext requests are redirected: on a TLS listener the routes are served.
                let forced_https = |r: &RouteVal| {
                    l.tls != Tls::On
                        && r.layers.iter().any(|l| {
                            self.an
                                .classify_layer(l)
                                .tags
                                .iter()
                                .any(|t| t == "https-redirect")
                        })
                };
                let redirects = |h: &super::value::HandlerVal| {
                    h.fn_id.is_some_and(|id| self.an.summary(id).redirect)
                };
                match direct_handler {
                    Some(id) => self.an.summary(id).redirect,
                    None => {
                        (!routes.is_empty() || fallback.is_some())
                            && routes
                                .iter()
                                .all(|r| redirects(&r.handler) || acme(&r.path) || forced_https(r))
                            && fallback.as_ref().is_none_or(redirects)
                    }
                }
            };
            listeners.push(self.listener(l, redirect_only));
        }
        let router_loc = match &s.app {
            Value::Router(r) if r.loc != s.loc => Some(r.loc),
            _ => None,
        };
        self.add_app(s.framework, (s.loc, router_loc), true, &routes, listeners);
    }

    fn listener(&mut self, l: &super::value::ListenerVal, redirect_only: bool) -> usize {
        let mut evidence = vec![];
        // What a deployment file sets for the variable the address comes from (or for the framework's
        // own variables, over its default address) is where the service really listens.
        let root = self.prog.crate_root_at(l.loc.file);
        let deployed = super::deployed::address(&self.env, l, root);
        let resolved;
        let l = match &deployed {
            Some((addr, settings)) => {
                if let Origin::Env(var, _, loc) = &l.addr.origin {
                    evidence.push(Evidence {
                        loc: *loc,
                        note: format!("address from environment variable `{var}`"),
                    });
                }
                for e in settings {
                    evidence.push(Evidence {
                        loc: e.loc,
                        note: format!("`{}` set to `{}` for the deployment", e.var, e.value),
                    });
                }
                resolved = super::value::ListenerVal {
                    addr: addr.clone(),
                    ..l.clone()
                };
                &resolved
            }
            None => l,
        };
        let source = match &l.addr.origin {
            _ if deployed.is_some() => "deployment",
            Origin::Literal(_) => "literal",
            Origin::Default(_) => "default",
            Origin::Constant(name, loc) => {
                evidence.push(Evidence {
                    loc: *loc,
                    note: format!("address from constant `{name}`"),
                });
                "constant"
            }
            Origin::Config(key, loc) => {
                evidence.push(Evidence {
                    loc: *loc,
                    note: format!("address from configuration key `{key}`"),
                });
                "config"
            }
            Origin::Env(var, default, loc) => {
                evidence.push(Evidence {
                    loc: *loc,
                    note: match default {
                        Some(d) => {
                            format!("address from environment variable `{var}` (default `{d}`)")
                        }
                        None => format!("address from environment variable `{var}`"),
                    },
                });
                "env"
            }
            Origin::Unknown => "unknown",
        };
        for (loc, note) in &l.notes {
            evidence.push(Evidence {
                loc: *loc,
                note: note.clone(),
            });
        }
        if let Some(t) = l.tls_loc {
            evidence.push(Evidence {
                loc: t,
                note: "TLS configured here".into(),
            });
        }
        let host = l.addr.host.clone().unwrap_or_default();
        let host_kind = if l.local {
            "local"
        } else if matches!(l.addr.origin, Origin::Env(..)) || host.is_empty() {
            "unresolved"
        } else if is_loopback(&host) {
            "loopback"
        } else {
            "public"
        };
        let address = match &l.addr.origin {
            Origin::Env(var, Some(d), _) => format!("${var} (default {d})"),
            Origin::Env(var, None, _) => format!("${var}"),
            _ if l.local => format!(
                "local socket {}",
                l.addr.text.replace("{?}", "(path computed at run time)")
            ),
            _ if l.addr.text == "{?}" => "an address computed at run time".into(),
            _ => l.addr.text.clone(),
        };
        self.model.listeners.push(Listener {
            package: self.prog.package_at(l.loc.file),
            framework: l.framework.into(),
            loc: l.loc,
            address,
            host,
            port: l.addr.port.and_then(|p| i64::try_from(p).ok()),
            host_kind: host_kind.into(),
            source: source.into(),
            tls: match l.tls {
                Tls::On => "on",
                Tls::Off => "off",
                Tls::Unknown => "unknown",
            }
            .into(),
            via: l.via.clone(),
            redirect_only,
            app: None,
            evidence,
        });
        self.model.listeners.len() - 1
    }

    /// `locs`: where the app is served (or its root router, when nothing serves it), and where the root
    /// router is assembled when that is elsewhere.
    fn add_app(
        &mut self,
        framework: &str,
        locs: (Loc, Option<Loc>),
        served: bool,
        routes: &[RouteVal],
        listeners: Vec<usize>,
    ) {
        let app_idx = self.model.apps.len();
        for &l in &listeners {
            self.model.listeners[l].app = Some(app_idx);
        }
        let redirect_only = !listeners.is_empty()
            && listeners
                .iter()
                .all(|&l| self.model.listeners[l].redirect_only);
        // A framework's default loopback address says nothing about who reaches the app: deployments
        // override it, and reverse proxies forward to loopback. Only an address written down counts.
        let loopback_only = !listeners.is_empty()
            && listeners.iter().all(|&l| {
                let l = &self.model.listeners[l];
                matches!(l.host_kind.as_str(), "loopback" | "local") && l.source != "default"
            });
        let mut app_routes = vec![];
        for rv in routes {
            let route = self.route(framework, rv, app_idx);
            let mut capabilities: Vec<String> = route
                .middleware
                .iter()
                .map(|m| m.capability.clone())
                .collect();
            capabilities.sort();
            capabilities.dedup();
            app_routes.push(AppRoute {
                methods: route.methods.clone(),
                path: route.path.clone(),
                capabilities,
                rate_limited: route.rate_limit.limited,
                auth: route.auth.status.clone(),
            });
            let key = (route.loc, route.path.clone(), route.methods.clone());
            if self.route_keys.insert(key) {
                self.model.routes.push(route);
            }
        }
        self.model.apps.push(App {
            package: self.prog.package_at(locs.0.file),
            framework: framework.into(),
            loc: locs.0,
            router_loc: locs.1,
            served,
            loopback_only,
            redirect_only,
            routes: app_routes,
            listeners,
        });
    }

    fn route(&mut self, framework: &str, rv: &RouteVal, app: usize) -> Route {
        let an = self.an;
        let layers: Vec<_> = rv.layers.iter().rev().collect();
        let middleware: Vec<Middleware> = layers.iter().map(|l| an.classify_layer(l)).collect();
        let mut auth = AuthInfo::default();
        // Auth applied only when a flag is set (actix-web `Condition::new`).
        let mut conditional = false;
        let mut optional = false;
        for (m, l) in middleware.iter().zip(&layers) {
            if m.capability == "auth" {
                auth.evidence.push(Evidence {
                    loc: m.loc,
                    note: an.layer_note(m, l),
                });
                // A FastAPI dependency is not middleware, though it wraps the route the same way.
                let source = if m.tags.iter().any(|t| t == "dependency") {
                    "dependency"
                } else {
                    "middleware"
                };
                if m.tags.iter().any(|t| t == "conditional") {
                    conditional = true;
                } else if m.optional {
                    optional = true;
                } else if !auth.sources.iter().any(|s| s == source) {
                    auth.sources.push(source.into());
                }
            }
        }
        let mut rate = RateLimitInfo::default();
        for (m, l) in middleware.iter().zip(&layers) {
            if m.capability == "rate-limit" {
                rate.evidence.push(Evidence {
                    loc: m.loc,
                    note: an.layer_note(m, l),
                });
            }
        }
        let mut identity = IdentityInfo::default();
        let mut handler_cache: Option<(String, Evidence)> = None;
        let mut verifies_password: Vec<Evidence> = vec![];
        let handler_loc = match rv.handler.fn_id {
            Some(id) => Loc::new(self.prog.unit(id.unit).file, self.prog.func(id).span),
            None => rv.handler.loc,
        };
        if let Some(id) = rv.handler.fn_id {
            let f = self.prog.func(id);
            let s = an.summary(id);
            for p in &f.params {
                if let Some(ty) = &p.ty {
                    // A rate-limit guard as a handler parameter (`RocketGovernor<'_, Limit>`).
                    if let Some(e) = an
                        .catalog
                        .extractor(&ty.normalized())
                        .filter(|e| e.capability == "rate-limit")
                    {
                        rate.evidence.push(Evidence {
                            loc: Loc::new(self.prog.unit(id.unit).file, p.span),
                            note: format!("rate-limit guard `{}` ({})", ty.text, e.name),
                        });
                    }
                    if let Some((opt, note)) = an.auth_extractor(ty, 0) {
                        let loc = Loc::new(self.prog.unit(id.unit).file, p.span);
                        auth.evidence.push(Evidence {
                            loc,
                            note: note.clone(),
                        });
                        identity.evidence.push(Evidence { loc, note });
                        if opt {
                            optional = true;
                        } else if !auth.sources.contains(&"extractor".to_string()) {
                            auth.sources.push("extractor".into());
                        }
                    }
                }
            }
            // Attribute-based authorization on the handler (`#[protect("ADMIN")]`).
            for a in &f.attrs {
                if let Some(entry) = an
                    .catalog
                    .attribute(&a.path)
                    .filter(|e| e.capability == "auth")
                {
                    auth.evidence.push(Evidence {
                        loc: Loc::new(self.prog.unit(id.unit).file, a.span),
                        note: format!("`#[{}]` ({})", a.tokens, entry.name),
                    });
                    if !auth.sources.contains(&"attribute".to_string()) {
                        auth.sources.push("attribute".into());
                    }
                }
            }
            if let Some(e) = s.checked_auth.first().or(s.denies.first()) {
                auth.evidence.push(Evidence {
                    loc: e.loc,
                    note: format!("explicit check: {}", e.note),
                });
                auth.sources.push("handler-check".into());
            }
            identity.evidence.extend(s.credential.iter().cloned());
            rate.evidence.extend(s.rate_limit.iter().cloned());
            handler_cache = s.cache_headers.first().cloned();
            verifies_password = s.verifies_password.iter().take(2).cloned().collect();
            self.add_handler(id);
            self.add_inputs(id, rv);
        }
        auth.status = if !auth.sources.is_empty() {
            "enforced"
        } else if conditional {
            "conditional"
        } else if optional {
            "optional"
        } else {
            "none"
        }
        .into();
        identity.reads = auth.status != "none" || !identity.evidence.is_empty();
        rate.limited = !rate.evidence.is_empty();

        // Effective Cache-Control: an overriding layer (outermost wins) beats the handler, which beats
        // an if-not-present layer (innermost wins).
        let mut cache = CacheInfo::default();
        let header_layers: Vec<&Middleware> = middleware
            .iter()
            .filter(|m| m.tags.iter().any(|t| t == "cache-header"))
            .collect();
        let overriding = header_layers
            .iter()
            .find(|m| !m.tags.iter().any(|t| t == "if-not-present"));
        let fallback = header_layers
            .iter()
            .rev()
            .find(|m| m.tags.iter().any(|t| t == "if-not-present"));
        let from_layer = |m: &Middleware| {
            let d = m.directives.clone().unwrap_or_default();
            let note = format!("cache layer `{}` sets `Cache-Control: {d}`", m.name);
            (d, Evidence { loc: m.loc, note })
        };
        let effective = overriding
            .map(|m| from_layer(m))
            .or(handler_cache)
            .or(fallback.map(|m| from_layer(m)));
        if let Some((d, e)) = effective {
            cache.directives = d;
            cache.evidence.push(e);
        }
        cache.shared = !cache.directives.is_empty() && is_shared_cacheable(&cache.directives);
        let server: Vec<&Middleware> = middleware
            .iter()
            .filter(|m| m.tags.iter().any(|t| t == "response-cache"))
            .collect();
        cache.server = !server.is_empty();
        cache.server_keys_identity = server.iter().all(|m| m.keys_identity == Some(true));
        for m in &server {
            cache.evidence.push(Evidence {
                loc: m.loc,
                note: format!(
                    "server-side response cache `{}`{}",
                    m.name,
                    if m.keys_identity == Some(true) {
                        ""
                    } else {
                        " keyed without the caller's identity"
                    }
                ),
            });
        }

        // An unresolved handler (another crate's, a trait object) may write anything.
        let changes_state = rv
            .handler
            .fn_id
            .is_none_or(|id| an.summary(id).may_change_state);
        Route {
            package: self.prog.package_at(rv.loc.file),
            framework: framework.into(),
            methods: rv.methods.clone(),
            path: rv.path.clone(),
            handler: rv.handler.name.clone(),
            handler_loc: Some(handler_loc),
            changes_state,
            verifies_password,
            loc: rv.loc,
            middleware,
            auth,
            rate_limit: rate,
            cache,
            identity,
            app: Some(app),
        }
    }

    fn add_handler(&mut self, id: FnId) {
        if !self.handlers_seen.insert(id) {
            return;
        }
        let f = self.prog.func(id);
        let file = self.prog.unit(id.unit).file;
        let summary = self.an.summary(id);
        self.model.handlers.push(Handler {
            calls: f
                .calls
                .iter()
                .map(|c| match c.kind {
                    CallKind::Method => format!(".{}", c.name),
                    CallKind::Macro => format!("{}!", c.path.join("::")),
                    CallKind::Call => c.path.join("::"),
                    CallKind::Assign => format!("={}", c.name),
                    CallKind::Field => format!("{}{{{}}}", c.path.join("::"), c.name),
                })
                .collect(),
            cache_control: summary.cache_headers.first().map(|(d, _)| d.clone()),
            package: self.prog.package_of(id.unit).to_string(),
            name: self.prog.fn_display(id),
            is_async: f.is_async,
            loc: Loc::new(file, f.span),
            params: f
                .params
                .iter()
                .map(|p| HandlerParam {
                    binding: Analyzer::param_binding(p),
                    ty: p.ty.as_ref().map(|t| t.text.clone()).unwrap_or_default(),
                    loc: Loc::new(file, p.span),
                })
                .collect(),
        });
    }

    fn add_inputs(&mut self, id: FnId, rv: &RouteVal) {
        let an = self.an;
        let f = self.prog.func(id);
        let file = self.prog.unit(id.unit).file;
        let positional = self.positional_inputs.get(&id).cloned();
        let ctx = self.prog.ctx_of(id);
        if let Some(list) = self.preset_inputs.get(&id).cloned() {
            for (index, class) in list {
                let p = &f.params[index];
                self.input_params.entry(id).or_default().push(index);
                let at = Loc::new(file, p.span);
                self.push_input(id, rv, class, Analyzer::param_binding(p), at);
            }
            return;
        }
        for (index, p) in f.params.iter().enumerate() {
            let Some(ty) = &p.ty else { continue };
            // Frameworks that extract by position (warp) say which parameters are inputs; elsewhere the
            // parameter's type does.
            let class = match &positional {
                // Listed by position: the catalog still unwraps `Json<T>`; plain types are the body itself.
                Some(list) => {
                    list.iter()
                        .find(|(i, _, _)| *i == index)
                        .map(|(_, kind, extractor)| {
                            an.classify_input(ty, &ctx).unwrap_or_else(|| InputClass {
                                kind: kind.to_string(),
                                extractor: extractor.replace("{type}", &ty.text),
                                inner: ty.clone(),
                                validated_by: None,
                            })
                        })
                }
                None => an.classify_input(ty, &ctx),
            };
            if let Some(class) = class {
                self.input_params.entry(id).or_default().push(index);
                self.push_input(
                    id,
                    rv,
                    class,
                    Analyzer::param_binding(p),
                    Loc::new(file, p.span),
                );
            }
        }
        // Inputs read inside the handler: `let user: NewUser = req.parse_json().await?` (salvo).
        for c in &f.calls {
            if !an
                .capabilities(&ctx, c)
                .iter()
                .any(|e| e.capability == "input")
            {
                continue;
            }
            let kind = match c.name.as_str() {
                "parse_json" => "json",
                "parse_form" => "form",
                "parse_queries" => "query",
                _ => "body",
            };
            let bound = let_binding_for(&f.body, c.span);
            let ty = match (c.generics.first(), &bound) {
                (Some(g), _) => TypeRef {
                    segs: vec![Name::new(g.split('<').next().unwrap_or(g))],
                    args: vec![],
                    text: g.to_string(),
                    span: c.span,
                },
                (None, Some((_, Some(t)))) => t.clone(),
                _ => continue,
            };
            let binding = bound.map(|(b, _)| b).unwrap_or_default();
            let class = InputClass {
                kind: kind.into(),
                extractor: format!("{}.{}()", c.recv.as_deref().unwrap_or("req"), c.name),
                inner: ty,
                validated_by: None,
            };
            self.push_input(id, rv, class, binding, Loc::new(file, c.span));
        }
    }

    fn push_input(
        &mut self,
        id: FnId,
        rv: &RouteVal,
        class: InputClass,
        binding: String,
        loc: Loc,
    ) {
        if !self.inputs_seen.insert(loc) {
            return;
        }
        let an = self.an;
        let ctx = self.prog.ctx_of(id);
        let mut fields = vec![];
        an.free_form_fields(&class.inner, &ctx, 0, "", &mut fields);
        let mut validation = vec![];
        let mut evidence = vec![];
        if let Some(w) = &class.validated_by {
            validation.push("wrapper".to_string());
            evidence.push(Evidence {
                loc,
                note: w.clone(),
            });
        }
        let (inner, _) = class.inner.strip_option();
        if let Some((how, tloc)) = an.type_validates(inner.name(), &ctx) {
            validation.push(
                if how.starts_with("derives") {
                    "derive"
                } else {
                    "type"
                }
                .into(),
            );
            evidence.push(Evidence {
                loc: tloc,
                note: format!("`{}` {how}", inner.name()),
            });
        }
        if let Some(e) = an.handler_validates(id, &binding, inner.name()) {
            validation.push("call".into());
            evidence.push(e);
        }
        let type_loc = an.type_loc(&class.inner, &ctx);
        if let Some(tl) = type_loc {
            if !evidence.iter().any(|e| e.loc == tl) {
                evidence.push(Evidence {
                    loc: tl,
                    note: format!("`{}` is defined here", inner.name()),
                });
            }
        }
        // Filed under the route's package, whichever crate defines the handler.
        self.model.inputs.push(Input {
            package: self.prog.package_at(rv.loc.file),
            language: self.prog.unit(id.unit).language,
            kind: class.kind,
            extractor: class.extractor,
            ty: class.inner.text.clone(),
            type_loc,
            binding,
            handler: self.prog.fn_display(id),
            methods: rv.methods.clone(),
            path: rv.path.clone(),
            free_form: !fields.is_empty(),
            free_form_fields: fields,
            validated: !validation.is_empty(),
            validation,
            loc,
            evidence,
        });
    }

    fn add_functions(&mut self) {
        for id in self.prog.all_fns() {
            let f = self.prog.func(id);
            if f.is_closure {
                continue;
            }
            let traced = f
                .attrs
                .iter()
                .find(|a| a.path.rsplit("::").next() == Some("instrument"))
                .map(|a| traced_params(f, &a.tokens))
                .unwrap_or_default();
            let always_returns = always_returns(&f.body)
                .map(|e| self.an.text(id.unit, e.span()).split_whitespace().collect());
            self.model.functions.push(Function {
                package: self.prog.package_of(id.unit).to_string(),
                name: self.prog.fn_display(id),
                is_async: f.is_async,
                attrs: f.attrs.iter().map(|a| a.path.to_string()).collect(),
                traced_params: traced,
                trait_name: f.trait_name.map(String::from),
                always_returns,
                role: "service",
                loc: Loc::new(self.prog.unit(id.unit).file, f.span),
            });
        }
    }

    fn add_types(&mut self) {
        for unit in self.prog.units {
            for t in &unit.facts.types {
                let attrs = |a: &[crate::facts::Attr]| {
                    a.iter().map(|a| a.tokens.clone()).collect::<Vec<_>>()
                };
                self.model.types.push(TypeInfo {
                    package: self.prog.crates[unit.krate as usize].name.clone(),
                    name: t.name.to_string(),
                    kind: match t.kind {
                        crate::facts::TypeKind::Struct => "struct",
                        crate::facts::TypeKind::Enum => "enum",
                        crate::facts::TypeKind::Alias => "alias",
                    }
                    .into(),
                    derives: t.derives.iter().map(|d| d.to_string()).collect(),
                    attrs: attrs(&t.attrs),
                    fields: t
                        .fields
                        .iter()
                        .map(|f| FieldInfo {
                            name: f.name.to_string(),
                            ty: f.ty.text.clone(),
                            attrs: attrs(&f.attrs),
                            loc: Loc::new(unit.file, f.span),
                        })
                        .collect(),
                    loc: Loc::new(unit.file, t.span),
                });
            }
        }
    }
}

/// The parameters `#[instrument(..)]` records: all but `self` and those it skips (`skip(a, b)`,
/// `skip_all`).
fn traced_params(f: &crate::facts::FnDef, tokens: &str) -> Vec<String> {
    if tokens.contains("skip_all") {
        return vec![];
    }
    let skipped: Vec<&str> = tokens
        .find("skip(")
        .map(|i| {
            let rest = &tokens[i + 5..];
            rest[..rest.find(')').unwrap_or(rest.len())]
                .split(',')
                .map(str::trim)
                .collect()
        })
        .unwrap_or_default();
    f.params
        .iter()
        .flat_map(|p| p.pat.bindings.iter())
        .filter(|b| *b != "self" && !skipped.contains(&b.as_str()))
        .map(|b| b.to_string())
        .collect()
}

/// The `let` that binds the value of the call at `span`: its binding and declared type.
fn let_binding_for(
    block: &crate::facts::Block,
    span: crate::source::Span,
) -> Option<(String, Option<TypeRef>)> {
    use crate::facts::{Expr, Stmt};
    for stmt in &block.stmts {
        match stmt {
            Stmt::Let(l) => {
                let Some(init) = &l.init else { continue };
                let s = init.span();
                if s.start <= span.start && span.end <= s.end {
                    return Some((
                        l.pat
                            .bindings
                            .first()
                            .map(|b| b.to_string())
                            .unwrap_or_default(),
                        l.ty.clone(),
                    ));
                }
            }
            Stmt::Expr { expr, .. } => {
                let inner = match expr {
                    Expr::Block { block, .. } | Expr::Loop { body: block, .. } => Some(block),
                    Expr::If { then, .. } => Some(then),
                    _ => None,
                };
                if let Some(found) = inner.and_then(|b| let_binding_for(b, span)) {
                    return Some(found);
                }
            }
        }
    }
    None
}

fn is_loopback(host: &str) -> bool {
    let h = host.trim_matches(|c| c == '[' || c == ']');
    h == "localhost" || h.starts_with("127.") || h == "::1" || h == "0:0:0:0:0:0:0:1"
}

/// The one expression a body returns whatever happens: its only statement, with no branch, `?`, loop
/// or early return inside (`Ok(ServerCertVerified::assertion())`).
pub(super) fn always_returns(body: &Block) -> Option<&Expr> {
    let [stmt] = &body.stmts[..] else {
        return None;
    };
    let e = match stmt {
        Stmt::Expr { expr, semi: false } => expr,
        Stmt::Expr {
            expr: Expr::Return { value: Some(v), .. },
            ..
        } => v.as_ref(),
        _ => return None,
    };
    let mut branches = false;
    e.walk(&mut |x| {
        branches |= matches!(
            x,
            Expr::If { .. }
                | Expr::Match { .. }
                | Expr::Try { .. }
                | Expr::Loop { .. }
                | Expr::Return { .. }
                | Expr::Closure { .. }
                | Expr::Unknown { .. }
        )
    });
    (!branches).then_some(e)
}
