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
            let mut expr = ungrouped_call(crate::process_task::ungrouped_path(input.parse()?));
            if let Expr::Call(call) = &mut expr {
                let func = std::mem::replace(&mut *call.func, Expr::Verbatim(Default::default()));
                *call.func = crate::process_task::ungrouped_path(func);
            }
            if let Some(option) = option_written_as_expression(&expr) {
                return Err(syn::Error::new_spanned(
                    option,
                    "options go after `;`, not `,`: `par_join!(a(), b(); backend = threads)`",
                ));
            }
            exprs.push_value(expr);
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

/// `backend = threads` and the like among the expressions: an option after `,` instead of `;`.
fn option_written_as_expression(expr: &Expr) -> Option<&Expr> {
    let Expr::Assign(assign) = expr else {
        return None;
    };
    let Expr::Path(path) = &*assign.left else {
        return None;
    };
    let is_option =
        path.qself.is_none() && path.path.get_ident().is_some_and(options::is_option_name);
    is_option.then_some(expr)
}

/// A call that reached the macro inside an invisible group (a `macro_rules!` that forwards a
/// `$e:expr`), as the plain call it is: a call binds tighter than any operator around it.
fn ungrouped_call(expr: Expr) -> Expr {
    match expr {
        Expr::Group(group) if matches!(*group.expr, Expr::Call(_) | Expr::Group(_)) => {
            match ungrouped_call(*group.expr) {
                call @ Expr::Call(_) => call,
                other => Expr::Group(syn::ExprGroup {
                    attrs: group.attrs,
                    group_token: group.group_token,
                    expr: Box::new(other),
                }),
            }
        }
        other => other,
    }
}
