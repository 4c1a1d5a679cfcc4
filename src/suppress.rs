//! Suppression comments: `// portcullis: ignore[rule-id, ...] reason`. A comment alone on its line applies
//! to the next line; a comment after code applies to its own line; `// portcullis: ignore-file[rule-id]
//! reason` applies to the whole file. syn drops comments, so they are read from the source text.

use crate::source::FileKind;

#[derive(Debug, Clone, PartialEq)]
pub struct Suppression {
    /// The line the suppression applies to (1-based); 0 for the whole file.
    pub applies_to: u32,
    pub rules: Vec<String>,
    pub reason: String,
    /// Where the comment is: its line and the byte range from the comment marker to the line's end.
    pub line: u32,
    pub bytes: std::ops::Range<usize>,
}

const MARKER: &str = "portcullis: ignore[";
const FILE_MARKER: &str = "portcullis: ignore-file[";

pub fn scan(text: &str, kind: FileKind) -> Vec<Suppression> {
    let comment = match kind {
        FileKind::Rust => "//",
        FileKind::Toml | FileKind::Deploy | FileKind::Python => "#",
    };
    let mut out = vec![];
    // Almost no file has one: one search of the whole text instead of two per line.
    if !text.contains("portcullis: ignore") {
        return out;
    }
    let mut offset = 0;
    for (i, raw) in text.split_inclusive('\n').enumerate() {
        let line_start = offset;
        offset += raw.len();
        let line = raw.trim_end_matches(['\n', '\r']);
        let (pos, marker, whole_file) = match (line.find(MARKER), line.find(FILE_MARKER)) {
            (Some(p), _) => (p, MARKER, false),
            (None, Some(p)) => (p, FILE_MARKER, true),
            (None, None) => continue,
        };
        let Some(cpos) = line[..pos].rfind(comment) else {
            continue;
        };
        if !line[cpos + comment.len()..pos]
            .trim()
            .trim_start_matches(['/', '!', '#'])
            .trim()
            .is_empty()
        {
            continue;
        }
        let rest = &line[pos + marker.len()..];
        let Some(end) = rest.find(']') else { continue };
        let rules: Vec<String> = rest[..end]
            .split(',')
            .map(|r| r.trim().to_string())
            .filter(|r| !r.is_empty())
            .collect();
        let reason = rest[end + 1..].trim().to_string();
        let own_line = !line[..cpos].trim().is_empty();
        out.push(Suppression {
            applies_to: match (whole_file, own_line) {
                (true, _) => 0,
                (false, true) => i as u32 + 1,
                (false, false) => i as u32 + 2,
            },
            rules,
            reason,
            line: i as u32 + 1,
            bytes: line_start + cpos..line_start + line.len(),
        });
    }
    out
}

/// The suppression that hides a finding of `rule` on `line`, if any.
pub fn suppressing(sups: &[Suppression], line: u32, rule: &str) -> Option<usize> {
    sups.iter().position(|s| {
        (s.applies_to == line || s.applies_to == 0) && s.rules.iter().any(|r| r == rule)
    })
}

pub fn is_suppressed(sups: &[Suppression], line: u32, rule: &str) -> bool {
    suppressing(sups, line, rule).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comment_lines_apply_to_the_next_line_trailing_ones_to_their_own() {
        let text = "// portcullis: ignore[plaintext-listener] TLS at the ingress\nbind();\nserve(); // portcullis: ignore[a, b]\n";
        let s = scan(text, FileKind::Rust);
        assert_eq!(s[0].applies_to, 2);
        assert_eq!(s[0].reason, "TLS at the ingress");
        assert_eq!(s[1].applies_to, 3);
        assert_eq!(s[1].rules, vec!["a", "b"]);
        assert!(is_suppressed(&s, 2, "plaintext-listener"));
        assert!(!is_suppressed(&s, 2, "other"));
    }

    #[test]
    fn file_level_suppressions_cover_every_line() {
        let text =
            "//! portcullis: ignore-file[plaintext-listener] dev server only\nfn main() {}\n";
        let s = scan(text, FileKind::Rust);
        assert_eq!(s[0].applies_to, 0);
        assert_eq!(s[0].line, 1);
        assert!(is_suppressed(&s, 2, "plaintext-listener"));
        assert_eq!(
            &text[s[0].bytes.clone()],
            "//! portcullis: ignore-file[plaintext-listener] dev server only"
        );
    }

    #[test]
    fn markers_outside_comments_do_not_count() {
        let text = "let s = \"portcullis: ignore[x]\";\n";
        assert!(scan(text, FileKind::Rust).is_empty());
    }
}
