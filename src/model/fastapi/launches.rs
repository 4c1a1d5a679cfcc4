//! Apps served by a command line of a deployment file (`uvicorn app.main:app --host 0.0.0.0` in a
//! Dockerfile, `web: gunicorn -k uvicorn.workers.UvicornWorker app.main:app` in a Procfile), with the
//! addresses and TLS the command line (or gunicorn's configuration module) gives; and the access log
//! the server writes, which is request logging for every route it serves.

use super::values::{Py, Routes};
use super::{Interp, Serve};
use crate::facts::Name;
use crate::model::eval::ServeEvent;
use crate::model::value::{
    AddrVal, LayerVal, ListenerVal, Origin, RouterOp, RouterVal, Tls, Value,
};
use crate::model::{Launch, Middleware};
use crate::source::Loc;
use std::cell::RefCell;
use std::rc::Rc;

impl Interp<'_, '_> {
    /// Serves the app each launch names, when it is one of this package's.
    pub(super) fn serve_launches(&mut self, launches: &[Launch]) {
        for launch in launches {
            let Some(app) = self.launched_app(&launch.target) else {
                continue;
            };
            let conf = match launch.server {
                "gunicorn" => self.gunicorn_conf(launch.config.as_deref()),
                _ => GunicornConf::default(),
            };
            let mut binds = launch.binds.clone();
            if binds.is_empty() {
                binds = conf.binds.clone();
            }
            let tls = if launch.tls || conf.tls {
                Tls::On
            } else {
                Tls::Off
            };
            let mut listeners: Vec<ListenerVal> = binds
                .iter()
                .map(|(host, port)| {
                    listener(
                        launch,
                        host.clone(),
                        *port,
                        Origin::Literal(launch.loc),
                        tls,
                    )
                })
                .collect();
            if listeners.is_empty() && !launch.local {
                let (host, port) = launch.default_bind();
                listeners.push(listener(
                    launch,
                    Some(host),
                    port,
                    Origin::Default(launch.loc),
                    tls,
                ));
            }
            // hypercorn's `--insecure-bind`: plaintext beside the TLS listeners.
            listeners.extend(launch.plain_binds.iter().map(|(host, port)| {
                listener(
                    launch,
                    host.clone(),
                    *port,
                    Origin::Literal(launch.loc),
                    Tls::Off,
                )
            }));
            if listeners.is_empty() {
                continue;
            }
            self.serves.push(Serve {
                app,
                event: ServeEvent {
                    loc: launch.loc,
                    listeners,
                    app: Value::Unknown,
                    framework: "fastapi",
                },
                access_log: (launch.access_log || conf.access_log)
                    .then(|| access_log_layer(launch.server, launch.loc)),
            });
        }
    }

    /// `app.main:app` (a module and its attribute), or `app/main.py` for `fastapi run` (its `app`). A
    /// path written from above the src layout's module root (`src.app.main`) is tried without `src`.
    /// (Other leading directories are not dropped: in a repository of several services,
    /// `svc_a.main` is not the `main` module of `svc_b`.)
    pub(super) fn launched_app(&mut self, target: &str) -> Option<Rc<RefCell<Routes>>> {
        if target.is_empty() {
            // `fastapi run` alone looks for these files, in this order.
            return [
                "main.py",
                "app.py",
                "api.py",
                "app/main.py",
                "app/app.py",
                "app/api.py",
            ]
            .iter()
            .find_map(|t| self.launched_app(t));
        }
        let (module, attr) = match target.split_once(':') {
            Some((m, a)) => (m.to_string(), a),
            None => (target.trim_end_matches(".py").replace('/', "."), "app"),
        };
        let segs: Vec<Name> = module
            .split('.')
            .filter(|s| !s.is_empty())
            .map(Name::new)
            .collect();
        let tries = if segs.first().is_some_and(|s| *s == "src") {
            2
        } else {
            1
        };
        for skip in 0..tries.min(segs.len()) {
            let module = &segs[skip..];
            if !self.modules.contains_key(module) {
                continue;
            }
            return self.served_target(module, Name::new(attr));
        }
        None
    }

    /// gunicorn's configuration module (`-c gunicorn.conf.py`, else the `gunicorn.conf.py` it reads by
    /// default): `bind`, `certfile`/`keyfile` and `accesslog` when they are written out.
    fn gunicorn_conf(&mut self, named: Option<&str>) -> GunicornConf {
        let stem = named
            .map(|n| {
                n.rsplit('/')
                    .next()
                    .unwrap_or(n)
                    .trim_end_matches(".py")
                    .to_string()
            })
            .unwrap_or_else(|| "gunicorn.conf".into());
        let Some(module) = self
            .modules
            .keys()
            .filter(|m| m.last().is_some_and(|l| *l == stem.as_str()))
            .min()
            .cloned()
        else {
            return GunicornConf::default();
        };
        let Some(env) = self.module_env(&module) else {
            return GunicornConf::default();
        };
        let env = env.borrow();
        let binds = match env.get("bind") {
            // Written by code (`os.environ.get("BIND", ..)`): an address portcullis cannot read.
            Some(Py::Unknown | Py::Ext(_) | Py::Obj(_)) => vec![(None, None)],
            Some(Py::Str(s, _)) => vec![crate::model::launch::bind(s)],
            Some(Py::List(items)) => items
                .iter()
                .filter_map(|i| match i {
                    Py::Str(s, _) if !s.starts_with("unix:") => Some(crate::model::launch::bind(s)),
                    _ => None,
                })
                .collect(),
            _ => vec![],
        };
        let given = |k: &str| {
            env.get(k)
                .is_some_and(|v| !matches!(v, Py::None | Py::Unknown))
        };
        GunicornConf {
            binds,
            tls: given("certfile") || given("keyfile"),
            access_log: given("accesslog"),
        }
    }
}

#[derive(Default)]
struct GunicornConf {
    binds: Vec<(Option<String>, Option<i128>)>,
    tls: bool,
    access_log: bool,
}

fn listener(
    launch: &Launch,
    host: Option<String>,
    port: Option<i128>,
    origin: Origin,
    tls: Tls,
) -> ListenerVal {
    let origin = if host.is_none() {
        Origin::Unknown
    } else {
        origin
    };
    ListenerVal {
        framework: "fastapi",
        addr: AddrVal::new(host, port, origin),
        tls_loc: matches!(tls, Tls::On).then_some(launch.loc),
        tls,
        loc: launch.loc,
        via: launch.server.to_string(),
        local: false,
        notes: vec![],
    }
}

/// One serve per app: an app started by a Dockerfile and a Procfile (or by `uvicorn.run` too) is one
/// service listening on each address, reported at its first serve. The access log wraps its routes
/// only if every server writes one.
pub(super) fn merge_serves(serves: Vec<Serve>) -> Vec<Serve> {
    let mut out: Vec<Serve> = vec![];
    for s in serves {
        match out.iter_mut().find(|o| Rc::ptr_eq(&o.app, &s.app)) {
            Some(o) => {
                o.event.listeners.extend(s.event.listeners);
                if s.access_log.is_none() {
                    o.access_log = None;
                }
            }
            None => out.push(s),
        }
    }
    out
}

/// The server's access log as a request-logging layer around every route.
pub(super) fn access_log_layer(server: &str, loc: Loc) -> LayerVal {
    let name = format!("{server} access log");
    let note = format!("`{server}` writes an access log line for every request");
    super::preset_layer(
        Middleware {
            name: name.clone(),
            capability: "trace".into(),
            tags: vec![],
            loc,
            directives: None,
            keys_identity: None,
            optional: false,
        },
        note,
    )
}

/// The app as served: its routes, wrapped in the server's access log when it writes one.
pub(super) fn served_app(routes: &Rc<RefCell<Routes>>, access_log: Option<&LayerVal>) -> Value {
    let app = routes.borrow().snapshot();
    let Some(layer) = access_log else {
        return Value::Router(app);
    };
    Value::Router(Rc::new(RouterVal {
        framework: "fastapi",
        mount: None,
        loc: app.loc,
        ops: vec![
            RouterOp::Merge(app),
            RouterOp::WrapAll(Rc::new(vec![layer.clone()])),
        ],
        fallback: None,
    }))
}
