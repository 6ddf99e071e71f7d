use std::any::Any;
use std::fmt;
use std::sync::{Mutex, PoisonError};

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
///
/// An error keeps what it wraps: [`source`](std::error::Error::source) gives the OS
/// error behind an [`ErrorKind::Build`], and [`Error::into_panic`] the payload of an
/// [`ErrorKind::Panicked`]. `Error` is `Send` and `Sync`, so it fits in
/// `Box<dyn std::error::Error + Send + Sync>` and `anyhow::Error`.
#[derive(Debug)]
pub struct Error {
    kind: ErrorKind,
    message: String,
    /// What the error wraps, if anything; boxed, so that an `Ok` result stays small.
    wrapped: Option<Box<Wrapped>>,
}

/// What an [`Error`] wraps.
#[derive(Debug)]
enum Wrapped {
    /// The lower-level error, e.g. the OS error behind [`ErrorKind::Build`].
    Source(Box<dyn std::error::Error + Send + Sync + 'static>),
    /// The payload of the panic behind [`ErrorKind::Panicked`]. A payload is `Send` but not
    /// `Sync`; behind a `Mutex` (only ever locked by value, in [`Error::into_panic`]) it
    /// keeps `Error` `Sync` without `unsafe`, where tokio's `JoinError` uses an unsafe
    /// `SyncWrapper`.
    Panic(Mutex<Box<dyn Any + Send + 'static>>),
}

/// What kind of failure an [`Error`] is.
///
/// New kinds may be added in later versions, so a `match` needs a wildcard arm.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// [`init`](crate::init) was called after the shared runtime was configured or built.
    AlreadyInitialized,
    /// A [`Config`](crate::Config) value is out of range or one tokio would refuse (a
    /// thread count of 0 or above its bound, a thread name with a NUL byte), or
    /// [`init_with_handle`](crate::init_with_handle) was given a runtime globalrt cannot
    /// share (a current_thread one). Nothing was built.
    InvalidConfig,
    /// An environment variable that globalrt reads holds a value it cannot use.
    InvalidEnv {
        /// The variable's name, e.g. `GLOBALRT_WORKER_THREADS`.
        variable: &'static str,
        /// The value it held.
        value: String,
    },
    /// The runtime could not be started: the operating system refused its threads or its
    /// I/O driver ([`source`](std::error::Error::source) gives the OS error), or a
    /// [`Config`](crate::Config) callback panicked while the runtime started (the message
    /// names the callback and the panic). Nothing stays running; a later call may try again.
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
    /// The future panicked; the payload's message is in the error's text, and
    /// [`Error::into_panic`] gives the payload back (to `std::panic::resume_unwind`, say).
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
            wrapped: None,
        }
    }

    /// [`ErrorKind::Panicked`] for the future's panic, with `payload`'s message in the text.
    pub(crate) fn panicked(payload: Box<dyn Any + Send + 'static>) -> Self {
        Error {
            kind: ErrorKind::Panicked,
            message: format!("globalrt: the future panicked: {}", panic_text(&*payload)),
            wrapped: Some(Box::new(Wrapped::Panic(Mutex::new(payload)))),
        }
    }

    /// An error that keeps the lower-level error it reports, for
    /// [`source`](std::error::Error::source); the message still says it all in one line.
    pub(crate) fn with_source(
        kind: ErrorKind,
        message: impl Into<String>,
        source: impl Into<Box<dyn std::error::Error + Send + Sync + 'static>>,
    ) -> Self {
        Error {
            kind,
            message: message.into(),
            wrapped: Some(Box::new(Wrapped::Source(source.into()))),
        }
    }

    /// What kind of failure this is.
    ///
    /// ```
    /// # use globalrt::{Config, ErrorKind};
    /// let err = Config::new().max_blocking_threads(0).validate().unwrap_err();
    /// assert!(matches!(err.kind(), ErrorKind::InvalidConfig));
    /// ```
    #[must_use]
    pub fn kind(&self) -> &ErrorKind {
        &self.kind
    }

    /// Whether this is [`ErrorKind::Panicked`]: the future panicked, and
    /// [`Error::into_panic`] gives the payload back.
    ///
    /// ```
    /// let err = globalrt::try_execute(async { panic!("boom") }).unwrap_err();
    /// assert!(err.is_panic());
    /// ```
    #[must_use]
    pub fn is_panic(&self) -> bool {
        matches!(self.kind, ErrorKind::Panicked)
    }

    /// The payload of the future's panic, to inspect or to go on unwinding with
    /// `std::panic::resume_unwind`.
    ///
    /// # Panics
    ///
    /// If the error is not [`ErrorKind::Panicked`] (see [`Error::is_panic`]); use
    /// [`Error::try_into_panic`] to keep the error instead.
    ///
    /// # Example
    ///
    /// ```
    /// let err = globalrt::try_execute(async { std::panic::panic_any(7_u32) }).unwrap_err();
    /// let payload = err.into_panic();
    /// assert_eq!(payload.downcast_ref::<u32>(), Some(&7));
    /// ```
    #[track_caller]
    #[must_use = "the payload is all that is left of the panic"]
    pub fn into_panic(self) -> Box<dyn Any + Send + 'static> {
        match self.try_into_panic() {
            Ok(payload) => payload,
            // A `match`, not `unwrap_or_else`: a closure would not pass the caller's location on.
            Err(err) => {
                panic!("globalrt: Error::into_panic on an error that is not a panic: {err}")
            }
        }
    }

    /// The payload of the future's panic, or the error itself when it is not
    /// [`ErrorKind::Panicked`].
    ///
    /// # Errors
    ///
    /// Gives `self` back unchanged when the error is not a panic.
    ///
    /// # Example
    ///
    /// ```
    /// let err = globalrt::try_execute(async { panic!("boom") }).unwrap_err();
    /// let payload = err.try_into_panic().expect("a panic");
    /// assert_eq!(payload.downcast_ref::<&str>(), Some(&"boom"));
    ///
    /// let err = globalrt::Config::new().worker_threads(0).validate().unwrap_err();
    /// assert!(err.try_into_panic().is_err());
    /// ```
    pub fn try_into_panic(self) -> Result<Box<dyn Any + Send + 'static>, Error> {
        match self.wrapped {
            Some(wrapped) => match *wrapped {
                Wrapped::Panic(payload) => {
                    Ok(payload.into_inner().unwrap_or_else(PoisonError::into_inner))
                }
                other => Err(Error {
                    wrapped: Some(Box::new(other)),
                    ..self
                }),
            },
            None => Err(self),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self.wrapped.as_deref()? {
            Wrapped::Source(source) => Some(&**source as &(dyn std::error::Error + 'static)),
            Wrapped::Panic(_) => None,
        }
    }
}

/// The text of a caught panic's payload: the message of `panic!("...")`, formatted or not.
pub(crate) fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    panic_text(payload).to_owned()
}

/// [`panic_message`] without a copy, for a look at a panic that may just be resumed.
pub(crate) fn panic_text(payload: &(dyn std::any::Any + Send)) -> &str {
    payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("a non-string panic payload")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::error::Error as _;

    #[test]
    fn source_is_the_wrapped_error() {
        let io = std::io::Error::new(std::io::ErrorKind::OutOfMemory, "no room for a stack");
        let err = Error::with_source(ErrorKind::Build, "globalrt: cannot build", io);
        assert_eq!(err.to_string(), "globalrt: cannot build");
        let source = err.source().expect("the io::Error is kept");
        let io = source
            .downcast_ref::<std::io::Error>()
            .expect("an io::Error");
        assert_eq!(io.kind(), std::io::ErrorKind::OutOfMemory);
        assert_eq!(io.to_string(), "no room for a stack");
        assert!(format!("{err:?}").contains("no room for a stack"));
    }

    #[test]
    fn panic_messages() {
        let cases: [(&str, Box<dyn std::any::Any + Send>, &str); 3] = [
            ("literal", Box::new("boom"), "boom"),
            ("formatted", Box::new(format!("boom {}", 7)), "boom 7"),
            ("other", Box::new(7_u8), "a non-string panic payload"),
        ];
        for (case, payload, text) in cases {
            assert_eq!(panic_message(&*payload), text, "{case}");
        }
    }

    #[test]
    fn a_panic_is_no_source_and_keeps_its_payload() {
        let err = Error::panicked(Box::new(7_u8));
        assert_eq!(err.kind(), &ErrorKind::Panicked);
        assert_eq!(
            err.to_string(),
            "globalrt: the future panicked: a non-string panic payload"
        );
        assert!(err.source().is_none());
        assert_eq!(err.into_panic().downcast_ref::<u8>(), Some(&7));
    }

    #[test]
    fn a_source_is_no_panic() {
        let io = std::io::Error::other("refused");
        let err = Error::with_source(ErrorKind::Build, "globalrt: cannot build", io);
        let err = err.try_into_panic().expect_err("not a panic");
        assert!(err.source().is_some(), "given back with its source");
    }

    #[test]
    fn new_has_no_source() {
        let err = Error::new(ErrorKind::InvalidConfig, "globalrt: bad");
        assert!(err.source().is_none());
        assert_eq!(err.to_string(), "globalrt: bad");
    }
}
