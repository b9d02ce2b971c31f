//! VP8 stateless control (`V4L2_CID_STATELESS_VP8_FRAME`, Linux 6.12 UAPI).
//!
//! Range rules: the kernel's `std_validate_compound` (6.12) plus RFC 6386
//! (section 9 frame header syntax element widths).

use crate::control::serde_helpers as sh;
use crate::control::{reserved_zero, Rules};
use crate::h264::CID_STATELESS_BASE;
use crate::{Control, CtrlError, Violation};
use serde::{Deserialize, Serialize};
use zerocopy::{FromBytes, FromZeros, Immutable, IntoBytes, KnownLayout};

/// `V4L2_CID_STATELESS_VP8_FRAME`.
pub const CID_FRAME: u32 = CID_STATELESS_BASE + 200;
/// `V4L2_VP8_COEFF_PROB_CNT`.
pub const COEFF_PROB_CNT: usize = 11;
/// `V4L2_VP8_MV_PROB_CNT`.
pub const MV_PROB_CNT: usize = 19;

crate::ctrl_flags! {
    /// `V4L2_VP8_SEGMENT_FLAG_*`.
    pub struct SegmentFlags(u32) {
        const ENABLED = 0x01;
        const UPDATE_MAP = 0x02;
        const UPDATE_FEATURE_DATA = 0x04;
        const DELTA_VALUE_MODE = 0x08;
    }
}

crate::ctrl_flags! {
    /// `V4L2_VP8_LF_*`.
    pub struct LoopFilterFlags(u32) {
        const ADJ_ENABLE = 0x01;
        const DELTA_UPDATE = 0x02;
        const FILTER_TYPE_SIMPLE = 0x04;
    }
}

crate::ctrl_flags! {
    /// `V4L2_VP8_FRAME_FLAG_*`.
    pub struct FrameFlags(u64) {
        const KEY_FRAME = 0x01;
        const EXPERIMENTAL = 0x02;
        const SHOW_FRAME = 0x04;
        const MB_NO_SKIP_COEFF = 0x08;
        const SIGN_BIAS_GOLDEN = 0x10;
        const SIGN_BIAS_ALT = 0x20;
    }
}

/// `struct v4l2_vp8_segment`.
#[repr(C)]
#[derive(
    Clone,
    Copy,
    Debug,
    Default,
    PartialEq,
    Eq,
    FromBytes,
    IntoBytes,
    KnownLayout,
    Immutable,
    Serialize,
    Deserialize,
)]
pub struct Segment {
    pub quant_update: [i8; 4],
    pub lf_update: [i8; 4],
    pub segment_probs: [u8; 3],
    #[serde(skip)]
    pub padding: u8,
    pub flags: SegmentFlags,
}

/// `struct v4l2_vp8_loop_filter`.
#[repr(C)]
#[derive(
    Clone,
    Copy,
    Debug,
    Default,
    PartialEq,
    Eq,
    FromBytes,
    IntoBytes,
    KnownLayout,
    Immutable,
    Serialize,
    Deserialize,
)]
pub struct LoopFilter {
    pub ref_frm_delta: [i8; 4],
    pub mb_mode_delta: [i8; 4],
    pub sharpness_level: u8,
    pub level: u8,
    #[serde(skip)]
    pub padding: u16,
    pub flags: LoopFilterFlags,
}

/// `struct v4l2_vp8_quantization`.
#[repr(C)]
#[derive(
    Clone,
    Copy,
    Debug,
    Default,
    PartialEq,
    Eq,
    FromBytes,
    IntoBytes,
    KnownLayout,
    Immutable,
    Serialize,
    Deserialize,
)]
pub struct Quantization {
    pub y_ac_qi: u8,
    pub y_dc_delta: i8,
    pub y2_dc_delta: i8,
    pub y2_ac_delta: i8,
    pub uv_dc_delta: i8,
    pub uv_ac_delta: i8,
    #[serde(skip)]
    pub padding: u16,
}

/// `coeff_probs[block_type][band][ctx][node]`.
pub type CoeffProbs = [[[[u8; COEFF_PROB_CNT]; 3]; 8]; 4];

/// `struct v4l2_vp8_entropy`.
#[repr(C)]
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    FromBytes,
    IntoBytes,
    KnownLayout,
    Immutable,
    Serialize,
    Deserialize,
)]
pub struct Entropy {
    /// One serialized row per `[block_type][band]` (3 contexts x 11).
    #[serde(
        serialize_with = "sh::ser_ints::<u8, 33, _, _>",
        deserialize_with = "sh::de_ints::<u8, _, _>"
    )]
    pub coeff_probs: CoeffProbs,
    pub y_mode_probs: [u8; 4],
    pub uv_mode_probs: [u8; 3],
    #[serde(
        serialize_with = "sh::ser_ints::<u8, 19, _, _>",
        deserialize_with = "sh::de_ints::<u8, _, _>"
    )]
    pub mv_probs: [[u8; MV_PROB_CNT]; 2],
    #[serde(skip)]
    pub padding: [u8; 3],
}

/// `struct v4l2_vp8_entropy_coder_state`.
#[repr(C)]
#[derive(
    Clone,
    Copy,
    Debug,
    Default,
    PartialEq,
    Eq,
    FromBytes,
    IntoBytes,
    KnownLayout,
    Immutable,
    Serialize,
    Deserialize,
)]
pub struct EntropyCoderState {
    pub range: u8,
    pub value: u8,
    pub bit_count: u8,
    #[serde(skip)]
    pub padding: u8,
}

/// `struct v4l2_ctrl_vp8_frame`.
#[repr(C)]
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    FromBytes,
    IntoBytes,
    KnownLayout,
    Immutable,
    Serialize,
    Deserialize,
)]
pub struct Frame {
    pub segment: Segment,
    pub lf: LoopFilter,
    pub quant: Quantization,
    pub entropy: Entropy,
    pub coder_state: EntropyCoderState,
    pub width: u16,
    pub height: u16,
    pub horizontal_scale: u8,
    pub vertical_scale: u8,
    pub version: u8,
    pub prob_skip_false: u8,
    pub prob_intra: u8,
    pub prob_last: u8,
    pub prob_gf: u8,
    pub num_dct_parts: u8,
    pub first_part_size: u32,
    pub first_part_header_bits: u32,
    pub dct_part_sizes: [u32; 8],
    pub last_frame_ts: u64,
    pub golden_frame_ts: u64,
    pub alt_frame_ts: u64,
    pub flags: FrameFlags,
}

impl Default for Frame {
    /// What the kernel initialises the control with (one DCT partition).
    fn default() -> Self {
        let mut f = Self::new_zeroed();
        f.num_dct_parts = 1;
        f
    }
}

impl Frame {
    /// `V4L2_VP8_FRAME_IS_KEY_FRAME()`.
    pub fn is_key_frame(&self) -> bool {
        self.flags.contains(FrameFlags::KEY_FRAME)
    }
}

impl Control for Frame {
    const ID: u32 = CID_FRAME;
    const NAME: &'static str = "VP8_FRAME";

    fn check(&self) -> Result<(), CtrlError> {
        let n = Self::NAME;
        self.segment.flags.check(n, "segment.flags")?;
        reserved_zero(n, "segment.padding", &self.segment.padding)?;
        self.lf.flags.check(n, "lf.flags")?;
        reserved_zero(n, "lf.padding", &self.lf.padding)?;
        reserved_zero(n, "quant.padding", &self.quant.padding)?;
        reserved_zero(n, "entropy.padding", &self.entropy.padding)?;
        reserved_zero(n, "coder_state.padding", &self.coder_state.padding)?;
        self.flags.check(n, "flags")
    }

    fn violations(&self, out: &mut Vec<Violation>) {
        let mut r = Rules::new(Self::NAME, out);
        // Kernel.
        r.one_of("num_dct_parts", self.num_dct_parts, &[1, 2, 4, 8]);
        // RFC 6386 9.3: segment quantizer L(7)+sign, loop filter L(6)+sign.
        for (i, &q) in self.segment.quant_update.iter().enumerate() {
            r.range(format!("segment.quant_update[{i}]"), q, -127, 127);
        }
        for (i, &l) in self.segment.lf_update.iter().enumerate() {
            r.range(format!("segment.lf_update[{i}]"), l, -63, 63);
        }
        // 9.6: level L(6), sharpness L(3), deltas L(6)+sign.
        r.max("lf.level", self.lf.level, 63);
        r.max("lf.sharpness_level", self.lf.sharpness_level, 7);
        for (i, &d) in self.lf.ref_frm_delta.iter().enumerate() {
            r.range(format!("lf.ref_frm_delta[{i}]"), d, -63, 63);
        }
        for (i, &d) in self.lf.mb_mode_delta.iter().enumerate() {
            r.range(format!("lf.mb_mode_delta[{i}]"), d, -63, 63);
        }
        // 9.6: y_ac_qi L(7), deltas L(4)+sign.
        r.max("quant.y_ac_qi", self.quant.y_ac_qi, 127);
        for (name, d) in [
            ("quant.y_dc_delta", self.quant.y_dc_delta),
            ("quant.y2_dc_delta", self.quant.y2_dc_delta),
            ("quant.y2_ac_delta", self.quant.y2_ac_delta),
            ("quant.uv_dc_delta", self.quant.uv_dc_delta),
            ("quant.uv_ac_delta", self.quant.uv_ac_delta),
        ] {
            r.range(name, d, -15, 15);
        }
        // 9.1: 14-bit dimensions, 2-bit scales, 3-bit version (0..=3 defined).
        r.max("width", self.width, 0x3fff);
        r.max("height", self.height, 0x3fff);
        r.max("horizontal_scale", self.horizontal_scale, 3);
        r.max("vertical_scale", self.vertical_scale, 3);
        r.max("version", self.version, 3);
    }
}

/// The controls of one VP8 request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Vp8Controls {
    pub frame: Frame,
}

impl Vp8Controls {
    /// A picture decoding can start at: it references nothing decoded before
    /// it (a key frame). An engine that lost its state waits for one.
    pub fn random_access(&self) -> bool {
        self.frame.is_key_frame()
    }

    /// The set from a request's control list.
    pub fn from_controls(c: &crate::set::Controls<'_>) -> Result<Self, crate::set::SetError> {
        Ok(Vp8Controls { frame: c.get()? })
    }

    /// The control list a client sets for this request.
    pub fn to_payloads(&self) -> Vec<crate::set::Payload> {
        vec![crate::set::Payload::of(&self.frame)]
    }
}
