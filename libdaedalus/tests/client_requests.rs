//! request-api's H.264 requests, exactly as daedalus-decode sets them (controls
//! parsed back by `ctrls::ControlSet` as the daemon does, HOLD_CAPTURE_BUF as
//! queued), through the engine: slice-based (one request per slice) and
//! frame-based decoding both give FFmpeg's MD5 (x264, 4 slices a picture)
//! and the published MD5s (JVT streams with several slices per picture, the
//! ones of the VM suite's slice-based runs).

mod common;

use std::collections::HashMap;

use ctrls::h264::{DecodeMode, CID_DECODE_MODE};
use ctrls::source::h264::H264Source;
use ctrls::source::PictureSource;
use ctrls::{Codec, ControlSet, Payload};
use libdaedalus::{CaptureFormat, Engine, EngineOptions, OwnedBuffer, Request};
use md5::{Digest, Md5};

/// What decoding the source's requests gave.
struct Run {
    md5: String,
    requests: usize,
    frames: usize,
    failed: Vec<String>,
    warnings: usize,
}

fn client_decode(data: &[u8], mode: DecodeMode) -> Run {
    client_decode_with(data, mode, EngineOptions::default())
}

fn client_decode_with(data: &[u8], mode: DecodeMode, opts: EngineOptions) -> Run {
    let mut src = H264Source::with_mode(data, mode).expect("stream builds");
    let mut engine = Engine::with_options(Codec::H264, opts).unwrap();
    let mut captures: HashMap<u64, (OwnedBuffer, ctrls::source::Rect)> = HashMap::new();
    let mut md5 = Md5::new();
    let mut run = Run {
        md5: String::new(),
        requests: 0,
        frames: 0,
        failed: Vec::new(),
        warnings: 0,
    };
    let mut emit =
        |captures: &HashMap<_, (OwnedBuffer, ctrls::source::Rect)>, ts: u64, frames: &mut usize| {
            let (b, c) = &captures[&ts];
            let mut frame = Vec::new();
            b.append_planar(c.left, c.top, c.width, c.height, &mut frame);
            md5.update(&frame);
            *frames += 1;
        };
    while let Some(p) = src.next_picture().unwrap() {
        // DECODE_MODE is set on the device; the kernel hands the daemon its
        // value with the request's own controls.
        let mut list = vec![Payload::menu(CID_DECODE_MODE, mode as i32)];
        list.extend(p.controls.iter().cloned());
        let set = ControlSet::parse_payloads(Codec::H264, &list).expect("controls parse");
        if !p.continues_capture() {
            // A fresh CAPTURE buffer for this timestamp.
            let (w, h) = (p.info.coded_width, p.info.coded_height);
            captures.insert(
                p.timestamp,
                (
                    OwnedBuffer::new(CaptureFormat::Nv12, w, h),
                    p.picture_rect.unwrap_or(p.info.visible),
                ),
            );
        }
        let (buf, _) = captures.get_mut(&p.timestamp).expect("held CAPTURE buffer");
        let req = Request {
            controls: &set,
            bitstream: &p.bitstream,
            timestamp: p.timestamp,
            hold_capture: p.holds_capture(),
        };
        run.requests += 1;
        match engine.decode(&req, &mut buf.as_dst()) {
            Ok(r) => {
                // Slice-based: nothing decoded until the picture's last slice.
                // (A first field's last slice too: its pair's second field follows.)
                assert_eq!(
                    r.pending,
                    p.slice.is_some() && p.holds_capture(),
                    "request {}",
                    run.requests
                );
                run.warnings += r.warnings.len();
            }
            Err(e) => run.failed.push(format!("request {}: {e}", run.requests)),
        }
        for ts in p.display {
            emit(&captures, ts, &mut run.frames);
        }
    }
    for ts in src.flush() {
        emit(&captures, ts, &mut run.frames);
    }
    run.md5 = format!("{:x}", md5.finalize());
    run
}

#[test]
fn x264_four_slices_per_request_give_ffmpegs_md5() {
    let Some(dir) = common::ffmpeg_tmpdir("x264_four_slices_per_request", "client-slices") else {
        return;
    };
    let f = common::x264(
        &dir,
        "slices4",
        320,
        192,
        12,
        "yuv420p",
        &[],
        "slices=4:bframes=2:keyint=10:weightp=2",
    );
    let (want, _) = common::ffmpeg_md5(&f, "yuv420p");
    let data = std::fs::read(&f).unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    let frame = client_decode(&data, DecodeMode::FrameBased);
    let slice = client_decode(&data, DecodeMode::SliceBased);
    assert_eq!(frame.requests, 12);
    assert_eq!(slice.requests, 48, "one request per slice");
    for (what, r) in [("frame-based", &frame), ("slice-based", &slice)] {
        assert_eq!(r.frames, 12, "{what}");
        assert!(r.failed.is_empty(), "{what}: {:?}", r.failed);
        assert_eq!(r.warnings, 0, "{what}");
        assert_eq!(r.md5, want, "{what}");
    }
}

#[test]
fn jvt_multi_slice_streams_slice_based_match_published_md5() {
    let Some(dir) = common::jvt_vectors() else {
        return;
    };
    let mut bad = Vec::new();
    for name in [
        "BASQP1_Sony_C.jsv",
        "SVA_Base_B.264",
        "SVA_FM1_E.264",
        "SVA_CL1_E.264",
        "CVFC1_Sony_C.jsv",
        "MR1_BT_A.h264",
        "BA1_FT_C.264",
    ] {
        let want = common::published_md5(&dir, name);
        let data = std::fs::read(dir.join(name)).unwrap();
        let frames = H264Source::new(&data).unwrap().len();
        let r = client_decode(&data, DecodeMode::SliceBased);
        let ok = r.md5 == want && r.failed.is_empty();
        eprintln!(
            "{} {name}: {} requests for {frames} pictures, {} frames, md5 {} (want {want}), {} warnings, failed {:?}",
            if ok { "ok  " } else { "FAIL" },
            r.requests,
            r.frames,
            r.md5,
            r.warnings,
            r.failed.first()
        );
        assert!(r.requests > frames, "{name}: several slices a picture");
        if !ok {
            bad.push(name);
        }
    }
    assert!(bad.is_empty(), "slice-based mismatches: {bad:?}");
}

/// Field pairs cut into slice requests: the first field holds the CAPTURE buffer through
/// its last slice, so the engine decodes it when the second field's first slice comes,
/// with the first field's own controls. Strict mode: any control the engine checks
/// against the wrong field would fail the request.
#[test]
fn field_pairs_slice_based_strict_match_published_md5() {
    let Some(dir) = common::frext_vectors() else {
        return;
    };
    for name in ["Freh7_B.264", "HPCAFLNL_BRCM_C.264", "HPCVFLNL_BRCM_A.264"] {
        let want = common::published_md5(&dir, name);
        let data = std::fs::read(dir.join(name)).unwrap();
        let r = client_decode_with(&data, DecodeMode::SliceBased, EngineOptions::strict(true));
        assert!(r.failed.is_empty(), "{name}: {:?}", r.failed.first());
        assert_eq!(r.warnings, 0, "{name}");
        assert_eq!(r.md5, want, "{name}");
    }
}
