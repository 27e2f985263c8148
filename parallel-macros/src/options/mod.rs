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
pub(crate) use written::Options;
