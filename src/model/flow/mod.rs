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
    /// The parameters of `params` whose value arrives sanitised: `cleared` labels removed from them
    /// (`join(base, basename(name))` keeps `name` clean and `base` as it is).
    pub clean: u64,
    /// Labels removed from what flows in through the `clean` parameters.
    pub cleared: u8,
}

impl Taint {
    const NONE: Taint = Taint {
        labels: 0,
        params: 0,
        clean: 0,
        cleared: 0,
    };

    fn label(l: u8) -> Taint {
        Taint {
            labels: l,
            ..Taint::NONE
        }
    }

    fn join(self, o: Taint) -> Taint {
        // A parameter stays clean only if no side lets it through raw; a label stays cleared only if
        // both sides with clean parameters cleared it.
        let raw = (self.params & !self.clean) | (o.params & !o.clean);
        let params = self.params | o.params;
        let clean = params & !raw;
        let cleared = match (self.clean, o.clean) {
            (0, _) => o.cleared,
            (_, 0) => self.cleared,
            _ => self.cleared & o.cleared,
        };
        Taint {
            labels: self.labels | o.labels,
            params,
            clean,
            cleared: if clean == 0 { 0 } else { cleared },
        }
    }

    fn with(self, l: u8) -> Taint {
        Taint {
            labels: self.labels | l,
            ..self
        }
    }

    fn without(self, l: u8) -> Taint {
        let raw = self.params & !self.clean;
        // Parameters already clean keep what they lost only when none arrives raw (else `l` alone:
        // fewer labels cleared, never more).
        let cleared = if self.clean != 0 && raw == 0 {
            self.cleared | l
        } else {
            l
        };
        Taint {
            labels: self.labels & !l,
            params: self.params,
            clean: self.params,
            cleared: if self.params != 0 { cleared } else { 0 },
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
    /// Whether the fixed point had to be computed again without a graph up front.
    fell_back: bool,
}

impl<'p, 'a> Flows<'p, 'a> {
    /// Runs the analysis over every function of the package.
    pub fn compute(
        prog: &'p Program<'a>,
        an: &'p Analyzer<'p, 'a>,
        input_params: &'p HashMap<FnId, Vec<usize>>,
    ) -> FlowOut {
        let (mut fl, fns) = Flows::new(prog, an, input_params);
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
    /// The analysis of a package's functions (closures are analysed where they are written), with
    /// each function's parameters' starting taints; and those functions.
    fn new(
        prog: &'p Program<'a>,
        an: &'p Analyzer<'p, 'a>,
        input_params: &'p HashMap<FnId, Vec<usize>>,
    ) -> (Self, Vec<FnId>) {
        let mut fl = Flows {
            prog,
            an,
            input_params,
            summaries: HashMap::new(),
            params: HashMap::new(),
            matching: Default::default(),
            fell_back: false,
        };
        let fns: Vec<FnId> = prog
            .all_fns()
            .filter(|id| !prog.func(*id).is_closure)
            .collect();
        fl.params = fns
            .par_iter()
            .map(|&id| (id, state::param_taints(&fl, id)))
            .collect();
        (fl, fns)
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

    /// Return summaries to a fixed point, with the result `fixed_point_discovered` gives, most often
    /// analysing each function once. The call graph is read from the calls' resolved targets (a
    /// function's and its closures'); its strongly connected components are taken level by level,
    /// callees first: a function alone in its component is analysed once with its callees' final
    /// summaries (a level's side by side), and the functions of a component are settled as the
    /// analysis itself sees them (`settle`). If a call the analysis records breaks that order (a
    /// target the resolution did not show), the fixed point is computed again without a graph.
    fn fixed_point(&mut self, fns: &[FnId]) -> HashMap<FnId, FnResult> {
        let index: HashMap<FnId, usize> = fns.iter().enumerate().map(|(i, id)| (*id, i)).collect();
        let callees: Vec<Vec<usize>> = fns
            .par_iter()
            .map(|&id| self.resolved_callees(id, &index))
            .collect();
        let levels = scc::levels(&callees);
        let mut results: Vec<FnResult> = (0..fns.len()).map(|_| FnResult::default()).collect();
        for level in &levels {
            let alone = |c: &&Vec<usize>| c.len() == 1 && !callees[c[0]].contains(&c[0]);
            let (plain, components): (Vec<&Vec<usize>>, Vec<&Vec<usize>>) =
                level.iter().partition(alone);
            let done: Vec<FnResult> = plain.par_iter().map(|c| self.analyse(fns[c[0]])).collect();
            for (c, r) in plain.iter().zip(done) {
                if r.ret != Taint::default() {
                    self.summaries.insert(fns[c[0]], r.ret);
                }
                results[c[0]] = r;
            }
            for c in components {
                self.settle(fns, c, &mut results, &index);
            }
        }
        if !in_order(&levels, &callees, &results, &index) {
            self.fell_back = true;
            self.summaries.clear();
            return self.fixed_point_discovered(fns);
        }
        fns.iter().copied().zip(results).collect()
    }

    /// The functions of one component of the resolved call graph, whose callees outside it are
    /// final, as `fixed_point_discovered` treats them: analysed without summaries first, then by the
    /// calls the analysis records among them (a call resolving to its own function may carry no
    /// flow, `self.0.fmt(f)`), callees first, each again only if a callee has a summary, and each
    /// recursive cycle iterated.
    fn settle(
        &mut self,
        fns: &[FnId],
        comp: &[usize],
        results: &mut [FnResult],
        index: &HashMap<FnId, usize>,
    ) {
        let known = std::mem::take(&mut self.summaries);
        for &i in comp {
            results[i] = self.analyse(fns[i]);
        }
        self.summaries = known;
        let local: HashMap<usize, usize> = comp.iter().enumerate().map(|(k, &i)| (i, k)).collect();
        let inside: Vec<Vec<usize>> = comp
            .iter()
            .map(|&i| {
                let mut v: Vec<usize> = recorded_callees(std::slice::from_ref(&results[i]), index)
                    .remove(0)
                    .into_iter()
                    .filter_map(|c| local.get(&c).copied())
                    .collect();
                v.dedup();
                v
            })
            .collect();
        for level in scc::levels(&inside) {
            for sub in level {
                let members: Vec<usize> = sub.iter().map(|&k| comp[k]).collect();
                if sub.len() > 1 || inside[sub[0]].contains(&sub[0]) {
                    self.iterate_cycle(fns, &members, results);
                    continue;
                }
                let i = members[0];
                let stale = results[i]
                    .edges
                    .iter()
                    .any(|(c, _, _)| self.summaries.contains_key(c));
                if stale {
                    results[i] = self.analyse(fns[i]);
                }
                if results[i].ret != Taint::default() {
                    self.summaries.insert(fns[i], results[i].ret);
                }
            }
        }
    }

    /// The crate functions a function's calls and its closures' calls resolve to.
    fn resolved_callees(&self, id: FnId, index: &HashMap<FnId, usize>) -> Vec<usize> {
        let prog = self.prog;
        let ctx = prog.ctx_of(id);
        let mut out = vec![];
        let mut bodies = vec![id];
        while let Some(b) = bodies.pop().filter(|_| bodies.len() < 64) {
            let f = prog.func(b);
            out.extend(
                f.calls
                    .iter()
                    .filter_map(|c| self.an.callee(&ctx, c))
                    .filter_map(|c| index.get(&c).copied()),
            );
            f.body.walk(&mut |e| {
                if let crate::facts::Expr::Closure { fn_index, .. } = e {
                    bodies.push(FnId {
                        unit: id.unit,
                        idx: *fn_index,
                    });
                }
            });
        }
        out.sort_unstable();
        out.dedup();
        out
    }

    /// The fixed point without a graph up front: every function is analysed once without
    /// summaries, side by side, which gives the call graph; then its components, callees first,
    /// level by level, each function analysed again only when one of its callees has a summary.
    fn fixed_point_discovered(&mut self, fns: &[FnId]) -> HashMap<FnId, FnResult> {
        let mut results: Vec<FnResult> = fns.par_iter().map(|id| self.analyse(*id)).collect();
        let index: HashMap<FnId, usize> = fns.iter().enumerate().map(|(i, id)| (*id, i)).collect();
        let callees = recorded_callees(&results, &index);
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

/// The crate functions each function's analysis recorded calls into.
fn recorded_callees(results: &[FnResult], index: &HashMap<FnId, usize>) -> Vec<Vec<usize>> {
    results
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
        .collect()
}

/// Whether every call the analysis recorded goes to a function settled before its caller's
/// analysis: one of a lower level, or of the caller's own component when that was settled as one.
fn in_order(
    levels: &[Vec<Vec<usize>>],
    resolved: &[Vec<usize>],
    results: &[FnResult],
    index: &HashMap<FnId, usize>,
) -> bool {
    let recorded = recorded_callees(results, index);
    let mut place = vec![(0usize, 0usize); resolved.len()];
    let mut comp = 0;
    for (l, level) in levels.iter().enumerate() {
        for c in level {
            for &n in c {
                place[n] = (l, comp);
            }
            comp += 1;
        }
    }
    let settled_whole = |f: usize| resolved[f].iter().any(|&g| place[g].1 == place[f].1);
    recorded.iter().enumerate().all(|(f, cs)| {
        cs.iter()
            .all(|&g| place[g].0 < place[f].0 || (place[g].1 == place[f].1 && settled_whole(f)))
    })
}

fn resolve(t: Taint, params: Option<&Vec<u8>>) -> u8 {
    let (mut raw, mut clean) = (0, 0);
    if let Some(ps) = params {
        for (i, p) in ps.iter().enumerate().take(MAX_PARAMS) {
            if t.clean & (1 << i) != 0 {
                clean |= p;
            } else if t.params & (1 << i) != 0 {
                raw |= p;
            }
        }
    }
    t.labels | raw | (clean & !t.cleared)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::program::Program;

    /// A call site and the taints of its receiver and arguments.
    type CallTaints = ((u32, u32, u32), (Taint, Vec<Taint>));
    /// A function's result: its return, its calls' taints, the crate calls it records.
    type FnOutcome = (FnId, Taint, Vec<CallTaints>, Vec<(FnId, Vec<Taint>, Span)>);

    /// Both ways to the fixed point give the same summaries and the same flows at every call.
    fn same_fixed_point(src: &str) {
        let (units, crates) = crate::model::program::one_file(src);
        let prog = Program::new(&crates, &units);
        let policy = crate::engine::load_policy(&[]).unwrap();
        let an = Analyzer::new(&prog, &policy.catalog);
        let inputs = HashMap::new();
        let run = |graph_first: bool| {
            let (mut fl, fns) = Flows::new(&prog, &an, &inputs);
            let results = if graph_first {
                fl.fixed_point(&fns)
            } else {
                fl.fixed_point_discovered(&fns)
            };
            // The graph-first way must not have fallen back: else it is compared with itself.
            assert!(
                !(graph_first && fl.fell_back),
                "the graph-first fixed point fell back"
            );
            let mut out: Vec<FnOutcome> = results
                .into_iter()
                .map(|(id, r)| {
                    let mut calls: Vec<_> = r.calls.into_iter().collect();
                    calls.sort_by_key(|c| c.0);
                    (id, r.ret, calls, r.edges)
                })
                .collect();
            out.sort_by_key(|r| (r.0.unit, r.0.idx));
            let mut summaries: Vec<(FnId, Taint)> = fl.summaries.into_iter().collect();
            summaries.sort_by_key(|(id, _)| (id.unit, id.idx));
            (out, summaries)
        };
        let (a, b) = (run(true), run(false));
        assert_eq!(a.0.len(), b.0.len());
        for (x, y) in a.0.iter().zip(&b.0) {
            assert_eq!(x, y, "{}", prog.fn_display(x.0));
        }
        assert_eq!(a.1, b.1);
    }

    #[test]
    fn graph_first_fixed_point_is_the_discovered_one() {
        // Chains, recursion carrying flow, mutual recursion, a call resolving to itself that carries
        // none, closures calling the crate's functions, and a function passed as a value.
        same_fixed_point(
            r#"
            fn source(req: &Request) -> String { req.query_string().to_string() }
            fn wrap(s: String) -> String { format!("<{}>", s) }
            fn chain(req: &Request) -> String { wrap(wrap(source(req))) }
            fn count(n: u32, s: String) -> String { if n == 0 { s } else { count(n - 1, s + "x") } }
            fn even(n: u32, s: String) -> String { if n == 0 { s } else { odd(n - 1, s) } }
            fn odd(n: u32, s: String) -> String { if n == 0 { String::new() } else { even(n - 1, s) } }
            struct Name(String);
            impl std::fmt::Display for Name {
                fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result { self.0.fmt(f) }
            }
            fn each(req: &Request) -> Vec<String> {
                vec![1, 2].iter().map(|n| wrap(format!("{}{}", n, source(req)))).collect()
            }
            fn run(req: &Request, db: &Db) {
                db.execute(&chain(req));
                db.execute(&count(3, source(req)));
                db.execute(&even(4, source(req)));
                let f = wrap;
                db.execute(&f(each(req).join(",")));
            }
            "#,
        );
        // A three-function cycle, recursion through a closure, crate methods under names the
        // analysis treats as its own (`clone`, `to_string`), and a method called with other arity.
        same_fixed_point(
            r#"
            fn a(n: u32, s: String) -> String { if n == 0 { s } else { b(n - 1, s) } }
            fn b(n: u32, s: String) -> String { c(n, s + "b") }
            fn c(n: u32, s: String) -> String { a(n, s) }
            fn walk(n: u32, s: String) -> String {
                (0..n).map(|i| walk(i, s.clone())).collect::<Vec<_>>().join(",")
            }
            struct Token(String);
            impl Token {
                fn clone(&self) -> Token { Token(self.0.to_string()) }
                fn to_string(&self) -> String { self.clone().0 }
                fn pair(&self, other: &Token) -> String { self.to_string() + &other.pair(self, 1) }
            }
            fn run(req: &Request, db: &Db) {
                let t = Token(req.query_string().to_string());
                db.execute(&a(3, t.to_string()));
                db.execute(&walk(2, t.clone().0));
                db.execute(&t.pair(&t));
            }
            "#,
        );
    }
}
