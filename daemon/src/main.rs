//! daedalusd: the Daedalus daemon.

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "daedalusd", version, about = "Daedalus daemon: decodes V4L2 stateless requests")]
struct Cli {
    /// Log level (error, warn, info, debug, trace).
    #[arg(long, default_value = "info", global = true)]
    log_level: String,
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(&cli.log_level))
        .with_writer(std::io::stderr)
        .init();
    match cli.cmd {}
}
