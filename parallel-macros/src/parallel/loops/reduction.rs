//! The reduction forms a `#[parallel]` loop accepts, as analyze finds them and as messages
//! name them.

use quote::ToTokens;
use syn::{BinOp, Ident};

/// Every form, for messages.
pub(super) const FORMS: &str = "`x += e`, `x -= e`, `x |= e`, `x ^= e`, `x = x.max(e)`, \
                                `x = x.min(e)`, `x.push(e)` or `x.extend(e)`";

/// One reduction variable and how it is reduced.
#[derive(Clone)]
pub(super) struct Reduction {
    pub name: Ident,
    pub kind: Kind,
}

#[derive(Clone)]
pub(super) enum Kind {
    /// `+=`, `-=`, `|=`, `^=`: the operator the body used.
    Sum(BinOp),
    /// `x = x.max(e)` (method) or `x = max(x, e)` (function path).
    Pick(Pick),
    /// `x.push(e)`, `x.extend(e)`.
    Collect,
}

#[derive(Clone)]
pub(super) enum Pick {
    Method(Ident),
    Function(syn::ExprPath),
}

impl Kind {
    pub(super) fn same_as(&self, other: &Kind) -> bool {
        match (self, other) {
            (Kind::Sum(a), Kind::Sum(b)) => std::mem::discriminant(a) == std::mem::discriminant(b),
            (Kind::Pick(Pick::Method(a)), Kind::Pick(Pick::Method(b))) => a == b,
            (Kind::Pick(Pick::Function(a)), Kind::Pick(Pick::Function(b))) => {
                a.to_token_stream().to_string() == b.to_token_stream().to_string()
            }
            (Kind::Collect, Kind::Collect) => true,
            _ => false,
        }
    }

    pub(super) fn describe(&self, name: &Ident) -> String {
        match self {
            Kind::Sum(op) => format!("`{name} {} …`", op.to_token_stream()),
            Kind::Pick(Pick::Method(method)) => format!("`{name} = {name}.{method}(…)`"),
            Kind::Pick(Pick::Function(path)) => {
                let path = path.to_token_stream().to_string().replace(' ', "");
                format!("`{name} = {path}({name}, …)`")
            }
            Kind::Collect => format!("`{name}.push(…)` or `{name}.extend(…)`"),
        }
    }
}
