use super::*;
use crate::backend::process::protocol::RunFrame;
use crate::backend::process::transport::CallLimits;
use crate::backend::process::worker::EXIT_MALFORMED;

/// A worker asked for a function it does not know answers with an error, and stays usable.
#[test]
fn a_worker_refuses_an_unknown_task() {
    let mut worker = SocketTransport::start(Default::default())
        .expect("this test executable starts as a worker");
    let mut frame = RunFrame::new("no::such::task@nowhere:1:1", 0, 0).finish();
    let seq = worker.send(&mut frame, CallLimits::default()).unwrap();
    let mut buffer = protocol::FrameBuffer::default();
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
    let worker = SocketTransport::start(Default::default())
        .expect("this test executable starts as a worker");
    let pid = worker.child.id();
    drop(worker);
    // Reaped: not even a zombie is left.
    assert!(!std::path::Path::new(&format!("/proc/{pid}")).exists());
}

/// A number from `/proc/<pid>/<file>`: the field `key` (the first number after it).
fn proc_field(pid: u32, file: &str, key: &str) -> u64 {
    let text = std::fs::read_to_string(format!("/proc/{pid}/{file}")).unwrap();
    text.lines()
        .find_map(|line| line.strip_prefix(key))
        .and_then(|rest| rest.split_whitespace().next()?.parse().ok())
        .unwrap()
}

/// A length prefix of 4 GiB: the worker holds what arrives, not what the prefix claims, and
/// exits when the parent goes away mid-frame.
#[test]
fn a_worker_allocates_for_what_arrives_not_for_what_a_prefix_claims() {
    let mut worker = SocketTransport::start(Default::default())
        .expect("this test executable starts as a worker");
    let pid = worker.child.id();
    // The prefix, a tag, and 16 MiB of the claimed 4 GiB. The write returns once the worker
    // has read all but what the socket buffers hold (a few MiB).
    let mut lying = vec![0xff, 0xff, 0xff, 0xff, 1];
    lying.resize(lying.len() + (16 << 20), 0);
    protocol::write_frame(&worker.stream, &lying).unwrap();
    let peak_kib = proc_field(pid, "status", "VmHWM:");
    assert!(
        peak_kib < 256 * 1024,
        "the worker holds {peak_kib} KiB for 16 MiB"
    );
    assert_eq!(worker.end(false), WorkerExit::Code(0));
}

/// A request that claims more calls than its bytes hold is malformed: the worker exits with
/// its code for that, at once, without running anything.
#[test]
fn a_worker_exits_on_a_request_with_a_lying_count() {
    let mut worker = SocketTransport::start(Default::default())
        .expect("this test executable starts as a worker");
    let mut frame = RunFrame::new("no::such::task@nowhere:1:1", 0, 0)
        .finish()
        .into_whole();
    frame[9..13].copy_from_slice(&u32::MAX.to_le_bytes());
    protocol::write_frame(&worker.stream, &frame).unwrap();
    let mut buffer = protocol::FrameBuffer::default();
    assert!(matches!(
        worker.receive(None, false, &mut buffer),
        Err(ReceiveError::Gone)
    ));
    assert_eq!(worker.end(false), WorkerExit::Code(EXIT_MALFORMED));
}
