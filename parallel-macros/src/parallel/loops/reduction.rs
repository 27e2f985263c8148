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
    pub kind: ReductionKind,
}

/// How a variable is reduced: the form of its updates in the body.
#[derive(Clone)]
pub(super) enum ReductionKind {
    /// `+=`, `-=`, `|=`, `^=`: the operator the body used.
    Sum(BinOp),
    /// `x = x.max(e)` (method) or `x = max(x, e)` (function path).
    MinMax(MinMax),
    /// `x.push(e)`, `x.extend(e)`.
    Collect,
}

/// How `max` or `min` is called: as a method (`x.max(e)`), or by a path (`cmp::max(x, e)`).
#[derive(Clone)]
pub(super) enum MinMax {
    Method(Ident),
    Function(syn::ExprPath),
}

impl ReductionKind {
    pub(super) fn same_as(&self, other: &ReductionKind) -> bool {
        match (self, other) {
            (ReductionKind::Sum(a), ReductionKind::Sum(b)) => {
                std::mem::discriminant(a) == std::mem::discriminant(b)
            }
            (
                ReductionKind::MinMax(MinMax::Method(a)),
                ReductionKind::MinMax(MinMax::Method(b)),
            ) => a == b,
            (
                ReductionKind::MinMax(MinMax::Function(a)),
                ReductionKind::MinMax(MinMax::Function(b)),
            ) => a.to_token_stream().to_string() == b.to_token_stream().to_string(),
            (ReductionKind::Collect, ReductionKind::Collect) => true,
            _ => false,
        }
    }

    pub(super) fn describe(&self, name: &Ident) -> String {
        match self {
            ReductionKind::Sum(op) => format!("`{name} {} …`", op.to_token_stream()),
            ReductionKind::MinMax(MinMax::Method(method)) => {
                format!("`{name} = {name}.{method}(…)`")
            }
            ReductionKind::MinMax(MinMax::Function(path)) => {
                let path = path.to_token_stream().to_string().replace(' ', "");
                format!("`{name} = {path}({name}, …)`")
            }
            ReductionKind::Collect => format!("`{name}.push(…)` or `{name}.extend(…)`"),
        }
    }
}
