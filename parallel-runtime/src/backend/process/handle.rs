//! The parent's end of one worker process: starting it, exchanging frames, ending it.

use std::io;
use std::os::fd::OwnedFd;
use std::os::unix::net::UnixStream;
use std::os::unix::process::ExitStatusExt;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use super::protocol::{self, Message};
use super::worker;
use crate::error::WorkerExit;
use crate::spin::spin_until_readable;

/// How long a new worker may take to answer before the pool gives up on it.
pub(super) const START_TIMEOUT: Duration = Duration::from_secs(30);

/// What a worker answered to a request.
pub(super) enum Answer {
    Done {
        count: u32,
        nanos: u64,
        start: usize,
    },
    Refused(String),
}

/// A running worker process and the parent's end of its socket.
pub(super) struct WorkerHandle {
    child: Child,
    stream: UnixStream,
    read_timeout: Option<Duration>,
}

impl WorkerHandle {
    /// Starts the current executable as a worker and waits for its greeting.
    pub(super) fn start() -> io::Result<WorkerHandle> {
        if !worker::HAS_ENTRY {
            // Without the entry before `main`, a worker would run the program itself.
            return Err(io::Error::other(
                "the process backend needs Linux, Android, FreeBSD or macOS",
            ));
        }
        let exe = std::env::current_exe()?;
        let (ours, theirs) = UnixStream::pair()?;
        protocol::tune(&ours);
        let child = Command::new(exe)
            .arg("--parallel-worker")
            .env(worker::WORKER_VAR, std::process::id().to_string())
            .stdin(Stdio::from(OwnedFd::from(theirs)))
            .spawn()?;
        let mut worker = WorkerHandle {
            child,
            stream: ours,
            read_timeout: None,
        };
        worker.set_read_timeout(Some(START_TIMEOUT))?;
        let mut buffer = Vec::new();
        match protocol::read(&mut worker.stream, &mut buffer) {
            Ok(Some(Message::Hello)) => Ok(worker),
            _ => {
                worker.end(true);
                Err(io::Error::other(
                    "the executable did not start as a worker: is `parallel` linked into it?",
                ))
            }
        }
    }

    pub(super) fn set_read_timeout(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        if self.read_timeout != timeout {
            self.stream.set_read_timeout(timeout)?;
            self.read_timeout = timeout;
        }
        Ok(())
    }

    /// One request and its answer. `Err(Some(after))`: the timeout passed; `Err(None)`: the
    /// worker is gone.
    pub(super) fn exchange(
        &mut self,
        frame: &[u8],
        timeout: Option<Duration>,
        poll: bool,
        buffer: &mut Vec<u8>,
    ) -> Result<Answer, Option<Duration>> {
        self.send(frame).map_err(|_| None)?;
        self.receive(timeout, poll, buffer)
    }

    pub(super) fn send(&mut self, frame: &[u8]) -> io::Result<()> {
        protocol::write(&mut self.stream, frame)
    }

    /// Reads the answer to the oldest request, polling for it first if `poll`.
    /// `Err(Some(after))`: the timeout passed; `Err(None)`: the worker is gone.
    pub(super) fn receive(
        &mut self,
        timeout: Option<Duration>,
        poll: bool,
        buffer: &mut Vec<u8>,
    ) -> Result<Answer, Option<Duration>> {
        self.set_read_timeout(timeout).map_err(|_| None)?;
        if poll {
            spin_until_readable(&self.stream);
        }
        let answer = match protocol::read(&mut self.stream, buffer) {
            Ok(Some(Message::Done {
                count,
                nanos,
                outcomes,
            })) => Ok((count, nanos, outcomes.len())),
            Ok(Some(Message::Refused(message))) => return Ok(Answer::Refused(message.to_owned())),
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                Err(timeout)
            }
            Ok(_) | Err(_) => Err(None),
        };
        let (count, nanos, outcomes) = answer?;
        Ok(Answer::Done {
            count,
            nanos,
            start: buffer.len() - outcomes,
        })
    }

    /// Ends the worker (killing it first if asked) and reads how it ended.
    pub(super) fn end(mut self, kill: bool) -> WorkerExit {
        if kill {
            let _ = self.child.kill();
        }
        drop(self.stream);
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

#[cfg(test)]
mod test;
