//! `#[parallel]` on a `for` loop inside a `#[parallel]` function: the function's attribute
//! finds the marked loops in its body and rewrites each into a call of the runtime's `par_for`.
//!
//! The body becomes a closure run once per item. `continue` ends that closure; `?` makes it
//! return the function's own residual type (so errors convert exactly as the function's `?`
//! would) and stops the loop. Outer variables updated in one of the reduction forms below get
//! one partial per worker, combined in input order after the loop:
//!
//! - `x += e`, `x -= e`, `x |= e`, `x ^= e` (partials start at `Default::default()`);
//! - `x = x.max(e)`, `x = x.min(e)`, `x = max(x, e)`, `x = min(x, e)` (any path to `max`/`min`);
//! - `x.push(e)`, `x.extend(e)` (partials start empty; the result keeps the input's order).
//!   The first such variable is not a partial: the body pushes onto the runtime's `Sink`,
//!   which writes a `Vec` in place where the input's length is known.
//!
//! Every other use of an outer variable that the analysis can see as a mutation is an error
//! that names the supported forms; a reduction variable may not be read inside the loop.
//!
//! Each marked loop goes through `analyze` (what the body does with outer variables), then
//! `validate` (the checks that need the whole loop and the function), then `expand` (the
//! rewritten body and the `par_for` call).

mod analyze;
mod expand;
mod reduction;
mod validate;

use proc_macro2::TokenStream;
use syn::visit_mut::{self, VisitMut};
use syn::{Attribute, Block, Expr, ExprForLoop, Item, ReturnType};

use analyze::is_marker;

use crate::runtime_path::RuntimePath;

/// Rewrites every marked loop in `block`. Loops that cannot be rewritten stay sequential, with
/// their marker removed, and their errors are returned together.
pub(crate) fn rewrite(
    block: &mut Block,
    output: &ReturnType,
    runtime: &RuntimePath,
) -> Option<syn::Error> {
    let mut search = MarkerSearch {
        runtime,
        output,
        closures: 0,
        errors: None,
    };
    search.visit_block_mut(block);
    search.errors
}

/// The walk over the function's body that finds the marked loops and rewrites each.
struct MarkerSearch<'a> {
    runtime: &'a RuntimePath,
    output: &'a ReturnType,
    closures: usize,
    errors: Option<syn::Error>,
}

impl MarkerSearch<'_> {
    /// A marker on something else than a `for` loop: one error on it, and the marker goes, so
    /// that rustc adds none of its own (attributes on expressions are unstable).
    fn reject_markers(&mut self, attrs: &mut Vec<Attribute>, what: &str) {
        while let Some(at) = attrs.iter().position(is_marker) {
            let marker = attrs.remove(at);
            self.push_error(syn::Error::new_spanned(
                marker,
                format!(
                    "only `for` loops can be marked `#[parallel]`, not {what}: write it as \
                     `#[parallel] for item in items {{ … }}`"
                ),
            ));
        }
    }

    fn push_error(&mut self, err: syn::Error) {
        match &mut self.errors {
            Some(errors) => errors.combine(err),
            None => self.errors = Some(err),
        }
    }
}

impl VisitMut for MarkerSearch<'_> {
    /// A nested item is its own: a nested `#[parallel]` function rewrites its own loops.
    fn visit_item_mut(&mut self, _: &mut Item) {}

    fn visit_expr_closure_mut(&mut self, closure: &mut syn::ExprClosure) {
        self.closures += 1;
        visit_mut::visit_expr_closure_mut(self, closure);
        self.closures -= 1;
    }

    fn visit_local_mut(&mut self, local: &mut syn::Local) {
        self.reject_markers(&mut local.attrs, "a `let` statement");
        visit_mut::visit_local_mut(self, local);
    }

    fn visit_expr_mut(&mut self, expr: &mut Expr) {
        if let Some((attrs, what)) = attrs_of_other(expr) {
            self.reject_markers(attrs, what);
        }
        if let Expr::ForLoop(for_loop) = expr
            && let Some(at) = for_loop.attrs.iter().position(is_marker)
        {
            let marker = for_loop.attrs.remove(at);
            match rewrite_loop(&marker, for_loop, self) {
                Ok(parallel) => *expr = parallel,
                Err(err) => {
                    self.push_error(err);
                    let carries_try = match self.output {
                        ReturnType::Type(_, ty) => validate::may_be_fallible(ty),
                        ReturnType::Default => false,
                    };
                    Defuse {
                        private: self.runtime.private(),
                        defuse_try: !carries_try,
                        closures: 0,
                    }
                    .visit_block_mut(&mut for_loop.body);
                }
            }
            return;
        }
        visit_mut::visit_expr_mut(self, expr);
    }
}

/// The attributes of an expression that is not a `for` loop but may carry one, and what it is.
fn attrs_of_other(expr: &mut Expr) -> Option<(&mut Vec<Attribute>, &'static str)> {
    Some(match expr {
        Expr::While(e) => (&mut e.attrs, "a `while` loop"),
        Expr::Loop(e) => (&mut e.attrs, "a `loop`"),
        Expr::Block(e) => (&mut e.attrs, "a block"),
        Expr::If(e) => (&mut e.attrs, "an `if`"),
        Expr::Match(e) => (&mut e.attrs, "a `match`"),
        Expr::Unsafe(e) => (&mut e.attrs, "an `unsafe` block"),
        Expr::Call(e) => (&mut e.attrs, "a call"),
        Expr::MethodCall(e) => (&mut e.attrs, "a method call"),
        Expr::Assign(e) => (&mut e.attrs, "an assignment"),
        Expr::Closure(e) => (&mut e.attrs, "a closure"),
        Expr::Macro(e) => (&mut e.attrs, "a macro call"),
        _ => return None,
    })
}

/// Makes a rejected loop's body compile as a plain sequential loop, so that no error follows
/// the one reported: inner markers go; `.await`, `yield`, and `?` where the function cannot
/// carry it, become placeholders of their type.
struct Defuse {
    private: TokenStream,
    defuse_try: bool,
    closures: usize,
}

impl VisitMut for Defuse {
    fn visit_item_mut(&mut self, _: &mut Item) {}

    fn visit_expr_mut(&mut self, expr: &mut Expr) {
        let closure = matches!(expr, Expr::Closure(_) | Expr::Async(_));
        self.closures += usize::from(closure);
        visit_mut::visit_expr_mut(self, expr);
        self.closures -= usize::from(closure);
        let private = &self.private;
        match expr {
            Expr::Try(tried) if self.defuse_try && self.closures == 0 => {
                let value = &tried.expr;
                *expr = syn::parse_quote!(#private::tried(#value));
            }
            Expr::ForLoop(inner) => inner.attrs.retain(|a| !is_marker(a)),
            Expr::Await(wait) => {
                let future = &wait.base;
                *expr = syn::parse_quote!(#private::awaited(#future));
            }
            Expr::Yield(_) => *expr = syn::parse_quote!(()),
            _ => {}
        }
    }
}

/// One marked loop: analyze, validate, expand. On an error the caller keeps it sequential.
fn rewrite_loop(
    marker: &Attribute,
    for_loop: &ExprForLoop,
    search: &MarkerSearch,
) -> syn::Result<Expr> {
    let options = validate::marker_options(marker)?;
    let runtime = options
        .krate
        .clone()
        .unwrap_or_else(|| search.runtime.clone());
    let analysis = analyze::analyze(for_loop);
    let plan = analysis.validate(marker, search.output, search.closures > 0)?;
    Ok(plan.expand(for_loop, &options, &runtime))
}
