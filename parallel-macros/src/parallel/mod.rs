//! `#[parallel(options)]` on a function: parse -> validate -> expand.

mod expand;
mod loops;
mod parse;
mod placement;
mod validate;

use proc_macro2::TokenStream;

use crate::options;
use parse::ParallelFn;

pub(crate) fn entry(args: TokenStream, item: TokenStream) -> TokenStream {
    if let Some(output) = marked_expression(&item) {
        return output;
    }
    match try_entry(args, item.clone()) {
        Ok(output) => output,
        // Keep the user's function so callers and the IDE still see it.
        Err(err) => {
            let mut output = item;
            output.extend(err.into_compile_error());
            output
        }
    }
}

/// `#[parallel]` on a loop (or another expression) outside a `#[parallel]` function, where rustc
/// calls the macro on the expression itself (after its own errors: attributes on expressions are
/// unstable). The explanation goes inside a block with the expression, run as written, so that
/// rustc shows it instead of discarding what follows the expression.
fn marked_expression(item: &TokenStream) -> Option<TokenStream> {
    if syn::parse2::<syn::Item>(item.clone()).is_ok() {
        return None;
    }
    let expr = syn::parse2::<syn::Expr>(item.clone()).ok()?;
    let message = match &expr {
        syn::Expr::ForLoop(_) => {
            "a marked `for` loop runs in parallel only inside a `#[parallel]` function: add \
             `#[parallel]` to the function that holds this loop, which finds and rewrites it"
        }
        _ => "#[parallel] marks functions, and `for` loops inside a `#[parallel]` function",
    };
    let error = syn::Error::new_spanned(&expr, message).into_compile_error();
    Some(quote::quote!({ #error; #expr }))
}

fn try_entry(args: TokenStream, item: TokenStream) -> syn::Result<TokenStream> {
    let func = syn::parse2::<ParallelFn>(item).and_then(|func| func.validate().map(|()| func));
    let (options, options_error) = options::parse_attribute(args);
    // Report a wrong item and wrong options together.
    let mut func = match (func, &options_error) {
        (Ok(func), _) => func,
        (Err(mut err), Some(options_error)) => {
            err.combine(options_error.clone());
            return Err(err);
        }
        (Err(err), None) => return Err(err),
    };
    let (options, options_error) = match options_error {
        Some(err) => (options, Some(err)),
        None => match options.reject_process_only(false) {
            Ok(()) => (options, None),
            Err(err) => (options.fallback(), Some(err)),
        },
    };
    if options.is_process() {
        func.validate_process()?;
    }
    // A loop that cannot run in parallel stays sequential, its marker gone, beside its error:
    // the rest of the function still compiles.
    let loop_errors = loops::rewrite(
        &mut func.func.block,
        &func.func.sig.output,
        &options.runtime(),
    );
    // With wrong options the function expands anyway, with the defaults: a caller elsewhere
    // (`par_map!(f, xs; backend = process)`) then finds its hidden trait and registry entry,
    // and the only error is the options' own (thiserror's `fallback.rs` does the same).
    let mut output = func.expand(&options);
    for err in options_error.into_iter().chain(loop_errors) {
        output.extend(err.into_compile_error());
    }
    Ok(output)
}
