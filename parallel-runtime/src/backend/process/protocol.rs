//! Parent <-> worker messages on the private socket: length-prefixed frames, built in place so
//! that large arguments are never copied.
//!
//! ```text
//! frame     = len:u32le tag:u8 body            (len counts tag and body)
//! run       = tag 1, count:u32le id_len:u16le id args      args: `count` postcard tuples
//! done      = tag 2, count:u32le nanos:u64le outcomes
//! refused   = tag 3, message (UTF-8)
//! hello     = tag 4                                        the worker is ready
//!
//! outcomes  = values failures values_len:u32le failed:u32le
//! values    = one postcard value per call that returned, in call order
//! failures  = `failed` postcard (index:u32, message:String), one per call that panicked
//! ```
//!
//! Values carry no tag of their own: in the usual batch, where every call returned, the parent
//! decodes them straight into a `Vec`.

use std::io::{self, Read, Write};

const RUN: u8 = 1;
const DONE: u8 = 2;
const REFUSED: u8 = 3;
const HELLO: u8 = 4;

/// Bytes before a run's arguments: len, tag, count, id length (the id follows).
const RUN_HEADER: usize = 4 + 1 + 4 + 2;
/// Bytes before a done's outcomes.
const DONE_HEADER: usize = 4 + 1 + 4 + 8;

/// A run request being built: the arguments are appended to [`RunFrame::args`] in place.
pub(crate) struct RunFrame {
    bytes: Vec<u8>,
    args_start: usize,
}

impl RunFrame {
    /// A request for `task_id` with room for `capacity` bytes of arguments.
    pub(crate) fn new(task_id: &str, capacity: usize) -> Self {
        let id_len = u16::try_from(task_id.len()).expect("task identities are short");
        let mut bytes = Vec::with_capacity(RUN_HEADER + task_id.len() + capacity.max(64));
        bytes.extend_from_slice(&[0; 4]);
        bytes.push(RUN);
        bytes.extend_from_slice(&[0; 4]);
        bytes.extend_from_slice(&id_len.to_le_bytes());
        bytes.extend_from_slice(task_id.as_bytes());
        let args_start = bytes.len();
        RunFrame { bytes, args_start }
    }

    /// The buffer the arguments are encoded into.
    pub(crate) fn buffer(&mut self) -> &mut Vec<u8> {
        &mut self.bytes
    }

    /// Where the arguments start in the buffer.
    pub(crate) fn args_start(&self) -> usize {
        self.args_start
    }

    /// Bytes of arguments so far.
    #[inline]
    pub(crate) fn args_len(&self) -> usize {
        self.bytes.len() - self.args_start
    }

    /// The frame, ready to send, for `count` argument tuples.
    pub(crate) fn finish(mut self, count: u32) -> Vec<u8> {
        let len = u32::try_from(self.bytes.len() - 4).expect("a frame is under 4 GiB");
        self.bytes[..4].copy_from_slice(&len.to_le_bytes());
        self.bytes[5..9].copy_from_slice(&count.to_le_bytes());
        self.bytes
    }
}

/// Appends the postcard encoding of `value` to `buffer`, in place.
///
/// # Errors
///
/// When `value` cannot be encoded (a serializer error of its `Serialize` impl).
pub fn encode<T: serde::Serialize + ?Sized>(
    value: &T,
    buffer: &mut Vec<u8>,
) -> Result<(), postcard::Error> {
    postcard::serialize_with_flavor(value, Append(buffer))
}

/// A postcard flavor that pushes straight onto a `Vec`: one byte is one `push`.
struct Append<'a>(&'a mut Vec<u8>);

impl postcard::ser_flavors::Flavor for Append<'_> {
    type Output = ();

    #[inline]
    fn try_extend(&mut self, data: &[u8]) -> postcard::Result<()> {
        // Most pieces are varints of a few bytes. A copy of a known length is a few moves,
        // where a `memcpy` call (the top symbol of a trivial map's profile) or a push per byte
        // cost more: 6 ns per `u64` against 10 (pushes) and 12 (`memcpy`) on the benchmark VM.
        macro_rules! known_lengths {
            ($($len:literal)*) => {
                match data.len() {
                    $($len => self.0.extend_from_slice(
                        <&[u8; $len]>::try_from(data).expect("the length was matched"),
                    ),)*
                    _ => self.0.extend_from_slice(data),
                }
            };
        }
        known_lengths!(1 2 3 4 5 6 7 8 9 10);
        Ok(())
    }

    #[inline]
    fn try_push(&mut self, data: u8) -> postcard::Result<()> {
        self.0.push(data);
        Ok(())
    }

    fn finalize(self) -> postcard::Result<()> {
        Ok(())
    }
}

/// A message as read from the socket.
#[derive(Debug)]
pub(crate) enum Message<'a> {
    Run {
        task_id: &'a str,
        count: u32,
        args: &'a [u8],
    },
    Done {
        count: u32,
        nanos: u64,
        outcomes: &'a [u8],
    },
    Refused(&'a str),
    Hello,
}

/// Reads one frame into `buffer` and decodes it; `Ok(None)` at a clean end of stream.
pub(crate) fn read<'a>(
    stream: &mut impl Read,
    buffer: &'a mut Vec<u8>,
) -> io::Result<Option<Message<'a>>> {
    let mut len = [0; 4];
    match stream.read_exact(&mut len) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e),
    }
    let len = u32::from_le_bytes(len) as usize;
    buffer.clear();
    buffer.resize(len, 0);
    stream.read_exact(buffer)?;
    decode(buffer).map(Some)
}

fn decode(frame: &[u8]) -> io::Result<Message<'_>> {
    let bad = || io::Error::new(io::ErrorKind::InvalidData, "malformed frame");
    let (&tag, body) = frame.split_first().ok_or_else(bad)?;
    let u32_at = |at: usize| -> io::Result<u32> {
        let bytes = body.get(at..at + 4).ok_or_else(bad)?;
        Ok(u32::from_le_bytes(bytes.try_into().map_err(|_| bad())?))
    };
    match tag {
        RUN => {
            let count = u32_at(0)?;
            let id_len = body.get(4..6).ok_or_else(bad)?;
            let id_len = u16::from_le_bytes([id_len[0], id_len[1]]) as usize;
            let id = body.get(6..6 + id_len).ok_or_else(bad)?;
            let task_id = std::str::from_utf8(id).map_err(|_| bad())?;
            Ok(Message::Run {
                task_id,
                count,
                args: &body[6 + id_len..],
            })
        }
        DONE => {
            let count = u32_at(0)?;
            let nanos = body.get(4..12).ok_or_else(bad)?;
            let nanos = u64::from_le_bytes(nanos.try_into().map_err(|_| bad())?);
            Ok(Message::Done {
                count,
                nanos,
                outcomes: &body[12..],
            })
        }
        REFUSED => Ok(Message::Refused(
            std::str::from_utf8(body).map_err(|_| bad())?,
        )),
        HELLO => Ok(Message::Hello),
        _ => Err(bad()),
    }
}

/// The worker's greeting, sent once it serves.
pub(crate) const HELLO_FRAME: [u8; 5] = [1, 0, 0, 0, HELLO];

/// A done reply being built: outcomes are appended in place.
pub(crate) struct DoneFrame {
    bytes: Vec<u8>,
}

impl DoneFrame {
    /// Starts a reply in `bytes`, reusing its allocation.
    pub(crate) fn new(mut bytes: Vec<u8>) -> Self {
        bytes.clear();
        bytes.extend_from_slice(&[0; DONE_HEADER]);
        bytes[4] = DONE;
        DoneFrame { bytes }
    }

    pub(crate) fn buffer(&mut self) -> &mut Vec<u8> {
        &mut self.bytes
    }

    pub(crate) fn finish(mut self, count: u32, nanos: u64) -> Vec<u8> {
        let len = u32::try_from(self.bytes.len() - 4).expect("a frame is under 4 GiB");
        self.bytes[..4].copy_from_slice(&len.to_le_bytes());
        self.bytes[5..9].copy_from_slice(&count.to_le_bytes());
        self.bytes[9..17].copy_from_slice(&nanos.to_le_bytes());
        self.bytes
    }
}

/// The calls of a batch that panicked: their index in the batch and the panic's message.
pub(crate) type Failures = Vec<(u32, String)>;

/// Ends the outcomes of a batch whose values were appended to `out` from `values_start` on:
/// appends the calls that panicked, as `(index, message)`, and the footer.
///
/// # Errors
///
/// When the values or the failures reach 4 GiB.
pub(crate) fn finish_outcomes(
    out: &mut Vec<u8>,
    values_start: usize,
    failures: &[(u32, String)],
) -> Result<(), String> {
    let too_large = |_| "the results reach 4 GiB".to_owned();
    let values_len = u32::try_from(out.len() - values_start).map_err(too_large)?;
    for failure in failures {
        encode(failure, out).map_err(|e| e.to_string())?;
    }
    let failed = u32::try_from(failures.len()).map_err(too_large)?;
    out.extend_from_slice(&values_len.to_le_bytes());
    out.extend_from_slice(&failed.to_le_bytes());
    Ok(())
}

/// Splits the outcomes of a batch into the values of the calls that returned and the calls
/// that panicked, as `(index, message)` in call order.
pub(crate) fn split_outcomes(outcomes: &[u8]) -> Result<(&[u8], Failures), String> {
    let malformed = || "malformed results".to_owned();
    let (body, footer) = outcomes.split_last_chunk::<8>().ok_or_else(malformed)?;
    let [a, b, c, d, e, f, g, h] = *footer;
    let values_len = u32::from_le_bytes([a, b, c, d]) as usize;
    let failed = u32::from_le_bytes([e, f, g, h]);
    let (values, mut rest) = body.split_at_checked(values_len).ok_or_else(malformed)?;
    let mut failures = Vec::new();
    for _ in 0..failed {
        let (failure, tail) = postcard::take_from_bytes(rest).map_err(|_| malformed())?;
        failures.push(failure);
        rest = tail;
    }
    Ok((values, failures))
}

/// A refusal: the worker could not run the request.
pub(crate) fn refused(message: &str) -> Vec<u8> {
    let len = u32::try_from(message.len() + 1).expect("a frame is under 4 GiB");
    let mut bytes = Vec::with_capacity(message.len() + 5);
    bytes.extend_from_slice(&len.to_le_bytes());
    bytes.push(REFUSED);
    bytes.extend_from_slice(message.as_bytes());
    bytes
}

/// The socket send buffer asked for: a megabyte-sized frame is then written in one go instead
/// of waking the reader for every 200 KiB. The system caps it (`net.core.wmem_max`).
const SEND_BUFFER: usize = 4 << 20;

/// Enlarges the send buffer of one end of the protocol socket; where the system refuses, the
/// default buffer still works, only slower.
pub(crate) fn tune(socket: &impl std::os::fd::AsFd) {
    let _ = rustix::net::sockopt::set_socket_send_buffer_size(socket, SEND_BUFFER);
}

/// Writes a whole frame.
pub(crate) fn write(stream: &mut impl Write, frame: &[u8]) -> io::Result<()> {
    stream.write_all(frame)
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn frames_round_trip() {
        let mut run = RunFrame::new("jobs::crunch@src/lib.rs:3:1", 0);
        run.buffer().extend_from_slice(b"abc");
        assert_eq!(run.args_len(), 3);
        let bytes = run.finish(3);
        let mut buffer = Vec::new();
        match read(&mut &bytes[..], &mut buffer).unwrap() {
            Some(Message::Run {
                task_id,
                count,
                args,
            }) => {
                assert_eq!(task_id, "jobs::crunch@src/lib.rs:3:1");
                assert_eq!(count, 3);
                assert_eq!(args, b"abc");
            }
            other => panic!("{other:?}"),
        }

        let mut done = DoneFrame::new(Vec::new());
        done.buffer().extend_from_slice(b"xy");
        let bytes = done.finish(2, 99);
        match read(&mut &bytes[..], &mut buffer).unwrap() {
            Some(Message::Done {
                count,
                nanos,
                outcomes,
            }) => assert_eq!((count, nanos, outcomes), (2, 99, &b"xy"[..])),
            other => panic!("{other:?}"),
        }

        let bytes = refused("no such task");
        assert!(matches!(
            read(&mut &bytes[..], &mut buffer).unwrap(),
            Some(Message::Refused("no such task"))
        ));
        assert!(matches!(
            read(&mut &HELLO_FRAME[..], &mut buffer).unwrap(),
            Some(Message::Hello)
        ));
        assert!(read(&mut &b""[..], &mut buffer).unwrap().is_none());
        assert!(read(&mut &[1, 0, 0, 0, 9][..], &mut buffer).is_err());
    }

    #[test]
    fn outcomes_keep_values_and_failures_apart() {
        let mut out = vec![9, 9];
        encode(&7u32, &mut out).unwrap();
        encode(&300u32, &mut out).unwrap();
        let failures = [(1, "boom".to_owned())];
        finish_outcomes(&mut out, 2, &failures).unwrap();
        let (values, failed) = split_outcomes(&out[2..]).unwrap();
        assert_eq!(values, [7, 0xac, 0x02]);
        assert_eq!(failed, failures);
        assert!(split_outcomes(&out[2..5]).is_err());
        assert!(split_outcomes(&[]).is_err());
    }
}
