//! The code of a valid `#[parallel] for`: the body as a closure over per-worker partials.

use std::collections::HashSet;

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote};
use syn::visit_mut::{self, VisitMut};
use syn::{BinOp, Expr, ExprForLoop, Ident, Item, Lifetime};

use super::analyze::{Use, classify, min_max_of, reaches_loop};
use super::reduction::{MinMax, Reduction, ReductionKind};
use super::validate::LoopPlan;
use crate::options::Options;
use crate::runtime_path::RuntimePath;

impl LoopPlan {
    /// The loop as a call of the runtime's `par_for`: the body, rewritten, runs once per item
    /// on partials of the reductions, which are combined and applied after the loop; a `?`'s
    /// exit returns from the function.
    pub(super) fn expand(
        &self,
        for_loop: &ExprForLoop,
        options: &Options,
        runtime: &RuntimePath,
    ) -> Expr {
        let private = runtime.private();
        let step = match &self.output {
            Some(output) => quote!(<#output as #private::LoopExit>::Step),
            None => quote!(()),
        };
        let continue_value = quote!(<#step as #private::LoopStep>::CONTINUE);
        let mut body = for_loop.body.clone();
        BodyRewrite {
            bound: &self.bound,
            nested: Vec::new(),
            closures: 0,
            private: private.clone(),
            continue_value: continue_value.clone(),
        }
        .visit_block_mut(&mut body);

        // The first collected variable is pushed onto through the runtime's sink (written in
        // place where it is a `Vec` and the input's length is known); every other reduction is
        // a field of the partials.
        let placed = self
            .reductions
            .iter()
            .position(|r| matches!(r.kind, ReductionKind::Collect));
        let all_names: Vec<&Ident> = self.reductions.iter().map(|r| &r.name).collect();
        let all_types: Vec<Ident> = (0..self.reductions.len())
            .map(|i| format_ident!("type{}", i, span = Span::mixed_site()))
            .collect();
        let (reductions, types): (Vec<&Reduction>, Vec<&Ident>) = self
            .reductions
            .iter()
            .zip(&all_types)
            .enumerate()
            .filter(|(i, _)| Some(*i) != placed)
            .map(|(_, pair)| pair)
            .unzip();
        let (acc, left, right, outcome, exit, items, call, kind, sink) = (
            hygienic("acc"),
            hygienic("left"),
            hygienic("right"),
            hygienic("outcome"),
            hygienic("exit"),
            hygienic("items"),
            hygienic("call"),
            hygienic("kind"),
            hygienic("sink"),
        );
        let (target, place, sink_param, sink_binding) = match placed {
            Some(i) => {
                let (name, ty) = (&self.reductions[i].name, &all_types[i]);
                (
                    quote!(&mut #name),
                    quote!((&#ty).__parallel_place()),
                    quote!(#sink: &mut #private::Sink<'_, _>),
                    quote!(let #name = #sink;),
                )
            }
            None => (
                quote!(&mut ()),
                quote!(#private::NoPlace),
                quote!(_: &mut #private::Sink<'_, ()>),
                TokenStream::new(),
            ),
        };
        let parts: Vec<Ident> = (0..reductions.len())
            .map(|i| format_ident!("part{}", i, span = Span::mixed_site()))
            .collect();
        let fields: Vec<syn::Index> = (0..reductions.len()).map(syn::Index::from).collect();
        let identities = reductions
            .iter()
            .zip(&types)
            .map(|(r, ty)| identity(r, ty, &private));
        let combines = reductions
            .iter()
            .zip(&fields)
            .map(|(r, field)| combine(r, field, (&left, &right), &private));
        let applies = reductions
            .iter()
            .zip(&parts)
            .map(|(r, part)| apply(r, part, &private));
        let on_exit = match &self.output {
            Some(output) => quote!(return <#output as #private::LoopExit>::exit(#exit)),
            None => quote!(match #exit {}),
        };
        let pat = &for_loop.pat;
        let expr = &for_loop.expr;
        let call_options = options.to_runtime(runtime);
        let combine_partials = if reductions.is_empty() {
            quote!(|_: &mut (), _: ()| {})
        } else {
            quote!(|#left: &mut _, #right| { #(#combines)* })
        };
        let partials_binding = if reductions.is_empty() {
            quote!(let _ = #acc;)
        } else {
            let bindings = reductions
                .iter()
                .zip(&fields)
                .map(|(r, field)| binding(r, field, &acc));
            quote!(#(#bindings)*)
        };
        syn::parse_quote! {{
            #[allow(unused_imports)]
            use #private::{
                ViaExtendPlace as _, ViaIndexed as _, ViaIter as _, ViaUnindexed as _,
                ViaVecPlace as _,
            };
            #(let #all_types = #private::type_of(&#all_names);)*
            let #items = #expr;
            let #call = #private::MapCall(#items);
            let #kind = (&&&#call).__parallel_input();
            let #outcome = #private::par_for(
                #call_options,
                #call.0,
                #kind,
                #target,
                #place,
                || (#(#identities,)*),
                |#acc: &mut _, #sink_param, #pat| -> #step {
                    #partials_binding
                    #sink_binding
                    #body;
                    #continue_value
                },
                #combine_partials,
            );
            match #outcome {
                ::core::result::Result::Ok((#(#parts,)*)) => {
                    #(#applies)*
                }
                ::core::result::Result::Err(#exit) => #on_exit,
            }
        }}
    }
}

/// A name the user's code cannot see.
fn hygienic(name: &str) -> Ident {
    Ident::new(name, Span::mixed_site())
}

/// A partial's starting value, of the reduced variable's type `ty`.
fn identity(reduction: &Reduction, ty: &Ident, private: &TokenStream) -> TokenStream {
    match reduction.kind {
        ReductionKind::MinMax(_) => quote!(#private::none(#ty)),
        ReductionKind::Sum(_) => quote!(#private::zero(#ty)),
        ReductionKind::Collect => quote!(#private::segments(#ty)),
    }
}

/// Folds the right partial's `field` into the left's: differences collect as sums.
fn combine(
    reduction: &Reduction,
    field: &syn::Index,
    (left, right): (&Ident, &Ident),
    private: &TokenStream,
) -> TokenStream {
    match &reduction.kind {
        ReductionKind::Sum(BinOp::SubAssign(_)) => quote!(#left.#field += #right.#field;),
        ReductionKind::Sum(op) => quote!(#left.#field #op #right.#field;),
        ReductionKind::MinMax(min_max) => {
            let choose = min_max_closure(min_max);
            quote!(#left.#field = #private::merge_option(#left.#field.take(), #right.#field, #choose);)
        }
        ReductionKind::Collect => {
            quote!(#private::merge_segments(&mut #left.#field, #right.#field);)
        }
    }
}

/// Applies the combined partial `part` to the variable, after the loop.
fn apply(reduction: &Reduction, part: &Ident, private: &TokenStream) -> TokenStream {
    let name = &reduction.name;
    match &reduction.kind {
        ReductionKind::Sum(op) => quote!(#name #op #part;),
        ReductionKind::MinMax(min_max) => {
            let value = hygienic("value");
            let picked = match min_max {
                MinMax::Method(method) => quote!(#name.#method(#value)),
                MinMax::Function(path) => quote!(#path(#name, #value)),
            };
            quote!(if let ::core::option::Option::Some(#value) = #part { #name = #picked; })
        }
        ReductionKind::Collect => quote!(#private::extend_segments(&mut #name, #part);),
    }
}

/// Inside the loop, the reduction's name is its partial: disjoint fields of the partials.
fn binding(reduction: &Reduction, field: &syn::Index, acc: &Ident) -> TokenStream {
    let name = &reduction.name;
    match reduction.kind {
        ReductionKind::Collect => quote!(let #name = &mut #acc.#field.current;),
        ReductionKind::Sum(_) | ReductionKind::MinMax(_) => quote!(let #name = &mut #acc.#field;),
    }
}

/// The body rewritten: reduction updates act on the partials, and `continue` ends the closure.
struct BodyRewrite<'a> {
    bound: &'a HashSet<String>,
    nested: Vec<Option<Lifetime>>,
    closures: usize,
    private: TokenStream,
    continue_value: TokenStream,
}

impl BodyRewrite<'_> {
    fn reaches_loop(&self, label: Option<&Lifetime>) -> bool {
        reaches_loop(&self.nested, label)
    }

    fn replacement(&self, expr: &Expr) -> Option<Expr> {
        let Use::Reduce { name, kind, .. } = classify(expr, self.bound) else {
            return None;
        };
        let private = &self.private;
        let tokens = match (kind, expr) {
            // Differences collect as sums: the partial of `x -= e` is `Σe`, subtracted after.
            (ReductionKind::Sum(BinOp::SubAssign(_)), Expr::Binary(binary)) => {
                let value = &binary.right;
                quote!(*#name += #value)
            }
            (ReductionKind::Sum(op), Expr::Binary(binary)) => {
                let value = &binary.right;
                quote!(*#name #op #value)
            }
            (ReductionKind::MinMax(min_max), Expr::Assign(assign)) => {
                let value = match min_max_of(name, &assign.right) {
                    Some((_, value)) => value,
                    None => return None,
                };
                let choose = min_max_closure(&min_max);
                quote!(#private::fold_option(#name, #value, #choose))
            }
            (ReductionKind::Collect, Expr::MethodCall(_)) => return None,
            _ => return None,
        };
        syn::parse2(tokens).ok()
    }
}

fn min_max_closure(min_max: &MinMax) -> TokenStream {
    let (a, b) = (
        Ident::new("a", Span::mixed_site()),
        Ident::new("b", Span::mixed_site()),
    );
    match min_max {
        MinMax::Method(method) => quote!(|#a, #b| #a.#method(#b)),
        MinMax::Function(path) => quote!(|#a, #b| #path(#a, #b)),
    }
}

impl VisitMut for BodyRewrite<'_> {
    fn visit_item_mut(&mut self, _: &mut Item) {}

    fn visit_expr_mut(&mut self, expr: &mut Expr) {
        if let Some(mut replacement) = self.replacement(expr) {
            // The values may hold rewritable parts too (a `continue` in a block, say).
            visit_mut::visit_expr_mut(self, &mut replacement);
            *expr = replacement;
            return;
        }
        match expr {
            Expr::Continue(jump)
                if self.closures == 0 && self.reaches_loop(jump.label.as_ref()) =>
            {
                let value = &self.continue_value;
                *expr = syn::parse_quote!(return #value);
            }
            Expr::ForLoop(inner) => {
                self.visit_expr_mut(&mut inner.expr);
                self.nested
                    .push(inner.label.as_ref().map(|l| l.name.clone()));
                self.visit_block_mut(&mut inner.body);
                self.nested.pop();
            }
            Expr::While(inner) => {
                self.visit_expr_mut(&mut inner.cond);
                self.nested
                    .push(inner.label.as_ref().map(|l| l.name.clone()));
                self.visit_block_mut(&mut inner.body);
                self.nested.pop();
            }
            Expr::Loop(inner) => {
                self.nested
                    .push(inner.label.as_ref().map(|l| l.name.clone()));
                self.visit_block_mut(&mut inner.body);
                self.nested.pop();
            }
            Expr::Closure(_) | Expr::Async(_) => {
                self.closures += 1;
                visit_mut::visit_expr_mut(self, expr);
                self.closures -= 1;
            }
            _ => visit_mut::visit_expr_mut(self, expr),
        }
    }
}
