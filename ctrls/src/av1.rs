//! AV1 stateless controls (`V4L2_CID_STATELESS_AV1_*`, Linux 6.12 UAPI).
//!
//! Range rules: the kernel's `validate_av1_*` (6.12) plus the AV1 bitstream
//! spec (section 5.5 / 5.9 syntax element widths and 6.x semantics).

use crate::control::serde_helpers as sh;
use crate::control::{enum_field, reserved_zero, Rules};
use crate::h264::CID_STATELESS_BASE;
use crate::{Control, CtrlError, Violation};
use serde::{Deserialize, Serialize};
use zerocopy::{FromBytes, FromZeros, Immutable, IntoBytes, KnownLayout};

/// `V4L2_CID_STATELESS_AV1_SEQUENCE`.
pub const CID_SEQUENCE: u32 = CID_STATELESS_BASE + 500;
/// `V4L2_CID_STATELESS_AV1_TILE_GROUP_ENTRY`.
pub const CID_TILE_GROUP_ENTRY: u32 = CID_STATELESS_BASE + 501;
/// `V4L2_CID_STATELESS_AV1_FRAME`.
pub const CID_FRAME: u32 = CID_STATELESS_BASE + 502;
/// `V4L2_CID_STATELESS_AV1_FILM_GRAIN`.
pub const CID_FILM_GRAIN: u32 = CID_STATELESS_BASE + 505;

/// `V4L2_AV1_TOTAL_REFS_PER_FRAME`.
pub const TOTAL_REFS_PER_FRAME: usize = 8;
/// `V4L2_AV1_CDEF_MAX`.
pub const CDEF_MAX: usize = 8;
/// `V4L2_AV1_NUM_PLANES_MAX`.
pub const NUM_PLANES_MAX: usize = 3;
/// `V4L2_AV1_MAX_SEGMENTS`.
pub const MAX_SEGMENTS: usize = 8;
/// `V4L2_AV1_MAX_OPERATING_POINTS`.
pub const MAX_OPERATING_POINTS: usize = 1 << 5;
/// `V4L2_AV1_REFS_PER_FRAME`.
pub const REFS_PER_FRAME: usize = 7;
/// `V4L2_AV1_MAX_NUM_Y_POINTS`.
pub const MAX_NUM_Y_POINTS: usize = 1 << 4;
/// `V4L2_AV1_MAX_NUM_CB_POINTS`.
pub const MAX_NUM_CB_POINTS: usize = 1 << 4;
/// `V4L2_AV1_MAX_NUM_CR_POINTS`.
pub const MAX_NUM_CR_POINTS: usize = 1 << 4;
/// `V4L2_AV1_AR_COEFFS_SIZE`.
pub const AR_COEFFS_SIZE: usize = 25;
/// `V4L2_AV1_MAX_NUM_PLANES`.
pub const MAX_NUM_PLANES: usize = 3;
/// `V4L2_AV1_MAX_TILE_COLS`.
pub const MAX_TILE_COLS: usize = 64;
/// `V4L2_AV1_MAX_TILE_ROWS`.
pub const MAX_TILE_ROWS: usize = 64;
/// `V4L2_AV1_MAX_TILE_COUNT`.
pub const MAX_TILE_COUNT: usize = 512;
/// `V4L2_AV1_SEG_LVL_MAX`.
pub const SEG_LVL_MAX: usize = 8;
/// AV1 `PRIMARY_REF_NONE`.
pub const PRIMARY_REF_NONE: u8 = 7;

crate::ctrl_flags! {
    /// `V4L2_AV1_SEQUENCE_FLAG_*`.
    pub struct SequenceFlags(u32) {
        const STILL_PICTURE = 0x00000001;
        const USE_128X128_SUPERBLOCK = 0x00000002;
        const ENABLE_FILTER_INTRA = 0x00000004;
        const ENABLE_INTRA_EDGE_FILTER = 0x00000008;
        const ENABLE_INTERINTRA_COMPOUND = 0x00000010;
        const ENABLE_MASKED_COMPOUND = 0x00000020;
        const ENABLE_WARPED_MOTION = 0x00000040;
        const ENABLE_DUAL_FILTER = 0x00000080;
        const ENABLE_ORDER_HINT = 0x00000100;
        const ENABLE_JNT_COMP = 0x00000200;
        const ENABLE_REF_FRAME_MVS = 0x00000400;
        const ENABLE_SUPERRES = 0x00000800;
        const ENABLE_CDEF = 0x00001000;
        const ENABLE_RESTORATION = 0x00002000;
        const MONO_CHROME = 0x00004000;
        const COLOR_RANGE = 0x00008000;
        const SUBSAMPLING_X = 0x00010000;
        const SUBSAMPLING_Y = 0x00020000;
        const FILM_GRAIN_PARAMS_PRESENT = 0x00040000;
        const SEPARATE_UV_DELTA_Q = 0x00080000;
    }
}

crate::ctrl_flags! {
    /// `V4L2_AV1_GLOBAL_MOTION_FLAG_*` (one byte per reference).
    pub struct GlobalMotionFlags(u8) {
        const IS_GLOBAL = 0x1;
        const IS_ROT_ZOOM = 0x2;
        const IS_TRANSLATION = 0x4;
    }
}

crate::ctrl_flags! {
    /// `V4L2_AV1_LOOP_RESTORATION_FLAG_*`.
    pub struct LoopRestorationFlags(u8) {
        const USES_LR = 0x1;
        const USES_CHROMA_LR = 0x2;
    }
}

crate::ctrl_flags! {
    /// `V4L2_AV1_SEGMENTATION_FLAG_*`.
    pub struct SegmentationFlags(u8) {
        const ENABLED = 0x1;
        const UPDATE_MAP = 0x2;
        const TEMPORAL_UPDATE = 0x4;
        const UPDATE_DATA = 0x8;
        const SEG_ID_PRE_SKIP = 0x10;
    }
}

crate::ctrl_flags! {
    /// `V4L2_AV1_LOOP_FILTER_FLAG_*`.
    pub struct LoopFilterFlags(u8) {
        const DELTA_ENABLED = 0x1;
        const DELTA_UPDATE = 0x2;
        const DELTA_LF_PRESENT = 0x4;
        const DELTA_LF_MULTI = 0x8;
    }
}

crate::ctrl_flags! {
    /// `V4L2_AV1_QUANTIZATION_FLAG_*`.
    pub struct QuantizationFlags(u8) {
        const DIFF_UV_DELTA = 0x1;
        const USING_QMATRIX = 0x2;
        const DELTA_Q_PRESENT = 0x4;
    }
}

crate::ctrl_flags! {
    /// `V4L2_AV1_TILE_INFO_FLAG_*`.
    pub struct TileInfoFlags(u8) {
        const UNIFORM_TILE_SPACING = 0x1;
    }
}

crate::ctrl_flags! {
    /// `V4L2_AV1_FRAME_FLAG_*`.
    pub struct FrameFlags(u32) {
        const SHOW_FRAME = 0x00000001;
        const SHOWABLE_FRAME = 0x00000002;
        const ERROR_RESILIENT_MODE = 0x00000004;
        const DISABLE_CDF_UPDATE = 0x00000008;
        const ALLOW_SCREEN_CONTENT_TOOLS = 0x00000010;
        const FORCE_INTEGER_MV = 0x00000020;
        const ALLOW_INTRABC = 0x00000040;
        const USE_SUPERRES = 0x00000080;
        const ALLOW_HIGH_PRECISION_MV = 0x00000100;
        const IS_MOTION_MODE_SWITCHABLE = 0x00000200;
        const USE_REF_FRAME_MVS = 0x00000400;
        const DISABLE_FRAME_END_UPDATE_CDF = 0x00000800;
        const ALLOW_WARPED_MOTION = 0x00001000;
        const REFERENCE_SELECT = 0x00002000;
        const REDUCED_TX_SET = 0x00004000;
        const SKIP_MODE_ALLOWED = 0x00008000;
        const SKIP_MODE_PRESENT = 0x00010000;
        const FRAME_SIZE_OVERRIDE = 0x00020000;
        const BUFFER_REMOVAL_TIME_PRESENT = 0x00040000;
        const FRAME_REFS_SHORT_SIGNALING = 0x00080000;
    }
}

crate::ctrl_flags! {
    /// `V4L2_AV1_FILM_GRAIN_FLAG_*`.
    pub struct FilmGrainFlags(u8) {
        const APPLY_GRAIN = 0x1;
        const UPDATE_GRAIN = 0x2;
        const CHROMA_SCALING_FROM_LUMA = 0x4;
        const OVERLAP = 0x8;
        const CLIP_TO_RESTRICTED_RANGE = 0x10;
    }
}

crate::ctrl_enum! {
    /// `enum v4l2_av1_warp_model`.
    pub enum WarpModel: u32 {
        Identity = 0 => "IDENTITY",
        Translation = 1 => "TRANSLATION",
        RotZoom = 2 => "ROTZOOM",
        Affine = 3 => "AFFINE",
    }
}

crate::ctrl_enum! {
    /// `enum v4l2_av1_reference_frame`.
    pub enum ReferenceFrame: u8 {
        Intra = 0 => "INTRA_FRAME",
        Last = 1 => "LAST_FRAME",
        Last2 = 2 => "LAST2_FRAME",
        Last3 = 3 => "LAST3_FRAME",
        Golden = 4 => "GOLDEN_FRAME",
        Bwdref = 5 => "BWDREF_FRAME",
        Altref2 = 6 => "ALTREF2_FRAME",
        Altref = 7 => "ALTREF_FRAME",
    }
}

crate::ctrl_enum! {
    /// `enum v4l2_av1_frame_restoration_type`.
    pub enum FrameRestorationType: u32 {
        None = 0 => "NONE",
        Wiener = 1 => "WIENER",
        Sgrproj = 2 => "SGRPROJ",
        Switchable = 3 => "SWITCHABLE",
    }
}

crate::ctrl_enum! {
    /// `enum v4l2_av1_segment_feature` (the UAPI names 0, 1, 5, 6, 7; 2..=4
    /// are the other loop filter deltas).
    pub enum SegmentFeature: u8 {
        AltQ = 0 => "ALT_Q",
        AltLfYV = 1 => "ALT_LF_Y_V",
        RefFrame = 5 => "REF_FRAME",
        RefSkip = 6 => "REF_SKIP",
        RefGlobalMv = 7 => "REF_GLOBALMV",
    }
}

crate::ctrl_enum! {
    /// `enum v4l2_av1_frame_type`.
    pub enum FrameType: u32 {
        Key = 0 => "KEY_FRAME",
        Inter = 1 => "INTER_FRAME",
        IntraOnly = 2 => "INTRA_ONLY_FRAME",
        Switch = 3 => "SWITCH_FRAME",
    }
}

crate::ctrl_enum! {
    /// `enum v4l2_av1_interpolation_filter`.
    pub enum InterpolationFilter: u32 {
        EightTap = 0 => "EIGHTTAP",
        EightTapSmooth = 1 => "EIGHTTAP_SMOOTH",
        EightTapSharp = 2 => "EIGHTTAP_SHARP",
        Bilinear = 3 => "BILINEAR",
        Switchable = 4 => "SWITCHABLE",
    }
}

crate::ctrl_enum! {
    /// `enum v4l2_av1_tx_mode`.
    pub enum TxMode: u32 {
        Only4x4 = 0 => "ONLY_4X4",
        Largest = 1 => "LARGEST",
        Select = 2 => "SELECT",
    }
}

/// `struct v4l2_ctrl_av1_sequence`.
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
pub struct Sequence {
    pub flags: SequenceFlags,
    pub seq_profile: u8,
    pub order_hint_bits: u8,
    pub bit_depth: u8,
    #[serde(skip)]
    pub reserved: u8,
    pub max_frame_width_minus_1: u16,
    pub max_frame_height_minus_1: u16,
}

impl Control for Sequence {
    const ID: u32 = CID_SEQUENCE;
    const NAME: &'static str = "AV1_SEQUENCE";

    fn check(&self) -> Result<(), CtrlError> {
        self.flags.check(Self::NAME, "flags")?;
        reserved_zero(Self::NAME, "reserved", &self.reserved)
    }

    /// Hard: the flag bits (validate_av1_sequence); `reserved` is soft.
    fn hard_check(&self) -> Result<(), CtrlError> {
        self.flags.check(Self::NAME, "flags")
    }

    /// Soft: a non-zero `reserved` (the kernel does not look at it).
    fn soft_violations(&self, out: &mut Vec<Violation>) {
        Rules::new(Self::NAME, out).structural(reserved_zero(
            Self::NAME,
            "reserved",
            &self.reserved,
        ));
    }

    /// Hard, all of them: the kernel's, and what the synthesized sequence
    /// header codes (bit depth, order hint bits, subsampling per profile).
    fn violations(&self, out: &mut Vec<Violation>) {
        let mut r = Rules::new(Self::NAME, out);
        // Kernel: seq_profile <= 2, no monochrome in profile 1.
        r.max("seq_profile", self.seq_profile, 2);
        r.rule(
            !(self.seq_profile == 1 && self.flags.contains(SequenceFlags::MONO_CHROME)),
            "flags",
            format!("{:?}", self.flags),
            "no MONO_CHROME in seq_profile 1",
        );
        // AV1 5.5.2 / 6.4.2: BitDepth 8 or 10, 12 only in profile 2.
        if self.seq_profile == 2 {
            r.one_of("bit_depth", self.bit_depth, &[8, 10, 12]);
        } else {
            r.one_of("bit_depth", self.bit_depth, &[8, 10]);
        }
        // order_hint_bits_minus_1 is f(3): OrderHintBits 1..=8 when enabled.
        if self.flags.contains(SequenceFlags::ENABLE_ORDER_HINT) {
            r.range("order_hint_bits", self.order_hint_bits, 1, 8);
        } else {
            r.max("order_hint_bits", self.order_hint_bits, 0);
        }
        // 6.4.2 subsampling: profile 0 is 4:2:0 (or mono), profile 1 4:4:4.
        let sx = self.flags.contains(SequenceFlags::SUBSAMPLING_X);
        let sy = self.flags.contains(SequenceFlags::SUBSAMPLING_Y);
        let mono = self.flags.contains(SequenceFlags::MONO_CHROME);
        match self.seq_profile {
            0 if !mono => r.rule(
                sx && sy,
                "flags",
                format!("{:?}", self.flags),
                "SUBSAMPLING_X | SUBSAMPLING_Y (4:2:0) in seq_profile 0",
            ),
            1 => r.rule(
                !sx && !sy,
                "flags",
                format!("{:?}", self.flags),
                "no subsampling (4:4:4) in seq_profile 1",
            ),
            _ => {}
        }
    }
}

/// `struct v4l2_ctrl_av1_tile_group_entry` (an array control: one per tile).
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
pub struct TileGroupEntry {
    pub tile_offset: u32,
    pub tile_size: u32,
    pub tile_row: u32,
    pub tile_col: u32,
}

impl Control for TileGroupEntry {
    const ID: u32 = CID_TILE_GROUP_ENTRY;
    const NAME: &'static str = "AV1_TILE_GROUP_ENTRY";

    fn check(&self) -> Result<(), CtrlError> {
        Ok(())
    }

    fn violations(&self, out: &mut Vec<Violation>) {
        let mut r = Rules::new(Self::NAME, out);
        r.max("tile_row", self.tile_row, MAX_TILE_ROWS as u32 - 1);
        r.max("tile_col", self.tile_col, MAX_TILE_COLS as u32 - 1);
        r.rule(
            self.tile_offset.checked_add(self.tile_size).is_some(),
            "tile_size",
            self.tile_size,
            "tile_offset + tile_size fits in u32",
        );
    }
}

/// `struct v4l2_av1_global_motion`.
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
pub struct GlobalMotion {
    pub flags: [GlobalMotionFlags; TOTAL_REFS_PER_FRAME],
    #[serde(
        serialize_with = "sh::ser_enum_arr::<WarpModel, 8, _>",
        deserialize_with = "sh::de_enum_arr::<WarpModel, 8, _>"
    )]
    pub r#type: [u32; TOTAL_REFS_PER_FRAME],
    #[serde(
        serialize_with = "sh::ser_ints::<i32, 6, _, _>",
        deserialize_with = "sh::de_ints::<i32, _, _>"
    )]
    pub params: [[i32; 6]; TOTAL_REFS_PER_FRAME],
    /// `V4L2_AV1_GLOBAL_MOTION_IS_INVALID(ref)` bits.
    pub invalid: u8,
    #[serde(skip)]
    pub reserved: [u8; 3],
}

/// `struct v4l2_av1_loop_restoration`.
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
pub struct LoopRestoration {
    pub flags: LoopRestorationFlags,
    pub lr_unit_shift: u8,
    pub lr_uv_shift: u8,
    #[serde(skip)]
    pub reserved: u8,
    #[serde(
        serialize_with = "sh::ser_enum_arr::<FrameRestorationType, 3, _>",
        deserialize_with = "sh::de_enum_arr::<FrameRestorationType, 3, _>"
    )]
    pub frame_restoration_type: [u32; NUM_PLANES_MAX],
    pub loop_restoration_size: [u32; MAX_NUM_PLANES],
}

/// `struct v4l2_av1_cdef`.
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
pub struct Cdef {
    pub damping_minus_3: u8,
    pub bits: u8,
    pub y_pri_strength: [u8; CDEF_MAX],
    pub y_sec_strength: [u8; CDEF_MAX],
    pub uv_pri_strength: [u8; CDEF_MAX],
    pub uv_sec_strength: [u8; CDEF_MAX],
}

/// `struct v4l2_av1_segmentation`.
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
    pub flags: SegmentationFlags,
    pub last_active_seg_id: u8,
    /// `V4L2_AV1_SEGMENT_FEATURE_ENABLED(feature)` bits per segment (all 8 bits used).
    pub feature_enabled: [u8; MAX_SEGMENTS],
    /// `[segment][feature]`.
    #[serde(
        serialize_with = "sh::ser_ints::<i16, 8, _, _>",
        deserialize_with = "sh::de_ints::<i16, _, _>"
    )]
    pub feature_data: [[i16; SEG_LVL_MAX]; MAX_SEGMENTS],
}

/// `struct v4l2_av1_loop_filter`.
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
    pub flags: LoopFilterFlags,
    pub level: [u8; 4],
    pub sharpness: u8,
    pub ref_deltas: [i8; TOTAL_REFS_PER_FRAME],
    pub mode_deltas: [i8; 2],
    pub delta_lf_res: u8,
}

/// `struct v4l2_av1_quantization`.
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
    pub flags: QuantizationFlags,
    pub base_q_idx: u8,
    pub delta_q_y_dc: i8,
    pub delta_q_u_dc: i8,
    pub delta_q_u_ac: i8,
    pub delta_q_v_dc: i8,
    pub delta_q_v_ac: i8,
    pub qm_y: u8,
    pub qm_u: u8,
    pub qm_v: u8,
    pub delta_q_res: u8,
}

/// `struct v4l2_av1_tile_info`.
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
pub struct TileInfo {
    pub flags: TileInfoFlags,
    pub context_update_tile_id: u8,
    pub tile_cols: u8,
    pub tile_rows: u8,
    #[serde(
        serialize_with = "sh::ser_ints::<u32, 16, _, _>",
        deserialize_with = "sh::de_ints::<u32, _, _>"
    )]
    pub mi_col_starts: [u32; MAX_TILE_COLS + 1],
    #[serde(
        serialize_with = "sh::ser_ints::<u32, 16, _, _>",
        deserialize_with = "sh::de_ints::<u32, _, _>"
    )]
    pub mi_row_starts: [u32; MAX_TILE_ROWS + 1],
    #[serde(
        serialize_with = "sh::ser_ints::<u32, 16, _, _>",
        deserialize_with = "sh::de_ints::<u32, _, _>"
    )]
    pub width_in_sbs_minus_1: [u32; MAX_TILE_COLS],
    #[serde(
        serialize_with = "sh::ser_ints::<u32, 16, _, _>",
        deserialize_with = "sh::de_ints::<u32, _, _>"
    )]
    pub height_in_sbs_minus_1: [u32; MAX_TILE_ROWS],
    pub tile_size_bytes: u8,
    #[serde(skip)]
    pub reserved: [u8; 3],
}

impl Default for TileInfo {
    fn default() -> Self {
        Self::new_zeroed()
    }
}

/// `struct v4l2_ctrl_av1_frame`.
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
    pub tile_info: TileInfo,
    pub quantization: Quantization,
    pub superres_denom: u8,
    pub segmentation: Segmentation,
    pub loop_filter: LoopFilter,
    pub cdef: Cdef,
    pub skip_mode_frame: [u8; 2],
    pub primary_ref_frame: u8,
    pub loop_restoration: LoopRestoration,
    pub global_motion: GlobalMotion,
    pub flags: FrameFlags,
    #[serde(
        serialize_with = "sh::ser_enum::<FrameType, _>",
        deserialize_with = "sh::de_enum::<FrameType, _>"
    )]
    pub frame_type: u32,
    pub order_hint: u32,
    pub upscaled_width: u32,
    #[serde(
        serialize_with = "sh::ser_enum::<InterpolationFilter, _>",
        deserialize_with = "sh::de_enum::<InterpolationFilter, _>"
    )]
    pub interpolation_filter: u32,
    #[serde(
        serialize_with = "sh::ser_enum::<TxMode, _>",
        deserialize_with = "sh::de_enum::<TxMode, _>"
    )]
    pub tx_mode: u32,
    pub frame_width_minus_1: u32,
    pub frame_height_minus_1: u32,
    pub render_width_minus_1: u16,
    pub render_height_minus_1: u16,
    pub current_frame_id: u32,
    #[serde(
        serialize_with = "sh::ser_ints::<u32, 16, _, _>",
        deserialize_with = "sh::de_ints::<u32, _, _>"
    )]
    pub buffer_removal_time: [u32; MAX_OPERATING_POINTS],
    #[serde(skip)]
    pub reserved: [u8; 4],
    pub order_hints: [u32; TOTAL_REFS_PER_FRAME],
    pub reference_frame_ts: [u64; TOTAL_REFS_PER_FRAME],
    pub ref_frame_idx: [i8; REFS_PER_FRAME],
    pub refresh_frame_flags: u8,
}

impl Default for Frame {
    fn default() -> Self {
        Self::new_zeroed()
    }
}

impl Frame {
    /// Typed `frame_type`.
    pub fn frame_type(&self) -> Result<FrameType, CtrlError> {
        enum_field(Self::NAME, "frame_type", self.frame_type)
    }
    /// Typed `interpolation_filter`.
    pub fn interpolation_filter(&self) -> Result<InterpolationFilter, CtrlError> {
        enum_field(
            Self::NAME,
            "interpolation_filter",
            self.interpolation_filter,
        )
    }
    /// Typed `tx_mode`.
    pub fn tx_mode(&self) -> Result<TxMode, CtrlError> {
        enum_field(Self::NAME, "tx_mode", self.tx_mode)
    }
    /// Typed `global_motion.type[i]`.
    pub fn warp_model(&self, i: usize) -> Result<WarpModel, CtrlError> {
        enum_field(
            Self::NAME,
            "global_motion.type",
            self.global_motion.r#type[i],
        )
    }
    /// Typed `loop_restoration.frame_restoration_type[plane]`.
    pub fn frame_restoration_type(&self, plane: usize) -> Result<FrameRestorationType, CtrlError> {
        enum_field(
            Self::NAME,
            "loop_restoration.frame_restoration_type",
            self.loop_restoration.frame_restoration_type[plane],
        )
    }
    /// Key or intra-only frame.
    pub fn is_intra(&self) -> bool {
        self.frame_type == FrameType::Key as u32 || self.frame_type == FrameType::IntraOnly as u32
    }
}

impl Control for Frame {
    const ID: u32 = CID_FRAME;
    const NAME: &'static str = "AV1_FRAME";

    fn check(&self) -> Result<(), CtrlError> {
        let n = Self::NAME;
        self.tile_info.flags.check(n, "tile_info.flags")?;
        reserved_zero(n, "tile_info.reserved", &self.tile_info.reserved)?;
        self.quantization.flags.check(n, "quantization.flags")?;
        self.segmentation.flags.check(n, "segmentation.flags")?;
        self.loop_filter.flags.check(n, "loop_filter.flags")?;
        self.loop_restoration
            .flags
            .check(n, "loop_restoration.flags")?;
        reserved_zero(
            n,
            "loop_restoration.reserved",
            &self.loop_restoration.reserved,
        )?;
        for p in 0..NUM_PLANES_MAX {
            self.frame_restoration_type(p)?;
        }
        for i in 0..TOTAL_REFS_PER_FRAME {
            self.global_motion.flags[i].check(n, "global_motion.flags")?;
            self.warp_model(i)?;
        }
        reserved_zero(n, "global_motion.reserved", &self.global_motion.reserved)?;
        self.flags.check(n, "flags")?;
        self.frame_type()?;
        self.interpolation_filter()?;
        self.tx_mode()?;
        reserved_zero(n, "reserved", &self.reserved)
    }

    /// Hard: the flag bits validate_av1_frame checks, and the enums (the
    /// synthesized frame header codes them). The flags of tile_info,
    /// loop_restoration and global_motion (not looked at by the kernel; the
    /// synthesis reads defined bits only) and the reserved fields are soft.
    fn hard_check(&self) -> Result<(), CtrlError> {
        let n = Self::NAME;
        self.quantization.flags.check(n, "quantization.flags")?;
        self.segmentation.flags.check(n, "segmentation.flags")?;
        self.loop_filter.flags.check(n, "loop_filter.flags")?;
        for p in 0..NUM_PLANES_MAX {
            self.frame_restoration_type(p)?;
        }
        for i in 0..TOTAL_REFS_PER_FRAME {
            self.warp_model(i)?;
        }
        self.flags.check(n, "flags")?;
        self.frame_type()?;
        self.interpolation_filter()?;
        self.tx_mode()?;
        Ok(())
    }

    /// Soft: what [`Control::check`] finds beyond [`Control::hard_check`].
    fn soft_violations(&self, out: &mut Vec<Violation>) {
        let n = Self::NAME;
        let mut r = Rules::new(n, out);
        r.structural(self.tile_info.flags.check(n, "tile_info.flags"));
        r.structural(reserved_zero(
            n,
            "tile_info.reserved",
            &self.tile_info.reserved,
        ));
        r.structural(
            self.loop_restoration
                .flags
                .check(n, "loop_restoration.flags"),
        );
        r.structural(reserved_zero(
            n,
            "loop_restoration.reserved",
            &self.loop_restoration.reserved,
        ));
        for i in 0..TOTAL_REFS_PER_FRAME {
            r.structural(self.global_motion.flags[i].check(n, "global_motion.flags"));
        }
        r.structural(reserved_zero(
            n,
            "global_motion.reserved",
            &self.global_motion.reserved,
        ));
        r.structural(reserved_zero(n, "reserved", &self.reserved));
    }

    fn violations(&self, out: &mut Vec<Violation>) {
        let mut r = Rules::new(Self::NAME, out);
        // Tile info (validate_av1_tile_info) + AV1 5.9.15 / 6.8.14.
        let t = &self.tile_info;
        r.range("tile_info.tile_cols", t.tile_cols, 1, MAX_TILE_COLS as u8);
        r.range("tile_info.tile_rows", t.tile_rows, 1, MAX_TILE_ROWS as u8);
        let count = t.tile_cols as usize * t.tile_rows as usize;
        r.rule(
            count <= MAX_TILE_COUNT,
            "tile_info.tile_cols * tile_rows",
            count,
            format!("<= {MAX_TILE_COUNT}"),
        );
        if count > 1 {
            r.max(
                "tile_info.context_update_tile_id",
                t.context_update_tile_id as usize,
                count - 1,
            );
            r.range("tile_info.tile_size_bytes", t.tile_size_bytes, 1, 4);
        } else {
            r.max(
                "tile_info.context_update_tile_id",
                t.context_update_tile_id,
                0,
            );
        }
        // Tile starts are only meaningful for a valid tile layout.
        let layout_ok = (1..=MAX_TILE_COLS).contains(&(t.tile_cols as usize))
            && (1..=MAX_TILE_ROWS).contains(&(t.tile_rows as usize))
            && count <= MAX_TILE_COUNT;
        let (cols, rows) = if layout_ok {
            (t.tile_cols as usize, t.tile_rows as usize)
        } else {
            (0, 0)
        };
        for i in 0..cols {
            r.rule(
                t.mi_col_starts[i] < t.mi_col_starts[i + 1],
                format!("tile_info.mi_col_starts[{}]", i + 1),
                t.mi_col_starts[i + 1],
                format!("> mi_col_starts[{i}] = {}", t.mi_col_starts[i]),
            );
        }
        for i in 0..rows {
            r.rule(
                t.mi_row_starts[i] < t.mi_row_starts[i + 1],
                format!("tile_info.mi_row_starts[{}]", i + 1),
                t.mi_row_starts[i + 1],
                format!("> mi_row_starts[{i}] = {}", t.mi_row_starts[i]),
            );
        }
        // Quantization (validate_av1_quantization).
        let q = &self.quantization;
        r.range("quantization.delta_q_y_dc", q.delta_q_y_dc, -64, 63);
        r.range("quantization.delta_q_u_dc", q.delta_q_u_dc, -64, 63);
        r.range("quantization.delta_q_v_dc", q.delta_q_v_dc, -64, 63);
        r.range("quantization.delta_q_u_ac", q.delta_q_u_ac, -64, 63);
        r.range("quantization.delta_q_v_ac", q.delta_q_v_ac, -64, 63);
        r.max("quantization.delta_q_res", q.delta_q_res, 3);
        r.max("quantization.qm_y", q.qm_y, 15);
        r.max("quantization.qm_u", q.qm_u, 15);
        r.max("quantization.qm_v", q.qm_v, 15);
        // Segmentation (validate_av1_segmentation).
        const SIGNED: [bool; SEG_LVL_MAX] = [true, true, true, true, true, false, false, false];
        const MAX: [i16; SEG_LVL_MAX] = [255, 63, 63, 63, 63, 7, 0, 0];
        let s = &self.segmentation;
        r.max(
            "segmentation.last_active_seg_id",
            s.last_active_seg_id,
            MAX_SEGMENTS as u8 - 1,
        );
        for (i, data) in s.feature_data.iter().enumerate() {
            for (j, &v) in data.iter().enumerate() {
                let lo = if SIGNED[j] { -MAX[j] } else { 0 };
                r.range(
                    format!("segmentation.feature_data[{i}][{j}]"),
                    v,
                    lo,
                    MAX[j],
                );
            }
        }
        // Loop filter (validate_av1_loop_filter) + delta_lf_res f(2).
        let lf = &self.loop_filter;
        for (i, &l) in lf.level.iter().enumerate() {
            r.max(format!("loop_filter.level[{i}]"), l, 63);
        }
        r.max("loop_filter.sharpness", lf.sharpness, 7);
        for (i, &d) in lf.ref_deltas.iter().enumerate() {
            r.range(format!("loop_filter.ref_deltas[{i}]"), d, -64, 63);
        }
        for (i, &d) in lf.mode_deltas.iter().enumerate() {
            r.range(format!("loop_filter.mode_deltas[{i}]"), d, -64, 63);
        }
        r.max("loop_filter.delta_lf_res", lf.delta_lf_res, 3);
        // CDEF (validate_av1_cdef).
        let c = &self.cdef;
        r.max("cdef.damping_minus_3", c.damping_minus_3, 3);
        r.max("cdef.bits", c.bits, 3);
        if c.bits <= 3 {
            for i in 0..(1usize << c.bits) {
                r.max(format!("cdef.y_pri_strength[{i}]"), c.y_pri_strength[i], 15);
                r.max(format!("cdef.y_sec_strength[{i}]"), c.y_sec_strength[i], 4);
                r.max(
                    format!("cdef.uv_pri_strength[{i}]"),
                    c.uv_pri_strength[i],
                    15,
                );
                r.max(
                    format!("cdef.uv_sec_strength[{i}]"),
                    c.uv_sec_strength[i],
                    4,
                );
            }
        }
        // Loop restoration (validate_av1_loop_restauration).
        r.max(
            "loop_restoration.lr_unit_shift",
            self.loop_restoration.lr_unit_shift,
            3,
        );
        r.max(
            "loop_restoration.lr_uv_shift",
            self.loop_restoration.lr_uv_shift,
            1,
        );
        // Frame.
        r.max("superres_denom", self.superres_denom, 16);
        r.max(
            "primary_ref_frame",
            self.primary_ref_frame,
            PRIMARY_REF_NONE,
        );
        if !self.is_intra() {
            for (i, &idx) in self.ref_frame_idx.iter().enumerate() {
                r.range(format!("ref_frame_idx[{i}]"), idx, 0, 7);
            }
        }
        if self.frame_type == FrameType::Key as u32 && self.flags.contains(FrameFlags::SHOW_FRAME) {
            // 6.8.2: a shown key frame refreshes every slot.
            r.rule(
                self.refresh_frame_flags == 0xff,
                "refresh_frame_flags",
                format!("{:#04x}", self.refresh_frame_flags),
                "0xff for a shown key frame",
            );
        }
        if self.frame_type == FrameType::IntraOnly as u32 {
            // 6.8.2: intra_only frames cannot refresh all slots.
            r.rule(
                self.refresh_frame_flags != 0xff,
                "refresh_frame_flags",
                format!("{:#04x}", self.refresh_frame_flags),
                "!= 0xff for an intra-only frame",
            );
        }
        for (i, &s) in self.skip_mode_frame.iter().enumerate() {
            r.max(format!("skip_mode_frame[{i}]"), s, 7);
        }
    }
}

/// `struct v4l2_ctrl_av1_film_grain`.
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
pub struct FilmGrain {
    pub flags: FilmGrainFlags,
    pub cr_mult: u8,
    pub grain_seed: u16,
    pub film_grain_params_ref_idx: u8,
    pub num_y_points: u8,
    #[serde(
        serialize_with = "sh::ser_ints::<u8, 16, _, _>",
        deserialize_with = "sh::de_ints::<u8, _, _>"
    )]
    pub point_y_value: [u8; MAX_NUM_Y_POINTS],
    #[serde(
        serialize_with = "sh::ser_ints::<u8, 16, _, _>",
        deserialize_with = "sh::de_ints::<u8, _, _>"
    )]
    pub point_y_scaling: [u8; MAX_NUM_Y_POINTS],
    pub num_cb_points: u8,
    #[serde(
        serialize_with = "sh::ser_ints::<u8, 16, _, _>",
        deserialize_with = "sh::de_ints::<u8, _, _>"
    )]
    pub point_cb_value: [u8; MAX_NUM_CB_POINTS],
    #[serde(
        serialize_with = "sh::ser_ints::<u8, 16, _, _>",
        deserialize_with = "sh::de_ints::<u8, _, _>"
    )]
    pub point_cb_scaling: [u8; MAX_NUM_CB_POINTS],
    pub num_cr_points: u8,
    #[serde(
        serialize_with = "sh::ser_ints::<u8, 16, _, _>",
        deserialize_with = "sh::de_ints::<u8, _, _>"
    )]
    pub point_cr_value: [u8; MAX_NUM_CR_POINTS],
    #[serde(
        serialize_with = "sh::ser_ints::<u8, 16, _, _>",
        deserialize_with = "sh::de_ints::<u8, _, _>"
    )]
    pub point_cr_scaling: [u8; MAX_NUM_CR_POINTS],
    pub grain_scaling_minus_8: u8,
    pub ar_coeff_lag: u8,
    #[serde(
        serialize_with = "sh::ser_ints::<u8, 25, _, _>",
        deserialize_with = "sh::de_ints::<u8, _, _>"
    )]
    pub ar_coeffs_y_plus_128: [u8; AR_COEFFS_SIZE],
    #[serde(
        serialize_with = "sh::ser_ints::<u8, 25, _, _>",
        deserialize_with = "sh::de_ints::<u8, _, _>"
    )]
    pub ar_coeffs_cb_plus_128: [u8; AR_COEFFS_SIZE],
    #[serde(
        serialize_with = "sh::ser_ints::<u8, 25, _, _>",
        deserialize_with = "sh::de_ints::<u8, _, _>"
    )]
    pub ar_coeffs_cr_plus_128: [u8; AR_COEFFS_SIZE],
    pub ar_coeff_shift_minus_6: u8,
    pub grain_scale_shift: u8,
    pub cb_mult: u8,
    pub cb_luma_mult: u8,
    pub cr_luma_mult: u8,
    pub cb_offset: u16,
    pub cr_offset: u16,
    #[serde(skip)]
    pub reserved: [u8; 4],
}

impl Default for FilmGrain {
    fn default() -> Self {
        Self::new_zeroed()
    }
}

impl Control for FilmGrain {
    const ID: u32 = CID_FILM_GRAIN;
    const NAME: &'static str = "AV1_FILM_GRAIN";

    fn check(&self) -> Result<(), CtrlError> {
        self.flags.check(Self::NAME, "flags")?;
        reserved_zero(Self::NAME, "reserved", &self.reserved)
    }

    /// Hard: the flag bits (validate_av1_film_grain); `reserved` is soft.
    fn hard_check(&self) -> Result<(), CtrlError> {
        self.flags.check(Self::NAME, "flags")
    }

    /// Soft: a non-zero `reserved` (the kernel does not look at it).
    fn soft_violations(&self, out: &mut Vec<Violation>) {
        Rules::new(Self::NAME, out).structural(reserved_zero(
            Self::NAME,
            "reserved",
            &self.reserved,
        ));
    }

    /// Hard, all of them: the kernel's, and what the synthesized film grain
    /// params code (num_cr_points <= 10, offsets f(9)).
    fn violations(&self, out: &mut Vec<Violation>) {
        let mut r = Rules::new(Self::NAME, out);
        // validate_av1_film_grain; num_cr_points uses the spec's 10 (5.9.30),
        // stricter than the kernel's 15.
        r.max(
            "film_grain_params_ref_idx",
            self.film_grain_params_ref_idx,
            7,
        );
        r.max("num_y_points", self.num_y_points, 14);
        r.max("num_cb_points", self.num_cb_points, 10);
        r.max("num_cr_points", self.num_cr_points, 10);
        r.max("grain_scaling_minus_8", self.grain_scaling_minus_8, 3);
        r.max("ar_coeff_lag", self.ar_coeff_lag, 3);
        r.max("ar_coeff_shift_minus_6", self.ar_coeff_shift_minus_6, 3);
        r.max("grain_scale_shift", self.grain_scale_shift, 3);
        // cb_offset / cr_offset are f(9).
        r.max("cb_offset", self.cb_offset, 511);
        r.max("cr_offset", self.cr_offset, 511);
        if !self.flags.contains(FilmGrainFlags::APPLY_GRAIN) {
            return;
        }
        // Point order, for counts within their limits.
        for (name, vals, n, max) in [
            ("point_y_value", &self.point_y_value, self.num_y_points, 14),
            (
                "point_cb_value",
                &self.point_cb_value,
                self.num_cb_points,
                10,
            ),
            (
                "point_cr_value",
                &self.point_cr_value,
                self.num_cr_points,
                10,
            ),
        ] {
            let n = if n <= max { n as usize } else { 0 };
            for i in 1..n {
                r.rule(
                    vals[i] > vals[i - 1],
                    format!("{name}[{i}]"),
                    vals[i],
                    format!("> {name}[{}] = {}", i - 1, vals[i - 1]),
                );
            }
        }
    }
}

/// The current values of the AV1 stateless controls of a request.
#[derive(Debug, Clone, Default)]
pub struct Av1Controls {
    pub sequence: Sequence,
    pub frame: Frame,
    /// TILE_GROUP_ENTRY (dynamic array: one entry per tile of the request).
    pub tile_group_entries: Vec<TileGroupEntry>,
    /// FILM_GRAIN (absent when the client did not set it).
    pub film_grain: Option<FilmGrain>,
}

impl Av1Controls {
    /// A picture decoding can start at: it references nothing decoded before
    /// it (a key frame). An engine that lost its state waits for one.
    pub fn random_access(&self) -> bool {
        self.frame.frame_type == FrameType::Key as u32
    }

    /// The set from a request's control list (TILE_GROUP_ENTRY is required).
    pub fn from_controls(c: &crate::set::Controls<'_>) -> Result<Self, crate::set::SetError> {
        let tile_group_entries = c.array()?;
        if tile_group_entries.is_empty() {
            return Err(crate::set::SetError::Missing(TileGroupEntry::NAME));
        }
        Ok(Av1Controls {
            sequence: c.get()?,
            frame: c.get()?,
            tile_group_entries,
            film_grain: c.opt()?,
        })
    }

    /// The control list a client sets for this request.
    pub fn to_payloads(&self) -> Vec<crate::set::Payload> {
        use crate::set::Payload;
        let mut v = vec![
            Payload::of(&self.sequence),
            Payload::of(&self.frame),
            Payload::of_array(&self.tile_group_entries),
        ];
        if let Some(g) = &self.film_grain {
            v.push(Payload::of(g));
        }
        v
    }
}
