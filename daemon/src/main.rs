//! daedalusd: the Daedalus daemon.
//!
//! - `daedalusd serve`: attach to /dev/daedalus and decode the module's jobs.
//! - `daedalusd replay FILE`: build controls from a stream as a client would and run
//!   them through the same engine on the host (no kernel).

use clap::{Parser, Subcommand};
use daemon::{replay, serve, worker};

#[derive(Parser)]
#[command(
    name = "daedalusd",
    version,
    about = "Daedalus daemon: decodes V4L2 stateless requests",
    long_about = "Daedalus daemon: decodes the V4L2 stateless requests of the daedalus kernel \
module (its jobs arrive on /dev/daedalus) with FFmpeg, writing each picture into the \
client's CAPTURE buffer. `daedalusd serve` attaches (root, or the daemon's user with \
CAP_SYS_ADMIN: udev starts daemon/systemd/daedalusd.service when the module loads), then \
drops every privilege and decodes each context in a sandboxed worker process of its \
own; SIGTERM or SIGINT detach cleanly. `daedalusd replay FILE` runs a stream through \
the same engine on the host, without the kernel."
)]
struct Cli {
    /// Log level filter: error, warn, info, debug, trace, or a tracing directive
    /// such as "info,daemon::serve=debug". Default: $RUST_LOG, else info.
    #[arg(long, global = true, value_name = "FILTER")]
    log_level: Option<String>,
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Serve /dev/daedalus jobs.
    Serve(serve::Args),
    /// Decode a stream on the host through the engine, as a client would drive it.
    Replay(replay::Args),
    /// One context's decoder process (started by `serve`, not by hand).
    #[command(hide = true)]
    Worker(worker::Args),
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let log_level = cli
        .log_level
        .clone()
        .or_else(|| std::env::var("RUST_LOG").ok().filter(|v| !v.is_empty()))
        .unwrap_or_else(|| "info".to_owned());
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(log_level))
        .with_writer(std::io::stderr)
        .init();
    match cli.cmd {
        Cmd::Serve(a) => serve::run(a),
        Cmd::Replay(a) => replay::run(a),
        Cmd::Worker(a) => worker::run(a),
    }
}
