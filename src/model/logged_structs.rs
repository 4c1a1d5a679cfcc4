//! Structs logged whole: a log macro's argument that is a binding of a struct type of the crate whose
//! `Debug` (derived) or `Display` (written by the crate) output includes a field named for a secret. A
//! hand-written `Debug` that leaves the field out, or redacts it, prints nothing secret.

use super::analysis::Analyzer;
use super::program::FnId;
use super::secret_aliases::captures_with_spec;
use super::Evidence;
use crate::facts::{CallSite, Expr, FnDef, Stmt};
use std::collections::HashMap;

/// Types that print their content as it is.
const TEXT_TYPES: &[&str] = &["String", "str", "Vec", "Cow", "Box", "Arc", "Rc", "Bytes"];

/// Formatting traits a log argument can be printed with.
#[derive(Clone, Copy, PartialEq)]
enum Shown {
    Debug,
    Display,
}

/// The binding types of one function that can be looked up by name where it is used: its parameters,
/// typed `let`s and `let`s of a struct literal (`let attempt = Login { .. }`), by the type's last path
/// segment. A `let` of the body's own statements whose type is unknown hides what the name was.
pub struct Bindings<'a> {
    /// Per name, where each binding starts (parameters at 0) and its type, in source order.
    types: HashMap<&'a str, Vec<(u32, Option<&'a str>)>>,
}

impl<'a> Bindings<'a> {
    pub fn of(f: &'a FnDef) -> Self {
        let mut types: HashMap<&str, Vec<(u32, Option<&str>)>> = HashMap::new();
        for p in &f.params {
            if let ([name], Some(ty)) = (p.pat.bindings.as_slice(), &p.ty) {
                // `Json(creds): Json<LoginRequest>`: the binding is the wrapper's content.
                let ty = match (&p.pat.wrapper, ty.args.first()) {
                    (Some(_), Some(inner)) => inner,
                    _ => ty,
                };
                types
                    .entry(name.as_str())
                    .or_default()
                    .push((0, Some(ty.name())));
            }
        }
        for s in &f.body.stmts {
            if let Stmt::Let(l) = s {
                let [name] = l.pat.bindings.as_slice() else {
                    continue;
                };
                let ty = match (&l.ty, &l.init) {
                    (Some(ty), _) => Some(ty.name()),
                    (None, Some(Expr::Struct { path, .. })) => literal_type(f, path),
                    _ => None,
                };
                types
                    .entry(name.as_str())
                    .or_default()
                    .push((l.span.end, ty));
            }
        }
        Bindings { types }
    }

    /// The type of the binding of `name` in force at `at`, if known.
    fn type_at(&self, name: &str, at: u32) -> Option<&'a str> {
        let bound = self.types.get(name)?;
        bound.iter().rev().find(|(from, _)| *from <= at)?.1
    }
}

/// The struct a struct literal builds: `Login { .. }`, `auth::Login { .. }`, `Self { .. }` (not an
/// enum's variant, `Event::Login { .. }`).
fn literal_type<'a>(f: &'a FnDef, path: &'a [crate::facts::Name]) -> Option<&'a str> {
    match path {
        [only] if only == "Self" => f.self_ty.as_deref(),
        [only] => Some(only.as_str()),
        [.., parent, last] if parent.starts_with(|c: char| c.is_ascii_lowercase()) => {
            Some(last.as_str())
        }
        _ => None,
    }
}

/// The secret fields a log macro prints through a struct it is given whole: `?creds` (tracing,
/// Debug), `%creds` (Display), `creds` after a format string with `{:?}`, or captured inline
/// (`{creds:?}`, `{creds}`).
pub fn secret_fields(an: &Analyzer, id: FnId, b: &Bindings, call: &CallSite) -> Vec<Evidence> {
    let mut out = vec![];
    let format = call.args.first().and_then(|a| match &a.lit {
        Some(crate::facts::Lit::Str(s)) => Some(s.as_str()),
        _ => None,
    });
    let debug_format = format.is_some_and(|s| s.contains(":?"));
    let mut given: Vec<(Shown, &str)> = vec![];
    for a in &call.args {
        let text = a.text.trim();
        let shown = if let Some(rest) = text.strip_prefix('?') {
            (Shown::Debug, rest.trim())
        } else if let Some(rest) = text.strip_prefix('%') {
            (Shown::Display, rest.trim())
        } else if let Some((_, rest)) = text.split_once('=') {
            match rest.trim().strip_prefix('?') {
                Some(r) => (Shown::Debug, r.trim()),
                None => match rest.trim().strip_prefix('%') {
                    Some(r) => (Shown::Display, r.trim()),
                    None => continue,
                },
            }
        } else if debug_format {
            (Shown::Debug, text.trim_start_matches('&'))
        } else {
            continue;
        };
        given.push(shown);
    }
    // Captured inline: `{creds:?}` (Debug), `{creds}` (Display).
    for (name, spec) in format.map(captures_with_spec).unwrap_or_default() {
        let shown = if spec.contains('?') {
            Shown::Debug
        } else {
            Shown::Display
        };
        given.push((shown, name));
    }
    for (shown, name) in given {
        if let Some(ty) = b.type_at(name, call.span.start) {
            out.extend(printed_secrets(an, id, ty, shown));
        }
    }
    out
}

/// The fields named for a secret that the type's `Debug` or `Display` output includes.
fn printed_secrets(an: &Analyzer, id: FnId, ty: &str, shown: Shown) -> Vec<Evidence> {
    let prog = an.prog;
    let ctx = prog.ctx_of(id);
    let Some((unit, t)) = prog.resolve_type(&ctx, ty) else {
        return vec![];
    };
    // Named for a secret and holding its text: a session id that is a `Uuid`, or a password already
    // wrapped in `secrecy::Secret` (which prints redacted), shows nothing secret.
    let secret = |f: &&crate::facts::FieldDef| {
        an.catalog.is_secret_name(&f.name) && TEXT_TYPES.contains(&f.ty.strip_option().0.name())
    };
    let fields = t.fields.iter().filter(secret);
    let derives_debug = t
        .derives
        .iter()
        .any(|d| d.rsplit("::").next() == Some("Debug"));
    let note = |f: &str| format!("`{}.{f}` is printed with it", t.name);
    match shown {
        Shown::Debug if derives_debug => fields
            .map(|f| Evidence {
                loc: an.loc(unit, f.span),
                note: note(&f.name),
            })
            .collect(),
        // A `Display` (or hand-written `Debug`) of the crate that writes the field.
        _ => {
            let trait_name = match shown {
                Shown::Debug => "Debug",
                Shown::Display => "Display",
            };
            let Some(fmt) = impl_fmt(an, &t.name, trait_name) else {
                return vec![];
            };
            fields
                .filter(|f| writes_field(fmt, &f.name))
                .map(|f| Evidence {
                    loc: an.loc(unit, f.span),
                    note: note(&f.name),
                })
                .collect()
        }
    }
}

/// `fmt` of the crate's `impl TRAIT for TYPE`.
fn impl_fmt<'a>(an: &Analyzer<'_, 'a>, ty: &str, trait_name: &str) -> Option<&'a FnDef> {
    an.prog.all_fns().map(|id| an.prog.func(id)).find(|f| {
        f.name == "fmt"
            && f.self_ty.as_deref() == Some(ty)
            && f.trait_name.as_deref() == Some(trait_name)
    })
}

/// Whether a `write!` of the body is given `self.FIELD` itself (not its length or a masked form).
fn writes_field(f: &FnDef, field: &str) -> bool {
    let mut found = false;
    f.body.walk(&mut |e| {
        if let Expr::Macro(m) = e {
            found |= m.args.iter().any(|a| {
                matches!(a, Expr::Field { base, name, .. }
                    if name == field && base.as_ident() == Some("self"))
            });
        }
    });
    found
}
