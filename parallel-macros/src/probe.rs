//! The probe: how the macros find the options and the process registration of a `#[parallel]`
//! function from its path.
//!
//! `#[parallel] fn crunch` also declares a hidden trait named `crunch` (traits live in the type
//! namespace, functions in the value namespace, so the two do not clash). Whatever brings the
//! function into scope, a `use` or a glob, brings the trait too. Its methods, named after the
//! function, return the function's options and the proof that it is registered to run in a
//! worker process. The macros call those methods on a probe value; a fallback trait,
//! implemented one reference further away, answers "no options, not a task" for functions
//! without `#[parallel]`.

use proc_macro2::TokenStream;
use quote::{format_ident, quote};
use syn::ext::IdentExt;
use syn::{Ident, Path, PathArguments};

use crate::runtime_path::RuntimePath;

/// The method of the hidden trait of `#[parallel] fn name` that returns its options.
pub(crate) fn defaults_method(name: &Ident) -> Ident {
    format_ident!("__parallel_defaults_{}", name.unraw())
}

/// The method of the hidden trait of `#[parallel] fn name` that proves its registration.
pub(crate) fn task_method(name: &Ident) -> Ident {
    format_ident!("__parallel_task_{}", name.unraw())
}

/// The method of the hidden trait of `#[parallel] fn name` that gives it as a function of one
/// tuple, for `par_map!` over tuples of its arguments.
pub(crate) fn spread_method(name: &Ident) -> Ident {
    format_ident!("__parallel_spread_{}", name.unraw())
}

/// An expression that is `path`'s function taking its arguments as one tuple (a `fn((A, B)) ->
/// R`), for a `#[parallel]` function of several arguments of owned types; `NoSpread` for every
/// other function.
pub(crate) fn spread(path: &Path, runtime: &RuntimePath) -> TokenStream {
    let private = runtime.private();
    let Some(last) = path.segments.last() else {
        return quote!(#private::NoSpread);
    };
    let spread = spread_method(&last.ident);
    quote! {{
        #[allow(dead_code, non_camel_case_types)]
        trait __ParallelNoSpread {
            fn #spread(&self) -> #private::NoSpread {
                #private::NoSpread
            }
        }
        impl __ParallelNoSpread for &#private::Probe {}
        (&#private::Probe).#spread()
    }}
}

/// An expression of type `(Options, Proof)`: the options of the function `path` names and the
/// proof that it can run in a process (`IsTask`), or no options and `NotTask` when it has no
/// `#[parallel]`.
pub(crate) fn probe(path: &Path, runtime: &RuntimePath) -> TokenStream {
    let private = runtime.private();
    let Some(last) = path.segments.last() else {
        return quote!((#private::Options::new(), #private::NotTask));
    };
    let defaults = defaults_method(&last.ident);
    let task = task_method(&last.ident);
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
        trait __ParallelNotATask {
            fn #defaults(&self) -> #private::Options {
                #private::Options::new()
            }
            fn #task(&self) -> #private::NotTask {
                #private::NotTask
            }
        }
        impl __ParallelNotATask for &#private::Probe {}
        ((&#private::Probe).#defaults(), (&#private::Probe).#task())
    }}
}

/// Whether a path names a function through modules (`jobs::crunch`), so that a `use` of it can
/// bring its `#[parallel]` defaults into scope. Paths through types (`u64::pow`, `Vec::len`) are
/// left alone: a `use` cannot name an associated function.
fn is_module_path(path: &Path) -> bool {
    const PRIMITIVES: &[&str] = &[
        "bool", "char", "str", "u8", "u16", "u32", "u64", "u128", "usize", "i8", "i16", "i32",
        "i64", "i128", "isize", "f32", "f64", "Self",
    ];
    let parents = path.segments.len().saturating_sub(1);
    path.segments.len() > 1
        && path.segments.iter().take(parents).all(|segment| {
            let name = segment.ident.unraw().to_string();
            segment.arguments.is_none()
                && !PRIMITIVES.contains(&name.as_str())
                && !name.starts_with(|c: char| c.is_ascii_uppercase())
        })
}
