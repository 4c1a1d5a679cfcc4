//! Environment variables that deployment files set for the service: Dockerfile `ENV`, docker-compose
//! `environment:` (list or map form) and Kubernetes `env:` entries (`- name: X` with `value: ..`).
//! Read line by line: these files only matter here for the variables a service reads for its bind
//! address (`ROCKET_ADDRESS`, `BIND_ADDR`, ...), and a YAML parser would add a dependency for that.

use super::EnvSetting;
use crate::source::{Loc, SourceFile};

/// What a deployment file is, by its name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeployKind {
    Dockerfile,
    /// docker-compose files and Kubernetes manifests.
    Yaml,
    /// A Procfile's process lines (`web: uvicorn app.main:app`).
    Procfile,
}

pub fn deploy_kind(file_name: &str) -> Option<DeployKind> {
    let n = file_name.to_lowercase();
    if n == "dockerfile"
        || n.starts_with("dockerfile.")
        || n.ends_with(".dockerfile")
        || n == "containerfile"
    {
        return Some(DeployKind::Dockerfile);
    }
    if n == "procfile" {
        return Some(DeployKind::Procfile);
    }
    (n.ends_with(".yml") || n.ends_with(".yaml")).then_some(DeployKind::Yaml)
}

/// A deployment file's kind, by its path's file name.
pub fn deploy_kind_of(file: &SourceFile) -> Option<DeployKind> {
    let name = file.path.file_name()?.to_string_lossy();
    deploy_kind(&name)
}

/// Every variable the file sets, in file order.
pub fn env_settings(file: &SourceFile, id: u32) -> Vec<EnvSetting> {
    // As discovery assigns the file: to the packages below the nearest package or workspace root.
    let parent = file.path.parent().unwrap_or(&file.path);
    let scope = parent
        .ancestors()
        .find(|a| a.join("Cargo.toml").is_file())
        .unwrap_or(parent)
        .to_path_buf();
    let mut out = vec![];
    let mut push = |line: usize, var: &str, value: &str| {
        let value = unquote(value.trim());
        let var = unquote(var.trim());
        if var.is_empty() || !var.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return;
        }
        let Some((start, end)) = file.line_range(line) else {
            return;
        };
        // The setting itself, without indentation, list dash or line break.
        let text = &file.text[start..end];
        let lead = text.len() - text.trim_start_matches([' ', '\t', '-']).len();
        let body = text[lead..].trim_end();
        let (start, end) = (start + lead, start + lead + body.len());
        out.push(EnvSetting {
            var: var.to_string(),
            value: value.to_string(),
            loc: Loc::new(id, file.span_of_bytes(start, end)),
            scope: scope.clone(),
        });
    };
    let lines: Vec<&str> = file.text.lines().collect();
    match deploy_kind_of(file) {
        Some(DeployKind::Dockerfile) => dockerfile(&lines, &mut push),
        Some(DeployKind::Yaml) => yaml(&lines, &mut push),
        Some(DeployKind::Procfile) | None => {}
    }
    out
}

/// `ENV KEY=value KEY2="two words"` and the old `ENV KEY value`.
fn dockerfile(lines: &[&str], push: &mut dyn FnMut(usize, &str, &str)) {
    for (i, line) in lines.iter().enumerate() {
        let t = line.trim();
        let Some(rest) = t
            .strip_prefix("ENV ")
            .or_else(|| t.strip_prefix("env "))
            .map(str::trim)
        else {
            continue;
        };
        if !rest.contains('=') {
            if let Some((k, v)) = rest.split_once(char::is_whitespace) {
                push(i, k, v);
            }
            continue;
        }
        for pair in split_words(rest) {
            if let Some((k, v)) = pair.split_once('=') {
                push(i, k, v);
            }
        }
    }
}

/// docker-compose `environment:` (`- KEY=value` or `KEY: value` below it) and Kubernetes `env:` lists
/// (`- name: KEY` then `value: ..` in the same item).
fn yaml(lines: &[&str], push: &mut dyn FnMut(usize, &str, &str)) {
    let indent = |l: &str| l.len() - l.trim_start().len();
    let mut i = 0;
    while i < lines.len() {
        let t = lines[i].trim();
        let section = t == "environment:" || t == "env:" || t == "- env:";
        if !section {
            i += 1;
            continue;
        }
        let base = indent(lines[i]);
        let mut j = i + 1;
        let mut k8s_name: Option<String> = None;
        // Map entries (`KEY: value`) only at the section's first level, not nested keys.
        let mut child_indent: Option<usize> = None;
        while j < lines.len() {
            let l = lines[j];
            let lt = l.trim();
            if lt.is_empty() || lt.starts_with('#') {
                j += 1;
                continue;
            }
            // Kubernetes writes `env:` lists at the same indentation as the key.
            if indent(l) < base || (indent(l) == base && !lt.starts_with('-')) {
                break;
            }
            let first_level = *child_indent.get_or_insert(indent(l)) == indent(l);
            let item = lt.strip_prefix("- ").map(str::trim);
            match item {
                Some(it) if it.starts_with("name:") => {
                    k8s_name = Some(it["name:".len()..].trim().to_string());
                }
                Some(it) if it.contains('=') && !it.contains(": ") => {
                    let (k, v) = it.split_once('=').unwrap_or((it, ""));
                    push(j, k, v);
                }
                Some(_) => {}
                None => {
                    if let Some(v) = lt.strip_prefix("value:") {
                        if let Some(name) = k8s_name.take() {
                            push(j, &name, v);
                        }
                    } else if let Some((k, v)) = lt.split_once(':').filter(|_| first_level) {
                        if !v.trim().is_empty() && !k.contains(' ') {
                            push(j, k, v);
                        }
                    }
                }
            }
            j += 1;
        }
        i = j.max(i + 1);
    }
}

fn unquote(s: &str) -> &str {
    let s = s.trim();
    for q in ['"', '\''] {
        if s.len() >= 2 && s.starts_with(q) && s.ends_with(q) {
            return &s[1..s.len() - 1];
        }
    }
    s
}

/// Words separated by spaces outside quotes.
fn split_words(s: &str) -> Vec<String> {
    let mut out = vec![];
    let mut cur = String::new();
    let mut quote: Option<char> = None;
    for c in s.chars() {
        match (c, quote) {
            ('"' | '\'', None) => {
                quote = Some(c);
                cur.push(c);
            }
            (c, Some(q)) if c == q => {
                quote = None;
                cur.push(c);
            }
            (c, None) if c.is_whitespace() => {
                if !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                }
            }
            (c, _) => cur.push(c),
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::FileKind;
    use std::path::PathBuf;

    fn settings(name: &str, text: &str) -> Vec<(String, String, u32)> {
        let f = SourceFile::new(
            PathBuf::from(name),
            name.into(),
            FileKind::Deploy,
            text.into(),
        );
        env_settings(&f, 0)
            .into_iter()
            .map(|e| (e.var, e.value, e.loc.span.line))
            .collect()
    }

    #[test]
    fn dockerfile_env_forms() {
        let got = settings(
            "Dockerfile",
            "FROM rust\nENV ROCKET_ADDRESS=0.0.0.0 ROCKET_PORT=\"8000\"\nENV BIND_ADDR 0.0.0.0:9000\n",
        );
        assert_eq!(
            got,
            vec![
                ("ROCKET_ADDRESS".into(), "0.0.0.0".into(), 2),
                ("ROCKET_PORT".into(), "8000".into(), 2),
                ("BIND_ADDR".into(), "0.0.0.0:9000".into(), 3),
            ]
        );
    }

    #[test]
    fn compose_and_kubernetes_env() {
        let compose = "services:\n  api:\n    environment:\n      - BIND_ADDR=0.0.0.0:8080\n      RUST_LOG: info\n    ports:\n      - \"8080:8080\"\n";
        assert_eq!(
            settings("docker-compose.yml", compose),
            vec![
                ("BIND_ADDR".into(), "0.0.0.0:8080".into(), 4),
                ("RUST_LOG".into(), "info".into(), 5),
            ]
        );
        let k8s = "spec:\n  containers:\n    - name: api\n      env:\n      - name: HOST\n        value: \"0.0.0.0\"\n      - name: SECRET\n        valueFrom:\n          secretKeyRef: {}\n      ports: []\n";
        assert_eq!(
            settings("deploy.yaml", k8s),
            vec![("HOST".into(), "0.0.0.0".into(), 6)]
        );
    }
}
