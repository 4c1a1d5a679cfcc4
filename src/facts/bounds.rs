//! The first and last token of an expression, read from the tokens that delimit it.
//!
//! syn's `Spanned::span` prints the whole expression back to tokens to find them: lowering asks for the
//! span of every expression, so each token was printed once per enclosing expression (quadratic in a
//! long builder chain) and spans cost as much as parsing. An expression ends at its closing delimiter or
//! at the end of its last operand, and starts at its first operand or keyword; shapes not covered here
//! (and any expression with attributes) fall back to syn.

use proc_macro2::Span;
use syn::spanned::Spanned;
use syn::Expr;

/// The spans of the first and last tokens of `e`.
pub fn of(e: &Expr) -> (Span, Span) {
    match (first(e), last(e)) {
        (Some(a), Some(b)) => (a, b),
        _ => {
            let s = e.span();
            (s, s)
        }
    }
}

/// A function item or method: from its first attribute (or its visibility, or signature) to its closing
/// brace.
pub fn function(
    attrs: &[syn::Attribute],
    vis: &syn::Visibility,
    sig: &syn::Signature,
    block: &syn::Block,
) -> (Span, Span) {
    let first = first_outer(attrs)
        .map(|a| a.pound_token.span)
        .or(match vis {
            syn::Visibility::Public(p) => Some(p.span),
            syn::Visibility::Restricted(r) => Some(r.pub_token.span),
            syn::Visibility::Inherited => None,
        })
        .unwrap_or_else(|| signature_start(sig));
    (first, block.brace_token.span.close())
}

/// An `impl` block, from its first attribute to its closing brace.
pub fn implementation(imp: &syn::ItemImpl) -> (Span, Span) {
    let first = match (first_outer(&imp.attrs), &imp.defaultness, &imp.unsafety) {
        (Some(a), _, _) => a.pound_token.span,
        (None, Some(d), _) => d.span,
        (None, None, Some(u)) => u.span,
        (None, None, None) => imp.impl_token.span,
    };
    (first, imp.brace_token.span.close())
}

/// Inner attributes (`#![allow(..)]` in a body) follow the outer ones in `attrs` and sit inside the item.
fn first_outer(attrs: &[syn::Attribute]) -> Option<&syn::Attribute> {
    attrs
        .iter()
        .find(|a| matches!(a.style, syn::AttrStyle::Outer))
}

/// A macro invocation, from its path to its closing delimiter.
pub fn mac(m: &syn::Macro) -> (Span, Span) {
    let first = match (&m.path.leading_colon, m.path.segments.first()) {
        (Some(c), _) => c.spans[0],
        (None, Some(s)) => s.ident.span(),
        (None, None) => m.bang_token.span,
    };
    (first, m.delimiter.span().close())
}

/// A `let` statement, from `let` to its semicolon.
pub fn local(l: &syn::Local) -> (Span, Span) {
    match first_outer(&l.attrs) {
        Some(a) => (a.pound_token.span, l.semi_token.span),
        None => (l.let_token.span, l.semi_token.span),
    }
}

fn signature_start(sig: &syn::Signature) -> Span {
    if let Some(c) = &sig.constness {
        c.span
    } else if let Some(a) = &sig.asyncness {
        a.span
    } else if let Some(u) = &sig.unsafety {
        u.span
    } else if let Some(abi) = &sig.abi {
        abi.extern_token.span
    } else {
        sig.fn_token.span
    }
}

fn first(e: &Expr) -> Option<Span> {
    if !attrs(e).is_empty() {
        return None;
    }
    Some(match e {
        Expr::MethodCall(m) => first(&m.receiver)?,
        Expr::Call(c) => first(&c.func)?,
        Expr::Field(f) => first(&f.base)?,
        Expr::Index(i) => first(&i.expr)?,
        Expr::Try(t) => first(&t.expr)?,
        Expr::Await(a) => first(&a.base)?,
        Expr::Binary(b) => first(&b.left)?,
        Expr::Assign(a) => first(&a.left)?,
        Expr::Cast(c) => first(&c.expr)?,
        Expr::Lit(l) => l.lit.span(),
        Expr::Path(p) if p.qself.is_none() => match &p.path.leading_colon {
            Some(c) => c.spans[0],
            None => p.path.segments.first()?.ident.span(),
        },
        Expr::Macro(m) => match &m.mac.path.leading_colon {
            Some(c) => c.spans[0],
            None => m.mac.path.segments.first()?.ident.span(),
        },
        Expr::Struct(s) if s.qself.is_none() && s.path.leading_colon.is_none() => {
            s.path.segments.first()?.ident.span()
        }
        Expr::Paren(p) => p.paren_token.span.open(),
        Expr::Tuple(t) => t.paren_token.span.open(),
        Expr::Array(a) => a.bracket_token.span.open(),
        Expr::Block(b) if b.label.is_none() => b.block.brace_token.span.open(),
        Expr::If(i) => i.if_token.span,
        Expr::Match(m) => m.match_token.span,
        Expr::ForLoop(f) if f.label.is_none() => f.for_token.span,
        Expr::While(w) if w.label.is_none() => w.while_token.span,
        Expr::Loop(l) if l.label.is_none() => l.loop_token.span,
        Expr::Unary(u) => u.op.span(),
        Expr::Reference(r) => r.and_token.span,
        Expr::Return(r) => r.return_token.span,
        Expr::Let(l) => l.let_token.span,
        Expr::Async(a) => a.async_token.span,
        Expr::Unsafe(u) => u.unsafe_token.span,
        Expr::Closure(c)
            if c.lifetimes.is_none() && c.constness.is_none() && c.movability.is_none() =>
        {
            match (&c.asyncness, &c.capture) {
                (Some(a), _) => a.span,
                (None, Some(m)) => m.span,
                (None, None) => c.or1_token.span,
            }
        }
        _ => return None,
    })
}

fn last(e: &Expr) -> Option<Span> {
    Some(match e {
        Expr::MethodCall(m) => m.paren_token.span.close(),
        Expr::Call(c) => c.paren_token.span.close(),
        Expr::Macro(m) => m.mac.delimiter.span().close(),
        Expr::Field(f) => match &f.member {
            syn::Member::Named(i) => i.span(),
            syn::Member::Unnamed(i) => i.span,
        },
        Expr::Index(i) => i.bracket_token.span.close(),
        Expr::Try(t) => t.question_token.span,
        Expr::Await(a) => a.await_token.span,
        Expr::Binary(b) => last(&b.right)?,
        Expr::Assign(a) => last(&a.right)?,
        Expr::Unary(u) => last(&u.expr)?,
        Expr::Reference(r) => last(&r.expr)?,
        Expr::Let(l) => last(&l.expr)?,
        Expr::Closure(c) => last(&c.body)?,
        Expr::Return(r) => match &r.expr {
            Some(v) => last(v)?,
            None => r.return_token.span,
        },
        Expr::Lit(l) => l.lit.span(),
        Expr::Path(p) => {
            let seg = p.path.segments.last()?;
            match &seg.arguments {
                syn::PathArguments::None => seg.ident.span(),
                syn::PathArguments::AngleBracketed(a) => a.gt_token.span,
                syn::PathArguments::Parenthesized(_) => return None,
            }
        }
        Expr::Paren(p) => p.paren_token.span.close(),
        Expr::Tuple(t) => t.paren_token.span.close(),
        Expr::Array(a) => a.bracket_token.span.close(),
        Expr::Struct(s) => s.brace_token.span.close(),
        Expr::Block(b) => b.block.brace_token.span.close(),
        Expr::Async(a) => a.block.brace_token.span.close(),
        Expr::Unsafe(u) => u.block.brace_token.span.close(),
        Expr::If(i) => match &i.else_branch {
            Some((_, e)) => last(e)?,
            None => i.then_branch.brace_token.span.close(),
        },
        Expr::Match(m) => m.brace_token.span.close(),
        Expr::ForLoop(f) => f.body.brace_token.span.close(),
        Expr::While(w) => w.body.brace_token.span.close(),
        Expr::Loop(l) => l.body.brace_token.span.close(),
        _ => return None,
    })
}

fn attrs(e: &Expr) -> &[syn::Attribute] {
    match e {
        Expr::Array(x) => &x.attrs,
        Expr::Assign(x) => &x.attrs,
        Expr::Async(x) => &x.attrs,
        Expr::Await(x) => &x.attrs,
        Expr::Binary(x) => &x.attrs,
        Expr::Block(x) => &x.attrs,
        Expr::Call(x) => &x.attrs,
        Expr::Cast(x) => &x.attrs,
        Expr::Closure(x) => &x.attrs,
        Expr::Field(x) => &x.attrs,
        Expr::ForLoop(x) => &x.attrs,
        Expr::If(x) => &x.attrs,
        Expr::Index(x) => &x.attrs,
        Expr::Let(x) => &x.attrs,
        Expr::Lit(x) => &x.attrs,
        Expr::Loop(x) => &x.attrs,
        Expr::Macro(x) => &x.attrs,
        Expr::Match(x) => &x.attrs,
        Expr::MethodCall(x) => &x.attrs,
        Expr::Paren(x) => &x.attrs,
        Expr::Path(x) => &x.attrs,
        Expr::Reference(x) => &x.attrs,
        Expr::Return(x) => &x.attrs,
        Expr::Struct(x) => &x.attrs,
        Expr::Try(x) => &x.attrs,
        Expr::Tuple(x) => &x.attrs,
        Expr::Unary(x) => &x.attrs,
        Expr::Unsafe(x) => &x.attrs,
        Expr::While(x) => &x.attrs,
        _ => &[],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every expression of a varied source gets the span syn computes.
    #[test]
    fn bounds_match_syn() {
        let text = r#"
            fn f() {
                let app = Router::new().route("/a", get(a)).layer(x.y[0].z?).nest("/b", b::<T>());
                let s = S { a: 1, b: vec![1, 2] };
                let c = move |x: u8| async move { x.await? + -y * (1, 2).0 };
                if let Some(v) = &w { return v as u32; } else if z { loop { break; } } else { unsafe { q } };
                match m { _ => ::std::mem::drop(a) };
                for i in 0..n { while t { *u = !v; } }
                r = ["a"; 3]; return;
                Vec::<u8>::new(); x.f::<u8>()
            }
        "#;
        let file = syn::parse_file(text).unwrap();
        let mut n = 0;
        struct V<'a>(&'a mut usize);
        impl<'ast> syn::visit::Visit<'ast> for V<'_> {
            fn visit_expr(&mut self, e: &'ast Expr) {
                let whole = e.span();
                let (a, b) = of(e);
                assert_eq!(
                    (a.start(), b.end()),
                    (whole.start(), whole.end()),
                    "{}",
                    quote::ToTokens::to_token_stream(e)
                );
                *self.0 += 1;
                syn::visit::visit_expr(self, e);
            }
        }
        syn::visit::Visit::visit_file(&mut V(&mut n), &file);
        assert!(n > 60, "{n}");
    }

    fn same(whole: Span, (a, b): (Span, Span)) {
        assert_eq!((a.start(), b.end()), (whole.start(), whole.end()));
    }

    /// Items, `let` statements and macro calls too.
    #[test]
    fn item_bounds_match_syn() {
        let text = r#"
            /// Documented.
            #[inline]
            pub(crate) async fn a() { #[allow(unused)] let x = 1; let y: u8 = 2; }
            unsafe fn b() { println!("{}", 1); }
            #[derive(Debug)] struct S;
            unsafe impl<T> Tr for S { fn c(&self) { vec![1]; } pub fn d() {} }
            impl S { const fn e() {} extern "C" fn f() {} }
            trait Q { /// Doc.
                fn g() { ::log::info!("x"); } }
            fn h() { #![allow(unused)] let z = 1; }
            impl S { #![allow(dead_code)] fn k() {} }
        "#;
        let file = syn::parse_file(text).unwrap();
        struct V(usize);
        impl<'ast> syn::visit::Visit<'ast> for V {
            fn visit_item_fn(&mut self, f: &'ast syn::ItemFn) {
                same(f.span(), function(&f.attrs, &f.vis, &f.sig, &f.block));
                self.0 += 1;
                syn::visit::visit_item_fn(self, f);
            }
            fn visit_impl_item_fn(&mut self, f: &'ast syn::ImplItemFn) {
                same(f.span(), function(&f.attrs, &f.vis, &f.sig, &f.block));
                self.0 += 1;
                syn::visit::visit_impl_item_fn(self, f);
            }
            fn visit_trait_item_fn(&mut self, f: &'ast syn::TraitItemFn) {
                let block = f.default.as_ref().unwrap();
                same(
                    f.span(),
                    function(&f.attrs, &syn::Visibility::Inherited, &f.sig, block),
                );
                self.0 += 1;
                syn::visit::visit_trait_item_fn(self, f);
            }
            fn visit_item_impl(&mut self, i: &'ast syn::ItemImpl) {
                same(i.span(), implementation(i));
                self.0 += 1;
                syn::visit::visit_item_impl(self, i);
            }
            fn visit_local(&mut self, l: &'ast syn::Local) {
                same(l.span(), local(l));
                self.0 += 1;
                syn::visit::visit_local(self, l);
            }
            fn visit_macro(&mut self, m: &'ast syn::Macro) {
                same(m.span(), mac(m));
                self.0 += 1;
            }
        }
        let mut v = V(0);
        syn::visit::Visit::visit_file(&mut v, &file);
        assert_eq!(v.0, 18);
    }
}
