//! What the FastAPI adapter's evaluation of Python module code knows a value to be.

use crate::facts::Name;
use crate::model::program::FnId;
use crate::model::value::{HandlerVal, LayerVal, RouteVal, RouterOp, RouterVal};
use crate::source::Loc;
use std::cell::RefCell;
use std::rc::Rc;

#[derive(Clone, Debug)]
pub enum Py {
    Unknown,
    None,
    Str(String, Loc),
    Int(i64),
    Bool(bool),
    List(Vec<Py>),
    /// A module of the project, by module path.
    Module(Vec<Name>),
    /// A name from outside the project (`fastapi.FastAPI`, `slowapi.Limiter`), by its path.
    Ext(Vec<Name>),
    /// A function of the project, with the layers its decorators wrapped it in (innermost first).
    Func(FnId, Vec<LayerVal>),
    /// A FastAPI (or Starlette) app or an `APIRouter`: mutable, as in Python.
    Routes(Rc<RefCell<Routes>>),
    /// `app.get("/items", ..)`: the route registration waiting for its function.
    Register(Rc<Register>),
    /// `app.middleware("http")`: the middleware registration waiting for its function.
    MiddlewareFn(Rc<RefCell<Routes>>, Loc),
    /// `Depends(x)` or `Security(x)`.
    Dep(Box<Py>, Loc),
    /// An object built by an external call: its constructor's path, keyword arguments, where.
    Obj(Rc<Obj>),
    /// Starlette's `Middleware(cls, **options)`, as listed in `FastAPI(middleware=[..])`.
    Middleware(Box<Py>, Rc<Vec<(Name, Py, Loc)>>, Loc),
    /// A decorator that wraps a function in a layer (`@limiter.limit("5/minute")`, `@cache(..)`).
    Wrap(Rc<LayerVal>),
}

#[derive(Debug)]
pub struct Obj {
    pub path: Vec<Name>,
    pub kwargs: Vec<(Name, Py)>,
    /// The method call that made it, for objects made by methods (`fastapi_users.current_user(..)`).
    pub method: Option<Name>,
}

impl Obj {
    pub fn name(&self) -> &str {
        self.method
            .as_ref()
            .or(self.path.last())
            .map_or("", |n| n.as_str())
    }

    pub fn kwarg(&self, name: &str) -> Option<&Py> {
        self.kwargs.iter().find(|(k, _)| *k == name).map(|(_, v)| v)
    }
}

#[derive(Debug)]
pub struct Register {
    pub target: Rc<RefCell<Routes>>,
    pub methods: Vec<String>,
    pub path: String,
    /// The registration's `dependencies=[..]`, as layers.
    pub deps: Vec<LayerVal>,
    pub loc: Loc,
}

/// An app or a router as built so far.
#[derive(Debug, Default)]
pub struct Routes {
    /// `APIRouter(prefix=..)`: prepended to each route's path when it is added, as FastAPI does.
    pub prefix: String,
    /// Router- or app-level `dependencies=[..]`.
    pub deps: Vec<LayerVal>,
    pub ops: Vec<RouterOp>,
    /// Middleware in the order added: the last added is the outermost.
    pub middleware: Vec<LayerVal>,
    /// Apps mounted at a path (`app.mount("/v1", api)`): their routes, which the app's dependencies do
    /// not reach (its middleware does).
    pub mounts: Vec<(String, Rc<RouterVal>)>,
    /// Routes held, mounted ones included.
    pub count: usize,
    pub loc: Loc,
}

impl Routes {
    pub fn add_route(
        &mut self,
        reg: &Register,
        id: FnId,
        layers: Vec<LayerVal>,
        name: &str,
        at: Loc,
    ) {
        self.count += 1;
        self.ops.push(RouterOp::Route(Rc::new(RouteVal {
            methods: reg.methods.clone(),
            path: join(&self.prefix, &reg.path),
            handler: HandlerVal {
                fn_id: Some(id),
                name: name.to_string(),
                loc: at,
            },
            loc: reg.loc,
            layers,
        })));
    }

    /// The routes as they are now, with the router's dependencies and middleware around every route.
    pub fn snapshot(&self) -> Rc<RouterVal> {
        let mut ops = self.ops.clone();
        if !self.deps.is_empty() {
            ops.push(RouterOp::WrapAll(Rc::new(
                self.deps.iter().rev().cloned().collect(),
            )));
        }
        if !self.mounts.is_empty() {
            let own = Rc::new(RouterVal {
                framework: "fastapi",
                mount: None,
                ops,
                fallback: None,
                loc: self.loc,
            });
            ops = vec![RouterOp::Merge(own)];
            ops.extend(
                self.mounts
                    .iter()
                    .map(|(path, app)| RouterOp::Nest(path.clone(), app.clone())),
            );
        }
        if !self.middleware.is_empty() {
            ops.push(RouterOp::WrapAll(Rc::new(
                self.middleware.iter().rev().cloned().collect(),
            )));
        }
        Rc::new(RouterVal {
            framework: "fastapi",
            mount: None,
            ops,
            fallback: None,
            loc: self.loc,
        })
    }
}

/// A prefix and a path as FastAPI joins them: by concatenation.
pub fn join(prefix: &str, path: &str) -> String {
    let joined = format!("{}{}", prefix.trim_end_matches('/'), path);
    if joined.is_empty() {
        "/".into()
    } else {
        joined
    }
}
