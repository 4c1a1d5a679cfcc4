//! Secrets logged under another name: a log or panic macro's argument that is a local bound to a
//! secret (`let t = token.clone()`, `let header = format!("Bearer {token}")`, `let key = api_key()`),
//! through nothing that changes the value. A call in between (a hash, a length, a verification, a
//! lookup) ends the alias: what it returns is not the secret.

use super::analysis::Analyzer;
use super::constants::{KEEPS_VALUE, UNWRAPS};
use super::program::FnId;
use super::Evidence;
use crate::facts::{Block, CallKind, CallSite, Expr, FnDef, Let, Lit, Stmt};
use crate::source::Span;

/// Methods whose result is the receiver's text, besides the value-keeping conversions and unwraps
/// constant folding follows.
const KEEPS_TEXT: &[&str] = &[
    "as_deref",
    "as_bytes",
    "borrow",
    "expose_secret",
    "unwrap_or_default",
    "trim",
];

fn keeps_text(method: &str) -> bool {
    [KEEPS_VALUE, UNWRAPS, KEEPS_TEXT]
        .iter()
        .any(|list| list.contains(&method))
}

/// Macros that build text from their arguments.
const TEXT_MACROS: &[&str] = &["format", "concat"];

/// One binding of the function: the name, where it is bound, where its scope ends, and the secret its
/// value is, if it is one. Loop patterns, `if let` patterns and assignments bind too (to no secret).
struct Binding<'a> {
    name: &'a str,
    span: Span,
    scope_end: u32,
    holds: Option<String>,
    /// For a tuple, the secret each element is (`let pair = (user, token)`: `pair.1` is the token).
    parts: Vec<Option<String>>,
    /// Bound to the process's standard output or error (`let mut out = io::stdout().lock()`).
    output: bool,
}

/// The single-name bindings of one function, in source order, each with the secret it holds; and the
/// match arms, whose patterns the facts do not keep (a name used in an arm is followed only to a `let`
/// inside that arm).
pub struct Aliases<'a> {
    bindings: Vec<Binding<'a>>,
    arms: Vec<Span>,
    /// The message of each `expect(msg)`, by where the call is located (its name).
    messages: Vec<(u32, &'a Expr)>,
}

/// A binding found in the body, before its value is judged.
enum Bound<'a> {
    Let(&'a Let, u32),
    Other(&'a str, Span, u32),
    Assign(&'a str, &'a Expr, Span),
    /// Text appended to a buffer: `write!(buf, "..", ..)` (the format arguments, `true`: formatted) or
    /// `buf.push_str(..)` (its argument, taken as it is).
    Append(&'a str, &'a [Expr], bool, Span),
}

/// Macros that append formatted text to their first argument.
pub(super) const WRITE_MACROS: &[&str] = &["write", "writeln"];

/// Methods that append their argument to a text buffer.
const APPENDS: &[&str] = &["push_str", "push", "extend_from_slice"];

impl<'a> Aliases<'a> {
    pub fn of(an: &Analyzer, f: &'a FnDef) -> Self {
        let mut found: Vec<Bound<'a>> = vec![];
        let mut arms = vec![];
        let mut messages = vec![];
        lets_of(&f.body, u32::MAX, &mut found);
        f.body.walk(&mut |e| match e {
            Expr::Block { block, span, .. }
            | Expr::If {
                then: block, span, ..
            } => lets_of(block, span.end, &mut found),
            Expr::Loop {
                body, pat, span, ..
            } => {
                lets_of(body, span.end, &mut found);
                for name in pat.iter().flat_map(|p| p.bindings.iter()) {
                    found.push(Bound::Other(name, *span, span.end));
                }
            }
            Expr::LetCond { pat, span, .. } => {
                for name in pat.bindings.iter() {
                    found.push(Bound::Other(name, *span, u32::MAX));
                }
            }
            Expr::Assign {
                target,
                value,
                span,
            } => match &**target {
                Expr::Path { .. } => {
                    if let Some(name) = target.as_ident() {
                        found.push(Bound::Assign(name, value, *span));
                    }
                }
                // `pair.1 = other`: what the local holds is no longer known.
                Expr::Field { base, .. } => {
                    if let Some(name) = base.as_ident() {
                        found.push(Bound::Other(name, *span, u32::MAX));
                    }
                }
                _ => {}
            },
            Expr::Match { arms: a, .. } => arms.extend(a.iter().map(Expr::span)),
            Expr::Macro(m) => {
                let name = m.path.last().map_or("", |p| p.as_str());
                if let (true, Some(dest)) = (
                    WRITE_MACROS.contains(&name),
                    m.args.first().and_then(Expr::as_ident),
                ) {
                    found.push(Bound::Append(dest, &m.args[1..], true, m.span));
                }
            }
            Expr::Method(m) => {
                if m.name == "expect" {
                    if let Some(msg) = m.args.first() {
                        messages.push((m.name_span.start, msg));
                    }
                }
                if let (true, Some(dest)) = (APPENDS.contains(&m.name.as_str()), m.recv.as_ident())
                {
                    found.push(Bound::Append(dest, &m.args, false, m.span));
                }
            }
            _ => {}
        });
        let start = |b: &Bound| match b {
            Bound::Let(l, _) => l.span.start,
            Bound::Other(_, s, _) | Bound::Assign(_, _, s) | Bound::Append(_, _, _, s) => s.start,
        };
        found.sort_by_key(start);
        let mut out = Aliases {
            bindings: vec![],
            arms,
            messages,
        };
        for b in found {
            let binding = match b {
                Bound::Let(l, scope_end) => {
                    let [name] = l.pat.bindings.as_slice() else {
                        continue;
                    };
                    out.bound(an, name, l.init.as_ref(), l.span, scope_end)
                }
                // Bound from where the loop or `if let` starts, for all of it.
                Bound::Other(name, span, scope_end) => Binding {
                    name,
                    span: Span {
                        end: span.start,
                        ..span
                    },
                    scope_end,
                    holds: None,
                    parts: vec![],
                    output: false,
                },
                Bound::Assign(name, value, span) => {
                    out.bound(an, name, Some(value), span, u32::MAX)
                }
                // Text appended to a buffer makes it hold a secret from there on, in the buffer's
                // scope; other text leaves it as it was.
                Bound::Append(name, args, formatted, span) => {
                    let holds = if formatted {
                        out.format_secret(an, args, span.start)
                    } else {
                        args.iter().find_map(|a| out.secret_in(an, a, span.start))
                    };
                    let Some(holds) = holds else {
                        continue;
                    };
                    let Some(current) = out.current(name, span.start) else {
                        continue;
                    };
                    Binding {
                        name,
                        span,
                        scope_end: current.scope_end,
                        holds: Some(holds),
                        parts: vec![],
                        output: current.output,
                    }
                }
            };
            out.bindings.push(binding);
        }
        out
    }

    /// A binding of `name` to `value` (a `let` or an assignment).
    fn bound(
        &self,
        an: &Analyzer,
        name: &'a str,
        value: Option<&Expr>,
        span: Span,
        scope_end: u32,
    ) -> Binding<'a> {
        let at = span.start;
        let parts = match value {
            Some(Expr::Tuple { items, .. }) => {
                items.iter().map(|i| self.secret_in(an, i, at)).collect()
            }
            _ => vec![],
        };
        Binding {
            name,
            span,
            scope_end,
            holds: value.and_then(|v| self.secret_in(an, v, at)),
            parts,
            output: value.is_some_and(|v| self.is_output(v, at)),
        }
    }

    /// The latest binding of a name in scope at a point of the function, whatever it holds.
    fn current(&self, name: &str, at: u32) -> Option<&Binding<'a>> {
        let arm_start = self
            .arms
            .iter()
            .filter(|a| a.start <= at && at < a.end)
            .map(|a| a.start)
            .max()
            .unwrap_or(0);
        self.bindings.iter().rev().find(|b| {
            b.name == name && b.span.end <= at && at < b.scope_end && b.span.start >= arm_start
        })
    }

    /// Whether a value is the process's standard output or error: `stdout()`, `stderr()`, their
    /// `lock()`, a `BufWriter`/`LineWriter` over one, or a local bound to one.
    fn is_output(&self, e: &Expr, at: u32) -> bool {
        match e {
            Expr::Call { func, args, .. } => match (&**func, args.as_slice()) {
                (Expr::Path { segs, .. }, []) => segs
                    .last()
                    .is_some_and(|n| *n == "stdout" || *n == "stderr"),
                (Expr::Path { segs, .. }, [inner]) => {
                    segs.len() >= 2
                        && segs[segs.len() - 1] == "new"
                        && ["BufWriter", "LineWriter"].contains(&segs[segs.len() - 2].as_str())
                        && self.is_output(inner, at)
                }
                _ => false,
            },
            Expr::Method(m) if m.name == "lock" && m.args.is_empty() => self.is_output(&m.recv, at),
            Expr::Path { segs, .. } if segs.len() == 1 => {
                self.current(&segs[0], at).is_some_and(|b| b.output)
            }
            _ => false,
        }
    }

    /// The secret text formatted from a format string and its arguments holds (a capture or an
    /// argument that is a secret).
    fn format_secret(&self, an: &Analyzer, args: &[Expr], at: u32) -> Option<String> {
        args.iter()
            .find_map(|a| self.secret_in(an, a, at))
            .or_else(|| {
                let format = args.first().and_then(Expr::as_str_lit)?;
                captures(format).find_map(|name| self.named(an, name, at))
            })
    }

    /// The secret a local holds at a point of the function: its latest binding in scope there. Inside
    /// a match arm, only a `let` of that arm counts (the arm's pattern may bind the name).
    fn held(&self, name: &str, at: u32) -> Option<(&Binding<'a>, &str)> {
        let b = self.current(name, at)?;
        Some((b, b.holds.as_deref()?))
    }

    /// The secret a name is: named for one, or a local holding one.
    fn named(&self, an: &Analyzer, name: &str, at: u32) -> Option<String> {
        if an.catalog.is_secret_name(name) {
            return Some(name.to_string());
        }
        self.held(name, at).map(|(_, s)| s.to_string())
    }

    /// The secret an expression's value is, named as written: a binding or field named for one, a
    /// local holding one, a function named for one called without arguments (`api_key()`), or text
    /// built from one.
    fn secret_in(&self, an: &Analyzer, e: &Expr, at: u32) -> Option<String> {
        match e {
            Expr::Path { segs, .. } => match &segs[..] {
                [name] => self.named(an, name, at),
                _ => None,
            },
            // The field's own name says what it is (`req.password`).
            Expr::Field { name, .. } if an.catalog.is_secret_name(name) => Some(name.to_string()),
            Expr::Method(m) if keeps_text(&m.name) => self.secret_in(an, &m.recv, at),
            Expr::Unary { op, expr, .. } if *op == "&" || *op == "*" => {
                self.secret_in(an, expr, at)
            }
            Expr::Try { inner, .. } | Expr::Keyword { value: inner, .. } => {
                self.secret_in(an, inner, at)
            }
            Expr::Binary { op, lhs, rhs, .. } if *op == "+" => self
                .secret_in(an, lhs, at)
                .or_else(|| self.secret_in(an, rhs, at)),
            Expr::Macro(m)
                if m.path
                    .last()
                    .is_some_and(|p| TEXT_MACROS.contains(&p.as_str())) =>
            {
                self.format_secret(an, &m.args, at)
            }
            // A tuple printed whole (`{:?}`) prints every element.
            Expr::Tuple { items, .. } => items.iter().find_map(|i| self.secret_in(an, i, at)),
            Expr::Call { func, args, .. } if args.is_empty() => match &**func {
                Expr::Path { segs, .. }
                    if segs.last().is_some_and(|n| an.catalog.is_secret_name(n)) =>
                {
                    Some(format!("{}()", segs.join("::")))
                }
                _ => None,
            },
            _ => None,
        }
    }
}

/// The `let`s directly in a block, whose scope ends with the block.
fn lets_of<'a>(block: &'a Block, scope_end: u32, out: &mut Vec<Bound<'a>>) {
    out.extend(block.stmts.iter().filter_map(|s| match s {
        Stmt::Let(l) => Some(Bound::Let(l, scope_end)),
        Stmt::Expr { .. } => None,
    }));
}

/// The names captured inline by a format string: `{token}`, `{token:?}` (not `{}`, `{0}`, `{{x}}`).
fn captures(format: &str) -> impl Iterator<Item = &str> {
    captures_with_spec(format).into_iter().map(|(name, _)| name)
}

/// The names captured inline by a format string, each with its format spec (`{token:?}`: `?`).
pub(super) fn captures_with_spec(format: &str) -> Vec<(&str, &str)> {
    let mut out = vec![];
    let mut rest = format;
    while let Some(open) = rest.find('{') {
        let after = &rest[open + 1..];
        if let Some(escaped) = after.strip_prefix('{') {
            rest = escaped;
            continue;
        }
        let Some(close) = after.find('}') else { break };
        let inside = &after[..close];
        let (name, spec) = inside.split_once(':').unwrap_or((inside, ""));
        if is_ident(name) {
            out.push((name, spec));
        }
        rest = &after[close + 1..];
    }
    out
}

fn is_ident(text: &str) -> bool {
    text.chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && text.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// The local an argument logs whole, as written (`t`, `&t`, `?t`, `%t`, `field = %t`, `t.clone()`),
/// and the tuple element it logs (`pair.1`).
fn logged_local(text: &str) -> Option<(&str, Option<usize>)> {
    let mut t = text.trim();
    if let Some((field, value)) = t.split_once('=') {
        let field = field.trim();
        if field
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.')
        {
            t = value.trim();
        }
    }
    t = t.trim_start_matches(['?', '%', '&']).trim();
    for suffix in [
        ".clone()",
        ".as_str()",
        ".to_string()",
        ".expose_secret()",
        ".as_bytes()",
    ] {
        t = t.strip_suffix(suffix).unwrap_or(t);
    }
    if is_ident(t) {
        return Some((t, None));
    }
    let (base, index) = t.split_once('.')?;
    Some((base, Some(index.parse().ok()?))).filter(|_| is_ident(base))
}

/// The locals an expression gives whole (a message built by `format!` gives its captures and
/// arguments), with the tuple element it gives of each.
fn whole_locals<'e>(e: &'e Expr, out: &mut Vec<(&'e str, Option<usize>)>) {
    match e {
        Expr::Path { segs, .. } if segs.len() == 1 => out.push((&segs[0], None)),
        Expr::Field { base, name, .. } => {
            if let (Some(b), Ok(i)) = (base.as_ident(), name.parse()) {
                out.push((b, Some(i)));
            }
        }
        Expr::Method(m) if keeps_text(&m.name) => whole_locals(&m.recv, out),
        Expr::Macro(m)
            if m.path
                .last()
                .is_some_and(|p| TEXT_MACROS.contains(&p.as_str())) =>
        {
            if let Some(format) = m.args.first().and_then(Expr::as_str_lit) {
                out.extend(captures(format).map(|n| (n, None)));
            }
            for a in m.args.iter().skip(1) {
                whole_locals(a, out);
            }
        }
        _ => {}
    }
}

/// The locals a call logs or writes whole: a log or panic macro's arguments and captures, a
/// `write!`'s after its destination, `expect`'s message.
fn logged_names<'c>(aliases: &'c Aliases, call: &'c CallSite) -> Vec<(&'c str, Option<usize>)> {
    let mut names = vec![];
    if call.kind == CallKind::Method && call.name == "expect" {
        // Only a message built by `format!`: `parser.expect(t)` is not given a message.
        if let Some((_, msg @ Expr::Macro(_))) = aliases
            .messages
            .iter()
            .find(|(at, _)| *at == call.span.start)
        {
            whole_locals(msg, &mut names);
        }
        return names;
    }
    let skip =
        usize::from(call.kind == CallKind::Macro && WRITE_MACROS.contains(&call.name.as_str()));
    for a in call.args.iter().skip(skip) {
        names.extend(logged_local(&a.text));
        if let Some(Lit::Str(format)) = &a.lit {
            names.extend(captures(format).map(|n| (n, None)));
        }
    }
    names
}

/// Where the locals a call logs (or panics with, or writes to the process output) were bound to a
/// secret. (A local the rule's name test also reports gives one finding: findings at one place with
/// one message are merged.)
pub fn logged(an: &Analyzer, id: FnId, aliases: &Aliases, call: &CallSite) -> Vec<Evidence> {
    let mut out: Vec<Evidence> = vec![];
    let mut seen = vec![];
    for (name, part) in logged_names(aliases, call) {
        if seen.contains(&(name, part)) {
            continue;
        }
        seen.push((name, part));
        let Some(b) = aliases.current(name, call.span.start) else {
            continue;
        };
        let secret = match part {
            None => b.holds.as_deref(),
            Some(i) => b.parts.get(i).and_then(|p| p.as_deref()),
        };
        if let Some(secret) = secret {
            let shown = match part {
                None => name.to_string(),
                Some(i) => format!("{name}.{i}"),
            };
            out.push(Evidence {
                loc: an.loc(id.unit, b.span),
                note: format!("`{shown}` holds `{secret}`, from here"),
            });
        }
    }
    out
}

/// Whether a `write!`/`writeln!` or a `write_all`/`write`/`write_fmt` call writes to the process's
/// standard output or error: given `stdout()`, `stderr()`, their `lock()`, a `BufWriter`/`LineWriter`
/// over one, or a local bound to one.
pub fn writes_output(aliases: &Aliases, call: &CallSite) -> bool {
    let dest = match call.kind {
        CallKind::Macro => call.args.first().map(|a| &*a.text),
        CallKind::Method => call.recv.as_deref(),
        _ => None,
    };
    dest.is_some_and(|d| output_text(aliases, d, call.span.start))
}

/// Whether a destination, as written, is the process's standard output or error.
fn output_text(aliases: &Aliases, text: &str, at: u32) -> bool {
    let mut t = text.trim().trim_start_matches('&').trim();
    t = t.strip_prefix("mut ").unwrap_or(t).trim();
    // `.lock()` and `.by_ref()` keep the stream.
    while let Some(inner) = t
        .strip_suffix(".lock()")
        .or_else(|| t.strip_suffix(".by_ref()"))
    {
        t = inner.trim_end();
    }
    if is_ident(t) {
        return aliases.current(t, at).is_some_and(|b| b.output);
    }
    // `BufWriter::new(io::stdout())`, its path written or not.
    let wrapped = ["BufWriter::new(", "LineWriter::new("]
        .iter()
        .find_map(|w| {
            let i = t.find(w)?;
            let path = &t[..i];
            let is_path = path.is_empty()
                || (path.ends_with("::")
                    && path
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':'));
            is_path.then(|| &t[i + w.len()..])
        })
        .and_then(|rest| rest.strip_suffix(')'));
    if let Some(inner) = wrapped {
        return output_text(aliases, inner, at);
    }
    ["stdout()", "stderr()"].iter().any(|s| {
        t.strip_suffix(s)
            .is_some_and(|head| head.is_empty() || head.ends_with("::"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logged_locals_and_captures_are_read_as_written() {
        assert_eq!(logged_local("t"), Some(("t", None)));
        assert_eq!(logged_local("?creds"), Some(("creds", None)));
        assert_eq!(logged_local("auth = %header"), Some(("header", None)));
        assert_eq!(logged_local("&key.clone()"), Some(("key", None)));
        assert_eq!(logged_local("t.as_bytes()"), Some(("t", None)));
        assert_eq!(logged_local("pair.1"), Some(("pair", Some(1))));
        assert_eq!(logged_local("t.len()"), None);
        assert_eq!(logged_local("\"text\""), None);
        assert_eq!(logged_local("user.id"), None);
        let names: Vec<&str> = captures("{} {t} {0} {{x}} {h:?} {a.b} {{").collect();
        assert_eq!(names, ["t", "h"]);
    }
}
