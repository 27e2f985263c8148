//! Decoding the results of a request, and the runs of results a map hands out.

use serde::de::DeserializeOwned;

use std::panic::{AssertUnwindSafe, catch_unwind};

use super::protocol::{self, CallFailure, DecodeValue, FailureKind, Outcome, Outcomes};
use crate::error::{TaskError, WorkerExit, panic_message};

/// Decodes the outcomes of calls `first..`, tuples with the function's `decode`
/// ([`ValueCodec`](protocol::ValueCodec)); errors carry `name` when given.
///
/// Each call fails alone: a value that does not decode, or whose `Deserialize` panics, is that
/// call's error, and the other calls keep their values.
pub(super) fn decode_results<R: DeserializeOwned + 'static>(
    outcomes: &Outcomes<'_>,
    first: usize,
    name: Option<&'static str>,
    decode: Option<DecodeValue>,
) -> Results<R> {
    if outcomes.all_returned() {
        // The usual request: every call returned, and the values go straight into a `Vec`.
        let decoded = catch_unwind(AssertUnwindSafe(|| {
            let mut decoded = (Vec::with_capacity(outcomes.len()), false);
            outcomes.decode_values::<R, _>(
                |bytes| protocol::decode_value(bytes, decode),
                &mut decoded,
                |(values, _), _, value| values.push(value),
                |(_, failed), _, _| *failed = true,
            );
            let (values, failed) = decoded;
            (!failed).then_some(values)
        }));
        if let Ok(Some(values)) = decoded {
            return Results::Values(values);
        }
        // Some value failed: decode them again one by one, to fail only that call.
    }
    let named = |error: TaskError, index: usize| {
        let error = error.with_index(index);
        match name {
            Some(name) => error.with_name(name),
            None => error,
        }
    };
    let mixed = outcomes
        .iter()
        .zip(first..)
        .map(|(outcome, index)| match outcome {
            Outcome::Value(bytes) => decode_one(bytes, decode).map_err(|error| named(error, index)),
            Outcome::Failed(failure) => Err(named(failure_error(failure), index)),
        })
        .collect();
    Results::Mixed(mixed)
}

/// Decodes one value, catching a panic of its `Deserialize` impl.
fn decode_one<R: DeserializeOwned + 'static>(
    bytes: &[u8],
    decode: Option<DecodeValue>,
) -> Result<R, TaskError> {
    match catch_unwind(AssertUnwindSafe(|| {
        protocol::decode_value::<R>(bytes, decode)
    })) {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(message)) => Err(TaskError::serialization(format!(
            "could not decode the result: {message}"
        ))),
        Err(payload) => Err(TaskError::serialization(format!(
            "could not decode the result: its `Deserialize` panicked: {}",
            panic_message(&*payload)
        ))),
    }
}

/// The error of a call that failed in the worker (or in a process pool of an MPI rank).
pub(super) fn failure_error(failure: &CallFailure) -> TaskError {
    match failure.kind {
        FailureKind::Panicked | FailureKind::PanickedAt | FailureKind::PanickedTraced => {
            let mut err = TaskError::panicked(Box::new(failure.message.clone()));
            if let Some(location) = &failure.location {
                err = err.with_location(location.clone());
            }
            if let Some(backtrace) = &failure.backtrace {
                err = err.with_backtrace(backtrace.clone());
            }
            err
        }
        FailureKind::Arguments | FailureKind::Result => {
            TaskError::serialization(failure.message.clone())
        }
        FailureKind::WorkerDied => TaskError::worker_died(exit_from_wire(&failure.message)),
        FailureKind::TimedOut => TaskError::timed_out(std::time::Duration::from_nanos(
            failure.message.parse().unwrap_or(0),
        )),
        FailureKind::Cancelled => TaskError::cancelled(),
        FailureKind::Refused => TaskError::refused(failure.message.clone()),
        FailureKind::Protocol => TaskError::protocol(failure.message.clone()),
    }
}

/// How a worker ended, as [`FailureKind::WorkerDied`] carries it: `code N`, `signal N`, or
/// anything else for unknown.
#[cfg(feature = "mpi")]
pub(super) fn exit_to_wire(exit: WorkerExit) -> String {
    match exit {
        WorkerExit::Code(code) => format!("code {code}"),
        WorkerExit::Signal(signal) => format!("signal {signal}"),
        WorkerExit::Unknown => "unknown".to_owned(),
    }
}

fn exit_from_wire(text: &str) -> WorkerExit {
    let number = |rest: &str| rest.parse::<i32>().ok();
    if let Some(code) = text.strip_prefix("code ").and_then(number) {
        WorkerExit::Code(code)
    } else if let Some(signal) = text.strip_prefix("signal ").and_then(number) {
        WorkerExit::Signal(signal)
    } else {
        WorkerExit::Unknown
    }
}

/// The results of one request's calls, in call order.
pub(super) enum Results<R> {
    /// Every call returned: the usual case, kept as one `Vec`.
    Values(Vec<R>),
    /// Some call failed.
    Mixed(Vec<Result<R, TaskError>>),
}

/// The results of consecutive calls, from `first` on.
pub(crate) struct ResultRun<R> {
    pub(super) first: usize,
    pub(super) results: Results<R>,
}

impl<R> ResultRun<R> {
    pub(super) fn single(index: usize, result: Result<R, TaskError>) -> Self {
        ResultRun {
            first: index,
            results: Results::Mixed(vec![result]),
        }
    }

    /// How many calls the batch holds.
    pub(crate) fn len(&self) -> usize {
        match &self.results {
            Results::Values(values) => values.len(),
            Results::Mixed(mixed) => mixed.len(),
        }
    }

    /// The index of the first call and the value of every call, where every call returned;
    /// else the batch, to be read call by call.
    pub(crate) fn into_values(self) -> Result<(usize, Vec<R>), Self> {
        match self.results {
            Results::Values(values) => Ok((self.first, values)),
            results => Err(ResultRun {
                first: self.first,
                results,
            }),
        }
    }
}

impl<R> IntoIterator for ResultRun<R> {
    type Item = (usize, Result<R, TaskError>);
    type IntoIter = ResultRunIter<R>;

    fn into_iter(self) -> ResultRunIter<R> {
        let results = match self.results {
            Results::Values(values) => Items::Values(values.into_iter()),
            Results::Mixed(mixed) => Items::Mixed(mixed.into_iter()),
        };
        ResultRunIter {
            next: self.first,
            results,
        }
    }
}

/// The results of a [`ResultRun`], as `(index, result)`.
pub(crate) struct ResultRunIter<R> {
    next: usize,
    results: Items<R>,
}

pub(super) enum Items<R> {
    Values(std::vec::IntoIter<R>),
    Mixed(std::vec::IntoIter<Result<R, TaskError>>),
}

impl<R> Default for ResultRunIter<R> {
    fn default() -> Self {
        ResultRunIter {
            next: 0,
            results: Items::Mixed(Vec::new().into_iter()),
        }
    }
}

impl<R> Iterator for ResultRunIter<R> {
    type Item = (usize, Result<R, TaskError>);

    fn next(&mut self) -> Option<Self::Item> {
        let result = match &mut self.results {
            Items::Values(values) => Ok(values.next()?),
            Items::Mixed(mixed) => mixed.next()?,
        };
        self.next += 1;
        Some((self.next - 1, result))
    }
}
