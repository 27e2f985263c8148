//! The options every macro shares, written `key = value` or as a bare flag: `backend`,
//! `workers`, `chunk`, `progress`, `timeout`, `retries` and `crate`. They are parsed once
//! (`parse`, one setter per `Key`) into `Options` as written (`written`), each macro rejects the
//! ones it cannot take (`validate`), and `expand` turns them into the runtime's `Options` value.

mod expand;
mod key;
mod parse;
mod validate;
mod written;

pub(crate) use parse::{parse_after_semicolon, parse_attribute, skip_rest};

/// Whether `ident` names an option (`backend`, `workers`, ...).
pub(crate) fn is_option_name(ident: &syn::Ident) -> bool {
    key::Key::of(ident).is_some()
}
pub(crate) use written::Options;
