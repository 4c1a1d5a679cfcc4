//! The README's rule table and property reference are generated from the rule files and the property
//! schema (one source). This test fails when they drift; `UPDATE_SNAPSHOTS=1 cargo test --test docs`
//! rewrites them.

mod common;
use portcullis::rules::props::{target_shape, Shape, TARGETS};

fn rule_table() -> String {
    let policy = portcullis::engine::load_policy(&[]).unwrap();
    let mut out =
        String::from("| Rule | Tier | Severity | Tags | What it finds |\n|---|---|---|---|---|\n");
    for r in &policy.rules.rules {
        out.push_str(&format!(
            "| `{}` | {} | {} | {} | {} |\n",
            r.id,
            r.tier.as_str(),
            r.severity.as_str(),
            r.tags.join(", "),
            r.title
        ));
    }
    out
}

fn describe(shape: &Shape, prefix: &str, out: &mut Vec<String>) {
    let Shape::Object(fields) = shape else { return };
    for (name, s) in fields {
        let p = if prefix.is_empty() {
            name.to_string()
        } else {
            format!("{prefix}.{name}")
        };
        match s {
            Shape::Object(_) => describe(s, &p, out),
            Shape::List(inner) if matches!(**inner, Shape::Object(_)) => {
                out.push(format!("`{p}[]`"));
                describe(inner, &format!("{p}[]"), out);
            }
            Shape::List(_) => out.push(format!("`{p}[]`")),
            Shape::Loc => out.push(format!("`{p}` (location)")),
            _ => out.push(format!("`{p}`")),
        }
    }
}

fn property_reference() -> String {
    let mut out = String::new();
    for t in TARGETS {
        let mut props = vec![];
        describe(&target_shape(t).unwrap(), "", &mut props);
        out.push_str(&format!("- **{t}**: {}\n", props.join(", ")));
    }
    out
}

fn replace_block(text: &str, name: &str, body: &str) -> String {
    let start = format!("<!-- {name}:start -->\n");
    let end = format!("<!-- {name}:end -->");
    let a = text
        .find(&start)
        .unwrap_or_else(|| panic!("README lacks {start}"))
        + start.len();
    let b = text
        .find(&end)
        .unwrap_or_else(|| panic!("README lacks {end}"));
    format!("{}{}{}", &text[..a], body, &text[b..])
}

#[test]
fn readme_tables_are_generated_from_the_rules() {
    let path = common::repo().join("README.md");
    let text = std::fs::read_to_string(&path).unwrap();
    let want = replace_block(
        &replace_block(&text, "rules", &rule_table()),
        "properties",
        &property_reference(),
    );
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
        std::fs::write(&path, &want).unwrap();
        return;
    }
    assert!(text == want, "README rule table or property reference is stale; run `UPDATE_SNAPSHOTS=1 cargo test --test docs`");
}

#[test]
fn every_good_example_has_its_own_title() {
    // `explain` shows a good example under its own title: what makes it right, not the mistake's name.
    let policy = portcullis::engine::load_policy(&[]).unwrap();
    let missing: Vec<String> = policy
        .rules
        .rules
        .iter()
        .flat_map(|r| {
            r.examples
                .iter()
                .filter(|e| e.good.is_some() && e.good_name.as_deref().is_none_or(str::is_empty))
                .map(move |e| format!("{} / {}", r.id, e.name.as_deref().unwrap_or("?")))
        })
        .collect();
    assert!(
        missing.is_empty(),
        "good examples without `good-name`: {missing:#?}"
    );
}
