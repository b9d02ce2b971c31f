//! H.264 Annex B stream -> per-picture V4L2 stateless controls, OUTPUT bytes and
//! CAPTURE timestamps: what a frame-based stateless client (GStreamer's
//! v4l2slh264dec, FFmpeg's v4l2-request hwaccel) computes.
//!
//! Parsing of NAL units, SPS, PPS and slice headers is done by cros-codecs; the
//! picture order count (8.2.1), reference marking (8.2.5), reference lists
//! (8.2.4) and the control filling are done here.
//!
//! Conventions (Linux 6.12 UAPI, `ext-ctrls-codec-stateless.rst`):
//! - DPB entries list every frame store holding a reference field or frame,
//!   in the order they entered the DPB; `flags` = VALID | ACTIVE, plus
//!   LONG_TERM when marked long-term, plus FIELD when the entry was coded as
//!   field pictures (a single field or a complementary field pair).
//!   `pic_num` is PicNum (short-term) or LongTermPicNum (long-term) as seen from
//!   the current picture; `frame_num` is frame_num (short-term) or
//!   LongTermFrameIdx (long-term). The POC of a field not (yet) decoded is 0.
//!   After a picture with memory_management_control_operation 5 its POCs are
//!   stored minus tempPicOrderCnt (8.2.1); FFmpeg keeps the unadjusted value.
//!   An IDR picture gets an empty DPB (FFmpeg drops its references first).
//! - DECODE_PARAMS POCs: for a field picture the other field's POC is 0 (as
//!   GStreamer); PFRAME/BFRAME follow the first slice's type (P/SP, B) as
//!   FFmpeg's v4l2-request does.
//! - SCALING_MATRIX: resolved lists (fall-back rules A/B of Table 7-2) in raster
//!   order, flat 16 when neither SPS nor PPS carries a matrix (the kernel's
//!   default); `scaling_matrix_present` tells whether GStreamer would send it.
//! - OUTPUT: every slice NAL unit of the primary coded picture prefixed with
//!   `00 00 01`, emulation-prevention bytes kept; redundant slices
//!   (redundant_pic_cnt > 0) are dropped as FFmpeg and GStreamer do.
//! - Timestamps: one per CAPTURE buffer in decode order (`base`, `base + step`,
//!   ...); the two fields of a pair share it and the first field's request has
//!   `hold_capture` set. Frames inferred by a frame_num gap have no buffer of
//!   their own: their DPB entries carry the timestamp of the picture decoded
//!   before the gap.

use cros_codecs::codec::h264::nalu::Header as _;
use cros_codecs::codec::h264::parser::{
    Nalu, NaluHeader, NaluType, Parser, Pps as CrosPps, SliceHeader, SliceType as CrosSliceType,
    Sps as CrosSps,
};
use serde::{Deserialize, Serialize};

use super::annexb::{NalUnit, Splitter};
use super::guard;
use super::h264_refs::{CurPic, FrameStore, RefError, RefState, SeqInfo, BOTTOM, FRAME, TOP};
pub use super::BuildError;
use crate::h264::{
    ConstraintSetFlags, DecodeFlags, DecodeParams, DpbEntry, DpbEntryFlags, Fields, Pps, PpsFlags,
    PredWeights, Reference, ScalingMatrix, SliceFlags, SliceParams, Sps, SpsFlags, NUM_DPB_ENTRIES,
    REF_LIST_LEN,
};

/// Which part of the CAPTURE buffer a request decodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Field {
    /// A coded frame (progressive, or interlaced MBAFF/frame-coded).
    Frame,
    /// A top field picture.
    Top,
    /// A bottom field picture.
    Bottom,
}

/// Visible rectangle inside the decoded frame (SPS frame cropping).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct CropRect {
    /// Left offset in luma samples.
    pub left: u32,
    /// Top offset in luma samples.
    pub top: u32,
    /// Visible width.
    pub width: u32,
    /// Visible height.
    pub height: u32,
}

/// What a replay tool needs beyond the controls.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DisplayInfo {
    /// PicOrderCnt of the frame held by the CAPTURE buffer so far (for the
    /// second field of a pair: min of both fields), after the MMCO 5 adjustment.
    pub poc: i32,
    /// Output epoch: increases at each IDR picture and each picture with
    /// memory_management_control_operation 5. Output order is (epoch, poc).
    pub epoch: u32,
    /// no_output_of_prior_pics_flag of an IDR picture.
    pub no_output_of_prior_pics: bool,
    /// Frame cropping rectangle.
    pub crop: CropRect,
    /// PicWidthInMbs.
    pub width_mbs: u32,
    /// FrameHeightInMbs.
    pub height_mbs: u32,
    /// BitDepthY.
    pub bit_depth_luma: u8,
    /// BitDepthC.
    pub bit_depth_chroma: u8,
    /// chroma_format_idc.
    pub chroma_format_idc: u8,
    /// max_num_reorder_frames/max_dec_frame_buffering-derived output delay
    /// hint (frames), from the VUI when present, else the DPB size.
    pub max_num_reorder_frames: u32,
}

/// One decode request: everything a stateless client submits for one picture
/// (a frame or one field), in decode order.
#[derive(Debug, Clone, PartialEq)]
pub struct H264Picture {
    /// `V4L2_CID_STATELESS_H264_SPS`.
    pub sps: Sps,
    /// `V4L2_CID_STATELESS_H264_PPS`.
    pub pps: Pps,
    /// `V4L2_CID_STATELESS_H264_SCALING_MATRIX` (resolved, raster order).
    pub scaling_matrix: ScalingMatrix,
    /// Whether SPS or PPS carries a scaling matrix (GStreamer sends the control
    /// only then; the kernel default is flat).
    pub scaling_matrix_present: bool,
    /// `V4L2_CID_STATELESS_H264_DECODE_PARAMS`.
    pub decode_params: DecodeParams,
    /// `V4L2_CID_STATELESS_H264_SLICE_PARAMS`, one per slice (slice-based mode),
    /// with reference lists indexing `decode_params.dpb`.
    pub slice_params: Vec<SliceParams>,
    /// `V4L2_CID_STATELESS_H264_PRED_WEIGHTS` of the first slice, when explicit
    /// weighted prediction applies to it.
    pub pred_weights: Option<PredWeights>,
    /// PRED_WEIGHTS of each slice (index as `slice_params`): what a slice-based
    /// client sends with that slice's request.
    pub slice_pred_weights: Vec<Option<PredWeights>>,
    /// OUTPUT buffer bytes (Annex B, `00 00 01` per slice).
    pub bitstream: Vec<u8>,
    /// Timestamp (ns) of the CAPTURE buffer this picture decodes into.
    pub timestamp: u64,
    /// Frame, top field or bottom field.
    pub field: Field,
    /// Queue with `V4L2_BUF_FLAG_M2M_HOLD_CAPTURE_BUF` (first field of a pair).
    pub hold_capture: bool,
    /// Display/output information.
    pub display: DisplayInfo,
    /// Index of this picture in decode order (requests), from 0.
    pub decode_index: u32,
    /// Stream offset of the first slice NAL unit header.
    pub stream_offset: usize,
    /// Redundant coded slices (redundant_pic_cnt > 0) seen after this picture's
    /// slices and left out of `bitstream`.
    pub dropped_redundant_slices: u32,
}

/// Key of the first slice of a picture, for 7.4.1.2.4 picture boundaries.
#[derive(Debug, Clone, PartialEq, Eq)]
struct FirstSliceKey {
    frame_num: u16,
    pps_id: u8,
    field_pic: bool,
    bottom: bool,
    ref_is_zero: bool,
    poc_type: u8,
    poc_lsb: u16,
    delta_bottom: i32,
    delta: [i32; 2],
    idr: bool,
    idr_pic_id: u16,
}

impl FirstSliceKey {
    fn new(slice: &SliceHeader, sps: &CrosSps, ref_is_zero: bool, idr: bool) -> Self {
        Self {
            frame_num: slice.frame_num,
            pps_id: slice.pic_parameter_set_id,
            field_pic: slice.field_pic_flag,
            bottom: slice.bottom_field_flag,
            ref_is_zero,
            poc_type: sps.pic_order_cnt_type,
            poc_lsb: if sps.pic_order_cnt_type == 0 {
                slice.pic_order_cnt_lsb
            } else {
                0
            },
            delta_bottom: if sps.pic_order_cnt_type == 0 {
                slice.delta_pic_order_cnt_bottom
            } else {
                0
            },
            delta: if sps.pic_order_cnt_type == 1 {
                slice.delta_pic_order_cnt
            } else {
                [0; 2]
            },
            idr,
            idr_pic_id: if idr { slice.idr_pic_id } else { 0 },
        }
    }
}

/// The previous picture, for field pairing.
#[derive(Debug, Clone, Copy)]
struct LastPic {
    structure: u8,
    frame_num: u32,
    is_ref: bool,
    idr: bool,
    /// Already the second field of a pair (or a frame).
    paired: bool,
    ts: u64,
    store_id: Option<u64>,
    poc: i32,
}

struct InProgress {
    pic: H264Picture,
    key: FirstSliceKey,
    /// A non-VCL NAL unit followed the last slice: the next slice starts a new picture.
    closed: bool,
    /// For reference lists of later slices.
    lists: ListCtx,
}

/// What the reference list construction needs about the current picture.
#[derive(Debug, Clone)]
struct ListCtx {
    cur: CurPic,
    seq: SeqInfo,
    cur_poc: i32,
    frames: Vec<FrameStore>,
    /// Frame store id holding the first field of the current frame, if any.
    pair_store: Option<u64>,
}

/// Builds per-picture controls from an H.264 Annex B stream.
pub struct H264Builder {
    parser: Parser,
    splitter: Splitter,
    refs: RefState,
    cur: Option<InProgress>,
    last: Option<LastPic>,
    ts_base: u64,
    ts_step: u64,
    frames_allocated: u64,
    epoch: u32,
    decode_index: u32,
    last_ts: u64,
}

impl Default for H264Builder {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for H264Builder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("H264Builder")
            .field("decode_index", &self.decode_index)
            .field("frames_allocated", &self.frames_allocated)
            .finish_non_exhaustive()
    }
}

/// Default timestamp of the first CAPTURE buffer (ns). Multiples of 1000 ns
/// survive the µs `struct timeval` round trip of `v4l2_buffer`.
pub const DEFAULT_TS_BASE: u64 = 1000;
/// Default timestamp step between CAPTURE buffers (ns).
pub const DEFAULT_TS_STEP: u64 = 1000;

impl H264Builder {
    /// New builder, timestamps 1000, 2000, ... ns.
    pub fn new() -> Self {
        Self::with_timestamps(DEFAULT_TS_BASE, DEFAULT_TS_STEP)
    }

    /// New builder with CAPTURE timestamps `base + n * step` (ns; use multiples
    /// of 1000 so they survive the timeval conversion).
    pub fn with_timestamps(base: u64, step: u64) -> Self {
        H264Builder {
            parser: Parser::default(),
            splitter: Splitter::new(),
            refs: RefState::default(),
            cur: None,
            last: None,
            ts_base: base,
            ts_step: step.max(1),
            frames_allocated: 0,
            epoch: 0,
            decode_index: 0,
            last_ts: base,
        }
    }

    /// Build every picture of a complete stream.
    pub fn build_stream(data: &[u8]) -> Result<Vec<H264Picture>, BuildError> {
        let mut b = Self::new();
        let mut out = b.push(data)?;
        out.extend(b.finish()?);
        Ok(out)
    }

    /// Feed stream bytes (any chunking); returns the pictures completed so far.
    /// A picture is complete when the next picture's first slice is seen.
    pub fn push(&mut self, data: &[u8]) -> Result<Vec<H264Picture>, BuildError> {
        let nals = self.splitter.push(data)?;
        let mut out = Vec::new();
        for n in &nals {
            self.handle_nal(n.as_nal(), &mut out)?;
        }
        Ok(out)
    }

    /// Feed a whole stream and flush: all its pictures.
    pub fn push_stream(&mut self, data: &[u8]) -> Result<Vec<H264Picture>, BuildError> {
        let mut out = self.push(data)?;
        out.extend(self.finish()?);
        Ok(out)
    }

    /// End of stream: returns the last picture(s).
    pub fn finish(&mut self) -> Result<Vec<H264Picture>, BuildError> {
        let mut out = Vec::new();
        for n in self.splitter.finish() {
            self.handle_nal(n.as_nal(), &mut out)?;
        }
        if let Some(p) = self.cur.take() {
            out.push(p.pic);
        }
        Ok(out)
    }

    fn handle_nal(
        &mut self,
        nal: NalUnit<'_>,
        out: &mut Vec<H264Picture>,
    ) -> Result<(), BuildError> {
        let offset = nal.offset;
        let nal_type = nal.h264_type();
        if nal.forbidden_bit() {
            return Err(BuildError::Stream {
                offset,
                msg: "forbidden_zero_bit is 1".into(),
            });
        }
        let perr = |msg: String| BuildError::Parse {
            offset,
            nal_type,
            msg,
        };
        match nal_type {
            1 | 5 => self.handle_slice(nal, out),
            2..=4 => Err(BuildError::Unsupported {
                offset,
                what: "slice data partitioning (nal_unit_type 2..4)".into(),
            }),
            7 => {
                self.close_picture();
                let n = make_nalu(nal).map_err(perr)?;
                guard(|| self.parser.parse_sps(&n).map(|_| ())).map_err(perr)
            }
            8 => {
                self.close_picture();
                let n = make_nalu(nal).map_err(perr)?;
                guard(|| self.parser.parse_pps(&n).map(|_| ())).map_err(|m| {
                    if m.contains("unsupported") {
                        BuildError::Unsupported {
                            offset,
                            what: "PPS with slice groups (FMO)".into(),
                        }
                    } else {
                        perr(m)
                    }
                })
            }
            // SEI, AUD, end of sequence/stream, filler, SPS extension, prefix,
            // subset SPS, ...: end the current picture (7.4.1.2.3). Type 20 (MVC
            // / SVC extension slices) belongs to non-base views: skipped.
            6 | 9..=18 => {
                self.close_picture();
                Ok(())
            }
            _ => Ok(()),
        }
    }

    fn close_picture(&mut self) {
        if let Some(c) = &mut self.cur {
            c.closed = true;
        }
    }

    fn handle_slice(
        &mut self,
        nal: NalUnit<'_>,
        out: &mut Vec<H264Picture>,
    ) -> Result<(), BuildError> {
        let offset = nal.offset;
        let nal_type = nal.h264_type();
        let perr = |msg: String| BuildError::Parse {
            offset,
            nal_type,
            msg,
        };
        let n = make_nalu(nal).map_err(perr)?;
        let slice = guard(|| self.parser.parse_slice_header(n).map(|s| s.header)).map_err(|m| {
            if m.contains("unsupported") {
                BuildError::Unsupported {
                    offset,
                    what: "slice groups (FMO)".into(),
                }
            } else {
                perr(m)
            }
        })?;
        if slice.redundant_pic_cnt > 0 {
            if let Some(c) = &mut self.cur {
                c.pic.dropped_redundant_slices += 1;
            }
            return Ok(());
        }
        let pps = self
            .parser
            .get_pps(slice.pic_parameter_set_id)
            .cloned()
            .ok_or_else(|| perr(format!("no PPS {}", slice.pic_parameter_set_id)))?;
        let sps = pps.sps.clone();
        let idr = nal_type == 5;
        let key = FirstSliceKey::new(&slice, &sps, nal.h264_ref_idc() == 0, idr);

        let continues = matches!(&self.cur, Some(c) if !c.closed && c.key == key);
        if continues {
            let c = self.cur.as_mut().expect("checked above");
            append_slice(&mut c.pic, nal.data);
            let sp = slice_params(&slice, &c.lists, &sps, offset)?;
            c.pic.slice_params.push(sp);
            c.pic
                .slice_pred_weights
                .push(pred_weights(&slice, &sps, &pps));
            return Ok(());
        }

        // A new picture.
        let structure = if !slice.field_pic_flag {
            FRAME
        } else if slice.bottom_field_flag {
            BOTTOM
        } else {
            TOP
        };
        let is_ref = nal.h264_ref_idc() != 0;
        let frame_num = slice.frame_num as u32;
        let pair = self.last.filter(|l| {
            !l.paired
                && l.structure != FRAME
                && structure != FRAME
                && l.structure != structure
                && l.frame_num == frame_num
                && l.is_ref == is_ref
                && (!idr || l.idr)
        });
        if let Some(mut prev) = self.cur.take() {
            prev.pic.hold_capture = pair.is_some() && prev.pic.field != Field::Frame;
            out.push(prev.pic);
        }
        let pic = self.start_picture(&slice, &pps, &sps, nal, structure, pair)?;
        self.cur = Some(pic);
        Ok(())
    }

    fn start_picture(
        &mut self,
        slice: &SliceHeader,
        pps: &CrosPps,
        sps: &CrosSps,
        nal: NalUnit<'_>,
        structure: u8,
        pair: Option<LastPic>,
    ) -> Result<InProgress, BuildError> {
        let offset = nal.offset;
        let serr = |e: RefError| BuildError::Stream {
            offset,
            msg: e.to_string(),
        };
        let idr = nal.h264_type() == 5;
        let nal_ref_idc = nal.h264_ref_idc();
        let seq = seq_info(sps);
        let cur = CurPic {
            structure,
            frame_num: slice.frame_num as u32,
            nal_ref_idc,
            idr,
            pic_order_cnt_lsb: slice.pic_order_cnt_lsb as u32,
            delta_pic_order_cnt_bottom: slice.delta_pic_order_cnt_bottom,
            delta_pic_order_cnt: slice.delta_pic_order_cnt,
        };

        if pair.is_none() && self.refs.has_gap(&seq, &cur) {
            self.refs.fill_gap(&seq, &cur, self.last_ts).map_err(serr)?;
        }
        let poc = self.refs.compute_poc(&seq, &cur);
        // The first field's frame store, when pairing with a reference field.
        let pair_store = pair.and_then(|p| p.store_id);

        let ts = match pair {
            Some(p) => p.ts,
            None => {
                let ts = self
                    .ts_base
                    .wrapping_add(self.frames_allocated.wrapping_mul(self.ts_step));
                self.frames_allocated += 1;
                ts
            }
        };

        // DPB before marking the current picture; empty for an IDR picture
        // (all references are dropped by it, as FFmpeg does at its start),
        // except the first field of an IDR field pair.
        let dpb = self.dpb_control(&seq, &cur, pair_store);
        let lists = ListCtx {
            cur,
            seq: seq.clone(),
            cur_poc: match structure {
                FRAME => poc.top.min(poc.bottom),
                TOP => poc.top,
                _ => poc.bottom,
            },
            frames: self.refs.frames.clone(),
            pair_store,
        };

        let mut dp = DecodeParams {
            nal_ref_idc: nal_ref_idc as u16,
            frame_num: slice.frame_num,
            top_field_order_cnt: if structure & TOP != 0 { poc.top } else { 0 },
            bottom_field_order_cnt: if structure & BOTTOM != 0 {
                poc.bottom
            } else {
                0
            },
            idr_pic_id: slice.idr_pic_id,
            pic_order_cnt_lsb: slice.pic_order_cnt_lsb,
            delta_pic_order_cnt_bottom: slice.delta_pic_order_cnt_bottom,
            delta_pic_order_cnt0: slice.delta_pic_order_cnt[0],
            delta_pic_order_cnt1: slice.delta_pic_order_cnt[1],
            dec_ref_pic_marking_bit_size: slice.dec_ref_pic_marking_bit_size as u32,
            pic_order_cnt_bit_size: slice.pic_order_cnt_bit_size as u32,
            slice_group_change_cycle: 0,
            ..DecodeParams::default()
        };
        dp.dpb = dpb;
        let mut flags = DecodeFlags::empty();
        if idr {
            flags |= DecodeFlags::IDR_PIC;
        }
        if structure != FRAME {
            flags |= DecodeFlags::FIELD_PIC;
        }
        if structure == BOTTOM {
            flags |= DecodeFlags::BOTTOM_FIELD;
        }
        match slice.slice_type {
            CrosSliceType::P | CrosSliceType::Sp => flags |= DecodeFlags::PFRAME,
            CrosSliceType::B => flags |= DecodeFlags::BFRAME,
            _ => {}
        }
        dp.flags = flags;

        // Reference marking of the current picture.
        let finished = self
            .refs
            .finish_picture(&seq, &cur, &poc, &slice.dec_ref_pic_marking, ts, pair_store)
            .map_err(serr)?;

        if idr || finished.mmco5 {
            self.epoch += 1;
        }
        let field_poc = match structure {
            FRAME => finished.top_poc.min(finished.bottom_poc),
            TOP => finished.top_poc,
            _ => finished.bottom_poc,
        };
        let display_poc = match pair {
            Some(p) => p.poc.min(field_poc),
            None => field_poc,
        };
        let rect = sps.visible_rectangle();
        let display = DisplayInfo {
            poc: display_poc,
            epoch: self.epoch,
            no_output_of_prior_pics: idr && slice.dec_ref_pic_marking.no_output_of_prior_pics_flag,
            crop: CropRect {
                left: rect.min.x,
                top: rect.min.y,
                width: rect.max.x,
                height: rect.max.y,
            },
            width_mbs: sps.pic_width_in_mbs_minus1 as u32 + 1,
            height_mbs: sps.height() / 16,
            bit_depth_luma: sps.bit_depth_luma_minus8 + 8,
            bit_depth_chroma: sps.bit_depth_chroma_minus8 + 8,
            chroma_format_idc: sps.chroma_format_idc,
            // cros-codecs multiplies MB counts in u32: guard against absurd sizes.
            max_num_reorder_frames: guard(|| Ok(sps.max_num_order_frames())).unwrap_or(16),
        };

        self.last = Some(LastPic {
            structure,
            frame_num: slice.frame_num as u32,
            is_ref: nal_ref_idc != 0,
            idr,
            paired: structure == FRAME || pair.is_some(),
            ts,
            store_id: finished.store_id,
            poc: field_poc,
        });
        self.last_ts = ts;

        let (scaling_matrix, scaling_matrix_present) = scaling_matrix(sps, pps);
        let first_sp = slice_params(slice, &lists, sps, offset)?;
        let pred_weights = pred_weights(slice, sps, pps);
        let mut pic = H264Picture {
            sps: sps_control(sps),
            pps: pps_control(pps, scaling_matrix_present),
            scaling_matrix,
            scaling_matrix_present,
            decode_params: dp,
            slice_params: vec![first_sp],
            pred_weights,
            slice_pred_weights: vec![pred_weights],
            bitstream: Vec::new(),
            timestamp: ts,
            field: match structure {
                FRAME => Field::Frame,
                TOP => Field::Top,
                _ => Field::Bottom,
            },
            hold_capture: false,
            display,
            decode_index: self.decode_index,
            stream_offset: offset,
            dropped_redundant_slices: 0,
        };
        self.decode_index += 1;
        append_slice(&mut pic, nal.data);
        let key = FirstSliceKey::new(slice, sps, nal_ref_idc == 0, idr);
        Ok(InProgress {
            pic,
            key,
            closed: false,
            lists,
        })
    }

    fn dpb_control(
        &self,
        seq: &SeqInfo,
        cur: &CurPic,
        pair_store: Option<u64>,
    ) -> [DpbEntry; NUM_DPB_ENTRIES] {
        let mut dpb = [DpbEntry::default(); NUM_DPB_ENTRIES];
        let live = self
            .refs
            .frames
            .iter()
            .filter(|f| f.refs() != 0 && (!cur.idr || Some(f.id) == pair_store));
        for (e, f) in dpb.iter_mut().zip(live) {
            let long = f.long != 0 && f.short == 0;
            let mut flags = DpbEntryFlags::VALID | DpbEntryFlags::ACTIVE;
            if f.long != 0 {
                flags |= DpbEntryFlags::LONG_TERM;
            }
            if f.coded_as_fields {
                flags |= DpbEntryFlags::FIELD;
            }
            *e = DpbEntry {
                reference_ts: f.ts,
                pic_num: self.refs.pic_num_of(f, seq, cur) as i32 as u32,
                frame_num: if long {
                    f.long_term_frame_idx as u16
                } else {
                    f.frame_num as u16
                },
                fields: Fields::from_bits_retain(f.refs()),
                top_field_order_cnt: if f.decoded & TOP != 0 { f.top_poc } else { 0 },
                bottom_field_order_cnt: if f.decoded & BOTTOM != 0 {
                    f.bottom_poc
                } else {
                    0
                },
                flags,
                ..DpbEntry::default()
            };
        }
        dpb
    }
}

/// Run a cros-codecs parse, turning a panic into an error (the parser is
/// third-party code fed untrusted bytes).
/// cros-codecs NAL unit over our NAL bytes (no start code).
fn make_nalu(nal: NalUnit<'_>) -> Result<Nalu<'_>, String> {
    let b = *nal.data.first().ok_or("empty NAL unit")?;
    let type_ = NaluType::try_from(b & 0x1f)?;
    let header = NaluHeader {
        ref_idc: (b >> 5) & 3,
        type_,
        idr_pic_flag: matches!(type_, NaluType::SliceIdr),
    };
    if nal.data.len() < header.len() + 1 {
        return Err("NAL unit has no payload".into());
    }
    Ok(Nalu {
        header,
        data: std::borrow::Cow::Borrowed(nal.data),
        size: nal.data.len(),
        offset: 0,
    })
}

fn append_slice(pic: &mut H264Picture, nal: &[u8]) {
    pic.bitstream.extend_from_slice(&[0, 0, 1]);
    pic.bitstream.extend_from_slice(nal);
}

fn seq_info(sps: &CrosSps) -> SeqInfo {
    SeqInfo {
        max_frame_num: sps.max_frame_num(),
        poc_type: sps.pic_order_cnt_type,
        max_poc_lsb: 1 << (sps.log2_max_pic_order_cnt_lsb_minus4 as u32 + 4),
        offset_for_non_ref_pic: sps.offset_for_non_ref_pic,
        offset_for_top_to_bottom_field: sps.offset_for_top_to_bottom_field,
        offset_for_ref_frame: sps.offset_for_ref_frame
            [..sps.num_ref_frames_in_pic_order_cnt_cycle as usize]
            .to_vec(),
        max_num_ref_frames: sps.max_num_ref_frames as u32,
    }
}

fn sps_control(s: &CrosSps) -> Sps {
    let mut c = ConstraintSetFlags::empty();
    for (on, f) in [
        (s.constraint_set0_flag, ConstraintSetFlags::SET0),
        (s.constraint_set1_flag, ConstraintSetFlags::SET1),
        (s.constraint_set2_flag, ConstraintSetFlags::SET2),
        (s.constraint_set3_flag, ConstraintSetFlags::SET3),
        (s.constraint_set4_flag, ConstraintSetFlags::SET4),
        (s.constraint_set5_flag, ConstraintSetFlags::SET5),
    ] {
        if on {
            c |= f;
        }
    }
    let mut flags = SpsFlags::empty();
    for (on, f) in [
        (
            s.separate_colour_plane_flag,
            SpsFlags::SEPARATE_COLOUR_PLANE,
        ),
        (
            s.qpprime_y_zero_transform_bypass_flag,
            SpsFlags::QPPRIME_Y_ZERO_TRANSFORM_BYPASS,
        ),
        (
            s.delta_pic_order_always_zero_flag,
            SpsFlags::DELTA_PIC_ORDER_ALWAYS_ZERO,
        ),
        (
            s.gaps_in_frame_num_value_allowed_flag,
            SpsFlags::GAPS_IN_FRAME_NUM_VALUE_ALLOWED,
        ),
        (s.frame_mbs_only_flag, SpsFlags::FRAME_MBS_ONLY),
        (
            s.mb_adaptive_frame_field_flag,
            SpsFlags::MB_ADAPTIVE_FRAME_FIELD,
        ),
        (s.direct_8x8_inference_flag, SpsFlags::DIRECT_8X8_INFERENCE),
    ] {
        if on {
            flags |= f;
        }
    }
    Sps {
        profile_idc: s.profile_idc,
        constraint_set_flags: c,
        level_idc: s.level_idc as u8,
        seq_parameter_set_id: s.seq_parameter_set_id,
        chroma_format_idc: s.chroma_format_idc,
        bit_depth_luma_minus8: s.bit_depth_luma_minus8,
        bit_depth_chroma_minus8: s.bit_depth_chroma_minus8,
        log2_max_frame_num_minus4: s.log2_max_frame_num_minus4,
        pic_order_cnt_type: s.pic_order_cnt_type,
        log2_max_pic_order_cnt_lsb_minus4: s.log2_max_pic_order_cnt_lsb_minus4,
        max_num_ref_frames: s.max_num_ref_frames,
        num_ref_frames_in_pic_order_cnt_cycle: s.num_ref_frames_in_pic_order_cnt_cycle,
        offset_for_ref_frame: s.offset_for_ref_frame,
        offset_for_non_ref_pic: s.offset_for_non_ref_pic,
        offset_for_top_to_bottom_field: s.offset_for_top_to_bottom_field,
        pic_width_in_mbs_minus1: s.pic_width_in_mbs_minus1,
        pic_height_in_map_units_minus1: s.pic_height_in_map_units_minus1,
        flags,
    }
}

fn pps_control(p: &CrosPps, scaling_matrix_present: bool) -> Pps {
    let mut flags = PpsFlags::empty();
    for (on, f) in [
        (p.entropy_coding_mode_flag, PpsFlags::ENTROPY_CODING_MODE),
        (
            p.bottom_field_pic_order_in_frame_present_flag,
            PpsFlags::BOTTOM_FIELD_PIC_ORDER_IN_FRAME_PRESENT,
        ),
        (p.weighted_pred_flag, PpsFlags::WEIGHTED_PRED),
        (
            p.deblocking_filter_control_present_flag,
            PpsFlags::DEBLOCKING_FILTER_CONTROL_PRESENT,
        ),
        (
            p.constrained_intra_pred_flag,
            PpsFlags::CONSTRAINED_INTRA_PRED,
        ),
        (
            p.redundant_pic_cnt_present_flag,
            PpsFlags::REDUNDANT_PIC_CNT_PRESENT,
        ),
        (p.transform_8x8_mode_flag, PpsFlags::TRANSFORM_8X8_MODE),
        (scaling_matrix_present, PpsFlags::SCALING_MATRIX_PRESENT),
    ] {
        if on {
            flags |= f;
        }
    }
    Pps {
        pic_parameter_set_id: p.pic_parameter_set_id,
        seq_parameter_set_id: p.seq_parameter_set_id,
        num_slice_groups_minus1: p.num_slice_groups_minus1 as u8,
        num_ref_idx_l0_default_active_minus1: p.num_ref_idx_l0_default_active_minus1,
        num_ref_idx_l1_default_active_minus1: p.num_ref_idx_l1_default_active_minus1,
        weighted_bipred_idc: p.weighted_bipred_idc,
        pic_init_qp_minus26: p.pic_init_qp_minus26,
        pic_init_qs_minus26: p.pic_init_qs_minus26,
        chroma_qp_index_offset: p.chroma_qp_index_offset,
        second_chroma_qp_index_offset: p.second_chroma_qp_index_offset,
        flags,
    }
}

/// Raster position of each 4x4 zig-zag scan index (Table 8-13, frame scan).
const ZIGZAG_4X4: [usize; 16] = [0, 1, 4, 8, 5, 2, 3, 6, 9, 12, 13, 10, 7, 11, 14, 15];
/// Raster position of each 8x8 zig-zag scan index (Table 8-14, frame scan).
const ZIGZAG_8X8: [usize; 64] = [
    0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5, 12, 19, 26, 33, 40, 48, 41, 34, 27, 20,
    13, 6, 7, 14, 21, 28, 35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51, 58, 59,
    52, 45, 38, 31, 39, 46, 53, 60, 61, 54, 47, 55, 62, 63,
];

/// Default_8x8_Intra / Default_8x8_Inter (Table 7-4), zig-zag order.
const DEFAULT_8X8: [[u8; 64]; 2] = [
    [
        6, 10, 10, 13, 11, 13, 16, 16, 16, 16, 18, 18, 18, 18, 18, 23, 23, 23, 23, 23, 23, 25, 25,
        25, 25, 25, 25, 25, 27, 27, 27, 27, 27, 27, 27, 27, 29, 29, 29, 29, 29, 29, 29, 31, 31, 31,
        31, 31, 31, 33, 33, 33, 33, 33, 36, 36, 36, 36, 38, 38, 38, 40, 40, 42,
    ],
    [
        9, 13, 13, 15, 13, 15, 17, 17, 17, 17, 19, 19, 19, 19, 19, 21, 21, 21, 21, 21, 21, 22, 22,
        22, 22, 22, 22, 22, 24, 24, 24, 24, 24, 24, 24, 24, 25, 25, 25, 25, 25, 25, 25, 27, 27, 27,
        27, 27, 27, 28, 28, 28, 28, 28, 30, 30, 30, 30, 32, 32, 32, 33, 33, 35,
    ],
];

/// Resolved scaling matrix (raster order) and whether SPS or PPS carries one.
///
/// cros-codecs resolves the fall-back rules for the lists it parses; lists it
/// leaves unset (8x8 lists of a PPS without transform_8x8_mode_flag, chroma 8x8
/// lists outside 4:4:4) are all zero and are completed here with the same rules.
fn scaling_matrix(sps: &CrosSps, pps: &CrosPps) -> (ScalingMatrix, bool) {
    let present = sps.seq_scaling_matrix_present_flag || pps.pic_scaling_matrix_present_flag;
    if !present {
        return (ScalingMatrix::FLAT, false);
    }
    // Fall-back A: defaults; B: the SPS lists (PPS level, SPS matrix present).
    let sps_8x8 = resolve_8x8(&sps.scaling_lists_8x8, None);
    let lists_8x8 = if pps.pic_scaling_matrix_present_flag {
        let base = if sps.seq_scaling_matrix_present_flag {
            Some(&sps_8x8)
        } else {
            None
        };
        resolve_8x8(&pps.scaling_lists_8x8, base)
    } else {
        sps_8x8
    };
    let mut m = ScalingMatrix::FLAT;
    for (dst, src) in m.scaling_list_4x4.iter_mut().zip(&pps.scaling_lists_4x4) {
        for (&v, &r) in src.iter().zip(&ZIGZAG_4X4) {
            dst[r] = v;
        }
    }
    for (dst, src) in m.scaling_list_8x8.iter_mut().zip(&lists_8x8) {
        for (&v, &r) in src.iter().zip(&ZIGZAG_8X8) {
            dst[r] = v;
        }
    }
    (m, true)
}

/// Complete unset (all-zero) 8x8 lists: i = 0/1 from `base` (rule B) or the
/// defaults (rule A), i >= 2 from list i - 2.
fn resolve_8x8(lists: &[[u8; 64]; 6], base: Option<&[[u8; 64]; 6]>) -> [[u8; 64]; 6] {
    let mut out = *lists;
    for i in 0..6 {
        if out[i].iter().all(|&v| v == 0) {
            out[i] = if i < 2 {
                match base {
                    Some(b) => b[i],
                    None => DEFAULT_8X8[i],
                }
            } else {
                out[i - 2]
            };
        }
    }
    out
}

fn pred_weights(slice: &SliceHeader, sps: &CrosSps, pps: &CrosPps) -> Option<PredWeights> {
    let applies = (pps.weighted_pred_flag
        && matches!(slice.slice_type, CrosSliceType::P | CrosSliceType::Sp))
        || (pps.weighted_bipred_idc == 1 && slice.slice_type == CrosSliceType::B);
    if !applies {
        return None;
    }
    let t = &slice.pred_weight_table;
    let mut w = PredWeights {
        luma_log2_weight_denom: t.luma_log2_weight_denom as u16,
        chroma_log2_weight_denom: t.chroma_log2_weight_denom as u16,
        ..PredWeights::default()
    };
    let chroma = sps.chroma_array_type() != 0;
    for i in 0..=slice.num_ref_idx_l0_active_minus1 as usize {
        let f = &mut w.weight_factors[0];
        f.luma_weight[i] = t.luma_weight_l0[i];
        f.luma_offset[i] = t.luma_offset_l0[i] as i16;
        if chroma {
            for j in 0..2 {
                f.chroma_weight[i][j] = t.chroma_weight_l0[i][j];
                f.chroma_offset[i][j] = t.chroma_offset_l0[i][j] as i16;
            }
        }
    }
    if slice.slice_type == CrosSliceType::B {
        for i in 0..=slice.num_ref_idx_l1_active_minus1 as usize {
            let f = &mut w.weight_factors[1];
            f.luma_weight[i] = t.luma_weight_l1[i];
            f.luma_offset[i] = t.luma_offset_l1[i];
            if chroma {
                for j in 0..2 {
                    f.chroma_weight[i][j] = t.chroma_weight_l1[i][j];
                    f.chroma_offset[i][j] = t.chroma_offset_l1[i][j] as i16;
                }
            }
        }
    }
    Some(w)
}

fn slice_params(
    slice: &SliceHeader,
    ctx: &ListCtx,
    _sps: &CrosSps,
    offset: usize,
) -> Result<SliceParams, BuildError> {
    let mut flags = SliceFlags::empty();
    if slice.direct_spatial_mv_pred_flag {
        flags |= SliceFlags::DIRECT_SPATIAL_MV_PRED;
    }
    if slice.sp_for_switch_flag {
        flags |= SliceFlags::SP_FOR_SWITCH;
    }
    let mut sp = SliceParams {
        header_bit_size: slice.header_bit_size as u32,
        first_mb_in_slice: slice.first_mb_in_slice,
        slice_type: slice.slice_type as u8,
        colour_plane_id: slice.colour_plane_id,
        redundant_pic_cnt: slice.redundant_pic_cnt,
        cabac_init_idc: slice.cabac_init_idc,
        slice_qp_delta: slice.slice_qp_delta,
        slice_qs_delta: slice.slice_qs_delta,
        disable_deblocking_filter_idc: slice.disable_deblocking_filter_idc,
        slice_alpha_c0_offset_div2: slice.slice_alpha_c0_offset_div2,
        slice_beta_offset_div2: slice.slice_beta_offset_div2,
        num_ref_idx_l0_active_minus1: slice.num_ref_idx_l0_active_minus1,
        num_ref_idx_l1_active_minus1: slice.num_ref_idx_l1_active_minus1,
        flags,
        ..SliceParams::default()
    };
    let unused = Reference {
        fields: Fields::empty(),
        index: 0xff,
    };
    sp.ref_pic_list0 = [unused; REF_LIST_LEN];
    sp.ref_pic_list1 = [unused; REF_LIST_LEN];
    let lists = super::h264_lists::build(slice, ctx_view(ctx))
        .map_err(|msg| BuildError::Stream { offset, msg })?;
    for (dst, src) in [
        (&mut sp.ref_pic_list0, &lists.0),
        (&mut sp.ref_pic_list1, &lists.1),
    ] {
        for (d, s) in dst.iter_mut().zip(src) {
            *d = match s {
                Some((index, fields)) => Reference {
                    fields: Fields::from_bits_retain(*fields),
                    index: *index,
                },
                None => unused,
            };
        }
    }
    Ok(sp)
}

fn ctx_view(ctx: &ListCtx) -> super::h264_lists::ListInput<'_> {
    super::h264_lists::ListInput {
        cur: &ctx.cur,
        seq: &ctx.seq,
        cur_poc: ctx.cur_poc,
        frames: &ctx.frames,
        pair_store: ctx.pair_store,
    }
}

/// Indices of `pics` in output (display) order: one per CAPTURE buffer (for a
/// field pair, the index of its last field), sorted by (epoch, poc), decode
/// order breaking ties.
pub fn display_order(pics: &[H264Picture]) -> Vec<usize> {
    let mut last_of_buffer: Vec<usize> = Vec::new();
    for (i, p) in pics.iter().enumerate() {
        match last_of_buffer.last_mut() {
            Some(l) if pics[*l].timestamp == p.timestamp => *l = i,
            _ => last_of_buffer.push(i),
        }
    }
    last_of_buffer.sort_by_key(|&i| (pics[i].display.epoch, pics[i].display.poc, i));
    last_of_buffer
}
