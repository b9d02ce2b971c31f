//! Field pictures (PAFF): no conformance vector at hand has them, so a small
//! stream is written bit by bit here (SPS/PPS and slice headers; the slice data
//! is filler, the builder never decodes it). Expected values are derived by
//! hand from ITU-T H.264 8.2.1 (POC), 8.2.4 (PicNum, field reference lists),
//! 8.2.5.3 (sliding window) and 7.4.1.2.4 (field pairing).

use super::h264::{Field, H264Builder, H264Picture};
use crate::h264::{DecodeFlags, DpbEntryFlags};

/// RBSP bit writer with Exp-Golomb codes.
#[derive(Default)]
struct Bits {
    bytes: Vec<u8>,
    nbits: usize,
}

impl Bits {
    fn u(&mut self, n: usize, v: u64) -> &mut Self {
        for i in (0..n).rev() {
            if self.nbits & 7 == 0 {
                self.bytes.push(0);
            }
            if (v >> i) & 1 == 1 {
                let last = self.bytes.len() - 1;
                self.bytes[last] |= 0x80 >> (self.nbits % 8);
            }
            self.nbits += 1;
        }
        self
    }
    fn ue(&mut self, v: u64) -> &mut Self {
        let x = v + 1;
        let len = 64 - x.leading_zeros() as usize;
        self.u(len - 1, 0).u(len, x)
    }
    fn se(&mut self, v: i64) -> &mut Self {
        let k = if v > 0 {
            2 * v as u64 - 1
        } else {
            (-2 * v) as u64
        };
        self.ue(k)
    }
    fn trailing(&mut self) -> Vec<u8> {
        self.u(1, 1);
        while self.nbits & 7 != 0 {
            self.u(1, 0);
        }
        self.bytes.clone()
    }
}

/// Annex B NAL unit with emulation prevention.
fn nal(out: &mut Vec<u8>, header: u8, rbsp: &[u8]) {
    out.extend_from_slice(&[0, 0, 0, 1, header]);
    let mut zeros = 0;
    for &b in rbsp {
        if zeros >= 2 && b <= 3 {
            out.push(3);
            zeros = 0;
        }
        out.push(b);
        zeros = if b == 0 { zeros + 1 } else { 0 };
    }
}

fn sps() -> Vec<u8> {
    sps_gaps(false)
}

fn sps_gaps(gaps: bool) -> Vec<u8> {
    let mut b = Bits::default();
    b.u(8, 77).u(8, 0).u(8, 30).ue(0); // Main, level 3, sps id 0
    b.ue(0); // log2_max_frame_num_minus4: MaxFrameNum 16
    b.ue(0).ue(2); // POC type 0, MaxPicOrderCntLsb 64
    b.ue(2).u(1, gaps as u64); // max_num_ref_frames 2, gaps_in_frame_num_value_allowed_flag
    b.ue(1).ue(0); // 2 MBs wide, 1 map unit (2 MBs) high
    b.u(1, 0).u(1, 0).u(1, 1); // frame_mbs_only 0, mbaff 0, direct_8x8 1
    b.u(1, 0).u(1, 0); // no cropping, no VUI
    b.trailing()
}

fn pps() -> Vec<u8> {
    let mut b = Bits::default();
    b.ue(0).ue(0).u(1, 0).u(1, 0).ue(0); // ids, CAVLC, no bottom POC, 1 slice group
    b.ue(0).ue(0).u(1, 0).u(2, 0); // default refs 1/1, no weighted prediction
    b.se(0).se(0).se(0); // QP/QS/chroma offsets
    b.u(1, 0).u(1, 0).u(1, 0); // no deblocking control, no constrained intra, no redundant
    b.trailing()
}

struct Pic {
    idr: bool,
    ref_idc: u8,
    p: bool,
    frame_num: u64,
    /// None: frame picture; Some(false) top, Some(true) bottom.
    bottom: Option<bool>,
    lsb: u64,
}

fn slice(pic: &Pic) -> Vec<u8> {
    let mut b = Bits::default();
    b.ue(0).ue(if pic.p { 5 } else { 7 }).ue(0); // first_mb, P/I (all slices), pps 0
    b.u(4, pic.frame_num);
    match pic.bottom {
        None => {
            b.u(1, 0);
        }
        Some(bottom) => {
            b.u(1, 1).u(1, bottom as u64);
        }
    }
    if pic.idr {
        b.ue(0);
    }
    b.u(6, pic.lsb);
    if pic.p {
        b.u(1, 1).ue(1); // override: 2 active references
        b.u(1, 0); // no ref_pic_list_modification
    }
    if pic.ref_idc != 0 {
        if pic.idr {
            b.u(1, 0).u(1, 0);
        } else {
            b.u(1, 0); // sliding window
        }
    }
    b.se(0); // slice_qp_delta
    b.u(8, 0xa5).u(8, 0x5a); // filler standing in for slice data
    b.trailing()
}

fn stream() -> Vec<u8> {
    let pics = [
        Pic {
            idr: true,
            ref_idc: 3,
            p: false,
            frame_num: 0,
            bottom: Some(false),
            lsb: 0,
        },
        Pic {
            idr: false,
            ref_idc: 2,
            p: false,
            frame_num: 0,
            bottom: Some(true),
            lsb: 1,
        },
        Pic {
            idr: false,
            ref_idc: 2,
            p: true,
            frame_num: 1,
            bottom: Some(false),
            lsb: 4,
        },
        Pic {
            idr: false,
            ref_idc: 2,
            p: true,
            frame_num: 1,
            bottom: Some(true),
            lsb: 5,
        },
        Pic {
            idr: false,
            ref_idc: 2,
            p: true,
            frame_num: 2,
            bottom: Some(false),
            lsb: 8,
        },
        Pic {
            idr: false,
            ref_idc: 2,
            p: true,
            frame_num: 2,
            bottom: Some(true),
            lsb: 9,
        },
        Pic {
            idr: false,
            ref_idc: 0,
            p: true,
            frame_num: 3,
            bottom: Some(false),
            lsb: 12,
        },
        Pic {
            idr: false,
            ref_idc: 0,
            p: true,
            frame_num: 3,
            bottom: Some(true),
            lsb: 13,
        },
        Pic {
            idr: false,
            ref_idc: 2,
            p: true,
            frame_num: 3,
            bottom: None,
            lsb: 16,
        },
    ];
    let mut out = Vec::new();
    nal(&mut out, 0x67, &sps());
    nal(&mut out, 0x68, &pps());
    for p in &pics {
        let header = (p.ref_idc << 5) | if p.idr { 5 } else { 1 };
        nal(&mut out, header, &slice(p));
    }
    out
}

/// DPB entries as (ts, pic_num, frame_num, fields, top POC, bottom POC, FIELD flag).
fn dpb(p: &H264Picture) -> Vec<(u64, i32, u16, u8, i32, i32, bool)> {
    p.decode_params
        .dpb
        .iter()
        .filter(|e| e.flags.contains(DpbEntryFlags::VALID))
        .map(|e| {
            (
                e.reference_ts,
                e.pic_num as i32,
                e.frame_num,
                e.fields.bits(),
                e.top_field_order_cnt,
                e.bottom_field_order_cnt,
                e.flags.contains(DpbEntryFlags::FIELD),
            )
        })
        .collect()
}

fn l0(p: &H264Picture) -> Vec<(u8, u8)> {
    let s = &p.slice_params[0];
    s.ref_pic_list0[..=s.num_ref_idx_l0_active_minus1 as usize]
        .iter()
        .map(|r| (r.index, r.fields.bits()))
        .collect()
}

#[test]
fn paff_fields_pair_share_buffer_and_dpb_follows_spec() {
    let pics = H264Builder::build_stream(&stream()).unwrap();
    assert_eq!(pics.len(), 9);
    let f = |i: usize| (pics[i].timestamp, pics[i].field, pics[i].hold_capture);
    // Pairs share a CAPTURE buffer; the first field holds it.
    assert_eq!(f(0), (1000, Field::Top, true));
    assert_eq!(f(1), (1000, Field::Bottom, false));
    assert_eq!(f(2), (2000, Field::Top, true));
    assert_eq!(f(3), (2000, Field::Bottom, false));
    assert_eq!(f(4), (3000, Field::Top, true));
    assert_eq!(f(5), (3000, Field::Bottom, false));
    assert_eq!(f(6), (4000, Field::Top, true)); // non-reference pair
    assert_eq!(f(7), (4000, Field::Bottom, false));
    assert_eq!(f(8), (5000, Field::Frame, false));

    let d = |i: usize| &pics[i].decode_params;
    assert_eq!(d(0).flags, DecodeFlags::IDR_PIC | DecodeFlags::FIELD_PIC);
    assert_eq!(
        d(1).flags,
        DecodeFlags::FIELD_PIC | DecodeFlags::BOTTOM_FIELD
    );
    assert_eq!(
        d(3).flags,
        DecodeFlags::FIELD_PIC | DecodeFlags::BOTTOM_FIELD | DecodeFlags::PFRAME
    );
    assert_eq!(d(8).flags, DecodeFlags::PFRAME);
    // 8.2.1.1: field POCs; the other field's count is 0 in the control.
    let poc = |i: usize| (d(i).top_field_order_cnt, d(i).bottom_field_order_cnt);
    assert_eq!(
        (0..9).map(poc).collect::<Vec<_>>(),
        vec![
            (0, 0),
            (0, 1),
            (4, 0),
            (0, 5),
            (8, 0),
            (0, 9),
            (12, 0),
            (0, 13),
            (16, 16)
        ]
    );

    // DPB and RefPicList0 per picture.
    assert_eq!(dpb(&pics[0]), vec![]);
    // Second field: the first field (top, frame_num 0) is the opposite parity:
    // PicNum = 2 * FrameNumWrap = 0.
    assert_eq!(dpb(&pics[1]), vec![(1000, 0, 0, 1, 0, 0, true)]);
    // Top field of frame 1: pair 0 complete, PicNum (same parity) 1; list
    // alternates same parity first: T0, B0.
    assert_eq!(dpb(&pics[2]), vec![(1000, 1, 0, 3, 0, 1, true)]);
    assert_eq!(l0(&pics[2]), vec![(0, 1), (0, 2)]);
    // Bottom field of frame 1: frame list by FrameNumWrap desc [1, 0]; bottom
    // fields [B0], top fields [T1, T0] -> B0, T1.
    assert_eq!(
        dpb(&pics[3]),
        vec![(1000, 1, 0, 3, 0, 1, true), (2000, 2, 1, 1, 4, 0, true)]
    );
    assert_eq!(l0(&pics[3]), vec![(0, 2), (1, 1)]);
    // Frame 2, top: [T1, B1, T0, B0] -> T1, B1.
    assert_eq!(
        dpb(&pics[4]),
        vec![(1000, 1, 0, 3, 0, 1, true), (2000, 3, 1, 3, 4, 5, true)]
    );
    assert_eq!(l0(&pics[4]), vec![(1, 1), (1, 2)]);
    // Sliding window (max_num_ref_frames 2) dropped frame 0 when frame 2's
    // first field was marked; no sliding window for the second field.
    assert_eq!(
        dpb(&pics[5]),
        vec![(2000, 3, 1, 3, 4, 5, true), (3000, 4, 2, 1, 8, 0, true)]
    );
    assert_eq!(l0(&pics[5]), vec![(0, 2), (1, 1)]);
    let after_pair2 = vec![(2000, 3, 1, 3, 4, 5, true), (3000, 5, 2, 3, 8, 9, true)];
    assert_eq!(dpb(&pics[6]), after_pair2);
    // Non-reference first field is not a reference for its second field.
    assert_eq!(dpb(&pics[7]), after_pair2);
    // Frame decoding: PicNum = FrameNumWrap; list by PicNum desc.
    assert_eq!(
        dpb(&pics[8]),
        vec![(2000, 1, 1, 3, 4, 5, true), (3000, 2, 2, 3, 8, 9, true)]
    );
    assert_eq!(l0(&pics[8]), vec![(1, 3), (0, 3)]);

    // One CAPTURE buffer per pair, output by POC.
    let order: Vec<_> = super::h264::display_order(&pics)
        .iter()
        .map(|&i| pics[i].timestamp)
        .collect();
    assert_eq!(order, vec![1000, 2000, 3000, 4000, 5000]);
    assert_eq!(pics[1].display.poc, 0);
    assert_eq!(pics[3].display.poc, 4);
}

#[test]
fn unpaired_field_does_not_hold_capture() {
    let mut s = Vec::new();
    nal(&mut s, 0x67, &sps());
    nal(&mut s, 0x68, &pps());
    // Top field then a top field of the next frame: no pair.
    for (fnum, lsb, idr) in [(0, 0, true), (1, 4, false)] {
        let p = Pic {
            idr,
            ref_idc: 2,
            p: false,
            frame_num: fnum,
            bottom: Some(false),
            lsb,
        };
        nal(&mut s, if idr { 0x45 } else { 0x41 }, &slice(&p));
    }
    let pics = H264Builder::build_stream(&s).unwrap();
    assert_eq!(pics.len(), 2);
    assert!(!pics[0].hold_capture && !pics[1].hold_capture);
    assert_ne!(pics[0].timestamp, pics[1].timestamp);
    // The unpaired top field is a single-field reference.
    assert_eq!(dpb(&pics[1]), vec![(1000, 1, 0, 1, 0, 0, true)]);
}

#[test]
fn frame_num_gap_infers_non_existing_frames() {
    let mut s = Vec::new();
    nal(&mut s, 0x67, &sps_gaps(true));
    nal(&mut s, 0x68, &pps());
    // IDR fn 0, P fn 1, P fn 4: frames 2 and 3 are inferred (8.2.5.2).
    for (fnum, lsb, idr) in [(0, 0, true), (1, 2, false), (4, 8, false)] {
        let p = Pic {
            idr,
            ref_idc: 2,
            p: !idr,
            frame_num: fnum,
            bottom: None,
            lsb,
        };
        nal(&mut s, if idr { 0x45 } else { 0x41 }, &slice(&p));
    }
    let pics = H264Builder::build_stream(&s).unwrap();
    assert_eq!(pics.len(), 3);
    assert_eq!(dpb(&pics[1]), vec![(1000, 0, 0, 3, 0, 0, false)]);
    // Sliding window (2 frames) while inferring 2 then 3 leaves only them;
    // they carry the timestamp of the last decoded picture (no buffer of their own).
    assert_eq!(
        dpb(&pics[2]),
        vec![(2000, 2, 2, 3, 0, 0, false), (2000, 3, 3, 3, 0, 0, false)]
    );
    // PicNum order: 3 then 2.
    assert_eq!(l0(&pics[2]), vec![(1, 3), (0, 3)]);
    assert_eq!(pics[2].timestamp, 3000);
}
