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
