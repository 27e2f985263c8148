//! Large frame buffers, kept for the next request instead of freed.
//!
//! A request of megabytes of arguments is encoded into a fresh buffer: every page of it is a
//! page fault and a cleared page on first write, and the buffer grows by doubling, copying what
//! it holds each time. Buffers of requests that are done come back here and the next large
//! request reuses one, already mapped and large enough. Small buffers are not kept (the
//! allocator serves them well), nor more than [`KEPT`] of them, nor any above [`LARGEST`].

use std::sync::Mutex;

/// Buffers smaller than this are freed as usual.
const SMALLEST: usize = 64 << 10;
/// Buffers larger than this are freed as usual: they are rare, and would pin much memory.
const LARGEST: usize = 64 << 20;
/// The most buffers kept.
const KEPT: usize = 8;

static POOL: Mutex<Vec<Vec<u8>>> = Mutex::new(Vec::new());

/// An empty buffer with room for at least `capacity` bytes: a kept one when one is large
/// enough, or the largest kept one when `capacity` is large (it grows from there), else a new
/// one.
pub(crate) fn take(capacity: usize) -> Vec<u8> {
    if capacity >= SMALLEST / 4 {
        let mut pool = POOL.lock().unwrap_or_else(|e| e.into_inner());
        // The pool is kept sorted by capacity: the first large enough, or the largest.
        let at = pool
            .iter()
            .position(|kept| kept.capacity() >= capacity)
            .or_else(|| pool.len().checked_sub(1));
        if let Some(at) = at {
            let mut kept = pool.remove(at);
            drop(pool);
            kept.reserve(capacity);
            return kept;
        }
    }
    Vec::with_capacity(capacity)
}

/// Keeps `buffer` for a later request, if it is worth keeping.
pub(crate) fn give_back(mut buffer: Vec<u8>) {
    if !(SMALLEST..=LARGEST).contains(&buffer.capacity()) {
        return;
    }
    buffer.clear();
    let mut pool = POOL.lock().unwrap_or_else(|e| e.into_inner());
    let at = pool
        .iter()
        .position(|kept| kept.capacity() > buffer.capacity())
        .unwrap_or(pool.len());
    pool.insert(at, buffer);
    if pool.len() > KEPT {
        // The smallest goes.
        pool.remove(0);
    }
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn large_buffers_come_back_and_small_ones_do_not() {
        let big = take(1 << 20);
        let address = big.as_ptr();
        give_back(big);
        let again = take(1 << 20);
        assert_eq!(again.as_ptr(), address);
        assert!(again.is_empty());
        give_back(again);
        let small = vec![0u8; 100];
        give_back(small);
        assert!(
            POOL.lock()
                .unwrap()
                .iter()
                .all(|b| b.capacity() >= SMALLEST)
        );
        assert!(POOL.lock().unwrap().len() <= KEPT);
    }
}
