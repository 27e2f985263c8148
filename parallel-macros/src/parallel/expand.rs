use proc_macro2::TokenStream;
use quote::quote;

use super::parse::ParallelFn;
use crate::options::Options;
use crate::probe;

impl ParallelFn {
    /// The function, unchanged, and the hidden trait that carries its options to the macros
    /// (see `probe`).
    pub(crate) fn expand(&self, options: &Options) -> TokenStream {
        let ParallelFn::Fn(func) = self else {
            unreachable!("validate rejects every other item");
        };
        let runtime = options.runtime();
        let private = runtime.private();
        let vis = &func.vis;
        let name = &func.sig.ident;
        let method = probe::defaults_method(name);
        let defaults = options.to_runtime(&runtime);
        let doc = format!("The `#[parallel]` options of [`{name}`]: read by the macros.");
        quote! {
            #func

            #[doc = #doc]
            #[doc(hidden)]
            #[allow(non_camel_case_types, dead_code)]
            #vis trait #name {
                #[doc(hidden)]
                #[inline]
                fn #method(&self) -> #private::Options {
                    #defaults
                }
            }

            impl #name for #private::Probe {}
        }
    }
}
