//! How a worker reads requests and writes replies: on its socket, or in the rings it shares
//! with the parent (large frames still on the socket).

use std::io;
use std::os::unix::net::UnixStream;

use crate::backend::process::channel::{Popped, Pushed, SharedChannel, Waited};
use crate::backend::process::protocol::{self, FrameBuffer};
use crate::wait::spin::spin_until_readable;

/// The worker's end of its link to the parent.
pub(super) struct Link {
    pub(super) stream: UnixStream,
    pub(super) channel: Option<SharedChannel>,
}

impl Link {
    /// Reads the next request into `input`; `Ok(false)` once the parent is done with this
    /// worker (or gone).
    ///
    /// # Errors
    ///
    /// `InvalidData` for a frame or ring entry that breaks the protocol; the socket's errors.
    pub(super) fn read(&mut self, input: &mut FrameBuffer) -> io::Result<bool> {
        let Some(channel) = &mut self.channel else {
            // The next request often follows the last reply closely: poll before sleeping.
            spin_until_readable(&self.stream);
            return protocol::read_frame(&mut self.stream, input);
        };
        loop {
            match channel.try_receive(input)? {
                Popped::Frame => return Ok(true),
                Popped::OnSocket => {
                    return match protocol::read_frame(&mut self.stream, input) {
                        Ok(false) => Err(io::ErrorKind::UnexpectedEof.into()),
                        other => other,
                    };
                }
                Popped::Empty => match channel.wait_readable(None, true) {
                    Waited::Ready | Waited::TimedOut => {}
                    Waited::PeerGone => return Ok(false),
                },
            }
        }
    }

    /// Sends the reply `frame` (with its length prefix).
    ///
    /// # Errors
    ///
    /// When the parent is gone.
    pub(super) fn write(&mut self, frame: &[u8]) -> io::Result<()> {
        if let Some(channel) = &mut self.channel
            && channel.send(frame)? == Pushed::InRing
        {
            return Ok(());
        }
        protocol::write_frame(&self.stream, frame)
    }
}
