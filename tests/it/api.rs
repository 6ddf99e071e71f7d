//! The public types keep the auto traits and impls a caller relies on: a change that drops
//! one fails to compile here, not in a user's crate.

use std::fmt::Debug;

fn send_sync_debug<T: Send + Sync + Debug>() {}

#[test]
fn public_types_are_send_sync_and_debug() {
    send_sync_debug::<globalrt::Config>();
    send_sync_debug::<globalrt::Error>();
    send_sync_debug::<globalrt::ErrorKind>();
    send_sync_debug::<globalrt::ShutdownGuard>();
}

/// A `Scope` is bound to the thread that entered the runtime (neither `Send` nor `Sync`, by
/// design), but it still prints.
#[test]
fn scope_is_debug() {
    fn debug<T: Debug>() {}
    debug::<globalrt::Scope>();
}

/// `Error` fits where applications keep errors: a boxed `dyn Error + Send + Sync + 'static`.
#[test]
fn error_boxes_as_a_send_sync_error() {
    let err = globalrt::Config::new()
        .worker_threads(0)
        .validate()
        .unwrap_err();
    let boxed: Box<dyn std::error::Error + Send + Sync + 'static> = Box::new(err);
    assert!(boxed.to_string().contains("worker_threads"));
    assert!(boxed.source().is_none());
}

#[test]
fn config_is_clone_and_default() {
    fn clone_default<T: Clone + Default>() {}
    clone_default::<globalrt::Config>();
    fn clone_eq<T: Clone + Eq>() {}
    clone_eq::<globalrt::ErrorKind>();
}
