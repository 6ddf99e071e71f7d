//! The whole command line of `cargo xtask`. Each variant's doc comment is its help text.

use clap::{Args, Parser, Subcommand};

/// Project automation for globalrt.
#[derive(Debug, Parser)]
#[command(name = "cargo xtask", arg_required_else_help = true)]
pub(crate) struct Xtask {
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Run the batch demo (`examples/batch.rs`) in release mode.
    Demo(Demo),
}

#[derive(Debug, Args)]
pub(crate) struct Demo {
    /// `global` (the shared runtime) or `naive` (a runtime per command).
    #[arg(long, default_value = "global")]
    pub(crate) mode: String,
    /// How many commands to run.
    #[arg(long, default_value_t = 280)]
    pub(crate) commands: u32,
}
