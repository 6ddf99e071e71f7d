use std::fmt;
use std::sync::Arc;

use crate::error::{Error, ErrorKind};

/// The environment variable that overrides [`Config::worker_threads`].
///
/// It must hold a whole number ≥ 1; any other value (`0`, `-1`, `abc`, an empty
/// string) makes building the runtime fail with [`ErrorKind::InvalidEnv`] rather
/// than fall back to a default silently.
pub const WORKER_THREADS_ENV: &str = "GLOBALRT_WORKER_THREADS";

/// How the shared runtime is built. Pass it to [`init`](crate::init) before first use.
///
/// Every field has a default, so `Config::new()` alone builds the same runtime
/// that lazy initialisation would: a multi-thread tokio runtime with the timer
/// and I/O drivers enabled, one worker per CPU, worker threads named `globalrt-worker`.
///
/// # Example
///
/// ```
/// let config = globalrt::Config::new()
///     .worker_threads(2)
///     .thread_name("my-cli-worker")
///     .max_blocking_threads(16);
/// assert!(config.validate().is_ok());
/// ```
#[derive(Clone)]
pub struct Config {
    pub(crate) worker_threads: Option<usize>,
    pub(crate) thread_name: String,
    pub(crate) max_blocking_threads: Option<usize>,
    pub(crate) on_thread_start: Option<Arc<dyn Fn() + Send + Sync>>,
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("worker_threads", &self.worker_threads)
            .field("thread_name", &self.thread_name)
            .field("max_blocking_threads", &self.max_blocking_threads)
            .field(
                "on_thread_start",
                &self.on_thread_start.as_ref().map(|_| "Fn()"),
            )
            .finish()
    }
}

impl Default for Config {
    fn default() -> Self {
        Config::new()
    }
}

impl Config {
    /// The default configuration.
    ///
    /// ```
    /// let config = globalrt::Config::new();
    /// assert!(format!("{config:?}").contains("globalrt-worker"));
    /// ```
    pub fn new() -> Self {
        Config {
            worker_threads: None,
            thread_name: "globalrt-worker".to_owned(),
            max_blocking_threads: None,
            on_thread_start: None,
        }
    }

    /// Number of worker threads (default: one per CPU, as tokio chooses).
    /// [`WORKER_THREADS_ENV`] overrides it when set.
    ///
    /// ```
    /// let config = globalrt::Config::new().worker_threads(1);
    /// # assert!(config.validate().is_ok());
    /// ```
    pub fn worker_threads(mut self, n: usize) -> Self {
        self.worker_threads = Some(n);
        self
    }

    /// Name given to the runtime's threads (default `globalrt-worker`).
    ///
    /// ```
    /// let config = globalrt::Config::new().thread_name("cli-rt");
    /// # assert!(config.validate().is_ok());
    /// ```
    pub fn thread_name(mut self, name: impl Into<String>) -> Self {
        self.thread_name = name.into();
        self
    }

    /// Upper bound on threads of the blocking pool (default: tokio's, 512).
    ///
    /// ```
    /// let config = globalrt::Config::new().max_blocking_threads(8);
    /// # assert!(config.validate().is_ok());
    /// ```
    pub fn max_blocking_threads(mut self, n: usize) -> Self {
        self.max_blocking_threads = Some(n);
        self
    }

    /// A callback run on every thread the runtime starts (workers and blocking-pool
    /// threads), e.g. to count threads or set thread-local state.
    ///
    /// ```
    /// use std::sync::atomic::{AtomicUsize, Ordering};
    /// static STARTED: AtomicUsize = AtomicUsize::new(0);
    ///
    /// let config = globalrt::Config::new().on_thread_start(|| {
    ///     STARTED.fetch_add(1, Ordering::Relaxed);
    /// });
    /// # assert!(config.validate().is_ok());
    /// ```
    pub fn on_thread_start(mut self, f: impl Fn() + Send + Sync + 'static) -> Self {
        self.on_thread_start = Some(Arc::new(f));
        self
    }

    /// Checks the values without building anything.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidConfig`] when `worker_threads` or `max_blocking_threads` is 0.
    ///
    /// ```
    /// assert!(globalrt::Config::new().worker_threads(0).validate().is_err());
    /// ```
    pub fn validate(&self) -> Result<(), Error> {
        if self.worker_threads == Some(0) {
            return Err(Error::new(
                ErrorKind::InvalidConfig,
                "globalrt: Config::worker_threads must be at least 1, got 0",
            ));
        }
        if self.max_blocking_threads == Some(0) {
            return Err(Error::new(
                ErrorKind::InvalidConfig,
                "globalrt: Config::max_blocking_threads must be at least 1, got 0",
            ));
        }
        Ok(())
    }

    /// The worker count after applying the environment override.
    pub(crate) fn effective_worker_threads(
        &self,
        env_value: Option<&str>,
    ) -> Result<Option<usize>, Error> {
        match env_value {
            None => Ok(self.worker_threads),
            Some(raw) => parse_worker_threads(raw).map(Some),
        }
    }

    /// Builds a runtime from this configuration exactly as the shared one is built,
    /// [`WORKER_THREADS_ENV`] included; the shared runtime is neither built nor touched.
    ///
    /// Not part of the API: the wall-clock benchmarks time a fresh runtime's startup with
    /// it, so that they measure the library's own build, not a copy that could drift.
    ///
    /// # Errors
    ///
    /// As [`init`](crate::init): [`ErrorKind::InvalidConfig`], [`ErrorKind::InvalidEnv`] or
    /// [`ErrorKind::Build`].
    ///
    /// ```
    /// let runtime = globalrt::Config::new().build_runtime()?;
    /// assert!(runtime.metrics().num_workers() >= 1);
    /// # Ok::<(), globalrt::Error>(())
    /// ```
    #[doc(hidden)]
    pub fn build_runtime(&self) -> Result<tokio::runtime::Runtime, Error> {
        self.build(worker_threads_env().as_deref())
    }

    pub(crate) fn build(&self, env_value: Option<&str>) -> Result<tokio::runtime::Runtime, Error> {
        self.validate()?;
        let mut builder = tokio::runtime::Builder::new_multi_thread();
        builder.enable_all().thread_name(self.thread_name.clone());
        if let Some(n) = self.effective_worker_threads(env_value)? {
            builder.worker_threads(n);
        }
        if let Some(n) = self.max_blocking_threads {
            builder.max_blocking_threads(n);
        }
        if let Some(f) = &self.on_thread_start {
            let f = Arc::clone(f);
            builder.on_thread_start(move || f());
        }
        builder.build().map_err(|err| {
            Error::new(
                ErrorKind::Build,
                format!("globalrt: cannot build the shared tokio runtime: {err}"),
            )
        })
    }
}

/// Parses a [`WORKER_THREADS_ENV`] value: a whole number ≥ 1, surrounding blanks allowed.
pub(crate) fn parse_worker_threads(raw: &str) -> Result<usize, Error> {
    match raw.trim().parse::<usize>() {
        Ok(n) if n >= 1 => Ok(n),
        _ => Err(Error::new(
            ErrorKind::InvalidEnv {
                variable: WORKER_THREADS_ENV,
                value: raw.to_owned(),
            },
            format!(
                "globalrt: {WORKER_THREADS_ENV}={raw:?} is not a whole number of at least 1; \
                 set it to e.g. 4, or unset it to use one worker per CPU"
            ),
        )),
    }
}

/// Reads [`WORKER_THREADS_ENV`]; a value that is not valid Unicode is reported like any bad value.
fn worker_threads_env() -> Option<String> {
    std::env::var_os(WORKER_THREADS_ENV).map(|v| v.to_string_lossy().into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_values_that_are_rejected() {
        for bad in ["0", "-1", "abc", "", " ", "1.5", "99999999999999999999999"] {
            let err = parse_worker_threads(bad).unwrap_err();
            assert_eq!(
                err.kind(),
                &ErrorKind::InvalidEnv {
                    variable: WORKER_THREADS_ENV,
                    value: bad.to_owned()
                }
            );
            let text = err.to_string();
            assert!(text.contains(WORKER_THREADS_ENV), "{text}");
            assert!(text.contains(&format!("{bad:?}")), "{text}");
            assert!(!text.ends_with('.'), "{text}");
        }
    }

    #[test]
    fn env_values_that_are_accepted() {
        assert_eq!(parse_worker_threads("1").unwrap(), 1);
        assert_eq!(parse_worker_threads(" 4\n").unwrap(), 4);
    }

    #[test]
    fn env_overrides_config() {
        let config = Config::new().worker_threads(3);
        assert_eq!(config.effective_worker_threads(None).unwrap(), Some(3));
        assert_eq!(config.effective_worker_threads(Some("7")).unwrap(), Some(7));
        assert!(config.effective_worker_threads(Some("0")).is_err());
    }

    #[test]
    fn zero_values_are_invalid() {
        let err = Config::new().worker_threads(0).validate().unwrap_err();
        assert_eq!(err.kind(), &ErrorKind::InvalidConfig);
        let err = Config::new()
            .max_blocking_threads(0)
            .validate()
            .unwrap_err();
        assert_eq!(err.kind(), &ErrorKind::InvalidConfig);
    }

    #[test]
    fn build_applies_thread_name_and_on_thread_start() {
        use std::sync::atomic::{AtomicUsize, Ordering};

        let started = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&started);
        let config = Config::new()
            .worker_threads(1)
            .max_blocking_threads(3)
            .thread_name("cfg-test")
            .on_thread_start(move || {
                counter.fetch_add(1, Ordering::SeqCst);
            });
        let rt = config.build(None).unwrap();
        let name = rt.block_on(async {
            tokio::spawn(async { std::thread::current().name().map(str::to_owned) })
                .await
                .unwrap()
        });
        assert_eq!(name.as_deref(), Some("cfg-test"));
        assert!(
            started.load(Ordering::SeqCst) >= 1,
            "on_thread_start ran for the worker"
        );
        assert_eq!(config.max_blocking_threads, Some(3));
        let debug = format!("{config:?}");
        for field in ["\"cfg-test\"", "Some(3)", "Some(\"Fn()\")"] {
            assert!(debug.contains(field), "{field} in {debug}");
        }
    }

    #[test]
    fn build_applies_worker_count() {
        let rt = Config::new().worker_threads(2).build(None).unwrap();
        assert_eq!(rt.metrics().num_workers(), 2);
        let rt = Config::new().worker_threads(2).build(Some("1")).unwrap();
        assert_eq!(rt.metrics().num_workers(), 1);
    }
}
