//! Security advisories in the RustSec format (a Markdown file whose TOML front matter, in a ```toml
//! block, says which crate and versions are affected). The curated set under `rules/advisories/` is
//! embedded; `--advisory-db DIR` adds every advisory of a RustSec advisory-db checkout.

use crate::policy_error::PolicyError;
use semver::{Version, VersionReq};
use serde::Deserialize;
use std::path::Path;
use std::sync::Arc;

#[derive(Debug, Clone)]
pub struct Advisory {
    pub id: String,
    pub package: String,
    pub title: String,
    pub date: String,
    pub url: Option<String>,
    pub aliases: Vec<String>,
    /// `unmaintained`, `unsound`, `notice`; `None` for a vulnerability.
    pub informational: Option<String>,
    pub cvss: Option<String>,
    pub patched: Vec<String>,
    patched_reqs: Vec<VersionReq>,
    unaffected_reqs: Vec<VersionReq>,
    /// `bundled` or the advisory database directory.
    pub origin: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "kebab-case")]
struct Front {
    advisory: AdvisorySection,
    #[serde(default)]
    versions: VersionsSection,
}

#[derive(Deserialize)]
#[serde(rename_all = "kebab-case")]
struct AdvisorySection {
    id: String,
    package: String,
    #[serde(default)]
    date: String,
    url: Option<String>,
    #[serde(default)]
    aliases: Vec<String>,
    informational: Option<String>,
    cvss: Option<String>,
    withdrawn: Option<String>,
}

#[derive(Deserialize, Default)]
struct VersionsSection {
    #[serde(default)]
    patched: Vec<String>,
    #[serde(default)]
    unaffected: Vec<String>,
}

impl Advisory {
    /// Affected unless a patched or unaffected requirement admits the version (RustSec semantics).
    pub fn affects(&self, version: &Version) -> bool {
        !self
            .patched_reqs
            .iter()
            .chain(&self.unaffected_reqs)
            .any(|r| r.matches(version))
    }
}

/// Parses one advisory. `Ok(None)` for a withdrawn advisory.
pub fn parse(name: &str, text: &Arc<str>, origin: &str) -> Result<Option<Advisory>, PolicyError> {
    let start = text.find("```toml").map(|i| i + "```toml".len());
    let Some(start) = start else {
        return Err(PolicyError::new(
            name,
            text,
            None,
            "advisory has no ```toml front matter",
        ));
    };
    let end = text[start..]
        .find("```")
        .map(|i| start + i)
        .unwrap_or(text.len());
    let front_text = &text[start..end];
    let front: Front = toml::from_str(front_text).map_err(|e| {
        // Locate the error in the whole file, not in the front matter alone.
        let span = e.span().map(|s| s.start + start..s.end + start);
        PolicyError::new(
            name,
            text,
            span,
            format!("invalid advisory: {}", e.message()),
        )
    })?;
    if front.advisory.withdrawn.is_some() {
        return Ok(None);
    }
    let req = |list: &[String]| -> Result<Vec<VersionReq>, PolicyError> {
        list.iter()
            .map(|r| {
                VersionReq::parse(r).map_err(|e| {
                    let at = front_text
                        .find(r.as_str())
                        .map(|i| start + i..start + i + r.len());
                    PolicyError::new(name, text, at, format!("invalid version requirement: {e}"))
                })
            })
            .collect()
    };
    let patched_reqs = req(&front.versions.patched)?;
    let unaffected_reqs = req(&front.versions.unaffected)?;
    let title = text[end..]
        .lines()
        .find_map(|l| l.strip_prefix("# "))
        .unwrap_or("")
        .trim()
        .to_string();
    Ok(Some(Advisory {
        id: front.advisory.id,
        package: front.advisory.package,
        title,
        date: front.advisory.date,
        url: front.advisory.url,
        aliases: front.advisory.aliases,
        informational: front.advisory.informational,
        cvss: front.advisory.cvss,
        patched: front.versions.patched,
        patched_reqs,
        unaffected_reqs,
        origin: origin.to_string(),
    }))
}

/// Every advisory of a RustSec advisory-db checkout (`crates/<name>/RUSTSEC-*.md`), or of any directory
/// of advisories. All errors are returned.
pub fn load_dir(dir: &Path) -> Result<Vec<Advisory>, Vec<PolicyError>> {
    let display = crate::engine::display_path(dir);
    if !dir.is_dir() {
        return Err(vec![PolicyError::new(
            &display,
            &Arc::from(""),
            None,
            "advisory database directory does not exist",
        )]);
    }
    let base = if dir.join("crates").is_dir() {
        dir.join("crates")
    } else {
        dir.to_path_buf()
    };
    let mut files: Vec<_> = walkdir::WalkDir::new(&base)
        .follow_links(false)
        .sort_by_file_name()
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file())
        .map(|e| e.into_path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .collect();
    files.sort();
    let mut out = vec![];
    let mut errors = vec![];
    for f in files {
        let name = crate::engine::display_path(&f);
        match std::fs::read_to_string(&f) {
            Ok(t) => {
                let text: Arc<str> = Arc::from(t);
                // Documentation pages of the database (README.md and the like) carry no front matter.
                if !text.contains("```toml") {
                    continue;
                }
                match parse(&name, &text, &display) {
                    Ok(Some(a)) => out.push(a),
                    Ok(None) => {}
                    Err(e) => errors.push(e),
                }
            }
            Err(e) => errors.push(PolicyError::new(
                &name,
                &Arc::from(""),
                None,
                format!("cannot read advisory: {e}"),
            )),
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const H2: &str = r#"```toml
[advisory]
id = "RUSTSEC-2024-0332"
package = "h2"
date = "2024-04-03"

[versions]
patched = ["^0.3.26", ">= 0.4.4"]
```

# Degradation of service in h2 servers with CONTINUATION Flood
"#;

    #[test]
    fn versions_outside_patched_ranges_are_affected() {
        let a = parse("h2.md", &Arc::from(H2), "bundled").unwrap().unwrap();
        assert_eq!(
            a.title,
            "Degradation of service in h2 servers with CONTINUATION Flood"
        );
        assert!(a.affects(&Version::parse("0.3.25").unwrap()));
        assert!(!a.affects(&Version::parse("0.3.26").unwrap()));
        assert!(a.affects(&Version::parse("0.4.3").unwrap()));
        assert!(!a.affects(&Version::parse("0.4.4").unwrap()));
    }

    #[test]
    fn bad_requirements_are_located() {
        let text: Arc<str> = Arc::from(H2.replace("^0.3.26", "^0.3.x.1"));
        let e = parse("h2.md", &text, "bundled").unwrap_err();
        assert!(e.message.contains("invalid version requirement"), "{e:?}");
        assert_eq!(e.line_col().0, 8);
    }

    #[test]
    fn withdrawn_advisories_are_skipped() {
        let text: Arc<str> = Arc::from(H2.replace(
            "date = \"2024-04-03\"",
            "date = \"2024-04-03\"\nwithdrawn = \"2024-05-01\"",
        ));
        assert!(parse("h2.md", &text, "bundled").unwrap().is_none());
    }
}
