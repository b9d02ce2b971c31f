//! AV1: engine path vs plain libdav1d and FFmpeg (its libdav1d wrapper), single-threaded,
//! on a 1080p stream made by the host's libaom at bench time.
//!
//! `cargo bench -p libdaedalus --bench av1` prints, from interleaved rounds (engine,
//! dav1d, FFmpeg, ...; `DAEDALUS_BENCH_ROUNDS`, default 5), the median frames/s of:
//! - the engine path: controls (built beforehand, as a client has them) -> rebuilt
//!   sequence/frame header and tile group OBUs -> libdav1d -> NV12 CAPTURE buffer (and
//!   the same into YU12, to show the cost of the NV12 interleave);
//! - plain libdav1d on the IVF temporal units (1 thread, frame delay 1), pictures drained;
//! - FFmpeg's libdav1d decoder on the demuxed packets (1 thread);
//!
//! and the engine / plain ratios.

use std::path::Path;
use std::process::Command;

use common::{demux, ffmpeg_decode, timed};
use ctrls::build::av1::{Av1Builder, Av1Event, Av1Request};
use ctrls::source::av1::av1_set as av1_controls;
use ffmpeg_next as ffn;
use libdaedalus::{CaptureFormat, Codec, ControlSet, Engine, OwnedBuffer, Request};

mod common;

const W: u32 = 1920;
const H: u32 = 1080;
const FRAMES: u32 = 20;

fn encode(path: &Path) {
    let st = Command::new("ffmpeg")
        .args(["-v", "error", "-y", "-f", "lavfi", "-i"])
        .arg(format!("testsrc2=size={W}x{H}:rate=25"))
        .args(["-frames:v", &FRAMES.to_string(), "-c:v", "libaom-av1"])
        .args(["-cpu-used", "8", "-row-mt", "0", "-threads", "1"])
        .args(["-lag-in-frames", "8", "-crf", "32"])
        .arg(path)
        .status()
        .expect("ffmpeg");
    assert!(st.success());
}

fn engine_run(reqs: &[&Av1Request], bufs: &mut [OwnedBuffer]) -> (usize, f64) {
    let mut engine = Engine::new(Codec::Av1).unwrap();
    let controls: Vec<_> = reqs
        .iter()
        .map(|r| ControlSet::Av1(Box::new(av1_controls(r))))
        .collect();
    let ((), secs, _) = timed(|| {
        for (i, r) in reqs.iter().enumerate() {
            let req = Request {
                controls: &controls[i],
                bitstream: &r.bitstream,
                timestamp: r.timestamp,
                hold_capture: false,
            };
            let n = bufs.len();
            engine.decode(&req, &mut bufs[i % n].as_dst()).unwrap();
        }
    });
    (reqs.len(), secs)
}

fn dav1d_run(tus: &[Vec<u8>]) -> (usize, f64) {
    let mut s = dav1d::Settings::new();
    s.set_n_threads(1);
    s.set_max_frame_delay(1);
    let mut dec = dav1d::Decoder::with_settings(&s).unwrap();
    let (n, secs, _) = timed(|| {
        let mut n = 0;
        for tu in tus {
            let mut r = dec.send_data(tu.clone(), None, None, None);
            loop {
                while dec.get_picture().is_ok() {
                    n += 1;
                }
                match r {
                    Err(e) if e.is_again() => r = dec.send_pending_data(),
                    _ => break,
                }
            }
        }
        dec.flush();
        while dec.get_picture().is_ok() {
            n += 1;
        }
        n
    });
    (n, secs)
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

fn main() {
    if Command::new("ffmpeg").arg("-version").output().is_err() {
        eprintln!("ffmpeg not found: AV1 bench NOT run");
        return;
    }
    ffn::init().unwrap();
    ffn::log::set_level(ffn::log::Level::Error);
    let rounds: usize = std::env::var("DAEDALUS_BENCH_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5);
    let dir = std::env::temp_dir().join(format!("daedalus-av1-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("bench1080.ivf");
    encode(&path);
    let data = std::fs::read(&path).unwrap();
    let events = Av1Builder::build_ivf(&data).unwrap();
    let reqs: Vec<&Av1Request> = events
        .iter()
        .filter_map(|e| match e {
            Av1Event::Decode(r) => Some(&**r),
            _ => None,
        })
        .collect();
    let (_, ivf_frames) = ctrls::build::ivf::parse(&data).unwrap();
    let tus: Vec<Vec<u8>> = ivf_frames.iter().map(|f| f.data.to_vec()).collect();
    let (params, packets) = demux(&path);
    let mut bufs: Vec<OwnedBuffer> = (0..8)
        .map(|_| OwnedBuffer::new(CaptureFormat::Nv12, W, H))
        .collect();
    let mut bufs420: Vec<OwnedBuffer> = (0..8)
        .map(|_| OwnedBuffer::new(CaptureFormat::Yuv420, W, H))
        .collect();

    // Frames/s counts the stream's displayed frames (one per temporal unit) for all
    // three: each decodes the same frames, hidden ones included.
    let shown = tus.len() as f64;
    let (mut e, mut e420, mut d, mut f) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for _ in 0..rounds {
        let (n, s) = engine_run(&reqs, &mut bufs);
        assert_eq!(n, reqs.len());
        e.push(shown / s);
        let (_, s) = engine_run(&reqs, &mut bufs420);
        e420.push(shown / s);
        let (n, s) = dav1d_run(&tus);
        assert_eq!(n, tus.len());
        d.push(shown / s);
        let (n, s, _) = ffmpeg_decode(&params, &packets, Some("libdav1d"));
        assert_eq!(n, tus.len());
        f.push(shown / s);
    }
    let (e, e420, d, f) = (
        median(&mut e),
        median(&mut e420),
        median(&mut d),
        median(&mut f),
    );
    println!(
        "AV1 {W}x{H}, {} requests ({} IVF temporal units), {rounds} rounds, single-threaded",
        reqs.len(),
        tus.len()
    );
    println!("  engine (rebuilt OBUs -> libdav1d -> NV12): {e:8.2} frames/s");
    println!("  engine into YU12 (planar copy):           {e420:8.2} frames/s");
    println!("  plain libdav1d:                           {d:8.2} frames/s");
    println!("  FFmpeg libdav1d wrapper:                  {f:8.2} frames/s");
    println!(
        "  ratio engine/dav1d {:.3}, engine/FFmpeg {:.3} (NV12); YU12: {:.3}, {:.3}",
        e / d,
        e / f,
        e420 / d,
        e420 / f
    );
    let _ = std::fs::remove_dir_all(&dir);
}
