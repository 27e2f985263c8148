//! How a panic crosses the wire: the worker's panic hook records where it happened (and its
//! backtrace, when `RUST_BACKTRACE` asks for one), the call's failure carries both in its
//! message, and the parent reads them back out.

use super::failure::{FailureKind, cut_to};
use super::frame::{MAX_MESSAGE, Malformed};

thread_local! {
    /// Where the last panic of this thread happened, as the worker's panic hook saw it.
    static PANIC_LOCATION: std::cell::Cell<Option<String>> = const { std::cell::Cell::new(None) };
    /// Its backtrace, when `RUST_BACKTRACE` asked the hook for one.
    static PANIC_BACKTRACE: std::cell::Cell<Option<String>> = const { std::cell::Cell::new(None) };
}

/// The longest backtrace kept for a failed call: longer ones are cut at a line's end.
const MAX_BACKTRACE: usize = 32 << 10;

/// Records the backtrace of a panic of this thread (the worker's panic hook calls it).
pub(crate) fn record_panic_backtrace(mut backtrace: String) {
    if backtrace.len() > MAX_BACKTRACE {
        let mut end = MAX_BACKTRACE;
        while !backtrace.is_char_boundary(end) {
            end -= 1;
        }
        let end = backtrace[..end].rfind('\n').map_or(end, |at| at + 1);
        backtrace.truncate(end);
        backtrace.push_str("   ...\n");
    }
    PANIC_BACKTRACE.set(Some(backtrace));
}

/// A panic's failure as the wire carries it: its kind and message, with where it happened and
/// its backtrace when they are known.
pub(crate) fn panic_on_wire(
    location: Option<&str>,
    backtrace: Option<&str>,
    message: &str,
) -> (FailureKind, String) {
    match (location, backtrace) {
        (location, Some(backtrace)) => {
            let location = location.unwrap_or("");
            // The whole must fit a failure's message: the panic's message gives way.
            let room = MAX_MESSAGE.saturating_sub(location.len() + backtrace.len() + 24);
            let message = cut_to(message, room);
            (
                FailureKind::PanickedTraced,
                format!("{location}\n{}\n{backtrace}{message}", backtrace.len()),
            )
        }
        (Some(location), None) => (FailureKind::PanickedAt, format!("{location}\n{message}")),
        (None, None) => (FailureKind::Panicked, message.to_owned()),
    }
}

/// Records where a panic of this thread happened (the worker's panic hook calls it), for the
/// failure of the call that panicked.
pub(crate) fn record_panic_location(location: String) {
    PANIC_LOCATION.set(Some(location));
}

/// Forgets a recorded location: before a call, so that none is left from an earlier one.
pub(crate) fn forget_panic_location() {
    PANIC_LOCATION.set(None);
    PANIC_BACKTRACE.set(None);
}

/// The failure of a call that panicked with `message`, with what the hook recorded of it.
pub(super) fn take_recorded(message: &str) -> (FailureKind, String) {
    let location = PANIC_LOCATION.take();
    let backtrace = PANIC_BACKTRACE.take();
    panic_on_wire(location.as_deref(), backtrace.as_deref(), message)
}

/// A failure of `kind` with `message` as the parent keeps it: a panic's location and backtrace
/// read out of its message (`(kind, message, location, backtrace)`); other kinds as they are.
///
/// # Errors
///
/// A located or traced panic whose message does not hold them.
pub(super) fn read(
    kind: FailureKind,
    message: String,
) -> Result<(FailureKind, String, Option<String>, Option<String>), Malformed> {
    Ok(match kind {
        FailureKind::PanickedAt => match message.split_once('\n') {
            Some((location, message)) => (
                FailureKind::Panicked,
                message.to_owned(),
                Some(location.to_owned()),
                None,
            ),
            None => return Err(Malformed("a located panic without its location")),
        },
        FailureKind::PanickedTraced => {
            let (location, backtrace, message) =
                split_traced(&message).ok_or(Malformed("a traced panic without its backtrace"))?;
            (
                FailureKind::Panicked,
                message.to_owned(),
                (!location.is_empty()).then(|| location.to_owned()),
                Some(backtrace.to_owned()),
            )
        }
        kind => (kind, message, None, None),
    })
}

/// The location, backtrace and message of a [`FailureKind::PanickedTraced`] message.
fn split_traced(text: &str) -> Option<(&str, &str, &str)> {
    let (location, rest) = text.split_once('\n')?;
    let (len, rest) = rest.split_once('\n')?;
    let len: usize = len.parse().ok()?;
    if len > rest.len() || !rest.is_char_boundary(len) {
        return None;
    }
    let (backtrace, message) = rest.split_at(len);
    Some((location, backtrace, message))
}
