//! VP9 IVF stream -> per-frame V4L2 stateless controls, OUTPUT bytes and
//! CAPTURE timestamps, as GStreamer 1.26's `v4l2slvp9dec` fills them.
//!
//! Uncompressed headers are parsed by cros-codecs (wrapped so a parser panic is
//! an error); superframes are split into their frames; reference slots are
//! mirrored here.
//!
//! Conventions:
//! - One request per coded frame, hidden frames (show_frame = 0, e.g. alt-ref)
//!   included. A `show_existing_frame` frame gives no request but a
//!   [`Vp9Event::ShowExisting`] with the timestamp of the slot it shows.
//! - OUTPUT bytes = the whole frame (uncompressed header, compressed header,
//!   tile data), as a stateless VP9 driver expects.
//! - Timestamps: `base`, `base + step`, ... one per request in decode order.
//! - `last/golden/alt_frame_ts`: the timestamp held by slot
//!   `ref_frame_idx[0/1/2]` for inter frames, 0 for key and intra-only frames.
//!   Slots are refreshed after each frame with `refresh_frame_flags` (0xff for
//!   key frames).
//! - `reset_frame_context` = bitstream value - 1 for 2 and 3 (NONE for 0, 1).
//! - COMPRESSED_HDR: cros-codecs 0.0.6 does not parse the compressed header,
//!   so [`compressed`] does (bool decoder, spec 6.3/9.2). Deltas are stored
//!   as the kernel's `v4l2_vp9_fw_update_probs` consumes them: for
//!   diff_update_prob `inv_map_table[decode_term_subexp()]`, for
//!   update_mv_prob `(mv_prob << 1) | 1`, 0 where no update is coded.
//!   `reference_mode` (coded there too) goes into FRAME. The parse checks the
//!   zero padding after the last symbol (exit_bool, 9.2.3).

use cros_codecs::codec::vp9::parser::{
    ColorRange, FrameType, Header, Parser, MAX_SEGMENTS, SEG_LVL_MAX,
};
use serde::{Deserialize, Serialize};

use super::ivf::{self, guarded, IvfBuildError};
use crate::vp9::{
    CompressedHdr, Frame, FrameFlags, LoopFilterFlags, SegmentFeatures, SegmentationFlags, SignBias,
};

/// Errors, each with the byte offset in the IVF file where it was found.
pub type Vp9BuildError = IvfBuildError;

/// What a player needs to present the frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Vp9Display {
    /// show_frame.
    pub shown: bool,
    /// Frame size.
    pub width: u32,
    /// Frame size.
    pub height: u32,
    /// Render (display) size.
    pub render_width: u32,
    /// Render (display) size.
    pub render_height: u32,
    /// Bit depth.
    pub bit_depth: u8,
}

/// One decode request.
#[derive(Debug, Clone, PartialEq)]
pub struct Vp9Request {
    /// `V4L2_CID_STATELESS_VP9_FRAME`.
    pub frame: Frame,
    /// `V4L2_CID_STATELESS_VP9_COMPRESSED_HDR` (probability deltas).
    pub compressed_hdr: CompressedHdr,
    /// OUTPUT buffer bytes (the whole frame).
    pub bitstream: Vec<u8>,
    /// CAPTURE timestamp (ns).
    pub timestamp: u64,
    /// refresh_frame_flags (slots the frame is stored into).
    pub refresh_frame_flags: u8,
    /// Display information.
    pub display: Vp9Display,
    /// Index in decode order (requests), from 0.
    pub decode_index: u32,
    /// IVF frame index the frame came from.
    pub ivf_index: usize,
    /// Offset of the frame in the file.
    pub stream_offset: usize,
}

/// What the stream asks for, in order.
#[derive(Debug, Clone, PartialEq)]
pub enum Vp9Event {
    /// Decode a frame.
    Decode(Box<Vp9Request>),
    /// show_existing_frame: display the CAPTURE buffer with this timestamp again.
    ShowExisting {
        /// Timestamp of the shown frame's CAPTURE buffer.
        timestamp: u64,
        /// frame_to_show_map_idx.
        slot: u8,
        /// IVF frame index.
        ivf_index: usize,
        /// Offset of the frame in the file.
        stream_offset: usize,
        /// Size of the frame in bytes.
        size: usize,
    },
}

/// Builder state.
#[derive(Debug)]
pub struct Vp9Builder {
    parser: Parser,
    slots: [Option<u64>; 8],
    next_ts: u64,
    step: u64,
    decode_index: u32,
}

impl Default for Vp9Builder {
    fn default() -> Self {
        Self::new(1000, 1000)
    }
}

impl Vp9Builder {
    /// Timestamps start at `base` and grow by `step` per request.
    pub fn new(base: u64, step: u64) -> Self {
        Vp9Builder {
            parser: Parser::default(),
            slots: [None; 8],
            next_ts: base,
            step,
            decode_index: 0,
        }
    }

    /// Build every event of a whole IVF file.
    pub fn build_ivf(data: &[u8]) -> Result<Vec<Vp9Event>, Vp9BuildError> {
        let mut b = Self::default();
        ivf::build_all(data, |d, offset, index| b.push(d, offset, index))
    }

    /// Feed one IVF frame (a frame or a superframe) found at `offset`.
    pub fn push(
        &mut self,
        data: &[u8],
        offset: usize,
        ivf_index: usize,
    ) -> Result<Vec<Vp9Event>, Vp9BuildError> {
        let perr = |msg: String| Vp9BuildError::Parse {
            offset,
            ivf_index,
            msg,
        };
        if data.is_empty() {
            return Err(perr("empty frame".into()));
        }
        let frames = parse_chunk(&mut self.parser, data).map_err(perr)?;
        let mut out = Vec::new();
        for (hdr, range) in frames {
            let at = range.start;
            let bytes = data[range].to_vec();
            let stream_offset = offset + at;
            if hdr.show_existing_frame {
                let slot = hdr.frame_to_show_map_idx;
                let timestamp = self.slots[slot as usize].ok_or_else(|| Vp9BuildError::Stream {
                    offset: stream_offset,
                    msg: format!("show_existing_frame of empty slot {slot}"),
                })?;
                out.push(Vp9Event::ShowExisting {
                    timestamp,
                    slot,
                    ivf_index,
                    stream_offset,
                    size: bytes.len(),
                });
                continue;
            }
            let req = self.request(&hdr, bytes, ivf_index, stream_offset)?;
            out.push(Vp9Event::Decode(Box::new(req)));
        }
        Ok(out)
    }

    fn request(
        &mut self,
        h: &Header,
        bitstream: Vec<u8>,
        ivf_index: usize,
        stream_offset: usize,
    ) -> Result<Vp9Request, Vp9BuildError> {
        let (frame, compressed_hdr) =
            frame_controls(h, &bitstream, &self.slots).map_err(|e| match e {
                FrameControlsError::Stream(msg) => Vp9BuildError::Stream {
                    offset: stream_offset,
                    msg,
                },
                FrameControlsError::Parse { at, msg } => Vp9BuildError::Parse {
                    offset: stream_offset + at,
                    ivf_index,
                    msg,
                },
            })?;

        let timestamp = self.next_ts;
        self.next_ts += self.step;
        for (i, slot) in self.slots.iter_mut().enumerate() {
            if h.refresh_frame_flags & (1 << i) != 0 {
                *slot = Some(timestamp);
            }
        }
        let decode_index = self.decode_index;
        self.decode_index += 1;
        Ok(Vp9Request {
            frame,
            compressed_hdr,
            bitstream,
            timestamp,
            refresh_frame_flags: h.refresh_frame_flags,
            display: Vp9Display {
                shown: h.show_frame,
                width: h.width,
                height: h.height,
                render_width: h.render_width,
                render_height: h.render_height,
                bit_depth: h.bit_depth as u8,
            },
            decode_index,
            ivf_index,
            stream_offset,
        })
    }
}

/// Parses one IVF frame (a frame or a superframe) with `parser`, a parser panic turned
/// into an error. Returns each frame's header with its byte range in `data`.
pub fn parse_chunk(
    parser: &mut Parser,
    data: &[u8],
) -> Result<Vec<(Header, std::ops::Range<usize>)>, String> {
    guarded(|| {
        let frames = parser.parse_chunk(data)?;
        let mut pos = 0;
        let mut v = Vec::new();
        for f in frames {
            let len = f.as_ref().len();
            v.push((f.header, pos..pos + len));
            pos += len;
        }
        Ok(v)
    })
}

/// Why [`frame_controls`] could not fill the controls of a frame.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameControlsError {
    /// Inconsistent with the stream state (empty reference slot, size out of range).
    #[error("{0}")]
    Stream(String),
    /// The compressed header is missing or malformed; `at` is its offset in the frame.
    #[error("byte {at} of the frame: {msg}")]
    Parse {
        /// Offset in the frame's bytes.
        at: usize,
        /// Description.
        msg: String,
    },
}

/// The FRAME and COMPRESSED_HDR controls of one decoded frame (not a show_existing_frame),
/// as GStreamer's `v4l2slvp9dec` fills them: from the parsed uncompressed header `h`, the
/// frame's own bytes `bitstream` (for the compressed header) and the timestamps the eight
/// reference slots hold before this frame (`slot_ts`, used by inter frames only).
pub fn frame_controls(
    h: &Header,
    bitstream: &[u8],
    slot_ts: &[Option<u64>; 8],
) -> Result<(Frame, CompressedHdr), FrameControlsError> {
    let key = h.frame_type == FrameType::KeyFrame;
    let intra = key || h.intra_only;
    let mut f = Frame::default();

    // Loop filter.
    f.lf.ref_deltas = h.lf.ref_deltas;
    f.lf.mode_deltas = h.lf.mode_deltas;
    f.lf.level = h.lf.level;
    f.lf.sharpness = h.lf.sharpness;
    f.lf.flags
        .set(LoopFilterFlags::DELTA_ENABLED, h.lf.delta_enabled);
    f.lf.flags
        .set(LoopFilterFlags::DELTA_UPDATE, h.lf.delta_update);

    // Quantisation.
    f.quant.base_q_idx = h.quant.base_q_idx;
    f.quant.delta_q_y_dc = h.quant.delta_q_y_dc;
    f.quant.delta_q_uv_dc = h.quant.delta_q_uv_dc;
    f.quant.delta_q_uv_ac = h.quant.delta_q_uv_ac;

    // Segmentation.
    let s = &h.seg;
    for seg in 0..MAX_SEGMENTS {
        let mut en = SegmentFeatures::empty();
        for lvl in 0..SEG_LVL_MAX {
            f.seg.feature_data[seg][lvl] = s.feature_data[seg][lvl];
            if s.feature_enabled[seg][lvl] {
                en |= SegmentFeatures::from_bits_retain(1 << lvl);
            }
        }
        f.seg.feature_enabled[seg] = en;
    }
    f.seg.tree_probs = s.tree_probs;
    f.seg.pred_probs = s.pred_probs;
    f.seg.flags.set(SegmentationFlags::ENABLED, s.enabled);
    f.seg.flags.set(SegmentationFlags::UPDATE_MAP, s.update_map);
    f.seg
        .flags
        .set(SegmentationFlags::TEMPORAL_UPDATE, s.temporal_update);
    f.seg
        .flags
        .set(SegmentationFlags::UPDATE_DATA, s.update_data);
    f.seg.flags.set(
        SegmentationFlags::ABS_OR_DELTA_UPDATE,
        s.abs_or_delta_update,
    );

    // Flags.
    let mut fl = FrameFlags::empty();
    fl.set(FrameFlags::KEY_FRAME, key);
    fl.set(FrameFlags::SHOW_FRAME, h.show_frame);
    fl.set(FrameFlags::ERROR_RESILIENT, h.error_resilient_mode);
    fl.set(FrameFlags::INTRA_ONLY, h.intra_only);
    fl.set(FrameFlags::ALLOW_HIGH_PREC_MV, h.allow_high_precision_mv);
    fl.set(FrameFlags::REFRESH_FRAME_CTX, h.refresh_frame_context);
    fl.set(
        FrameFlags::PARALLEL_DEC_MODE,
        h.frame_parallel_decoding_mode,
    );
    fl.set(FrameFlags::X_SUBSAMPLING, h.subsampling_x);
    fl.set(FrameFlags::Y_SUBSAMPLING, h.subsampling_y);
    fl.set(
        FrameFlags::COLOR_RANGE_FULL_SWING,
        h.color_range == ColorRange::FullSwing,
    );
    f.flags = fl;

    f.compressed_header_size = h.header_size_in_bytes;
    f.uncompressed_header_size = h.uncompressed_header_size_in_bytes;
    let minus1 = |v: u32| -> Result<u16, FrameControlsError> {
        v.checked_sub(1)
            .and_then(|v| u16::try_from(v).ok())
            .ok_or_else(|| FrameControlsError::Stream(format!("frame dimension {v} out of range")))
    };
    f.frame_width_minus_1 = minus1(h.width)?;
    f.frame_height_minus_1 = minus1(h.height)?;
    f.render_width_minus_1 = minus1(h.render_width)?;
    f.render_height_minus_1 = minus1(h.render_height)?;

    if !intra {
        let mut ts = [0u64; 3];
        for (i, t) in ts.iter_mut().enumerate() {
            let slot = h.ref_frame_idx[i] as usize;
            *t = slot_ts[slot].ok_or_else(|| {
                FrameControlsError::Stream(format!("inter frame references empty slot {slot}"))
            })?;
        }
        f.last_frame_ts = ts[0];
        f.golden_frame_ts = ts[1];
        f.alt_frame_ts = ts[2];
    }
    let mut bias = SignBias::empty();
    bias.set(SignBias::LAST, h.ref_frame_sign_bias[1] != 0);
    bias.set(SignBias::GOLDEN, h.ref_frame_sign_bias[2] != 0);
    bias.set(SignBias::ALT, h.ref_frame_sign_bias[3] != 0);
    f.ref_frame_sign_bias = bias;
    f.reset_frame_context = h.reset_frame_context.saturating_sub(1);
    f.frame_context_idx = h.frame_context_idx;
    f.profile = h.profile as u8;
    f.bit_depth = h.bit_depth as u8;
    f.interpolation_filter = h.interpolation_filter as u8;
    f.tile_cols_log2 = h.tile_cols_log2;
    f.tile_rows_log2 = h.tile_rows_log2;
    // Compressed header: probability deltas and reference_mode.
    let start = h.uncompressed_header_size_in_bytes as usize;
    let end = start + h.header_size_in_bytes as usize;
    let comp = bitstream
        .get(start..end)
        .ok_or_else(|| FrameControlsError::Parse {
            at: 0,
            msg: format!(
                "compressed header (bytes {start}..{end}) beyond the {}-byte frame",
                bitstream.len()
            ),
        })?;
    let info = compressed::FrameInfo {
        lossless: h.lossless,
        intra,
        switchable_interp: h.interpolation_filter
            == cros_codecs::codec::vp9::parser::InterpolationFilter::Switchable,
        allow_high_precision_mv: h.allow_high_precision_mv,
        sign_bias: h.ref_frame_sign_bias,
    };
    let (compressed_hdr, reference_mode) = compressed::parse(comp, &info)
        .map_err(|msg| FrameControlsError::Parse { at: start, msg })?;
    f.reference_mode = reference_mode;
    Ok((f, compressed_hdr))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ivf(frames: &[&[u8]]) -> Vec<u8> {
        crate::build::ivf::write_for_tests(b"VP90", frames)
    }

    #[test]
    fn garbage_frame_is_a_parse_error_with_offset() {
        let data = ivf(&[&[0xff, 0x13, 0x37, 0x00, 0x42]]);
        let err = Vp9Builder::build_ivf(&data).unwrap_err();
        assert!(matches!(err, Vp9BuildError::Parse { .. }), "{err}");
        assert_eq!(err.offset(), 44);
    }

    #[test]
    fn empty_frame_is_an_error() {
        let data = ivf(&[&[]]);
        let err = Vp9Builder::build_ivf(&data).unwrap_err();
        assert_eq!(err.offset(), 44);
    }

    #[test]
    fn truncated_key_frame_header() {
        // Frame marker 2, profile 0, show_existing 0, key frame, show, not
        // error resilient, then the sync code cut short.
        let data = ivf(&[&[0x82, 0x49]]);
        let err = Vp9Builder::build_ivf(&data).unwrap_err();
        assert!(matches!(err, Vp9BuildError::Parse { .. }), "{err}");
        assert_eq!(err.offset(), 44);
    }

    #[test]
    fn truncated_container() {
        let mut data = ivf(&[&[0x82, 0x49, 0x83, 0x42, 0x00]]);
        data.truncate(data.len() - 2);
        let err = Vp9Builder::build_ivf(&data).unwrap_err();
        assert!(matches!(err, Vp9BuildError::Ivf(_)), "{err}");
        assert_eq!(err.offset(), 32);
    }
}

/// VP9 compressed header (spec 6.3) -> `V4L2_CID_STATELESS_VP9_COMPRESSED_HDR`.
pub mod compressed {
    use crate::vp9::CompressedHdr;

    /// Boolean decoder (spec 9.2) over the compressed header bytes.
    struct BoolDecoder<'a> {
        data: &'a [u8],
        pos_bits: usize,
        value: u64,
        range: u32,
        bits_left: usize,
    }

    impl<'a> BoolDecoder<'a> {
        fn new(data: &'a [u8]) -> Result<Self, String> {
            if data.is_empty() {
                return Err("empty compressed header".into());
            }
            let mut d = BoolDecoder {
                data,
                pos_bits: 0,
                value: 0,
                range: 255,
                bits_left: data.len() * 8,
            };
            d.value = u64::from(d.raw_bits(8));
            if d.read_bool(128) {
                return Err("compressed header marker bit set".into());
            }
            Ok(d)
        }

        fn raw_bit(&mut self) -> u32 {
            if self.bits_left == 0 {
                return 0;
            }
            let byte = self.data[self.pos_bits / 8];
            let bit = (byte >> (7 - self.pos_bits % 8)) & 1;
            self.pos_bits += 1;
            self.bits_left -= 1;
            u32::from(bit)
        }

        fn raw_bits(&mut self, n: usize) -> u32 {
            (0..n).fold(0, |acc, _| (acc << 1) | self.raw_bit())
        }

        fn read_bool(&mut self, p: u8) -> bool {
            let split = 1 + (((self.range - 1) * u32::from(p)) >> 8);
            let bit = if self.value < u64::from(split) {
                self.range = split;
                false
            } else {
                self.range -= split;
                self.value -= u64::from(split);
                true
            };
            while self.range < 128 {
                self.value = (self.value << 1) | u64::from(self.raw_bit());
                self.range <<= 1;
            }
            bit
        }

        fn literal(&mut self, n: usize) -> u32 {
            (0..n).fold(0, |acc, _| (acc << 1) | u32::from(self.read_bool(128)))
        }

        /// diff_update_prob: the delta the UAPI wants is
        /// `inv_map_table[decode_term_subexp()]` (0 = no update).
        fn diff_update(&mut self) -> u8 {
            if !self.read_bool(252) {
                return 0;
            }
            let v = if self.literal(1) == 0 {
                self.literal(4)
            } else if self.literal(1) == 0 {
                self.literal(4) + 16
            } else if self.literal(1) == 0 {
                self.literal(5) + 32
            } else {
                let v = self.literal(7);
                if v < 65 {
                    v + 64
                } else {
                    (v << 1) - 1 + self.literal(1)
                }
            };
            inv_map(v as usize)
        }

        /// update_mv_prob: `(mv_prob << 1) | 1`, 0 = no update.
        fn mv_update(&mut self) -> u8 {
            if self.read_bool(252) {
                ((self.literal(7) << 1) | 1) as u8
            } else {
                0
            }
        }
    }

    /// Spec 6.3.5 `inv_map_table`: 7, 20, ..., 254 (step 13), then the other
    /// values 1..=253 in increasing order, then 253 again (index 254).
    fn inv_map(i: usize) -> u8 {
        if i < 20 {
            return (7 + 13 * i) as u8;
        }
        let mut k = i - 20;
        for v in 1u32..=253 {
            if v % 13 == 7 {
                continue;
            }
            if k == 0 {
                return v as u8;
            }
            k -= 1;
        }
        253
    }

    /// What the frame header tells the compressed header parser.
    #[derive(Debug, Clone, Copy)]
    pub struct FrameInfo {
        /// Lossless (base_q_idx == 0 and all deltas 0).
        pub lossless: bool,
        /// Key frame or intra-only.
        pub intra: bool,
        /// interpolation_filter == SWITCHABLE.
        pub switchable_interp: bool,
        /// allow_high_precision_mv.
        pub allow_high_precision_mv: bool,
        /// ref_frame_sign_bias[LAST..=ALTREF] (indices 1..=3).
        pub sign_bias: [u8; 4],
    }

    /// Parse the compressed header; returns the control and reference_mode.
    pub fn parse(data: &[u8], fi: &FrameInfo) -> Result<(CompressedHdr, u8), String> {
        let mut d = BoolDecoder::new(data)?;
        // read_tx_mode
        let tx_mode = if fi.lossless {
            0
        } else {
            let mut m = d.literal(2) as u8;
            if m == 3 {
                m += d.literal(1) as u8;
            }
            m
        };
        let mut h = CompressedHdr {
            tx_mode,
            ..CompressedHdr::default()
        };
        if h.tx_mode == 4 {
            for i in 0..2 {
                h.tx8[i][0] = d.diff_update();
            }
            for i in 0..2 {
                for j in 0..2 {
                    h.tx16[i][j] = d.diff_update();
                }
            }
            for i in 0..2 {
                for j in 0..3 {
                    h.tx32[i][j] = d.diff_update();
                }
            }
        }
        // read_coef_probs: tx sizes up to tx_mode_to_biggest_tx_size.
        let max_tx = [0usize, 1, 2, 3, 3][h.tx_mode as usize];
        for tx in 0..=max_tx {
            if d.literal(1) == 1 {
                for i in 0..2 {
                    for j in 0..2 {
                        for k in 0..6 {
                            let max_l = if k == 0 { 3 } else { 6 };
                            for l in 0..max_l {
                                for m in 0..3 {
                                    h.coef[tx][i][j][k][l][m] = d.diff_update();
                                }
                            }
                        }
                    }
                }
            }
        }
        for i in 0..3 {
            h.skip[i] = d.diff_update();
        }
        let mut reference_mode = 0u8;
        if !fi.intra {
            for i in 0..7 {
                for j in 0..3 {
                    h.inter_mode[i][j] = d.diff_update();
                }
            }
            if fi.switchable_interp {
                for j in 0..4 {
                    for i in 0..2 {
                        h.interp_filter[j][i] = d.diff_update();
                    }
                }
            }
            for i in 0..4 {
                h.is_inter[i] = d.diff_update();
            }
            // frame_reference_mode
            let compound_allowed = (2..=3).any(|i| fi.sign_bias[i] != fi.sign_bias[1]);
            if compound_allowed && d.literal(1) == 1 {
                reference_mode = if d.literal(1) == 1 { 2 } else { 1 };
            }
            // frame_reference_mode_probs
            if reference_mode == 2 {
                for i in 0..5 {
                    h.comp_mode[i] = d.diff_update();
                }
            }
            if reference_mode != 1 {
                for i in 0..5 {
                    h.single_ref[i][0] = d.diff_update();
                    h.single_ref[i][1] = d.diff_update();
                }
            }
            if reference_mode != 0 {
                for i in 0..5 {
                    h.comp_ref[i] = d.diff_update();
                }
            }
            for i in 0..4 {
                for j in 0..9 {
                    h.y_mode[i][j] = d.diff_update();
                }
            }
            for i in 0..16 {
                for j in 0..3 {
                    h.partition[i][j] = d.diff_update();
                }
            }
            // mv_probs
            let mv = &mut h.mv;
            for j in 0..3 {
                mv.joint[j] = d.mv_update();
            }
            for i in 0..2 {
                mv.sign[i] = d.mv_update();
                for j in 0..10 {
                    mv.classes[i][j] = d.mv_update();
                }
                mv.class0_bit[i] = d.mv_update();
                for j in 0..10 {
                    mv.bits[i][j] = d.mv_update();
                }
            }
            for i in 0..2 {
                for j in 0..2 {
                    for k in 0..3 {
                        mv.class0_fr[i][j][k] = d.mv_update();
                    }
                }
                for k in 0..3 {
                    mv.fr[i][k] = d.mv_update();
                }
            }
            if fi.allow_high_precision_mv {
                for i in 0..2 {
                    mv.class0_hp[i] = d.mv_update();
                    mv.hp[i] = d.mv_update();
                }
            }
        }
        // exit_bool (9.2.3): the padding after the last decoded bool is zero
        // in conforming streams; anything else means we read a different
        // number of symbols than the encoder wrote.
        while d.bits_left > 0 {
            if d.raw_bit() != 0 {
                return Err("compressed header: non-zero padding after the last symbol".into());
            }
        }
        Ok((h, reference_mode))
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn inv_map_table_shape() {
            // Spec 6.3.5 table: first entries and the tail.
            assert_eq!(inv_map(0), 7);
            assert_eq!(inv_map(19), 254);
            assert_eq!(inv_map(20), 1);
            assert_eq!(inv_map(26), 8);
            assert_eq!(inv_map(253), 253);
            assert_eq!(inv_map(254), 253);
        }

        #[test]
        fn marker_bit_and_empty() {
            assert!(parse(
                &[],
                &FrameInfo {
                    lossless: false,
                    intra: true,
                    switchable_interp: false,
                    allow_high_precision_mv: false,
                    sign_bias: [0; 4],
                }
            )
            .is_err());
        }
    }
}
