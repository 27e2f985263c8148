//! `par_map!`'s input: the function, the items, then the options.

use proc_macro2::Span;
use syn::parse::{Parse, ParseStream};
use syn::{Expr, Token};

use crate::options::{self, Options};

/// `par_map!(f, items)` or `par_map!(f, items; options)`.
pub(crate) struct ParMap {
    pub f: Expr,
    pub items: Expr,
    pub options: syn::Result<Options>,
}

impl Parse for ParMap {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        if input.is_empty() {
            // No token to blame: the call itself is at fault.
            return Err(syn::Error::new(
                Span::call_site(),
                "`par_map!` needs a function and the items: `par_map!(f, items)`",
            ));
        }
        let f = crate::process_task::ungrouped_path(input.parse()?);
        check_function(&f)?;
        if input.is_empty() || input.peek(Token![;]) {
            return Err(syn::Error::new_spanned(
                &f,
                "expected the items after the function: `par_map!(f, items)`",
            ));
        }
        let comma: Token![,] = input.parse()?;
        if input.is_empty() || input.peek(Token![;]) {
            return Err(syn::Error::new(
                comma.span,
                "expected the items after `,`: `par_map!(f, items)`",
            ));
        }
        let items: Expr = input.parse()?;
        if input.peek(Token![,]) {
            input.parse::<Token![,]>()?;
            if !input.is_empty() && !input.peek(Token![;]) {
                let extra: Expr = input.parse()?;
                return Err(syn::Error::new_spanned(
                    extra,
                    "`par_map!` takes a function and the items; options go after `;`: \
                     `par_map!(f, items; workers = 4)`",
                ));
            }
        }
        // The function and items parsed: an error in the options still expands the map.
        let options = if input.is_empty() || input.peek(Token![;]) {
            options::parse_after_semicolon(input)
        } else {
            Err(input.error("expected `;` before the options: `par_map!(f, items; workers = 4)`"))
        };
        if options.is_err() {
            options::skip_rest(input)?;
        }
        Ok(ParMap { f, items, options })
    }
}

/// The function must be something callable: a path, a closure, or an expression that makes one.
fn check_function(f: &Expr) -> syn::Result<()> {
    match f {
        Expr::Lit(_)
        | Expr::Array(_)
        | Expr::Tuple(_)
        | Expr::Range(_)
        | Expr::Struct(_)
        | Expr::Repeat(_) => Err(syn::Error::new_spanned(
            f,
            "expected a function or a closure first: `par_map!(square, items)` or \
             `par_map!(|x| x * x, items)`",
        )),
        Expr::Closure(closure) if closure.asyncness.is_some() => Err(syn::Error::new_spanned(
            closure.asyncness,
            "`par_map!` runs ordinary functions; remove `async` and await inside the closure \
             with a blocking executor, or map with an async runtime",
        )),
        _ => Ok(()),
    }
}
