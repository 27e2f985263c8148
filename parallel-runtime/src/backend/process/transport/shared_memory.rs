//! The shared-memory transport: the socket transport's worker process, with frames travelling
//! in rings shared with it (`channel`) instead of through the kernel.
//!
//! The socket stays: it starts the worker (and carries the shared files to it), carries the
//! frames too large for a ring, and tells the worker when the pool is done with it. Where the
//! rings cannot be made (no `memfd`), this transport is the socket transport.

use std::io;
use std::time::{Duration, Instant};

use super::socket::SocketTransport;
use super::{CallLimits, ReceiveError, Reply, StartError, Transport, WorkerSettings, decode_reply};
use crate::backend::process::channel::{Popped, Pushed, SharedChannel, Waited};
use crate::backend::process::claim::Claims;
use crate::backend::process::protocol::{self, FrameBuffer, Outgoing};
use crate::error::WorkerExit;
use crate::shared_slice::Mapping;
use std::sync::Arc;

/// A worker process, and the rings shared with it where there are some.
pub(in crate::backend::process) struct SharedMemoryTransport {
    socket: SocketTransport,
    channel: Option<SharedChannel>,
}

impl Transport for SharedMemoryTransport {
    /// Makes the rings, starts the worker with them, and waits until it is ready.
    fn start(settings: WorkerSettings) -> Result<Self, StartError> {
        let Ok((channel, theirs)) = SharedChannel::create() else {
            return Ok(SharedMemoryTransport {
                socket: SocketTransport::start(settings)?,
                channel: None,
            });
        };
        let (socket, shared) = SocketTransport::launch(
            Some([channel.rings_fd(), std::os::fd::AsFd::as_fd(&theirs)]),
            settings,
        )?;
        // The worker's end of the doorbell is the worker's alone now: it closes when the
        // worker ends, which is how a sleeping driver learns of its death.
        drop(theirs);
        Ok(SharedMemoryTransport {
            socket,
            channel: shared.then_some(channel),
        })
    }

    fn send(&mut self, frame: &mut Outgoing, limits: CallLimits) -> io::Result<u32> {
        let Some(channel) = &mut self.channel else {
            return self.socket.send(frame, limits);
        };
        let frame = frame.whole();
        let seq = self.socket.next_seq();
        protocol::set_seq(frame, seq);
        if channel.send(frame)? == Pushed::OnSocket {
            protocol::write_frame(self.socket.stream(), frame)?;
        }
        self.socket.sent(seq);
        Ok(seq)
    }

    /// Attach frames in the ring's order: one that brings files goes on the socket (the files
    /// only travel there), after an entry in the ring that says so.
    fn attach(&mut self, slices: &[Arc<Mapping>]) -> io::Result<()> {
        let Some(channel) = &mut self.channel else {
            return self.socket.attach(slices);
        };
        for attach in self.socket.attach_frames(slices) {
            let pushed = if attach.files.is_empty() {
                channel.send(&attach.frame)?
            } else {
                channel.send_on_socket(&attach.frame)?
            };
            if pushed == Pushed::OnSocket {
                self.socket.send_attach(&attach)?;
            }
        }
        Ok(())
    }

    fn receive(
        &mut self,
        timeout: Option<Duration>,
        poll: bool,
        buffer: &mut FrameBuffer,
    ) -> Result<Reply, ReceiveError> {
        let Some(channel) = &mut self.channel else {
            return self.socket.receive(timeout, poll, buffer);
        };
        let deadline = timeout.map(|timeout| Instant::now() + timeout);
        loop {
            match channel.try_receive(buffer) {
                Ok(Popped::Frame) => return decode_reply(buffer),
                Ok(Popped::OnSocket) => {
                    let left =
                        deadline.map(|deadline| deadline.saturating_duration_since(Instant::now()));
                    // A zero read timeout would mean none: the reply is coming, give it a moment.
                    let left = left.map(|left| left.max(Duration::from_millis(1)));
                    self.socket.receive_frame(left, false, buffer)?;
                    return decode_reply(buffer);
                }
                Ok(Popped::Empty) => match channel.wait_readable(deadline, poll) {
                    Waited::Ready => {}
                    Waited::TimedOut => return Err(ReceiveError::TimedOut),
                    Waited::PeerGone => return Err(ReceiveError::Gone),
                },
                Err(malformed) => return Err(ReceiveError::Malformed(malformed)),
            }
        }
    }

    fn wait_readable(&self, deadline: Instant) -> bool {
        match &self.channel {
            // Gone or not, the read that follows decides.
            Some(channel) => channel.wait_readable(Some(deadline), true) != Waited::TimedOut,
            None => self.socket.wait_readable(deadline),
        }
    }

    fn claims(&self) -> Option<&Claims> {
        self.socket.claims()
    }

    fn last_seq(&self) -> u32 {
        self.socket.last_seq()
    }

    fn pid(&self) -> Option<u32> {
        self.socket.pid()
    }

    fn kill(&mut self) {
        self.socket.kill();
    }

    fn end(&mut self, kill: bool) -> WorkerExit {
        if let Some(channel) = &self.channel {
            channel.shut_down();
        }
        self.socket.end(kill)
    }
}
