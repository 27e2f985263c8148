//! `#[parallel]` on a `for` loop inside a `#[parallel]` function: the function's attribute
//! finds the marked loops in its body and rewrites each into a call of the runtime's `par_for`.
//!
//! The body becomes a closure run once per item. `continue` ends that closure; `?` makes it
//! return the function's own residual type (so errors convert exactly as the function's `?`
//! would) and stops the loop. Outer variables updated in one of the reduction forms below get
//! one partial per worker, combined in input order after the loop:
//!
//! - `x += e`, `x -= e`, `x |= e`, `x ^= e` (partials start at `Default::default()`);
//! - `x = x.max(e)`, `x = x.min(e)`, `x = max(x, e)`, `x = min(x, e)` (any path to `max`/`min`);
//! - `x.push(e)`, `x.extend(e)` (partials start empty; the result keeps the input's order).
//!
//! Every other use of an outer variable that the analysis can see as a mutation is an error
//! that names the supported forms; a reduction variable may not be read inside the loop.

use std::collections::HashSet;

use proc_macro2::{Span, TokenStream};
use quote::{ToTokens, format_ident, quote};
use syn::visit::{self, Visit};
use syn::visit_mut::{self, VisitMut};
use syn::{
    Attribute, BinOp, Block, Expr, ExprForLoop, Ident, Item, Label, Lifetime, Meta, ReturnType,
};

use crate::options::Options;
use crate::runtime_path::RuntimePath;

const FORMS: &str = "`x += e`, `x -= e`, `x |= e`, `x ^= e`, `x = x.max(e)`, `x = x.min(e)`, \
                     `x.push(e)` or `x.extend(e)`";

/// Rewrites every marked loop in `block`. Loops that cannot be rewritten stay sequential, with
/// their marker removed, and their errors are returned together.
pub(crate) fn rewrite(
    block: &mut Block,
    output: &ReturnType,
    runtime: &RuntimePath,
) -> Option<syn::Error> {
    let mut rewriter = Rewriter {
        runtime,
        output,
        closures: 0,
        errors: None,
    };
    rewriter.visit_block_mut(block);
    rewriter.errors
}

/// Whether an attribute is the `#[parallel]` marker.
fn is_marker(attr: &Attribute) -> bool {
    attr.path()
        .segments
        .last()
        .is_some_and(|segment| segment.ident == "parallel")
}

struct Rewriter<'a> {
    runtime: &'a RuntimePath,
    output: &'a ReturnType,
    closures: usize,
    errors: Option<syn::Error>,
}

impl Rewriter<'_> {
    fn push_error(&mut self, err: syn::Error) {
        match &mut self.errors {
            Some(errors) => errors.combine(err),
            None => self.errors = Some(err),
        }
    }
}

impl VisitMut for Rewriter<'_> {
    /// A nested item is its own: a nested `#[parallel]` function rewrites its own loops.
    fn visit_item_mut(&mut self, _: &mut Item) {}

    fn visit_expr_closure_mut(&mut self, closure: &mut syn::ExprClosure) {
        self.closures += 1;
        visit_mut::visit_expr_closure_mut(self, closure);
        self.closures -= 1;
    }

    fn visit_expr_mut(&mut self, expr: &mut Expr) {
        if let Expr::ForLoop(for_loop) = expr {
            if let Some(at) = for_loop.attrs.iter().position(is_marker) {
                let marker = for_loop.attrs.remove(at);
                match rewrite_loop(&marker, for_loop, self) {
                    Ok(parallel) => *expr = parallel,
                    Err(err) => {
                        self.push_error(err);
                        let carries_try = match self.output {
                            ReturnType::Type(_, ty) => may_be_fallible(ty),
                            ReturnType::Default => false,
                        };
                        Defuse {
                            private: self.runtime.private(),
                            defuse_try: !carries_try,
                            closures: 0,
                        }
                        .visit_block_mut(&mut for_loop.body);
                    }
                }
                return;
            }
        }
        visit_mut::visit_expr_mut(self, expr);
    }
}

/// Makes a rejected loop's body compile as a plain sequential loop, so that no error follows
/// the one reported: inner markers go; `.await`, `yield`, and `?` where the function cannot
/// carry it, become placeholders of their type.
struct Defuse {
    private: TokenStream,
    defuse_try: bool,
    closures: usize,
}

impl VisitMut for Defuse {
    fn visit_item_mut(&mut self, _: &mut Item) {}

    fn visit_expr_mut(&mut self, expr: &mut Expr) {
        let closure = matches!(expr, Expr::Closure(_) | Expr::Async(_));
        self.closures += usize::from(closure);
        visit_mut::visit_expr_mut(self, expr);
        self.closures -= usize::from(closure);
        let private = &self.private;
        match expr {
            Expr::Try(tried) if self.defuse_try && self.closures == 0 => {
                let value = &tried.expr;
                *expr = syn::parse_quote!(#private::tried(#value));
            }
            Expr::ForLoop(inner) => inner.attrs.retain(|a| !is_marker(a)),
            Expr::Await(wait) => {
                let future = &wait.base;
                *expr = syn::parse_quote!(#private::awaited(#future));
            }
            Expr::Yield(_) => *expr = syn::parse_quote!(()),
            _ => {}
        }
    }
}

/// One reduction variable and how it is reduced.
#[derive(Clone)]
struct Reduction {
    name: Ident,
    kind: Kind,
}

#[derive(Clone)]
enum Kind {
    /// `+=`, `-=`, `|=`, `^=`: the operator the body used.
    Sum(BinOp),
    /// `x = x.max(e)` (method) or `x = max(x, e)` (function path).
    Pick(Pick),
    /// `x.push(e)`, `x.extend(e)`.
    Collect,
}

#[derive(Clone)]
enum Pick {
    Method(Ident),
    Function(syn::ExprPath),
}

impl Kind {
    fn same_as(&self, other: &Kind) -> bool {
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

    fn describe(&self, name: &Ident) -> String {
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

/// What an expression in the body is, for the analysis and the rewrite alike.
enum Use<'e> {
    /// A reduction update of `name`; `value` is the part the body computes.
    Reduce {
        name: &'e Ident,
        kind: Kind,
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

fn classify<'e>(expr: &'e Expr, bound: &HashSet<String>) -> Use<'e> {
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
                        kind: Kind::Sum(binary.op),
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
            if single_ident(&assign.left).is_some() {
                if let Some((pick, value)) = pick_of(name, &assign.right) {
                    return Use::Reduce {
                        name,
                        kind: Kind::Pick(pick),
                        values: vec![value],
                    };
                }
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
                    kind: Kind::Collect,
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

/// `x.max(e)`, `x.min(e)`, `max(x, e)`, `std::cmp::min(x, e)`: the pick and `e`.
fn pick_of<'e>(name: &Ident, value: &'e Expr) -> Option<(Pick, &'e Expr)> {
    let is_pick = |ident: &Ident| ident == "max" || ident == "min";
    match value {
        Expr::MethodCall(call)
            if is_pick(&call.method)
                && call.args.len() == 1
                && single_ident(&call.receiver) == Some(name) =>
        {
            Some((Pick::Method(call.method.clone()), &call.args[0]))
        }
        Expr::Call(call) if call.args.len() == 2 && single_ident(&call.args[0]) == Some(name) => {
            match &*call.func {
                Expr::Path(path)
                    if path.qself.is_none()
                        && path.path.segments.last().is_some_and(|s| is_pick(&s.ident)) =>
                {
                    Some((Pick::Function(path.clone()), &call.args[1]))
                }
                _ => None,
            }
        }
        _ => None,
    }
}

/// Every name the body binds (lets, patterns, closure parameters), and the loop's pattern.
struct Bound(HashSet<String>);

impl<'ast> Visit<'ast> for Bound {
    fn visit_pat_ident(&mut self, pat: &'ast syn::PatIdent) {
        self.0.insert(pat.ident.to_string());
        visit::visit_pat_ident(self, pat);
    }

    fn visit_item(&mut self, _: &'ast Item) {}
}

/// Whether a jump with `label` leaves the loops nested in the body (`nested`, labels innermost
/// last), and so reaches the marked loop or beyond it.
fn reaches_loop(nested: &[Option<Lifetime>], label: Option<&Lifetime>) -> bool {
    match label {
        None => nested.is_empty(),
        Some(label) => !nested.iter().flatten().any(|inner| inner == label),
    }
}

/// The checks on a marked loop's body, and what the rewrite needs from it.
struct Analysis<'a> {
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

impl Analysis<'_> {
    fn error(&mut self, tokens: impl ToTokens, message: impl std::fmt::Display) {
        self.errors.push(syn::Error::new_spanned(tokens, message));
    }

    fn reaches_loop(&self, label: Option<&Lifetime>) -> bool {
        reaches_loop(&self.nested, label)
    }

    fn note_reduction(&mut self, name: &Ident, kind: Kind) {
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

impl<'ast> Visit<'ast> for Analysis<'_> {
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

/// The body rewritten: reduction updates act on the partials, and `continue` ends the closure.
struct Rewrite<'a> {
    bound: &'a HashSet<String>,
    nested: Vec<Option<Lifetime>>,
    closures: usize,
    private: TokenStream,
    continue_value: TokenStream,
}

impl Rewrite<'_> {
    fn reaches_loop(&self, label: Option<&Lifetime>) -> bool {
        reaches_loop(&self.nested, label)
    }

    fn replacement(&self, expr: &Expr) -> Option<Expr> {
        let Use::Reduce { name, kind, .. } = classify(expr, self.bound) else {
            return None;
        };
        let private = &self.private;
        let tokens = match (kind, expr) {
            // Differences collect as sums: the partial of `x -= e` is `Σe`, subtracted after.
            (Kind::Sum(BinOp::SubAssign(_)), Expr::Binary(binary)) => {
                let value = &binary.right;
                quote!(*#name += #value)
            }
            (Kind::Sum(op), Expr::Binary(binary)) => {
                let value = &binary.right;
                quote!(*#name #op #value)
            }
            (Kind::Pick(pick), Expr::Assign(assign)) => {
                let value = match pick_of(name, &assign.right) {
                    Some((_, value)) => value,
                    None => return None,
                };
                let choose = pick_closure(&pick);
                quote!(#private::fold_option(#name, #value, #choose))
            }
            (Kind::Collect, Expr::MethodCall(_)) => return None,
            _ => return None,
        };
        syn::parse2(tokens).ok()
    }
}

/// Whether a return type can be `Result` or `Option`: a path whose last segment names one (or
/// an alias whose name says `Result`). Anything else cannot carry a `?`'s error out of the
/// loop; checking the syntax reports that once, where a trait bound would report it twice.
fn may_be_fallible(ty: &syn::Type) -> bool {
    match ty {
        syn::Type::Path(path) => path.path.segments.last().is_some_and(|segment| {
            let name = segment.ident.to_string();
            name == "Option" || name.contains("Result")
        }),
        syn::Type::Paren(inner) => may_be_fallible(&inner.elem),
        syn::Type::Group(inner) => may_be_fallible(&inner.elem),
        _ => false,
    }
}

fn pick_closure(pick: &Pick) -> TokenStream {
    let (a, b) = (
        Ident::new("a", Span::mixed_site()),
        Ident::new("b", Span::mixed_site()),
    );
    match pick {
        Pick::Method(method) => quote!(|#a, #b| #a.#method(#b)),
        Pick::Function(path) => quote!(|#a, #b| #path(#a, #b)),
    }
}

impl VisitMut for Rewrite<'_> {
    fn visit_item_mut(&mut self, _: &mut Item) {}

    fn visit_expr_mut(&mut self, expr: &mut Expr) {
        if let Some(mut replacement) = self.replacement(expr) {
            // The values may hold rewritable parts too (a `continue` in a block, say).
            visit_mut::visit_expr_mut(self, &mut replacement);
            *expr = replacement;
            return;
        }
        match expr {
            Expr::Continue(jump)
                if self.closures == 0 && self.reaches_loop(jump.label.as_ref()) =>
            {
                let value = &self.continue_value;
                *expr = syn::parse_quote!(return #value);
            }
            Expr::ForLoop(inner) => {
                self.visit_expr_mut(&mut inner.expr);
                self.nested
                    .push(inner.label.as_ref().map(|l| l.name.clone()));
                self.visit_block_mut(&mut inner.body);
                self.nested.pop();
            }
            Expr::While(inner) => {
                self.visit_expr_mut(&mut inner.cond);
                self.nested
                    .push(inner.label.as_ref().map(|l| l.name.clone()));
                self.visit_block_mut(&mut inner.body);
                self.nested.pop();
            }
            Expr::Loop(inner) => {
                self.nested
                    .push(inner.label.as_ref().map(|l| l.name.clone()));
                self.visit_block_mut(&mut inner.body);
                self.nested.pop();
            }
            Expr::Closure(_) | Expr::Async(_) => {
                self.closures += 1;
                visit_mut::visit_expr_mut(self, expr);
                self.closures -= 1;
            }
            _ => visit_mut::visit_expr_mut(self, expr),
        }
    }
}

/// The options of a loop marker: `#[parallel]` or `#[parallel(workers = 4, …)]`.
fn marker_options(marker: &Attribute) -> syn::Result<Options> {
    let options = match &marker.meta {
        Meta::Path(_) => Options::default(),
        Meta::List(list) => syn::parse2(list.tokens.clone())?,
        Meta::NameValue(name_value) => {
            return Err(syn::Error::new_spanned(
                name_value,
                "expected `#[parallel]` or `#[parallel(option = value, …)]`",
            ));
        }
    };
    if let Some((key, _)) = options.backend.as_ref().filter(|_| options.is_process()) {
        return Err(syn::Error::new(
            key.span(),
            "a `#[parallel]` loop runs on threads, since its body borrows the function's \
             variables: use `backend = rayon` or `backend = threads`",
        ));
    }
    if let Some((key, _)) = options.timeout.iter().chain(&options.retries).next() {
        return Err(syn::Error::new(
            key.span(),
            format!("`{key}` applies to process tasks, not to a `#[parallel]` loop; remove it"),
        ));
    }
    Ok(options)
}

fn rewrite_loop(
    marker: &Attribute,
    for_loop: &ExprForLoop,
    rewriter: &Rewriter,
) -> syn::Result<Expr> {
    let options = marker_options(marker)?;
    let runtime = options
        .krate
        .clone()
        .unwrap_or_else(|| rewriter.runtime.clone());
    let private = runtime.private();
    let label = for_loop.label.as_ref().map(|label| &label.name);

    let mut bound = Bound(HashSet::new());
    bound.visit_pat(&for_loop.pat);
    bound.visit_block(&for_loop.body);
    let bound = bound.0;

    let mut analysis = Analysis {
        label,
        bound: &bound,
        nested: Vec::new(),
        closures: 0,
        uses_try: false,
        reductions: Vec::new(),
        mentions: Vec::new(),
        errors: Vec::new(),
    };
    analysis.visit_block(&for_loop.body);
    for mention in &analysis.mentions {
        if let Some(reduction) = analysis.reductions.iter().find(|r| r.name == *mention) {
            let message = format!(
                "`{mention}` is reduced across this loop's iterations, so no iteration can see \
                 its value: inside the loop, only update it with {}; read it after the loop",
                reduction.kind.describe(mention)
            );
            analysis
                .errors
                .push(syn::Error::new_spanned(mention, message));
        }
    }
    if analysis.uses_try && rewriter.closures > 0 {
        analysis.errors.push(syn::Error::new_spanned(
            marker,
            "`?` in a `#[parallel]` loop returns from the function, but this loop is inside a \
             closure; handle the error inside the loop, or move the loop out of the closure",
        ));
    }
    let output = match (analysis.uses_try, rewriter.output) {
        (true, ReturnType::Type(_, ty)) if matches!(**ty, syn::Type::ImplTrait(_)) => {
            analysis.errors.push(syn::Error::new_spanned(
                ty,
                "`?` in a `#[parallel]` loop needs the function's return type: name it instead \
                 of `impl Trait`",
            ));
            None
        }
        (true, ReturnType::Type(_, ty)) if !may_be_fallible(ty) => {
            analysis.errors.push(syn::Error::new_spanned(
                ty,
                format!(
                    "`?` in a `#[parallel]` loop returns from the function, which returns `{}`: \
                     make it return `Result` or `Option`, or handle the error inside the loop",
                    ty.to_token_stream().to_string().replace(' ', "")
                ),
            ));
            None
        }
        (true, ReturnType::Type(_, ty)) => Some(ty.to_token_stream()),
        (true, ReturnType::Default) => {
            analysis.errors.push(syn::Error::new_spanned(
                marker,
                "`?` in a `#[parallel]` loop returns from the function, which returns `()`: make \
                 it return `Result` or `Option`, or handle the error inside the loop",
            ));
            None
        }
        (false, _) => None,
    };
    let mut errors = analysis.errors.into_iter();
    if let Some(mut first) = errors.next() {
        first.extend(errors);
        return Err(first);
    }

    let step = match &output {
        Some(output) => quote!(<#output as #private::LoopExit>::Step),
        None => quote!(()),
    };
    let continue_value = quote!(<#step as #private::LoopStep>::CONTINUE);
    let mut body = for_loop.body.clone();
    Rewrite {
        bound: &bound,
        nested: Vec::new(),
        closures: 0,
        private: private.clone(),
        continue_value: continue_value.clone(),
    }
    .visit_block_mut(&mut body);

    let reductions = &analysis.reductions;
    let hygienic = |name: &str| Ident::new(name, Span::mixed_site());
    let (acc, left, right, outcome, exit, items, call, kind) = (
        hygienic("acc"),
        hygienic("left"),
        hygienic("right"),
        hygienic("outcome"),
        hygienic("exit"),
        hygienic("items"),
        hygienic("call"),
        hygienic("kind"),
    );
    let names: Vec<&Ident> = reductions.iter().map(|r| &r.name).collect();
    let types: Vec<Ident> = (0..reductions.len())
        .map(|i| format_ident!("type{}", i, span = Span::mixed_site()))
        .collect();
    let parts: Vec<Ident> = (0..reductions.len())
        .map(|i| format_ident!("part{}", i, span = Span::mixed_site()))
        .collect();
    let fields: Vec<syn::Index> = (0..reductions.len()).map(syn::Index::from).collect();
    let identities = reductions.iter().zip(&types).map(|(r, ty)| match r.kind {
        Kind::Pick(_) => quote!(#private::none(#ty)),
        Kind::Sum(_) => quote!(#private::zero(#ty)),
        Kind::Collect => quote!(#private::segments(#ty)),
    });
    let combines = reductions.iter().zip(&fields).map(|(r, field)| match &r.kind {
        Kind::Sum(BinOp::SubAssign(_)) => quote!(#left.#field += #right.#field;),
        Kind::Sum(op) => quote!(#left.#field #op #right.#field;),
        Kind::Pick(pick) => {
            let choose = pick_closure(pick);
            quote!(#left.#field = #private::merge_option(#left.#field.take(), #right.#field, #choose);)
        }
        Kind::Collect => quote!(#private::merge_segments(&mut #left.#field, #right.#field);),
    });
    let applies = reductions.iter().zip(&parts).map(|(r, part)| {
        let name = &r.name;
        match &r.kind {
            Kind::Sum(op) => quote!(#name #op #part;),
            Kind::Pick(pick) => {
                let value = hygienic("value");
                let picked = match pick {
                    Pick::Method(method) => quote!(#name.#method(#value)),
                    Pick::Function(path) => quote!(#path(#name, #value)),
                };
                quote!(if let ::core::option::Option::Some(#value) = #part { #name = #picked; })
            }
            Kind::Collect => quote!(#private::extend_segments(&mut #name, #part);),
        }
    });
    let on_exit = match &output {
        Some(output) => quote!(return <#output as #private::LoopExit>::exit(#exit)),
        None => quote!(match #exit {}),
    };
    let pat = &for_loop.pat;
    let expr = &for_loop.expr;
    let call_options = options.to_runtime(&runtime);
    let combine = if reductions.is_empty() {
        quote!(|_: &mut (), _: ()| {})
    } else {
        quote!(|#left: &mut _, #right| { #(#combines)* })
    };
    // Each reduction's name, inside the loop, is its partial: disjoint fields of the partials.
    let bindings = reductions.iter().zip(&fields).map(|(r, field)| {
        let name = &r.name;
        match r.kind {
            Kind::Collect => quote!(let #name = &mut #acc.#field.current;),
            Kind::Sum(_) | Kind::Pick(_) => quote!(let #name = &mut #acc.#field;),
        }
    });
    let partials_binding = if reductions.is_empty() {
        quote!(let _ = #acc;)
    } else {
        quote!(#(#bindings)*)
    };
    Ok(syn::parse_quote! {{
        #[allow(unused_imports)]
        use #private::{ViaIndexed as _, ViaIter as _, ViaUnindexed as _};
        #(let #types = #private::type_of(&#names);)*
        let #items = #expr;
        let #call = #private::MapCall(#items);
        let #kind = (&&&#call).__parallel_input();
        let #outcome = #private::par_for(
            #call_options,
            #call.0,
            #kind,
            || (#(#identities,)*),
            |#acc: &mut _, #pat| -> #step {
                #partials_binding
                #body;
                #continue_value
            },
            #combine,
        );
        match #outcome {
            ::core::result::Result::Ok((#(#parts,)*)) => {
                #(#applies)*
            }
            ::core::result::Result::Err(#exit) => #on_exit,
        }
    }})
}
