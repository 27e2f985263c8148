use std::sync::mpsc;
use std::task::Wake;

use super::*;
use crate::error::ErrorKind;

#[test]
fn a_completed_task_joins_to_its_value() {
    let (task, completer) = pair(None);
    assert!(!task.is_finished());
    completer.run(|| 5);
    assert!(task.is_finished());
    assert_eq!(task.join().unwrap(), 5);
}

#[test]
fn a_panic_becomes_an_error_with_the_message_and_name() {
    let (task, completer) = pair::<()>(Some("jobs::crunch".into()));
    completer.run(|| panic!("bad input"));
    let err = task.join().unwrap_err();
    assert_eq!(err.panic_message(), Some("bad input"));
    assert_eq!(err.name(), Some("jobs::crunch"));
}

#[test]
fn a_dropped_completer_cancels_instead_of_hanging() {
    let (task, completer) = pair::<u8>(None);
    drop(completer);
    assert_eq!(task.join().unwrap_err().kind(), &ErrorKind::Cancelled);
}

#[test]
fn a_cancelled_task_does_not_run() {
    let (task, completer) = pair::<u8>(None);
    assert!(task.cancel());
    let (ran_tx, ran_rx) = mpsc::channel();
    completer.run(move || {
        ran_tx.send(()).unwrap();
        1
    });
    assert!(ran_rx.try_recv().is_err(), "the work ran after cancel");
    assert_eq!(task.join().unwrap_err().kind(), &ErrorKind::Cancelled);
}

#[test]
fn join_timeout_reports_a_timeout_and_cancels() {
    let (task, completer) = pair::<u8>(Some("slow".into()));
    let err = task.join_timeout(Duration::from_millis(1)).unwrap_err();
    assert!(err.is_timeout());
    assert_eq!(err.name(), Some("slow"));
    let (ran_tx, ran_rx) = mpsc::channel();
    completer.run(move || {
        ran_tx.send(()).unwrap();
        1
    });
    assert!(ran_rx.try_recv().is_err(), "a timed-out task started later");
}

struct Flag(mpsc::Sender<()>);

impl Wake for Flag {
    fn wake(self: Arc<Self>) {
        self.0.send(()).unwrap();
    }
}

#[test]
fn polling_registers_a_waker_that_completion_wakes() {
    let (mut task, completer) = pair(None);
    let (tx, rx) = mpsc::channel();
    let waker = Waker::from(Arc::new(Flag(tx)));
    let mut cx = Context::from_waker(&waker);
    assert!(Pin::new(&mut task).poll(&mut cx).is_pending());
    std::thread::spawn(move || completer.run(|| "late"))
        .join()
        .unwrap();
    rx.recv().expect("the waker was not woken");
    match Pin::new(&mut task).poll(&mut cx) {
        Poll::Ready(Ok(value)) => assert_eq!(value, "late"),
        other => panic!("expected the value, got {other:?}"),
    }
}

#[test]
fn names_are_kept_for_functions_and_dropped_for_closures() {
    fn named() {}
    let closure = || ();
    assert_eq!(name_of_val(&named).as_deref(), Some("named"));
    fn generic<T>(_: T) {}
    assert_eq!(name_of_val(&generic::<String>).as_deref(), Some("generic"));
    assert_eq!(name_of_val(&closure), None);
}

fn name_of_val<F>(_: &F) -> Option<Cow<'static, str>> {
    name_of::<F>()
}

/// Python's cancelled future is done at once: so is a cancelled task, whatever its backend
/// does with it later.
#[test]
fn a_cancelled_task_is_finished_at_once() {
    let (mut task, completer) = pair::<u8>(Some("queued".into()));
    let (tx, rx) = mpsc::channel();
    let waker = Waker::from(Arc::new(Flag(tx)));
    let mut cx = Context::from_waker(&waker);
    assert!(Pin::new(&mut task).poll(&mut cx).is_pending());
    assert!(task.cancel());
    rx.try_recv().expect("cancel did not wake the waker");
    assert!(task.is_finished());
    assert!(task.wait_timeout(Duration::ZERO));
    // The backend's later completion changes nothing.
    completer.run(|| 1);
    let err = task.join_timeout(Duration::ZERO).unwrap_err();
    assert_eq!(err.kind(), &ErrorKind::Cancelled);
    assert_eq!(err.name(), Some("queued"));
}

#[test]
fn join_returns_at_once_for_a_task_cancelled_while_queued() {
    let (task, _completer) = pair::<u8>(None);
    assert!(task.cancel());
    // The completer is alive and never runs: `join` must not wait for it.
    assert_eq!(task.join().unwrap_err().kind(), &ErrorKind::Cancelled);
}
