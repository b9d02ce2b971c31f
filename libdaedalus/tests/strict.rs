//! Strict mode and bad input: corrupted DECODE_PARAMS fields and DPB entries give precise
//! diagnostics (typed errors in strict mode, warnings otherwise); bad requests fail alone
//! and the engine decodes the next IDR onwards bit-exact.

mod common;

use common::*;
use ctrls::build::h264::{H264Builder, H264Picture};
use ctrls::h264::DpbEntryFlags;
use libdaedalus::codec::h264::H264Controls;
use libdaedalus::replay::{h264_controls, replay_h264_pictures, ReplayOptions};
use libdaedalus::{
    CaptureFormat, Codec, ControlSet, DstError, Engine, EngineError, EngineOptions, Mismatch,
    OwnedBuffer, Request,
};
use md5::{Digest, Md5};

fn stream() -> Option<(Vec<H264Picture>, String)> {
    if !need_ffmpeg("this test") {
        return None;
    }
    let dir = tmpdir("strict");
    let f = x264(
        &dir,
        "s",
        176,
        144,
        12,
        "yuv420p",
        &[],
        "bframes=2:b-adapt=0:ref=3:keyint=6:min-keyint=6:scenecut=0",
    );
    let (md5, _) = ffmpeg_md5(&f, "yuv420p");
    let data = std::fs::read(&f).unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    Some((H264Builder::build_stream(&data).unwrap(), md5))
}

fn decode(
    e: &mut Engine,
    c: &H264Controls,
    p: &H264Picture,
    bitstream: &[u8],
    buf: &mut OwnedBuffer,
) -> Result<libdaedalus::DecodeReport, EngineError> {
    let req = Request {
        controls: &ControlSet::H264(Box::new(c.clone())),
        bitstream,
        timestamp: p.timestamp,
        hold_capture: false,
    };
    e.decode(&req, &mut buf.as_dst())
}

fn buffer(p: &H264Picture) -> OwnedBuffer {
    OwnedBuffer::new(
        CaptureFormat::Nv12,
        p.display.width_mbs * 16,
        p.display.height_mbs * 16,
    )
}

/// The first picture (after `from`) with a VALID+ACTIVE short-term DPB entry.
fn pic_with_ref(pics: &[H264Picture], from: usize) -> (usize, usize) {
    for (i, p) in pics.iter().enumerate().skip(from) {
        for (j, e) in p.decode_params.dpb.iter().enumerate() {
            if e.flags
                .contains(DpbEntryFlags::VALID | DpbEntryFlags::ACTIVE)
                && !e.flags.contains(DpbEntryFlags::LONG_TERM)
            {
                return (i, j);
            }
        }
    }
    panic!("no picture with a short-term reference");
}

/// Decodes pics[..k] cleanly, then pics[k] with `corrupt` applied; returns that result.
fn run_corrupted(
    pics: &[H264Picture],
    k: usize,
    strict: bool,
    corrupt: impl Fn(&mut H264Controls),
) -> Result<libdaedalus::DecodeReport, EngineError> {
    let mut e = Engine::with_options(Codec::H264, EngineOptions::strict(strict)).unwrap();
    for p in &pics[..k] {
        let mut buf = buffer(p);
        let r = decode(&mut e, &h264_controls(p), p, &p.bitstream, &mut buf).unwrap();
        assert!(
            r.warnings.is_empty(),
            "clean picture warned: {:?}",
            r.warnings
        );
    }
    let p = &pics[k];
    let mut c = h264_controls(p);
    corrupt(&mut c);
    decode(&mut e, &c, p, &p.bitstream, &mut buffer(p))
}

fn expect_mismatch(
    r: Result<libdaedalus::DecodeReport, EngineError>,
    strict: bool,
    want: &Mismatch,
) {
    let list = match (strict, r) {
        (true, Err(EngineError::Mismatch(v))) => v,
        (false, Ok(rep)) => rep.warnings,
        (s, other) => panic!("strict={s}: unexpected result {other:?}"),
    };
    assert_eq!(list, vec![want.clone()], "strict={strict}");
}

#[test]
fn corrupted_decode_params_field_is_reported_precisely() {
    let Some((pics, _)) = stream() else { return };
    let k = 3;
    let orig = pics[k].decode_params.frame_num;
    let want = Mismatch {
        field: "H264_DECODE_PARAMS.frame_num".into(),
        expected: orig.to_string(),
        got: (orig + 1).to_string(),
    };
    for strict in [true, false] {
        let r = run_corrupted(&pics, k, strict, |c| c.decode_params.frame_num += 1);
        expect_mismatch(r, strict, &want);
    }
    let orig = pics[k].decode_params.pic_order_cnt_lsb;
    let want = Mismatch {
        field: "H264_DECODE_PARAMS.pic_order_cnt_lsb".into(),
        expected: orig.to_string(),
        got: (orig ^ 2).to_string(),
    };
    let r = run_corrupted(&pics, k, true, |c| c.decode_params.pic_order_cnt_lsb ^= 2);
    expect_mismatch(r, true, &want);
    // The picture's order count (8.2.1, computed from the slice header and history).
    let orig = pics[k].decode_params.top_field_order_cnt;
    let want = Mismatch {
        field: "H264_DECODE_PARAMS.top_field_order_cnt".into(),
        expected: orig.to_string(),
        got: (orig + 4).to_string(),
    };
    let r = run_corrupted(&pics, k, true, |c| c.decode_params.top_field_order_cnt += 4);
    expect_mismatch(r, true, &want);
}

#[test]
fn corrupted_dpb_entry_is_reported_precisely() {
    let Some((pics, _)) = stream() else { return };
    let (k, j) = pic_with_ref(&pics, 1);
    let e = pics[k].decode_params.dpb[j];
    let want = Mismatch {
        field: format!("H264_DECODE_PARAMS.dpb[{j}].frame_num"),
        expected: e.frame_num.to_string(),
        got: (e.frame_num + 5).to_string(),
    };
    for strict in [true, false] {
        let r = run_corrupted(&pics, k, strict, |c| c.decode_params.dpb[j].frame_num += 5);
        expect_mismatch(r, strict, &want);
    }
    let want = Mismatch {
        field: format!("H264_DECODE_PARAMS.dpb[{j}].reference_ts"),
        expected: "the timestamp of a picture decoded by this context".into(),
        got: "999999999".into(),
    };
    let r = run_corrupted(&pics, k, true, |c| {
        c.decode_params.dpb[j].reference_ts = 999_999_999
    });
    expect_mismatch(r, true, &want);
    let want = Mismatch {
        field: format!("H264_DECODE_PARAMS.dpb[{j}].top_field_order_cnt"),
        expected: e.top_field_order_cnt.to_string(),
        got: (e.top_field_order_cnt + 2).to_string(),
    };
    let r = run_corrupted(&pics, k, true, |c| {
        c.decode_params.dpb[j].top_field_order_cnt += 2
    });
    expect_mismatch(r, true, &want);
}

#[test]
fn bad_requests_fail_alone_and_the_engine_recovers() {
    let Some((pics, want_md5)) = stream() else {
        return;
    };
    let mut e = Engine::with_options(Codec::H264, EngineOptions::strict(true)).unwrap();
    let p0 = &pics[0];
    let c0 = h264_controls(p0);
    let mut buf = buffer(p0);

    // Truncated slice: start code + NAL header + one byte.
    let r = decode(&mut e, &c0, p0, &p0.bitstream[..5], &mut buf);
    assert!(matches!(r, Err(EngineError::Bitstream(_))), "{r:?}");
    // No slice at all.
    let r = decode(&mut e, &c0, p0, &[0x12, 0x34, 0x56], &mut buf);
    assert!(matches!(r, Err(EngineError::Bitstream(_))), "{r:?}");
    // Inconsistent controls: the PPS names another SPS.
    let mut c = c0.clone();
    c.pps.seq_parameter_set_id = c.sps.seq_parameter_set_id + 1;
    let r = decode(&mut e, &c, p0, &p0.bitstream, &mut buf);
    assert!(matches!(r, Err(EngineError::Mismatch(_))), "{r:?}");
    // A P picture whose references were never decoded (missing refs).
    let (k, _) = pic_with_ref(&pics, 1);
    let r = decode(
        &mut e,
        &h264_controls(&pics[k]),
        &pics[k],
        &pics[k].bitstream,
        &mut buffer(&pics[k]),
    );
    assert!(matches!(r, Err(EngineError::Mismatch(_))), "{r:?}");
    // Destination too small (resolution change without new buffers).
    let mut small = OwnedBuffer::new(CaptureFormat::Nv12, 64, 64);
    let r = decode(&mut e, &c0, p0, &p0.bitstream, &mut small);
    assert!(
        matches!(r, Err(EngineError::Dst(DstError::TooSmall { .. }))),
        "{r:?}"
    );
    // Destination with short planes: an error, never an overrun.
    let mut short = buffer(p0);
    short.planes[0].1.truncate(1000);
    let r = decode(&mut e, &c0, p0, &p0.bitstream, &mut short);
    assert!(
        matches!(r, Err(EngineError::Dst(DstError::PlaneSize { .. }))),
        "{r:?}"
    );

    // The same engine then decodes the whole stream from its IDR, bit-exact.
    e.set_options(EngineOptions::strict(false));
    e.reset();
    let mut md5 = Md5::new();
    let s = replay_h264_pictures(&mut e, &pics, &ReplayOptions::default(), |f| {
        md5.update(f);
        Ok(())
    })
    .unwrap();
    assert!(s.failed.is_empty(), "{:?}", s.failed);
    assert_eq!(format!("{:x}", md5.finalize()), want_md5);
}
