//! [`spawn_thread`]: one new OS thread for one task, Python's `threading.Thread(...).start()`.

use std::sync::{Arc, Mutex};

use crate::error::TaskError;
use crate::task::{self, Task};

/// Runs `f` on a new OS thread of its own and returns its handle: Python's
/// `threading.Thread(target=f).start()`.
///
/// Unlike [`ThreadPool::spawn`](crate::ThreadPool::spawn), whose pool runs at most a fixed
/// number of tasks at once, every call starts a thread: tasks that wait for each other (at a
/// [`Barrier`](std::sync::Barrier), on a channel) all run, however many there are. The thread
/// ends with its task. A panic becomes the task's error, as everywhere in this crate.
///
/// # Examples
///
/// ```
/// use std::sync::{Arc, Barrier};
///
/// // Twelve tasks that all meet at a barrier: each needs a thread of its own.
/// let barrier = Arc::new(Barrier::new(12));
/// let tasks: Vec<_> = (0..12)
///     .map(|i| {
///         let barrier = Arc::clone(&barrier);
///         parallel::spawn_thread(move || {
///             barrier.wait();
///             i * 2
///         })
///     })
///     .collect();
/// let doubled: Vec<i32> = tasks.into_iter().map(|t| t.join().unwrap()).collect();
/// assert_eq!(doubled, (0..12).map(|i| i * 2).collect::<Vec<_>>());
/// ```
///
/// When the system refuses a thread, the task fails at once with
/// [`ErrorKind::Refused`](crate::ErrorKind::Refused), whose source is the system's error.
pub fn spawn_thread<F, T>(f: F) -> Task<T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    start(std::thread::Builder::new(), task::name_of::<F>(), f)
}

/// [`spawn_thread`] on a thread named `name`: Python's `threading.Thread(target=f, name=name)`.
/// Panic messages, debuggers and `top -H` show the name, and the task's errors carry it.
///
/// # Examples
///
/// ```
/// let task = parallel::spawn_thread_named("loader", || {
///     std::thread::current().name().map(str::to_owned)
/// });
/// assert_eq!(task.join().unwrap().as_deref(), Some("loader"));
///
/// let failing = parallel::spawn_thread_named("parser", || -> u32 { panic!("bad input") });
/// let err = failing.join().unwrap_err();
/// assert_eq!(err.name(), Some("parser"));
/// assert_eq!(err.panic_message(), Some("bad input"));
/// ```
pub fn spawn_thread_named<F, T>(name: impl Into<String>, f: F) -> Task<T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    let name = name.into();
    start(
        std::thread::Builder::new().name(name.clone()),
        Some(name.into()),
        f,
    )
}

fn start<F, T>(
    builder: std::thread::Builder,
    name: Option<std::borrow::Cow<'static, str>>,
    f: F,
) -> Task<T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    let (task, completer) = task::pair(name);
    // Kept here too, so that a thread the system refuses can still fail the task with why.
    let completer = Arc::new(Mutex::new(Some(completer)));
    let theirs = Arc::clone(&completer);
    let spawned = builder.spawn(move || {
        let completer = theirs.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(completer) = completer {
            completer.run(f);
        }
    });
    if let Err(error) = spawned {
        let completer = completer.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(completer) = completer {
            completer.finish(Err(TaskError::refused(format!(
                "the system refused a thread: {error}"
            ))
            .with_source(Arc::new(error))));
        }
    }
    task
}
