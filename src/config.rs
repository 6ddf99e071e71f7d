use std::fmt;
use std::io::Write as _;
use std::panic::{self, AssertUnwindSafe};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use crate::context;
use crate::error::{Error, ErrorKind, panic_message};

/// The environment variable that overrides [`Config::worker_threads`].
///
/// It must hold a whole number in 1..=32768; any other value (`0`, `-1`, `abc`, an empty
/// string, `40000`) makes building the runtime fail with [`ErrorKind::InvalidEnv`] rather
/// than fall back to a default silently.
pub const WORKER_THREADS_ENV: &str = "GLOBALRT_WORKER_THREADS";

/// The most worker threads accepted, from [`Config::worker_threads`] or
/// [`WORKER_THREADS_ENV`]: far more than any machine has cores, and far enough from
/// `usize::MAX` that tokio's sizing of its thread pool, `worker_threads +
/// max_blocking_threads` unchecked, cannot overflow.
const MAX_WORKER_THREADS: usize = 32_768;

/// The most blocking-pool threads accepted from [`Config::max_blocking_threads`]; with
/// [`MAX_WORKER_THREADS`], tokio's sum of the two stays below two million.
const MAX_BLOCKING_THREADS: usize = 1_000_000;

const _: () = assert!(
    MAX_WORKER_THREADS
        .checked_add(MAX_BLOCKING_THREADS)
        .is_some()
);

/// How long a build waits for every worker to have run [`Config::on_thread_start`]. Workers
/// start in microseconds (milliseconds under Valgrind); only a callback that blocks comes
/// near it, and the build then goes on without waiting further.
const THREAD_START_WAIT: Duration = Duration::from_secs(10);

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
    worker_threads: Option<usize>,
    thread_name: String,
    max_blocking_threads: Option<usize>,
    on_thread_start: Option<Arc<dyn Fn() + Send + Sync>>,
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
    #[must_use]
    pub fn new() -> Self {
        Config {
            worker_threads: None,
            thread_name: "globalrt-worker".to_owned(),
            max_blocking_threads: None,
            on_thread_start: None,
        }
    }

    /// Number of worker threads, 1..=32768 (default: one per CPU, as tokio chooses).
    /// [`WORKER_THREADS_ENV`] overrides it when set.
    ///
    /// ```
    /// let config = globalrt::Config::new().worker_threads(1);
    /// # assert!(config.validate().is_ok());
    /// ```
    #[must_use]
    pub fn worker_threads(mut self, n: usize) -> Self {
        self.worker_threads = Some(n);
        self
    }

    /// Name given to the runtime's threads (default `globalrt-worker`). It must not
    /// contain a NUL byte.
    ///
    /// ```
    /// let config = globalrt::Config::new().thread_name("cli-rt");
    /// # assert!(config.validate().is_ok());
    /// ```
    #[must_use]
    pub fn thread_name(mut self, name: impl Into<String>) -> Self {
        self.thread_name = name.into();
        self
    }

    /// Upper bound on threads of the blocking pool, 1..=1000000 (default: tokio's, 512).
    ///
    /// ```
    /// let config = globalrt::Config::new().max_blocking_threads(8);
    /// # assert!(config.validate().is_ok());
    /// ```
    #[must_use]
    pub fn max_blocking_threads(mut self, n: usize) -> Self {
        self.max_blocking_threads = Some(n);
        self
    }

    /// A callback run on every thread the runtime starts (workers and blocking-pool
    /// threads), e.g. to count threads or set thread-local state.
    ///
    /// Building the runtime waits until every worker has run it (for at most 10 seconds,
    /// should the callback block). If it panics there, the build fails with
    /// [`ErrorKind::Build`], whose message names the thread and the panic, and nothing is
    /// left running: no runtime whose workers died. If it panics later, on a blocking-pool
    /// thread started on demand, the panic is caught, that thread goes on working, and the
    /// first such panic is reported once on stderr. A `panic = "abort"` build aborts on
    /// any panic, this one included.
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
    #[must_use]
    pub fn on_thread_start(mut self, f: impl Fn() + Send + Sync + 'static) -> Self {
        self.on_thread_start = Some(Arc::new(f));
        self
    }

    /// Checks the values without building anything.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidConfig`] when `worker_threads` is outside 1..=32768,
    /// `max_blocking_threads` outside 1..=1000000, or `thread_name` contains a NUL byte.
    /// The message names the setter and the value.
    ///
    /// ```
    /// use globalrt::Config;
    ///
    /// assert!(Config::new().worker_threads(0).validate().is_err());
    /// assert!(Config::new().worker_threads(40_000).validate().is_err());
    /// assert!(Config::new().thread_name("a\0b").validate().is_err());
    /// ```
    pub fn validate(&self) -> Result<(), Error> {
        if let Some(n) = self.worker_threads {
            check_count("worker_threads", n, MAX_WORKER_THREADS)?;
        }
        if let Some(n) = self.max_blocking_threads {
            check_count("max_blocking_threads", n, MAX_BLOCKING_THREADS)?;
        }
        // std panics when it spawns a thread so named; tokio would spawn it mid-build.
        if self.thread_name.contains('\0') {
            return Err(Error::new(
                ErrorKind::InvalidConfig,
                format!(
                    "globalrt: Config::thread_name must not contain a NUL byte, got {:?}",
                    self.thread_name
                ),
            ));
        }
        Ok(())
    }

    /// The worker count after applying the environment override.
    fn effective_worker_threads(&self, env_value: Option<&str>) -> Result<Option<usize>, Error> {
        match env_value {
            None => Ok(self.worker_threads),
            Some(raw) => parse_worker_threads(raw).map(Some),
        }
    }

    /// Builds a runtime from this configuration exactly as the shared one is built,
    /// [`WORKER_THREADS_ENV`] included; the shared runtime is neither built nor touched.
    ///
    /// Not part of the API (public only with the hidden `__bench` feature): the wall-clock
    /// benchmarks time a fresh runtime's startup with it, so that they measure the
    /// library's own build, not a copy that could drift.
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
    #[cfg(feature = "__bench")]
    #[doc(hidden)]
    pub fn build_runtime(&self) -> Result<tokio::runtime::Runtime, Error> {
        self.build_shared_like()
    }

    /// What `Config::build_runtime` does, for the library itself: the shared runtime's
    /// build, with [`WORKER_THREADS_ENV`] read now.
    pub(crate) fn build_shared_like(&self) -> Result<tokio::runtime::Runtime, Error> {
        self.build(worker_threads_env().as_deref())
    }

    /// Builds the runtime without ever relying on catching a panic of tokio's: every value
    /// tokio would panic on is refused first, and so is a thread the OS will not start.
    fn build(&self, env_value: Option<&str>) -> Result<tokio::runtime::Runtime, Error> {
        self.validate()?;
        let worker_threads = self.effective_worker_threads(env_value)?;
        probe_thread(&self.thread_name, None)?;
        let mut builder = tokio::runtime::Builder::new_multi_thread();
        builder.enable_all().thread_name(self.thread_name.clone());
        if let Some(n) = worker_threads {
            builder.worker_threads(n);
        }
        if let Some(n) = self.max_blocking_threads {
            builder.max_blocking_threads(n);
        }
        // Every thread of a runtime globalrt builds is marked, so that a call on one can
        // tell it from a current_thread runtime's driver (`context.rs`).
        let Some(callback) = &self.on_thread_start else {
            builder.on_thread_start(context::mark_shared_runtime_thread);
            return build_tokio(&mut builder);
        };
        let starts = Arc::new(ThreadStarts::default());
        let hook = Arc::clone(&starts);
        let callback = Arc::clone(callback);
        builder.on_thread_start(move || {
            context::mark_shared_runtime_thread();
            hook.run(&*callback)
        });
        let runtime = build_tokio(&mut builder)?;
        match starts.wait_for_workers(runtime.metrics().num_workers()) {
            None => Ok(runtime),
            Some(panicked) => {
                runtime.shutdown_background();
                Err(Error::new(
                    ErrorKind::Build,
                    format!(
                        "globalrt: Config::on_thread_start panicked on thread {:?}: {}; \
                         the runtime was not started, fix the callback",
                        panicked.thread, panicked.message
                    ),
                ))
            }
        }
    }
}

/// Checks a thread count against 1..=`max`.
fn check_count(setter: &str, n: usize, max: usize) -> Result<(), Error> {
    if (1..=max).contains(&n) {
        return Ok(());
    }
    Err(Error::new(
        ErrorKind::InvalidConfig,
        format!("globalrt: Config::{setter} must be in 1..={max}, got {n}"),
    ))
}

/// Starts and joins one thread that does nothing, named and sized as tokio's will be
/// (`stack_size` `None`: std's default, which honours `RUST_MIN_STACK` as tokio's threads
/// do). tokio panics when the OS refuses a worker thread; this check, made before, is what
/// turns that into an error in a `panic = "abort"` build.
fn probe_thread(name: &str, stack_size: Option<usize>) -> Result<(), Error> {
    let mut probe = std::thread::Builder::new().name(name.to_owned());
    if let Some(size) = stack_size {
        probe = probe.stack_size(size);
    }
    match probe.spawn(|| {}) {
        Ok(thread) => {
            // The thread runs nothing that could panic.
            let _ = thread.join();
            Ok(())
        }
        Err(err) => Err(Error::with_source(
            ErrorKind::Build,
            format!(
                "globalrt: cannot build the shared tokio runtime: the operating system refused \
                 to start a thread ({err}); raise the process's thread or memory limits, or \
                 lower RUST_MIN_STACK if it is set"
            ),
            err,
        )),
    }
}

/// `builder.build()`, its I/O error kept as the error's source.
fn build_tokio(builder: &mut tokio::runtime::Builder) -> Result<tokio::runtime::Runtime, Error> {
    build_catching_panics(builder)?.map_err(|err| {
        Error::with_source(
            ErrorKind::Build,
            format!("globalrt: cannot build the shared tokio runtime: {err}"),
            err,
        )
    })
}

/// The last defence of an unwinding build, should the OS refuse a thread after
/// [`probe_thread`] was granted one (a thread limit reached in between): tokio then
/// panics, and the panic becomes [`ErrorKind::Build`]. A `panic = "abort"` build cannot
/// catch it and relies on the probe alone.
#[cfg(panic = "unwind")]
fn build_catching_panics(
    builder: &mut tokio::runtime::Builder,
) -> Result<std::io::Result<tokio::runtime::Runtime>, Error> {
    panic::catch_unwind(AssertUnwindSafe(|| builder.build())).map_err(|payload| {
        Error::new(
            ErrorKind::Build,
            format!(
                "globalrt: cannot build the shared tokio runtime: tokio panicked: {}",
                panic_message(&*payload)
            ),
        )
    })
}

#[cfg(not(panic = "unwind"))]
fn build_catching_panics(
    builder: &mut tokio::runtime::Builder,
) -> Result<std::io::Result<tokio::runtime::Runtime>, Error> {
    Ok(builder.build())
}

/// What the wrapper around [`Config::on_thread_start`] saw, shared between the runtime's
/// threads and the build that waits for its workers.
#[derive(Default)]
struct ThreadStarts {
    state: Mutex<ThreadStartState>,
    ran: Condvar,
}

#[derive(Default)]
struct ThreadStartState {
    /// Threads that have run the callback, whether it returned or panicked.
    runs: usize,
    /// The first panic while the runtime was starting.
    first_panic: Option<CallbackPanic>,
    /// Set once the build has read `first_panic`: from then on a panic goes to stderr.
    started: bool,
    /// A panic after the start was reported on stderr; later ones are not.
    reported: bool,
}

/// A panic of [`Config::on_thread_start`].
struct CallbackPanic {
    thread: String,
    message: String,
}

impl ThreadStarts {
    /// Runs the user's callback on a thread the runtime starts. A panic is caught so that
    /// the thread lives on (a worker that dies leaves every pending future hanging), and so
    /// is one of this bookkeeping's own, for the same reason.
    fn run(&self, callback: &(dyn Fn() + Send + Sync)) {
        let _ = panic::catch_unwind(AssertUnwindSafe(|| self.record(callback)));
    }

    /// [`ThreadStarts::run`]'s work: runs the callback, counts the run, keeps or reports
    /// its panic.
    fn record(&self, callback: &(dyn Fn() + Send + Sync)) {
        let panicked = panic::catch_unwind(AssertUnwindSafe(callback))
            .err()
            .map(|payload| CallbackPanic {
                thread: std::thread::current()
                    .name()
                    .unwrap_or("<unnamed>")
                    .to_owned(),
                message: panic_message(&*payload),
            });
        let mut state = self.lock();
        state.runs += 1;
        let report = match panicked {
            Some(panicked) if !state.started => {
                state.first_panic.get_or_insert(panicked);
                None
            }
            Some(panicked) if !state.reported => {
                state.reported = true;
                Some(panicked)
            }
            _ => None,
        };
        drop(state);
        self.ran.notify_all();
        if let Some(panicked) = report {
            // Nowhere else to report it; a closed stderr is not worth a second panic.
            let _ = writeln!(
                std::io::stderr(),
                "globalrt: Config::on_thread_start panicked on thread {:?}: {}; the thread \
                 keeps running, and later panics of the callback are not reported",
                panicked.thread,
                panicked.message
            );
        }
    }

    /// Waits until `workers` threads have run the callback, or [`THREAD_START_WAIT`] has
    /// passed; returns the first panic seen.
    fn wait_for_workers(&self, workers: usize) -> Option<CallbackPanic> {
        let (mut state, _) = self
            .ran
            .wait_timeout_while(self.lock(), THREAD_START_WAIT, |state| state.runs < workers)
            .unwrap_or_else(PoisonError::into_inner);
        state.started = true;
        state.first_panic.take()
    }

    fn lock(&self) -> MutexGuard<'_, ThreadStartState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Parses a [`WORKER_THREADS_ENV`] value: a whole number in 1..=[`MAX_WORKER_THREADS`],
/// surrounding blanks allowed.
fn parse_worker_threads(raw: &str) -> Result<usize, Error> {
    match raw.trim().parse::<usize>() {
        Ok(n) if (1..=MAX_WORKER_THREADS).contains(&n) => Ok(n),
        _ => Err(Error::new(
            ErrorKind::InvalidEnv {
                variable: WORKER_THREADS_ENV,
                value: raw.to_owned(),
            },
            format!(
                "globalrt: {WORKER_THREADS_ENV}={raw:?} is not a whole number in \
                 1..={MAX_WORKER_THREADS}; set it to e.g. 4, or unset it to use one worker per CPU"
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
        for bad in [
            "0",
            "-1",
            "abc",
            "",
            " ",
            "1.5",
            "32769",
            "18446744073709551615",
            "99999999999999999999999",
        ] {
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
            assert!(text.contains("1..=32768"), "{text}");
            assert!(!text.ends_with('.'), "{text}");
        }
    }

    #[test]
    fn env_values_that_are_accepted() {
        assert_eq!(parse_worker_threads("1").unwrap(), 1);
        assert_eq!(parse_worker_threads(" 4\n").unwrap(), 4);
        assert_eq!(parse_worker_threads("32768").unwrap(), MAX_WORKER_THREADS);
    }

    #[test]
    fn env_overrides_config() {
        let config = Config::new().worker_threads(3);
        assert_eq!(config.effective_worker_threads(None).unwrap(), Some(3));
        assert_eq!(config.effective_worker_threads(Some("7")).unwrap(), Some(7));
        assert!(config.effective_worker_threads(Some("0")).is_err());
    }

    #[test]
    fn thread_counts_out_of_range_are_invalid() {
        let cases = [
            (
                "worker_threads",
                Config::new().worker_threads(0),
                "1..=32768, got 0",
            ),
            (
                "worker_threads",
                Config::new().worker_threads(32_769),
                "1..=32768, got 32769",
            ),
            (
                "worker_threads",
                Config::new().worker_threads(usize::MAX),
                &format!("1..=32768, got {}", usize::MAX),
            ),
            (
                "max_blocking_threads",
                Config::new().max_blocking_threads(0),
                "1..=1000000, got 0",
            ),
            (
                "max_blocking_threads",
                Config::new().max_blocking_threads(1_000_001),
                "1..=1000000, got 1000001",
            ),
        ];
        for (setter, config, range) in cases {
            let err = config.validate().unwrap_err();
            assert_eq!(err.kind(), &ErrorKind::InvalidConfig, "{setter}");
            let text = err.to_string();
            assert_eq!(
                text,
                format!("globalrt: Config::{setter} must be in {range}")
            );
            // `build` refuses before tokio, whose sizing would overflow or assert.
            let err = config.build(None).unwrap_err();
            assert_eq!(err.kind(), &ErrorKind::InvalidConfig, "{setter}");
        }
    }

    #[test]
    fn thread_counts_at_their_bounds_are_valid() {
        let config = Config::new()
            .worker_threads(MAX_WORKER_THREADS)
            .max_blocking_threads(MAX_BLOCKING_THREADS);
        assert!(config.validate().is_ok());
        // tokio accepts the largest blocking pool beside a worker.
        let rt = Config::new()
            .worker_threads(1)
            .max_blocking_threads(MAX_BLOCKING_THREADS)
            .build(None)
            .unwrap();
        assert_eq!(rt.metrics().num_workers(), 1);
    }

    #[test]
    fn docs_quote_the_bounds() {
        let source = include_str!("config.rs");
        let bounds = [MAX_WORKER_THREADS, MAX_BLOCKING_THREADS];
        let mut quoted = Vec::new();
        for line in source.lines().filter(|l| l.trim_start().starts_with("///")) {
            for (at, _) in line.match_indices("1..=") {
                let digits: String = line[at + 4..]
                    .chars()
                    .take_while(char::is_ascii_digit)
                    .collect();
                if let Ok(n) = digits.parse::<usize>() {
                    assert!(bounds.contains(&n), "{n} quoted in: {line}");
                    quoted.push(n);
                }
            }
        }
        for bound in bounds {
            assert!(quoted.contains(&bound), "1..={bound} is in the docs");
        }
    }

    #[test]
    fn thread_name_with_nul_is_invalid() {
        let config = Config::new().thread_name("a\0b");
        let err = config.validate().unwrap_err();
        assert_eq!(err.kind(), &ErrorKind::InvalidConfig);
        let text = err.to_string();
        assert!(text.contains("Config::thread_name"), "{text}");
        assert!(text.contains(r#""a\0b""#), "{text}");
        let err = config.build(None).unwrap_err();
        assert_eq!(err.kind(), &ErrorKind::InvalidConfig);
    }

    /// A stack no OS grants: 1 PiB is beyond a 64-bit process's address space.
    #[cfg(target_pointer_width = "64")]
    const REFUSED_STACK: usize = 1 << 50;

    #[test]
    #[cfg(target_pointer_width = "64")]
    fn a_thread_the_os_refuses_is_a_build_error_with_the_os_error() {
        use std::error::Error as _;

        let err = probe_thread("probe-test", Some(REFUSED_STACK)).unwrap_err();
        assert_eq!(err.kind(), &ErrorKind::Build);
        let text = err.to_string();
        assert!(
            text.contains("the operating system refused to start a thread"),
            "{text}"
        );
        assert!(text.contains("RUST_MIN_STACK"), "{text}");
        let source = err.source().expect("the OS error is the source");
        assert!(source.is::<std::io::Error>(), "{source:?}");
        assert!(probe_thread("probe-test", None).is_ok());
    }

    #[test]
    #[cfg(all(target_pointer_width = "64", panic = "unwind"))]
    fn a_tokio_panic_while_building_is_a_build_error() {
        let mut builder = tokio::runtime::Builder::new_multi_thread();
        builder.worker_threads(1).thread_stack_size(REFUSED_STACK);
        let err = build_tokio(&mut builder).unwrap_err();
        assert_eq!(err.kind(), &ErrorKind::Build);
        let text = err.to_string();
        assert!(text.contains("tokio panicked"), "{text}");
        assert!(text.contains("OS can't spawn worker thread"), "{text}");
    }

    #[test]
    fn on_thread_start_that_panics_fails_the_build() {
        let config = Config::new()
            .worker_threads(2)
            .thread_name("cfg-panic")
            .on_thread_start(|| panic!("callback boom {}", 7));
        let err = config.build(None).unwrap_err();
        assert_eq!(err.kind(), &ErrorKind::Build);
        assert_eq!(
            err.to_string(),
            "globalrt: Config::on_thread_start panicked on thread \"cfg-panic\": callback boom 7; \
             the runtime was not started, fix the callback"
        );
    }

    #[test]
    fn on_thread_start_runs_on_every_worker_before_build_returns() {
        use std::sync::atomic::{AtomicUsize, Ordering};

        let started = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&started);
        let config = Config::new().worker_threads(3).on_thread_start(move || {
            counter.fetch_add(1, Ordering::SeqCst);
        });
        let rt = config.build(None).unwrap();
        assert_eq!(rt.metrics().num_workers(), 3);
        assert!(started.load(Ordering::SeqCst) >= 3);
    }

    #[test]
    fn a_later_panic_of_on_thread_start_leaves_the_thread_running() {
        use std::sync::atomic::{AtomicUsize, Ordering};

        let started = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&started);
        // The worker's run returns; the blocking-pool thread's panics.
        let config = Config::new().worker_threads(1).on_thread_start(move || {
            if counter.fetch_add(1, Ordering::SeqCst) >= 1 {
                panic!("later boom");
            }
        });
        let rt = config.build(None).unwrap();
        let answer = rt.block_on(async { tokio::task::spawn_blocking(|| 42).await.unwrap() });
        assert_eq!(answer, 42);
        assert_eq!(started.load(Ordering::SeqCst), 2);
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
