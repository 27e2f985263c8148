use proc_macro2::TokenStream;
use quote::quote;
use syn::parse::{Parse, ParseStream};
use syn::{Item, ItemFn};

/// The item under `#[parallel]`: a function, or what to blame when it is not one.
pub(crate) enum ParallelFn {
    Fn(Box<ItemFn>),
    /// Another item, with the tokens that name its kind (`struct Point`).
    NotFn {
        kind: &'static str,
        blame: TokenStream,
    },
}

impl Parse for ParallelFn {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let item: Item = input.parse()?;
        let (kind, blame) = match item {
            Item::Fn(func) => return Ok(ParallelFn::Fn(Box::new(func))),
            Item::Struct(s) => ("a struct", kind_and_name(s.struct_token, &s.ident)),
            Item::Enum(e) => ("an enum", kind_and_name(e.enum_token, &e.ident)),
            Item::Union(u) => ("a union", kind_and_name(u.union_token, &u.ident)),
            Item::Trait(t) => ("a trait", kind_and_name(t.trait_token, &t.ident)),
            Item::Impl(i) => ("an impl block", kind_and_name(i.impl_token, &i.self_ty)),
            Item::Mod(m) => ("a module", kind_and_name(m.mod_token, &m.ident)),
            Item::Const(c) => ("a constant", kind_and_name(c.const_token, &c.ident)),
            Item::Static(s) => ("a static", kind_and_name(s.static_token, &s.ident)),
            Item::Type(t) => ("a type alias", kind_and_name(t.type_token, &t.ident)),
            Item::Use(u) => ("a `use`", quote!(#u)),
            other => ("this item", quote!(#other)),
        };
        Ok(ParallelFn::NotFn { kind, blame })
    }
}

fn kind_and_name(kind: impl quote::ToTokens, name: impl quote::ToTokens) -> TokenStream {
    quote!(#kind #name)
}

impl ParallelFn {
    /// Rewrites the `#[parallel] for` loops of the function's body; see `loops`.
    pub(crate) fn rewrite_loops(
        &mut self,
        runtime: &crate::runtime_path::RuntimePath,
    ) -> Option<syn::Error> {
        match self {
            ParallelFn::Fn(func) => {
                super::loops::rewrite(&mut func.block, &func.sig.output, runtime)
            }
            ParallelFn::NotFn { .. } => None,
        }
    }
}
