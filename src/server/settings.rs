//! The server's settings: the command line's, overridden by the editor's `initializationOptions` or
//! `workspace/didChangeConfiguration` (under `portcullis`). The keys are `check`'s flags.

use crate::cli::ServerArgs;
use crate::project::Choices;
use serde::Deserialize;
use std::path::PathBuf;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct Options {
    select: Option<List>,
    ignore: Option<List>,
    config: Option<PathBuf>,
    rules: Option<Vec<PathBuf>>,
    cache_dir: Option<PathBuf>,
    no_cache: Option<bool>,
    max_file_size: Option<u64>,
    follow_symlinks: Option<bool>,
    advisory_db: Option<PathBuf>,
}

/// A list as an array or as one comma-separated string (the command line's form).
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum List {
    Many(Vec<String>),
    One(String),
}

impl List {
    fn items(self) -> Vec<String> {
        match self {
            List::Many(v) => v,
            List::One(s) => s
                .split(',')
                .map(|p| p.trim().to_string())
                .filter(|p| !p.is_empty())
                .collect(),
        }
    }
}

/// The command line's choices (paths are set per workspace folder).
pub fn from_args(args: &ServerArgs) -> Choices {
    // The command line's paths are the working directory's; the editor's are each folder's.
    let absolute = |p: &PathBuf| std::path::absolute(p).unwrap_or_else(|_| p.clone());
    Choices {
        config: args.config.as_ref().map(absolute),
        rules: args.policy.rules.iter().map(absolute).collect(),
        select: args.select.clone(),
        ignore: args.ignore.clone(),
        cache_dir: args.cache_dir.as_ref().map(absolute),
        no_cache: args.no_cache,
        ..Choices::default()
    }
}

/// `base` with what the editor sent; `null` changes nothing. An unknown key or a wrong type is an
/// error for the user to see, and changes nothing.
pub fn apply(base: &Choices, value: &serde_json::Value) -> Result<Choices, String> {
    if value.is_null() {
        return Ok(base.clone());
    }
    let o: Options = serde_json::from_value(value.clone())
        .map_err(|e| format!("portcullis: ignoring the editor's settings: {e}"))?;
    let mut c = base.clone();
    if let Some(v) = o.select {
        c.select = v.items();
    }
    if let Some(v) = o.ignore {
        c.ignore = v.items();
    }
    c.config = o.config.or(c.config);
    c.rules = o.rules.unwrap_or(c.rules);
    c.cache_dir = o.cache_dir.or(c.cache_dir);
    c.no_cache = o.no_cache.unwrap_or(c.no_cache);
    c.max_file_size = o.max_file_size.or(c.max_file_size);
    c.follow_symlinks = o.follow_symlinks.unwrap_or(c.follow_symlinks);
    c.advisory_db = o.advisory_db.or(c.advisory_db);
    Ok(c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn editor_settings_override_and_validate() {
        let base = Choices {
            select: vec!["all".into()],
            no_cache: true,
            ..Choices::default()
        };
        let v =
            serde_json::json!({ "select": "plaintext-listener, secret-in-log", "no-cache": false });
        let c = apply(&base, &v).unwrap();
        assert_eq!(c.select, ["plaintext-listener", "secret-in-log"]);
        assert!(!c.no_cache);
        let c = apply(&base, &serde_json::json!({ "ignore": ["audit"] })).unwrap();
        assert_eq!(
            (c.select, c.ignore),
            (vec!["all".to_string()], vec!["audit".to_string()])
        );
        let err = apply(&base, &serde_json::json!({ "selec": ["x"] })).unwrap_err();
        assert!(err.contains("selec"), "{err}");
        assert!(apply(&base, &serde_json::json!({ "no-cache": "yes" })).is_err());
        assert_eq!(
            apply(&base, &serde_json::Value::Null).unwrap().select,
            ["all"]
        );
    }
}
