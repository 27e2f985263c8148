//! A worker's life beyond its calls: the pool's initializer, run in each new worker before its
//! first request (`Pool(initializer=..., initargs=...)`), and its replacement once it has run a
//! given number of calls (`maxtasksperchild`).

use std::num::NonZeroUsize;

use serde::Serialize;

use super::super::pool::{ProcessFn, entry_of};
use super::super::protocol::{FrameBuffer, Outcome, Outcomes, Outgoing};
use super::super::registry::Entry;
use super::super::request::RequestBuilder;
use super::super::results::failure_error;
use super::super::transport::{CallLimits, ReceiveError, Reply, Transport};
use crate::error::ConfigError;

/// How the pool's workers live.
#[derive(Default)]
pub(in crate::backend::process) struct Lifecycle {
    /// Runs in each new worker before anything else.
    pub(in crate::backend::process) initializer: Option<Initializer>,
    /// A worker is replaced once it has run this many calls (a batch is not cut).
    pub(in crate::backend::process) max_calls: Option<NonZeroUsize>,
}

/// A `#[parallel]` function and its arguments, encoded once, for every new worker.
#[derive(Clone)]
pub(in crate::backend::process) struct Initializer {
    name: &'static str,
    frame: Vec<u8>,
}

impl std::fmt::Debug for Initializer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Initializer")
            .field("name", &self.name)
            .finish()
    }
}

impl Initializer {
    /// `f(args...)` as an initializer.
    ///
    /// # Errors
    ///
    /// When `f` is not a `#[parallel]` function, or `args` do not encode.
    pub(in crate::backend::process) fn new<F, Args>(f: F, args: &Args) -> Result<Self, ConfigError>
    where
        F: ProcessFn<Args>,
        Args: Serialize + 'static,
        F::Output: 'static,
    {
        let entry: &'static Entry = entry_of(&f).map_err(|_| {
            ConfigError::new(
                "initializer",
                std::any::type_name::<F>(),
                "a `#[parallel]` function",
            )
        })?;
        let mut request = RequestBuilder::new(entry, 0);
        request.push(args).map_err(|err| {
            ConfigError::new(
                "initializer arguments",
                err.to_string(),
                "arguments that encode",
            )
        })?;
        Ok(Initializer {
            name: entry.name,
            frame: request.into_frame(),
        })
    }

    pub(in crate::backend::process) fn name(&self) -> &'static str {
        self.name
    }

    /// Runs the initializer in `worker`, which has run nothing yet.
    ///
    /// # Errors
    ///
    /// Why it failed: its panic, or the worker's end.
    pub(in crate::backend::process) fn run<T: Transport>(
        &self,
        worker: &mut T,
        buffer: &mut FrameBuffer,
    ) -> Result<(), String> {
        let mut frame = Outgoing::whole_frame(self.frame.clone());
        worker
            .send(&mut frame, CallLimits::default())
            .map_err(|e| format!("the worker went away: {e}"))?;
        match worker.receive(None, false, buffer) {
            Ok(Reply::Done {
                count: 1, outcomes, ..
            }) => match Outcomes::parse(&buffer.frame()[outcomes..], 1) {
                Ok(outcomes) => match outcomes.iter().next() {
                    Some(Outcome::Value(_)) => Ok(()),
                    Some(Outcome::Failed(failure)) => Err(failure_error(failure).to_string()),
                    None => Err("no outcome".to_owned()),
                },
                Err(malformed) => Err(malformed.to_string()),
            },
            Ok(Reply::Done { .. }) => Err("a reply to another request".to_owned()),
            Ok(Reply::Refused { message, .. }) => Err(message),
            Err(ReceiveError::Gone) => Err("the worker died in it".to_owned()),
            Err(ReceiveError::Malformed(malformed)) => Err(malformed.to_string()),
            Err(ReceiveError::TimedOut) => Err("it did not finish".to_owned()),
        }
    }
}
