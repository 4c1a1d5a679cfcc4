//! Data flow inside the crate: which values reach each call's arguments. Every value carries labels:
//! `input` (from a request extractor or a request accessor), `secret` (a token, password, session id or
//! credential header), `variable` (not a compile-time constant) and `dynamic` (a string assembled at run
//! time from variable parts: `format!`, `+`, `push_str`). Rules read them as `args.N.flow`.
//!
//! The analysis is flow-insensitive within a function (branches are joined) and interprocedural inside
//! the crate: a function's result is summarised in terms of its parameters, and what callers pass fills
//! its parameters. What the catalog's `[[flow]]` entries say about calls (sources, cleansers, combiners)
//! refines the defaults.

use super::analysis::Analyzer;
use super::program::{FnId, Program};
use super::Evidence;
use crate::source::{Loc, Span};
use rayon::prelude::*;
use std::collections::HashMap;
use std::sync::{Arc, RwLock};
mod scc;
mod state;
pub(crate) mod vocab;

pub const INPUT: u8 = 1;
pub const DYNAMIC: u8 = 2;
pub const SECRET: u8 = 4;
pub const VARIABLE: u8 = 8;

/// Past this many parameters a function's flows are not tracked by position.
const MAX_PARAMS: usize = 63;
const MAX_ROUNDS: usize = 6;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Taint {
    pub labels: u8,
    /// Bit i: flows from the function's parameter i.
    pub params: u64,
    /// Labels removed from what flows in through `params` (a parameter sanitised in the function).
    pub cleared: u8,
}

impl Taint {
    const NONE: Taint = Taint {
        labels: 0,
        params: 0,
        cleared: 0,
    };

    fn label(l: u8) -> Taint {
        Taint {
            labels: l,
            ..Taint::NONE
        }
    }

    fn join(self, o: Taint) -> Taint {
        // A label stays cleared from parameters only if both sides cleared it (or one has none).
        let cleared = match (self.params, o.params) {
            (0, _) => o.cleared,
            (_, 0) => self.cleared,
            _ => self.cleared & o.cleared,
        };
        Taint {
            labels: self.labels | o.labels,
            params: self.params | o.params,
            cleared,
        }
    }

    fn with(self, l: u8) -> Taint {
        Taint {
            labels: self.labels | l,
            ..self
        }
    }

    fn without(self, l: u8) -> Taint {
        Taint {
            labels: self.labels & !l,
            cleared: if self.params != 0 {
                self.cleared | l
            } else {
                0
            },
            ..self
        }
    }

    fn is_variable(self) -> bool {
        self.labels & VARIABLE != 0 || self.params != 0
    }
}

/// A set of flow labels as the model holds it: one byte, shown as the list of names.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Labels(pub u8);

const LABEL_NAMES: [(u8, &str); 4] = [
    (INPUT, "input"),
    (DYNAMIC, "dynamic"),
    (SECRET, "secret"),
    (VARIABLE, "variable"),
];

impl Labels {
    /// The names of the set, from one table of every combination: a rule reads them as a borrowed
    /// list, and tens of thousands of call arguments share them.
    pub fn names(self) -> &'static [String] {
        static SETS: std::sync::LazyLock<Vec<Vec<String>>> = std::sync::LazyLock::new(|| {
            (0..16u8)
                .map(|bits| {
                    LABEL_NAMES
                        .iter()
                        .filter(|(b, _)| bits & b != 0)
                        .map(|(_, n)| n.to_string())
                        .collect()
                })
                .collect()
        });
        &SETS[(self.0 & 15) as usize]
    }
}

impl serde::Serialize for Labels {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.names().serialize(s)
    }
}

fn label_bits(names: &[String]) -> u8 {
    names.iter().fold(0, |acc, n| {
        acc | LABEL_NAMES
            .iter()
            .find(|(_, name)| name == n)
            .map_or(0, |(bit, _)| *bit)
    })
}

/// The flows at one call site: its receiver and arguments, as label sets.
#[derive(Debug, Clone, Default)]
pub struct CallFlow {
    pub recv: u8,
    pub args: Vec<u8>,
}

/// Per call site (unit, span start, span end).
pub type FlowMap = HashMap<(u32, u32, u32), CallFlow>;

/// What the analysis hands the model: flows per call site, and per call site that receives request input
/// where that input comes from (evidence for findings about it).
#[derive(Default)]
pub struct FlowOut {
    pub calls: FlowMap,
    pub origins: HashMap<(u32, u32, u32), Vec<Evidence>>,
}

/// An origin of request input in a function: where, what to say, and the parameter it enters through
/// (`None` for a request accessor in the body).
type Origin = (Span, &'static str, Option<usize>);

fn evidence(prog: &Program, id: FnId, o: &Origin) -> Evidence {
    Evidence {
        loc: Loc::new(prog.unit(id.unit).file, o.0),
        note: o.1.to_string(),
    }
}

/// Where the request input of a call's arguments comes from: the function's own extractor parameters that
/// flow into those arguments, else its request accessors, else the call that passed the input in,
/// followed back through callers (a few steps) to where it entered.
fn call_origins(
    prog: &Program,
    results: &HashMap<FnId, FnResult>,
    entered_from: &HashMap<FnId, (FnId, Span)>,
    id: FnId,
    inputs: &[Taint],
) -> Vec<Evidence> {
    let Some(r) = results.get(&id) else {
        return vec![];
    };
    let bits = inputs.iter().fold(0u64, |acc, t| acc | t.params);
    let through_params: Vec<Evidence> = r
        .origins
        .iter()
        .filter(|o| o.2.is_some_and(|i| i < MAX_PARAMS && bits & (1 << i) != 0))
        .take(2)
        .map(|o| evidence(prog, id, o))
        .collect();
    if !through_params.is_empty() {
        return through_params;
    }
    if inputs.iter().any(|t| t.labels & INPUT != 0) {
        let read: Vec<Evidence> = r
            .origins
            .iter()
            .filter(|o| o.2.is_none())
            .take(2)
            .map(|o| evidence(prog, id, o))
            .collect();
        if !read.is_empty() {
            return read;
        }
    }
    let mut ev = vec![];
    let (mut cur, mut seen) = (id, vec![id]);
    while let Some(&(caller, site)) = entered_from.get(&cur) {
        if seen.contains(&caller) || seen.len() > 4 {
            break;
        }
        ev.push(Evidence {
            loc: Loc::new(prog.unit(caller.unit).file, site),
            note: format!(
                "`{}` passes request input to `{}`",
                prog.fn_display(caller),
                prog.fn_display(cur)
            ),
        });
        let from: Vec<Evidence> = results
            .get(&caller)
            .map(|r| {
                r.origins
                    .iter()
                    .take(2)
                    .map(|o| evidence(prog, caller, o))
                    .collect()
            })
            .unwrap_or_default();
        if !from.is_empty() {
            ev.extend(from);
            break;
        }
        seen.push(caller);
        cur = caller;
    }
    ev
}

#[derive(Default)]
struct FnResult {
    /// Call sites, with parameter bits still unresolved.
    calls: HashMap<(u32, u32, u32), (Taint, Vec<Taint>)>,
    ret: Taint,
    /// Calls into the crate's functions: callee, the taint of each of its parameters, the call site.
    edges: Vec<(FnId, Vec<Taint>, Span)>,
    /// Where request input enters the function itself: an extractor parameter, a request accessor.
    origins: Vec<Origin>,
}

pub struct Flows<'p, 'a> {
    prog: &'p Program<'a>,
    an: &'p Analyzer<'p, 'a>,
    /// Parameters that hold request input, per handler.
    input_params: &'p HashMap<FnId, Vec<usize>>,
    summaries: HashMap<FnId, Taint>,
    /// The taint each function's parameters start with.
    params: HashMap<FnId, Vec<Taint>>,
    /// The catalog flow entries whose patterns match a call's names, per distinct list of names: the
    /// same calls (`clone`, `to_string`, `query`) recur in every function, and most patterns are globs.
    matching: RwLock<HashMap<Vec<String>, Arc<[usize]>>>,
}

impl<'p, 'a> Flows<'p, 'a> {
    /// Runs the analysis over every function of the package.
    pub fn compute(
        prog: &'p Program<'a>,
        an: &'p Analyzer<'p, 'a>,
        input_params: &'p HashMap<FnId, Vec<usize>>,
    ) -> FlowOut {
        let mut fl = Flows {
            prog,
            an,
            input_params,
            summaries: HashMap::new(),
            params: HashMap::new(),
            matching: Default::default(),
        };
        let fns: Vec<FnId> = prog
            .all_fns()
            .filter(|id| !prog.func(*id).is_closure)
            .collect();
        fl.params = fns
            .par_iter()
            .map(|&id| (id, state::param_taints(&fl, id)))
            .collect();
        let results = fl.fixed_point(&fns);
        // What callers pass fills the callees' parameters.
        let mut entry: HashMap<FnId, Vec<u8>> = HashMap::new();
        // The first call site that brought request input into each function, for the evidence.
        let mut entered_from: HashMap<FnId, (FnId, Span)> = HashMap::new();
        for _ in 0..MAX_ROUNDS {
            let mut changed = false;
            for &caller in &fns {
                let Some(r) = results.get(&caller) else {
                    continue;
                };
                for (callee, params, site) in &r.edges {
                    for (i, t) in params.iter().enumerate().take(MAX_PARAMS) {
                        let labels = resolve(*t, entry.get(&caller));
                        let slot = entry.entry(*callee).or_default();
                        if slot.len() <= i {
                            slot.resize(i + 1, 0);
                        }
                        if slot[i] | labels != slot[i] {
                            slot[i] |= labels;
                            changed = true;
                        }
                        if labels & INPUT != 0 && *callee != caller {
                            entered_from.entry(*callee).or_insert((caller, *site));
                        }
                    }
                }
            }
            if !changed {
                break;
            }
        }
        let mut out = FlowOut::default();
        for (&id, r) in &results {
            let params = entry.get(&id);
            for (&key, (recv, args)) in &r.calls {
                let inputs: Vec<Taint> = args
                    .iter()
                    .copied()
                    .filter(|a| resolve(*a, params) & INPUT != 0)
                    .collect();
                if !inputs.is_empty() {
                    let ev = call_origins(prog, &results, &entered_from, id, &inputs);
                    out.origins.insert(key, ev);
                }
                let (recv, args) = (*recv, args.clone());
                let slot = out.calls.entry(key).or_default();
                slot.recv |= resolve(recv, params);
                if slot.args.len() < args.len() {
                    slot.args.resize(args.len(), 0);
                }
                for (i, a) in args.iter().enumerate() {
                    slot.args[i] |= resolve(*a, params);
                }
            }
        }
        out
    }
    /// The indices of the catalog's flow entries with a pattern matching one of `names`.
    fn matching_entries(&self, names: &[String]) -> Arc<[usize]> {
        let hit = self.matching.read().map(|m| m.get(names).cloned());
        if let Ok(Some(hit)) = hit {
            return hit;
        }
        let found: Arc<[usize]> = self.an.catalog.flow_entries(names).into();
        if let Ok(mut m) = self.matching.write() {
            m.insert(names.to_vec(), found.clone());
        }
        found
    }

    fn analyse(&self, id: FnId) -> FnResult {
        state::analyse(self, id)
    }

    /// Return summaries to a fixed point. Every function is analysed once without summaries, side by
    /// side: that gives the call graph. Then its strongly connected components, callees first, level by
    /// level: the functions of a level depend only on lower levels, so they run side by side, and each is
    /// analysed again only when one of its callees has a summary. A recursive cycle is iterated (a few
    /// rounds at most).
    fn fixed_point(&mut self, fns: &[FnId]) -> HashMap<FnId, FnResult> {
        let mut results: Vec<FnResult> = fns.par_iter().map(|id| self.analyse(*id)).collect();
        let index: HashMap<FnId, usize> = fns.iter().enumerate().map(|(i, id)| (*id, i)).collect();
        let callees: Vec<Vec<usize>> = results
            .iter()
            .map(|r| {
                let mut v: Vec<usize> = r
                    .edges
                    .iter()
                    .filter_map(|(c, _, _)| index.get(c).copied())
                    .collect();
                v.sort_unstable();
                v.dedup();
                v
            })
            .collect();
        for level in scc::levels(&callees) {
            let (single, cycles): (Vec<&Vec<usize>>, Vec<&Vec<usize>>) = level
                .iter()
                .partition(|c| c.len() == 1 && !callees[c[0]].contains(&c[0]));
            let stale: Vec<usize> = single
                .iter()
                .map(|c| c[0])
                .filter(|&i| {
                    callees[i]
                        .iter()
                        .any(|c| self.summaries.contains_key(&fns[*c]))
                })
                .collect();
            let again: Vec<FnResult> = stale.par_iter().map(|&i| self.analyse(fns[i])).collect();
            for (i, r) in stale.into_iter().zip(again) {
                results[i] = r;
            }
            for c in &single {
                let ret = results[c[0]].ret;
                if ret != Taint::default() {
                    self.summaries.insert(fns[c[0]], ret);
                }
            }
            for cycle in cycles {
                self.iterate_cycle(fns, cycle, &mut results);
            }
        }
        fns.iter().copied().zip(results).collect()
    }

    /// The functions of one recursive cycle, analysed in turn until their summaries stop changing.
    fn iterate_cycle(&mut self, fns: &[FnId], cycle: &[usize], results: &mut [FnResult]) {
        for &i in cycle {
            if results[i].ret != Taint::default() {
                self.summaries.insert(fns[i], results[i].ret);
            }
        }
        for _ in 0..MAX_ROUNDS {
            let mut changed = false;
            for &i in cycle {
                let r = self.analyse(fns[i]);
                if self.summaries.get(&fns[i]).copied().unwrap_or_default() != r.ret {
                    self.summaries.insert(fns[i], r.ret);
                    changed = true;
                }
                results[i] = r;
            }
            if !changed {
                break;
            }
        }
    }
}

fn resolve(t: Taint, params: Option<&Vec<u8>>) -> u8 {
    let mut from_params = 0;
    if let Some(ps) = params {
        for (i, p) in ps.iter().enumerate().take(MAX_PARAMS) {
            if t.params & (1 << i) != 0 {
                from_params |= p;
            }
        }
    }
    t.labels | (from_params & !t.cleared)
}
