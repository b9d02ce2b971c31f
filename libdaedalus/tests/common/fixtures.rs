//! The shared test streams (VP8, VP9, AV1, HEVC): one list ([`defs`]), made once by the host
//! encoders into a cache folder, read by the stream tests (tests/vp8.rs, vp9.rs, av1.rs, ...)
//! and by the VM suites (compliance/lib/streams.sh runs `cargo run --example fixtures`).
//!
//! Layout: `ROOT/KEY/` with `NAME.ivf` per stream, `streams.txt` (one line per stream:
//! `NAME BITS WxH FRAMES BYTES MD5 RESIZE VM`) and `list.txt` (the VM streams only, in
//! the format the guest scripts read: `MD5  NAME.ivf  BITS  WxH  RESIZE`). ROOT:
//! DAEDALUS_FIXTURES, else `target/fixtures` of the workspace. KEY hashes this file and
//! the encoders' versions, so a changed list or encoder makes a new folder; a complete
//! folder is never rebuilt. It is built as `KEY.partial.PID` and renamed when complete,
//! under a lock (`ROOT/.lock.d`) so parallel test processes make it once.
//!
//! MD5: FFmpeg's single-threaded decode, every frame, no scaling, yuv420p (yuv420p10le
//! for 10-bit); a monochrome stream: FFmpeg's luma (`gray`) with neutral chroma (128, the
//! AV1 spec's output for mono_chrome). BYTES: the length of that output. WxH: the first
//! frame's size. FRAMES: shown frames. RESIZE: `-`, or `N:MD5` when the size changes on a
//! non-key frame (reference scaling), N frames being shown before that and MD5 that of
//! FFmpeg's first N frames (what a client that stops there shows).

#![allow(dead_code)]

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;

use ctrls::av1::FrameFlags as Av1FrameFlags;
use ctrls::build::av1::{Av1Builder, Av1Event};
use ctrls::build::vp8::Vp8Builder;
use ctrls::build::vp9::{Vp9Builder, Vp9Event};
use ctrls::vp9::FrameFlags as Vp9FrameFlags;
use md5::{Digest, Md5};

#[path = "hevc_writer.rs"]
pub mod hevc_writer;
use hevc_writer::{Segments, Tiles};

/// An AV1 encoder.
#[derive(Clone, Copy, PartialEq, Debug)]
pub enum Av1Enc {
    /// ffmpeg libaom-av1.
    Aom,
    /// ffmpeg libsvtav1.
    Svt,
    /// ffmpeg librav1e.
    Rav1e,
    /// The aomenc CLI (aom-tools): libaom options FFmpeg's wrapper does not expose.
    AomCli,
}

/// How a stream is made (every encoder single-threaded, so deterministic).
#[derive(Debug)]
pub enum Recipe {
    /// ffmpeg libvpx-vp9 of testsrc2 at `size` (25 fps); `two_pass`: libvpx only makes
    /// alt-ref / hidden frames in two-pass mode.
    Vpx {
        size: &'static str,
        frames: u32,
        two_pass: bool,
        args: &'static [&'static str],
    },
    /// 8 frames of libvpx-vp9 at 300k per size, joined into one IVF (each part starts
    /// with a key frame: resolution changes on key frames).
    VpxJoin { sizes: &'static [&'static str] },
    /// vpxenc dynamic resize (1-pass CBR, starved): inter frames at a new size predict
    /// from references of the old size (scaled references).
    VpxencScaledRefs,
    /// An AV1 encoder; `vf`: an extra filter (`-vf`), or `src:NAME` for another lavfi
    /// source than testsrc2.
    Av1 {
        enc: Av1Enc,
        w: u32,
        h: u32,
        frames: u32,
        args: &'static [&'static str],
        vf: &'static str,
    },
    /// ffmpeg mpeg2video (single-threaded) of testsrc2 at `size` (25 fps), an MPEG-2
    /// video elementary stream; `args`: ffmpeg options.
    Mpeg2 {
        size: &'static str,
        frames: u32,
        args: &'static [&'static str],
    },
    /// ffmpeg libx265 (single-threaded unless `params` asks for a pool) of testsrc2 at
    /// `w`x`h` (25 fps), Annex B; `args`: ffmpeg options (preset, `-vf`); `then`: a second
    /// part at another size (`w`, `h`, frames), appended whole (a new sequence: VPS, SPS,
    /// PPS, IDR: a resolution change at an IRAP picture).
    X265 {
        w: u32,
        h: u32,
        frames: u32,
        params: &'static str,
        args: &'static [&'static str],
        then: Option<(u32, u32, u32)>,
    },
    /// Our own small encoder ([`hevc_writer`]): PCM, tiles, dependent slice segments,
    /// long-term references, which libx265 does not write.
    HevcWriter(hevc_writer::Config),
}

/// One stream of the list.
#[derive(Debug)]
pub struct Def {
    /// File stem: `CODEC-NAME`.
    pub name: &'static str,
    /// The test that checks it (tests/vp9.rs: `vp9`, `vp9-unit`; tests/av1.rs: its tests).
    pub group: &'static str,
    pub bits: u8,
    /// Luma only (AV1 mono_chrome).
    pub mono: bool,
    /// In the VM suites' list.txt (the bit-exact set).
    pub vm: bool,
    /// Coding tools the stream must use (checked by the test that reads it).
    pub need: &'static [&'static str],
    pub recipe: Recipe,
}

/// A made stream, with what its `streams.txt` line says.
#[derive(Clone, Debug)]
pub struct Fixture {
    pub name: String,
    pub path: PathBuf,
    pub bits: u8,
    pub size: (u32, u32),
    pub frames: usize,
    /// Length of FFmpeg's output (see the module doc).
    pub bytes: usize,
    pub md5: String,
    /// `(N, MD5)`: see RESIZE in the module doc.
    pub resize: Option<(usize, String)>,
    pub vm: bool,
}

impl Fixture {
    /// The definition this stream was made from.
    pub fn def(&self) -> &'static Def {
        defs()
            .iter()
            .find(|d| d.name == self.name)
            .expect("a listed stream")
    }
}

const VPX: [&str; 8] = [
    "-threads",
    "1",
    "-row-mt",
    "0",
    "-deadline",
    "good",
    "-cpu-used",
    "4",
];
const VP8_VPX: [&str; 6] = ["-threads", "1", "-deadline", "good", "-cpu-used", "4"];
const AOM: &[&str] = &["-cpu-used", "8", "-row-mt", "0", "-threads", "1"];
pub const ARF: &[&str] = &["-auto-alt-ref", "1", "-lag-in-frames", "16", "-b:v", "400k"];
const NO_LAG: &str = "0";

const fn vp(
    name: &'static str,
    size: &'static str,
    frames: u32,
    args: &'static [&'static str],
) -> Def {
    Def {
        name,
        group: "vp9",
        bits: 8,
        mono: false,
        vm: true,
        need: &[],
        recipe: Recipe::Vpx {
            size,
            frames,
            two_pass: false,
            args,
        },
    }
}

/// A VP8 stream (ffmpeg libvpx, the `Vpx` recipe with a `vp8-` name), read by tests/vp8.rs.
const fn v8(
    name: &'static str,
    size: &'static str,
    frames: u32,
    args: &'static [&'static str],
    need: &'static [&'static str],
) -> Def {
    let mut d = vp(name, size, frames, args);
    d.group = "vp8";
    d.need = need;
    d
}

/// An MPEG-2 stream (ffmpeg mpeg2video), read by tests/mpeg2.rs.
const fn m2(
    name: &'static str,
    size: &'static str,
    frames: u32,
    args: &'static [&'static str],
    need: &'static [&'static str],
) -> Def {
    Def {
        name,
        group: "mpeg2",
        bits: 8,
        mono: false,
        vm: true,
        need,
        recipe: Recipe::Mpeg2 { size, frames, args },
    }
}

/// A custom intra matrix for the mpeg2video encoder (raster order, 8 at DC).
const M2_INTRA: &str = "8,12,14,16,18,20,24,28,12,14,16,18,20,24,28,32,14,16,18,20,24,28,32,36,\
16,18,20,24,28,32,36,40,18,20,24,28,32,36,40,44,20,24,28,32,36,40,44,48,\
24,28,32,36,40,44,48,52,28,32,36,40,44,48,52,56";
const M2_INTER: &str = "16,17,18,19,20,21,22,23,17,18,19,20,21,22,23,24,18,19,20,21,22,23,24,25,\
19,20,21,22,23,24,25,26,20,21,22,23,24,25,26,27,21,22,23,24,25,26,27,28,\
22,23,24,25,26,27,28,29,23,24,25,26,27,28,29,30";

/// Two-pass (alt-ref).
const fn arf(mut d: Def) -> Def {
    if let Recipe::Vpx {
        ref mut two_pass, ..
    } = d.recipe
    {
        *two_pass = true;
    }
    d
}

const fn ten(mut d: Def) -> Def {
    d.bits = 10;
    d
}

/// A stream only unit tests read (not in the VM list).
const fn unit(mut d: Def) -> Def {
    d.group = "vp9-unit";
    d.vm = false;
    d
}

#[allow(clippy::too_many_arguments)]
const fn av1(
    name: &'static str,
    group: &'static str,
    enc: Av1Enc,
    (w, h): (u32, u32),
    frames: u32,
    bits: u8,
    args: &'static [&'static str],
    vf: &'static str,
    need: &'static [&'static str],
) -> Def {
    Def {
        name,
        group,
        bits,
        mono: false,
        vm: true,
        need,
        recipe: Recipe::Av1 {
            enc,
            w,
            h,
            frames,
            args,
            vf,
        },
    }
}

/// An HEVC stream of tests/hevc.rs (libx265, `-preset fast` unless `args` says).
const fn hx(
    name: &'static str,
    (w, h): (u32, u32),
    frames: u32,
    params: &'static str,
    need: &'static [&'static str],
) -> Def {
    Def {
        name,
        group: "hevc",
        bits: 8,
        mono: false,
        vm: true,
        need,
        recipe: Recipe::X265 {
            w,
            h,
            frames,
            params,
            args: &["-preset", "fast"],
            then: None,
        },
    }
}

/// An HEVC stream of [`hevc_writer`] (tests/hevc.rs).
const fn hw(name: &'static str, need: &'static [&'static str], c: hevc_writer::Config) -> Def {
    Def {
        name,
        group: "hevc-own",
        bits: 8,
        mono: false,
        vm: true,
        need,
        recipe: Recipe::HevcWriter(c),
    }
}

/// Other ffmpeg options for an [`hx`] stream.
const fn hx_args(mut d: Def, a: &'static [&'static str]) -> Def {
    if let Recipe::X265 { ref mut args, .. } = d.recipe {
        *args = a;
    }
    d
}

use Av1Enc::{Aom, AomCli, Rav1e, Svt};

static DEFS: &[Def] = &[
    // VP9: tests/vp9.rs streams_match_ffmpeg.
    vp("vp9-p0_64x64", "64x64", 20, &["-b:v", "100k"]),
    vp("vp9-p0_130x98", "130x98", 20, &["-b:v", "150k"]),
    vp("vp9-p0_127x95_odd", "127x95", 15, &["-b:v", "150k"]),
    arf(vp("vp9-p0_176x144_arf", "176x144", 40, ARF)),
    arf(vp("vp9-p0_352x288_arf", "352x288", 40, ARF)),
    vp(
        "vp9-p0_352x288_aq1",
        "352x288",
        20,
        &["-b:v", "300k", "-aq-mode", "1"],
    ),
    vp(
        "vp9-p0_352x288_aq2",
        "352x288",
        20,
        &["-b:v", "300k", "-aq-mode", "2"],
    ),
    vp(
        "vp9-p0_352x288_aq3",
        "352x288",
        20,
        &["-b:v", "300k", "-aq-mode", "3"],
    ),
    vp(
        "vp9-p0_320x240_errres",
        "320x240",
        20,
        &["-b:v", "300k", "-error-resilient", "1"],
    ),
    vp("vp9-p0_320x240_lossless", "320x240", 8, &["-lossless", "1"]),
    vp(
        "vp9-p0_640x360_rt_yu12",
        "640x360",
        30,
        &["-b:v", "600k", "-deadline", "realtime", "-cpu-used", "8"],
    ),
    vp(
        "vp9-p0_640x480_gop5_nm12",
        "640x480",
        20,
        &["-b:v", "800k", "-g", "5"],
    ),
    arf(vp(
        "vp9-p0_640x360_frameparallel_sharp",
        "640x360",
        30,
        &[
            "-b:v",
            "500k",
            "-auto-alt-ref",
            "1",
            "-lag-in-frames",
            "12",
            "-frame-parallel",
            "1",
            "-sharpness",
            "7",
        ],
    )),
    vp(
        "vp9-p0_1280x720_tiles4x2",
        "1280x720",
        8,
        &["-b:v", "2M", "-tile-columns", "2", "-tile-rows", "1"],
    ),
    vp(
        "vp9-p0_1920x1080_tiles4",
        "1920x1080",
        6,
        &["-b:v", "4M", "-tile-columns", "2"],
    ),
    arf(vp(
        "vp9-p0_1920x1080_arf",
        "1920x1080",
        20,
        &[
            "-b:v",
            "4M",
            "-tile-columns",
            "2",
            "-auto-alt-ref",
            "1",
            "-lag-in-frames",
            "16",
        ],
    )),
    vp(
        "vp9-p0_3840x2160_tiles4",
        "3840x2160",
        3,
        &[
            "-b:v",
            "8M",
            "-tile-columns",
            "2",
            "-deadline",
            "realtime",
            "-cpu-used",
            "8",
        ],
    ),
    ten(vp("vp9-p2_64x64", "64x64", 15, &["-b:v", "100k"])),
    ten(arf(vp("vp9-p2_352x288_arf", "352x288", 30, ARF))),
    ten(vp(
        "vp9-p2_640x360_aq3",
        "640x360",
        15,
        &["-b:v", "500k", "-aq-mode", "3"],
    )),
    ten(vp(
        "vp9-p2_1280x720_tiles4",
        "1280x720",
        6,
        &["-b:v", "2M", "-tile-columns", "2"],
    )),
    Def {
        name: "vp9-p0_resize_352x288_176x144_640x360",
        group: "vp9",
        bits: 8,
        mono: false,
        vm: true,
        need: &[],
        recipe: Recipe::VpxJoin {
            sizes: &["352x288", "176x144", "640x360"],
        },
    },
    Def {
        name: "vp9-p2_resize_320x240_160x120",
        group: "vp9",
        bits: 10,
        mono: false,
        vm: true,
        need: &[],
        recipe: Recipe::VpxJoin {
            sizes: &["320x240", "160x120"],
        },
    },
    Def {
        name: "vp9-p0_640x480_dynresize_scaledrefs",
        group: "vp9",
        bits: 8,
        mono: false,
        vm: true,
        need: &[],
        recipe: Recipe::VpxencScaledRefs,
    },
    // VP8: tests/vp8.rs streams_match_ffmpeg (`need`: what it checks the stream uses).
    v8("vp8-64x64", "64x64", 20, &["-b:v", "100k"], &[]),
    v8("vp8-127x95_odd", "127x95", 15, &["-b:v", "150k"], &[]),
    arf(v8(
        "vp8-176x144_arf",
        "176x144",
        40,
        ARF,
        &["hidden", "alt-copy"],
    )),
    v8(
        "vp8-352x288_errres",
        "352x288",
        20,
        &["-b:v", "300k", "-error-resilient", "default", "-g", "10"],
        &["no-entropy-refresh"],
    ),
    v8(
        "vp8-640x360_parts8_sharp",
        "640x360",
        12,
        &["-b:v", "800k", "-slices", "8", "-sharpness", "5"],
        &["parts8"],
    ),
    v8(
        "vp8-1920x1080",
        "1920x1080",
        8,
        &["-b:v", "3M", "-slices", "4"],
        &["parts4"],
    ),
    Def {
        name: "vp8-resize_352x288_176x144_640x360",
        group: "vp8",
        bits: 8,
        mono: false,
        vm: true,
        need: &["key-resize"],
        recipe: Recipe::VpxJoin {
            sizes: &["352x288", "176x144", "640x360"],
        },
    },
    // MPEG-2: tests/mpeg2.rs streams_match_ffmpeg.
    m2(
        "mpeg2-352x288_bframes",
        "352x288",
        25,
        &["-b:v", "1M", "-bf", "2", "-g", "12"],
        &["B"],
    ),
    m2(
        "mpeg2-176x144_closed_gop",
        "176x144",
        20,
        &[
            "-b:v",
            "400k",
            "-bf",
            "2",
            "-g",
            "6",
            "-flags",
            "+cgop",
            "-sc_threshold",
            "1000000000",
        ],
        &["B", "closed"],
    ),
    m2(
        "mpeg2-720x576_interlaced_tff",
        "720x576",
        12,
        &[
            "-b:v",
            "4M",
            "-bf",
            "2",
            "-flags",
            "+ilme+ildct",
            "-top",
            "1",
        ],
        &["interlaced", "tff"],
    ),
    m2(
        "mpeg2-720x576_interlaced_bff",
        "720x576",
        12,
        &[
            "-b:v",
            "4M",
            "-bf",
            "2",
            "-flags",
            "+ilme+ildct",
            "-top",
            "0",
        ],
        &["interlaced", "bff"],
    ),
    m2(
        "mpeg2-352x288_matrices_vlc_scan_nlq",
        "352x288",
        15,
        &[
            "-b:v",
            "1M",
            "-bf",
            "1",
            "-intra_matrix",
            M2_INTRA,
            "-inter_matrix",
            M2_INTER,
            "-intra_vlc",
            "1",
            "-alternate_scan",
            "1",
            "-non_linear_quant",
            "1",
            "-qmax",
            "28",
        ],
        &["matrices", "intra_vlc", "alt_scan", "q_scale_type"],
    ),
    m2(
        "mpeg2-1920x1080_interlaced",
        "1920x1080",
        6,
        &[
            "-b:v",
            "12M",
            "-bf",
            "2",
            "-flags",
            "+ilme+ildct",
            "-top",
            "1",
        ],
        &["interlaced"],
    ),
    // VP9 streams of the request-by-request tests of tests/vp9.rs.
    // Key frame every 6 frames, 4 tile columns (a cut frame loses tile size markers).
    unit(vp(
        "vp9-unit_gop6_1024x128",
        "1024x128",
        24,
        &["-b:v", "500k", "-g", "6", "-tile-columns", "2"],
    )),
    unit(vp("vp9-unit_352x288", "352x288", 12, &["-b:v", "300k"])),
    unit(vp(
        "vp9-unit_gop4_176x144",
        "176x144",
        16,
        &["-b:v", "200k", "-g", "4"],
    )),
    unit(arf(vp("vp9-unit_352x288_arf", "352x288", 20, ARF))),
    // AV1: tests/av1.rs.
    av1(
        "av1-aom-64x64",
        "aom8",
        Aom,
        (64, 64),
        10,
        8,
        &["-lag-in-frames", NO_LAG, "-b:v", "100k"],
        "",
        &["inter"],
    ),
    av1(
        "av1-aom-176x144",
        "aom8",
        Aom,
        (176, 144),
        10,
        8,
        &["-lag-in-frames", NO_LAG, "-b:v", "200k"],
        "",
        &["inter"],
    ),
    av1(
        "av1-aom-130x66-odd",
        "aom8",
        Aom,
        (130, 66),
        8,
        8,
        &["-lag-in-frames", NO_LAG, "-crf", "40"],
        "",
        &["inter"],
    ),
    av1(
        "av1-aom-352x288-hidden",
        "aom8",
        Aom,
        (352, 288),
        20,
        8,
        &["-lag-in-frames", "16", "-auto-alt-ref", "1", "-crf", "35"],
        "",
        &["hidden"],
    ),
    av1(
        "av1-aom-352x288-tiles2x2",
        "aom8",
        Aom,
        (352, 288),
        8,
        8,
        &[
            "-lag-in-frames",
            NO_LAG,
            "-tile-columns",
            "1",
            "-tile-rows",
            "1",
            "-crf",
            "35",
        ],
        "",
        &["tiles"],
    ),
    av1(
        "av1-aom-352x288-gm",
        "aom8",
        Aom,
        (352, 288),
        4,
        8,
        &[
            "-lag-in-frames",
            NO_LAG,
            "-enable-global-motion",
            "1",
            "-crf",
            "35",
            "-cpu-used",
            "1",
        ],
        "src:mandelbrot",
        &["gm"],
    ),
    av1(
        "av1-aom-352x288-grain",
        "aom8",
        Aom,
        (352, 288),
        10,
        8,
        &[
            "-lag-in-frames",
            "8",
            "-denoise-noise-level",
            "20",
            "-crf",
            "35",
        ],
        "noise=alls=12:allf=t",
        &["grain"],
    ),
    av1(
        "av1-aom-320x240-errres",
        "aom8",
        Aom,
        (320, 240),
        8,
        8,
        &[
            "-lag-in-frames",
            NO_LAG,
            "-error-resilience",
            "1",
            "-crf",
            "35",
        ],
        "",
        &["errres"],
    ),
    av1(
        "av1-aom-320x240-aq-seg",
        "aom8",
        Aom,
        (320, 240),
        10,
        8,
        &["-lag-in-frames", "8", "-aq-mode", "1", "-crf", "30"],
        "",
        &["seg"],
    ),
    av1(
        "av1-aom-320x240-lr",
        "aom8",
        Aom,
        (320, 240),
        4,
        8,
        &[
            "-lag-in-frames",
            NO_LAG,
            "-enable-restoration",
            "1",
            "-crf",
            "30",
            "-cpu-used",
            "1",
        ],
        "src:mandelbrot",
        &["lr"],
    ),
    av1(
        "av1-aom-320x240-screen",
        "aom8",
        Aom,
        (320, 240),
        6,
        8,
        &[
            "-lag-in-frames",
            NO_LAG,
            "-enable-intrabc",
            "1",
            "-crf",
            "30",
            "-aom-params",
            "tune-content=screen",
        ],
        "",
        &["sct"],
    ),
    av1(
        "av1-aom-1920x1080",
        "aom8",
        Aom,
        (1920, 1080),
        3,
        8,
        &["-lag-in-frames", NO_LAG, "-crf", "40"],
        "",
        &["inter"],
    ),
    av1(
        "av1-aom10-176x144",
        "aom10",
        Aom,
        (176, 144),
        10,
        10,
        &["-lag-in-frames", NO_LAG, "-b:v", "200k"],
        "",
        &["inter"],
    ),
    av1(
        "av1-aom10-352x288-hidden",
        "aom10",
        Aom,
        (352, 288),
        20,
        10,
        &["-lag-in-frames", "16", "-auto-alt-ref", "1", "-crf", "35"],
        "",
        &["hidden"],
    ),
    av1(
        "av1-aom10-352x288-grain",
        "aom10",
        Aom,
        (352, 288),
        8,
        10,
        &[
            "-lag-in-frames",
            NO_LAG,
            "-denoise-noise-level",
            "20",
            "-crf",
            "35",
        ],
        "noise=alls=12:allf=t",
        &["grain"],
    ),
    av1(
        "av1-svt-320x240",
        "svt",
        Svt,
        (320, 240),
        10,
        8,
        &["-preset", "12", "-crf", "40"],
        "",
        &["inter"],
    ),
    av1(
        "av1-svt-352x288-hier",
        "svt",
        Svt,
        (352, 288),
        17,
        8,
        &["-preset", "10", "-crf", "40", "-svtav1-params", "lp=1"],
        "",
        &["inter"],
    ),
    av1(
        "av1-svt10-320x240",
        "svt",
        Svt,
        (320, 240),
        10,
        10,
        &["-preset", "12", "-crf", "40"],
        "",
        &["inter"],
    ),
    av1(
        "av1-svt-352x288-grain",
        "svt",
        Svt,
        (352, 288),
        8,
        8,
        &[
            "-preset",
            "12",
            "-crf",
            "40",
            "-svtav1-params",
            "film-grain=8",
        ],
        "",
        &["grain"],
    ),
    av1(
        "av1-svt-640x480-tiles",
        "svt",
        Svt,
        (640, 480),
        6,
        8,
        &[
            "-preset",
            "12",
            "-crf",
            "40",
            "-svtav1-params",
            "tile-columns=1:tile-rows=1",
        ],
        "",
        &["tiles"],
    ),
    av1(
        "av1-svt-352x288-superres",
        "svt",
        Svt,
        (352, 288),
        8,
        8,
        &[
            "-preset",
            "12",
            "-crf",
            "40",
            "-svtav1-params",
            "superres-mode=1:superres-denom=12:superres-kf-denom=10",
        ],
        "",
        &["superres"],
    ),
    av1(
        "av1-svt10-352x288-superres-grain",
        "svt",
        Svt,
        (352, 288),
        8,
        10,
        &[
            "-preset",
            "12",
            "-crf",
            "40",
            "-svtav1-params",
            "superres-mode=1:superres-denom=14:superres-kf-denom=14:film-grain=6",
        ],
        "",
        &["superres", "grain"],
    ),
    av1(
        "av1-rav1e-320x240-tiles",
        "other",
        Rav1e,
        (320, 240),
        10,
        8,
        &["-speed", "10", "-tiles", "2"],
        "",
        &["tiles", "inter"],
    ),
    Def {
        mono: true,
        ..av1(
            "av1-aom-176x144-mono-luma",
            "other",
            Aom,
            (176, 144),
            6,
            8,
            &["-lag-in-frames", NO_LAG, "-pix_fmt", "gray"],
            "",
            &["inter"],
        )
    },
    // aomenc: libaom superres, fixed resize (reference scaling), 128x128 superblocks with
    // tiles and loop restoration, no order hints.
    av1(
        "av1-aomenc-352x288-superres",
        "aomenc",
        AomCli,
        (352, 288),
        8,
        8,
        &[
            "--lag-in-frames=0",
            "--superres-mode=1",
            "--superres-denominator=11",
            "--superres-kf-denominator=13",
        ],
        "",
        &["superres"],
    ),
    av1(
        "av1-aomenc-352x288-resize",
        "aomenc",
        AomCli,
        (352, 288),
        10,
        8,
        &[
            "--lag-in-frames=0",
            "--resize-mode=1",
            "--resize-denominator=12",
            "--resize-kf-denominator=8",
        ],
        "",
        &["resized"],
    ),
    av1(
        "av1-aomenc10-352x288-superres",
        "aomenc",
        AomCli,
        (352, 288),
        6,
        10,
        &[
            "--lag-in-frames=0",
            "--superres-mode=1",
            "--superres-denominator=16",
            "--superres-kf-denominator=16",
        ],
        "",
        &["superres"],
    ),
    av1(
        "av1-aomenc-640x480-sb128-tiles-lr",
        "aomenc",
        AomCli,
        (640, 480),
        4,
        8,
        &[
            "--lag-in-frames=0",
            "--sb-size=128",
            "--tile-columns=1",
            "--enable-restoration=1",
            "--cpu-used=2",
        ],
        "src:mandelbrot",
        &["sb128", "tiles", "lr"],
    ),
    av1(
        "av1-aomenc-176x144-no-order-hint",
        "aomenc",
        AomCli,
        (176, 144),
        8,
        8,
        &["--lag-in-frames=0", "--enable-order-hint=0"],
        "",
        &["no-order-hint", "inter"],
    ),
    av1(
        "av1-aom-3840x2160",
        "big",
        Aom,
        (3840, 2160),
        2,
        8,
        &["-lag-in-frames", NO_LAG, "-crf", "45"],
        "",
        &[],
    ),
    // HEVC: tests/hevc.rs x265_streams_match_ffmpeg; `need`: what FFmpeg's trace_headers
    // must show (its keys: tests/hevc.rs).
    hx("hevc-x265-64x64", (64, 64), 10, "bframes=2", &["b"]),
    hx(
        "hevc-x265-bpyramid-352x288",
        (352, 288),
        25,
        "bframes=8:b-pyramid=1:b-adapt=0:keyint=25:open-gop=0:scenecut=0",
        &["b-ref"],
    ),
    hx(
        "hevc-x265-opengop-cra-352x288",
        (352, 288),
        40,
        "bframes=4:keyint=12:min-keyint=12:open-gop=1:scenecut=0",
        &["cra", "rasl"],
    ),
    hx(
        "hevc-x265-closedgop-idr-n-lp-352x288",
        (352, 288),
        24,
        "bframes=3:keyint=8:open-gop=0",
        &["idr_n_lp"],
    ),
    hx(
        "hevc-x265-radl-idr-w-radl-352x288",
        (352, 288),
        24,
        "bframes=3:keyint=8:open-gop=0:radl=2",
        &["idr_w_radl"],
    ),
    hx(
        "hevc-x265-slices4-wpp-640x360",
        (640, 360),
        10,
        "pools=1:wpp=1:slices=4:bframes=2",
        &["slices", "wpp", "entry-points"],
    ),
    hx(
        "hevc-x265-tools-352x288",
        (352, 288),
        12,
        "scaling-list=default:rect=1:amp=1:rd=3:tskip=1:sao=0:deblock=-2,1:signhide=1",
        &[
            "scaling-list",
            "amp",
            "tskip",
            "no-sao",
            "deblock-offsets",
            "sign-hiding",
        ],
    ),
    hx_args(
        hx(
            "hevc-x265-weighted-352x288",
            (352, 288),
            20,
            "weightp=1:weightb=1:bframes=3",
            &["weightp", "weightb"],
        ),
        &["-preset", "fast", "-vf", "fade=in:0:20"],
    ),
    Def {
        bits: 10,
        ..hx(
            "hevc-x265-main10-352x288",
            (352, 288),
            12,
            "bframes=3",
            &["main10", "b"],
        )
    },
    hx(
        "hevc-x265-130x66-crop",
        (130, 66),
        10,
        "bframes=2",
        &["crop"],
    ),
    Def {
        recipe: Recipe::X265 {
            w: 352,
            h: 288,
            frames: 10,
            params: "bframes=2",
            args: &["-preset", "fast"],
            then: Some((176, 144, 10)),
        },
        ..hx(
            "hevc-x265-resize-352x288-176x144",
            (0, 0),
            0,
            "",
            &["size-change"],
        )
    },
    hx("hevc-x265-1920x1080", (1920, 1080), 8, "bframes=3", &["b"]),
    // HEVC tools libx265 does not write, from tests/common/hevc_writer.rs (FFmpeg's decode
    // of the file is the reference); tests/hevc.rs own_streams_match_ffmpeg.
    hw(
        "hevc-own-tiles-1024x208",
        &["tiles", "tiles-explicit", "entry-points", "pcm"],
        hevc_writer::Config {
            w: 1024,
            h: 208,
            frames: 8,
            tiles: Tiles::Explicit {
                cols: &[20, 16, 28],
                rows: &[4, 5, 4],
            },
            loop_filter_across_tiles: false,
            segments: Segments::One,
            long_term: false,
            pcm_loop_filter_disabled: false,
        },
    ),
    hw(
        "hevc-own-tile-slices-800x192",
        &["tiles", "slices", "pcm"],
        hevc_writer::Config {
            w: 800,
            h: 192,
            frames: 8,
            tiles: Tiles::Uniform { cols: 3, rows: 2 },
            loop_filter_across_tiles: true,
            segments: Segments::PerTile,
            long_term: false,
            pcm_loop_filter_disabled: true,
        },
    ),
    hw(
        "hevc-own-dependent-352x288",
        &["dependent-slices", "slices", "pcm"],
        hevc_writer::Config {
            w: 352,
            h: 288,
            frames: 10,
            tiles: Tiles::None,
            loop_filter_across_tiles: false,
            segments: Segments::Dependent {
                ctbs: 37,
                independent_every: 4,
            },
            long_term: false,
            pcm_loop_filter_disabled: false,
        },
    ),
    hw(
        "hevc-own-long-term-352x288",
        &[
            "long-term",
            "lt-refs",
            "lt-msb",
            "lt-foll",
            "st-foll",
            "pcm",
        ],
        hevc_writer::Config {
            w: 352,
            h: 288,
            frames: 40,
            tiles: Tiles::None,
            loop_filter_across_tiles: false,
            segments: Segments::One,
            long_term: true,
            pcm_loop_filter_disabled: false,
        },
    ),
    hx_args(
        hx("hevc-x265-4096x2304", (4096, 2304), 2, "bframes=0", &[]),
        &["-preset", "ultrafast"],
    ),
];

/// The file of stream `name`: `NAME.ivf`, `NAME.hevc` (Annex B) for HEVC, `NAME.m2v`
/// (video elementary stream) for MPEG-2.
pub fn file_name(name: &str) -> String {
    if name.starts_with("hevc-") {
        format!("{name}.hevc")
    } else if name.starts_with("mpeg2-") {
        format!("{name}.m2v")
    } else {
        format!("{name}.ivf")
    }
}

/// Every stream of the list.
pub fn defs() -> &'static [Def] {
    DEFS
}

/// What the list needs: ffmpeg encoders and CLI tools.
const FFMPEG_ENCODERS: &[&str] = &[
    "mpeg2video",
    "libvpx",
    "libvpx-vp9",
    "libaom-av1",
    "libsvtav1",
    "librav1e",
    "libx265",
];
const TOOLS: &[&str] = &["vpxenc", "aomenc"];

fn output(cmd: &str, args: &[&str]) -> Option<String> {
    let o = Command::new(cmd)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .ok()?;
    Some(String::from_utf8_lossy(&o.stdout).into_owned())
}

/// The encoders' versions (part of the cache key), or what is missing.
fn encoder_versions() -> Result<String, String> {
    let mut missing = Vec::new();
    let mut v = String::new();
    match output("ffmpeg", &["-hide_banner", "-encoders"]) {
        None => missing.push("ffmpeg".to_string()),
        Some(enc) => {
            for e in FFMPEG_ENCODERS {
                if !enc.split_whitespace().any(|w| w == *e) {
                    missing.push(format!("ffmpeg encoder {e}"));
                }
            }
            let ver = output("ffmpeg", &["-version"]).unwrap_or_default();
            v.push_str(ver.lines().next().unwrap_or(""));
        }
    }
    for t in TOOLS {
        match output(t, &["--help"]) {
            None => missing.push(t.to_string()),
            Some(h) => h
                .lines()
                .filter(|l| l.contains(" Encoder "))
                .for_each(|l| v.push_str(l.trim())),
        }
    }
    // The libraries ffmpeg links (their versions are not in `ffmpeg -version`).
    if let Some(d) = output(
        "sh",
        &[
            "-c",
            "dpkg-query -W 'libvpx*' 'libaom*' 'libsvtav1*' 'librav1e*' 'libx265*' 2>/dev/null",
        ],
    ) {
        v.push_str(&d);
    }
    if missing.is_empty() {
        Ok(v)
    } else {
        Err(format!("missing {}", missing.join(", ")))
    }
}

/// ROOT (see the module doc).
pub fn root() -> PathBuf {
    std::env::var_os("DAEDALUS_FIXTURES")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
            crate_dir.parent().unwrap().join("target/fixtures")
        })
}

/// The cache folder, made if it is not there yet; Err(why) when an encoder is missing.
/// Panics when an encode fails. Once per process.
pub fn ensure() -> Result<PathBuf, String> {
    static DIR: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    DIR.get_or_init(|| ensure_in(&root())).clone()
}

fn ensure_in(root: &Path) -> Result<PathBuf, String> {
    let versions = encoder_versions()?;
    let mut h = Md5::new();
    h.update(include_str!("fixtures.rs"));
    h.update(include_str!("hevc_writer.rs"));
    h.update(&versions);
    let key = format!("{:x}", h.finalize());
    let dir = root.join(&key[..16]);
    if dir.join("streams.txt").exists() {
        return Ok(dir);
    }
    std::fs::create_dir_all(root).expect("create the fixtures root");
    let _lock = Lock::take(&root.join(".lock.d"));
    if dir.join("streams.txt").exists() {
        return Ok(dir);
    }
    let tmp = root.join(format!("{}.partial.{}", &key[..16], std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    std::fs::create_dir_all(&tmp).unwrap();
    eprintln!(
        "fixtures: making {} streams in {}",
        DEFS.len(),
        dir.display()
    );
    let t0 = std::time::Instant::now();
    let lines = build(&tmp);
    std::fs::write(tmp.join("streams.txt"), lines.0).unwrap();
    std::fs::write(tmp.join("list.txt"), lines.1).unwrap();
    for f in std::fs::read_dir(&tmp).unwrap() {
        let p = f.unwrap().path();
        let keep = ["ivf", "hevc", "m2v", "txt"].map(|e| Some(OsStr::new(e)));
        if !keep.contains(&p.extension()) {
            std::fs::remove_file(p).unwrap();
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::rename(&tmp, &dir).expect("rename the fixtures folder");
    eprintln!("fixtures: done in {:.1} s", t0.elapsed().as_secs_f64());
    Ok(dir)
}

/// A lock between processes: a folder holding the owner's pid, removed on drop; one whose
/// owner is gone (no /proc/PID) is taken over. (File::lock needs Rust 1.89.)
struct Lock(PathBuf);

impl Lock {
    fn take(path: &Path) -> Lock {
        loop {
            match std::fs::create_dir(path) {
                Ok(()) => {
                    std::fs::write(path.join("pid"), std::process::id().to_string()).unwrap();
                    return Lock(path.to_path_buf());
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    let owner = std::fs::read_to_string(path.join("pid")).unwrap_or_default();
                    let age = std::fs::metadata(path)
                        .and_then(|m| m.modified())
                        .ok()
                        .and_then(|t| t.elapsed().ok())
                        .unwrap_or_default();
                    // No owner for 10 s: a stale lock (or not one of ours).
                    let gone = if owner.is_empty() {
                        age.as_secs() > 10
                    } else {
                        !Path::new("/proc").join(owner.trim()).exists()
                    };
                    if gone {
                        eprintln!("fixtures: taking over the lock of gone process {owner}");
                        let _ =
                            std::fs::remove_dir_all(path).or_else(|_| std::fs::remove_file(path));
                    } else {
                        std::thread::sleep(std::time::Duration::from_millis(200));
                    }
                }
                Err(e) => panic!("fixtures lock {path:?}: {e}"),
            }
        }
    }
}

impl Drop for Lock {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Makes every stream in `dir` (as many at once as there are CPUs): the `streams.txt`
/// and `list.txt` texts.
fn build(dir: &Path) -> (String, String) {
    let next = AtomicUsize::new(0);
    let n = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut out: Vec<(usize, String, Option<String>)> = std::thread::scope(|s| {
        let hs: Vec<_> = (0..n)
            .map(|_| {
                s.spawn(|| {
                    let mut v = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(d) = DEFS.get(i) else { break v };
                        let (line, vm) = make(dir, d);
                        v.push((i, line, vm));
                    }
                })
            })
            .collect();
        hs.into_iter().flat_map(|h| h.join().unwrap()).collect()
    });
    out.sort_by_key(|x| x.0);
    let streams: String = out.iter().map(|x| x.1.clone()).collect();
    let mut list: Vec<String> = out.into_iter().filter_map(|x| x.2).collect();
    list.sort_by(|a, b| {
        a.split_whitespace()
            .nth(1)
            .cmp(&b.split_whitespace().nth(1))
    });
    (streams, list.concat())
}

/// Makes one stream: its `streams.txt` line and, for a VM stream, its `list.txt` line.
fn make(dir: &Path, d: &Def) -> (String, Option<String>) {
    let file = dir.join(file_name(d.name));
    encode(dir, d, &file);
    let data = std::fs::read(&file).unwrap();
    let (size, frames, resize_at) = match d.recipe {
        // The configured size (the first frame's, superres upscaled).
        Recipe::Av1 { w, h, .. } => {
            let (n, r) = av1_props(&data);
            ((w, h), n, r)
        }
        Recipe::Mpeg2 { size, frames, .. } => {
            let (w, h) = size.split_once('x').unwrap();
            (
                (w.parse().unwrap(), h.parse().unwrap()),
                frames as usize,
                None,
            )
        }
        // Every frame shown; a size change only at a new sequence.
        Recipe::X265 {
            w, h, frames, then, ..
        } => ((w, h), (frames + then.map_or(0, |t| t.2)) as usize, None),
        Recipe::HevcWriter(ref c) => ((c.w, c.h), c.frames as usize, None),
        _ if d.name.starts_with("vp8-") => vp8_props(&data),
        _ => vp9_props(&data),
    };
    let pix = if d.bits > 8 { "yuv420p10le" } else { "yuv420p" };
    let (md5, bytes) = if d.mono {
        assert!(d.bits == 8 && resize_at.is_none(), "mono: 8-bit, one size");
        let (w, h) = (size.0 as usize, size.1 as usize);
        let chroma = w.div_ceil(2) * h.div_ceil(2) * 2;
        let mut i420 = Md5::new();
        let mut n = 0;
        for y in ffmpeg_decode(&file, "gray", None).chunks(w * h) {
            i420.update(y);
            i420.update(vec![128u8; chroma]);
            n += y.len() + chroma;
        }
        (format!("{:x}", i420.finalize()), n)
    } else {
        let raw = ffmpeg_decode(&file, pix, None);
        (format!("{:x}", Md5::digest(&raw)), raw.len())
    };
    let resize = match resize_at {
        None => "-".to_string(),
        Some(n) => {
            let raw = ffmpeg_decode(&file, pix, Some(n));
            format!("{n}:{:x}", Md5::digest(&raw))
        }
    };
    if let Recipe::X265 {
        w, h, frames, then, ..
    } = d.recipe
    {
        // FFmpeg decoded every frame the encoder was given, at its size.
        let px = |w: u32, h: u32| (w * h) as usize * 3 / 2 * if d.bits > 8 { 2 } else { 1 };
        let want = px(w, h) * frames as usize + then.map_or(0, |(w, h, n)| px(w, h) * n as usize);
        assert_eq!(bytes, want, "{}: FFmpeg's output", d.name);
    }
    if let Recipe::HevcWriter(ref c) = d.recipe {
        let want = (c.w * c.h) as usize * 3 / 2 * c.frames as usize;
        assert_eq!(bytes, want, "{}: FFmpeg's output", d.name);
    }
    let (w, h) = size;
    let f = file_name(d.name);
    eprintln!("fixtures: {f} {w}x{h} {frames} frames, ffmpeg {md5}");
    let line = format!(
        "{} {} {w}x{h} {frames} {bytes} {md5} {resize} {}\n",
        d.name,
        d.bits,
        if d.vm { "vm" } else { "-" }
    );
    let vm =
        d.vm.then(|| format!("{md5}  {f}  {}  {w}x{h}  {resize}\n", d.bits));
    (line, vm)
}

/// Reads `streams.txt` of `dir`.
pub fn read(dir: &Path) -> Vec<Fixture> {
    let text = std::fs::read_to_string(dir.join("streams.txt")).expect("streams.txt");
    text.lines()
        .map(|l| {
            let c: Vec<&str> = l.split_whitespace().collect();
            assert_eq!(c.len(), 8, "streams.txt: {l}");
            let (w, h) = c[2].split_once('x').unwrap();
            Fixture {
                name: c[0].to_string(),
                path: dir.join(file_name(c[0])),
                bits: c[1].parse().unwrap(),
                size: (w.parse().unwrap(), h.parse().unwrap()),
                frames: c[3].parse().unwrap(),
                bytes: c[4].parse().unwrap(),
                md5: c[5].to_string(),
                resize: c[6]
                    .split_once(':')
                    .map(|(n, m)| (n.parse().unwrap(), m.to_string())),
                vm: c[7] == "vm",
            }
        })
        .collect()
}

// ---------------------------------------------------------------------------------------
// Encoding.

fn lavfi(source: &str, args: &[&OsStr], out: &Path) {
    let o = Command::new("ffmpeg")
        .args(["-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i", source])
        .args(args)
        .arg(out)
        .output()
        .expect("run ffmpeg");
    assert!(
        o.status.success(),
        "ffmpeg failed to make {out:?} from {source}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
}

fn os<'a>(v: impl IntoIterator<Item = &'a &'a str>) -> Vec<&'a OsStr> {
    v.into_iter().map(|a| OsStr::new(*a)).collect()
}

fn encode(dir: &Path, d: &Def, out: &Path) {
    let ten_bit = d.bits > 8;
    match d.recipe {
        Recipe::Vpx {
            size,
            frames,
            two_pass,
            args,
        } => vpx(dir, d.name, size, frames, two_pass, ten_bit, args, out),
        Recipe::VpxJoin { sizes } => {
            let parts: Vec<PathBuf> = sizes
                .iter()
                .enumerate()
                .map(|(i, sz)| {
                    let p = dir.join(format!("{}-part{i}.tmp", d.name));
                    vpx(dir, d.name, sz, 8, false, ten_bit, &["-b:v", "300k"], &p);
                    p
                })
                .collect();
            join_ivf(&parts, out);
        }
        Recipe::VpxencScaledRefs => vpxenc_scaled_refs(out),
        Recipe::HevcWriter(ref c) => std::fs::write(out, hevc_writer::stream(c)).unwrap(),
        Recipe::X265 {
            w,
            h,
            frames,
            params,
            args,
            then,
        } => {
            x265(w, h, frames, ten_bit, params, args, out);
            if let Some((w2, h2, n2)) = then {
                let part = dir.join(format!("{}-part1.tmp", d.name));
                x265(w2, h2, n2, ten_bit, params, args, &part);
                let mut all = std::fs::read(out).unwrap();
                all.extend(std::fs::read(&part).unwrap());
                std::fs::write(out, all).unwrap();
            }
        }
        Recipe::Mpeg2 { size, frames, args } => {
            let frames = frames.to_string();
            let mut a = vec![
                "-frames:v",
                &frames,
                "-pix_fmt",
                "yuv420p",
                "-c:v",
                "mpeg2video",
            ];
            a.extend(["-threads", "1"]);
            a.extend_from_slice(args);
            a.extend(["-f", "mpeg2video"]);
            lavfi(&format!("testsrc2=size={size}:rate=25"), &os(&a), out);
        }
        Recipe::Av1 {
            enc,
            w,
            h,
            frames,
            args,
            vf,
        } => {
            let src = vf.strip_prefix("src:").unwrap_or("testsrc2");
            let source = format!("{src}=size={w}x{h}:rate=25");
            let pix = if ten_bit { "yuv420p10le" } else { "yuv420p" };
            let frames = frames.to_string();
            if enc == AomCli {
                let bits: &[&str] = if ten_bit {
                    &["--bit-depth=10", "--input-bit-depth=10"]
                } else {
                    &[]
                };
                let args: Vec<&str> = bits.iter().chain(args).copied().collect();
                return aomenc(dir, d.name, &source, &frames, pix, &args, out);
            }
            let mut a = vec!["-frames:v", &frames];
            if !vf.is_empty() && !vf.starts_with("src:") {
                a.extend(["-vf", vf]);
            }
            a.extend(["-pix_fmt", pix]);
            match enc {
                Aom => {
                    a.extend(["-c:v", "libaom-av1"]);
                    a.extend_from_slice(AOM);
                }
                Svt => a.extend(["-c:v", "libsvtav1"]),
                Rav1e => a.extend(["-c:v", "librav1e", "-rav1e-params", "threads=1"]),
                AomCli => unreachable!("encoded above"),
            }
            a.extend_from_slice(args);
            a.extend(["-f", "ivf"]);
            lavfi(&source, &os(&a), out);
        }
    }
}

/// libx265 through ffmpeg: no thread pool and one frame thread (deterministic) unless
/// `params` asks for a pool (`pools=1`: WPP, one worker, deterministic too).
fn x265(w: u32, h: u32, frames: u32, ten_bit: bool, params: &str, args: &[&str], out: &Path) {
    let params = if params.contains("pools=") {
        format!("log-level=error:frame-threads=1:{params}")
    } else {
        format!("log-level=error:pools=none:frame-threads=1:{params}")
    };
    let frames = frames.to_string();
    let pix = if ten_bit { "yuv420p10le" } else { "yuv420p" };
    let mut a = vec!["-frames:v", &frames, "-pix_fmt", pix, "-c:v", "libx265"];
    a.extend_from_slice(args);
    a.extend(["-x265-params", &params, "-f", "hevc"]);
    lavfi(&format!("testsrc2=size={w}x{h}:rate=25"), &os(&a), out);
}

#[allow(clippy::too_many_arguments)]
fn vpx(
    dir: &Path,
    name: &str,
    size: &str,
    frames: u32,
    two_pass: bool,
    ten_bit: bool,
    args: &[&str],
    out: &Path,
) {
    let passes: &[&str] = if two_pass { &["1", "2"] } else { &["0"] };
    let frames = frames.to_string();
    let pix: &[&str] = if ten_bit {
        &["-pix_fmt", "yuv420p10le", "-profile:v", "2"]
    } else {
        &["-pix_fmt", "yuv420p"]
    };
    let log = dir.join(format!("{name}-2pass"));
    // VP8 (libvpx) has no row-mt.
    let (enc, common): (&str, &[&str]) = if name.starts_with("vp8-") {
        ("libvpx", &VP8_VPX)
    } else {
        ("libvpx-vp9", &VPX)
    };
    for pass in passes {
        let head = ["-frames:v", &frames, "-c:v", enc];
        let mut a: Vec<&OsStr> = os(head.iter().chain(common).chain(args).chain(pix));
        if *pass != "0" {
            a.extend([OsStr::new("-pass"), OsStr::new(pass)]);
            a.extend([OsStr::new("-passlogfile"), log.as_os_str()]);
        }
        a.extend([OsStr::new("-f"), OsStr::new("ivf")]);
        let dest = if *pass == "1" {
            Path::new("/dev/null")
        } else {
            out
        };
        lavfi(&format!("testsrc2=size={size}:rate=25"), &a, dest);
    }
}

fn vpxenc_scaled_refs(out: &Path) {
    let mut src = Command::new("ffmpeg")
        .args(["-nostdin", "-v", "error", "-f", "lavfi", "-i"])
        .arg("testsrc2=size=640x480:rate=30,noise=alls=80:allf=t")
        .args(["-frames:v", "160", "-pix_fmt", "yuv420p"])
        .args(["-f", "yuv4mpegpipe", "-"])
        .stdout(Stdio::piped())
        .spawn()
        .expect("ffmpeg");
    let st = Command::new("vpxenc")
        .args([
            "--ivf",
            "--codec=vp9",
            "--rt",
            "--cpu-used=8",
            "--threads=1",
            "--end-usage=cbr",
            "--target-bitrate=30",
            "--resize-allowed=1",
            "--kf-max-dist=1000",
            "--lag-in-frames=0",
            "--quiet",
            "-o",
        ])
        .arg(out)
        .arg("-")
        .stdin(src.stdout.take().unwrap())
        .stderr(Stdio::null())
        .status()
        .expect("vpxenc");
    assert!(
        src.wait().unwrap().success() && st.success(),
        "vpxenc failed"
    );
}

/// Encodes `frames` frames of the lavfi `source` with the aomenc CLI (aom-tools:
/// libaom options FFmpeg's wrapper does not expose), single-threaded so deterministic,
/// into `out`; `args` are more aomenc options. Panics with aomenc's messages if it fails.
pub fn aomenc(
    dir: &Path,
    name: &str,
    source: &str,
    frames: &str,
    pix: &str,
    args: &[&str],
    out: &Path,
) {
    let y4m = dir.join(format!("{name}.y4m"));
    let a = ["-frames:v", frames, "-pix_fmt", pix, "-strict", "-1"];
    let a: Vec<&str> = a.iter().chain(&["-f", "yuv4mpegpipe"]).copied().collect();
    lavfi(source, &os(&a), &y4m);
    let o = Command::new("aomenc")
        .args([
            "--quiet",
            "--cpu-used=8",
            "--threads=1",
            "--row-mt=0",
            "--ivf",
        ])
        .args(args)
        .arg("-o")
        .arg(out)
        .arg(&y4m)
        .output()
        .expect("run aomenc");
    assert!(
        o.status.success(),
        "aomenc failed to encode {name}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    std::fs::remove_file(y4m).unwrap();
}

/// FFmpeg's own single-threaded decode of `file`: every frame (or the first `frames`),
/// planar `pix_fmt`.
pub fn ffmpeg_decode(file: &Path, pix_fmt: &str, frames: Option<usize>) -> Vec<u8> {
    let limit = frames.map(|n| ["-frames:v".to_string(), n.to_string()]);
    let out = Command::new("ffmpeg")
        .args(["-nostdin", "-v", "error", "-threads", "1", "-i"])
        .arg(file)
        .args(limit.iter().flatten())
        .args(["-fps_mode", "passthrough", "-noautoscale", "-f", "rawvideo"])
        .args(["-pix_fmt", pix_fmt, "-"])
        .stderr(Stdio::inherit())
        .output()
        .expect("run ffmpeg");
    assert!(out.status.success(), "ffmpeg failed to decode {file:?}");
    out.stdout
}

// ---------------------------------------------------------------------------------------
// IVF and stream properties.

/// IVF header and frame payloads.
pub fn ivf_frames(data: &[u8]) -> (Vec<u8>, Vec<Vec<u8>>) {
    let hl = u16::from_le_bytes([data[6], data[7]]) as usize;
    let mut at = hl;
    let mut v = Vec::new();
    while at + 12 <= data.len() {
        let n = u32::from_le_bytes(data[at..at + 4].try_into().unwrap()) as usize;
        v.push(data[at + 12..at + 12 + n].to_vec());
        at += 12 + n;
    }
    (data[..hl].to_vec(), v)
}

pub fn write_ivf(header: &[u8], frames: &[Vec<u8>]) -> Vec<u8> {
    let mut out = header.to_vec();
    out[24..28].copy_from_slice(&(frames.len() as u32).to_le_bytes());
    for (i, f) in frames.iter().enumerate() {
        out.extend_from_slice(&(f.len() as u32).to_le_bytes());
        out.extend_from_slice(&(i as u64).to_le_bytes());
        out.extend_from_slice(f);
    }
    out
}

/// Joins IVF files into one.
fn join_ivf(parts: &[PathBuf], out: &Path) {
    let mut header = None;
    let mut frames = Vec::new();
    for p in parts {
        let (h, f) = ivf_frames(&std::fs::read(p).unwrap());
        header.get_or_insert(h);
        frames.extend(f);
    }
    std::fs::write(out, write_ivf(&header.unwrap(), &frames)).unwrap();
}

/// (first frame size, shown frames, frames shown before the first size change on a
/// non-key frame) of a VP9 stream. The last: what GStreamer's v4l2slvp9dec shows —
/// GstVp9Decoder compares every frame with the size of the last key frame and, without
/// "non-keyframe format change" support (V4L2 has none), drops frames from the first
/// difference until the next key frame. Streams with a key frame after that point are not
/// modelled (refused).
fn vp9_props(data: &[u8]) -> ((u32, u32), usize, Option<usize>) {
    let events = Vp9Builder::build_ivf(data).expect("build VP9 controls");
    let mut first = None;
    let mut key_size = None;
    let mut shown = 0;
    let mut resize = None;
    for (i, e) in events.iter().enumerate() {
        let r = match e {
            Vp9Event::Decode(r) => r,
            Vp9Event::ShowExisting { .. } => {
                shown += 1;
                continue;
            }
        };
        first.get_or_insert((r.display.width, r.display.height));
        let size = (r.frame.frame_width_minus_1, r.frame.frame_height_minus_1);
        if r.frame.flags.contains(Vp9FrameFlags::KEY_FRAME) {
            key_size = Some(size);
        } else if resize.is_none() && key_size.is_some_and(|k| k != size) {
            let key_later = events[i..].iter().any(|e| {
                matches!(e, Vp9Event::Decode(r) if r.frame.flags.contains(Vp9FrameFlags::KEY_FRAME))
            });
            assert!(
                !key_later,
                "a key frame after a non-key size change: not modelled"
            );
            resize = Some(shown);
        }
        if r.frame.flags.contains(Vp9FrameFlags::SHOW_FRAME) {
            shown += 1;
        }
    }
    (first.expect("a VP9 frame"), shown, resize)
}

/// (first size, shown frames, no resize point: VP8 changes size on key frames only).
fn vp8_props(data: &[u8]) -> ((u32, u32), usize, Option<usize>) {
    let reqs = Vp8Builder::build_ivf(data).expect("build VP8 controls");
    let first = reqs.first().expect("a VP8 frame");
    let size = (u32::from(first.frame.width), u32::from(first.frame.height));
    (size, reqs.iter().filter(|r| r.shown).count(), None)
}

/// (shown frames, resize point) of an AV1 stream: the first non-key frame whose output
/// size (upscaled width, height) differs from the frame decoded before it.
fn av1_props(data: &[u8]) -> (usize, Option<usize>) {
    let mut shown = 0;
    let mut last = None;
    let mut resize = None;
    for ev in Av1Builder::build_ivf(data).expect("build AV1 controls") {
        let r = match ev {
            Av1Event::ShowExisting { .. } => {
                shown += 1;
                continue;
            }
            Av1Event::Decode(r) => r,
        };
        let f = &r.frame;
        let size = (f.upscaled_width, f.frame_height_minus_1);
        if resize.is_none() && f.frame_type != 0 && last.is_some_and(|l| l != size) {
            resize = Some(shown);
        }
        last = Some(size);
        if f.flags.contains(Av1FrameFlags::SHOW_FRAME) {
            shown += 1;
        }
    }
    (shown, resize)
}
