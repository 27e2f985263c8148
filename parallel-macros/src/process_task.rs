//! What names a process task: a free `#[parallel]` function. An associated function
//! (`Self::f`, `<T as Trait>::f`) cannot be one, since `#[parallel]` cannot mark it.

use quote::ToTokens;
use syn::{Expr, ExprPath};

/// A path that reached the macro inside an invisible group (a `macro_rules!` that forwards a
/// `$f:path` or `$f:expr`), as the plain path it is; any other expression unchanged.
pub(crate) fn ungrouped_path(expr: Expr) -> Expr {
    match expr {
        Expr::Group(group) if is_path(&group.expr) => ungrouped_path(*group.expr),
        other => other,
    }
}

fn is_path(expr: &Expr) -> bool {
    match expr {
        Expr::Path(_) => true,
        Expr::Group(group) => is_path(&group.expr),
        _ => false,
    }
}

/// The error for a path that names an associated function, which no worker process can run.
pub(crate) fn reject_associated(path: &ExprPath) -> syn::Result<()> {
    let associated = path.qself.is_some()
        || path
            .path
            .segments
            .first()
            .is_some_and(|s| s.ident == "Self");
    if !associated {
        return Ok(());
    }
    let name = path
        .path
        .segments
        .last()
        .map_or_else(|| "task".to_owned(), |segment| segment.ident.to_string());
    Err(syn::Error::new_spanned(
        path,
        format!(
            "`{}` is an associated function, and `#[parallel]` cannot mark one: move its code \
             into a free function, `#[parallel] fn {name}(...)`, and run that in the worker \
             process",
            path.to_token_stream().to_string().replace(' ', "")
        ),
    ))
}
