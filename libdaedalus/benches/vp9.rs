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
//! Besides wall-clock time, each run's on-CPU time of the thread
//! (`/proc/thread-self/schedstat`, ns) gives a second ratio that waiting for a core under
//! load does not distort.

use std::path::Path;
use std::time::Instant;

use common::{demux, ffmpeg_decode, timed, vpx_two_pass};
use ctrls::build::vp9::{Vp9Builder, Vp9Event};
use ctrls::source::vp9::vp9_set as vp9_controls;
use libdaedalus::replay::replay_vp9_ivf as replay_ivf;
use libdaedalus::replay::ReplayOptions;
use libdaedalus::{CaptureFormat, Codec, ControlSet, Engine, OwnedBuffer, Request};

mod common;

const FRAMES: u32 = 90;

fn generate(path: &Path) {
    if !path.exists() {
        let args = ["-row-mt", "0", "-b:v", "4M", "-tile-columns", "2"];
        vpx_two_pass(path, "libvpx-vp9", FRAMES, "null", &args);
    }
}

/// (shown frames, requests, wall seconds, CPU seconds)
fn engine_path(events: &[Vp9Event]) -> (usize, usize, f64, Option<f64>) {
    let mut pool: Vec<OwnedBuffer> = (0..10)
        .map(|_| OwnedBuffer::new(CaptureFormat::Nv12, 1920, 1080))
        .collect();
    let mut engine = Engine::new(Codec::Vp9).unwrap();
    let (mut shown, mut requests) = (0, 0);
    let ((), wall, cpu) = timed(|| {
        for ev in events {
            let Vp9Event::Decode(r) = ev else {
                shown += 1;
                continue;
            };
            let c = ControlSet::Vp9(Box::new(vp9_controls(r)));
            let req = Request {
                controls: &c,
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
    });
    (shown, requests, wall, cpu)
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
    let (params, packets) = demux(&path);

    let mut best = [f64::MAX; 6]; // wall: engine, replay, ffmpeg; CPU: the same
    let (mut shown, mut requests, mut ff_frames, mut replay_frames) = (0, 0, 0, 0);
    let mut keep = |i: usize, wall: f64, cpu: Option<f64>| {
        best[i] = best[i].min(wall);
        best[i + 3] = best[i + 3].min(cpu.unwrap_or(f64::NAN));
    };
    for _ in 0..5 {
        let (s, r, wall, cpu) = engine_path(&events);
        (shown, requests) = (s, r);
        keep(0, wall, cpu);
        let (sum, wall, cpu) =
            timed(|| replay_ivf(&data, &ReplayOptions::default(), |_| Ok(())).unwrap());
        replay_frames = sum.frames;
        keep(1, wall, cpu);
        let (n, wall, cpu) = ffmpeg_decode(&params, &packets, None);
        ff_frames = n;
        keep(2, wall, cpu);
    }
    let fps = |frames: usize, secs: f64| frames as f64 / secs;
    let (efps, rfps, ffps) = (
        fps(shown, best[0]),
        fps(replay_frames, best[1]),
        fps(ff_frames, best[2]),
    );
    let (ecpu, rcpu, fcpu) = (
        fps(shown, best[3]),
        fps(replay_frames, best[4]),
        fps(ff_frames, best[5]),
    );
    println!(
        "vp9 1080p: engine {efps:.1} fps ({shown} frames, {requests} requests incl. hidden), \
         replay {rfps:.1} fps (IVF -> controls -> engine -> I420), ffmpeg {ffps:.1} fps \
         ({ff_frames} frames); ratio engine/ffmpeg {:.3}, replay/ffmpeg {:.3}; \
         on-CPU time: engine {ecpu:.1} fps, replay {rcpu:.1} fps, ffmpeg {fcpu:.1} fps, \
         ratio engine/ffmpeg {:.3}, replay/ffmpeg {:.3}; control building alone {:.1} ms",
        efps / ffps,
        rfps / ffps,
        ecpu / fcpu,
        rcpu / fcpu,
        build_secs * 1e3
    );
}
