//! warp: filters combine into routes. `path!`/`path(..)` add segments, `get()`/`post()` restrict the
//! method, `and` concatenates (a filter with its own `and_then` used inside `and` is a guard), `or` is a
//! choice between routes, `map`/`and_then` set the handler, `with(..)` wraps. Extracting filters fill the
//! handler's parameters in order, which types `body::json()` and `query()` inputs. `warp::serve(f).run`
//! is plaintext; `.tls()` turns TLS on.
//! Semantics that matter for security: a header or cookie filter on `authorization`, an API key or a
//! session rejects requests without it; `header::optional` does not.

use super::axum::handler_of;
use super::eval::{to_addr, CallCx, Evaluator, Frame, ServeEvent};
use super::value::*;
use std::rc::Rc;

pub const FRAMEWORK: &str = "warp";
const METHODS: &[&str] = &["get", "post", "put", "delete", "patch", "head", "options"];

fn is_warp(cx: &CallCx) -> bool {
    cx.segs.first().is_some_and(|s| s == "warp") || cx.names.iter().any(|n| n.starts_with("warp::"))
}

fn filter(route: FilterRoute) -> Value {
    Value::Filter(Rc::new(FilterVal {
        routes: vec![route],
    }))
}

fn guard(ev: &Evaluator, cx: &CallCx, name: String) -> LayerVal {
    LayerVal {
        name: name.clone(),
        names: vec![name],
        arg_texts: cx.raw.iter().map(|e| ev.text(cx.unit, e.span())).collect(),
        arg_values: cx.args.iter().map(Value::known_text).collect(),
        loc: cx.loc,
        fn_id: None,
        extractor: None,
        preset: None,
    }
}

pub fn call(ev: &mut Evaluator, _f: &mut Frame, cx: &CallCx) -> Option<Value> {
    if !is_warp(cx) && cx.short() != "path!" {
        return None;
    }
    let last = cx.last().trim_end_matches('!');
    let short = cx.short();
    let route = |path: Vec<String>, methods: Vec<String>, slots: Vec<Slot>| FilterRoute {
        path,
        methods,
        slots,
        loc: cx.loc,
        ..Default::default()
    };
    let v = match (short.trim_end_matches('!'), last) {
        // `path!("users" / u32 / "posts")`: the macro's tokens are the segments.
        (_, "path") if cx.segs.last().is_some_and(|s| s.ends_with('!')) => {
            let tokens: Vec<String> = cx.raw.iter().map(|e| ev.text(cx.unit, e.span())).collect();
            path_macro(&tokens.join(","), cx.loc)
        }
        (_, "path") => {
            let seg = cx.arg(0).known_text().unwrap_or_else(|| "{?}".into());
            filter(route(vec![seg], vec![], vec![]))
        }
        ("path::param", _) | ("path::tail", _) => {
            filter(route(vec!["{param}".into()], vec![], vec![Slot::Path]))
        }
        ("path::end", _) | ("warp::any", _) | ("path::full", _) => {
            filter(route(vec![], vec![], vec![]))
        }
        (_, m) if METHODS.contains(&m) && cx.args.is_empty() => {
            filter(route(vec![], vec![m.to_uppercase()], vec![]))
        }
        ("body::json", _) => filter(route(
            vec![],
            vec![],
            vec![Slot::Input {
                kind: "json",
                ty: cx.generics.first().cloned(),
            }],
        )),
        ("body::form", _) => filter(route(
            vec![],
            vec![],
            vec![Slot::Input {
                kind: "form",
                ty: cx.generics.first().cloned(),
            }],
        )),
        ("body::bytes", _) | ("body::stream", _) | ("body::aggregate", _) => filter(route(
            vec![],
            vec![],
            vec![Slot::Input {
                kind: "body",
                ty: None,
            }],
        )),
        ("warp::query", _) | ("query::raw", _) => filter(route(
            vec![],
            vec![],
            vec![Slot::Input {
                kind: "query",
                ty: cx.generics.first().cloned(),
            }],
        )),
        ("body::content_length_limit", _) => {
            let mut r = route(vec![], vec![], vec![]);
            r.layers
                .push(guard(ev, cx, "warp::body::content_length_limit".into()));
            filter(r)
        }
        // Header and cookie filters: extract a value, and may authenticate (the catalog decides by name).
        ("warp::header", _)
        | ("header::exact", _)
        | ("header::exact_ignore_case", _)
        | ("warp::cookie", _)
        | ("cookie::cookie", _) => {
            let mut r = route(vec![], vec![], vec![Slot::Other]);
            r.layers.push(guard(
                ev,
                cx,
                format!("warp::{}", short.trim_start_matches("warp::")),
            ));
            filter(r)
        }
        ("header::optional", _)
        | ("cookie::optional", _)
        | ("header::headers_cloned", _)
        | ("warp::addr", _)
        | ("addr::remote", _) => filter(route(vec![], vec![], vec![Slot::Other])),
        ("warp::serve", _) => Value::Server(Rc::new(ServerVal {
            framework: FRAMEWORK,
            tls: None,
            app: cx.arg(0),
            listeners: vec![],
            config: Value::Unknown,
        })),
        ("warp::log", _) | ("warp::cors", _) | ("log::custom", _) | ("trace::request", _) => {
            Value::Opaque(Rc::new(Opaque {
                name: format!("warp::{}", short.trim_start_matches("warp::")),
                names: cx.names.clone(),
                arg_texts: cx.raw.iter().map(|e| ev.text(cx.unit, e.span())).collect(),
                arg_values: cx.args.iter().map(Value::known_text).collect(),
                loc: cx.loc,
                methods: vec![],
                tls: false,
            }))
        }
        _ => return None,
    };
    Some(v)
}

/// `path!("a" / u32 / "b")` — the macro's body is not a list of expressions, so it is read from text.
pub fn path_macro(text: &str, loc: crate::source::Loc) -> Value {
    let inner = text
        .trim()
        .trim_start_matches("warp::")
        .trim_start_matches("path!")
        .trim();
    let inner = inner
        .trim_start_matches(['(', '[', '{'])
        .trim_end_matches([')', ']', '}']);
    let mut segs = vec![];
    let mut slots = vec![];
    for part in inner
        .split('/')
        .map(str::trim)
        .filter(|p| !p.is_empty() && *p != "..")
    {
        if let Some(lit) = part.strip_prefix('"').and_then(|p| p.strip_suffix('"')) {
            segs.push(lit.to_string());
        } else {
            segs.push(format!("{{{part}}}"));
            slots.push(Slot::Path);
        }
    }
    filter(FilterRoute {
        path: segs,
        slots,
        loc,
        ..Default::default()
    })
}

fn and(a: &FilterVal, b: &FilterVal) -> FilterVal {
    let mut routes = vec![];
    for x in &a.routes {
        for y in &b.routes {
            let mut r = x.clone();
            r.path.extend(y.path.iter().cloned());
            if !y.methods.is_empty() {
                r.methods = if r.methods.is_empty() {
                    y.methods.clone()
                } else {
                    r.methods
                        .iter()
                        .filter(|m| y.methods.contains(m))
                        .cloned()
                        .collect()
                };
            }
            // A sub-filter that already has a handler (`and_then(authorize)`) acts as a guard here.
            if let Some(h) = &y.handler {
                r.layers.push(LayerVal {
                    name: h.name.clone(),
                    names: vec![],
                    arg_texts: vec![],
                    arg_values: vec![],
                    loc: h.loc,
                    fn_id: h.fn_id,
                    extractor: None,
                    preset: None,
                });
                r.slots.push(Slot::Other);
            } else {
                r.slots.extend(y.slots.iter().cloned());
            }
            r.layers.extend(y.layers.iter().cloned());
            routes.push(r);
        }
    }
    FilterVal { routes }
}

pub fn method(ev: &mut Evaluator, _f: &mut Frame, recv: &Value, cx: &CallCx) -> Option<Value> {
    let name = cx.last();
    match recv {
        Value::Filter(fv) => {
            let out = match name {
                "and" => match cx.arg(0) {
                    Value::Filter(b) => and(fv, &b),
                    // `and(with_db(pool))` and other values the evaluation cannot see: one more slot.
                    _ => and(
                        fv,
                        &FilterVal {
                            routes: vec![FilterRoute {
                                slots: vec![Slot::Other],
                                ..Default::default()
                            }],
                        },
                    ),
                },
                "or" | "unify_or" => {
                    let mut r = (**fv).clone();
                    if let Value::Filter(b) = cx.arg(0) {
                        r.routes.extend(b.routes.iter().cloned());
                    }
                    r
                }
                "map" | "and_then" | "then" => {
                    let h = handler_of(ev, cx, 0);
                    let mut r = (**fv).clone();
                    for rt in &mut r.routes {
                        if rt.handler.is_none() {
                            rt.handler = Some(h.clone());
                            rt.loc = if rt.loc == Default::default() {
                                cx.loc
                            } else {
                                rt.loc
                            };
                        }
                    }
                    r
                }
                "with" => {
                    let layers = super::axum::to_layers(ev, &cx.arg(0), cx, 0);
                    let mut r = (**fv).clone();
                    for rt in &mut r.routes {
                        rt.layers.extend(layers.iter().rev().cloned());
                    }
                    r
                }
                "recover" | "boxed" | "untuple_one" | "clone" | "unify" => (**fv).clone(),
                _ => return None,
            };
            Some(Value::Filter(Rc::new(out)))
        }
        Value::Server(s) if s.framework == FRAMEWORK => {
            let mut s2 = (**s).clone();
            match name {
                "tls" => {
                    s2.config = Value::Bool(true);
                    Some(Value::Server(Rc::new(s2)))
                }
                "cert_path"
                | "key_path"
                | "cert"
                | "key"
                | "client_auth_optional_path"
                | "client_auth_required_path" => Some(Value::Server(Rc::new(s2))),
                "run"
                | "bind"
                | "bind_ephemeral"
                | "bind_with_graceful_shutdown"
                | "try_bind_with_graceful_shutdown"
                | "try_bind" => {
                    let tls = matches!(s2.config, Value::Bool(true));
                    let l = ListenerVal {
                        framework: FRAMEWORK,
                        addr: to_addr(&cx.arg(0)),
                        tls: if tls { Tls::On } else { Tls::Off },
                        tls_loc: tls.then_some(cx.loc),
                        loc: cx.loc,
                        via: if tls {
                            "warp::serve(..).tls()".into()
                        } else {
                            "warp::serve".into()
                        },
                        local: false,
                        notes: vec![],
                    };
                    let app = to_router(ev, &s2.app);
                    ev.record_serve(ServeEvent {
                        loc: cx.loc,
                        listeners: vec![l],
                        app,
                        framework: FRAMEWORK,
                    });
                    Some(Value::Unknown)
                }
                _ => None,
            }
        }
        _ => None,
    }
}

fn extractor_name(kind: &str) -> &'static str {
    match kind {
        "json" => "warp::body::json()",
        "form" => "warp::body::form()",
        "query" => "warp::query()",
        _ => "warp::body::bytes()",
    }
}

/// The routes a filter matches, as a router the model understands. Inputs are typed by the handler's
/// parameter at the position their filter extracts to (recorded on the evaluator).
pub fn to_router(ev: &mut Evaluator, v: &Value) -> Value {
    let Value::Filter(fv) = v else {
        return v.clone();
    };
    let mut r = RouterVal {
        framework: FRAMEWORK,
        ..Default::default()
    };
    for fr in &fv.routes {
        let Some(h) = &fr.handler else { continue };
        if let Some(id) = h.fn_id {
            let inputs: Vec<(usize, &'static str, &'static str)> = fr
                .slots
                .iter()
                .enumerate()
                .filter_map(|(i, s)| match s {
                    Slot::Input { kind, .. } => Some((i, *kind, extractor_name(kind))),
                    _ => None,
                })
                .collect();
            // Recorded even when empty: a warp handler's parameters are inputs only by position.
            ev.positional_inputs.insert(id, inputs);
        }
        let path = format!("/{}", fr.path.join("/"));
        let methods = if fr.methods.is_empty() {
            vec!["ANY".into()]
        } else {
            fr.methods.clone()
        };
        r.ops.push(RouterOp::Route(Rc::new(RouteVal {
            methods,
            path,
            handler: h.clone(),
            loc: fr.loc,
            layers: fr.layers.clone(),
        })));
    }
    Value::Router(Rc::new(r))
}
