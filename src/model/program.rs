//! One package's facts, indexed for name resolution across its files and modules.

use crate::facts::{ConstDef, FileFacts, FnDef, ImplDef, TypeDef, UseDef};
use std::collections::HashMap;
use std::sync::Arc;

/// One analysed Rust file of a package.
pub struct Unit {
    pub file: u32,
    pub target: String,
    pub module: Vec<String>,
    pub facts: FileFacts,
    pub text: Arc<str>,
}

fn module_key(target: &str, module: &[String]) -> String {
    format!("{target}::{}", module.join("::"))
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
    pub module: Vec<String>,
    pub self_ty: Option<String>,
}

pub struct Program<'a> {
    pub package: String,
    pub crate_name: String,
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
    pub fn new(package: &str, units: &'a [Unit]) -> Self {
        let mut p = Program {
            package: package.to_string(),
            crate_name: package.replace('-', "_"),
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
            p.module_names
                .extend(unit.module.iter().map(String::as_str));
            for (i, f) in unit.facts.fns.iter().enumerate() {
                p.module_names.extend(f.module.iter().map(String::as_str));
                if !f.is_closure {
                    let id = FnId {
                        unit: u,
                        idx: i as u32,
                    };
                    p.fns_by_name.entry(&f.name).or_default().push(id);
                    if f.self_ty.is_none() {
                        p.fns_by_module
                            .entry((module_key(&unit.target, &f.module), &f.name))
                            .or_default()
                            .push(id);
                    }
                }
            }
            for (i, c) in unit.facts.consts.iter().enumerate() {
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
            self_ty: f.self_ty.clone(),
        }
    }

    /// A readable name: `module::Type::name`.
    pub fn fn_display(&self, id: FnId) -> String {
        let f = self.func(id);
        let mut parts: Vec<&str> = f.module.iter().map(String::as_str).collect();
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
    pub fn expand(&self, ctx: &Ctx, segs: &[String]) -> Vec<String> {
        self.expand_at(ctx, segs, 0)
    }

    fn expand_at(&self, ctx: &Ctx, segs: &[String], depth: usize) -> Vec<String> {
        let Some(first) = segs.first() else {
            return vec![];
        };
        // `use tokio;` or import cycles would otherwise expand forever.
        if depth > 8 {
            return segs.to_vec();
        }
        let mut out: Vec<String> = match first.as_str() {
            "crate" => segs.to_vec(),
            "self" => ["crate".to_string()]
                .into_iter()
                .chain(ctx.module.iter().cloned())
                .chain(segs[1..].iter().cloned())
                .collect(),
            "super" => {
                let mut m = ctx.module.clone();
                let mut rest = segs;
                while rest.first().map(String::as_str) == Some("super") {
                    m.pop();
                    rest = &rest[1..];
                }
                ["crate".to_string()]
                    .into_iter()
                    .chain(m)
                    .chain(rest.iter().cloned())
                    .collect()
            }
            "Self" => match &ctx.self_ty {
                Some(t) => [t.clone()]
                    .into_iter()
                    .chain(segs[1..].iter().cloned())
                    .collect(),
                None => segs.to_vec(),
            },
            f if *f == self.crate_name => ["crate".to_string()]
                .into_iter()
                .chain(segs[1..].iter().cloned())
                .collect(),
            _ => match self
                .uses(ctx)
                .find(|u| &u.alias == first && u.path.first() != Some(first))
            {
                Some(u) => {
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
                None => segs.to_vec(),
            },
        };
        if out.first().map(String::as_str) == Some("crate") && out.len() == 1 {
            out.clear();
        }
        out
    }

    /// Resolves a function path to a function of this package.
    pub fn resolve_fn(&self, ctx: &Ctx, segs: &[String]) -> Option<FnId> {
        let name = segs.last()?;
        let cands = self.fns_by_name.get(name.as_str())?;
        let expanded = self.expand(ctx, segs);
        let qualifier: Vec<&str> = expanded[..expanded.len().saturating_sub(1)]
            .iter()
            .map(String::as_str)
            .filter(|s| *s != "crate")
            .collect();
        let full = |id: &FnId| -> Vec<&str> {
            let f = self.func(*id);
            let mut v: Vec<&str> = f.module.iter().map(String::as_str).collect();
            if let Some(t) = &f.self_ty {
                v.push(t);
            }
            v
        };
        let same_target =
            |id: &FnId| self.units[id.unit as usize].target == self.units[ctx.unit as usize].target;
        let pick = |list: Vec<FnId>| -> Option<FnId> {
            if list.len() <= 1 {
                return list.first().copied();
            }
            let local: Vec<FnId> = list.iter().copied().filter(|id| same_target(id)).collect();
            if local.len() == 1 {
                return Some(local[0]);
            }
            // Prefer free functions over methods of the same name, then the first in file order.
            list.iter()
                .copied()
                .find(|id| self.func(*id).self_ty.is_none())
                .or(list.first().copied())
        };
        if qualifier.is_empty() {
            if expanded.len() > 1 || (expanded.first() != Some(name) && !expanded.is_empty()) {
                // An import of an external function (`use jsonwebtoken::decode`).
                if !segs[0].eq("crate") && expanded.first().map(String::as_str) != Some("crate") {
                    return None;
                }
            }
            let target = &self.units[ctx.unit as usize].target;
            if let Some(local) = self
                .fns_by_module
                .get(&(module_key(target, &ctx.module), name.as_str()))
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
                let m: Vec<&str> = m
                    .iter()
                    .map(String::as_str)
                    .filter(|s| *s != "crate")
                    .collect();
                if let Some(id) = cands.iter().copied().find(|id| full(id) == m) {
                    return Some(id);
                }
            }
            let free: Vec<FnId> = cands
                .iter()
                .copied()
                .filter(|id| self.func(*id).self_ty.is_none())
                .collect();
            return if free.len() == 1 { Some(free[0]) } else { None };
        }
        if expanded.first().map(String::as_str) != Some("crate")
            && !self.is_local_head(ctx, &expanded)
        {
            return None;
        }
        // A path from the crate root (`crate::archive::search`, or `archive::search` after `use
        // crate::archive`) names exactly one module: a same-named function elsewhere (the handler
        // `api::archive::search` calling it) is not meant.
        if expanded.first().map(String::as_str) == Some("crate") {
            let exact: Vec<FnId> = cands
                .iter()
                .copied()
                .filter(|id| full(id) == qualifier)
                .collect();
            if !exact.is_empty() {
                return pick(exact);
            }
        }
        let matching: Vec<FnId> = cands
            .iter()
            .copied()
            .filter(|id| full(id).ends_with(&qualifier))
            .collect();
        // `api::router()` inside `routes` means `routes::api::router` before any other `api` module.
        let relative: Vec<&str> = ctx
            .module
            .iter()
            .map(String::as_str)
            .chain(qualifier.iter().copied())
            .collect();
        if let Some(id) = matching.iter().copied().find(|id| full(id) == relative) {
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
            .filter(|id| self.func(*id).self_ty.is_none() && full(id).starts_with(&qualifier))
            .collect();
        pick(reexported)
    }

    /// Whether a path that does not start with `crate` still names something of this crate: a module or
    /// type declared in it.
    fn is_local_head(&self, ctx: &Ctx, expanded: &[String]) -> bool {
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

    pub fn resolve_const(&self, ctx: &Ctx, segs: &[String]) -> Option<(u32, &'a ConstDef)> {
        let name = segs.last()?;
        let cands = self.consts_by_name.get(name.as_str())?;
        if segs.len() > 1 {
            // `Modifier::DIM` names another crate's constant unless its head is this crate's.
            let expanded = self.expand(ctx, segs);
            if expanded.first().map(String::as_str) != Some("crate")
                && !self.is_local_head(ctx, &expanded)
            {
                return None;
            }
        }
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

    pub fn resolve_type(&self, ctx: &Ctx, name: &str) -> Option<(u32, &'a TypeDef)> {
        let cands = self.types_by_name.get(name)?;
        let best = cands
            .iter()
            .find(|(u, i)| {
                *u == ctx.unit
                    && self.units[*u as usize].facts.types[*i as usize].module == ctx.module
            })
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
    pub fn resolved_name(&self, ctx: &Ctx, segs: &[String]) -> String {
        self.expand(ctx, segs).join("::")
    }
}
