//! Quick fixes on portcullis diagnostics: suppress the finding on its line, or in its file. No built-in
//! rule has a mechanical fix yet; the suppression comments are those `check` reads
//! (`crate::suppress`).

use super::diagnostics::SOURCE;
use lsp_types::{
    CodeAction, CodeActionKind, CodeActionOrCommand, Diagnostic, NumberOrString, Position, Range,
    TextEdit, Url, WorkspaceEdit,
};
use std::collections::HashMap;

/// The comment marker of a file: `//` in Rust, `#` in TOML and deployment files.
fn comment_marker(uri: &Url) -> &'static str {
    if uri.path().ends_with(".rs") {
        "//"
    } else {
        "#"
    }
}

fn edit(uri: &Url, at: Position, text: String) -> WorkspaceEdit {
    let range = Range { start: at, end: at };
    WorkspaceEdit {
        changes: Some(HashMap::from([(
            uri.clone(),
            vec![TextEdit {
                range,
                new_text: text,
            }],
        )])),
        ..WorkspaceEdit::default()
    }
}

fn action(title: String, diagnostic: &Diagnostic, edit: WorkspaceEdit) -> CodeActionOrCommand {
    CodeActionOrCommand::CodeAction(CodeAction {
        title,
        kind: Some(CodeActionKind::QUICKFIX),
        diagnostics: Some(vec![diagnostic.clone()]),
        edit: Some(edit),
        ..CodeAction::default()
    })
}

/// The rule a portcullis diagnostic is about.
fn rule_of(d: &Diagnostic) -> Option<&str> {
    match (&d.source, &d.code) {
        (Some(s), Some(NumberOrString::String(rule))) if s == SOURCE && rule != "configuration" => {
            Some(rule)
        }
        _ => None,
    }
}

/// The line-suppression edit: a comment above the line with its indentation, or the rule added to
/// the suppression comment already there.
fn suppress_line(uri: &Url, text: &str, line: u32, rule: &str) -> WorkspaceEdit {
    let lines: Vec<&str> = text.split('\n').collect();
    let marker = comment_marker(uri);
    let above = line
        .checked_sub(1)
        .and_then(|l| lines.get(l as usize))
        .map(|l| l.trim_end_matches('\r'));
    let prefix = format!("{marker} portcullis: ignore[");
    if let Some(prev) = above.filter(|p| p.trim_start().starts_with(&prefix)) {
        if let Some(close) = prev.find(']') {
            let col = prev[..close].encode_utf16().count() as u32;
            return edit(uri, Position::new(line - 1, col), format!(", {rule}"));
        }
    }
    let current = lines.get(line as usize).copied().unwrap_or("");
    let indent: String = current
        .chars()
        .take_while(|c| *c == ' ' || *c == '\t')
        .collect();
    // The reason is left for the user to write after the rule list.
    let text = format!("{indent}{marker} portcullis: ignore[{rule}] \n");
    edit(uri, Position::new(line, 0), text)
}

/// The code actions for the diagnostics of one request, on a document with text `text`.
pub fn for_diagnostics(
    uri: &Url,
    text: &str,
    diagnostics: &[Diagnostic],
) -> Vec<CodeActionOrCommand> {
    let mut out = vec![];
    for d in diagnostics {
        let Some(rule) = rule_of(d) else { continue };
        let line = d.range.start.line;
        out.push(action(
            format!("Suppress `{rule}` on this line"),
            d,
            suppress_line(uri, text, line, rule),
        ));
        let marker = comment_marker(uri);
        out.push(action(
            format!("Suppress `{rule}` in this file"),
            d,
            edit(
                uri,
                Position::new(0, 0),
                format!("{marker} portcullis: ignore-file[{rule}] \n"),
            ),
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn diag(line: u32, rule: &str) -> Diagnostic {
        Diagnostic {
            range: Range::new(Position::new(line, 8), Position::new(line, 20)),
            source: Some(SOURCE.into()),
            code: Some(NumberOrString::String(rule.into())),
            ..Diagnostic::default()
        }
    }

    fn edits(a: &CodeActionOrCommand) -> Vec<TextEdit> {
        let CodeActionOrCommand::CodeAction(a) = a else {
            panic!("not an action")
        };
        a.edit
            .clone()
            .unwrap()
            .changes
            .unwrap()
            .into_values()
            .next()
            .unwrap()
    }

    #[test]
    fn suppressions_keep_indentation_and_merge() {
        let uri = Url::parse("file:///p/src/main.rs").unwrap();
        let text =
            "fn main() {\n    let x = 1;\n    // portcullis: ignore[a] known\n    let y = 2;\n}\n";
        let acts = for_diagnostics(&uri, text, &[diag(1, "plaintext-listener")]);
        assert_eq!(acts.len(), 2);
        let e = &edits(&acts[0])[0];
        assert_eq!(e.range.start, Position::new(1, 0));
        assert_eq!(
            e.new_text,
            "    // portcullis: ignore[plaintext-listener] \n"
        );
        let e = &edits(&acts[1])[0];
        assert_eq!(
            e.new_text,
            "// portcullis: ignore-file[plaintext-listener] \n"
        );
        // A suppression comment above the line gets the rule added to its list.
        let e = &edits(&for_diagnostics(&uri, text, &[diag(3, "b")])[0])[0];
        assert_eq!(
            (e.range.start, e.new_text.as_str()),
            (Position::new(2, 27), ", b")
        );
        let toml = Url::parse("file:///p/Cargo.toml").unwrap();
        let e = &edits(&for_diagnostics(&toml, "[x]\na = 1\n", &[diag(1, "r")])[0])[0];
        assert_eq!(e.new_text, "# portcullis: ignore[r] \n");
        let mut other = diag(1, "r");
        other.source = Some("rustc".into());
        assert!(for_diagnostics(&uri, text, &[other]).is_empty());
    }
}
