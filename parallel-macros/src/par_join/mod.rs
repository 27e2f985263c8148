//! `par_join!(a, b, …; options)`: parse -> validate -> expand.

mod expand;
mod parse;
mod validate;

use proc_macro2::TokenStream;
use quote::quote;

use parse::ParJoin;

pub(crate) fn entry(input: TokenStream) -> TokenStream {
    let call: ParJoin = match syn::parse2(input) {
        Ok(call) => call,
        Err(err) => {
            let err = err.into_compile_error();
            return quote!({ #err });
        }
    };
    match call.validate() {
        Ok(join) => call.expand(join),
        // Keep the caller's types checking: the sequential tuple, next to the error.
        Err(err) => {
            let err = err.into_compile_error();
            let sequential = call.sequential();
            quote!({ #err #sequential })
        }
    }
}
