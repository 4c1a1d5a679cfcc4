//! The model's call entities: every call site of the package with what rules ask about it: what flows
//! into it, the statement around it, where it runs (a handler, start-up code, a branch on a setting)
//! and what else is called on the same binding.

use super::{Builder, SERVE_CALLS};
use crate::facts::{CallKind, CallSite, Expr, FnDef, Lit, Name};
use crate::model::analysis::Analyzer;
use crate::model::constants::Constants;
use crate::model::cookies;
use crate::model::flow::CallFlow;
use crate::model::literals::Literals;
use crate::model::logged_structs;
use crate::model::program::{Ctx, FnId, Program};
use crate::model::secret_aliases;
use crate::model::{Call, CallArg, Evidence, Few, Labels, SentCookie};
use crate::source::{Loc, Span};
use rayon::prelude::*;
use std::cell::OnceCell;
use std::collections::{HashMap, HashSet};
use std::ops::Range;
use std::sync::Arc;

/// What the calls of one function share.
struct FnCalls<'f> {
    id: FnId,
    /// Where the function's names resolve.
    ctx: Ctx,
    f: &'f FnDef,
    text: &'f str,
    name: Arc<str>,
    in_handler: bool,
    stmts: Vec<(Span, Option<&'f str>)>,
    startup: Option<u32>,
    branches: Vec<Range<u32>>,
    /// The last statement's text, shared by the calls of that statement (a builder chain has many).
    statement: Option<(Span, Arc<str>)>,
    /// Per receiver expression (by span), the method called on it and that call's span.
    called_on: HashMap<(u32, u32), (&'f str, Span)>,
    /// The field names the function reads, itself or in the crate's functions it calls: read when a
    /// call of the function is kept.
    fields: OnceCell<Arc<[String]>>,
}

/// What the calls of every function are built from, gathered once per unit.
struct Shared<'f> {
    in_handler: HashSet<FnId>,
    /// The crate's certificate verifiers that accept every certificate: the type's name, and its
    /// `verify_server_cert` as evidence.
    accepting_verifiers: Vec<(&'f str, Evidence)>,
    /// The cookies each function sends, by the sending call's span.
    sent_cookies: HashMap<FnId, cookies::Sent>,
    /// Where the cookies that are sent somewhere are created: (unit, start of the creating call).
    created_and_sent: HashSet<(u32, u32)>,
}

/// Macros that write to the logs or the process output.
const LOG_MACROS: &[&str] = &[
    "trace", "debug", "info", "warn", "error", "event", "println", "eprintln", "print", "eprint",
    "log", "dbg",
];

/// Methods that write to the stream they are called on (`write!`/`writeln!` write to their first
/// argument: `secret_aliases::WRITE_MACROS`).
const WRITE_METHODS: &[&str] = &["write_all", "write", "write_fmt"];

/// Macros whose message ends up in the logs when they panic.
const PANIC_MACROS: &[&str] = &[
    "panic",
    "assert_eq",
    "assert_ne",
    "debug_assert_eq",
    "debug_assert_ne",
    "unreachable",
    "todo",
    "unimplemented",
];

/// Calls that install a rustls certificate verifier given as an argument.
const INSTALLS_VERIFIER: &[&str] = &[
    "set_certificate_verifier",
    "with_custom_certificate_verifier",
];

impl Builder<'_, '_> {
    pub(super) fn add_calls(&mut self) {
        let prog = self.prog;
        let mut seen: HashSet<Loc> = HashSet::new();
        let sends = |id: &FnId| {
            prog.func(*id).calls.iter().any(|c| {
                cookies::SENDS.contains(&c.name.as_str())
                    || cookies::HEADER_WRITES.contains(&c.name.as_str())
            })
        };
        let sending: Vec<FnId> = prog.all_fns().filter(sends).collect();
        let sent_cookies: HashMap<FnId, cookies::Sent> = sending
            .par_iter()
            .map(|&id| (id, cookies::sent(self.an, id)))
            .filter(|(_, s)| !s.is_empty())
            .collect();
        // Where each cookie that is sent is created, and where its `Secure` was turned off: both are
        // judged where it is sent.
        let created_and_sent = sent_cookies
            .values()
            .flat_map(|s| s.values())
            .flat_map(|c| {
                let off = c.turned_off.map(|(unit, span)| (unit, span.start));
                std::iter::once((c.unit, c.span.start)).chain(off)
            })
            .collect();
        let shared = Shared {
            in_handler: self.handler_code(),
            accepting_verifiers: accepting_verifiers(prog, self.an),
            sent_cookies,
            created_and_sent,
        };
        // Functions are independent here: their calls are built side by side, a slice of functions at a
        // time (so only one slice's calls exist twice), and kept in function order so the model is the
        // same at any thread count.
        const SLICE: usize = 1024;
        let fns: Vec<FnId> = prog.all_fns().collect();
        for slice in fns.chunks(SLICE) {
            let per_fn: Vec<Vec<(Loc, Option<Call>)>> = slice
                .par_iter()
                .map(|&id| self.fn_calls(id, &shared))
                .collect();
            for (loc, call) in per_fn.into_iter().flatten() {
                // The first call at a place wins, whether or not it is kept.
                if seen.insert(loc) {
                    self.model.calls.extend(call);
                }
            }
        }
        self.model.calls.shrink_to_fit();
    }

    /// The call entities of one function, each with its place: `None` for calls no enabled rule could
    /// match, told from their head (name, callee, where it runs), whose details are never built.
    fn fn_calls(&self, id: FnId, shared: &Shared) -> Vec<(Loc, Option<Call>)> {
        let prog = self.prog;
        let f = prog.func(id);
        let text = &*prog.unit(id.unit).text;
        let mut fc = FnCalls {
            id,
            ctx: prog.ctx_of(id),
            f,
            text,
            name: Arc::from(prog.fn_display(id)),
            in_handler: shared.in_handler.contains(&id),
            stmts: statements(&f.body),
            startup: startup_end(f),
            branches: {
                let mut b = branch_spans(&f.body, text);
                b.extend(chosen_by_setting(prog, id, text));
                b
            },
            statement: None,
            called_on: called_on(f),
            fields: OnceCell::new(),
        };
        let file = prog.unit(id.unit).file;
        let package = prog.package_of(id.unit);
        let lazy = Lazy {
            consts: ArgConstants {
                an: self.an,
                id,
                state: OnceCell::new(),
            },
            bindings: OnceCell::new(),
            aliases: OnceCell::new(),
        };
        f.calls
            .iter()
            .map(|c| {
                let loc = Loc::new(file, c.span);
                let mut call = self.call_head(&fc, c, loc, package);
                if CLI_CRATES.iter().any(|p| call.resolved.starts_with(p)) {
                    self.cli_packages
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .insert(call.package.clone());
                }
                // Most calls are ruled out by what they are, before what other analyses say of
                // them is looked up.
                if !(self.keep_call)(&call, Built::Core) {
                    return (loc, None);
                }
                self.head_extras(&fc, c, &mut call, shared, &lazy);
                if !(self.keep_call)(&call, Built::Head) {
                    return (loc, None);
                }
                self.call_details(&mut fc, c, &mut call);
                (loc, Some(call))
            })
            .collect()
    }

    /// The parts of a call's head that other analyses of the unit give: the verifiers, cookies and
    /// constants it is given, and what a log macro prints.
    fn head_extras<'f>(
        &self,
        fc: &FnCalls<'f>,
        c: &CallSite,
        call: &mut Call,
        shared: &Shared,
        lazy: &Lazy<'_, '_, 'f>,
    ) {
        let id = fc.id;
        if INSTALLS_VERIFIER.contains(&c.name.as_str()) {
            call.accepting_verifiers = installed(c, &shared.accepting_verifiers).into();
        }
        call.sent_cookie = shared
            .sent_cookies
            .get(&id)
            .and_then(|s| s.get(&(c.span.start, c.span.end)))
            .map(|k| {
                Box::new(SentCookie {
                    name: k.name.clone(),
                    secure: k.secure,
                    removal: k.removal,
                    creator: k.creator.clone(),
                    loc: self.an.loc(k.unit, k.span),
                    turned_off: k.turned_off.map(|(unit, span)| self.an.loc(unit, span)),
                })
            });
        call.cookie_sent = shared.created_and_sent.contains(&(id.unit, c.span.start));
        lazy.consts.fill(c, call);
        let name = c.name.as_str();
        let is_macro = c.kind == CallKind::Macro;
        if is_macro && LOG_MACROS.contains(&name) {
            let b = lazy
                .bindings
                .get_or_init(|| logged_structs::Bindings::of(fc.f));
            call.logged_secret_fields = logged_structs::secret_fields(self.an, id, b, c).into();
        }
        let writes = match c.kind {
            CallKind::Macro => secret_aliases::WRITE_MACROS.contains(&name),
            CallKind::Method => WRITE_METHODS.contains(&name) && !c.args.is_empty(),
            _ => false,
        };
        let logs = (is_macro && (LOG_MACROS.contains(&name) || PANIC_MACROS.contains(&name)))
            || (c.kind == CallKind::Method && name == "expect");
        if writes || logs {
            let a = lazy
                .aliases
                .get_or_init(|| secret_aliases::Aliases::of(self.an, fc.f));
            call.process_output = writes && secret_aliases::writes_output(a, c);
            if logs || call.process_output {
                call.logged_secret_aliases = secret_aliases::logged(self.an, id, a, c).into();
            }
        }
    }

    /// The field names a function reads (`claims.exp`), itself, in its closures or in the crate's
    /// functions it calls directly, sorted.
    fn fields_read(&self, id: FnId) -> Arc<[String]> {
        let ctx = self.prog.ctx_of(id);
        let callees = self
            .prog
            .func(id)
            .calls
            .iter()
            .filter_map(|c| self.an.callee(&ctx, c));
        let mut names: Vec<&str> = vec![];
        let mut seen = HashSet::new();
        for g in std::iter::once(id).chain(callees) {
            if seen.insert(g) {
                own_fields(self.prog, g, &mut names);
            }
        }
        names.sort_unstable();
        names.dedup();
        names.into_iter().map(str::to_string).collect()
    }

    /// Handlers, and the closures written inside them: they run as part of the handler.
    fn handler_code(&self) -> HashSet<FnId> {
        let mut out = self.handlers_seen.clone();
        for &h in &self.handlers_seen {
            self.prog.func(h).body.walk(&mut |e| {
                if let crate::facts::Expr::Closure { fn_index, .. } = e {
                    out.insert(FnId {
                        unit: h.unit,
                        idx: *fn_index,
                    });
                }
            });
        }
        out
    }

    /// What a call is, where it runs, what it blocks on and the key material it is given: enough to
    /// tell whether a rule could match it (each is cheap for the calls that have none).
    fn call_head(&self, fc: &FnCalls, c: &CallSite, loc: Loc, package: &Arc<str>) -> Call {
        let imported = self.prog.imported_receiver(&fc.ctx, c);
        let (callee, resolved) = match (c.kind, imported) {
            // Python's `jwt.decode(..)` after `from jose import jwt`: a method call on an imported
            // module (or object) resolves through the import (`jose::jwt::decode`).
            (_, Some(recv)) => (
                c.name,
                Name::new(&self.prog.resolved_name(&fc.ctx, &[recv, c.name])),
            ),
            (CallKind::Method | CallKind::Assign, None) => (c.name, c.name),
            _ => (
                Name::new(&c.path.join("::")),
                Name::new(&self.prog.resolved_name(&fc.ctx, &c.path)),
            ),
        };
        let flow = self
            .flows
            .get(&(fc.id.unit, c.span.start, c.span.end))
            .cloned()
            .unwrap_or_default();
        // A call into a synchronous function of the crate that blocks: the way down to the blocking call.
        let blocks = self
            .blocking
            .as_ref()
            .and_then(|b| b.chain_of(self.an, (fc.id, &fc.ctx), c))
            .map(<[Evidence]>::to_vec)
            .unwrap_or_default();
        // Key material: what literals reach the arguments (sinks are rare, so their function's
        // bindings are read when one is met).
        let literals = if self
            .an
            .capabilities(&fc.ctx, c)
            .iter()
            .any(|e| e.capability == "secret-sink")
        {
            Literals::new(self.an, fc.id).of_call(c.span)
        } else {
            vec![]
        };
        Call {
            package: package.clone(),
            language: self.prog.unit(fc.id.unit).language,
            kind: c.kind,
            name: c.name,
            callee,
            resolved,
            args: call_args(c, &flow),
            receiver: c.recv.clone(),
            receiver_flow: Labels(flow.recv),
            function: fc.name.clone(),
            is_async_fn: fc.f.is_async,
            in_handler: fc.in_handler,
            input_sources: Few::default(),
            blocks: blocks.into(),
            literals: literals.into(),
            constants: Few::default(),
            accepting_verifiers: Few::default(),
            sent_cookie: None,
            cookie_sent: false,
            logged_secret_fields: Few::default(),
            logged_secret_aliases: Few::default(),
            process_output: false,
            function_fields: EMPTY_FIELDS.clone(),
            startup: fc.startup.is_some_and(|end| c.span.start < end),
            in_branch: fc
                .branches
                .iter()
                .any(|b| b.start <= c.span.start && c.span.end <= b.end),
            role: "service",
            statement: EMPTY.clone(),
            then_called: Few::default(),
            chained: Few::default(),
            before_called: Few::default(),
            loc,
        }
    }

    /// The rest of a call entity: its statement, where request input comes from, the methods called
    /// around it.
    fn call_details(&self, fc: &mut FnCalls, c: &CallSite, call: &mut Call) {
        let site = (fc.id.unit, c.span.start, c.span.end);
        let (statement, then_called) = statement_of(fc, c.span);
        call.input_sources = self
            .input_origins
            .get(&site)
            .cloned()
            .unwrap_or_default()
            .into();
        call.statement = statement;
        call.function_fields = fc.fields.get_or_init(|| self.fields_read(fc.id)).clone();
        call.then_called = then_called.into();
        call.chained = chained(fc, c.span).into();
        call.before_called = called_before(fc.f, c).into();
    }
}

/// How much of a call entity is built when `keep_call` is asked: its core (what it is, where it runs,
/// its arguments' texts and flows), then its head (with what other analyses say of it), then all of it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Built {
    Core,
    Head,
}

impl Built {
    /// Whether a property path is filled in at this point.
    pub fn knows(self, path: &[String]) -> bool {
        match self {
            Built::Core => head_known(path) && !filled_by_extras(path),
            Built::Head => head_known(path),
        }
    }
}

/// What `head_extras` fills in (`args` whole: constant folding sets argument values).
fn filled_by_extras(path: &[String]) -> bool {
    matches!(
        path.first().map(String::as_str),
        Some(
            "args"
                | "constants"
                | "accepting_verifiers"
                | "sent_cookie"
                | "cookie_sent"
                | "logged_secret_fields"
                | "logged_secret_aliases"
                | "process_output"
        )
    )
}

/// Whether a call's property is final before the call is kept or dropped: all but those
/// `call_details` fills in and the package's `role` (set last). A case that a call already fails on
/// these is not evaluated on it, so the rest is not built.
pub fn head_known(path: &[String]) -> bool {
    !matches!(
        path.first().map(String::as_str),
        Some(
            "statement"
                | "then_called"
                | "chained"
                | "before_called"
                | "input_sources"
                | "role"
                | "function_fields"
        ) | None
    )
}

/// A function's own field reads, its closures' included (`.filter(|c| c.exp > now)`).
fn own_fields<'a>(prog: &'a Program, id: FnId, names: &mut Vec<&'a str>) {
    let mut bodies = vec![id];
    while let Some(b) = bodies.pop().filter(|_| bodies.len() < 64) {
        prog.func(b).body.walk(&mut |e| match e {
            Expr::Field { name, .. } => names.push(name.as_str()),
            Expr::Closure { fn_index, .. } => bodies.push(FnId {
                unit: id.unit,
                idx: *fn_index,
            }),
            _ => {}
        });
    }
}

/// The field names of calls whose details are not built.
static EMPTY_FIELDS: std::sync::LazyLock<Arc<[String]>> =
    std::sync::LazyLock::new(|| Arc::from(Vec::<String>::new()));

/// The statement of calls not built in full.
static EMPTY: std::sync::LazyLock<Arc<str>> = std::sync::LazyLock::new(|| Arc::from(""));

/// Crates whose calls make a package a command-line program.
const CLI_CRATES: &[&str] = &["clap::", "argh::", "structopt::"];

/// What the calls of one function compute only when one of them needs it.
struct Lazy<'x, 'p, 'a> {
    consts: ArgConstants<'x, 'p, 'a>,
    bindings: OnceCell<logged_structs::Bindings<'a>>,
    aliases: OnceCell<secret_aliases::Aliases<'a>>,
}

/// The constant values of one function's call arguments that are not literals, set up when first needed.
struct ArgConstants<'x, 'p, 'a> {
    an: &'x Analyzer<'p, 'a>,
    id: FnId,
    state: OnceCell<(Constants<'x, 'p, 'a>, ArgExprs<'a>)>,
}

/// Each call's argument expressions, by the call site's span.
type ArgExprs<'a> = HashMap<(u32, u32), &'a [Expr]>;

impl ArgConstants<'_, '_, '_> {
    /// Sets `value` of the arguments whose constant value is written elsewhere, and records where.
    fn fill(&self, c: &CallSite, call: &mut Call) {
        let mut constants = vec![];
        for (i, a) in c.args.iter().enumerate() {
            if a.lit.is_some() || !may_be_constant(&a.text) {
                continue;
            }
            let (consts, exprs) = self.state.get_or_init(|| {
                let f = self.an.prog.func(self.id);
                (Constants::new(self.an, self.id), arg_exprs(f))
            });
            let Some(e) = exprs
                .get(&(c.span.start, c.span.end))
                .and_then(|a| a.get(i))
            else {
                continue;
            };
            let (whole, (value, at)) = match consts.of(e) {
                Some(v) => (true, v),
                None => match consts.template(e) {
                    Some(v) => (false, v),
                    None => continue,
                },
            };
            if whole {
                call.args[i].value = value.to_json();
            } else {
                call.args[i].template = Some(value.text());
            }
            if let Some((unit, span)) = at {
                let what = if whole { "value" } else { "constant part" };
                constants.push(Evidence {
                    loc: self.an.loc(unit, span),
                    note: format!("the {what} of `{}` comes from here", a.text),
                });
            }
        }
        call.constants = constants.into();
    }
}

/// Whether an argument's text has a shape constant folding can give a value to: a name, a negation, a
/// boolean operator, an `if`, a `format!`/`concat!`, a conversion. Most arguments (fields, calls) have
/// none, and their function's bindings are then never indexed.
fn may_be_constant(text: &str) -> bool {
    let t = text.trim_start_matches(['&', '*', ' ']);
    let is_path = !t.is_empty()
        && t.chars()
            .all(|c| c.is_alphanumeric() || c == '_' || c == ':');
    // Python's `config.SECRET_KEY`: a constant of an imported module.
    let dotted = t.split_once('.').is_some_and(|(m, n)| {
        !m.is_empty()
            && !n.is_empty()
            && t.chars()
                .all(|c| c.is_alphanumeric() || c == '_' || c == '.')
    });
    is_path
        || dotted
        || t.starts_with('!')
        || t.starts_with("if ")
        || t.starts_with("format!")
        // Python f-strings (any prefix case, raw too), lowered to `format!`.
        || ["f\"", "f'", "rf\"", "rf'", "fr\"", "fr'"]
            .iter()
            .any(|p| t.get(..p.len()).is_some_and(|h| h.eq_ignore_ascii_case(p)))
        || t.contains(" * ")
        || t.starts_with("concat!")
        || t.starts_with("String::from(")
        || t.contains("Url::parse(")
        || t.contains(".join(")
        || t.contains(" + ")
        || t.contains("&&")
        || t.contains("||")
        || [
            ".to_string()",
            ".into()",
            ".to_owned()",
            ".as_str()",
            ".clone()",
        ]
        .iter()
        .any(|s| t.ends_with(s))
}

/// The argument expressions of every call of a body, keyed as its call sites are.
fn arg_exprs(f: &FnDef) -> ArgExprs<'_> {
    let mut out: ArgExprs = HashMap::new();
    f.body.walk(&mut |e| match e {
        Expr::Call { args, span, .. } => {
            out.insert((span.start, span.end), args);
        }
        Expr::Method(m) => {
            let s = crate::facts::method_span(m.name_span, m.span);
            out.insert((s.start, s.end), &m.args);
        }
        Expr::Macro(m) => {
            out.insert((m.span.start, m.span.end), &m.args);
        }
        Expr::Assign { value, span, .. } => {
            out.insert((span.start, span.end), std::slice::from_ref(value.as_ref()));
        }
        Expr::Struct { fields, .. } => {
            for (_, value) in fields {
                let s = value.span();
                out.insert((s.start, s.end), std::slice::from_ref(value));
            }
        }
        _ => {}
    });
    out
}

/// `verify_server_cert` of a trait impl that returns `Ok(ServerCertVerified::assertion())` without
/// a branch, a `?` or an early return: it looks at nothing.
fn accepting_verifiers<'a>(prog: &Program<'a>, an: &Analyzer) -> Vec<(&'a str, Evidence)> {
    prog.all_fns()
        .filter_map(|id| {
            let f = prog.func(id);
            if f.name != "verify_server_cert" || f.trait_name.is_none() {
                return None;
            }
            let e = super::always_returns(&f.body)?;
            let text: String = an.text(id.unit, e.span()).split_whitespace().collect();
            let inner = text.strip_prefix("Ok(")?.strip_suffix(')')?;
            if !inner.ends_with("ServerCertVerified::assertion()") {
                return None;
            }
            let ty = f.self_ty.as_deref()?;
            Some((
                ty,
                Evidence {
                    loc: Loc::new(prog.unit(id.unit).file, f.span),
                    note: format!("`{ty}` accepts every certificate"),
                },
            ))
        })
        .collect()
}

/// The verifiers an installing call is given, by their type's name in its arguments.
fn installed(c: &CallSite, verifiers: &[(&str, Evidence)]) -> Vec<Evidence> {
    let named = |text: &str, ty: &str| {
        text.match_indices(ty).any(|(at, _)| {
            let before = text[..at].chars().next_back();
            let after = text[at + ty.len()..].chars().next();
            !before.is_some_and(|c| c.is_alphanumeric() || c == '_')
                && !after.is_some_and(|c| c.is_alphanumeric() || c == '_')
        })
    };
    verifiers
        .iter()
        .filter(|(ty, _)| c.args.iter().any(|a| named(&a.text, ty)))
        .map(|(_, e)| e.clone())
        .collect()
}

/// The arguments as written, with their literal value and what flows into them.
fn call_args(c: &CallSite, flow: &CallFlow) -> Vec<CallArg> {
    c.args
        .iter()
        .enumerate()
        .map(|(i, a)| CallArg {
            flow: Labels(flow.args.get(i).copied().unwrap_or(0)),
            text: a.text.clone(),
            keyword: a.keyword,
            template: None,
            value: match &a.lit {
                Some(Lit::Str(s)) => serde_json::Value::String(s.clone()),
                Some(Lit::Int(i)) => serde_json::Value::from(*i),
                Some(Lit::Bool(b)) => serde_json::Value::Bool(*b),
                Some(Lit::Float(x)) => serde_json::Number::from_f64(*x)
                    .map(serde_json::Value::Number)
                    .unwrap_or_default(),
                Some(Lit::Bytes(b)) => {
                    serde_json::Value::String(String::from_utf8_lossy(b).into_owned())
                }
                _ => serde_json::Value::Null,
            },
        })
        .collect()
}

/// The (shortened) statement a call is in and, when it is `let x = …`, the methods later called on `x`.
fn statement_of(fc: &mut FnCalls, span: Span) -> (Arc<str>, Vec<String>) {
    let Some((stmt, binding)) = innermost(&fc.stmts, span) else {
        return (Arc::from(""), vec![]);
    };
    let text = match &fc.statement {
        Some((s, t)) if *s == stmt => t.clone(),
        _ => {
            let t: Arc<str> = Arc::from(shorten(
                fc.text
                    .get(stmt.start as usize..stmt.end as usize)
                    .unwrap_or(""),
            ));
            fc.statement = Some((stmt, t.clone()));
            t
        }
    };
    let then_called = binding
        .map(|b| {
            fc.f.calls
                .iter()
                .filter(|m| {
                    m.kind == CallKind::Method
                        && m.span.start > stmt.end
                        && m.recv.as_deref().map(bare_binding) == Some(b)
                })
                .map(|m| m.name.to_string())
                .collect()
        })
        .unwrap_or_default();
    (text, then_called)
}

/// Every method call of a body by its receiver's span. Closures are functions of their own.
fn called_on(f: &FnDef) -> HashMap<(u32, u32), (&str, Span)> {
    let mut out = HashMap::new();
    f.body.walk(&mut |e| {
        if let Expr::Method(m) = e {
            let r = m.recv.span();
            out.insert((r.start, r.end), (m.name.as_str(), m.span));
        }
    });
    out
}

/// The methods called one after the other on a call's result.
fn chained(fc: &FnCalls, span: Span) -> Vec<String> {
    let mut out = vec![];
    let mut at = span;
    while let Some(&(name, outer)) = fc.called_on.get(&(at.start, at.end)) {
        // Spans grow outwards; a bound keeps a malformed tree from looping.
        if out.len() > 64 || outer.end - outer.start <= at.end - at.start {
            break;
        }
        out.push(name.to_string());
        at = outer;
    }
    out
}

/// Methods called on the same plain binding earlier in the function, with their arguments as written:
/// `set_secure(true)` and `set_secure(cfg.x)` differ.
fn called_before(f: &FnDef, c: &CallSite) -> Vec<String> {
    let recv = c.recv.as_deref().map(bare_binding);
    match (c.kind, recv) {
        (CallKind::Method, Some(r)) if !r.is_empty() => f
            .calls
            .iter()
            .filter(|m| {
                m.kind == CallKind::Method
                    && m.span.end <= c.span.start
                    && m.recv.as_deref().map(bare_binding) == Some(r)
            })
            .map(|m| {
                let args: Vec<&str> = m.args.iter().map(|a| &*a.text).collect();
                format!("{}({})", m.name, args.join(", "))
            })
            .collect(),
        _ => vec![],
    }
}

/// A receiver that is a plain binding (`cookie`, `&mut cookie`), or "" for anything else.
fn bare_binding(recv: &str) -> &str {
    let r = recv
        .trim_start_matches('&')
        .trim_start_matches("mut ")
        .trim();
    if r.chars().all(|c| c.is_alphanumeric() || c == '_') {
        r
    } else {
        ""
    }
}

/// The arms of every `if` and `match` on a setting (`if cfg.insecure_upstream`, `match
/// args.tls_mode`): code there runs only when an operator asks for it. A branch on anything else (a
/// request value, an `if let`) is ordinary control flow.
fn branch_spans(body: &crate::facts::Block, text: &str) -> Vec<std::ops::Range<u32>> {
    use crate::facts::Expr;
    let on_setting = |cond: &Expr| {
        let s = cond.span();
        let t = text
            .get(s.start as usize..s.end as usize)
            .unwrap_or("")
            .to_ascii_lowercase();
        !matches!(cond, Expr::Lit { .. } | Expr::LetCond { .. })
            && SETTING_WORDS.iter().any(|w| t.contains(w))
    };
    let mut out = vec![];
    body.walk(&mut |e| match e {
        Expr::If { cond, span, .. } if on_setting(cond) => {
            out.push(cond.span().end..span.end);
        }
        Expr::Match {
            scrutinee, span, ..
        } if on_setting(scrutinee) => {
            out.push(scrutinee.span().end..span.end);
        }
        _ => {}
    });
    out
}

/// In a Python module's top level, the values of constants that the module's functions read only under
/// a setting (`_insecure = AsyncHTTPTransport(verify=False)`, read as `secure if self.verify else
/// _insecure`): what they hold is switched on by configuration, as a call inside `if cfg.insecure:` is.
fn chosen_by_setting(prog: &Program, id: FnId, text: &str) -> Vec<Range<u32>> {
    use crate::facts::Stmt;
    let f = prog.func(id);
    if &*f.name != crate::frontend::python::MODULE_FN {
        return vec![];
    }
    let mut consts: HashMap<Name, (Range<u32>, usize, usize)> = f
        .body
        .stmts
        .iter()
        .filter_map(|s| match s {
            Stmt::Let(l) => match (l.pat.bindings.as_slice(), l.init.as_ref()) {
                ([name], Some(init @ Expr::Call { .. })) => {
                    let sp = init.span();
                    Some((*name, (sp.start..sp.end, 0, 0)))
                }
                _ => None,
            },
            _ => None,
        })
        .collect();
    if consts.is_empty() {
        return vec![];
    }
    // The module's own top level reads it too (`CLIENT = Client(transport=_insecure)`).
    for g in prog.unit(id.unit).facts.fns.iter() {
        if g.module != f.module {
            continue;
        }
        let branches = branch_spans(&g.body, text);
        g.body.walk(&mut |e| {
            if let Expr::Path { segs, span, .. } = e {
                if let [name] = &**segs {
                    if let Some((_, reads, chosen)) = consts.get_mut(name) {
                        *reads += 1;
                        if branches
                            .iter()
                            .any(|b| b.start <= span.start && span.end <= b.end)
                        {
                            *chosen += 1;
                        }
                    }
                }
            }
        });
    }
    consts.retain(|_, (_, reads, chosen)| *reads > 0 && reads == chosen);
    // Another module that imports the constant uses it as it likes (looked for only when a constant
    // is left: the scan reads every import of the program).
    if !consts.is_empty() {
        for unit in prog.units.iter() {
            for import in &unit.facts.uses {
                if import.module == f.module {
                    continue;
                }
                let path = match import.path.split_first() {
                    Some((first, rest)) if first == "crate" => rest,
                    _ => &import.path[..],
                };
                if path == f.module.as_slice() {
                    // `from pkg import notify` then `notify._insecure`; `from pkg.notify import *`.
                    if import.alias == "*" {
                        consts.clear();
                    } else {
                        consts.retain(|name, _| !reads_attr(unit, import.alias, *name));
                    }
                } else if let Some((name, module)) = path.split_last() {
                    if module == f.module.as_slice() {
                        consts.remove(name);
                    }
                }
            }
        }
    }
    consts.into_values().map(|(range, _, _)| range).collect()
}

/// Whether a function of the unit reads `module.name`.
fn reads_attr(unit: &crate::model::program::Unit, module: Name, name: Name) -> bool {
    unit.facts.fns.iter().any(|g| {
        let mut hit = false;
        g.body.walk(&mut |e| {
            if let Expr::Field { base, name: n, .. } = e {
                hit |= *n == name && base.as_ident() == Some(module.as_str());
            }
        });
        hit
    })
}

/// Words that mark a condition as a setting: configuration, options, command-line arguments, the
/// environment, and the flags that switch checks off.
const SETTING_WORDS: &[&str] = &[
    "config",
    "cfg",
    "setting",
    "opts",
    "option",
    "args",
    "env",
    "flag",
    "insecure",
    "danger",
    "verify",
    "verification",
    "skip_",
    "accept_invalid",
    "disable",
    "enable",
    "allow_",
    "dev_mode",
    "staging",
    "production",
    "debug",
];

const STARTUP_ENDS: &[&str] = &["bind_rustls", "await_shutdown"];

/// Where the start-up part of `main` ends: its first serve call, or the end of the body when it serves
/// nothing itself (it dispatches subcommands, or hands over to a function that serves).
fn startup_end(f: &crate::facts::FnDef) -> Option<u32> {
    if f.name != "main" || f.is_closure || f.self_ty.is_some() {
        return None;
    }
    Some(
        f.calls
            .iter()
            .filter(|c| {
                SERVE_CALLS.contains(&c.name.as_str()) || STARTUP_ENDS.contains(&c.name.as_str())
            })
            .map(|c| c.span.start)
            .min()
            .unwrap_or(u32::MAX),
    )
}

/// Every statement of a body, nested blocks included: its span and, for `let x = …`, the binding.
fn statements(b: &crate::facts::Block) -> Vec<(crate::source::Span, Option<&str>)> {
    use crate::facts::Stmt;
    let mut out = vec![];
    let mut stack = vec![b];
    while let Some(b) = stack.pop() {
        for s in &b.stmts {
            match s {
                Stmt::Let(l) => {
                    let crate::facts::Let {
                        pat, span, init, ..
                    } = &**l;
                    out.push((*span, pat.bindings.first().map(|s| s.as_str())));
                    if let Some(init) = init {
                        nested_blocks(init, &mut stack);
                    }
                }
                Stmt::Expr { expr, .. } => {
                    out.push((expr.span(), None));
                    nested_blocks(expr, &mut stack);
                }
            }
        }
    }
    out
}

/// The blocks directly inside a statement's expression: bodies of blocks and loops, both arms of an
/// `if` (and its `else if` chain), every arm of a `match`.
fn nested_blocks<'b>(expr: &'b crate::facts::Expr, stack: &mut Vec<&'b crate::facts::Block>) {
    use crate::facts::Expr;
    match expr {
        Expr::Block { block, .. } | Expr::Loop { body: block, .. } => stack.push(block),
        Expr::If { then, els, .. } => {
            stack.push(then);
            if let Some(e) = els {
                nested_blocks(e, stack);
            }
        }
        Expr::Match { arms, .. } => {
            for a in arms {
                nested_blocks(a, stack);
            }
        }
        _ => {}
    }
}

/// The smallest statement containing `span`.
fn innermost<'s>(
    stmts: &[(crate::source::Span, Option<&'s str>)],
    span: crate::source::Span,
) -> Option<(crate::source::Span, Option<&'s str>)> {
    stmts
        .iter()
        .filter(|(s, _)| s.start <= span.start && span.end <= s.end)
        .min_by_key(|(s, _)| s.end - s.start)
        .copied()
}

fn shorten(text: &str) -> String {
    const MAX: usize = 400;
    if text.len() <= MAX {
        return text.to_string();
    }
    let mut end = MAX;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end])
}
