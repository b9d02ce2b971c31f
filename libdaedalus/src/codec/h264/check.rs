//! Cross-checks of the H.264 controls against the bitstream and against the pictures this
//! context decoded (the DPB as we track it).
//!
//! Slice headers are parsed with cros-codecs' H.264 parser, fed with the parameter sets we
//! synthesized (so a header that parses is also proof the synthesized SPS/PPS fit it).

use std::cell::RefCell;
use std::collections::VecDeque;
use std::io::Cursor;
use std::panic::{catch_unwind, AssertUnwindSafe};

use cros_codecs::codec::h264::parser::{Nalu, NaluType, Parser};
use ctrls::h264::{DecodeFlags, DecodeParams, DpbEntryFlags, Fields, PpsFlags, SpsFlags};

use super::H264Controls;
use crate::engine::Mismatch;

/// SPS NAL, PPS NAL, and a parser that parsed them.
type CachedParser = (Vec<u8>, Vec<u8>, Parser);

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
}

/// What 8.2.1 carries from picture to picture (POC types 0 and 2).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PocState {
    /// prevPicOrderCntMsb / prevPicOrderCntLsb (type 0; previous reference picture,
    /// already adjusted for its memory_management_control_operation 5).
    prev_msb: i32,
    prev_lsb: i32,
    /// prevFrameNum / prevFrameNumOffset (type 2; previous picture).
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

/// Tracks parsed parameter sets and decoded pictures of one context.
///
/// The parser itself is not `Send` (it holds `Rc`s), so we keep the parameter set NAL
/// units and build a parser per request (two tiny NALs to parse).
#[derive(Default)]
pub struct Checker {
    sps_nal: Vec<u8>,
    pps_nal: Vec<u8>,
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

fn nalus(data: &[u8]) -> impl Iterator<Item = Nalu<'_>> {
    let mut cursor = Cursor::new(data);
    std::iter::from_fn(move || {
        catch_unwind(AssertUnwindSafe(|| Nalu::next(&mut cursor)))
            .ok()
            .and_then(|r| r.ok())
    })
}

impl Checker {
    /// Remembers the synthesized SPS (optional) and PPS NAL units.
    pub fn parameter_sets(&mut self, sps: Option<&[u8]>, pps: &[u8]) {
        if let Some(s) = sps {
            self.sps_nal.clear();
            self.sps_nal.extend_from_slice(s);
        }
        self.pps_nal.clear();
        self.pps_nal.extend_from_slice(pps);
    }

    /// Runs `f` with a parser holding our SPS/PPS. The parser is not `Send`, so it is
    /// cached per thread (keyed by the parameter set bytes) instead of in `self`.
    fn with_parser<R>(&self, f: impl FnOnce(&Parser) -> R) -> R {
        thread_local! {
            static PARSER: RefCell<Option<CachedParser>> = const { RefCell::new(None) };
        }
        PARSER.with(|cell| {
            let mut cache = cell.borrow_mut();
            match &*cache {
                Some((s, p, parser)) if *s == self.sps_nal && *p == self.pps_nal => f(parser),
                _ => {
                    let parser = self.parser();
                    let r = f(&parser);
                    *cache = Some((self.sps_nal.clone(), self.pps_nal.clone(), parser));
                    r
                }
            }
        })
    }

    fn parser(&self) -> Parser {
        let mut parser = Parser::default();
        for data in [&self.sps_nal, &self.pps_nal] {
            Self::feed(&mut parser, data);
        }
        parser
    }

    fn feed(parser: &mut Parser, data: &[u8]) {
        for nalu in nalus(data) {
            let r = catch_unwind(AssertUnwindSafe(|| match nalu.header.type_ {
                NaluType::Sps => parser.parse_sps(&nalu).map(|_| ()),
                NaluType::Pps => parser.parse_pps(&nalu).map(|_| ()),
                _ => Ok(()),
            }));
            match r {
                Ok(Ok(())) => {}
                Ok(Err(e)) => tracing::debug!("parameter set not parsed: {e}"),
                Err(_) => tracing::debug!("parameter set parser panicked"),
            }
        }
    }

    /// Parses the request's slice headers and compares the first with DECODE_PARAMS.
    /// Fails when the OUTPUT bytes hold no parsable slice.
    pub fn check_slices(
        &mut self,
        bitstream: &[u8],
        c: &H264Controls,
        out: &mut Vec<Mismatch>,
    ) -> Result<SliceSummary, String> {
        let (first, inband_ps) = self.with_parser(|parser| -> Result<_, String> {
            let mut first = None;
            let mut inband_ps = false;
            for nalu in nalus(bitstream) {
                match nalu.header.type_ {
                    NaluType::Sps | NaluType::Pps => inband_ps = true,
                    NaluType::Slice | NaluType::SliceIdr if first.is_none() => {
                        let (ref_idc, idr) = (nalu.header.ref_idc, nalu.header.idr_pic_flag);
                        let r = catch_unwind(AssertUnwindSafe(|| {
                            parser.parse_slice_header(nalu).map(|s| s.header)
                        }))
                        .map_err(|_| "slice header parser panicked".to_string())?;
                        let h = r.map_err(|e| format!("slice header: {e}"))?;
                        first = Some((h, ref_idc, idr));
                    }
                    NaluType::SliceDpa | NaluType::SliceDpb | NaluType::SliceDpc => {
                        return Err("data partitioning (Extended profile) is not supported".into())
                    }
                    _ => {}
                }
            }
            Ok((first, inband_ps))
        })?;
        if inband_ps {
            tracing::debug!("OUTPUT buffer carries in-band SPS/PPS");
        }
        let Some((h, ref_idc, idr)) = first else {
            return Err("no slice NAL unit in the OUTPUT buffer".into());
        };
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
            && !h.field_pic_flag;
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
            h.pic_order_cnt_bit_size as u32,
            dp.pic_order_cnt_bit_size,
        );
        if ref_idc != 0 {
            cmp(
                out,
                "H264_DECODE_PARAMS.dec_ref_pic_marking_bit_size",
                h.dec_ref_pic_marking_bit_size as u32,
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
        flag(h.field_pic_flag, "FIELD_PIC", DecodeFlags::FIELD_PIC, out);
        flag(
            h.bottom_field_flag,
            "BOTTOM_FIELD",
            DecodeFlags::BOTTOM_FIELD,
            out,
        );
        let mmco5 = h
            .dec_ref_pic_marking
            .inner
            .iter()
            .any(|m| m.memory_management_control_operation == 5);
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
                let bottom = if h.field_pic_flag {
                    msb + lsb
                } else {
                    top + h.delta_pic_order_cnt_bottom
                };
                if ref_idc != 0 {
                    (poc_next.prev_msb, poc_next.prev_lsb) = if !mmco5 {
                        (msb, lsb)
                    } else if h.field_pic_flag {
                        // A bottom field: 0/0; a top field: its TopFieldOrderCnt is 0
                        // after the mmco 5 adjustment.
                        (0, 0)
                    } else {
                        (0, top - top.min(bottom))
                    };
                }
                (Some(top), Some(bottom))
            }
            2 => {
                let max = 1i32 << (c.sps.log2_max_frame_num_minus4 as u32 + 4);
                let fnum = h.frame_num as i32;
                let off = if idr {
                    0
                } else if self.poc.prev_frame_num as i32 > fnum {
                    self.poc.prev_frame_num_offset + max
                } else {
                    self.poc.prev_frame_num_offset
                };
                let t = if idr {
                    0
                } else if ref_idc == 0 {
                    2 * (off + fnum) - 1
                } else {
                    2 * (off + fnum)
                };
                // After mmco 5 the next picture sees prevFrameNumOffset = 0, frame_num 0.
                poc_next.prev_frame_num = if mmco5 { 0 } else { h.frame_num };
                poc_next.prev_frame_num_offset = if mmco5 { 0 } else { off };
                (Some(t), Some(t))
            }
            _ => (None, None),
        };
        if !h.bottom_field_flag {
            if let Some(t) = top {
                cmp(
                    out,
                    "H264_DECODE_PARAMS.top_field_order_cnt",
                    t,
                    dp.top_field_order_cnt,
                );
            }
        }
        if !h.field_pic_flag || h.bottom_field_flag {
            if let Some(b) = bottom {
                cmp(
                    out,
                    "H264_DECODE_PARAMS.bottom_field_order_cnt",
                    b,
                    dp.bottom_field_order_cnt,
                );
            }
        }
        Ok(SliceSummary {
            idr,
            nal_ref_idc: ref_idc,
            frame_num: h.frame_num,
            field_pic: h.field_pic_flag,
            bottom_field: h.bottom_field_flag,
            mmco5,
            poc_next,
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
                cmp_dpb(
                    out,
                    i,
                    "top_field_order_cnt",
                    p.top_poc,
                    e.top_field_order_cnt,
                );
            }
            if used & Fields::BOTTOM_FIELD.bits() != 0 {
                cmp_dpb(
                    out,
                    i,
                    "bottom_field_order_cnt",
                    p.bottom_poc,
                    e.bottom_field_order_cnt,
                );
            }
        }
    }

    /// Records a decoded picture, or (`second_field`) the second field of the picture
    /// decoded under `picture_ts`.
    pub fn record(
        &mut self,
        ts: u64,
        picture_ts: u64,
        second_field: bool,
        dp: &DecodeParams,
        s: &SliceSummary,
    ) {
        self.poc = s.poc_next;
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
            top_poc: dp.top_field_order_cnt,
            bottom_poc: dp.bottom_field_order_cnt,
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
                    first.bottom_poc = dp.bottom_field_order_cnt;
                } else {
                    first.top_poc = dp.top_field_order_cnt;
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
