//! Parsing `key = value` and bare-flag options, each key at most once, every mistake reported.

use proc_macro2::TokenStream;
use syn::ext::IdentExt;
use syn::parse::{Parse, ParseStream, Parser};
use syn::{Expr, ExprLit, ExprUnary, Ident, Lit, Token, UnOp};

use super::key::Key;
use super::written::{BackendName, Options};
use crate::runtime_path::RuntimePath;

impl Parse for Options {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let mut options = Options::default();
        options.parse_list(input)?;
        Ok(options)
    }
}

impl Options {
    /// Parses options to the end of `input`. A mistake is reported and the parse goes on with
    /// the next option, so that several mistakes show at once; the options that parsed stay set.
    fn parse_list(&mut self, input: ParseStream) -> syn::Result<()> {
        let mut errors: Option<syn::Error> = None;
        while !input.is_empty() {
            let result = self.parse_one(input).and_then(|()| {
                if input.is_empty() || input.peek(Token![,]) {
                    Ok(())
                } else {
                    Err(input.error("expected `,` between options: `workers = 4, chunk = 100`"))
                }
            });
            if let Err(err) = result {
                match &mut errors {
                    Some(errors) => errors.combine(err),
                    None => errors = Some(err),
                }
                // What is left of this option only follows from the mistake: skip to the next.
                skip_to_comma(input)?;
            }
            if input.is_empty() {
                break;
            }
            input.parse::<Token![,]>()?;
        }
        match errors {
            Some(err) => Err(err),
            None => Ok(()),
        }
    }
}

/// Skips the tokens up to the next top-level `,`, or to the end.
fn skip_to_comma(input: ParseStream) -> syn::Result<()> {
    input.step(|cursor| {
        let mut rest = *cursor;
        while let Some((tree, next)) = rest.token_tree() {
            if matches!(&tree, proc_macro2::TokenTree::Punct(p) if p.as_char() == ',') {
                break;
            }
            rest = next;
        }
        Ok(((), rest))
    })
}

impl Options {
    /// Parses `key`, `key = value`; a wrong value is reported and the parse goes on with the
    /// next option, so that several mistakes show at once.
    fn parse_one(&mut self, input: ParseStream) -> syn::Result<()> {
        if !input.peek(Ident::peek_any) {
            return Err(input.error(format!("expected an option name, one of {}", Key::list())));
        }
        let ident = Ident::parse_any(input)?;
        let value: Option<Expr> = if input.peek(Token![=]) {
            input.parse::<Token![=]>()?;
            Some(parse_value(input)?)
        } else {
            None
        };
        let Some(key) = Key::of(&ident) else {
            return Err(syn::Error::new(
                ident.span(),
                format!("unknown option `{ident}`; expected one of {}", Key::list()),
            ));
        };
        match key {
            Key::Backend => self.set_backend(ident, value),
            Key::Workers => self.set_workers(ident, value),
            Key::Chunk => self.set_chunk(ident, value),
            Key::Progress => self.set_progress(ident, value),
            Key::Timeout => self.set_timeout(ident, value),
            Key::Retries => self.set_retries(ident, value),
            Key::Crate => self.set_crate(ident, value),
        }
    }

    /// `backend = rayon | threads | process`.
    fn set_backend(&mut self, ident: Ident, value: Option<Expr>) -> syn::Result<()> {
        Key::Backend.once(&self.backend, &ident)?;
        let value = Key::Backend.value(&ident, value)?;
        self.backend = Some((ident, backend_name(&value)?));
        Ok(())
    }

    /// `workers = N`: at least 1, or negative to count from the cores.
    fn set_workers(&mut self, ident: Ident, value: Option<Expr>) -> syn::Result<()> {
        Key::Workers.once(&self.workers, &ident)?;
        let value = Key::Workers.value(&ident, value)?;
        self.workers = Some((ident, count(value, Key::Workers)?));
        Ok(())
    }

    /// `chunk = N`: at least 1.
    fn set_chunk(&mut self, ident: Ident, value: Option<Expr>) -> syn::Result<()> {
        Key::Chunk.once(&self.chunk, &ident)?;
        let value = Key::Chunk.value(&ident, value)?;
        self.chunk = Some((ident, count(value, Key::Chunk)?));
        Ok(())
    }

    /// `progress`, or `progress = <bool expression>`.
    fn set_progress(&mut self, ident: Ident, value: Option<Expr>) -> syn::Result<()> {
        Key::Progress.once(&self.progress, &ident)?;
        if let Some(value @ Expr::Lit(ExprLit { lit, .. })) = &value
            && !matches!(lit, Lit::Bool(_))
        {
            return Err(syn::Error::new_spanned(
                value,
                "`progress` expects `true` or `false`: `progress`, or `progress = false`",
            ));
        }
        self.progress = Some((ident, value));
        Ok(())
    }

    /// `timeout = <Duration expression>`.
    fn set_timeout(&mut self, ident: Ident, value: Option<Expr>) -> syn::Result<()> {
        Key::Timeout.once(&self.timeout, &ident)?;
        let value = Key::Timeout.value(&ident, value)?;
        if let Expr::Lit(_) = &value {
            return Err(syn::Error::new_spanned(
                &value,
                "`timeout` expects a `Duration`: `timeout = Duration::from_secs(5)`",
            ));
        }
        self.timeout = Some((ident, value));
        Ok(())
    }

    /// `retries = N`: a literal must be a whole number; any other expression is typed later.
    fn set_retries(&mut self, ident: Ident, value: Option<Expr>) -> syn::Result<()> {
        Key::Retries.once(&self.retries, &ident)?;
        let value = Key::Retries.value(&ident, value)?;
        let whole = matches!(
            &value,
            Expr::Lit(ExprLit {
                lit: Lit::Int(_),
                ..
            })
        );
        if !whole && matches!(&value, Expr::Lit(_) | Expr::Unary(_)) {
            return Err(syn::Error::new_spanned(
                &value,
                "`retries` expects a whole number of re-runs: `retries = 2`",
            ));
        }
        self.retries = Some((ident, value));
        Ok(())
    }

    /// `crate = some::path` or `crate = "some::path"`.
    fn set_crate(&mut self, ident: Ident, value: Option<Expr>) -> syn::Result<()> {
        Key::Crate.once(&self.krate, &ident)?;
        let value = Key::Crate.value(&ident, value)?;
        self.krate = Some(RuntimePath::from_option(&value)?);
        Ok(())
    }
}

/// An option's value: an expression, stopping before the `,` that ends it.
fn parse_value(input: ParseStream) -> syn::Result<Expr> {
    Expr::parse_without_eager_brace(input)
}

fn backend_name(value: &Expr) -> syn::Result<BackendName> {
    let name = match value {
        Expr::Path(path) if path.qself.is_none() => path.path.get_ident().map(Ident::to_string),
        _ => None,
    };
    match name.as_deref() {
        Some("rayon") => Ok(BackendName::Rayon),
        Some("threads") => Ok(BackendName::Threads),
        Some("process") => Ok(BackendName::Process),
        Some("mpi") => Ok(BackendName::Mpi),
        Some(other) => Err(syn::Error::new_spanned(
            value,
            format!("unknown backend `{other}`; expected `rayon`, `threads`, `process` or `mpi`"),
        )),
        None => Err(syn::Error::new_spanned(
            value,
            "expected a backend name: `backend = rayon`, `backend = threads`, `backend = process` or \
             `backend = mpi`",
        )),
    }
}

/// `workers` and `chunk`: a literal is checked here; any other expression is checked by its type
/// and, for zero, at run time. Only `workers` may be negative (counted from the cores).
fn count(value: Expr, key: Key) -> syn::Result<Expr> {
    let (negative, lit) = match &value {
        Expr::Lit(ExprLit { lit, .. }) => (false, lit),
        Expr::Unary(ExprUnary {
            op: UnOp::Neg(_),
            expr,
            ..
        }) => match &**expr {
            Expr::Lit(ExprLit { lit, .. }) => (true, lit),
            _ => return Ok(value),
        },
        _ => return Ok(value),
    };
    let (name, example) = (key.name(), key.example());
    let negative_ok = key == Key::Workers;
    let example = if negative_ok {
        format!("`{example}`, or `{name} = -1` for one per core")
    } else {
        format!("`{example}`")
    };
    let Lit::Int(int) = lit else {
        return Err(syn::Error::new_spanned(
            &value,
            format!("`{name}` expects a whole number: {example}"),
        ));
    };
    let zero = int.base10_parse::<u128>().map(|n| n == 0).unwrap_or(false);
    if zero || (negative && !negative_ok) {
        return Err(syn::Error::new_spanned(
            &value,
            format!("`{name}` must be at least 1: {example}"),
        ));
    }
    Ok(value)
}

/// Skips every token left: after a broken option list, so that the macro's parse as a whole
/// succeeds and the options' error is reported beside an expansion that still type-checks.
pub(crate) fn skip_rest(input: ParseStream) -> syn::Result<()> {
    input.step(|cursor| {
        let mut rest = *cursor;
        while let Some((_, next)) = rest.token_tree() {
            rest = next;
        }
        Ok(((), rest))
    })
}

/// Parses what follows a macro's `;`: the options, or nothing.
pub(crate) fn parse_after_semicolon(input: ParseStream) -> syn::Result<Options> {
    if input.is_empty() {
        return Ok(Options::default());
    }
    let semi = input.parse::<Token![;]>()?;
    if input.is_empty() {
        return Err(syn::Error::new(
            semi.span,
            format!(
                "expected options after `;`, one of {}; or remove the `;`",
                Key::list()
            ),
        ));
    }
    input.parse()
}

/// The options inside `#[parallel(...)]`, and their mistakes. With a mistake, the options are
/// `Options::fallback` of what parsed, so that the function still expands.
pub(crate) fn parse_attribute(args: TokenStream) -> (Options, Option<syn::Error>) {
    let mut options = Options::default();
    match (|input: ParseStream| options.parse_list(input)).parse2(args) {
        Ok(()) => (options, None),
        Err(err) => (options.fallback(), Some(err)),
    }
}
