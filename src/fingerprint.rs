//! Finding identities that survive unrelated edits: rule, file and the normalised source text at the
//! finding (not its line number), numbered when the same text repeats in a file.

use crate::rules::Finding;
use crate::source::SourceFile;
use std::collections::HashMap;

/// FNV-1a, 64 bits: stable across platforms and releases, unlike `std`'s hasher.
fn fnv(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// The source lines of the finding's primary span with all whitespace removed.
fn code_at(f: &Finding, files: &[SourceFile]) -> String {
    let file = &files[f.loc.file as usize];
    let first = f.loc.span.line as usize;
    let last = (f.loc.span.end_line as usize).min(first + 4);
    let mut out = String::new();
    for line in first..=last {
        let Some((start, end)) = file.line_range(line.saturating_sub(1)) else {
            break;
        };
        out.extend(file.text[start..end].chars().filter(|c| !c.is_whitespace()));
    }
    out
}

/// One fingerprint per finding, in the same order; files are named as displayed.
pub fn fingerprints(findings: &[Finding], files: &[SourceFile]) -> Vec<String> {
    fingerprints_with(findings, files, &|f: &SourceFile| f.display.clone())
}

/// Fingerprints with files named by `name` (e.g. relative to a baseline file, so that it does not
/// depend on the working directory).
pub fn fingerprints_with(
    findings: &[Finding],
    files: &[SourceFile],
    name: &dyn Fn(&SourceFile) -> String,
) -> Vec<String> {
    let mut seen: HashMap<(String, String, u64), usize> = HashMap::new();
    findings
        .iter()
        .map(|f| {
            let file = name(&files[f.loc.file as usize]);
            let code = fnv(code_at(f, files).as_bytes());
            let n = seen
                .entry((f.rule.clone(), file.clone(), code))
                .and_modify(|n| *n += 1)
                .or_insert(0);
            let key = format!("{}\0{}\0{:016x}\0{}", f.rule, file, code, n);
            format!("{:016x}", fnv(key.as_bytes()))
        })
        .collect()
}
