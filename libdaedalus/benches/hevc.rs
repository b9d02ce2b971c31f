//! HEVC: engine path vs FFmpeg's own HEVC decoder, single-threaded, on a 1080p stream
//! made by the host's libx265 at bench time (testsrc2 with temporal noise; B-frames, 4
//! slices with WPP entry points).
//!
//! `cargo bench -p libdaedalus --bench hevc` prints, from interleaved rounds (engine,
//! FFmpeg, ...; `DAEDALUS_BENCH_ROUNDS`, default 5), the median frames/s of:
//! - the engine path: controls (built beforehand, as a client has them) -> synthesized
//!   VPS/SPS/PPS and rewritten slice headers -> FFmpeg -> NV12 CAPTURE buffer (and the
//!   same into YU12);
//! - FFmpeg's HEVC decoder on the demuxed packets (1 thread), pictures drained;
//!
//! and the engine / FFmpeg ratios.

use std::path::Path;
use std::process::Command;

use common::{demux, engine_run, ffmpeg_decode, median};
use ctrls::build::hevc::{HevcBuilder, HevcPicture};
use ffmpeg_next as ffn;
use libdaedalus::replay::hevc_controls;
use libdaedalus::{CaptureFormat, Codec, ControlSet, OwnedBuffer, Request};

mod common;

const W: u32 = 1920;
const H: u32 = 1080;
const FRAMES: u32 = 30;

fn encode(path: &Path) {
    let st = Command::new("ffmpeg")
        .args(["-v", "error", "-y", "-f", "lavfi", "-i"])
        .arg(format!("testsrc2=size={W}x{H}:rate=25"))
        // Film-like grain: testsrc2 alone is so cheap to decode that the picture copy,
        // not decoding, would set the pace.
        .args(["-vf", "noise=alls=8:allf=t"])
        .args(["-frames:v", &FRAMES.to_string(), "-c:v", "libx265"])
        .args(["-preset", "fast", "-x265-params"])
        .arg("log-level=error:frame-threads=1:pools=1:wpp=1:slices=4:bframes=3:keyint=15")
        .args(["-f", "hevc"])
        .arg(path)
        .status()
        .expect("ffmpeg");
    assert!(st.success());
}

fn controls(p: &HevcPicture) -> ControlSet {
    ControlSet::Hevc(Box::new(hevc_controls(p)))
}

/// The requests of one pass (controls built beforehand, as a client has them).
fn requests<'a>(pics: &'a [HevcPicture], sets: &'a [ControlSet]) -> Vec<Request<'a>> {
    pics.iter()
        .zip(sets)
        .map(|(p, c)| Request {
            controls: c,
            bitstream: &p.bitstream,
            timestamp: p.timestamp,
            hold_capture: false,
        })
        .collect()
}

fn main() {
    if Command::new("ffmpeg").arg("-version").output().is_err() {
        eprintln!("ffmpeg not found: HEVC bench NOT run");
        return;
    }
    ffn::init().unwrap();
    ffn::log::set_level(ffn::log::Level::Error);
    let rounds: usize = std::env::var("DAEDALUS_BENCH_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5);
    let dir = std::env::temp_dir().join(format!("daedalus-hevc-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("bench1080.hevc");
    encode(&path);
    let data = std::fs::read(&path).unwrap();
    let pics = HevcBuilder::build_stream(&data).unwrap();
    assert_eq!(pics.len(), FRAMES as usize, "one picture per frame");
    let sets: Vec<ControlSet> = pics.iter().map(controls).collect();
    let (params, packets) = demux(&path);
    let mut bufs: Vec<OwnedBuffer> = (0..8)
        .map(|_| OwnedBuffer::new(CaptureFormat::Nv12, W, H))
        .collect();
    let mut bufs420: Vec<OwnedBuffer> = (0..8)
        .map(|_| OwnedBuffer::new(CaptureFormat::Yuv420, W, H))
        .collect();

    let n = pics.len() as f64;
    let (mut e, mut e420, mut f) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..rounds {
        e.push(n / engine_run(Codec::Hevc, requests(&pics, &sets), &mut bufs));
        e420.push(n / engine_run(Codec::Hevc, requests(&pics, &sets), &mut bufs420));
        let (got, s, _) = ffmpeg_decode(&params, &packets, None);
        assert_eq!(got, pics.len());
        f.push(n / s);
    }
    let (e, e420, f) = (median(&mut e), median(&mut e420), median(&mut f));
    println!(
        "HEVC {W}x{H}, {} requests (4 slices, WPP, B-frames), {rounds} rounds, single-threaded",
        pics.len()
    );
    println!("  engine (synthesized PS -> FFmpeg -> NV12): {e:8.2} frames/s");
    println!("  engine into YU12 (planar copy):            {e420:8.2} frames/s");
    println!("  FFmpeg HEVC decoder:                       {f:8.2} frames/s");
    println!(
        "  ratio engine/FFmpeg {:.3} (NV12), {:.3} (YU12)",
        e / f,
        e420 / f
    );
    let _ = std::fs::remove_dir_all(&dir);
}
