//! The framework-neutral service model: routes with their full paths and the middleware that really wraps
//! them, handlers and their inputs, listeners, apps, call sites and configuration. Rules only ever see
//! this model.

mod acceptors;
mod actix;
mod analysis;
mod auth_checks;
mod axum;
mod blocking;
mod build;
mod config;
mod constants;
mod cookies;
mod deploy;
mod deployed;
mod eval;
mod fast_hash;
mod fastapi;
mod few;
mod field_checks;
mod flow;
mod inputs;
mod launch;
mod literals;
mod lockfile;
mod logged_structs;
mod poem;
mod program;
mod rocket;
mod salvo;
mod secret_aliases;
mod value;
mod warp;

pub use build::{build_package, head_known, Built};
pub use config::config_entries;
pub use deploy::{deploy_kind, env_settings, DeployKind};
pub use few::Few;
pub use flow::Labels;
pub use launch::{launches, Launch};
pub use lockfile::advisory_matches;
pub use program::{Program, Unit};

use crate::source::Loc;
use serde::Serialize;

/// A piece of evidence shown as a secondary label.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Evidence {
    pub loc: Loc,
    pub note: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Middleware {
    pub name: String,
    pub capability: String,
    pub tags: Vec<String>,
    pub loc: Loc,
    /// Cache-Control directives, for cache-header middleware.
    pub directives: Option<String>,
    /// For response caches: whether the cache key includes the caller's identity.
    pub keys_identity: Option<bool>,
    pub optional: bool,
}

#[derive(Debug, Clone, Serialize, Default)]
pub struct AuthInfo {
    /// `enforced`, `conditional` (only when a flag is set), `optional` or `none`.
    pub status: String,
    /// Where it comes from: `middleware`, `extractor`, `handler-check`.
    pub sources: Vec<String>,
    pub evidence: Vec<Evidence>,
}

#[derive(Debug, Clone, Serialize, Default)]
pub struct RateLimitInfo {
    pub limited: bool,
    pub evidence: Vec<Evidence>,
}

#[derive(Debug, Clone, Serialize, Default)]
pub struct CacheInfo {
    /// The effective Cache-Control directives, or empty.
    pub directives: String,
    /// A shared cache (proxy, CDN) may store the response.
    pub shared: bool,
    /// A server-side response cache wraps the route.
    pub server: bool,
    /// Whether every server-side cache in front of the route keys on the caller's identity.
    pub server_keys_identity: bool,
    pub evidence: Vec<Evidence>,
}

#[derive(Debug, Clone, Serialize, Default)]
pub struct IdentityInfo {
    /// The response depends on who is calling.
    pub reads: bool,
    pub evidence: Vec<Evidence>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Route {
    pub package: String,
    pub framework: String,
    pub methods: Vec<String>,
    pub path: String,
    pub handler: String,
    pub handler_loc: Option<Loc>,
    /// Whether the handler may write anything (a database, a file, a cache, a channel, shared state),
    /// directly or through the crate's functions: `false` only when every call it makes only reads.
    pub changes_state: bool,
    /// Where the handler checks a submitted password or one-time code (the catalog's `password-verify`
    /// calls, directly or through the crate's functions): a credential endpoint whatever its path.
    pub verifies_password: Vec<Evidence>,
    pub loc: Loc,
    /// Outermost first.
    pub middleware: Vec<Middleware>,
    pub auth: AuthInfo,
    pub rate_limit: RateLimitInfo,
    pub cache: CacheInfo,
    pub identity: IdentityInfo,
    pub app: Option<usize>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Input {
    pub package: String,
    /// `rust` or `python`.
    pub language: &'static str,
    /// json, form, query, path, body, multipart
    pub kind: String,
    pub extractor: String,
    /// The deserialized type (`CreateUser` in `Json<CreateUser>`).
    #[serde(rename = "type")]
    pub ty: String,
    pub type_loc: Option<Loc>,
    pub binding: String,
    pub handler: String,
    pub methods: Vec<String>,
    pub path: String,
    pub free_form: bool,
    /// Fields that carry free-form data.
    pub free_form_fields: Vec<String>,
    pub validated: bool,
    /// How it is validated: `derive`, `wrapper`, `call`, `type`.
    pub validation: Vec<String>,
    pub loc: Loc,
    pub evidence: Vec<Evidence>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Listener {
    pub package: String,
    pub framework: String,
    pub loc: Loc,
    pub address: String,
    pub host: String,
    pub port: Option<i64>,
    /// `public`, `loopback`, `unresolved`, `local`
    pub host_kind: String,
    /// `literal`, `constant`, `config`, `env`, `default` (the framework's), `unknown`
    pub source: String,
    /// `on`, `off`, `unknown`
    pub tls: String,
    /// What binds or serves it, as the catalog names it (e.g. `axum_server with rustls`).
    pub via: String,
    pub redirect_only: bool,
    pub app: Option<usize>,
    pub evidence: Vec<Evidence>,
}

#[derive(Debug, Clone, Serialize)]
pub struct App {
    pub package: String,
    pub framework: String,
    pub loc: Loc,
    /// Where the root router is assembled, when that is not where it is served.
    pub router_loc: Option<Loc>,
    pub served: bool,
    pub loopback_only: bool,
    /// Every listener only redirects to HTTPS or answers ACME challenges.
    pub redirect_only: bool,
    pub routes: Vec<AppRoute>,
    pub listeners: Vec<usize>,
}

/// The part of a route an app-level rule needs.
#[derive(Debug, Clone, Serialize)]
pub struct AppRoute {
    pub methods: Vec<String>,
    pub path: String,
    /// Capabilities of the middleware around it (`trace`, `auth`, …).
    pub capabilities: Vec<String>,
    pub rate_limited: bool,
    pub auth: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Call {
    /// Shared by every call of the package (as `function` and `statement` are by theirs).
    pub package: std::sync::Arc<str>,
    /// `rust` or `python`.
    pub language: &'static str,
    pub kind: crate::facts::CallKind,
    pub name: crate::facts::Name,
    /// The callee as written (`a::b::c`), or the method name.
    pub callee: crate::facts::Name,
    /// The callee with imports resolved, when known.
    pub resolved: crate::facts::Name,
    pub args: Vec<CallArg>,
    pub receiver: Option<std::sync::Arc<str>>,
    /// What flows into the receiver (see `flow`): `input`, `secret`, `dynamic`, `variable`.
    pub receiver_flow: flow::Labels,
    pub function: std::sync::Arc<str>,
    pub is_async_fn: bool,
    /// The call is in a route handler (or a closure inside one).
    pub in_handler: bool,
    /// Where the request input in the arguments comes from: the extractor or accessor, and the calls that
    /// carried it here from another function.
    pub input_sources: Few<Evidence>,
    /// When the callee is a synchronous function of the crate that blocks the thread: the calls down to
    /// the blocking call, then the blocking call itself.
    pub blocks: Few<Evidence>,
    /// For calls that take key material (the catalog's `secret-sink` calls): the literals their
    /// arguments are, wherever written, last argument first.
    pub literals: Few<ArgLiteral>,
    /// Where the constants that arguments are (`args.N.value`) are written, when not in the call
    /// itself: a `const`, a `static`, a `let`.
    pub constants: Few<Evidence>,
    /// For calls that install a certificate verifier (`with_custom_certificate_verifier`): the crate's
    /// verifiers among the arguments whose `verify_server_cert` accepts every certificate.
    pub accepting_verifiers: Few<Evidence>,
    /// For calls that hand a cookie to a jar or a response (`jar.add(c)`, `.cookie(c)`, a `Set-Cookie`
    /// header): the cookie as it is at that point.
    pub sent_cookie: Option<Box<SentCookie>>,
    /// For calls that create a cookie (`Cookie::build`) or turn its `Secure` off (`set_secure(false)`):
    /// whether it is then sent somewhere the model follows (where `sent_cookie` judges it).
    pub cookie_sent: bool,
    /// For log macros: the fields named for a secret that a struct given whole prints (its derived
    /// `Debug`, or a `Display`/`Debug` of the crate that writes the field).
    pub logged_secret_fields: Few<Evidence>,
    /// For log and panic macros, `expect(msg)` and writes to the process output: the locals logged
    /// whole that hold a secret under another name (`let t = token.clone()`, `format!("Bearer
    /// {token}")`, `api_key()`, a tuple holding one, a buffer it was written into), each where it is
    /// bound.
    pub logged_secret_aliases: Few<Evidence>,
    /// For `write!`/`writeln!` and `write_all`/`write`/`write_fmt`: the stream written to is the
    /// process's standard output or error (`stdout()`, `stderr()`, their `lock()`, a `BufWriter` over
    /// one, or a local bound to one).
    pub process_output: bool,
    /// The field names the calling function reads, itself or in the crate's functions it calls
    /// (shared by the calls of a function).
    pub function_fields: std::sync::Arc<[String]>,
    /// In `main`, before its first serve call: start-up code, where nothing else runs yet.
    pub startup: bool,
    /// Inside an `if` or `match` on a setting (configuration, options, arguments, environment, a flag
    /// that switches checks off): the call happens only when an operator asks for it.
    pub in_branch: bool,
    /// What the package is: `service`, `cli` or `library`.
    pub role: &'static str,
    /// The source of the statement the call is in (shortened), e.g. a whole builder chain.
    pub statement: std::sync::Arc<str>,
    /// When that statement is `let x = …`: the methods later called on `x` in the same function.
    pub then_called: Few<String>,
    /// The methods called on this call's result in the same expression, in order: the builder chain
    /// that follows it (`allow_origin`, `allow_methods` after `Cors::new()`).
    pub chained: Few<String>,
    /// Methods called on the same binding earlier in the function, with their arguments as written
    /// (`set_secure(true)` before `cookie.set_same_site(None)`).
    pub before_called: Few<String>,
    pub loc: Loc,
}

/// Attributes that make a function a route handler (`#[get("/x")]`, actix-web and Rocket).
pub(crate) const ROUTE_ATTRIBUTES: &[&str] = &[
    "get", "post", "put", "patch", "delete", "head", "options", "route",
];

/// An environment variable a deployment file sets for the service (Dockerfile `ENV`, docker-compose
/// `environment:`, Kubernetes `env:`).
#[derive(Debug, Clone, Serialize)]
pub struct EnvSetting {
    pub var: String,
    pub value: String,
    pub loc: Loc,
    /// The directory whose packages the file deploys: the nearest package or workspace root above it.
    #[serde(skip)]
    pub scope: std::path::PathBuf,
}

/// A cookie where it is sent.
#[derive(Debug, Clone, Serialize)]
pub struct SentCookie {
    /// Its name as written.
    pub name: String,
    /// `Secure` is set by the time it is sent, on every way there.
    pub secure: bool,
    /// An expired or emptied cookie that deletes one.
    pub removal: bool,
    /// The call that created it, imports resolved.
    pub creator: String,
    /// Where it is created.
    pub loc: Loc,
    /// Where `Secure` was turned off explicitly (`set_secure(false)`), if it was and stayed off.
    pub turned_off: Option<Loc>,
}

/// A literal that reaches a call's argument, and where it is written.
#[derive(Debug, Clone, Serialize)]
pub struct ArgLiteral {
    /// The argument's index.
    pub arg: usize,
    pub value: String,
    pub loc: Loc,
}

#[derive(Debug, Clone, Serialize)]
pub struct CallArg {
    pub text: std::sync::Arc<str>,
    /// The parameter a keyword argument names (Python's `verify=False`), else null.
    pub keyword: Option<crate::facts::Name>,
    pub value: serde_json::Value,
    /// When the value is text built at run time on a constant start that holds a whole scheme and host
    /// (`format!("{BASE}/users/{id}")`, `base.join(path)`): its shape, run-time pieces written `{}`
    /// (`http://host/users/{}`).
    pub template: Option<String>,
    /// What flows into the argument: `input`, `secret`, `dynamic`, `variable`.
    pub flow: flow::Labels,
}

#[derive(Debug, Clone, Serialize)]
pub struct ConfigEntry {
    pub package: String,
    pub file: String,
    pub key: String,
    /// The keys of the table this key is in (`git`, `rev`, `features` for `dependencies.x.git`).
    pub table_keys: Vec<String>,
    pub value: serde_json::Value,
    pub loc: Loc,
}

#[derive(Debug, Clone, Serialize)]
pub struct Handler {
    pub package: String,
    pub name: String,
    pub is_async: bool,
    pub loc: Loc,
    pub params: Vec<HandlerParam>,
    /// Names of the functions and methods it calls (`.validate` for methods), in order.
    pub calls: Vec<String>,
    /// The Cache-Control value it sets on its response, if any.
    pub cache_control: Option<String>,
}

/// A function of the crate (closures excluded).
#[derive(Debug, Clone, Serialize)]
pub struct Function {
    pub package: String,
    pub name: String,
    pub is_async: bool,
    /// Attribute paths as written (`tracing::instrument`, `get`).
    pub attrs: Vec<String>,
    /// Parameters whose values `#[instrument]` records in its span (all but `skip(..)`ed ones).
    pub traced_params: Vec<String>,
    /// For a method of a trait impl: the trait's name (`ServerCertVerifier`).
    pub trait_name: Option<String>,
    /// The one expression the function returns whatever happens (no branch, `?` or early return), as
    /// written without whitespace: `Ok(ServerCertVerified::assertion())`.
    pub always_returns: Option<String>,
    /// What its package is: `service`, `cli` or `library`.
    pub role: &'static str,
    pub loc: Loc,
}

/// A struct, enum or alias defined in the crate.
#[derive(Debug, Clone, Serialize)]
pub struct TypeInfo {
    pub package: String,
    pub name: String,
    /// `struct`, `enum` or `alias`
    pub kind: String,
    pub derives: Vec<String>,
    pub attrs: Vec<String>,
    pub fields: Vec<FieldInfo>,
    pub loc: Loc,
}

#[derive(Debug, Clone, Serialize)]
pub struct FieldInfo {
    pub name: String,
    #[serde(rename = "type")]
    pub ty: String,
    pub attrs: Vec<String>,
    pub loc: Loc,
}

#[derive(Debug, Clone, Serialize)]
pub struct HandlerParam {
    pub binding: String,
    #[serde(rename = "type")]
    pub ty: String,
    pub loc: Loc,
}

/// Everything the rules look at.
#[derive(Debug, Default, Serialize)]
pub struct Model {
    pub routes: Vec<Route>,
    pub inputs: Vec<Input>,
    pub handlers: Vec<Handler>,
    pub types: Vec<TypeInfo>,
    pub listeners: Vec<Listener>,
    pub apps: Vec<App>,
    pub calls: Vec<Call>,
    pub config: Vec<ConfigEntry>,
    pub auth_checks: Vec<AuthCheck>,
    pub advisories: Vec<AdvisoryMatch>,
    pub functions: Vec<Function>,
    /// Suppression comments, once findings are known (filled by the engine).
    pub suppressions: Vec<SuppressionInfo>,
}

/// A `// portcullis: ignore[..]` comment and what became of it.
#[derive(Debug, Clone, Serialize)]
pub struct SuppressionInfo {
    pub file: String,
    pub rules: Vec<String>,
    pub rule_count: usize,
    pub reason: String,
    pub file_level: bool,
    /// It hid at least one finding.
    pub used: bool,
    /// Every rule it names is known and ran, so `used` is meaningful.
    pub checked: bool,
    pub unknown_rules: Vec<String>,
    pub reason_required: bool,
    pub loc: Loc,
}

/// A package pinned in `Cargo.lock` at a version an advisory affects.
#[derive(Debug, Clone, Serialize)]
pub struct AdvisoryMatch {
    /// The analysed package whose lock file this is.
    pub package: String,
    #[serde(rename = "crate")]
    pub krate: String,
    pub version: String,
    pub id: String,
    pub title: String,
    /// `vulnerability`, or the advisory's informational kind (`unsound`, `unmaintained`, `notice`).
    pub kind: String,
    pub url: String,
    pub aliases: Vec<String>,
    /// The patched version requirements, joined.
    pub patched: String,
    pub date: String,
    /// `bundled`, or the advisory database it came from.
    pub origin: String,
    pub loc: Loc,
}

/// An authentication check written in the crate: an extractor, guard, middleware or validator function
/// that reads credentials and rejects requests on them.
#[derive(Debug, Clone, Serialize)]
pub struct AuthCheck {
    pub package: String,
    pub name: String,
    /// `extractor` or `middleware` (a trait impl, or a function handed to the framework by name).
    pub kind: String,
    pub loc: Loc,
    /// Logs, traces or counts something (itself, a function it calls, or its error type's response).
    pub records: bool,
    /// Where it reads and checks credentials.
    pub evidence: Vec<Evidence>,
    pub audit: Vec<Evidence>,
}

impl Model {
    /// Appends another package's model, renumbering app references.
    pub fn extend(&mut self, other: Model) {
        let base = self.apps.len();
        let listener_base = self.listeners.len();
        self.routes.extend(other.routes.into_iter().map(|mut r| {
            r.app = r.app.map(|a| a + base);
            r
        }));
        self.listeners
            .extend(other.listeners.into_iter().map(|mut l| {
                l.app = l.app.map(|a| a + base);
                l
            }));
        self.apps.extend(other.apps.into_iter().map(|mut a| {
            a.listeners.iter_mut().for_each(|l| *l += listener_base);
            a
        }));
        self.inputs.extend(other.inputs);
        self.handlers.extend(other.handlers);
        self.types.extend(other.types);
        self.calls.extend(other.calls);
        self.config.extend(other.config);
        self.auth_checks.extend(other.auth_checks);
        self.advisories.extend(other.advisories);
        self.suppressions.extend(other.suppressions);
        self.functions.extend(other.functions);
    }
}
