//! `try_execute_timeout`: `try_execute` with a deadline.

use std::future::{Future, poll_fn};
use std::pin::{Pin, pin};
use std::task::Poll;
use std::time::Duration;

use crate::error::{Error, ErrorKind};
use crate::execute::try_execute;

/// Like [`try_execute`], but gives up after `timeout`: the future is dropped (cancelled at
/// the `.await` it was waiting on) and the call returns [`ErrorKind::TimedOut`].
///
/// The deadline is a timer of the shared runtime, started only if the future is still
/// pending after its first poll, so a future that is ready at once costs no clock read
/// and no timer. The time of that first poll, which does not wait, is not counted. As
/// with `tokio::time::timeout`, a future that is ready when the deadline passes returns
/// its output, and the deadline has the timer's 1 ms granularity.
///
/// A future that blocks its thread without returning to its `.await` points cannot be
/// stopped by any timeout.
///
/// # Errors
///
/// - [`ErrorKind::TimedOut`] when the future was still pending at the deadline.
/// - As [`try_execute`]: [`ErrorKind::Panicked`], [`ErrorKind::ShutDown`],
///   [`ErrorKind::InvalidEnv`], [`ErrorKind::Build`].
///
/// # Example
///
/// ```
/// use std::time::Duration;
/// use globalrt::ErrorKind;
///
/// let quick = globalrt::try_execute_timeout(Duration::from_secs(5), async { 42 });
/// assert_eq!(quick.unwrap(), 42);
///
/// let stuck = globalrt::try_execute_timeout(
///     Duration::from_millis(10),
///     std::future::pending::<()>(),
/// );
/// assert_eq!(stuck.unwrap_err().kind(), &ErrorKind::TimedOut);
/// ```
#[cfg_attr(feature = "tracing", track_caller)]
pub fn try_execute_timeout<F>(timeout: Duration, future: F) -> Result<F::Output, Error>
where
    F: Future + Send,
    F::Output: Send,
{
    // The timer is created inside the future, so inside the shared runtime's context;
    // `try_execute` is `#[track_caller]` with the `tracing` feature, so its events name
    // this function's caller.
    try_execute(with_deadline(timeout, future)).and_then(|result| result)
}

/// `future` with a deadline `timeout` after its first pending poll: the future
/// [`try_execute_timeout`] and [`Scope::try_execute_timeout`](crate::Scope::try_execute_timeout)
/// run.
#[inline]
#[allow(
    clippy::manual_async_fn,
    reason = "the `async fn` form cost 5 more instructions per ready call (ready_timeout \
              22,308 -> 22,808 per 100 calls, cargo xtask bench)"
)]
pub(crate) fn with_deadline<F: Future>(
    timeout: Duration,
    future: F,
) -> impl Future<Output = Result<F::Output, Error>> {
    async move {
        let mut future = pin!(future);
        // Boxed, and only once the future is pending: a `Sleep` is large, and a ready
        // future should not pay for moving or dropping one.
        let mut deadline: Option<Pin<Box<tokio::time::Sleep>>> = None;
        poll_fn(|cx| {
            if let Poll::Ready(output) = future.as_mut().poll(cx) {
                return Poll::Ready(Ok(output));
            }
            let sleep = deadline.get_or_insert_with(|| Box::pin(tokio::time::sleep(timeout)));
            match sleep.as_mut().poll(cx) {
                Poll::Ready(()) => Poll::Ready(Err(timed_out(timeout))),
                Poll::Pending => Poll::Pending,
            }
        })
        .await
    }
}

#[cold]
fn timed_out(timeout: Duration) -> Error {
    Error::new(
        ErrorKind::TimedOut,
        format!(
            "globalrt: the future did not finish within {timeout:?} and was dropped; give \
             try_execute_timeout a longer timeout if the work may legitimately take longer"
        ),
    )
}
