//! axum (and the tower/hyper pieces around it): what `Router`, method routers, layers and the serve
//! functions build. Semantics that matter for security:
//! - `Router::layer`/`route_layer` wrap only the routes added before the call; a later call wraps outside
//!   the earlier ones;
//! - in a `ServiceBuilder` or a tuple of layers, the first layer is the outermost;
//! - `nest` prefixes the nested router's paths and keeps its layers inside the outer router's.

use super::eval::{to_addr, CallCx, Evaluator, Frame, ServeEvent};
use super::value::*;
use std::rc::Rc;

const FRAMEWORK: &str = "axum";
const METHODS: &[&str] = &[
    "get", "post", "put", "delete", "patch", "head", "options", "trace", "connect", "any",
];
/// Methods of tower's `ServiceBuilder` (and tower-http's `ServiceBuilderExt`) that add a layer.
const BUILDER_LAYERS: &[&str] = &[
    "timeout",
    "rate_limit",
    "concurrency_limit",
    "load_shed",
    "buffer",
    "map_request",
    "map_response",
    "trace_for_http",
    "trace_for_grpc",
    "compression",
    "decompression",
    "propagate_header",
    "sensitive_headers",
    "sensitive_request_headers",
    "sensitive_response_headers",
    "set_request_id",
    "set_x_request_id",
    "propagate_request_id",
    "propagate_x_request_id",
    "catch_panic",
    "request_body_limit",
    "override_request_header",
    "override_response_header",
    "insert_response_header_if_not_present",
    "append_response_header",
];

pub(super) fn handler_of(ev: &Evaluator, cx: &CallCx, i: usize) -> HandlerVal {
    match cx.arg(i) {
        Value::Fn(id, loc) => HandlerVal {
            fn_id: Some(id),
            name: ev.prog.fn_display(id),
            loc,
        },
        _ => HandlerVal {
            fn_id: None,
            name: cx
                .raw
                .get(i)
                .map(|e| ev.text(cx.unit, e.span()))
                .unwrap_or_default(),
            loc: cx.arg_loc(i),
        },
    }
}

pub(super) fn method_router(entries: Vec<(Vec<String>, HandlerVal)>) -> Value {
    Value::MethodRouter(Rc::new(MethodRouterVal {
        entries,
        layers: vec![],
    }))
}

fn methods_from_filter(text: &str) -> Vec<String> {
    let upper = text.to_uppercase();
    let found: Vec<String> = [
        "GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS", "TRACE", "CONNECT",
    ]
    .iter()
    .filter(|m| upper.contains(&format!("::{m}")))
    .map(|m| m.to_string())
    .collect();
    if found.is_empty() {
        vec!["ANY".into()]
    } else {
        found
    }
}

pub fn call(ev: &mut Evaluator, _f: &mut Frame, cx: &CallCx) -> Option<Value> {
    let short = cx.short();
    let last = cx.last();
    let routing = cx.segs.len() == 1 || cx.segs.iter().any(|s| s == "routing");
    if routing && METHODS.contains(&last) && cx.args.len() == 1 {
        let m = if last == "any" {
            "ANY".to_string()
        } else {
            last.to_uppercase()
        };
        return Some(method_router(vec![(vec![m], handler_of(ev, cx, 0))]));
    }
    if routing && last.ends_with("_service") && METHODS.contains(&last.trim_end_matches("_service"))
    {
        let m = last.trim_end_matches("_service");
        let m = if m == "any" {
            "ANY".to_string()
        } else {
            m.to_uppercase()
        };
        return Some(method_router(vec![(vec![m], handler_of(ev, cx, 0))]));
    }
    if routing && (last == "on" || last == "on_service") && cx.args.len() == 2 {
        let filter = cx
            .raw
            .first()
            .map(|e| ev.text(cx.unit, e.span()))
            .unwrap_or_default();
        return Some(method_router(vec![(
            methods_from_filter(&filter),
            handler_of(ev, cx, 1),
        )]));
    }
    match short.as_str() {
        "Router::new" | "Router::default" => {
            return Some(Value::Router(Rc::new(RouterVal {
                framework: FRAMEWORK,
                loc: cx.loc,
                ..Default::default()
            })))
        }
        "ServiceBuilder::new" | "ServiceBuilder::default" => {
            return Some(Value::Layers(Rc::new(vec![])))
        }
        // loco: `Routes::new().prefix("auth").add("/login", post(login))`, `AppRoutes::with_default_routes()`.
        "Routes::new" | "AppRoutes::with_default_routes" | "AppRoutes::empty" => {
            return Some(Value::Router(Rc::new(RouterVal {
                framework: FRAMEWORK,
                loc: cx.loc,
                ..Default::default()
            })))
        }
        "TokioIo::new" | "TowerToHyperService::new" | "Compat::new" => return Some(cx.arg(0)),
        _ => {}
    }
    match last {
        "from_fn"
        | "from_fn_with_state"
        | "map_request"
        | "map_request_with_state"
        | "map_response"
        | "map_response_with_state" => {
            let f = cx.args.last().cloned().unwrap_or(Value::Unknown);
            let fn_id = match f {
                Value::Fn(id, _) => Some(id),
                _ => None,
            };
            let fname = fn_id
                .map(|id| ev.prog.fn_display(id))
                .unwrap_or_else(|| "?".into());
            return Some(Value::Layers(Rc::new(vec![LayerVal {
                name: format!("{last}({fname})"),
                names: vec![format!("middleware::{last}"), last.to_string()],
                arg_texts: vec![],
                arg_values: vec![],
                loc: cx.loc,
                fn_id,
                extractor: None,
                preset: None,
            }])));
        }
        "from_extractor" | "from_extractor_with_state" => {
            let ty = cx.generics.first().cloned();
            let name = ty
                .as_ref()
                .map(|t| format!("{last}::<{}>", t.text))
                .unwrap_or_else(|| last.to_string());
            return Some(Value::Layers(Rc::new(vec![LayerVal {
                name,
                names: vec![format!("middleware::{last}")],
                arg_texts: vec![],
                arg_values: vec![],
                loc: cx.loc,
                fn_id: None,
                extractor: ty,
                preset: None,
            }])));
        }
        _ => {}
    }
    if cx.names.iter().any(|n| n == "axum::serve")
        || (last == "serve" && cx.segs.len() <= 2 && cx.args.len() == 2)
    {
        let listener = match cx.arg(0) {
            Value::Listener(l) => {
                let mut l = (*l).clone();
                // `axum::serve` speaks plain HTTP on whatever it is given.
                if l.tls == Tls::Unknown {
                    l.tls = Tls::Off;
                }
                Some(l)
            }
            _ => None,
        };
        ev.record_serve(ServeEvent {
            loc: cx.loc,
            listeners: listener.into_iter().collect(),
            app: cx.arg(1),
            framework: FRAMEWORK,
        });
        return Some(Value::Unknown);
    }
    if let Some(entry) = ev.catalog.listener(&cx.names) {
        return Some(Value::Listener(Rc::new(ListenerVal::from_catalog(
            FRAMEWORK,
            entry,
            to_addr(&cx.arg(0)),
            cx.loc,
        ))));
    }
    None
}

/// The layers a `.layer(x)` argument stands for, outermost first.
pub(super) fn to_layers(ev: &Evaluator, v: &Value, cx: &CallCx, i: usize) -> Vec<LayerVal> {
    match v {
        Value::Layers(l) => (**l).clone(),
        Value::Opaque(o) => vec![LayerVal {
            name: o.name.clone(),
            // Builder calls refine what a layer is (`JwtAuth::new(..).force_passed(true)`).
            names: o
                .methods
                .iter()
                .map(|m| format!("{}.{m}", o.name))
                .chain(o.names.iter().cloned())
                .collect(),
            arg_texts: o.arg_texts.clone(),
            arg_values: o.arg_values.clone(),
            loc: o.loc,
            fn_id: None,
            extractor: None,
            preset: None,
        }],
        Value::Struct(path, _, loc) => vec![LayerVal {
            name: path.join("::"),
            names: vec![
                path.last().map(|n| n.to_string()).unwrap_or_default(),
                path.join("::"),
            ],
            arg_texts: vec![],
            arg_values: vec![],
            loc: *loc,
            fn_id: None,
            extractor: None,
            preset: None,
        }],
        Value::Path(segs, loc) => vec![LayerVal {
            name: segs.join("::"),
            names: vec![
                segs.last().map(|n| n.to_string()).unwrap_or_default(),
                segs.join("::"),
            ],
            arg_texts: vec![],
            arg_values: vec![],
            loc: *loc,
            fn_id: None,
            extractor: None,
            preset: None,
        }],
        Value::Tuple(items) => items.iter().flat_map(|x| to_layers(ev, x, cx, i)).collect(),
        // A function of the crate used as middleware (salvo `hoop(auth)`, poem `around(f)`).
        Value::Fn(id, loc) => vec![LayerVal {
            name: ev.prog.fn_display(*id),
            names: vec![],
            arg_texts: vec![],
            arg_values: vec![],
            loc: *loc,
            fn_id: Some(*id),
            extractor: None,
            preset: None,
        }],
        _ => vec![LayerVal {
            name: cx
                .raw
                .get(i)
                .map(|e| ev.text(cx.unit, e.span()))
                .unwrap_or_default(),
            names: vec![],
            arg_texts: vec![],
            arg_values: vec![],
            loc: cx.arg_loc(i),
            fn_id: None,
            extractor: None,
            preset: None,
        }],
    }
}

pub(super) fn path_text(v: &Value) -> String {
    match v {
        Value::Str(s) => s.text.clone(),
        _ => "{?}".into(),
    }
}

pub fn method(ev: &mut Evaluator, _f: &mut Frame, recv: &Value, cx: &CallCx) -> Option<Value> {
    let name = cx.last();
    match recv {
        // Other frameworks' routers have their own adapters.
        Value::Router(r) if r.framework != FRAMEWORK => None,
        Value::Router(r) => {
            let mut r2 = (**r).clone();
            match name {
                "route" => {
                    let path = path_text(&cx.arg(0));
                    let loc = cx.arg_loc(0);
                    match cx.arg(1) {
                        Value::MethodRouter(mr) => {
                            r2.add_method_routes(&path, &mr, loc);
                        }
                        _ => r2.ops.push(RouterOp::Route(Rc::new(RouteVal {
                            methods: vec!["ANY".into()],
                            path,
                            handler: handler_of(ev, cx, 1),
                            loc,
                            layers: vec![],
                        }))),
                    }
                }
                "route_service" => r2.ops.push(RouterOp::Route(Rc::new(RouteVal {
                    methods: vec!["ANY".into()],
                    path: path_text(&cx.arg(0)),
                    handler: handler_of(ev, cx, 1),
                    loc: cx.arg_loc(0),
                    layers: vec![],
                }))),
                "nest" => {
                    if let Value::Router(inner) = cx.arg(1) {
                        r2.ops.push(RouterOp::Nest(path_text(&cx.arg(0)), inner));
                    }
                }
                "nest_service" => r2.ops.push(RouterOp::Route(Rc::new(RouteVal {
                    methods: vec!["ANY".into()],
                    path: join_paths(&path_text(&cx.arg(0)), "/{*rest}"),
                    handler: handler_of(ev, cx, 1),
                    loc: cx.arg_loc(0),
                    layers: vec![],
                }))),
                "merge" => {
                    if let Value::Router(inner) = cx.arg(0) {
                        if r2.fallback.is_none() {
                            r2.fallback = inner.fallback.clone();
                        }
                        r2.ops.push(RouterOp::Merge(inner));
                    }
                }
                "layer" | "route_layer" => {
                    let layers = to_layers(ev, &cx.arg(0), cx, 0);
                    r2.ops.push(RouterOp::Layers(Rc::new(layers)));
                }
                "fallback" | "fallback_service" => r2.fallback = Some(handler_of(ev, cx, 0)),
                // loco's route lists: a prefix for the whole list, routes added with `add`.
                "prefix" => r2.mount = Some(path_text(&cx.arg(0))),
                "add" => {
                    let path = path_text(&cx.arg(0));
                    if let Value::MethodRouter(mr) = cx.arg(1) {
                        r2.add_method_routes(&path, &mr, cx.arg_loc(0));
                    }
                }
                "add_route" | "add_routes" => {
                    let list = match cx.arg(0) {
                        Value::Tuple(items) => items.iter().cloned().collect(),
                        other => vec![other],
                    };
                    for v in list {
                        if let Value::Router(inner) = v {
                            match &inner.mount {
                                Some(m) => r2.ops.push(RouterOp::Nest(m.clone(), inner.clone())),
                                None => r2.ops.push(RouterOp::Merge(inner.clone())),
                            }
                        }
                    }
                }
                "with_state"
                | "into_make_service"
                | "into_make_service_with_connect_info"
                | "into_service"
                | "boxed"
                | "without_v07_checks" => {}
                _ => return None,
            }
            Some(Value::Router(Rc::new(r2)))
        }
        Value::MethodRouter(mr) => {
            let mut m2 = (**mr).clone();
            match name {
                m if METHODS.contains(&m) => {
                    let method = if m == "any" {
                        "ANY".to_string()
                    } else {
                        m.to_uppercase()
                    };
                    m2.entries.push((vec![method], handler_of(ev, cx, 0)));
                }
                m if m.ends_with("_service")
                    && METHODS.contains(&m.trim_end_matches("_service")) =>
                {
                    m2.entries.push((
                        vec![m.trim_end_matches("_service").to_uppercase()],
                        handler_of(ev, cx, 0),
                    ));
                }
                "on" | "on_service" => {
                    let filter = cx
                        .raw
                        .first()
                        .map(|e| ev.text(cx.unit, e.span()))
                        .unwrap_or_default();
                    m2.entries
                        .push((methods_from_filter(&filter), handler_of(ev, cx, 1)));
                }
                "layer" | "route_layer" => {
                    let layers = to_layers(ev, &cx.arg(0), cx, 0);
                    m2.layers.extend(layers.into_iter().rev());
                }
                "with_state"
                | "into_make_service"
                | "into_make_service_with_connect_info"
                | "fallback"
                | "boxed" => {}
                _ => return None,
            }
            Some(Value::MethodRouter(Rc::new(m2)))
        }
        Value::Layers(stack) => {
            // `layer.layer(router)` / `ServiceBuilder::new()..service(router)`: the stack wraps the whole
            // router, outside everything the router itself applies.
            if matches!(name, "layer" | "service") {
                if let Value::Router(r) = cx.arg(0) {
                    let mut r2 = (*r).clone();
                    r2.ops.push(RouterOp::Layers(stack.clone()));
                    return Some(Value::Router(Rc::new(r2)));
                }
            }
            let mut s2 = (**stack).clone();
            match name {
                "layer" => s2.extend(to_layers(ev, &cx.arg(0), cx, 0)),
                "option_layer" => s2.extend(to_layers(ev, &cx.arg(0), cx, 0)),
                "into_inner" | "check_clone" | "boxed_clone" => {}
                m if BUILDER_LAYERS.contains(&m) => {
                    let fn_id = match cx.args.last() {
                        Some(Value::Fn(id, _)) => Some(*id),
                        _ => None,
                    };
                    s2.push(LayerVal {
                        name: format!("ServiceBuilder::{m}"),
                        names: vec![format!("ServiceBuilder::{m}")],
                        arg_texts: cx.raw.iter().map(|e| ev.text(cx.unit, e.span())).collect(),
                        arg_values: cx.args.iter().map(Value::known_text).collect(),
                        loc: cx.loc,
                        fn_id,
                        extractor: None,
                        preset: None,
                    });
                }
                _ => return None,
            }
            Some(Value::Layers(Rc::new(s2)))
        }
        Value::Listener(l) => match name {
            "serve" => {
                ev.record_serve(ServeEvent {
                    loc: cx.loc,
                    listeners: vec![(**l).clone()],
                    app: cx.arg(0),
                    framework: FRAMEWORK,
                });
                Some(Value::Unknown)
            }
            "acceptor" => {
                let mut l2 = (**l).clone();
                if let Value::Opaque(o) = cx.arg(0) {
                    if o.tls {
                        l2.tls = Tls::On;
                        l2.tls_loc = Some(o.loc);
                    }
                }
                Some(Value::Listener(Rc::new(l2)))
            }
            "accept" => Some(Value::Stream(l.clone())),
            _ => Some(recv.clone()),
        },
        Value::Opaque(o) if o.tls && name == "accept" => match cx.arg(0) {
            Value::Stream(s) => {
                let mut s2 = (*s).clone();
                s2.tls = Tls::On;
                s2.tls_loc = Some(o.loc);
                Some(Value::Stream(Rc::new(s2)))
            }
            _ => Some(Value::Unknown),
        },
        _ if name == "serve_connection" || name == "serve_connection_with_upgrades" => {
            let listener = match cx.arg(0) {
                Value::Stream(s) => Some((*s).clone()),
                _ => None,
            };
            if let Some(l) = listener {
                ev.record_serve(ServeEvent {
                    loc: cx.loc,
                    listeners: vec![l],
                    app: cx.arg(1),
                    framework: FRAMEWORK,
                });
            }
            Some(Value::Unknown)
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::super::value::join_paths;

    #[test]
    fn nesting_joins_paths() {
        assert_eq!(join_paths("/api", "/users"), "/api/users");
        assert_eq!(join_paths("/api/", "/"), "/api");
        assert_eq!(join_paths("", "/x"), "/x");
    }
}
