//! Procedural macros of [`parallel`](https://docs.rs/parallel): `#[parallel]`, `par_join!` and
//! `par_map!`. Depend on `parallel`, which re-exports them with the runtime they expand to.
//!
//! Each macro's documentation lists its options and backends, with the code it stands for.

#![forbid(unsafe_code)]

mod blame;
mod options;
mod par_join;
mod par_map;
mod parallel;
mod probe;
mod process_task;
mod runtime_path;

use proc_macro::TokenStream;

#[doc = include_str!("../docs/parallel.md")]
#[proc_macro_attribute]
pub fn parallel(args: TokenStream, item: TokenStream) -> TokenStream {
    parallel::entry(args.into(), item.into()).into()
}

#[doc = include_str!("../docs/par_join.md")]
#[proc_macro]
pub fn par_join(input: TokenStream) -> TokenStream {
    par_join::entry(input.into()).into()
}

#[doc = include_str!("../docs/par_map.md")]
#[proc_macro]
pub fn par_map(input: TokenStream) -> TokenStream {
    par_map::entry(input.into()).into()
}
