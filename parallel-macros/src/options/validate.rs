//! Checks of the options against where the call runs: process-only options, and `chunk`.

use super::written::{BackendName, Options};

impl Options {
    /// Rejects `timeout` and `retries` where the call cannot run in a process: a thread cannot
    /// be stopped, and does not die alone. `may_run_in_process` says whether the call can take
    /// the process backend from elsewhere (the function's `#[parallel(backend = process)]`, or
    /// `PARALLEL_BACKEND`) when it names no backend.
    pub(crate) fn reject_process_only(&self, may_run_in_process: bool) -> syn::Result<()> {
        let allowed = match &self.backend {
            Some((_, backend)) => matches!(backend, BackendName::Process | BackendName::Mpi),
            None => may_run_in_process,
        };
        if allowed {
            return Ok(());
        }
        if let Some((key, _)) = &self.timeout {
            return Err(syn::Error::new(
                key.span(),
                "`timeout` needs `backend = process` (or `mpi`): a thread cannot be stopped \
                 safely; add `backend = process`, or remove it",
            ));
        }
        if let Some((key, _)) = &self.retries {
            return Err(syn::Error::new(
                key.span(),
                "`retries` needs `backend = process` (or `mpi`): it re-runs a task whose worker \
                 process died; add `backend = process`, or remove it",
            ));
        }
        Ok(())
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
}
