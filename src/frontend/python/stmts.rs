//! Python statements, functions, classes and imports to facts (see the module comment for the mapping).

use super::{Lines, MODULE_FN};
use crate::facts::{
    collect_calls, exact, Attr, Block, ConstDef, Expr, FieldDef, FileFacts, FnDef, ImplDef, Let,
    Name, Param, Pat, Stmt, TypeDef, TypeKind, TypeRef, UseDef,
};
use crate::source::{Span, Spanner};
use ruff_python_ast as ast;
use ruff_text_size::Ranged;
use std::collections::HashSet;

pub(crate) struct Lowerer<'a> {
    pub(super) lines: &'a Lines<'a>,
    sp: Spanner<'a>,
    pub(super) facts: FileFacts,
    pub(super) module: Vec<Name>,
    is_package: bool,
    /// Names that `import` statements bind to modules: `requests.get(..)` is a call of `requests::get`.
    pub(super) modules: HashSet<Name>,
    pub(super) depth: usize,
    /// Inside `if TYPE_CHECKING:`, which never runs.
    type_checking: bool,
    /// Where the import statement being lowered starts.
    import_at: u32,
}

impl<'a> Lowerer<'a> {
    pub(crate) fn new(text: &'a str, lines: &'a Lines<'a>, module: Vec<Name>, pkg: bool) -> Self {
        Lowerer {
            lines,
            sp: Spanner::new(text),
            facts: FileFacts::default(),
            module,
            is_package: pkg,
            modules: HashSet::new(),
            depth: 0,
            type_checking: false,
            import_at: 0,
        }
    }

    pub(crate) fn finish(self) -> FileFacts {
        let mut facts = self.facts;
        facts.fns.shrink_to_fit();
        facts
    }

    /// The module's top-level statements, as the function [`MODULE_FN`]; module-level assignments of
    /// one name are also constants, so code elsewhere can read them.
    pub(crate) fn module(&mut self, body: &[ast::Stmt]) {
        for s in body {
            self.note_imports(s);
        }
        for s in body {
            let (name, value) = match s {
                ast::Stmt::Assign(a) if a.targets.len() == 1 => {
                    (a.targets[0].as_name_expr(), &a.value)
                }
                ast::Stmt::AnnAssign(a) => match &a.value {
                    Some(v) => (a.target.as_name_expr(), v),
                    None => continue,
                },
                ast::Stmt::TypeAlias(t) => (t.name.as_name_expr(), &t.value),
                _ => continue,
            };
            if let Some(n) = name {
                let value = self.expr(value);
                self.facts.consts.push(ConstDef {
                    module: self.module.clone(),
                    name: Name::new(n.id.as_str()),
                    value,
                    span: self.lines.of(n),
                });
            }
        }
        let block = self.block(body);
        let span = self.lines.span(ruff_text_size::TextRange::default());
        self.push_fn(FnDef {
            name: Name::new(MODULE_FN),
            module: self.module.clone(),
            self_ty: None,
            trait_name: None,
            is_async: false,
            is_closure: false,
            public: false,
            params: vec![],
            ret: None,
            calls: collect_calls(&block, &self.sp),
            body: block,
            attrs: vec![],
            span,
            item_span: span,
        });
    }

    pub(super) fn push_fn(&mut self, f: FnDef) -> u32 {
        self.facts.fns.push(f);
        self.facts.fns.len() as u32 - 1
    }

    fn note_imports(&mut self, s: &ast::Stmt) {
        if let ast::Stmt::Import(i) = s {
            for a in &i.names {
                let bound = match &a.asname {
                    Some(n) => n.id.as_str(),
                    None => a.name.id.as_str().split('.').next().unwrap_or(""),
                };
                self.modules.insert(Name::new(bound));
            }
        }
    }

    pub(super) fn block(&mut self, body: &[ast::Stmt]) -> Block {
        let mut out = vec![];
        for s in body {
            self.stmt(s, &mut out);
        }
        Block {
            stmts: out.into_boxed_slice(),
        }
    }

    fn stmt(&mut self, s: &ast::Stmt, out: &mut Vec<Stmt>) {
        let span = self.lines.of(s);
        let expr = |expr: Expr| Stmt::Expr { expr, semi: true };
        match s {
            ast::Stmt::FunctionDef(f) => self.function(f, None, out),
            ast::Stmt::ClassDef(c) => self.class(c, out),
            ast::Stmt::Import(_) | ast::Stmt::ImportFrom(_) => {
                self.note_imports(s);
                self.import_at = s.range().start().to_u32();
                self.imports(s);
            }
            ast::Stmt::Return(r) => {
                let value = r.value.as_ref().map(|v| Box::new(self.expr(v)));
                out.push(expr(Expr::Return { value, span }));
            }
            ast::Stmt::Raise(r) => {
                let exc = match &r.exc {
                    Some(e) => self.expr(e),
                    None => Expr::Unknown { span },
                };
                out.push(expr(raise(exc, span)));
            }
            ast::Stmt::Assign(a) => {
                let value = self.expr(&a.value);
                for t in &a.targets {
                    out.push(self.assign(t, value.clone(), None, span));
                }
            }
            ast::Stmt::AnnAssign(a) => {
                if let Some(v) = &a.value {
                    let value = self.expr(v);
                    let ty = Some(self.type_ref(&a.annotation).0);
                    out.push(self.assign(&a.target, value, ty, span));
                }
            }
            ast::Stmt::AugAssign(a) => {
                let target = self.expr(&a.target);
                let rhs = self.expr(&a.value);
                let value = Expr::Binary {
                    op: Name::new(a.op.as_str()),
                    lhs: Box::new(target.clone()),
                    rhs: Box::new(rhs),
                    span,
                };
                out.push(expr(Expr::Assign {
                    target: Box::new(target),
                    value: Box::new(value),
                    span,
                }));
            }
            ast::Stmt::Expr(e) => {
                // A docstring says nothing the analyses use.
                if !e.value.is_string_literal_expr() {
                    out.push(expr(self.expr(&e.value)));
                }
            }
            ast::Stmt::If(i) => out.push(expr(self.if_stmt(i))),
            ast::Stmt::For(f) => {
                let pat = self.pat(&f.target);
                let head = self.expr(&f.iter);
                let body = self.block(&f.body);
                out.push(expr(Expr::Loop {
                    pat: Some(Box::new(pat)),
                    head: Some(Box::new(head)),
                    body,
                    span,
                }));
                f.orelse.iter().for_each(|s| self.stmt(s, out));
            }
            ast::Stmt::While(w) => {
                let mut stmts = vec![expr(self.expr(&w.test))];
                w.body.iter().for_each(|s| self.stmt(s, &mut stmts));
                out.push(expr(Expr::Loop {
                    pat: None,
                    head: None,
                    body: Block {
                        stmts: stmts.into_boxed_slice(),
                    },
                    span,
                }));
                w.orelse.iter().for_each(|s| self.stmt(s, out));
            }
            ast::Stmt::With(w) => {
                for item in &w.items {
                    let value = self.expr(&item.context_expr);
                    match &item.optional_vars {
                        Some(t) => out.push(self.assign(t, value, None, span)),
                        None => out.push(expr(value)),
                    }
                }
                w.body.iter().for_each(|s| self.stmt(s, out));
            }
            ast::Stmt::Try(t) => {
                let mut body = vec![];
                t.body.iter().for_each(|s| self.stmt(s, &mut body));
                // `try: jwt.decode(..) except InvalidTokenError: raise HTTPException(401)`: a handler
                // that raises makes each statement's failure a rejection, as `?` does. (One that
                // returns may be letting the request through: `return await call_next(request)`.)
                let rejects = !t.handlers.is_empty()
                    && t.handlers.iter().all(|h| {
                        let ast::ExceptHandler::ExceptHandler(h) = h;
                        h.body.iter().any(|s| matches!(s, ast::Stmt::Raise(_)))
                    });
                if rejects {
                    body = body.into_iter().map(checked_stmt).collect();
                    out.extend(body);
                } else {
                    // A failure a handler swallows may skip the rest: the body is not the function's
                    // own straight line (checks that look at top-level statements do not see into it).
                    out.push(expr(Expr::Block {
                        block: Block {
                            stmts: body.into_boxed_slice(),
                        },
                        is_async: false,
                        span,
                    }));
                }
                // A handler runs when something failed: a branch on a run-time condition.
                for h in &t.handlers {
                    let ast::ExceptHandler::ExceptHandler(h) = h;
                    let mut stmts = vec![];
                    if let Some(n) = &h.name {
                        let span = self.lines.of(n);
                        stmts.push(let_stmt(
                            pat_of(n.id.as_str()),
                            Expr::Unknown { span },
                            None,
                            span,
                        ));
                    }
                    h.body.iter().for_each(|s| self.stmt(s, &mut stmts));
                    let hspan = self.lines.of(h);
                    out.push(expr(Expr::If {
                        cond: Box::new(Expr::Unknown { span: hspan }),
                        then: Block {
                            stmts: stmts.into_boxed_slice(),
                        },
                        els: None,
                        span: hspan,
                    }));
                }
                t.orelse.iter().for_each(|s| self.stmt(s, out));
                t.finalbody.iter().for_each(|s| self.stmt(s, out));
            }
            ast::Stmt::Match(m) => {
                let scrutinee = self.expr(&m.subject);
                let arms = m
                    .cases
                    .iter()
                    .map(|c| Expr::Block {
                        block: self.block(&c.body),
                        is_async: false,
                        span: self.lines.of(c),
                    })
                    .collect();
                out.push(expr(Expr::Match {
                    scrutinee: Box::new(scrutinee),
                    arms,
                    span,
                }));
            }
            ast::Stmt::Assert(a) => out.push(expr(self.expr(&a.test))),
            ast::Stmt::TypeAlias(t) => {
                let value = self.expr(&t.value);
                out.push(self.assign(&t.name, value, None, span));
            }
            ast::Stmt::Delete(_)
            | ast::Stmt::Global(_)
            | ast::Stmt::Nonlocal(_)
            | ast::Stmt::Pass(_)
            | ast::Stmt::Break(_)
            | ast::Stmt::Continue(_)
            | ast::Stmt::IpyEscapeCommand(_) => {}
        }
    }

    fn if_stmt(&mut self, i: &ast::StmtIf) -> Expr {
        let cond = self.expr(&i.test);
        let outer = self.type_checking;
        self.type_checking |= dotted(&i.test).is_some_and(|d| d.ends_with("TYPE_CHECKING"));
        let then = self.block(&i.body);
        self.type_checking = outer;
        let els = self.elif(&i.elif_else_clauses);
        Expr::If {
            cond: Box::new(cond),
            then,
            els,
            span: self.lines.of(i),
        }
    }

    fn elif(&mut self, clauses: &[ast::ElifElseClause]) -> Option<Box<Expr>> {
        let (first, rest) = clauses.split_first()?;
        let span = self.lines.of(first);
        let block = self.block(&first.body);
        Some(Box::new(match &first.test {
            Some(test) => Expr::If {
                cond: Box::new(self.expr(test)),
                then: block,
                els: self.elif(rest),
                span,
            },
            None => Expr::Block {
                block,
                is_async: false,
                span,
            },
        }))
    }

    /// `target = value`: a binding for names and tuples of names, an assignment otherwise.
    fn assign(&mut self, target: &ast::Expr, value: Expr, ty: Option<TypeRef>, span: Span) -> Stmt {
        match target {
            ast::Expr::Name(_) | ast::Expr::Tuple(_) | ast::Expr::List(_) => {
                let pat = self.pat(target);
                let_stmt(pat, value, ty, span)
            }
            _ => Stmt::Expr {
                expr: Expr::Assign {
                    target: Box::new(self.expr(target)),
                    value: Box::new(value),
                    span,
                },
                semi: true,
            },
        }
    }

    pub(super) fn pat(&self, target: &ast::Expr) -> Pat {
        let mut bindings = vec![];
        names_bound(target, &mut bindings);
        Pat {
            bindings: exact(bindings),
            wrapper: None,
            text: self.lines.text(target.range()).to_string(),
        }
    }

    fn imports(&mut self, s: &ast::Stmt) {
        match s {
            ast::Stmt::Import(i) => {
                for a in &i.names {
                    let full: Vec<Name> = a.name.id.as_str().split('.').map(Name::new).collect();
                    let (alias, path) = match &a.asname {
                        Some(n) => (Name::new(n.id.as_str()), full),
                        None => (full[0], vec![full[0]]),
                    };
                    let path = self.absolute(path);
                    self.use_def(alias, path);
                }
            }
            ast::Stmt::ImportFrom(i) => {
                let named: Vec<Name> = i
                    .module
                    .as_ref()
                    .map(|m| m.id.as_str().split('.').map(Name::new).collect())
                    .unwrap_or_default();
                let base = if i.level == 0 {
                    self.absolute(named)
                } else {
                    // `from . import x` in `app/api/deps.py` is `app.api.x`; in `app/api/__init__.py` too.
                    let own = if self.is_package {
                        self.module.len()
                    } else {
                        self.module.len().saturating_sub(1)
                    };
                    let keep = own.saturating_sub(i.level as usize - 1);
                    let mut p = vec![Name::new("crate")];
                    p.extend_from_slice(&self.module[..keep]);
                    p.extend(named);
                    p
                };
                for a in &i.names {
                    let name = Name::new(a.name.id.as_str());
                    let alias = a.asname.as_ref().map_or(name, |n| Name::new(n.id.as_str()));
                    let mut path = base.clone();
                    if name != "*" {
                        path.push(name);
                    }
                    self.use_def(alias, path);
                }
            }
            _ => {}
        }
    }

    /// An absolute import rooted at the file's own top-level package is a path of this program.
    fn absolute(&self, path: Vec<Name>) -> Vec<Name> {
        if !path.is_empty() && self.module.first() == path.first() {
            let mut p = vec![Name::new("crate")];
            p.extend(path);
            p
        } else {
            path
        }
    }

    fn use_def(&mut self, alias: Name, path: Vec<Name>) {
        self.facts.uses.push(UseDef {
            module: self.module.clone(),
            alias,
            path,
            eager: self.depth == 0 && !self.type_checking,
            at: self.import_at,
        });
    }

    /// A function or method, and (outside classes) its decorators applied as calls after it.
    fn function(&mut self, f: &ast::StmtFunctionDef, class: Option<Name>, out: &mut Vec<Stmt>) {
        let name = Name::new(f.name.id.as_str());
        let attrs = self.decorators(&f.decorator_list);
        let params = self.params(&f.parameters);
        let ret = f.returns.as_ref().map(|r| self.type_ref(r).0);
        self.depth += 1;
        let body = self.block(&f.body);
        self.depth -= 1;
        let public = !name.starts_with('_');
        self.push_fn(FnDef {
            name,
            module: self.module.clone(),
            self_ty: class,
            trait_name: None,
            is_async: f.is_async,
            is_closure: false,
            public,
            params,
            ret,
            calls: collect_calls(&body, &self.sp),
            body,
            attrs,
            span: self.lines.of(&f.name),
            item_span: self.lines.of(f),
        });
        if class.is_some() {
            return;
        }
        let function = Expr::Path {
            segs: Box::new([name]),
            generics: Box::new([]),
            span: self.lines.of(&f.name),
        };
        let value = self.apply_decorators(&f.decorator_list, function);
        if !f.decorator_list.is_empty() {
            let span = self.lines.of(f);
            out.push(let_stmt(pat_of(&name), value, None, span));
        }
    }

    /// Decorators applied innermost (last written) first, each to what the one below returned. Past
    /// a few dozen, the rest are not applied: each would nest the value one level deeper.
    fn apply_decorators(&mut self, list: &[ast::Decorator], mut value: Expr) -> Expr {
        for d in list.iter().rev().take(32) {
            let span = self.lines.of(d);
            value = Expr::Call {
                func: Box::new(self.expr(&d.expression)),
                args: vec![value],
                span,
            };
        }
        value
    }

    fn decorators(&mut self, list: &[ast::Decorator]) -> Vec<Attr> {
        list.iter()
            .map(|d| {
                let callee = match &d.expression {
                    ast::Expr::Call(c) => &*c.func,
                    e => e,
                };
                Attr {
                    path: Name::new(&dotted(callee).unwrap_or_default()),
                    tokens: self.lines.text(d.expression.range()).to_string(),
                    span: self.lines.of(d),
                }
            })
            .collect()
    }

    pub(super) fn params(&mut self, p: &ast::Parameters) -> Vec<Param> {
        let with_default = p.posonlyargs.iter().chain(&p.args).chain(&p.kwonlyargs);
        let mut out: Vec<Param> = with_default
            .map(|pd| self.param(&pd.parameter, pd.default.as_deref()))
            .collect();
        for v in p.vararg.iter().chain(&p.kwarg) {
            out.push(self.param(v, None));
        }
        exact(out)
    }

    fn param(&mut self, p: &ast::Parameter, default: Option<&ast::Expr>) -> Param {
        let (ty, meta) = match &p.annotation {
            Some(a) => {
                let (ty, meta) = self.type_ref(a);
                (Some(ty), meta)
            }
            None => (None, None),
        };
        // `Annotated[User, Depends(current_user)]` means what `user: User = Depends(current_user)` does,
        // whatever default follows (`q: Annotated[str | None, Query(max_length=50)] = None`).
        let default = meta.or_else(|| default.map(|d| self.expr(d))).map(Box::new);
        Param {
            pat: pat_of(p.name.id.as_str()),
            ty,
            span: self.lines.of(p),
            default,
        }
    }

    /// An annotation as a type, and the first call among `Annotated[..]`'s metadata.
    pub(super) fn type_ref(&mut self, e: &ast::Expr) -> (TypeRef, Option<Expr>) {
        let span = self.lines.of(e);
        let text: String = self.lines.text(e.range()).chars().take(240).collect();
        // Annotations nest a handful of levels; a hostile one is cut off.
        if self.depth > 100 {
            return (
                TypeRef {
                    segs: vec![],
                    args: vec![],
                    text,
                    span,
                },
                None,
            );
        }
        self.depth += 1;
        let out = self.type_ref_inner(e, span, text);
        self.depth -= 1;
        out
    }

    fn type_ref_inner(
        &mut self,
        e: &ast::Expr,
        span: Span,
        text: String,
    ) -> (TypeRef, Option<Expr>) {
        let plain = |segs: Vec<Name>, args: Vec<TypeRef>| TypeRef {
            segs,
            args,
            text: text.clone(),
            span,
        };
        match e {
            ast::Expr::Subscript(s) => {
                let base = dotted(&s.value).unwrap_or_default();
                let items: Vec<&ast::Expr> = match &*s.slice {
                    ast::Expr::Tuple(t) => t.elts.iter().collect(),
                    one => vec![one],
                };
                let last = base.rsplit('.').next().unwrap_or("");
                if last == "Annotated" && !items.is_empty() {
                    let (inner, _) = self.type_ref(items[0]);
                    let meta = items[1..]
                        .iter()
                        .find(|m| m.is_call_expr())
                        .map(|m| self.expr(m));
                    return (inner, meta);
                }
                let args: Vec<TypeRef> = items.iter().map(|i| self.type_ref(i).0).collect();
                let segs = if last == "Optional" {
                    vec![Name::new("Option")]
                } else {
                    base.split('.').map(Name::new).collect()
                };
                (plain(segs, args), None)
            }
            // `User | None` is an optional `User`.
            ast::Expr::BinOp(b) if b.right.is_none_literal_expr() => {
                let inner = self.type_ref(&b.left).0;
                (plain(vec![Name::new("Option")], vec![inner]), None)
            }
            ast::Expr::StringLiteral(s) => {
                let segs = s.value.to_str().split('.').map(Name::new).collect();
                (plain(segs, vec![]), None)
            }
            _ => {
                let segs = dotted(e)
                    .map(|d| d.split('.').map(Name::new).collect())
                    .unwrap_or_default();
                (plain(segs, vec![]), None)
            }
        }
    }

    /// A class: a type with its annotated attributes as fields and its base classes as derives, and
    /// its methods in an `impl` of it.
    /// Decorated methods (`@router.get("/")` in a class-based view) are applied after the class, in
    /// `out`, to the method itself.
    fn class(&mut self, c: &ast::StmtClassDef, out: &mut Vec<Stmt>) {
        let name = Name::new(c.name.id.as_str());
        let derives = c
            .arguments
            .iter()
            .flat_map(|a| a.args.iter())
            .filter_map(|b| dotted(b).map(|d| Name::new(&d)))
            .collect();
        let attrs = self.decorators(&c.decorator_list);
        let mut fields = vec![];
        let mut fns = vec![];
        for s in &c.body {
            match s {
                ast::Stmt::AnnAssign(a) => {
                    let Some(target) = a.target.as_name_expr() else {
                        continue;
                    };
                    let (ty, meta) = self.type_ref(&a.annotation);
                    let mut attrs = vec![];
                    for d in a
                        .value
                        .iter()
                        .map(|v| &**v)
                        .chain(meta.is_some().then_some(&*a.annotation))
                    {
                        attrs.extend(self.field_attr(d));
                    }
                    let default = a
                        .value
                        .as_ref()
                        .map(|v| self.expr(v))
                        .or(meta)
                        .map(Box::new);
                    fields.push(FieldDef {
                        name: Name::new(target.id.as_str()),
                        ty,
                        attrs,
                        span: self.lines.of(target),
                        default,
                    });
                }
                ast::Stmt::FunctionDef(f) => {
                    let mut none = vec![];
                    self.function(f, Some(name), &mut none);
                    let index = self.facts.fns.len() as u32 - 1;
                    fns.push(index);
                    if !f.decorator_list.is_empty() {
                        let span = self.lines.of(&f.name);
                        let method = Expr::Closure {
                            fn_index: index,
                            span,
                        };
                        let applied = self.apply_decorators(&f.decorator_list, method);
                        out.push(Stmt::Expr {
                            expr: applied,
                            semi: true,
                        });
                    }
                }
                ast::Stmt::ClassDef(inner) => self.class(inner, out),
                _ => {}
            }
        }
        let span = self.lines.of(&c.name);
        self.facts.types.push(TypeDef {
            name,
            module: self.module.clone(),
            kind: TypeKind::Struct,
            derives,
            attrs,
            fields,
            tuple: false,
            generics: vec![],
            alias_of: None,
            span,
        });
        if !fns.is_empty() {
            self.facts.impls.push(ImplDef {
                module: self.module.clone(),
                trait_path: None,
                trait_args: vec![],
                self_ty: TypeRef {
                    segs: vec![name],
                    args: vec![],
                    text: name.to_string(),
                    span,
                },
                fns,
                span: self.lines.of(c),
            });
        }
    }

    /// A field's default or `Annotated` metadata call (`Field(max_length=50)`) as an attribute.
    fn field_attr(&self, e: &ast::Expr) -> Vec<Attr> {
        let calls: Vec<&ast::ExprCall> = match e {
            ast::Expr::Call(c) => vec![c],
            ast::Expr::Subscript(s) => match &*s.slice {
                ast::Expr::Tuple(t) => t.elts.iter().filter_map(|x| x.as_call_expr()).collect(),
                _ => vec![],
            },
            _ => vec![],
        };
        calls
            .into_iter()
            .map(|c| Attr {
                path: Name::new(&dotted(&c.func).unwrap_or_default()),
                tokens: self.lines.text(c.range()).to_string(),
                span: self.lines.of(c),
            })
            .collect()
    }
}

/// `raise E`: the function fails with `E`.
pub(super) fn raise(exc: Expr, span: Span) -> Expr {
    Expr::Return {
        value: Some(Box::new(Expr::Call {
            func: Box::new(Expr::Path {
                segs: Box::new([Name::new("Err")]),
                generics: Box::new([]),
                span,
            }),
            args: vec![exc],
            span,
        })),
        span,
    }
}

pub(super) fn let_stmt(pat: Pat, init: Expr, ty: Option<TypeRef>, span: Span) -> Stmt {
    Stmt::Let(Box::new(Let {
        pat,
        ty,
        init: Some(init),
        els: None,
        span,
    }))
}

pub(super) fn pat_of(name: &str) -> Pat {
    Pat {
        bindings: vec![Name::new(name)],
        wrapper: None,
        text: name.to_string(),
    }
}

fn names_bound(e: &ast::Expr, out: &mut Vec<Name>) {
    match e {
        ast::Expr::Name(n) => out.push(Name::new(n.id.as_str())),
        ast::Expr::Tuple(t) => t.elts.iter().for_each(|x| names_bound(x, out)),
        ast::Expr::List(l) => l.elts.iter().for_each(|x| names_bound(x, out)),
        ast::Expr::Starred(s) => names_bound(&s.value, out),
        _ => {}
    }
}

/// `a.b.c` as text, when the expression is a chain of at most a few dozen names.
pub(super) fn dotted(e: &ast::Expr) -> Option<String> {
    let mut parts = vec![];
    let mut at = e;
    loop {
        match at {
            ast::Expr::Name(n) => {
                parts.push(n.id.as_str());
                break;
            }
            ast::Expr::Attribute(a) if parts.len() < 64 => {
                parts.push(a.attr.id.as_str());
                at = &a.value;
            }
            _ => return None,
        }
    }
    parts.reverse();
    Some(parts.join("."))
}

/// A statement whose failure is handled: its expression (or initialiser) under `?`.
fn checked_stmt(s: Stmt) -> Stmt {
    let wrap = |e: Expr| {
        let span = e.span();
        Expr::Try {
            inner: Box::new(e),
            span,
        }
    };
    // `raise` and `return None` keep their shape: they are what a check looks for.
    let plain = |v: &Expr| v.is_err() || v.is_none_value();
    match s {
        Stmt::Expr {
            expr: Expr::Return { value, span },
            semi,
        } => Stmt::Expr {
            expr: Expr::Return {
                value: value.map(|v| if plain(&v) { v } else { Box::new(wrap(*v)) }),
                span,
            },
            semi,
        },
        Stmt::Expr { expr, semi } if !matches!(expr, Expr::If { .. } | Expr::Loop { .. }) => {
            Stmt::Expr {
                expr: wrap(expr),
                semi,
            }
        }
        Stmt::Let(mut l) => {
            l.init = l.init.take().map(wrap);
            Stmt::Let(l)
        }
        other => other,
    }
}
