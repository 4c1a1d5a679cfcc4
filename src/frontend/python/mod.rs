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
}

impl<'a> Lines<'a> {
    fn new(text: &'a str) -> Self {
        Lines {
            text,
            starts: crate::source::line_starts(text),
        }
    }

    fn line_col(&self, offset: usize) -> (u32, u32) {
        let offset = offset.min(self.text.len());
        let idx = match self.starts.binary_search(&(offset as u32)) {
            Ok(i) => i,
            Err(i) => i.saturating_sub(1),
        };
        let start = self.starts[idx] as usize;
        let col = self.text.get(start..offset).map_or(0, |s| s.chars().count());
        (idx as u32 + 1, col as u32 + 1)
    }

    pub(crate) fn span(&self, r: TextRange) -> Span {
        let (start, end) = (r.start().to_usize(), r.end().to_usize());
        let (line, col) = self.line_col(start);
        let (end_line, end_col) = self.line_col(end);
        Span {
            line,
            col,
            end_line,
            end_col,
            start: start as u32,
            end: end as u32,
        }
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
