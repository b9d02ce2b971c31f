//! Cross-checks of the H.264 controls against the bitstream and against the pictures this
//! context decoded (the DPB as we track it).
//!
//! Slice headers are read by our own allocation-free reader ([`super::slice`]) with the
//! SPS/PPS controls — the values the synthesized parameter sets carry, so a header that
//! reads is also proof they fit it.
//!
//! Order counts: our DPB tracking keeps the counts 8.2.1 gives (from the slice headers),
//! not the control values, so a client's wrong counts are reported where it sends them
//! and never change what later requests are checked against. Clients through FFmpeg's
//! hwaccel (VAAPI -> libva-v4l2-request) send counts offset by 2^16 (65536 where the
//! stream says 0): FFmpeg's own POC state starts its MSB at 1 << 16. Decoding does not
//! use the control counts (FFmpeg reads the bitstream), so such a count is a soft
//! mismatch like any other, said to be equal modulo 2^16.

use std::collections::VecDeque;

use ctrls::build::annexb::NalIter;
use ctrls::h264::{DecodeFlags, DecodeParams, DpbEntryFlags, Fields, PpsFlags, Sps, SpsFlags};

use super::slice::{self, SliceHeader};
use super::H264Controls;
use crate::request::Mismatch;

/// What the first slice header of a request says about its picture.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SliceSummary {
    pub idr: bool,
    pub nal_ref_idc: u8,
    pub frame_num: u16,
    pub field_pic: bool,
    pub bottom_field: bool,
    /// The picture carries memory_management_control_operation 5.
    pub mmco5: bool,
    /// POC decoding state after this picture (committed by [`Checker::record`]).
    pub poc_next: PocState,
    /// TopFieldOrderCnt / BottomFieldOrderCnt of the picture (8.2.1; the one of a field
    /// picture's other field is meaningless), what [`Checker::record`] tracks.
    pub poc: (i32, i32),
}

/// What 8.2.1 carries from picture to picture.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PocState {
    /// prevPicOrderCntMsb / prevPicOrderCntLsb (type 0; previous reference picture,
    /// already adjusted for its memory_management_control_operation 5).
    prev_msb: i32,
    prev_lsb: i32,
    /// prevFrameNum / prevFrameNumOffset (types 1 and 2; previous picture).
    prev_frame_num: u16,
    prev_frame_num_offset: i32,
}

#[derive(Debug, Clone, Copy)]
struct PicInfo {
    frame_num: u16,
    top_poc: i32,
    bottom_poc: i32,
    /// Fields decoded so far (TOP_FIELD_REF | BOTTOM_FIELD_REF).
    fields: u8,
    reference: bool,
}

/// Tracks the pictures one context decoded and the POC decoding state.
#[derive(Default)]
pub struct Checker {
    pics: VecDeque<(u64, PicInfo)>,
    poc: PocState,
}

/// How many decoded pictures we remember for DPB checks (a DPB holds at most 16 frames;
/// IDR pictures clear the list).
const TRACKED: usize = 64;

fn push(out: &mut Vec<Mismatch>, field: &str, expected: impl ToString, got: impl ToString) {
    out.push(Mismatch {
        field: field.to_string(),
        expected: expected.to_string(),
        got: got.to_string(),
    });
}

fn cmp<T: PartialEq + ToString>(out: &mut Vec<Mismatch>, field: &str, expected: T, got: T) {
    if expected != got {
        push(out, field, expected, got);
    }
}

/// Like [`cmp`] for an order count: a count equal modulo 2^16 (a wrapped one) says so.
fn cmp_poc(out: &mut Vec<Mismatch>, field: impl FnOnce() -> String, expected: i32, got: i32) {
    if expected == got {
        return;
    }
    let expected = if (expected as i64 - got as i64).rem_euclid(1 << 16) == 0 {
        format!("{expected} (equal modulo 2^16: a wrapped order count)")
    } else {
        expected.to_string()
    };
    push(out, &field(), expected, got);
}

/// Like [`cmp`] for a DPB entry field; the name is only formatted on mismatch.
fn cmp_dpb<T: PartialEq + ToString>(
    out: &mut Vec<Mismatch>,
    i: usize,
    field: &str,
    expected: T,
    got: T,
) {
    if expected != got {
        push(
            out,
            &format!("H264_DECODE_PARAMS.dpb[{i}].{field}"),
            expected,
            got,
        );
    }
}

impl Checker {
    /// Parses the request's slice headers and compares the first with DECODE_PARAMS.
    /// Fails when the OUTPUT bytes hold no parsable slice.
    pub fn check_slices(
        &mut self,
        bitstream: &[u8],
        c: &H264Controls,
        out: &mut Vec<Mismatch>,
    ) -> Result<SliceSummary, String> {
        let mut first = None;
        let mut inband_ps = false;
        for nal in NalIter::new(bitstream, 0) {
            match nal.h264_type() {
                7 | 8 => inband_ps = true,
                1 | 5 if first.is_none() => {
                    first = Some(
                        slice::parse(nal.data, &c.sps, &c.pps)
                            .map_err(|e| format!("slice header at byte {}: {e}", nal.offset))?,
                    );
                }
                2..=4 => return Err("data partitioning (Extended profile) is not supported".into()),
                _ => {}
            }
        }
        if inband_ps {
            tracing::debug!("OUTPUT buffer carries in-band SPS/PPS");
        }
        let Some(h) = first else {
            return Err("no slice NAL unit in the OUTPUT buffer".into());
        };
        let (ref_idc, idr) = (h.nal_ref_idc, h.idr);
        let dp = &c.decode_params;
        const D: &str = "H264_DECODE_PARAMS.";
        cmp(
            out,
            "H264_DECODE_PARAMS.frame_num",
            h.frame_num,
            dp.frame_num,
        );
        cmp(
            out,
            "H264_DECODE_PARAMS.nal_ref_idc",
            ref_idc as u16,
            dp.nal_ref_idc,
        );
        if idr {
            cmp(
                out,
                "H264_DECODE_PARAMS.idr_pic_id",
                h.idr_pic_id,
                dp.idr_pic_id,
            );
        }
        let bottom_present = c
            .pps
            .flags
            .contains(PpsFlags::BOTTOM_FIELD_PIC_ORDER_IN_FRAME_PRESENT)
            && !h.field_pic;
        match c.sps.pic_order_cnt_type {
            0 => {
                cmp(
                    out,
                    "H264_DECODE_PARAMS.pic_order_cnt_lsb",
                    h.pic_order_cnt_lsb,
                    dp.pic_order_cnt_lsb,
                );
                if bottom_present {
                    cmp(
                        out,
                        "H264_DECODE_PARAMS.delta_pic_order_cnt_bottom",
                        h.delta_pic_order_cnt_bottom,
                        dp.delta_pic_order_cnt_bottom,
                    );
                }
            }
            1 if !c.sps.flags.contains(SpsFlags::DELTA_PIC_ORDER_ALWAYS_ZERO) => {
                cmp(
                    out,
                    "H264_DECODE_PARAMS.delta_pic_order_cnt0",
                    h.delta_pic_order_cnt[0],
                    dp.delta_pic_order_cnt0,
                );
                if bottom_present {
                    cmp(
                        out,
                        "H264_DECODE_PARAMS.delta_pic_order_cnt1",
                        h.delta_pic_order_cnt[1],
                        dp.delta_pic_order_cnt1,
                    );
                }
            }
            _ => {}
        }
        cmp(
            out,
            "H264_DECODE_PARAMS.pic_order_cnt_bit_size",
            h.pic_order_cnt_bit_size,
            dp.pic_order_cnt_bit_size,
        );
        if ref_idc != 0 {
            cmp(
                out,
                "H264_DECODE_PARAMS.dec_ref_pic_marking_bit_size",
                h.dec_ref_pic_marking_bit_size,
                dp.dec_ref_pic_marking_bit_size,
            );
        }
        let flag = |b: bool, n: &str, x: DecodeFlags, out: &mut Vec<Mismatch>| {
            if b != dp.flags.contains(x) {
                push(
                    out,
                    &format!("{D}flags.{n}"),
                    if b { "set" } else { "clear" },
                    if b { "clear" } else { "set" },
                );
            }
        };
        flag(idr, "IDR_PIC", DecodeFlags::IDR_PIC, out);
        flag(h.field_pic, "FIELD_PIC", DecodeFlags::FIELD_PIC, out);
        flag(
            h.bottom_field,
            "BOTTOM_FIELD",
            DecodeFlags::BOTTOM_FIELD,
            out,
        );
        let mmco5 = h.mmco5;
        // 8.2.1: the picture's order counts, from the slice header and our history.
        let mut poc_next = self.poc;
        let (top, bottom) = match c.sps.pic_order_cnt_type {
            0 => {
                let max = 1i32 << (c.sps.log2_max_pic_order_cnt_lsb_minus4 as u32 + 4);
                let (pm, pl) = if idr {
                    (0, 0)
                } else {
                    (self.poc.prev_msb, self.poc.prev_lsb)
                };
                let lsb = h.pic_order_cnt_lsb as i32;
                let msb = if lsb < pl && pl - lsb >= max / 2 {
                    pm + max
                } else if lsb > pl && lsb - pl > max / 2 {
                    pm - max
                } else {
                    pm
                };
                let top = msb + lsb;
                let bottom = if h.field_pic {
                    msb + lsb
                } else {
                    top + h.delta_pic_order_cnt_bottom
                };
                if ref_idc != 0 {
                    (poc_next.prev_msb, poc_next.prev_lsb) = if !mmco5 {
                        (msb, lsb)
                    } else if h.field_pic {
                        // A bottom field: 0/0; a top field: its TopFieldOrderCnt is 0
                        // after the mmco 5 adjustment.
                        (0, 0)
                    } else {
                        (0, top - top.min(bottom))
                    };
                }
                (Some(top), Some(bottom))
            }
            1 | 2 => {
                let max = 1i32 << (c.sps.log2_max_frame_num_minus4 as u32 + 4);
                let fnum = h.frame_num as i32;
                let off = if idr {
                    0
                } else if self.poc.prev_frame_num as i32 > fnum {
                    self.poc.prev_frame_num_offset.wrapping_add(max)
                } else {
                    self.poc.prev_frame_num_offset
                };
                // After mmco 5 the next picture sees prevFrameNumOffset = 0, frame_num 0.
                poc_next.prev_frame_num = if mmco5 { 0 } else { h.frame_num };
                poc_next.prev_frame_num_offset = if mmco5 { 0 } else { off };
                if c.sps.pic_order_cnt_type == 1 {
                    let (t, b) = poc_type1(&c.sps, &h, off);
                    return self.finish(c, &h, Some(t), Some(b), poc_next, out);
                }
                let off = off as i64;
                let fnum = fnum as i64;
                let t = if idr {
                    0
                } else if ref_idc == 0 {
                    2 * (off + fnum) - 1
                } else {
                    2 * (off + fnum)
                } as i32;
                (Some(t), Some(t))
            }
            _ => (None, None),
        };
        self.finish(c, &h, top, bottom, poc_next, out)
    }

    /// Compares the picture's order counts with DECODE_PARAMS and builds the summary.
    fn finish(
        &self,
        c: &H264Controls,
        h: &SliceHeader,
        top: Option<i32>,
        bottom: Option<i32>,
        poc_next: PocState,
        out: &mut Vec<Mismatch>,
    ) -> Result<SliceSummary, String> {
        let dp = &c.decode_params;
        if !h.bottom_field {
            if let Some(t) = top {
                cmp_poc(
                    out,
                    || "H264_DECODE_PARAMS.top_field_order_cnt".into(),
                    t,
                    dp.top_field_order_cnt,
                );
            }
        }
        if !h.field_pic || h.bottom_field {
            if let Some(b) = bottom {
                cmp_poc(
                    out,
                    || "H264_DECODE_PARAMS.bottom_field_order_cnt".into(),
                    b,
                    dp.bottom_field_order_cnt,
                );
            }
        }
        Ok(SliceSummary {
            idr: h.idr,
            nal_ref_idc: h.nal_ref_idc,
            frame_num: h.frame_num,
            field_pic: h.field_pic,
            bottom_field: h.bottom_field,
            mmco5: h.mmco5,
            poc_next,
            poc: (
                top.unwrap_or(dp.top_field_order_cnt),
                bottom.unwrap_or(dp.bottom_field_order_cnt),
            ),
        })
    }

    fn lookup(&self, ts: u64) -> Option<&PicInfo> {
        self.pics
            .iter()
            .rev()
            .find(|(t, _)| *t == ts)
            .map(|(_, p)| p)
    }

    /// Compares the DPB entries with the pictures this context decoded.
    pub fn check_dpb(&self, dp: &DecodeParams, _ts: u64, out: &mut Vec<Mismatch>) {
        for (i, e) in dp.dpb.iter().enumerate() {
            if !e.flags.contains(DpbEntryFlags::VALID) {
                continue;
            }
            let name = |n: &str| format!("H264_DECODE_PARAMS.dpb[{i}].{n}");
            let active = e.flags.contains(DpbEntryFlags::ACTIVE);
            let Some(p) = self.lookup(e.reference_ts) else {
                if active {
                    push(
                        out,
                        &name("reference_ts"),
                        "the timestamp of a picture decoded by this context",
                        e.reference_ts,
                    );
                }
                continue;
            };
            if active && !p.reference {
                push(
                    out,
                    &name("flags"),
                    "no ACTIVE (picture was decoded with nal_ref_idc 0)",
                    format!("{:?}", e.flags),
                );
            }
            if !e.flags.contains(DpbEntryFlags::LONG_TERM) {
                cmp_dpb(out, i, "frame_num", p.frame_num, e.frame_num);
            }
            let used = e.fields.bits() & p.fields;
            if used & Fields::TOP_FIELD.bits() != 0 {
                cmp_poc(
                    out,
                    || name("top_field_order_cnt"),
                    p.top_poc,
                    e.top_field_order_cnt,
                );
            }
            if used & Fields::BOTTOM_FIELD.bits() != 0 {
                cmp_poc(
                    out,
                    || name("bottom_field_order_cnt"),
                    p.bottom_poc,
                    e.bottom_field_order_cnt,
                );
            }
        }
    }

    /// Records a decoded picture, or (`second_field`) the second field of the picture
    /// decoded under `picture_ts`. Its order counts are the ones of `s` (the bitstream's),
    /// not the controls' `_dp` (kept in the signature for callers).
    pub fn record(
        &mut self,
        ts: u64,
        picture_ts: u64,
        second_field: bool,
        _dp: &DecodeParams,
        s: &SliceSummary,
    ) {
        self.poc = s.poc_next;
        if self.pics.capacity() <= TRACKED {
            // Once: the list never grows past TRACKED + 1, so no allocation afterwards.
            self.pics.reserve(TRACKED + 1 - self.pics.len());
        }
        if s.idr {
            self.pics.clear();
        }
        let field_bits = if !s.field_pic {
            Fields::FRAME.bits()
        } else if s.bottom_field {
            Fields::BOTTOM_FIELD.bits()
        } else {
            Fields::TOP_FIELD.bits()
        };
        let mut info = PicInfo {
            frame_num: s.frame_num,
            top_poc: s.poc.0,
            bottom_poc: s.poc.1,
            fields: field_bits,
            reference: s.nal_ref_idc != 0,
        };
        let mut merged = false;
        if second_field {
            if let Some(first) = self
                .pics
                .iter_mut()
                .rev()
                .find(|(t, _)| *t == picture_ts)
                .map(|(_, p)| p)
            {
                first.fields |= field_bits;
                if s.bottom_field {
                    first.bottom_poc = s.poc.1;
                } else {
                    first.top_poc = s.poc.0;
                }
                first.reference |= info.reference;
                info = *first;
                merged = true;
            }
        }
        if s.mmco5 {
            // 8.2.1: after mmco 5 the picture counts as frame_num 0 with its POCs rebased.
            info.frame_num = 0;
            if !s.field_pic {
                let t = info.top_poc.min(info.bottom_poc);
                info.top_poc -= t;
                info.bottom_poc -= t;
            } else if s.bottom_field {
                info.bottom_poc = 0;
            } else {
                info.top_poc = 0;
            }
            for (t, p) in self.pics.iter_mut() {
                if *t == picture_ts {
                    *p = info;
                }
            }
        }
        if merged {
            for (t, p) in self.pics.iter_mut() {
                if *t == picture_ts {
                    *p = info;
                }
            }
        }
        if !merged || self.lookup(ts).is_none() {
            self.pics.push_back((ts, info));
        }
        while self.pics.len() > TRACKED {
            self.pics.pop_front();
        }
    }
}

/// 8.2.1.2: TopFieldOrderCnt / BottomFieldOrderCnt of a picture with pic_order_cnt_type 1,
/// given its FrameNumOffset. Computed in 64 bits (control values are arbitrary) and
/// truncated like the 32-bit counts of the spec.
fn poc_type1(sps: &Sps, h: &SliceHeader, frame_num_offset: i32) -> (i32, i32) {
    let n = sps.num_ref_frames_in_pic_order_cnt_cycle as usize;
    let cycle = &sps.offset_for_ref_frame[..n.min(sps.offset_for_ref_frame.len())];
    let mut abs = if n != 0 {
        frame_num_offset as i64 + h.frame_num as i64
    } else {
        0
    };
    if h.nal_ref_idc == 0 && abs > 0 {
        abs -= 1;
    }
    let mut expected = 0i64;
    if abs > 0 && !cycle.is_empty() {
        let per_cycle: i64 = cycle.iter().map(|&o| o as i64).sum();
        let cycle_cnt = (abs - 1) / cycle.len() as i64;
        let in_cycle = ((abs - 1) % cycle.len() as i64) as usize;
        expected =
            cycle_cnt * per_cycle + cycle[..=in_cycle].iter().map(|&o| o as i64).sum::<i64>();
    }
    if h.nal_ref_idc == 0 {
        expected += sps.offset_for_non_ref_pic as i64;
    }
    let d = h.delta_pic_order_cnt;
    let t2b = sps.offset_for_top_to_bottom_field as i64;
    let (top, bottom) = if !h.field_pic {
        let top = expected + d[0] as i64;
        (top, top + t2b + d[1] as i64)
    } else if !h.bottom_field {
        let top = expected + d[0] as i64;
        (top, top)
    } else {
        let b = expected + t2b + d[0] as i64;
        (b, b)
    };
    (top as i32, bottom as i32)
}
