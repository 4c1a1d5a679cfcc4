//! `--diff-base REV`: the lines changed since REV, read from `git diff`, so that a pull-request check
//! reports only findings on code the pull request touches. git is run with external diff drivers and
//! text conversion off: nothing configured in the scanned tree runs.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Changed line ranges (1-based, inclusive) per absolute file path; `None` ranges mean the whole file.
#[derive(Debug, Default)]
pub struct Changes {
    files: HashMap<PathBuf, Option<Vec<(u32, u32)>>>,
}

fn git(dir: &Path, args: &[&str]) -> Result<String, String> {
    let out = Command::new("git")
        .args(["-c", "core.fsmonitor=false", "-c", "diff.external="])
        .args(args)
        .current_dir(dir)
        .output()
        .map_err(|e| format!("cannot run git: {e}"))?;
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).trim().to_string());
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

impl Changes {
    pub fn since(rev: &str, dir: &Path) -> Result<Changes, String> {
        let top = git(dir, &["rev-parse", "--show-toplevel"])
            .map_err(|e| format!("--diff-base needs a git repository: {e}"))?;
        let top = PathBuf::from(top.trim());
        git(
            &top,
            &[
                "rev-parse",
                "--verify",
                "--quiet",
                &format!("{rev}^{{commit}}"),
            ],
        )
        .map_err(|_| format!("--diff-base: `{rev}` is not a commit in this repository"))?;
        let diff = git(
            &top,
            &[
                "diff",
                "--no-ext-diff",
                "--no-textconv",
                "--no-color",
                "--unified=0",
                "--no-renames",
                rev,
                "--",
            ],
        )?;
        let mut changes = Changes::parse(&diff, &top);
        // Files git does not track yet are new in their entirety.
        let untracked = git(&top, &["ls-files", "--others", "--exclude-standard", "-z"])?;
        for f in untracked.split('\0').filter(|f| !f.is_empty()) {
            changes.files.insert(canonical(&top.join(f)), None);
        }
        Ok(changes)
    }

    fn parse(diff: &str, top: &Path) -> Changes {
        let mut files: HashMap<PathBuf, Option<Vec<(u32, u32)>>> = HashMap::new();
        let mut current: Option<PathBuf> = None;
        for line in diff.lines() {
            if let Some(path) = line.strip_prefix("+++ ") {
                current = path.strip_prefix("b/").map(|p| canonical(&top.join(p)));
                if let Some(c) = &current {
                    files.entry(c.clone()).or_insert_with(|| Some(vec![]));
                }
            } else if let Some(hunk) = line.strip_prefix("@@ ") {
                // `@@ -a,b +c,d @@`: the new side starts at c and spans d lines (1 when omitted).
                let Some(new) = hunk.split(' ').find(|p| p.starts_with('+')) else {
                    continue;
                };
                let mut parts = new[1..].split(',');
                let start: u32 = parts.next().and_then(|s| s.parse().ok()).unwrap_or(0);
                let len: u32 = parts.next().and_then(|s| s.parse().ok()).unwrap_or(1);
                if let (Some(c), true) = (&current, len > 0) {
                    if let Some(Some(ranges)) = files.get_mut(c) {
                        ranges.push((start, start + len - 1));
                    }
                }
            }
        }
        Changes { files }
    }

    pub fn touches(&self, file: &Path, line: u32) -> bool {
        match self.files.get(&canonical(file)) {
            Some(None) => true,
            Some(Some(ranges)) => ranges.iter().any(|(a, b)| *a <= line && line <= *b),
            None => false,
        }
    }
}

fn canonical(p: &Path) -> PathBuf {
    p.canonicalize().unwrap_or_else(|_| p.to_path_buf())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hunks_give_the_new_sides_lines() {
        let diff = "diff --git a/src/x.rs b/src/x.rs\n--- a/src/x.rs\n+++ b/src/x.rs\n@@ -3,0 +4,2 @@ fn a()\n+x\n+y\n@@ -10 +12 @@\n-a\n+b\n@@ -20,3 +22,0 @@\n";
        let top = Path::new("/nonexistent-top");
        let c = Changes::parse(diff, top);
        let f = top.join("src/x.rs");
        assert!(c.touches(&f, 4) && c.touches(&f, 5) && c.touches(&f, 12));
        assert!(!c.touches(&f, 6) && !c.touches(&f, 22));
        assert!(!c.touches(&top.join("src/y.rs"), 4));
    }
}
