//! The options every macro shares: `backend = …, workers = …, chunk = …, progress, timeout = …,
//! retries = …,
//! crate = …`, parsed once and checked per macro.

use proc_macro2::TokenStream;
use quote::{ToTokens, quote, quote_spanned};
use syn::ext::IdentExt;
use syn::parse::{Parse, ParseStream};
use syn::spanned::Spanned;
use syn::{Expr, ExprLit, ExprUnary, Ident, Lit, Path, Token, UnOp};

use crate::runtime_path::RuntimePath;

/// The option names, in the order error messages list them.
const NAMES: &str = "`backend`, `workers`, `chunk`, `progress`, `timeout`, `retries`, `crate`";

/// The backends an option can name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum BackendName {
    Rayon,
    Threads,
    Process,
}

/// Options as written, each with the tokens to blame for it.
#[derive(Default)]
pub(crate) struct Options {
    pub backend: Option<(Ident, BackendName)>,
    pub workers: Option<(Ident, Expr)>,
    pub chunk: Option<(Ident, Expr)>,
    pub progress: Option<(Ident, Option<Expr>)>,
    pub timeout: Option<(Ident, Expr)>,
    pub retries: Option<(Ident, Expr)>,
    pub krate: Option<RuntimePath>,
}

impl Parse for Options {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let mut options = Options::default();
        let mut errors: Option<syn::Error> = None;
        while !input.is_empty() {
            let result = options.parse_one(input).and_then(|()| {
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
            None => Ok(options),
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
            return Err(input.error(format!("expected an option name, one of {NAMES}")));
        }
        let key = Ident::parse_any(input)?;
        let value: Option<Expr> = if input.peek(Token![=]) {
            input.parse::<Token![=]>()?;
            Some(parse_value(input)?)
        } else {
            None
        };
        let name = key.to_string();
        let duplicate = match name.as_str() {
            "backend" => self.backend.is_some(),
            "workers" => self.workers.is_some(),
            "chunk" => self.chunk.is_some(),
            "progress" => self.progress.is_some(),
            "timeout" => self.timeout.is_some(),
            "retries" => self.retries.is_some(),
            "crate" => self.krate.is_some(),
            _ => {
                return Err(syn::Error::new(
                    key.span(),
                    format!("unknown option `{name}`; expected one of {NAMES}"),
                ));
            }
        };
        if duplicate {
            return Err(syn::Error::new(
                key.span(),
                format!("duplicate option `{name}`; set it once"),
            ));
        }
        if name == "progress" {
            if let Some(value @ Expr::Lit(ExprLit { lit, .. })) = &value {
                if !matches!(lit, Lit::Bool(_)) {
                    return Err(syn::Error::new_spanned(
                        value,
                        "`progress` expects `true` or `false`: `progress`, or `progress = false`",
                    ));
                }
            }
            self.progress = Some((key, value));
            return Ok(());
        }
        let Some(value) = value else {
            let example = match name.as_str() {
                "backend" => "backend = threads",
                "workers" => "workers = 4",
                "chunk" => "chunk = 100",
                "timeout" => "timeout = Duration::from_secs(5)",
                "retries" => "retries = 2",
                _ => "crate = ::parallel",
            };
            return Err(syn::Error::new(
                key.span(),
                format!("option `{name}` needs a value: `{example}`"),
            ));
        };
        match name.as_str() {
            "backend" => self.backend = Some((key, backend_name(&value)?)),
            "workers" => self.workers = Some((key, count(value, "workers", true)?)),
            "chunk" => self.chunk = Some((key, count(value, "chunk", false)?)),
            "timeout" => self.timeout = Some((key, duration(value)?)),
            "retries" => self.retries = Some((key, retries(value)?)),
            _ => self.krate = Some(RuntimePath::from_option(&value)?),
        }
        Ok(())
    }

    /// The runtime root: `::parallel` unless `crate = …` says otherwise.
    pub(crate) fn runtime(&self) -> RuntimePath {
        self.krate.clone().unwrap_or_default()
    }

    /// Whether the options name the process backend.
    pub(crate) fn is_process(&self) -> bool {
        matches!(self.backend, Some((_, BackendName::Process)))
    }

    /// Rejects `timeout` and `retries` where the call cannot run in a process: a thread cannot
    /// be stopped, and does not die alone. `may_run_in_process` says whether the call can take
    /// the process backend from elsewhere (the function's `#[parallel(backend = process)]`, or
    /// `PARALLEL_BACKEND`) when it names no backend.
    pub(crate) fn reject_process_only(&self, may_run_in_process: bool) -> syn::Result<()> {
        let allowed = match &self.backend {
            Some((_, backend)) => *backend == BackendName::Process,
            None => may_run_in_process,
        };
        if allowed {
            return Ok(());
        }
        if let Some((key, _)) = &self.timeout {
            return Err(syn::Error::new(
                key.span(),
                "`timeout` needs `backend = process`: a thread cannot be stopped safely; add \
                 `backend = process`, or remove it",
            ));
        }
        if let Some((key, _)) = &self.retries {
            return Err(syn::Error::new(
                key.span(),
                "`retries` needs `backend = process`: it re-runs a task whose worker process \
                 died; add `backend = process`, or remove it",
            ));
        }
        Ok(())
    }

    /// Whether `timeout` or `retries` is set.
    pub(crate) fn has_process_only(&self) -> bool {
        self.timeout.is_some() || self.retries.is_some()
    }

    /// Rejects `chunk` where the macro has no items to chunk.
    pub(crate) fn reject_chunk(&self, macro_name: &str) -> syn::Result<()> {
        match &self.chunk {
            Some((key, _)) => Err(syn::Error::new(
                key.span(),
                format!("`chunk` applies to `par_map!` only; remove it from `{macro_name}`"),
            )),
            None => Ok(()),
        }
    }

    /// The runtime's `Options` value for these options.
    pub(crate) fn to_runtime(&self, runtime: &RuntimePath) -> TokenStream {
        let private = runtime.private();
        let some_or_none = |value: Option<TokenStream>| match value {
            Some(value) => quote!(::core::option::Option::Some(#value)),
            None => quote!(::core::option::Option::None),
        };
        let backend = some_or_none(self.backend.as_ref().map(|(key, name)| {
            let variant = match name {
                BackendName::Rayon => quote_spanned!(key.span()=> Rayon),
                BackendName::Threads => quote_spanned!(key.span()=> Threads),
                BackendName::Process => quote_spanned!(key.span()=> Process),
            };
            quote!(#private::Backend::#variant)
        }));
        let workers = some_or_none(
            self.workers
                .as_ref()
                .map(|(_, value)| quote_spanned!(value.span()=> #private::workers(#value))),
        );
        let chunk = some_or_none(
            self.chunk
                .as_ref()
                .map(|(_, value)| quote_spanned!(value.span()=> #private::chunk(#value))),
        );
        let progress = some_or_none(self.progress.as_ref().map(|(key, value)| match value {
            Some(value) => value.to_token_stream(),
            None => quote_spanned!(key.span()=> true),
        }));
        let timeout = some_or_none(self.timeout.as_ref().map(|(_, v)| v.to_token_stream()));
        let retries = some_or_none(self.retries.as_ref().map(|(_, v)| v.to_token_stream()));
        quote!(#private::options(#backend, #workers, #chunk, #progress, #timeout, #retries))
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
        Some(other) => Err(syn::Error::new_spanned(
            value,
            format!("unknown backend `{other}`; expected `rayon`, `threads` or `process`"),
        )),
        None => Err(syn::Error::new_spanned(
            value,
            "expected a backend name: `backend = rayon`, `backend = threads` or `backend = process`",
        )),
    }
}

/// `workers` and `chunk`: a literal is checked here; any other expression is checked by its type
/// and, for zero, at run time.
fn count(value: Expr, name: &str, negative_ok: bool) -> syn::Result<Expr> {
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
    let example = if negative_ok {
        format!("`{name} = 4`, or `{name} = -1` for one per core")
    } else {
        format!("`{name} = 100`")
    };
    let Lit::Int(int) = lit else {
        return Err(syn::Error::new_spanned(
            &value,
            format!("`{name}` expects a whole number: {example}"),
        ));
    };
    let zero = int.base10_parse::<u128>().map(|n| n == 0).unwrap_or(false);
    if zero {
        return Err(syn::Error::new_spanned(
            &value,
            format!("`{name}` must be at least 1: {example}"),
        ));
    }
    if negative && !negative_ok {
        return Err(syn::Error::new_spanned(
            &value,
            format!("`{name}` must be at least 1: {example}"),
        ));
    }
    Ok(value)
}

fn retries(value: Expr) -> syn::Result<Expr> {
    match &value {
        Expr::Lit(ExprLit {
            lit: Lit::Int(_), ..
        }) => Ok(value),
        Expr::Lit(_) | Expr::Unary(_) => Err(syn::Error::new_spanned(
            &value,
            "`retries` expects a whole number of re-runs: `retries = 2`",
        )),
        _ => Ok(value),
    }
}

fn duration(value: Expr) -> syn::Result<Expr> {
    match &value {
        Expr::Lit(_) => Err(syn::Error::new_spanned(
            &value,
            "`timeout` expects a `Duration`: `timeout = Duration::from_secs(5)`",
        )),
        _ => Ok(value),
    }
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
            format!("expected options after `;`, one of {NAMES}; or remove the `;`"),
        ));
    }
    input.parse()
}

/// Whether a path names a function through modules (`jobs::crunch`), so that a `use` of it can
/// bring its `#[parallel]` defaults into scope. Paths through types (`u64::pow`, `Vec::len`) are
/// left alone: a `use` cannot name an associated function.
pub(crate) fn is_module_path(path: &Path) -> bool {
    const PRIMITIVES: &[&str] = &[
        "bool", "char", "str", "u8", "u16", "u32", "u64", "u128", "usize", "i8", "i16", "i32",
        "i64", "i128", "isize", "f32", "f64", "Self",
    ];
    let parents = path.segments.len().saturating_sub(1);
    path.segments.len() > 1
        && path.segments.iter().take(parents).all(|segment| {
            let name = segment.ident.unraw().to_string();
            segment.arguments.is_none()
                && !PRIMITIVES.contains(&name.as_str())
                && !name.starts_with(|c: char| c.is_ascii_uppercase())
        })
}

/// Punctuated options inside `#[parallel(...)]`.
pub(crate) fn parse_attribute(args: TokenStream) -> syn::Result<Options> {
    syn::parse2(args)
}
