//! Errors in policy files (rules, catalog) and configuration, located in the user's TOML.

use std::ops::Range;

#[derive(Debug, Clone)]
pub struct PolicyError {
    /// The file as the user sees it.
    pub file: String,
    /// The whole file text, so that the error can be rendered with its source.
    pub text: std::sync::Arc<str>,
    /// Byte range of the offending TOML, when known.
    pub range: Option<Range<usize>>,
    pub message: String,
    pub help: Option<String>,
}

impl PolicyError {
    pub fn new(
        file: &str,
        text: &std::sync::Arc<str>,
        range: Option<Range<usize>>,
        message: impl Into<String>,
    ) -> Self {
        PolicyError {
            file: file.to_string(),
            text: text.clone(),
            range,
            message: message.into(),
            help: None,
        }
    }

    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// From a TOML parse or schema error, which carries its own span.
    pub fn from_toml(file: &str, text: &std::sync::Arc<str>, err: &toml::de::Error) -> Self {
        let message = err
            .message()
            .trim()
            .lines()
            .map(str::trim)
            .collect::<Vec<_>>()
            .join("; ");
        let help = suggest_key(&message);
        // Keep the label on the line where the error starts.
        let range = err.span().map(|r| {
            let start = r.start.min(text.len());
            let line_end = text[start..]
                .find('\n')
                .map(|n| start + n)
                .unwrap_or(text.len());
            start..r.end.clamp(start, line_end.max(start))
        });
        PolicyError {
            file: file.to_string(),
            text: text.clone(),
            range,
            message,
            help,
        }
    }

    /// 1-based line and column of the error's start.
    pub fn line_col(&self) -> (usize, usize) {
        let Some(r) = &self.range else { return (1, 1) };
        let start = r.start.min(self.text.len());
        let before = &self.text[..start];
        let line = before.matches('\n').count() + 1;
        let col = before
            .rsplit('\n')
            .next()
            .map(|l| l.chars().count())
            .unwrap_or(0)
            + 1;
        (line, col)
    }
}

/// serde's "unknown field `x`, expected one of `a`, `b`" gains a "did you mean" line.
fn suggest_key(message: &str) -> Option<String> {
    let unknown = message.split('`').nth(1)?;
    if !message.starts_with("unknown field") && !message.starts_with("unknown variant") {
        return None;
    }
    let expected: Vec<&str> = message.split('`').skip(3).step_by(2).collect();
    let best = expected
        .iter()
        .map(|c| (edit_distance(unknown, c), *c))
        .filter(|(d, c)| *d <= (c.len() / 3).max(2))
        .min()?;
    Some(format!("did you mean `{}`?", best.1))
}

pub fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for i in 1..=a.len() {
        let mut cur = vec![i; b.len() + 1];
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            cur[j] = (prev[j] + 1).min(cur[j - 1] + 1).min(prev[j - 1] + cost);
        }
        prev = cur;
    }
    prev[b.len()]
}

/// The closest of `candidates` to `word`, if close enough to be a likely typo.
pub fn did_you_mean<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<String> {
    candidates
        .into_iter()
        .map(|c| (edit_distance(word, c), c))
        .filter(|(d, c)| *d <= (c.len() / 3).max(2))
        .min()
        .map(|(_, c)| format!("did you mean `{c}`?"))
}
