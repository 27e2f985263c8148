//! The options as written, each with the tokens to blame for it.

use syn::{Expr, Ident};

use crate::runtime_path::RuntimePath;

/// The backends an option can name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum BackendName {
    Rayon,
    Threads,
    Process,
    /// The worker ranks of an MPI job: the process backend's tasks, on another transport.
    Mpi,
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

impl Options {
    /// The runtime root: `::parallel` unless `crate = …` says otherwise.
    pub(crate) fn runtime(&self) -> RuntimePath {
        self.krate.clone().unwrap_or_default()
    }

    /// The default options under the same runtime root: what `#[parallel]` expands with when
    /// its options are wrong, so that its callers see the function's hidden trait and registry
    /// entry and only the mistake is reported.
    pub(crate) fn fallback(&self) -> Options {
        Options {
            krate: self.krate.clone(),
            ..Options::default()
        }
    }

    /// Whether the options name the process backend, or MPI (which runs the same tasks, with
    /// the same checks).
    pub(crate) fn is_process(&self) -> bool {
        matches!(
            self.backend,
            Some((_, BackendName::Process | BackendName::Mpi))
        )
    }

    /// The name of the backend that runs `#[parallel]` functions in other processes, as
    /// written: `mpi`, or `process` (also when none is written).
    pub(crate) fn process_backend_name(&self) -> &'static str {
        match self.backend {
            Some((_, BackendName::Mpi)) => "mpi",
            _ => "process",
        }
    }

    /// Whether `timeout` or `retries` is set.
    pub(crate) fn has_process_only(&self) -> bool {
        self.timeout.is_some() || self.retries.is_some()
    }
}
