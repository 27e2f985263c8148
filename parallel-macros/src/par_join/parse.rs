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

impl ParJoin {
    pub(crate) fn validate(&self) -> syn::Result<()> {
        let mut errors: Vec<syn::Error> = self.exprs.iter().filter_map(check_expr).collect();
        match &self.options {
            Ok(options) => {
                if options.is_process() {
                    errors.extend(self.exprs.iter().filter_map(check_process_call));
                }
                errors.extend(options.reject_chunk("par_join!").err());
                errors.extend(options.reject_process_only(false).err());
            }
            Err(err) => errors.push(err.clone()),
        }
        let mut errors = errors.into_iter();
        match errors.next() {
            None => Ok(()),
            Some(mut first) => {
                first.extend(errors);
                Err(first)
            }
        }
    }
}

/// `?` at the top of an expression would return from the task, not from the caller.
fn check_expr(expr: &Expr) -> Option<syn::Error> {
    match expr {
        Expr::Try(try_expr) => Some(syn::Error::new_spanned(
            try_expr.question_token,
            "`?` here would return from the task, not from your function; apply it to the \
             results: `let (a, b) = par_join!(a(), b()); let a = a?;`",
        )),
        Expr::Async(_) | Expr::Await(_) => Some(syn::Error::new_spanned(
            expr,
            "`par_join!` runs blocking expressions on threads; to wait for futures, use your \
             async runtime's `join!`",
        )),
        _ => None,
    }
}

/// With `backend = process`, each expression calls a `#[parallel]` function by its path; its
/// arguments are evaluated in the caller and cross to the worker.
fn check_process_call(expr: &Expr) -> Option<syn::Error> {
    match expr {
        Expr::Call(call) if matches!(&*call.func, Expr::Path(path) if path.qself.is_none()) => None,
        _ => Some(syn::Error::new_spanned(
            expr,
            "with `backend = process`, each expression calls a `#[parallel]` function, whose \
             arguments cross to the worker: `par_join!(crunch(a), parse(b); backend = process)`",
        )),
    }
}
