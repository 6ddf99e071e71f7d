use std::fmt;

/// The error type of every fallible operation in globalrt.
///
/// Match on [`Error::kind`] to tell the cases apart; the [`Display`](fmt::Display)
/// text is one line that says what went wrong and what to do.
///
/// # Example
///
/// ```
/// use globalrt::{Config, ErrorKind};
///
/// let err = Config::new().worker_threads(0).validate().unwrap_err();
/// assert_eq!(err.kind(), &ErrorKind::InvalidConfig);
/// assert!(err.to_string().contains("worker_threads"));
/// ```
#[derive(Debug)]
pub struct Error {
    kind: ErrorKind,
    message: String,
}

/// What kind of failure an [`Error`] is.
///
/// New kinds may be added in later versions, so a `match` needs a wildcard arm.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// [`init`](crate::init) was called after the shared runtime was configured or built.
    AlreadyInitialized,
    /// A [`Config`](crate::Config) value is out of range, or
    /// [`init_with_handle`](crate::init_with_handle) was given a runtime globalrt cannot
    /// share (a current_thread one).
    InvalidConfig,
    /// An environment variable that globalrt reads holds a value it cannot use.
    InvalidEnv {
        /// The variable's name, e.g. `GLOBALRT_WORKER_THREADS`.
        variable: &'static str,
        /// The value it held.
        value: String,
    },
    /// The operating system refused to build the runtime (e.g. threads could not be spawned).
    Build,
    /// [`shutdown`](crate::shutdown) was called, before or during the call; the shared
    /// runtime no longer runs futures.
    ShutDown,
    /// The call cannot be served where it was made; the message names the context and
    /// what to do instead: [`execute_local`](crate::execute_local) of a future still
    /// pending after its first poll on a current_thread runtime's own thread, or called
    /// where the thread's tokio context is gone (a thread-local destructor that runs after
    /// tokio's own, an `atexit` handler).
    UnsupportedContext,
    /// The future panicked; the payload's message is in the error's text.
    Panicked,
    /// [`shutdown`](crate::shutdown) gave up waiting for spawned tasks and cancelled them
    /// (or, on a runtime adopted by [`init_with_handle`](crate::init_with_handle), which
    /// globalrt does not stop, left them running).
    ShutdownTimedOut {
        /// How many tasks spawned with [`spawn`](crate::spawn) were still running.
        unfinished_tasks: usize,
    },
    /// [`try_execute_timeout`](crate::try_execute_timeout)'s deadline passed before the
    /// future finished; the future was dropped.
    TimedOut,
}

impl Error {
    pub(crate) fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Error {
            kind,
            message: message.into(),
        }
    }

    /// What kind of failure this is.
    ///
    /// ```
    /// # use globalrt::{Config, ErrorKind};
    /// let err = Config::new().max_blocking_threads(0).validate().unwrap_err();
    /// assert!(matches!(err.kind(), ErrorKind::InvalidConfig));
    /// ```
    pub fn kind(&self) -> &ErrorKind {
        &self.kind
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}
