//! VP8 IVF stream -> per-frame V4L2 stateless controls, OUTPUT bytes and
//! CAPTURE timestamps, as GStreamer 1.26's `v4l2slvp8dec` fills them.
//!
//! The frame header is parsed here (RFC 6386 section 9 and 19.2, its own
//! boolean decoder, section 7): the uncompressed data chunk, then the
//! bool-coded header that opens the first partition. [`Vp8State`] carries what
//! persists between frames (probabilities, segmentation and loop-filter
//! deltas, the key frame's size); [`parse_frame`] works on a copy of it so a
//! caller commits it only once the frame decoded.
//!
//! Conventions (what the 6.12 FRAME control means, as clients fill it):
//! - One request per frame, hidden frames (show_frame = 0, alt-ref) included;
//!   OUTPUT bytes = the whole frame.
//! - Probabilities are the values this frame decodes with, after its updates
//!   (also when `refresh_entropy_probs` = 0 makes them last one frame only).
//!   `y_mode_probs` / `uv_mode_probs` / `mv_probs` are the inter-frame ones
//!   (key frames use fixed tables and reset these to their defaults).
//!   Key frames send the fixed key-frame mode tables (11.2) in
//!   `y_mode_probs` / `uv_mode_probs`.
//! - Segment quantiser / loop-filter values, segment tree probabilities and
//!   the loop-filter deltas are the persistent values after this frame's
//!   updates, all 0 after a key frame (a tree probability not coded in a map
//!   update is 255); `DELTA_VALUE_MODE` is set when segment_feature_mode = 0.
//! - `first_part_header_bits` = p, the bits the boolean decoder shifted out
//!   for the header, counted from the start of the first partition (after the
//!   3- or 10-byte uncompressed chunk); `coder_state`: the decoder right
//!   after the header: `range` (128..=255), `value` = the top byte of its
//!   window (partition bits p..p+8 less what was decoded), `bit_count` =
//!   (8 - p % 8) % 8. Hantro/Rockchip resume macroblock decoding at bit
//!   p + 8 with range and value; every client (GStreamer, FFmpeg's
//!   v4l2-request, cros-codecs, Chromium) fills it so.
//! - `last/golden/alt_frame_ts`: the timestamps the three reference slots
//!   hold before this frame (key frames use none; the slots' values are
//!   sent all the same). After the frame, the slots are updated as FFmpeg's
//!   and libvpx's decoders do: copies (`copy_buffer_to_golden` /
//!   `_alternate`, both reading the slots before this frame), then the
//!   refreshes with this frame.

use serde::{Deserialize, Serialize};

use super::ivf::{self, IvfBuildError};
use super::vp8_tables::{
    COEFF_DEFAULT_PROBS, COEFF_UPDATE_PROBS, KF_UV_MODE_PROBS, KF_Y_MODE_PROBS, MV_DEFAULT_PROBS,
    MV_UPDATE_PROBS, UV_MODE_DEFAULT_PROBS, Y_MODE_DEFAULT_PROBS,
};
use crate::vp8::{
    Entropy, EntropyCoderState, Frame, FrameFlags, LoopFilter, LoopFilterFlags, Quantization,
    Segment, SegmentFlags,
};

/// Errors, each with the byte offset in the IVF file where it was found.
pub type Vp8BuildError = IvfBuildError;

/// Reference slot indices (bits of [`Vp8Request::refresh`]).
pub const SLOT_LAST: usize = 0;
pub const SLOT_GOLDEN: usize = 1;
pub const SLOT_ALT: usize = 2;

// --- Boolean decoder (RFC 6386 section 7.3) --------------------------------

/// The state a boolean decoder is in, in the terms of RFC 6386's reference
/// decoder (section 7.3): `range` (128..=255), the 2-byte `value` window and
/// `bit_count` (how many bits of the byte that follows the window have been
/// shifted in, 0..=7), plus the bits consumed since the start.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CoderState {
    pub range: u32,
    pub value: u32,
    pub bit_count: u32,
    /// Normalisation shifts so far: the bits consumed from the partition.
    pub bits: u64,
}

/// RFC 6386's boolean decoder over one partition; bytes past its end read as
/// zeros (as the reference decoder and libvpx do), and [`BoolDecoder::overrun`]
/// says how many were needed.
pub struct BoolDecoder<'a> {
    data: &'a [u8],
    pos: usize,
    value: u32,
    range: u32,
    bit_count: u32,
    bits: u64,
}

impl<'a> BoolDecoder<'a> {
    pub fn new(data: &'a [u8]) -> Self {
        let mut d = BoolDecoder {
            data,
            pos: 0,
            value: 0,
            range: 255,
            bit_count: 0,
            bits: 0,
        };
        d.value = (d.next_byte() << 8) | d.next_byte();
        d
    }

    fn next_byte(&mut self) -> u32 {
        let b = self.data.get(self.pos).copied().unwrap_or(0);
        self.pos += 1;
        u32::from(b)
    }

    /// Bytes read beyond the partition's end (0 when it was long enough).
    pub fn overrun(&self) -> usize {
        self.pos.saturating_sub(self.data.len())
    }

    pub fn state(&self) -> CoderState {
        CoderState {
            range: self.range,
            value: self.value,
            bit_count: self.bit_count,
            bits: self.bits,
        }
    }

    /// `B(prob)`: one bool whose probability of being 0 is `prob / 256`.
    pub fn bool(&mut self, prob: u8) -> bool {
        let split = 1 + (((self.range - 1) * u32::from(prob)) >> 8);
        let big_split = split << 8;
        let bit = if self.value >= big_split {
            self.range -= split;
            self.value -= big_split;
            true
        } else {
            self.range = split;
            false
        };
        while self.range < 128 {
            self.value <<= 1;
            self.range <<= 1;
            self.bits += 1;
            self.bit_count += 1;
            if self.bit_count == 8 {
                self.bit_count = 0;
                self.value |= self.next_byte();
            }
        }
        bit
    }

    /// `L(n)`: an `n`-bit unsigned literal, most significant bit first.
    pub fn literal(&mut self, n: u32) -> u32 {
        (0..n).fold(0, |v, _| (v << 1) | u32::from(self.bool(128)))
    }

    pub fn flag(&mut self) -> bool {
        self.bool(128)
    }

    /// An optional signed value: flag, then `L(n)` magnitude and a sign bit
    /// (0 when the flag is clear).
    fn opt_signed(&mut self, n: u32) -> Option<i32> {
        if !self.flag() {
            return None;
        }
        let m = self.literal(n) as i32;
        Some(if self.flag() { -m } else { m })
    }
}

// --- Frame header ----------------------------------------------------------

/// What persists from frame to frame (RFC 6386 sections 9.3, 9.6, 9.7-9.11).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Vp8State {
    /// Size and scaling of the last key frame (`None` before the first one).
    pub size: Option<(u16, u16, u8, u8)>,
    /// segment_feature_mode = 1 (absolute values).
    pub segment_abs: bool,
    pub segment_quant: [i8; 4],
    pub segment_lf: [i8; 4],
    pub segment_probs: [u8; 3],
    pub ref_lf_deltas: [i8; 4],
    pub mode_lf_deltas: [i8; 4],
    /// Token, inter-frame mode and MV probabilities (saved and restored as one when
    /// refresh_entropy_probs = 0).
    pub probs: Entropy,
}

impl Default for Vp8State {
    fn default() -> Self {
        Vp8State {
            size: None,
            segment_abs: false,
            segment_quant: [0; 4],
            segment_lf: [0; 4],
            segment_probs: [0; 3],
            ref_lf_deltas: [0; 4],
            mode_lf_deltas: [0; 4],
            probs: Entropy {
                coeff_probs: COEFF_DEFAULT_PROBS,
                y_mode_probs: Y_MODE_DEFAULT_PROBS,
                uv_mode_probs: UV_MODE_DEFAULT_PROBS,
                mv_probs: MV_DEFAULT_PROBS,
                padding: [0; 3],
            },
        }
    }
}

impl Vp8State {
    /// The key-frame resets (libvpx `init_frame`, FFmpeg `vp8_decode_frame_header`):
    /// default probabilities, segment data 0 in delta mode, loop-filter deltas 0.
    fn key_frame_reset(&mut self) {
        *self = Vp8State {
            size: self.size,
            ..Vp8State::default()
        };
    }
}

/// Where a slot not refreshed with the frame is copied from (`copy_buffer_to_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum SlotCopy {
    None,
    Last,
    /// Golden for the alt-ref slot, alt-ref for the golden slot.
    Other,
}

/// The parsed frame header: the FRAME control a client sends (minus the
/// reference timestamps) and what the control leaves out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Vp8Header {
    /// The FRAME control (timestamps 0).
    pub frame: Frame,
    pub color_space: bool,
    pub clamping_type: bool,
    pub refresh_golden: bool,
    pub refresh_alt: bool,
    pub copy_to_golden: SlotCopy,
    pub copy_to_alt: SlotCopy,
    pub refresh_last: bool,
    pub refresh_entropy_probs: bool,
    /// Bytes of the uncompressed data chunk (3, or 10 on key frames).
    pub first_part_offset: usize,
}

impl Vp8Header {
    pub fn key_frame(&self) -> bool {
        self.frame.is_key_frame()
    }

    pub fn show_frame(&self) -> bool {
        self.frame.flags.contains(FrameFlags::SHOW_FRAME)
    }

    /// Slots (bits [`SLOT_LAST`], [`SLOT_GOLDEN`], [`SLOT_ALT`]) the frame
    /// itself is stored into.
    pub fn refresh(&self) -> u8 {
        if self.key_frame() {
            return 0b111;
        }
        u8::from(self.refresh_last)
            | u8::from(self.refresh_golden) << SLOT_GOLDEN
            | u8::from(self.refresh_alt) << SLOT_ALT
    }

    /// The slots after this frame, from those before it (`ts` = this frame).
    pub fn update_slots<T: Copy>(&self, slots: &[Option<T>; 3], ts: T) -> [Option<T>; 3] {
        let mut next = *slots;
        if !self.key_frame() {
            next[SLOT_GOLDEN] = match self.copy_to_golden {
                SlotCopy::None => slots[SLOT_GOLDEN],
                SlotCopy::Last => slots[SLOT_LAST],
                SlotCopy::Other => slots[SLOT_ALT],
            };
            next[SLOT_ALT] = match self.copy_to_alt {
                SlotCopy::None => slots[SLOT_ALT],
                SlotCopy::Last => slots[SLOT_LAST],
                SlotCopy::Other => slots[SLOT_GOLDEN],
            };
        }
        let r = self.refresh();
        for (i, s) in next.iter_mut().enumerate() {
            if r & (1 << i) != 0 {
                *s = Some(ts);
            }
        }
        next
    }
}

/// Why a frame header does not parse; `at` is the offset in the frame.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("byte {at} of the frame: {msg}")]
pub struct HeaderError {
    pub at: usize,
    pub msg: String,
}

fn herr(at: usize, msg: impl Into<String>) -> HeaderError {
    HeaderError {
        at,
        msg: msg.into(),
    }
}

/// Parses the header of one VP8 frame with the persistent `state` (updated in
/// place: pass a copy to keep the original) and checks that its partitions fit
/// in `data`.
pub fn parse_frame(state: &mut Vp8State, data: &[u8]) -> Result<Vp8Header, HeaderError> {
    // 9.1: frame tag.
    let tag = data
        .get(..3)
        .ok_or_else(|| herr(0, format!("{} bytes: no 3-byte frame tag", data.len())))?;
    let tag = u32::from(tag[0]) | u32::from(tag[1]) << 8 | u32::from(tag[2]) << 16;
    let key = tag & 1 == 0;
    let version = ((tag >> 1) & 7) as u8;
    let show = (tag >> 4) & 1 == 1;
    let first_part_size = tag >> 5;
    if version > 3 {
        return Err(herr(0, format!("version {version} (0..=3 are defined)")));
    }
    let mut f = Frame::default();
    let offset = if key {
        let kf = data
            .get(3..10)
            .ok_or_else(|| herr(3, "key frame without its 7-byte start code and size"))?;
        if kf[..3] != [0x9d, 0x01, 0x2a] {
            return Err(herr(3, format!("key frame start code {:02x?}", &kf[..3])));
        }
        let w = u16::from_le_bytes([kf[3], kf[4]]);
        let h = u16::from_le_bytes([kf[5], kf[6]]);
        let (width, height) = (w & 0x3fff, h & 0x3fff);
        if width == 0 || height == 0 {
            return Err(herr(6, format!("key frame size {width}x{height}")));
        }
        state.size = Some((width, height, (w >> 14) as u8, (h >> 14) as u8));
        state.key_frame_reset();
        10
    } else {
        3
    };
    let Some((width, height, hscale, vscale)) = state.size else {
        return Err(herr(0, "inter frame before the first key frame"));
    };
    f.width = width;
    f.height = height;
    f.horizontal_scale = hscale;
    f.vertical_scale = vscale;
    f.version = version;
    f.first_part_size = first_part_size;
    let part_end = offset + first_part_size as usize;
    if first_part_size == 0 || part_end > data.len() {
        return Err(herr(
            0,
            format!(
                "first partition of {first_part_size} bytes at byte {offset} does not fit the \
                 {}-byte frame",
                data.len()
            ),
        ));
    }
    let mut d = BoolDecoder::new(&data[offset..part_end]);
    let mut h = Vp8Header {
        frame: f,
        color_space: false,
        clamping_type: false,
        refresh_golden: key,
        refresh_alt: key,
        copy_to_golden: SlotCopy::None,
        copy_to_alt: SlotCopy::None,
        refresh_last: true,
        refresh_entropy_probs: true,
        first_part_offset: offset,
    };
    if key {
        h.color_space = d.flag();
        h.clamping_type = d.flag();
    }
    let f = &mut h.frame;

    // 9.3: segmentation.
    let mut sflags = SegmentFlags::empty();
    if d.flag() {
        sflags |= SegmentFlags::ENABLED;
        let update_map = d.flag();
        let update_data = d.flag();
        if update_data {
            sflags |= SegmentFlags::UPDATE_FEATURE_DATA;
            state.segment_abs = d.flag();
            for q in &mut state.segment_quant {
                *q = d.opt_signed(7).unwrap_or(0) as i8;
            }
            for l in &mut state.segment_lf {
                *l = d.opt_signed(6).unwrap_or(0) as i8;
            }
        }
        if update_map {
            sflags |= SegmentFlags::UPDATE_MAP;
            for p in &mut state.segment_probs {
                *p = if d.flag() { d.literal(8) as u8 } else { 255 };
            }
        }
    }
    if !state.segment_abs {
        sflags |= SegmentFlags::DELTA_VALUE_MODE;
    }
    f.segment = Segment {
        quant_update: state.segment_quant,
        lf_update: state.segment_lf,
        segment_probs: state.segment_probs,
        padding: 0,
        flags: sflags,
    };

    // 9.6: loop filter.
    let mut lflags = LoopFilterFlags::empty();
    lflags.set(LoopFilterFlags::FILTER_TYPE_SIMPLE, d.flag());
    let level = d.literal(6) as u8;
    let sharpness = d.literal(3) as u8;
    if d.flag() {
        lflags |= LoopFilterFlags::ADJ_ENABLE;
        if d.flag() {
            lflags |= LoopFilterFlags::DELTA_UPDATE;
            for r in &mut state.ref_lf_deltas {
                if let Some(v) = d.opt_signed(6) {
                    *r = v as i8;
                }
            }
            for m in &mut state.mode_lf_deltas {
                if let Some(v) = d.opt_signed(6) {
                    *m = v as i8;
                }
            }
        }
    }
    f.lf = LoopFilter {
        ref_frm_delta: state.ref_lf_deltas,
        mb_mode_delta: state.mode_lf_deltas,
        sharpness_level: sharpness,
        level,
        padding: 0,
        flags: lflags,
    };

    // 9.5: token partitions.
    let log2_parts = d.literal(2);
    f.num_dct_parts = 1 << log2_parts;

    // 9.6: quantiser indices.
    let y_ac_qi = d.literal(7) as u8;
    let mut delta = || d.opt_signed(4).unwrap_or(0) as i8;
    f.quant = Quantization {
        y_ac_qi,
        y_dc_delta: delta(),
        y2_dc_delta: delta(),
        y2_ac_delta: delta(),
        uv_dc_delta: delta(),
        uv_ac_delta: delta(),
        padding: 0,
    };

    // 9.7-9.8: reference updates.
    let mut flags = FrameFlags::empty();
    flags.set(FrameFlags::KEY_FRAME, key);
    flags.set(FrameFlags::SHOW_FRAME, show);
    if !key {
        h.refresh_golden = d.flag();
        h.refresh_alt = d.flag();
        let copy = |d: &mut BoolDecoder<'_>| match d.literal(2) {
            0 => Ok(SlotCopy::None),
            1 => Ok(SlotCopy::Last),
            2 => Ok(SlotCopy::Other),
            v => Err(v),
        };
        if !h.refresh_golden {
            h.copy_to_golden =
                copy(&mut d).map_err(|v| herr(offset, format!("copy_buffer_to_golden = {v}")))?;
        }
        if !h.refresh_alt {
            h.copy_to_alt = copy(&mut d)
                .map_err(|v| herr(offset, format!("copy_buffer_to_alternate = {v}")))?;
        }
        flags.set(FrameFlags::SIGN_BIAS_GOLDEN, d.flag());
        flags.set(FrameFlags::SIGN_BIAS_ALT, d.flag());
    }
    h.refresh_entropy_probs = d.flag();
    let saved = (!h.refresh_entropy_probs).then_some(state.probs);
    if !key {
        h.refresh_last = d.flag();
    }

    // 9.9: token probability updates.
    for (i, bands) in state.probs.coeff_probs.iter_mut().enumerate() {
        for (j, ctxs) in bands.iter_mut().enumerate() {
            for (k, probs) in ctxs.iter_mut().enumerate() {
                for (l, p) in probs.iter_mut().enumerate() {
                    if d.bool(COEFF_UPDATE_PROBS[i][j][k][l]) {
                        *p = d.literal(8) as u8;
                    }
                }
            }
        }
    }

    // 9.10-9.11: skip, intra/inter probabilities, mode and MV updates.
    if d.flag() {
        flags |= FrameFlags::MB_NO_SKIP_COEFF;
        f.prob_skip_false = d.literal(8) as u8;
    }
    if !key {
        f.prob_intra = d.literal(8) as u8;
        f.prob_last = d.literal(8) as u8;
        f.prob_gf = d.literal(8) as u8;
        if d.flag() {
            for p in &mut state.probs.y_mode_probs {
                *p = d.literal(8) as u8;
            }
        }
        if d.flag() {
            for p in &mut state.probs.uv_mode_probs {
                *p = d.literal(8) as u8;
            }
        }
        for (i, comp) in state.probs.mv_probs.iter_mut().enumerate() {
            for (j, p) in comp.iter_mut().enumerate() {
                if d.bool(MV_UPDATE_PROBS[i][j]) {
                    let x = d.literal(7) as u8;
                    *p = if x == 0 { 1 } else { x << 1 };
                }
            }
        }
    }
    if d.overrun() > 0 {
        return Err(herr(
            offset,
            format!(
                "frame header runs {} byte(s) past the {first_part_size}-byte first partition",
                d.overrun()
            ),
        ));
    }
    f.flags = flags;
    f.entropy = state.probs;
    if key {
        // Key frames code their modes with fixed tables (11.2), which is what clients send.
        f.entropy.y_mode_probs = KF_Y_MODE_PROBS;
        f.entropy.uv_mode_probs = KF_UV_MODE_PROBS;
    }
    let cs = d.state();
    f.first_part_header_bits = cs.bits as u32;
    f.coder_state = EntropyCoderState {
        range: cs.range as u8,
        value: (cs.value >> 8) as u8,
        bit_count: ((8 - cs.bits % 8) % 8) as u8,
        padding: 0,
    };

    // 9.5: DCT partition sizes (3 bytes each but the last) after the first partition.
    let parts = usize::from(f.num_dct_parts);
    let table = part_end;
    let mut pos = table + 3 * (parts - 1);
    if pos > data.len() {
        return Err(herr(
            table,
            format!("frame cut in the sizes of its {parts} DCT partitions"),
        ));
    }
    for i in 0..parts {
        let size = if i + 1 < parts {
            let b = &data[table + 3 * i..table + 3 * i + 3];
            u32::from(b[0]) | u32::from(b[1]) << 8 | u32::from(b[2]) << 16
        } else {
            (data.len() - pos) as u32
        };
        if pos + size as usize > data.len() {
            return Err(herr(
                pos,
                format!(
                    "DCT partition {i} of {parts}: {size} bytes at byte {pos} do not fit the \
                     {}-byte frame",
                    data.len()
                ),
            ));
        }
        f.dct_part_sizes[i] = size;
        pos += size as usize;
    }
    if let Some(saved) = saved {
        // This frame's probability updates last for this frame only.
        state.probs = saved;
    }
    Ok(h)
}

// --- Builder ---------------------------------------------------------------

/// One decode request.
#[derive(Debug, Clone, PartialEq)]
pub struct Vp8Request {
    /// `V4L2_CID_STATELESS_VP8_FRAME`.
    pub frame: Frame,
    /// OUTPUT buffer bytes (the whole frame).
    pub bitstream: Vec<u8>,
    /// CAPTURE timestamp (ns).
    pub timestamp: u64,
    /// show_frame.
    pub shown: bool,
    /// Slots the frame is stored into (bits [`SLOT_LAST`], ...).
    pub refresh: u8,
    /// refresh_entropy_probs (not in the control).
    pub refresh_entropy_probs: bool,
    /// The three slots' timestamps after this frame (copies included).
    pub slots_after: [Option<u64>; 3],
    /// Index in decode order (requests), from 0.
    pub decode_index: u32,
    /// IVF frame index the frame came from.
    pub ivf_index: usize,
    /// Offset of the frame in the file.
    pub stream_offset: usize,
}

/// Builder state.
#[derive(Debug)]
pub struct Vp8Builder {
    state: Vp8State,
    slots: [Option<u64>; 3],
    next_ts: u64,
    step: u64,
    decode_index: u32,
}

impl Default for Vp8Builder {
    fn default() -> Self {
        Self::new(1000, 1000)
    }
}

/// The FRAME control of a parsed header with the reference timestamps of
/// `slots` (0 for an empty slot).
pub fn frame_with_refs(h: &Vp8Header, slots: &[Option<u64>; 3]) -> Frame {
    let mut f = h.frame;
    f.last_frame_ts = slots[SLOT_LAST].unwrap_or(0);
    f.golden_frame_ts = slots[SLOT_GOLDEN].unwrap_or(0);
    f.alt_frame_ts = slots[SLOT_ALT].unwrap_or(0);
    f
}

impl Vp8Builder {
    /// Timestamps start at `base` and grow by `step` per request.
    pub fn new(base: u64, step: u64) -> Self {
        Vp8Builder {
            state: Vp8State::default(),
            slots: [None; 3],
            next_ts: base,
            step,
            decode_index: 0,
        }
    }

    /// Builds every request of a whole IVF file.
    pub fn build_ivf(data: &[u8]) -> Result<Vec<Vp8Request>, Vp8BuildError> {
        let mut b = Self::default();
        ivf::build_all(data, |d, offset, index| Ok(vec![b.push(d, offset, index)?]))
    }

    /// Feeds one IVF frame found at `offset`.
    pub fn push(
        &mut self,
        data: &[u8],
        offset: usize,
        ivf_index: usize,
    ) -> Result<Vp8Request, Vp8BuildError> {
        let h = parse_frame(&mut self.state, data).map_err(|e| Vp8BuildError::Parse {
            offset: offset + e.at,
            ivf_index,
            msg: e.msg,
        })?;
        let timestamp = self.next_ts;
        self.next_ts += self.step;
        let frame = frame_with_refs(&h, &self.slots);
        self.slots = h.update_slots(&self.slots, timestamp);
        let decode_index = self.decode_index;
        self.decode_index += 1;
        Ok(Vp8Request {
            frame,
            bitstream: data.to_vec(),
            timestamp,
            shown: h.show_frame(),
            refresh: h.refresh(),
            refresh_entropy_probs: h.refresh_entropy_probs,
            slots_after: self.slots,
            decode_index,
            ivf_index,
            stream_offset: offset,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A boolean encoder (RFC 6386 section 7.3), to make headers for the parser.
    struct BoolEncoder {
        out: Vec<u8>,
        range: u32,
        bottom: u32,
        bit_count: i32,
    }

    impl BoolEncoder {
        fn new() -> Self {
            BoolEncoder {
                out: Vec::new(),
                range: 255,
                bottom: 0,
                bit_count: 24,
            }
        }

        fn add_one(&mut self) {
            for b in self.out.iter_mut().rev() {
                if *b == 255 {
                    *b = 0;
                } else {
                    *b += 1;
                    break;
                }
            }
        }

        fn bool(&mut self, prob: u8, bit: bool) {
            let split = 1 + (((self.range - 1) * u32::from(prob)) >> 8);
            if bit {
                self.bottom = self.bottom.wrapping_add(split);
                self.range -= split;
            } else {
                self.range = split;
            }
            while self.range < 128 {
                self.range <<= 1;
                if self.bottom & (1 << 31) != 0 {
                    self.add_one();
                }
                self.bottom <<= 1;
                self.bit_count -= 1;
                if self.bit_count == 0 {
                    self.out.push((self.bottom >> 24) as u8);
                    self.bottom &= (1 << 24) - 1;
                    self.bit_count = 8;
                }
            }
        }

        fn literal(&mut self, n: u32, v: u32) {
            for i in (0..n).rev() {
                self.bool(128, (v >> i) & 1 == 1);
            }
        }

        fn flush(mut self) -> Vec<u8> {
            for _ in 0..32 {
                self.bool(128, false);
            }
            self.out
        }
    }

    #[test]
    fn bool_decoder_reads_what_the_encoder_wrote() {
        let mut e = BoolEncoder::new();
        let probs = [1u8, 128, 200, 255, 7, 64];
        let bits: Vec<(u8, bool)> = (0..500)
            .map(|i| (probs[i % probs.len()], (i * 7 + i / 3) % 5 < 2))
            .collect();
        for &(p, b) in &bits {
            e.bool(p, b);
        }
        e.literal(7, 93);
        let data = e.flush();
        let mut d = BoolDecoder::new(&data);
        for &(p, b) in &bits {
            assert_eq!(d.bool(p), b);
        }
        assert_eq!(d.literal(7), 93);
        assert_eq!(d.overrun(), 0);
    }

    /// A key frame header with every optional part present, then an inter
    /// frame that copies golden from last and alt-ref from golden.
    fn key_frame(e: &mut BoolEncoder) {
        e.literal(1, 0); // color_space
        e.literal(1, 1); // clamping_type
        e.literal(1, 1); // segmentation_enabled
        e.literal(1, 1); // update_mb_segmentation_map
        e.literal(1, 1); // update_segment_feature_data
        e.literal(1, 1); // segment_feature_mode: absolute
        for q in [5i32, -3, 0, 100] {
            e.literal(1, u32::from(q != 0));
            if q != 0 {
                e.literal(7, q.unsigned_abs());
                e.literal(1, u32::from(q < 0));
            }
        }
        for l in [0i32, 0, -63, 1] {
            e.literal(1, u32::from(l != 0));
            if l != 0 {
                e.literal(6, l.unsigned_abs());
                e.literal(1, u32::from(l < 0));
            }
        }
        for p in [Some(17u32), None, Some(250)] {
            e.literal(1, u32::from(p.is_some()));
            if let Some(p) = p {
                e.literal(8, p);
            }
        }
        e.literal(1, 0); // filter_type
        e.literal(6, 40); // loop_filter_level
        e.literal(3, 5); // sharpness
        e.literal(1, 1); // loop_filter_adj_enable
        e.literal(1, 1); // mode_ref_lf_delta_update
        for v in [
            Some(2i32),
            Some(0),
            Some(-2),
            Some(-2),
            Some(4),
            None,
            Some(2),
            Some(4),
        ] {
            e.literal(1, u32::from(v.is_some()));
            if let Some(v) = v {
                e.literal(6, v.unsigned_abs());
                e.literal(1, u32::from(v < 0));
            }
        }
        e.literal(2, 2); // 4 partitions
        e.literal(7, 60); // y_ac_qi
        for d in [0i32, -2, 0, 0, 15] {
            e.literal(1, u32::from(d != 0));
            if d != 0 {
                e.literal(4, d.unsigned_abs());
                e.literal(1, u32::from(d < 0));
            }
        }
        e.literal(1, 1); // refresh_entropy_probs
                         // One token probability update: [1][2][0][0].
        for (i, bands) in COEFF_UPDATE_PROBS.iter().enumerate() {
            for (j, ctxs) in bands.iter().enumerate() {
                for (k, probs) in ctxs.iter().enumerate() {
                    for (l, &p) in probs.iter().enumerate() {
                        let upd = (i, j, k, l) == (1, 2, 0, 0);
                        e.bool(p, upd);
                        if upd {
                            e.literal(8, 99);
                        }
                    }
                }
            }
        }
        e.literal(1, 1); // mb_no_coeff_skip
        e.literal(8, 230); // prob_skip_false
    }

    fn frame_bytes(key: bool, show: bool, header: Vec<u8>, parts: &[&[u8]]) -> Vec<u8> {
        let size = header.len() as u32;
        let tag = u32::from(!key) | u32::from(show) << 4 | size << 5;
        let mut v = tag.to_le_bytes()[..3].to_vec();
        if key {
            v.extend([0x9d, 0x01, 0x2a]);
            v.extend((176u16 | 1 << 14).to_le_bytes());
            v.extend(144u16.to_le_bytes());
        }
        v.extend(header);
        for p in &parts[..parts.len() - 1] {
            v.extend(&(p.len() as u32).to_le_bytes()[..3]);
        }
        for p in parts {
            v.extend(*p);
        }
        v
    }

    #[test]
    fn key_then_inter_frame_headers() {
        let mut e = BoolEncoder::new();
        key_frame(&mut e);
        let key = frame_bytes(true, true, e.flush(), &[&[1; 5], &[2; 6], &[3; 7], &[4; 8]]);
        let mut st = Vp8State::default();
        let h = parse_frame(&mut st, &key).unwrap();
        let f = &h.frame;
        assert!(h.key_frame() && h.show_frame() && h.clamping_type && !h.color_space);
        assert_eq!((f.width, f.height, f.horizontal_scale), (176, 144, 1));
        assert_eq!(f.segment.quant_update, [5, -3, 0, 100]);
        assert_eq!(f.segment.lf_update, [0, 0, -63, 1]);
        assert_eq!(f.segment.segment_probs, [17, 255, 250]);
        assert_eq!(
            f.segment.flags,
            SegmentFlags::ENABLED | SegmentFlags::UPDATE_MAP | SegmentFlags::UPDATE_FEATURE_DATA
        );
        assert_eq!((f.lf.level, f.lf.sharpness_level), (40, 5));
        assert_eq!(f.lf.ref_frm_delta, [2, 0, -2, -2]);
        assert_eq!(f.lf.mb_mode_delta, [4, 0, 2, 4]);
        assert_eq!(f.num_dct_parts, 4);
        assert_eq!(f.dct_part_sizes[..4], [5, 6, 7, 8]);
        assert_eq!(f.quant.y_ac_qi, 60);
        assert_eq!((f.quant.y_dc_delta, f.quant.uv_ac_delta), (0, 15));
        assert_eq!(f.quant.y2_dc_delta, -2);
        assert_eq!(f.entropy.coeff_probs[1][2][0][0], 99);
        assert_eq!(
            f.entropy.coeff_probs[1][2][0][1],
            COEFF_DEFAULT_PROBS[1][2][0][1]
        );
        assert!(f.flags.contains(FrameFlags::MB_NO_SKIP_COEFF));
        assert_eq!(f.prob_skip_false, 230);
        assert_eq!(h.refresh(), 0b111);

        // Inter frame: segmentation on without updates, copies, no entropy refresh,
        // a y-mode update and one MV probability update.
        let mut e = BoolEncoder::new();
        e.literal(1, 1); // segmentation_enabled
        e.literal(1, 0);
        e.literal(1, 0);
        e.literal(1, 1); // filter_type simple
        e.literal(6, 0);
        e.literal(3, 0);
        e.literal(1, 0); // no lf adjustments
        e.literal(2, 0); // 1 partition
        e.literal(7, 10);
        for _ in 0..5 {
            e.literal(1, 0);
        }
        e.literal(1, 0); // refresh_golden
        e.literal(1, 0); // refresh_alt
        e.literal(2, 1); // golden <- last
        e.literal(2, 2); // alt <- golden
        e.literal(1, 1); // sign_bias_golden
        e.literal(1, 0);
        e.literal(1, 0); // refresh_entropy_probs = 0
        e.literal(1, 0); // refresh_last = 0
        for probs in COEFF_UPDATE_PROBS.iter().flatten().flatten() {
            for &p in probs {
                e.bool(p, false);
            }
        }
        e.literal(1, 0); // mb_no_coeff_skip
        e.literal(8, 1);
        e.literal(8, 2);
        e.literal(8, 3);
        e.literal(1, 1);
        for p in [9, 8, 7, 6] {
            e.literal(8, p);
        }
        e.literal(1, 0);
        for (i, comp) in MV_UPDATE_PROBS.iter().enumerate() {
            for (j, &p) in comp.iter().enumerate() {
                let upd = (i, j) == (1, 3);
                e.bool(p, upd);
                if upd {
                    e.literal(7, 0);
                }
            }
        }
        let inter = frame_bytes(false, false, e.flush(), &[&[7; 9]]);
        let before = st.clone();
        let h2 = parse_frame(&mut st, &inter).unwrap();
        let f2 = &h2.frame;
        assert!(!h2.key_frame() && !h2.show_frame());
        assert_eq!((f2.width, f2.height), (176, 144));
        assert_eq!(f2.segment.flags, SegmentFlags::ENABLED);
        assert_eq!(f2.segment.quant_update, [5, -3, 0, 100]);
        assert_eq!(f2.lf.flags, LoopFilterFlags::FILTER_TYPE_SIMPLE);
        assert_eq!(f2.lf.ref_frm_delta, [2, 0, -2, -2]);
        assert_eq!((f2.prob_intra, f2.prob_last, f2.prob_gf), (1, 2, 3));
        assert_eq!(f2.entropy.y_mode_probs, [9, 8, 7, 6]);
        assert_eq!(f2.entropy.mv_probs[1][3], 1);
        assert!(f2.flags.contains(FrameFlags::SIGN_BIAS_GOLDEN));
        assert_eq!(f2.dct_part_sizes[0], 9);
        // refresh_entropy_probs = 0: the next frame sees the probabilities of before.
        assert_eq!(st.probs.y_mode_probs, before.probs.y_mode_probs);
        assert_eq!(st.probs.mv_probs, before.probs.mv_probs);
        assert_eq!(h2.refresh(), 0);
        let slots = h2.update_slots(&[Some(1), Some(2), Some(3)], 4);
        assert_eq!(slots, [Some(1), Some(1), Some(2)]);

        // Frames cut before their last partition are errors, not panics.
        for n in 0..inter.len() - 9 {
            let mut s = before.clone();
            assert!(parse_frame(&mut s, &inter[..n]).is_err(), "cut at {n}");
        }
    }
}
