//! The code of a valid `par_map!`: a call into the runtime's map with the planned options.

use proc_macro2::{Span, TokenStream};
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{Expr, Ident};

use super::parse::ParMap;
use crate::blame::{require_crossing, require_task};
use crate::options::Options;
use crate::probe;

impl ParMap {
    /// The map with the options validate accepted, or with none: the fallback beside an error,
    /// which keeps the caller's types checking.
    pub(crate) fn expand(&self, options: Option<&Options>) -> TokenStream {
        let runtime = options.map(Options::runtime).unwrap_or_default();
        let private = runtime.private();
        let call_options = match options {
            Some(options) => options.to_runtime(&runtime),
            None => quote!(#private::Options::new()),
        };
        let (probe, label) = match &self.f {
            Expr::Path(path) if path.qself.is_none() => {
                let name = path.path.segments.last().map(|s| s.ident.to_string());
                (
                    probe::probe(&path.path, &runtime),
                    name.unwrap_or_else(|| "par_map!".to_owned()),
                )
            }
            _ => (
                quote!((#private::Options::new(), #private::NotTask)),
                "par_map!".to_owned(),
            ),
        };
        let f = &self.f;
        let items = &self.items;
        // Hygienic names: the user's expressions cannot see them.
        let name = |s: &str| Ident::new(s, Span::mixed_site());
        let (defaults, proof, items_var, f_var, out, call, kind, collector, route) = (
            name("defaults"),
            name("proof"),
            name("items"),
            name("f"),
            name("out"),
            name("call"),
            name("kind"),
            name("collector"),
            name("route"),
        );
        let bind = quote_spanned!(f.span()=> #private::bind(#f, &#items_var));
        // With `backend = process` written in the call, every requirement is checked at compile
        // time, each on the tokens it concerns.
        // `timeout` or `retries` without a backend: the function must be able to run in a
        // process, where they apply.
        let task_check = options
            .filter(|o| !o.is_process() && o.has_process_only())
            .map(|_| require_task(&proof, &runtime, f.span()));
        let process_checks = options.filter(|o| o.is_process()).map(|_| {
            let task = require_task(&proof, &runtime, f.span());
            let data_in =
                require_crossing(quote!(#private::item_type(&#call)), &runtime, items.span());
            let data_out = require_crossing(
                quote!(#private::output_type(&#f_var, &#call)),
                &runtime,
                f.span(),
            );
            quote!(#task #data_in #data_out)
        });
        quote! {{
            #[allow(unused_imports)]
            use #private::{
                ViaIndexed as _, ViaIter as _, ViaLocal as _, ViaPlain as _, ViaProcess as _, ViaUnindexed as _,
                ViaResult as _,
            };
            let (#defaults, #proof) = #probe;
            let #items_var = #items;
            let (#f_var, #out) = #bind;
            let #call = #private::MapCall(#items_var);
            #process_checks
            #task_check
            let #kind = (&&&#call).__parallel_input();
            let #collector = (&#out).__parallel_collector();
            let #route = (&#private::route_of(&#proof, &#f_var, &#call)).__parallel_route();
            #private::map(
                #call_options.or(#defaults),
                #label,
                #call.0,
                #f_var,
                #kind,
                #collector,
                #route,
            )
        }}
    }
}
