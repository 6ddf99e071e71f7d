//! A small CLI as users adopt globalrt: clap parses the arguments, each subcommand's
//! handler is an ordinary synchronous function, and the handlers call async code through
//! `globalrt::execute`.
//!
//! ```text
//! cargo run --example cli -- --help
//! cargo run --example cli -- checksum Cargo.toml README.md
//! cargo run --example cli -- wait --millis 20
//! cargo run --example cli -- echo hello
//! cargo run --example cli -- tally a b a c a
//! cargo run --example cli -- under-tokio-main
//! ```
//!
//! `tally` holds an `Rc<RefCell<_>>` across `.await`, a `!Send` future, so it uses
//! `globalrt::execute_local`. `under-tokio-main` calls the same handlers from inside `#[tokio::main]`, where a plain
//! `block_on` would panic with "Cannot start a runtime from within a runtime".
//!
//! Exit codes: 0 success, 1 a command failed, 2 bad arguments (clap's).

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::rc::Rc;
use std::time::{Duration, Instant};

use clap::{Parser, Subcommand};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A demo CLI whose synchronous handlers run async code with globalrt::execute.
#[derive(Parser)]
#[command(name = "cli")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Reads the files concurrently with tokio::fs and prints a checksum and size of each.
    Checksum {
        /// The files to read.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Waits on a tokio timer and prints how long it took.
    Wait {
        /// How long to wait, in milliseconds.
        #[arg(long, default_value_t = 10)]
        millis: u64,
    },
    /// Sends the text through a loopback TCP echo server on the shared runtime.
    Echo {
        /// The text to send.
        text: String,
    },
    /// Counts the words, yielding between them, in a !Send future (execute_local).
    Tally {
        /// The words to count.
        #[arg(required = true)]
        words: Vec<String>,
    },
    /// Runs the other handlers from inside `#[tokio::main]`.
    UnderTokioMain,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Checksum { files } => checksum(&files),
        Command::Wait { millis } => wait(Duration::from_millis(millis)),
        Command::Echo { text } => echo(&text),
        Command::Tally { words } => tally(&words),
        Command::UnderTokioMain => under_tokio_main(),
    };
    // Let anything spawned on the shared runtime finish before the process exits.
    let shutdown = globalrt::shutdown(Duration::from_secs(5)).map_err(|err| err.to_string());
    match result.and(shutdown) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("cli: {message}");
            ExitCode::FAILURE
        }
    }
}

/// A synchronous handler: the async file reads run on the shared runtime.
fn checksum(files: &[PathBuf]) -> Result<(), String> {
    // The future borrows `files`: `execute` returns only when it is done.
    let sums = globalrt::execute(async {
        let reads = files
            .iter()
            .map(|path| tokio::spawn(read_and_sum(path.clone())));
        let mut sums = Vec::new();
        for read in reads.collect::<Vec<_>>() {
            sums.push(read.await.map_err(|err| err.to_string())?);
        }
        Ok::<_, String>(sums)
    })?;
    for (path, sum) in files.iter().zip(sums) {
        let (bytes, checksum) = sum?;
        println!("{checksum:08x} {bytes:>8} {}", path.display());
    }
    Ok(())
}

async fn read_and_sum(path: PathBuf) -> Result<(usize, u32), String> {
    let bytes = tokio::fs::read(&path)
        .await
        .map_err(|err| format!("cannot read {}: {err}", path.display()))?;
    let checksum = bytes
        .iter()
        .fold(0u32, |sum, &byte| sum.rotate_left(5) ^ u32::from(byte));
    Ok((bytes.len(), checksum))
}

fn wait(duration: Duration) -> Result<(), String> {
    let started = Instant::now();
    // `tokio::time::sleep` needs a runtime when it is *called*, so call it inside the
    // async block: `execute(tokio::time::sleep(d))` would panic on a plain thread before
    // `execute` runs.
    globalrt::execute(async { tokio::time::sleep(duration).await });
    println!("waited {:?} (asked for {duration:?})", started.elapsed());
    Ok(())
}

fn echo(text: &str) -> Result<(), String> {
    let echoed = globalrt::try_execute(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let address = listener.local_addr()?;
        let server = tokio::spawn(async move {
            let (mut socket, _) = listener.accept().await?;
            let mut received = Vec::new();
            socket.read_to_end(&mut received).await?;
            socket.write_all(&received).await?;
            Ok::<_, std::io::Error>(())
        });
        let mut client = tokio::net::TcpStream::connect(address).await?;
        client.write_all(text.as_bytes()).await?;
        client.shutdown().await?;
        let mut echoed = String::new();
        client.read_to_string(&mut echoed).await?;
        server.await??;
        Ok::<_, std::io::Error>(echoed)
    })
    .map_err(|err| err.to_string())?
    .map_err(|err| format!("echo failed: {err}"))?;
    println!("{echoed}");
    Ok(())
}

/// A handler whose future is `!Send`: it keeps an `Rc` across `.await`, so `execute`
/// would not accept it; `execute_local` polls it on this thread.
fn tally(words: &[String]) -> Result<(), String> {
    let counts = Rc::new(RefCell::new(BTreeMap::<&str, usize>::new()));
    globalrt::try_execute_local(async {
        for word in words {
            let counts = Rc::clone(&counts); // an `Rc` held across `.await`: !Send
            tokio::task::yield_now().await;
            *counts.borrow_mut().entry(word.as_str()).or_default() += 1;
        }
    })
    .map_err(|err| err.to_string())?;
    for (word, count) in counts.borrow().iter() {
        println!("{count:>4} {word}");
    }
    Ok(())
}

/// `#[tokio::main]` can sit on any function: here it builds a multi-thread runtime and
/// runs the body on it, the way an application's `main` would. The synchronous handlers
/// below are called from inside that runtime.
#[tokio::main]
async fn under_tokio_main() -> Result<(), String> {
    let own_source = Path::new(file!()).to_path_buf();
    wait(Duration::from_millis(5))?;
    echo("from inside #[tokio::main]")?;
    tally(&["tokio".to_owned(), "main".to_owned(), "tokio".to_owned()])?;
    if own_source.exists() {
        checksum(&[own_source])?;
    }
    Ok(())
}
