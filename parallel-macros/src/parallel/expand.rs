//! The code of a valid `#[parallel]` function: the function, its registry entry and its checks.

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote};
use syn::Ident;
use syn::spanned::Spanned;

use super::parse::{ParallelFn, Registration};
use crate::blame::require_crossing;
use crate::options::Options;
use crate::probe;
use crate::runtime_path::RuntimePath;

impl ParallelFn {
    /// Whether the function is unregistered for borrowing data (rather than for being generic,
    /// `unsafe` or variadic, or taking `impl Trait`).
    fn borrows(&self) -> bool {
        let sig = &self.func.sig;
        if !sig.generics.params.is_empty()
            || matches!(sig.safety, syn::Safety::Unsafe(_))
            || sig.variadic.is_some()
        {
            return false;
        }
        let types = sig
            .inputs
            .iter()
            .filter_map(|arg| match arg {
                syn::FnArg::Typed(typed) => Some(&*typed.ty),
                syn::FnArg::Receiver(_) => None,
            })
            .chain(match &sig.output {
                syn::ReturnType::Type(_, ty) => Some(&**ty),
                syn::ReturnType::Default => None,
            });
        let mut borrows = false;
        for ty in types {
            if let Some(found) = super::parse::borrow_or_impl(ty) {
                if found.to_string().starts_with("impl") {
                    return false;
                }
                borrows = true;
            }
        }
        borrows
    }

    /// The function, unchanged; the hidden trait that carries its options and its process
    /// proof to the macros (see `probe`); and, for a function with one signature, its entry in
    /// the process registry.
    pub(crate) fn expand(&self, options: &Options) -> TokenStream {
        let func = &self.func;
        let runtime = options.runtime();
        let private = runtime.private();
        let vis = &func.vis;
        let name = &func.sig.ident;
        let defaults_method = probe::defaults_method(name);
        let task_method = probe::task_method(name);
        let spread_method = probe::spread_method(name);
        let spread = self
            .registration
            .as_ref()
            .and_then(|registration| registration.spread(name, &runtime))
            .unwrap_or_else(|| quote!(-> #private::NoSpread { #private::NoSpread }));
        let defaults = options.to_runtime(&runtime);
        let doc = format!("The `#[parallel]` options of [`{name}`]: read by the macros.");
        let (proof, entry) = match &self.registration {
            Some(registration) => (quote!(#private::IsTask), registration.entry(name, &runtime)),
            None if self.borrows() => (quote!(#private::BorrowingTask), TokenStream::new()),
            None => (quote!(#private::GenericTask), TokenStream::new()),
        };
        let checks = match (&self.registration, options.is_process()) {
            (Some(registration), true) => registration.checks(&runtime),
            _ => TokenStream::new(),
        };
        quote! {
            #func

            #[doc = #doc]
            #[doc(hidden)]
            #[allow(non_camel_case_types, dead_code)]
            #vis trait #name {
                #[doc(hidden)]
                #[inline]
                fn #defaults_method(&self) -> #private::Options {
                    #defaults
                }
                #[doc(hidden)]
                #[inline]
                fn #task_method(&self) -> #proof {
                    #proof
                }
                #[doc(hidden)]
                #[inline]
                fn #spread_method(&self) #spread
            }

            impl #name for #private::Probe {}

            #entry
            #checks
        }
    }
}

impl Registration {
    /// The return type and body of the hidden trait's spread method, for a function of two or
    /// more arguments whose types hold no reference: the function as a `fn((A, B)) -> R`.
    fn spread(&self, name: &syn::Ident, _runtime: &RuntimePath) -> Option<TokenStream> {
        let borrows = |ty: &syn::Type| quote!(#ty).to_string().contains('&');
        if self.args.len() < 2 || self.args.iter().any(borrows) || borrows(&self.output) {
            return None;
        }
        let args = &self.args;
        let output = &self.output;
        let names: Vec<_> = (0..args.len())
            .map(|i| format_ident!("arg{}", i, span = Span::mixed_site()))
            .collect();
        Some(quote! {
            -> fn((#(#args,)*)) -> #output {
                |(#(#names,)*)| #name(#(#names),*)
            }
        })
    }

    /// The registry entry: a stable identity, and an invoker chosen for the function's types.
    fn entry(&self, name: &syn::Ident, runtime: &RuntimePath) -> TokenStream {
        let private = runtime.private();
        let linkme = quote!(#private::linkme);
        let args = &self.args;
        let output = &self.output;
        let names: Vec<_> = (0..args.len())
            .map(|i| format_ident!("arg{}", i, span = Span::mixed_site()))
            .collect();
        // Hygienic parameter names: a function named `calls` must not meet a parameter `calls`.
        let (calls, out, values) = (
            Ident::new("calls", Span::mixed_site()),
            Ident::new("out", Span::mixed_site()),
            Ident::new("args", Span::mixed_site()),
        );
        quote! {
            const _: () = {
                fn __parallel_invoke(
                    #calls: #private::registry::Calls<'_>,
                    #out: &mut #private::registry::OutcomesBuilder<'_>,
                ) -> ::core::result::Result<(), ::std::string::String> {
                    #[allow(unused_imports)]
                    use #private::registry::{ViaNothing as _, ViaSerde as _};
                    (&#private::TypeOf::<fn((#(#args,)*)) -> #output>::new())
                        .__parallel_invoke(#calls, #out, |(#(#names,)*)| #name(#(#names),*))
                }

                fn __parallel_encode(
                    #values: &mut dyn ::core::any::Any,
                    #out: &mut #private::registry::ArgsOut<'_>,
                ) -> bool {
                    #[allow(unused_imports)]
                    use #private::registry::{ViaNothing as _, ViaSerde as _};
                    (&#private::TypeOf::<fn((#(#args,)*)) -> #output>::new())
                        .__parallel_encode()(#values, #out)
                }

                fn __parallel_value() -> #private::registry::ValueCodec {
                    #[allow(unused_imports)]
                    use #private::registry::{ViaSpreadValue as _, ViaWholeValue as _};
                    (&#private::TypeOf::<#output>::new()).__parallel_value()
                }

                fn __parallel_type_id() -> ::core::any::TypeId {
                    #private::type_id_of(&#name)
                }

                fn __parallel_address() -> usize {
                    (#name as fn(#(#args),*) -> #output) as usize
                }

                #[#linkme::distributed_slice(#private::registry::TASKS)]
                #[linkme(crate = #linkme)]
                static __PARALLEL_ENTRY: #private::registry::Entry = #private::registry::Entry {
                    id: ::core::concat!(
                        ::core::module_path!(), "::", ::core::stringify!(#name),
                        "@", ::core::file!(), ":", ::core::line!(), ":", ::core::column!()
                    ),
                    name: ::core::stringify!(#name),
                    type_id: __parallel_type_id,
                    address: __parallel_address,
                    invoke: __parallel_invoke,
                    encode: __parallel_encode,
                    value: __parallel_value,
                };
            };
        }
    }

    /// For `backend = process`: each argument and the result must be serde data, checked where
    /// they are written.
    fn checks(&self, runtime: &RuntimePath) -> TokenStream {
        let private = runtime.private();
        let checks =
            self.args.iter().chain(Some(&self.output)).map(|ty| {
                require_crossing(quote!(#private::TypeOf::<#ty>::new()), runtime, ty.span())
            });
        quote! {
            const _: () = {
                #[allow(dead_code)]
                fn __parallel_check() {
                    #(#checks)*
                }
            };
        }
    }
}
