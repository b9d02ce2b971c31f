//! Engine vs plain FFmpeg, single-threaded, on generated 1080p and 720p x264 streams.
//!
//! `cargo bench -p libdaedalus --bench engine` prints per stream, from interleaved rounds
//! (engine, FFmpeg, FFmpeg, engine, ...; `DAEDALUS_BENCH_ROUNDS`, default 7):
//! - frames/s, by thread CPU time and by wall time, of the engine path (controls -> synthesized SPS/PPS -> FFmpeg -> NV12
//!   CAPTURE buffer, cross-checks on) and of FFmpeg decoding the same stream alone
//!   (demuxed beforehand, frames drained), median / min / max, and the ratio (median of
//!   the per-round ratios, and ratio of the medians). CPU time is the robust figure on a
//!   shared machine: wall time also counts other processes;
//! - Rust heap allocations (and bytes) per frame inside `Engine::decode` in steady state
//!   (counting global allocator; FFmpeg's own av_malloc calls are not Rust allocations and
//!   not counted), and what the harness allocates around it;
//! - bytes copied per frame (picture into CAPTURE, bitstream into FFmpeg's packet);
//! - a breakdown of the engine's own work: the CAPTURE write alone (same picture size, same
//!   8-buffer pool) and the slice-header/DPB cross-checks alone, per frame.

use std::alloc::{GlobalAlloc, Layout, System};
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use ctrls::build::h264::{H264Builder, H264Picture};
use ffmpeg_next as ffn;
use libdaedalus::codec::h264::check::Checker;
use libdaedalus::codec::h264::H264Controls;
use libdaedalus::dst::{write_picture, SrcPicture};
use libdaedalus::{CaptureFormat, Codec, ControlSet, Engine, OwnedBuffer, Request};

mod common;

/// Counts allocations, then defers to the system allocator.
struct Counting;

static ALLOCS: AtomicU64 = AtomicU64::new(0);
static ALLOC_BYTES: AtomicU64 = AtomicU64::new(0);

fn count(l: &Layout) {
    ALLOCS.fetch_add(1, Ordering::Relaxed);
    ALLOC_BYTES.fetch_add(l.size() as u64, Ordering::Relaxed);
}

// SAFETY: every call is forwarded unchanged to `System`, which upholds the GlobalAlloc
// contract; the counters are relaxed atomics with no effect on the allocation.
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        count(&l);
        // SAFETY: the caller's GlobalAlloc contract, passed on to `System` unchanged.
        unsafe { System.alloc(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        // SAFETY: the caller's GlobalAlloc contract, passed on to `System` unchanged.
        unsafe { System.dealloc(p, l) }
    }
    unsafe fn alloc_zeroed(&self, l: Layout) -> *mut u8 {
        count(&l);
        // SAFETY: the caller's GlobalAlloc contract, passed on to `System` unchanged.
        unsafe { System.alloc_zeroed(l) }
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, n: usize) -> *mut u8 {
        count(&l);
        // SAFETY: the caller's GlobalAlloc contract, passed on to `System` unchanged.
        unsafe { System.realloc(p, l, n) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocs() -> (u64, u64) {
    (
        ALLOCS.load(Ordering::Relaxed),
        ALLOC_BYTES.load(Ordering::Relaxed),
    )
}

/// CPU time of the calling thread in ns (`/proc/thread-self/schedstat`, first field): the
/// machine is shared, and wall time counts the time other processes hold the CPU. The value
/// is brought up to date at scheduler ticks (a few ms), well below a round's length.
fn cpu_ns() -> u64 {
    common::cpu_ns().unwrap_or(0)
}

/// Wall and CPU seconds since `(t, c)`.
fn since(t: Instant, c: u64) -> (f64, f64) {
    (t.elapsed().as_secs_f64(), (cpu_ns() - c) as f64 / 1e9)
}

fn generate(path: &Path, w: u32, h: u32, frames: u32) {
    if path.exists() {
        return;
    }
    let st = Command::new("ffmpeg")
        .args(["-v", "error", "-y", "-f", "lavfi", "-i"])
        .arg(format!("testsrc2=size={w}x{h}:rate=30"))
        .args(["-frames:v", &frames.to_string(), "-c:v", "libx264"])
        .args([
            "-preset",
            "fast",
            "-b:v",
            if h >= 1080 { "6M" } else { "3M" },
        ])
        .args(["-x264-params", "bframes=3:keyint=60"])
        .arg(path)
        .status()
        .expect("ffmpeg");
    assert!(st.success());
}

/// Plain FFmpeg, single-threaded: frames decoded, wall and CPU seconds.
fn plain_ffmpeg(params: &ffn::codec::Parameters, packets: &[ffn::Packet]) -> (usize, (f64, f64)) {
    let (n, wall, cpu) = common::ffmpeg_decode(params, packets, None);
    (n, (wall, cpu.unwrap_or(0.0)))
}

struct EngineRun {
    frames: usize,
    /// Wall and CPU seconds.
    secs: (f64, f64),
    /// Inside Engine::decode, steady state (after the first GOP's warm-up frames).
    allocs: u64,
    alloc_bytes: u64,
    steady_frames: u64,
    /// Around Engine::decode (building the Dst view), steady state.
    harness_allocs: u64,
    picture_bytes: usize,
    bitstream_bytes: usize,
}

/// `pool`: CAPTURE-like buffers, already touched (as a client's mapped buffers are).
fn engine_path(pics: &[H264Picture], pool: &mut [OwnedBuffer]) -> EngineRun {
    let mut set = ControlSet::H264(Box::default());
    let mut engine = Engine::new(Codec::H264).unwrap();
    let warmup = 10.min(pics.len() / 2);
    let mut run = EngineRun {
        frames: pics.len(),
        secs: (0.0, 0.0),
        allocs: 0,
        alloc_bytes: 0,
        steady_frames: 0,
        harness_allocs: 0,
        picture_bytes: 0,
        bitstream_bytes: 0,
    };
    let n = pool.len();
    let (t, c) = (Instant::now(), cpu_ns());
    for (i, p) in pics.iter().enumerate() {
        let ControlSet::H264(controls) = &mut set else {
            unreachable!("an H.264 set")
        };
        controls.sps = p.sps;
        controls.pps = p.pps;
        controls.scaling_matrix = p.scaling_matrix;
        controls.decode_params = p.decode_params;
        let req = Request {
            controls: &set,
            bitstream: &p.bitstream,
            timestamp: p.timestamp,
            hold_capture: false,
        };
        let a0 = allocs();
        let mut dst = pool[i % n].as_dst();
        let a1 = allocs();
        let r = engine.decode(&req, &mut dst).unwrap();
        let a2 = allocs();
        if i >= warmup {
            run.steady_frames += 1;
            run.harness_allocs += a1.0 - a0.0;
            run.allocs += a2.0 - a1.0;
            run.alloc_bytes += a2.1 - a1.1;
        }
        run.picture_bytes += r.bytes_copied;
        run.bitstream_bytes += p.bitstream.len();
    }
    run.secs = since(t, c);
    run
}

/// Seconds per frame of writing a `w`x`h` 8-bit picture into the NV12 pool alone.
fn copy_only(w: u32, h: u32, pool: &mut [OwnedBuffer], frames: usize) -> f64 {
    // Source planes laid out like FFmpeg's (linesize rounded up to 64, some padding).
    let ls = (w as usize + 63) & !63;
    let cls = (w as usize / 2 + 63) & !63;
    let y: Vec<u8> = (0..ls * (h as usize + 32)).map(|i| i as u8).collect();
    let cb: Vec<u8> = (0..cls * (h as usize / 2 + 16))
        .map(|i| (i * 3) as u8)
        .collect();
    let cr: Vec<u8> = (0..cls * (h as usize / 2 + 16))
        .map(|i| (i * 7) as u8)
        .collect();
    let src = SrcPicture {
        width: w,
        height: h,
        bit_depth: 8,
        y: (&y, ls),
        cb: Some((&cb, cls)),
        cr: Some((&cr, cls)),
    };
    let n = pool.len();
    // Short runs: best of 5 by wall time (CPU time from schedstat is tick-granular).
    (0..5)
        .map(|_| {
            let t = Instant::now();
            for i in 0..frames {
                write_picture(&src, &mut pool[i % n].as_dst()).unwrap();
            }
            t.elapsed().as_secs_f64() / frames as f64
        })
        .fold(f64::MAX, f64::min)
}

/// Seconds per frame of the cross-checks alone (slice header read, POC, DPB compare).
fn checks_only(pics: &[H264Picture]) -> f64 {
    (0..5).map(|_| checks_once(pics)).fold(f64::MAX, f64::min)
}

fn checks_once(pics: &[H264Picture]) -> f64 {
    let mut c = H264Controls::default();
    let mut checker = Checker::default();
    let mut out = Vec::new();
    let t = Instant::now();
    for p in pics {
        c.sps = p.sps;
        c.pps = p.pps;
        c.decode_params = p.decode_params;
        out.clear();
        let s = checker.check_slices(&p.bitstream, &c, &mut out).unwrap();
        checker.check_dpb(&c.decode_params, p.timestamp, &mut out);
        assert!(out.is_empty(), "{out:?}");
        checker.record(p.timestamp, p.timestamp, false, &c.decode_params, &s);
    }
    t.elapsed().as_secs_f64() / pics.len() as f64
}

fn median(v: &[f64]) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(|a, b| a.total_cmp(b));
    let m = s.len() / 2;
    if s.len() % 2 == 1 {
        s[m]
    } else {
        (s[m - 1] + s[m]) / 2.0
    }
}

fn range(v: &[f64]) -> (f64, f64) {
    v.iter()
        .fold((f64::MAX, f64::MIN), |(a, b), &x| (a.min(x), b.max(x)))
}

fn main() {
    // `cargo bench` passes --bench; nothing to parse.
    let rounds: usize = std::env::var("DAEDALUS_BENCH_ROUNDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(7)
        .max(1);
    let dir = std::env::temp_dir().join("daedalus-bench");
    std::fs::create_dir_all(&dir).unwrap();
    for (name, w, h, frames) in [("1080p", 1920, 1080, 240), ("720p", 1280, 720, 360)] {
        let path = dir.join(format!("{name}.h264"));
        generate(&path, w, h, frames);
        let data = std::fs::read(&path).unwrap();
        let pics = H264Builder::build_stream(&data).unwrap();
        let (params, packets) = common::demux(&path);
        let (cw, ch) = (
            pics[0].display.width_mbs * 16,
            pics[0].display.height_mbs * 16,
        );
        let mut pool: Vec<OwnedBuffer> = (0..8)
            .map(|_| {
                let mut b = OwnedBuffer::new(CaptureFormat::Nv12, cw, ch);
                for (_, p) in &mut b.planes {
                    p.fill(16);
                }
                b
            })
            .collect();

        // Per round: (engine, FFmpeg) frames/s by CPU time and by wall time.
        let mut cpu = (Vec::new(), Vec::new(), Vec::new());
        let mut wall = (Vec::new(), Vec::new(), Vec::new());
        let mut last = None;
        let mut ff_frames = 0;
        for r in 0..rounds {
            let mut e = None;
            let mut f = (0, (0.0, 0.0));
            for step in 0..2 {
                if (step == 0) == (r % 2 == 0) {
                    e = Some(engine_path(&pics, &mut pool));
                } else {
                    f = plain_ffmpeg(&params, &packets);
                }
            }
            let e = e.unwrap();
            for (v, es, fs) in [(&mut cpu, e.secs.1, f.1 .1), (&mut wall, e.secs.0, f.1 .0)] {
                let (ef, ff) = (e.frames as f64 / es, f.0 as f64 / fs);
                v.0.push(ef);
                v.1.push(ff);
                v.2.push(ef / ff);
            }
            ff_frames = f.0;
            last = Some(e);
        }
        let e = last.unwrap();
        assert_eq!(e.frames, ff_frames, "both paths decode every frame");
        let copy = copy_only(cw, ch, &mut pool, 100);
        let checks = checks_only(&pics);
        let sf = e.steady_frames as f64;
        println!(
            "{name} ({cw}x{ch} coded, {} frames, {rounds} interleaved rounds):",
            e.frames
        );
        for (what, v) in [("CPU time", &cpu), ("wall time", &wall)] {
            let (emin, emax) = range(&v.0);
            let (fmin, fmax) = range(&v.1);
            let (rmin, rmax) = range(&v.2);
            println!(
                "  by {what}: engine {:.1} fps median (min {emin:.1}, max {emax:.1}); \
                 FFmpeg {:.1} fps median (min {fmin:.1}, max {fmax:.1}); \
                 ratio median {:.3} (min {rmin:.3}, max {rmax:.3}), of medians {:.3}; \
                 per round {:?}",
                median(&v.0),
                median(&v.1),
                median(&v.2),
                median(&v.0) / median(&v.1),
                v.2.iter()
                    .map(|r| (r * 1000.0).round() / 1000.0)
                    .collect::<Vec<_>>(),
            );
        }
        let ffps = median(&cpu.1);
        println!(
            "  Rust heap allocations/frame inside Engine::decode (steady state): {:.3} \
             ({:.1} bytes/frame); harness around it (Dst view): {:.2}\n  \
             bytes copied/frame: picture {:.0} + bitstream into FFmpeg's packet {:.0}\n  \
             breakdown/frame: FFmpeg decode {:.3} ms (CPU time), CAPTURE write alone \
             {:.3} ms ({:.1}% of decode), cross-checks alone {:.1} us ({:.2}%) (best of 5)",
            e.allocs as f64 / sf,
            e.alloc_bytes as f64 / sf,
            e.harness_allocs as f64 / sf,
            e.picture_bytes as f64 / e.frames as f64,
            e.bitstream_bytes as f64 / e.frames as f64,
            1e3 / ffps,
            copy * 1e3,
            copy * ffps * 100.0,
            checks * 1e6,
            checks * ffps * 100.0,
        );
    }
}
