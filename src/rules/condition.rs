//! The condition language: tables combined with `all`/`any`/`not`, property tests (`prop` with one
//! operator), quantifiers over lists (`some`/`every`/`none` with `where`), and order within a list
//! (`ordered` with `first`/`then`, e.g. a cache layer outside an auth layer).

use super::props::{resolve, Shape};
use super::schema::RawCond;
use super::view::Prop;
use super::LoadCx;
use crate::policy_error::did_you_mean;
use regex::Regex;
use serde_json::Value as Json;
use toml::Spanned;

#[derive(Debug, Clone)]
pub enum Cond {
    All(Vec<Cond>),
    Any(Vec<Cond>),
    Not(Box<Cond>),
    Prop {
        path: Vec<String>,
        op: Op,
    },
    Quant {
        kind: Quant,
        path: Vec<String>,
        cond: Box<Cond>,
    },
    Ordered {
        path: Vec<String>,
        first: Box<Cond>,
        then: Box<Cond>,
    },
}

#[derive(Debug, Clone, Copy)]
pub enum Quant {
    Some,
    Every,
    None,
}

#[derive(Debug, Clone)]
pub enum Op {
    Equals(Json),
    In(Vec<Json>),
    Matches(Regex),
    Contains(Json),
    Intersects(Vec<Json>),
    Exists(bool),
    Cmp(std::cmp::Ordering, bool, f64),
    InCatalog(Vec<Regex>),
}

pub fn toml_to_json(v: &toml::Value) -> Json {
    match v {
        toml::Value::String(s) => Json::String(s.clone()),
        toml::Value::Integer(i) => Json::from(*i),
        toml::Value::Float(f) => serde_json::Number::from_f64(*f)
            .map(Json::Number)
            .unwrap_or(Json::Null),
        toml::Value::Boolean(b) => Json::Bool(*b),
        toml::Value::Datetime(d) => Json::String(d.to_string()),
        toml::Value::Array(a) => Json::Array(a.iter().map(toml_to_json).collect()),
        toml::Value::Table(t) => Json::Object(
            t.iter()
                .map(|(k, v)| (k.clone(), toml_to_json(v)))
                .collect(),
        ),
    }
}

fn split(path: &str) -> Vec<String> {
    if path == "." {
        vec![]
    } else {
        path.split('.').map(str::to_string).collect()
    }
}

impl LoadCx<'_> {
    fn check_path<'s>(&mut self, shape: &'s Shape, path: &Spanned<String>) -> Option<&'s Shape> {
        match resolve(shape, path.get_ref()) {
            Ok(s) => Some(s),
            Err(valid) => {
                let last = path.get_ref().rsplit('.').next().unwrap_or("");
                let mut e = self.err(
                    path.span(),
                    format!(
                        "unknown property `{}` for target `{}`",
                        path.get_ref(),
                        self.target
                    ),
                );
                e.help = did_you_mean(last, valid.iter().copied()).or_else(|| {
                    (!valid.is_empty()).then(|| format!("properties here: {}", valid.join(", ")))
                });
                self.errors.push(e);
                None
            }
        }
    }

    pub fn compile_cond(&mut self, raw: &Spanned<RawCond>, shape: &Shape) -> Option<Cond> {
        let r = raw.get_ref();
        let span = raw.span();
        let mut forms = vec![];
        if r.all.is_some() {
            forms.push("all");
        }
        if r.any.is_some() {
            forms.push("any");
        }
        if r.not.is_some() {
            forms.push("not");
        }
        if r.prop.is_some() {
            forms.push("prop");
        }
        if r.some.is_some() || r.every.is_some() || r.none.is_some() {
            forms.push("some/every/none");
        }
        if r.ordered.is_some() {
            forms.push("ordered");
        }
        if forms.len() != 1 {
            let msg = if forms.is_empty() {
                "empty condition".to_string()
            } else {
                format!("a condition has one form, found {}", forms.join(" and "))
            };
            self.errors.push(self.err(span, msg).with_help(
                "write one of: `all = [..]`, `any = [..]`, `not = {..}`, `{ prop = \"..\", <operator> = .. }`, `{ some = \"list\", where = {..} }`, `{ ordered = \"list\", first = {..}, then = {..} }`",
            ));
            return None;
        }
        if let Some(list) = r.all.as_ref().or(r.any.as_ref()) {
            let items: Vec<Cond> = list
                .iter()
                .filter_map(|c| self.compile_cond(c, shape))
                .collect();
            if items.len() != list.len() {
                return None;
            }
            return Some(if r.all.is_some() {
                Cond::All(items)
            } else {
                Cond::Any(items)
            });
        }
        if let Some(inner) = &r.not {
            return self
                .compile_cond(inner, shape)
                .map(|c| Cond::Not(Box::new(c)));
        }
        if let Some(prop) = &r.prop {
            self.check_path(shape, prop)?;
            let op = self.compile_op(r, span)?;
            return Some(Cond::Prop {
                path: split(prop.get_ref()),
                op,
            });
        }
        if let Some((kind, list)) = r
            .some
            .as_ref()
            .map(|l| (Quant::Some, l))
            .or(r.every.as_ref().map(|l| (Quant::Every, l)))
            .or(r.none.as_ref().map(|l| (Quant::None, l)))
        {
            let inner_shape = self.list_shape(shape, list)?;
            let Some(w) = &r.where_ else {
                self.errors
                    .push(self.err(span, "a quantifier needs `where = { .. }`"));
                return None;
            };
            let cond = self.compile_cond(w, &inner_shape)?;
            return Some(Cond::Quant {
                kind,
                path: split(list.get_ref()),
                cond: Box::new(cond),
            });
        }
        if let Some(list) = &r.ordered {
            let inner_shape = self.list_shape(shape, list)?;
            let (Some(first), Some(then)) = (&r.first, &r.then) else {
                self.errors
                    .push(self.err(span, "`ordered` needs `first = { .. }` and `then = { .. }`"));
                return None;
            };
            let first = self.compile_cond(first, &inner_shape)?;
            let then = self.compile_cond(then, &inner_shape)?;
            return Some(Cond::Ordered {
                path: split(list.get_ref()),
                first: Box::new(first),
                then: Box::new(then),
            });
        }
        None
    }

    fn list_shape(&mut self, shape: &Shape, list: &Spanned<String>) -> Option<Shape> {
        match self.check_path(shape, list)? {
            Shape::List(inner) => Some((**inner).clone()),
            _ => {
                self.errors
                    .push(self.err(list.span(), format!("`{}` is not a list", list.get_ref())));
                None
            }
        }
    }

    fn compile_op(&mut self, r: &RawCond, span: std::ops::Range<usize>) -> Option<Op> {
        let mut ops: Vec<Op> = vec![];
        if let Some(v) = &r.equals {
            ops.push(Op::Equals(toml_to_json(v.get_ref())));
        }
        if let Some(v) = &r.in_ {
            ops.push(Op::In(v.get_ref().iter().map(toml_to_json).collect()));
        }
        if let Some(v) = &r.matches {
            match Regex::new(v.get_ref()) {
                Ok(re) => ops.push(Op::Matches(re)),
                Err(e) => {
                    let detail = e
                        .to_string()
                        .lines()
                        .last()
                        .unwrap_or_default()
                        .trim()
                        .trim_start_matches("error: ")
                        .to_string();
                    self.errors.push(
                        self.err(v.span(), "invalid regular expression")
                            .with_help(detail),
                    );
                    return None;
                }
            }
        }
        if let Some(v) = &r.contains {
            ops.push(Op::Contains(toml_to_json(v.get_ref())));
        }
        if let Some(v) = &r.intersects {
            ops.push(Op::Intersects(
                v.get_ref().iter().map(toml_to_json).collect(),
            ));
        }
        if let Some(v) = &r.exists {
            ops.push(Op::Exists(*v.get_ref()));
        }
        for (v, ord, eq) in [
            (&r.gt, std::cmp::Ordering::Greater, false),
            (&r.ge, std::cmp::Ordering::Greater, true),
            (&r.lt, std::cmp::Ordering::Less, false),
            (&r.le, std::cmp::Ordering::Less, true),
        ] {
            if let Some(v) = v {
                ops.push(Op::Cmp(ord, eq, *v.get_ref()));
            }
        }
        if let Some(v) = &r.in_catalog {
            match self.catalog.path_list(v.get_ref()) {
                Some(list) => ops.push(Op::InCatalog(list.to_vec())),
                None => {
                    let names: Vec<&str> = self.catalog.paths.keys().map(String::as_str).collect();
                    let mut e = self.err(
                        v.span(),
                        format!("no catalog pattern list named `{}`", v.get_ref()),
                    );
                    e.help = did_you_mean(v.get_ref(), names.iter().copied())
                        .or_else(|| Some(format!("lists in the catalog: {}", names.join(", "))));
                    self.errors.push(e);
                    return None;
                }
            }
        }
        if ops.len() != 1 {
            self.errors.push(self.err(span, format!("`prop` needs exactly one operator, found {}", ops.len())).with_help(
                "operators: equals, in, matches, contains, intersects, exists, gt, ge, lt, le, in-catalog",
            ));
            return None;
        }
        ops.pop()
    }
}

pub fn lookup_path<'v>(v: Prop<'v>, path: &str) -> Prop<'v> {
    v.lookup(&split(path))
}

impl Op {
    /// The test of a `prop` condition on the value found at its path (`Absent`: no such property).
    pub(super) fn test_value(&self, val: Prop) -> bool {
        match self {
            Op::Exists(want) => (!val.is_absent() && !val.is_null()) == *want,
            _ => !val.is_absent() && self.test(val),
        }
    }
}

fn loose_eq_json(a: &Json, b: &Json) -> bool {
    match (a, b) {
        (Json::Number(x), Json::Number(y)) => x.as_f64() == y.as_f64(),
        // Case does not matter: `post` and `POST` are the same method, `OFF` and `off` the same state.
        (Json::String(x), Json::String(y)) => x.eq_ignore_ascii_case(y),
        _ => a == b,
    }
}

/// Equality of a property value with a rule's value: numbers by value, strings whatever their case,
/// anything else as its serialization.
fn loose_eq(a: Prop, b: &Json) -> bool {
    match (a, b) {
        (Prop::Json(x), _) => loose_eq_json(x, b),
        (Prop::Int(x), Json::Number(y)) => Some(x as f64) == y.as_f64(),
        (Prop::Str(x), Json::String(y)) => x.eq_ignore_ascii_case(y),
        (Prop::Bool(x), Json::Bool(y)) => x == *y,
        (Prop::Null, Json::Null) => true,
        (Prop::Absent | Prop::Null | Prop::Bool(_) | Prop::Int(_) | Prop::Str(_), _) => false,
        (Prop::Strs(_) | Prop::Ints(_) | Prop::List(_) | Prop::Entity(_) | Prop::Loc(_), _) => {
            a.to_json() == *b
        }
    }
}

impl Cond {
    pub fn eval(&self, v: Prop) -> bool {
        match self {
            Cond::All(cs) => cs.iter().all(|c| c.eval(v)),
            Cond::Any(cs) => cs.iter().any(|c| c.eval(v)),
            Cond::Not(c) => !c.eval(v),
            Cond::Prop { path, op } => op.test_value(v.lookup(path)),
            Cond::Quant { kind, path, cond } => {
                let list = v.lookup(path);
                let mut items = list.items().into_iter().flatten();
                match kind {
                    Quant::Some => items.any(|i| cond.eval(i)),
                    Quant::Every => items.all(|i| cond.eval(i)),
                    Quant::None => !items.any(|i| cond.eval(i)),
                }
            }
            Cond::Ordered { path, first, then } => {
                let list = v.lookup(path);
                let n = list.list_len().unwrap_or(0);
                (0..n).any(|i| first.eval(list.at(i)) && (i + 1..n).any(|j| then.eval(list.at(j))))
            }
        }
    }
}

impl Cond {
    /// The condition on an entity of which only some properties are filled in yet (`known` says which
    /// paths): `Some(answer)` when those decide it, `None` when it depends on the others. Lets the model
    /// skip building what no rule could match.
    pub fn decided(&self, v: Prop, known: &dyn Fn(&[String]) -> bool) -> Option<bool> {
        match self {
            Cond::All(cs) => all3(cs.iter().map(|c| c.decided(v, known))),
            Cond::Any(cs) => any3(cs.iter().map(|c| c.decided(v, known))),
            Cond::Not(c) => c.decided(v, known).map(|b| !b),
            Cond::Prop { path, .. } | Cond::Quant { path, .. } | Cond::Ordered { path, .. } => {
                known(path).then(|| self.eval(v))
            }
        }
    }
}

/// Three-valued `all`: false as soon as one is, unknown if one is and none is false.
fn all3(answers: impl Iterator<Item = Option<bool>>) -> Option<bool> {
    let mut out = Some(true);
    for a in answers {
        match a {
            Some(false) => return Some(false),
            None => out = None,
            Some(true) => {}
        }
    }
    out
}

/// Three-valued `any`: true as soon as one is, unknown if one is and none is true.
fn any3(answers: impl Iterator<Item = Option<bool>>) -> Option<bool> {
    all3(answers.map(|a| a.map(|b| !b))).map(|b| !b)
}

impl Op {
    fn test(&self, x: Prop) -> bool {
        match self {
            Op::Equals(want) => loose_eq(x, want),
            Op::In(list) => list.iter().any(|w| loose_eq(x, w)),
            Op::Matches(re) => {
                if let Some(s) = x.as_str() {
                    re.is_match(s)
                } else if let Some(mut items) = x.items() {
                    items.any(|i| i.as_str().is_some_and(|s| re.is_match(s)))
                } else if x.is_null() {
                    false
                } else {
                    // A number, boolean or object is matched as its JSON text.
                    re.is_match(&x.to_json().to_string())
                }
            }
            Op::Contains(want) => {
                if let Some(mut items) = x.items() {
                    items.any(|i| loose_eq(i, want))
                } else if let Some(s) = x.as_str() {
                    want.as_str().is_some_and(|w| s.contains(w))
                } else {
                    false
                }
            }
            Op::Intersects(list) => match x.items() {
                Some(mut items) => items.any(|i| list.iter().any(|w| loose_eq(i, w))),
                None => list.iter().any(|w| loose_eq(x, w)),
            },
            Op::Exists(_) => true,
            Op::Cmp(ord, eq, n) => x.as_f64().is_some_and(|v| {
                let c = v.partial_cmp(n);
                c == Some(*ord) || (*eq && c == Some(std::cmp::Ordering::Equal))
            }),
            Op::InCatalog(res) => {
                if let Some(s) = x.as_str() {
                    res.iter().any(|r| r.is_match(s))
                } else if let Some(mut items) = x.items() {
                    items.any(|i| {
                        i.as_str()
                            .is_some_and(|s| res.iter().any(|r| r.is_match(s)))
                    })
                } else {
                    false
                }
            }
        }
    }
}

/// A property test, for tests: `prop("args.0.text", op)`.
#[cfg(test)]
pub(crate) fn prop(path: &str, op: Op) -> Cond {
    Cond::Prop {
        path: path.split('.').map(str::to_string).collect(),
        op,
    }
}

#[cfg(test)]
mod tests {
    use super::super::{RuleSet, RuleSource};
    use super::Prop;
    use crate::catalog::Catalog;
    use serde_json::json;
    use std::sync::Arc;

    fn catalog() -> Catalog {
        Catalog::load(&[(
            "paths.toml".into(),
            Arc::from("[paths]\ncredential-endpoints = [\"(?i)/login$\"]\n"),
        )])
        .unwrap()
    }

    /// Compiles a one-case rule over routes with the given `when` and evaluates it on `route`.
    fn holds(when: &str, route: serde_json::Value) -> bool {
        let text = format!("id = \"t\"\ntitle = \"t\"\nseverity = \"note\"\ncategory = \"c\"\ndescription = \"d\"\nmessage = \"m\"\n[[match]]\ntarget = \"route\"\nwhen = {when}\n");
        let set = RuleSet::load(
            &[RuleSource {
                name: "t.toml".into(),
                text: Arc::from(text),
            }],
            &catalog(),
        )
        .unwrap_or_else(|e| panic!("{:?}", e));
        set.rules[0].cases[0]
            .cond
            .as_ref()
            .unwrap()
            .eval(Prop::Json(&route))
    }

    fn route() -> serde_json::Value {
        json!({
            "methods": ["POST"],
            "path": "/api/login",
            "auth": { "status": "none", "sources": [] },
            "cache": { "shared": true, "directives": "public, max-age=60" },
            "middleware": [
                { "name": "CacheLayer", "capability": "cache", "tags": ["response-cache"] },
                { "name": "from_fn(auth)", "capability": "auth", "tags": [] },
                { "name": "TraceLayer", "capability": "trace", "tags": [] }
            ]
        })
    }

    #[test]
    fn property_operators() {
        assert!(holds(
            r#"{ prop = "auth.status", equals = "NONE" }"#,
            route()
        ));
        assert!(holds(r#"{ prop = "methods", contains = "post" }"#, route()));
        assert!(holds(
            r#"{ prop = "methods", intersects = ["PUT", "POST"] }"#,
            route()
        ));
        assert!(!holds(
            r#"{ prop = "methods", intersects = ["GET"] }"#,
            route()
        ));
        assert!(holds(r#"{ prop = "path", matches = "^/api/" }"#, route()));
        assert!(holds(
            r#"{ prop = "path", in-catalog = "credential-endpoints" }"#,
            route()
        ));
        assert!(holds(
            r#"{ prop = "cache.directives", contains = "max-age" }"#,
            route()
        ));
        assert!(holds(
            r#"{ prop = "auth.status", in = ["optional", "none"] }"#,
            route()
        ));
        assert!(holds(
            r#"{ prop = "handler_loc", exists = false }"#,
            route()
        ));
        assert!(holds(r#"{ prop = "app", exists = false }"#, route()));
    }

    #[test]
    fn numeric_comparisons() {
        let r = json!({ "app": 3 });
        assert!(holds(r#"{ prop = "app", gt = 2 }"#, r.clone()));
        assert!(holds(r#"{ prop = "app", ge = 3 }"#, r.clone()));
        assert!(!holds(r#"{ prop = "app", lt = 3 }"#, r.clone()));
        assert!(holds(r#"{ prop = "app", le = 3.0 }"#, r));
    }

    #[test]
    fn combinators_and_quantifiers() {
        assert!(holds(
            r#"{ all = [{ prop = "cache.shared", equals = true }, { not = { prop = "auth.status", equals = "enforced" } }] }"#,
            route()
        ));
        assert!(holds(
            r#"{ any = [{ prop = "path", equals = "/x" }, { prop = "path", equals = "/api/login" }] }"#,
            route()
        ));
        assert!(holds(
            r#"{ some = "middleware", where = { prop = "capability", equals = "auth" } }"#,
            route()
        ));
        assert!(!holds(
            r#"{ every = "middleware", where = { prop = "capability", equals = "auth" } }"#,
            route()
        ));
        assert!(holds(
            r#"{ none = "middleware", where = { prop = "capability", equals = "rate-limit" } }"#,
            route()
        ));
        assert!(holds(
            r#"{ every = "methods", where = { prop = ".", in = ["POST", "PUT"] } }"#,
            route()
        ));
    }

    #[test]
    fn order_within_a_list() {
        let cache_outside = r#"{ ordered = "middleware", first = { prop = "tags", contains = "response-cache" }, then = { prop = "capability", equals = "auth" } }"#;
        let auth_outside = r#"{ ordered = "middleware", first = { prop = "capability", equals = "auth" }, then = { prop = "tags", contains = "response-cache" } }"#;
        assert!(holds(cache_outside, route()));
        assert!(!holds(auth_outside, route()));
    }

    #[test]
    fn malformed_conditions_are_rejected_with_their_location() {
        let text = "id = \"t\"\ntitle = \"t\"\nseverity = \"note\"\ncategory = \"c\"\ndescription = \"d\"\nmessage = \"m\"\n[[match]]\ntarget = \"route\"\nwhen = { prop = \"path\", equals = \"/\", matches = \"x\" }\n[[match]]\ntarget = \"route\"\nwhen = { some = \"path\", where = { prop = \".\", equals = 1 } }\n[[match]]\ntarget = \"route\"\nwhen = { prop = \"path\", in-catalog = \"credentials\" }\n";
        let errs = RuleSet::load(
            &[RuleSource {
                name: "t.toml".into(),
                text: Arc::from(text),
            }],
            &catalog(),
        )
        .unwrap_err();
        let msgs: Vec<String> = errs
            .iter()
            .map(|e| format!("{}:{} {}", e.line_col().0, e.line_col().1, e.message))
            .collect();
        assert!(
            msgs.iter()
                .any(|m| m.starts_with("9:") && m.contains("exactly one operator")),
            "{msgs:?}"
        );
        assert!(
            msgs.iter()
                .any(|m| m.starts_with("12:") && m.contains("is not a list")),
            "{msgs:?}"
        );
        assert!(
            msgs.iter().any(|m| m.starts_with("15:")
                && m.contains("no catalog pattern list named `credentials`")),
            "{msgs:?}"
        );
    }
}
