//! How a worker reads requests and writes replies: on its socket, or in the rings it shares
//! with the parent (large frames, and frames with files, still on the socket).

use std::io::{self, IoSliceMut, Read};
use std::mem::MaybeUninit;
use std::os::fd::OwnedFd;
use std::os::unix::net::UnixStream;

use crate::backend::process::channel::{Popped, Pushed, SharedChannel, Waited};
use crate::backend::process::protocol::{self, FrameBuffer, MAX_ATTACH};
use crate::wait::spin::spin_until_readable;

/// The worker's end of its link to the parent.
pub(super) struct Link {
    pub(super) stream: UnixStream,
    pub(super) channel: Option<SharedChannel>,
    /// The files that came with the last frame read (an attach frame's): at most
    /// [`MAX_ATTACH`], the rest closed as they arrive.
    pub(super) files: Vec<OwnedFd>,
}

/// The socket, read with `recvmsg` so that files sent with a frame are kept.
struct WithFiles<'a> {
    stream: &'a UnixStream,
    files: &'a mut Vec<OwnedFd>,
}

impl Read for WithFiles<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let mut space = [MaybeUninit::uninit(); rustix::cmsg_space!(ScmRights(MAX_ATTACH))];
        let mut control = rustix::net::RecvAncillaryBuffer::new(&mut space);
        let received = rustix::net::recvmsg(
            self.stream,
            &mut [IoSliceMut::new(buf)],
            &mut control,
            rustix::net::RecvFlags::CMSG_CLOEXEC,
        )?;
        for message in control.drain() {
            if let rustix::net::RecvAncillaryMessage::ScmRights(files) = message {
                for file in files {
                    // Beyond the bound, each is dropped here: closed.
                    if self.files.len() < MAX_ATTACH {
                        self.files.push(file);
                    }
                }
            }
        }
        Ok(received.bytes)
    }
}

impl Link {
    /// Reads one frame from the socket, with its files.
    fn read_socket(&mut self, input: &mut FrameBuffer) -> io::Result<bool> {
        let mut socket = WithFiles {
            stream: &self.stream,
            files: &mut self.files,
        };
        protocol::read_frame(&mut socket, input)
    }
}

impl Link {
    /// Reads the next request into `input`; `Ok(false)` once the parent is done with this
    /// worker (or gone).
    ///
    /// # Errors
    ///
    /// `InvalidData` for a frame or ring entry that breaks the protocol; the socket's errors.
    pub(super) fn read(&mut self, input: &mut FrameBuffer) -> io::Result<bool> {
        self.files.clear();
        let Some(channel) = &mut self.channel else {
            // The next request often follows the last reply closely: poll before sleeping.
            spin_until_readable(&self.stream);
            return self.read_socket(input);
        };
        loop {
            match channel.try_receive(input)? {
                Popped::Frame => return Ok(true),
                Popped::OnSocket => {
                    return match self.read_socket(input) {
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

#[cfg(test)]
mod test {
    use std::io::IoSlice;
    use std::os::fd::AsFd;

    use super::*;

    #[test]
    fn a_frame_keeps_at_most_max_attach_files() {
        let (parent, worker) = UnixStream::pair().unwrap();
        let null = std::fs::File::open("/dev/null").unwrap();
        // More files than a frame may bring: the kernel passes what fits, the rest are closed.
        let fds = vec![null.as_fd(); MAX_ATTACH + 6];
        let frame = protocol::attach_frame(&[], &[1]);
        let mut space = [MaybeUninit::uninit(); rustix::cmsg_space!(ScmRights(MAX_ATTACH + 6))];
        let mut control = rustix::net::SendAncillaryBuffer::new(&mut space);
        assert!(control.push(rustix::net::SendAncillaryMessage::ScmRights(&fds)));
        let sent = rustix::net::sendmsg(
            &parent,
            &[IoSlice::new(&frame)],
            &mut control,
            rustix::net::SendFlags::empty(),
        )
        .unwrap();
        assert_eq!(sent, frame.len());
        let mut link = Link {
            stream: worker,
            channel: None,
            files: Vec::new(),
        };
        let mut input = FrameBuffer::default();
        assert!(link.read(&mut input).unwrap());
        assert_eq!(input.frame(), &frame[4..]);
        assert!(link.files.len() <= MAX_ATTACH, "{}", link.files.len());
        // The next frame starts with none.
        protocol::write_frame(&parent, &frame).unwrap();
        assert!(link.read(&mut input).unwrap());
        assert!(link.files.is_empty());
    }
}
