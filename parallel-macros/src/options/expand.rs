//! The options as runtime values: the `Options` the generated code hands to the runtime.

use proc_macro2::TokenStream;
use quote::{ToTokens, quote, quote_spanned};
use syn::spanned::Spanned;

use super::written::{BackendName, Options};
use crate::runtime_path::RuntimePath;

impl Options {
    /// The runtime's `Options` value for these options.
    pub(crate) fn to_runtime(&self, runtime: &RuntimePath) -> TokenStream {
        let private = runtime.private();
        let some_or_none = |value: Option<TokenStream>| match value {
            Some(value) => quote!(::core::option::Option::Some(#value)),
            None => quote!(::core::option::Option::None),
        };
        let backend = some_or_none(self.backend.as_ref().map(|(key, name)| {
            let variant = match name {
                BackendName::Rayon => quote_spanned!(key.span()=> Rayon),
                BackendName::Threads => quote_spanned!(key.span()=> Threads),
                BackendName::Process => quote_spanned!(key.span()=> Process),
                // A macro of the runtime's: `Backend::Mpi` with the `mpi` feature, a compile
                // error that says to enable it without.
                BackendName::Mpi => {
                    // Spanned on the option, so that the error points at it.
                    let private: TokenStream = private
                        .clone()
                        .into_iter()
                        .map(|mut token| {
                            token.set_span(key.span());
                            token
                        })
                        .collect();
                    return quote_spanned!(key.span()=> #private::mpi_backend!());
                }
            };
            quote!(#private::Backend::#variant)
        }));
        let workers = some_or_none(
            self.workers
                .as_ref()
                .map(|(_, value)| quote_spanned!(value.span()=> #private::workers(#value))),
        );
        let chunk = some_or_none(
            self.chunk
                .as_ref()
                .map(|(_, value)| quote_spanned!(value.span()=> #private::chunk(#value))),
        );
        let progress = some_or_none(self.progress.as_ref().map(|(key, value)| match value {
            Some(value) => value.to_token_stream(),
            None => quote_spanned!(key.span()=> true),
        }));
        let timeout = some_or_none(self.timeout.as_ref().map(|(_, v)| v.to_token_stream()));
        let retries = some_or_none(self.retries.as_ref().map(|(_, v)| v.to_token_stream()));
        quote!(#private::options(#backend, #workers, #chunk, #progress, #timeout, #retries))
    }
}
