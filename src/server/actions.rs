//! Quick fixes on portcullis diagnostics: suppress the finding on its line, or in its file. No built-in
//! rule has a mechanical fix yet; the suppression comments are those `check` reads
//! (`crate::suppress`).

use super::diagnostics::SOURCE;
use crate::source::FileKind;
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

/// The line-suppression edit: the rule added to the suppression comment that already applies to the
/// line (above it, or at its end), else a comment above the line with its indentation.
fn suppress_line(uri: &Url, text: &str, line: u32, rule: &str) -> WorkspaceEdit {
    let kind = if uri.path().ends_with(".rs") {
        FileKind::Rust
    } else if uri.path().ends_with(".py") {
        FileKind::Python
    } else {
        FileKind::Toml
    };
    let existing = crate::suppress::scan(text, kind)
        .into_iter()
        .find(|s| s.applies_to == line + 1);
    if let Some(s) = existing {
        if let Some(close) = text[s.bytes.clone()].find(']') {
            let at = super::position::position(text, s.bytes.start + close);
            return edit(uri, at, format!(", {rule}"));
        }
    }
    let current = text.split('\n').nth(line as usize).unwrap_or("");
    let indent: String = current
        .chars()
        .take_while(|c| *c == ' ' || *c == '\t')
        .collect();
    // The reason is left for the user to write after the rule list.
    let marker = comment_marker(uri);
    let text = format!("{indent}{marker} portcullis: ignore[{rule}] \n");
    edit(uri, Position::new(line, 0), text)
}

/// Where a file-level comment goes: the first line, or the second after a `#!` interpreter line.
fn file_comment_line(text: &str) -> u32 {
    (text.starts_with("#!") && !text.starts_with("#![")) as u32
}

/// The code actions for the diagnostics of one request, on a document with text `text`; rules whose
/// findings no comment can hide (`suppressible` says which can) get none.
pub fn for_diagnostics(
    uri: &Url,
    text: &str,
    diagnostics: &[Diagnostic],
    suppressible: &dyn Fn(&str) -> bool,
) -> Vec<CodeActionOrCommand> {
    let mut out = vec![];
    for d in diagnostics {
        let Some(rule) = rule_of(d).filter(|r| suppressible(r)) else {
            continue;
        };
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
                Position::new(file_comment_line(text), 0),
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
        let all = |_: &str| true;
        let acts = for_diagnostics(&uri, text, &[diag(1, "plaintext-listener")], &all);
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
        let e = &edits(&for_diagnostics(&uri, text, &[diag(3, "b")], &all)[0])[0];
        assert_eq!(
            (e.range.start, e.new_text.as_str()),
            (Position::new(2, 27), ", b")
        );
        // Any form the scanner reads, above the line or at its end.
        let loose =
            "fn f() {\n    //portcullis: ignore[a]   why\n    g();\n    h(); /// portcullis: ignore[c] x\n}\n";
        let e = &edits(&for_diagnostics(&uri, loose, &[diag(2, "b")], &all)[0])[0];
        assert_eq!(
            (e.range.start, e.new_text.as_str()),
            (Position::new(1, 26), ", b")
        );
        let e = &edits(&for_diagnostics(&uri, loose, &[diag(3, "d")], &all)[0])[0];
        assert_eq!(
            (e.range.start, e.new_text.as_str()),
            (Position::new(3, 33), ", d")
        );
        let toml = Url::parse("file:///p/Cargo.toml").unwrap();
        let e = &edits(&for_diagnostics(&toml, "[x]\na = 1\n", &[diag(1, "r")], &all)[0])[0];
        assert_eq!(e.new_text, "# portcullis: ignore[r] \n");
        // After an interpreter line, the file-level comment goes second.
        let script = Url::parse("file:///p/src/bin/tool.rs").unwrap();
        let shebang = "#!/usr/bin/env run-cargo-script\nfn main() {}\n";
        let acts = for_diagnostics(&script, shebang, &[diag(1, "r")], &all);
        assert_eq!(edits(&acts[1])[0].range.start, Position::new(1, 0));
        let mut other = diag(1, "r");
        other.source = Some("rustc".into());
        assert!(for_diagnostics(&uri, text, &[other], &all).is_empty());
        let not_that = |r: &str| r != "unused-suppression";
        let unused = [diag(1, "unused-suppression")];
        assert!(for_diagnostics(&uri, text, &unused, &not_that).is_empty());
    }
}
