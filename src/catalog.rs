//! The declarative vocabulary: which types, constructors and calls of which crates mean authentication,
//! rate limiting, caching, validation, TLS. Loaded from `rules/catalog/*.toml` (embedded) plus project
//! extensions, compiled once into matchers.

use crate::policy_error::PolicyError;
use regex::Regex;
use serde::Deserialize;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use toml::Spanned;

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawCatalog {
    #[serde(default)]
    layer: Vec<RawLayer>,
    #[serde(default)]
    extractor: Vec<RawExtractor>,
    #[serde(default)]
    input: Vec<RawInput>,
    #[serde(default)]
    call: Vec<RawCall>,
    #[serde(default)]
    derive: Vec<RawDerive>,
    #[serde(default)]
    listener: Vec<RawListener>,
    #[serde(default)]
    attribute: Vec<RawExtractor>,
    #[serde(default)]
    credentials: Option<RawCredentials>,
    #[serde(default)]
    paths: BTreeMap<String, Vec<Spanned<String>>>,
    #[serde(default)]
    types: Option<RawTypes>,
    #[serde(default)]
    flow: Vec<RawFlow>,
    #[serde(default)]
    secrets: Option<RawSecrets>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawFlow {
    name: String,
    #[serde(rename = "match")]
    patterns: Vec<Spanned<String>>,
    /// source, clear, combine or guard.
    effect: Spanned<String>,
    #[serde(default)]
    labels: Vec<Spanned<String>>,
    /// Only when the receiver's text matches.
    receiver: Option<Spanned<String>>,
    /// Only when the same function also makes one of these calls (canonicalize, then `starts_with`).
    #[serde(default)]
    requires: Vec<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawSecrets {
    /// Bindings, fields and accessor methods whose value is a secret.
    names: Spanned<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawLayer {
    name: String,
    #[serde(rename = "match")]
    patterns: Vec<Spanned<String>>,
    capability: Spanned<String>,
    #[serde(default)]
    tags: Vec<String>,
    /// The layer has this capability only when one of its arguments matches (e.g. CACHE_CONTROL).
    when_arg: Option<Spanned<String>>,
    /// For cache headers: the argument holding the directives.
    directives_arg: Option<usize>,
    /// For response caches: whether the cache key includes the caller's identity.
    keys_identity: Option<bool>,
    /// For auth layers that do not reject unauthenticated requests.
    #[serde(default)]
    optional: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawExtractor {
    name: String,
    #[serde(rename = "match")]
    patterns: Vec<Spanned<String>>,
    capability: Spanned<String>,
    #[serde(default)]
    optional: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawInput {
    #[serde(rename = "match")]
    patterns: Vec<Spanned<String>>,
    /// json, form, query, path, body, multipart; absent for wrappers.
    kind: Option<String>,
    /// A wrapper whose first type argument is the real extractor.
    #[serde(default)]
    wrapper: bool,
    /// The wrapper validates what it wraps.
    #[serde(default)]
    validates: bool,
    /// The extractor's value is the raw body itself, not a type argument.
    #[serde(default)]
    raw: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawCall {
    name: String,
    #[serde(rename = "match")]
    patterns: Vec<Spanned<String>>,
    /// rate-limit, token-verify, redirect, validation, tls-acceptor, credential-read, audit, …
    capability: Spanned<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawDerive {
    #[serde(rename = "match")]
    patterns: Vec<Spanned<String>>,
    capability: Spanned<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawListener {
    name: String,
    #[serde(rename = "match")]
    patterns: Vec<Spanned<String>>,
    tls: Spanned<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawCredentials {
    headers: Option<Spanned<String>>,
    names: Option<Spanned<String>>,
    #[serde(default)]
    read_methods: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawTypes {
    #[serde(default)]
    self_validating: Vec<Spanned<String>>,
    #[serde(default)]
    bounded: Vec<Spanned<String>>,
}

/// A name pattern: `*` matches any run of characters but a line break, everything else is literal.
/// Matched by hand rather than as a regular expression: every call of a package is tested against
/// every pattern of the catalog, and a literal comparison is many times cheaper.
#[derive(Debug, Clone)]
pub struct Pattern {
    /// The literal parts between the stars (one part: no star).
    parts: Vec<String>,
}

impl Pattern {
    pub fn new(glob: &str) -> Self {
        Pattern {
            parts: glob.split('*').map(str::to_string).collect(),
        }
    }

    /// The pattern's text when it has no star.
    fn literal(&self) -> Option<&str> {
        match self.parts.as_slice() {
            [only] => Some(only),
            _ => None,
        }
    }

    /// The first path segment every match starts with, when the text before the first star holds
    /// one whole (`sha2::*`: `sha2`).
    fn first_segment(&self) -> Option<&str> {
        let first = self.parts.first()?;
        let (segment, _) = first.split_once("::")?;
        (!segment.is_empty()).then_some(segment)
    }

    /// The last path segment every match ends with, when the text after the last star is `::` and one
    /// segment (`*::verify_token`: `verify_token`).
    fn last_segment(&self) -> Option<&str> {
        let segment = self.parts.last()?.strip_prefix("::")?;
        let whole = !segment.is_empty() && !segment.starts_with(':') && !segment.contains("::");
        (self.parts.len() > 1 && whole).then_some(segment)
    }

    pub fn is_match(&self, s: &str) -> bool {
        let (first, rest) = match self.parts.split_first() {
            Some((first, [])) => return s == first,
            Some(split) => split,
            None => return false,
        };
        let Some((last, middle)) = rest.split_last() else {
            return false;
        };
        if s.len() < first.len() + last.len() || !s.starts_with(first.as_str()) {
            return false;
        }
        if !s.ends_with(last.as_str()) {
            return false;
        }
        // Each middle part at its leftmost place leaves the most room for those after it.
        let mut gap = &s[first.len()..s.len() - last.len()];
        let mut gaps_ok = true;
        for part in middle {
            let Some(i) = gap.find(part.as_str()) else {
                return false;
            };
            gaps_ok &= !gap[..i].contains('\n');
            gap = &gap[i + part.len()..];
        }
        gaps_ok && !gap.contains('\n')
    }
}

/// The patterns of a list of entries, indexed: a literal pattern is found by its text, a glob with a
/// literal first path segment (`sha2::*`) by the name's first segment, one ending in a literal last
/// segment (`*::verify_token`) by the name's last, and the others are tested in turn. Every call of
/// a package asks.
#[derive(Debug, Clone, Default)]
pub struct PatternIndex {
    exact: HashMap<String, Vec<usize>>,
    by_first: HashMap<String, Vec<(Pattern, usize)>>,
    by_last: HashMap<String, Vec<(Pattern, usize)>>,
    globs: Vec<(Pattern, usize)>,
}

impl PatternIndex {
    pub fn new<'a>(entries: impl Iterator<Item = &'a [Pattern]>) -> Self {
        let mut index = PatternIndex::default();
        for (i, patterns) in entries.enumerate() {
            for p in patterns {
                if let Some(text) = p.literal() {
                    index.exact.entry(text.to_string()).or_default().push(i);
                } else if let Some(first) = p.first_segment() {
                    index
                        .by_first
                        .entry(first.to_string())
                        .or_default()
                        .push((p.clone(), i));
                } else if let Some(last) = p.last_segment() {
                    index
                        .by_last
                        .entry(last.to_string())
                        .or_default()
                        .push((p.clone(), i));
                } else {
                    index.globs.push((p.clone(), i));
                }
            }
        }
        index
    }

    /// The entries with a pattern that matches one of `names`: ascending, each once.
    pub fn matching(&self, names: &[String]) -> Vec<usize> {
        let mut out: Vec<usize> = names
            .iter()
            .filter_map(|n| self.exact.get(n.as_str()))
            .flatten()
            .copied()
            .collect();
        for n in names {
            let first = n.split("::").next().unwrap_or(n);
            let last = n.rsplit("::").next().unwrap_or(n);
            let keyed = [self.by_first.get(first), self.by_last.get(last)];
            for (p, i) in keyed.into_iter().flatten().flatten() {
                if p.is_match(n) {
                    out.push(*i);
                }
            }
        }
        for (p, i) in &self.globs {
            if names.iter().any(|n| p.is_match(n)) {
                out.push(*i);
            }
        }
        out.sort_unstable();
        out.dedup();
        out
    }
}

#[derive(Debug, Clone)]
pub struct LayerEntry {
    pub name: String,
    pub patterns: Vec<Pattern>,
    pub capability: String,
    pub tags: Vec<String>,
    pub when_arg: Option<Regex>,
    pub directives_arg: Option<usize>,
    pub keys_identity: Option<bool>,
    pub optional: bool,
}

#[derive(Debug, Clone)]
pub struct ExtractorEntry {
    pub name: String,
    pub patterns: Vec<Pattern>,
    pub capability: String,
    pub optional: bool,
}

#[derive(Debug, Clone)]
pub struct InputEntry {
    pub patterns: Vec<Pattern>,
    pub kind: Option<String>,
    pub wrapper: bool,
    pub validates: bool,
    pub raw: bool,
}

#[derive(Debug, Clone)]
pub struct CallEntry {
    pub name: String,
    pub patterns: Vec<Pattern>,
    pub capability: String,
}

#[derive(Debug, Clone)]
pub struct ListenerEntry {
    pub name: String,
    pub patterns: Vec<Pattern>,
    pub tls: String,
}

/// How a call affects the data flowing through it (`model::flow`).
#[derive(Debug, Clone)]
pub struct FlowEntry {
    pub name: String,
    pub patterns: Vec<Pattern>,
    pub effect: String,
    pub labels: Vec<String>,
    pub receiver: Option<Regex>,
    pub requires: Vec<Pattern>,
}

#[derive(Debug, Clone, Default)]
pub struct Catalog {
    pub layers: Vec<LayerEntry>,
    pub extractors: Vec<ExtractorEntry>,
    pub inputs: Vec<InputEntry>,
    pub calls: Vec<CallEntry>,
    pub derives: Vec<(Pattern, String)>,
    pub listeners: Vec<ListenerEntry>,
    /// Attributes on handlers (`#[protect("ADMIN")]`), with the capability they give the route.
    pub attributes: Vec<ExtractorEntry>,
    pub credential_headers: Vec<Regex>,
    pub credential_names: Vec<Regex>,
    pub read_methods: Vec<String>,
    pub paths: BTreeMap<String, Vec<Regex>>,
    pub self_validating: Vec<Pattern>,
    pub bounded: Vec<Pattern>,
    pub flow: Vec<FlowEntry>,
    pub secret_names: Vec<Regex>,
    /// The patterns of `calls` and of `flow`, indexed once the catalog is loaded.
    call_index: PatternIndex,
    flow_index: PatternIndex,
}

pub const LAYER_CAPABILITIES: &[&str] = &[
    "auth",
    "rate-limit",
    "cache",
    "body-limit",
    "cors",
    "trace",
    "timeout",
    "compression",
    "other",
];
pub const FLOW_EFFECTS: &[&str] = &["source", "clear", "combine", "guard"];
pub const FLOW_LABELS: &[&str] = &["input", "dynamic", "secret", "variable"];
pub const CALL_CAPABILITIES: &[&str] = &[
    "rate-limit",
    "token-verify",
    "password-verify",
    "redirect",
    "validation",
    "tls-acceptor",
    "credential-read",
    "auth",
    "input",
    "audit",
    "blocking",
    "secret-sink",
];

impl Catalog {
    /// Loads and merges catalog files; every error of every file is returned.
    pub fn load(files: &[(String, Arc<str>)]) -> Result<Catalog, Vec<PolicyError>> {
        let mut cat = Catalog::default();
        let mut errors = vec![];
        for (name, text) in files {
            match toml::from_str::<RawCatalog>(text) {
                Ok(raw) => cat.merge(raw, name, text, &mut errors),
                Err(e) => errors.push(PolicyError::from_toml(name, text, &e)),
            }
        }
        cat.call_index = PatternIndex::new(cat.calls.iter().map(|c| c.patterns.as_slice()));
        cat.flow_index = PatternIndex::new(cat.flow.iter().map(|f| f.patterns.as_slice()));
        if errors.is_empty() {
            Ok(cat)
        } else {
            Err(errors)
        }
    }

    fn merge(
        &mut self,
        raw: RawCatalog,
        file: &str,
        text: &Arc<str>,
        errors: &mut Vec<PolicyError>,
    ) {
        let patterns = |list: &[Spanned<String>]| -> Vec<Pattern> {
            list.iter().map(|p| Pattern::new(p.get_ref())).collect()
        };
        let regex = |s: &Spanned<String>, errors: &mut Vec<PolicyError>| -> Option<Regex> {
            match Regex::new(s.get_ref()) {
                Ok(r) => Some(r),
                Err(e) => {
                    errors.push(
                        PolicyError::new(file, text, Some(s.span()), "invalid regular expression")
                            .with_help(
                                e.to_string()
                                    .lines()
                                    .last()
                                    .unwrap_or_default()
                                    .trim()
                                    .trim_start_matches("error: ")
                                    .to_string(),
                            ),
                    );
                    None
                }
            }
        };
        let check_cap = |cap: &Spanned<String>, allowed: &[&str], errors: &mut Vec<PolicyError>| {
            if !allowed.contains(&cap.get_ref().as_str()) {
                let mut err = PolicyError::new(
                    file,
                    text,
                    Some(cap.span()),
                    format!("unknown capability `{}`", cap.get_ref()),
                );
                err.help =
                    crate::policy_error::did_you_mean(cap.get_ref(), allowed.iter().copied())
                        .or_else(|| Some(format!("expected one of: {}", allowed.join(", "))));
                errors.push(err);
            }
        };
        for l in raw.layer {
            check_cap(&l.capability, LAYER_CAPABILITIES, errors);
            self.layers.push(LayerEntry {
                name: l.name,
                patterns: patterns(&l.patterns),
                capability: l.capability.into_inner(),
                tags: l.tags,
                when_arg: l.when_arg.as_ref().and_then(|r| regex(r, errors)),
                directives_arg: l.directives_arg,
                keys_identity: l.keys_identity,
                optional: l.optional,
            });
        }
        for x in raw.extractor {
            check_cap(&x.capability, LAYER_CAPABILITIES, errors);
            self.extractors.push(ExtractorEntry {
                name: x.name,
                patterns: patterns(&x.patterns),
                capability: x.capability.into_inner(),
                optional: x.optional,
            });
        }
        for i in raw.input {
            self.inputs.push(InputEntry {
                patterns: patterns(&i.patterns),
                kind: i.kind,
                wrapper: i.wrapper,
                validates: i.validates,
                raw: i.raw,
            });
        }
        for c in raw.call {
            check_cap(&c.capability, CALL_CAPABILITIES, errors);
            self.calls.push(CallEntry {
                name: c.name,
                patterns: patterns(&c.patterns),
                capability: c.capability.into_inner(),
            });
        }
        for d in raw.derive {
            check_cap(&d.capability, &["validation"], errors);
            for p in patterns(&d.patterns) {
                self.derives.push((p, d.capability.get_ref().clone()));
            }
        }
        for a in raw.attribute {
            check_cap(&a.capability, LAYER_CAPABILITIES, errors);
            self.attributes.push(ExtractorEntry {
                name: a.name,
                patterns: patterns(&a.patterns),
                capability: a.capability.into_inner(),
                optional: a.optional,
            });
        }
        for l in raw.listener {
            check_cap(&l.tls, &["on", "off", "local"], errors);
            self.listeners.push(ListenerEntry {
                name: l.name,
                patterns: patterns(&l.patterns),
                tls: l.tls.into_inner(),
            });
        }
        if let Some(c) = raw.credentials {
            if let Some(h) = c.headers.as_ref().and_then(|h| regex(h, errors)) {
                self.credential_headers.push(h);
            }
            if let Some(n) = c.names.as_ref().and_then(|n| regex(n, errors)) {
                self.credential_names.push(n);
            }
            self.read_methods.extend(c.read_methods);
        }
        for (name, list) in raw.paths {
            let compiled: Vec<Regex> = list.iter().filter_map(|r| regex(r, errors)).collect();
            self.paths.entry(name).or_default().extend(compiled);
        }
        if let Some(t) = raw.types {
            self.self_validating.extend(patterns(&t.self_validating));
            self.bounded.extend(patterns(&t.bounded));
        }
        for f in raw.flow {
            check_cap(&f.effect, FLOW_EFFECTS, errors);
            for l in &f.labels {
                check_cap(l, FLOW_LABELS, errors);
            }
            self.flow.push(FlowEntry {
                name: f.name,
                patterns: patterns(&f.patterns),
                effect: f.effect.into_inner(),
                labels: f.labels.into_iter().map(Spanned::into_inner).collect(),
                receiver: f.receiver.as_ref().and_then(|r| regex(r, errors)),
                requires: patterns(&f.requires),
            });
        }
        if let Some(sec) = raw.secrets {
            if let Some(r) = regex(&sec.names, errors) {
                self.secret_names.push(r);
            }
        }
    }

    pub fn layer(&self, names: &[String], args: &[String]) -> Option<&LayerEntry> {
        self.layers.iter().find(|l| {
            l.patterns
                .iter()
                .any(|p| names.iter().any(|n| p.is_match(n)))
                && l.when_arg
                    .as_ref()
                    .is_none_or(|r| args.iter().any(|a| r.is_match(a)))
        })
    }

    pub fn extractor(&self, ty: &str) -> Option<&ExtractorEntry> {
        self.extractors
            .iter()
            .find(|x| x.patterns.iter().any(|p| p.is_match(ty)))
    }

    pub fn attribute(&self, path: &str) -> Option<&ExtractorEntry> {
        self.attributes
            .iter()
            .find(|x| x.patterns.iter().any(|p| p.is_match(path)))
    }

    pub fn input(&self, ty: &str) -> Option<&InputEntry> {
        self.inputs
            .iter()
            .find(|x| x.patterns.iter().any(|p| p.is_match(ty)))
    }

    /// The capabilities of a call, given the names it can be known by (as written, resolved, `.method`).
    pub fn call_capabilities<'a>(
        &'a self,
        names: &'a [String],
    ) -> impl Iterator<Item = &'a CallEntry> + 'a {
        self.call_index
            .matching(names)
            .into_iter()
            .map(|i| &self.calls[i])
    }

    /// The indices of the call entries with a pattern matching one of `names`, ascending.
    pub fn call_entries(&self, names: &[String]) -> Vec<usize> {
        self.call_index.matching(names)
    }

    /// The indices of the flow entries with a pattern matching one of `names`, ascending.
    pub fn flow_entries(&self, names: &[String]) -> Vec<usize> {
        self.flow_index.matching(names)
    }

    pub fn is_validation_derive(&self, derive: &str) -> bool {
        self.derives.iter().any(|(p, _)| p.is_match(derive))
    }

    pub fn listener(&self, names: &[String]) -> Option<&ListenerEntry> {
        self.listeners.iter().find(|l| {
            l.patterns
                .iter()
                .any(|p| names.iter().any(|n| p.is_match(n)))
        })
    }

    pub fn is_credential_header(&self, s: &str) -> bool {
        self.credential_headers.iter().any(|r| r.is_match(s))
    }

    pub fn is_credential_name(&self, s: &str) -> bool {
        self.credential_names.iter().any(|r| r.is_match(s))
    }

    pub fn path_list(&self, name: &str) -> Option<&[Regex]> {
        self.paths.get(name).map(Vec::as_slice)
    }

    pub fn is_secret_name(&self, s: &str) -> bool {
        self.secret_names.iter().any(|r| r.is_match(s))
    }

    pub fn is_self_validating(&self, ty: &str) -> bool {
        self.self_validating.iter().any(|p| p.is_match(ty))
    }

    pub fn is_bounded(&self, ty: &str) -> bool {
        self.bounded.iter().any(|p| p.is_match(ty))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str) -> Result<Catalog, Vec<PolicyError>> {
        Catalog::load(&[("cat.toml".into(), Arc::from(text))])
    }

    #[test]
    fn indexed_patterns_match_as_testing_each_does() {
        let globs = [
            "sha2::*",
            "*::verify_token",
            "*valid*",
            "Json<*>",
            "tracing::*!",
            "*::hmac*",
            "sha256*",
            "jsonwebtoken::decode",
            "a::*::b",
            "*::x::y",
            "::*",
            "*::",
            "*:::x",
            "a:::*",
        ];
        let patterns: Vec<Vec<Pattern>> = globs.iter().map(|g| vec![Pattern::new(g)]).collect();
        let index = PatternIndex::new(patterns.iter().map(Vec::as_slice));
        let names = [
            "sha2::Sha256::digest",
            "sha2",
            "crate::auth::verify_token",
            "verify_token",
            "is_valid",
            "Json<Login>",
            "tracing::info!",
            "x::hmac_sha256",
            "sha256_hex",
            "jsonwebtoken::decode",
            "a::q::b",
            "z::x::y",
            "::v",
            "w::",
            "",
            "a:::x",
        ];
        for n in names {
            let brute: Vec<usize> = (0..globs.len())
                .filter(|&i| patterns[i][0].is_match(n))
                .collect();
            assert_eq!(index.matching(&[n.to_string()]), brute, "{n}");
        }
    }

    #[test]
    fn patterns_are_globs() {
        let p = Pattern::new("TypedHeader<Authorization<*>>");
        assert!(p.is_match("TypedHeader<Authorization<Bearer>>"));
        assert!(p.is_match("TypedHeader<Authorization<>>"));
        assert!(!p.is_match("TypedHeader<UserAgent>"));
        assert!(!p.is_match("TypedHeader<Authorization<a\nb>>"));
        let exact = Pattern::new("verify_token");
        assert!(exact.is_match("verify_token") && !exact.is_match("verify_tokens"));
        let inner = Pattern::new("*::fs::*::open");
        assert!(inner.is_match("std::fs::File::open"));
        assert!(!inner.is_match("std::fs::open"));
        // The parts may not overlap: `a*a` needs two `a`s.
        assert!(!Pattern::new("a*a").is_match("a"));
        assert!(Pattern::new("a*a").is_match("aa"));
        assert!(Pattern::new("*").is_match(""));
    }

    #[test]
    fn layers_match_by_name_and_argument() {
        let cat = load(
            r#"
[[layer]]
name = "tower_http::set_header::SetResponseHeaderLayer"
match = ["SetResponseHeaderLayer::*"]
capability = "cache"
when-arg = "(?i)cache.control"
"#,
        )
        .unwrap();
        let names = vec!["SetResponseHeaderLayer::overriding".to_string()];
        assert!(cat
            .layer(&names, &["header::CACHE_CONTROL".into()])
            .is_some());
        assert!(cat
            .layer(&names, &["header::X_FRAME_OPTIONS".into()])
            .is_none());
    }

    #[test]
    fn errors_are_located_and_all_reported() {
        let errs = load(
            r#"
[[layer]]
name = "x"
match = ["X"]
capability = "authn"

[[call]]
name = "y"
match = ["y"]
capability = "rate-limit"

[paths]
bad = ["(unclosed"]
"#,
        )
        .unwrap_err();
        assert_eq!(errs.len(), 2);
        assert_eq!(errs[0].line_col(), (5, 14));
        assert_eq!(errs[0].help.as_deref(), Some("did you mean `auth`?"));
        assert!(errs[1].message.contains("regular expression"));
    }

    #[test]
    fn unknown_keys_suggest_the_right_one() {
        let errs =
            load("[[layer]]\nname = \"x\"\nmatch = [\"X\"]\ncapabilty = \"auth\"\n").unwrap_err();
        assert_eq!(errs[0].help.as_deref(), Some("did you mean `capability`?"));
    }
}
