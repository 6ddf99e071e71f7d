//! The demo's "command": a realistic mix of what a CLI handler does with async code.
//!
//! Shared by `examples/batch.rs` and the benchmarks (through `#[path]`), so every
//! figure labelled "the demo's command mix" runs exactly this code.

#![allow(dead_code)] // each includer uses a different subset

use std::io;
use std::path::Path;
use std::time::Duration;

/// How long each command sleeps on a timer (tokio rounds it up to its 1 ms tick).
pub(crate) const TIMER: Duration = Duration::from_micros(100);

/// How many tasks each command spawns and joins.
pub(crate) const TASKS: u64 = 4;

/// One command: write a temp file with `tokio::fs` and read it back, sleep on a short
/// timer, do a channel round trip with a spawned task, spawn and join a few tasks.
///
/// Returns a checksum that depends on every step, so a caller can check the work was done.
///
/// # Errors
///
/// The file write or read failed.
pub(crate) async fn command(dir: &Path, id: u32) -> io::Result<u64> {
    let path = dir.join(format!("command-{id}.txt"));
    let body = format!("command {id} payload\n").repeat(8);
    tokio::fs::write(&path, body.as_bytes()).await?;
    let back = tokio::fs::read(&path).await?;
    tokio::fs::remove_file(&path).await?;
    if back != body.as_bytes() {
        return Err(io::Error::other(format!(
            "{}: read back different bytes",
            path.display()
        )));
    }

    tokio::time::sleep(TIMER).await;

    let (to_worker, mut from_caller) = tokio::sync::mpsc::channel::<u64>(1);
    let (reply, answer) = tokio::sync::oneshot::channel::<u64>();
    let echo = tokio::spawn(async move {
        if let Some(n) = from_caller.recv().await {
            let _ = reply.send(n * 2);
        }
    });
    to_worker
        .send(u64::from(id))
        .await
        .map_err(io::Error::other)?;
    let doubled = answer.await.map_err(io::Error::other)?;
    echo.await.map_err(io::Error::other)?;

    let tasks: Vec<_> = (0..TASKS)
        .map(|k| tokio::spawn(async move { k * k }))
        .collect();
    let mut squares = 0;
    for task in tasks {
        squares += task.await.map_err(io::Error::other)?;
    }

    Ok(back.len() as u64 + doubled + squares)
}

/// The checksum `command(_, id)` returns, computed without running it.
pub(crate) fn expected(id: u32) -> u64 {
    let len = format!("command {id} payload\n").len() as u64 * 8;
    len + 2 * u64::from(id) + (0..TASKS).map(|k| k * k).sum::<u64>()
}
