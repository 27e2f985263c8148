//! The `progress` option: an indicatif bar on stderr, drawn only when stderr is a terminal.

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Counts finished tasks on a progress bar, or does nothing where no bar is drawn.
///
/// Generated code makes one with [`ticker`]; its cost where no bar is drawn is one branch a task.
#[derive(Default)]
pub struct Ticker(Option<Progress>);

impl Ticker {
    /// Counts one finished task.
    #[inline]
    pub fn tick(&self) {
        if let Some(progress) = &self.0 {
            progress.tick();
        }
    }

    /// Counts `n` finished tasks.
    #[inline]
    pub fn tick_by(&self, n: usize) {
        if let Some(progress) = &self.0 {
            progress.bar.inc(n as u64);
        }
    }

    /// Whether a bar is drawn.
    pub fn is_drawn(&self) -> bool {
        self.0.is_some()
    }
}

/// A ticker for the items an iterator with `size_hint` will give (a count when it is exact),
/// drawn if `enabled` and stderr is a terminal.
pub(crate) fn ticker_for(
    enabled: bool,
    size_hint: (usize, Option<usize>),
    label: &'static str,
) -> Ticker {
    ticker(enabled, exact_len(size_hint), label)
}

/// The number of items a size hint promises, when it promises one.
fn exact_len(size_hint: (usize, Option<usize>)) -> Option<usize> {
    match size_hint {
        (low, Some(high)) if low == high => Some(low),
        _ => None,
    }
}

/// A ticker for `len` tasks (unknown when `None`), drawn if `enabled` and stderr is a terminal.
pub fn ticker(enabled: bool, len: Option<usize>, label: &'static str) -> Ticker {
    Ticker(Progress::start(enabled, len, label))
}

struct Progress {
    bar: ProgressBar,
}

impl Progress {
    /// A bar for `len` tasks (unknown when `None`) if `enabled` and stderr is a terminal.
    fn start(enabled: bool, len: Option<usize>, label: &'static str) -> Option<Self> {
        if !enabled || !std::io::stderr().is_terminal() {
            return None;
        }
        let bar = match len {
            Some(len) => ProgressBar::with_draw_target(
                Some(len as u64),
                ProgressDrawTarget::stderr_with_hz(10),
            ),
            None => ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr_with_hz(10)),
        };
        let template = "{prefix} [{bar:40}] {pos}/{len} ({elapsed}, eta {eta})";
        if let Ok(style) = ProgressStyle::with_template(template) {
            bar.set_style(style.progress_chars("=> "));
        }
        bar.set_prefix(label);
        Some(Progress { bar })
    }

    /// Counts one finished task.
    fn tick(&self) {
        self.bar.inc(1);
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.bar.finish();
    }
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn a_bar_counts_to_the_length_an_input_promises() {
        assert_eq!(exact_len((0..10).size_hint()), Some(10));
        assert_eq!(exact_len((0..).size_hint()), None);
        assert_eq!(exact_len((0..10).filter(|n| n % 2 == 0).size_hint()), None);
    }

    #[test]
    fn no_bar_is_drawn_unless_asked_or_off_a_terminal() {
        assert!(!ticker(false, Some(3), "map").is_drawn());
        // Tests run with stderr captured or piped: never a terminal here.
        if !std::io::stderr().is_terminal() {
            assert!(!ticker_for(true, (3, Some(3)), "map").is_drawn());
        }
    }
}
