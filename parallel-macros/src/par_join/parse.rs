//! `par_join!`'s input: the expressions, then the options.

use proc_macro2::Span;
use syn::parse::{Parse, ParseStream};
use syn::punctuated::Punctuated;
use syn::{Expr, Token};

use crate::options::{self, Options};

/// `par_join!(a, b, …)` or `par_join!(a, b, …; options)`.
pub(crate) struct ParJoin {
    pub exprs: Vec<Expr>,
    pub options: syn::Result<Options>,
}

impl Parse for ParJoin {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        const NEEDS_AN_EXPRESSION: &str =
            "`par_join!` needs at least one expression: `par_join!(load_users(), load_orders())`";
        if input.is_empty() {
            // No token to blame: the call itself is at fault.
            return Err(syn::Error::new(Span::call_site(), NEEDS_AN_EXPRESSION));
        }
        if input.peek(Token![;]) {
            return Err(input.error(NEEDS_AN_EXPRESSION));
        }
        let mut exprs = Punctuated::<Expr, Token![,]>::new();
        while !input.is_empty() && !input.peek(Token![;]) {
            exprs.push_value(input.parse()?);
            if input.is_empty() || input.peek(Token![;]) {
                break;
            }
            exprs.push_punct(input.parse()?);
        }
        let options = options::parse_after_semicolon(input);
        if options.is_err() {
            options::skip_rest(input)?;
        }
        Ok(ParJoin {
            exprs: exprs.into_iter().collect(),
            options,
        })
    }
}
