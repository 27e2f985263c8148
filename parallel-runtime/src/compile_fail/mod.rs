//! Type errors in runtime use, pinned as `compile_fail` doc tests: each module's example must not
//! compile, with the error code it names.

mod not_send_closure;
mod not_serde_argument;
