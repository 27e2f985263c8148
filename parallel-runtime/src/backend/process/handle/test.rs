use super::*;
use crate::backend::process::protocol::RunFrame;

/// A worker asked for a function it does not know answers with an error, and stays usable.
#[test]
fn a_worker_refuses_an_unknown_task() {
    let mut worker = WorkerHandle::start().expect("this test executable starts as a worker");
    let mut frame = RunFrame::new("no::such::task@nowhere:1:1", 0, 0).finish();
    let seq = worker.send(&mut frame).unwrap();
    let mut buffer = Vec::new();
    match worker.receive(None, true, &mut buffer) {
        Ok(Reply::Refused {
            seq: answered,
            message,
        }) => {
            assert_eq!(answered, seq);
            assert!(message.contains("no::such::task"), "{message}");
            assert!(message.contains("same executable"), "{message}");
        }
        Ok(Reply::Done { .. }) => panic!("the worker ran a task it does not know"),
        Err(e) => panic!("the worker did not answer: {e:?}"),
    }
    assert_eq!(worker.end(false), WorkerExit::Code(0));
}

/// A dropped handle kills and reaps its worker.
#[test]
fn a_dropped_handle_leaves_no_process() {
    let worker = WorkerHandle::start().expect("this test executable starts as a worker");
    let pid = worker.child.id();
    drop(worker);
    // Reaped: not even a zombie is left.
    assert!(!std::path::Path::new(&format!("/proc/{pid}")).exists());
}
