//! VP9 stateless controls (`V4L2_CID_STATELESS_VP9_*`, Linux 6.12 UAPI).
//!
//! Range rules: the kernel's `validate_vp9_frame` /
//! `validate_vp9_compressed_hdr` (6.12) plus the VP9 bitstream spec (6.2,
//! 7.2).

use crate::control::serde_helpers as sh;
use crate::control::{enum_field, reserved_zero, Rules};
use crate::h264::CID_STATELESS_BASE;
use crate::{Control, CtrlError, Violation};
use serde::{Deserialize, Serialize};
use zerocopy::{FromBytes, FromZeros, Immutable, IntoBytes, KnownLayout};

/// `V4L2_CID_STATELESS_VP9_FRAME`.
pub const CID_FRAME: u32 = CID_STATELESS_BASE + 300;
/// `V4L2_CID_STATELESS_VP9_COMPRESSED_HDR`.
pub const CID_COMPRESSED_HDR: u32 = CID_STATELESS_BASE + 301;

/// `V4L2_VP9_NUM_FRAME_CTX`.
pub const NUM_FRAME_CTX: u8 = 4;
/// `V4L2_VP9_PROFILE_MAX`.
pub const PROFILE_MAX: u8 = 3;
/// `V4L2_VP9_SEG_LVL_ALT_Q`.
pub const SEG_LVL_ALT_Q: usize = 0;
/// `V4L2_VP9_SEG_LVL_ALT_L`.
pub const SEG_LVL_ALT_L: usize = 1;
/// `V4L2_VP9_SEG_LVL_REF_FRAME`.
pub const SEG_LVL_REF_FRAME: usize = 2;
/// `V4L2_VP9_SEG_LVL_SKIP`.
pub const SEG_LVL_SKIP: usize = 3;
/// `V4L2_VP9_SEG_LVL_MAX`.
pub const SEG_LVL_MAX: usize = 4;
/// `V4L2_VP9_SEGMENT_FEATURE_ENABLED_MASK`.
pub const SEGMENT_FEATURE_ENABLED_MASK: u8 = 0xf;

crate::ctrl_flags! {
    /// `V4L2_VP9_LOOP_FILTER_FLAG_*`.
    pub struct LoopFilterFlags(u8) {
        const DELTA_ENABLED = 0x1;
        const DELTA_UPDATE = 0x2;
    }
}

crate::ctrl_flags! {
    /// `V4L2_VP9_SEGMENTATION_FLAG_*`.
    pub struct SegmentationFlags(u8) {
        const ENABLED = 0x01;
        const UPDATE_MAP = 0x02;
        const TEMPORAL_UPDATE = 0x04;
        const UPDATE_DATA = 0x08;
        const ABS_OR_DELTA_UPDATE = 0x10;
    }
}

crate::ctrl_flags! {
    /// `V4L2_VP9_SEGMENT_FEATURE_ENABLED(V4L2_VP9_SEG_LVL_*)`: one byte per segment.
    pub struct SegmentFeatures(u8) {
        const ALT_Q = 1 << 0;
        const ALT_L = 1 << 1;
        const REF_FRAME = 1 << 2;
        const SKIP = 1 << 3;
    }
}

crate::ctrl_flags! {
    /// `V4L2_VP9_FRAME_FLAG_*`.
    pub struct FrameFlags(u32) {
        const KEY_FRAME = 0x001;
        const SHOW_FRAME = 0x002;
        const ERROR_RESILIENT = 0x004;
        const INTRA_ONLY = 0x008;
        const ALLOW_HIGH_PREC_MV = 0x010;
        const REFRESH_FRAME_CTX = 0x020;
        const PARALLEL_DEC_MODE = 0x040;
        const X_SUBSAMPLING = 0x080;
        const Y_SUBSAMPLING = 0x100;
        const COLOR_RANGE_FULL_SWING = 0x200;
    }
}

crate::ctrl_flags! {
    /// `V4L2_VP9_SIGN_BIAS_*` (`ref_frame_sign_bias`).
    pub struct SignBias(u8) {
        const LAST = 0x1;
        const GOLDEN = 0x2;
        const ALT = 0x4;
    }
}

crate::ctrl_enum! {
    /// `V4L2_VP9_RESET_FRAME_CTX_*`.
    pub enum ResetFrameContext: u8 {
        None = 0 => "NONE",
        Spec = 1 => "SPEC",
        All = 2 => "ALL",
    }
}

crate::ctrl_enum! {
    /// `V4L2_VP9_INTERP_FILTER_*`.
    pub enum InterpFilter: u8 {
        EightTap = 0 => "EIGHTTAP",
        EightTapSmooth = 1 => "EIGHTTAP_SMOOTH",
        EightTapSharp = 2 => "EIGHTTAP_SHARP",
        Bilinear = 3 => "BILINEAR",
        Switchable = 4 => "SWITCHABLE",
    }
}

crate::ctrl_enum! {
    /// `V4L2_VP9_REFERENCE_MODE_*`.
    pub enum ReferenceMode: u8 {
        SingleReference = 0 => "SINGLE_REFERENCE",
        CompoundReference = 1 => "COMPOUND_REFERENCE",
        Select = 2 => "SELECT",
    }
}

crate::ctrl_enum! {
    /// `V4L2_VP9_TX_MODE_*`.
    pub enum TxMode: u8 {
        Only4x4 = 0 => "ONLY_4X4",
        Allow8x8 = 1 => "ALLOW_8X8",
        Allow16x16 = 2 => "ALLOW_16X16",
        Allow32x32 = 3 => "ALLOW_32X32",
        Select = 4 => "SELECT",
    }
}

/// `struct v4l2_vp9_loop_filter`.
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
    pub ref_deltas: [i8; 4],
    pub mode_deltas: [i8; 2],
    pub level: u8,
    pub sharpness: u8,
    pub flags: LoopFilterFlags,
    #[serde(skip)]
    pub reserved: [u8; 7],
}

/// `struct v4l2_vp9_quantization`.
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
    pub base_q_idx: u8,
    pub delta_q_y_dc: i8,
    pub delta_q_uv_dc: i8,
    pub delta_q_uv_ac: i8,
    #[serde(skip)]
    pub reserved: [u8; 4],
}

/// `struct v4l2_vp9_segmentation`.
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
pub struct Segmentation {
    /// `[segment][V4L2_VP9_SEG_LVL_*]`.
    #[serde(
        serialize_with = "sh::ser_ints::<i16, 4, _, _>",
        deserialize_with = "sh::de_ints::<i16, _, _>"
    )]
    pub feature_data: [[i16; 4]; 8],
    pub feature_enabled: [SegmentFeatures; 8],
    pub tree_probs: [u8; 7],
    pub pred_probs: [u8; 3],
    pub flags: SegmentationFlags,
    #[serde(skip)]
    pub reserved: [u8; 5],
}

/// `struct v4l2_ctrl_vp9_frame`.
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
    pub lf: LoopFilter,
    pub quant: Quantization,
    pub seg: Segmentation,
    pub flags: FrameFlags,
    pub compressed_header_size: u16,
    pub uncompressed_header_size: u16,
    pub frame_width_minus_1: u16,
    pub frame_height_minus_1: u16,
    pub render_width_minus_1: u16,
    pub render_height_minus_1: u16,
    pub last_frame_ts: u64,
    pub golden_frame_ts: u64,
    pub alt_frame_ts: u64,
    pub ref_frame_sign_bias: SignBias,
    #[serde(
        serialize_with = "sh::ser_enum::<ResetFrameContext, _>",
        deserialize_with = "sh::de_enum::<ResetFrameContext, _>"
    )]
    pub reset_frame_context: u8,
    pub frame_context_idx: u8,
    pub profile: u8,
    pub bit_depth: u8,
    #[serde(
        serialize_with = "sh::ser_enum::<InterpFilter, _>",
        deserialize_with = "sh::de_enum::<InterpFilter, _>"
    )]
    pub interpolation_filter: u8,
    pub tile_cols_log2: u8,
    pub tile_rows_log2: u8,
    #[serde(
        serialize_with = "sh::ser_enum::<ReferenceMode, _>",
        deserialize_with = "sh::de_enum::<ReferenceMode, _>"
    )]
    pub reference_mode: u8,
    #[serde(skip)]
    pub reserved: [u8; 7],
}

impl Default for Frame {
    /// What the kernel initialises the control with: profile 0, 8 bit, 4:2:0.
    fn default() -> Self {
        let mut f = Self::new_zeroed();
        f.bit_depth = 8;
        f.flags = FrameFlags::X_SUBSAMPLING | FrameFlags::Y_SUBSAMPLING;
        f
    }
}

impl Frame {
    /// Typed `reset_frame_context`.
    pub fn reset_frame_context(&self) -> Result<ResetFrameContext, CtrlError> {
        enum_field(Self::NAME, "reset_frame_context", self.reset_frame_context)
    }
    /// Typed `interpolation_filter`.
    pub fn interpolation_filter(&self) -> Result<InterpFilter, CtrlError> {
        enum_field(
            Self::NAME,
            "interpolation_filter",
            self.interpolation_filter,
        )
    }
    /// Typed `reference_mode`.
    pub fn reference_mode(&self) -> Result<ReferenceMode, CtrlError> {
        enum_field(Self::NAME, "reference_mode", self.reference_mode)
    }
    /// Key frame or intra-only: no inter references.
    pub fn is_intra(&self) -> bool {
        self.flags
            .intersects(FrameFlags::KEY_FRAME | FrameFlags::INTRA_ONLY)
    }
}

impl Control for Frame {
    const ID: u32 = CID_FRAME;
    const NAME: &'static str = "VP9_FRAME";

    fn check(&self) -> Result<(), CtrlError> {
        let n = Self::NAME;
        self.lf.flags.check(n, "lf.flags")?;
        reserved_zero(n, "lf.reserved", &self.lf.reserved)?;
        reserved_zero(n, "quant.reserved", &self.quant.reserved)?;
        self.seg.flags.check(n, "seg.flags")?;
        for f in &self.seg.feature_enabled {
            f.check(n, "seg.feature_enabled")?;
        }
        reserved_zero(n, "seg.reserved", &self.seg.reserved)?;
        self.flags.check(n, "flags")?;
        self.ref_frame_sign_bias.check(n, "ref_frame_sign_bias")?;
        self.reset_frame_context()?;
        self.interpolation_filter()?;
        self.reference_mode()?;
        reserved_zero(n, "reserved", &self.reserved)
    }

    /// Hard: what validate_vp9_frame rejects (flag bits, enum ranges). The
    /// reserved fields it clears and ref_frame_sign_bias (not looked at) are
    /// soft.
    fn hard_check(&self) -> Result<(), CtrlError> {
        let n = Self::NAME;
        self.lf.flags.check(n, "lf.flags")?;
        self.seg.flags.check(n, "seg.flags")?;
        for f in &self.seg.feature_enabled {
            f.check(n, "seg.feature_enabled")?;
        }
        self.flags.check(n, "flags")?;
        self.reset_frame_context()?;
        self.interpolation_filter()?;
        self.reference_mode()?;
        Ok(())
    }

    /// Soft: non-zero reserved fields, undefined ref_frame_sign_bias bits,
    /// tile_rows_log2 > 2 (VP9 6.2.14; the frame header cannot code more, and
    /// FFmpeg reads it from there).
    fn soft_violations(&self, out: &mut Vec<Violation>) {
        let n = Self::NAME;
        let mut r = Rules::new(n, out);
        r.structural(reserved_zero(n, "lf.reserved", &self.lf.reserved));
        r.structural(reserved_zero(n, "quant.reserved", &self.quant.reserved));
        r.structural(reserved_zero(n, "seg.reserved", &self.seg.reserved));
        r.structural(self.ref_frame_sign_bias.check(n, "ref_frame_sign_bias"));
        r.structural(reserved_zero(n, "reserved", &self.reserved));
        r.max("tile_rows_log2", self.tile_rows_log2, 2);
    }

    /// Hard, all of them: validate_vp9_frame's rules.
    fn violations(&self, out: &mut Vec<Violation>) {
        let mut r = Rules::new(Self::NAME, out);
        // Loop filter (validate_vp9_lf_params).
        r.max("lf.level", self.lf.level, 63);
        r.max("lf.sharpness", self.lf.sharpness, 7);
        for (i, &d) in self.lf.ref_deltas.iter().enumerate() {
            r.range(format!("lf.ref_deltas[{i}]"), d, -63, 63);
        }
        for (i, &d) in self.lf.mode_deltas.iter().enumerate() {
            r.range(format!("lf.mode_deltas[{i}]"), d, -63, 63);
        }
        // Quantisation (validate_vp9_quant_params).
        r.range("quant.delta_q_y_dc", self.quant.delta_q_y_dc, -15, 15);
        r.range("quant.delta_q_uv_dc", self.quant.delta_q_uv_dc, -15, 15);
        r.range("quant.delta_q_uv_ac", self.quant.delta_q_uv_ac, -15, 15);
        // Segmentation (validate_vp9_seg_params): |data| <= {255, 63, 3, 0}.
        const RANGE: [i16; SEG_LVL_MAX] = [255, 63, 3, 0];
        for (s, data) in self.seg.feature_data.iter().enumerate() {
            for (j, &v) in data.iter().enumerate() {
                r.range(
                    format!("seg.feature_data[{s}][{j}]"),
                    v,
                    -RANGE[j],
                    RANGE[j],
                );
            }
        }
        // Frame (validate_vp9_frame).
        r.rule(
            !(self.flags.contains(FrameFlags::ERROR_RESILIENT)
                && self.flags.contains(FrameFlags::REFRESH_FRAME_CTX)),
            "flags",
            format!("{:?}", self.flags),
            "not both ERROR_RESILIENT and REFRESH_FRAME_CTX",
        );
        r.max("profile", self.profile, PROFILE_MAX);
        r.max(
            "frame_context_idx",
            self.frame_context_idx,
            NUM_FRAME_CTX - 1,
        );
        if self.profile < 2 {
            r.one_of("bit_depth", self.bit_depth, &[8]);
        } else {
            r.one_of("bit_depth", self.bit_depth, &[10, 12]);
        }
        let sub420 = self
            .flags
            .contains(FrameFlags::X_SUBSAMPLING | FrameFlags::Y_SUBSAMPLING);
        if self.profile == 0 || self.profile == 2 {
            r.rule(
                sub420,
                "flags",
                format!("{:?}", self.flags),
                "X_SUBSAMPLING | Y_SUBSAMPLING (4:2:0) for profiles 0 and 2",
            );
        } else if self.profile <= PROFILE_MAX {
            r.rule(
                !sub420,
                "flags",
                format!("{:?}", self.flags),
                "not 4:2:0 for profiles 1 and 3",
            );
        }
        r.max("tile_cols_log2", self.tile_cols_log2, 6);
    }
}

/// `coef[tx_size][plane][ref][band][ctx][node]` of the compressed header.
pub type CoefProbs = [[[[[[u8; 3]; 6]; 6]; 2]; 2]; 4];

/// `struct v4l2_vp9_mv_probs`.
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
pub struct MvProbs {
    pub joint: [u8; 3],
    pub sign: [u8; 2],
    #[serde(
        serialize_with = "sh::ser_ints::<u8, 10, _, _>",
        deserialize_with = "sh::de_ints::<u8, _, _>"
    )]
    pub classes: [[u8; 10]; 2],
    pub class0_bit: [u8; 2],
    #[serde(
        serialize_with = "sh::ser_ints::<u8, 10, _, _>",
        deserialize_with = "sh::de_ints::<u8, _, _>"
    )]
    pub bits: [[u8; 10]; 2],
    #[serde(
        serialize_with = "sh::ser_ints::<u8, 6, _, _>",
        deserialize_with = "sh::de_ints::<u8, _, _>"
    )]
    pub class0_fr: [[[u8; 3]; 2]; 2],
    #[serde(
        serialize_with = "sh::ser_ints::<u8, 3, _, _>",
        deserialize_with = "sh::de_ints::<u8, _, _>"
    )]
    pub fr: [[u8; 3]; 2],
    pub class0_hp: [u8; 2],
    pub hp: [u8; 2],
}

/// `struct v4l2_ctrl_vp9_compressed_hdr`: the probability deltas the
/// compressed header codes (0 = no update).
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
pub struct CompressedHdr {
    #[serde(
        serialize_with = "sh::ser_enum::<TxMode, _>",
        deserialize_with = "sh::de_enum::<TxMode, _>"
    )]
    pub tx_mode: u8,
    #[serde(
        serialize_with = "sh::ser_ints::<u8, 1, _, _>",
        deserialize_with = "sh::de_ints::<u8, _, _>"
    )]
    pub tx8: [[u8; 1]; 2],
    #[serde(
        serialize_with = "sh::ser_ints::<u8, 2, _, _>",
        deserialize_with = "sh::de_ints::<u8, _, _>"
    )]
    pub tx16: [[u8; 2]; 2],
    #[serde(
        serialize_with = "sh::ser_ints::<u8, 3, _, _>",
        deserialize_with = "sh::de_ints::<u8, _, _>"
    )]
    pub tx32: [[u8; 3]; 2],
    /// `[tx_size][plane][ref][band][ctx][node]`; one serialized row per band.
    #[serde(
        serialize_with = "sh::ser_ints::<u8, 18, _, _>",
        deserialize_with = "sh::de_ints::<u8, _, _>"
    )]
    pub coef: CoefProbs,
    pub skip: [u8; 3],
    #[serde(
        serialize_with = "sh::ser_ints::<u8, 3, _, _>",
        deserialize_with = "sh::de_ints::<u8, _, _>"
    )]
    pub inter_mode: [[u8; 3]; 7],
    #[serde(
        serialize_with = "sh::ser_ints::<u8, 2, _, _>",
        deserialize_with = "sh::de_ints::<u8, _, _>"
    )]
    pub interp_filter: [[u8; 2]; 4],
    pub is_inter: [u8; 4],
    pub comp_mode: [u8; 5],
    #[serde(
        serialize_with = "sh::ser_ints::<u8, 2, _, _>",
        deserialize_with = "sh::de_ints::<u8, _, _>"
    )]
    pub single_ref: [[u8; 2]; 5],
    pub comp_ref: [u8; 5],
    #[serde(
        serialize_with = "sh::ser_ints::<u8, 9, _, _>",
        deserialize_with = "sh::de_ints::<u8, _, _>"
    )]
    pub y_mode: [[u8; 9]; 4],
    #[serde(
        serialize_with = "sh::ser_ints::<u8, 9, _, _>",
        deserialize_with = "sh::de_ints::<u8, _, _>"
    )]
    pub uv_mode: [[u8; 9]; 10],
    #[serde(
        serialize_with = "sh::ser_ints::<u8, 3, _, _>",
        deserialize_with = "sh::de_ints::<u8, _, _>"
    )]
    pub partition: [[u8; 3]; 16],
    pub mv: MvProbs,
}

impl Default for CompressedHdr {
    fn default() -> Self {
        Self::new_zeroed()
    }
}

impl CompressedHdr {
    /// Typed `tx_mode`.
    pub fn tx_mode(&self) -> Result<TxMode, CtrlError> {
        enum_field(Self::NAME, "tx_mode", self.tx_mode)
    }
}

impl Control for CompressedHdr {
    const ID: u32 = CID_COMPRESSED_HDR;
    const NAME: &'static str = "VP9_COMPRESSED_HDR";

    fn check(&self) -> Result<(), CtrlError> {
        self.tx_mode().map(|_| ())
    }

    /// The kernel only checks `tx_mode` (an enum, see `check`); every
    /// probability delta byte is valid.
    fn violations(&self, _out: &mut Vec<Violation>) {}
}

/// The current values of the VP9 stateless controls of a request.
#[derive(Debug, Clone, Default)]
pub struct Vp9Controls {
    pub frame: Frame,
    /// COMPRESSED_HDR (absent when the client did not set it).
    pub compressed_hdr: Option<CompressedHdr>,
}

impl Vp9Controls {
    /// A picture decoding can start at: it references nothing decoded before
    /// it (a key frame; an intra-only frame refreshes only some references). An engine that lost its state waits for one.
    pub fn random_access(&self) -> bool {
        self.frame.flags.contains(FrameFlags::KEY_FRAME)
    }

    /// The set from a request's control list.
    pub fn from_controls(c: &crate::set::Controls<'_>) -> Result<Self, crate::set::SetError> {
        Ok(Vp9Controls {
            frame: c.get()?,
            compressed_hdr: c.opt()?,
        })
    }

    /// The control list a client sets for this request.
    pub fn to_payloads(&self) -> Vec<crate::set::Payload> {
        use crate::set::Payload;
        let mut v = vec![Payload::of(&self.frame)];
        if let Some(h) = &self.compressed_hdr {
            v.push(Payload::of(h));
        }
        v
    }
}
