//! The link-time registry of `#[parallel]` functions: how a worker finds the function a task
//! names, by a stable identity and never by an address.
//!
//! `#[parallel] fn f` adds an [`Entry`] to [`TASKS`] (a `linkme` distributed slice, gathered by the
//! linker). Parent and worker run the same executable, so they hold the same entries; a worker
//! asked for an identity it does not hold answers with an error.

use std::any::TypeId;
use std::collections::HashMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::OnceLock;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::panic_message;

/// One `#[parallel]` function that can run in a worker process.
#[derive(Debug)]
pub struct Entry {
    /// The stable identity: module path, name and place of definition.
    pub id: &'static str,
    /// The function's name, for messages.
    pub name: &'static str,
    /// The type of the function item, so that the parent can find the entry from the function.
    pub type_id: fn() -> TypeId,
    /// Runs the function on `count` postcard-encoded argument tuples read from `args`, appending
    /// their outcomes to `out` (the layout is in the `protocol` module).
    pub invoke: Invoke,
}

/// See [`Entry::invoke`].
pub type Invoke = fn(args: &[u8], count: u32, out: &mut Vec<u8>) -> Result<(), String>;

/// Every `#[parallel]` function of the program that can run in a process.
#[linkme::distributed_slice]
pub static TASKS: [Entry];

/// The entry with this identity.
pub(crate) fn by_id(id: &str) -> Option<&'static Entry> {
    static BY_ID: OnceLock<HashMap<&'static str, &'static Entry>> = OnceLock::new();
    BY_ID
        .get_or_init(|| TASKS.iter().map(|entry| (entry.id, entry)).collect())
        .get(id)
        .copied()
}

/// The entry of the function item type `F`.
pub(crate) fn by_type(type_id: TypeId) -> Option<&'static Entry> {
    static BY_TYPE: OnceLock<HashMap<TypeId, &'static Entry>> = OnceLock::new();
    BY_TYPE
        .get_or_init(|| {
            TASKS
                .iter()
                .map(|entry| ((entry.type_id)(), entry))
                .collect()
        })
        .get(&type_id)
        .copied()
}

/// The body of every [`Entry::invoke`] whose function takes and returns serde data: decodes each
/// argument tuple, calls `f`, catches a panic, and encodes the outcome.
///
/// # Errors
///
/// When the arguments do not decode or the result does not encode.
pub fn invoke_batch<Args, R>(
    args: &[u8],
    count: u32,
    out: &mut Vec<u8>,
    f: impl Fn(Args) -> R,
) -> Result<(), String>
where
    Args: DeserializeOwned,
    R: Serialize,
{
    let values_start = out.len();
    let mut failures = Vec::new();
    // One deserializer walks the whole batch.
    let mut decoder = postcard::Deserializer::from_bytes(args);
    for index in 0..count {
        let value = Args::deserialize(&mut decoder)
            .map_err(|e| format!("could not decode the arguments: {e}"))?;
        match catch_unwind(AssertUnwindSafe(|| f(value))) {
            Ok(returned) => super::protocol::encode(&returned, out)
                .map_err(|e| format!("could not encode the result: {e}"))?,
            Err(payload) => failures.push((index, panic_message(&*payload).to_owned())),
        }
    }
    super::protocol::finish_outcomes(out, values_start, &failures)
}

/// Picks, at the definition of a `#[parallel]` function, the invoker for its types: the serde
/// one where arguments and result are serde data, else one that answers with an error (such a
/// function is never sent to a process: the call site's bounds reject it first).
pub struct Invoker<Args, R>(std::marker::PhantomData<fn(Args) -> R>);

impl<Args, R> Invoker<Args, R> {
    /// The probe value.
    pub const fn new() -> Self {
        Invoker(std::marker::PhantomData)
    }
}

impl<Args, R> Default for Invoker<Args, R> {
    fn default() -> Self {
        Self::new()
    }
}

/// The serde invoker, picked where the bounds hold.
pub trait ViaSerde<Args, R> {
    /// Runs `f` on a batch; see [`invoke_batch`].
    ///
    /// # Errors
    ///
    /// When the arguments do not decode or the result does not encode.
    fn __parallel_invoke(
        &self,
        args: &[u8],
        count: u32,
        out: &mut Vec<u8>,
        f: impl Fn(Args) -> R,
    ) -> Result<(), String>;
}

impl<Args: DeserializeOwned, R: Serialize> ViaSerde<Args, R> for Invoker<Args, R> {
    fn __parallel_invoke(
        &self,
        args: &[u8],
        count: u32,
        out: &mut Vec<u8>,
        f: impl Fn(Args) -> R,
    ) -> Result<(), String> {
        invoke_batch(args, count, out, f)
    }
}

/// The fallback invoker, for functions whose types are not serde data.
pub trait ViaNothing<Args, R> {
    /// Answers that the function cannot run in a process.
    ///
    /// # Errors
    ///
    /// Always.
    fn __parallel_invoke(
        &self,
        args: &[u8],
        count: u32,
        out: &mut Vec<u8>,
        f: impl Fn(Args) -> R,
    ) -> Result<(), String>;
}

impl<Args, R> ViaNothing<Args, R> for &Invoker<Args, R> {
    fn __parallel_invoke(
        &self,
        _: &[u8],
        _: u32,
        _: &mut Vec<u8>,
        _: impl Fn(Args) -> R,
    ) -> Result<(), String> {
        Err("its arguments or result are not serde data".to_owned())
    }
}
