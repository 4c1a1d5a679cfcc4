//! actix-web: what `App`, `web::scope`, `web::resource`, `web::get().to(..)`, attribute routes
//! (`#[get("/x")]` registered with `.service(h)`), `configure`, `wrap` and `HttpServer` build.
//! Semantics that matter for security:
//! - `wrap` on an `App`, scope or resource wraps every service registered on it, whatever the order of
//!   the calls; the last `wrap` registered is the outermost;
//! - a scope's or resource's path prefixes the routes inside it;
//! - `guard(..)` is routing, not authentication;
//! - `HttpServer::bind*` adds listeners to one server: `bind_rustls*`/`bind_openssl` speak TLS.

use super::axum::{handler_of, path_text, to_layers};
use super::eval::{to_addr, CallCx, Evaluator, Frame, ServeEvent};
use super::value::*;
use std::rc::Rc;

pub const FRAMEWORK: &str = "actix-web";
const METHODS: &[&str] = &[
    "get", "post", "put", "delete", "patch", "head", "options", "trace", "connect",
];

fn router(mount: Option<String>, loc: crate::source::Loc) -> Value {
    Value::Router(Rc::new(RouterVal {
        framework: FRAMEWORK,
        mount,
        loc,
        ..Default::default()
    }))
}

fn server(app: Value) -> Value {
    Value::Server(Rc::new(ServerVal {
        framework: FRAMEWORK,
        tls: None,
        app,
        listeners: vec![],
        config: Value::Unknown,
    }))
}

fn is_actix(cx: &CallCx) -> bool {
    cx.segs.iter().any(|s| s == "web" || s == "actix_web")
        || cx.names.iter().any(|n| n.starts_with("actix_web::"))
}

pub fn call(ev: &mut Evaluator, _f: &mut Frame, cx: &CallCx) -> Option<Value> {
    let short = cx.short();
    let last = cx.last();
    match short.as_str() {
        // clap's `App::new("name")` takes an argument; actix-web's does not.
        "App::new" | "App::default" if cx.args.is_empty() => return Some(router(None, cx.loc)),
        "web::scope" | "Scope::new" => return Some(router(Some(path_text(&cx.arg(0))), cx.loc)),
        "web::resource" | "Resource::new" => {
            return Some(router(Some(path_text(&cx.arg(0))), cx.loc))
        }
        // `actix_server::Server::build()`: listeners come with `.bind(name, addr, factory)`; actix-http's
        // `HttpService::build().finish(map_config(app, |_| AppConfig::default())).tcp()` is what a factory
        // builds: its app comes with `finish`, its TLS with `.rustls*(..)`.
        "Server::build" if cx.names.iter().any(|n| n.starts_with("actix_server")) => {
            return Some(server(Value::Unknown))
        }
        "HttpService::build" => return Some(server(Value::Unknown)),
        _ if last == "map_config" && matches!(cx.arg(0), Value::Router(_)) => {
            return Some(cx.arg(0));
        }
        "HttpServer::new" => {
            let app = match cx.arg(0) {
                Value::Fn(id, _) => ev.call_fn(id, vec![]),
                other => other,
            };
            return Some(server(app));
        }
        _ => {}
    }
    // `web::get()`, `web::post()`, `web::route()`, `web::method(Method::GET)`: a route waiting for `.to(h)`.
    if is_actix(cx) || cx.segs.len() == 1 {
        let methods: Option<Vec<String>> = match last {
            m if METHODS.contains(&m) && cx.args.is_empty() => Some(vec![m.to_uppercase()]),
            "route" if cx.args.is_empty() => Some(vec!["ANY".into()]),
            "method" if cx.args.len() == 1 => {
                let text = cx
                    .raw
                    .first()
                    .map(|e| ev.text(cx.unit, e.span()))
                    .unwrap_or_default();
                Some(vec![text
                    .rsplit("::")
                    .next()
                    .unwrap_or("ANY")
                    .to_uppercase()])
            }
            _ => None,
        };
        if let Some(m) = methods {
            return Some(Value::MethodRouter(Rc::new(MethodRouterVal {
                entries: vec![(
                    m,
                    HandlerVal {
                        fn_id: None,
                        name: String::new(),
                        loc: cx.loc,
                    },
                )],
                layers: vec![],
            })));
        }
    }
    None
}

/// `#[get("/path")]`, `#[route("/path", method = "GET", method = "HEAD")]` (actix-web),
/// `#[route(GET, uri = "/path")]` (Rocket) on a handler.
pub(super) fn attribute_route(ev: &Evaluator, handler: &HandlerVal) -> Option<RouteVal> {
    let id = handler.fn_id?;
    let f = ev.prog.func(id);
    for a in &f.attrs {
        let name = a.path.rsplit("::").next().unwrap_or("");
        let methods = if METHODS.contains(&name) {
            vec![name.to_uppercase()]
        } else if name == "route" {
            let m: Vec<String> = a
                .tokens
                .split("method=")
                .skip(1)
                .filter_map(super::analysis::first_string_literal)
                .map(|m| m.to_uppercase())
                .collect();
            // Rocket: `route(GET, uri = "/x")`.
            let rocket_method = a
                .tokens
                .trim_start_matches("route(")
                .split([',', ')'])
                .next()
                .unwrap_or("");
            if !m.is_empty() {
                m
            } else if METHODS.contains(&rocket_method.to_lowercase().as_str()) {
                vec![rocket_method.to_uppercase()]
            } else {
                vec!["ANY".into()]
            }
        } else {
            continue;
        };
        let path = super::analysis::first_string_literal(&a.tokens)?;
        return Some(RouteVal {
            methods,
            path,
            handler: handler.clone(),
            loc: crate::source::Loc::new(ev.prog.unit(id.unit).file, a.span),
            layers: vec![],
        });
    }
    None
}

/// What `.service(x)` registers: a scope or resource (mounted), an attribute-routed handler, or a tuple
/// of them.
fn service(ev: &Evaluator, r: &mut RouterVal, v: Value) {
    match v {
        Value::Router(inner) => match &inner.mount {
            Some(m) => r.ops.push(RouterOp::Nest(m.clone(), inner.clone())),
            None => r.ops.push(RouterOp::Merge(inner.clone())),
        },
        Value::Fn(id, loc) => {
            let h = HandlerVal {
                fn_id: Some(id),
                name: ev.prog.fn_display(id),
                loc,
            };
            if let Some(rt) = attribute_route(ev, &h) {
                r.ops.push(RouterOp::Route(Rc::new(rt)));
            }
        }
        Value::Tuple(items) => {
            for i in items.iter() {
                service(ev, r, i.clone());
            }
        }
        // A mounted service such as `Files::new("/static", "./static")`: a route for everything below.
        Value::Opaque(o) => {
            if let Some(mount) = o
                .arg_values
                .first()
                .cloned()
                .flatten()
                .filter(|m| m.starts_with('/'))
            {
                r.ops.push(RouterOp::Route(Rc::new(RouteVal {
                    methods: vec!["GET".into(), "HEAD".into()],
                    path: join_paths(&mount, "{tail}*"),
                    handler: HandlerVal {
                        fn_id: None,
                        name: o.name.clone(),
                        loc: o.loc,
                    },
                    loc: o.loc,
                    layers: vec![],
                })));
            }
        }
        _ => {}
    }
}

pub fn method(ev: &mut Evaluator, _f: &mut Frame, recv: &Value, cx: &CallCx) -> Option<Value> {
    let name = cx.last();
    match recv {
        Value::Router(r) if r.framework == FRAMEWORK => {
            let mut r2 = (**r).clone();
            match name {
                "service" | "default_service" => service(ev, &mut r2, cx.arg(0)),
                "route" => {
                    // On an App or scope: `.route("/x", web::get().to(h))`; on a resource: `.route(web::get().to(h))`.
                    let (path, mr, loc) = if cx.args.len() == 2 {
                        (path_text(&cx.arg(0)), cx.arg(1), cx.arg_loc(0))
                    } else {
                        (String::new(), cx.arg(0), cx.arg_loc(0))
                    };
                    if let Value::MethodRouter(mr) = mr {
                        r2.add_method_routes(&path, &mr, loc);
                    }
                }
                // `web::resource("/x").to(h)`: every method.
                "to" => r2.ops.push(RouterOp::Route(Rc::new(RouteVal {
                    methods: vec!["ANY".into()],
                    path: String::new(),
                    handler: handler_of(ev, cx, 0),
                    loc: cx.arg_loc(0),
                    layers: vec![],
                }))),
                "wrap" => {
                    let layers = condition_aware_layers(ev, cx);
                    r2.ops.push(RouterOp::WrapAll(Rc::new(layers)));
                }
                "wrap_fn" => {
                    let fn_id = match cx.arg(0) {
                        Value::Fn(id, _) => Some(id),
                        _ => None,
                    };
                    let fname = fn_id
                        .map(|id| ev.prog.fn_display(id))
                        .unwrap_or_else(|| "?".into());
                    r2.ops.push(RouterOp::WrapAll(Rc::new(vec![LayerVal {
                        name: format!("wrap_fn({fname})"),
                        names: vec!["wrap_fn".into()],
                        arg_texts: vec![],
                        arg_values: vec![],
                        loc: cx.loc,
                        fn_id,
                        extractor: None,
                        preset: None,
                    }])));
                }
                "configure" => {
                    if let Value::Fn(id, _) = cx.arg(0) {
                        let cfg = router(None, cx.loc);
                        if let Value::Router(out) = ev.call_fn_param_out(id, vec![cfg], 0) {
                            r2.ops.push(RouterOp::Merge(out));
                        }
                    }
                }
                "app_data" | "data" | "guard" | "name" | "external_resource"
                | "default_service_fn" => {}
                _ => return None,
            }
            Some(Value::Router(Rc::new(r2)))
        }
        Value::MethodRouter(mr) if name == "to" => {
            let mut m2 = (**mr).clone();
            let h = handler_of(ev, cx, 0);
            for e in &mut m2.entries {
                e.1 = h.clone();
            }
            Some(Value::MethodRouter(Rc::new(m2)))
        }
        Value::MethodRouter(mr) if name == "guard" || name == "method" => {
            let mut m2 = (**mr).clone();
            if name == "method" {
                let text = cx
                    .raw
                    .first()
                    .map(|e| ev.text(cx.unit, e.span()))
                    .unwrap_or_default();
                for e in &mut m2.entries {
                    e.0 = vec![text.rsplit("::").next().unwrap_or("ANY").to_uppercase()];
                }
            }
            Some(Value::MethodRouter(Rc::new(m2)))
        }
        Value::MethodRouter(mr) if name == "wrap" => {
            let mut m2 = (**mr).clone();
            m2.layers
                .extend(condition_aware_layers(ev, cx).into_iter().rev());
            Some(Value::MethodRouter(Rc::new(m2)))
        }
        Value::Server(s) if s.framework == FRAMEWORK => {
            let mut s2 = (**s).clone();
            let names = vec![format!(".{name}"), format!("HttpServer::{name}")];
            match name {
                "run" => {
                    ev.record_serve(ServeEvent {
                        loc: cx.loc,
                        listeners: s2.listeners.clone(),
                        app: s2.app.clone(),
                        framework: s2.framework,
                    });
                    return Some(Value::Unknown);
                }
                // `actix_server::Server::build().bind("name", addr, factory)`; the factory builds an
                // actix-web app, or an actix-http service around one.
                "bind" if cx.args.len() == 3 => {
                    let mut tls_loc = None;
                    if let Value::Fn(id, _) = cx.arg(2) {
                        s2.app = match ev.call_fn(id, vec![]) {
                            Value::Server(service) => {
                                tls_loc = service.tls;
                                service.app.clone()
                            }
                            app => app,
                        };
                    }
                    s2.listeners.push(ListenerVal {
                        framework: FRAMEWORK,
                        addr: to_addr(&cx.arg(1)),
                        tls: if tls_loc.is_some() { Tls::On } else { Tls::Off },
                        tls_loc,
                        loc: cx.loc,
                        via: "actix_server::Server::bind".into(),
                        local: false,
                        notes: vec![],
                    });
                }
                "finish" if cx.args.len() == 1 => s2.app = cx.arg(0),
                "tcp" | "tcp_auto_h2c" | "h1" | "h2" => {}
                _ if name == "openssl" || name.starts_with("rustls") => s2.tls = Some(cx.loc),
                _ => {
                    if let Some(entry) = ev.catalog.listener(&names) {
                        s2.listeners.push(ListenerVal::from_catalog(
                            FRAMEWORK,
                            entry,
                            to_addr(&cx.arg(0)),
                            cx.loc,
                        ));
                    }
                }
            }
            Some(Value::Server(Rc::new(s2)))
        }
        _ => None,
    }
}

/// `middleware::Condition::new(flag, mw)` enforces `mw` only when `flag` is true: its layers are the
/// inner middleware's, tagged `conditional`.
fn condition_aware_layers(ev: &Evaluator, cx: &CallCx) -> Vec<LayerVal> {
    let mut layers = to_layers(ev, &cx.arg(0), cx, 0);
    for l in &mut layers {
        if l.names.iter().any(|n| n.ends_with("Condition::new")) {
            if let Some(inner) = l.arg_texts.get(1) {
                l.name = format!(
                    "Condition::new({}, {inner})",
                    l.arg_texts.first().cloned().unwrap_or_default()
                );
                // The inner middleware is what the catalog knows; keep the condition visible.
                let inner_name = inner.split('(').next().unwrap_or(inner).trim().to_string();
                l.names = vec![
                    inner_name.clone(),
                    format!("{inner_name}::*"),
                    "Condition::new".into(),
                ];
                l.names.push(format!("conditional:{inner_name}"));
            }
        }
    }
    layers
}
