//! Per-file facts: plain, serializable data extracted in one pass over each syntax tree. Function bodies
//! are kept as a small expression language (`Expr`) so that the model can evaluate router assembly
//! across files without ever touching syn again.

mod bounds;
mod calls;
mod guard;
mod lower;
mod name;
mod types;

pub use calls::{collect_calls, method_span, ArgFact, CallKind, CallSite};
pub use lower::{extract, ParseFailure};
pub use name::{names, Name};
pub use types::TypeRef;

use crate::source::Span;
use serde::{Deserialize, Serialize};

/// `collect()` leaves room for at least four items unless the iterator's length is trusted (syn's are
/// not): facts hold millions of one-item lists, a quarter of their memory when collected that way.
pub(crate) trait CollectExact: ExactSizeIterator + Sized {
    fn collect_exact(self) -> Vec<Self::Item> {
        let mut out = Vec::with_capacity(self.len());
        out.extend(self);
        out
    }
}

impl<I: ExactSizeIterator> CollectExact for I {}

/// A list built by pushing, trimmed to its length before it is kept in the facts.
pub(crate) fn exact<T>(mut list: Vec<T>) -> Vec<T> {
    list.shrink_to_fit();
    list
}

#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub struct FileFacts {
    pub fns: Vec<FnDef>,
    pub types: Vec<TypeDef>,
    pub impls: Vec<ImplDef>,
    pub consts: Vec<ConstDef>,
    pub uses: Vec<UseDef>,
    /// Modules declared `#[cfg(test)] mod x;`: their files are test code.
    pub test_mods: Vec<Vec<Name>>,
    /// The first syntax error of a file whose parser recovers from errors (Python): the facts are
    /// those of what it could read, and the error is reported whenever they are used, cached or not.
    pub syntax_error: Option<ParseFailure>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Attr {
    /// The attribute's path as written, e.g. `tokio::main`, `derive`, `serde`.
    pub path: Name,
    /// The attribute's tokens, compacted.
    pub tokens: String,
    pub span: Span,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FnDef {
    pub name: Name,
    /// Module path within the crate (`[]` is the crate root).
    pub module: Vec<Name>,
    /// For methods and associated functions: the `impl` self type's last segment.
    pub self_ty: Option<Name>,
    /// For trait impls: the trait path's last segment.
    pub trait_name: Option<Name>,
    pub is_async: bool,
    pub is_closure: bool,
    /// Callable from outside the crate: `pub` (not `pub(crate)`), a trait's method or its impl.
    pub public: bool,
    pub params: Vec<Param>,
    pub ret: Option<TypeRef>,
    pub body: Block,
    pub attrs: Vec<Attr>,
    /// The name (or closure head) span.
    pub span: Span,
    pub item_span: Span,
    /// Every call in the body (closures have their own).
    pub calls: Vec<CallSite>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Param {
    pub pat: Pat,
    pub ty: Option<TypeRef>,
    pub span: Span,
    /// Python: the default value (FastAPI's `Depends(get_user)`, `Query(max_length=50)`); none in Rust.
    pub default: Option<Box<Expr>>,
}

/// A binding pattern, reduced to what analysis needs.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Pat {
    /// Identifiers bound by the pattern.
    pub bindings: Vec<Name>,
    /// The tuple-struct wrapper destructured at the top, e.g. `Json` in `Json(body)`.
    pub wrapper: Option<Name>,
    pub text: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Block {
    /// Boxed slices rather than `Vec`s here and in paths: 8 bytes less each, and what keeps an
    /// expression at 64 bytes (facts hold millions).
    pub stmts: Box<[Stmt]>,
}

// Facts favour plain shapes over boxing: statements are few compared to expressions.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum Stmt {
    /// Boxed: a `let` is more than twice the size of an expression statement, and every statement of
    /// every body would pay for it.
    Let(Box<Let>),
    Expr {
        expr: Expr,
        semi: bool,
    },
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Let {
    pub pat: Pat,
    pub ty: Option<TypeRef>,
    pub init: Option<Expr>,
    pub els: Option<Block>,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Lit {
    Str(String),
    /// `i64` rather than `i128`, whose 16-byte alignment would make every expression 16 bytes larger;
    /// a larger literal is not folded.
    Int(i64),
    Float(f64),
    Bool(bool),
    Char(char),
    Bytes(Vec<u8>),
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum Expr {
    Lit {
        lit: Lit,
        span: Span,
    },
    Path {
        segs: Box<[Name]>,
        /// Turbofish types on the path, e.g. `Claims` in `decode::<Claims>`.
        generics: Box<[TypeRef]>,
        span: Span,
    },
    Call {
        func: Box<Expr>,
        args: Vec<Expr>,
        span: Span,
    },
    /// Boxed, with the rarer macro calls: the largest variants set the size of every expression.
    Method(Box<MethodCall>),
    Macro(Box<MacroCall>),
    Field {
        base: Box<Expr>,
        name: Name,
        span: Span,
    },
    Index {
        base: Box<Expr>,
        index: Box<Expr>,
        span: Span,
    },
    Tuple {
        items: Vec<Expr>,
        span: Span,
    },
    Array {
        items: Vec<Expr>,
        span: Span,
    },
    Struct {
        path: Box<[Name]>,
        fields: Box<[(Name, Expr)]>,
        span: Span,
    },
    /// A closure, lowered to its own `FnDef` in the same file.
    Closure {
        fn_index: u32,
        span: Span,
    },
    Block {
        block: Block,
        is_async: bool,
        span: Span,
    },
    If {
        cond: Box<Expr>,
        then: Block,
        els: Option<Box<Expr>>,
        span: Span,
    },
    Match {
        scrutinee: Box<Expr>,
        arms: Vec<Expr>,
        span: Span,
    },
    Loop {
        /// The binding of a `for` loop (`for field in fields`): each item of `head`.
        pat: Option<Box<Pat>>,
        head: Option<Box<Expr>>,
        body: Block,
        span: Span,
    },
    /// `let PAT = EXPR` inside `if let` / `while let` / `let` chains.
    LetCond {
        pat: Box<Pat>,
        expr: Box<Expr>,
        span: Span,
    },
    Try {
        inner: Box<Expr>,
        span: Span,
    },
    Unary {
        op: Name,
        expr: Box<Expr>,
        span: Span,
    },
    Binary {
        op: Name,
        lhs: Box<Expr>,
        rhs: Box<Expr>,
        span: Span,
    },
    Assign {
        target: Box<Expr>,
        value: Box<Expr>,
        span: Span,
    },
    Return {
        value: Option<Box<Expr>>,
        span: Span,
    },
    /// A keyword argument of a call (Python's `verify=False`): the value, named. Only the Python front
    /// end writes it; everything that reads values looks through it.
    Keyword {
        name: Name,
        value: Box<Expr>,
        span: Span,
    },
    Unknown {
        span: Span,
    },
}

/// `recv.name::<turbofish>(args)`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MethodCall {
    pub recv: Expr,
    pub name: Name,
    pub turbofish: Vec<TypeRef>,
    pub args: Vec<Expr>,
    pub span: Span,
    pub name_span: Span,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MacroCall {
    pub path: Vec<Name>,
    /// The arguments when the macro body is a comma-separated list of expressions.
    pub args: Vec<Expr>,
    pub tokens: String,
    pub span: Span,
}

impl Expr {
    pub fn span(&self) -> Span {
        match self {
            Expr::Method(m) => m.span,
            Expr::Macro(m) => m.span,
            Expr::Lit { span, .. }
            | Expr::Path { span, .. }
            | Expr::Call { span, .. }
            | Expr::Field { span, .. }
            | Expr::Index { span, .. }
            | Expr::Tuple { span, .. }
            | Expr::Array { span, .. }
            | Expr::Struct { span, .. }
            | Expr::Closure { span, .. }
            | Expr::Block { span, .. }
            | Expr::If { span, .. }
            | Expr::Match { span, .. }
            | Expr::Loop { span, .. }
            | Expr::LetCond { span, .. }
            | Expr::Try { span, .. }
            | Expr::Unary { span, .. }
            | Expr::Binary { span, .. }
            | Expr::Assign { span, .. }
            | Expr::Return { span, .. }
            | Expr::Keyword { span, .. }
            | Expr::Unknown { span } => *span,
        }
    }

    pub fn as_str_lit(&self) -> Option<&str> {
        match self {
            Expr::Lit {
                lit: Lit::Str(s), ..
            } => Some(s),
            _ => None,
        }
    }

    /// `Err(..)`: a rejection (also how a Python `raise` is lowered).
    pub fn is_err(&self) -> bool {
        matches!(self, Expr::Call { func, .. }
            if matches!(&**func, Expr::Path { segs, .. } if segs.last().is_some_and(|l| *l == "Err")))
    }

    /// Python's `None`.
    pub fn is_none_value(&self) -> bool {
        self.as_ident() == Some("None")
    }

    /// Whether any of `names` is read in this expression (as the head of a path).
    pub fn reads_any(&self, names: &[Name]) -> bool {
        let mut hit = false;
        self.walk(&mut |e| {
            if let Expr::Path { segs, .. } = e {
                hit |= segs.first().is_some_and(|s| names.contains(s));
            }
        });
        hit
    }

    /// The binding a condition finds empty: `!x`/`not x`, `x is None`, `x == None`, `x.is_none()`.
    pub fn tested_missing(&self) -> Option<Name> {
        let name = |e: &Expr| match e {
            Expr::Path { segs, .. } if segs.len() == 1 => Some(segs[0]),
            _ => None,
        };
        match self {
            Expr::Unary { op, expr, .. } if *op == "!" => name(expr),
            Expr::Binary { op, lhs, rhs, .. }
                if matches!(op.as_str(), "is" | "==") && rhs.is_none_value() =>
            {
                name(lhs)
            }
            Expr::Method(m) if m.name == "is_none" && m.args.is_empty() => name(&m.recv),
            _ => None,
        }
    }

    /// The single identifier of a one-segment path expression.
    pub fn as_ident(&self) -> Option<&str> {
        match self {
            Expr::Path { segs, .. } if segs.len() == 1 => Some(&segs[0]),
            _ => None,
        }
    }

    /// Visits this expression and every expression inside it (not closure bodies: they are their own
    /// functions).
    pub fn walk<'a>(&'a self, f: &mut dyn FnMut(&'a Expr)) {
        f(self);
        match self {
            Expr::Call { func, args, .. } => {
                func.walk(f);
                args.iter().for_each(|a| a.walk(f));
            }
            Expr::Method(m) => {
                m.recv.walk(f);
                m.args.iter().for_each(|a| a.walk(f));
            }
            Expr::Macro(m) => m.args.iter().for_each(|a| a.walk(f)),
            Expr::Tuple { items: args, .. } | Expr::Array { items: args, .. } => {
                args.iter().for_each(|a| a.walk(f))
            }
            Expr::Field { base, .. } => base.walk(f),
            Expr::Index { base, index, .. } => {
                base.walk(f);
                index.walk(f);
            }
            Expr::Struct { fields, .. } => fields.iter().for_each(|(_, e)| e.walk(f)),
            Expr::Block { block, .. } => block.walk(f),
            Expr::If {
                cond, then, els, ..
            } => {
                cond.walk(f);
                then.walk(f);
                if let Some(e) = els {
                    e.walk(f);
                }
            }
            Expr::Match {
                scrutinee, arms, ..
            } => {
                scrutinee.walk(f);
                arms.iter().for_each(|a| a.walk(f));
            }
            Expr::Loop { head, body, .. } => {
                if let Some(h) = head {
                    h.walk(f);
                }
                body.walk(f);
            }
            Expr::LetCond { expr, .. }
            | Expr::Keyword { value: expr, .. }
            | Expr::Try { inner: expr, .. }
            | Expr::Unary { expr, .. } => expr.walk(f),
            Expr::Binary { lhs, rhs, .. } => {
                lhs.walk(f);
                rhs.walk(f);
            }
            Expr::Assign { target, value, .. } => {
                target.walk(f);
                value.walk(f);
            }
            Expr::Return { value: Some(v), .. } => v.walk(f),
            Expr::Lit { .. }
            | Expr::Path { .. }
            | Expr::Closure { .. }
            | Expr::Return { value: None, .. }
            | Expr::Unknown { .. } => {}
        }
    }
}

/// Names bound again, and `(base, field)` pairs assigned: what [`Block::rebinds`] finds.
pub type Rebinds = (Vec<Name>, Vec<(Name, Name)>);

impl Block {
    pub fn walk<'a>(&'a self, f: &mut dyn FnMut(&'a Expr)) {
        for stmt in &self.stmts {
            match stmt {
                Stmt::Let(l) => {
                    let Let { init, els, .. } = &**l;
                    if let Some(e) = init {
                        e.walk(f);
                    }
                    if let Some(b) = els {
                        b.walk(f);
                    }
                }
                Stmt::Expr { expr, .. } => expr.walk(f),
            }
        }
    }

    /// What the block binds again, at any depth (not in closures, which are functions of their own):
    /// names (`let`/assignment targets, loop and `if let` patterns) and fields assigned
    /// (`(base, field)` for `base.field = ..`). Each nested block's own `let`s are read once.
    pub fn rebinds(&self) -> Rebinds {
        let mut names = vec![];
        let mut fields = vec![];
        self.own_lets(&mut names);
        self.walk(&mut |e| match e {
            Expr::Loop { pat, body, .. } => {
                names.extend(pat.iter().flat_map(|p| p.bindings.iter().copied()));
                body.own_lets(&mut names);
            }
            Expr::LetCond { pat, .. } => names.extend(pat.bindings.iter().copied()),
            Expr::Assign { target, .. } => match target.as_ref() {
                Expr::Path { segs, .. } if segs.len() == 1 => names.push(segs[0]),
                Expr::Field { base, name, .. } => {
                    if let Expr::Path { segs, .. } = base.as_ref() {
                        if segs.len() == 1 {
                            fields.push((segs[0], *name));
                        }
                    }
                }
                _ => {}
            },
            Expr::If { then, .. } => then.own_lets(&mut names),
            Expr::Block { block, .. } => block.own_lets(&mut names),
            _ => {}
        });
        (names, fields)
    }

    /// Whether the block raises or returns an error anywhere (`raise` is lowered to `return Err(..)`).
    pub fn raises(&self) -> bool {
        let mut hit = false;
        self.walk(&mut |e| {
            hit |= matches!(e, Expr::Return { value: Some(v), .. } if v.is_err());
        });
        hit
    }

    fn own_lets(&self, out: &mut Vec<Name>) {
        for s in &self.stmts {
            if let Stmt::Let(l) = s {
                out.extend(l.pat.bindings.iter().copied());
            }
        }
    }

    /// The block's value: its last expression statement without a semicolon.
    pub fn tail(&self) -> Option<&Expr> {
        match self.stmts.last() {
            Some(Stmt::Expr { expr, semi: false }) => Some(expr),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FieldDef {
    pub name: Name,
    pub ty: TypeRef,
    pub attrs: Vec<Attr>,
    pub span: Span,
    /// Python: the class attribute's value (`user: User = Depends(current_user)`); none in Rust.
    pub default: Option<Box<Expr>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TypeKind {
    Struct,
    Enum,
    Alias,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TypeDef {
    pub name: Name,
    pub module: Vec<Name>,
    pub kind: TypeKind,
    /// Derive paths as written, e.g. `Deserialize`, `validator::Validate`.
    pub derives: Vec<Name>,
    pub attrs: Vec<Attr>,
    pub fields: Vec<FieldDef>,
    /// Tuple structs (newtypes) have unnamed fields.
    pub tuple: bool,
    /// Type parameters, in order.
    pub generics: Vec<Name>,
    pub alias_of: Option<TypeRef>,
    pub span: Span,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ImplDef {
    pub module: Vec<Name>,
    /// The trait's path as written, when this is a trait impl.
    pub trait_path: Option<Vec<Name>>,
    pub trait_args: Vec<TypeRef>,
    pub self_ty: TypeRef,
    /// Indices of the impl's functions in `FileFacts::fns`.
    pub fns: Vec<u32>,
    pub span: Span,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ConstDef {
    pub module: Vec<Name>,
    pub name: Name,
    pub value: Expr,
    pub span: Span,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct UseDef {
    pub module: Vec<Name>,
    /// The name the import binds (`*` for globs).
    pub alias: Name,
    pub path: Vec<Name>,
    /// Python: an import the module runs as it loads (at its top level, not inside a function or under
    /// `if TYPE_CHECKING:`). Rust `use` runs nothing.
    pub eager: bool,
    /// Python: where the import statement starts (byte offset), to run it in order with the module's
    /// statements. 0 in Rust.
    pub at: u32,
}
