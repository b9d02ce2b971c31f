//! daedalus-decode: decode a stream on any V4L2 stateless decoder through the
//! media controller + request API, write frames in display order, cropped.
//!
//! Stable interface (used by the VM harness):
//! - stdout: with `--md5`, exactly one line, the lowercase hex MD5 of every
//!   displayed frame as planar I420 (yuv420p10le for 10-bit), cropped
//!   (fluster's convention, equal to `ffmpeg ... -f rawvideo -pix_fmt yuv420p - | md5sum`).
//! - stderr: the device used, progress, a summary line
//!   `frames: N displayed, M requests, E errors`, then a `time: ...` line
//!   (parse, decode loop, time blocked on requests, time reading frames).
//! - exit status: 0 on success, 1 on any error (including frames the driver
//!   returned with V4L2_BUF_FLAG_ERROR), 2 on bad usage.

use std::fs::File;
use std::io::{BufWriter, IsTerminal, Write};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use clap::{Parser, ValueEnum};
use md5::{Digest, Md5};

use ctrls::h264::DecodeMode;
use ctrls::source::av1::Av1Source;
use ctrls::source::h264::H264Source;
use ctrls::source::hevc::HevcSource;
use ctrls::source::mpeg2::Mpeg2Source;
use ctrls::source::quirks::{ClientQuirk, WithQuirk};
use ctrls::source::vp8::Vp8Source;
use ctrls::source::vp9::Vp9Source;
use ctrls::source::PictureSource;
use ctrls::Codec;
use request_api::session::{
    find_decoder, DecodedFrame, DmaBufOrigin, MemoryKind, Options, Session,
};
use request_api::yuv::{write_frame, y4m_header, OutputKind};

/// Codecs daedalus-decode has a stream builder for.
const CODECS: [Codec; 6] = [
    Codec::H264,
    Codec::Hevc,
    Codec::Vp8,
    Codec::Vp9,
    Codec::Av1,
    Codec::Mpeg2,
];

/// `--codec`: a [`Codec`] name (through its `FromStr`) with a stream builder.
fn parse_codec(s: &str) -> Result<Codec, String> {
    match s.parse::<Codec>() {
        Ok(c) if CODECS.contains(&c) => Ok(c),
        Ok(c) => Err(format!(
            "no {c} stream builder (one of h264, hevc, vp8, vp9, av1, mpeg2)"
        )),
        Err(e) => Err(format!(
            "{e}; daedalus-decode decodes h264, hevc, vp8, vp9, av1, mpeg2"
        )),
    }
}

/// Buffer memory of the two queues.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum MemoryArg {
    /// V4L2_MEMORY_MMAP on both queues.
    Mmap,
    /// V4L2_MEMORY_DMABUF on both queues.
    Dmabuf,
    /// DMABUF on CAPTURE, MMAP on OUTPUT.
    DmabufCapture,
    /// DMABUF on OUTPUT, MMAP on CAPTURE.
    DmabufOutput,
}

/// Where DMABUF buffers come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum DmabufFromArg {
    /// The system DMA heap when /dev/dma_heap/system exists, else expbuf.
    Auto,
    /// A DMA heap (--dma-heap, default /dev/dma_heap/system).
    Heap,
    /// MMAP buffers of a second context of the decoder, VIDIOC_EXPBUF'd.
    Expbuf,
}

/// A known client whose control filling to imitate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum EmulateArg {
    /// libva-v4l2-request on H.264: SPS profile_idc and level_idc 0, every
    /// picture order count 65536 above the stream's (hardware decodes it).
    Libva,
    /// GStreamer's v4l2slmpeg2dec on MPEG-2: QUANTISATION not set again after a
    /// repeated sequence header that resets the matrices to the defaults.
    Gstreamer,
}

/// How the stream is cut into requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum DecodeModeArg {
    /// One request per picture (DECODE_MODE = FRAME_BASED).
    Frame,
    /// H.264 and HEVC: one request per slice, with its SLICE_PARAMS; every slice
    /// but a picture's last holds the CAPTURE buffer (DECODE_MODE = SLICE_BASED).
    Slice,
}

/// What comes before each slice in the OUTPUT buffer (HEVC_START_CODE).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum StartCodeArg {
    /// 00 00 01 before each slice segment (ANNEX_B).
    AnnexB,
    /// HEVC: the slice segments' NAL units alone; SLICE_PARAMS.bit_size delimits
    /// them (NONE).
    None,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum FormatArg {
    Nv12,
    I420,
}

#[derive(Debug, Parser)]
#[command(
    version,
    about = "Decode a stream on a V4L2 stateless decoder (request API)"
)]
struct Args {
    /// Input stream: H.264 / HEVC Annex B, MPEG-2 video elementary stream, or VP8 / VP9 /
    /// AV1 in IVF.
    file: PathBuf,
    /// Media device of the decoder (default: the first /dev/media* whose
    /// decoder offers the codec).
    #[arg(long)]
    device: Option<PathBuf>,
    /// Codec: h264, hevc, vp8, vp9, av1 or mpeg2 (default: from the file extension,
    /// .h265 / .265 / .hevc for hevc, .m2v / .mpv for mpeg2, and the IVF header; h264
    /// otherwise).
    #[arg(long, value_parser = parse_codec)]
    codec: Option<Codec>,
    /// Frame-based or slice-based decoding (H.264 and HEVC).
    #[arg(long, value_enum, default_value = "frame")]
    decode_mode: DecodeModeArg,
    /// Start codes before the slices (HEVC; H.264 and MPEG-2 are Annex B only).
    #[arg(long, value_enum, default_value = "annex-b")]
    start_code: StartCodeArg,
    /// Fill the controls as this client does instead of from the stream alone
    /// (for testing what a decoder makes of it).
    #[arg(long, value_enum)]
    emulate: Option<EmulateArg>,
    /// Write frames to this file: .y4m (YUV4MPEG2, I420) or raw (.yuv).
    #[arg(long)]
    output: Option<PathBuf>,
    /// Pixel layout of a raw output file.
    #[arg(long, value_enum, default_value = "i420")]
    format: FormatArg,
    /// Print the MD5 of all frames as planar I420 on stdout.
    #[arg(long)]
    md5: bool,
    /// Stop after this many displayed frames.
    #[arg(long)]
    frames: Option<u64>,
    /// Requests (and OUTPUT buffers) in flight.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u32).range(1..=32))]
    requests: u32,
    /// Per-request timeout.
    #[arg(long, default_value_t = 2000)]
    timeout_ms: u32,
    /// Buffer memory: MMAP, or imported dma-bufs on one or both queues.
    #[arg(long, value_enum, default_value = "mmap")]
    memory: MemoryArg,
    /// Source of the dma-bufs for --memory dmabuf*.
    #[arg(long, value_enum, default_value = "auto")]
    dmabuf_from: DmabufFromArg,
    /// DMA heap node for --dmabuf-from heap.
    #[arg(long, default_value = request_api::dmabuf::SYSTEM_HEAP)]
    dma_heap: PathBuf,
}

fn codec_of(args: &Args) -> Codec {
    match args.codec {
        Some(c) => c,
        None => match args
            .file
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            Some("ivf") => ivf_codec(&args.file).unwrap_or(Codec::Vp9),
            Some("h265" | "265" | "hevc") => Codec::Hevc,
            Some("m2v" | "mpv" | "mpeg2") => Codec::Mpeg2,
            _ => Codec::H264,
        },
    }
}

fn ivf_codec(path: &Path) -> Option<Codec> {
    let head = std::fs::read(path).ok()?;
    match head.get(8..12)? {
        b"VP90" => Some(Codec::Vp9),
        b"AV01" => Some(Codec::Av1),
        b"VP80" => Some(Codec::Vp8),
        _ => None,
    }
}

fn source_for(
    codec: Codec,
    data: &[u8],
    mode: DecodeModeArg,
    start_code: StartCodeArg,
) -> Result<Box<dyn PictureSource>> {
    if mode == DecodeModeArg::Slice && !matches!(codec, Codec::H264 | Codec::Hevc) {
        bail!("--decode-mode slice is for H.264 and HEVC only ({codec} is decoded frame by frame)");
    }
    if start_code == StartCodeArg::None && codec != Codec::Hevc {
        bail!("--start-code none is for HEVC only ({codec} streams are sent as they are)");
    }
    match codec {
        Codec::H264 => {
            let mode = match mode {
                DecodeModeArg::Frame => DecodeMode::FrameBased,
                DecodeModeArg::Slice => DecodeMode::SliceBased,
            };
            Ok(Box::new(
                H264Source::with_mode(data, mode).context("parsing the H.264 stream")?,
            ))
        }
        Codec::Vp8 => Ok(Box::new(
            Vp8Source::new(data).context("parsing the VP8 IVF stream")?,
        )),
        Codec::Mpeg2 => Ok(Box::new(
            Mpeg2Source::new(data).context("parsing the MPEG-2 video stream")?,
        )),
        Codec::Vp9 => Ok(Box::new(
            Vp9Source::new(data).context("parsing the VP9 IVF stream")?,
        )),
        Codec::Av1 => Ok(Box::new(
            Av1Source::new(data).context("parsing the AV1 IVF stream")?,
        )),
        Codec::Hevc => {
            let mode = match mode {
                DecodeModeArg::Frame => ctrls::hevc::DecodeMode::FrameBased,
                DecodeModeArg::Slice => ctrls::hevc::DecodeMode::SliceBased,
            };
            let sc = match start_code {
                StartCodeArg::AnnexB => ctrls::hevc::StartCode::AnnexB,
                StartCodeArg::None => ctrls::hevc::StartCode::None,
            };
            Ok(Box::new(
                HevcSource::with_mode(data, mode)
                    .and_then(|s| s.with_start_code(sc))
                    .context("parsing the HEVC stream")?,
            ))
        }
    }
}

/// The progress line on a terminal: a bar, frames, fps and the time left when the
/// stream's frame count is known, else frames and fps.
fn progress(n: u64, total: Option<usize>, elapsed: std::time::Duration, w: u32, h: u32) -> String {
    let secs = elapsed.as_secs_f64().max(1e-3);
    let fps = n as f64 / secs;
    match total {
        Some(t) if t > 0 => {
            let t = t as u64;
            let done = n.min(t);
            const WIDTH: u64 = 30;
            let filled = (done * WIDTH / t) as usize;
            let eta = (t - done) as f64 / fps.max(1e-3);
            format!(
                "[{}{}] {n}/{t} frames ({w}x{h}), {fps:.1} fps, {:.0} s left",
                "#".repeat(filled),
                "-".repeat(WIDTH as usize - filled),
                eta
            )
        }
        _ => format!("frame {n} ({w}x{h}), {fps:.1} fps"),
    }
}

struct Output {
    w: BufWriter<File>,
    kind: OutputKind,
    header_done: bool,
}

fn main() {
    let args = Args::parse();
    match run(&args) {
        Ok(()) => {}
        Err(e) => {
            eprintln!("daedalus-decode: error: {e:#}");
            std::process::exit(1);
        }
    }
}

fn run(args: &Args) -> Result<()> {
    let codec = codec_of(args);
    let data =
        std::fs::read(&args.file).with_context(|| format!("reading {}", args.file.display()))?;
    let t_parse = std::time::Instant::now();
    let mut source = source_for(codec, &data, args.decode_mode, args.start_code)?;
    match args.emulate {
        None => {}
        Some(EmulateArg::Libva) => {
            source = Box::new(WithQuirk::new(source, ClientQuirk::LibvaH264)?);
            eprintln!("daedalus-decode: controls filled as libva-v4l2-request does (H.264)");
        }
        Some(EmulateArg::Gstreamer) => {
            if codec != Codec::Mpeg2 {
                bail!("--emulate gstreamer is an MPEG-2 quirk ({codec} stream)");
            }
            source = Box::new(
                Mpeg2Source::emulating_gstreamer(&data)
                    .context("parsing the MPEG-2 video stream")?,
            );
            eprintln!("daedalus-decode: QUANTISATION left as v4l2slmpeg2dec leaves it (MPEG-2)");
        }
    }
    let parse_secs = t_parse.elapsed().as_secs_f64();

    let mut out = match &args.output {
        None => None,
        Some(p) => {
            let y4m = p.extension().and_then(|e| e.to_str()) == Some("y4m");
            if y4m && args.format == FormatArg::Nv12 {
                bail!("--format nv12 cannot be written to a .y4m file (Y4M carries planar I420)");
            }
            let kind = match (y4m, args.format) {
                (true, _) => OutputKind::Y4m,
                (false, FormatArg::I420) => OutputKind::RawI420,
                (false, FormatArg::Nv12) => OutputKind::RawNv12,
            };
            let f = File::create(p).with_context(|| format!("creating {}", p.display()))?;
            Some(Output {
                w: BufWriter::new(f),
                kind,
                header_done: false,
            })
        }
    };

    let dev = find_decoder(codec, args.device.as_deref())?;
    eprintln!(
        "daedalus-decode: {} on {} ({} '{}', {})",
        codec,
        dev.video.display(),
        dev.driver,
        dev.entity,
        dev.media.display()
    );
    if args.decode_mode == DecodeModeArg::Slice {
        eprintln!("daedalus-decode: slice-based decoding, one request per slice");
    }
    if args.start_code == StartCodeArg::None {
        eprintln!("daedalus-decode: no start codes (HEVC_START_CODE NONE)");
    }
    let (output_memory, capture_memory) = match args.memory {
        MemoryArg::Mmap => (MemoryKind::Mmap, MemoryKind::Mmap),
        MemoryArg::Dmabuf => (MemoryKind::DmaBuf, MemoryKind::DmaBuf),
        MemoryArg::DmabufCapture => (MemoryKind::Mmap, MemoryKind::DmaBuf),
        MemoryArg::DmabufOutput => (MemoryKind::DmaBuf, MemoryKind::Mmap),
    };
    let dmabuf_origin = match args.dmabuf_from {
        DmabufFromArg::Auto => DmaBufOrigin::auto(),
        DmabufFromArg::Heap => DmaBufOrigin::Heap(args.dma_heap.clone()),
        DmabufFromArg::Expbuf => DmaBufOrigin::Expbuf,
    };
    if args.memory != MemoryArg::Mmap {
        eprintln!(
            "daedalus-decode: DMABUF on {}; dma-bufs from {dmabuf_origin}",
            match args.memory {
                MemoryArg::Dmabuf => "OUTPUT and CAPTURE",
                MemoryArg::DmabufCapture => "CAPTURE",
                _ => "OUTPUT",
            }
        );
    }
    let opts = Options {
        requests: args.requests as usize,
        timeout_ms: args.timeout_ms,
        max_frames: args.frames,
        output_memory,
        capture_memory,
        dmabuf_origin,
    };
    let mut session = Session::open(dev, codec, opts)?;

    let tty = std::io::stderr().is_terminal();
    let total = source.frames_hint();
    let t_start = std::time::Instant::now();
    let mut md5 = Md5::new();
    let mut error_frames: Vec<u64> = Vec::new();
    let mut sink = |f: DecodedFrame| -> std::io::Result<()> {
        if args.md5 {
            md5.update(&f.i420);
        }
        if f.error {
            error_frames.push(f.number);
        }
        if let Some(o) = out.as_mut() {
            if o.kind == OutputKind::Y4m && !o.header_done {
                o.w.write_all(y4m_header(f.width, f.height, f.sample_bytes).as_bytes())?;
                o.header_done = true;
            }
            write_frame(&mut o.w, &f.i420, o.kind, f.width, f.height, f.sample_bytes)?;
        }
        let n = f.number + 1;
        if tty {
            eprint!(
                "\r{}\x1b[K",
                progress(n, total, t_start.elapsed(), f.width, f.height)
            );
        } else if (n / 50) * 50 == n {
            eprintln!("frame {n}");
        }
        Ok(())
    };
    let t_decode = std::time::Instant::now();
    let res = session.decode(source.as_mut(), &mut sink);
    let decode_secs = t_decode.elapsed().as_secs_f64();
    if tty {
        eprintln!();
    }
    let stats = session.stats.clone();
    let undisplayed = session.undisplayed();
    drop(session);
    if let Some(mut o) = out {
        o.w.flush().context("writing the output file")?;
    }
    eprintln!(
        "frames: {} displayed, {} requests, {} errors",
        stats.displayed,
        stats.submitted,
        stats.errors.len()
    );
    eprintln!(
        "time: {:.1} s parsing the stream, {:.1} s decoding ({:.2} frames/s): {:.1} s waiting for the driver, {:.1} s reading frames (I420{})",
        parse_secs,
        decode_secs,
        stats.displayed as f64 / decode_secs.max(1e-9),
        stats.waiting.as_secs_f64(),
        stats.reading.as_secs_f64(),
        match (args.md5, args.output.is_some()) {
            (true, true) => ", MD5, output file",
            (true, false) => ", MD5",
            (false, true) => ", output file",
            (false, false) => "",
        }
    );
    res?;
    if args.md5 {
        let digest = md5.finalize();
        let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
        println!("{hex}");
    }
    if !stats.errors.is_empty() {
        bail!(
            "the driver flagged {} request(s) with V4L2_BUF_FLAG_ERROR (decode order: {:?}); displayed frames affected: {:?}",
            stats.errors.len(),
            stats.errors,
            error_frames
        );
    }
    if undisplayed > 0 && args.frames.is_none() {
        bail!("{undisplayed} frame(s) announced for display never came back from the driver");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::progress;
    use std::time::Duration;

    #[test]
    fn progress_shows_bar_fps_and_time_left() {
        // 25 of 100 frames in 5 s: 5 fps, 75 frames left at 5 fps.
        let s = progress(25, Some(100), Duration::from_secs(5), 352, 288);
        assert!(
            s.starts_with(&format!("[{}{}]", "#".repeat(7), "-".repeat(23))),
            "{s}"
        );
        assert!(
            s.contains("25/100 frames (352x288), 5.0 fps, 15 s left"),
            "{s}"
        );
        let s = progress(100, Some(100), Duration::from_secs(10), 64, 64);
        assert!(
            s.contains(&"#".repeat(30)) && s.ends_with("0 s left"),
            "{s}"
        );
    }

    #[test]
    fn progress_without_a_frame_count() {
        let s = progress(10, None, Duration::from_secs(2), 64, 64);
        assert_eq!(s, "frame 10 (64x64), 5.0 fps");
    }
}
