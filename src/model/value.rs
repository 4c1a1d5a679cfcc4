//! The values of the symbolic evaluation: what an expression is known to build.

use super::program::FnId;
use crate::facts::{Name, TypeRef};
use crate::source::Loc;
use std::rc::Rc;

#[derive(Debug, Clone, PartialEq)]
pub enum Origin {
    Literal(Loc),
    /// Nothing in the code or configuration names it: the framework's default (Rocket's `127.0.0.1`),
    /// which deployments commonly override.
    Default(Loc),
    Constant(String, Loc),
    Config(String, Loc),
    Env(String, Option<String>, Loc),
    Unknown,
}

#[derive(Debug, Clone)]
pub struct StrVal {
    /// The text, with `{?}` for the parts that are not known.
    pub text: String,
    pub exact: bool,
    pub origin: Origin,
}

#[derive(Debug, Clone)]
pub struct HandlerVal {
    pub fn_id: Option<FnId>,
    pub name: String,
    pub loc: Loc,
}

#[derive(Debug, Clone)]
pub struct LayerVal {
    /// Display name: the constructor as written.
    pub name: String,
    /// Names the catalog may know it by.
    pub names: Vec<String>,
    /// Source text of the constructor's and builder calls' arguments.
    pub arg_texts: Vec<String>,
    /// Known string values of those arguments, by position.
    pub arg_values: Vec<Option<String>>,
    pub loc: Loc,
    /// `middleware::from_fn(f)` and friends: the middleware function.
    pub fn_id: Option<FnId>,
    /// `middleware::from_extractor::<T>()`: the extractor type.
    pub extractor: Option<TypeRef>,
    /// What the layer does, when its adapter has already worked it out (a FastAPI dependency), with
    /// the reason shown in labels.
    pub preset: Option<Box<(super::Middleware, String)>>,
}

#[derive(Debug, Clone)]
pub struct RouteVal {
    pub methods: Vec<String>,
    pub path: String,
    pub handler: HandlerVal,
    pub loc: Loc,
    /// Innermost first: each `.layer` call pushes to the end.
    pub layers: Vec<LayerVal>,
}

/// How a router was assembled, in call order. Kept as operations sharing nested routers, so that long
/// builder chains cost linear time; `routes()` flattens them once.
#[derive(Debug, Clone)]
pub enum RouterOp {
    Route(Rc<RouteVal>),
    Nest(String, Rc<RouterVal>),
    Merge(Rc<RouterVal>),
    /// Wraps every route added before it; outermost first.
    Layers(Rc<Vec<LayerVal>>),
    /// Wraps every route of the router wherever it was added (actix-web `wrap`); outermost first.
    WrapAll(Rc<Vec<LayerVal>>),
}

#[derive(Debug, Clone, Default)]
pub struct RouterVal {
    pub framework: &'static str,
    /// The path a scope or resource is mounted at when registered (actix-web `web::scope("/api")`).
    pub mount: Option<String>,
    pub ops: Vec<RouterOp>,
    pub fallback: Option<HandlerVal>,
    pub loc: Loc,
}

impl RouterVal {
    /// Every route with its full path and its layers (innermost first).
    pub fn routes(&self) -> Vec<RouteVal> {
        let mut out: Vec<RouteVal> = vec![];
        let mut wrap_all: Vec<&LayerVal> = vec![];
        for op in &self.ops {
            match op {
                RouterOp::Route(r) => out.push((**r).clone()),
                RouterOp::Nest(prefix, inner) => {
                    out.extend(inner.routes().into_iter().map(|mut r| {
                        r.path = join_paths(prefix, &r.path);
                        r
                    }))
                }
                RouterOp::Merge(inner) => out.extend(inner.routes()),
                RouterOp::Layers(ls) => {
                    for r in &mut out {
                        r.layers.extend(ls.iter().rev().cloned());
                    }
                }
                // Registered later means outer: applied after everything else, in order.
                RouterOp::WrapAll(ls) => wrap_all.extend(ls.iter().rev()),
            }
        }
        if !wrap_all.is_empty() {
            for r in &mut out {
                r.layers.extend(wrap_all.iter().map(|l| (*l).clone()));
            }
        }
        out
    }

    /// A router served as the app: its own mount path (salvo `Router::with_path`, loco `prefix`) applies.
    pub fn as_root(self: &Rc<Self>) -> Rc<RouterVal> {
        match &self.mount {
            Some(m) => Rc::new(RouterVal {
                framework: self.framework,
                mount: None,
                ops: vec![RouterOp::Nest(m.clone(), self.clone())],
                fallback: self.fallback.clone(),
                loc: self.loc,
            }),
            None => self.clone(),
        }
    }

    /// Registers every (methods, handler) entry of a method router at `path`.
    pub fn add_method_routes(&mut self, path: &str, mr: &MethodRouterVal, loc: Loc) {
        for (methods, h) in &mr.entries {
            self.ops.push(RouterOp::Route(Rc::new(RouteVal {
                methods: methods.clone(),
                path: path.to_string(),
                handler: h.clone(),
                loc,
                layers: mr.layers.clone(),
            })));
        }
    }

    pub fn has_routes(&self) -> bool {
        self.ops.iter().any(|op| match op {
            RouterOp::Route(_) => true,
            RouterOp::Nest(_, r) | RouterOp::Merge(r) => r.has_routes(),
            RouterOp::Layers(_) | RouterOp::WrapAll(_) => false,
        })
    }
}

/// Joins a mount prefix and a route path into an absolute path (salvo writes both without `/`).
pub fn join_paths(prefix: &str, path: &str) -> String {
    let prefix = prefix.trim_matches('/');
    let path = path.trim_start_matches('/');
    match (prefix.is_empty(), path.is_empty()) {
        (true, true) => "/".into(),
        (true, false) => format!("/{path}"),
        (false, true) => format!("/{prefix}"),
        (false, false) => format!("/{prefix}/{path}"),
    }
}

#[derive(Debug, Clone, Default)]
pub struct MethodRouterVal {
    pub entries: Vec<(Vec<String>, HandlerVal)>,
    /// Innermost first.
    pub layers: Vec<LayerVal>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tls {
    On,
    Off,
    Unknown,
}

#[derive(Debug, Clone)]
pub struct AddrVal {
    pub host: Option<String>,
    pub port: Option<i128>,
    pub text: String,
    pub origin: Origin,
}

impl AddrVal {
    /// An address as `host:port`, `?` for what is not known.
    pub fn new(host: Option<String>, port: Option<i128>, origin: Origin) -> AddrVal {
        let text = format!(
            "{}:{}",
            host.as_deref().unwrap_or("?"),
            port.map_or("?".to_string(), |p| p.to_string())
        );
        AddrVal {
            host,
            port,
            text,
            origin,
        }
    }
}

impl ListenerVal {
    /// A listener bound at `addr` by a call the catalog knows (`[[listener]]` entry).
    pub fn from_catalog(
        framework: &'static str,
        entry: &crate::catalog::ListenerEntry,
        addr: AddrVal,
        loc: Loc,
    ) -> Self {
        let tls = match entry.tls.as_str() {
            "on" => Tls::On,
            "off" => Tls::Off,
            _ => Tls::Unknown,
        };
        ListenerVal {
            framework,
            addr,
            tls,
            tls_loc: (tls == Tls::On).then_some(loc),
            loc,
            via: entry.name.clone(),
            local: entry.tls == "local",
            notes: vec![],
        }
    }
}

#[derive(Debug, Clone)]
pub struct ListenerVal {
    pub framework: &'static str,
    pub addr: AddrVal,
    pub tls: Tls,
    pub tls_loc: Option<Loc>,
    /// The bind call.
    pub loc: Loc,
    /// Names it was created by, for the catalog.
    pub via: String,
    /// A local socket (Unix domain socket), not a network listener.
    pub local: bool,
    /// More to say about it, shown as labels (e.g. run-time overrides).
    pub notes: Vec<(Loc, String)>,
}

#[derive(Debug, Clone)]
pub struct Opaque {
    pub name: String,
    pub names: Vec<String>,
    pub arg_texts: Vec<String>,
    pub arg_values: Vec<Option<String>>,
    pub loc: Loc,
    pub methods: Vec<String>,
    /// A TLS acceptor or configuration, according to the catalog.
    pub tls: bool,
}

#[derive(Debug, Clone)]
pub enum Value {
    Unknown,
    Str(Rc<StrVal>),
    Int(i128),
    Bool(bool),
    /// A path the evaluation knows nothing about, e.g. `header::CACHE_CONTROL`.
    Path(Rc<Vec<Name>>, Loc),
    /// A function of the crate, or a closure.
    Fn(FnId, Loc),
    Router(Rc<RouterVal>),
    MethodRouter(Rc<MethodRouterVal>),
    /// A stack of layers, outermost first.
    Layers(Rc<Vec<LayerVal>>),
    Opaque(Rc<Opaque>),
    Struct(Rc<Vec<Name>>, Rc<Vec<(Name, Value)>>, Loc),
    Tuple(Rc<Vec<Value>>),
    Listener(Rc<ListenerVal>),
    /// A connection accepted from a listener.
    Stream(Rc<ListenerVal>),
    Addr(Rc<AddrVal>),
    /// A server that serves an app on listeners bound to it later (actix-web `HttpServer`).
    Server(Rc<ServerVal>),
    /// A warp filter: the routes it matches, not yet turned into a router.
    Filter(Rc<FilterVal>),
}

/// What a request extracted by a filter becomes in the handler's parameters.
#[derive(Debug, Clone, PartialEq)]
pub enum Slot {
    /// A path parameter (`path!("x" / u32)`).
    Path,
    /// The body or query, deserialized into the handler parameter at this position (or the turbofish type).
    Input {
        kind: &'static str,
        ty: Option<crate::facts::TypeRef>,
    },
    /// Anything else (headers, state injected with `warp::any().map(move || db.clone())`).
    Other,
}

#[derive(Debug, Clone, Default)]
pub struct FilterRoute {
    pub path: Vec<String>,
    pub methods: Vec<String>,
    pub slots: Vec<Slot>,
    pub handler: Option<HandlerVal>,
    /// Guards (`and(with_auth())`) and wrappers (`with(..)`), innermost first.
    pub layers: Vec<LayerVal>,
    pub loc: Loc,
}

#[derive(Debug, Clone, Default)]
pub struct FilterVal {
    pub routes: Vec<FilterRoute>,
}

#[derive(Debug, Clone)]
pub struct ServerVal {
    pub framework: &'static str,
    pub app: Value,
    pub listeners: Vec<ListenerVal>,
    /// Listener configuration given in code (Rocket `rocket::custom(config)`).
    pub config: Value,
    /// TLS set on the service itself (actix-http's `HttpService::build()...rustls(..)`): every listener
    /// it is bound to serves TLS.
    pub tls: Option<Loc>,
}

impl Value {
    pub fn str(text: impl Into<String>, origin: Origin) -> Value {
        let text = text.into();
        Value::Str(Rc::new(StrVal {
            exact: !text.contains("{?}"),
            text,
            origin,
        }))
    }

    pub fn as_str(&self) -> Option<&StrVal> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The value's text when it is a known string or number.
    pub fn known_text(&self) -> Option<String> {
        match self {
            Value::Str(s) if s.exact => Some(s.text.clone()),
            Value::Int(i) => Some(i.to_string()),
            Value::Bool(b) => Some(b.to_string()),
            _ => None,
        }
    }

    pub fn is_unknown(&self) -> bool {
        matches!(self, Value::Unknown)
    }

    /// Values that change what a function builds, so a call with them is not memoised.
    pub fn is_structural(&self) -> bool {
        matches!(
            self,
            Value::Router(_)
                | Value::MethodRouter(_)
                | Value::Layers(_)
                | Value::Opaque(_)
                | Value::Fn(..)
                | Value::Listener(_)
        )
    }
}
