//! Python expressions to the facts' expression language.

use super::stmts::{dotted, Lowerer};
use crate::facts::{collect_calls, Block, Expr, FnDef, Lit, MacroCall, MethodCall, Name, Stmt};
use crate::source::{Span, Spanner};
use ruff_python_ast as ast;
use ruff_text_size::Ranged;

/// Deeper expressions are cut off: nothing worth following is nested that deep.
const MAX_DEPTH: usize = 120;
/// Longer `and`/`or` and comparison chains are not lowered: each link would be one level deeper.
const MAX_CHAIN: usize = 64;

impl Lowerer<'_> {
    pub(super) fn expr(&mut self, e: &ast::Expr) -> Expr {
        let span = self.lines.of(e);
        if self.depth > MAX_DEPTH {
            return Expr::Unknown { span };
        }
        self.depth += 1;
        let out = self.expr_inner(e, span);
        self.depth -= 1;
        out
    }

    fn exprs(&mut self, list: &[ast::Expr]) -> Vec<Expr> {
        list.iter().map(|e| self.expr(e)).collect()
    }

    fn expr_inner(&mut self, e: &ast::Expr, span: Span) -> Expr {
        let lit = |lit: Lit| Expr::Lit { lit, span };
        match e {
            ast::Expr::Name(n) => path(vec![Name::new(n.id.as_str())], span),
            ast::Expr::Attribute(a) => match self.module_path(e) {
                Some(segs) => path(segs, span),
                None => Expr::Field {
                    base: Box::new(self.expr(&a.value)),
                    name: Name::new(a.attr.id.as_str()),
                    span,
                },
            },
            ast::Expr::Call(c) => self.call(c, span),
            ast::Expr::StringLiteral(s) => lit(Lit::Str(s.value.to_str().to_string())),
            ast::Expr::BytesLiteral(b) => lit(Lit::Bytes(b.value.bytes().collect())),
            ast::Expr::NumberLiteral(n) => match &n.value {
                ast::Number::Int(i) => match i.as_i64() {
                    Some(v) => lit(Lit::Int(v)),
                    None => Expr::Unknown { span },
                },
                ast::Number::Float(f) => lit(Lit::Float(*f)),
                ast::Number::Complex { .. } => Expr::Unknown { span },
            },
            ast::Expr::BooleanLiteral(b) => lit(Lit::Bool(b.value)),
            ast::Expr::NoneLiteral(_) => path(vec![Name::new("None")], span),
            ast::Expr::FString(f) => self.fstring(f, span),
            ast::Expr::BinOp(b) => self.binary(b.op.as_str(), &b.left, &b.right, span),
            ast::Expr::BoolOp(b) if b.values.len() > MAX_CHAIN => Expr::Unknown { span },
            ast::Expr::Compare(c) if c.comparators.len() > MAX_CHAIN => Expr::Unknown { span },
            ast::Expr::BoolOp(b) => {
                let op = match b.op {
                    ast::BoolOp::And => "&&",
                    ast::BoolOp::Or => "||",
                };
                let mut values = b.values.iter();
                let first = values
                    .next()
                    .map_or(Expr::Unknown { span }, |v| self.expr(v));
                values.fold(first, |lhs, v| Expr::Binary {
                    op: Name::new(op),
                    lhs: Box::new(lhs),
                    rhs: Box::new(self.expr(v)),
                    span,
                })
            }
            ast::Expr::UnaryOp(u) => Expr::Unary {
                op: Name::new(match u.op {
                    ast::UnaryOp::Not => "!",
                    other => other.as_str(),
                }),
                expr: Box::new(self.expr(&u.operand)),
                span,
            },
            ast::Expr::Compare(c) => {
                let mut lhs = self.expr(&c.left);
                for (op, rhs) in c.ops.iter().zip(c.comparators.iter()) {
                    lhs = Expr::Binary {
                        op: Name::new(op.as_str()),
                        lhs: Box::new(lhs),
                        rhs: Box::new(self.expr(rhs)),
                        span,
                    };
                }
                lhs
            }
            ast::Expr::If(i) => Expr::If {
                cond: Box::new(self.expr(&i.test)),
                then: tail_block(self.expr(&i.body)),
                els: Some(Box::new(self.expr(&i.orelse))),
                span,
            },
            ast::Expr::Named(n) => Expr::Assign {
                target: Box::new(self.expr(&n.target)),
                value: Box::new(self.expr(&n.value)),
                span,
            },
            ast::Expr::Lambda(l) => self.lambda(l, span),
            ast::Expr::Dict(d) => Expr::Array {
                items: d
                    .items
                    .iter()
                    .map(|item| match &item.key {
                        Some(k) => Expr::Tuple {
                            items: vec![self.expr(k), self.expr(&item.value)],
                            span: self.lines.span(
                                item.key.as_ref().map_or(item.value.range(), |k| {
                                    k.range().cover(item.value.range())
                                }),
                            ),
                        },
                        None => self.expr(&item.value),
                    })
                    .collect(),
                span,
            },
            ast::Expr::List(l) => Expr::Array {
                items: self.exprs(&l.elts),
                span,
            },
            ast::Expr::Set(s) => Expr::Array {
                items: self.exprs(&s.elts),
                span,
            },
            ast::Expr::Tuple(t) => Expr::Tuple {
                items: self.exprs(&t.elts),
                span,
            },
            ast::Expr::ListComp(c) => self.comprehension(&[&c.elt], &c.generators, span),
            ast::Expr::SetComp(c) => self.comprehension(&[&c.elt], &c.generators, span),
            ast::Expr::Generator(c) => self.comprehension(&[&c.elt], &c.generators, span),
            ast::Expr::DictComp(c) => {
                let key: Vec<&ast::Expr> = c.key.iter().map(|k| &**k).collect();
                let mut parts = key;
                parts.push(&c.value);
                self.comprehension(&parts, &c.generators, span)
            }
            ast::Expr::Await(a) => self.expr(&a.value),
            ast::Expr::Yield(y) => match &y.value {
                Some(v) => self.expr(v),
                None => Expr::Unknown { span },
            },
            ast::Expr::YieldFrom(y) => self.expr(&y.value),
            ast::Expr::Starred(s) => self.expr(&s.value),
            ast::Expr::Subscript(s) => Expr::Index {
                base: Box::new(self.expr(&s.value)),
                index: Box::new(self.expr(&s.slice)),
                span,
            },
            ast::Expr::TString(_)
            | ast::Expr::EllipsisLiteral(_)
            | ast::Expr::Slice(_)
            | ast::Expr::IpyEscapeCommand(_) => Expr::Unknown { span },
        }
    }

    fn binary(&mut self, op: &str, lhs: &ast::Expr, rhs: &ast::Expr, span: Span) -> Expr {
        Expr::Binary {
            op: Name::new(op),
            lhs: Box::new(self.expr(lhs)),
            rhs: Box::new(self.expr(rhs)),
            span,
        }
    }

    /// `a.b.c` where `a` is a module an `import` bound: the path `a::b::c`.
    fn module_path(&self, e: &ast::Expr) -> Option<Vec<Name>> {
        let text = dotted(e)?;
        let segs: Vec<Name> = text.split('.').map(Name::new).collect();
        self.modules.contains(&segs[0]).then_some(segs)
    }

    fn call(&mut self, c: &ast::ExprCall, span: Span) -> Expr {
        let mut args = self.exprs(&c.arguments.args);
        for k in &c.arguments.keywords {
            let value = self.expr(&k.value);
            args.push(match &k.arg {
                Some(name) => Expr::Keyword {
                    name: Name::new(name.id.as_str()),
                    value: Box::new(value),
                    span: self.lines.of(k),
                },
                // `**options`: what it holds is not known by name.
                None => value,
            });
        }
        match &*c.func {
            ast::Expr::Attribute(a) if self.module_path(&c.func).is_none() => {
                Expr::Method(Box::new(MethodCall {
                    recv: self.expr(&a.value),
                    name: Name::new(a.attr.id.as_str()),
                    turbofish: vec![],
                    args,
                    span,
                    name_span: self.lines.of(&a.attr),
                }))
            }
            f => Expr::Call {
                func: Box::new(self.expr(f)),
                args,
                span,
            },
        }
    }

    /// `f"SELECT {x} FROM t"` is `format!("SELECT {} FROM t", x)`.
    fn fstring(&mut self, f: &ast::ExprFString, span: Span) -> Expr {
        let mut template = String::new();
        let mut args = vec![];
        let escape = |s: &str| s.replace('{', "{{").replace('}', "}}");
        for part in f.value.iter() {
            match part {
                ast::FStringPart::Literal(l) => template.push_str(&escape(&l.value)),
                ast::FStringPart::FString(fs) => {
                    for el in fs.elements.iter() {
                        match el {
                            ast::InterpolatedStringElement::Literal(l) => {
                                template.push_str(&escape(&l.value))
                            }
                            ast::InterpolatedStringElement::Interpolation(i) => {
                                template.push_str("{}");
                                args.push(self.expr(&i.expression));
                            }
                        }
                    }
                }
            }
        }
        args.insert(
            0,
            Expr::Lit {
                lit: Lit::Str(template),
                span,
            },
        );
        Expr::Macro(Box::new(MacroCall {
            path: vec![Name::new("format")],
            args,
            tokens: String::new(),
            span,
        }))
    }

    /// A comprehension is the list of what it computes and what it iterates over.
    fn comprehension(
        &mut self,
        parts: &[&ast::Expr],
        generators: &[ast::Comprehension],
        span: Span,
    ) -> Expr {
        let mut items: Vec<Expr> = parts.iter().map(|p| self.expr(p)).collect();
        for g in generators {
            items.push(self.expr(&g.iter));
            items.extend(g.ifs.iter().map(|i| self.expr(i)));
        }
        Expr::Array { items, span }
    }

    fn lambda(&mut self, l: &ast::ExprLambda, span: Span) -> Expr {
        let params = l
            .parameters
            .as_ref()
            .map(|p| self.params(p))
            .unwrap_or_default();
        let body = tail_block(self.expr(&l.body));
        let sp = Spanner::new(self.lines.text);
        let calls = collect_calls(&body, &sp);
        let fn_index = self.push_fn(FnDef {
            name: format!("{{closure@{}:{}}}", span.line, span.col).into(),
            module: self.module.clone(),
            self_ty: None,
            trait_name: None,
            is_async: false,
            is_closure: true,
            public: false,
            params,
            ret: None,
            body,
            attrs: vec![],
            span,
            item_span: span,
            calls,
        });
        Expr::Closure { fn_index, span }
    }
}

fn path(segs: Vec<Name>, span: Span) -> Expr {
    Expr::Path {
        segs: segs.into_boxed_slice(),
        generics: Box::new([]),
        span,
    }
}

/// A block whose value is `e`.
fn tail_block(e: Expr) -> Block {
    Block {
        stmts: Box::new([Stmt::Expr {
            expr: e,
            semi: false,
        }]),
    }
}
