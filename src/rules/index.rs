//! Which entities a case needs to test. A call-level rule usually starts with a test on one scalar
//! property (`kind`, `name`, `callee`): entities are grouped by the values of such properties once, the
//! test runs once per distinct value, and only the entities of passing groups are evaluated in full.
//! Results are exactly those of testing every entity, because a failed conjunct fails the whole `all`.

use super::condition::{Cond, Op};
use super::view::Prop;
use serde_json::Value as Json;
use std::collections::HashMap;

/// A scalar value as a grouping key, borrowed where it can be.
#[derive(PartialEq, Eq, Hash)]
enum Key<'a> {
    Absent,
    Null,
    Bool(bool),
    Str(&'a str),
    Num(String),
}

/// The entities of one target list grouped by the value at one path.
pub struct Groups<'a> {
    /// Each distinct value with the indices of its entities, ascending.
    groups: Vec<(Prop<'a>, Vec<u32>)>,
}

impl<'a> Groups<'a> {
    /// `None` when some entity holds a list or table there: such values are not worth grouping.
    pub fn new(list: &[Prop<'a>], path: &[String]) -> Option<Groups<'a>> {
        let mut slot: HashMap<Key<'a>, usize> = HashMap::new();
        let mut groups: Vec<(Prop<'a>, Vec<u32>)> = vec![];
        for (i, e) in list.iter().enumerate() {
            let v = e.lookup(path);
            let key = match v {
                Prop::Absent => Key::Absent,
                Prop::Null | Prop::Json(Json::Null) => Key::Null,
                Prop::Bool(b) | Prop::Json(&Json::Bool(b)) => Key::Bool(b),
                Prop::Str(s) => Key::Str(s),
                Prop::Json(Json::String(s)) => Key::Str(s),
                Prop::Int(n) => Key::Num(n.to_string()),
                Prop::Json(Json::Number(n)) => Key::Num(n.to_string()),
                Prop::Strs(_)
                | Prop::Ints(_)
                | Prop::List(_)
                | Prop::Entity(_)
                | Prop::Loc(_)
                | Prop::Json(Json::Array(_) | Json::Object(_)) => return None,
            };
            let n = *slot.entry(key).or_insert_with(|| {
                groups.push((v, vec![]));
                groups.len() - 1
            });
            groups[n].1.push(i as u32);
        }
        Some(Groups { groups })
    }

    /// The entities whose value passes `op`, ascending.
    fn passing(&self, op: &Op) -> Vec<u32> {
        let mut out: Vec<u32> = self
            .groups
            .iter()
            .filter(|(v, _)| op.test_value(*v))
            .flat_map(|(_, ids)| ids.iter().copied())
            .collect();
        out.sort_unstable();
        out
    }
}

/// The top-level property tests of a condition that every match must pass: the `prop` itself, or the
/// `prop` members of a top-level `all`.
pub fn required_props(cond: &Cond) -> Vec<(&[String], &Op)> {
    match cond {
        Cond::Prop { path, op } => vec![(path.as_slice(), op)],
        Cond::All(cs) => cs
            .iter()
            .filter_map(|c| match c {
                Cond::Prop { path, op } => Some((path.as_slice(), op)),
                _ => None,
            })
            .collect(),
        _ => vec![],
    }
    .into_iter()
    // Grouping costs a walk over every entity: only the entity's own fields are worth it.
    .filter(|(path, _)| path.len() == 1)
    .collect()
}

/// The entities a case must test: those passing its most selective grouped property test, or `None`
/// (every entity) when none of its required tests has groups.
pub fn candidates<'c, 'g, 'a: 'g>(
    cond: &'c Cond,
    groups: impl Fn(&'c [String]) -> Option<&'g Groups<'a>>,
) -> Option<Vec<u32>> {
    required_props(cond)
        .into_iter()
        .filter_map(|(path, op)| Some(groups(path)?.passing(op)))
        .min_by_key(Vec::len)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::condition::prop;
    use serde_json::json;

    fn documents() -> Vec<Json> {
        vec![
            json!({"name": "query", "kind": "fn", "args": [1]}),
            json!({"name": "execute", "kind": "method"}),
            json!({"kind": "macro"}),
            json!({"name": null, "kind": "method"}),
            json!({"name": "QUERY", "kind": "method", "n": 1}),
            json!({"name": "1", "kind": "fn", "n": "1"}),
        ]
    }

    /// Candidates are exactly the brute-force matches once the full condition is applied.
    fn agrees(cond: &Cond) -> Option<Vec<u32>> {
        let docs = documents();
        let list: Vec<Prop> = docs.iter().map(Prop::Json).collect();
        let paths: Vec<Vec<String>> = required_props(cond)
            .iter()
            .map(|(p, _)| p.to_vec())
            .collect();
        let groups: Vec<(Vec<String>, Groups)> = paths
            .iter()
            .filter_map(|p| Some((p.clone(), Groups::new(&list, p)?)))
            .collect();
        let chosen = candidates(cond, |path| {
            groups.iter().find(|(p, _)| p == path).map(|(_, g)| g)
        });
        let brute: Vec<u32> = (0..list.len() as u32)
            .filter(|i| cond.eval(list[*i as usize]))
            .collect();
        let via_index: Vec<u32> = chosen
            .clone()
            .unwrap_or_else(|| (0..list.len() as u32).collect())
            .into_iter()
            .filter(|i| cond.eval(list[*i as usize]))
            .collect();
        assert_eq!(via_index, brute, "{cond:?}");
        chosen
    }

    #[test]
    fn grouped_tests_select_exactly_the_matching_entities() {
        let name_is_query = prop("name", Op::Equals(json!("query")));
        // Case-insensitive equality, like the condition itself.
        assert_eq!(agrees(&name_is_query), Some(vec![0, 4]));
        let both = Cond::All(vec![
            prop("kind", Op::Equals(json!("method"))),
            name_is_query.clone(),
        ]);
        // The most selective test wins, and the full condition still applies.
        assert_eq!(agrees(&both), Some(vec![0, 4]));
        assert_eq!(agrees(&prop("name", Op::Exists(false))), Some(vec![2, 3]));
        assert_eq!(
            agrees(&prop("name", Op::In(vec![json!("execute"), json!("1")]))),
            Some(vec![1, 5])
        );
        // `1` and `"1"` are different values.
        assert_eq!(agrees(&prop("n", Op::Equals(json!(1)))), Some(vec![4]));
    }

    #[test]
    fn lists_tables_nested_paths_and_alternatives_are_not_grouped() {
        assert_eq!(agrees(&prop("args", Op::Exists(true))), None);
        assert_eq!(agrees(&prop("args.0", Op::Equals(json!(1)))), None);
        let either = Cond::Any(vec![
            prop("name", Op::Equals(json!("query"))),
            prop("kind", Op::Equals(json!("macro"))),
        ]);
        assert_eq!(agrees(&either), None);
        assert_eq!(
            agrees(&Cond::Not(Box::new(prop("kind", Op::Equals(json!("fn")))))),
            None
        );
    }
}
