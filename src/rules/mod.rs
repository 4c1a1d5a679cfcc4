//! Rules as data: loaded from TOML (the embedded pack plus `--rules` directories), checked and compiled
//! once, then evaluated against the service model.

pub mod condition;
pub mod entities;
mod index;
pub mod prefilter;
pub mod props;
pub mod schema;
pub mod template;
pub mod view;

use crate::catalog::Catalog;
use crate::model::Model;
use crate::policy_error::{did_you_mean, PolicyError};
use crate::source::Loc;
use condition::{lookup_path, Cond};
use rayon::prelude::*;
use schema::{RawExample, RawRule};
use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::Arc;
use template::Template;
use toml::Spanned;
use view::Prop;

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Note,
    Warning,
    Error,
}

impl Severity {
    pub fn parse(s: &str) -> Option<Severity> {
        match s {
            "error" => Some(Severity::Error),
            "warning" => Some(Severity::Warning),
            "note" => Some(Severity::Note),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Note => "note",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Case {
    pub target: String,
    pub cond: Option<Cond>,
    pub severity: Severity,
    pub message: Template,
    pub help: Template,
    pub label: Template,
    pub at: Option<String>,
    pub labels: Vec<(String, Option<Template>)>,
}

#[derive(Debug, Clone)]
pub struct Rule {
    pub id: String,
    pub title: String,
    pub severity: Severity,
    pub category: String,
    pub tags: Vec<String>,
    pub description: String,
    pub security_severity: Option<f64>,
    pub precision: Option<String>,
    pub tier: Tier,
    pub cases: Vec<Case>,
    pub examples: Vec<RawExample>,
    /// The file the rule was loaded from.
    pub source: String,
}

/// Which runs a rule takes part in. Rules whose findings are not yet precise enough to be trusted by
/// default are `Audit`: they run only when a user asks for them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Tier {
    Default,
    Audit,
}

impl Tier {
    pub fn as_str(self) -> &'static str {
        match self {
            Tier::Default => "default",
            Tier::Audit => "audit",
        }
    }
}

#[derive(Debug, Clone)]
pub struct RuleSource {
    pub name: String,
    pub text: Arc<str>,
}

#[derive(Debug, Default)]
pub struct RuleSet {
    pub rules: Vec<Rule>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Label {
    pub loc: Loc,
    pub message: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    pub rule: String,
    pub severity: Severity,
    pub message: String,
    /// The primary label's text (may be empty).
    pub label: String,
    /// The Cargo package the finding belongs to, when the target has one.
    pub package: Option<String>,
    pub help: String,
    pub loc: Loc,
    pub labels: Vec<Label>,
}

/// State while checking one rule file: every error is collected, none stops the others.
pub struct LoadCx<'a> {
    pub file: &'a str,
    pub text: &'a Arc<str>,
    pub catalog: &'a Catalog,
    pub target: String,
    pub errors: Vec<PolicyError>,
}

impl LoadCx<'_> {
    pub fn err(&self, span: std::ops::Range<usize>, msg: impl Into<String>) -> PolicyError {
        PolicyError::new(self.file, self.text, Some(span), msg)
    }

    fn severity(&mut self, s: &Spanned<String>) -> Option<Severity> {
        let sev = Severity::parse(s.get_ref());
        if sev.is_none() {
            let mut e = self.err(s.span(), format!("unknown severity `{}`", s.get_ref()));
            e.help = did_you_mean(s.get_ref(), ["error", "warning", "note"])
                .or(Some("expected `error`, `warning` or `note`".into()));
            self.errors.push(e);
        }
        sev
    }

    fn template(&mut self, s: &Spanned<String>, shape: &props::Shape) -> Option<Template> {
        match template::parse(s.get_ref(), shape) {
            Ok(t) => Some(t),
            Err((offset, msg, help)) => {
                // Point at the placeholder inside the TOML string when it can be found verbatim.
                let span = s.span();
                let raw = self.text.get(span.clone()).unwrap_or("");
                let placeholder: String = s.get_ref()[offset..]
                    .chars()
                    .take_while(|c| *c != '}')
                    .chain(Some('}'))
                    .collect();
                let range = match raw.find(&placeholder) {
                    Some(i) => span.start + i..span.start + i + placeholder.len(),
                    None => span,
                };
                let mut e = self.err(range, msg);
                e.help = help;
                self.errors.push(e);
                None
            }
        }
    }
}

fn is_kebab(id: &str) -> bool {
    !id.is_empty()
        && id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !id.starts_with('-')
        && !id.ends_with('-')
}

impl RuleSet {
    /// Loads rule files; every error of every file is returned.
    pub fn load(sources: &[RuleSource], catalog: &Catalog) -> Result<RuleSet, Vec<PolicyError>> {
        let mut rules: Vec<Rule> = vec![];
        let mut errors = vec![];
        let mut seen: BTreeMap<String, String> = BTreeMap::new();
        for src in sources {
            let raw: RawRule = match toml::from_str(&src.text) {
                Ok(r) => r,
                Err(e) => {
                    errors.push(PolicyError::from_toml(&src.name, &src.text, &e));
                    continue;
                }
            };
            let mut cx = LoadCx {
                file: &src.name,
                text: &src.text,
                catalog,
                target: String::new(),
                errors: vec![],
            };
            if let Some(rule) = compile(&mut cx, raw, &src.name, &mut seen) {
                rules.push(rule);
            }
            errors.extend(cx.errors);
        }
        if errors.is_empty() {
            rules.sort_by(|a, b| a.id.cmp(&b.id));
            Ok(RuleSet { rules })
        } else {
            Err(errors)
        }
    }

    pub fn get(&self, id: &str) -> Option<&Rule> {
        self.rules.iter().find(|r| r.id == id)
    }

    /// Evaluates the enabled rules on the model. Each target entity is reported at most once per rule:
    /// by the first of the rule's cases that matches it.
    pub fn evaluate(
        &self,
        model: &Model,
        enabled: &(dyn Fn(&Rule) -> bool + Sync),
    ) -> Vec<Finding> {
        let needed: std::collections::BTreeSet<&str> = self
            .rules
            .iter()
            .filter(|r| enabled(r))
            .flat_map(|r| r.cases.iter().map(|c| c.target.as_str()))
            .collect();
        // Rules read the model's entities in place, through their typed view; rules run in parallel over
        // the shared lists (the engine sorts findings afterwards, so the order here does not matter).
        let entities: BTreeMap<&str, Vec<Prop>> = needed
            .into_iter()
            .map(|t| (t, entities::target_entities(model, t)))
            .collect();
        let enabled_rules: Vec<&Rule> = self.rules.iter().filter(|r| enabled(r)).collect();
        // Entities grouped by each property that some case requires, built once and shared.
        let keys: std::collections::BTreeSet<(&str, &[String])> = enabled_rules
            .iter()
            .flat_map(|r| &r.cases)
            .flat_map(|c| {
                c.cond
                    .iter()
                    .flat_map(index::required_props)
                    .map(move |(path, _)| (c.target.as_str(), path))
            })
            .collect();
        let groups: std::collections::HashMap<(&str, &[String]), index::Groups> = keys
            .into_par_iter()
            .filter_map(|(target, path)| {
                let list = entities.get(target)?;
                Some(((target, path), index::Groups::new(list, path)?))
            })
            .collect();
        enabled_rules
            .into_par_iter()
            .flat_map_iter(|rule| {
                let mut findings = vec![];
                let mut reported: std::collections::HashSet<(&str, usize)> =
                    std::collections::HashSet::new();
                for case in &rule.cases {
                    let target = case.target.as_str();
                    let list = entities.get(target).map(Vec::as_slice).unwrap_or(&[]);
                    let chosen = case
                        .cond
                        .as_ref()
                        .and_then(|c| index::candidates(c, |path| groups.get(&(target, path))));
                    let ids: Box<dyn Iterator<Item = usize>> = match chosen {
                        Some(ids) => Box::new(ids.into_iter().map(|i| i as usize)),
                        None => Box::new(0..list.len()),
                    };
                    for i in ids {
                        let e = list[i];
                        if reported.contains(&(target, i)) {
                            continue;
                        }
                        if case.cond.as_ref().is_none_or(|c| c.eval(e)) {
                            reported.insert((target, i));
                            if let Some(f) = finding(rule, case, e) {
                                findings.push(f);
                            }
                        }
                    }
                }
                findings
            })
            .collect()
    }
}

fn finding(rule: &Rule, case: &Case, e: Prop) -> Option<Finding> {
    let loc = lookup_path(e, case.at.as_deref().unwrap_or("loc")).as_loc()?;
    let mut labels: Vec<Label> = vec![];
    for (path, msg) in &case.labels {
        let v = lookup_path(e, path);
        if v.is_absent() {
            continue;
        }
        let items: Vec<Prop> = match v.items() {
            Some(items) => items.collect(),
            None => vec![v],
        };
        for item in items {
            let (l, note) = match item.as_loc() {
                Some(l) => (l, None),
                None => match item.get("loc").as_loc() {
                    Some(l) => (l, item.get("note").as_str().map(str::to_string)),
                    None => continue,
                },
            };
            let message = match msg {
                Some(t) => t.render(e),
                None => note.unwrap_or_default(),
            };
            let label = Label { loc: l, message };
            if !(labels.contains(&label) || (l == loc && label.message.is_empty())) {
                labels.push(label);
            }
        }
    }
    Some(Finding {
        rule: rule.id.clone(),
        severity: case.severity,
        message: case.message.render(e),
        label: case.label.render(e),
        package: e.get("package").as_str().map(str::to_string),
        help: case.help.render(e),
        loc,
        labels,
    })
}

fn compile(
    cx: &mut LoadCx,
    raw: RawRule,
    file: &str,
    seen: &mut BTreeMap<String, String>,
) -> Option<Rule> {
    let id = raw.id.get_ref().clone();
    if !is_kebab(&id) {
        cx.errors.push(
            cx.err(raw.id.span(), format!("rule id `{id}` is not kebab-case"))
                .with_help("use lowercase words joined by `-`, e.g. `missing-rate-limit`"),
        );
    }
    if let Some(prev) = seen.get(&id) {
        cx.errors.push(
            cx.err(raw.id.span(), format!("duplicate rule id `{id}`"))
                .with_help(format!("`{id}` is already defined in {prev}")),
        );
    } else {
        seen.insert(id.clone(), file.to_string());
    }
    let severity = cx.severity(&raw.severity);
    if let Some(s) = &raw.security_severity {
        if !(0.1..=10.0).contains(s.get_ref()) {
            cx.errors
                .push(cx.err(s.span(), "`security-severity` must be between 0.1 and 10.0"));
        }
    }
    if let Some(p) = &raw.precision {
        if !["very-high", "high", "medium", "low"].contains(&p.get_ref().as_str()) {
            cx.errors.push(
                cx.err(p.span(), format!("unknown precision `{}`", p.get_ref()))
                    .with_help("expected `very-high`, `high`, `medium` or `low`"),
            );
        }
    }
    let tier = match raw.tier.as_ref().map(|t| t.get_ref().as_str()) {
        None | Some("default") => Tier::Default,
        Some("audit") => Tier::Audit,
        Some(other) => {
            let span = raw.tier.as_ref().map(|t| t.span()).unwrap_or_default();
            cx.errors.push(
                cx.err(span, format!("unknown tier `{other}`"))
                    .with_help("expected `default` or `audit`"),
            );
            Tier::Default
        }
    };
    if raw.cases.is_empty() {
        cx.errors
            .push(cx.err(raw.id.span(), "a rule needs at least one `[[match]]`"));
    }
    let mut cases = vec![];
    for c in &raw.cases {
        let c = c.get_ref();
        let target = c.target.get_ref().clone();
        let Some(shape) = props::target_shape(&target) else {
            let mut e = cx.err(c.target.span(), format!("unknown target `{target}`"));
            e.help = did_you_mean(&target, props::TARGETS.iter().copied())
                .or_else(|| Some(format!("targets: {}", props::TARGETS.join(", "))));
            cx.errors.push(e);
            continue;
        };
        cx.target = target.clone();
        let cond = c.when.as_ref().and_then(|w| cx.compile_cond(w, &shape));
        let case_sev = match &c.severity {
            Some(s) => cx.severity(s),
            None => severity,
        };
        let message_src = c.message.as_ref().or(raw.message.as_ref());
        let Some(message_src) = message_src else {
            cx.errors.push(cx.err(
                c.target.span(),
                "no `message` for this match (set it on the rule or the match)",
            ));
            continue;
        };
        let message = cx.template(message_src, &shape);
        let help = match c.help.as_ref().or(raw.help.as_ref()) {
            Some(h) => cx.template(h, &shape),
            None => Some(Template::default()),
        };
        let label = match &c.label {
            Some(l) => cx.template(l, &shape).unwrap_or_default(),
            None => Template::default(),
        };
        if let Some(at) = &c.at {
            if props::resolve(&shape, at.get_ref()).is_err() {
                cx.errors.push(cx.err(
                    at.span(),
                    format!("unknown property `{}` for target `{target}`", at.get_ref()),
                ));
            }
        }
        let mut labels = vec![];
        for l in &c.labels {
            let l = l.get_ref();
            if props::resolve(&shape, l.at.get_ref()).is_err() {
                let mut e = cx.err(
                    l.at.span(),
                    format!(
                        "unknown property `{}` for target `{target}`",
                        l.at.get_ref()
                    ),
                );
                e.help = Some("a label's `at` names a location, an evidence list or a list of objects with `loc`".into());
                cx.errors.push(e);
                continue;
            }
            let msg = l.message.as_ref().and_then(|m| cx.template(m, &shape));
            labels.push((l.at.get_ref().clone(), msg));
        }
        if let (Some(sev), Some(message), Some(help)) = (case_sev, message, help) {
            if c.when.is_some() && cond.is_none() {
                continue;
            }
            cases.push(Case {
                target,
                cond,
                severity: sev,
                message,
                help,
                label,
                at: c.at.as_ref().map(|a| a.get_ref().clone()),
                labels,
            });
        }
    }
    let severity = severity?;
    if !cx.errors.is_empty() {
        return None;
    }
    Some(Rule {
        id,
        title: raw.title,
        severity,
        category: raw.category,
        tags: raw.tags,
        description: raw.description,
        security_severity: raw.security_severity.map(|s| s.into_inner()),
        precision: raw.precision.map(|p| p.into_inner()),
        tier,
        cases,
        examples: raw.examples,
        source: file.to_string(),
    })
}
