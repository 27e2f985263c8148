//! `par_map!(f, items; options)`: parse -> validate -> expand.

mod expand;
mod parse;
mod validate;

use proc_macro2::TokenStream;

use parse::ParMap;

pub(crate) fn entry(input: TokenStream) -> TokenStream {
    let call: ParMap = match syn::parse2(input) {
        Ok(call) => call,
        // Nothing usable parsed: the error alone, which the compiler types as `!`.
        Err(err) => {
            let err = err.into_compile_error();
            return quote::quote!({ #err });
        }
    };
    match call.validate() {
        Ok(options) => call.expand(Some(options)),
        // Keep the caller's types checking: expand without the options, next to the error.
        Err(err) => {
            let err = err.into_compile_error();
            let fallback = call.expand(None);
            quote::quote!({ #err #fallback })
        }
    }
}
