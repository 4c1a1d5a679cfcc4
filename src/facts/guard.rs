//! A linear pre-scan that refuses sources syn would recurse through too deeply (`((((…` a hundred
//! thousand times, `!!!!…x`, `Vec<Vec<…>>`): a stack overflow aborts the process and cannot be caught,
//! so such files are reported as not analysable instead of being parsed.

/// Deeper nesting than any hand-written code has; well within the workers' stacks.
pub const MAX_NESTING: usize = 512;
/// Binary operators in one expression (`1 + 1 + …`): syn builds them into a tree as deep as the chain.
pub const MAX_CHAIN: usize = 4096;

/// Where and why a source is refused: (1-based line, 0-based column in characters, message).
pub fn too_deep(text: &str) -> Option<(usize, usize, String)> {
    let bytes = text.as_bytes();
    let (mut line, mut col) = (1usize, 0usize);
    let mut depth = 0usize;
    let mut generic = 0usize;
    let mut unary = 0usize;
    let mut chain = 0usize;
    let mut i = 0;
    let mut prev = b' ';
    let fail = |line, col, what: &str| {
        Some((
            line,
            col,
            format!("{what} nested more than {MAX_NESTING} levels deep; the file is not analysed"),
        ))
    };
    while i < bytes.len() {
        let b = bytes[i];
        // Comments and literals do not nest code.
        if b == b'/' && bytes.get(i + 1) == Some(&b'/') {
            while i < bytes.len() && bytes[i] != b'\n' {
                i += 1;
            }
            continue;
        }
        if b == b'/' && bytes.get(i + 1) == Some(&b'*') {
            let mut level = 0usize;
            while i < bytes.len() {
                if bytes[i] == b'/' && bytes.get(i + 1) == Some(&b'*') {
                    level += 1;
                    i += 2;
                } else if bytes[i] == b'*' && bytes.get(i + 1) == Some(&b'/') {
                    level -= 1;
                    i += 2;
                    if level == 0 {
                        break;
                    }
                } else {
                    if bytes[i] == b'\n' {
                        line += 1;
                        col = 0;
                    }
                    i += 1;
                }
            }
            continue;
        }
        if b == b'"' {
            // A raw string's hashes follow `r`: `r#"…"#`.
            let mut hashes = 0;
            let mut j = i;
            while j > 0 && bytes[j - 1] == b'#' {
                hashes += 1;
                j -= 1;
            }
            let raw = j > 0 && bytes[j - 1] == b'r';
            i += 1;
            while i < bytes.len() {
                let c = bytes[i];
                if c == b'\n' {
                    line += 1;
                    col = 0;
                }
                if !raw && c == b'\\' {
                    i += 2;
                    continue;
                }
                if c == b'"' && bytes[i + 1..].iter().take(hashes).all(|h| *h == b'#') {
                    i += 1 + if raw { hashes } else { 0 };
                    break;
                }
                i += 1;
            }
            prev = b'"';
            continue;
        }
        match b {
            b'(' | b'[' | b'{' => {
                depth += 1;
                if depth > MAX_NESTING {
                    return fail(line, col, "brackets");
                }
                generic = 0;
            }
            b')' | b']' | b'}' => {
                depth = depth.saturating_sub(1);
                generic = 0;
            }
            b';' | b'=' => generic = 0,
            b'<' if prev.is_ascii_alphanumeric()
                || prev == b'_'
                || prev == b':'
                || prev == b'<' =>
            {
                generic += 1;
                if generic > MAX_NESTING {
                    return fail(line, col, "generic types");
                }
            }
            b'>' if prev != b'-' && prev != b'=' => generic = generic.saturating_sub(1),
            _ => {}
        }
        match b {
            b';' | b'{' | b'}' | b',' => chain = 0,
            b'+' | b'-' | b'*' | b'/' | b'%' | b'^' | b'|' | b'&' => {
                chain += 1;
                if chain > MAX_CHAIN {
                    return Some((
                        line,
                        col,
                        format!("an expression with more than {MAX_CHAIN} operators; the file is not analysed"),
                    ));
                }
            }
            _ => {}
        }
        if matches!(b, b'!' | b'-' | b'*' | b'&') {
            unary += 1;
            if unary > MAX_NESTING {
                return fail(line, col, "prefix operators");
            }
        } else if !b.is_ascii_whitespace() {
            unary = 0;
        }
        if b == b'\n' {
            line += 1;
            col = 0;
        } else if b & 0xC0 != 0x80 {
            col += 1;
        }
        if !b.is_ascii_whitespace() {
            prev = b;
        }
        i += 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordinary_code_passes() {
        let src = "fn main() {\n    let v: Vec<Vec<u8>> = vec![vec![1]];\n    if a < b && !c { x = -y * &z; }\n    let s = \"((((\";\n    // ((((\n}\n";
        assert_eq!(too_deep(src), None);
    }

    #[test]
    fn pathological_nesting_is_refused_with_its_location() {
        let deep = format!(
            "fn f() {{\n    let x = {}1{};\n}}\n",
            "(".repeat(100_000),
            ")".repeat(100_000)
        );
        let (line, col, msg) = too_deep(&deep).unwrap();
        assert_eq!(line, 2);
        assert_eq!(col, 12 + MAX_NESTING - 1);
        assert!(msg.contains("brackets"));
        assert!(too_deep(&format!("fn f() {{ let x = {}true; }}", "!".repeat(10_000))).is_some());
        assert!(too_deep(&format!(
            "type T = {}u8{};",
            "Vec<".repeat(10_000),
            ">".repeat(10_000)
        ))
        .is_some());
        assert!(too_deep(&format!("fn f() -> u64 {{ 1{} }}", "+1".repeat(10_000))).is_some());
        assert!(too_deep(&format!(
            "const A: [u8; 10000] = [{}];",
            "1 + 1, ".repeat(10_000)
        ))
        .is_none());
    }
}
