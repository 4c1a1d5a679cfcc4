//! Source files and positions. proc-macro2 gives 1-based lines and 0-based character columns; every
//! position in portcullis is converted here, once, to 1-based lines and columns plus byte offsets.

use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use std::sync::Arc;

/// A region of one file: 1-based line and column (columns count characters), byte offsets.
#[derive(
    Clone, Copy, Debug, Default, Serialize, Deserialize, PartialEq, Eq, PartialOrd, Ord, Hash,
)]
pub struct Span {
    pub line: u32,
    pub col: u32,
    pub end_line: u32,
    pub end_col: u32,
    pub start: u32,
    pub end: u32,
}

impl Span {
    /// The span of a byte range, given how a byte offset maps to its line and column.
    pub fn of_bytes(start: usize, end: usize, line_col: impl Fn(usize) -> (u32, u32)) -> Span {
        let (line, col) = line_col(start);
        let (end_line, end_col) = line_col(end);
        Span {
            line,
            col,
            end_line,
            end_col,
            start: start as u32,
            end: end as u32,
        }
    }
}

/// A span in a known file of the run.
#[derive(
    Clone, Copy, Debug, Default, Serialize, Deserialize, PartialEq, Eq, PartialOrd, Ord, Hash,
)]
pub struct Loc {
    pub file: u32,
    #[serde(flatten)]
    pub span: Span,
}

impl Loc {
    pub fn new(file: u32, span: Span) -> Self {
        Loc { file, span }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FileKind {
    Rust,
    Python,
    Toml,
    /// A deployment file: Dockerfile, docker-compose file, Kubernetes manifest.
    Deploy,
}

/// One file of the run. `display` is what the user sees: relative to the working directory when the
/// file is below it, always with `/` separators.
#[derive(Debug)]
pub struct SourceFile {
    pub path: PathBuf,
    pub display: String,
    pub kind: FileKind,
    /// Shared with the model's view of the file, which would otherwise hold a second copy.
    pub text: Arc<str>,
    /// Byte offset of each line's start (files are read only below 4 GiB).
    pub line_starts: Vec<u32>,
}

impl SourceFile {
    /// Drops the text of a file no finding points into: a large run keeps only what it reports.
    pub fn forget_text(&mut self) {
        self.text = Arc::from("");
        self.line_starts = vec![0];
    }

    pub fn new(path: PathBuf, display: String, kind: FileKind, text: String) -> Self {
        let line_starts = line_starts(&text);
        SourceFile {
            path,
            display,
            kind,
            text: Arc::from(text),
            line_starts,
        }
    }

    /// The byte range of the 0-based line `idx`, with its line break; `None` past the last line.
    pub fn line_range(&self, idx: usize) -> Option<(usize, usize)> {
        let start = *self.line_starts.get(idx)? as usize;
        let end = self
            .line_starts
            .get(idx + 1)
            .map_or(self.text.len(), |&e| e as usize);
        Some((start, end))
    }

    /// Byte offset of a 1-based line and 0-based character column, clamped to the text.
    pub fn offset_of(&self, line: usize, col0: usize) -> usize {
        offset_of(&self.text, &self.line_starts, line, col0)
    }

    /// Span of a byte range.
    pub fn span_of_bytes(&self, start: usize, end: usize) -> Span {
        Span::of_bytes(start, end, |o| self.line_col(o))
    }

    /// 1-based line and character column of a byte offset.
    pub fn line_col(&self, offset: usize) -> (u32, u32) {
        line_col(&self.text, &self.line_starts, offset)
    }
}

/// 1-based line and character column of a byte offset, given the text's `line_starts`.
pub fn line_col(text: &str, starts: &[u32], offset: usize) -> (u32, u32) {
    let offset = offset.min(text.len());
    let idx = match starts.binary_search(&(offset as u32)) {
        Ok(i) => i,
        Err(i) => i.saturating_sub(1),
    };
    let start = starts[idx] as usize;
    let col = text.get(start..offset).map_or(0, |s| s.chars().count());
    (idx as u32 + 1, col as u32 + 1)
}

/// Per line, whether it is ASCII only (so a column is a byte offset).
pub fn ascii_lines(text: &str, starts: &[u32]) -> Vec<bool> {
    starts
        .iter()
        .enumerate()
        .map(|(i, &s)| {
            let end = starts.get(i + 1).map_or(text.len(), |&e| e as usize);
            text.as_bytes()[s as usize..end].is_ascii()
        })
        .collect()
}

pub fn line_starts(text: &str) -> Vec<u32> {
    let mut starts = vec![0];
    starts.extend(text.match_indices('\n').map(|(i, _)| i as u32 + 1));
    starts
}

fn offset_of(text: &str, starts: &[u32], line: usize, col0: usize) -> usize {
    let Some(&start) = starts.get(line.saturating_sub(1)) else {
        return text.len();
    };
    let start = start as usize;
    let rest = &text[start..];
    let line_text = rest.split('\n').next().unwrap_or("");
    let within: usize = line_text.chars().take(col0).map(char::len_utf8).sum();
    start + within
}

/// Converts proc-macro2 spans of one parsed file into portcullis spans.
pub struct Spanner<'a> {
    pub text: &'a str,
    starts: Vec<u32>,
    /// Per line: ASCII only, so a column is a byte offset (long generated lines stay linear).
    ascii: Vec<bool>,
}

impl<'a> Spanner<'a> {
    pub fn new(text: &'a str) -> Self {
        let starts = line_starts(text);
        let ascii = ascii_lines(text, &starts);
        Spanner {
            text,
            starts,
            ascii,
        }
    }

    fn offset(&self, line: usize, col0: usize) -> usize {
        // Line 0 is what proc-macro2 reports when it tracks no locations (as under `cfg(fuzzing)`).
        let idx = line.saturating_sub(1);
        match self.ascii.get(idx) {
            Some(true) => {
                let start = self.starts[idx] as usize;
                let end = self
                    .starts
                    .get(idx + 1)
                    .map_or(self.text.len(), |&e| e as usize);
                (start + col0).min(end)
            }
            _ => offset_of(self.text, &self.starts, line, col0),
        }
    }

    pub fn span(&self, s: proc_macro2::Span) -> Span {
        self.span_between(s, s)
    }

    /// From the start of `first` to the end of `last`.
    pub fn span_between(&self, first: proc_macro2::Span, last: proc_macro2::Span) -> Span {
        let a = first.start();
        let b = last.end();
        let start = self.offset(a.line, a.column);
        let end = self.offset(b.line, b.column).max(start);
        Span {
            line: a.line as u32,
            col: a.column as u32 + 1,
            end_line: b.line as u32,
            end_col: b.column as u32 + 1,
            start: start as u32,
            end: end as u32,
        }
    }

    /// The source text of a span, cut to `max` bytes on a character boundary.
    pub fn text_of(&self, span: Span, max: usize) -> String {
        let s = self
            .text
            .get(span.start as usize..span.end as usize)
            .unwrap_or("");
        if s.len() <= max {
            return s.to_string();
        }
        let mut end = max;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        s[..end].to_string()
    }
}

/// Joins two spans into the smallest span covering both.
pub fn join(a: Span, b: Span) -> Span {
    let (first, last) = if (a.start, a.line) <= (b.start, b.line) {
        (a, b)
    } else {
        (b, a)
    };
    Span {
        line: first.line,
        col: first.col,
        end_line: last.end_line.max(first.end_line),
        end_col: if last.end_line >= first.end_line {
            last.end_col
        } else {
            first.end_col
        },
        start: first.start,
        end: last.end.max(first.end),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_count_characters_and_offsets_count_bytes() {
        let text = "let é = 1;\nlet x = \"ü\";\n";
        let file = SourceFile::new("a.rs".into(), "a.rs".into(), FileKind::Rust, text.into());
        let off = file.offset_of(2, 9);
        assert_eq!(&text[off..off + 2], "ü");
        assert_eq!(file.line_col(off), (2, 10));
    }

    #[test]
    fn offsets_of_unknown_or_out_of_range_positions_do_not_panic() {
        let sp = Spanner::new("ab\ncd\n");
        assert_eq!(sp.offset(0, 1), 1);
        assert_eq!(sp.offset(2, 1), 4);
        assert_eq!(sp.offset(2, 99), 6);
        assert_eq!(sp.offset(9, 0), 6);
    }

    #[test]
    fn spans_from_syn_are_one_based_characters() {
        let text = "const A: &str = \"ü\"; const B: u8 = 1;\n";
        let facts = crate::facts::extract(text, vec![]).unwrap();
        let b = &facts.consts[1];
        let expected_col = text.chars().position(|c| c == 'B').unwrap() as u32 + 1;
        assert_eq!((b.span.line, b.span.col), (1, expected_col));
        assert_eq!(&text[b.span.start as usize..b.span.end as usize], "B");
    }
}
