//! What several integration tests share.

/// Keeps the panics that tests cause on purpose off the terminal, in the process that calls it
/// (a worker process, usually, where a task is about to panic): a panic raised by code in
/// `tests/` on a thread the test harness did not start (a worker's, a pool's) prints nothing.
/// The test still sees it, as the error it checks; every other panic prints as usual, so a
/// failing test's message is never hidden.
pub fn quiet_expected_panics() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let in_tests = info
                .location()
                .is_some_and(|at| at.file().starts_with("tests/"));
            let thread = std::thread::current();
            let harness_thread = thread
                .name()
                .is_some_and(|name| !name.starts_with("parallel-"));
            if !in_tests || harness_thread {
                default(info);
            }
        }));
    });
}

/// Whether `done` becomes true, polled every millisecond, within a hang guard far beyond what
/// any test needs.
// Not every test crate that includes this module waits this way.
#[allow(dead_code)]
pub fn eventually(mut done: impl FnMut() -> bool) -> bool {
    let until = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while std::time::Instant::now() < until {
        if done() {
            return true;
        }
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
    false
}
