//! Calls the FastAPI adapter understands: building apps and routers, registering routes, middleware
//! and routers, dependencies, decorators that wrap a route in a layer, and `uvicorn.run`.

use super::values::{Obj, Py, Register, Routes};
use super::Interp;
use crate::facts::Name;
use crate::model::eval::ServeEvent;
use crate::model::program::FnId;
use crate::model::value::{AddrVal, LayerVal, ListenerVal, Origin, RouterOp, Tls};
use crate::source::Loc;
use std::cell::RefCell;
use std::rc::Rc;

#[derive(Default)]
pub struct Args {
    pub positional: Vec<(Py, Loc)>,
    pub kwargs: Vec<(Name, Py, Loc)>,
}

impl Args {
    pub fn kw(&self, name: &str) -> Option<&Py> {
        self.kwargs
            .iter()
            .find(|(k, _, _)| *k == name)
            .map(|(_, v, _)| v)
    }

    /// A parameter passed by position or by name.
    pub fn get(&self, index: usize, name: &str) -> Option<&Py> {
        self.kw(name).or(self.positional.get(index).map(|(v, _)| v))
    }

    fn str(&self, index: usize, name: &str) -> Option<String> {
        match self.get(index, name) {
            Some(Py::Str(s, _)) => Some(s.clone()),
            _ => None,
        }
    }

    /// A path or prefix argument: `{?}` where it is given but not known (`settings.API_V1_STR`).
    fn path(&self, index: usize, name: &str) -> String {
        match self.get(index, name) {
            Some(Py::Str(s, _)) => s.clone(),
            Some(_) => "/{?}".into(),
            None => String::new(),
        }
    }
}

/// Routes one app or router holds at most: nested includes can multiply them.
const MAX_ROUTES: usize = 20_000;

/// Path-operation decorators and the methods they answer.
const OPERATIONS: &[&str] = &[
    "get", "post", "put", "patch", "delete", "options", "head", "trace",
];

impl Interp<'_, '_> {
    pub(super) fn call(&mut self, callee: Py, args: Args, loc: Loc) -> Py {
        match callee {
            Py::Ext(path) => self.external(path, args, loc),
            Py::Func(id, _) => self.call_fn(id, &args),
            // `@app.get("/items")` applied to its function.
            Py::Register(reg) => match args.positional.first() {
                Some((Py::Func(id, layers), _)) => {
                    let mut layers = layers.clone();
                    let (declared, dep_params) = self.param_deps(*id);
                    layers.extend(declared);
                    layers.extend(self.class_deps(*id));
                    layers.extend(reg.deps.iter().cloned());
                    let func = self.prog.func(*id);
                    let at = Loc::new(self.prog.unit(id.unit).file, func.span);
                    let path = super::values::join(&reg.target.borrow().prefix, &reg.path);
                    if !self.inputs.contains_key(id) {
                        let inputs =
                            super::inputs::handler_inputs(self.prog, *id, &path, &dep_params);
                        self.inputs.insert(*id, inputs);
                    }
                    let name = self.prog.fn_display(*id);
                    reg.target
                        .borrow_mut()
                        .add_route(&reg, *id, layers, &name, at);
                    Py::Func(*id, vec![])
                }
                _ => Py::Unknown,
            },
            Py::MiddlewareFn(target, at) => match args.positional.first() {
                Some((Py::Func(id, _), _)) => {
                    let name = self.prog.func(*id).name.to_string();
                    target.borrow_mut().middleware.push(LayerVal {
                        name: name.clone(),
                        names: vec![name],
                        arg_texts: vec![],
                        arg_values: vec![],
                        loc: at,
                        fn_id: Some(*id),
                        extractor: None,
                        preset: None,
                    });
                    Py::Func(*id, vec![])
                }
                _ => Py::Unknown,
            },
            Py::Wrap(layer) => match args.positional.first() {
                Some((Py::Func(id, layers), _)) => {
                    let mut layers = layers.clone();
                    layers.push((*layer).clone());
                    Py::Func(*id, layers)
                }
                _ => Py::Unknown,
            },
            _ => Py::Unknown,
        }
    }

    fn external(&mut self, path: Vec<Name>, args: Args, loc: Loc) -> Py {
        let last = path.last().map_or("", |n| n.as_str());
        // A router class of the project (`class UserAPIRouter(APIRouter)`): built with what its
        // `__init__` passes to `super().__init__(..)` (a prefix, its dependencies).
        if let Some((base, init)) = self.router_subclass(last) {
            let args = match init {
                Some(init) => self.super_init_args(init, args),
                None => args,
            };
            return self.external(vec![Name::new(base)], args, loc);
        }
        match last {
            "FastAPI" | "Starlette" | "APIRouter" => {
                let mut r = Routes {
                    prefix: args.path(usize::MAX, "prefix"),
                    loc,
                    ..Routes::default()
                };
                r.deps = self.deps_list(args.kw("dependencies"));
                // `FastAPI(middleware=[Middleware(SlowAPIMiddleware), ..])`: the first is outermost.
                if let Some(Py::List(items)) = args.kw("middleware") {
                    for m in items.iter().rev() {
                        if let Py::Middleware(cls, kwargs, at) = m {
                            r.middleware.push(self.middleware_layer(cls, kwargs, *at));
                        }
                    }
                }
                let r = Rc::new(RefCell::new(r));
                if last != "APIRouter" {
                    self.apps.push(r.clone());
                    // The lifespan function runs at startup with the app: routers are often
                    // included there (`await startup(app)`).
                    if let Some(Py::Func(id, _)) = args.kw("lifespan") {
                        let mut call = Args::default();
                        call.positional.push((Py::Routes(r.clone()), loc));
                        self.call_fn(*id, &call);
                    }
                }
                Py::Routes(r)
            }
            "Middleware" => {
                let cls = args
                    .positional
                    .first()
                    .map_or(Py::Unknown, |(v, _)| v.clone());
                Py::Middleware(Box::new(cls), Rc::new(args.kwargs), loc)
            }
            "Depends" | "Security" => {
                let inner = args
                    .positional
                    .first()
                    .map_or(Py::Unknown, |(v, _)| v.clone());
                Py::Dep(Box::new(inner), loc)
            }
            "run" if path.first().is_some_and(|p| p == "uvicorn") => {
                self.uvicorn_run(&args, loc);
                Py::None
            }
            // fastapi-cache's `@cache(expire=60)`: a response cache around the route function.
            "cache" if path.iter().any(|p| p.starts_with("fastapi_cache")) || path.len() == 1 => {
                let (name, display) = match args.kw("key_builder") {
                    Some(_) => ("fastapi_cache::cache_keyed", "cache(key_builder=..)"),
                    None => ("fastapi_cache::cache", "cache(..)"),
                };
                Py::Wrap(Rc::new(self.layer(name, display, loc)))
            }
            // A decorator the adapter does not know (`@asynccontextmanager`, `@wraps(..)`) keeps the
            // function's behaviour.
            _ if args.kwargs.is_empty()
                && matches!(args.positional.as_slice(), [(Py::Func(..), _)]) =>
            {
                args.positional[0].0.clone()
            }
            _ => Py::Obj(Rc::new(Obj {
                path,
                kwargs: args.kwargs.into_iter().map(|(k, v, _)| (k, v)).collect(),
                method: None,
            })),
        }
    }

    pub(super) fn method(&mut self, recv: Py, name: Name, args: Args, loc: Loc) -> Py {
        let n = name.as_str();
        match recv {
            Py::Routes(r) => self.routes_method(r, n, args, loc),
            // slowapi: `@limiter.limit("5/minute")` on a route function.
            Py::Obj(o) if o.name() == "Limiter" && (n == "limit" || n == "shared_limit") => {
                let text = args.str(0, "limit_value").unwrap_or_default();
                Py::Wrap(Rc::new(self.layer(
                    "slowapi::Limiter::limit",
                    &format!("limiter.{n}(\"{text}\")"),
                    loc,
                )))
            }
            Py::Obj(o) => Py::Obj(Rc::new(Obj {
                path: o.path.clone(),
                kwargs: args.kwargs.into_iter().map(|(k, v, _)| (k, v)).collect(),
                method: Some(name),
            })),
            _ => Py::Unknown,
        }
    }

    fn routes_method(
        &mut self,
        r: Rc<std::cell::RefCell<Routes>>,
        n: &str,
        args: Args,
        loc: Loc,
    ) -> Py {
        if OPERATIONS.contains(&n) || n == "api_route" || n == "add_api_route" {
            let methods = if n == "api_route" || n == "add_api_route" {
                match args.kw("methods") {
                    Some(Py::List(items)) => items
                        .iter()
                        .filter_map(|m| match m {
                            Py::Str(s, _) => Some(s.to_uppercase()),
                            _ => None,
                        })
                        .collect(),
                    _ => vec!["GET".into()],
                }
            } else {
                vec![n.to_uppercase()]
            };
            let reg = Rc::new(Register {
                target: r,
                methods,
                path: args.path(0, "path"),
                deps: self.deps_list(args.kw("dependencies")),
                loc,
            });
            if n == "add_api_route" {
                let endpoint = args.get(1, "endpoint").cloned().unwrap_or(Py::Unknown);
                let mut call = Args::default();
                call.positional.push((endpoint, loc));
                return self.call(Py::Register(reg), call, loc);
            }
            return Py::Register(reg);
        }
        match n {
            "include_router" => {
                let prefix = args.path(usize::MAX, "prefix");
                let Some(Py::Routes(inner)) = args.get(0, "router").cloned() else {
                    return Py::None;
                };
                let deps = self.deps_list(args.kw("dependencies"));
                // FastAPI copies the routes the router has now, each with the include's prefix and
                // dependencies (`/items` + `/` is `/items/`).
                let copied = inner.borrow().snapshot().routes();
                let mut routes = r.borrow_mut();
                if routes.count + copied.len() > MAX_ROUTES {
                    return Py::None;
                }
                routes.count += copied.len();
                for mut route in copied {
                    route.path = values_join(&prefix, &route.path);
                    route.path = values_join(&routes.prefix, &route.path);
                    route.layers.extend(deps.iter().rev().cloned());
                    routes.ops.push(RouterOp::Route(Rc::new(route)));
                }
                Py::None
            }
            // A mounted app keeps its own dependencies; only the outer app's middleware wraps it.
            "mount" => {
                let prefix = args.path(0, "path");
                let Some(Py::Routes(inner)) = args.get(1, "app").cloned() else {
                    return Py::None;
                };
                self.mounted.push(inner.clone());
                let inner = inner.borrow();
                let mut routes = r.borrow_mut();
                if routes.count + inner.count > MAX_ROUTES {
                    return Py::None;
                }
                routes.count += inner.count;
                routes.mounts.push((prefix, inner.snapshot()));
                Py::None
            }
            "add_middleware" => {
                let cls = args
                    .positional
                    .first()
                    .map_or(Py::Unknown, |(v, _)| v.clone());
                let layer = self.middleware_layer(&cls, &args.kwargs, loc);
                r.borrow_mut().middleware.push(layer);
                Py::None
            }
            "middleware" => Py::MiddlewareFn(r, loc),
            _ => Py::Unknown,
        }
    }

    /// A middleware class (or the project's factory function) added with these keyword arguments.
    fn middleware_layer(&self, cls: &Py, kwargs: &[(Name, Py, Loc)], loc: Loc) -> LayerVal {
        let name = match cls {
            Py::Ext(p) => p.iter().map(|s| s.as_str()).collect::<Vec<_>>().join("."),
            Py::Obj(o) => o.name().to_string(),
            _ => String::new(),
        };
        let last = name.rsplit('.').next().unwrap_or("").to_string();
        let text = kwargs
            .iter()
            .map(|(k, _, _)| format!("{k}=.."))
            .collect::<Vec<_>>()
            .join(", ");
        let mut layer = self.layer(&last, &format!("{last}({text})"), loc);
        layer.names.push(name);
        // The project's own middleware, a class (`dispatch` or `__call__`) or a factory function, is
        // classified by what it does.
        layer.fn_id = match cls {
            Py::Func(id, _) => Some(*id),
            _ => self.middleware_method(&last),
        };
        if let Py::Func(id, _) = cls {
            let name = self.prog.func(*id).name.to_string();
            layer.name = format!("{name}({text})");
            layer.names = vec![name];
        }
        layer
    }

    /// The framework class a class of the project derives from (through other classes of the
    /// project), and the class's own `__init__`.
    fn router_subclass(&self, name: &str) -> Option<(&'static str, Option<FnId>)> {
        const FRAMEWORK: [&str; 3] = ["FastAPI", "Starlette", "APIRouter"];
        if name.is_empty() || FRAMEWORK.contains(&name) {
            return None;
        }
        let chain = self.class_chain(&self.prog.ctx_of_unit(0), Name::new(name));
        chain.first()?.1?;
        let base = chain
            .iter()
            .find_map(|(c, _)| FRAMEWORK.iter().find(|b| **b == c.as_str()))?;
        let init = chain
            .iter()
            .filter(|(_, def)| def.is_some())
            .find_map(|(c, _)| self.method_of(*c, "__init__"));
        Some((base, init))
    }

    /// The method that handles requests in a middleware class of the project.
    fn middleware_method(&self, class: &str) -> Option<FnId> {
        if class.is_empty() {
            return None;
        }
        ["dispatch", "__call__"].iter().find_map(|m| {
            self.prog.methods_named(m).into_iter().find(|id| {
                self.prog
                    .func(*id)
                    .self_ty
                    .as_ref()
                    .is_some_and(|t| *t == class)
            })
        })
    }

    /// The arguments an `__init__` passes on to `super().__init__(..)`, given its own.
    fn super_init_args(&mut self, init: FnId, args: Args) -> Args {
        let func = self.prog.func(init);
        let mut to_super = None;
        func.body.walk(&mut |e| {
            if let crate::facts::Expr::Method(m) = e {
                let on_super = matches!(&m.recv, crate::facts::Expr::Call { func, .. }
                    if func.as_ident() == Some("super"));
                if m.name == "__init__" && on_super && to_super.is_none() {
                    to_super = Some(&m.args);
                }
            }
        });
        match (to_super, self.bind(init, &args)) {
            (Some(list), Some(mut frame)) => self.args(&mut frame, list),
            _ => args,
        }
    }

    /// A layer the catalog classifies by name.
    fn layer(&self, name: &str, display: &str, loc: Loc) -> LayerVal {
        LayerVal {
            name: display.to_string(),
            names: vec![name.to_string()],
            arg_texts: vec![],
            arg_values: vec![],
            loc,
            fn_id: None,
            extractor: None,
            preset: None,
        }
    }

    /// `uvicorn.run(app, host="0.0.0.0", port=8000, ssl_certfile=..)`: the app served, and where.
    fn uvicorn_run(&mut self, args: &Args, loc: Loc) {
        let target = match args.get(0, "app") {
            Some(Py::Routes(r)) => Some(r.clone()),
            // `uvicorn.run("app.main:app", ..)`.
            Some(Py::Str(s, _)) => {
                let (module, attr) = s.split_once(':').unwrap_or((s, "app"));
                let module: Vec<Name> = module.split('.').map(Name::new).collect();
                self.served_target(&module, Name::new(attr))
            }
            _ => None,
        };
        let Some(target) = target else { return };
        let (host, origin) = match args.kw("host") {
            Some(Py::Str(h, at)) => (Some(h.clone()), Origin::Literal(*at)),
            Some(_) => (None, Origin::Unknown),
            // uvicorn's default.
            None => (Some("127.0.0.1".to_string()), Origin::Default(loc)),
        };
        let port = match args.kw("port") {
            Some(Py::Int(p)) => Some(i128::from(*p)),
            Some(_) => None,
            None => Some(8000),
        };
        let tls_arg = args
            .kwargs
            .iter()
            .find(|(k, _, _)| *k == "ssl_certfile" || *k == "ssl_keyfile");
        let tls = match tls_arg {
            Some((_, Py::None, _)) => Tls::Unknown,
            Some(_) => Tls::On,
            None => Tls::Off,
        };
        let listener = ListenerVal {
            framework: "fastapi",
            addr: AddrVal::new(host, port, origin),
            tls,
            tls_loc: tls_arg.map(|(_, _, at)| *at),
            loc,
            via: "uvicorn.run".into(),
            local: args.kw("uds").is_some_and(|u| !matches!(u, Py::None)),
            notes: vec![],
        };
        // uvicorn logs every request unless told not to.
        let access_log = !matches!(args.kw("access_log"), Some(Py::Bool(false)));
        self.serves.push(super::Serve {
            app: target,
            event: ServeEvent {
                loc,
                listeners: vec![listener],
                app: crate::model::value::Value::Unknown,
                framework: "fastapi",
            },
            access_log: access_log.then(|| super::launches::access_log_layer("uvicorn", loc)),
        });
    }
}

fn values_join(prefix: &str, path: &str) -> String {
    super::values::join(prefix, path)
}
