//! Where generated code finds the runtime: `::parallel`, or the root set by `crate = …` for
//! crates that re-export `parallel`.

use proc_macro2::TokenStream;
use quote::{ToTokens, quote};
use syn::{Expr, ExprLit, Lit, Path};

#[derive(Clone)]
pub(crate) struct RuntimePath(Path);

impl Default for RuntimePath {
    fn default() -> Self {
        RuntimePath(syn::parse_quote!(::parallel))
    }
}

impl RuntimePath {
    /// `crate = some::path` or `crate = "some::path"`.
    pub(crate) fn from_option(value: &Expr) -> syn::Result<Self> {
        match value {
            Expr::Path(path) if path.qself.is_none() => Ok(RuntimePath(path.path.clone())),
            Expr::Lit(ExprLit {
                lit: Lit::Str(s), ..
            }) => s.parse().map(RuntimePath).map_err(|_| {
                syn::Error::new(
                    s.span(),
                    "expected the path of the `parallel` crate: `crate = ::parallel`",
                )
            }),
            _ => Err(syn::Error::new_spanned(
                value,
                "expected the path of the `parallel` crate: `crate = ::parallel`",
            )),
        }
    }

    /// `<root>::__private`, the module generated code calls.
    pub(crate) fn private(&self) -> TokenStream {
        let root = &self.0;
        quote!(#root::__private)
    }
}

impl ToTokens for RuntimePath {
    fn to_tokens(&self, tokens: &mut TokenStream) {
        self.0.to_tokens(tokens);
    }
}
