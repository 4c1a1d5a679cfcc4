//! The Python front end: ruff's parser (error-tolerant, so a file with a syntax error still gives the
//! facts of everything it could read) and one pass lowering the tree to the same facts the Rust front
//! end writes. Python's shapes map onto them as follows, so the model and the rules need no Python:
//!
//! - a module's top-level statements are the body of a function named [`MODULE_FN`] (imports,
//!   assignments, `app.include_router(..)`, decorators applied);
//! - `@deco(args) def f` is the statement `f = deco(args)(f)` after the definition, and `deco` is also
//!   kept as an attribute of `f`;
//! - a keyword argument is [`Expr::Keyword`]; a parameter's default (FastAPI's `Depends(get_user)`)
//!   is the parameter's `default`, and `Annotated[T, Depends(f)]` is the type `T` with that default;
//! - `raise E` is `return Err(E)`: the function fails with `E`, as an early `Err` does in Rust;
//! - a class is a struct whose fields are its annotated class attributes (a field's `Field(..)` or
//!   other default is an attribute of the field), whose derives are its base classes, and whose
//!   methods are an `impl` of it;
//! - `import a.b as c` and `from .x import y` are imports: absolute ones as written, or rooted at
//!   `crate` when they name the file's own top-level package, relative ones resolved against the
//!   file's module;
//! - `a.b(..)` is a call of the path `a::b` when `a` is an imported module (`requests.get`), else a
//!   method call; f-strings are `format!` with `{}` for each interpolated value.

mod exprs;
mod guard;
mod stmts;

use crate::facts::{FileFacts, ParseFailure};
use crate::source::Span;
use ruff_python_parser::parse_unchecked_source;
use ruff_text_size::{Ranged, TextRange};

/// The name of the function that holds a module's top-level statements.
pub const MODULE_FN: &str = "<module>";

/// Lowers one Python file. `module` is its module path (`app.routers.users` as
/// `["app", "routers", "users"]`); `is_package` says the file is a package's `__init__.py`, which
/// relative imports count from. A syntax error is kept in the facts of what could be read.
pub fn extract(text: &str, module: Vec<String>, is_package: bool) -> FileFacts {
    if let Some((line, col0, message)) = guard::too_deep(text) {
        return FileFacts {
            syntax_error: Some(ParseFailure {
                message,
                line,
                col0,
            }),
            ..FileFacts::default()
        };
    }
    let parsed = parse_unchecked_source(text, ruff_python_ast::PySourceType::Python);
    let lines = Lines::new(text);
    let failure = parsed.errors().first().map(|e| {
        let (line, col) = lines.line_col(e.location.start().to_usize());
        ParseFailure {
            message: e.error.to_string(),
            line: line as usize,
            col0: col as usize - 1,
        }
    });
    let module = crate::facts::names(&module);
    let mut lw = stmts::Lowerer::new(text, &lines, module, is_package);
    lw.module(&parsed.syntax().body);
    let mut facts = lw.finish();
    facts.syntax_error = failure;
    facts
}

/// Byte offsets to portcullis spans (1-based lines, 1-based character columns).
pub(crate) struct Lines<'a> {
    text: &'a str,
    starts: Vec<u32>,
    /// Per line: ASCII only, so a column is a byte offset (a long generated line stays linear).
    ascii: Vec<bool>,
}

impl<'a> Lines<'a> {
    fn new(text: &'a str) -> Self {
        let starts = crate::source::line_starts(text);
        let ascii = crate::source::ascii_lines(text, &starts);
        Lines {
            text,
            starts,
            ascii,
        }
    }

    fn line_col(&self, offset: usize) -> (u32, u32) {
        let offset = offset.min(self.text.len());
        let idx = match self.starts.binary_search(&(offset as u32)) {
            Ok(i) => i,
            Err(i) => i.saturating_sub(1),
        };
        if self.ascii[idx] {
            (
                idx as u32 + 1,
                (offset - self.starts[idx] as usize) as u32 + 1,
            )
        } else {
            crate::source::line_col(self.text, &self.starts, offset)
        }
    }

    pub(crate) fn span(&self, r: TextRange) -> Span {
        Span::of_bytes(r.start().to_usize(), r.end().to_usize(), |o| {
            self.line_col(o)
        })
    }

    pub(crate) fn of(&self, node: &impl Ranged) -> Span {
        self.span(node.range())
    }

    pub(crate) fn text(&self, r: TextRange) -> &'a str {
        self.text
            .get(r.start().to_usize()..r.end().to_usize())
            .unwrap_or("")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::facts::{Expr, Stmt};

    fn lower(src: &str, module: &[&str], package: bool) -> FileFacts {
        extract(src, module.iter().map(|s| s.to_string()).collect(), package)
    }

    fn paths(f: &FileFacts) -> Vec<(String, String)> {
        f.uses
            .iter()
            .map(|u| (u.alias.to_string(), u.path.join("::")))
            .collect()
    }

    #[test]
    fn imports_resolve_against_the_module() {
        let src = "import requests\nimport os.path as p\nfrom . import deps\nfrom ..core.security import get_user as gu\nfrom app.models import *\nfrom fastapi import APIRouter\n";
        let f = lower(src, &["app", "api", "routes"], false);
        assert_eq!(
            paths(&f),
            [
                ("requests".into(), "requests".into()),
                ("p".into(), "os::path".into()),
                ("deps".into(), "crate::app::api::deps".into()),
                ("gu".into(), "crate::app::core::security::get_user".into()),
                ("*".into(), "crate::app::models".into()),
                ("APIRouter".into(), "fastapi::APIRouter".into()),
            ]
        );
        // In a package's `__init__.py`, `.` is the package itself.
        let f = lower("from .users import router\n", &["app", "routers"], true);
        assert_eq!(paths(&f)[0].1, "crate::app::routers::users::router");
    }

    #[test]
    fn calls_decorators_and_raise_are_lowered() {
        let src = "import requests\nfrom fastapi import APIRouter, HTTPException\nrouter = APIRouter()\n\n@router.get('/x')\nasync def x(q: str = Query(None, max_length=5)):\n    requests.get(f'https://h/{q}', verify=False)\n    raise HTTPException(status_code=401)\n";
        let f = lower(src, &["app", "x"], false);
        assert!(f.syntax_error.is_none());
        let x = f.fns.iter().find(|f| f.name == "x").unwrap();
        assert!(x.is_async);
        assert_eq!(x.attrs[0].path, "router.get");
        assert!(x.params[0].default.is_some());
        let get = x.calls.iter().find(|c| c.name == "get").unwrap();
        assert_eq!(get.path.join("::"), "requests::get");
        assert_eq!(get.args[0].text.as_ref(), "f'https://h/{q}'");
        assert_eq!(
            get.args[1].keyword.map(|k| k.to_string()),
            Some("verify".into())
        );
        assert_eq!(get.args[1].lit, Some(crate::facts::Lit::Bool(false)));
        assert!(x.body.stmts.iter().any(|s| matches!(s,
            Stmt::Expr { expr: Expr::Return { value: Some(v), .. }, .. }
                if matches!(&**v, Expr::Call { func, .. } if func.as_ident() == Some("Err")))));
        // The module applies the decorator: `x = router.get('/x')(x)`.
        let module = f.fns.iter().find(|f| f.name == MODULE_FN).unwrap();
        assert!(module.calls.iter().any(|c| c.name == "get"));
        assert_eq!(
            f.consts
                .iter()
                .map(|c| c.name.to_string())
                .collect::<Vec<_>>(),
            ["router"]
        );
    }

    #[test]
    fn a_syntax_error_keeps_what_was_read() {
        let f = lower("def ok():\n    return 1\n\ndef broken(:\n", &["m"], false);
        let e = f.syntax_error.as_ref().expect("a syntax error");
        assert_eq!(e.line, 4);
        assert!(f.fns.iter().any(|f| f.name == "ok"));
    }

    #[test]
    fn annotated_dependencies_become_defaults() {
        let src = "from typing import Annotated\ndef h(user: Annotated[User, Depends(current_user)], db: Session = Depends(get_db)): ...\n";
        let f = lower(src, &["m"], false);
        let h = f.fns.iter().find(|f| f.name == "h").unwrap();
        assert_eq!(h.params[0].ty.as_ref().unwrap().name(), "User");
        assert!(matches!(
            h.params[0].default.as_deref(),
            Some(Expr::Call { .. })
        ));
        assert!(h.params[1].default.is_some());
    }
}
