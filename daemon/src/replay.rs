//! `daedalusd replay`: build the controls from a stream exactly as a stateless client
//! would, decode every request through the engine into its own CAPTURE-like buffer, and
//! write the frames in display order, cropped to the SPS crop window, as planar 4:2:0
//! (I420; yuv420p10le for >8-bit streams) — or print the MD5 of that output.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;
use libdaedalus::replay::{replay_h264, ReplayOptions};
use libdaedalus::{EngineOptions, PixelFormat};
use md5::{Digest, Md5};

#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum CodecArg {
    H264,
    Vp9,
    Av1,
}

#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum FormatArg {
    I420,
    Nv12,
    Nv12m,
    P010,
}

/// Arguments of `daedalusd replay`.
#[derive(clap::Args)]
pub struct Args {
    /// Input stream (H.264: Annex B elementary stream; VP9, AV1: IVF).
    pub input: PathBuf,
    /// Codec of the input.
    #[arg(long, value_enum, default_value = "h264")]
    pub codec: CodecArg,
    /// Write the decoded frames (planar I420 / yuv420p10le, display order, cropped) here.
    #[arg(long, short)]
    pub output: Option<PathBuf>,
    /// CAPTURE buffer format the engine writes (default: nv12, p010 for 10-bit streams).
    #[arg(long, value_enum)]
    pub format: Option<FormatArg>,
    /// Print the MD5 of the whole output (`md5  INPUT`, like md5sum).
    #[arg(long)]
    pub md5: bool,
    /// Fail requests whose controls disagree with the bitstream or the DPB.
    #[arg(long)]
    pub strict: bool,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let data =
        std::fs::read(&args.input).with_context(|| format!("reading {}", args.input.display()))?;
    let opts = ReplayOptions {
        format: args.format.map(|f| match f {
            FormatArg::I420 => PixelFormat::Yuv420,
            FormatArg::Nv12 => PixelFormat::Nv12,
            FormatArg::Nv12m => PixelFormat::Nv12m,
            FormatArg::P010 => PixelFormat::P010,
        }),
        engine: EngineOptions {
            strict: args.strict,
        },
    };
    let mut out = match &args.output {
        Some(p) => Some(std::io::BufWriter::new(
            std::fs::File::create(p).with_context(|| format!("creating {}", p.display()))?,
        )),
        None => None,
    };
    let mut md5 = Md5::new();
    let want_md5 = args.md5;
    let sink = |frame: &[u8]| {
        if want_md5 {
            md5.update(frame);
        }
        if let Some(o) = out.as_mut() {
            o.write_all(frame)?;
        }
        Ok(())
    };
    let summary = match args.codec {
        CodecArg::H264 => replay_h264(&data, &opts, sink)?,
        CodecArg::Vp9 => libdaedalus::codec::vp9::replay::replay_ivf(&data, &opts, sink)?,
        CodecArg::Av1 => libdaedalus::codec::av1::replay::replay_ivf(&data, &opts, sink)?,
    };
    if let Some(mut o) = out {
        o.flush()?;
    }
    tracing::info!(
        requests = summary.requests,
        frames = summary.frames,
        failed = summary.failed.len(),
        warnings = summary.warnings,
        "replay done"
    );
    if want_md5 {
        println!("{:x}  {}", md5.finalize(), args.input.display());
    }
    if !summary.failed.is_empty() {
        anyhow::bail!(
            "{} of {} requests failed (first: #{} {})",
            summary.failed.len(),
            summary.requests,
            summary.failed[0].0,
            summary.failed[0].1
        );
    }
    Ok(())
}
