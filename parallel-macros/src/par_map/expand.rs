use proc_macro2::{Span, TokenStream};
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{Expr, Ident};

use super::parse::ParMap;
use crate::options::Options;
use crate::probe;

impl ParMap {
    pub(crate) fn expand(&self) -> TokenStream {
        let options = self.options.as_ref().ok();
        self.expand_with(options)
    }

    pub(crate) fn expand_without_options(&self) -> TokenStream {
        self.expand_with(None)
    }

    fn expand_with(&self, options: Option<&Options>) -> TokenStream {
        let runtime = options.map(Options::runtime).unwrap_or_default();
        let private = runtime.private();
        let call_options = match options {
            Some(options) => options.to_runtime(&runtime),
            None => quote!(#private::Options::new()),
        };
        let (defaults, label) = match &self.f {
            Expr::Path(path) if path.qself.is_none() => {
                let name = path.path.segments.last().map(|s| s.ident.to_string());
                (
                    probe::defaults_of(&path.path, &runtime),
                    name.unwrap_or_else(|| "par_map!".to_owned()),
                )
            }
            _ => (quote!(#private::Options::new()), "par_map!".to_owned()),
        };
        let f = &self.f;
        let items = &self.items;
        // Hygienic names: the user's expressions cannot see them.
        let name = |s: &str| Ident::new(s, Span::mixed_site());
        let (defaults_var, items_var, f_var, out, call, kind, collector) = (
            name("defaults"),
            name("items"),
            name("f"),
            name("out"),
            name("call"),
            name("kind"),
            name("collector"),
        );
        let bind = quote_spanned!(f.span()=> #private::bind(#f, &#items_var));
        quote! {{
            #[allow(unused_imports)]
            use #private::{ViaIndexed as _, ViaIter as _, ViaPlain as _, ViaResult as _};
            let #defaults_var: #private::Options = #defaults;
            let #items_var = #items;
            let (#f_var, #out) = #bind;
            let #call = #private::MapCall(#items_var);
            let #kind = (&#call).__parallel_input();
            let #collector = (&#out).__parallel_collector();
            #private::map(
                #call_options.or(#defaults_var),
                #label,
                #call.0,
                #f_var,
                #kind,
                #collector,
            )
        }}
    }
}
