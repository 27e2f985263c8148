//! How the process backend carries frames to its workers, and the variable that sets it.

use std::fmt;
use std::str::FromStr;

use crate::error::ConfigError;

/// The environment variable that sets the process backend's default [`ProcessTransport`].
///
/// # Examples
///
/// ```
/// // `PARALLEL_TRANSPORT=socket cargo test` runs every process pool that names no transport on
/// // the socket transport.
/// assert_eq!(parallel::TRANSPORT_VAR, "PARALLEL_TRANSPORT");
/// ```
pub const TRANSPORT_VAR: &str = "PARALLEL_TRANSPORT";

/// How a process pool passes requests and replies to its workers.
///
/// Both keep every guarantee of the process backend (a crash fails its call alone, timeouts,
/// retries); they differ in speed. The default is `PARALLEL_TRANSPORT` when set, otherwise
/// [`ProcessTransport::SharedMemory`].
///
/// # Examples
///
/// ```
/// use parallel::{ProcessPool, ProcessTransport};
///
/// assert_eq!("socket".parse::<ProcessTransport>(), Ok(ProcessTransport::Socket));
/// let pool = ProcessPool::builder()
///     .workers(1)
///     .transport(ProcessTransport::Socket)
///     .build()
///     .unwrap();
/// assert_eq!(pool.transport(), ProcessTransport::Socket);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ProcessTransport {
    /// Rings in memory shared with each worker (a sealed `memfd` no other process can open),
    /// beside a private socket that starts the worker and carries frames too large for a ring
    /// (over 2 MiB). A round trip costs a few microseconds; an idle pool sleeps. Where the
    /// system has no `memfd` (outside Linux and Android), this is [`Socket`].
    ///
    /// [`Socket`]: ProcessTransport::Socket
    #[default]
    SharedMemory,
    /// A private socket pair to each worker, and nothing else: every frame passes through the
    /// kernel.
    Socket,
}

impl ProcessTransport {
    /// Every transport.
    ///
    /// # Examples
    ///
    /// ```
    /// let names: Vec<&str> = parallel::ProcessTransport::ALL.iter().map(|t| t.name()).collect();
    /// assert_eq!(names, ["shared-memory", "socket"]);
    /// ```
    pub const ALL: &'static [ProcessTransport] =
        &[ProcessTransport::SharedMemory, ProcessTransport::Socket];

    /// The name used in `PARALLEL_TRANSPORT`.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(parallel::ProcessTransport::Socket.name(), "socket");
    /// ```
    pub const fn name(self) -> &'static str {
        match self {
            ProcessTransport::SharedMemory => "shared-memory",
            ProcessTransport::Socket => "socket",
        }
    }

    /// The default: `PARALLEL_TRANSPORT` when set (read once per process), otherwise
    /// [`ProcessTransport::SharedMemory`].
    ///
    /// # Errors
    ///
    /// An invalid value of the variable; the error names it.
    ///
    /// # Examples
    ///
    /// ```
    /// # if std::env::var_os("PARALLEL_TRANSPORT").is_none() {
    /// assert_eq!(
    ///     parallel::ProcessTransport::from_env(),
    ///     Ok(parallel::ProcessTransport::SharedMemory)
    /// );
    /// # }
    /// ```
    pub fn from_env() -> Result<ProcessTransport, ConfigError> {
        static ENV: std::sync::OnceLock<Result<ProcessTransport, ConfigError>> =
            std::sync::OnceLock::new();
        ENV.get_or_init(|| transport_from(std::env::var(TRANSPORT_VAR).ok().as_deref()))
            .clone()
    }
}

/// Parses the variable's value; an empty one counts as unset.
pub(crate) fn transport_from(value: Option<&str>) -> Result<ProcessTransport, ConfigError> {
    match value.filter(|v| !v.trim().is_empty()) {
        Some(value) => value
            .parse()
            .map_err(|e: ConfigError| e.in_setting(TRANSPORT_VAR)),
        None => Ok(ProcessTransport::default()),
    }
}

impl fmt::Display for ProcessTransport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for ProcessTransport {
    type Err = ConfigError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ProcessTransport::ALL
            .iter()
            .copied()
            .find(|transport| transport.name() == s.trim())
            .ok_or_else(|| ConfigError::new("transport", s, "one of `shared-memory`, `socket`"))
    }
}
