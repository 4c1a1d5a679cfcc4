//! LSP positions: lines from 0, columns in UTF-16 code units (the protocol's default encoding).

use lsp_types::{Position, Range};

/// The position of a byte offset in a text.
pub fn position(text: &str, byte: usize) -> Position {
    let byte = floor_char(text, byte.min(text.len()));
    let before = &text[..byte];
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    Position {
        line: before.matches('\n').count() as u32,
        character: text[line_start..byte].encode_utf16().count() as u32,
    }
}

pub fn range(text: &str, start: usize, end: usize) -> Range {
    Range {
        start: position(text, start),
        end: position(text, end.max(start)),
    }
}

/// The byte offset of a position; past the end of a line is its end, past the last line the text's.
pub fn offset(text: &str, pos: Position) -> usize {
    let mut start = 0;
    for _ in 0..pos.line {
        match text[start..].find('\n') {
            Some(i) => start += i + 1,
            None => return text.len(),
        }
    }
    let line = &text[start..];
    let line = &line[..line.find('\n').unwrap_or(line.len())];
    let mut units = 0;
    for (i, ch) in line.char_indices() {
        if units >= pos.character as usize {
            return start + i;
        }
        units += ch.len_utf16();
    }
    start + line.len()
}

fn floor_char(text: &str, mut i: usize) -> usize {
    while !text.is_char_boundary(i) {
        i -= 1;
    }
    i
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utf16_columns_round_trip() {
        let text = "fn a() {}\nlet s = \"é𝄞\"; x\n";
        let x = text.find(" x").unwrap() + 1;
        let p = position(text, x);
        // `é` is one UTF-16 unit, `𝄞` two.
        assert_eq!((p.line, p.character), (1, 15));
        assert_eq!(offset(text, p), x);
        assert_eq!(offset(text, Position::new(0, 99)), 9);
        assert_eq!(offset(text, Position::new(9, 0)), text.len());
        assert_eq!(position(text, 0), Position::new(0, 0));
    }
}
