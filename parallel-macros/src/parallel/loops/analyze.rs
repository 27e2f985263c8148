//! One walk over a marked loop's body: what it reads, mutates and reduces, and its mistakes.

use std::collections::HashSet;

use proc_macro2::TokenStream;
use quote::{ToTokens, quote};
use syn::Attribute;
use syn::visit::{self, Visit};
use syn::{BinOp, Expr, ExprForLoop, Ident, Item, Label, Lifetime};

use super::reduction::{FORMS, MinMax, Reduction, ReductionKind};

/// Whether an attribute is the `#[parallel]` marker.
pub(super) fn is_marker(attr: &Attribute) -> bool {
    attr.path()
        .segments
        .last()
        .is_some_and(|segment| segment.ident == "parallel")
}

/// What a marked loop's body does with the variables around it, and the mistakes the walk over
/// it found (a `break`, an unsupported mutation, …).
pub(super) struct Analysis {
    /// Every name the body binds, and the loop's pattern: any other name is an outer variable.
    pub bound: HashSet<String>,
    pub reductions: Vec<Reduction>,
    /// Whether the body uses `?` outside its closures.
    pub uses_try: bool,
    /// The plain names the body mentions, in order, but for the updates of its reductions.
    pub mentions: Vec<Ident>,
    pub errors: Vec<syn::Error>,
}

/// Walks the body of `for_loop` once.
pub(super) fn analyze(for_loop: &ExprForLoop) -> Analysis {
    let mut bound = BoundNames(HashSet::new());
    bound.visit_pat(&for_loop.pat);
    bound.visit_block(&for_loop.body);
    let bound = bound.0;

    let mut walk = BodyWalk {
        label: for_loop.label.as_ref().map(|label| &label.name),
        bound: &bound,
        nested: Vec::new(),
        closures: 0,
        uses_try: false,
        reductions: Vec::new(),
        mentions: Vec::new(),
        errors: Vec::new(),
    };
    walk.visit_block(&for_loop.body);
    let BodyWalk {
        uses_try,
        reductions,
        mentions,
        errors,
        ..
    } = walk;
    Analysis {
        bound,
        reductions,
        uses_try,
        mentions,
        errors,
    }
}

/// What an expression in the body is, for the analysis and the rewrite alike.
pub(super) enum Use<'e> {
    /// A reduction update of `name`; `value` is the part the body computes.
    Reduce {
        name: &'e Ident,
        kind: ReductionKind,
        values: Vec<&'e Expr>,
    },
    /// A mutation of an outer variable that is not a supported reduction.
    Unsupported {
        name: &'e Ident,
        blame: TokenStream,
    },
    Other,
}

fn single_ident(expr: &Expr) -> Option<&Ident> {
    match expr {
        Expr::Path(path) if path.qself.is_none() && path.attrs.is_empty() => path.path.get_ident(),
        _ => None,
    }
}

/// The variable at the root of a place: `a` in `a.b[c]`, `*a`.
fn root_ident(expr: &Expr) -> Option<&Ident> {
    match expr {
        Expr::Field(field) => root_ident(&field.base),
        Expr::Index(index) => root_ident(&index.expr),
        Expr::Unary(unary) => root_ident(&unary.expr),
        Expr::Paren(paren) => root_ident(&paren.expr),
        other => single_ident(other),
    }
}

pub(super) fn classify<'e>(expr: &'e Expr, bound: &HashSet<String>) -> Use<'e> {
    let outer = |ident: &Ident| !bound.contains(&ident.to_string());
    match expr {
        Expr::Binary(binary) => {
            let compound = matches!(
                binary.op,
                BinOp::AddAssign(_)
                    | BinOp::SubAssign(_)
                    | BinOp::MulAssign(_)
                    | BinOp::DivAssign(_)
                    | BinOp::RemAssign(_)
                    | BinOp::BitXorAssign(_)
                    | BinOp::BitAndAssign(_)
                    | BinOp::BitOrAssign(_)
                    | BinOp::ShlAssign(_)
                    | BinOp::ShrAssign(_)
            );
            if !compound {
                return Use::Other;
            }
            match single_ident(&binary.left) {
                Some(name) if outer(name) => match binary.op {
                    BinOp::AddAssign(_)
                    | BinOp::SubAssign(_)
                    | BinOp::BitOrAssign(_)
                    | BinOp::BitXorAssign(_) => Use::Reduce {
                        name,
                        kind: ReductionKind::Sum(binary.op),
                        values: vec![&binary.right],
                    },
                    _ => {
                        let op = &binary.op;
                        Use::Unsupported {
                            name,
                            blame: quote!(#name #op),
                        }
                    }
                },
                Some(_) => Use::Other,
                None => match root_ident(&binary.left) {
                    Some(name) if outer(name) => Use::Unsupported {
                        name,
                        blame: binary.left.to_token_stream(),
                    },
                    _ => Use::Other,
                },
            }
        }
        Expr::Assign(assign) => {
            let Some(name) = root_ident(&assign.left) else {
                return Use::Other;
            };
            if !outer(name) {
                return Use::Other;
            }
            if single_ident(&assign.left).is_some()
                && let Some((min_max, value)) = min_max_of(name, &assign.right)
            {
                return Use::Reduce {
                    name,
                    kind: ReductionKind::MinMax(min_max),
                    values: vec![value],
                };
            }
            Use::Unsupported {
                name,
                blame: assign.left.to_token_stream(),
            }
        }
        Expr::MethodCall(call) => match single_ident(&call.receiver) {
            Some(name)
                if outer(name)
                    && (call.method == "push" || call.method == "extend")
                    && call.args.len() == 1 =>
            {
                Use::Reduce {
                    name,
                    kind: ReductionKind::Collect,
                    values: call.args.iter().collect(),
                }
            }
            _ => Use::Other,
        },
        Expr::Reference(reference) if reference.mutability.is_some() => {
            match root_ident(&reference.expr) {
                Some(name) if outer(name) => Use::Unsupported {
                    name,
                    blame: reference.to_token_stream(),
                },
                _ => Use::Other,
            }
        }
        _ => Use::Other,
    }
}

/// `x.max(e)`, `x.min(e)`, `max(x, e)`, `std::cmp::min(x, e)`: the min_max and `e`.
pub(super) fn min_max_of<'e>(name: &Ident, value: &'e Expr) -> Option<(MinMax, &'e Expr)> {
    let is_min_max = |ident: &Ident| ident == "max" || ident == "min";
    match value {
        Expr::MethodCall(call)
            if is_min_max(&call.method)
                && call.args.len() == 1
                && single_ident(&call.receiver) == Some(name) =>
        {
            Some((MinMax::Method(call.method.clone()), &call.args[0]))
        }
        Expr::Call(call) if call.args.len() == 2 && single_ident(&call.args[0]) == Some(name) => {
            match &*call.func {
                Expr::Path(path)
                    if path.qself.is_none()
                        && path
                            .path
                            .segments
                            .last()
                            .is_some_and(|s| is_min_max(&s.ident)) =>
                {
                    Some((MinMax::Function(path.clone()), &call.args[1]))
                }
                _ => None,
            }
        }
        _ => None,
    }
}

/// Every name the body binds (lets, patterns, closure parameters), and the loop's pattern.
struct BoundNames(HashSet<String>);

impl<'ast> Visit<'ast> for BoundNames {
    fn visit_pat_ident(&mut self, pat: &'ast syn::PatIdent) {
        self.0.insert(pat.ident.to_string());
        visit::visit_pat_ident(self, pat);
    }

    fn visit_item(&mut self, _: &'ast Item) {}
}

/// Whether a jump with `label` leaves the loops nested in the body (`nested`, labels innermost
/// last), and so reaches the marked loop or beyond it.
pub(super) fn reaches_loop(nested: &[Option<Lifetime>], label: Option<&Lifetime>) -> bool {
    match label {
        None => nested.is_empty(),
        Some(label) => !nested.iter().flatten().any(|inner| inner == label),
    }
}

/// The walk over a marked loop's body that fills an `Analysis`.
struct BodyWalk<'a> {
    label: Option<&'a Lifetime>,
    bound: &'a HashSet<String>,
    /// Labels of the loops nested in the body, innermost last.
    nested: Vec<Option<Lifetime>>,
    closures: usize,
    uses_try: bool,
    reductions: Vec<Reduction>,
    mentions: Vec<Ident>,
    errors: Vec<syn::Error>,
}

impl BodyWalk<'_> {
    fn error(&mut self, tokens: impl ToTokens, message: impl std::fmt::Display) {
        self.errors.push(syn::Error::new_spanned(tokens, message));
    }

    fn reaches_loop(&self, label: Option<&Lifetime>) -> bool {
        reaches_loop(&self.nested, label)
    }

    fn note_reduction(&mut self, name: &Ident, kind: ReductionKind) {
        match self.reductions.iter().find(|r| r.name == *name) {
            Some(existing) if !existing.kind.same_as(&kind) => {
                let message = format!(
                    "`{name}` is reduced two ways in this loop, as {} and as {}; use one form",
                    existing.kind.describe(name),
                    kind.describe(name)
                );
                self.error(name, message);
            }
            Some(_) => {}
            None => self.reductions.push(Reduction {
                name: name.clone(),
                kind,
            }),
        }
    }

    fn visit_loop_body(&mut self, label: Option<&Label>, visit_body: impl FnOnce(&mut Self)) {
        self.nested.push(label.map(|label| label.name.clone()));
        visit_body(self);
        self.nested.pop();
    }
}

impl<'ast> Visit<'ast> for BodyWalk<'_> {
    fn visit_item(&mut self, _: &'ast Item) {}

    fn visit_expr(&mut self, expr: &'ast Expr) {
        match classify(expr, self.bound) {
            Use::Reduce { name, kind, values } => {
                self.note_reduction(name, kind);
                for value in values {
                    self.visit_expr(value);
                }
                return;
            }
            Use::Unsupported { name, blame } => {
                let message = format!(
                    "`{name}` is declared outside this `#[parallel]` loop, whose iterations run \
                     at once: update it with one of the reductions {FORMS}, or declare it \
                     inside the loop"
                );
                self.error(blame, message);
                return;
            }
            Use::Other => {}
        }
        let in_body = self.closures == 0;
        match expr {
            Expr::Path(_) => {
                if let Some(ident) = single_ident(expr) {
                    self.mentions.push(ident.clone());
                }
            }
            Expr::Continue(jump) if in_body && self.reaches_loop(jump.label.as_ref()) => {
                let own = jump.label.is_none() || jump.label.as_ref() == self.label;
                if !own {
                    self.error(
                        jump,
                        "`continue` to an outer loop cannot leave a `#[parallel]` loop: its \
                         iterations run at once; end this iteration with `continue`",
                    );
                }
            }
            Expr::Break(jump) if in_body && self.reaches_loop(jump.label.as_ref()) => self.error(
                jump,
                "`break` cannot stop a `#[parallel]` loop: its iterations run at once; stop it \
                 with an error and `?`, or filter the items before the loop",
            ),
            Expr::Return(ret) if in_body => self.error(
                ret,
                "`return` cannot leave a `#[parallel]` loop: its iterations run at once; end \
                 this iteration with `continue`, or stop the loop with an error and `?`",
            ),
            Expr::Try(_) if in_body => self.uses_try = true,
            Expr::Await(wait) => self.error(
                wait.await_token,
                "`.await` cannot run in a `#[parallel]` loop: its iterations run on threads, \
                 outside your async task; await before or after the loop",
            ),
            Expr::Yield(y) => self.error(
                y,
                "`yield` cannot run in a `#[parallel]` loop: its iterations run on threads",
            ),
            Expr::ForLoop(inner) => {
                if let Some(marker) = inner.attrs.iter().find(|a| is_marker(a)) {
                    self.error(
                        marker,
                        "`#[parallel]` loops cannot nest: mark the outer loop only, or move the \
                         inner loop into a `#[parallel]` function",
                    );
                }
                self.visit_expr(&inner.expr);
                self.visit_loop_body(inner.label.as_ref(), |this| this.visit_block(&inner.body));
                return;
            }
            Expr::While(inner) => {
                self.visit_expr(&inner.cond);
                self.visit_loop_body(inner.label.as_ref(), |this| this.visit_block(&inner.body));
                return;
            }
            Expr::Loop(inner) => {
                self.visit_loop_body(inner.label.as_ref(), |this| this.visit_block(&inner.body));
                return;
            }
            Expr::Closure(_) | Expr::Async(_) => {
                self.closures += 1;
                visit::visit_expr(self, expr);
                self.closures -= 1;
                return;
            }
            _ => {}
        }
        visit::visit_expr(self, expr);
    }

    fn visit_macro(&mut self, mac: &'ast syn::Macro) {
        // Arguments of `println!`, `assert!` and the like mention variables too.
        let parser = syn::punctuated::Punctuated::<Expr, syn::Token![,]>::parse_terminated;
        if let Ok(args) = mac.parse_body_with(parser) {
            for arg in &args {
                self.visit_expr(arg);
            }
        }
    }
}
