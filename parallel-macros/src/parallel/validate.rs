//! Checks of a `#[parallel]` function: what any backend needs, and what the process backend needs.

use quote::ToTokens;
use syn::visit::Visit;
use syn::{FnArg, ItemFn};

use super::parse::{ParallelFn, borrow_or_impl};
use super::placement::{self, Container};

impl ParallelFn {
    /// Checks that the function is one `#[parallel]` can mark: free, and not `async`.
    pub(crate) fn validate(&self) -> syn::Result<()> {
        check_fn(&self.func)
    }
}

impl ParallelFn {
    /// With `backend = process`, the function needs one signature the registry can hold.
    pub(crate) fn validate_process(&self) -> syn::Result<()> {
        let sig = &self.func.sig;
        if !sig.generics.params.is_empty() {
            return Err(syn::Error::new_spanned(
                &sig.generics,
                "a process task cannot be generic: the worker must know its types; write one \
                 `#[parallel]` function per type, or choose `backend = threads`",
            ));
        }
        if let syn::Safety::Unsafe(unsafety) = &sig.safety {
            return Err(syn::Error::new_spanned(
                unsafety,
                "a process task cannot be an `unsafe fn`; make it safe and keep the `unsafe` \
                 block inside",
            ));
        }
        let types = sig.inputs.iter().filter_map(|arg| match arg {
            FnArg::Typed(typed) => Some(&*typed.ty),
            FnArg::Receiver(_) => None,
        });
        let output = match &sig.output {
            syn::ReturnType::Type(_, ty) => Some(&**ty),
            syn::ReturnType::Default => None,
        };
        for ty in types.chain(output) {
            if let Some(blame) = borrow_or_impl(ty) {
                let message = if blame.to_string().starts_with("impl") {
                    "a process task takes and returns concrete types, not `impl Trait`: name the type"
                } else {
                    "a process task cannot borrow: its data crosses to another process; take an \
                     owned value instead (`String` for `&str`, `Vec<T>` for `&[T]`)"
                };
                return Err(syn::Error::new_spanned(blame, message));
            }
        }
        debug_assert!(self.registration.is_some());
        Ok(())
    }
}

fn check_fn(func: &ItemFn) -> syn::Result<()> {
    let sig = &func.sig;
    if sig.ident == "main" {
        return Err(syn::Error::new_spanned(
            &sig.ident,
            "#[parallel] marks a task, not a program's entry point: `main` would not run \
             differently; remove it, and run tasks from `main` with `par_map!`, `par_join!` or \
             a pool",
        ));
    }
    if let Some(asyncness) = &sig.asyncness {
        return Err(syn::Error::new_spanned(
            asyncness,
            "#[parallel] does not support `async fn`; remove `async`: a task is an ordinary \
             function, and `Task` is awaitable where you need a future",
        ));
    }
    if let Some(FnArg::Receiver(receiver)) = sig.inputs.first() {
        return Err(syn::Error::new_spanned(
            receiver,
            "#[parallel] does not support methods; move the work into a free function and call \
             it from the method",
        ));
    }
    let mut finder = SelfType(None);
    finder.visit_signature(sig);
    if let Some(self_type) = finder.0 {
        return Err(syn::Error::new_spanned(
            self_type,
            "#[parallel] does not support associated functions; make it a free function that \
             names the type instead of `Self`",
        ));
    }
    // Without `self` or `Self`, only the source tells that the function sits in a block.
    if let Some(container) = placement::container(func) {
        let name = &sig.ident;
        let message = match container {
            Container::Impl => format!(
                "#[parallel] marks free functions, not associated functions: move `{name}` out \
                 of the `impl` block, naming the type instead of `Self`"
            ),
            Container::Trait => format!(
                "#[parallel] marks free functions, not trait methods: move `{name}` out of the \
                 `trait`, and call it from the method if the trait needs one"
            ),
        };
        let fn_token = &sig.fn_token;
        return Err(syn::Error::new_spanned(
            quote::quote!(#fn_token #name),
            message,
        ));
    }
    Ok(())
}

/// Finds `Self` in a signature: the function sits in an `impl` block.
struct SelfType(Option<proc_macro2::TokenStream>);

impl<'ast> Visit<'ast> for SelfType {
    fn visit_path(&mut self, path: &'ast syn::Path) {
        if self.0.is_none() && path.segments.first().is_some_and(|s| s.ident == "Self") {
            self.0 = Some(path.to_token_stream());
        }
        syn::visit::visit_path(self, path);
    }
}
