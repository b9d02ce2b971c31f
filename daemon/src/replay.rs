//! `daedalusd replay`.

/// Arguments of `daedalusd replay`.
#[derive(clap::Args)]
pub struct Args {}

pub fn run(_args: Args) -> anyhow::Result<()> {
    anyhow::bail!("daedalusd replay: not implemented yet")
}
