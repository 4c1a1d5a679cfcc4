//! Handler inputs: which parameters deserialize request data, whether that data is free-form, and
//! whether anything validates it.

use super::analysis::Analyzer;
use super::program::{Ctx, FnId};
use super::Evidence;
use crate::facts::{CallKind, Param, TypeKind, TypeRef};
use crate::source::Loc;

#[derive(Clone)]
pub struct InputClass {
    pub kind: String,
    pub extractor: String,
    pub inner: TypeRef,
    pub validated_by: Option<String>,
}

/// Wrappers that hide a value from logs and debug output (`secrecy`, `zeroize`) and validate nothing.
const SECRET_WRAPPERS: &[&str] = &["Secret", "SecretBox", "Zeroizing"];
const STRINGS: &[&str] = &[
    "String", "str", "Value", "Bytes", "Cow", "Box<str>", "Json", "RawValue", "BytesMut",
];
const COLLECTIONS: &[&str] = &[
    "Vec", "HashMap", "BTreeMap", "HashSet", "BTreeSet", "VecDeque", "IndexMap", "IndexSet", "[]",
    "Map", "SmallVec", "list", "List", "dict", "Dict", "set", "Set", "Sequence", "tuple", "Tuple",
];
const NUMBERS: &[&str] = &[
    "i8",
    "i16",
    "i32",
    "i64",
    "i128",
    "isize",
    "u8",
    "u16",
    "u32",
    "u64",
    "u128",
    "usize",
    "f32",
    "f64",
    "Decimal",
    "BigDecimal",
    "int",
    "float",
];

/// Base classes that make a Python class an enumeration.
const PYTHON_ENUMS: &[&str] = &["Enum", "StrEnum", "IntEnum", "Flag", "IntFlag"];

/// Whether call text passes the keyword argument `name` (`max_length=5`, not `title=` for `le`).
pub fn has_keyword(text: &str, name: &str) -> bool {
    text.match_indices(name).any(|(i, _)| {
        let before = text[..i].chars().next_back();
        let after = text[i + name.len()..].trim_start();
        !before.is_some_and(|c| c.is_alphanumeric() || c == '_')
            && after.starts_with('=')
            && !after.starts_with("==")
    })
}

pub fn contains_word(text: &str, word: &str) -> bool {
    text.match_indices(word).any(|(i, _)| {
        let before = text[..i].chars().last();
        let after = text[i + word.len()..].chars().next();
        let is_word = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '_');
        !is_word(before) && !is_word(after)
    })
}

impl Analyzer<'_, '_> {
    /// What kind of request input a parameter type is, through wrappers such as `Valid<Json<T>>`.
    pub fn classify_input(&self, ty: &TypeRef, ctx: &Ctx) -> Option<InputClass> {
        let (mut t, _) = ty.strip_option();
        let mut validated_by = None;
        for _ in 0..4 {
            let norm = t.normalized();
            // The path as imported (`actix_web_validator::Json<T>`) before the bare name (`Json<T>`).
            let resolved = match norm.split_once('<') {
                Some((_, args)) => format!("{}<{args}", self.prog.expand(ctx, &t.segs).join("::")),
                None => self.prog.expand(ctx, &t.segs).join("::"),
            };
            if let Some(entry) = self
                .catalog
                .input(&resolved)
                .or_else(|| self.catalog.input(&norm))
            {
                if entry.wrapper {
                    if entry.validates && validated_by.is_none() {
                        validated_by = Some(format!("validating extractor `{}`", t.name()));
                    }
                    t = t.args.first()?;
                    continue;
                }
                if entry.validates && validated_by.is_none() {
                    validated_by = Some(format!("validating extractor `{}`", t.text));
                }
                let inner = if entry.raw {
                    t.clone()
                } else {
                    t.args.first().cloned().unwrap_or_else(|| t.clone())
                };
                return Some(InputClass {
                    kind: entry.kind.clone().unwrap_or_else(|| "body".into()),
                    extractor: norm,
                    inner,
                    validated_by,
                });
            }
            // A custom extractor of the crate that validates what it deserializes (`ValidatedJson<T>`).
            for (u, imp) in self.prog.impls_of(t.name()) {
                let is_extractor = imp
                    .trait_path
                    .as_ref()
                    .and_then(|p| p.last())
                    .is_some_and(|n| n == "FromRequest" || n == "FromRequestParts");
                if !is_extractor {
                    continue;
                }
                let validates = imp
                    .fns
                    .iter()
                    .any(|&i| !self.summary(FnId { unit: u, idx: i }).validates.is_empty());
                if validates {
                    let lower = t.name().to_lowercase();
                    let kind = ["json", "form", "query"]
                        .iter()
                        .find(|k| lower.contains(*k))
                        .copied()
                        .unwrap_or("body");
                    return Some(InputClass {
                        kind: kind.into(),
                        extractor: norm,
                        inner: t.args.first().cloned().unwrap_or_else(|| t.clone()),
                        validated_by: Some(format!("validating extractor `{}`", t.name())),
                    });
                }
            }
            return None;
        }
        None
    }

    /// The free-form fields of a type (strings, collections, unbounded numbers), looking into the crate's
    /// own structs. Types that validate themselves contribute nothing.
    pub fn free_form_fields(
        &self,
        ty: &TypeRef,
        ctx: &Ctx,
        depth: usize,
        prefix: &str,
        out: &mut Vec<String>,
    ) {
        if depth > 4 || out.len() > 16 {
            return;
        }
        let (t, _) = ty.strip_option();
        let name = t.name();
        let norm = t.normalized();
        let label = |out: &mut Vec<String>| {
            out.push(if prefix.is_empty() {
                format!("`{}`", ty.text)
            } else {
                format!("`{prefix}: {}`", ty.text)
            })
        };
        if self.catalog.is_self_validating(&norm)
            || self.catalog.is_self_validating(name)
            || self.catalog.is_bounded(name)
        {
            return;
        }
        if STRINGS.contains(&name) {
            label(out);
            return;
        }
        // A number is free-form when it is a quantity (a negative transfer, a page size of a billion);
        // an identifier (`id`, `owner_id`, `view_ids`) is looked up, not trusted. A collection is
        // free-form when what it holds is (`Vec<String>`, not `Vec<Uuid>`).
        if NUMBERS.contains(&name) {
            let leaf = prefix.rsplit('.').next().unwrap_or(prefix).to_lowercase();
            let identifier =
                leaf == "id" || leaf == "ids" || leaf.ends_with("_id") || leaf.ends_with("_ids");
            if !identifier {
                label(out);
            }
            return;
        }
        if COLLECTIONS.contains(&name) {
            let mut inner = vec![];
            for a in &t.args {
                self.free_form_fields(a, ctx, depth + 1, prefix, &mut inner);
            }
            if !inner.is_empty() || t.args.is_empty() {
                label(out);
            }
            return;
        }
        // `secrecy`'s wrappers keep a value out of logs; they check nothing about it.
        if name == "SecretString" {
            label(out);
            return;
        }
        if SECRET_WRAPPERS.contains(&name) {
            let mut inner = vec![];
            for a in &t.args {
                self.free_form_fields(a, ctx, depth + 1, prefix, &mut inner);
            }
            if !inner.is_empty() {
                label(out);
            }
            return;
        }
        if name == "()" {
            for a in &t.args {
                self.free_form_fields(a, ctx, depth + 1, prefix, out);
            }
            return;
        }
        let Some((unit, def)) = self.prog.resolve_type(ctx, name) else {
            return;
        };
        let tctx = Ctx {
            unit,
            module: def.module.clone(),
            self_ty: None,
        };
        if def.kind == TypeKind::Alias {
            if let Some(a) = &def.alias_of {
                self.free_form_fields(a, &tctx, depth + 1, prefix, out);
            }
            return;
        }
        if self.type_validates(name, ctx).is_some() {
            return;
        }
        for f in &def.fields {
            // A field with its own constraint (`#[validate(length(max = 64))]` is covered by the derive;
            // Rocket `#[field(validate = len(..))]`, poem-openapi `#[oai(validator(max_length = 64))]`).
            if f.attrs.iter().any(|a| {
                (a.path == "field" && a.tokens.contains("validate"))
                    || (a.path == "oai" && a.tokens.contains("validator("))
            }) {
                continue;
            }
            let p = if prefix.is_empty() {
                f.name.to_string()
            } else {
                format!("{prefix}.{}", f.name)
            };
            // `UserBody<NewUser>` with `user: T`: the field is a `NewUser`, resolved where it was written.
            let param = (f.ty.segs.len() == 1)
                .then(|| def.generics.iter().position(|g| g == f.ty.name()))
                .flatten();
            match param.and_then(|i| t.args.get(i)) {
                Some(actual) => self.free_form_fields(actual, ctx, depth + 1, &p, out),
                None => self.free_form_fields(&f.ty, &tctx, depth + 1, &p, out),
            }
        }
    }

    /// How a crate type validates itself, if it does: a validation derive, a validating constructor
    /// (`TryFrom`/`FromStr`, `#[serde(try_from)]`), or a fieldless enum.
    pub fn type_validates(&self, name: &str, ctx: &Ctx) -> Option<(String, Loc)> {
        let (unit, def) = self.prog.resolve_type(ctx, name)?;
        let loc = self.loc(unit, def.span);
        if let Some(d) = def.derives.iter().find(|d| {
            self.catalog.is_validation_derive(d)
                || self
                    .catalog
                    .is_validation_derive(d.rsplit("::").next().unwrap_or(d))
        }) {
            return Some((format!("derives `{d}`"), loc));
        }
        if def.attrs.iter().any(|a| {
            a.path == "serde" && (a.tokens.contains("try_from") || a.tokens.contains("from="))
        }) {
            return Some(("deserializes through a validating conversion".into(), loc));
        }
        if def.kind == TypeKind::Enum && def.fields.is_empty() {
            return Some(("is a fieldless enum".into(), loc));
        }
        for (_, imp) in self.prog.impls_of(name) {
            if let Some(tr) = imp.trait_path.as_ref().and_then(|p| p.last()) {
                if tr == "TryFrom" || tr == "FromStr" {
                    return Some((format!("has a validating `{tr}` constructor"), loc));
                }
            }
        }
        None
    }

    /// Whether values of the type can only be built by a conversion that rejects bad input: a newtype or
    /// enum of the crate deserialized through `#[serde(try_from = ..)]`, built by a `TryFrom`/`FromStr`
    /// impl, or a Rocket `FromParam`/`FromFormField` guard of its own. Such a value is no longer raw
    /// request input, whatever the extractor around it.
    pub fn validates_itself(&self, ty: &TypeRef, ctx: &Ctx) -> bool {
        let (t, _) = ty.strip_option();
        // A collection or box of self-validating values (`Vec<Version>`) holds only valid ones.
        if matches!(
            t.name(),
            "Vec" | "VecDeque" | "HashSet" | "BTreeSet" | "Box" | "Arc" | "Rc"
        ) {
            return t
                .args
                .first()
                .is_some_and(|inner| self.validates_itself(inner, ctx));
        }
        let t = match self.classify_input(t, ctx) {
            Some(c) if c.inner.name() != t.name() => c.inner,
            _ => t.clone(),
        };
        let name = t.name();
        let Some((_, def)) = self.prog.resolve_type(ctx, name) else {
            return false;
        };
        if def.kind == TypeKind::Enum && def.fields.is_empty() {
            return true;
        }
        // A Python enum (`class Theme(str, Enum)`): pydantic accepts only its members' values.
        if def
            .derives
            .iter()
            .any(|d| PYTHON_ENUMS.contains(&d.rsplit('.').next().unwrap_or(d)))
        {
            return true;
        }
        if def
            .attrs
            .iter()
            .any(|a| a.path == "serde" && a.tokens.contains("try_from"))
        {
            return true;
        }
        self.prog.impls_of(name).any(|(_, imp)| {
            imp.trait_path
                .as_ref()
                .and_then(|p| p.last())
                .is_some_and(|tr| {
                    matches!(
                        tr.as_str(),
                        "TryFrom" | "FromStr" | "FromParam" | "FromFormField" | "FromSegments"
                    )
                })
        })
    }

    /// The type's definition location, for a secondary label.
    pub fn type_loc(&self, ty: &TypeRef, ctx: &Ctx) -> Option<Loc> {
        let (t, _) = ty.strip_option();
        self.prog
            .resolve_type(ctx, t.name())
            .map(|(u, d)| self.loc(u, d.span))
    }

    /// Whether the handler validates the value bound to `binding`: `.validate()` on it, or passing it to a
    /// function of the crate that validates.
    pub fn handler_validates(
        &self,
        handler: FnId,
        binding: &str,
        input_type: &str,
    ) -> Option<Evidence> {
        let f = self.prog.func(handler);
        let ctx = self.prog.ctx_of(handler);
        // A domain type of the crate is built from the input by a fallible conversion
        // (`impl TryFrom<FormData> for NewSubscriber`, then `form.0.try_into()?`).
        let converted = self
            .prog
            .units
            .iter()
            .flat_map(|u| &u.facts.impls)
            .find(|imp| {
                imp.trait_path
                    .as_ref()
                    .and_then(|p| p.last())
                    .is_some_and(|t| t == "TryFrom")
                    && imp
                        .trait_args
                        .first()
                        .is_some_and(|a| a.name() == input_type)
            });
        for c in &f.calls {
            let mentions = c.recv.as_deref().is_some_and(|r| contains_word(r, binding))
                || c.args.iter().any(|a| contains_word(&a.text, binding));
            if let Some(imp) = converted {
                if c.checked && mentions && matches!(c.name.as_str(), "try_into" | "try_from") {
                    return Some(Evidence {
                        loc: self.loc(handler.unit, c.span),
                        note: format!(
                            "validated by converting it into `{}` (`TryFrom<{input_type}>`)",
                            imp.self_ty.name()
                        ),
                    });
                }
            }
            let is_validation = self
                .capabilities(&ctx, c)
                .iter()
                .any(|e| e.capability == "validation");
            let on_binding = c.recv.as_deref().is_some_and(|r| contains_word(r, binding))
                || c.args.iter().any(|a| contains_word(&a.text, binding));
            if is_validation && on_binding {
                return Some(Evidence {
                    loc: self.loc(handler.unit, c.span),
                    note: format!("validated by `{}`", c.name),
                });
            }
            if c.kind != CallKind::Macro && c.args.iter().any(|a| contains_word(&a.text, binding)) {
                if let Some(callee) = self.callee(&ctx, c) {
                    let s = self.summary(callee);
                    if let Some(v) = s.validates.first() {
                        return Some(Evidence {
                            loc: self.loc(handler.unit, c.span),
                            note: format!(
                                "validated by `{}` ({})",
                                self.prog.func(callee).name,
                                v.note
                            ),
                        });
                    }
                }
            }
        }
        None
    }

    pub fn param_binding(p: &Param) -> String {
        p.pat
            .bindings
            .first()
            .map(|b| b.to_string())
            .unwrap_or_else(|| p.pat.text.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::contains_word;

    #[test]
    fn words_are_whole() {
        assert!(contains_word("payload.validate()", "payload"));
        assert!(!contains_word("my_payload.validate()", "payload"));
        assert!(contains_word("&payload", "payload"));
    }
}
