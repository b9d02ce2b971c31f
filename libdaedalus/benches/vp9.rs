//! VP9 engine vs plain FFmpeg, single-threaded, on a generated 1080p libvpx-vp9 stream.
//!
//! `cargo bench -p libdaedalus --bench vp9` prints frames/s of
//! - the engine path: one request per coded frame (hidden alt-ref frames included) with
//!   the builder's controls, verified against the frame headers and the slot mirror, the
//!   frame decoded by FFmpeg and written into an NV12 CAPTURE buffer;
//! - the same with the whole replay (controls built from the IVF, frames converted to
//!   planar I420 in display order);
//! - FFmpeg decoding the same file alone (demuxed beforehand, frames drained);
//!
//! and the engine/FFmpeg ratio. Best of 5 runs each, alternating (the machine is shared: the best run is the least disturbed).

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use ctrls::build::vp9::{Vp9Builder, Vp9Event};
use ffmpeg_next as ffn;
use libdaedalus::codec::vp9::replay::{replay_ivf, vp9_controls};
use libdaedalus::replay::ReplayOptions;
use libdaedalus::{Codec, CodecControls, Engine, OwnedBuffer, PixelFormat, Request};

const FRAMES: u32 = 90;

fn generate(path: &Path) {
    if path.exists() {
        return;
    }
    let log = path.with_extension("2pass");
    for pass in ["1", "2"] {
        let st = Command::new("ffmpeg")
            .args(["-v", "error", "-y", "-f", "lavfi", "-i"])
            .arg("testsrc2=size=1920x1080:rate=30")
            .args(["-frames:v", &FRAMES.to_string(), "-c:v", "libvpx-vp9"])
            .args(["-threads", "1", "-row-mt", "0", "-deadline", "good"])
            .args(["-cpu-used", "4", "-b:v", "4M", "-tile-columns", "2"])
            .args(["-auto-alt-ref", "1", "-lag-in-frames", "16", "-pass", pass])
            .arg("-passlogfile")
            .arg(&log)
            .args(["-f", "ivf"])
            .arg(if pass == "1" {
                Path::new("/dev/null")
            } else {
                path
            })
            .status()
            .expect("ffmpeg");
        assert!(st.success(), "ffmpeg failed to encode the bench stream");
    }
}

fn plain_ffmpeg(path: &Path) -> (usize, f64) {
    let mut input = ffn::format::input(path).unwrap();
    let stream = input.streams().best(ffn::media::Type::Video).unwrap();
    let idx = stream.index();
    let mut ctx = ffn::codec::context::Context::from_parameters(stream.parameters()).unwrap();
    ctx.set_threading(ffn::codec::threading::Config {
        count: 1,
        ..ffn::codec::threading::Config::kind(ffn::codec::threading::Type::None)
    });
    let mut dec = ctx.decoder().video().unwrap();
    let packets: Vec<ffn::Packet> = input
        .packets()
        .filter(|(s, _)| s.index() == idx)
        .map(|(_, p)| p)
        .collect();
    let mut frame = ffn::frame::Video::empty();
    let mut n = 0;
    let t = Instant::now();
    for p in &packets {
        dec.send_packet(p).unwrap();
        while dec.receive_frame(&mut frame).is_ok() {
            n += 1;
        }
    }
    dec.send_eof().unwrap();
    while dec.receive_frame(&mut frame).is_ok() {
        n += 1;
    }
    (n, t.elapsed().as_secs_f64())
}

/// (shown frames, requests, seconds)
fn engine_path(events: &[Vp9Event]) -> (usize, usize, f64) {
    let mut pool: Vec<OwnedBuffer> = (0..10)
        .map(|_| OwnedBuffer::new(PixelFormat::Nv12, 1920, 1080))
        .collect();
    let mut engine = Engine::new(Codec::Vp9).unwrap();
    let (mut shown, mut requests) = (0, 0);
    let t = Instant::now();
    for ev in events {
        let Vp9Event::Decode(r) = ev else {
            shown += 1;
            continue;
        };
        let c = vp9_controls(r);
        let req = Request {
            controls: CodecControls::Vp9(&c),
            bitstream: &r.bitstream,
            timestamp: r.timestamp,
            hold_capture: false,
        };
        let buf = &mut pool[requests % 10];
        let rep = engine.decode(&req, &mut buf.as_dst()).unwrap();
        assert!(rep.warnings.is_empty());
        requests += 1;
        shown += usize::from(r.display.shown);
    }
    (shown, requests, t.elapsed().as_secs_f64())
}

fn main() {
    let dir = std::env::temp_dir().join("daedalus-bench");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("vp9-1080p-{FRAMES}.ivf"));
    generate(&path);
    let data = std::fs::read(&path).unwrap();
    let t = Instant::now();
    let events = Vp9Builder::build_ivf(&data).unwrap();
    let build_secs = t.elapsed().as_secs_f64();

    let (mut best_e, mut best_r, mut best_f) = (f64::MAX, f64::MAX, f64::MAX);
    let (mut shown, mut requests, mut ff_frames, mut replay_frames) = (0, 0, 0, 0);
    for _ in 0..5 {
        let (s, r, secs) = engine_path(&events);
        (shown, requests) = (s, r);
        best_e = best_e.min(secs);
        let t = Instant::now();
        let sum = replay_ivf(&data, &ReplayOptions::default(), |_| Ok(())).unwrap();
        best_r = best_r.min(t.elapsed().as_secs_f64());
        replay_frames = sum.frames;
        let (n, secs) = plain_ffmpeg(&path);
        ff_frames = n;
        best_f = best_f.min(secs);
    }
    let efps = shown as f64 / best_e;
    let rfps = replay_frames as f64 / best_r;
    let ffps = ff_frames as f64 / best_f;
    println!(
        "vp9 1080p: engine {efps:.1} fps ({shown} frames, {requests} requests incl. hidden), \
         replay {rfps:.1} fps (IVF -> controls -> engine -> I420), ffmpeg {ffps:.1} fps \
         ({ff_frames} frames); ratio engine/ffmpeg {:.3}, replay/ffmpeg {:.3}; \
         control building alone {:.1} ms",
        efps / ffps,
        rfps / ffps,
        build_secs * 1e3
    );
}
