//! One side of the shared-memory channel between the parent and a worker: the rings the frames
//! travel in, and a doorbell to wake the other side when it sleeps.
//!
//! A side that waits for an entry (or for room) first polls the shared words for a few dozen
//! microseconds, since the answer to a short call comes sooner than a sleeping process wakes;
//! then it says in the shared page that it sleeps, looks once more, and sleeps on its end of the
//! doorbell, a socket pair. The other side, after publishing an entry (or making room), rings
//! only when it finds the waiter asleep: a busy pool never makes a system call to pass a frame,
//! and an idle one uses no CPU. Both orders of "publish, then look at the asleep word" and
//! "set the asleep word, then look for an entry" pass through a sequentially consistent fence,
//! so one of the two sides always sees the other: no wake-up is lost.
//!
//! The doorbell also tells when the other process is gone: its end closes with it, even in the
//! middle of a write, and the sleeper wakes up. A frame too large for a ring goes on the
//! protocol's socket, in its place in the ring's order (see `ring`).

pub(crate) mod ring;

use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::time::Instant;

use rustix::event::{PollFd, PollFlags, Timespec, poll};
use rustix::net::{RecvFlags, SendFlags};

use ring::Rings;
pub(crate) use ring::{Popped, Pushed};

use super::protocol::{FrameBuffer, Malformed};
use crate::wait::spin::spin_until;

/// How a wait ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Waited {
    /// What was waited for is there.
    Ready,
    /// The deadline passed first.
    TimedOut,
    /// The other process is gone (its end of the doorbell closed).
    PeerGone,
}

/// One side's rings and doorbell.
pub(crate) struct SharedChannel {
    rings: Rings,
    doorbell: UnixStream,
}

impl SharedChannel {
    /// The parent's side of a new channel, and the worker's end of the doorbell (to send with
    /// the rings' file).
    ///
    /// # Errors
    ///
    /// Where the system has no sealed `memfd`, or no socket pair can be made.
    pub(crate) fn create() -> io::Result<(SharedChannel, OwnedFd)> {
        SharedChannel::create_with(ring::CAPACITY)
    }

    /// [`create`](SharedChannel::create), with rings of `capacity` bytes (a power of two).
    pub(crate) fn create_with(capacity: usize) -> io::Result<(SharedChannel, OwnedFd)> {
        let rings = Rings::create_with(capacity)?;
        let (ours, theirs) = UnixStream::pair()?;
        ours.set_nonblocking(true)?;
        Ok((
            SharedChannel {
                rings,
                doorbell: ours,
            },
            OwnedFd::from(theirs),
        ))
    }

    /// The worker's side, from the files the parent sent.
    ///
    /// # Errors
    ///
    /// When the rings' file is not one the parent makes, or the doorbell is not a socket.
    pub(crate) fn open(rings: OwnedFd, doorbell: OwnedFd) -> io::Result<SharedChannel> {
        let rings = Rings::open(rings)?;
        let doorbell = UnixStream::from(doorbell);
        doorbell.set_nonblocking(true)?;
        Ok(SharedChannel { rings, doorbell })
    }

    /// The rings' file, to send to the worker.
    pub(crate) fn rings_fd(&self) -> BorrowedFd<'_> {
        self.rings.fd()
    }

    /// Puts the frame `frame` (with its length prefix) in the ring this side writes, waiting
    /// for room if there is none, and wakes the reader if it sleeps. [`Pushed::OnSocket`]:
    /// the caller writes `frame` on the socket next.
    ///
    /// # Errors
    ///
    /// `BrokenPipe` when the other process is gone before there is room; `InvalidData` when
    /// the ring's head is out of range (the other side broke the protocol).
    pub(crate) fn send(&mut self, frame: &[u8]) -> io::Result<Pushed> {
        self.send_entry(frame, false)
    }

    /// [`send`](SharedChannel::send) for a frame that must go on the socket whatever its size
    /// (it carries files): only its entry goes in the ring, and the caller writes it on the
    /// socket next.
    ///
    /// # Errors
    ///
    /// As [`send`](SharedChannel::send).
    pub(crate) fn send_on_socket(&mut self, frame: &[u8]) -> io::Result<Pushed> {
        self.send_entry(frame, true)
    }

    fn send_entry(&mut self, frame: &[u8], on_socket: bool) -> io::Result<Pushed> {
        let body = &frame[4..];
        loop {
            match self.rings.push_entry(body, on_socket)? {
                Pushed::Full => {
                    match self.wait(
                        |rings| rings.room_for(body.len(), on_socket),
                        Rings::set_waiting_to_write,
                        None,
                        true,
                    ) {
                        Waited::Ready => {}
                        Waited::PeerGone | Waited::TimedOut => {
                            return Err(io::ErrorKind::BrokenPipe.into());
                        }
                    }
                }
                pushed => {
                    if self.rings.peer_waits_to_read() {
                        self.ring_the_bell();
                    }
                    return Ok(pushed);
                }
            }
        }
    }

    /// Takes the next entry of the ring this side reads, if there is one: a frame goes into
    /// `buffer`, and the writer is woken if it waits for room.
    ///
    /// # Errors
    ///
    /// An entry that breaks the ring's rules.
    pub(crate) fn try_receive(&mut self, buffer: &mut FrameBuffer) -> Result<Popped, Malformed> {
        let popped = self.rings.pop(buffer)?;
        if popped != Popped::Empty && self.rings.peer_waits_to_write() {
            self.ring_the_bell();
        }
        Ok(popped)
    }

    /// Waits until the ring this side reads has an entry, `deadline` passes, or the other
    /// process is gone; polls first if `spin`.
    pub(crate) fn wait_readable(&self, deadline: Option<Instant>, spin: bool) -> Waited {
        self.wait(Rings::readable, Rings::set_waiting_to_read, deadline, spin)
    }

    /// Closes this side's end of the doorbell: the other side, asleep or not, sees it gone.
    pub(crate) fn shut_down(&self) {
        let _ = self.doorbell.shutdown(std::net::Shutdown::Both);
    }

    fn wait(
        &self,
        ready: impl Fn(&Rings) -> bool,
        asleep: fn(&Rings, bool),
        deadline: Option<Instant>,
        spin: bool,
    ) -> Waited {
        if ready(&self.rings) || (spin && spin_until(|| ready(&self.rings))) {
            return Waited::Ready;
        }
        loop {
            asleep(&self.rings, true);
            if ready(&self.rings) {
                asleep(&self.rings, false);
                return Waited::Ready;
            }
            let slept = self.sleep(deadline);
            asleep(&self.rings, false);
            self.drain();
            if ready(&self.rings) {
                return Waited::Ready;
            }
            if slept != Waited::Ready {
                return slept;
            }
        }
    }

    /// Sleeps until the doorbell rings (`Ready`), `deadline` passes, or the other end closes.
    fn sleep(&self, deadline: Option<Instant>) -> Waited {
        loop {
            let timeout = deadline.map(|deadline| {
                let left = deadline.saturating_duration_since(Instant::now());
                Timespec {
                    tv_sec: left.as_secs().try_into().unwrap_or(i64::MAX),
                    tv_nsec: left.subsec_nanos().into(),
                }
            });
            let mut fds = [PollFd::new(&self.doorbell, PollFlags::IN)];
            match poll(&mut fds, timeout.as_ref()) {
                Ok(0) => return Waited::TimedOut,
                Ok(_) => {
                    let events = fds[0].revents();
                    return if events.intersects(PollFlags::HUP | PollFlags::ERR) {
                        Waited::PeerGone
                    } else {
                        Waited::Ready
                    };
                }
                Err(rustix::io::Errno::INTR) => {}
                // Cannot sleep: the caller looks again and waits again.
                Err(_) => return Waited::Ready,
            }
        }
    }

    /// Takes the rings waiting in the doorbell: each said "look again", which `wait` does.
    fn drain(&self) {
        let mut rings = [0; 64];
        while matches!(
            rustix::net::recv(&self.doorbell, &mut rings, RecvFlags::DONTWAIT),
            Ok((n, _)) if n > 0
        ) {}
    }

    fn ring_the_bell(&self) {
        // A full doorbell already holds a ring the sleeper will see; a closed one means the
        // sleeper is gone. Neither is this side's failure.
        let _ = rustix::net::send(
            &self.doorbell,
            &[1],
            SendFlags::DONTWAIT | SendFlags::NOSIGNAL,
        );
    }
}

impl AsFd for SharedChannel {
    /// The doorbell: readable (or closed) when this side should look at its ring.
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.doorbell.as_fd()
    }
}

#[cfg(test)]
mod test;
