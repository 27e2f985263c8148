#![doc = include_str!("../README.md")]
#![deny(missing_docs)]

pub use parallel_macros::{par_join, par_map, parallel};
pub use parallel_runtime::*;
