//! Checks of a `par_map!`: its options, and that only a `#[parallel]` function path runs in a
//! process.

use syn::Expr;

use super::parse::ParMap;
use crate::options::Options;

impl ParMap {
    /// Checks the options against the function: what expand runs the map with.
    pub(crate) fn validate(&self) -> syn::Result<&Options> {
        let options = self.options.as_ref().map_err(Clone::clone)?;
        // A function path may run in a process by its own default or the environment: its
        // `#[parallel]` registration is then checked at compile time (see `expand`).
        options.reject_process_only(matches!(self.f, Expr::Path(_)))?;
        if options.is_process()
            && let Expr::Path(path) = &self.f
        {
            crate::process_task::reject_associated(path)?;
        }
        if options.is_process() && !matches!(self.f, Expr::Path(_)) {
            return Err(syn::Error::new_spanned(
                &self.f,
                format!(
                    "only a `#[parallel]` function can run in a worker process, not a closure \
                     or another expression: move the code into `#[parallel] fn task(item: T) \
                     -> U` and write `par_map!(task, items; backend = {})`",
                    options.process_backend_name()
                ),
            ));
        }
        Ok(options)
    }
}
