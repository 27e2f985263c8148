use std::sync::atomic::Ordering;

use super::*;

/// Both sides of one page, in one process: the claim word is the same memory either way.
fn page() -> Claims {
    Claims::create().expect("this system has sealed memfds")
}

#[test]
fn the_worker_starts_requests_in_order() {
    let claims = page();
    assert!(claims.start(1));
    assert!(claims.start(2));
    assert_eq!(claims.started(3, 3).unwrap(), 2);
    // Out of order: request 4 cannot start before 3.
    assert!(!claims.start(4));
}

#[test]
fn the_parent_takes_back_what_was_not_started() {
    let claims = page();
    assert!(claims.start(1));
    // Requests 1..=4 sent; 1 runs. The parent takes back 2..=4.
    assert_eq!(claims.take_back(1, 4).unwrap(), 1);
    for seq in 2..=4 {
        assert!(!claims.start(seq), "request {seq} was taken back");
    }
    // The next request sent after them starts as usual.
    assert!(claims.start(5));
    // Nothing to take back when every request sent has started.
    assert_eq!(claims.take_back(5, 5).unwrap(), 5);
}

#[test]
fn a_request_already_started_is_not_taken_back() {
    let claims = page();
    assert!(claims.start(1));
    assert!(claims.start(2));
    assert_eq!(claims.take_back(1, 3).unwrap(), 2);
    assert!(!claims.start(3));
}

#[test]
fn sequence_numbers_wrap() {
    let claims = page();
    claims.word(CLAIM).store(u32::MAX - 1, Ordering::Relaxed);
    assert!(claims.start(u32::MAX));
    assert!(claims.start(0));
    assert_eq!(claims.take_back(1, 3).unwrap(), 0);
    assert!(!claims.start(1));
    assert!(within(u32::MAX, 0, 2));
    assert!(!within(5, 0, 2));
}

#[test]
fn a_value_out_of_range_is_not_trusted() {
    let claims = page();
    claims.word(CLAIM).store(1000, Ordering::Relaxed);
    assert!(claims.started(5, 8).is_err());
    assert!(claims.take_back(5, 8).is_err());
}

#[test]
fn progress_is_reset_when_a_request_starts() {
    let claims = page();
    claims.progress().store(7, Ordering::Relaxed);
    assert!(claims.start(1));
    assert_eq!(claims.progress_of_dead(), 0);
}

#[test]
fn the_worker_maps_the_same_page() {
    let parent = page();
    let fd = parent.fd().try_clone_to_owned().unwrap();
    let worker = Claims::open(fd).unwrap();
    assert!(worker.start(1));
    assert_eq!(parent.started(2, 2).unwrap(), 1);
    // The parent cannot be made to fault: the page cannot shrink.
    assert!(rustix::fs::ftruncate(parent.fd(), 0).is_err());
}

/// After a take-back the word holds the last request taken back; the request the worker runs
/// is still known as the one it started, so that a death in it is blamed on it.
#[test]
fn the_running_request_stays_started_after_a_take_back() {
    let claims = page();
    assert!(claims.start(1));
    assert!(claims.start(2));
    assert_eq!(claims.take_back(2, 5).unwrap(), 2);
    assert_eq!(claims.started(2, 5).unwrap(), 2);
    // Request 2 answered; 6 sent; the worker skipped 3..=5 and died before claiming 6.
    assert_eq!(claims.started(6, 6).unwrap(), 5);
    // It claims 6: the word speaks for itself again.
    assert!(!claims.start(3));
    assert!(claims.start(6));
    assert_eq!(claims.started(6, 6).unwrap(), 6);
}
