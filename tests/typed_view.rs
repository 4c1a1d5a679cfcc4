//! Rules read the model through a typed view (`src/rules/view.rs`, `src/rules/entities.rs`) instead of its
//! JSON serialization. For the models of every fixture, each entity of each target gives, at every
//! property path of the target's schema and at every key its serialization has, the same value as the
//! serialization: a renamed, missing or mis-mapped property fails here.

mod common;
use common::*;
use portcullis::discover::discover;
use portcullis::engine::{analyze, load_policy};
use portcullis::rules::entities::target_entities;
use portcullis::rules::props::{target_shape, Shape, TARGETS};
use portcullis::rules::view::Prop;
use serde_json::Value as Json;
use std::collections::BTreeMap;

/// The model field holding a target's entities, as the model serializes it.
fn model_field(target: &str) -> &'static str {
    match target {
        "route" => "routes",
        "input" => "inputs",
        "handler" => "handlers",
        "type" => "types",
        "listener" => "listeners",
        "app" => "apps",
        "call" => "calls",
        "config" => "config",
        "auth_check" => "auth_checks",
        "advisory" => "advisories",
        "function" => "functions",
        "suppression" => "suppressions",
        other => panic!("no model field for target `{other}`"),
    }
}

/// Whether a typed value is the serialized one, checked key by key (objects, locations) and element by
/// element (lists) down to the scalars.
fn same(typed: Prop, json: Option<&Json>, at: &str, errors: &mut Vec<String>) {
    let mut fail = |why: &str| errors.push(format!("{at}: {why}: typed {typed:?}, json {json:?}"));
    match (typed, json) {
        (Prop::Absent, None) => {}
        (Prop::Absent, Some(_)) => fail("missing in the typed view"),
        (_, None) => fail("not in the serialization"),
        (Prop::Entity(_) | Prop::Loc(_), Some(Json::Object(m))) => {
            for (k, v) in m {
                same(typed.get(k), Some(v), &format!("{at}.{k}"), errors);
            }
            if !typed.get("no_such_property").is_absent() {
                errors.push(format!("{at}: an unknown property is not absent"));
            }
        }
        (Prop::Strs(_) | Prop::Ints(_) | Prop::List(_), Some(Json::Array(a))) => {
            if typed.list_len() != Some(a.len()) {
                fail("lengths differ");
                return;
            }
            for (i, v) in a.iter().enumerate() {
                same(typed.at(i), Some(v), &format!("{at}.{i}"), errors);
            }
            if !typed.at(a.len()).is_absent() {
                errors.push(format!("{at}: an element past the end is not absent"));
            }
        }
        (Prop::Entity(_) | Prop::Loc(_) | Prop::Strs(_) | Prop::Ints(_) | Prop::List(_), _) => {
            fail("different shapes")
        }
        (Prop::Json(t), Some(j)) => {
            if t != j {
                fail("different values")
            }
        }
        (Prop::Null | Prop::Bool(_) | Prop::Int(_) | Prop::Str(_), Some(j)) => {
            if typed.to_json() != *j {
                fail("different values")
            }
        }
    }
}

/// Every property path of a shape that the serialized entity has: fields of objects, every element of
/// lists, the fields of locations.
fn paths(shape: &Shape, json: &Json, prefix: &str, out: &mut Vec<String>) {
    let join = |seg: &str| {
        if prefix.is_empty() {
            seg.to_string()
        } else {
            format!("{prefix}.{seg}")
        }
    };
    match (shape, json) {
        // An optional object that is absent (`sent_cookie` of a call that sends none) has no paths.
        (Shape::Object(_), Json::Null) => {}
        (Shape::Object(fields), _) => {
            for (name, s) in fields {
                let p = join(name);
                out.push(p.clone());
                if let Some(v) = json.get(*name) {
                    paths(s, v, &p, out);
                }
            }
        }
        (Shape::List(inner), Json::Array(a)) => {
            for (i, v) in a.iter().enumerate() {
                let p = join(&i.to_string());
                out.push(p.clone());
                paths(inner, v, &p, out);
            }
        }
        (Shape::Loc, Json::Object(_)) => {
            for f in ["file", "line", "col", "end_line", "end_col", "start", "end"] {
                out.push(join(f));
            }
        }
        _ => {}
    }
}

fn split(path: &str) -> Vec<String> {
    path.split('.').map(str::to_string).collect()
}

#[test]
fn the_typed_view_reads_what_the_serialization_holds() {
    let policy = load_policy(&[]).expect("the built-in rules load");
    let fixtures = fixture_paths();
    let mut errors = vec![];
    let mut seen: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    for dir in &fixtures {
        let name = dir.file_name().unwrap().to_string_lossy().into_owned();
        let disc = discover(std::slice::from_ref(dir), Default::default()).unwrap();
        let model = analyze(&disc, &policy, &|_| true).model;
        let doc = serde_json::to_value(&model).unwrap();
        for target in TARGETS {
            let shape = target_shape(target).unwrap();
            let typed = target_entities(&model, target);
            let json = doc[model_field(target)].as_array().unwrap();
            assert_eq!(typed.len(), json.len(), "{name}: {target} count");
            for (i, (t, j)) in typed.iter().zip(json).enumerate() {
                let at = format!("{name}: {target}[{i}]");
                // Every key the serialization has.
                same(*t, Some(j), &at, &mut errors);
                // Every path of the schema, looked up as rules look it up, in both.
                let mut ps = vec![];
                paths(&shape, j, "", &mut ps);
                let count = seen.entry(target).or_default();
                count.0 += 1;
                count.1 += ps.len();
                for p in &ps {
                    let path = split(p);
                    let from_json = Prop::Json(j).lookup(&path);
                    if from_json.is_absent() {
                        errors.push(format!("{at}: schema property `{p}` is not serialized"));
                    }
                    let from_json = match from_json {
                        Prop::Json(v) => Some(v),
                        _ => None,
                    };
                    same(
                        t.lookup(&path),
                        from_json,
                        &format!("{at}.{p}"),
                        &mut errors,
                    );
                }
            }
        }
    }
    errors.truncate(40);
    assert!(errors.is_empty(), "{}", errors.join("\n"));
    eprintln!("entities and schema paths compared per target: {seen:?}");
    for target in TARGETS {
        assert!(
            seen.get(target).is_some_and(|c| c.0 > 0),
            "no fixture has a `{target}` entity: {seen:?}"
        );
    }
}

/// The typed values themselves, not only their agreement with the serialization: renamed fields, enum
/// names, options and locations.
#[test]
fn typed_values_have_their_serialized_names() {
    let policy = load_policy(&[]).expect("the built-in rules load");
    let main = r#"
        #[derive(serde::Deserialize)]
        struct Q { r#type: String }
        async fn h(axum::extract::Query(q): axum::extract::Query<Q>) -> String { q.r#type }
        #[tokio::main]
        async fn main() {
            let app = axum::Router::new().route("/q", axum::routing::get(h));
            let listener = tokio::net::TcpListener::bind("0.0.0.0:80").await.unwrap();
            axum::serve(listener, app).await.unwrap();
        }
    "#;
    let out =
        portcullis::engine::analyze_sources("demo", &[("src/main.rs", main)], &policy, &|_| true);
    let input = target_entities(&out.model, "input")[0];
    assert_eq!(input.get("type").as_str(), Some("Q"));
    assert!(input.get("ty").is_absent());
    let call = target_entities(&out.model, "call")
        .into_iter()
        .find(|c| c.get("name").as_str() == Some("bind"))
        .unwrap();
    assert_eq!(call.get("kind").as_str(), Some("call"));
    assert_eq!(
        call.lookup(&split("args.0.value")).to_json(),
        Json::from("0.0.0.0:80")
    );
    assert!(call.lookup(&split("loc.line")).as_f64() == Some(8.0));
    let route = target_entities(&out.model, "route")[0];
    assert!(matches!(route.get("app"), Prop::Int(0)));
    assert!(route.get("handler_loc").as_loc().is_some());
}
