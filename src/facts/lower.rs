//! The one pass over a file's syntax tree: items become facts, function bodies become `Expr`.

use super::types::{compact, path_parts, TypeRef};
use super::*;
use crate::source::Spanner;
use quote::ToTokens;
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;

/// A file that its parser could not read: where and why.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ParseFailure {
    pub message: String,
    pub line: usize,
    pub col0: usize,
}

/// Deeper expressions are cut off: they carry no router or handler structure worth following.
const MAX_DEPTH: usize = 160;

/// Parses `text` and extracts its facts. `module` is the file's module path within its crate.
pub fn extract(text: &str, module: Vec<String>) -> Result<FileFacts, ParseFailure> {
    if let Some((line, col0, message)) = super::guard::too_deep(text) {
        return Err(ParseFailure {
            message,
            line,
            col0,
        });
    }
    let file = syn::parse_file(text).map_err(|e| {
        let start = e.span().start();
        let failure = ParseFailure {
            message: e.to_string(),
            line: start.line,
            col0: start.column,
        };
        proc_macro2::extra::invalidate_current_thread_spans();
        failure
    })?;
    let sp = Spanner::new(text);
    let mut lw = Lowerer {
        sp: &sp,
        facts: FileFacts::default(),
        depth: 0,
        cur_module: super::names(&module),
    };
    lw.items(&file.items, &super::names(&module));
    let facts = lw.facts;
    drop(file);
    // proc-macro2 keeps every parsed file in a thread-local source map that only grows; the facts hold
    // no spans of it, so it is released here.
    proc_macro2::extra::invalidate_current_thread_spans();
    Ok(facts)
}

struct Lowerer<'a> {
    sp: &'a Spanner<'a>,
    facts: FileFacts,
    depth: usize,
    /// The module of the function whose body is being lowered.
    cur_module: Vec<Name>,
}

fn is_test_only(attrs: &[syn::Attribute]) -> bool {
    attrs.iter().any(|a| {
        let path = a.path();
        if path.is_ident("test") || path.segments.last().is_some_and(|s| s.ident == "test") {
            return true;
        }
        if path.is_ident("cfg") {
            let tokens = compact(&a.meta.to_token_stream().to_string());
            return tokens
                .strip_prefix("cfg(")
                .and_then(|t| t.strip_suffix(')'))
                .is_some_and(cfg_is_test_only);
        }
        false
    })
}

/// Whether a `cfg` predicate only holds in test builds: `test`, `all(test, ..)`, or `any(test, feature =
/// "..")` (test-support code that a feature also exposes to other crates' tests).
fn cfg_is_test_only(pred: &str) -> bool {
    if pred == "test" {
        return true;
    }
    if let Some(args) = pred.strip_prefix("all(").and_then(|p| p.strip_suffix(')')) {
        return split_top_level(args).iter().any(|a| cfg_is_test_only(a));
    }
    if let Some(args) = pred.strip_prefix("any(").and_then(|p| p.strip_suffix(')')) {
        let args = split_top_level(args);
        return args.iter().any(|a| cfg_is_test_only(a))
            && args
                .iter()
                .all(|a| cfg_is_test_only(a) || is_test_feature(a));
    }
    false
}

/// `feature = "testing"`, `feature = "mocks"`: a feature that only exposes test support. Any other
/// feature may switch on production code.
fn is_test_feature(pred: &str) -> bool {
    pred.strip_prefix("feature=")
        .map(|f| f.trim_matches('"').to_ascii_lowercase())
        .is_some_and(|f| {
            f.split(['-', '_']).any(|w| {
                matches!(
                    w,
                    "test"
                        | "tests"
                        | "testing"
                        | "testsuite"
                        | "testutils"
                        | "mock"
                        | "mocks"
                        | "fixtures"
                )
            })
        })
}

/// Splits `a, b(c, d), e` at its top-level commas.
fn split_top_level(s: &str) -> Vec<&str> {
    let (mut out, mut depth, mut start) = (vec![], 0i32, 0);
    for (i, c) in s.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                out.push(s[start..i].trim());
                start = i + 1;
            }
            _ => {}
        }
    }
    let last = s[start..].trim();
    if !last.is_empty() {
        out.push(last);
    }
    out
}

fn path_string(path: &syn::Path) -> Name {
    path.segments
        .iter()
        .map(|s| s.ident.to_string())
        .collect::<Vec<_>>()
        .join("::")
        .into()
}

impl<'a> Lowerer<'a> {
    fn span(&self, s: proc_macro2::Span) -> Span {
        self.sp.span(s)
    }

    fn expr_span(&self, e: &syn::Expr) -> Span {
        let (first, last) = super::bounds::of(e);
        self.sp.span_between(first, last)
    }

    fn attrs(&self, attrs: &[syn::Attribute]) -> Vec<Attr> {
        let attrs = attrs
            .iter()
            .filter(|a| !a.path().is_ident("doc"))
            .map(|a| {
                let mut tokens = compact(&a.meta.to_token_stream().to_string());
                tokens.truncate(tokens.floor_char_boundary_compat(600));
                Attr {
                    path: path_string(a.path()),
                    tokens,
                    span: self.span(a.span()),
                }
            })
            .collect();
        exact(attrs)
    }

    fn derives(attrs: &[syn::Attribute]) -> Vec<Name> {
        let mut out = vec![];
        for a in attrs.iter().filter(|a| a.path().is_ident("derive")) {
            if let Ok(paths) =
                a.parse_args_with(Punctuated::<syn::Path, syn::Token![,]>::parse_terminated)
            {
                out.extend(paths.iter().map(path_string));
            }
        }
        out
    }

    fn items(&mut self, items: &[syn::Item], module: &[Name]) {
        for item in items {
            self.item(item, module);
        }
    }

    fn item(&mut self, item: &syn::Item, module: &[Name]) {
        match item {
            syn::Item::Fn(f) if !is_test_only(&f.attrs) => {
                let (first, last) = super::bounds::function(&f.attrs, &f.vis, &f.sig, &f.block);
                let whole = self.sp.span_between(first, last);
                let idx = self.function(&f.sig, &f.block, &f.attrs, module, None, None, whole);
                self.facts.fns[idx as usize].public = matches!(f.vis, syn::Visibility::Public(_));
            }
            syn::Item::Impl(imp) if !is_test_only(&imp.attrs) => {
                let self_ty = TypeRef::from_syn(&imp.self_ty, self.sp);
                let (trait_path, trait_args) = match &imp.trait_ {
                    Some((_, path, _)) => {
                        let (segs, args) = path_parts(path, self.sp);
                        (Some(segs), args)
                    }
                    None => (None, vec![]),
                };
                let trait_name = trait_path.as_ref().and_then(|p| p.last().cloned());
                let mut fns = vec![];
                for it in &imp.items {
                    if let syn::ImplItem::Fn(m) = it {
                        if is_test_only(&m.attrs) {
                            continue;
                        }
                        let (first, last) =
                            super::bounds::function(&m.attrs, &m.vis, &m.sig, &m.block);
                        let whole = self.sp.span_between(first, last);
                        let idx = self.function(
                            &m.sig,
                            &m.block,
                            &m.attrs,
                            module,
                            Some(Name::new(self_ty.name())),
                            trait_name,
                            whole,
                        );
                        self.facts.fns[idx as usize].public =
                            trait_name.is_some() || matches!(m.vis, syn::Visibility::Public(_));
                        fns.push(idx);
                    }
                }
                self.facts.impls.push(ImplDef {
                    module: module.to_vec(),
                    trait_path,
                    trait_args,
                    self_ty,
                    fns,
                    span: {
                        let (first, last) = super::bounds::implementation(imp);
                        self.sp.span_between(first, last)
                    },
                });
            }
            syn::Item::Mod(m) if m.content.is_none() && is_test_only(&m.attrs) => {
                let mut path = module.to_vec();
                path.push(m.ident.to_string().into());
                self.facts.test_mods.push(path);
            }
            syn::Item::Mod(m) if !is_test_only(&m.attrs) => {
                if let Some((_, items)) = &m.content {
                    let mut inner = module.to_vec();
                    inner.push(m.ident.to_string().into());
                    self.items(items, &inner);
                }
            }
            syn::Item::Struct(s) if !is_test_only(&s.attrs) => {
                let tuple = matches!(s.fields, syn::Fields::Unnamed(_));
                let fields = self.fields(&s.fields);
                self.facts.types.push(TypeDef {
                    name: s.ident.to_string().into(),
                    module: module.to_vec(),
                    kind: TypeKind::Struct,
                    derives: Self::derives(&s.attrs),
                    attrs: self.attrs(&s.attrs),
                    fields,
                    tuple,
                    generics: type_params(&s.generics),
                    alias_of: None,
                    span: self.span(s.ident.span()),
                });
            }
            syn::Item::Enum(e) if !is_test_only(&e.attrs) => {
                let mut fields = vec![];
                for v in &e.variants {
                    fields.extend(self.fields(&v.fields));
                }
                self.facts.types.push(TypeDef {
                    name: e.ident.to_string().into(),
                    module: module.to_vec(),
                    kind: TypeKind::Enum,
                    derives: Self::derives(&e.attrs),
                    attrs: self.attrs(&e.attrs),
                    fields: exact(fields),
                    tuple: false,
                    generics: type_params(&e.generics),
                    alias_of: None,
                    span: self.span(e.ident.span()),
                });
            }
            syn::Item::Type(t) => {
                self.facts.types.push(TypeDef {
                    name: t.ident.to_string().into(),
                    module: module.to_vec(),
                    kind: TypeKind::Alias,
                    derives: vec![],
                    attrs: vec![],
                    fields: vec![],
                    tuple: false,
                    generics: type_params(&t.generics),
                    alias_of: Some(TypeRef::from_syn(&t.ty, self.sp)),
                    span: self.span(t.ident.span()),
                });
            }
            syn::Item::Const(c) => {
                let value = self.expr(&c.expr);
                self.facts.consts.push(ConstDef {
                    module: module.to_vec(),
                    name: c.ident.to_string().into(),
                    value,
                    span: self.span(c.ident.span()),
                });
            }
            syn::Item::Static(s) => {
                let value = self.expr(&s.expr);
                self.facts.consts.push(ConstDef {
                    module: module.to_vec(),
                    name: s.ident.to_string().into(),
                    value,
                    span: self.span(s.ident.span()),
                });
            }
            syn::Item::Use(u) => {
                let mut prefix = vec![];
                self.use_tree(&u.tree, &mut prefix, module);
            }
            syn::Item::Trait(t) => {
                for it in &t.items {
                    if let syn::TraitItem::Fn(f) = it {
                        if let Some(block) = &f.default {
                            let inherited = syn::Visibility::Inherited;
                            let (first, last) =
                                super::bounds::function(&f.attrs, &inherited, &f.sig, block);
                            let whole = self.sp.span_between(first, last);
                            let idx = self.function(
                                &f.sig,
                                block,
                                &f.attrs,
                                module,
                                Some(t.ident.to_string().into()),
                                None,
                                whole,
                            );
                            self.facts.fns[idx as usize].public = true;
                        }
                    }
                }
            }
            _ => {}
        }
    }

    fn use_tree(&mut self, tree: &syn::UseTree, prefix: &mut Vec<Name>, module: &[Name]) {
        match tree {
            syn::UseTree::Path(p) => {
                prefix.push(p.ident.to_string().into());
                self.use_tree(&p.tree, prefix, module);
                prefix.pop();
            }
            syn::UseTree::Name(n) => {
                let name: Name = n.ident.to_string().into();
                let mut path = prefix.clone();
                let alias = if name == "self" {
                    prefix.last().cloned().unwrap_or_default()
                } else {
                    path.push(name);
                    name
                };
                self.facts.uses.push(UseDef {
                    module: module.to_vec(),
                    alias,
                    path,
                    eager: false,
                    at: 0,
                });
            }
            syn::UseTree::Rename(r) => {
                let mut path = prefix.clone();
                if r.ident != "self" {
                    path.push(r.ident.to_string().into());
                }
                self.facts.uses.push(UseDef {
                    module: module.to_vec(),
                    alias: r.rename.to_string().into(),
                    path,
                    eager: false,
                    at: 0,
                });
            }
            syn::UseTree::Glob(_) => self.facts.uses.push(UseDef {
                module: module.to_vec(),
                alias: "*".into(),
                path: prefix.clone(),
                eager: false,
                at: 0,
            }),
            syn::UseTree::Group(g) => {
                for t in &g.items {
                    self.use_tree(t, prefix, module);
                }
            }
        }
    }

    fn fields(&self, fields: &syn::Fields) -> Vec<FieldDef> {
        fields
            .iter()
            .enumerate()
            .map(|(i, f)| FieldDef {
                name: f
                    .ident
                    .as_ref()
                    .map(|i| i.to_string())
                    .unwrap_or_else(|| i.to_string())
                    .into(),
                ty: TypeRef::from_syn(&f.ty, self.sp),
                attrs: self.attrs(&f.attrs),
                span: self.span(f.span()),
                default: None,
            })
            .collect_exact()
    }

    #[allow(clippy::too_many_arguments)]
    fn function(
        &mut self,
        sig: &syn::Signature,
        block: &syn::Block,
        attrs: &[syn::Attribute],
        module: &[Name],
        self_ty: Option<Name>,
        trait_name: Option<Name>,
        item_span: Span,
    ) -> u32 {
        let params = sig
            .inputs
            .iter()
            .map(|arg| match arg {
                syn::FnArg::Receiver(r) => Param {
                    pat: Pat {
                        bindings: vec!["self".into()],
                        wrapper: None,
                        text: "self".into(),
                    },
                    ty: None,
                    span: self.span(r.span()),
                    default: None,
                },
                syn::FnArg::Typed(t) => Param {
                    pat: self.pat(&t.pat),
                    ty: Some(TypeRef::from_syn(&t.ty, self.sp)),
                    span: self.span(t.span()),
                    default: None,
                },
            })
            .collect_exact();
        let ret = match &sig.output {
            syn::ReturnType::Type(_, t) => Some(TypeRef::from_syn(t, self.sp)),
            syn::ReturnType::Default => None,
        };
        let saved = std::mem::replace(&mut self.cur_module, module.to_vec());
        let body = self.block(block);
        self.cur_module = saved;
        let calls = collect_calls(&body, self.sp);
        let def = FnDef {
            name: sig.ident.to_string().into(),
            module: module.to_vec(),
            self_ty,
            trait_name,
            is_async: sig.asyncness.is_some(),
            is_closure: false,
            public: false,
            params,
            ret,
            body,
            attrs: self.attrs(attrs),
            span: self.span(sig.ident.span()),
            item_span,
            calls,
        };
        self.facts.fns.push(def);
        self.facts.fns.len() as u32 - 1
    }

    fn pat(&self, pat: &syn::Pat) -> Pat {
        let mut bindings = vec![];
        collect_bindings(pat, &mut bindings);
        let bindings = exact(bindings);
        let wrapper = match strip_pat_type(pat) {
            syn::Pat::TupleStruct(ts) => {
                ts.path.segments.last().map(|s| s.ident.to_string().into())
            }
            _ => None,
        };
        Pat {
            bindings,
            wrapper,
            text: self.sp.text_of(self.span(pat.span()), 200),
        }
    }

    fn block(&mut self, block: &syn::Block) -> Block {
        let mut stmts = Vec::with_capacity(block.stmts.len());
        for stmt in &block.stmts {
            match stmt {
                syn::Stmt::Local(local) => {
                    let (pat, ty) = match &local.pat {
                        syn::Pat::Type(pt) => {
                            (self.pat(&pt.pat), Some(TypeRef::from_syn(&pt.ty, self.sp)))
                        }
                        p => (self.pat(p), None),
                    };
                    let init = local.init.as_ref().map(|i| self.expr(&i.expr));
                    let els = local
                        .init
                        .as_ref()
                        .and_then(|i| i.diverge.as_ref())
                        .map(|(_, e)| Block {
                            stmts: Box::new([Stmt::Expr {
                                expr: self.expr(e),
                                semi: false,
                            }]),
                        });
                    stmts.push(Stmt::Let(Box::new(Let {
                        pat,
                        ty,
                        init,
                        els,
                        span: {
                            let (first, last) = super::bounds::local(local);
                            self.sp.span_between(first, last)
                        },
                    })));
                }
                syn::Stmt::Item(item) => {
                    // Items nested in a body are still items of the module.
                    let module = self.current_module_hint();
                    self.item(item, &module);
                }
                syn::Stmt::Expr(e, semi) => stmts.push(Stmt::Expr {
                    expr: self.expr(e),
                    semi: semi.is_some(),
                }),
                syn::Stmt::Macro(m) => stmts.push(Stmt::Expr {
                    expr: self.mac(&m.mac),
                    semi: m.semi_token.is_some(),
                }),
            }
        }
        Block {
            stmts: stmts.into_boxed_slice(),
        }
    }

    fn current_module_hint(&self) -> Vec<Name> {
        self.cur_module.clone()
    }

    fn mac(&mut self, mac: &syn::Macro) -> Expr {
        let (first, last) = super::bounds::mac(mac);
        let span = self.sp.span_between(first, last);
        let path = mac
            .path
            .segments
            .iter()
            .map(|s| s.ident.to_string().into())
            .collect_exact();
        let args = mac
            .parse_body_with(Punctuated::<syn::Expr, syn::Token![,]>::parse_terminated)
            .map(|list| list.iter().map(|e| self.expr(e)).collect_exact())
            .unwrap_or_default();
        let mut tokens = compact(&mac.tokens.to_string());
        tokens.truncate(tokens.floor_char_boundary_compat(2000));
        Expr::Macro(Box::new(MacroCall {
            path,
            args,
            tokens,
            span,
        }))
    }

    fn exprs<'e, L>(&mut self, list: L) -> Vec<Expr>
    where
        L: IntoIterator<Item = &'e syn::Expr>,
        L::IntoIter: ExactSizeIterator,
    {
        list.into_iter().map(|e| self.expr(e)).collect_exact()
    }

    fn expr(&mut self, e: &syn::Expr) -> Expr {
        if self.depth > MAX_DEPTH {
            return Expr::Unknown {
                span: self.expr_span(e),
            };
        }
        self.depth += 1;
        let out = self.expr_inner(e);
        self.depth -= 1;
        out
    }

    fn expr_inner(&mut self, e: &syn::Expr) -> Expr {
        let span = self.expr_span(e);
        match e {
            syn::Expr::Lit(l) => match lit(&l.lit) {
                Some(lit) => Expr::Lit { lit, span },
                None => Expr::Unknown { span },
            },
            syn::Expr::Path(p) => {
                let segs = p
                    .path
                    .segments
                    .iter()
                    .map(|s| s.ident.to_string().into())
                    .collect();
                let generics = p
                    .path
                    .segments
                    .iter()
                    .flat_map(|s| super::types::generic_args(&s.arguments, self.sp))
                    .collect();
                Expr::Path {
                    segs,
                    generics,
                    span,
                }
            }
            syn::Expr::Call(c) => Expr::Call {
                func: Box::new(self.expr(&c.func)),
                args: self.exprs(&c.args),
                span,
            },
            syn::Expr::MethodCall(_) => self.method_chain(e),
            syn::Expr::Macro(m) => self.mac(&m.mac),
            syn::Expr::Field(f) => Expr::Field {
                base: Box::new(self.expr(&f.base)),
                name: match &f.member {
                    syn::Member::Named(i) => i.to_string().into(),
                    syn::Member::Unnamed(i) => i.index.to_string().into(),
                },
                span,
            },
            syn::Expr::Index(i) => Expr::Index {
                base: Box::new(self.expr(&i.expr)),
                index: Box::new(self.expr(&i.index)),
                span,
            },
            syn::Expr::Tuple(t) => Expr::Tuple {
                items: self.exprs(&t.elems),
                span,
            },
            syn::Expr::Array(a) => Expr::Array {
                items: self.exprs(&a.elems),
                span,
            },
            syn::Expr::Repeat(r) => Expr::Array {
                items: vec![self.expr(&r.expr)],
                span,
            },
            syn::Expr::Struct(s) => Expr::Struct {
                path: s
                    .path
                    .segments
                    .iter()
                    .map(|s| s.ident.to_string().into())
                    .collect(),
                fields: s
                    .fields
                    .iter()
                    .map(|f| {
                        let name = match &f.member {
                            syn::Member::Named(i) => i.to_string().into(),
                            syn::Member::Unnamed(i) => i.index.to_string().into(),
                        };
                        (name, self.expr(&f.expr))
                    })
                    .collect(),
                span,
            },
            syn::Expr::Closure(c) => self.closure(c, span),
            syn::Expr::Block(b) => Expr::Block {
                block: self.block(&b.block),
                is_async: false,
                span,
            },
            syn::Expr::Async(a) => Expr::Block {
                block: self.block(&a.block),
                is_async: true,
                span,
            },
            syn::Expr::Unsafe(u) => Expr::Block {
                block: self.block(&u.block),
                is_async: false,
                span,
            },
            syn::Expr::TryBlock(t) => Expr::Block {
                block: self.block(&t.block),
                is_async: false,
                span,
            },
            syn::Expr::Const(c) => Expr::Block {
                block: self.block(&c.block),
                is_async: false,
                span,
            },
            syn::Expr::If(i) => Expr::If {
                cond: Box::new(self.expr(&i.cond)),
                then: self.block(&i.then_branch),
                els: i.else_branch.as_ref().map(|(_, e)| Box::new(self.expr(e))),
                span,
            },
            syn::Expr::Match(m) => Expr::Match {
                scrutinee: Box::new(self.expr(&m.expr)),
                arms: m.arms.iter().map(|a| self.expr(&a.body)).collect(),
                span,
            },
            syn::Expr::While(w) => Expr::Loop {
                pat: None,
                head: Some(Box::new(self.expr(&w.cond))),
                body: self.block(&w.body),
                span,
            },
            syn::Expr::ForLoop(f) => Expr::Loop {
                pat: Some(Box::new(self.pat(&f.pat))),
                head: Some(Box::new(self.expr(&f.expr))),
                body: self.block(&f.body),
                span,
            },
            syn::Expr::Loop(l) => Expr::Loop {
                pat: None,
                head: None,
                body: self.block(&l.body),
                span,
            },
            syn::Expr::Let(l) => Expr::LetCond {
                pat: Box::new(self.pat(&l.pat)),
                expr: Box::new(self.expr(&l.expr)),
                span,
            },
            syn::Expr::Try(t) => Expr::Try {
                inner: Box::new(self.expr(&t.expr)),
                span,
            },
            // Transparent wrappers: their value is their operand's.
            syn::Expr::Await(a) => self.expr(&a.base),
            syn::Expr::Paren(p) => self.expr(&p.expr),
            syn::Expr::Group(g) => self.expr(&g.expr),
            syn::Expr::Reference(r) => self.expr(&r.expr),
            syn::Expr::Cast(c) => self.expr(&c.expr),
            syn::Expr::Unary(u) => match u.op {
                syn::UnOp::Deref(_) => self.expr(&u.expr),
                _ => Expr::Unary {
                    op: u.op.to_token_stream().to_string().into(),
                    expr: Box::new(self.expr(&u.expr)),
                    span,
                },
            },
            syn::Expr::Binary(b) => Expr::Binary {
                op: b.op.to_token_stream().to_string().into(),
                lhs: Box::new(self.expr(&b.left)),
                rhs: Box::new(self.expr(&b.right)),
                span,
            },
            syn::Expr::Assign(a) => Expr::Assign {
                target: Box::new(self.expr(&a.left)),
                value: Box::new(self.expr(&a.right)),
                span,
            },
            syn::Expr::Return(r) => Expr::Return {
                value: r.expr.as_ref().map(|e| Box::new(self.expr(e))),
                span,
            },
            syn::Expr::Break(b) => match &b.expr {
                Some(e) => self.expr(e),
                None => Expr::Unknown { span },
            },
            _ => Expr::Unknown { span },
        }
    }

    /// Builder chains (`Router::new().route(..).route(..)…`) can be hundreds of calls long: they are
    /// lowered link by link, so only real nesting counts towards the depth limit.
    fn method_chain(&mut self, e: &syn::Expr) -> Expr {
        const MAX_LINKS: usize = 4096;
        let mut links: Vec<&syn::Expr> = vec![];
        let mut cur = e;
        loop {
            match cur {
                syn::Expr::MethodCall(m) if links.len() < MAX_LINKS => {
                    links.push(cur);
                    cur = &m.receiver;
                }
                syn::Expr::Await(a) if links.len() < MAX_LINKS => cur = &a.base,
                syn::Expr::Paren(p) if links.len() < MAX_LINKS => cur = &p.expr,
                syn::Expr::Try(t) if links.len() < MAX_LINKS => {
                    links.push(cur);
                    cur = &t.expr;
                }
                _ => break,
            }
        }
        let mut out = self.expr(cur);
        for link in links.into_iter().rev() {
            let span = self.expr_span(link);
            out = match link {
                syn::Expr::MethodCall(m) => Expr::Method(Box::new(MethodCall {
                    recv: out,
                    name: m.method.to_string().into(),
                    turbofish: m
                        .turbofish
                        .as_ref()
                        .map(|t| super::types::type_args(t, self.sp))
                        .unwrap_or_default(),
                    args: self.exprs(&m.args),
                    span,
                    name_span: self.span(m.method.span()),
                })),
                _ => Expr::Try {
                    inner: Box::new(out),
                    span,
                },
            };
        }
        out
    }

    fn closure(&mut self, c: &syn::ExprClosure, span: Span) -> Expr {
        let params = c
            .inputs
            .iter()
            .map(|p| {
                let (pat, ty) = match p {
                    syn::Pat::Type(pt) => {
                        (self.pat(&pt.pat), Some(TypeRef::from_syn(&pt.ty, self.sp)))
                    }
                    p => (self.pat(p), None),
                };
                Param {
                    pat,
                    ty,
                    span: self.span(p.span()),
                    default: None,
                }
            })
            .collect_exact();
        let body_expr = self.expr(&c.body);
        let (is_async, body) = match body_expr {
            Expr::Block {
                block, is_async, ..
            } => (is_async || c.asyncness.is_some(), block),
            other => (
                c.asyncness.is_some(),
                Block {
                    stmts: Box::new([Stmt::Expr {
                        expr: other,
                        semi: false,
                    }]),
                },
            ),
        };
        let calls = collect_calls(&body, self.sp);
        let module = self.current_module_hint();
        let head = self.span(c.or1_token.span());
        self.facts.fns.push(FnDef {
            name: format!("{{closure@{}:{}}}", span.line, span.col).into(),
            module,
            self_ty: None,
            trait_name: None,
            is_async,
            is_closure: true,
            public: false,
            params,
            ret: None,
            body,
            attrs: vec![],
            span: head,
            item_span: span,
            calls,
        });
        Expr::Closure {
            fn_index: self.facts.fns.len() as u32 - 1,
            span,
        }
    }
}

fn type_params(g: &syn::Generics) -> Vec<Name> {
    exact(
        g.type_params()
            .map(|p| p.ident.to_string().into())
            .collect(),
    )
}

fn strip_pat_type(p: &syn::Pat) -> &syn::Pat {
    match p {
        syn::Pat::Type(t) => strip_pat_type(&t.pat),
        syn::Pat::Reference(r) => strip_pat_type(&r.pat),
        syn::Pat::Paren(p) => strip_pat_type(&p.pat),
        other => other,
    }
}

fn collect_bindings(p: &syn::Pat, out: &mut Vec<Name>) {
    match p {
        syn::Pat::Ident(i) => {
            out.push(i.ident.to_string().into());
            if let Some((_, sub)) = &i.subpat {
                collect_bindings(sub, out);
            }
        }
        syn::Pat::Tuple(t) => t.elems.iter().for_each(|e| collect_bindings(e, out)),
        syn::Pat::TupleStruct(t) => t.elems.iter().for_each(|e| collect_bindings(e, out)),
        syn::Pat::Struct(s) => s.fields.iter().for_each(|f| collect_bindings(&f.pat, out)),
        syn::Pat::Type(t) => collect_bindings(&t.pat, out),
        syn::Pat::Reference(r) => collect_bindings(&r.pat, out),
        syn::Pat::Paren(p) => collect_bindings(&p.pat, out),
        syn::Pat::Slice(s) => s.elems.iter().for_each(|e| collect_bindings(e, out)),
        syn::Pat::Or(o) => {
            if let Some(first) = o.cases.first() {
                collect_bindings(first, out)
            }
        }
        _ => {}
    }
}

fn lit(l: &syn::Lit) -> Option<Lit> {
    Some(match l {
        syn::Lit::Str(s) => Lit::Str(s.value()),
        syn::Lit::ByteStr(b) => Lit::Bytes(b.value()),
        syn::Lit::CStr(c) => Lit::Bytes(c.value().into_bytes()),
        syn::Lit::Int(i) => Lit::Int(i.base10_parse::<i64>().ok()?),
        syn::Lit::Float(f) => Lit::Float(f.base10_parse::<f64>().ok()?),
        syn::Lit::Bool(b) => Lit::Bool(b.value),
        syn::Lit::Char(c) => Lit::Char(c.value()),
        syn::Lit::Byte(b) => Lit::Int(i64::from(b.value())),
        _ => return None,
    })
}

/// `str::floor_char_boundary` is unstable; this is the same for our truncations.
trait FloorBoundary {
    fn floor_char_boundary_compat(&self, i: usize) -> usize;
}

impl FloorBoundary for String {
    fn floor_char_boundary_compat(&self, i: usize) -> usize {
        if i >= self.len() {
            return self.len();
        }
        let mut i = i;
        while !self.is_char_boundary(i) {
            i -= 1;
        }
        i
    }
}

#[cfg(test)]
mod tests {
    use super::cfg_is_test_only;

    #[test]
    fn test_only_cfg_predicates() {
        for p in [
            "test",
            "all(test,unix)",
            "any(test,feature=\"testing\")",
            "any(test,feature=\"mocks\",feature=\"test-utils\")",
            "all(unix,any(test,feature=\"test-support\"))",
        ] {
            assert!(cfg_is_test_only(p), "{p}");
        }
        for p in [
            "not(test)",
            "any(test,unix)",
            "feature=\"test\"",
            "unix",
            "any(unix,windows)",
            "any(test,feature=\"extern-freeradius-module\")",
        ] {
            assert!(!cfg_is_test_only(p), "{p}");
        }
    }
}
