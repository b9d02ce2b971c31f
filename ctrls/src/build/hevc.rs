//! H.265 Annex B stream -> per-picture V4L2 stateless HEVC controls, OUTPUT
//! bytes and CAPTURE timestamps: what GStreamer 1.26's v4l2slh265dec computes
//! in frame-based mode with SLICE_PARAMS (one request per picture, every slice
//! segment of the picture in it).
//!
//! Parsing of NAL units, VPS, SPS, PPS and slice segment headers is done by
//! cros-codecs; the picture order count (8.3.1), the reference picture set and
//! its marking (8.3.2), the reference picture lists (8.3.4), RASL handling and
//! the control filling are done here.
//!
//! Conventions (Linux 6.12 UAPI, `ext-ctrls-codec-stateless.rst`, and what
//! GStreamer sends where the documentation is loose):
//! - SPS: the `sps_max_*` fields of sub-layer 0; PCM fields only with
//!   pcm_enabled_flag. PPS: tile column widths / row heights as `minus1`
//!   values including the derived last one, only with tiles_enabled_flag;
//!   UNIFORM_SPACING and LOOP_FILTER_ACROSS_TILES_ENABLED keep their inferred
//!   value 1 when tiles are off, as GStreamer's parser leaves them.
//! - SCALING_MATRIX: the PPS lists if it carries any, else the SPS lists, else
//!   the default lists (Tables 7-5, 7-6), in raster order; DC values as
//!   values (not minus 8); 32x32 holds matrixId 0 and 3 (intra and inter luma).
//!   All zero when scaling_list_enabled_flag is 0.
//! - DECODE_PARAMS: `dpb` lists every picture marked as reference after the
//!   current picture's RPS was applied (Curr and Foll sets alike), in decode
//!   order, never the current picture; `poc_st_curr_before`/`after`,
//!   `poc_lt_curr` and the slices' `ref_idx_l0/l1` are indices into it, 0xff
//!   where unused; `short_term_ref_pic_set_size` / `long_term_ref_pic_set_size`
//!   are the RBSP bits of the first slice's st_ref_pic_set() (0 when it uses
//!   an SPS set) and long-term block; NO_OUTPUT_OF_PRIOR is the syntax bit.
//!   (GStreamer's own DPB array can be in another order after its bumping
//!   moved entries; any order is valid.)
//! - SLICE_PARAMS, one per slice segment: `bit_size` = (3 + NAL size) * 8 and
//!   `data_byte_offset` = 3 + the RBSP bytes of the NAL header and slice
//!   segment header, both counted from the slice's own start code; a
//!   dependent slice segment carries the fields of the independent one before
//!   it, with RPS sizes 0. The pred weight table holds ChromaOffset (7-56),
//!   clamped to s8, not the coded delta.
//! - ENTRY_POINT_OFFSETS: offset_minus1 + 1 of every slice, concatenated.
//! - OUTPUT: every slice segment NAL unit of the picture prefixed with
//!   `00 00 01`, emulation-prevention bytes kept.
//! - RASL pictures associated with an IRAP picture with NoRaslOutputFlag 1
//!   (a CRA first in the stream or after an end of sequence, a BLA) are not
//!   decoded (GStreamer and FFmpeg drop them): no request.
//! - Timestamps: one per picture in decode order (`base`, `base + step`, ...).
//! - Not handled: SEI pic_struct (field-coded streams: `field_pic` and
//!   `pic_struct` are 0), layers other than the base layer (ignored), more
//!   than 32 entry points in a slice (cros-codecs' limit: an error).

use cros_codecs::codec::h264::nalu::Header as _;
use cros_codecs::codec::h265::parser::{
    Nalu, NaluHeader, Parser, Pps as CrosPps, PredWeightTable as CrosPwt, ScalingLists,
    ShortTermRefPicSet, SliceHeader, SliceType as CrosSliceType, Sps as CrosSps,
};
use serde::{Deserialize, Serialize};
use zerocopy::FromZeros;

use super::annexb::{NalUnit, Splitter};
use super::{guard, BuildError};
use crate::hevc::{
    diag_scan, DecodeFlags, DecodeParams, DpbEntry, DpbEntryFlags, Pps, PpsFlags, PredWeightTable,
    ScalingMatrix, SliceFlags, SliceParams, Sps, SpsFlags, DPB_ENTRIES_NUM_MAX,
};

/// Index value of an unused `poc_*` / `ref_idx_*` slot.
pub const NO_REF: u8 = 0xff;

/// Visible rectangle inside the decoded picture (SPS conformance window).
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
    /// PicOrderCntVal.
    pub poc: i32,
    /// Output epoch: increases at each IRAP picture with NoRaslOutputFlag 1.
    /// Output order is (epoch, poc).
    pub epoch: u32,
    /// pic_output_flag (a picture with 0 is decoded, never shown).
    pub output: bool,
    /// Conformance window.
    pub crop: CropRect,
    /// pic_width_in_luma_samples.
    pub width: u32,
    /// pic_height_in_luma_samples.
    pub height: u32,
    /// BitDepthY.
    pub bit_depth_luma: u8,
    /// BitDepthC.
    pub bit_depth_chroma: u8,
    /// chroma_format_idc.
    pub chroma_format_idc: u8,
    /// sps_max_num_reorder_pics[HighestTid].
    pub max_num_reorder: u32,
}

/// One decode request: everything a frame-based stateless client submits for
/// one picture, in decode order.
#[derive(Debug, Clone, PartialEq)]
pub struct HevcPicture {
    /// `V4L2_CID_STATELESS_HEVC_SPS`.
    pub sps: Sps,
    /// `V4L2_CID_STATELESS_HEVC_PPS`.
    pub pps: Pps,
    /// `V4L2_CID_STATELESS_HEVC_SCALING_MATRIX` (raster order).
    pub scaling_matrix: ScalingMatrix,
    /// `V4L2_CID_STATELESS_HEVC_DECODE_PARAMS`.
    pub decode_params: DecodeParams,
    /// `V4L2_CID_STATELESS_HEVC_SLICE_PARAMS`, one per slice segment.
    pub slice_params: Vec<SliceParams>,
    /// `V4L2_CID_STATELESS_HEVC_ENTRY_POINT_OFFSETS`, all slices' in turn.
    pub entry_point_offsets: Vec<u32>,
    /// OUTPUT buffer bytes (Annex B, `00 00 01` per slice segment).
    pub bitstream: Vec<u8>,
    /// Timestamp (ns) of the CAPTURE buffer this picture decodes into.
    pub timestamp: u64,
    /// Display/output information.
    pub display: DisplayInfo,
    /// Index of this picture in decode order (requests), from 0.
    pub decode_index: u32,
    /// Stream offset of the first slice segment's NAL unit header.
    pub stream_offset: usize,
    /// RASL pictures skipped (not decodable) since the picture before.
    pub skipped_rasl_before: u32,
}

/// A decoded picture as the reference machinery sees it.
#[derive(Debug, Clone, Copy)]
struct RefPic {
    poc: i32,
    timestamp: u64,
    long_term: bool,
}

/// The RPS of the current picture, as DPB positions (None: no such picture).
#[derive(Debug, Default)]
struct Rps {
    st_curr_before: Vec<Option<usize>>,
    st_curr_after: Vec<Option<usize>>,
    lt_curr: Vec<Option<usize>>,
}

/// A picture whose slices are still arriving.
struct InProgress {
    pic: HevcPicture,
    /// Slice header of the last independent slice segment.
    last_independent: SliceHeader,
    /// The Curr sets, as positions in the builder's `refs`, which are also
    /// the picture's `decode_params.dpb` indices (it lists them all, in order).
    rps: Rps,
    sps: std::rc::Rc<CrosSps>,
    pps: std::rc::Rc<CrosPps>,
    temporal_id: u8,
    nal_type: u8,
}

/// Builds the per-picture controls of an H.265 Annex B stream.
pub struct HevcBuilder {
    parser: Parser,
    splitter: Splitter,
    /// Pictures marked as reference, in decode order.
    refs: Vec<RefPic>,
    cur: Option<InProgress>,
    /// PicOrderCntVal of prevTid0Pic (8.3.1).
    prev_tid0_poc: i32,
    /// The next picture is the first after the start or an end of sequence.
    first_after_eos: bool,
    /// The RASL pictures of the current IRAP are not decodable.
    skip_rasl: bool,
    skipped_rasl: u32,
    ts_base: u64,
    ts_step: u64,
    decode_index: u32,
    epoch: u32,
}

impl Default for HevcBuilder {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for HevcBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HevcBuilder")
            .field("decode_index", &self.decode_index)
            .field("refs", &self.refs.len())
            .finish_non_exhaustive()
    }
}

impl HevcBuilder {
    /// New builder, timestamps 1000, 2000, ... ns.
    pub fn new() -> Self {
        Self::with_timestamps(super::h264::DEFAULT_TS_BASE, super::h264::DEFAULT_TS_STEP)
    }

    /// New builder with CAPTURE timestamps `base + n * step` (ns; use multiples
    /// of 1000 so they survive the timeval conversion).
    pub fn with_timestamps(base: u64, step: u64) -> Self {
        HevcBuilder {
            parser: Parser::default(),
            splitter: Splitter::new(),
            refs: Vec::new(),
            cur: None,
            prev_tid0_poc: 0,
            first_after_eos: true,
            skip_rasl: false,
            skipped_rasl: 0,
            ts_base: base,
            ts_step: step.max(1),
            decode_index: 0,
            epoch: 0,
        }
    }

    /// Build every picture of a complete stream.
    pub fn build_stream(data: &[u8]) -> Result<Vec<HevcPicture>, BuildError> {
        Self::new().push_stream(data)
    }

    /// Feed stream bytes (any chunking); returns the pictures completed so far.
    pub fn push(&mut self, data: &[u8]) -> Result<Vec<HevcPicture>, BuildError> {
        let nals = self.splitter.push(data)?;
        let mut out = Vec::new();
        for n in &nals {
            self.handle_nal(n.as_nal(), &mut out)?;
        }
        Ok(out)
    }

    /// Feed a whole stream and flush: all its pictures.
    pub fn push_stream(&mut self, data: &[u8]) -> Result<Vec<HevcPicture>, BuildError> {
        let mut out = self.push(data)?;
        out.extend(self.finish()?);
        Ok(out)
    }

    /// End of stream: returns the last picture.
    pub fn finish(&mut self) -> Result<Vec<HevcPicture>, BuildError> {
        let mut out = Vec::new();
        for n in self.splitter.finish() {
            self.handle_nal(n.as_nal(), &mut out)?;
        }
        self.close_picture(&mut out);
        Ok(out)
    }

    fn handle_nal(
        &mut self,
        nal: NalUnit<'_>,
        out: &mut Vec<HevcPicture>,
    ) -> Result<(), BuildError> {
        let offset = nal.offset;
        let nal_type = nal.hevc_type();
        if nal.forbidden_bit() {
            return Err(BuildError::Stream {
                offset,
                msg: "forbidden_zero_bit is 1".into(),
            });
        }
        if nal.data.len() < 2 {
            return Err(BuildError::Parse {
                offset,
                nal_type,
                msg: "NAL unit shorter than its header".into(),
            });
        }
        // Only the base layer is decoded.
        if ((nal.data[0] & 1) << 5) | (nal.data[1] >> 3) != 0 {
            return Ok(());
        }
        let perr = |msg: String| BuildError::Parse {
            offset,
            nal_type,
            msg,
        };
        match nal_type {
            0..=9 | 16..=21 => self.handle_slice(nal, out),
            10..=15 | 22..=31 => Err(BuildError::Unsupported {
                offset,
                what: format!("reserved VCL nal_unit_type {nal_type}"),
            }),
            32..=34 => {
                self.close_picture(out);
                let n = make_nalu(nal).map_err(perr)?;
                guard(|| match nal_type {
                    32 => self.parser.parse_vps(&n).map(|_| ()),
                    33 => self.parser.parse_sps(&n).map(|_| ()),
                    _ => self.parser.parse_pps(&n).map(|_| ()),
                })
                .map_err(perr)
            }
            // AUD, prefix SEI: a new access unit starts.
            35 | 39 => {
                self.close_picture(out);
                Ok(())
            }
            // End of sequence / bitstream: the next picture starts anew.
            36 | 37 => {
                self.close_picture(out);
                self.first_after_eos = true;
                Ok(())
            }
            _ => Ok(()),
        }
    }

    fn close_picture(&mut self, out: &mut Vec<HevcPicture>) {
        if let Some(cur) = self.cur.take() {
            // 8.3.2: the current picture becomes a short-term reference.
            self.refs.push(RefPic {
                poc: cur.pic.display.poc,
                timestamp: cur.pic.timestamp,
                long_term: false,
            });
            // prevTid0Pic: TemporalId 0, not RASL, RADL or SLNR.
            if cur.temporal_id == 0 && !matches!(cur.nal_type, 6..=9) && !is_slnr(cur.nal_type) {
                self.prev_tid0_poc = cur.pic.display.poc;
            }
            out.push(cur.pic);
        }
    }

    fn handle_slice(
        &mut self,
        nal: NalUnit<'_>,
        out: &mut Vec<HevcPicture>,
    ) -> Result<(), BuildError> {
        let offset = nal.offset;
        let nal_type = nal.hevc_type();
        let perr = |msg: String| BuildError::Parse {
            offset,
            nal_type,
            msg,
        };
        let n = make_nalu(nal).map_err(perr)?;
        let temporal_id = n.header.nuh_temporal_id_plus1.saturating_sub(1);
        let mut hdr =
            guard(|| self.parser.parse_slice_header(n).map(|s| s.header)).map_err(perr)?;
        let pps = self
            .parser
            .get_pps(hdr.pic_parameter_set_id)
            .cloned()
            .ok_or_else(|| perr(format!("no PPS {}", hdr.pic_parameter_set_id)))?;

        if hdr.first_slice_segment_in_pic_flag {
            self.close_picture(out);
            let irap = (16..=23).contains(&nal_type);
            if irap {
                // NoRaslOutputFlag: IDR, BLA, first picture, first after EOS.
                let no_rasl = matches!(nal_type, 16..=20) || self.first_after_eos;
                self.skip_rasl = no_rasl;
            }
            if matches!(nal_type, 8 | 9) && self.skip_rasl {
                self.skipped_rasl += 1;
                return Ok(());
            }
            self.start_picture(nal, nal_type, temporal_id, &hdr, pps)?;
        } else {
            let Some(cur) = self.cur.as_ref() else {
                // A slice of a skipped RASL picture, or a stream that starts
                // mid-picture.
                if matches!(nal_type, 8 | 9) && self.skip_rasl {
                    return Ok(());
                }
                return Err(BuildError::Stream {
                    offset,
                    msg: "slice segment of a picture whose first slice is missing".into(),
                });
            };
            if hdr.dependent_slice_segment_flag {
                hdr = dependent_header(&cur.last_independent, &hdr);
            }
        }
        self.add_slice(nal, &hdr)
    }

    fn start_picture(
        &mut self,
        nal: NalUnit<'_>,
        nal_type: u8,
        temporal_id: u8,
        hdr: &SliceHeader,
        pps: std::rc::Rc<CrosPps>,
    ) -> Result<(), BuildError> {
        let offset = nal.offset;
        let sps = pps.sps.clone();
        let irap = (16..=23).contains(&nal_type);
        let idr = matches!(nal_type, 19 | 20);
        let no_rasl = irap && (matches!(nal_type, 16..=20) || self.first_after_eos);
        self.first_after_eos = false;

        // 8.3.1 picture order count.
        let max_lsb = 1i32 << (sps.log2_max_pic_order_cnt_lsb_minus4 + 4);
        let lsb = i32::from(hdr.pic_order_cnt_lsb);
        let msb = if no_rasl {
            0
        } else {
            let prev_lsb = self.prev_tid0_poc & (max_lsb - 1);
            let prev_msb = self.prev_tid0_poc - prev_lsb;
            if lsb < prev_lsb && prev_lsb - lsb >= max_lsb / 2 {
                prev_msb + max_lsb
            } else if lsb > prev_lsb && lsb - prev_lsb > max_lsb / 2 {
                prev_msb - max_lsb
            } else {
                prev_msb
            }
        };
        let poc = if idr { 0 } else { msb + lsb };
        if no_rasl {
            self.epoch += 1;
        }

        // 8.3.2 reference picture set.
        if no_rasl {
            self.refs.clear();
        }
        let rps = if idr {
            Rps::default()
        } else {
            self.apply_rps(&sps, hdr, poc, max_lsb, offset)?
        };

        let mut dp = DecodeParams {
            pic_order_cnt_val: poc,
            num_poc_st_curr_before: rps.st_curr_before.len() as u8,
            num_poc_st_curr_after: rps.st_curr_after.len() as u8,
            num_poc_lt_curr: rps.lt_curr.len() as u8,
            poc_st_curr_before: [NO_REF; DPB_ENTRIES_NUM_MAX],
            poc_st_curr_after: [NO_REF; DPB_ENTRIES_NUM_MAX],
            poc_lt_curr: [NO_REF; DPB_ENTRIES_NUM_MAX],
            ..Default::default()
        };
        if self.refs.len() > DPB_ENTRIES_NUM_MAX {
            return Err(BuildError::Stream {
                offset,
                msg: format!(
                    "{} reference pictures: more than the DPB holds",
                    self.refs.len()
                ),
            });
        }
        for (i, r) in self.refs.iter().enumerate() {
            dp.dpb[i] = DpbEntry {
                timestamp: r.timestamp,
                flags: if r.long_term {
                    DpbEntryFlags::LONG_TERM_REFERENCE
                } else {
                    DpbEntryFlags::empty()
                },
                pic_order_cnt_val: r.poc,
                ..Default::default()
            };
        }
        dp.num_active_dpb_entries = self.refs.len() as u8;
        for (dst, src) in [
            (&mut dp.poc_st_curr_before, &rps.st_curr_before),
            (&mut dp.poc_st_curr_after, &rps.st_curr_after),
            (&mut dp.poc_lt_curr, &rps.lt_curr),
        ] {
            for (d, s) in dst.iter_mut().zip(src) {
                *d = dpb_index(*s);
            }
        }
        if !idr {
            dp.short_term_ref_pic_set_size = st_rps_size(hdr);
            dp.long_term_ref_pic_set_size = lt_rps_size(&sps, hdr);
            dp.num_delta_pocs_of_ref_rps_idx = num_delta_pocs_of_ref_rps_idx(&sps, hdr);
        }
        if irap {
            dp.flags |= DecodeFlags::IRAP_PIC;
        }
        if idr {
            dp.flags |= DecodeFlags::IDR_PIC;
        }
        if hdr.no_output_of_prior_pics_flag {
            dp.flags |= DecodeFlags::NO_OUTPUT_OF_PRIOR;
        }

        let timestamp = self.ts_base + u64::from(self.decode_index) * self.ts_step;
        let highest = usize::from(sps.max_sub_layers_minus1);
        let (sub_w, sub_h) = match sps.chroma_format_idc {
            1 => (2, 2),
            2 => (2, 1),
            _ => (1, 1),
        };
        let crop = if sps.conformance_window_flag {
            let left = sub_w * sps.conf_win_left_offset;
            let top = sub_h * sps.conf_win_top_offset;
            CropRect {
                left,
                top,
                width: u32::from(sps.pic_width_in_luma_samples)
                    .saturating_sub(left + sub_w * sps.conf_win_right_offset),
                height: u32::from(sps.pic_height_in_luma_samples)
                    .saturating_sub(top + sub_h * sps.conf_win_bottom_offset),
            }
        } else {
            CropRect {
                left: 0,
                top: 0,
                width: u32::from(sps.pic_width_in_luma_samples),
                height: u32::from(sps.pic_height_in_luma_samples),
            }
        };
        let pic = HevcPicture {
            sps: sps_control(&sps),
            pps: pps_control(&pps),
            scaling_matrix: scaling_control(&sps, &pps),
            decode_params: dp,
            slice_params: Vec::new(),
            entry_point_offsets: Vec::new(),
            bitstream: Vec::new(),
            timestamp,
            display: DisplayInfo {
                poc,
                epoch: self.epoch,
                output: hdr.pic_output_flag && !(matches!(nal_type, 8 | 9) && no_rasl),
                crop,
                width: u32::from(sps.pic_width_in_luma_samples),
                height: u32::from(sps.pic_height_in_luma_samples),
                bit_depth_luma: sps.bit_depth_luma_minus8 + 8,
                bit_depth_chroma: sps.bit_depth_chroma_minus8 + 8,
                chroma_format_idc: sps.chroma_format_idc,
                max_num_reorder: u32::from(sps.max_num_reorder_pics[highest.min(6)]),
            },
            decode_index: self.decode_index,
            stream_offset: offset,
            skipped_rasl_before: std::mem::take(&mut self.skipped_rasl),
        };
        self.decode_index += 1;
        self.cur = Some(InProgress {
            pic,
            last_independent: hdr.clone(),
            rps,
            sps,
            pps,
            temporal_id,
            nal_type,
        });
        Ok(())
    }

    /// 8.3.2: derives the RPS of the current picture, marks the references
    /// (long-term ones, unused ones dropped) and returns the Curr sets as
    /// positions in `self.refs` after the marking.
    fn apply_rps(
        &mut self,
        sps: &CrosSps,
        hdr: &SliceHeader,
        poc: i32,
        max_lsb: i32,
        offset: usize,
    ) -> Result<Rps, BuildError> {
        let st = current_st_rps(sps, hdr);
        let mut before = Vec::new();
        let mut after = Vec::new();
        let mut st_foll = Vec::new();
        for i in 0..usize::from(st.num_negative_pics) {
            let p = poc + st.delta_poc_s0[i];
            if st.used_by_curr_pic_s0[i] {
                before.push(p);
            } else {
                st_foll.push(p);
            }
        }
        for i in 0..usize::from(st.num_positive_pics) {
            let p = poc + st.delta_poc_s1[i];
            if st.used_by_curr_pic_s1[i] {
                after.push(p);
            } else {
                st_foll.push(p);
            }
        }
        // Long-term entries: (POC or POC LSB, whether the MSB is known, used).
        let mut lt = Vec::new();
        let num_lt = usize::from(hdr.num_long_term_sps) + usize::from(hdr.num_long_term_pics);
        let mut msb_cycle = 0u32;
        for i in 0..num_lt.min(16) {
            if i == 0 || i == usize::from(hdr.num_long_term_sps) {
                msb_cycle = hdr.delta_poc_msb_cycle_lt[i];
            } else {
                msb_cycle += hdr.delta_poc_msb_cycle_lt[i];
            }
            let mut p = hdr.poc_lsb_lt[i] as i32;
            let full = hdr.delta_poc_msb_present_flag[i];
            if full {
                p += poc - (msb_cycle as i32) * max_lsb - (poc & (max_lsb - 1));
            }
            lt.push((p, full, hdr.used_by_curr_pic_lt[i]));
        }

        // Find each entry among the pictures marked as reference.
        let find_st =
            |refs: &[RefPic], p: i32| refs.iter().position(|r| !r.long_term && r.poc == p);
        let find_lt = |refs: &[RefPic], p: i32, full: bool| {
            refs.iter().position(|r| {
                if full {
                    r.poc == p
                } else {
                    (r.poc & (max_lsb - 1)) == p
                }
            })
        };
        let lt_found: Vec<Option<usize>> = lt
            .iter()
            .map(|&(p, full, _)| find_lt(&self.refs, p, full))
            .collect();
        let mut keep = vec![false; self.refs.len()];
        let mut long = vec![false; self.refs.len()];
        for &f in lt_found.iter().flatten() {
            keep[f] = true;
            long[f] = true;
        }
        let before_found: Vec<Option<usize>> =
            before.iter().map(|&p| find_st(&self.refs, p)).collect();
        let after_found: Vec<Option<usize>> =
            after.iter().map(|&p| find_st(&self.refs, p)).collect();
        for &f in before_found.iter().chain(&after_found).flatten() {
            keep[f] = true;
        }
        for p in &st_foll {
            if let Some(f) = find_st(&self.refs, *p) {
                keep[f] = true;
            }
        }
        let missing: Vec<i32> = before
            .iter()
            .zip(&before_found)
            .chain(after.iter().zip(&after_found))
            .filter(|(_, f)| f.is_none())
            .map(|(p, _)| *p)
            .chain(
                lt.iter()
                    .zip(&lt_found)
                    .filter(|((_, _, used), f)| *used && f.is_none())
                    .map(|((p, _, _), _)| *p),
            )
            .collect();
        if !missing.is_empty() {
            return Err(BuildError::Stream {
                offset,
                msg: format!("reference picture(s) with POC {missing:?} are not in the DPB"),
            });
        }

        // Marking: long-term ones, then everything not in the RPS goes.
        let mut new_pos = vec![None; self.refs.len()];
        let mut kept = Vec::new();
        for (i, r) in self.refs.iter().enumerate() {
            if keep[i] {
                new_pos[i] = Some(kept.len());
                kept.push(RefPic {
                    long_term: r.long_term || long[i],
                    ..*r
                });
            }
        }
        self.refs = kept;
        let remap = |v: &[Option<usize>]| v.iter().map(|f| f.and_then(|f| new_pos[f])).collect();
        let lt_curr: Vec<Option<usize>> = lt
            .iter()
            .zip(&lt_found)
            .filter(|((_, _, used), _)| *used)
            .map(|(_, f)| f.and_then(|f| new_pos[f]))
            .collect();
        Ok(Rps {
            st_curr_before: remap(&before_found),
            st_curr_after: remap(&after_found),
            lt_curr,
        })
    }

    fn add_slice(&mut self, nal: NalUnit<'_>, hdr: &SliceHeader) -> Result<(), BuildError> {
        let cur = self.cur.as_mut().expect("a picture in progress");
        if !hdr.dependent_slice_segment_flag {
            cur.last_independent = hdr.clone();
        }
        let (l0, l1) = ref_pic_lists(hdr, &cur.rps);
        let mut sp = SliceParams {
            bit_size: ((nal.data.len() + 3) * 8) as u32,
            data_byte_offset: hdr.header_bit_size / 8 + 3,
            num_entry_point_offsets: hdr.num_entry_point_offsets,
            nal_unit_type: nal.hevc_type(),
            nuh_temporal_id_plus1: cur.temporal_id + 1,
            slice_type: hdr.type_ as u8,
            colour_plane_id: hdr.colour_plane_id,
            slice_pic_order_cnt: cur.pic.display.poc,
            num_ref_idx_l0_active_minus1: hdr.num_ref_idx_l0_active_minus1,
            num_ref_idx_l1_active_minus1: hdr.num_ref_idx_l1_active_minus1,
            collocated_ref_idx: hdr.collocated_ref_idx,
            five_minus_max_num_merge_cand: hdr.five_minus_max_num_merge_cand,
            slice_qp_delta: hdr.qp_delta,
            slice_cb_qp_offset: hdr.cb_qp_offset,
            slice_cr_qp_offset: hdr.cr_qp_offset,
            slice_act_y_qp_offset: hdr.slice_act_y_qp_offset,
            slice_act_cb_qp_offset: hdr.slice_act_cb_qp_offset,
            slice_act_cr_qp_offset: hdr.slice_act_cr_qp_offset,
            slice_beta_offset_div2: hdr.beta_offset_div2,
            slice_tc_offset_div2: hdr.tc_offset_div2,
            slice_segment_addr: hdr.segment_address,
            ref_idx_l0: [NO_REF; DPB_ENTRIES_NUM_MAX],
            ref_idx_l1: [NO_REF; DPB_ENTRIES_NUM_MAX],
            ..Default::default()
        };
        for (d, p) in sp.ref_idx_l0.iter_mut().zip(&l0) {
            *d = dpb_index(*p);
        }
        for (d, p) in sp.ref_idx_l1.iter_mut().zip(&l1) {
            *d = dpb_index(*p);
        }
        // IDR slice headers carry neither RPS block: both sizes stay 0.
        let idr = matches!(nal.hevc_type(), 19 | 20);
        if !hdr.dependent_slice_segment_flag && !idr {
            sp.short_term_ref_pic_set_size = st_rps_size(hdr);
            sp.long_term_ref_pic_set_size = lt_rps_size(&cur.sps, hdr);
        }
        sp.pred_weight_table = pred_weights(&cur.sps, &cur.pps, hdr);
        let flags = [
            (hdr.sao_luma_flag, SliceFlags::SLICE_SAO_LUMA),
            (hdr.sao_chroma_flag, SliceFlags::SLICE_SAO_CHROMA),
            (
                hdr.temporal_mvp_enabled_flag,
                SliceFlags::SLICE_TEMPORAL_MVP_ENABLED,
            ),
            (hdr.mvd_l1_zero_flag, SliceFlags::MVD_L1_ZERO),
            (hdr.cabac_init_flag, SliceFlags::CABAC_INIT),
            (hdr.collocated_from_l0_flag, SliceFlags::COLLOCATED_FROM_L0),
            (hdr.use_integer_mv_flag, SliceFlags::USE_INTEGER_MV),
            (
                hdr.deblocking_filter_disabled_flag,
                SliceFlags::SLICE_DEBLOCKING_FILTER_DISABLED,
            ),
            (
                hdr.loop_filter_across_slices_enabled_flag,
                SliceFlags::SLICE_LOOP_FILTER_ACROSS_SLICES_ENABLED,
            ),
            (
                hdr.dependent_slice_segment_flag,
                SliceFlags::DEPENDENT_SLICE_SEGMENT,
            ),
        ];
        for (on, f) in flags {
            if on {
                sp.flags |= f;
            }
        }
        let n = hdr.num_entry_point_offsets as usize;
        cur.pic.entry_point_offsets.extend(
            hdr.entry_point_offset_minus1[..n.min(hdr.entry_point_offset_minus1.len())]
                .iter()
                .map(|o| o + 1),
        );
        cur.pic.slice_params.push(sp);
        cur.pic.bitstream.extend_from_slice(&[0, 0, 1]);
        cur.pic.bitstream.extend_from_slice(nal.data);
        Ok(())
    }
}

/// A reference's `dpb` index (its position in the builder's `refs`), NO_REF
/// for none.
fn dpb_index(pos: Option<usize>) -> u8 {
    pos.map_or(NO_REF, |p| p as u8)
}

/// SLNR: a sub-layer non-reference picture (even nal_unit_type below 16).
fn is_slnr(nal_type: u8) -> bool {
    nal_type < 16 && nal_type.is_multiple_of(2)
}

/// cros-codecs NAL unit over our NAL bytes (no start code).
fn make_nalu(nal: NalUnit<'_>) -> Result<Nalu<'_>, String> {
    if nal.data.len() < 3 {
        return Err("NAL unit has no payload".into());
    }
    let mut cursor = std::io::Cursor::new(nal.data);
    let header = NaluHeader::parse(&mut cursor)?;
    Ok(Nalu {
        header,
        data: std::borrow::Cow::Borrowed(nal.data),
        size: nal.data.len(),
        offset: 0,
    })
}

/// A dependent slice segment's header: the independent one's values
/// (7.4.7.1), with its own address and entry points.
fn dependent_header(independent: &SliceHeader, own: &SliceHeader) -> SliceHeader {
    SliceHeader {
        first_slice_segment_in_pic_flag: false,
        dependent_slice_segment_flag: true,
        segment_address: own.segment_address,
        num_entry_point_offsets: own.num_entry_point_offsets,
        offset_len_minus1: own.offset_len_minus1,
        entry_point_offset_minus1: own.entry_point_offset_minus1,
        header_bit_size: own.header_bit_size,
        n_emulation_prevention_bytes: own.n_emulation_prevention_bytes,
        st_rps_bits: 0,
        ..independent.clone()
    }
}

/// The short-term RPS the current picture uses.
fn current_st_rps<'a>(sps: &'a CrosSps, hdr: &'a SliceHeader) -> &'a ShortTermRefPicSet {
    if hdr.short_term_ref_pic_set_sps_flag {
        sps.short_term_ref_pic_set
            .get(usize::from(hdr.short_term_ref_pic_set_idx))
            .unwrap_or(&hdr.short_term_ref_pic_set)
    } else {
        &hdr.short_term_ref_pic_set
    }
}

/// RBSP bits of the slice's own st_ref_pic_set() (0 when an SPS set is used).
fn st_rps_size(hdr: &SliceHeader) -> u16 {
    if hdr.short_term_ref_pic_set_sps_flag {
        0
    } else {
        hdr.st_rps_bits as u16
    }
}

/// Bits of ue(v) coding `v`.
fn ue_bits(v: u32) -> u32 {
    2 * (32 - (v + 1).leading_zeros() - 1) + 1
}

/// Ceil(Log2(n)).
fn ceil_log2(n: u32) -> u32 {
    if n <= 1 {
        0
    } else {
        32 - (n - 1).leading_zeros()
    }
}

/// RBSP bits of the slice header's long-term block (from num_long_term_sps
/// to the last delta_poc_msb_cycle_lt), 0 without long-term pictures.
fn lt_rps_size(sps: &CrosSps, hdr: &SliceHeader) -> u16 {
    if !sps.long_term_ref_pics_present_flag {
        return 0;
    }
    let mut bits = 0;
    if sps.num_long_term_ref_pics_sps > 0 {
        bits += ue_bits(u32::from(hdr.num_long_term_sps));
    }
    bits += ue_bits(u32::from(hdr.num_long_term_pics));
    let num_lt = usize::from(hdr.num_long_term_sps) + usize::from(hdr.num_long_term_pics);
    for i in 0..num_lt.min(16) {
        if i < usize::from(hdr.num_long_term_sps) {
            bits += ceil_log2(u32::from(sps.num_long_term_ref_pics_sps));
        } else {
            bits += u32::from(sps.log2_max_pic_order_cnt_lsb_minus4) + 4 + 1;
        }
        bits += 1;
        if hdr.delta_poc_msb_present_flag[i] {
            bits += ue_bits(hdr.delta_poc_msb_cycle_lt[i]);
        }
    }
    bits as u16
}

/// NumDeltaPocs[RefRpsIdx] of a slice-coded RPS predicted from an SPS set.
fn num_delta_pocs_of_ref_rps_idx(sps: &CrosSps, hdr: &SliceHeader) -> u8 {
    let st = &hdr.short_term_ref_pic_set;
    if hdr.short_term_ref_pic_set_sps_flag || !st.inter_ref_pic_set_prediction_flag {
        return 0;
    }
    let idx = usize::from(sps.num_short_term_ref_pic_sets)
        .checked_sub(usize::from(st.delta_idx_minus1) + 1);
    idx.and_then(|i| sps.short_term_ref_pic_set.get(i))
        .map_or(0, |r| r.num_delta_pocs as u8)
}

/// 8.3.4: RefPicList0/1 as positions (None: no picture), built from the RPS
/// Curr sets and the slice's list modification.
fn ref_pic_lists(hdr: &SliceHeader, rps: &Rps) -> (Vec<Option<usize>>, Vec<Option<usize>>) {
    let build =
        |first: &[Option<usize>], second: &[Option<usize>], n: usize, entries: Option<&[u32]>| {
            let total = first.len() + second.len() + rps.lt_curr.len();
            if total == 0 {
                return Vec::new();
            }
            let len = n.max(total);
            let temp: Vec<Option<usize>> = first
                .iter()
                .chain(second)
                .chain(&rps.lt_curr)
                .copied()
                .cycle()
                .take(len)
                .collect();
            (0..n)
                .map(|i| {
                    let j = entries.and_then(|e| e.get(i)).map_or(i, |&e| e as usize);
                    temp.get(j).copied().flatten()
                })
                .collect()
        };
    let m = &hdr.ref_pic_list_modification;
    let l0 = if matches!(hdr.type_, CrosSliceType::P | CrosSliceType::B) {
        build(
            &rps.st_curr_before,
            &rps.st_curr_after,
            usize::from(hdr.num_ref_idx_l0_active_minus1) + 1,
            m.ref_pic_list_modification_flag_l0
                .then_some(m.list_entry_l0.as_slice()),
        )
    } else {
        Vec::new()
    };
    let l1 = if matches!(hdr.type_, CrosSliceType::B) {
        build(
            &rps.st_curr_after,
            &rps.st_curr_before,
            usize::from(hdr.num_ref_idx_l1_active_minus1) + 1,
            m.ref_pic_list_modification_flag_l1
                .then_some(m.list_entry_l1.as_slice()),
        )
    } else {
        Vec::new()
    };
    (l0, l1)
}

fn sps_control(s: &CrosSps) -> Sps {
    let mut flags = SpsFlags::empty();
    for (on, f) in [
        (
            s.separate_colour_plane_flag,
            SpsFlags::SEPARATE_COLOUR_PLANE,
        ),
        (s.scaling_list_enabled_flag, SpsFlags::SCALING_LIST_ENABLED),
        (s.amp_enabled_flag, SpsFlags::AMP_ENABLED),
        (
            s.sample_adaptive_offset_enabled_flag,
            SpsFlags::SAMPLE_ADAPTIVE_OFFSET,
        ),
        (
            s.long_term_ref_pics_present_flag,
            SpsFlags::LONG_TERM_REF_PICS_PRESENT,
        ),
        (
            s.temporal_mvp_enabled_flag,
            SpsFlags::SPS_TEMPORAL_MVP_ENABLED,
        ),
        (
            s.strong_intra_smoothing_enabled_flag,
            SpsFlags::STRONG_INTRA_SMOOTHING_ENABLED,
        ),
    ] {
        if on {
            flags |= f;
        }
    }
    let mut c = Sps {
        video_parameter_set_id: s.video_parameter_set_id,
        seq_parameter_set_id: s.seq_parameter_set_id,
        pic_width_in_luma_samples: s.pic_width_in_luma_samples,
        pic_height_in_luma_samples: s.pic_height_in_luma_samples,
        bit_depth_luma_minus8: s.bit_depth_luma_minus8,
        bit_depth_chroma_minus8: s.bit_depth_chroma_minus8,
        log2_max_pic_order_cnt_lsb_minus4: s.log2_max_pic_order_cnt_lsb_minus4,
        sps_max_dec_pic_buffering_minus1: s.max_dec_pic_buffering_minus1[0],
        sps_max_num_reorder_pics: s.max_num_reorder_pics[0],
        sps_max_latency_increase_plus1: s.max_latency_increase_plus1[0],
        log2_min_luma_coding_block_size_minus3: s.log2_min_luma_coding_block_size_minus3,
        log2_diff_max_min_luma_coding_block_size: s.log2_diff_max_min_luma_coding_block_size,
        log2_min_luma_transform_block_size_minus2: s.log2_min_luma_transform_block_size_minus2,
        log2_diff_max_min_luma_transform_block_size: s.log2_diff_max_min_luma_transform_block_size,
        max_transform_hierarchy_depth_inter: s.max_transform_hierarchy_depth_inter,
        max_transform_hierarchy_depth_intra: s.max_transform_hierarchy_depth_intra,
        num_short_term_ref_pic_sets: s.num_short_term_ref_pic_sets,
        num_long_term_ref_pics_sps: s.num_long_term_ref_pics_sps,
        chroma_format_idc: s.chroma_format_idc,
        sps_max_sub_layers_minus1: s.max_sub_layers_minus1,
        flags,
        ..Default::default()
    };
    if s.pcm_enabled_flag {
        c.flags |= SpsFlags::PCM_ENABLED;
        if s.pcm_loop_filter_disabled_flag {
            c.flags |= SpsFlags::PCM_LOOP_FILTER_DISABLED;
        }
        c.pcm_sample_bit_depth_luma_minus1 = s.pcm_sample_bit_depth_luma_minus1;
        c.pcm_sample_bit_depth_chroma_minus1 = s.pcm_sample_bit_depth_chroma_minus1;
        c.log2_min_pcm_luma_coding_block_size_minus3 = s.log2_min_pcm_luma_coding_block_size_minus3;
        c.log2_diff_max_min_pcm_luma_coding_block_size =
            s.log2_diff_max_min_pcm_luma_coding_block_size;
    }
    c
}

/// Tile sizes in CTBs (6-3, 6-4) as `minus1` values, the last one included.
fn tile_sizes(total: u32, n: usize, uniform: bool, coded: &[u32]) -> Vec<u8> {
    let n32 = n as u32;
    if uniform {
        return (0..n32)
            .map(|i| (((i + 1) * total) / n32 - (i * total) / n32).saturating_sub(1) as u8)
            .collect();
    }
    let mut v: Vec<u8> = coded.iter().take(n - 1).map(|&w| w as u8).collect();
    let used: u32 = coded.iter().take(n - 1).map(|&w| w + 1).sum();
    v.push(total.saturating_sub(used).saturating_sub(1) as u8);
    v
}

fn pps_control(p: &CrosPps) -> Pps {
    let mut flags = PpsFlags::empty();
    for (on, f) in [
        (
            p.dependent_slice_segments_enabled_flag,
            PpsFlags::DEPENDENT_SLICE_SEGMENT_ENABLED,
        ),
        (p.output_flag_present_flag, PpsFlags::OUTPUT_FLAG_PRESENT),
        (
            p.sign_data_hiding_enabled_flag,
            PpsFlags::SIGN_DATA_HIDING_ENABLED,
        ),
        (p.cabac_init_present_flag, PpsFlags::CABAC_INIT_PRESENT),
        (
            p.constrained_intra_pred_flag,
            PpsFlags::CONSTRAINED_INTRA_PRED,
        ),
        (
            p.transform_skip_enabled_flag,
            PpsFlags::TRANSFORM_SKIP_ENABLED,
        ),
        (p.cu_qp_delta_enabled_flag, PpsFlags::CU_QP_DELTA_ENABLED),
        (
            p.slice_chroma_qp_offsets_present_flag,
            PpsFlags::PPS_SLICE_CHROMA_QP_OFFSETS_PRESENT,
        ),
        (p.weighted_pred_flag, PpsFlags::WEIGHTED_PRED),
        (p.weighted_bipred_flag, PpsFlags::WEIGHTED_BIPRED),
        (
            p.transquant_bypass_enabled_flag,
            PpsFlags::TRANSQUANT_BYPASS_ENABLED,
        ),
        (p.tiles_enabled_flag, PpsFlags::TILES_ENABLED),
        (
            p.entropy_coding_sync_enabled_flag,
            PpsFlags::ENTROPY_CODING_SYNC_ENABLED,
        ),
        // Inferred 1 without tiles (GStreamer's parser leaves it so).
        (
            !p.tiles_enabled_flag || p.loop_filter_across_tiles_enabled_flag,
            PpsFlags::LOOP_FILTER_ACROSS_TILES_ENABLED,
        ),
        (
            p.loop_filter_across_slices_enabled_flag,
            PpsFlags::PPS_LOOP_FILTER_ACROSS_SLICES_ENABLED,
        ),
        (
            p.deblocking_filter_override_enabled_flag,
            PpsFlags::DEBLOCKING_FILTER_OVERRIDE_ENABLED,
        ),
        (
            p.deblocking_filter_disabled_flag,
            PpsFlags::PPS_DISABLE_DEBLOCKING_FILTER,
        ),
        (
            p.lists_modification_present_flag,
            PpsFlags::LISTS_MODIFICATION_PRESENT,
        ),
        (
            p.slice_segment_header_extension_present_flag,
            PpsFlags::SLICE_SEGMENT_HEADER_EXTENSION_PRESENT,
        ),
        (
            p.deblocking_filter_control_present_flag,
            PpsFlags::DEBLOCKING_FILTER_CONTROL_PRESENT,
        ),
        (
            !p.tiles_enabled_flag || p.uniform_spacing_flag,
            PpsFlags::UNIFORM_SPACING,
        ),
    ] {
        if on {
            flags |= f;
        }
    }
    let mut c = Pps {
        pic_parameter_set_id: p.pic_parameter_set_id,
        num_extra_slice_header_bits: p.num_extra_slice_header_bits,
        num_ref_idx_l0_default_active_minus1: p.num_ref_idx_l0_default_active_minus1,
        num_ref_idx_l1_default_active_minus1: p.num_ref_idx_l1_default_active_minus1,
        init_qp_minus26: p.init_qp_minus26,
        diff_cu_qp_delta_depth: if p.cu_qp_delta_enabled_flag {
            p.diff_cu_qp_delta_depth
        } else {
            0
        },
        pps_cb_qp_offset: p.cb_qp_offset,
        pps_cr_qp_offset: p.cr_qp_offset,
        pps_beta_offset_div2: p.beta_offset_div2,
        pps_tc_offset_div2: p.tc_offset_div2,
        log2_parallel_merge_level_minus2: p.log2_parallel_merge_level_minus2,
        flags,
        ..Default::default()
    };
    if p.tiles_enabled_flag {
        c.num_tile_columns_minus1 = p.num_tile_columns_minus1;
        c.num_tile_rows_minus1 = p.num_tile_rows_minus1;
        let cols = tile_sizes(
            p.sps.pic_width_in_ctbs_y,
            usize::from(p.num_tile_columns_minus1) + 1,
            p.uniform_spacing_flag,
            &p.column_width_minus1,
        );
        let rows = tile_sizes(
            p.sps.pic_height_in_ctbs_y,
            usize::from(p.num_tile_rows_minus1) + 1,
            p.uniform_spacing_flag,
            &p.row_height_minus1,
        );
        for (d, s) in c.column_width_minus1.iter_mut().zip(cols) {
            *d = s;
        }
        for (d, s) in c.row_height_minus1.iter_mut().zip(rows) {
            *d = s;
        }
    }
    c
}

fn to_raster<const N: usize>(coded: &[u8; N], blk: usize, scan: &[(usize, usize)]) -> [u8; N] {
    let mut r = [0u8; N];
    for (i, &(x, y)) in scan.iter().enumerate() {
        r[y * blk + x] = coded[i];
    }
    r
}

fn scaling_control(sps: &CrosSps, pps: &CrosPps) -> ScalingMatrix {
    let mut m = ScalingMatrix::new_zeroed();
    if !sps.scaling_list_enabled_flag {
        return m;
    }
    let sl: &ScalingLists =
        if pps.scaling_list_data_present_flag || !sps.scaling_list_data_present_flag {
            // The PPS's own lists, or the defaults cros-codecs fills it with.
            &pps.scaling_list
        } else {
            &sps.scaling_list
        };
    let s4 = diag_scan(4);
    let s8 = diag_scan(8);
    for i in 0..6 {
        m.scaling_list_4x4[i] = to_raster(&sl.scaling_list_4x4[i], 4, &s4);
        m.scaling_list_8x8[i] = to_raster(&sl.scaling_list_8x8[i], 8, &s8);
        m.scaling_list_16x16[i] = to_raster(&sl.scaling_list_16x16[i], 8, &s8);
        m.scaling_list_dc_coef_16x16[i] = (sl.scaling_list_dc_coef_minus8_16x16[i] + 8) as u8;
    }
    for (i, id) in [0usize, 3].into_iter().enumerate() {
        m.scaling_list_32x32[i] = to_raster(&sl.scaling_list_32x32[id], 8, &s8);
        m.scaling_list_dc_coef_32x32[i] = (sl.scaling_list_dc_coef_minus8_32x32[id] + 8) as u8;
    }
    m
}

/// The pred weight table as GStreamer fills it: coded luma values, chroma
/// weights as coded, chroma offsets as ChromaOffset (7-56), zero for lists
/// the slice does not weight.
fn pred_weights(sps: &CrosSps, pps: &CrosPps, hdr: &SliceHeader) -> PredWeightTable {
    let w: &CrosPwt = &hdr.pred_weight_table;
    let mut t = PredWeightTable {
        luma_log2_weight_denom: w.luma_log2_weight_denom,
        delta_chroma_log2_weight_denom: w.delta_chroma_log2_weight_denom,
        ..Default::default()
    };
    let weighted = match hdr.type_ {
        CrosSliceType::P => pps.weighted_pred_flag,
        CrosSliceType::B => pps.weighted_bipred_flag,
        CrosSliceType::I => false,
    };
    if !weighted {
        return t;
    }
    let chroma_denom =
        i32::from(w.luma_log2_weight_denom) + i32::from(w.delta_chroma_log2_weight_denom);
    let chroma_offset = |dw: i8, doff: i16| {
        let weight = (1i32 << chroma_denom) + i32::from(dw);
        let off = 128 + i32::from(doff) - ((128 * weight) >> chroma_denom);
        off.clamp(-128, 127) as i8
    };
    let n0 = usize::from(hdr.num_ref_idx_l0_active_minus1) + 1;
    for i in 0..n0.min(15) {
        if w.luma_weight_l0_flag[i] {
            t.delta_luma_weight_l0[i] = w.delta_luma_weight_l0[i];
            t.luma_offset_l0[i] = w.luma_offset_l0[i];
        }
        if sps.chroma_array_type != 0 && w.chroma_weight_l0_flag[i] {
            for j in 0..2 {
                t.delta_chroma_weight_l0[i][j] = w.delta_chroma_weight_l0[i][j];
                t.chroma_offset_l0[i][j] = chroma_offset(
                    w.delta_chroma_weight_l0[i][j],
                    w.delta_chroma_offset_l0[i][j],
                );
            }
        }
    }
    if matches!(hdr.type_, CrosSliceType::B) {
        let n1 = usize::from(hdr.num_ref_idx_l1_active_minus1) + 1;
        for i in 0..n1.min(15) {
            if w.luma_weight_l1_flag[i] {
                t.delta_luma_weight_l1[i] = w.delta_luma_weight_l1[i];
                t.luma_offset_l1[i] = w.luma_offset_l1[i];
            }
            if sps.chroma_array_type != 0 && w.chroma_weight_l1_flag[i] {
                for j in 0..2 {
                    t.delta_chroma_weight_l1[i][j] = w.delta_chroma_weight_l1[i][j];
                    t.chroma_offset_l1[i][j] = chroma_offset(
                        w.delta_chroma_weight_l1[i][j],
                        w.delta_chroma_offset_l1[i][j],
                    );
                }
            }
        }
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diagonal_scan_4x4_is_the_spec_order() {
        // 6.5.3 for blkSize 4: (0,0) (0,1) (1,0) (0,2) (1,1) (2,0) ...
        let s = diag_scan(4);
        assert_eq!(&s[..6], &[(0, 0), (0, 1), (1, 0), (0, 2), (1, 1), (2, 0)]);
        assert_eq!(s[15], (3, 3));
        let mut all = s.clone();
        all.sort_unstable();
        all.dedup();
        assert_eq!(all.len(), 16);
    }

    #[test]
    fn default_8x8_intra_list_in_raster_order() {
        // Table 7-6 (intra, diagonal order); in raster order it is the
        // symmetric default intra matrix whose first row is
        // 16 16 16 16 17 18 21 24 and whose last element is 115.
        let coded: [u8; 64] = [
            16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 17, 16, 17, 16, 17, 18, 17, 18, 18, 17, 18, 21,
            19, 20, 21, 20, 19, 21, 24, 22, 22, 24, 24, 22, 22, 24, 25, 25, 27, 30, 27, 25, 25, 29,
            31, 35, 35, 31, 29, 36, 41, 44, 41, 36, 47, 54, 54, 47, 65, 70, 65, 88, 88, 115,
        ];
        let r = to_raster(&coded, 8, &diag_scan(8));
        assert_eq!(&r[..8], &[16, 16, 16, 16, 17, 18, 21, 24]);
        assert_eq!(&r[56..], &[24, 25, 29, 36, 47, 65, 88, 115]);
        for y in 0..8 {
            for x in 0..8 {
                assert_eq!(r[y * 8 + x], r[x * 8 + y], "symmetric at ({x}, {y})");
            }
        }
    }

    #[test]
    fn bit_counts() {
        assert_eq!(ue_bits(0), 1);
        assert_eq!(ue_bits(1), 3);
        assert_eq!(ue_bits(2), 3);
        assert_eq!(ue_bits(3), 5);
        assert_eq!(ceil_log2(1), 0);
        assert_eq!(ceil_log2(2), 1);
        assert_eq!(ceil_log2(3), 2);
        assert_eq!(ceil_log2(32), 5);
    }

    #[test]
    fn tile_sizes_uniform_and_explicit() {
        // 30 CTBs in 4 uniform columns: 7 8 7 8 CTBs.
        assert_eq!(tile_sizes(30, 4, true, &[]), vec![6, 7, 6, 7]);
        // Explicit 5 and 10, the last one derived: 30 - 15 = 15.
        assert_eq!(tile_sizes(30, 3, false, &[4, 9]), vec![4, 9, 14]);
    }

    #[test]
    fn ref_lists_cycle_through_the_curr_sets() {
        let rps = Rps {
            st_curr_before: vec![Some(2), Some(1)],
            st_curr_after: vec![Some(3)],
            lt_curr: vec![Some(0)],
        };
        let hdr = SliceHeader {
            type_: CrosSliceType::B,
            num_ref_idx_l0_active_minus1: 5,
            num_ref_idx_l1_active_minus1: 1,
            ..Default::default()
        };
        let (l0, l1) = ref_pic_lists(&hdr, &rps);
        let s = |v: &[usize]| v.iter().map(|&x| Some(x)).collect::<Vec<_>>();
        assert_eq!(l0, s(&[2, 1, 3, 0, 2, 1]));
        assert_eq!(l1, s(&[3, 2]));
    }
}
