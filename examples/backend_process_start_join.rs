//! Two file operations in two worker processes at once: `cargo run --example backend_process_start_join`
//!
//! The Rust counterpart of Python's `multiprocessing.Process(target=f).start()` / `join()`, with
//! two functions that create directories at the same time:
//!
//! ```python
//! from multiprocessing import Process
//! import os
//!
//! def create_logs(root): os.makedirs(os.path.join(root, "logs"), exist_ok=True)
//! def create_cache(root): os.makedirs(os.path.join(root, "cache", "thumbnails"), exist_ok=True)
//!
//! if __name__ == "__main__":
//!     p1 = Process(target=create_logs, args=(root,)); p1.start()
//!     p2 = Process(target=create_cache, args=(root,)); p2.start()
//!     p1.join(); p2.join()
//! ```
//!
//! The tasks are `#[parallel]` functions; their arguments (a `PathBuf`) are evaluated here and
//! cross to the worker as serde data, their results (the worker's pid, or the I/O error as a
//! `String`) come back the same way. No `if __name__ == "__main__"` guard and no setup line in
//! `main` are needed: a worker re-enters this executable and serves tasks before `main` would
//! run. Two ways to write it: `par_join!` when the caller waits for both right away, and
//! `ProcessPool::spawn` + `Task::join` when it does something else in between.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use parallel::{ProcessPool, par_join, parallel};

/// Creates `<root>/logs` and reports which process did it. `io::Error` is not serde data, so
/// the error crosses back as its message.
#[parallel]
fn create_logs(root: PathBuf) -> Result<u32, String> {
    create(&root.join("logs"))
}

/// Creates `<root>/cache/thumbnails` and reports which process did it.
#[parallel]
fn create_cache(root: PathBuf) -> Result<u32, String> {
    create(&root.join("cache").join("thumbnails"))
}

fn create(dir: &Path) -> Result<u32, String> {
    // Stands for slower file work, so that the two calls visibly overlap.
    std::thread::sleep(Duration::from_millis(200));
    fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let pid = std::process::id();
    // A worker's stdout is the terminal's: this line shows up like any other.
    println!("  worker {pid} created {}", dir.display());
    Ok(pid)
}

/// A directory under the system's temporary directory, removed when dropped (even when an
/// assertion fails).
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        let path =
            std::env::temp_dir().join(format!("parallel-example-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&path);
        TempDir(path)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

fn main() {
    let parent = std::process::id();
    println!("parent process {parent}");

    // 1. par_join!: both calls start at once in worker processes of the shared pool; the tuple
    //    comes back when both have finished. Python: p1.start(); p2.start(); p1.join(); p2.join()
    let root = TempDir::new("start-join");
    let start = Instant::now();
    let (logs, cache) = par_join!(
        create_logs(root.0.clone()),
        create_cache(root.0.clone());
        backend = process
    );
    let elapsed = start.elapsed();
    let (logs, cache) = (logs.unwrap(), cache.unwrap());
    println!("par_join!:         workers {logs} and {cache}, {elapsed:.0?} for both");
    assert!(root.0.join("logs").is_dir());
    assert!(root.0.join("cache/thumbnails").is_dir());
    assert_ne!(logs, parent, "the task ran in a worker process");
    assert_ne!(cache, parent, "the task ran in a worker process");

    // 2. ProcessPool::spawn + Task::join: start both, do something else, then join. The pool's
    //    workers start when it is built and stay up for its next tasks.
    let root = TempDir::new("spawn-join");
    let pool = ProcessPool::builder()
        .workers(2)
        .build()
        .expect("2 workers is valid");
    let start = Instant::now();
    let p1 = pool.spawn(create_logs, (root.0.clone(),)); // Process(target=..., args=(root,))
    let p2 = pool.spawn(create_cache, (root.0.clone(),));
    println!("  (the parent is free while the workers run)");
    let logs = p1.join().expect("the worker did not crash").unwrap();
    let cache = p2.join().expect("the worker did not crash").unwrap();
    let elapsed = start.elapsed();
    println!("ProcessPool::spawn: workers {logs} and {cache}, {elapsed:.0?} for both");
    assert!(root.0.join("logs").is_dir());
    assert!(root.0.join("cache/thumbnails").is_dir());
    assert!(logs != parent && cache != parent);

    println!("both directories were created by worker processes, not by {parent}");
}
