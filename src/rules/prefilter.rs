//! Which enabled cases on a target could still match an entity of which only part is built (the
//! engine builds only the call entities some case could match). Most cases on calls start with tests
//! of what the call is (`kind`, `name`, `callee`, `resolved`), and a package has a million calls but
//! a few thousand distinct callees: the cases passing those tests are found once per distinct callee
//! and remembered, and only they are decided on the entity.

use super::condition::Cond;
use super::view::{Entity, Prop};
use super::{Rule, RuleSet};
use std::collections::HashMap;
use std::hash::BuildHasher;
use std::sync::{Arc, RwLock};

/// The entity fields whose values key the memo: what the call is.
const KEYS: [&str; 4] = ["kind", "name", "callee", "resolved"];

/// The part of a condition that depends on the `KEYS` fields alone and that every match passes.
enum Gate<'r> {
    Test(&'r Cond),
    All(Vec<Gate<'r>>),
    Any(Vec<Gate<'r>>),
}

impl<'r> Gate<'r> {
    /// `None` when nothing of the condition is decided by the keys alone. A part that reads only the
    /// keys (a test, or an `all`/`any`/`not` of such) is a gate whole; members of an `all` that are
    /// not are left out (the rest is still necessary); an `any` is a gate only if each of its branches
    /// has one.
    fn of(cond: &'r Cond) -> Option<Gate<'r>> {
        if reads_keys_only(cond) {
            return Some(Gate::Test(cond));
        }
        match cond {
            Cond::All(cs) => {
                let gates: Vec<Gate> = cs.iter().filter_map(Gate::of).collect();
                (!gates.is_empty()).then_some(Gate::All(gates))
            }
            Cond::Any(cs) => cs
                .iter()
                .map(Gate::of)
                .collect::<Option<_>>()
                .map(Gate::Any),
            _ => None,
        }
    }

    fn passes(&self, v: Prop) -> bool {
        match self {
            Gate::Test(c) => c.eval(v),
            Gate::All(gs) => gs.iter().all(|g| g.passes(v)),
            Gate::Any(gs) => gs.iter().any(|g| g.passes(v)),
        }
    }
}

/// Whether a condition's outcome depends on the `KEYS` fields alone.
fn reads_keys_only(cond: &Cond) -> bool {
    match cond {
        Cond::Prop { path, .. } => path.len() == 1 && KEYS.contains(&path[0].as_str()),
        Cond::All(cs) | Cond::Any(cs) => !cs.is_empty() && cs.iter().all(reads_keys_only),
        Cond::Not(c) => reads_keys_only(c),
        Cond::Quant { .. } | Cond::Ordered { .. } => false,
    }
}

/// The cases passing their gates for one combination of key values.
type Passing = Arc<[u32]>;

/// Key values, and the cases passing their gates for them.
type Seen = (Box<[String]>, Passing);

pub struct CaseFilter<'r> {
    /// The enabled cases on the target: their conditions (`None`: the case matches every entity).
    conds: Vec<Option<&'r Cond>>,
    gates: Vec<Option<Gate<'r>>>,
    /// By the hash of the key values: the values, and the cases passing their gates.
    memo: RwLock<HashMap<u64, Vec<Seen>>>,
    key_paths: [Vec<String>; 4],
    hasher: std::collections::hash_map::RandomState,
}

impl<'r> CaseFilter<'r> {
    pub fn new(rules: &'r RuleSet, target: &str, enabled: &(dyn Fn(&Rule) -> bool + Sync)) -> Self {
        let conds: Vec<Option<&Cond>> = rules
            .rules
            .iter()
            .filter(|r| enabled(r))
            .flat_map(|r| &r.cases)
            .filter(|c| c.target == target)
            .map(|c| c.cond.as_ref())
            .collect();
        CaseFilter {
            gates: conds.iter().map(|c| c.and_then(Gate::of)).collect(),
            conds,
            memo: RwLock::default(),
            key_paths: KEYS.map(|k| vec![k.to_string()]),
            hasher: Default::default(),
        }
    }

    /// Whether some case could match `partial`, of which only the `known` property paths are filled
    /// in: a case is ruled out only when a known property already fails it.
    pub fn may_match(&self, partial: &dyn Entity, known: &dyn Fn(&[String]) -> bool) -> bool {
        let v = Prop::Entity(partial);
        let decide =
            |i: usize| self.conds[i].is_none_or(|cond| cond.decided(v, known) != Some(false));
        let values = KEYS.map(|k| partial.prop(k).as_str());
        if values.iter().any(Option::is_none) || !self.key_paths.iter().all(|p| known(p)) {
            return (0..self.conds.len()).any(decide);
        }
        let values = values.map(Option::unwrap_or_default);
        let passing = self.passing(v, values);
        passing.iter().any(|&i| decide(i as usize))
    }

    /// The cases whose gates an entity with these key values passes, remembered.
    fn passing(&self, v: Prop, values: [&str; 4]) -> Passing {
        let hash = self.hasher.hash_one(values);
        let same = |(seen, _): &&Seen| seen.iter().eq(values.iter());
        let memo = self.memo.read().unwrap_or_else(|e| e.into_inner());
        if let Some((_, p)) = memo.get(&hash).and_then(|l| l.iter().find(same)) {
            return p.clone();
        }
        drop(memo);
        let passing: Passing = (0..self.conds.len())
            .filter(|&i| self.gates[i].as_ref().is_none_or(|g| g.passes(v)))
            .map(|i| i as u32)
            .collect();
        let key = values.iter().map(|s| s.to_string()).collect();
        self.memo
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .entry(hash)
            .or_default()
            .push((key, passing.clone()));
        passing
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::condition::{prop, Op};
    use regex::Regex;
    use serde_json::{json, Value as Json};

    fn matches(path: &str, re: &str) -> Cond {
        prop(path, Op::Matches(Regex::new(re).unwrap()))
    }

    fn calls() -> Vec<Json> {
        let mut out = vec![];
        for (kind, name, resolved) in [
            ("method", "expect", "expect"),
            ("macro", "info", "tracing::info"),
            ("call", "sleep", "std::thread::sleep"),
            ("call", "new", "rocket::http::Cookie::new"),
            ("method", "add", "add"),
        ] {
            for flag in [true, false] {
                out.push(json!({"kind": kind, "name": name, "callee": name,
                    "resolved": resolved, "in_handler": flag, "args": [{"text": "token"}]}));
            }
        }
        out
    }

    /// A gate is necessary: every entity the whole condition matches passes it.
    #[test]
    fn gates_pass_every_match_and_rule_out_others() {
        let conds = [
            Cond::All(vec![
                prop("kind", Op::Equals(json!("method"))),
                prop("in_handler", Op::Equals(json!(true))),
            ]),
            Cond::Any(vec![
                matches("resolved", "^std::thread::sleep$"),
                Cond::All(vec![
                    prop("in_handler", Op::Equals(json!(true))),
                    matches("resolved", "^tracing::"),
                ]),
            ]),
            Cond::All(vec![
                Cond::Not(Box::new(matches("resolved", "^rocket::"))),
                prop("name", Op::In(vec![json!("new"), json!("add")])),
            ]),
            // A branch with no test of the keys: no gate at all.
            Cond::Any(vec![
                prop("name", Op::Equals(json!("expect"))),
                prop("in_handler", Op::Equals(json!(false))),
            ]),
        ];
        let docs = calls();
        let mut ruled_out = 0;
        for cond in &conds {
            let gate = Gate::of(cond);
            for d in &docs {
                let v = Prop::Json(d);
                let passes = gate.as_ref().is_none_or(|g| g.passes(v));
                assert!(passes || !cond.eval(v), "{cond:?} on {d}");
                ruled_out += usize::from(!passes);
            }
        }
        assert!(Gate::of(&conds[3]).is_none());
        assert!(ruled_out > 0, "the gates rule something out");
    }
}
