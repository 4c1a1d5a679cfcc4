//! Configuration files flattened to dotted keys with their values and locations.

use super::ConfigEntry;
use crate::source::{Loc, SourceFile};
use toml_edit::{ImDocument, Item, Value as TValue};

/// Every key of a TOML file, or the parse error's byte range and message.
pub fn config_entries(
    package: &str,
    file_id: u32,
    file: &SourceFile,
) -> Result<Vec<ConfigEntry>, (std::ops::Range<usize>, String)> {
    let doc = ImDocument::parse(&*file.text)
        .map_err(|e| (e.span().unwrap_or(0..0), e.message().to_string()))?;
    let mut out = vec![];
    walk_table(package, file_id, file, doc.as_table(), "", &mut out);
    Ok(out)
}

fn walk_table(
    package: &str,
    file_id: u32,
    file: &SourceFile,
    table: &toml_edit::Table,
    prefix: &str,
    out: &mut Vec<ConfigEntry>,
) {
    let keys: Vec<String> = table.iter().map(|(k, _)| k.to_string()).collect();
    for (key, item) in table.iter() {
        let path = if prefix.is_empty() {
            key.to_string()
        } else {
            format!("{prefix}.{key}")
        };
        match item {
            Item::Table(t) => walk_table(package, file_id, file, t, &path, out),
            Item::ArrayOfTables(a) => {
                for (i, t) in a.iter().enumerate() {
                    walk_table(package, file_id, file, t, &format!("{path}[{i}]"), out);
                }
            }
            Item::Value(v) => walk_value(package, file_id, file, v, &path, &keys, out),
            Item::None => {}
        }
    }
}

/// `siblings` are the keys of the table the value is in.
fn walk_value(
    package: &str,
    file_id: u32,
    file: &SourceFile,
    v: &TValue,
    path: &str,
    siblings: &[String],
    out: &mut Vec<ConfigEntry>,
) {
    if let TValue::InlineTable(t) = v {
        let keys: Vec<String> = t.iter().map(|(k, _)| k.to_string()).collect();
        for (k, inner) in t.iter() {
            walk_value(
                package,
                file_id,
                file,
                inner,
                &format!("{path}.{k}"),
                &keys,
                out,
            );
        }
        return;
    }
    let span = v.span().unwrap_or(0..0);
    out.push(ConfigEntry {
        package: package.to_string(),
        file: file.display.clone(),
        key: path.to_string(),
        table_keys: siblings.to_vec(),
        value: to_json(v),
        loc: Loc::new(file_id, file.span_of_bytes(span.start, span.end)),
    });
}

fn to_json(v: &TValue) -> serde_json::Value {
    match v {
        TValue::String(s) => serde_json::Value::String(s.value().clone()),
        TValue::Integer(i) => serde_json::Value::from(*i.value()),
        TValue::Float(f) => serde_json::Number::from_f64(*f.value())
            .map(serde_json::Value::Number)
            .unwrap_or(serde_json::Value::Null),
        TValue::Boolean(b) => serde_json::Value::Bool(*b.value()),
        TValue::Datetime(d) => serde_json::Value::String(d.value().to_string()),
        TValue::Array(a) => serde_json::Value::Array(a.iter().map(to_json).collect()),
        TValue::InlineTable(t) => {
            serde_json::Value::Object(t.iter().map(|(k, v)| (k.to_string(), to_json(v))).collect())
        }
    }
}
