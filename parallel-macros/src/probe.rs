//! The defaults probe: how `par_map!` finds the options of a `#[parallel]` function.
//!
//! `#[parallel] fn crunch` also declares a hidden trait named `crunch` (traits live in the type
//! namespace, functions in the value namespace, so the two do not clash). Whatever brings the
//! function into scope, a `use` or a glob, brings the trait too. The trait's one method, named
//! after the function, returns its options. The macros call that method on a probe value; a
//! fallback trait, implemented one reference further away, answers "no defaults" for functions
//! without `#[parallel]`, closures that happen to share the name aside.

use proc_macro2::TokenStream;
use quote::{format_ident, quote};
use syn::ext::IdentExt;
use syn::{Ident, Path, PathArguments};

use crate::options::is_module_path;
use crate::runtime_path::RuntimePath;

/// The method of the hidden trait of `#[parallel] fn name`.
pub(crate) fn defaults_method(name: &Ident) -> Ident {
    format_ident!("__parallel_defaults_{}", name.unraw())
}

/// An expression of the runtime's `Options` type: the defaults of the function `path` names,
/// or no options when it has no `#[parallel]`.
pub(crate) fn defaults_of(path: &Path, runtime: &RuntimePath) -> TokenStream {
    let private = runtime.private();
    let Some(last) = path.segments.last() else {
        return quote!(#private::Options::new());
    };
    let method = defaults_method(&last.ident);
    let import = is_module_path(path).then(|| {
        let mut path = path.clone();
        if let Some(last) = path.segments.last_mut() {
            last.arguments = PathArguments::None;
        }
        quote!(#[allow(unused_imports)] use #path as _;)
    });
    quote! {{
        #import
        #[allow(dead_code, non_camel_case_types)]
        trait __ParallelNoDefaults {
            fn #method(&self) -> #private::Options {
                #private::Options::new()
            }
        }
        impl __ParallelNoDefaults for &#private::Probe {}
        (&#private::Probe).#method()
    }}
}
