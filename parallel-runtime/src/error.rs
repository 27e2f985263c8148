//! Errors: what went wrong with one task ([`TaskError`]), how a worker process ended
//! ([`WorkerExit`]), and what is wrong with the configuration ([`ConfigError`]).

use std::any::Any;
use std::borrow::Cow;
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

mod config;
mod worker_exit;

pub use config::ConfigError;
pub use worker_exit::WorkerExit;

/// Why one task did not produce its value.
///
/// A `TaskError` names the task (its position in the input where it had one, and the function's
/// name where it is known) and says what happened to it in [`kind`](TaskError::kind). Every other
/// task of the same call is unaffected.
///
/// # Examples
///
/// ```
/// use parallel::{ErrorKind, ThreadPool};
///
/// let pool = ThreadPool::builder().workers(2).build().unwrap();
/// let task = pool.spawn(|| -> u32 { panic!("no such user") });
/// let err = task.join().unwrap_err();
/// assert_eq!(err.panic_message(), Some("no such user"));
/// assert!(matches!(err.kind(), ErrorKind::Panicked { .. }));
/// ```
pub struct TaskError(Box<Inner>);

/// Boxed so that `Result<T, TaskError>` is no larger than it must be on the hot paths.
struct Inner {
    index: Option<usize>,
    name: Option<Cow<'static, str>>,
    kind: ErrorKind,
    /// The original panic payload, so that a caller can re-raise exactly what the task raised.
    payload: Option<Mutex<Box<dyn Any + Send>>>,
    /// The lower-level error behind this one, such as the system's refusal to start a process.
    source: Option<Arc<dyn std::error::Error + Send + Sync>>,
    /// Where the task panicked (`file:line:column`), where it is known.
    location: Option<String>,
    /// The backtrace of a process task's panic, taken in its worker.
    backtrace: Option<String>,
}

/// What happened to a task that failed.
///
/// # Examples
///
/// ```
/// use parallel::{ErrorKind, ThreadPool};
///
/// let err = ThreadPool::global().spawn(|| -> u8 { panic!("oops") }).join().unwrap_err();
/// match err.kind() {
///     ErrorKind::Panicked { message } => assert_eq!(message, "oops"),
///     other => panic!("unexpected {other:?}"),
/// }
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The task panicked; `message` is the panic message (`"Box<dyn Any>"` for a payload that is
    /// neither a `&str` nor a `String`).
    Panicked {
        /// The panic message.
        message: String,
    },
    /// The task did not finish within `after`.
    TimedOut {
        /// The time limit that passed.
        after: Duration,
    },
    /// The task was cancelled before it started, or its pool shut down first.
    Cancelled,
    /// The task's pool was terminated ([`ProcessPool::terminate`](crate::ProcessPool::terminate))
    /// while the task ran or waited: its worker process was killed, or it never started.
    Terminated,
    /// The worker process running the task died: it aborted, crashed, exited or was killed.
    WorkerDied {
        /// How the worker ended.
        exit: WorkerExit,
    },
    /// The task could not run at all: it is not a `#[parallel]` function, or no worker process
    /// could start (the system's error is the [`source`](std::error::Error::source)).
    Refused {
        /// Why it could not run.
        message: String,
    },
    /// The task's arguments or result could not cross between processes: they did not encode
    /// or decode (the message is the serializer's), or were too large for a frame (4 GiB).
    Serialization {
        /// What did not cross, and why.
        message: String,
    },
    /// The worker process running the task broke the protocol with the pool (it sent something
    /// that is not a reply); it was killed and replaced.
    Protocol {
        /// What was wrong.
        message: String,
    },
}

impl TaskError {
    /// A task that panicked with `payload` (the value `std::panic::catch_unwind` returns).
    ///
    /// # Examples
    ///
    /// ```
    /// let payload = std::panic::catch_unwind(|| panic!("boom")).unwrap_err();
    /// let err = parallel::TaskError::panicked(payload);
    /// assert_eq!(err.panic_message(), Some("boom"));
    /// ```
    pub fn panicked(payload: Box<dyn Any + Send>) -> Self {
        let message = panic_message(&*payload).to_owned();
        Self(Box::new(Inner {
            index: None,
            name: None,
            kind: ErrorKind::Panicked { message },
            payload: Some(Mutex::new(payload)),
            source: None,
            location: None,
            backtrace: None,
        }))
    }

    /// A task that did not finish within `after`.
    ///
    /// # Examples
    ///
    /// ```
    /// let err = parallel::TaskError::timed_out(std::time::Duration::from_secs(1));
    /// assert!(err.is_timeout());
    /// ```
    pub fn timed_out(after: Duration) -> Self {
        Self::from_kind(ErrorKind::TimedOut { after })
    }

    /// A task that was cancelled before it ran.
    ///
    /// # Examples
    ///
    /// ```
    /// use parallel::{ErrorKind, TaskError};
    ///
    /// assert_eq!(TaskError::cancelled().kind(), &ErrorKind::Cancelled);
    /// ```
    pub fn cancelled() -> Self {
        Self::from_kind(ErrorKind::Cancelled)
    }

    /// A task whose pool was terminated before it could finish.
    ///
    /// # Examples
    ///
    /// ```
    /// use parallel::{ErrorKind, TaskError};
    ///
    /// let err = TaskError::terminated();
    /// assert_eq!(err.kind(), &ErrorKind::Terminated);
    /// assert_eq!(err.to_string(), "task was stopped: its pool was terminated");
    /// ```
    pub fn terminated() -> Self {
        Self::from_kind(ErrorKind::Terminated)
    }

    /// A task whose worker process died.
    ///
    /// # Examples
    ///
    /// ```
    /// use parallel::{ErrorKind, TaskError, WorkerExit};
    ///
    /// let err = TaskError::worker_died(WorkerExit::Signal(9));
    /// assert_eq!(err.kind(), &ErrorKind::WorkerDied { exit: WorkerExit::Signal(9) });
    /// ```
    pub fn worker_died(exit: WorkerExit) -> Self {
        Self::from_kind(ErrorKind::WorkerDied { exit })
    }

    /// A task that could not run at all.
    ///
    /// # Examples
    ///
    /// ```
    /// let err = parallel::TaskError::refused("no such task");
    /// assert!(err.to_string().contains("no such task"));
    /// ```
    pub fn refused(message: impl Into<String>) -> Self {
        Self::from_kind(ErrorKind::Refused {
            message: message.into(),
        })
    }

    /// A task whose arguments or result could not cross between processes.
    ///
    /// # Examples
    ///
    /// ```
    /// let err = parallel::TaskError::serialization("not valid UTF-8");
    /// assert!(err.to_string().contains("not valid UTF-8"));
    /// ```
    pub fn serialization(message: impl Into<String>) -> Self {
        Self::from_kind(ErrorKind::Serialization {
            message: message.into(),
        })
    }

    /// A task whose worker process broke the protocol.
    ///
    /// # Examples
    ///
    /// ```
    /// let err = parallel::TaskError::protocol("a frame of length zero");
    /// assert!(err.to_string().contains("a frame of length zero"));
    /// ```
    pub fn protocol(message: impl Into<String>) -> Self {
        Self::from_kind(ErrorKind::Protocol {
            message: message.into(),
        })
    }

    /// Keeps `source` as the lower-level cause of this error.
    #[must_use]
    pub(crate) fn with_source(mut self, source: Arc<dyn std::error::Error + Send + Sync>) -> Self {
        self.0.source = Some(source);
        self
    }

    fn from_kind(kind: ErrorKind) -> Self {
        Self(Box::new(Inner {
            index: None,
            name: None,
            kind,
            payload: None,
            source: None,
            location: None,
            backtrace: None,
        }))
    }

    /// Sets the position of the task in its input.
    ///
    /// # Examples
    ///
    /// ```
    /// let err = parallel::TaskError::cancelled().with_index(7);
    /// assert_eq!(err.index(), Some(7));
    /// ```
    #[must_use]
    pub fn with_index(mut self, index: usize) -> Self {
        self.0.index = Some(index);
        self
    }

    /// Keeps where the task panicked (`file:line:column`).
    #[must_use]
    pub(crate) fn with_location(mut self, location: String) -> Self {
        self.0.location = Some(location);
        self
    }

    /// Adds the backtrace of a process task's panic, taken in its worker.
    #[must_use]
    pub(crate) fn with_backtrace(mut self, backtrace: String) -> Self {
        self.0.backtrace = Some(backtrace);
        self
    }

    /// Forgets the position: for a task that was not part of a map.
    #[must_use]
    pub(crate) fn without_index(mut self) -> Self {
        self.0.index = None;
        self
    }

    /// Sets the name of the function the task ran.
    ///
    /// # Examples
    ///
    /// ```
    /// let err = parallel::TaskError::cancelled().with_name("fetch");
    /// assert_eq!(err.name(), Some("fetch"));
    /// ```
    #[must_use]
    pub fn with_name(mut self, name: impl Into<Cow<'static, str>>) -> Self {
        self.0.name = Some(name.into());
        self
    }

    /// The position of the task in its input (0-based), where it came from one.
    ///
    /// # Examples
    ///
    /// ```
    /// let results = parallel::RayonPool::global()
    ///     .map(|n: u32| if n == 2 { panic!("two") } else { n }, 0..4)
    ///     .collect::<Vec<_>>();
    /// assert_eq!(results[2].as_ref().unwrap_err().index(), Some(2));
    /// ```
    pub fn index(&self) -> Option<usize> {
        self.0.index
    }

    /// The name of the function the task ran, where it is known.
    ///
    /// # Examples
    ///
    /// ```
    /// use parallel::{ProcessPool, parallel};
    ///
    /// #[parallel]
    /// fn fails(_: u8) -> u8 {
    ///     panic!("no")
    /// }
    ///
    /// let pool = ProcessPool::builder().workers(1).build().unwrap();
    /// assert_eq!(pool.spawn(fails, (0,)).join().unwrap_err().name(), Some("fails"));
    /// ```
    pub fn name(&self) -> Option<&str> {
        self.0.name.as_deref()
    }

    /// What happened to the task.
    ///
    /// # Examples
    ///
    /// ```
    /// use parallel::{ErrorKind, TaskError};
    ///
    /// assert!(matches!(TaskError::refused("no").kind(), ErrorKind::Refused { .. }));
    /// ```
    pub fn kind(&self) -> &ErrorKind {
        &self.0.kind
    }

    /// The panic message, if the task panicked.
    ///
    /// # Examples
    ///
    /// ```
    /// let task = parallel::ThreadPool::global().spawn(|| -> u8 { panic!("bad input") });
    /// assert_eq!(task.join().unwrap_err().panic_message(), Some("bad input"));
    /// ```
    pub fn panic_message(&self) -> Option<&str> {
        match &self.0.kind {
            ErrorKind::Panicked { message } => Some(message),
            _ => None,
        }
    }

    /// Where the task panicked, as `file:line:column`, where it is known: for a process task
    /// whose worker kept its own panic hook. `{:#}` shows it after the message.
    ///
    /// # Examples
    ///
    /// ```
    /// use parallel::{ProcessPool, parallel};
    ///
    /// #[parallel]
    /// fn fails(_: u8) -> u8 {
    ///     panic!("no")
    /// }
    ///
    /// let pool = ProcessPool::builder().workers(1).quiet_panics(true).build().unwrap();
    /// let err = pool.spawn(fails, (0,)).join().unwrap_err();
    /// assert!(err.location().unwrap().contains(".rs:"));
    /// assert!(format!("{err:#}").contains(&format!("panicked: no (at {})", err.location().unwrap())));
    /// ```
    pub fn location(&self) -> Option<&str> {
        self.0.location.as_deref()
    }

    /// The backtrace of a process task's panic, taken in its worker when `RUST_BACKTRACE` (or
    /// `RUST_LIB_BACKTRACE`) asks for one there, as a program's own panic would: Python's
    /// remote traceback. `{:#}` shows it after the message and location.
    ///
    /// # Examples
    ///
    /// ```
    /// use parallel::{ProcessPool, parallel};
    ///
    /// #[parallel]
    /// fn fails(_: u8) -> u8 {
    ///     panic!("no")
    /// }
    ///
    /// let pool = ProcessPool::builder().workers(1).quiet_panics(true).build().unwrap();
    /// let err = pool.spawn(fails, (0,)).join().unwrap_err();
    /// // Run with `RUST_BACKTRACE=1`, the worker's frames are there.
    /// if let Some(backtrace) = err.backtrace() {
    ///     assert!(format!("{err:#}").contains(backtrace));
    /// }
    /// ```
    pub fn backtrace(&self) -> Option<&str> {
        self.0.backtrace.as_deref()
    }

    /// Whether the task timed out.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let task = parallel::ThreadPool::global().spawn(|| std::thread::sleep(Duration::from_secs(5)));
    /// assert!(task.join_timeout(Duration::from_millis(10)).unwrap_err().is_timeout());
    /// ```
    pub fn is_timeout(&self) -> bool {
        matches!(self.0.kind, ErrorKind::TimedOut { .. })
    }

    /// Turns the error into a panic payload: the task's own payload when it panicked, otherwise
    /// this error's message. Pass it to [`std::panic::resume_unwind`] to fail the way sequential
    /// code would.
    ///
    /// # Examples
    ///
    /// ```
    /// use parallel::ThreadPool;
    ///
    /// let pool = ThreadPool::builder().build().unwrap();
    /// let err = pool.spawn(|| -> () { std::panic::panic_any(42_u8) }).join().unwrap_err();
    /// let payload = err.into_panic();
    /// assert_eq!(payload.downcast_ref::<u8>(), Some(&42));
    /// ```
    pub fn into_panic(self) -> Box<dyn Any + Send> {
        match self.0.payload {
            Some(payload) => payload.into_inner().unwrap_or_else(|e| e.into_inner()),
            None => Box::new(self.to_string()),
        }
    }
}

impl fmt::Display for TaskError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("task")?;
        if let Some(index) = self.0.index {
            write!(f, " {index}")?;
        }
        if let Some(name) = &self.0.name {
            write!(f, " (`{name}`)")?;
        }
        match &self.0.kind {
            ErrorKind::Panicked { message } => {
                write!(f, " panicked: {message}")?;
                if f.alternate() {
                    if let Some(location) = &self.0.location {
                        write!(f, " (at {location})")?;
                    }
                    if let Some(backtrace) = &self.0.backtrace {
                        write!(f, "\nstack backtrace of the worker:\n{backtrace}")?;
                    }
                }
                Ok(())
            }
            ErrorKind::TimedOut { after } => write!(f, " timed out after {after:?}"),
            ErrorKind::Cancelled => f.write_str(" was cancelled"),
            ErrorKind::Terminated => f.write_str(" was stopped: its pool was terminated"),
            ErrorKind::WorkerDied { exit } => write!(f, " failed: its worker process {exit}"),
            ErrorKind::Refused { message } => write!(f, " could not run: {message}"),
            ErrorKind::Serialization { message } => {
                write!(f, " could not cross between processes: {message}")
            }
            ErrorKind::Protocol { message } => {
                write!(
                    f,
                    " failed: its worker process broke the protocol: {message}"
                )
            }
        }
    }
}

impl fmt::Debug for TaskError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TaskError")
            .field("index", &self.0.index)
            .field("name", &self.0.name)
            .field("kind", &self.0.kind)
            .finish_non_exhaustive()
    }
}

impl std::error::Error for TaskError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.0
            .source
            .as_deref()
            .map(|source| source as &(dyn std::error::Error + 'static))
    }
}

/// The message of a panic payload, as the default panic hook would print it.
pub(crate) fn panic_message(payload: &(dyn Any + Send)) -> &str {
    if let Some(s) = payload.downcast_ref::<&'static str>() {
        s
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s
    } else {
        "Box<dyn Any>"
    }
}

#[cfg(test)]
mod test;
