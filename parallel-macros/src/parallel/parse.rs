//! The function under `#[parallel]`, and whether its types can have a registry entry.

use proc_macro2::TokenStream;
use quote::{ToTokens, quote};
use syn::parse::{Parse, ParseStream};
use syn::visit::Visit;
use syn::{FnArg, Item, ItemFn, ReturnType, Type};

/// The function under `#[parallel]`, with the facts that validate and expand both read.
pub(crate) struct ParallelFn {
    pub func: Box<ItemFn>,
    /// Its types, when it has one signature the process registry can hold.
    pub registration: Option<Registration>,
}

impl Parse for ParallelFn {
    /// A function; any other item is an error that names its kind (`struct Point`).
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let item: Item = input.parse()?;
        let (kind, blame) = match item {
            Item::Fn(func) => {
                let registration = Registration::of(&func);
                return Ok(ParallelFn {
                    func: Box::new(func),
                    registration,
                });
            }
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
        Err(syn::Error::new_spanned(
            blame,
            format!("#[parallel] can only be applied to a function, not {kind}"),
        ))
    }
}

fn kind_and_name(kind: impl ToTokens, name: impl ToTokens) -> TokenStream {
    quote!(#kind #name)
}

/// The types of a function that can have a registry entry: no generics, no `impl Trait`.
pub(crate) struct Registration {
    pub args: Vec<Type>,
    pub output: Type,
}

impl Registration {
    fn of(func: &ItemFn) -> Option<Registration> {
        let sig = &func.sig;
        if !sig.generics.params.is_empty()
            || matches!(sig.safety, syn::Safety::Unsafe(_))
            || sig.variadic.is_some()
        {
            return None;
        }
        let args = sig
            .inputs
            .iter()
            .map(|arg| match arg {
                FnArg::Typed(typed) if is_owned(&typed.ty) => Some((*typed.ty).clone()),
                _ => None,
            })
            .collect::<Option<Vec<_>>>()?;
        let output = match &sig.output {
            ReturnType::Default => syn::parse_quote!(()),
            ReturnType::Type(_, ty) if is_owned(ty) => (**ty).clone(),
            ReturnType::Type(..) => return None,
        };
        Some(Registration { args, output })
    }
}

/// Whether values of `ty` can be named and owned by a worker: no `impl Trait`, no reference, no
/// lifetime but `'static`. (Borrowed data cannot be told apart by trait bounds at compile time,
/// so it is excluded by its syntax.)
fn is_owned(ty: &Type) -> bool {
    borrow_or_impl(ty).is_none()
}

/// The first `impl Trait`, reference or non-`'static` lifetime in `ty`.
pub(crate) fn borrow_or_impl(ty: &Type) -> Option<TokenStream> {
    struct Finder(Option<TokenStream>);
    impl<'ast> Visit<'ast> for Finder {
        fn visit_type_impl_trait(&mut self, ty: &'ast syn::TypeImplTrait) {
            self.0.get_or_insert_with(|| ty.to_token_stream());
        }
        fn visit_type_reference(&mut self, ty: &'ast syn::TypeReference) {
            match &ty.lifetime {
                Some(lifetime) if lifetime.ident == "static" => {}
                _ => {
                    self.0.get_or_insert_with(|| ty.to_token_stream());
                }
            }
            syn::visit::visit_type_reference(self, ty);
        }
        fn visit_lifetime(&mut self, lifetime: &'ast syn::Lifetime) {
            if lifetime.ident != "static" {
                self.0.get_or_insert_with(|| lifetime.to_token_stream());
            }
        }
    }
    let mut finder = Finder(None);
    finder.visit_type(ty);
    finder.0
}
