//! pic_order_cnt_type 1 (8.2.1.2) cross-check on the JVT streams that use it: a correct
//! stream is strict-clean (jvt.rs), and a wrong TopFieldOrderCnt / BottomFieldOrderCnt in
//! DECODE_PARAMS is reported with the value the slice header and the SPS imply.

use ctrls::build::h264::H264Builder;
use libdaedalus::replay::h264_controls;
use libdaedalus::{
    CaptureFormat, Codec, ControlSet, Engine, EngineError, EngineOptions, Mismatch, OwnedBuffer,
    Request,
};

mod common;

/// Decodes `name` strictly; at picture `pick(pics)` shifts the order counts and expects the
/// precise mismatches.
fn check(name: &str, want_non_ref: bool) {
    let Some(dir) = common::jvt_vectors() else {
        return;
    };
    let data = std::fs::read(dir.join(name)).unwrap();
    let pics = H264Builder::build_stream(&data).unwrap();
    assert!(pics.iter().all(|p| p.sps.pic_order_cnt_type == 1), "{name}");
    // The last picture of the wanted kind: late enough for FrameNumOffset and the offset
    // cycle to matter.
    let k = (1..pics.len())
        .rev()
        .find(|&i| (pics[i].decode_params.nal_ref_idc == 0) == want_non_ref)
        .expect("a picture of the wanted kind");
    let mut e = Engine::with_options(Codec::H264, EngineOptions::strict(true)).unwrap();
    let mut buf = OwnedBuffer::new(
        CaptureFormat::Nv12,
        pics[0].display.width_mbs * 16,
        pics[0].display.height_mbs * 16,
    );
    for (i, p) in pics.iter().enumerate().take(k + 1) {
        let mut c = h264_controls(p);
        if i == k {
            c.decode_params.top_field_order_cnt += 2;
            c.decode_params.bottom_field_order_cnt -= 4;
        }
        let req = Request {
            controls: &ControlSet::H264(Box::new(c.clone())),
            bitstream: &p.bitstream,
            timestamp: p.timestamp,
            hold_capture: false,
        };
        let r = e.decode(&req, &mut buf.as_dst());
        if i < k {
            assert!(r.is_ok(), "{name} #{i}: {r:?}");
            continue;
        }
        let dp = &p.decode_params;
        let want = vec![
            Mismatch {
                field: "H264_DECODE_PARAMS.top_field_order_cnt".into(),
                expected: dp.top_field_order_cnt.to_string(),
                got: (dp.top_field_order_cnt + 2).to_string(),
            },
            Mismatch {
                field: "H264_DECODE_PARAMS.bottom_field_order_cnt".into(),
                expected: dp.bottom_field_order_cnt.to_string(),
                got: (dp.bottom_field_order_cnt - 4).to_string(),
            },
        ];
        match r {
            Err(EngineError::Mismatch(v)) => assert_eq!(v, want, "{name} #{k}"),
            other => panic!("{name} #{k}: {other:?}"),
        }
    }
}

#[test]
fn poc_type1_with_deltas_reference_picture() {
    // BAMQ1_JVC_C: pic_order_cnt_type 1, delta_pic_order_always_zero_flag 0.
    check("BAMQ1_JVC_C.264", false);
}

#[test]
fn poc_type1_always_zero_reference_picture() {
    // MR1_BT_A: pic_order_cnt_type 1, delta_pic_order_always_zero_flag 1. (No JVT stream
    // here with pic_order_cnt_type 1 has non-reference pictures, so offset_for_non_ref_pic
    // is not exercised by a real stream.)
    check("MR1_BT_A.h264", false);
}
