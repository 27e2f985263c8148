//! `#[parallel(options)]` on a function: parse -> validate -> expand.

mod expand;
mod loops;
mod parse;
mod validate;

use proc_macro2::TokenStream;

use crate::options::{self, Options};
use parse::ParallelFn;

pub(crate) fn entry(args: TokenStream, item: TokenStream) -> TokenStream {
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

fn try_entry(args: TokenStream, item: TokenStream) -> syn::Result<TokenStream> {
    let func = syn::parse2::<ParallelFn>(item).and_then(|func| func.validate().map(|()| func));
    let args: syn::Result<Options> = options::parse_attribute(args);
    // Report a wrong item and wrong options together.
    let (mut func, args) = match (func, args) {
        (Ok(func), Ok(args)) => (func, args),
        (Err(mut a), Err(b)) => {
            a.combine(b);
            return Err(a);
        }
        (Err(err), _) | (_, Err(err)) => return Err(err),
    };
    args.reject_process_only(false)?;
    if args.is_process() {
        func.validate_process()?;
    }
    // A loop that cannot run in parallel stays sequential, its marker gone, beside its error:
    // the rest of the function still compiles.
    let loop_errors = loops::rewrite(&mut func.func.block, &func.func.sig.output, &args.runtime());
    let mut output = func.expand(&args);
    if let Some(errors) = loop_errors {
        output.extend(errors.into_compile_error());
    }
    Ok(output)
}
