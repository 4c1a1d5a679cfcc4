//! Suppression comments: `// portcullis: ignore[rule-id, ...] reason`. A comment alone on its line applies
//! to the next line; a comment after code applies to its own line. syn drops comments, so they are read
//! from the source text.

use crate::source::FileKind;

#[derive(Debug, Clone, PartialEq)]
pub struct Suppression {
    /// The line the suppression applies to (1-based).
    pub applies_to: u32,
    pub rules: Vec<String>,
    pub reason: String,
}

const MARKER: &str = "portcullis: ignore[";

pub fn scan(text: &str, kind: FileKind) -> Vec<Suppression> {
    let comment = match kind {
        FileKind::Rust => "//",
        FileKind::Toml => "#",
    };
    let mut out = vec![];
    for (i, line) in text.lines().enumerate() {
        let Some(pos) = line.find(MARKER) else {
            continue;
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
        let rest = &line[pos + MARKER.len()..];
        let Some(end) = rest.find(']') else { continue };
        let rules: Vec<String> = rest[..end]
            .split(',')
            .map(|r| r.trim().to_string())
            .filter(|r| !r.is_empty())
            .collect();
        let reason = rest[end + 1..].trim().to_string();
        let own_line = !line[..cpos].trim().is_empty();
        out.push(Suppression {
            applies_to: if own_line { i as u32 + 1 } else { i as u32 + 2 },
            rules,
            reason,
        });
    }
    out
}

pub fn is_suppressed(sups: &[Suppression], line: u32, rule: &str) -> bool {
    sups.iter()
        .any(|s| s.applies_to == line && s.rules.iter().any(|r| r == rule))
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
    fn markers_outside_comments_do_not_count() {
        let text = "let s = \"portcullis: ignore[x]\";\n";
        assert!(scan(text, FileKind::Rust).is_empty());
    }
}
