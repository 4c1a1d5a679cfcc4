//! poem: `Route::new().at(path, endpoint).nest(prefix, route)`, method endpoints (`get(h).post(h2)`),
//! `with(middleware)` (wraps the whole route), `around`, and poem-openapi services whose operations
//! are declared with `#[oai(path = "..", method = "..")]`.

use super::axum::{handler_of, path_text, to_layers};
use super::eval::{CallCx, Evaluator, Frame};
use super::program::FnId;
use super::value::*;
use std::rc::Rc;

pub const FRAMEWORK: &str = "poem";

pub fn call(ev: &mut Evaluator, _f: &mut Frame, cx: &CallCx) -> Option<Value> {
    match cx.short().as_str() {
        "Route::new" | "Route::default" => Some(Value::Router(Rc::new(RouterVal {
            framework: FRAMEWORK,
            loc: cx.loc,
            ..Default::default()
        }))),
        "OpenApiService::new" => Some(openapi_service(ev, &cx.arg(0), cx)),
        // `RouteScheme::new().https(app).http(endpoint)`: which app a request reaches depends on TLS.
        "RouteScheme::new" => Some(Value::Tuple(Rc::new(vec![Value::Unknown, Value::Unknown]))),
        _ => None,
    }
}

fn acme_router(loc: crate::source::Loc) -> Value {
    let mut r = RouterVal {
        framework: FRAMEWORK,
        loc,
        ..Default::default()
    };
    r.ops.push(RouterOp::Route(Rc::new(RouteVal {
        methods: vec!["GET".into()],
        path: "/.well-known/acme-challenge/:token".into(),
        handler: HandlerVal {
            fn_id: None,
            name: "ACME HTTP-01 challenge".into(),
            loc,
        },
        loc,
        layers: vec![],
    })));
    Value::Router(Rc::new(r))
}

/// poem-openapi: the operations of the API type's `#[OpenApi]` impl.
fn openapi_service(ev: &Evaluator, api: &Value, cx: &CallCx) -> Value {
    let mut r = RouterVal {
        framework: FRAMEWORK,
        loc: cx.loc,
        ..Default::default()
    };
    let types: Vec<String> = match api {
        Value::Struct(p, _, _) | Value::Path(p, _) => {
            p.last().map(|n| n.to_string()).into_iter().collect()
        }
        Value::Tuple(items) => items
            .iter()
            .filter_map(|i| match i {
                Value::Struct(p, _, _) | Value::Path(p, _) => p.last().map(|n| n.to_string()),
                _ => None,
            })
            .collect(),
        _ => vec![],
    };
    for t in types {
        for (u, imp) in ev.prog.impls_of(&t) {
            for &i in &imp.fns {
                let id = FnId { unit: u, idx: i };
                let f = ev.prog.func(id);
                let Some(attr) = f.attrs.iter().find(|a| a.path == "oai") else {
                    continue;
                };
                let path = attr
                    .tokens
                    .split("path=")
                    .nth(1)
                    .and_then(super::analysis::first_string_literal);
                let method = attr
                    .tokens
                    .split("method=")
                    .nth(1)
                    .and_then(super::analysis::first_string_literal)
                    .unwrap_or_else(|| "get".into());
                let Some(path) = path else { continue };
                r.ops.push(RouterOp::Route(Rc::new(RouteVal {
                    methods: vec![method.to_uppercase()],
                    path,
                    handler: HandlerVal {
                        fn_id: Some(id),
                        name: ev.prog.fn_display(id),
                        loc: crate::source::Loc::new(ev.prog.unit(u).file, f.span),
                    },
                    loc: crate::source::Loc::new(ev.prog.unit(u).file, attr.span),
                    layers: vec![],
                })));
            }
        }
    }
    Value::Router(Rc::new(r))
}

pub fn method(ev: &mut Evaluator, _f: &mut Frame, recv: &Value, cx: &CallCx) -> Option<Value> {
    let name = cx.last();
    match recv {
        // A route scheme is kept as the pair (HTTPS app, HTTP app).
        Value::Tuple(pair) if pair.len() == 2 && matches!(name, "https" | "http") => {
            let mut p = (**pair).clone();
            let branch = match cx.arg(0) {
                // `auto_cert.http_01_endpoint()`: the ACME challenge, nothing else.
                Value::Opaque(o) if o.methods.iter().any(|m| m == "http_01_endpoint") => {
                    acme_router(o.loc)
                }
                other => other,
            };
            p[usize::from(name == "http")] = branch;
            Some(Value::Tuple(Rc::new(p)))
        }
        Value::Tuple(pair) if pair.len() == 2 && matches!(name, "with" | "around") => {
            let layers = to_layers(ev, &cx.arg(0), cx, 0);
            let wrap = |v: &Value| match v {
                Value::Router(r) => {
                    let mut r2 = (**r).clone();
                    r2.ops.push(RouterOp::WrapAll(Rc::new(layers.clone())));
                    Value::Router(Rc::new(r2))
                }
                other => other.clone(),
            };
            Some(Value::Tuple(Rc::new(vec![wrap(&pair[0]), wrap(&pair[1])])))
        }
        Value::Router(r) if r.framework == FRAMEWORK => {
            let mut r2 = (**r).clone();
            match name {
                "at" => {
                    let path = path_text(&cx.arg(0));
                    match cx.arg(1) {
                        Value::MethodRouter(mr) => {
                            r2.add_method_routes(&path, &mr, cx.arg_loc(0));
                        }
                        Value::Router(inner) => r2.ops.push(RouterOp::Nest(path, inner)),
                        _ => r2.ops.push(RouterOp::Route(Rc::new(RouteVal {
                            methods: vec!["ANY".into()],
                            path,
                            handler: handler_of(ev, cx, 1),
                            loc: cx.arg_loc(0),
                            layers: vec![],
                        }))),
                    }
                }
                "nest" | "nest_no_strip" => {
                    if let Value::Router(inner) = cx.arg(1) {
                        r2.ops.push(RouterOp::Nest(path_text(&cx.arg(0)), inner));
                    }
                }
                "with" | "around" | "before" | "after" | "with_if" => {
                    let arg = if name == "with_if" { 1 } else { 0 };
                    let layers = to_layers(ev, &cx.arg(arg), cx, arg);
                    r2.ops.push(RouterOp::WrapAll(Rc::new(layers)));
                }
                "data" | "boxed" | "map_to_response" | "catch_all_error" | "catch_error"
                | "into_endpoint" | "server" | "description" | "summary" | "license"
                | "contact" | "url_prefix" | "external_document" => {}
                _ => return None,
            }
            Some(Value::Router(Rc::new(r2)))
        }
        // `get(h).with(Auth)`: middleware on one endpoint.
        Value::MethodRouter(mr) if matches!(name, "with" | "around") => {
            let mut m2 = (**mr).clone();
            m2.layers
                .extend(to_layers(ev, &cx.arg(0), cx, 0).into_iter().rev());
            Some(Value::MethodRouter(Rc::new(m2)))
        }
        _ => None,
    }
}
