//! One package's facts, indexed for name resolution across its files and modules.

use crate::discover::Crate;
use crate::facts::{ConstDef, FileFacts, FnDef, ImplDef, Name, TypeDef, UseDef};
use std::collections::HashMap;
use std::sync::Arc;

/// One analysed Rust file of a package.
pub struct Unit {
    pub file: u32,
    /// Its crate among the program's `crates`.
    pub krate: u32,
    pub target: String,
    pub module: Vec<Name>,
    /// Shared with the language server's memo of the unit's facts, which outlives the unit.
    pub facts: Arc<FileFacts>,
    pub text: Arc<str>,
    /// `rust` or `python`: which front end wrote the facts.
    pub language: &'static str,
}

/// One source file as a crate's only unit (`demo`), for tests of the analyses.
#[cfg(test)]
pub(crate) fn one_file(src: &str) -> ([Unit; 1], [crate::discover::Crate; 1]) {
    let facts = crate::facts::extract(src, vec![]).unwrap();
    let unit = Unit {
        file: 0,
        krate: 0,
        target: "lib".into(),
        module: vec![],
        facts: facts.into(),
        text: src.into(),
        language: "rust",
    };
    (
        [unit],
        [crate::discover::Crate::named(
            "demo",
            std::path::Path::new("."),
        )],
    )
}

fn module_key(krate: u32, target: &str, module: &[Name]) -> String {
    format!("{krate}/{target}::{}", module.join("::"))
}

/// The first segment of an expanded path rooted in a crate of the program: `crate` for the crate of
/// the expanding code, `crate#N` for the program's crate N (a workspace sibling).
const CRATE_ROOT: &str = "crate";

fn is_root_marker(seg: &str) -> bool {
    seg.strip_prefix(CRATE_ROOT)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('#'))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FnId {
    pub unit: u32,
    pub idx: u32,
}

/// Where an expression is evaluated: the file, the module and the `impl` self type.
#[derive(Debug, Clone)]
pub struct Ctx {
    pub unit: u32,
    pub module: Vec<Name>,
    pub self_ty: Option<Name>,
}

pub struct Program<'a> {
    /// The Cargo packages analysed together, each with the names its code gives its siblings.
    pub crates: &'a [Crate],
    /// Per crate, its package name, shared by the entities it holds.
    packages: Vec<Arc<str>>,
    pub units: &'a [Unit],
    fns_by_name: HashMap<&'a str, Vec<FnId>>,
    consts_by_name: HashMap<&'a str, Vec<(u32, u32)>>,
    types_by_name: HashMap<&'a str, Vec<(u32, u32)>>,
    impls_by_self: HashMap<&'a str, Vec<(u32, u32)>>,
    /// Free functions by crate target, module and name: the common, local case of resolution.
    fns_by_module: HashMap<(String, &'a str), Vec<FnId>>,
    /// Every module name used anywhere in the crate.
    module_names: std::collections::HashSet<&'a str>,
}

impl<'a> Program<'a> {
    pub fn new(crates: &'a [Crate], units: &'a [Unit]) -> Self {
        let mut p = Program {
            crates,
            packages: crates.iter().map(|c| Arc::from(c.name.as_str())).collect(),
            units,
            fns_by_name: HashMap::new(),
            consts_by_name: HashMap::new(),
            types_by_name: HashMap::new(),
            impls_by_self: HashMap::new(),
            module_names: Default::default(),
            fns_by_module: HashMap::new(),
        };
        for (u, unit) in units.iter().enumerate() {
            let u = u as u32;
            p.module_names.extend(unit.module.iter().map(Name::as_str));
            for (i, f) in unit.facts.fns.iter().enumerate() {
                p.module_names.extend(f.module.iter().map(Name::as_str));
                if !f.is_closure {
                    let id = FnId {
                        unit: u,
                        idx: i as u32,
                    };
                    p.fns_by_name.entry(&f.name).or_default().push(id);
                    if f.self_ty.is_none() {
                        p.fns_by_module
                            .entry((module_key(unit.krate, &unit.target, &f.module), &f.name))
                            .or_default()
                            .push(id);
                    }
                }
            }
            for (i, c) in unit.facts.consts.iter().enumerate() {
                // An inline module may hold only constants (`mod settings { pub const .. }`).
                p.module_names.extend(c.module.iter().map(Name::as_str));
                p.consts_by_name
                    .entry(&c.name)
                    .or_default()
                    .push((u, i as u32));
            }
            for (i, t) in unit.facts.types.iter().enumerate() {
                p.types_by_name
                    .entry(&t.name)
                    .or_default()
                    .push((u, i as u32));
            }
            for (i, imp) in unit.facts.impls.iter().enumerate() {
                p.impls_by_self
                    .entry(imp.self_ty.name())
                    .or_default()
                    .push((u, i as u32));
            }
        }
        p
    }

    pub fn func(&self, id: FnId) -> &'a FnDef {
        &self.units[id.unit as usize].facts.fns[id.idx as usize]
    }

    pub fn unit(&self, id: u32) -> &'a Unit {
        &self.units[id as usize]
    }

    fn krate(&self, unit: u32) -> u32 {
        self.units[unit as usize].krate
    }

    /// The package a unit (a file of Rust) belongs to.
    pub fn package_of(&self, unit: u32) -> &Arc<str> {
        &self.packages[self.krate(unit) as usize]
    }

    /// The crate the file with this id belongs to (the first for configuration files).
    fn krate_at(&self, file: u32) -> usize {
        let u = self.units.partition_point(|u| u.file < file);
        self.units
            .get(u)
            .filter(|u| u.file == file)
            .map_or(0, |u| u.krate as usize)
    }

    /// The package the file with this id belongs to (the first package for configuration files).
    pub fn package_at(&self, file: u32) -> String {
        self.packages[self.krate_at(file)].to_string()
    }

    /// The root directory of the package the file with this id belongs to.
    pub fn crate_root_at(&self, file: u32) -> &std::path::Path {
        &self.crates[self.krate_at(file)].root
    }

    /// The crate a path expanded by `expand` is rooted in, if it is one of the program's.
    fn root_crate(&self, ctx: &Ctx, expanded: &[Name]) -> Option<u32> {
        let first = expanded.first()?;
        match first.strip_prefix(CRATE_ROOT)? {
            "" => Some(self.krate(ctx.unit)),
            rest => rest.strip_prefix('#')?.parse().ok(),
        }
    }

    /// Whether code of crate `from` can name crate `to` (itself or a dependency).
    fn sees(&self, from: u32, to: u32) -> bool {
        from == to
            || self.crates[from as usize]
                .deps
                .iter()
                .any(|(_, k)| *k == to)
    }

    pub fn all_fns(&self) -> impl Iterator<Item = FnId> + '_ {
        self.units.iter().enumerate().flat_map(|(u, unit)| {
            (0..unit.facts.fns.len()).map(move |i| FnId {
                unit: u as u32,
                idx: i as u32,
            })
        })
    }

    /// A context at the root of a unit, for looking up names that are unique in the crate.
    pub fn ctx_of_unit(&self, unit: u32) -> Ctx {
        Ctx {
            unit,
            module: vec![],
            self_ty: None,
        }
    }

    pub fn ctx_of(&self, id: FnId) -> Ctx {
        let f = self.func(id);
        Ctx {
            unit: id.unit,
            module: f.module.clone(),
            self_ty: f.self_ty,
        }
    }

    /// A readable name: `module::Type::name`.
    pub fn fn_display(&self, id: FnId) -> String {
        let f = self.func(id);
        let mut parts: Vec<&str> = f.module.iter().map(Name::as_str).collect();
        if let Some(t) = &f.self_ty {
            parts.push(t);
        }
        parts.push(&f.name);
        parts.join("::")
    }

    fn uses<'s>(&'s self, ctx: &'s Ctx) -> impl Iterator<Item = &'a UseDef> + 's {
        self.units[ctx.unit as usize]
            .facts
            .uses
            .iter()
            .filter(move |u| u.module == ctx.module)
    }

    /// Expands a path through the imports in scope and normalises `crate`/`self`/`super`: the result is
    /// either crate-relative (starting with `crate`) or external as written.
    pub fn expand(&self, ctx: &Ctx, segs: &[Name]) -> Vec<Name> {
        self.expand_at(ctx, segs, 0)
    }

    fn expand_at(&self, ctx: &Ctx, segs: &[Name], depth: usize) -> Vec<Name> {
        let Some(first) = segs.first() else {
            return vec![];
        };
        // `use tokio;` or import cycles would otherwise expand forever.
        if depth > 8 {
            return segs.to_vec();
        }
        let mut out: Vec<Name> = match first.as_str() {
            "crate" => segs.to_vec(),
            "self" => [Name::new("crate")]
                .into_iter()
                .chain(ctx.module.iter().cloned())
                .chain(segs[1..].iter().cloned())
                .collect(),
            "super" => {
                let mut m = ctx.module.clone();
                let mut rest = segs;
                while rest.first().map(Name::as_str) == Some("super") {
                    m.pop();
                    rest = &rest[1..];
                }
                [Name::new("crate")]
                    .into_iter()
                    .chain(m)
                    .chain(rest.iter().cloned())
                    .collect()
            }
            "Self" => match &ctx.self_ty {
                Some(t) => [*t].into_iter().chain(segs[1..].iter().cloned()).collect(),
                None => segs.to_vec(),
            },
            f if is_root_marker(f) => segs.to_vec(),
            f => match self.crate_named(ctx, f) {
                Some(k) => {
                    let root = if k == self.krate(ctx.unit) {
                        Name::new(CRATE_ROOT)
                    } else {
                        Name::new(&format!("{CRATE_ROOT}#{k}"))
                    };
                    [root]
                        .into_iter()
                        .chain(segs[1..].iter().cloned())
                        .collect()
                }
                None => self.through_imports(ctx, segs, depth),
            },
        };
        if out.len() == 1 && out.first().is_some_and(|s| is_root_marker(s)) {
            out.clear();
        }
        out
    }

    /// A path whose head an import of the module names (`use other::routes;` then `routes::api`).
    fn through_imports(&self, ctx: &Ctx, segs: &[Name], depth: usize) -> Vec<Name> {
        let first = &segs[0];
        let Some(u) = self
            .uses(ctx)
            .find(|u| &u.alias == first && u.path.first() != Some(first))
        else {
            return segs.to_vec();
        };
        let base = if u.path.first().is_some_and(|s| s == "self" || s == "super") {
            self.expand_at(ctx, &u.path, depth + 1)
        } else {
            let root = Ctx {
                unit: ctx.unit,
                module: vec![],
                self_ty: None,
            };
            self.expand_at(&root, &u.path, depth + 1)
        };
        base.into_iter().chain(segs[1..].iter().cloned()).collect()
    }

    /// The crate the code of `ctx` names `name`: its own library (a binary using its package's
    /// library) or a dependency of the program.
    fn crate_named(&self, ctx: &Ctx, name: &str) -> Option<u32> {
        let here = self.krate(ctx.unit);
        let own = &self.crates[here as usize];
        if own.lib == name {
            return Some(here);
        }
        own.deps.iter().find(|(n, _)| n == name).map(|(_, k)| *k)
    }

    /// Resolves a function path to a function of the program: of the calling code's crate, or of a
    /// sibling crate it depends on.
    pub fn resolve_fn(&self, ctx: &Ctx, segs: &[Name]) -> Option<FnId> {
        let name = segs.last()?;
        let cands = self.fns_by_name.get(name.as_str())?;
        let expanded = self.expand(ctx, segs);
        let here = self.krate(ctx.unit);
        let root = self.root_crate(ctx, &expanded);
        let qualifier: Vec<&str> = expanded[..expanded.len().saturating_sub(1)]
            .iter()
            .map(Name::as_str)
            .filter(|s| !is_root_marker(s))
            .collect();
        // A function's path in its crate (module, then `impl` type), compared without building it:
        // a common name has candidates in every crate of a workspace.
        let path = |id: &FnId| {
            let f = self.func(*id);
            f.module
                .iter()
                .map(Name::as_str)
                .chain(f.self_ty.as_deref())
        };
        let path_len = |id: &FnId| {
            let f = self.func(*id);
            f.module.len() + usize::from(f.self_ty.is_some())
        };
        let is = |id: &FnId, q: &[&str]| path_len(id) == q.len() && path(id).eq(q.iter().copied());
        let ends_with = |id: &FnId, q: &[&str]| {
            let n = path_len(id);
            n >= q.len() && path(id).skip(n - q.len()).eq(q.iter().copied())
        };
        let starts_with = |id: &FnId, q: &[&str]| {
            path_len(id) >= q.len() && path(id).zip(q).all(|(a, b)| a == *b)
        };
        // The crate the path names, else every crate the calling code can name.
        let crate_ok = |id: &FnId| {
            let k = self.krate(id.unit);
            root.map_or(self.sees(here, k), |r| r == k)
        };
        let cands: Vec<FnId> = cands.iter().copied().filter(crate_ok).collect();
        let pick = |list: Vec<FnId>| self.pick_fn(ctx, list);
        if qualifier.is_empty() {
            if let Some(k) = root.filter(|k| *k != here) {
                // `sibling::handler` (or `use sibling::handler`): the sibling's root module, else one
                // of its functions re-exported there.
                let free: Vec<FnId> = cands
                    .iter()
                    .copied()
                    .filter(|id| self.krate(id.unit) == k && self.func(*id).self_ty.is_none())
                    .collect();
                let at_root: Vec<FnId> = free
                    .iter()
                    .copied()
                    .filter(|id| path_len(id) == 0)
                    .collect();
                return pick(if at_root.is_empty() { free } else { at_root });
            }
            if (expanded.len() > 1 || (expanded.first() != Some(name) && !expanded.is_empty()))
                && root.is_none()
            {
                // An import of an external function (`use jsonwebtoken::decode`).
                return None;
            }
            return self.resolve_unqualified(ctx, name, &cands);
        }
        if root.is_none() && !self.is_local_head(ctx, &expanded) {
            return None;
        }
        // A path from a crate root (`crate::archive::search`, or `archive::search` after `use
        // crate::archive`) names exactly one module: a same-named function elsewhere (the handler
        // `api::archive::search` calling it) is not meant.
        if root.is_some() {
            let exact: Vec<FnId> = cands
                .iter()
                .copied()
                .filter(|id| is(id, &qualifier))
                .collect();
            if !exact.is_empty() {
                return pick(exact);
            }
        }
        let matching: Vec<FnId> = cands
            .iter()
            .copied()
            .filter(|id| ends_with(id, &qualifier))
            .collect();
        // `api::router()` inside `routes` means `routes::api::router` before any other `api` module.
        let relative: Vec<&str> = ctx
            .module
            .iter()
            .map(Name::as_str)
            .chain(qualifier.iter().copied())
            .collect();
        if let Some(id) = matching
            .iter()
            .copied()
            .find(|id| self.krate(id.unit) == here && is(id, &relative))
        {
            return Some(id);
        }
        if !matching.is_empty() {
            return pick(matching);
        }
        // Re-exports: `crate::routes::subscribe` for `routes::subscriptions::subscribe` behind
        // `pub use subscriptions::*;`.
        let reexported: Vec<FnId> = cands
            .iter()
            .copied()
            .filter(|id| self.func(*id).self_ty.is_none() && starts_with(id, &qualifier))
            .collect();
        pick(reexported)
    }

    /// A bare function name: defined in the calling module, brought in by a glob import, or the only
    /// free function of that name the calling crate (then its dependencies) defines.
    fn resolve_unqualified(&self, ctx: &Ctx, name: &str, cands: &[FnId]) -> Option<FnId> {
        let here = self.krate(ctx.unit);
        let target = &self.units[ctx.unit as usize].target;
        if let Some(local) = self
            .fns_by_module
            .get(&(module_key(here, target, &ctx.module), name))
        {
            // Defined in this module: this file first, then the module's other files.
            return local
                .iter()
                .copied()
                .find(|id| id.unit == ctx.unit)
                .or(local.first().copied());
        }
        // Glob imports bring modules' functions into scope.
        for g in self.uses(ctx).filter(|u| u.alias == "*") {
            let m = self.expand(ctx, &g.path);
            let k = self.root_crate(ctx, &m).unwrap_or(here);
            let m: Vec<&str> = m
                .iter()
                .map(Name::as_str)
                .filter(|s| !is_root_marker(s))
                .collect();
            let found = cands.iter().copied().find(|id| {
                let f = self.func(*id);
                self.krate(id.unit) == k
                    && f.self_ty.is_none()
                    && f.module.iter().map(Name::as_str).eq(m.iter().copied())
            });
            if found.is_some() {
                return found;
            }
        }
        let free = |own: bool| -> Vec<FnId> {
            cands
                .iter()
                .copied()
                .filter(|id| self.func(*id).self_ty.is_none())
                .filter(|id| (self.krate(id.unit) == here) == own)
                .collect()
        };
        let own = free(true);
        let list = if own.is_empty() { free(false) } else { own };
        (list.len() == 1).then(|| list[0])
    }

    /// One of several candidates: the only one of the caller's crate and target, else a free function
    /// before methods of the same name, then the first in file order.
    fn pick_fn(&self, ctx: &Ctx, list: Vec<FnId>) -> Option<FnId> {
        if list.len() <= 1 {
            return list.first().copied();
        }
        let caller = &self.units[ctx.unit as usize];
        let local: Vec<FnId> = list
            .iter()
            .copied()
            .filter(|id| {
                let u = &self.units[id.unit as usize];
                u.krate == caller.krate && u.target == caller.target
            })
            .collect();
        if local.len() == 1 {
            return Some(local[0]);
        }
        list.iter()
            .copied()
            .find(|id| self.func(*id).self_ty.is_none())
            .or(list.first().copied())
    }

    /// Whether a path that does not start with `crate` still names something of this crate: a module or
    /// type declared in it.
    fn is_local_head(&self, ctx: &Ctx, expanded: &[Name]) -> bool {
        let Some(head) = expanded.first() else {
            return false;
        };
        if self.types_by_name.contains_key(head.as_str())
            || self.impls_by_self.contains_key(head.as_str())
        {
            return true;
        }
        let _ = ctx;
        // Module paths are relative to the current module or the crate root: a module named `head`
        // anywhere in the crate may be meant.
        self.module_names.contains(head.as_str())
    }

    pub fn resolve_const(&self, ctx: &Ctx, segs: &[Name]) -> Option<(u32, &'a ConstDef)> {
        let name = segs.last()?;
        let cands = self.consts_by_name.get(name.as_str())?;
        let here = self.krate(ctx.unit);
        let mut root = None;
        if segs.len() > 1 {
            // `Modifier::DIM` names another crate's constant unless its head is this crate's.
            let expanded = self.expand(ctx, segs);
            root = self.root_crate(ctx, &expanded);
            if root.is_none() && !self.is_local_head(ctx, &expanded) {
                return None;
            }
        }
        let cands: Vec<(u32, u32)> = cands
            .iter()
            .copied()
            .filter(|(u, _)| root.map_or(self.sees(here, self.krate(*u)), |r| r == self.krate(*u)))
            .collect();
        let best = cands
            .iter()
            .find(|(u, i)| {
                *u == ctx.unit
                    && self.units[*u as usize].facts.consts[*i as usize].module == ctx.module
            })
            .or_else(|| {
                if cands.len() == 1 || segs.len() > 1 {
                    cands.first()
                } else {
                    None
                }
            })?;
        Some((
            best.0,
            &self.units[best.0 as usize].facts.consts[best.1 as usize],
        ))
    }

    /// A type by name: in the calling module first, then the calling crate, then any crate.
    pub fn resolve_type(&self, ctx: &Ctx, name: &str) -> Option<(u32, &'a TypeDef)> {
        let cands = self.types_by_name.get(name)?;
        let here = self.krate(ctx.unit);
        let best = cands
            .iter()
            .find(|(u, i)| {
                *u == ctx.unit
                    && self.units[*u as usize].facts.types[*i as usize].module == ctx.module
            })
            .or_else(|| cands.iter().find(|(u, _)| self.krate(*u) == here))
            .or_else(|| cands.first())?;
        Some((
            best.0,
            &self.units[best.0 as usize].facts.types[best.1 as usize],
        ))
    }

    pub fn impls_of(&self, type_name: &str) -> impl Iterator<Item = (u32, &'a ImplDef)> + '_ {
        self.impls_by_self
            .get(type_name)
            .into_iter()
            .flatten()
            .map(|(u, i)| (*u, &self.units[*u as usize].facts.impls[*i as usize]))
    }

    /// Methods named `name` defined in this crate (in `impl` blocks), for calls on values of unknown type.
    pub fn methods_named(&self, name: &str) -> Vec<FnId> {
        self.fns_by_name
            .get(name)
            .map(|v| {
                v.iter()
                    .copied()
                    .filter(|id| {
                        let f = self.func(*id);
                        f.self_ty.is_some()
                            && f.params
                                .first()
                                .is_some_and(|p| p.pat.text.contains("self"))
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The full path of a call as resolved through imports, for catalog matching.
    /// A sibling crate's paths read as its code names them (`sibling::auth::verify`).
    /// Whether `name` is bound by an import of the calling module (`from jose import jwt`).
    pub fn is_import(&self, ctx: &Ctx, name: &str) -> bool {
        self.uses(ctx).any(|u| u.alias == name)
    }

    /// The receiver of a Python method call when it is a name an import binds (`jwt` in
    /// `jwt.decode(..)` after `from jose import jwt`, `crud` after `from app import crud`): the call
    /// is then a path through that import.
    pub fn imported_receiver(&self, ctx: &Ctx, c: &crate::facts::CallSite) -> Option<Name> {
        let r = c.recv.as_deref()?;
        let plain = r.chars().all(|ch| ch.is_alphanumeric() || ch == '_');
        (c.kind == crate::facts::CallKind::Method
            && self.unit(ctx.unit).language == "python"
            && plain
            && self.is_import(ctx, r))
        .then(|| Name::new(r))
    }

    pub fn resolved_name(&self, ctx: &Ctx, segs: &[Name]) -> String {
        let mut expanded = self.expand(ctx, segs);
        if let Some(k) = self.root_crate(ctx, &expanded) {
            if k != self.krate(ctx.unit) {
                expanded[0] = Name::new(&self.crates[k as usize].lib);
            }
        }
        expanded.join("::")
    }
}
