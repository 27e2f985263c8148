use super::*;
use crate::backend::process::protocol::RunFrame;

/// A worker asked for a function it does not know answers with an error, and stays usable.
#[test]
fn a_worker_refuses_an_unknown_task() {
    let mut worker = WorkerHandle::start().expect("this test executable starts as a worker");
    let frame = RunFrame::new("no::such::task@nowhere:1:1", 0).finish(0);
    let mut buffer = Vec::new();
    match worker.exchange(&frame, None, true, &mut buffer) {
        Ok(Answer::Refused(message)) => {
            assert!(message.contains("no::such::task"), "{message}");
            assert!(message.contains("same executable"), "{message}");
        }
        Ok(Answer::Done { .. }) => panic!("the worker ran a task it does not know"),
        Err(_) => panic!("the worker died instead of answering"),
    }
    assert_eq!(worker.end(false), WorkerExit::Code(0));
}
