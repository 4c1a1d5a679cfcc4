//! Message templates: `{property.path}` placeholders filled from the target, checked when the rule loads.

use super::condition::lookup_path;
use super::props::{resolve, Shape};
use super::view::Prop;
use crate::policy_error::did_you_mean;

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

/// A value as a message shows it: strings as they are, lists joined with `, `, nothing for null, and
/// anything else as its JSON text.
pub fn render_value(v: Prop) -> String {
    if v.is_absent() || v.is_null() {
        String::new()
    } else if let Some(s) = v.as_str() {
        s.to_string()
    } else if let Some(items) = v.items() {
        items.map(render_value).collect::<Vec<_>>().join(", ")
    } else {
        v.to_json().to_string()
    }
}

impl Template {
    pub fn render(&self, target: Prop) -> String {
        let mut out = String::new();
        for p in &self.0 {
            match p {
                Piece::Text(t) => out.push_str(t),
                Piece::Prop(path) => {
                    let value = render_value(lookup_path(target, path));
                    // Code is shortened; prose (advisory titles, paths, names) is only kept on one line.
                    let code = matches!(
                        path.rsplit('.').next(),
                        Some("text" | "receiver" | "statement")
                    );
                    out.push_str(&if code {
                        one_line(&value)
                    } else {
                        value.split_whitespace().collect::<Vec<_>>().join(" ")
                    });
                }
            }
        }
        out
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// The longest value a message quotes before it is shortened.
const MAX_QUOTED: usize = 60;

/// A value as a message quotes it: on one line, and shortened when long. `format!("SELECT … {x}")` keeps
/// its head (`format!("SELECT id, name FROM users WHERE …")`) so the reader still sees what it is.
pub fn one_line(value: &str) -> String {
    let flat = value.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.chars().count() <= MAX_QUOTED {
        return flat;
    }
    let head: String = flat.chars().take(MAX_QUOTED - 1).collect();
    // Cut at a word boundary where there is one near the end.
    let cut = match head.rfind(' ') {
        Some(i) if i > MAX_QUOTED / 2 => &head[..i],
        _ => head.as_str(),
    };
    let mut out = format!("{cut} …");
    // Close what the head opened, so `format!("select …` reads as `format!("select …")`.
    if cut.matches('"').count() % 2 == 1 {
        out.push('"');
    }
    let mut open = vec![];
    let mut in_str = false;
    for c in cut.chars() {
        match c {
            '"' => in_str = !in_str,
            '(' if !in_str => open.push(')'),
            '[' if !in_str => open.push(']'),
            '{' if !in_str => open.push('}'),
            ')' | ']' | '}' if !in_str => {
                open.pop();
            }
            _ => {}
        }
    }
    out.extend(open.into_iter().rev());
    out
}

#[cfg(test)]
mod tests {
    use super::one_line;

    #[test]
    fn quoted_values_are_one_short_line() {
        assert_eq!(one_line("a\n    .b()"), "a .b()");
        let long = "format!(\"SELECT id, name, email FROM users WHERE name = '{}' AND org = '{}'\", q.name, q.org)";
        let short = one_line(long);
        assert!(short.starts_with("format!(\"SELECT id, name"), "{short}");
        assert!(short.ends_with("…\")"), "{short}");
        assert!(short.chars().count() <= 64, "{short}");
        assert!(!short.contains('\n'));
    }
}
