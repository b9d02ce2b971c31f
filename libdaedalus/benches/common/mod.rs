//! What the benches (engine, VP8, VP9, AV1, HEVC) share: time measurement (wall and on-CPU time of the
//! thread) and plain single-threaded FFmpeg decoding of a demuxed file.

#![allow(dead_code)]

use std::path::Path;
use std::time::Instant;

use ffmpeg_next as ffn;

/// Nanoseconds this thread has run on a CPU (None if the kernel does not say).
pub fn cpu_ns() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    s.split_whitespace().next()?.parse().ok()
}

/// `f`'s result, wall seconds and on-CPU seconds of this thread (a loaded machine
/// stretches the first, not the second).
pub fn timed<T>(f: impl FnOnce() -> T) -> (T, f64, Option<f64>) {
    let c0 = cpu_ns();
    let t = Instant::now();
    let r = f();
    let wall = t.elapsed().as_secs_f64();
    let cpu = c0.and_then(|a| cpu_ns().map(|b| (b - a) as f64 * 1e-9));
    (r, wall, cpu)
}

/// The best video stream's parameters and packets.
pub fn demux(path: &Path) -> (ffn::codec::Parameters, Vec<ffn::Packet>) {
    let mut input = ffn::format::input(path).unwrap();
    let stream = input.streams().best(ffn::media::Type::Video).unwrap();
    let idx = stream.index();
    let params = stream.parameters();
    let packets = input
        .packets()
        .filter(|(s, _)| s.index() == idx)
        .map(|(_, p)| p)
        .collect();
    (params, packets)
}

/// FFmpeg decoding `packets` on one thread, frames drained: (frames, wall seconds, CPU
/// seconds). `decoder`: an FFmpeg decoder by name, else the default one for the codec.
pub fn ffmpeg_decode(
    params: &ffn::codec::Parameters,
    packets: &[ffn::Packet],
    decoder: Option<&str>,
) -> (usize, f64, Option<f64>) {
    let mut ctx = ffn::codec::context::Context::from_parameters(params.clone()).unwrap();
    ctx.set_threading(ffn::codec::threading::Config {
        count: 1,
        ..ffn::codec::threading::Config::kind(ffn::codec::threading::Type::None)
    });
    let dec = match decoder {
        Some(name) => {
            let codec = ffn::decoder::find_by_name(name)
                .unwrap_or_else(|| panic!("FFmpeg has no {name} decoder"));
            ctx.decoder().open_as(codec).unwrap().video()
        }
        None => ctx.decoder().video(),
    };
    let mut dec = dec.unwrap();
    let mut frame = ffn::frame::Video::empty();
    timed(|| {
        let mut n = 0;
        for p in packets {
            dec.send_packet(p).unwrap();
            while dec.receive_frame(&mut frame).is_ok() {
                n += 1;
            }
        }
        dec.send_eof().unwrap();
        while dec.receive_frame(&mut frame).is_ok() {
            n += 1;
        }
        n
    })
}

/// Median of `v` (sorted in place).
pub fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

/// Wall seconds of one fresh `codec` engine decoding every request, round-robin into
/// `bufs`; each must decode with no control warning.
pub fn engine_run<'a>(
    codec: libdaedalus::Codec,
    reqs: impl IntoIterator<Item = libdaedalus::Request<'a>>,
    bufs: &mut [libdaedalus::OwnedBuffer],
) -> f64 {
    let mut engine = libdaedalus::Engine::new(codec).unwrap();
    let ((), secs, _) = timed(|| {
        for (i, req) in reqs.into_iter().enumerate() {
            let n = bufs.len();
            let rep = engine.decode(&req, &mut bufs[i % n].as_dst()).unwrap();
            assert!(rep.warnings.is_empty(), "{:?}", rep.warnings);
        }
    });
    secs
}

/// Encodes `frames` of testsrc2 (1080p, 30 fps, `vf` filter) with the libvpx encoder
/// `encoder` in two passes (alt-ref frames need them) and `args`, into the IVF `path`.
pub fn vpx_two_pass(path: &Path, encoder: &str, frames: u32, vf: &str, args: &[&str]) {
    let log = path.with_extension("2pass");
    for pass in ["1", "2"] {
        let st = std::process::Command::new("ffmpeg")
            .args(["-v", "error", "-y", "-f", "lavfi", "-i"])
            .arg("testsrc2=size=1920x1080:rate=30")
            .args(["-vf", vf, "-frames:v", &frames.to_string(), "-c:v", encoder])
            .args(["-threads", "1", "-deadline", "good", "-cpu-used", "4"])
            .args(args)
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
