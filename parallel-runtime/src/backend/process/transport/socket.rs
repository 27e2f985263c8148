//! The socket transport: a worker process started from this executable, and a private socket
//! pair to it (its stdin), with the shared page passed over the socket.

use std::ffi::OsString;
use std::io::{self, IoSlice};
use std::mem::MaybeUninit;
use std::os::fd::OwnedFd;
use std::os::unix::net::UnixStream;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use rustix::event::{PollFd, PollFlags, Timespec, poll};

use super::{
    AttachFrame, Attached, CallLimits, ReceiveError, Reply, StartError, Transport, WorkerSettings,
    decode_reply,
};
use crate::backend::process::claim::Claims;
use crate::backend::process::protocol::{
    self, FrameBuffer, MAX_ATTACH, Malformed, Outgoing, ToParent,
};
use crate::backend::process::worker;
use crate::error::WorkerExit;
use crate::shared_slice::Mapping;
use crate::wait::spin::spin_until_readable;
use std::os::fd::BorrowedFd;
use std::sync::Arc;

/// How long a new worker may take to say it is ready before the pool gives up on it.
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// A running worker process and the parent's end of its socket. Dropping it kills and reaps the
/// process.
pub(in crate::backend::process) struct SocketTransport {
    child: Child,
    stream: UnixStream,
    claims: Option<Claims>,
    read_timeout: Option<Duration>,
    /// The number of the last request sent; requests are numbered from 1.
    last_seq: u32,
    ended: bool,
    /// The `SharedSlice`s the worker holds.
    attached: Attached,
}

impl Transport for SocketTransport {
    /// Starts this executable as a worker and waits until it says it is ready.
    fn start(settings: WorkerSettings) -> Result<SocketTransport, StartError> {
        SocketTransport::launch(None, settings).map(|(worker, _)| worker)
    }

    /// The worker's shared page, where the system has one.
    fn claims(&self) -> Option<&Claims> {
        self.claims.as_ref()
    }

    /// The number of the last request sent.
    fn last_seq(&self) -> u32 {
        self.last_seq
    }

    fn pid(&self) -> Option<u32> {
        Some(self.child.id())
    }

    /// Numbers the run frame `frame` and sends it; returns its number.
    ///
    /// # Errors
    ///
    /// When the worker's socket is closed: the worker is gone.
    fn send(&mut self, frame: &mut Outgoing, _: CallLimits) -> io::Result<u32> {
        let frame = frame.whole();
        let seq = self.last_seq.wrapping_add(1);
        protocol::set_seq(frame, seq);
        protocol::write_frame(&self.stream, frame)?;
        self.last_seq = seq;
        Ok(seq)
    }

    /// Sends the attach frames, each with its files.
    fn attach(&mut self, slices: &[Arc<Mapping>]) -> io::Result<()> {
        for frame in self.attached.frames(slices) {
            self.send_attach(&frame)?;
        }
        Ok(())
    }

    /// Reads the reply to the oldest request, polling for it first if `poll`.
    fn receive(
        &mut self,
        timeout: Option<Duration>,
        poll: bool,
        buffer: &mut FrameBuffer,
    ) -> Result<Reply, ReceiveError> {
        self.receive_frame(timeout, poll, buffer)?;
        decode_reply(buffer)
    }

    /// Waits until a reply can be read, or `deadline` passes; whether one can.
    fn wait_readable(&self, deadline: Instant) -> bool {
        if spin_until_readable(&self.stream) {
            return true;
        }
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let timeout = Timespec {
                tv_sec: left.as_secs().try_into().unwrap_or(i64::MAX),
                tv_nsec: left.subsec_nanos().into(),
            };
            let mut fds = [PollFd::new(&self.stream, PollFlags::IN)];
            match poll(&mut fds, Some(&timeout)) {
                Ok(ready) => return ready > 0,
                Err(rustix::io::Errno::INTR) => {}
                // The read that follows decides.
                Err(_) => return true,
            }
        }
    }

    /// Kills the process now; its replies already in the socket can still be read.
    fn kill(&mut self) {
        let _ = self.child.kill();
    }

    /// Ends the worker (killing it first if asked: otherwise closing its socket makes it exit)
    /// and reads how it ended.
    fn end(&mut self, kill: bool) -> WorkerExit {
        if kill {
            self.kill();
        }
        let _ = self.stream.shutdown(std::net::Shutdown::Both);
        self.ended = true;
        match self.child.wait() {
            Ok(status) => match (status.code(), status.signal()) {
                (Some(code), _) => WorkerExit::Code(code),
                (None, Some(signal)) => WorkerExit::Signal(signal),
                (None, None) => WorkerExit::Unknown,
            },
            Err(_) => WorkerExit::Unknown,
        }
    }
}

impl SocketTransport {
    /// Starts this executable as a worker and waits until it says it is ready. With `shared`
    /// (the rings' file and the worker's end of the doorbell), the worker is told to use them
    /// where it also gets a shared page; the flag says whether it was.
    pub(super) fn launch(
        shared: Option<[BorrowedFd<'_>; 2]>,
        settings: WorkerSettings,
    ) -> Result<(SocketTransport, bool), StartError> {
        if !worker::HAS_ENTRY {
            return Err(StartError::Unsupported);
        }
        let (ours, theirs) = UnixStream::pair().map_err(StartError::Spawn)?;
        protocol::enlarge_send_buffer(&ours);
        let (program, arg0) = this_executable();
        let mut command = Command::new(program);
        command
            .arg0(arg0)
            .arg(worker::WORKER_ARG)
            .env(worker::WORKER_VAR, std::process::id().to_string())
            .stdin(Stdio::from(OwnedFd::from(theirs)));
        if settings.quiet_panics {
            command.env(worker::QUIET_PANICS_VAR, "1");
        }
        let child = command.spawn().map_err(StartError::Spawn)?;
        // The command holds the worker's end of the socket: closed now, so that a worker that
        // dies before its greeting is seen gone at once (end of stream), not after a timeout.
        drop(command);
        let mut worker = SocketTransport {
            child,
            stream: ours,
            // Without a page the pool still works: it only pipelines less.
            claims: Claims::create().ok(),
            read_timeout: None,
            last_seq: 0,
            ended: false,
            attached: Attached::default(),
        };
        let shared = shared.filter(|_| worker.claims.is_some());
        match worker.greet(shared) {
            Ok(()) => Ok((worker, shared.is_some())),
            Err(error) => {
                // A worker whose socket closed is exiting: the kill changes nothing of how it
                // ended, and `wait` never blocks on one that is not.
                let exit = worker.end(true);
                Err(match error {
                    StartError::Died(_) => StartError::Died(exit),
                    other => other,
                })
            }
        }
    }

    /// The attach frames that bring the worker up to date for `slices`, recorded as sent: the
    /// caller sends them, in order, with [`send_attach`](SocketTransport::send_attach) (or in
    /// its rings, those without files).
    pub(super) fn attach_frames<'a>(&mut self, slices: &'a [Arc<Mapping>]) -> Vec<AttachFrame<'a>> {
        self.attached.frames(slices)
    }

    /// Writes an attach frame on the socket, its files with its first byte (`SCM_RIGHTS`).
    pub(super) fn send_attach(&self, attach: &AttachFrame<'_>) -> io::Result<()> {
        let frame = &attach.frame[..];
        if attach.files.is_empty() {
            return protocol::write_frame(&self.stream, frame);
        }
        let fds: Vec<BorrowedFd<'_>> = attach.files.iter().filter_map(|file| file.fd()).collect();
        debug_assert!(fds.len() == attach.files.len() && fds.len() <= MAX_ATTACH);
        let mut space = [MaybeUninit::uninit(); rustix::cmsg_space!(ScmRights(MAX_ATTACH))];
        loop {
            let mut control = rustix::net::SendAncillaryBuffer::new(&mut space);
            if !control.push(rustix::net::SendAncillaryMessage::ScmRights(&fds)) {
                return Err(io::Error::other("too many files for one attach frame"));
            }
            match rustix::net::sendmsg(
                &self.stream,
                &[IoSlice::new(frame)],
                &mut control,
                rustix::net::SendFlags::NOSIGNAL,
            ) {
                // The files went with the first bytes; the rest of the frame follows plain.
                Ok(sent) if sent > 0 => return protocol::write_frame(&self.stream, &frame[sent..]),
                Ok(_) => return Err(io::ErrorKind::WriteZero.into()),
                Err(rustix::io::Errno::INTR) => {}
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// The socket to the worker.
    pub(super) fn stream(&self) -> &UnixStream {
        &self.stream
    }

    /// Numbers the next request: the caller sends it, then records it with [`sent`].
    ///
    /// [`sent`]: SocketTransport::sent
    pub(super) fn next_seq(&self) -> u32 {
        self.last_seq.wrapping_add(1)
    }

    /// Records that request `seq` was sent.
    pub(super) fn sent(&mut self, seq: u32) {
        self.last_seq = seq;
    }

    /// Sends the setup frame (with the shared page, and the rings and doorbell if `shared`)
    /// and waits for the worker's greeting.
    fn greet(&mut self, shared: Option<[BorrowedFd<'_>; 2]>) -> Result<(), StartError> {
        let setup = if shared.is_some() {
            &protocol::SETUP_SHARED_FRAME
        } else {
            &protocol::SETUP_FRAME
        };
        let sent = match &self.claims {
            Some(claims) => {
                let mut fds = vec![claims.fd()];
                fds.extend(shared.into_iter().flatten());
                let mut space = [MaybeUninit::uninit(); rustix::cmsg_space!(ScmRights(3))];
                let mut control = rustix::net::SendAncillaryBuffer::new(&mut space);
                control.push(rustix::net::SendAncillaryMessage::ScmRights(&fds));
                rustix::net::sendmsg(
                    &self.stream,
                    &[IoSlice::new(setup)],
                    &mut control,
                    rustix::net::SendFlags::NOSIGNAL,
                )
                .map(|sent| sent == setup.len())
            }
            None => rustix::net::send(
                &self.stream,
                &protocol::SETUP_FRAME,
                rustix::net::SendFlags::NOSIGNAL,
            )
            .map(|sent| sent == protocol::SETUP_FRAME.len()),
        };
        // A worker gone already (killed as it started) closed its end: its exit says why.
        if !sent.unwrap_or(false) {
            return Err(StartError::Died(WorkerExit::Unknown));
        }
        let mut buffer = FrameBuffer::default();
        match self.receive_frame(Some(START_TIMEOUT), false, &mut buffer) {
            Ok(()) => match protocol::decode_to_parent(buffer.frame()) {
                Ok(ToParent::Hello) => Ok(()),
                Ok(_) => Err(StartError::Malformed(Malformed("no greeting"))),
                Err(malformed) => Err(StartError::Malformed(malformed)),
            },
            Err(ReceiveError::TimedOut) => Err(StartError::TimedOut),
            Err(ReceiveError::Gone) => Err(StartError::Died(WorkerExit::Unknown)),
            Err(ReceiveError::Malformed(malformed)) => Err(StartError::Malformed(malformed)),
        }
    }

    /// Reads one frame from the socket into `buffer`, within `timeout`, polling first if
    /// `poll`.
    pub(super) fn receive_frame(
        &mut self,
        timeout: Option<Duration>,
        poll: bool,
        buffer: &mut FrameBuffer,
    ) -> Result<(), ReceiveError> {
        if self.read_timeout != timeout {
            self.stream
                .set_read_timeout(timeout)
                .map_err(|_| ReceiveError::Gone)?;
            self.read_timeout = timeout;
        }
        if poll {
            spin_until_readable(&self.stream);
        }
        match protocol::read_frame(&mut self.stream, buffer) {
            Ok(true) => Ok(()),
            Ok(false) => Err(ReceiveError::Gone),
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                Err(ReceiveError::TimedOut)
            }
            Err(e) if e.kind() == io::ErrorKind::InvalidData => {
                Err(ReceiveError::Malformed(Malformed("a frame of length zero")))
            }
            Err(_) => Err(ReceiveError::Gone),
        }
    }
}

impl Drop for SocketTransport {
    /// A worker left behind (its driver unwound) is killed and reaped: no orphan, no zombie.
    fn drop(&mut self) {
        if !self.ended {
            self.end(true);
        }
    }
}

/// What to execute to start a worker, and the name it shows (`argv[0]`).
///
/// Workers must be the very program that starts them, even after its file is deleted or
/// replaced (a deploy, a rebuild). On Linux the pool opens its own image once, through
/// `/proc/self/exe`, and keeps it open. It executes the program's path while that path still
/// names the same file (so that tools which run the program through a loader, such as valgrind,
/// start workers the same way), and the open file itself (`/proc/self/fd/N`) once it does not.
/// Elsewhere, the path.
fn this_executable() -> (PathBuf, OsString) {
    let arg0 = std::env::args_os().next();
    let path =
        std::env::current_exe().unwrap_or_else(|_| PathBuf::from(arg0.clone().unwrap_or_default()));
    let arg0 = arg0.unwrap_or_else(|| path.clone().into_os_string());
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        use std::os::fd::AsRawFd;
        use std::os::unix::fs::MetadataExt;
        use std::sync::OnceLock;

        static OWN_IMAGE: OnceLock<Option<std::fs::File>> = OnceLock::new();
        if let Some(image) = OWN_IMAGE
            .get_or_init(|| std::fs::File::open("/proc/self/exe").ok())
            .as_ref()
        {
            let same = |a: &std::fs::Metadata, b: &std::fs::Metadata| {
                (a.dev(), a.ino()) == (b.dev(), b.ino())
            };
            let names_image = match (std::fs::metadata(&path), image.metadata()) {
                (Ok(at_path), Ok(image)) => same(&at_path, &image),
                _ => false,
            };
            if !names_image {
                return (
                    PathBuf::from(format!("/proc/self/fd/{}", image.as_raw_fd())),
                    arg0,
                );
            }
        }
    }
    (path, arg0)
}

#[cfg(test)]
mod test;
