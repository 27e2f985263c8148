//! [`ConfigError`]: a setting that cannot be used.

use std::borrow::Cow;
use std::fmt;

/// A setting that cannot be used: a bad environment variable, option or builder value.
///
/// # Examples
///
/// ```
/// use parallel::Backend;
///
/// let err = "thread".parse::<Backend>().unwrap_err();
/// assert_eq!(
///     err.to_string(),
///     "invalid backend \"thread\": expected one of `rayon`, `threads`, `process`"
/// );
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigError {
    setting: Cow<'static, str>,
    value: String,
    expected: Cow<'static, str>,
}

impl ConfigError {
    pub(crate) fn new(
        setting: impl Into<Cow<'static, str>>,
        value: impl Into<String>,
        expected: impl Into<Cow<'static, str>>,
    ) -> Self {
        Self {
            setting: setting.into(),
            value: value.into(),
            expected: expected.into(),
        }
    }

    /// Names the setting that was wrong, such as `PARALLEL_WORKERS`.
    #[must_use]
    pub(crate) fn in_setting(mut self, setting: impl Into<Cow<'static, str>>) -> Self {
        self.setting = setting.into();
        self
    }

    /// The name of the setting that was wrong (an environment variable or an option).
    ///
    /// # Examples
    ///
    /// ```
    /// let err = "0".parse::<parallel::Workers>().unwrap_err();
    /// assert_eq!(err.setting(), "workers");
    /// ```
    pub fn setting(&self) -> &str {
        &self.setting
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invalid {} {:?}: expected {}",
            self.setting, self.value, self.expected
        )
    }
}

impl std::error::Error for ConfigError {}
