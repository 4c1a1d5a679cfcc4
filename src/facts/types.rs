use super::{exact, CollectExact, Name};
use crate::source::{Span, Spanner};
use quote::ToTokens;
use serde::{Deserialize, Serialize};

/// A type as written, reduced to its path segments and the generic arguments of the last segment.
/// References are looked through (`&str` is `str`), slices are `[]<T>`, tuples `()<A,B>`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct TypeRef {
    pub segs: Vec<Name>,
    pub args: Vec<TypeRef>,
    pub text: String,
    pub span: Span,
}

impl TypeRef {
    pub fn name(&self) -> &str {
        self.segs.last().map(Name::as_str).unwrap_or("")
    }

    /// The type with every path shortened to its last segment, e.g.
    /// `TypedHeader<Authorization<Bearer>>` for `axum_extra::TypedHeader<headers::Authorization<Bearer>>`.
    pub fn normalized(&self) -> String {
        let mut out = self.name().to_string();
        if !self.args.is_empty() {
            out.push('<');
            let args: Vec<String> = self.args.iter().map(TypeRef::normalized).collect();
            out.push_str(&args.join(","));
            out.push('>');
        }
        out
    }

    /// Looks through `Option<T>`: returns the inner type and whether it was optional.
    pub fn strip_option(&self) -> (&TypeRef, bool) {
        if self.name() == "Option" && self.args.len() == 1 {
            (&self.args[0], true)
        } else {
            (self, false)
        }
    }

    pub fn from_syn(ty: &syn::Type, sp: &Spanner) -> TypeRef {
        let span = sp.span(syn::spanned::Spanned::span(ty));
        let text = compact(&ty.to_token_stream().to_string());
        let (segs, args) = match ty {
            syn::Type::Path(p) => path_parts(&p.path, sp),
            syn::Type::Reference(r) => {
                let inner = TypeRef::from_syn(&r.elem, sp);
                (inner.segs, inner.args)
            }
            syn::Type::Paren(p) => {
                let inner = TypeRef::from_syn(&p.elem, sp);
                (inner.segs, inner.args)
            }
            syn::Type::Group(g) => {
                let inner = TypeRef::from_syn(&g.elem, sp);
                (inner.segs, inner.args)
            }
            syn::Type::Slice(s) => (vec!["[]".into()], vec![TypeRef::from_syn(&s.elem, sp)]),
            syn::Type::Array(a) => (vec!["[]".into()], vec![TypeRef::from_syn(&a.elem, sp)]),
            syn::Type::Tuple(t) => (
                vec!["()".into()],
                t.elems
                    .iter()
                    .map(|e| TypeRef::from_syn(e, sp))
                    .collect_exact(),
            ),
            syn::Type::ImplTrait(_) => (vec!["impl".into()], vec![]),
            syn::Type::TraitObject(_) => (vec!["dyn".into()], vec![]),
            _ => (vec![Name::new(&text)], vec![]),
        };
        TypeRef {
            segs,
            args,
            text,
            span,
        }
    }
}

pub(super) fn path_parts(path: &syn::Path, sp: &Spanner) -> (Vec<Name>, Vec<TypeRef>) {
    let segs = path
        .segments
        .iter()
        .map(|s| Name::new(&s.ident.to_string()))
        .collect_exact();
    let args = path
        .segments
        .last()
        .map(|last| generic_args(&last.arguments, sp))
        .unwrap_or_default();
    (segs, args)
}

pub(super) fn generic_args(args: &syn::PathArguments, sp: &Spanner) -> Vec<TypeRef> {
    match args {
        syn::PathArguments::AngleBracketed(a) => type_args(a, sp),
        _ => vec![],
    }
}

/// The type arguments of `<...>` (lifetimes and constants are skipped).
pub(super) fn type_args(a: &syn::AngleBracketedGenericArguments, sp: &Spanner) -> Vec<TypeRef> {
    let args = a
        .args
        .iter()
        .filter_map(|g| match g {
            syn::GenericArgument::Type(t) => Some(TypeRef::from_syn(t, sp)),
            _ => None,
        })
        .collect();
    exact(args)
}

/// Removes the spaces `to_string()` puts between tokens, keeping those between two words.
pub fn compact(s: &str) -> String {
    let chars: Vec<char> = s.chars().collect();
    let mut out = String::with_capacity(s.len());
    for (i, &c) in chars.iter().enumerate() {
        if c == ' ' {
            let prev = out.chars().last();
            let next = chars.get(i + 1).copied();
            let wordy = |c: Option<char>| {
                c.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '"' || c == '\'')
            };
            if wordy(prev) && wordy(next) {
                out.push(' ');
            }
            continue;
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizes_paths_to_last_segments() {
        let src = "type X = axum_extra::TypedHeader<headers::Authorization<Bearer>>;";
        let sp = Spanner::new(src);
        let file: syn::File = syn::parse_str(src).unwrap();
        let syn::Item::Type(t) = &file.items[0] else {
            panic!()
        };
        let ty = TypeRef::from_syn(&t.ty, &sp);
        assert_eq!(ty.normalized(), "TypedHeader<Authorization<Bearer>>");
        assert_eq!(
            ty.text,
            "axum_extra::TypedHeader<headers::Authorization<Bearer>>"
        );
    }

    #[test]
    fn compact_keeps_word_spaces() {
        assert_eq!(
            compact("& 'a mut dyn Fn (u8) -> u8"),
            "&'a mut dyn Fn(u8)->u8"
        );
    }
}
