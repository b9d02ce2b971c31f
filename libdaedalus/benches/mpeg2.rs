//! MPEG-2 engine vs plain FFmpeg, single-threaded, on a generated 1080p mpeg2video stream
//! (testsrc2 with temporal noise, interlaced, B-frames).
//!
//! `cargo bench -p libdaedalus --bench mpeg2` prints frames/s of the engine path (one
//! request per picture with the builder's SEQUENCE / PICTURE / QUANTISATION, headers
//! rebuilt from them, the slices decoded by FFmpeg and written into an NV12 CAPTURE
//! buffer) and of FFmpeg's mpeg2video decoder alone on the same demuxed packets, the
//! median of DAEDALUS_BENCH_ROUNDS (default 5) alternating rounds, and their ratio.

use std::path::Path;
use std::process::Command;

use common::{demux, engine_run, ffmpeg_decode, median};
use ctrls::build::mpeg2::{build_stream, Mpeg2Picture};
use ctrls::source::mpeg2::mpeg2_set;
use libdaedalus::{CaptureFormat, Codec, ControlSet, OwnedBuffer, Request};

mod common;

const FRAMES: u32 = 60;

fn encode(path: &Path) {
    let st = Command::new("ffmpeg")
        .args(["-v", "error", "-y", "-f", "lavfi", "-i"])
        .arg("testsrc2=size=1920x1080:rate=25")
        // Film-like grain: testsrc2 alone is so cheap to decode that the picture copy,
        // not decoding, would set the pace.
        .args(["-vf", "noise=alls=8:allf=t"])
        .args(["-frames:v", &FRAMES.to_string(), "-c:v", "mpeg2video"])
        .args(["-threads", "1", "-b:v", "15M", "-bf", "2", "-g", "15"])
        .args(["-flags", "+ilme+ildct", "-f", "mpeg2video"])
        .arg(path)
        .status()
        .expect("ffmpeg");
    assert!(st.success(), "ffmpeg failed to encode the bench stream");
}

/// The requests of one pass (controls built beforehand, as a client has them).
fn requests<'a>(pics: &'a [Mpeg2Picture], sets: &'a [ControlSet]) -> Vec<Request<'a>> {
    pics.iter()
        .zip(sets)
        .map(|(p, c)| Request {
            controls: c,
            bitstream: &p.bitstream,
            timestamp: p.timestamp,
            hold_capture: p.field == 1,
        })
        .collect()
}

fn main() {
    if Command::new("ffmpeg").arg("-version").output().is_err() {
        eprintln!("ffmpeg not found: MPEG-2 bench NOT run");
        return;
    }
    let rounds: usize = std::env::var("DAEDALUS_BENCH_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5);
    let dir = std::env::temp_dir().join(format!("daedalus-mpeg2-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("bench1080.m2v");
    encode(&path);
    let pics = build_stream(&std::fs::read(&path).unwrap()).unwrap();
    assert!(pics.iter().all(|p| p.field == 0), "frame pictures");
    let sets: Vec<ControlSet> = pics
        .iter()
        .map(|p| ControlSet::Mpeg2(Box::new(mpeg2_set(p))))
        .collect();
    let (params, packets) = demux(&path);
    let mut bufs: Vec<OwnedBuffer> = (0..4)
        .map(|_| OwnedBuffer::new(CaptureFormat::Nv12, 1920, 1080))
        .collect();
    let n = pics.len() as f64;
    let (mut e, mut f) = (Vec::new(), Vec::new());
    for _ in 0..rounds {
        e.push(n / engine_run(Codec::Mpeg2, requests(&pics, &sets), &mut bufs));
        let (got, s, _) = ffmpeg_decode(&params, &packets, None);
        assert_eq!(got, pics.len());
        f.push(n / s);
    }
    let (e, f) = (median(&mut e), median(&mut f));
    println!(
        "MPEG-2 1920x1080 interlaced, {} requests, {rounds} rounds, single-threaded",
        pics.len()
    );
    println!("  engine (rebuilt headers -> FFmpeg -> NV12): {e:8.2} frames/s");
    println!("  FFmpeg mpeg2video decoder:                  {f:8.2} frames/s");
    println!("  ratio engine/FFmpeg {:.3}", e / f);
    let _ = std::fs::remove_dir_all(&dir);
}
