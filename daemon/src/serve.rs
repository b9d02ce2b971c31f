//! `daedalusd serve`.

/// Arguments of `daedalusd serve`.
#[derive(clap::Args)]
pub struct Args {}

pub fn run(_args: Args) -> anyhow::Result<()> {
    anyhow::bail!("daedalusd serve: not implemented yet")
}
