//! VP8 engine vs plain FFmpeg, single-threaded, on a generated 1080p libvpx stream
//! (testsrc2 with temporal noise, alt-ref frames, 4 token partitions).
//!
//! `cargo bench -p libdaedalus --bench vp8` prints frames/s of the engine path (one
//! request per frame with the builder's FRAME control, checked against the frame header
//! and the slot mirror, the frame decoded by FFmpeg and written into an NV12 CAPTURE
//! buffer), and of FFmpeg's vp8 decoder alone on the same demuxed packets, the median of
//! DAEDALUS_BENCH_ROUNDS (default 5) alternating rounds, and their ratio.

use std::process::Command;

use common::{demux, engine_run, ffmpeg_decode, median, vpx_two_pass};
use ctrls::build::vp8::{Vp8Builder, Vp8Request};
use ctrls::source::vp8::vp8_set;
use libdaedalus::{CaptureFormat, Codec, ControlSet, OwnedBuffer, Request};

mod common;

const FRAMES: u32 = 60;

/// The requests of one pass (controls built beforehand, as a client has them).
fn requests<'a>(reqs: &'a [Vp8Request], sets: &'a [ControlSet]) -> Vec<Request<'a>> {
    reqs.iter()
        .zip(sets)
        .map(|(r, c)| Request {
            controls: c,
            bitstream: &r.bitstream,
            timestamp: r.timestamp,
            hold_capture: false,
        })
        .collect()
}

fn main() {
    if Command::new("ffmpeg").arg("-version").output().is_err() {
        eprintln!("ffmpeg not found: VP8 bench NOT run");
        return;
    }
    let rounds: usize = std::env::var("DAEDALUS_BENCH_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5);
    let dir = std::env::temp_dir().join(format!("daedalus-vp8-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("bench1080.ivf");
    // Film-like grain: testsrc2 alone is so cheap to decode that the picture copy, not
    // decoding, would set the pace.
    let args = ["-b:v", "4M", "-slices", "4"];
    vpx_two_pass(&path, "libvpx", FRAMES, "noise=alls=8:allf=t", &args);
    let data = std::fs::read(&path).unwrap();
    let reqs = Vp8Builder::build_ivf(&data).unwrap();
    let shown = reqs.iter().filter(|r| r.shown).count();
    let sets: Vec<ControlSet> = reqs
        .iter()
        .map(|r| ControlSet::Vp8(Box::new(vp8_set(r))))
        .collect();
    let (params, packets) = demux(&path);
    let mut bufs: Vec<OwnedBuffer> = (0..4)
        .map(|_| OwnedBuffer::new(CaptureFormat::Nv12, 1920, 1080))
        .collect();
    // Frames/s counts shown frames on both sides (FFmpeg outputs only those; both decode
    // the hidden alt-refs too).
    let n = shown as f64;
    let (mut e, mut f) = (Vec::new(), Vec::new());
    for _ in 0..rounds {
        e.push(n / engine_run(Codec::Vp8, requests(&reqs, &sets), &mut bufs));
        let (got, s, _) = ffmpeg_decode(&params, &packets, None);
        assert_eq!(got, shown);
        f.push(n / s);
    }
    let (e, f) = (median(&mut e), median(&mut f));
    println!(
        "VP8 1920x1080, {} requests ({} hidden), {rounds} rounds, single-threaded",
        reqs.len(),
        reqs.len() - shown
    );
    println!("  engine (header check -> FFmpeg -> NV12): {e:8.2} frames/s");
    println!("  FFmpeg vp8 decoder:                      {f:8.2} frames/s");
    println!("  ratio engine/FFmpeg {:.3}", e / f);
    let _ = std::fs::remove_dir_all(&dir);
}
