//! Backends, worker counts, and the environment variables that set their defaults.

use std::fmt;
use std::num::NonZeroUsize;
use std::str::FromStr;
use std::sync::OnceLock;
use std::time::Duration;

use crate::error::ConfigError;

mod transport;

pub use transport::{ProcessTransport, TRANSPORT_VAR};

/// The environment variable that sets the default number of workers.
///
/// # Examples
///
/// ```
/// // `PARALLEL_WORKERS=4 cargo run` sets `workers = 4` for every macro call that names none.
/// assert_eq!(parallel::WORKERS_VAR, "PARALLEL_WORKERS");
/// ```
pub const WORKERS_VAR: &str = "PARALLEL_WORKERS";
/// The environment variable that sets the default backend.
///
/// # Examples
///
/// ```
/// // `PARALLEL_BACKEND=threads cargo run` runs every macro call that names no backend on threads.
/// assert_eq!(parallel::BACKEND_VAR, "PARALLEL_BACKEND");
/// ```
pub const BACKEND_VAR: &str = "PARALLEL_BACKEND";

/// Where tasks run.
///
/// Selection, most specific first: the call's options, the function's `#[parallel(...)]`
/// options, the `PARALLEL_BACKEND` environment variable, then [`Backend::Rayon`].
///
/// # Examples
///
/// ```
/// use parallel::Backend;
///
/// assert_eq!("threads".parse::<Backend>(), Ok(Backend::Threads));
/// assert_eq!(Backend::default(), Backend::Rayon);
/// assert_eq!(Backend::Rayon.to_string(), "rayon");
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Backend {
    /// Rayon's work-stealing thread pool: CPU-bound work. Tasks may borrow from the caller.
    #[default]
    Rayon,
    /// Dedicated OS threads: blocking I/O, like Python's `ThreadPoolExecutor`. Blocking here never
    /// starves the rayon pool.
    Threads,
    /// Worker processes that re-enter the current executable: isolation, killable timeouts.
    /// Runs `#[parallel]` functions whose arguments and results are serde data.
    Process,
    /// The worker ranks of an MPI job ([`MpiPool`](crate::MpiPool)): the process backend's
    /// tasks across the machines of a cluster. Needs the `mpi` feature.
    #[cfg(all(unix, feature = "mpi"))]
    #[cfg_attr(docsrs, doc(cfg(feature = "mpi")))]
    Mpi,
}

impl Backend {
    /// Every backend, in the order the documentation lists them.
    ///
    /// # Examples
    ///
    /// ```
    /// use parallel::Backend;
    ///
    /// let names: Vec<&str> = Backend::ALL.iter().map(|b| b.name()).collect();
    /// assert_eq!(names, ["rayon", "threads", "process"]);
    /// ```
    pub const ALL: &'static [Backend] = &[
        Backend::Rayon,
        Backend::Threads,
        Backend::Process,
        #[cfg(all(unix, feature = "mpi"))]
        Backend::Mpi,
    ];

    /// The name used in options and environment variables.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(parallel::Backend::Process.name(), "process");
    /// ```
    pub const fn name(self) -> &'static str {
        match self {
            Backend::Rayon => "rayon",
            Backend::Threads => "threads",
            Backend::Process => "process",
            #[cfg(all(unix, feature = "mpi"))]
            Backend::Mpi => "mpi",
        }
    }
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Backend {
    type Err = ConfigError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Backend::ALL
            .iter()
            .copied()
            .find(|backend| backend.name() == s.trim())
            .ok_or_else(|| {
                let expected = if cfg!(all(unix, feature = "mpi")) {
                    "one of `rayon`, `threads`, `process`, `mpi`"
                } else if s.trim() == "mpi" {
                    "one of `rayon`, `threads`, `process` (`mpi` needs the `mpi` feature of \
                     `parallel`)"
                } else {
                    "one of `rayon`, `threads`, `process`"
                };
                ConfigError::new("backend", s, expected)
            })
    }
}

/// A number of workers, as a count or relative to the number of cores.
///
/// Positive numbers are a count. Negative numbers follow joblib's `n_jobs`: `-1` means one worker
/// per core, `-2` all cores but one, and so on (never fewer than one worker). Zero is an error.
///
/// # Examples
///
/// ```
/// use parallel::Workers;
///
/// assert_eq!(Workers::new(4).unwrap().get(), 4);
/// assert_eq!(Workers::new(-1).unwrap().get(), parallel::available_cores());
/// assert!(Workers::new(0).is_err());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Workers(WorkersRepr);

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum WorkersRepr {
    Count(NonZeroUsize),
    /// All cores but `n - 1`: `AllBut(1)` is joblib's `-1`.
    AllBut(NonZeroUsize),
}

const WORKERS_EXPECTED: &str = "a positive number of workers, or -1 for one per core";

impl Workers {
    /// One worker per core (joblib's `n_jobs=-1`).
    ///
    /// # Examples
    ///
    /// ```
    /// use parallel::Workers;
    ///
    /// assert_eq!(Workers::ALL_CORES.get(), parallel::available_cores());
    /// assert_eq!(Workers::new(-1).unwrap(), Workers::ALL_CORES);
    /// ```
    pub const ALL_CORES: Workers = Workers(WorkersRepr::AllBut(NonZeroUsize::MIN));

    /// A count of workers; negative counts are relative to the cores (see the type's docs).
    ///
    /// # Errors
    ///
    /// Zero is not a number of workers.
    ///
    /// # Examples
    ///
    /// ```
    /// use parallel::Workers;
    ///
    /// assert_eq!(Workers::new(3).unwrap().get(), 3);
    /// // All cores but one, and never fewer than one worker.
    /// assert_eq!(Workers::new(-2).unwrap().get(), (parallel::available_cores() - 1).max(1));
    /// assert!(Workers::new(0).is_err());
    /// ```
    pub fn new(n: i64) -> Result<Workers, ConfigError> {
        let magnitude = usize::try_from(n.unsigned_abs()).unwrap_or(usize::MAX);
        match NonZeroUsize::new(magnitude) {
            None => Err(ConfigError::new("workers", n.to_string(), WORKERS_EXPECTED)),
            Some(m) if n > 0 => Ok(Workers(WorkersRepr::Count(m))),
            Some(m) => Ok(Workers(WorkersRepr::AllBut(m))),
        }
    }

    /// A positive count of workers.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::num::NonZeroUsize;
    ///
    /// let four = parallel::Workers::count(NonZeroUsize::new(4).unwrap());
    /// assert_eq!(four.get(), 4);
    /// ```
    pub const fn count(n: NonZeroUsize) -> Workers {
        Workers(WorkersRepr::Count(n))
    }

    /// The number of workers on this machine: at least one.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(parallel::Workers::new(2).unwrap().get(), 2);
    /// ```
    pub fn get(self) -> usize {
        match self.0 {
            WorkersRepr::Count(n) => n.get(),
            WorkersRepr::AllBut(n) => (available_cores() + 1).saturating_sub(n.get()).max(1),
        }
    }
}

impl FromStr for Workers {
    type Err = ConfigError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        s.trim()
            .parse::<i64>()
            .map_err(|_| ConfigError::new("workers", s, WORKERS_EXPECTED))
            .and_then(Workers::new)
    }
}

/// The number of cores this process may run on (at least 1).
///
/// # Examples
///
/// ```
/// assert!(parallel::available_cores() >= 1);
/// ```
pub fn available_cores() -> usize {
    static CORES: OnceLock<usize> = OnceLock::new();
    *CORES.get_or_init(|| std::thread::available_parallelism().map_or(1, NonZeroUsize::get))
}

/// The options a call, a function or a builder can set; unset fields fall back to the next level.
///
/// The macros build one of these from the options after `;`; most users never name it.
///
/// # Examples
///
/// ```
/// use parallel::{Backend, Options, Workers};
///
/// // `Options` is `#[non_exhaustive]`: start from `Options::new()` and set fields.
/// let mut call = Options::new();
/// call.workers = Some(Workers::new(2).unwrap());
/// let mut function = Options::new();
/// function.backend = Some(Backend::Threads);
/// function.workers = Some(Workers::new(8).unwrap());
/// let both = call.or(function);
/// assert_eq!(both.backend, Some(Backend::Threads));
/// assert_eq!(both.workers.map(Workers::get), Some(2));
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Options {
    /// Where the tasks run.
    pub backend: Option<Backend>,
    /// How many tasks run at once.
    pub workers: Option<Workers>,
    /// How many items one task of a map handles.
    pub chunk: Option<NonZeroUsize>,
    /// Whether to draw a progress bar on stderr (only when stderr is a terminal).
    pub progress: Option<bool>,
    /// How long a task may run (process backend).
    pub timeout: Option<Duration>,
    /// How many times a task whose worker process died runs again (process backend).
    pub retries: Option<u32>,
}

impl Options {
    /// No option set.
    ///
    /// # Examples
    ///
    /// ```
    /// let options = parallel::Options::new();
    /// assert_eq!(options.backend, None);
    /// assert_eq!(options.workers, None);
    /// ```
    pub const fn new() -> Options {
        Options {
            backend: None,
            workers: None,
            chunk: None,
            progress: None,
            timeout: None,
            retries: None,
        }
    }

    /// These options, with unset fields taken from `defaults`.
    ///
    /// # Examples
    ///
    /// ```
    /// use parallel::{Backend, Options, Workers};
    ///
    /// let mut call = Options::new();
    /// call.workers = Some(Workers::new(2).unwrap());
    /// let mut function = Options::new();
    /// function.backend = Some(Backend::Threads);
    /// function.workers = Some(Workers::new(8).unwrap());
    /// let both = call.or(function);
    /// assert_eq!(both.backend, Some(Backend::Threads));
    /// assert_eq!(both.workers, Some(Workers::new(2).unwrap()));
    /// ```
    #[must_use]
    pub fn or(self, defaults: Options) -> Options {
        Options {
            backend: self.backend.or(defaults.backend),
            workers: self.workers.or(defaults.workers),
            chunk: self.chunk.or(defaults.chunk),
            progress: self.progress.or(defaults.progress),
            timeout: self.timeout.or(defaults.timeout),
            retries: self.retries.or(defaults.retries),
        }
    }
}

/// The defaults read from `PARALLEL_BACKEND` and `PARALLEL_WORKERS`, read once per process.
///
/// # Errors
///
/// An invalid value; the error names the variable.
///
/// # Examples
///
/// ```
/// // With neither variable set, nothing is overridden.
/// # if std::env::var_os("PARALLEL_BACKEND").is_none() && std::env::var_os("PARALLEL_WORKERS").is_none() {
/// assert_eq!(parallel::env_options(), Ok(parallel::Options::new()));
/// # }
/// ```
pub fn env_options() -> Result<Options, ConfigError> {
    static ENV: OnceLock<Result<Options, ConfigError>> = OnceLock::new();
    ENV.get_or_init(|| {
        options_from(
            std::env::var(BACKEND_VAR).ok().as_deref(),
            std::env::var(WORKERS_VAR).ok().as_deref(),
        )
    })
    .clone()
}

/// Parses the two environment variables' values; empty values count as unset.
pub(crate) fn options_from(
    backend: Option<&str>,
    workers: Option<&str>,
) -> Result<Options, ConfigError> {
    fn set(value: Option<&str>) -> Option<&str> {
        value.filter(|v| !v.trim().is_empty())
    }
    let backend = set(backend)
        .map(|v| v.parse::<Backend>().map_err(|e| e.in_setting(BACKEND_VAR)))
        .transpose()?;
    let workers = set(workers)
        .map(|v| v.parse::<Workers>().map_err(|e| e.in_setting(WORKERS_VAR)))
        .transpose()?;
    Ok(Options {
        backend,
        workers,
        ..Options::new()
    })
}

/// How many dedicated threads run at once by default: Python's `ThreadPoolExecutor` default,
/// `min(32, cores + 4)`.
pub(crate) fn default_thread_workers() -> usize {
    (available_cores() + 4).min(32)
}

#[cfg(test)]
mod test;
