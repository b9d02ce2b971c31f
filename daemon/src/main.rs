//! daedalusd: the Daedalus daemon.
//!
//! - `daedalusd serve`: attach to /dev/daedalus and decode the module's jobs.
//! - `daedalusd replay FILE`: build controls from a stream as a client would and run
//!   them through the same engine on the host (no kernel).

use clap::{Parser, Subcommand};

mod replay;
mod serve;

#[derive(Parser)]
#[command(
    name = "daedalusd",
    version,
    about = "Daedalus daemon: decodes V4L2 stateless requests"
)]
struct Cli {
    /// Log level filter (error, warn, info, debug, trace, or a tracing directive).
    #[arg(long, default_value = "info", global = true)]
    log_level: String,
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Serve /dev/daedalus jobs.
    Serve(serve::Args),
    /// Decode a stream on the host through the engine, as a client would drive it.
    Replay(replay::Args),
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(&cli.log_level))
        .with_writer(std::io::stderr)
        .init();
    match cli.cmd {
        Cmd::Serve(a) => serve::run(a),
        Cmd::Replay(a) => replay::run(a),
    }
}
