//! AV1 IVF stream (low-overhead OBU format) -> per-frame V4L2 stateless
//! controls, OUTPUT bytes and CAPTURE timestamps, as GStreamer 1.26's
//! `v4l2slav1dec` fills them.
//!
//! OBUs, sequence headers, frame headers and tile groups are parsed by
//! cros-codecs (wrapped so a parser panic is an error); the reference slot
//! mirror (which CAPTURE timestamp each of the 8 slots holds) is kept here.
//!
//! Conventions:
//! - One request per frame (frame header + all its tile groups). A frame
//!   header with `show_existing_frame` gives no request but an
//!   [`Av1Event::ShowExisting`] with the timestamp of the shown slot; when the
//!   shown frame is a key frame every slot is refreshed with it (spec 7.21).
//! - OUTPUT bytes: the payloads of the frame's tile group OBUs (for an
//!   OBU_FRAME, the bytes after the frame header's byte alignment), without
//!   OBU headers or size fields, concatenated in stream order. Each
//!   TILE_GROUP_ENTRY's `tile_offset` is relative to the start of OUTPUT and
//!   points at the tile data (after the tile_size_minus_1 field),
//!   `tile_size` is the tile data size.
//! - `reference_frame_ts[i]`: timestamp of the frame in slot i (0 if empty).
//! - `global_motion.invalid` bit i (i = LAST_FRAME..ALTREF_FRAME) is set when
//!   the warp model of reference i fails the shear check (!warpValid).
//! - `superres_denom` = SuperresDenom (8 when superres is off), as GStreamer.
//! - FILM_GRAIN is returned for every frame of a sequence with
//!   film_grain_params_present.
//! - Timestamps: `base`, `base + step`, ... one per request in decode order.

use cros_codecs::codec::av1::parser::{
    BitDepth, FrameHeaderObu, FrameType as CrosFrameType, ObuAction, ParsedObu, Parser,
    SequenceHeaderObu, TileGroupObu,
};
use serde::{Deserialize, Serialize};

use super::ivf::{self, guarded, IvfBuildError};
use crate::av1::{
    FilmGrain, FilmGrainFlags, Frame, FrameFlags, GlobalMotionFlags, LoopFilterFlags,
    LoopRestorationFlags, QuantizationFlags, SegmentationFlags, Sequence, SequenceFlags,
    TileGroupEntry, TileInfoFlags, MAX_TILE_COUNT,
};

/// Errors, each with the byte offset in the IVF file where it was found.
pub type Av1BuildError = IvfBuildError;

/// What a player needs to present the frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Av1Display {
    /// show_frame.
    pub shown: bool,
    /// showable_frame.
    pub showable: bool,
    /// Upscaled width x frame height.
    pub width: u32,
    /// Frame height.
    pub height: u32,
    /// Render size.
    pub render_width: u32,
    /// Render size.
    pub render_height: u32,
    /// BitDepth.
    pub bit_depth: u8,
}

/// One decode request.
#[derive(Debug, Clone, PartialEq)]
pub struct Av1Request {
    /// `V4L2_CID_STATELESS_AV1_SEQUENCE`.
    pub sequence: Sequence,
    /// `V4L2_CID_STATELESS_AV1_FRAME`.
    pub frame: Frame,
    /// `V4L2_CID_STATELESS_AV1_FILM_GRAIN` (sequences with film grain params).
    pub film_grain: Option<FilmGrain>,
    /// `V4L2_CID_STATELESS_AV1_TILE_GROUP_ENTRY`, one per tile.
    pub tiles: Vec<TileGroupEntry>,
    /// OUTPUT buffer bytes (tile group payloads).
    pub bitstream: Vec<u8>,
    /// CAPTURE timestamp (ns).
    pub timestamp: u64,
    /// Display information.
    pub display: Av1Display,
    /// Index in decode order (requests), from 0.
    pub decode_index: u32,
    /// IVF frame (temporal unit) index.
    pub ivf_index: usize,
    /// Offset of the frame (or frame header) OBU in the file.
    pub stream_offset: usize,
}

/// What the stream asks for, in order.
#[derive(Debug, Clone, PartialEq)]
pub enum Av1Event {
    /// Decode a frame.
    Decode(Box<Av1Request>),
    /// show_existing_frame: display the CAPTURE buffer with this timestamp again.
    ShowExisting {
        /// Timestamp of the shown frame's CAPTURE buffer.
        timestamp: u64,
        /// frame_to_show_map_idx.
        slot: u8,
        /// The shown frame is a key frame (all slots now hold it).
        key_frame: bool,
        /// IVF frame index.
        ivf_index: usize,
        /// Offset of the frame header OBU in the file.
        stream_offset: usize,
    },
}

/// A frame whose tile groups are being collected.
struct Pending {
    header: FrameHeaderObu,
    tiles: Vec<TileGroupEntry>,
    bitstream: Vec<u8>,
    ivf_index: usize,
    stream_offset: usize,
}

/// Builder state.
pub struct Av1Builder {
    parser: Parser,
    sequence: Option<Sequence>,
    film_grain_present: bool,
    slots: [Option<u64>; 8],
    pending: Option<Pending>,
    next_ts: u64,
    step: u64,
    decode_index: u32,
}

impl Default for Av1Builder {
    fn default() -> Self {
        Self::new(1000, 1000)
    }
}

fn sequence_ctrl(s: &SequenceHeaderObu) -> Sequence {
    let c = &s.color_config;
    let mut f = SequenceFlags::empty();
    f.set(SequenceFlags::STILL_PICTURE, s.still_picture);
    f.set(
        SequenceFlags::USE_128X128_SUPERBLOCK,
        s.use_128x128_superblock,
    );
    f.set(SequenceFlags::ENABLE_FILTER_INTRA, s.enable_filter_intra);
    f.set(
        SequenceFlags::ENABLE_INTRA_EDGE_FILTER,
        s.enable_intra_edge_filter,
    );
    f.set(
        SequenceFlags::ENABLE_INTERINTRA_COMPOUND,
        s.enable_interintra_compound,
    );
    f.set(
        SequenceFlags::ENABLE_MASKED_COMPOUND,
        s.enable_masked_compound,
    );
    f.set(SequenceFlags::ENABLE_WARPED_MOTION, s.enable_warped_motion);
    f.set(SequenceFlags::ENABLE_DUAL_FILTER, s.enable_dual_filter);
    f.set(SequenceFlags::ENABLE_ORDER_HINT, s.enable_order_hint);
    f.set(SequenceFlags::ENABLE_JNT_COMP, s.enable_jnt_comp);
    f.set(SequenceFlags::ENABLE_REF_FRAME_MVS, s.enable_ref_frame_mvs);
    f.set(SequenceFlags::ENABLE_SUPERRES, s.enable_superres);
    f.set(SequenceFlags::ENABLE_CDEF, s.enable_cdef);
    f.set(SequenceFlags::ENABLE_RESTORATION, s.enable_restoration);
    f.set(SequenceFlags::MONO_CHROME, c.mono_chrome);
    f.set(SequenceFlags::COLOR_RANGE, c.color_range);
    f.set(SequenceFlags::SUBSAMPLING_X, c.subsampling_x);
    f.set(SequenceFlags::SUBSAMPLING_Y, c.subsampling_y);
    f.set(
        SequenceFlags::FILM_GRAIN_PARAMS_PRESENT,
        s.film_grain_params_present,
    );
    f.set(SequenceFlags::SEPARATE_UV_DELTA_Q, c.separate_uv_delta_q);
    Sequence {
        flags: f,
        seq_profile: s.seq_profile as u8,
        order_hint_bits: if s.enable_order_hint {
            s.order_hint_bits as u8
        } else {
            0
        },
        bit_depth: match s.bit_depth {
            BitDepth::Depth8 => 8,
            BitDepth::Depth10 => 10,
            BitDepth::Depth12 => 12,
        },
        reserved: 0,
        max_frame_width_minus_1: s.max_frame_width_minus_1,
        max_frame_height_minus_1: s.max_frame_height_minus_1,
    }
}

fn film_grain_ctrl(h: &FrameHeaderObu) -> FilmGrain {
    let g = &h.film_grain_params;
    let mut f = FilmGrain::default();
    let mut fl = FilmGrainFlags::empty();
    fl.set(FilmGrainFlags::APPLY_GRAIN, g.apply_grain);
    fl.set(FilmGrainFlags::UPDATE_GRAIN, g.update_grain);
    fl.set(
        FilmGrainFlags::CHROMA_SCALING_FROM_LUMA,
        g.chroma_scaling_from_luma,
    );
    fl.set(FilmGrainFlags::OVERLAP, g.overlap_flag);
    fl.set(
        FilmGrainFlags::CLIP_TO_RESTRICTED_RANGE,
        g.clip_to_restricted_range,
    );
    f.flags = fl;
    f.cr_mult = g.cr_mult;
    f.grain_seed = g.grain_seed;
    f.film_grain_params_ref_idx = g.film_grain_params_ref_idx;
    f.num_y_points = g.num_y_points;
    f.point_y_value = g.point_y_value;
    f.point_y_scaling = g.point_y_scaling;
    f.num_cb_points = g.num_cb_points;
    f.point_cb_value = g.point_cb_value;
    f.point_cb_scaling = g.point_cb_scaling;
    f.num_cr_points = g.num_cr_points;
    f.point_cr_value = g.point_cr_value;
    f.point_cr_scaling = g.point_cr_scaling;
    f.grain_scaling_minus_8 = g.grain_scaling_minus_8;
    f.ar_coeff_lag = g.ar_coeff_lag as u8;
    f.ar_coeffs_y_plus_128 = g.ar_coeffs_y_plus_128;
    f.ar_coeffs_cb_plus_128 = g.ar_coeffs_cb_plus_128;
    f.ar_coeffs_cr_plus_128 = g.ar_coeffs_cr_plus_128;
    f.ar_coeff_shift_minus_6 = g.ar_coeff_shift_minus_6;
    f.grain_scale_shift = g.grain_scale_shift;
    f.cb_mult = g.cb_mult;
    f.cb_luma_mult = g.cb_luma_mult;
    f.cr_luma_mult = g.cr_luma_mult;
    f.cb_offset = g.cb_offset;
    f.cr_offset = g.cr_offset;
    f
}

fn frame_ctrl(h: &FrameHeaderObu, slots: &[Option<u64>; 8]) -> Frame {
    let mut f = Frame::default();

    // Tile info.
    let t = &h.tile_info;
    let ti = &mut f.tile_info;
    ti.flags.set(
        TileInfoFlags::UNIFORM_TILE_SPACING,
        t.uniform_tile_spacing_flag,
    );
    ti.context_update_tile_id = t.context_update_tile_id as u8;
    ti.tile_cols = t.tile_cols as u8;
    ti.tile_rows = t.tile_rows as u8;
    ti.mi_col_starts = t.mi_col_starts;
    ti.mi_row_starts = t.mi_row_starts;
    ti.width_in_sbs_minus_1 = t.width_in_sbs_minus_1;
    ti.height_in_sbs_minus_1 = t.height_in_sbs_minus_1;
    ti.tile_size_bytes = t.tile_size_bytes as u8;

    // Quantisation.
    let q = &h.quantization_params;
    let fq = &mut f.quantization;
    fq.flags
        .set(QuantizationFlags::DIFF_UV_DELTA, q.diff_uv_delta);
    fq.flags
        .set(QuantizationFlags::USING_QMATRIX, q.using_qmatrix);
    fq.flags
        .set(QuantizationFlags::DELTA_Q_PRESENT, q.delta_q_present);
    fq.base_q_idx = q.base_q_idx as u8;
    fq.delta_q_y_dc = q.delta_q_y_dc as i8;
    fq.delta_q_u_dc = q.delta_q_u_dc as i8;
    fq.delta_q_u_ac = q.delta_q_u_ac as i8;
    fq.delta_q_v_dc = q.delta_q_v_dc as i8;
    fq.delta_q_v_ac = q.delta_q_v_ac as i8;
    fq.qm_y = q.qm_y as u8;
    fq.qm_u = q.qm_u as u8;
    fq.qm_v = q.qm_v as u8;
    fq.delta_q_res = q.delta_q_res as u8;

    f.superres_denom = h.superres_denom as u8;

    // Segmentation.
    let s = &h.segmentation_params;
    let fs = &mut f.segmentation;
    fs.flags
        .set(SegmentationFlags::ENABLED, s.segmentation_enabled);
    fs.flags
        .set(SegmentationFlags::UPDATE_MAP, s.segmentation_update_map);
    fs.flags.set(
        SegmentationFlags::TEMPORAL_UPDATE,
        s.segmentation_temporal_update,
    );
    fs.flags
        .set(SegmentationFlags::UPDATE_DATA, s.segmentation_update_data);
    fs.flags
        .set(SegmentationFlags::SEG_ID_PRE_SKIP, s.seg_id_pre_skip);
    fs.last_active_seg_id = s.last_active_seg_id;
    for (seg, en) in s.feature_enabled.iter().enumerate() {
        fs.feature_enabled[seg] = en
            .iter()
            .enumerate()
            .fold(0u8, |acc, (i, &e)| acc | (u8::from(e) << i));
    }
    fs.feature_data = s.feature_data;

    // Loop filter.
    let l = &h.loop_filter_params;
    let fl = &mut f.loop_filter;
    fl.flags
        .set(LoopFilterFlags::DELTA_ENABLED, l.loop_filter_delta_enabled);
    fl.flags
        .set(LoopFilterFlags::DELTA_UPDATE, l.loop_filter_delta_update);
    fl.flags
        .set(LoopFilterFlags::DELTA_LF_PRESENT, l.delta_lf_present);
    fl.flags
        .set(LoopFilterFlags::DELTA_LF_MULTI, l.delta_lf_multi);
    fl.level = l.loop_filter_level;
    fl.sharpness = l.loop_filter_sharpness;
    fl.ref_deltas = l.loop_filter_ref_deltas;
    fl.mode_deltas = l.loop_filter_mode_deltas;
    fl.delta_lf_res = l.delta_lf_res;

    // CDEF.
    let c = &h.cdef_params;
    f.cdef.damping_minus_3 = c.cdef_damping.saturating_sub(3) as u8;
    f.cdef.bits = c.cdef_bits as u8;
    for i in 0..f.cdef.y_pri_strength.len() {
        f.cdef.y_pri_strength[i] = c.cdef_y_pri_strength[i] as u8;
        f.cdef.y_sec_strength[i] = c.cdef_y_sec_strength[i] as u8;
        f.cdef.uv_pri_strength[i] = c.cdef_uv_pri_strength[i] as u8;
        f.cdef.uv_sec_strength[i] = c.cdef_uv_sec_strength[i] as u8;
    }

    f.skip_mode_frame = [h.skip_mode_frame[0] as u8, h.skip_mode_frame[1] as u8];
    f.primary_ref_frame = h.primary_ref_frame as u8;

    // Loop restoration.
    let r = &h.loop_restoration_params;
    let lr = &mut f.loop_restoration;
    lr.flags.set(LoopRestorationFlags::USES_LR, r.uses_lr);
    lr.flags
        .set(LoopRestorationFlags::USES_CHROMA_LR, r.uses_chroma_lr);
    lr.lr_unit_shift = r.lr_unit_shift;
    lr.lr_uv_shift = r.lr_uv_shift;
    for p in 0..3 {
        lr.frame_restoration_type[p] = r.frame_restoration_type[p] as u32;
        lr.loop_restoration_size[p] = u32::from(r.loop_restoration_size[p]);
    }

    // Global motion.
    let g = &h.global_motion_params;
    let gm = &mut f.global_motion;
    for i in 0..8 {
        let mut fl = GlobalMotionFlags::empty();
        fl.set(GlobalMotionFlags::IS_GLOBAL, g.is_global[i]);
        fl.set(GlobalMotionFlags::IS_ROT_ZOOM, g.is_rot_zoom[i]);
        fl.set(GlobalMotionFlags::IS_TRANSLATION, g.is_translation[i]);
        gm.flags[i] = fl;
        gm.r#type[i] = g.gm_type[i] as u32;
        gm.params[i] = g.gm_params[i];
        // Shear validity (7.11.3.6) is defined for LAST_FRAME..ALTREF_FRAME.
        if i > 0 && !g.warp_valid[i] {
            gm.invalid |= 1 << i;
        }
    }

    // Flags.
    let mut ff = FrameFlags::empty();
    ff.set(FrameFlags::SHOW_FRAME, h.show_frame);
    ff.set(FrameFlags::SHOWABLE_FRAME, h.showable_frame);
    ff.set(FrameFlags::ERROR_RESILIENT_MODE, h.error_resilient_mode);
    ff.set(FrameFlags::DISABLE_CDF_UPDATE, h.disable_cdf_update);
    ff.set(
        FrameFlags::ALLOW_SCREEN_CONTENT_TOOLS,
        h.allow_screen_content_tools != 0,
    );
    ff.set(FrameFlags::FORCE_INTEGER_MV, h.force_integer_mv != 0);
    ff.set(FrameFlags::ALLOW_INTRABC, h.allow_intrabc);
    ff.set(FrameFlags::USE_SUPERRES, h.use_superres);
    ff.set(
        FrameFlags::ALLOW_HIGH_PRECISION_MV,
        h.allow_high_precision_mv,
    );
    ff.set(
        FrameFlags::IS_MOTION_MODE_SWITCHABLE,
        h.is_motion_mode_switchable,
    );
    ff.set(FrameFlags::USE_REF_FRAME_MVS, h.use_ref_frame_mvs);
    ff.set(
        FrameFlags::DISABLE_FRAME_END_UPDATE_CDF,
        h.disable_frame_end_update_cdf,
    );
    ff.set(FrameFlags::ALLOW_WARPED_MOTION, h.allow_warped_motion);
    ff.set(FrameFlags::REFERENCE_SELECT, h.reference_select);
    ff.set(FrameFlags::REDUCED_TX_SET, h.reduced_tx_set);
    // cros-codecs sets skip_mode_frame only when skip mode is allowed
    // (SkipModeFrame[0] is then LAST_FRAME or later, never 0).
    ff.set(FrameFlags::SKIP_MODE_ALLOWED, h.skip_mode_frame[0] != 0);
    ff.set(FrameFlags::SKIP_MODE_PRESENT, h.skip_mode_present);
    ff.set(FrameFlags::FRAME_SIZE_OVERRIDE, h.frame_size_override_flag);
    ff.set(
        FrameFlags::BUFFER_REMOVAL_TIME_PRESENT,
        h.buffer_removal_time_present_flag,
    );
    ff.set(
        FrameFlags::FRAME_REFS_SHORT_SIGNALING,
        h.frame_refs_short_signaling,
    );
    f.flags = ff;

    f.frame_type = h.frame_type as u32;
    f.order_hint = h.order_hint;
    f.upscaled_width = h.upscaled_width;
    f.interpolation_filter = h.interpolation_filter as u32;
    f.tx_mode = h.tx_mode as u32;
    f.frame_width_minus_1 = h.frame_width.saturating_sub(1);
    f.frame_height_minus_1 = h.frame_height.saturating_sub(1);
    f.render_width_minus_1 = h.render_width.saturating_sub(1) as u16;
    f.render_height_minus_1 = h.render_height.saturating_sub(1) as u16;
    f.current_frame_id = h.current_frame_id;
    for (i, &t) in h.buffer_removal_time.iter().take(32).enumerate() {
        f.buffer_removal_time[i] = t;
    }
    f.order_hints = h.order_hints;
    for (i, s) in slots.iter().enumerate() {
        f.reference_frame_ts[i] = s.unwrap_or(0);
    }
    for i in 0..7 {
        f.ref_frame_idx[i] = h.ref_frame_idx[i] as i8;
    }
    f.refresh_frame_flags = h.refresh_frame_flags as u8;
    f
}

impl Av1Builder {
    /// Timestamps start at `base` and grow by `step` per request.
    pub fn new(base: u64, step: u64) -> Self {
        Av1Builder {
            parser: Parser::default(),
            sequence: None,
            film_grain_present: false,
            slots: [None; 8],
            pending: None,
            next_ts: base,
            step,
            decode_index: 0,
        }
    }

    /// Build every event of a whole IVF file.
    pub fn build_ivf(data: &[u8]) -> Result<Vec<Av1Event>, Av1BuildError> {
        let mut b = Self::default();
        let out = ivf::build_all(data, |d, offset, index| b.push(d, offset, index))?;
        b.finish(data.len())?;
        Ok(out)
    }

    /// Check that no frame is left waiting for tile groups at end of stream
    /// (`offset` = stream length, for the error).
    pub fn finish(&self, offset: usize) -> Result<(), Av1BuildError> {
        match &self.pending {
            Some(p) => Err(Av1BuildError::Stream {
                offset,
                msg: format!(
                    "stream ends inside the frame whose header is at byte {}",
                    p.stream_offset
                ),
            }),
            None => Ok(()),
        }
    }

    /// Feed one temporal unit (IVF frame payload) found at `offset`.
    pub fn push(
        &mut self,
        data: &[u8],
        offset: usize,
        ivf_index: usize,
    ) -> Result<Vec<Av1Event>, Av1BuildError> {
        let mut out = Vec::new();
        let mut pos = 0;
        if data.is_empty() {
            return Err(Av1BuildError::Parse {
                offset,
                ivf_index,
                msg: "empty temporal unit".into(),
            });
        }
        while pos < data.len() {
            let obu_offset = offset + pos;
            let perr = |msg: String| Av1BuildError::Parse {
                offset: obu_offset,
                ivf_index,
                msg,
            };
            let parser = &mut self.parser;
            let rest = &data[pos..];
            // (bytes used, parsed OBU as owned pieces)
            let (used, parsed) = guarded(|| match parser.read_obu(rest)? {
                ObuAction::Drop(n) => Ok((n as usize, None)),
                ObuAction::Process(obu) => {
                    let used = obu.bytes_used;
                    let p = parser.parse_obu(obu)?;
                    Ok((used, Some(Parsed::from(p))))
                }
            })
            .map_err(perr)?;
            if used == 0 {
                return Err(perr("OBU of zero bytes".into()));
            }
            pos += used;
            match parsed {
                None | Some(Parsed::Other) => {}
                Some(Parsed::Sequence(s)) => {
                    self.sequence = Some(sequence_ctrl(&s));
                    self.film_grain_present = s.film_grain_params_present;
                }
                Some(Parsed::FrameHeader(h)) => {
                    self.frame_header(h, ivf_index, obu_offset, &mut out)?;
                }
                Some(Parsed::TileGroup(tg)) => {
                    self.tile_group(tg, obu_offset, &mut out)?;
                }
                Some(Parsed::Frame(h, tg)) => {
                    self.frame_header(h, ivf_index, obu_offset, &mut out)?;
                    self.tile_group(tg, obu_offset, &mut out)?;
                }
            }
        }
        Ok(out)
    }

    fn frame_header(
        &mut self,
        h: FrameHeaderObu,
        ivf_index: usize,
        obu_offset: usize,
        out: &mut Vec<Av1Event>,
    ) -> Result<(), Av1BuildError> {
        if h.show_existing_frame {
            let slot = h.frame_to_show_map_idx;
            let timestamp = self.slots[slot as usize].ok_or_else(|| Av1BuildError::Stream {
                offset: obu_offset,
                msg: format!("show_existing_frame of empty slot {slot}"),
            })?;
            let key_frame = h.frame_type == CrosFrameType::KeyFrame;
            if key_frame {
                self.slots = [Some(timestamp); 8];
                let parser = &mut self.parser;
                guarded(|| parser.ref_frame_update(&h)).map_err(|msg| Av1BuildError::Stream {
                    offset: obu_offset,
                    msg,
                })?;
            }
            out.push(Av1Event::ShowExisting {
                timestamp,
                slot,
                key_frame,
                ivf_index,
                stream_offset: obu_offset,
            });
            return Ok(());
        }
        if self.pending.is_some() {
            // A repeated frame header (redundant copy) of the frame being
            // collected: cros-codecs returns the stored header.
            return Ok(());
        }
        self.pending = Some(Pending {
            header: h,
            tiles: Vec::new(),
            bitstream: Vec::new(),
            ivf_index,
            stream_offset: obu_offset,
        });
        Ok(())
    }

    fn tile_group(
        &mut self,
        tg: OwnedTileGroup,
        obu_offset: usize,
        out: &mut Vec<Av1Event>,
    ) -> Result<(), Av1BuildError> {
        let serr = |msg: String| Av1BuildError::Stream {
            offset: obu_offset,
            msg,
        };
        let p = self
            .pending
            .as_mut()
            .ok_or_else(|| serr("tile group without a frame header".into()))?;
        let base = p.bitstream.len() as u32;
        for t in &tg.tiles {
            if p.tiles.len() >= MAX_TILE_COUNT {
                return Err(serr(format!("more than {MAX_TILE_COUNT} tiles")));
            }
            p.tiles.push(TileGroupEntry {
                tile_offset: base + t.0,
                tile_size: t.1,
                tile_row: t.2,
                tile_col: t.3,
            });
        }
        p.bitstream.extend_from_slice(&tg.payload);
        let num_tiles = p.header.tile_info.tile_cols * p.header.tile_info.tile_rows;
        if tg.tg_end + 1 < num_tiles {
            return Ok(());
        }
        let p = self.pending.take().expect("pending frame");
        let seq = self
            .sequence
            .ok_or_else(|| serr("frame before any sequence header".into()))?;
        let h = &p.header;
        let intra = matches!(
            h.frame_type,
            CrosFrameType::KeyFrame | CrosFrameType::IntraOnlyFrame
        );
        if !intra {
            for &idx in &h.ref_frame_idx {
                if self.slots[idx as usize].is_none() {
                    return Err(serr(format!("inter frame references empty slot {idx}")));
                }
            }
        }
        let frame = frame_ctrl(h, &self.slots);
        let film_grain = self.film_grain_present.then(|| film_grain_ctrl(h));
        let parser = &mut self.parser;
        guarded(|| parser.ref_frame_update(h)).map_err(serr)?;
        let timestamp = self.next_ts;
        self.next_ts += self.step;
        for (i, s) in self.slots.iter_mut().enumerate() {
            if h.refresh_frame_flags & (1 << i) != 0 {
                *s = Some(timestamp);
            }
        }
        let decode_index = self.decode_index;
        self.decode_index += 1;
        out.push(Av1Event::Decode(Box::new(Av1Request {
            sequence: seq,
            frame,
            film_grain,
            tiles: p.tiles,
            bitstream: p.bitstream,
            timestamp,
            display: Av1Display {
                shown: h.show_frame,
                showable: h.showable_frame,
                width: h.upscaled_width,
                height: h.frame_height,
                render_width: h.render_width,
                render_height: h.render_height,
                bit_depth: seq.bit_depth,
            },
            decode_index,
            ivf_index: p.ivf_index,
            stream_offset: p.stream_offset,
        })));
        Ok(())
    }
}

/// A tile group detached from the parser's borrowed data.
struct OwnedTileGroup {
    tg_end: u32,
    /// (offset in payload, size, row, col).
    tiles: Vec<(u32, u32, u32, u32)>,
    payload: Vec<u8>,
}

impl From<&TileGroupObu<'_>> for OwnedTileGroup {
    fn from(tg: &TileGroupObu<'_>) -> Self {
        OwnedTileGroup {
            tg_end: tg.tg_end,
            tiles: tg
                .tiles
                .iter()
                .map(|t| (t.tile_offset, t.tile_size, t.tile_row, t.tile_col))
                .collect(),
            payload: tg.obu.as_ref().to_vec(),
        }
    }
}

enum Parsed {
    Sequence(std::rc::Rc<SequenceHeaderObu>),
    FrameHeader(FrameHeaderObu),
    TileGroup(OwnedTileGroup),
    Frame(FrameHeaderObu, OwnedTileGroup),
    Other,
}

impl From<ParsedObu<'_>> for Parsed {
    fn from(p: ParsedObu<'_>) -> Self {
        match p {
            ParsedObu::SequenceHeader(s) => Parsed::Sequence(s),
            ParsedObu::FrameHeader(h) => Parsed::FrameHeader(h),
            ParsedObu::TileGroup(tg) => Parsed::TileGroup((&tg).into()),
            ParsedObu::Frame(f) => Parsed::Frame(f.header, (&f.tile_group).into()),
            _ => Parsed::Other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ivf(frames: &[&[u8]]) -> Vec<u8> {
        crate::build::ivf::write_for_tests(b"AV01", frames)
    }

    #[test]
    fn garbage_is_a_parse_error_with_offset() {
        // Temporal delimiter (OBU type 2, has_size, size 0), then garbage
        // claiming a 0x7f-byte OBU of a forbidden-bit header.
        let data = ivf(&[&[0x12, 0x00, 0xff, 0x7f, 0x01]]);
        let err = Av1Builder::build_ivf(&data).unwrap_err();
        assert!(matches!(err, Av1BuildError::Parse { .. }), "{err}");
        assert_eq!(err.offset(), 46);
    }

    #[test]
    fn obu_size_beyond_data() {
        // Sequence header OBU (type 1) claiming 100 bytes, 2 present.
        let data = ivf(&[&[0x12, 0x00, 0x0a, 0x64, 0x00, 0x00]]);
        let err = Av1Builder::build_ivf(&data).unwrap_err();
        assert!(matches!(err, Av1BuildError::Parse { .. }), "{err}");
        assert_eq!(err.offset(), 46);
    }

    #[test]
    fn frame_header_before_sequence_header() {
        // Frame header OBU (type 3) with one byte of payload.
        let data = ivf(&[&[0x1a, 0x01, 0x10]]);
        let err = Av1Builder::build_ivf(&data).unwrap_err();
        assert_eq!(err.offset(), 44);
    }
}
