//! salvo: `Router::new()`/`Router::with_path(p)` trees built with `push`, handlers per method
//! (`.get(h)`), `hoop(h)` middleware that applies to the router and everything below it, and inputs read
//! in the handler (`req.parse_json::<T>()`).

use super::axum::{handler_of, path_text, to_layers};
use super::eval::{CallCx, Evaluator, Frame};
use super::value::*;
use std::rc::Rc;

pub const FRAMEWORK: &str = "salvo";
const METHODS: &[&str] = &["get", "post", "put", "delete", "patch", "head", "options"];

/// Which framework a `Router::new()` or `Server::new(..)` belongs to: by the path it was written with,
/// else by the package's dependencies.
pub fn framework_of(ev: &Evaluator, cx: &CallCx) -> Option<&'static str> {
    for (krate, fw) in [
        ("salvo", FRAMEWORK),
        ("poem", super::poem::FRAMEWORK),
        ("axum", "axum"),
    ] {
        if cx
            .names
            .iter()
            .any(|n| n.starts_with(&format!("{krate}::")))
        {
            return Some(fw);
        }
    }
    let depends = |krate: &str| {
        ev.config.iter().any(|c| {
            c.file.ends_with("Cargo.toml")
                && (c.key == format!("dependencies.{krate}")
                    || c.key.starts_with(&format!("dependencies.{krate}.")))
        })
    };
    if depends("salvo") && !depends("axum") {
        Some(FRAMEWORK)
    } else if depends("poem") && !depends("axum") {
        Some(super::poem::FRAMEWORK)
    } else {
        None
    }
}

fn router(mount: Option<String>, loc: crate::source::Loc) -> RouterVal {
    RouterVal {
        framework: FRAMEWORK,
        mount,
        loc,
        ..Default::default()
    }
}

pub fn call(ev: &mut Evaluator, _f: &mut Frame, cx: &CallCx) -> Option<Value> {
    let short = cx.short();
    // `Service::new(router)`: the service is the router, and `hoop`s on it wrap everything.
    if short == "Service::new" {
        return matches!(cx.arg(0), Value::Router(ref r) if r.framework == FRAMEWORK)
            .then(|| cx.arg(0));
    }
    if !short.starts_with("Router::") || framework_of(ev, cx) != Some(FRAMEWORK) {
        return None;
    }
    let r = match short.as_str() {
        "Router::new" | "Router::default" => router(None, cx.loc),
        "Router::with_path" => router(Some(path_text(&cx.arg(0))), cx.loc),
        "Router::with_hoop" => {
            let mut r = router(None, cx.loc);
            r.ops
                .push(RouterOp::WrapAll(Rc::new(to_layers(ev, &cx.arg(0), cx, 0))));
            r
        }
        _ => return None,
    };
    Some(Value::Router(Rc::new(r)))
}

pub fn method(ev: &mut Evaluator, _f: &mut Frame, recv: &Value, cx: &CallCx) -> Option<Value> {
    let Value::Router(r) = recv else { return None };
    if r.framework != FRAMEWORK {
        return None;
    }
    let name = cx.last();
    let mut r2 = (**r).clone();
    match name {
        "path" => r2.mount = Some(path_text(&cx.arg(0))),
        "push" => push(&mut r2, cx.arg(0)),
        "append" => {
            if let Value::Tuple(items) = cx.arg(0) {
                for i in items.iter() {
                    push(&mut r2, i.clone());
                }
            }
        }
        "hoop" | "with_hoop" => {
            r2.ops
                .push(RouterOp::WrapAll(Rc::new(to_layers(ev, &cx.arg(0), cx, 0))))
        }
        m if METHODS.contains(&m) || m == "handle" || m == "goal" => {
            let methods = if METHODS.contains(&m) {
                vec![m.to_uppercase()]
            } else {
                vec!["ANY".into()]
            };
            r2.ops.push(RouterOp::Route(Rc::new(RouteVal {
                methods,
                path: String::new(),
                handler: handler_of(ev, cx, 0),
                loc: cx.arg_loc(0),
                layers: vec![],
            })));
        }
        "filter" | "filter_fn" | "host" | "scheme" | "oapi_tag" | "oapi_security" => {}
        _ => return None,
    }
    Some(Value::Router(Rc::new(r2)))
}

fn push(r: &mut RouterVal, child: Value) {
    if let Value::Router(c) = child {
        match &c.mount {
            Some(m) => r.ops.push(RouterOp::Nest(m.clone(), c.clone())),
            None => r.ops.push(RouterOp::Merge(c.clone())),
        }
    }
}

/// A served value: a salvo router is mounted at its own path.
pub fn finish(app: Value) -> Value {
    match &app {
        Value::Router(r) => Value::Router(r.as_root()),
        _ => app,
    }
}
