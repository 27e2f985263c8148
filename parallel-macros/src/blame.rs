//! Checks that blame the user's tokens: generated code whose every token carries the location
//! of the user's tokens, so that a failed bound is reported there and not on the whole macro.

use proc_macro2::{Group, Ident, Span, TokenStream, TokenTree};
use quote::quote;

use crate::runtime_path::RuntimePath;

/// `tokens`, each located at `at` and resolved as the macro's own (hygienic) tokens.
pub(crate) fn respan(tokens: TokenStream, at: Span) -> TokenStream {
    let span = Span::mixed_site().located_at(at);
    tokens
        .into_iter()
        .map(|token| match token {
            TokenTree::Group(group) => {
                let mut respanned = Group::new(group.delimiter(), respan(group.stream(), at));
                respanned.set_span(span);
                TokenTree::Group(respanned)
            }
            mut other => {
                other.set_span(span);
                other
            }
        })
        .collect()
}

/// A statement checking that the values a `TypeOf` expression describes can cross to a worker
/// process, blamed on `at`: one error (`` `T` cannot cross to a worker process ``) per mistake.
pub(crate) fn require_crossing(data: TokenStream, runtime: &RuntimePath, at: Span) -> TokenStream {
    let private = runtime.private();
    respan(
        quote! {{
            #[allow(unused_imports)]
            use #private::{ViaNotSerde as _, ViaSerdeData as _};
            let probe = #data;
            #private::Crosses::require(&probe, &(&probe).__parallel_data());
        }},
        at,
    )
}

/// Statements checking that the probe's `proof` (a variable) says the function can run in a
/// worker process, blamed on `at`, the function's path: one per way to miss it, of which at most
/// one fails ("this function cannot run in a worker process: it has no `#[parallel]`").
pub(crate) fn require_task(proof: &Ident, runtime: &RuntimePath, at: Span) -> TokenStream {
    let private = runtime.private();
    respan(
        quote! {
            #private::ParallelTask::require(&#proof);
            #private::ConcreteTask::require(&#proof);
            #private::OwningTask::require(&#proof);
        },
        at,
    )
}
