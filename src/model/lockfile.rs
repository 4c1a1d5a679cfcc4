//! `Cargo.lock`: the exact versions a package builds with, matched against security advisories.

use super::AdvisoryMatch;
use crate::advisories::Advisory;
use crate::source::{Loc, SourceFile};
use std::collections::HashMap;
use toml_edit::ImDocument;

/// The advisories that affect a package pinned in the lock file, or the parse error's range and message.
pub fn advisory_matches(
    package: &str,
    file_id: u32,
    file: &SourceFile,
    advisories: &[Advisory],
) -> Result<Vec<AdvisoryMatch>, (std::ops::Range<usize>, String)> {
    let doc = ImDocument::parse(&*file.text)
        .map_err(|e| (e.span().unwrap_or(0..0), e.message().to_string()))?;
    let mut by_crate: HashMap<&str, Vec<&Advisory>> = HashMap::new();
    for a in advisories {
        by_crate.entry(a.package.as_str()).or_default().push(a);
    }
    let mut out = vec![];
    let Some(packages) = doc.get("package").and_then(|p| p.as_array_of_tables()) else {
        return Ok(out);
    };
    for t in packages.iter() {
        let (Some(name), Some(version)) = (
            t.get("name").and_then(|v| v.as_str()),
            t.get("version").and_then(|v| v.as_str()),
        ) else {
            continue;
        };
        // Advisories are about crates.io releases; path and git dependencies are the project's own.
        let from_registry = t
            .get("source")
            .and_then(|v| v.as_str())
            .is_some_and(|s| s.starts_with("registry+") || s.starts_with("sparse+"));
        if !from_registry {
            continue;
        }
        let Some(candidates) = by_crate.get(name) else {
            continue;
        };
        let Ok(parsed) = semver::Version::parse(version) else {
            continue;
        };
        let span = t
            .get("version")
            .and_then(|v| v.span())
            .or_else(|| t.span())
            .unwrap_or(0..0);
        for a in candidates.iter().filter(|a| a.affects(&parsed)) {
            out.push(AdvisoryMatch {
                package: package.to_string(),
                krate: name.to_string(),
                version: version.to_string(),
                id: a.id.clone(),
                title: a.title.clone(),
                kind: a
                    .informational
                    .clone()
                    .unwrap_or_else(|| "vulnerability".into()),
                url: a
                    .url
                    .clone()
                    .unwrap_or_else(|| format!("https://rustsec.org/advisories/{}", a.id)),
                aliases: a.aliases.clone(),
                patched: if a.patched.is_empty() {
                    "no fixed release".into()
                } else {
                    a.patched.join(" | ")
                },
                date: a.date.clone(),
                origin: a.origin.clone(),
                loc: Loc::new(file_id, file.span_of_bytes(span.start, span.end)),
            });
        }
    }
    Ok(out)
}
