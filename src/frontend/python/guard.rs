//! A linear pre-scan that refuses Python sources nested deeper than any hand-written code (`((((…` a
//! hundred thousand times, hundreds of indented blocks): the parser and the lowering recurse through
//! nesting, and a stack overflow aborts the process, so such files are reported instead.

/// Brackets open at once.
const MAX_BRACKETS: usize = 256;
/// Columns of indentation (about a hundred nested blocks at four spaces).
const MAX_INDENT: usize = 400;
/// Operators in one statement (`a + a + …`, `- - - x`): the parser nests each in the one before.
const MAX_OPERATORS: usize = 4096;

/// Where and why a source is refused: (1-based line, 0-based column in characters, message).
pub fn too_deep(text: &str) -> Option<(usize, usize, String)> {
    let mut depth = 0usize;
    let mut quote: Option<(char, bool)> = None;
    let mut at_line_start = true;
    let mut indent = 0usize;
    let mut operators = 0usize;
    let mut chars = text.chars().peekable();
    let (mut line, mut col) = (1usize, 0usize);
    while let Some(c) = chars.next() {
        let here = (line, col);
        col += 1;
        if c == '\n' {
            line += 1;
            col = 0;
            at_line_start = true;
            indent = 0;
            if depth == 0 && quote.is_none() {
                operators = 0;
            }
            if matches!(quote, Some((_, false))) {
                quote = None;
            }
            continue;
        }
        if at_line_start {
            if c == ' ' || c == '\t' {
                indent += 1;
                if indent > MAX_INDENT && quote.is_none() && depth == 0 {
                    return Some((here.0, here.1, refusal("blocks")));
                }
                continue;
            }
            at_line_start = false;
        }
        match quote {
            Some((q, triple)) => {
                if c == '\\' {
                    chars.next();
                    col += 1;
                } else if c == q {
                    if !triple {
                        quote = None;
                    } else if chars.peek() == Some(&q) {
                        chars.next();
                        if chars.peek() == Some(&q) {
                            chars.next();
                            quote = None;
                        }
                        col += 2;
                    }
                }
            }
            None => match c {
                '#' => {
                    while chars.peek().is_some_and(|&n| n != '\n') {
                        chars.next();
                    }
                }
                '\'' | '"' => {
                    let mut triple = false;
                    if chars.peek() == Some(&c) {
                        chars.next();
                        col += 1;
                        if chars.peek() == Some(&c) {
                            chars.next();
                            col += 1;
                            triple = true;
                        } else {
                            // An empty string: `''`.
                            continue;
                        }
                    }
                    quote = Some((c, triple));
                }
                '(' | '[' | '{' => {
                    depth += 1;
                    if depth > MAX_BRACKETS {
                        return Some((here.0, here.1, refusal("brackets")));
                    }
                }
                ')' | ']' | '}' => depth = depth.saturating_sub(1),
                '+' | '-' | '*' | '/' | '%' | '|' | '&' | '^' | '~' | '<' | '>' | '@' => {
                    operators += 1;
                    if operators > MAX_OPERATORS {
                        return Some((here.0, here.1, refusal("operators")));
                    }
                }
                _ => {}
            },
        }
    }
    None
}

fn refusal(what: &str) -> String {
    format!("{what} nested or chained deeper than any hand-written code; the file is not analysed")
}

#[cfg(test)]
mod tests {
    use super::too_deep;

    #[test]
    fn ordinary_code_passes_and_deep_nesting_is_refused() {
        assert!(too_deep("x = f('(', \"[[\", '''{{\n''')  # (((\n").is_none());
        let deep = format!("x = {}1{}\n", "(".repeat(300), ")".repeat(300));
        assert_eq!(too_deep(&deep).map(|(l, c, _)| (l, c)), Some((1, 260)));
        let mut blocks = String::new();
        for i in 0..120 {
            blocks.push_str(&format!("{}if x:\n", "    ".repeat(i)));
        }
        assert!(too_deep(&blocks).is_some());
        let chain = format!("x = 1{}\n", " + 1".repeat(5000));
        assert!(too_deep(&chain).is_some());
        let unary = format!("x = {}1\n", "- ".repeat(5000));
        assert!(too_deep(&unary).is_some());
        let wrapped = format!("x = (a{})\n", "\n< a".repeat(5000));
        assert!(too_deep(&wrapped).is_some());
        let lines = "x = 1 + 2\n".repeat(5000);
        assert!(too_deep(&lines).is_none());
    }
}
