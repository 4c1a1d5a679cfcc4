//! Message templates: `{property.path}` placeholders filled from the target, checked when the rule loads.

use super::condition::lookup_path;
use super::props::{resolve, Shape};
use crate::policy_error::did_you_mean;
use serde_json::Value as Json;

#[derive(Debug, Clone)]
pub enum Piece {
    Text(String),
    Prop(String),
}

#[derive(Debug, Clone, Default)]
pub struct Template(Vec<Piece>);

/// Parses a template; errors carry the byte offset of the placeholder within the template and a help.
pub fn parse(src: &str, shape: &Shape) -> Result<Template, (usize, String, Option<String>)> {
    let mut pieces = vec![];
    let mut text = String::new();
    let mut chars = src.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        match c {
            '{' if chars.peek().map(|p| p.1) == Some('{') => {
                chars.next();
                text.push('{');
            }
            '}' if chars.peek().map(|p| p.1) == Some('}') => {
                chars.next();
                text.push('}');
            }
            '{' => {
                let mut name = String::new();
                let mut closed = false;
                for (_, c) in chars.by_ref() {
                    if c == '}' {
                        closed = true;
                        break;
                    }
                    name.push(c);
                }
                if !closed {
                    return Err((
                        i,
                        "unclosed `{` in template".into(),
                        Some("write `{{` for a literal brace".into()),
                    ));
                }
                if let Err(valid) = resolve(shape, &name) {
                    let last = name.rsplit('.').next().unwrap_or("");
                    return Err((
                        i,
                        format!("unknown placeholder `{{{name}}}`"),
                        did_you_mean(last, valid.iter().copied()).or_else(|| {
                            (!valid.is_empty())
                                .then(|| format!("properties here: {}", valid.join(", ")))
                        }),
                    ));
                }
                if !text.is_empty() {
                    pieces.push(Piece::Text(std::mem::take(&mut text)));
                }
                pieces.push(Piece::Prop(name));
            }
            c => text.push(c),
        }
    }
    if !text.is_empty() {
        pieces.push(Piece::Text(text));
    }
    Ok(Template(pieces))
}

pub fn render_value(v: &Json) -> String {
    match v {
        Json::String(s) => s.clone(),
        Json::Null => String::new(),
        Json::Array(a) => a.iter().map(render_value).collect::<Vec<_>>().join(", "),
        other => other.to_string(),
    }
}

impl Template {
    pub fn render(&self, target: &Json) -> String {
        let mut out = String::new();
        for p in &self.0 {
            match p {
                Piece::Text(t) => out.push_str(t),
                Piece::Prop(path) => out.push_str(
                    &lookup_path(target, path)
                        .map(render_value)
                        .unwrap_or_default(),
                ),
            }
        }
        out
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}
