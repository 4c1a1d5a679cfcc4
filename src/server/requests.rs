//! The client's requests: code actions and hover, each answered whatever happens.

use super::{actions, hover, path_of, position, Server};
use lsp_server::{ErrorCode, Message, Request, Response};
use lsp_types as lsp;
use lsp_types::request::{self as req, Request as _};
use std::path::Path;
use std::sync::Arc;

impl Server<'_> {
    /// A request, answered whatever happens: a failure inside portcullis is an error response, not
    /// a dead server.
    pub(super) fn request(&mut self, r: Request) {
        let id = r.id.clone();
        let answer = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.answer(r)));
        let response = match answer {
            Ok(Ok(value)) => Response::new_ok(id, value),
            Ok(Err((code, message))) => Response::new_err(id, code as i32, message),
            Err(p) => Response::new_err(
                id,
                ErrorCode::InternalError as i32,
                format!(
                    "internal error: {}",
                    crate::engine::panic_message(p.as_ref())
                ),
            ),
        };
        self.send(Message::Response(response));
    }

    pub(super) fn answer(&mut self, r: Request) -> Result<serde_json::Value, (ErrorCode, String)> {
        let bad = |e: serde_json::Error| (ErrorCode::InvalidParams, e.to_string());
        match r.method.as_str() {
            req::HoverRequest::METHOD => {
                let p: lsp::HoverParams = serde_json::from_value(r.params).map_err(bad)?;
                Ok(
                    serde_json::to_value(self.hover(&p.text_document_position_params))
                        .unwrap_or_default(),
                )
            }
            req::CodeActionRequest::METHOD => {
                let p: lsp::CodeActionParams = serde_json::from_value(r.params).map_err(bad)?;
                let uri = &p.text_document.uri;
                let path = path_of(uri);
                let text = path
                    .as_ref()
                    .and_then(|p| self.text_of(p))
                    .unwrap_or_default();
                let policy = path
                    .and_then(|p| self.folder_of(&p))
                    .map(|fi| &self.folders[fi].project.policy);
                let suppressible = |rule: &str| suppressible(policy, rule);
                let acts =
                    actions::for_diagnostics(uri, &text, &p.context.diagnostics, &suppressible);
                Ok(serde_json::to_value(acts).unwrap_or_default())
            }
            _ => Err((
                ErrorCode::MethodNotFound,
                format!("portcullis does not answer `{}`", r.method),
            )),
        }
    }

    pub(super) fn hover(&mut self, at: &lsp::TextDocumentPositionParams) -> Option<lsp::Hover> {
        let path = path_of(&at.text_document.uri)?;
        let (fi, pi) = self.package_of(&path)?;
        let fresh = self
            .routes
            .get(&(fi, pi))
            .is_some_and(|(n, _)| *n == self.changes);
        if !fresh {
            let folder = &self.folders[fi];
            let out = self
                .pool
                .install(|| folder.analyse(pi, &self.overlays, true));
            let spots = hover::spots(&out.model, &out.files);
            self.routes.insert((fi, pi), (self.changes, spots));
        }
        let text = self.text_of(&path)?;
        let offset = position::offset(&text, at.position);
        let spots = &self.routes.get(&(fi, pi))?.1;
        let rows = hover::at(spots, &path, offset);
        if rows.is_empty() {
            return None;
        }
        Some(lsp::Hover {
            contents: lsp::HoverContents::Markup(lsp::MarkupContent {
                kind: lsp::MarkupKind::Markdown,
                value: hover::markdown(&rows),
            }),
            range: None,
        })
    }

    /// A file's text as the editor has it: the open buffer, else the file on disk.
    pub(super) fn text_of(&self, path: &Path) -> Option<Arc<str>> {
        match self.overlays.get(path) {
            Some(t) => Some(t.clone()),
            None => std::fs::read_to_string(path).ok().map(Arc::from),
        }
    }
}

/// Whether a rule's findings can be hidden by a suppression comment: not the findings about the
/// comments themselves (they are judged after suppressions apply), nor failures inside portcullis.
fn suppressible(policy: Option<&crate::engine::Policy>, rule: &str) -> bool {
    let about_comments = policy.is_some_and(|p| {
        p.rules.rules.iter().any(|r| {
            r.id == rule && !r.cases.is_empty() && r.cases.iter().all(|c| c.target == "suppression")
        })
    });
    rule != crate::engine::INTERNAL_ERROR && !about_comments
}
