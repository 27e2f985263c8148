//! The option names a macro accepts: their spelling, an example of each, and the errors of a
//! repeated or bare key.

use syn::{Expr, Ident};

/// An option's name, parsed once: every check and message starts from it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Key {
    Backend,
    Workers,
    Chunk,
    Progress,
    Timeout,
    Retries,
    Crate,
}

impl Key {
    /// Every key, in the order error messages list them.
    pub(super) const ALL: [Key; 7] = [
        Key::Backend,
        Key::Workers,
        Key::Chunk,
        Key::Progress,
        Key::Timeout,
        Key::Retries,
        Key::Crate,
    ];

    /// The key `ident` names, exactly as written (a raw `r#backend` names none).
    pub(super) fn of(ident: &Ident) -> Option<Key> {
        let name = ident.to_string();
        Key::ALL.into_iter().find(|key| key.name() == name)
    }

    /// The name as the user writes it.
    pub(super) fn name(self) -> &'static str {
        match self {
            Key::Backend => "backend",
            Key::Workers => "workers",
            Key::Chunk => "chunk",
            Key::Progress => "progress",
            Key::Timeout => "timeout",
            Key::Retries => "retries",
            Key::Crate => "crate",
        }
    }

    /// The option written with a typical value, for messages.
    pub(super) fn example(self) -> &'static str {
        match self {
            Key::Backend => "backend = threads",
            Key::Workers => "workers = 4",
            Key::Chunk => "chunk = 100",
            Key::Progress => "progress = true",
            Key::Timeout => "timeout = Duration::from_secs(5)",
            Key::Retries => "retries = 2",
            Key::Crate => "crate = ::parallel",
        }
    }

    /// "`backend`, `workers`, …": every name, for "expected one of" messages.
    pub(super) fn list() -> String {
        let names: Vec<String> = Key::ALL
            .iter()
            .map(|key| format!("`{}`", key.name()))
            .collect();
        names.join(", ")
    }

    /// Rejects a second occurrence of the key, blamed where it is written.
    pub(super) fn once<T>(self, slot: &Option<T>, ident: &Ident) -> syn::Result<()> {
        match slot {
            Some(_) => Err(syn::Error::new(
                ident.span(),
                format!("duplicate option `{}`; set it once", self.name()),
            )),
            None => Ok(()),
        }
    }

    /// The value of a key that needs one; a bare key is blamed with an example.
    pub(super) fn value(self, ident: &Ident, value: Option<Expr>) -> syn::Result<Expr> {
        value.ok_or_else(|| {
            syn::Error::new(
                ident.span(),
                format!(
                    "option `{}` needs a value: `{}`",
                    self.name(),
                    self.example()
                ),
            )
        })
    }
}
