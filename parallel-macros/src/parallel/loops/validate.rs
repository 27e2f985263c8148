//! Checks of a marked loop, from its analysis: the plan expand follows, or every error.

use std::collections::HashSet;

use proc_macro2::TokenStream;
use quote::ToTokens;
use syn::{Attribute, Meta, ReturnType};

use super::analyze::Analysis;
use super::reduction::Reduction;
use crate::options::Options;

/// A marked loop that can run in parallel: what expand needs.
pub(super) struct LoopPlan {
    /// Every name the body binds, and the loop's pattern.
    pub bound: HashSet<String>,
    pub reductions: Vec<Reduction>,
    /// The function's return type, when the body's `?` returns through it.
    pub output: Option<TokenStream>,
}

/// The options of a loop marker: `#[parallel]` or `#[parallel(workers = 4, …)]`.
pub(super) fn marker_options(marker: &Attribute) -> syn::Result<Options> {
    let options = match &marker.meta {
        Meta::Path(_) => Options::default(),
        Meta::List(list) => syn::parse2(list.tokens.clone())?,
        Meta::NameValue(name_value) => {
            return Err(syn::Error::new_spanned(
                name_value,
                "expected `#[parallel]` or `#[parallel(option = value, …)]`",
            ));
        }
    };
    if let Some((key, _)) = options.backend.as_ref().filter(|_| options.is_process()) {
        return Err(syn::Error::new(
            key.span(),
            "a `#[parallel]` loop runs on threads, since its body borrows the function's \
             variables: use `backend = rayon` or `backend = threads`",
        ));
    }
    if let Some((key, _)) = options.timeout.iter().chain(&options.retries).next() {
        return Err(syn::Error::new(
            key.span(),
            format!("`{key}` applies to process tasks, not to a `#[parallel]` loop; remove it"),
        ));
    }
    Ok(options)
}

impl Analysis {
    /// The checks that need the whole loop and the function around it: no reduced variable is
    /// read, and a `?` can return through the function's return type (`output`) from where the
    /// loop is (`in_closure`: inside a closure of the function). Every mistake of the loop,
    /// the walk's included, comes back at once.
    pub(super) fn validate(
        mut self,
        marker: &Attribute,
        output: &ReturnType,
        in_closure: bool,
    ) -> syn::Result<LoopPlan> {
        for mention in &self.mentions {
            if let Some(reduction) = self.reductions.iter().find(|r| r.name == *mention) {
                let message = format!(
                    "`{mention}` is reduced across this loop's iterations, so no iteration can \
                     see its value: inside the loop, only update it with {}; read it after the \
                     loop",
                    reduction.kind.describe(mention)
                );
                self.errors.push(syn::Error::new_spanned(mention, message));
            }
        }
        if self.uses_try && in_closure {
            self.errors.push(syn::Error::new_spanned(
                marker,
                "`?` in a `#[parallel]` loop returns from the function, but this loop is inside a \
                 closure; handle the error inside the loop, or move the loop out of the closure",
            ));
        }
        let output = match (self.uses_try, output) {
            (true, ReturnType::Type(_, ty)) if matches!(**ty, syn::Type::ImplTrait(_)) => {
                self.errors.push(syn::Error::new_spanned(
                    ty,
                    "`?` in a `#[parallel]` loop needs the function's return type: name it \
                     instead of `impl Trait`",
                ));
                None
            }
            (true, ReturnType::Type(_, ty)) if !may_be_fallible(ty) => {
                self.errors.push(syn::Error::new_spanned(
                    ty,
                    format!(
                        "`?` in a `#[parallel]` loop returns from the function, which returns \
                         `{}`: make it return `Result` or `Option`, or handle the error inside \
                         the loop",
                        ty.to_token_stream().to_string().replace(' ', "")
                    ),
                ));
                None
            }
            (true, ReturnType::Type(_, ty)) => Some(ty.to_token_stream()),
            (true, ReturnType::Default) => {
                self.errors.push(syn::Error::new_spanned(
                    marker,
                    "`?` in a `#[parallel]` loop returns from the function, which returns `()`: \
                     make it return `Result` or `Option`, or handle the error inside the loop",
                ));
                None
            }
            (false, _) => None,
        };
        let mut errors = self.errors.into_iter();
        if let Some(mut first) = errors.next() {
            first.extend(errors);
            return Err(first);
        }
        Ok(LoopPlan {
            bound: self.bound,
            reductions: self.reductions,
            output,
        })
    }
}

/// Whether a return type can be `Result` or `Option`: a path whose last segment names one (or
/// an alias whose name says `Result`). Anything else cannot carry a `?`'s error out of the
/// loop; checking the syntax reports that once, where a trait bound would report it twice.
pub(super) fn may_be_fallible(ty: &syn::Type) -> bool {
    match ty {
        syn::Type::Path(path) => path.path.segments.last().is_some_and(|segment| {
            let name = segment.ident.to_string();
            name == "Option" || name.contains("Result")
        }),
        syn::Type::Paren(inner) => may_be_fallible(&inner.elem),
        syn::Type::Group(inner) => may_be_fallible(&inner.elem),
        _ => false,
    }
}
