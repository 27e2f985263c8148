//! Checks of a `par_join!`: no `?` at the top of a task, and process calls by path.

use syn::{Expr, ExprCall, Path};

use super::parse::ParJoin;
use crate::options::Options;

/// How a valid `par_join!` runs: what validate hands to expand.
pub(crate) enum Join<'a> {
    /// The expressions run as closures, on rayon or on threads.
    Local(&'a Options),
    /// Each expression calls a `#[parallel]` function in a worker process.
    Process(&'a Options, Vec<ProcessCall<'a>>),
}

/// `f(a, b)` with `backend = process`: `f` names a `#[parallel]` function by its path.
pub(crate) struct ProcessCall<'a> {
    pub call: &'a ExprCall,
    pub path: &'a Path,
}

impl ParJoin {
    /// Checks the expressions and the options together, reporting every mistake at once.
    pub(crate) fn validate(&self) -> syn::Result<Join<'_>> {
        let mut errors: Vec<syn::Error> = self.exprs.iter().filter_map(check_expr).collect();
        let options = match &self.options {
            Ok(options) => options,
            Err(options_error) => {
                return Err(match combined(errors) {
                    Some(mut earlier) => {
                        earlier.combine(options_error.clone());
                        earlier
                    }
                    None => options_error.clone(),
                });
            }
        };
        let mut calls = Vec::new();
        if options.is_process() {
            for expr in &self.exprs {
                match process_call(expr, options.process_backend_name()) {
                    Ok(call) => calls.push(call),
                    Err(err) => errors.push(err),
                }
            }
        }
        errors.extend(options.reject_chunk("par_join!").err());
        errors.extend(options.reject_process_only(false).err());
        if let Some(err) = combined(errors) {
            return Err(err);
        }
        Ok(if options.is_process() {
            Join::Process(options, calls)
        } else {
            Join::Local(options)
        })
    }
}

/// The errors as one, in order; `None` when there are none.
fn combined(errors: Vec<syn::Error>) -> Option<syn::Error> {
    errors.into_iter().reduce(|mut all, err| {
        all.combine(err);
        all
    })
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
fn process_call<'a>(expr: &'a Expr, backend: &str) -> syn::Result<ProcessCall<'a>> {
    if let Expr::Call(call) = expr
        && let Expr::Path(path) = &*call.func
    {
        crate::process_task::reject_associated(path)?;
        if path.qself.is_none() {
            return Ok(ProcessCall {
                call,
                path: &path.path,
            });
        }
    }
    Err(syn::Error::new_spanned(
        expr,
        format!(
            "with `backend = {backend}`, each expression calls a `#[parallel]` function, whose \
             arguments cross to the worker: `par_join!(crunch(a), parse(b); backend = {backend})`"
        ),
    ))
}
