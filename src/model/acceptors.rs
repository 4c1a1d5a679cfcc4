//! Listeners and servers shared by poem and salvo: `TcpListener::bind/new(addr)` upgraded with
//! `.rustls(..)`, `.openssl(..)`, `.native_tls(..)`, `.acme(..)`, combined with `.combine(..)`/`.join(..)`,
//! and `Server::new(acceptor)` serving an app with `.run(app)`/`.serve(app)`.

use super::eval::{CallCx, Evaluator, Frame, ServeEvent};
use super::value::*;
use std::rc::Rc;

const TLS_METHODS: &[&str] = &[
    "rustls",
    "openssl",
    "openssl_tls",
    "native_tls",
    "acme",
    "quinn",
];

fn listeners_of(v: &Value) -> Vec<ListenerVal> {
    match v {
        Value::Listener(l) => vec![(**l).clone()],
        Value::Tuple(items) => items.iter().flat_map(listeners_of).collect(),
        _ => vec![],
    }
}

pub fn call(ev: &mut Evaluator, _f: &mut Frame, cx: &CallCx) -> Option<Value> {
    if cx.short() != "Server::new" {
        return None;
    }
    let listeners = listeners_of(&cx.arg(0));
    if listeners.is_empty() {
        return None;
    }
    let framework = super::salvo::framework_of(ev, cx).filter(|f| *f != "axum")?;
    Some(Value::Server(Rc::new(ServerVal {
        framework,
        tls: None,
        app: Value::Unknown,
        listeners,
        config: Value::Unknown,
    })))
}

pub fn method(ev: &mut Evaluator, _f: &mut Frame, recv: &Value, cx: &CallCx) -> Option<Value> {
    let name = cx.last();
    match recv {
        Value::Listener(l) if TLS_METHODS.contains(&name) => {
            let mut l2 = (**l).clone();
            l2.tls = Tls::On;
            l2.tls_loc = Some(cx.loc);
            l2.via = format!("{}.{name}(..)", l2.via);
            Some(Value::Listener(Rc::new(l2)))
        }
        Value::Listener(_) | Value::Tuple(_) if name == "combine" || name == "join" => {
            let mut all = listeners_of(recv);
            all.extend(listeners_of(&cx.arg(0)));
            Some(Value::Tuple(Rc::new(
                all.into_iter()
                    .map(|l| Value::Listener(Rc::new(l)))
                    .collect(),
            )))
        }
        Value::Tuple(items) if name == "bind" || name == "await" => {
            Some(Value::Tuple(items.clone()))
        }
        Value::Server(s)
            if s.framework == super::poem::FRAMEWORK || s.framework == super::salvo::FRAMEWORK =>
        {
            match name {
                "run"
                | "serve"
                | "run_with_graceful_shutdown"
                | "try_serve"
                | "serve_with_graceful_shutdown" => {
                    match cx.arg(0) {
                        // poem `RouteScheme`: TLS listeners serve the HTTPS app, the others the HTTP one.
                        Value::Tuple(pair)
                            if pair.len() == 2 && s.framework == super::poem::FRAMEWORK =>
                        {
                            let (tls, plain): (Vec<ListenerVal>, Vec<ListenerVal>) =
                                s.listeners.iter().cloned().partition(|l| l.tls == Tls::On);
                            for (listeners, app) in [(tls, &pair[0]), (plain, &pair[1])] {
                                if !listeners.is_empty() {
                                    ev.record_serve(ServeEvent {
                                        loc: cx.loc,
                                        listeners,
                                        app: app.clone(),
                                        framework: s.framework,
                                    });
                                }
                            }
                        }
                        app => ev.record_serve(ServeEvent {
                            loc: cx.loc,
                            listeners: s.listeners.clone(),
                            app: super::salvo::finish(app),
                            framework: s.framework,
                        }),
                    }
                    Some(Value::Unknown)
                }
                _ => Some(recv.clone()),
            }
        }
        _ => None,
    }
}
