//! How rank 0 learns that a rank it spawned died.
//!
//! In a launched job, the launcher sees a rank die and ends the job. Ranks that rank 0 spawned
//! (`MPI_Comm_spawn`) form a job of their own: when one dies, MPI ends that job, and rank 0,
//! which is not part of it, waits for its replies forever. So each spawned rank first greets rank
//! 0 with its process id and host; rank 0 holds a pidfd of each rank on its own host, and a
//! thread that waits on a rank for long checks it between polls. A dead rank ends the program
//! as it would have ended a launched job: a line on stderr, and a non-zero exit.
//!
//! Ranks spawned on other hosts (MPI's `host` info, a hostfile) cannot be watched this way;
//! launch the job with `mpirun` or `srun` there, and the launcher watches them.

use std::io::Write;
use std::os::fd::OwnedFd;

use rustix::event::{PollFd, PollFlags, Timespec, poll};
use rustix::process::{Pid, PidfdFlags, pidfd_open};

/// The exit code of a program whose spawned rank died.
pub(super) const EXIT_RANK_DIED: i32 = 105;

/// A spawned rank's greeting: its process id, then its host's name.
pub(super) fn hello() -> Vec<u8> {
    let mut hello = std::process::id().to_le_bytes().to_vec();
    hello.extend_from_slice(host().as_bytes());
    hello
}

/// This machine's name.
fn host() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|name| name.trim_end().to_owned())
        .unwrap_or_default()
}

/// A spawned rank, watched.
#[derive(Debug)]
pub(super) struct Watch {
    pid: u32,
    /// Readable once the process has ended; `None` where it cannot be watched (another host).
    pidfd: Option<OwnedFd>,
}

impl Watch {
    /// The rank that sent `hello`; one that cannot be watched if the greeting is not one, or
    /// the rank runs on another host.
    pub(super) fn of(hello: &[u8]) -> Watch {
        let Some((pid, host_name)) = hello.split_first_chunk::<4>() else {
            return Watch {
                pid: 0,
                pidfd: None,
            };
        };
        let pid = u32::from_le_bytes(*pid);
        let here = host();
        let pidfd = (!here.is_empty() && host_name == here.as_bytes())
            .then(|| Pid::from_raw(i32::try_from(pid).ok()?))
            .flatten()
            .and_then(|pid| pidfd_open(pid, PidfdFlags::empty()).ok());
        Watch { pid, pidfd }
    }

    /// Whether the rank is known to have ended.
    pub(super) fn died(&self) -> bool {
        let Some(pidfd) = &self.pidfd else {
            return false;
        };
        let mut fds = [PollFd::new(pidfd, PollFlags::IN)];
        matches!(poll(&mut fds, Some(&Timespec::default())), Ok(1..))
    }

    /// Says on stderr that spawned rank `rank` died, and ends the program.
    pub(super) fn end_program(&self, rank: i32) -> ! {
        let _ = std::io::stdout().flush();
        let _ = writeln!(
            std::io::stderr(),
            "parallel: MPI rank {rank} (process {}), which this program spawned, died; the \
             program ends, as an MPI job that loses a rank does",
            self.pid
        );
        // Not `exit`: its handlers would finalize MPI, which waits for the dead rank.
        // SAFETY: `_exit` ends the process at once; it is always safe to call.
        #[allow(unsafe_code)]
        unsafe {
            libc::_exit(EXIT_RANK_DIED)
        }
    }
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn a_child_on_this_host_is_watched_until_it_ends() {
        let mut child = std::process::Command::new("sleep")
            .arg("30")
            .spawn()
            .expect("sleep runs");
        let mut hello = child.id().to_le_bytes().to_vec();
        hello.extend_from_slice(host().as_bytes());
        let watch = Watch::of(&hello);
        assert!(!watch.died());
        child.kill().unwrap();
        child.wait().unwrap();
        assert!(watch.died());
    }

    #[test]
    fn ranks_elsewhere_and_broken_greetings_are_not_watched() {
        let mut elsewhere = std::process::id().to_le_bytes().to_vec();
        elsewhere.extend_from_slice(b"another-host-entirely");
        for hello in [&elsewhere[..], b"", b"\x01\x02"] {
            let watch = Watch::of(hello);
            assert!(watch.pidfd.is_none());
            assert!(!watch.died());
        }
    }

    #[test]
    fn a_greeting_names_this_process_and_host() {
        let hello = hello();
        assert_eq!(hello[..4], std::process::id().to_le_bytes());
        assert_eq!(&hello[4..], host().as_bytes());
        assert!(Watch::of(&hello).pidfd.is_some());
    }
}
