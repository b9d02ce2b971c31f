//! `daedalusd replay`: build the controls from a stream exactly as a stateless client
//! would, decode every request through the engine into its own CAPTURE-like buffer, and
//! write the frames in display order, cropped to the SPS crop window, as planar 4:2:0
//! (I420; yuv420p10le for >8-bit streams) — or print the MD5 of that output.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;
use ctrls::{CaptureFormat, Codec};
use libdaedalus::replay::{replay_h264, ReplayOptions};
use libdaedalus::EngineOptions;
use md5::{Digest, Md5};
use tracing::{debug, info, warn};

/// Arguments of `daedalusd replay`.
#[derive(clap::Args)]
pub struct Args {
    /// Input stream (H.264, HEVC: Annex B elementary stream; MPEG-2: video elementary
    /// stream; VP8, VP9, AV1: IVF).
    pub input: PathBuf,
    /// Codec of the input: h264, hevc, vp8, vp9, av1 or mpeg2.
    #[arg(long, default_value = "h264")]
    pub codec: Codec,
    /// Write the decoded frames (planar I420 / yuv420p10le, display order, cropped) here.
    #[arg(long, short)]
    pub output: Option<PathBuf>,
    /// CAPTURE buffer format the engine writes: nv12, nv12m, i420, yuv420m, p010 or a
    /// fourcc (default: nv12, p010 for 10-bit streams).
    #[arg(long)]
    pub format: Option<CaptureFormat>,
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
        format: args.format,
        engine: EngineOptions::strict(args.strict),
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
    let summary = libdaedalus::replay::replay(args.codec, &data, &opts, sink)?;
    if let Some(mut o) = out {
        o.flush()?;
    }
    info!(
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

/// A 64x64, 5-frame libx264 stream (High profile, CABAC, B-frames, weighted
/// prediction, 8x8 transform; made with the host ffmpeg from testsrc2).
const WARMUP_STREAM: &[u8] = include_bytes!("warmup.264");

/// Decodes [`WARMUP_STREAM`] through the engine before attaching, so a
/// context's first jobs do not pay for the first touch of the engine's and
/// FFmpeg's code and tables (page-ins of the binary and libavcodec, static
/// table set-up). Under TCG with the libraries read over 9p, that cost made
/// the first job of the first context take 1.3 s, past GStreamer's 1 s wait
/// for a request. Then every other codec's decoder is opened once (and
/// dropped), which runs FFmpeg's and dav1d's one-time table set-up for it: a
/// worker is started before anyone knows its context's codec, and that
/// set-up should not land in a context's first job whatever the codec
/// (v4l2-compliance waits 2 s for a buffer, GStreamer 1 s for a request).
/// Failure only logs: the real jobs will say what is wrong.
pub fn warm_up() {
    let started = std::time::Instant::now();
    let opts = ReplayOptions::default();
    for codec in [
        Codec::Hevc,
        Codec::Vp8,
        Codec::Vp9,
        Codec::Av1,
        Codec::Mpeg2,
    ] {
        if let Err(e) = libdaedalus::Engine::with_options(codec, EngineOptions::default()) {
            warn!("warm-up: opening the {codec} decoder failed: {e}");
        }
    }
    // Each worker warms up: debug, not one info line per context.
    match replay_h264(WARMUP_STREAM, &opts, |_| Ok(())) {
        Ok(s) => debug!(
            frames = s.frames,
            failed = s.failed.len(),
            ms = format!("{:.0}", started.elapsed().as_secs_f64() * 1e3),
            "warm-up decode done"
        ),
        Err(e) => warn!("warm-up decode failed: {e}"),
    }
}
