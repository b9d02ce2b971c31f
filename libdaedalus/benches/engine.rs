//! Engine vs plain FFmpeg, single-threaded, on generated 1080p and 720p x264 streams.
//!
//! `cargo bench -p libdaedalus --bench engine` prints per stream: frames/s of the engine
//! path (controls -> synthesized SPS/PPS -> FFmpeg -> NV12 CAPTURE buffer, cross-checks
//! on) and of FFmpeg decoding the same file alone (demuxed beforehand, frames drained),
//! their ratio, Rust heap allocations per frame in steady state (counting global
//! allocator; FFmpeg's own av_malloc calls are not Rust allocations and not counted), and
//! bytes copied per frame (picture into CAPTURE + bitstream into FFmpeg's packet).

use std::alloc::{GlobalAlloc, Layout, System};
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use ctrls::build::h264::H264Builder;
use ffmpeg_next as ffn;
use libdaedalus::codec::h264::H264Controls;
use libdaedalus::{Codec, CodecControls, Engine, OwnedBuffer, PixelFormat, Request};

/// Counts allocations, then defers to the system allocator.
struct Counting;

static ALLOCS: AtomicU64 = AtomicU64::new(0);

// SAFETY: every call is forwarded unchanged to `System`, which upholds the GlobalAlloc
// contract; the counter is a relaxed atomic with no effect on the allocation.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        unsafe { System.alloc(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        unsafe { System.dealloc(p, l) }
    }
    unsafe fn alloc_zeroed(&self, l: Layout) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        unsafe { System.alloc_zeroed(l) }
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, n: usize) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        unsafe { System.realloc(p, l, n) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

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

struct EngineRun {
    frames: usize,
    secs: f64,
    allocs_per_frame: f64,
    picture_bytes_per_frame: f64,
    bitstream_bytes_per_frame: f64,
}

fn engine_path(data: &[u8]) -> EngineRun {
    let pics = H264Builder::build_stream(data).unwrap();
    let first = &pics[0];
    let (w, h) = (first.display.width_mbs * 16, first.display.height_mbs * 16);
    let mut pool: Vec<OwnedBuffer> = (0..8)
        .map(|_| OwnedBuffer::new(PixelFormat::Nv12, w, h))
        .collect();
    let mut controls = H264Controls::default();
    let mut engine = Engine::new(Codec::H264).unwrap();
    let warmup = 10.min(pics.len() / 2);
    let mut copied = 0usize;
    let mut bitstream = 0usize;
    let mut allocs_at_warmup = 0;
    let t = Instant::now();
    for (i, p) in pics.iter().enumerate() {
        if i == warmup {
            allocs_at_warmup = ALLOCS.load(Ordering::Relaxed);
        }
        controls.sps = p.sps;
        controls.pps = p.pps;
        controls.scaling_matrix = p.scaling_matrix;
        controls.decode_params = p.decode_params;
        let req = Request {
            controls: CodecControls::H264(&controls),
            bitstream: &p.bitstream,
            timestamp: p.timestamp,
            hold_capture: false,
        };
        let buf = &mut pool[i % 8];
        let r = engine.decode(&req, &mut buf.as_dst()).unwrap();
        copied += r.bytes_copied;
        bitstream += p.bitstream.len();
    }
    let secs = t.elapsed().as_secs_f64();
    let steady = (pics.len() - warmup) as f64;
    EngineRun {
        frames: pics.len(),
        secs,
        allocs_per_frame: (ALLOCS.load(Ordering::Relaxed) - allocs_at_warmup) as f64 / steady,
        picture_bytes_per_frame: copied as f64 / pics.len() as f64,
        bitstream_bytes_per_frame: bitstream as f64 / pics.len() as f64,
    }
}

fn main() {
    // `cargo bench` passes --bench; nothing to parse.
    let dir = std::env::temp_dir().join("daedalus-bench");
    std::fs::create_dir_all(&dir).unwrap();
    for (name, w, h, frames) in [("1080p", 1920, 1080, 240), ("720p", 1280, 720, 360)] {
        let path = dir.join(format!("{name}.h264"));
        generate(&path, w, h, frames);
        let data = std::fs::read(&path).unwrap();
        // Best of 3 for both paths, alternating.
        let mut best_e: Option<EngineRun> = None;
        let mut best_f = f64::MAX;
        let mut ff_frames = 0;
        for _ in 0..3 {
            let e = engine_path(&data);
            if best_e.as_ref().is_none_or(|b| e.secs < b.secs) {
                best_e = Some(e);
            }
            let (n, s) = plain_ffmpeg(&path);
            ff_frames = n;
            best_f = best_f.min(s);
        }
        let e = best_e.unwrap();
        let efps = e.frames as f64 / e.secs;
        let ffps = ff_frames as f64 / best_f;
        println!(
            "{name}: engine {:.1} fps ({} frames), ffmpeg {:.1} fps ({} frames), ratio {:.3}; \
             steady-state Rust allocations/frame {:.2}; bytes copied/frame: picture {:.0} + bitstream {:.0}",
            efps,
            e.frames,
            ffps,
            ff_frames,
            efps / ffps,
            e.allocs_per_frame,
            e.picture_bytes_per_frame,
            e.bitstream_bytes_per_frame
        );
    }
}
