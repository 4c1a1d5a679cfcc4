//! The FastAPI adapter: evaluates the module code of a Python project (imports, assignments, the
//! app factory functions it calls, decorators applied) to find its apps and routers, their routes with
//! full paths, the dependencies and middleware around each route, and where uvicorn serves them. It
//! hands the framework-neutral model the same routers and served apps the Rust adapters do.
//!
//! Python's module semantics differ from the Rust evaluator's enough to deserve their own small
//! interpreter: modules are evaluated once, on first import, top to bottom; apps and routers are
//! mutated in place (`app.include_router(..)` returns nothing); `include_router` copies the routes a
//! router has at that moment.

mod calls;
mod deps;
mod inputs;
mod launches;
mod values;

use super::eval::ServeEvent;
use super::program::{Ctx, FnId, Program};
use super::value::RouterVal;
use crate::facts::{Block, Expr, Lit, Name, Stmt};
use crate::frontend::python::MODULE_FN;
use crate::source::{Loc, Span};
use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;
use values::{Py, Routes};

/// Calls into the project's functions are followed this deep.
const MAX_CALL_DEPTH: usize = 8;
/// Re-exports followed in a chain at most (`a` takes `x` from `b`, which takes it from `c` ..).
const MAX_REEXPORTS: usize = 32;
/// Statements evaluated per package at most: pathological code must not stall a run.
const STEP_BUDGET: usize = 200_000;

/// The apps of a Python package: those served by `uvicorn.run`, and the others.
#[derive(Default)]
pub struct Apps {
    pub serves: Vec<ServeEvent>,
    pub unserved: Vec<Rc<RouterVal>>,
    /// Each route function's request inputs, by parameter index.
    pub inputs: HashMap<FnId, Vec<(usize, super::inputs::InputClass)>>,
}

/// Finds the FastAPI apps of the program's Python modules.
pub fn apps<'p, 'a>(
    prog: &'p Program<'a>,
    an: &'p super::analysis::Analyzer<'p, 'a>,
    launches: &[super::Launch],
) -> Apps {
    let modules: HashMap<Vec<Name>, FnId> = prog
        .all_fns()
        .filter(|id| prog.func(*id).name == MODULE_FN)
        .map(|id| (prog.func(id).module.clone(), id))
        .collect();
    if modules.is_empty() {
        return Apps::default();
    }
    let mut order: Vec<(&Vec<Name>, &FnId)> = modules.iter().collect();
    order.sort();
    let mut it = Interp {
        prog,
        an,
        modules: &modules,
        envs: HashMap::new(),
        apps: vec![],
        serves: vec![],
        mounted: vec![],
        inputs: HashMap::new(),
        factory_apps: HashMap::new(),
        resolving: Default::default(),
        depth: 0,
        steps: 0,
    };
    for (m, _) in order {
        it.module_env(m);
    }
    it.serve_launches(launches);
    it.named_targets();
    let merged = launches::merge_serves(std::mem::take(&mut it.serves));
    it.serves = merged;
    let served: Vec<*const RefCell<Routes>> = it
        .serves
        .iter()
        .map(|s| &s.app)
        .chain(&it.mounted)
        .map(Rc::as_ptr)
        .collect();
    // Served as the app is when every module has run.
    let serves = it
        .serves
        .iter()
        .map(|s| ServeEvent {
            app: launches::served_app(&s.app, s.access_log.as_ref()),
            ..s.event.clone()
        })
        .collect();
    // An app nothing serves (run by `uvicorn app.main:app` on the command line) is still the app.
    // A factory named as a server's target and also called at module level (`app = create_app()` for
    // another way of starting it) builds two apps where one process serves one: the served one stands
    // for both. (Apps a shared helper builds with different arguments are told apart by being served.)
    let served_at: Vec<Loc> = it
        .factory_apps
        .values()
        .flatten()
        .filter(|a| served.contains(&Rc::as_ptr(a)))
        .map(|a| a.borrow().loc)
        .collect();
    let unserved = it
        .apps
        .iter()
        .filter(|a| !served.contains(&Rc::as_ptr(a)) && !served_at.contains(&a.borrow().loc))
        .map(|a| a.borrow().snapshot())
        .filter(|r| r.has_routes())
        .collect();
    Apps {
        serves,
        unserved,
        inputs: it.inputs,
    }
}

type Env = Rc<RefCell<HashMap<Name, Py>>>;

pub(super) struct Interp<'p, 'a> {
    prog: &'p Program<'a>,
    an: &'p super::analysis::Analyzer<'p, 'a>,
    modules: &'p HashMap<Vec<Name>, FnId>,
    /// Each module's globals, filled as its code runs (a module being imported is partly filled).
    envs: HashMap<Vec<Name>, Env>,
    /// Every app created, in creation order.
    apps: Vec<Rc<RefCell<Routes>>>,
    serves: Vec<Serve>,
    /// Apps mounted into another: served with it, not on their own.
    mounted: Vec<Rc<RefCell<Routes>>>,
    inputs: HashMap<FnId, Vec<(usize, super::inputs::InputClass)>>,
    /// The app each factory named as a server's target built.
    factory_apps: HashMap<FnId, Option<Rc<RefCell<Routes>>>>,
    /// The (module, name) lookups under way, which a re-export cycle would repeat.
    resolving: std::collections::HashSet<(Vec<Name>, Name)>,
    depth: usize,
    steps: usize,
}

/// An app served, where, and the server's access log (when it writes one).
struct Serve {
    app: Rc<RefCell<Routes>>,
    event: ServeEvent,
    access_log: Option<super::value::LayerVal>,
}

/// A layer whose capability the adapter worked out, with the reason shown in labels.
fn preset_layer(m: super::Middleware, note: String) -> super::value::LayerVal {
    super::value::LayerVal {
        name: m.name.clone(),
        names: vec![m.name.clone()],
        arg_texts: vec![],
        arg_values: vec![],
        loc: m.loc,
        fn_id: None,
        extractor: None,
        preset: Some(Box::new((m, note))),
    }
}

/// Where a statement runs: its function's unit and module, its locals, its module's globals.
struct Frame {
    ctx: Ctx,
    locals: Env,
    globals: Env,
    returned: Option<Py>,
}

impl Interp<'_, '_> {
    fn module_env(&mut self, module: &[Name]) -> Option<Env> {
        if let Some(env) = self.envs.get(module) {
            return Some(env.clone());
        }
        let id = *self.modules.get(module)?;
        // Importing `a.b.c` runs the packages `a` and `a.b` first: an `__init__.py` that imports the
        // package's route modules registers their routes before anything of `a.b.c` is used.
        for end in 1..module.len() {
            if self.modules.contains_key(&module[..end]) && !self.envs.contains_key(&module[..end])
            {
                self.module_env(&module[..end]);
            }
        }
        // A package's `__init__.py` may have imported this module already.
        if let Some(env) = self.envs.get(module) {
            return Some(env.clone());
        }
        let env: Env = Rc::default();
        self.envs.insert(module.to_vec(), env.clone());
        let mut frame = Frame {
            ctx: self.prog.ctx_of(id),
            locals: env.clone(),
            globals: env.clone(),
            returned: None,
        };
        // The project modules it imports run when the import is reached, as in Python: an import at
        // the bottom (`from app import views` after `app = FastAPI()`) sees the module filled above it.
        // One inside a statement (`try:`/`if ..:` at the top level) runs before that statement.
        let imports = self.eager_imports(id);
        let mut due = imports.iter().peekable();
        for stmt in self.prog.func(id).body.stmts.iter() {
            let end = stmt_end(stmt);
            while let Some((_, m)) = due.next_if(|(at, _)| *at < end) {
                self.run_import(m);
            }
            if !self.stmt(&mut frame, stmt) {
                break;
            }
        }
        for (_, m) in due {
            self.run_import(m);
        }
        Some(env)
    }

    /// The project modules a module imports at its top level, with where each import is written (the
    /// module itself for `from pkg import module`, else the module a name is taken from).
    fn eager_imports(&self, module_fn: FnId) -> Vec<(u32, Vec<Name>)> {
        let func = self.prog.func(module_fn);
        let mut out: Vec<(u32, Vec<Name>)> = self
            .prog
            .unit(module_fn.unit)
            .facts
            .uses
            .iter()
            .filter(|u| u.eager && u.module == func.module)
            .filter_map(|u| {
                let rest = self.project_path(&u.path)?;
                if self.modules.contains_key(rest) {
                    Some((u.at, rest.to_vec()))
                } else {
                    let (_, parent) = rest.split_last()?;
                    self.modules
                        .contains_key(parent)
                        .then(|| (u.at, parent.to_vec()))
                }
            })
            .collect();
        out.sort_by_key(|(at, _)| *at);
        out
    }

    fn run_import(&mut self, module: &[Name]) {
        if self.depth > MAX_CALL_DEPTH {
            return;
        }
        self.depth += 1;
        self.module_env(module);
        self.depth -= 1;
    }

    fn loc(&self, f: &Frame, span: Span) -> Loc {
        Loc::new(self.prog.unit(f.ctx.unit).file, span)
    }

    fn block(&mut self, f: &mut Frame, b: &Block) {
        for s in b.stmts.iter() {
            if !self.stmt(f, s) {
                return;
            }
        }
    }

    /// Runs one statement; false when the frame is done (it returned, or the step budget ran out).
    fn stmt(&mut self, f: &mut Frame, s: &Stmt) -> bool {
        if f.returned.is_some() {
            return false;
        }
        self.steps += 1;
        if self.steps > STEP_BUDGET {
            return false;
        }
        match s {
            Stmt::Let(l) => {
                let Some(init) = &l.init else { return true };
                let v = self.eval(f, init);
                match l.pat.bindings.as_slice() {
                    [one] => {
                        f.locals.borrow_mut().insert(*one, v);
                    }
                    many => {
                        for n in many {
                            f.locals.borrow_mut().insert(*n, Py::Unknown);
                        }
                    }
                }
            }
            Stmt::Expr { expr, .. } => self.stmt_expr(f, expr),
        }
        true
    }

    fn stmt_expr(&mut self, f: &mut Frame, e: &Expr) {
        match e {
            Expr::Return { value, .. } => {
                let v = value.as_ref().map_or(Py::None, |v| self.eval(f, v));
                f.returned = Some(v);
            }
            // Both ways of a condition may run (`if settings.DEBUG: app.include_router(debug)`);
            // `if __name__ == "__main__":` runs when the module is the program.
            Expr::If {
                cond, then, els, ..
            } => {
                self.eval(f, cond);
                self.block(f, then);
                if let Some(e) = els {
                    self.stmt_expr(f, e);
                }
            }
            Expr::Block { block, .. } => self.block(f, block),
            Expr::Loop {
                pat, head, body, ..
            } => {
                // `for r in (users.router, items.router): app.include_router(r)`.
                let items = match head.as_deref().map(|h| self.eval(f, h)) {
                    Some(Py::List(items)) => items,
                    _ => vec![Py::Unknown],
                };
                for item in items {
                    if let Some([one]) = pat.as_ref().map(|p| p.bindings.as_slice()) {
                        f.locals.borrow_mut().insert(*one, item);
                    }
                    self.block(f, body);
                }
            }
            Expr::Match { arms, .. } => arms.iter().for_each(|a| self.stmt_expr(f, a)),
            other => {
                self.eval(f, other);
            }
        }
    }

    fn lookup(&mut self, f: &Frame, name: Name) -> Py {
        if let Some(v) = f.locals.borrow().get(&name) {
            return v.clone();
        }
        if let Some(v) = f.globals.borrow().get(&name) {
            return v.clone();
        }
        if let Some(u) = self
            .prog
            .unit(f.ctx.unit)
            .facts
            .uses
            .iter()
            .rev()
            .find(|u| u.alias == name && u.module == f.ctx.module)
        {
            let path = u.path.clone();
            return self.import(&path);
        }
        // The module's own functions come before what a `from x import *` brings in.
        let own = self.prog.resolve_fn(&f.ctx, &[name]);
        if let Some(id) = own.filter(|id| self.prog.func(*id).module == f.ctx.module) {
            return Py::Func(id, vec![]);
        }
        if let Some(v) = self.star_imported(f, name) {
            return v;
        }
        match own {
            Some(id) => Py::Func(id, vec![]),
            None => Py::Ext(vec![name]),
        }
    }

    /// A name a `from app.models import *` of the module brings in, when that module is the project's.
    fn star_imported(&mut self, f: &Frame, name: Name) -> Option<Py> {
        if self.depth > MAX_CALL_DEPTH {
            return None;
        }
        let stars: Vec<Vec<Name>> = self
            .prog
            .unit(f.ctx.unit)
            .facts
            .uses
            .iter()
            .filter(|u| u.alias == "*" && u.module == f.ctx.module)
            .map(|u| {
                u.path
                    .iter()
                    .skip_while(|s| **s == "crate")
                    .copied()
                    .collect()
            })
            .collect();
        for module in stars.iter().rev() {
            if !self.modules.contains_key(module) {
                continue;
            }
            // Two modules that import each other with `*` must not chase each other forever.
            self.depth += 1;
            let v = self.attr_of_module(module, name);
            self.depth -= 1;
            match v {
                Py::Unknown => {}
                Py::Ext(p) if p.len() == 1 => {}
                v => return Some(v),
            }
        }
        None
    }

    /// What an import path names: a module of the project, a global of one, or an external name.
    /// An import's path inside the project (`crate::app::routers` as `app.routers`), or `None` for
    /// another package's. `from routers import items` in a `main.py` beside `routers/` is an absolute
    /// import of one of the project's top-level modules.
    fn project_path<'n>(&self, path: &'n [Name]) -> Option<&'n [Name]> {
        match path.strip_prefix(&[Name::new("crate")]) {
            Some(rest) => Some(rest),
            None if self.modules.keys().any(|m| m.first() == path.first()) => Some(path),
            None => None,
        }
    }

    fn import(&mut self, path: &[Name]) -> Py {
        let Some(rest) = self.project_path(path) else {
            return Py::Ext(path.to_vec());
        };
        if self.modules.contains_key(rest) {
            return Py::Module(rest.to_vec());
        }
        match rest.split_last() {
            Some((name, module)) => self.attr_of_module(module, *name),
            None => Py::Unknown,
        }
    }

    fn attr_of_module(&mut self, module: &[Name], name: Name) -> Py {
        let mut sub = module.to_vec();
        sub.push(name);
        if self.modules.contains_key(&sub) {
            return Py::Module(sub);
        }
        if self.depth > MAX_CALL_DEPTH {
            return Py::Unknown;
        }
        self.depth += 1;
        let env = self.module_env(module);
        self.depth -= 1;
        let Some(env) = env else {
            return Py::Unknown;
        };
        if let Some(v) = env.borrow().get(&name) {
            return v.clone();
        }
        // A function of the module, or a name it imported (`__init__.py` re-exports).
        let Some(&mid) = self.modules.get(module) else {
            return Py::Unknown;
        };
        let ctx = self.prog.ctx_of(mid);
        let frame = Frame {
            ctx,
            locals: Rc::default(),
            globals: env,
            returned: None,
        };
        // Re-exports can go round (`a/__init__.py` importing a name from `a.b`, which imports it
        // from `a`): a name already being looked up in a module is not found there a second time.
        let key = (module.to_vec(), name);
        if self.resolving.len() >= MAX_REEXPORTS || !self.resolving.insert(key.clone()) {
            return Py::Unknown;
        }
        let v = self.lookup(&frame, name);
        self.resolving.remove(&key);
        v
    }

    /// Apps the project names as a server's target in a command line it builds (`[sys.executable, "-m",
    /// "uvicorn", "--factory", "app.server:create_app", ..]` handed to a subprocess): the factory runs,
    /// and its app is the service's, unserved (where it listens is not known). Only a `module:attr`
    /// string in the same list or call as the server's name counts.
    fn named_targets(&mut self) {
        let mut targets: Vec<String> = vec![];
        for id in self.prog.all_fns() {
            let func = self.prog.func(id);
            if !self.modules.contains_key(&func.module) {
                continue;
            }
            func.body.walk(&mut |e| {
                let items = match e {
                    Expr::Array { items, .. } => items.as_slice(),
                    Expr::Call { args, .. } => args.as_slice(),
                    _ => return,
                };
                let strs = || {
                    items.iter().filter_map(|i| match i {
                        Expr::Lit {
                            lit: Lit::Str(s), ..
                        } => Some(s),
                        _ => None,
                    })
                };
                if !strs().any(|s| SERVER_WORDS.contains(&s.as_str())) {
                    return;
                }
                for s in strs() {
                    if is_server_target(s) && !targets.contains(s) {
                        targets.push(s.clone());
                    }
                }
            });
        }
        for t in targets {
            self.launched_app(&t);
        }
    }

    /// The app a server's `module:attr` target names: an app of the module, or what an app factory
    /// of it returns (`uvicorn.run("app.api:create_app", factory=True)`, `uvicorn --factory ..`).
    /// A factory runs once, however many times it is named: one app, as one server process builds.
    fn served_target(&mut self, module: &[Name], attr: Name) -> Option<Rc<RefCell<Routes>>> {
        match self.attr_of_module(module, attr) {
            Py::Routes(r) => Some(r),
            Py::Func(id, _) => {
                if let Some(app) = self.factory_apps.get(&id) {
                    return app.clone();
                }
                let app = match self.call_fn(id, &calls::Args::default()) {
                    Py::Routes(r) => Some(r),
                    _ => None,
                };
                self.factory_apps.insert(id, app.clone());
                app
            }
            _ => None,
        }
    }

    fn eval(&mut self, f: &mut Frame, e: &Expr) -> Py {
        self.steps += 1;
        if self.steps > STEP_BUDGET {
            return Py::Unknown;
        }
        match e {
            Expr::Lit { lit, span } => match lit {
                Lit::Str(s) => Py::Str(s.clone(), self.loc(f, *span)),
                Lit::Int(i) => Py::Int(*i),
                Lit::Bool(b) => Py::Bool(*b),
                _ => Py::Unknown,
            },
            Expr::Path { segs, .. } => {
                let mut v = match segs.first() {
                    Some(n) if *n == "None" && segs.len() == 1 => return Py::None,
                    Some(n) => self.lookup(f, *n),
                    None => return Py::Unknown,
                };
                for s in &segs[1..] {
                    v = self.attr(v, *s);
                }
                v
            }
            Expr::Field { base, name, .. } => {
                let b = self.eval(f, base);
                self.attr(b, *name)
            }
            Expr::Array { items, .. } | Expr::Tuple { items, .. } => {
                Py::List(items.iter().map(|i| self.eval(f, i)).collect())
            }
            Expr::Call { func, args, span } => {
                let callee = self.eval(f, func);
                let loc = self.loc(f, *span);
                let args = self.args(f, args);
                self.call(callee, args, loc)
            }
            Expr::Method(m) => {
                let recv = self.eval(f, &m.recv);
                let loc = self.loc(f, m.span);
                let args = self.args(f, &m.args);
                self.method(recv, m.name, args, loc)
            }
            // `Annotated[User, Depends(current_user)]` as a value (a type alias) is its dependency.
            Expr::Index { base, index, .. } => {
                let b = self.eval(f, base);
                let i = self.eval(f, index);
                match (b, i) {
                    (Py::Ext(p), Py::List(items)) if p.last().is_some_and(|n| n == "Annotated") => {
                        items
                            .into_iter()
                            .find(|x| matches!(x, Py::Dep(..)))
                            .unwrap_or(Py::Unknown)
                    }
                    _ => Py::Unknown,
                }
            }
            Expr::Keyword { value, .. } => self.eval(f, value),
            // A method of a class, named where its decorators are applied.
            Expr::Closure { fn_index, .. } => Py::Func(
                FnId {
                    unit: f.ctx.unit,
                    idx: *fn_index,
                },
                vec![],
            ),
            // `a if flag else b`, with the flag known (a parameter's default).
            Expr::If {
                cond, then, els, ..
            } => {
                let pick = match self.eval(f, cond) {
                    Py::Bool(b) => b,
                    _ => return Py::Unknown,
                };
                match (pick, then.tail(), els) {
                    (true, Some(t), _) => self.eval(f, t),
                    (false, _, Some(e)) => self.eval(f, e),
                    _ => Py::Unknown,
                }
            }
            Expr::Binary { op, lhs, rhs, .. } if *op == "+" => {
                match (self.eval(f, lhs), self.eval(f, rhs)) {
                    (Py::Str(a, l), Py::Str(b, _)) => Py::Str(a + &b, l),
                    _ => Py::Unknown,
                }
            }
            _ => Py::Unknown,
        }
    }

    fn attr(&mut self, v: Py, name: Name) -> Py {
        match v {
            Py::Module(m) => self.attr_of_module(&m, name),
            Py::Ext(mut p) => {
                p.push(name);
                Py::Ext(p)
            }
            Py::Obj(o) => match (o.kwarg(&name), &o.path[..]) {
                (Some(v), _) => v.clone(),
                (None, [class]) if o.method.is_none() => self.class_attr(*class, name),
                _ => Py::Unknown,
            },
            _ => Py::Unknown,
        }
    }

    /// A class attribute's default (`API_V1_STR: str = "/api/v1"` of a pydantic `Settings`), when
    /// it is a literal: the value an instance built without that argument holds.
    fn class_attr(&mut self, class: Name, name: Name) -> Py {
        let ctx = self.prog.ctx_of_unit(0);
        for (_, def) in self.class_chain(&ctx, class) {
            let Some((_, t)) = def else { continue };
            let Some(field) = t.fields.iter().find(|f| f.name == name) else {
                continue;
            };
            return match field.default.as_deref() {
                Some(Expr::Lit {
                    lit: Lit::Str(s),
                    span,
                }) => {
                    let unit = def.map_or(0, |(u, _)| u);
                    Py::Str(s.clone(), Loc::new(self.prog.unit(unit).file, *span))
                }
                _ => Py::Unknown,
            };
        }
        Py::Unknown
    }

    fn args(&mut self, f: &mut Frame, args: &[Expr]) -> calls::Args {
        let mut out = calls::Args::default();
        for a in args {
            match a {
                Expr::Keyword { name, value, span } => {
                    let v = self.eval(f, value);
                    out.kwargs.push((*name, v, self.loc(f, *span)));
                }
                other => {
                    let v = self.eval(f, other);
                    out.positional.push((v, self.loc(f, other.span())));
                }
            }
        }
        out
    }

    /// Runs a function of the project with the arguments given (an app factory, a router builder).
    fn call_fn(&mut self, id: FnId, args: &calls::Args) -> Py {
        if self.depth >= MAX_CALL_DEPTH {
            return Py::Unknown;
        }
        let Some(mut frame) = self.bind(id, args) else {
            return Py::Unknown;
        };
        self.depth += 1;
        self.block(&mut frame, &self.prog.func(id).body);
        self.depth -= 1;
        frame.returned.unwrap_or(Py::None)
    }

    /// A frame for a function's body, its parameters bound to the arguments (or their defaults).
    fn bind(&mut self, id: FnId, args: &calls::Args) -> Option<Frame> {
        let func = self.prog.func(id);
        let globals = self.module_env(&func.module)?;
        let mut frame = Frame {
            ctx: self.prog.ctx_of(id),
            locals: Rc::default(),
            globals,
            returned: None,
        };
        // A method's `self` is not among the arguments written at the call.
        let skip = usize::from(
            func.self_ty.is_some()
                && func
                    .params
                    .first()
                    .is_some_and(|p| p.pat.text == "self" || p.pat.text == "cls"),
        );
        for (i, p) in func.params.iter().enumerate() {
            let Some(name) = p.pat.bindings.first() else {
                continue;
            };
            let given = args
                .kwargs
                .iter()
                .find(|(k, _, _)| k == name)
                .map(|(_, v, _)| v.clone())
                .or_else(|| {
                    i.checked_sub(skip)
                        .and_then(|i| args.positional.get(i))
                        .map(|(v, _)| v.clone())
                });
            let v = match (given, &p.default) {
                (Some(v), _) => v,
                (None, Some(d)) => self.eval(&mut frame, d),
                (None, None) => Py::Unknown,
            };
            frame.locals.borrow_mut().insert(*name, v);
        }
        Some(frame)
    }
}

/// A class of a chain of base classes, with its definition when the project has it.
type ClassLink<'a> = (Name, Option<(u32, &'a crate::facts::TypeDef)>);

impl<'a> Interp<'_, 'a> {
    /// A class and its base classes, nearest first (a few levels at most): each by name, with its
    /// definition when the project has it (`APIRouter` or `HTTPBearer` at the end have none).
    fn class_chain(&self, ctx: &Ctx, class: Name) -> Vec<ClassLink<'a>> {
        let mut out: Vec<ClassLink<'a>> = vec![];
        let mut i = 0;
        let mut names = vec![class];
        while i < names.len() && i < 8 {
            let name = names[i];
            let def = self.prog.resolve_type(ctx, &name);
            if let Some((_, t)) = def {
                names.extend(
                    t.derives
                        .iter()
                        .map(|d| Name::new(d.rsplit('.').next().unwrap_or(""))),
                );
            }
            out.push((name, def));
            i += 1;
        }
        out
    }

    /// The method `name` of a class of the project, defined on the class itself.
    fn method_of(&self, class: Name, name: &str) -> Option<FnId> {
        self.prog
            .methods_named(name)
            .into_iter()
            .find(|id| self.prog.func(*id).self_ty == Some(class))
    }
}

/// The words of a command line that starts an ASGI server.
const SERVER_WORDS: &[&str] = &["uvicorn", "gunicorn", "hypercorn", "--factory"];

/// `package.module:attr`: how uvicorn, gunicorn and hypercorn name the app they serve (a dotted module,
/// so that `HOST:PORT`-like words and `key:value` strings of one word are left alone).
fn is_server_target(s: &str) -> bool {
    s.split_once(':').is_some_and(|(module, attr)| {
        module.contains('.') && !attr.contains('(') && super::launch::looks_like_app(s)
    })
}

fn stmt_end(s: &Stmt) -> u32 {
    match s {
        Stmt::Let(l) => l.span.end,
        Stmt::Expr { expr, .. } => expr.span().end,
    }
}
