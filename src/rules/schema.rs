//! The rule file format, as written by users (kept with spans for located errors).

use serde::Deserialize;
use toml::Spanned;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RawRule {
    pub id: Spanned<String>,
    pub title: String,
    pub severity: Spanned<String>,
    pub category: String,
    #[serde(default)]
    pub tags: Vec<String>,
    pub description: String,
    pub message: Option<Spanned<String>>,
    pub help: Option<Spanned<String>>,
    /// 0.1–10.0, for code-scanning tools.
    pub security_severity: Option<Spanned<f64>>,
    /// very-high, high, medium, low
    pub precision: Option<Spanned<String>>,
    /// `default` (runs unless deselected) or `audit` (runs only when selected by id, `audit` or `all`).
    pub tier: Option<Spanned<String>>,
    #[serde(rename = "match")]
    pub cases: Vec<Spanned<RawCase>>,
    #[serde(default, rename = "example")]
    pub examples: Vec<RawExample>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RawCase {
    pub target: Spanned<String>,
    pub when: Option<Spanned<RawCond>>,
    pub severity: Option<Spanned<String>>,
    pub message: Option<Spanned<String>>,
    pub help: Option<Spanned<String>>,
    /// The primary label's text.
    pub label: Option<Spanned<String>>,
    /// A property holding the primary location (default: the target's `loc`).
    pub at: Option<Spanned<String>>,
    #[serde(default)]
    pub labels: Vec<Spanned<RawLabel>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RawLabel {
    /// A property holding a location, an evidence record (`{loc, note}`) or a list of either.
    pub at: Spanned<String>,
    pub message: Option<Spanned<String>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RawExample {
    pub name: Option<String>,
    /// The title of the `good` snippet: what makes it right (the `name` describes the mistake).
    pub good_name: Option<String>,
    /// What the snippets are, as a path in the package (default `src/main.rs`; `Cargo.toml` for manifests).
    pub file: Option<String>,
    pub bad: Option<String>,
    pub good: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RawCond {
    pub all: Option<Vec<Spanned<RawCond>>>,
    pub any: Option<Vec<Spanned<RawCond>>>,
    pub not: Option<Box<Spanned<RawCond>>>,
    pub prop: Option<Spanned<String>>,
    pub equals: Option<Spanned<toml::Value>>,
    #[serde(rename = "in")]
    pub in_: Option<Spanned<Vec<toml::Value>>>,
    pub matches: Option<Spanned<String>>,
    pub contains: Option<Spanned<toml::Value>>,
    pub intersects: Option<Spanned<Vec<toml::Value>>>,
    pub exists: Option<Spanned<bool>>,
    pub gt: Option<Spanned<f64>>,
    pub ge: Option<Spanned<f64>>,
    pub lt: Option<Spanned<f64>>,
    pub le: Option<Spanned<f64>>,
    pub in_catalog: Option<Spanned<String>>,
    pub some: Option<Spanned<String>>,
    pub every: Option<Spanned<String>>,
    pub none: Option<Spanned<String>>,
    #[serde(rename = "where")]
    pub where_: Option<Box<Spanned<RawCond>>>,
    pub ordered: Option<Spanned<String>>,
    pub first: Option<Box<Spanned<RawCond>>>,
    pub then: Option<Box<Spanned<RawCond>>>,
}
