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
        let (probe, spread, label) = match &self.f {
            Expr::Path(path) if path.qself.is_none() => {
                let name = path.path.segments.last().map(|s| s.ident.to_string());
                (
                    probe::probe(&path.path, &runtime),
                    probe::spread(&path.path, &runtime),
                    name.unwrap_or_else(|| "par_map!".to_owned()),
                )
            }
            _ => (
                quote!((#private::Options::new(), #private::NotTask)),
                quote!(#private::NoSpread),
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
        // A `#[parallel]` function of several arguments maps over tuples of them: bound as a
        // function of one tuple; the process route sends the function itself.
        // The function the process route sends: a path names it again (a function item is
        // `Copy`); anything else is used as bound.
        let route_f = match &self.f {
            Expr::Path(path) if path.qself.is_none() => quote!(#f),
            _ => quote!(#f_var),
        };
        let bind = quote_spanned!(f.span()=>
            #private::bind(#private::pick_spread(#spread, #f), &#items_var)
        );
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
                ViaIndexed as _, ViaIter as _, ViaLocal as _, ViaPlain as _, ViaProcess as _,
                ViaProcessSpread as _, ViaUnindexed as _, ViaResult as _,
            };
            let (#defaults, #proof) = #probe;
            let #items_var = #items;
            let (#f_var, #out) = #bind;
            let #call = #private::MapCall(#items_var);
            #process_checks
            #task_check
            let #kind = (&&&#call).__parallel_input();
            let #collector = (&#out).__parallel_collector();
            let #route = (&&#private::route_of(&#proof, &#route_f, &#call)).__parallel_route(#route_f);
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
