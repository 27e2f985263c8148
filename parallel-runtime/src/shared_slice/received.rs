//! The worker's side: the arrays the parent sent, kept by the parent's identity.

use std::collections::HashMap;
use std::os::fd::OwnedFd;
use std::sync::{Arc, Mutex};

use super::mapping::Mapping;

/// The most arrays one worker keeps at once; more are refused (their calls fail).
const MAX_RECEIVED: usize = 1 << 16;

/// An array received, or why it could not be mapped.
type Received = Result<Arc<Mapping>, String>;

static RECEIVED: Mutex<Option<HashMap<u64, Received>>> = Mutex::new(None);

fn with_received<R>(f: impl FnOnce(&mut HashMap<u64, Received>) -> R) -> R {
    // Nothing panics under the lock: a poisoned one still holds a sound map.
    let mut received = RECEIVED.lock().unwrap_or_else(|e| e.into_inner());
    f(received.get_or_insert_with(HashMap::new))
}

/// Maps the files of arrays `ids` the parent sent (`fds`, in the same order). An id without a
/// file, or whose file is not a sealed `memfd` or does not map, is remembered with why: its
/// calls fail with that reason. Files beyond the ids are closed.
pub(crate) fn receive(ids: impl IntoIterator<Item = u64>, fds: Vec<OwnedFd>) {
    let mut fds = fds.into_iter();
    with_received(|received| {
        for id in ids {
            let array = match fds.next() {
                Some(fd) => Mapping::open(fd, id)
                    .map(Arc::new)
                    .map_err(|e| format!("`SharedSlice` {id} could not be mapped: {e}")),
                None => Err(format!("`SharedSlice` {id} arrived without its file")),
            };
            if received.len() < MAX_RECEIVED || received.contains_key(&id) {
                received.insert(id, array);
            }
        }
    });
}

/// Forgets arrays `ids`: the parent dropped them. Each is unmapped once no handle a task kept
/// holds it.
pub(crate) fn forget(ids: impl IntoIterator<Item = u64>) {
    let forgotten: Vec<Received> = with_received(|received| {
        ids.into_iter()
            .filter_map(|id| received.remove(&id))
            .collect()
    });
    // Unmapped outside the lock.
    drop(forgotten);
}

/// The array received under `id`.
pub(super) fn received(id: u64) -> Result<Arc<Mapping>, String> {
    with_received(|received| match received.get(&id) {
        Some(Ok(mapping)) => Ok(Arc::clone(mapping)),
        Some(Err(why)) => Err(why.clone()),
        None => Err(format!(
            "no `SharedSlice` {id} here: a `SharedSlice` decodes only in a worker process of \
             the pool it was sent through"
        )),
    })
}
