//! Streams made by the host's libx264 decode bit-exact through the replay path (builder ->
//! controls -> engine), against FFmpeg decoding the same file independently; in strict mode
//! (zero control/bitstream/DPB disagreements).

mod common;

use common::*;
use libdaedalus::replay::{replay_h264, ReplayOptions, ReplaySummary};
use libdaedalus::{CaptureFormat, EngineOptions};
use md5::{Digest, Md5};

fn replay_md5(data: &[u8], opts: &ReplayOptions) -> (String, usize, ReplaySummary) {
    let mut md5 = Md5::new();
    let mut bytes = 0;
    let s = replay_h264(data, opts, |f| {
        md5.update(f);
        bytes += f.len();
        Ok(())
    })
    .expect("replay");
    (format!("{:x}", md5.finalize()), bytes, s)
}

struct Case {
    name: &'static str,
    w: u32,
    h: u32,
    frames: u32,
    pix_fmt: &'static str,
    extra: &'static [&'static str],
    params: &'static str,
}

const CASES: &[Case] = &[
    Case {
        name: "bframes-wp-8x8-cabac",
        w: 352,
        h: 288,
        frames: 24,
        pix_fmt: "yuv420p",
        extra: &["-profile:v", "high"],
        params: "bframes=3:b-pyramid=normal:b-adapt=0:weightp=2:weightb=1:8x8dct=1:cabac=1:ref=4",
    },
    Case {
        name: "mbaff-interlaced",
        w: 352,
        h: 288,
        frames: 12,
        pix_fmt: "yuv420p",
        extra: &["-flags", "+ildct+ilme"],
        params: "interlaced=1:tff=1:bframes=2:8x8dct=1",
    },
    Case {
        name: "slices4",
        w: 640,
        h: 360,
        frames: 8,
        pix_fmt: "yuv420p",
        extra: &[],
        params: "slices=4:bframes=2",
    },
    Case {
        name: "tiny-64",
        w: 64,
        h: 64,
        frames: 10,
        pix_fmt: "yuv420p",
        extra: &[],
        params: "bframes=1",
    },
    Case {
        name: "crop-100x60-baseline-cavlc",
        w: 100,
        h: 60,
        frames: 10,
        pix_fmt: "yuv420p",
        extra: &["-profile:v", "baseline"],
        params: "",
    },
    Case {
        name: "scaling-matrix",
        w: 176,
        h: 144,
        frames: 8,
        pix_fmt: "yuv420p",
        extra: &["-profile:v", "high"],
        params: "8x8dct=1:cqm4iy=6,12,19,26,9,15,22,28,14,20,27,33,18,25,31,38:cqm4py=10,14,17,21,13,16,20,24,16,19,23,26,19,22,26,29:cqm8iy=6,10,13,16,18,23,25,27,10,11,16,18,23,25,27,29,13,16,18,23,25,27,29,31,16,18,23,25,27,29,31,33,18,23,25,27,29,31,33,36,23,25,27,29,31,33,36,38,25,27,29,31,33,36,38,40,27,29,31,33,36,38,40,42",
    },
    Case {
        name: "720p",
        w: 1280,
        h: 720,
        frames: 4,
        pix_fmt: "yuv420p",
        extra: &[],
        params: "bframes=2",
    },
    Case {
        name: "1080p",
        w: 1920,
        h: 1080,
        frames: 3,
        pix_fmt: "yuv420p",
        extra: &[],
        params: "bframes=1",
    },
];

#[test]
fn x264_streams_bit_exact_and_strict_clean() {
    if !need_ffmpeg("this test") {
        return;
    }
    let dir = tmpdir("x264");
    let mut bad = Vec::new();
    for c in CASES {
        let f = x264(
            &dir, c.name, c.w, c.h, c.frames, c.pix_fmt, c.extra, c.params,
        );
        let (want, want_len) = ffmpeg_md5(&f, "yuv420p");
        let data = std::fs::read(&f).unwrap();
        let strict = ReplayOptions {
            format: None,
            engine: EngineOptions::strict(true),
        };
        let (got, len, s) = replay_md5(&data, &strict);
        let ok = got == want && s.failed.is_empty() && s.warnings == 0;
        eprintln!(
            "{} {}: {} frames, {len}/{want_len} bytes, md5 {got} vs {want}, failed {:?}, warnings {}",
            if ok { "ok  " } else { "FAIL" },
            c.name,
            s.frames,
            s.failed.first(),
            s.warnings
        );
        if !ok {
            bad.push(c.name);
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    assert!(bad.is_empty(), "not bit-exact / not strict-clean: {bad:?}");
}

#[test]
fn every_capture_format_gives_the_same_pixels() {
    if !need_ffmpeg("this test") {
        return;
    }
    let dir = tmpdir("formats");
    let f = x264(&dir, "fmt", 176, 144, 6, "yuv420p", &[], "bframes=2");
    let (want, _) = ffmpeg_md5(&f, "yuv420p");
    let data = std::fs::read(&f).unwrap();
    for fmt in [
        CaptureFormat::Nv12,
        CaptureFormat::Nv12m,
        CaptureFormat::Yuv420,
        CaptureFormat::Yuv420m,
    ] {
        let opts = ReplayOptions {
            format: Some(fmt),
            ..Default::default()
        };
        let (got, _, s) = replay_md5(&data, &opts);
        assert!(s.failed.is_empty(), "{fmt:?}: {:?}", s.failed);
        assert_eq!(got, want, "{fmt:?}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn high10_decodes_to_p010_bit_exact() {
    if !need_ffmpeg("this test") {
        return;
    }
    let dir = tmpdir("high10");
    let f = x264(
        &dir,
        "high10",
        352,
        288,
        10,
        "yuv420p10le",
        &["-profile:v", "high10"],
        "bframes=2",
    );
    let (want, _) = ffmpeg_md5(&f, "yuv420p10le");
    let data = std::fs::read(&f).unwrap();
    let opts = ReplayOptions {
        format: Some(CaptureFormat::P010),
        ..Default::default()
    };
    let (got, len, s) = replay_md5(&data, &opts);
    assert!(s.failed.is_empty(), "{:?}", s.failed);
    assert_eq!(len, 10 * 352 * 288 * 3, "10 frames of yuv420p10le");
    assert_eq!(got, want);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn slice_based_mode_one_request_per_slice_bit_exact() {
    use ctrls::build::annexb;
    use ctrls::build::h264::{display_order, H264Builder};
    use ctrls::h264::{DecodeMode, StartCode};
    use libdaedalus::replay::h264_controls;
    use libdaedalus::{Codec, ControlSet, Engine, OwnedBuffer, Request};
    use std::collections::HashMap;

    if !need_ffmpeg("this test") {
        return;
    }
    let dir = tmpdir("slicebased");
    let f = x264(
        &dir,
        "s4",
        320,
        240,
        8,
        "yuv420p",
        &[],
        "slices=4:bframes=2",
    );
    let (want, _) = ffmpeg_md5(&f, "yuv420p");
    let data = std::fs::read(&f).unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    let pics = H264Builder::build_stream(&data).unwrap();
    let mut engine = Engine::with_options(Codec::H264, EngineOptions::strict(true)).unwrap();
    let mut pool: HashMap<u64, OwnedBuffer> = HashMap::new();
    let mut requests = 0;
    for p in &pics {
        let mut c = h264_controls(p);
        c.decode_mode = DecodeMode::SliceBased;
        c.start_code = StartCode::None;
        let buf = pool.entry(p.timestamp).or_insert_with(|| {
            OwnedBuffer::new(
                CaptureFormat::Nv12,
                p.display.width_mbs * 16,
                p.display.height_mbs * 16,
            )
        });
        let nals: Vec<_> = annexb::split(&p.bitstream).collect();
        assert_eq!(nals.len(), 4, "4 slices per picture");
        for (i, n) in nals.iter().enumerate() {
            let last = i + 1 == nals.len();
            let req = Request {
                controls: &ControlSet::H264(Box::new(c.clone())),
                bitstream: n.data,
                timestamp: p.timestamp,
                hold_capture: !last,
            };
            let r = engine.decode(&req, &mut buf.as_dst()).unwrap();
            assert_eq!(r.pending, !last);
            requests += 1;
        }
    }
    assert_eq!(requests, 4 * pics.len());
    let mut md5 = Md5::new();
    let mut out = Vec::new();
    for i in display_order(&pics) {
        let p = &pics[i];
        let cr = p.display.crop;
        out.clear();
        pool[&p.timestamp].append_planar(cr.left, cr.top, cr.width, cr.height, &mut out);
        md5.update(&out);
    }
    assert_eq!(format!("{:x}", md5.finalize()), want);
}
