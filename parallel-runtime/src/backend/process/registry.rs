//! The link-time registry of `#[parallel]` functions: how a worker finds the function a task
//! names, by a stable identity and never by an address.
//!
//! `#[parallel] fn f` adds an [`Entry`] to `TASKS` (a `linkme` distributed slice, gathered by the
//! linker). Parent and worker run the same executable, so they hold the same entries; a worker
//! asked for an identity it does not hold answers with an error.

use std::any::TypeId;
use std::collections::HashMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::OnceLock;

use serde::Serialize;

use super::protocol;
pub use super::protocol::{
    ArgsOut, Arguments, Calls, EncodeArgs, OutcomesBuilder, ValueCodec, ViaSpreadValue,
    ViaWholeValue, encode_any,
};
use crate::error::panic_message;
use crate::type_of::TypeOf;

/// One `#[parallel]` function that can run in a worker process.
#[derive(Debug)]
pub struct Entry {
    /// The stable identity: module path, name and place of definition.
    pub id: &'static str,
    /// The function's name, for messages.
    pub name: &'static str,
    /// The type of the function item, so that the parent can find the entry from the function.
    pub type_id: fn() -> TypeId,
    /// The function's address, so that the parent can find the entry from a function pointer.
    pub address: fn() -> usize,
    /// Runs the function on each call's postcard-encoded argument tuple, adding each call's
    /// outcome to `out` (the layout is in the `protocol` module).
    pub invoke: Invoke,
    /// Adds a call of the function to a request, its arguments encoded element by element
    /// ([`Arguments`]).
    pub encode: EncodeArgs,
    /// How the function's values cross when they are tuples: element by element
    /// ([`ValueCodec`]).
    pub value: fn() -> ValueCodec,
}

/// See [`Entry::invoke`].
///
/// # Errors
///
/// When the function cannot run in a process at all (its types are not serde data).
pub type Invoke = fn(calls: Calls<'_>, out: &mut OutcomesBuilder<'_>) -> Result<(), String>;

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

/// The entry of the function at `address` (a function pointer's): the first one registered
/// there (two functions the linker folded into one share it, and run the same code).
pub(crate) fn by_address(address: usize) -> Option<&'static Entry> {
    static BY_ADDRESS: OnceLock<HashMap<usize, &'static Entry>> = OnceLock::new();
    BY_ADDRESS
        .get_or_init(|| {
            let mut by_address = HashMap::new();
            for entry in TASKS.iter() {
                by_address.entry((entry.address)()).or_insert(entry);
            }
            by_address
        })
        .get(&address)
        .copied()
}

/// The body of every [`Entry::invoke`] whose function takes and returns serde data: for each
/// call, decodes its arguments, calls `f`, catches a panic, and encodes the value. Each call
/// fails alone: its arguments that do not decode, its panic, or its value that does not encode.
pub fn invoke_batch<Args, R>(calls: Calls<'_>, out: &mut OutcomesBuilder<'_>, f: impl Fn(Args) -> R)
where
    Args: Arguments,
    R: Serialize + 'static,
{
    for (index, args) in calls.iter().enumerate() {
        out.starting(index);
        // postcard drops the message of a `Deserialize` that fails through `custom`; a
        // `SharedSlice` keeps its own.
        let message = |e: postcard::Error| match e {
            postcard::Error::SerdeDeCustom => {
                crate::shared_slice::take_decode_error().unwrap_or_else(|| e.to_string())
            }
            e => e.to_string(),
        };
        let args = if let Some(args) = protocol::decode_plain::<Args>(args) {
            args
        } else if let Some((args, [])) = protocol::decode_array::<Args>(args) {
            args
        } else {
            match Args::decode(args) {
                Ok((args, [])) => args,
                Ok((_, rest)) => {
                    out.fail_arguments(index, &protocol::left_over(rest.len()));
                    continue;
                }
                Err(e) => {
                    out.fail_arguments(index, &message(e));
                    continue;
                }
            }
        };
        let mark = out.mark();
        // The call and the encoding of its value: a `Serialize` impl may panic too, and that is
        // this call's failure.
        if let Err(payload) = catch_unwind(AssertUnwindSafe(|| {
            let value = f(args);
            out.push_result(index, &value);
        })) {
            out.drop_from(mark);
            out.fail_panicked(index, panic_message(&*payload));
        }
    }
}

// At the definition of a `#[parallel]` function, the code `#[parallel]` generates picks the
// invoker and the encoder for its types on `TypeOf<fn(Args) -> R>`: the serde ones where
// arguments and result are serde data, else an invoker that answers with an error and an
// encoder that leaves the call to the generic path (such a function is never sent to a
// process: the call site's bounds reject it first).

/// The serde invoker, picked where the bounds hold.
pub trait ViaSerde<Args, R> {
    /// Runs `f` on each call; see [`invoke_batch`].
    ///
    /// # Errors
    ///
    /// Never: each call's failure is in `out`.
    fn __parallel_invoke(
        &self,
        calls: Calls<'_>,
        out: &mut OutcomesBuilder<'_>,
        f: impl Fn(Args) -> R,
    ) -> Result<(), String>;

    /// How a caller adds a call to a request: [`encode_any`] of `Args`.
    fn __parallel_encode(&self) -> EncodeArgs;
}

impl<Args: Arguments, R: Serialize + 'static> ViaSerde<Args, R> for TypeOf<fn(Args) -> R> {
    fn __parallel_invoke(
        &self,
        calls: Calls<'_>,
        out: &mut OutcomesBuilder<'_>,
        f: impl Fn(Args) -> R,
    ) -> Result<(), String> {
        invoke_batch(calls, out, f);
        Ok(())
    }

    fn __parallel_encode(&self) -> EncodeArgs {
        encode_any::<Args>
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
        calls: Calls<'_>,
        out: &mut OutcomesBuilder<'_>,
        f: impl Fn(Args) -> R,
    ) -> Result<(), String>;

    /// An encoder that adds nothing: the caller's generic path answers.
    fn __parallel_encode(&self) -> EncodeArgs;
}

impl<Args, R> ViaNothing<Args, R> for &TypeOf<fn(Args) -> R> {
    fn __parallel_invoke(
        &self,
        _: Calls<'_>,
        _: &mut OutcomesBuilder<'_>,
        _: impl Fn(Args) -> R,
    ) -> Result<(), String> {
        Err("its arguments or result are not serde data".to_owned())
    }

    fn __parallel_encode(&self) -> EncodeArgs {
        |_, _| false
    }
}
