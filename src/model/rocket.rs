//! Rocket: `rocket::build()` / `rocket::custom(config)`, `mount(base, routes![..])` with attribute
//! routes, fairings (`attach`), `launch`/`#[launch]`, and the listener Rocket configures from
//! `Rocket.toml` profiles or from code. Semantics that matter for security:
//! - the mount base is part of every route's path;
//! - request guards (handler parameters implementing `FromRequest`) are Rocket's authentication;
//! - Rocket listens on 127.0.0.1:8000 unless configured; `[release]`/`[global]` settings in
//!   `Rocket.toml` override `[default]`, and `ROCKET_ADDRESS`/`ROCKET_TLS` can override everything at
//!   run time.

use super::actix::attribute_route;
use super::axum::{path_text, to_layers};
use super::eval::{to_addr, CallCx, Evaluator, Frame, ServeEvent};
use super::program::FnId;
use super::value::*;
use crate::source::Loc;
use std::rc::Rc;

pub const FRAMEWORK: &str = "rocket";

pub fn call(_ev: &mut Evaluator, _f: &mut Frame, cx: &CallCx) -> Option<Value> {
    match cx.short().as_str() {
        "rocket::build" | "Rocket::build" | "rocket::custom" | "Rocket::custom" => {
            Some(Value::Server(Rc::new(ServerVal {
                framework: FRAMEWORK,
                tls: None,
                app: Value::Router(Rc::new(RouterVal {
                    framework: FRAMEWORK,
                    loc: cx.loc,
                    ..Default::default()
                })),
                listeners: vec![],
                config: if cx.last() == "custom" {
                    cx.arg(0)
                } else {
                    Value::Unknown
                },
            })))
        }
        "routes!" | "rocket::routes!" => Some(Value::Tuple(Rc::new(cx.args.clone()))),
        _ => None,
    }
}

pub fn method(ev: &mut Evaluator, _f: &mut Frame, recv: &Value, cx: &CallCx) -> Option<Value> {
    let Value::Server(s) = recv else { return None };
    if s.framework != FRAMEWORK {
        return None;
    }
    let mut s2 = (**s).clone();
    let Value::Router(app) = &s.app else {
        return None;
    };
    let mut app = (**app).clone();
    match cx.last() {
        "mount" => {
            let base = path_text(&cx.arg(0));
            let handlers: Vec<Value> = match cx.arg(1) {
                Value::Tuple(items) => items.iter().cloned().collect(),
                other => vec![other],
            };
            for h in handlers {
                let Value::Fn(id, loc) = h else { continue };
                let hv = HandlerVal {
                    fn_id: Some(id),
                    name: ev.prog.fn_display(id),
                    loc,
                };
                record_data_param(ev, id);
                if let Some(mut rt) = attribute_route(ev, &hv) {
                    // Query parameters (`/search?<q>`) are not part of the path.
                    let path = rt.path.split('?').next().unwrap_or("").to_string();
                    rt.path = join_paths(&base, &path);
                    app.ops.push(RouterOp::Route(Rc::new(rt)));
                }
            }
        }
        "attach" => {
            let layers = fairing_layers(ev, &cx.arg(0), cx);
            app.ops.push(RouterOp::WrapAll(Rc::new(layers)));
        }
        "configure" => s2.config = cx.arg(0),
        "launch" => {
            s2.app = Value::Router(Rc::new(app));
            launched(ev, &s2, cx.loc);
            return Some(Value::Unknown);
        }
        "manage" | "register" | "ignite" | "reconfigure" => {}
        _ => return None,
    }
    s2.app = Value::Router(Rc::new(app));
    Some(Value::Server(Rc::new(s2)))
}

/// Rocket's handler parameters are path segments, query parameters, request guards, or the one data
/// guard named by `data = "<param>"`: only that one is a request body.
fn record_data_param(ev: &mut Evaluator, id: FnId) {
    let f = ev.prog.func(id);
    let data = f.attrs.iter().find_map(|a| {
        a.tokens
            .split("data=")
            .nth(1)
            .and_then(super::analysis::first_string_literal)
    });
    let mut inputs = vec![];
    if let Some(name) = data.map(|d| d.trim_matches(['<', '>']).to_string()) {
        if let Some(i) = f
            .params
            .iter()
            .position(|p| p.pat.bindings.first().is_some_and(|b| *b == name))
        {
            let ty = f.params[i]
                .ty
                .as_ref()
                .map(|t| t.name().to_string())
                .unwrap_or_default();
            let kind = match ty.as_str() {
                "Json" => ("json", "Json<T> data guard"),
                "Form" => ("form", "Form<T> data guard"),
                _ => ("body", "{type} data guard"),
            };
            inputs.push((i, kind.0, kind.1));
        }
    }
    ev.positional_inputs.insert(id, inputs);
}

/// A fairing of the crate (`impl Fairing for X`) is classified by what its callbacks do; others by name.
fn fairing_layers(ev: &Evaluator, v: &Value, cx: &CallCx) -> Vec<LayerVal> {
    let type_name = match v {
        Value::Struct(path, _, _) | Value::Path(path, _) => path.last().map(|n| n.to_string()),
        Value::Opaque(o) => o.name.split("::").next().map(str::to_string),
        _ => None,
    };
    if let Some(t) = type_name {
        for (u, imp) in ev.prog.impls_of(&t) {
            if imp
                .trait_path
                .as_ref()
                .and_then(|p| p.last())
                .is_some_and(|n| n == "Fairing")
            {
                let callbacks: Vec<FnId> =
                    imp.fns.iter().map(|&i| FnId { unit: u, idx: i }).collect();
                let pick = |name: &str| {
                    callbacks
                        .iter()
                        .copied()
                        .find(|id| ev.prog.func(*id).name == name)
                };
                let fn_id = pick("on_response").or_else(|| pick("on_request"));
                return vec![LayerVal {
                    name: format!("fairing `{t}`"),
                    names: vec![t.clone()],
                    arg_texts: vec![],
                    arg_values: vec![],
                    loc: cx.arg_loc(0),
                    fn_id,
                    extractor: None,
                    preset: None,
                }];
            }
        }
    }
    to_layers(ev, v, cx, 0)
}

/// Records a launched Rocket with the listener its configuration describes.
pub fn launched(ev: &mut Evaluator, s: &ServerVal, loc: Loc) {
    if s.framework != FRAMEWORK {
        return;
    }
    let listener = listener(ev, s, loc);
    ev.record_serve(ServeEvent {
        loc,
        listeners: vec![listener],
        app: s.app.clone(),
        framework: FRAMEWORK,
    });
}

fn listener(ev: &Evaluator, s: &ServerVal, launch: Loc) -> ListenerVal {
    let env_note = "`ROCKET_ADDRESS` and `ROCKET_TLS` can override this at run time";
    // Configuration in code: `rocket::custom(Config { address, port, tls, .. })`.
    if let Value::Struct(_, fields, loc) = &s.config {
        let field = |n: &str| fields.iter().find(|(k, _)| k == n).map(|(_, v)| v.clone());
        let mut addr = to_addr(&Value::Tuple(Rc::new(vec![
            field("address").unwrap_or(Value::Unknown),
            field("port").unwrap_or(Value::Int(8000)),
        ])));
        if addr.host.is_none() && field("address").is_none() {
            addr.host = Some("127.0.0.1".into());
            addr.text = format!("127.0.0.1:{}", addr.port.unwrap_or(8000));
            addr.origin = Origin::Default(*loc);
        }
        let tls = field("tls").is_some_and(
            |t| !matches!(t, Value::Path(ref p, _) if p.last().is_some_and(|l| l == "None")),
        );
        return ListenerVal {
            framework: FRAMEWORK,
            addr,
            tls: if tls { Tls::On } else { Tls::Off },
            tls_loc: tls.then_some(*loc),
            loc: *loc,
            via: "rocket::custom(Config)".into(),
            local: false,
            notes: vec![(*loc, env_note.into())],
        };
    }
    // `Rocket.toml`: for a release build, `[global]` beats `[release]` beats `[default]`.
    let rocket_toml: Vec<&super::ConfigEntry> = ev
        .config
        .iter()
        .filter(|c| c.file.ends_with("Rocket.toml"))
        .collect();
    let lookup = |key: &str| {
        ["global", "release", "default"].iter().find_map(|p| {
            rocket_toml
                .iter()
                .find(|c| c.key == format!("{p}.{key}"))
                .copied()
        })
    };
    let address = lookup("address");
    let port = lookup("port")
        .and_then(|c| c.value.as_i64())
        .unwrap_or(8000);
    let tls = lookup("tls.certs").or(lookup("tls.key"));
    let (host, origin, loc) = match address {
        Some(c) => (
            c.value.as_str().unwrap_or("").to_string(),
            Origin::Config(c.key.clone(), c.loc),
            c.loc,
        ),
        None => ("127.0.0.1".to_string(), Origin::Default(launch), launch),
    };
    ListenerVal {
        framework: FRAMEWORK,
        addr: AddrVal {
            text: format!("{host}:{port}"),
            host: Some(host),
            port: Some(port as i128),
            origin,
        },
        tls: if tls.is_some() { Tls::On } else { Tls::Off },
        tls_loc: tls.map(|c| c.loc),
        loc,
        via: if address.is_some() {
            "Rocket.toml".into()
        } else {
            "Rocket's default address".into()
        },
        local: false,
        notes: vec![(loc, env_note.into())],
    }
}
