//! The code of a valid `par_join!`: a tree of `rayon::join` or threads, or a spawn per call in
//! worker processes.

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote};
use syn::Ident;
use syn::spanned::Spanned;

use crate::blame::{require_crossing, require_task};
use crate::options::Options;
use crate::probe;

use super::parse::ParJoin;
use super::validate::{Join, ProcessCall};

impl ParJoin {
    /// The expressions as a plain tuple: what the call means without parallelism.
    pub(crate) fn sequential(&self) -> TokenStream {
        match self.exprs.as_slice() {
            [single] => quote!(#single),
            exprs => quote!((#(#exprs,)*)),
        }
    }

    pub(crate) fn expand(&self, join: Join<'_>) -> TokenStream {
        match join {
            Join::Local(options) => self.expand_local(options),
            Join::Process(options, calls) => expand_process(options, &calls),
        }
    }

    /// The expressions as closures, joined on rayon or on threads as the options and the
    /// environment choose.
    fn expand_local(&self, options: &Options) -> TokenStream {
        if let [single] = self.exprs.as_slice() {
            // Nothing to run beside it: evaluate in place, as the docs promise.
            return quote!(#single);
        }
        let runtime = options.runtime();
        let private = runtime.private();
        let hygienic = |name: String| Ident::new(&name, Span::mixed_site());
        let tasks: Vec<Ident> = (0..self.exprs.len())
            .map(|i| hygienic(format!("task{i}")))
            .collect();
        let results: Vec<Ident> = (0..self.exprs.len())
            .map(|i| hygienic(format!("result{i}")))
            .collect();
        let ticker = hygienic("ticker".to_owned());
        let pool = hygienic("pool".to_owned());
        let workers = hygienic("workers".to_owned());
        let opts = hygienic("options".to_owned());
        let n = self.exprs.len();

        let define_tasks = self.exprs.iter().zip(&tasks).map(|(expr, task)| {
            if options.progress.is_some() {
                let value = format_ident!("value", span = Span::mixed_site());
                quote!(#[allow(unused_mut)] let mut #task = || { let #value = #expr; #ticker.tick(); #value };)
            } else {
                quote!(#[allow(unused_mut)] let mut #task = || #expr;)
            }
        });
        let ticker_setup = options.progress.is_some().then(|| {
            quote! {
                let #ticker = #private::ticker(
                    #opts.progress.unwrap_or(false),
                    ::core::option::Option::Some(#n),
                    "par_join!",
                );
            }
        });
        let (tree, pattern) = join_tree(&tasks, &results, &private);
        let on_threads = quote! {{
            #(let mut #results = ::core::option::Option::None;)*
            #private::threads_join(#workers, ::std::vec![
                #(::std::boxed::Box::new(|| #results = ::core::option::Option::Some(#tasks())),)*
            ]);
            match (#(#results,)*) {
                (#(::core::option::Option::Some(#results),)*) => (#(#results,)*),
                _ => ::core::unreachable!("threads_join runs every task or panics"),
            }
        }};
        let on_rayon = quote! {
            #pool.install(|| {
                let #pattern = #tree;
                (#(#results,)*)
            })
        };
        let call_options = options.to_runtime(&runtime);
        quote! {{
            let #opts: #private::Options = #call_options;
            #ticker_setup
            #(#define_tasks)*
            match #private::plan(#opts) {
                #private::Plan::Threads(#workers) => #on_threads,
                // Expressions cannot run in a process unless the call says so: rayon for them.
                #pool => {
                    let #pool = #pool.rayon_pool();
                    #on_rayon
                }
            }
        }}
    }
}

/// Each call spawned in a worker process at once (of the shared pool while it has idle workers,
/// else a new one), its arguments evaluated here first; then every task joined, and the first
/// failure (in the order written) re-raised.
fn expand_process(options: &Options, calls: &[ProcessCall<'_>]) -> TokenStream {
    let runtime = options.runtime();
    let private = runtime.private();
    let hygienic = |name: String| Ident::new(&name, Span::mixed_site());
    let pools = hygienic("pools".to_owned());
    let call_count = calls.len();
    let call_options = options.to_runtime(&runtime);
    let mut spawns = Vec::new();
    let mut tasks = Vec::new();
    let mut results = Vec::new();
    for (i, ProcessCall { call, path }) in calls.iter().enumerate() {
        let (task, proof) = (hygienic(format!("task{i}")), hygienic(format!("proof{i}")));
        let (args_var, output) = (hygienic(format!("args{i}")), hygienic(format!("output{i}")));
        let probe = probe::probe(path, &runtime);
        let func = &call.func;
        let values: Vec<Ident> = (0..call.args.len())
            .map(|j| hygienic(format!("arg{i}_{j}")))
            .collect();
        let arg_types: Vec<Ident> = (0..call.args.len())
            .map(|j| hygienic(format!("arg_type{i}_{j}")))
            .collect();
        let arg_exprs = call.args.iter();
        // Checked after the spawn, once the call has settled the arguments' types; each
        // argument is blamed where it is written, the result on the function.
        let arg_checks = call
            .args
            .iter()
            .zip(&arg_types)
            .map(|(arg, ty)| require_crossing(quote!(#ty), &runtime, arg.span()));
        let output_check = require_crossing(quote!(#output), &runtime, func.span());
        let require = require_task(&proof, &runtime, func.span());
        spawns.push(quote! {
            let (_, #proof) = #probe;
            #require
            #(let #values = #arg_exprs;)*
            #(let #arg_types = #private::type_of(&#values);)*
            let #args_var = (#(#values,)*);
            let #output = #private::spawn_output_type(&#func, &#args_var);
            let #task = {
                #[allow(unused_imports)]
                use #private::{ViaNotSerde as _, ViaSerdeData as _};
                let picks = (
                    (&#private::type_of(&#args_var)).__parallel_data(),
                    (&#output).__parallel_data(),
                );
                #private::process_spawn(&#pools[#i], #func, #args_var, picks)
            };
            #(#arg_checks)*
            #output_check
        });
        results.push(hygienic(format!("result{i}")));
        tasks.push(task);
    }
    let values: Vec<_> = (0..tasks.len())
        .map(|i| hygienic(format!("value{i}")))
        .collect();
    let value = match values.as_slice() {
        [single] => quote!(#single),
        values => quote!((#(#values,)*)),
    };
    quote! {{
        // Every call starts at once: on an idle worker of the shared pool, or a new one.
        let #pools = #private::process_pools_for_join(#call_options, #call_count);
        #(#spawns)*
        #(let #results = #tasks.join();)*
        match (#(#results,)*) {
            (#(::core::result::Result::Ok(#values),)*) => #value,
            (#(#results,)*) => #private::raise_first(::std::vec![#(#results.err(),)*]),
        }
    }}
}

/// A balanced tree of `rayon::join` calls over the task closures, and the nested tuple pattern
/// that names each result.
fn join_tree(
    tasks: &[Ident],
    results: &[Ident],
    private: &TokenStream,
) -> (TokenStream, TokenStream) {
    if let ([task], [result]) = (tasks, results) {
        return (quote!(#task()), quote!(#result));
    }
    let mid = tasks.len().div_ceil(2);
    let (left, left_pattern) = join_side(&tasks[..mid], &results[..mid], private);
    let (right, right_pattern) = join_side(&tasks[mid..], &results[mid..], private);
    (
        quote!(#private::rayon::join(#left, #right)),
        quote!((#left_pattern, #right_pattern)),
    )
}

/// One argument of `rayon::join`: a task closure itself, or a closure over a subtree.
fn join_side(
    tasks: &[Ident],
    results: &[Ident],
    private: &TokenStream,
) -> (TokenStream, TokenStream) {
    if let ([task], [result]) = (tasks, results) {
        return (quote!(#task), quote!(#result));
    }
    let (tree, pattern) = join_tree(tasks, results, private);
    (quote!(|| #tree), pattern)
}
