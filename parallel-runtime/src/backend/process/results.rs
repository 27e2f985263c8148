//! Decoding the results of a request, and the runs of results a map hands out.

use serde::de::DeserializeOwned;

use super::protocol;
use crate::error::TaskError;

/// Decodes the outcomes of calls `first..first + count`; errors carry `name` when given.
pub(super) fn decode_results<R: DeserializeOwned>(
    outcomes: &[u8],
    count: u32,
    first: usize,
    name: Option<&'static str>,
) -> Results<R> {
    let end = first + count as usize;
    let named = |err: TaskError, index: usize| {
        let err = err.with_index(index);
        match name {
            Some(name) => err.with_name(name),
            None => err,
        }
    };
    let undecodable = |message: &str, from: usize| {
        let message = format!("could not decode the result: {message}");
        (from..end).map(move |index| Err(named(TaskError::refused(message.clone()), index)))
    };
    let (values, failures) = match protocol::split_outcomes(outcomes) {
        Ok(split) => split,
        Err(message) => return Results::Mixed(undecodable(&message, first).collect()),
    };
    // One deserializer walks the whole batch.
    let mut decoder = postcard::Deserializer::from_bytes(values);
    if failures.is_empty() {
        // The usual batch: every call returned, and the values go straight into a `Vec`.
        let mut values = Vec::with_capacity(count as usize);
        for index in first..end {
            match R::deserialize(&mut decoder) {
                Ok(value) => values.push(value),
                Err(e) => {
                    let mut mixed: Vec<_> = values.into_iter().map(Ok).collect();
                    mixed.extend(undecodable(&e.to_string(), index));
                    return Results::Mixed(mixed);
                }
            }
        }
        return Results::Values(values);
    }
    let mut failures = failures.into_iter().peekable();
    let mut mixed = Vec::with_capacity(count as usize);
    for index in first..end {
        if let Some((_, message)) = failures.next_if(|(at, _)| first + *at as usize == index) {
            mixed.push(Err(named(TaskError::panicked(Box::new(message)), index)));
            continue;
        }
        match R::deserialize(&mut decoder) {
            Ok(value) => mixed.push(Ok(value)),
            Err(e) => {
                mixed.extend(undecodable(&e.to_string(), index));
                break;
            }
        }
    }
    Results::Mixed(mixed)
}

/// The results of one job's calls, in call order.
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
