//! H.264 stateless controls (`V4L2_CID_STATELESS_H264_*`, Linux 6.12 UAPI).
//!
//! Range rules: the kernel's `std_validate_compound` (6.12) plus syntax
//! element ranges from ITU-T H.264 section 7.4.
//!
//! Hard and soft (see [`crate::Control`]): the kernel's rules, and what breaks
//! the synthesized SPS/PPS or FFmpeg (seq_parameter_set_id > 31, DPB indices
//! past 15), are hard ([`Control::violations`]). The kernel does not look at
//! H.264 flag bits and clears reserved fields, so here undefined bits, non-zero
//! reserved fields and unknown SLICE_PARAMS.slice_type are soft
//! ([`Control::soft_violations`]; [`Control::hard_check`] passes), like
//! profile_idc / level_idc outside Table A-1, weights outside -128..=127,
//! redundant_pic_cnt > 127, scaling list entries of 0 (the lists the PPS
//! codes are checked hard when it is synthesized) and the DECODE_PARAMS
//! flag/nal_ref_idc consistency rules.

use crate::control::serde_helpers as sh;
use crate::control::{enum_field, reserved_zero, Normalize, Rules};
use crate::{Control, CtrlError, Violation};
use serde::{Deserialize, Serialize};
use zerocopy::{FromBytes, FromZeros, Immutable, IntoBytes, KnownLayout};

/// `V4L2_CID_CODEC_STATELESS_BASE` (`V4L2_CTRL_CLASS_CODEC_STATELESS | 0x900`).
pub const CID_STATELESS_BASE: u32 = 0x00a4_0000 | 0x900;
/// `V4L2_CID_STATELESS_H264_DECODE_MODE`.
pub const CID_DECODE_MODE: u32 = CID_STATELESS_BASE;
/// `V4L2_CID_STATELESS_H264_START_CODE`.
pub const CID_START_CODE: u32 = CID_STATELESS_BASE + 1;
/// `V4L2_CID_STATELESS_H264_SPS`.
pub const CID_SPS: u32 = CID_STATELESS_BASE + 2;
/// `V4L2_CID_STATELESS_H264_PPS`.
pub const CID_PPS: u32 = CID_STATELESS_BASE + 3;
/// `V4L2_CID_STATELESS_H264_SCALING_MATRIX`.
pub const CID_SCALING_MATRIX: u32 = CID_STATELESS_BASE + 4;
/// `V4L2_CID_STATELESS_H264_PRED_WEIGHTS`.
pub const CID_PRED_WEIGHTS: u32 = CID_STATELESS_BASE + 5;
/// `V4L2_CID_STATELESS_H264_SLICE_PARAMS`.
pub const CID_SLICE_PARAMS: u32 = CID_STATELESS_BASE + 6;
/// `V4L2_CID_STATELESS_H264_DECODE_PARAMS`.
pub const CID_DECODE_PARAMS: u32 = CID_STATELESS_BASE + 7;

/// `V4L2_H264_NUM_DPB_ENTRIES`.
pub const NUM_DPB_ENTRIES: usize = 16;
/// `V4L2_H264_REF_LIST_LEN`.
pub const REF_LIST_LEN: usize = 2 * NUM_DPB_ENTRIES;

/// `V4L2_H264_SLICE_TYPE_P`.
pub const SLICE_TYPE_P: u8 = 0;
/// `V4L2_H264_SLICE_TYPE_B`.
pub const SLICE_TYPE_B: u8 = 1;
/// `V4L2_H264_SLICE_TYPE_I`.
pub const SLICE_TYPE_I: u8 = 2;
/// `V4L2_H264_SLICE_TYPE_SP`.
pub const SLICE_TYPE_SP: u8 = 3;
/// `V4L2_H264_SLICE_TYPE_SI`.
pub const SLICE_TYPE_SI: u8 = 4;

/// `V4L2_H264_TOP_FIELD_REF`.
pub const TOP_FIELD_REF: u8 = 0x1;
/// `V4L2_H264_BOTTOM_FIELD_REF`.
pub const BOTTOM_FIELD_REF: u8 = 0x2;
/// `V4L2_H264_FRAME_REF`.
pub const FRAME_REF: u8 = 0x3;

/// profile_idc values defined by H.264 (Annex A, G, H).
pub const KNOWN_PROFILE_IDC: &[u8] = &[
    44, 66, 77, 83, 86, 88, 100, 110, 118, 122, 128, 134, 135, 138, 139, 244,
];

/// level_idc values defined by H.264 Table A-1 (9 = level 1b).
pub const KNOWN_LEVEL_IDC: &[u8] = &[
    9, 10, 11, 12, 13, 20, 21, 22, 30, 31, 32, 40, 41, 42, 50, 51, 52, 60, 61, 62,
];

crate::ctrl_enum! {
    /// `enum v4l2_stateless_h264_decode_mode`.
    pub enum DecodeMode: i32 {
        /// `V4L2_STATELESS_H264_DECODE_MODE_SLICE_BASED`.
        SliceBased = 0 => "SLICE_BASED",
        /// `V4L2_STATELESS_H264_DECODE_MODE_FRAME_BASED`.
        FrameBased = 1 => "FRAME_BASED",
    }
}

crate::ctrl_enum! {
    /// `enum v4l2_stateless_h264_start_code`.
    pub enum StartCode: i32 {
        /// `V4L2_STATELESS_H264_START_CODE_NONE`.
        None = 0 => "NONE",
        /// `V4L2_STATELESS_H264_START_CODE_ANNEX_B`.
        AnnexB = 1 => "ANNEX_B",
    }
}

crate::menu_control! {
    /// `V4L2_CID_STATELESS_H264_DECODE_MODE` menu control.
    DecodeModeCtrl, DecodeMode, CID_DECODE_MODE, "H264_DECODE_MODE"
}

crate::menu_control! {
    /// `V4L2_CID_STATELESS_H264_START_CODE` menu control.
    StartCodeCtrl, StartCode, CID_START_CODE, "H264_START_CODE"
}

crate::ctrl_enum! {
    /// `V4L2_H264_SLICE_TYPE_*` (`slice_type % 5`).
    pub enum SliceType: u8 {
        P = 0 => "P",
        B = 1 => "B",
        I = 2 => "I",
        Sp = 3 => "SP",
        Si = 4 => "SI",
    }
}

crate::ctrl_flags! {
    /// `V4L2_H264_SPS_CONSTRAINT_SET*_FLAG` (`constraint_set_flags`).
    pub struct ConstraintSetFlags(u8) {
        const SET0 = 0x01;
        const SET1 = 0x02;
        const SET2 = 0x04;
        const SET3 = 0x08;
        const SET4 = 0x10;
        const SET5 = 0x20;
    }
}

crate::ctrl_flags! {
    /// `V4L2_H264_SPS_FLAG_*`.
    pub struct SpsFlags(u32) {
        const SEPARATE_COLOUR_PLANE = 0x01;
        const QPPRIME_Y_ZERO_TRANSFORM_BYPASS = 0x02;
        const DELTA_PIC_ORDER_ALWAYS_ZERO = 0x04;
        const GAPS_IN_FRAME_NUM_VALUE_ALLOWED = 0x08;
        const FRAME_MBS_ONLY = 0x10;
        const MB_ADAPTIVE_FRAME_FIELD = 0x20;
        const DIRECT_8X8_INFERENCE = 0x40;
    }
}

crate::ctrl_flags! {
    /// `V4L2_H264_PPS_FLAG_*`.
    pub struct PpsFlags(u16) {
        const ENTROPY_CODING_MODE = 0x0001;
        const BOTTOM_FIELD_PIC_ORDER_IN_FRAME_PRESENT = 0x0002;
        const WEIGHTED_PRED = 0x0004;
        const DEBLOCKING_FILTER_CONTROL_PRESENT = 0x0008;
        const CONSTRAINED_INTRA_PRED = 0x0010;
        const REDUNDANT_PIC_CNT_PRESENT = 0x0020;
        const TRANSFORM_8X8_MODE = 0x0040;
        const SCALING_MATRIX_PRESENT = 0x0080;
    }
}

crate::ctrl_flags! {
    /// `V4L2_H264_SLICE_FLAG_*`.
    pub struct SliceFlags(u32) {
        const DIRECT_SPATIAL_MV_PRED = 0x01;
        const SP_FOR_SWITCH = 0x02;
    }
}

crate::ctrl_flags! {
    /// `V4L2_H264_{TOP_FIELD,BOTTOM_FIELD,FRAME}_REF`: which fields of a
    /// picture are referenced (`v4l2_h264_reference.fields`,
    /// `v4l2_h264_dpb_entry.fields`). `FRAME` = both fields.
    pub struct Fields(u8) {
        const FRAME = 0x3;
        const TOP_FIELD = 0x1;
        const BOTTOM_FIELD = 0x2;
    }
}

crate::ctrl_flags! {
    /// `V4L2_H264_DPB_ENTRY_FLAG_*`.
    pub struct DpbEntryFlags(u32) {
        const VALID = 0x01;
        const ACTIVE = 0x02;
        const LONG_TERM = 0x04;
        const FIELD = 0x08;
    }
}

crate::ctrl_flags! {
    /// `V4L2_H264_DECODE_PARAM_FLAG_*`.
    pub struct DecodeFlags(u32) {
        const IDR_PIC = 0x01;
        const FIELD_PIC = 0x02;
        const BOTTOM_FIELD = 0x04;
        const PFRAME = 0x08;
        const BFRAME = 0x10;
    }
}

/// `struct v4l2_ctrl_h264_sps`.
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
pub struct Sps {
    pub profile_idc: u8,
    pub constraint_set_flags: ConstraintSetFlags,
    pub level_idc: u8,
    pub seq_parameter_set_id: u8,
    pub chroma_format_idc: u8,
    pub bit_depth_luma_minus8: u8,
    pub bit_depth_chroma_minus8: u8,
    pub log2_max_frame_num_minus4: u8,
    pub pic_order_cnt_type: u8,
    pub log2_max_pic_order_cnt_lsb_minus4: u8,
    pub max_num_ref_frames: u8,
    pub num_ref_frames_in_pic_order_cnt_cycle: u8,
    #[serde(
        serialize_with = "sh::ser_ints::<i32, 16, _, _>",
        deserialize_with = "sh::de_ints::<i32, _, _>"
    )]
    pub offset_for_ref_frame: [i32; 255],
    pub offset_for_non_ref_pic: i32,
    pub offset_for_top_to_bottom_field: i32,
    pub pic_width_in_mbs_minus1: u16,
    pub pic_height_in_map_units_minus1: u16,
    pub flags: SpsFlags,
}

impl Default for Sps {
    fn default() -> Self {
        Self::new_zeroed()
    }
}

impl Sps {
    /// `V4L2_H264_SPS_HAS_CHROMA_FORMAT()`: the profile carries
    /// chroma_format_idc / bit depths in the SPS.
    pub fn has_chroma_format(&self) -> bool {
        matches!(
            self.profile_idc,
            100 | 110 | 122 | 244 | 44 | 83 | 86 | 118 | 128 | 138 | 139 | 134 | 135
        )
    }
}

impl Normalize for Sps {
    /// The clearing std_validate_compound does for H264_SPS (including its
    /// quirk: for pic_order_cnt_type 2 the cycle fields are kept).
    fn normalize(&mut self) {
        if self.pic_order_cnt_type != 0 {
            self.log2_max_pic_order_cnt_lsb_minus4 = 0;
        } else {
            self.num_ref_frames_in_pic_order_cnt_cycle = 0;
            self.offset_for_non_ref_pic = 0;
            self.offset_for_top_to_bottom_field = 0;
            self.offset_for_ref_frame = [0; 255];
        }
        if !self.has_chroma_format() {
            self.chroma_format_idc = 1;
            self.bit_depth_luma_minus8 = 0;
            self.bit_depth_chroma_minus8 = 0;
            self.flags.remove(SpsFlags::QPPRIME_Y_ZERO_TRANSFORM_BYPASS);
        }
        if self.chroma_format_idc < 3 {
            self.flags.remove(SpsFlags::SEPARATE_COLOUR_PLANE);
        }
        if self.flags.contains(SpsFlags::FRAME_MBS_ONLY) {
            self.flags.remove(SpsFlags::MB_ADAPTIVE_FRAME_FIELD);
        }
    }
}

impl Control for Sps {
    const ID: u32 = CID_SPS;
    const NAME: &'static str = "H264_SPS";

    fn check(&self) -> Result<(), CtrlError> {
        self.constraint_set_flags
            .check(Self::NAME, "constraint_set_flags")?;
        self.flags.check(Self::NAME, "flags")
    }

    /// The kernel does not look at the flag bits.
    fn hard_check(&self) -> Result<(), CtrlError> {
        Ok(())
    }

    /// Hard: the kernel's rules, and seq_parameter_set_id <= 31 (FFmpeg drops an
    /// SPS with a larger id).
    fn violations(&self, out: &mut Vec<Violation>) {
        let s = self.normalized();
        let mut r = Rules::new(Self::NAME, out);
        r.max("seq_parameter_set_id", s.seq_parameter_set_id, 31);
        r.max("chroma_format_idc", s.chroma_format_idc, 3);
        r.rule(
            !(s.profile_idc < 122 && s.chroma_format_idc > 1),
            "chroma_format_idc",
            s.chroma_format_idc,
            "<= 1 for profile_idc < 122",
        );
        r.rule(
            !(s.profile_idc < 244 && s.chroma_format_idc > 2),
            "chroma_format_idc",
            s.chroma_format_idc,
            "<= 2 for profile_idc < 244",
        );
        r.max("bit_depth_luma_minus8", s.bit_depth_luma_minus8, 6);
        r.max("bit_depth_chroma_minus8", s.bit_depth_chroma_minus8, 6);
        r.max("log2_max_frame_num_minus4", s.log2_max_frame_num_minus4, 12);
        r.max("pic_order_cnt_type", s.pic_order_cnt_type, 2);
        r.max(
            "log2_max_pic_order_cnt_lsb_minus4",
            s.log2_max_pic_order_cnt_lsb_minus4,
            12,
        );
        r.max(
            "max_num_ref_frames",
            s.max_num_ref_frames,
            REF_LIST_LEN as u8,
        );
    }

    /// Soft: undefined flag bits, profile_idc / level_idc not defined by H.264
    /// (clients leave them 0; the engine then picks values the other fields allow).
    fn soft_violations(&self, out: &mut Vec<Violation>) {
        let mut r = Rules::new(Self::NAME, out);
        r.structural(
            self.constraint_set_flags
                .check(Self::NAME, "constraint_set_flags"),
        );
        r.structural(self.flags.check(Self::NAME, "flags"));
        r.one_of("profile_idc", self.profile_idc, KNOWN_PROFILE_IDC);
        r.one_of("level_idc", self.level_idc, KNOWN_LEVEL_IDC);
    }
}

/// `struct v4l2_ctrl_h264_pps`.
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
pub struct Pps {
    pub pic_parameter_set_id: u8,
    pub seq_parameter_set_id: u8,
    pub num_slice_groups_minus1: u8,
    pub num_ref_idx_l0_default_active_minus1: u8,
    pub num_ref_idx_l1_default_active_minus1: u8,
    pub weighted_bipred_idc: u8,
    pub pic_init_qp_minus26: i8,
    pub pic_init_qs_minus26: i8,
    pub chroma_qp_index_offset: i8,
    pub second_chroma_qp_index_offset: i8,
    pub flags: PpsFlags,
}

impl Control for Pps {
    const ID: u32 = CID_PPS;
    const NAME: &'static str = "H264_PPS";

    fn check(&self) -> Result<(), CtrlError> {
        self.flags.check(Self::NAME, "flags")
    }

    /// The kernel does not look at the flag bits.
    fn hard_check(&self) -> Result<(), CtrlError> {
        Ok(())
    }

    /// Soft: undefined flag bits.
    fn soft_violations(&self, out: &mut Vec<Violation>) {
        Rules::new(Self::NAME, out).structural(self.flags.check(Self::NAME, "flags"));
    }

    /// Hard, all of them: the kernel's rules and seq_parameter_set_id <= 31 (FFmpeg).
    fn violations(&self, out: &mut Vec<Violation>) {
        let max_ref = (REF_LIST_LEN - 1) as u8;
        let mut r = Rules::new(Self::NAME, out);
        r.max("seq_parameter_set_id", self.seq_parameter_set_id, 31);
        r.max("num_slice_groups_minus1", self.num_slice_groups_minus1, 7);
        r.max(
            "num_ref_idx_l0_default_active_minus1",
            self.num_ref_idx_l0_default_active_minus1,
            max_ref,
        );
        r.max(
            "num_ref_idx_l1_default_active_minus1",
            self.num_ref_idx_l1_default_active_minus1,
            max_ref,
        );
        r.max("weighted_bipred_idc", self.weighted_bipred_idc, 2);
        r.range("pic_init_qp_minus26", self.pic_init_qp_minus26, -62, 25);
        r.range("pic_init_qs_minus26", self.pic_init_qs_minus26, -26, 25);
        r.range(
            "chroma_qp_index_offset",
            self.chroma_qp_index_offset,
            -12,
            12,
        );
        r.range(
            "second_chroma_qp_index_offset",
            self.second_chroma_qp_index_offset,
            -12,
            12,
        );
    }
}

/// `struct v4l2_ctrl_h264_scaling_matrix`. Each list is in the order the
/// bitstream codes it (zig-zag for frame macroblocks), 4x4 lists: Intra Y,
/// Intra Cb, Intra Cr, Inter Y, Inter Cb, Inter Cr; 8x8 likewise.
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
pub struct ScalingMatrix {
    #[serde(
        serialize_with = "sh::ser_ints::<u8, 16, _, _>",
        deserialize_with = "sh::de_ints::<u8, _, _>"
    )]
    pub scaling_list_4x4: [[u8; 16]; 6],
    #[serde(
        serialize_with = "sh::ser_ints::<u8, 64, _, _>",
        deserialize_with = "sh::de_ints::<u8, _, _>"
    )]
    pub scaling_list_8x8: [[u8; 64]; 6],
}

impl ScalingMatrix {
    /// The flat matrix (all 16) the kernel initialises the control with.
    pub const FLAT: Self = Self {
        scaling_list_4x4: [[16; 16]; 6],
        scaling_list_8x8: [[16; 64]; 6],
    };
}

impl Default for ScalingMatrix {
    fn default() -> Self {
        Self::FLAT
    }
}

impl Control for ScalingMatrix {
    const ID: u32 = CID_SCALING_MATRIX;
    const NAME: &'static str = "H264_SCALING_MATRIX";

    fn check(&self) -> Result<(), CtrlError> {
        Ok(())
    }

    /// No hard rule: the kernel checks nothing, and the lists a synthesized
    /// PPS codes are checked when it is written.
    fn violations(&self, _out: &mut Vec<Violation>) {}

    /// Soft: H.264 7.4.2.1.1.1: scaling list entries are 1..=255 (a delta_scale
    /// chain never produces 0). An all-zero payload means "not set" (as
    /// some clients send when the stream has no scaling matrix) and is
    /// accepted.
    fn soft_violations(&self, out: &mut Vec<Violation>) {
        if self.as_bytes().iter().all(|&b| b == 0) {
            return;
        }
        let mut r = Rules::new(Self::NAME, out);
        for (i, l) in self.scaling_list_4x4.iter().enumerate() {
            for (j, &v) in l.iter().enumerate() {
                r.range(format!("scaling_list_4x4[{i}][{j}]"), v, 1, 255);
            }
        }
        for (i, l) in self.scaling_list_8x8.iter().enumerate() {
            for (j, &v) in l.iter().enumerate() {
                r.range(format!("scaling_list_8x8[{i}][{j}]"), v, 1, 255);
            }
        }
    }
}

/// `struct v4l2_h264_weight_factors`.
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
pub struct WeightFactors {
    #[serde(
        serialize_with = "sh::ser_ints::<i16, 16, _, _>",
        deserialize_with = "sh::de_ints::<i16, _, _>"
    )]
    pub luma_weight: [i16; 32],
    #[serde(
        serialize_with = "sh::ser_ints::<i16, 16, _, _>",
        deserialize_with = "sh::de_ints::<i16, _, _>"
    )]
    pub luma_offset: [i16; 32],
    /// `[ref][Cb, Cr]`.
    #[serde(
        serialize_with = "sh::ser_ints::<i16, 16, _, _>",
        deserialize_with = "sh::de_ints::<i16, _, _>"
    )]
    pub chroma_weight: [[i16; 2]; 32],
    /// `[ref][Cb, Cr]`.
    #[serde(
        serialize_with = "sh::ser_ints::<i16, 16, _, _>",
        deserialize_with = "sh::de_ints::<i16, _, _>"
    )]
    pub chroma_offset: [[i16; 2]; 32],
}

/// `struct v4l2_ctrl_h264_pred_weights`. `weight_factors[0]` is list 0,
/// `[1]` list 1.
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
pub struct PredWeights {
    pub luma_log2_weight_denom: u16,
    pub chroma_log2_weight_denom: u16,
    pub weight_factors: [WeightFactors; 2],
}

impl PredWeights {
    /// `V4L2_H264_CTRL_PRED_WEIGHTS_REQUIRED(pps, slice)`.
    pub fn required(pps: &Pps, slice: &SliceParams) -> bool {
        (pps.flags.contains(PpsFlags::WEIGHTED_PRED)
            && (slice.slice_type == SLICE_TYPE_P || slice.slice_type == SLICE_TYPE_SP))
            || (pps.weighted_bipred_idc == 1 && slice.slice_type == SLICE_TYPE_B)
    }
}

impl Control for PredWeights {
    const ID: u32 = CID_PRED_WEIGHTS;
    const NAME: &'static str = "H264_PRED_WEIGHTS";

    fn check(&self) -> Result<(), CtrlError> {
        Ok(())
    }

    /// Hard (kernel): denominators <= 7.
    fn violations(&self, out: &mut Vec<Violation>) {
        let mut r = Rules::new(Self::NAME, out);
        r.max("luma_log2_weight_denom", self.luma_log2_weight_denom, 7);
        r.max("chroma_log2_weight_denom", self.chroma_log2_weight_denom, 7);
    }

    /// Soft: H.264 7.4.3.2: weights and offsets in -128..=127.
    fn soft_violations(&self, out: &mut Vec<Violation>) {
        let mut r = Rules::new(Self::NAME, out);
        for (l, wf) in self.weight_factors.iter().enumerate() {
            for i in 0..32 {
                let p = format!("weight_factors[{l}]");
                r.range(
                    format!("{p}.luma_weight[{i}]"),
                    wf.luma_weight[i],
                    -128,
                    127,
                );
                r.range(
                    format!("{p}.luma_offset[{i}]"),
                    wf.luma_offset[i],
                    -128,
                    127,
                );
                for c in 0..2 {
                    r.range(
                        format!("{p}.chroma_weight[{i}][{c}]"),
                        wf.chroma_weight[i][c],
                        -128,
                        127,
                    );
                    r.range(
                        format!("{p}.chroma_offset[{i}][{c}]"),
                        wf.chroma_offset[i][c],
                        -128,
                        127,
                    );
                }
            }
        }
    }
}

/// `struct v4l2_h264_reference`: an entry of a reference picture list.
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
pub struct Reference {
    /// Which fields of the DPB entry are referenced.
    pub fields: Fields,
    /// Index into `DecodeParams::dpb`.
    pub index: u8,
}

/// `struct v4l2_ctrl_h264_slice_params` (an array control in slice-based mode).
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
pub struct SliceParams {
    pub header_bit_size: u32,
    pub first_mb_in_slice: u32,
    #[serde(
        serialize_with = "sh::ser_enum::<SliceType, _>",
        deserialize_with = "sh::de_enum::<SliceType, _>"
    )]
    pub slice_type: u8,
    pub colour_plane_id: u8,
    pub redundant_pic_cnt: u8,
    pub cabac_init_idc: u8,
    pub slice_qp_delta: i8,
    pub slice_qs_delta: i8,
    pub disable_deblocking_filter_idc: u8,
    pub slice_alpha_c0_offset_div2: i8,
    pub slice_beta_offset_div2: i8,
    pub num_ref_idx_l0_active_minus1: u8,
    pub num_ref_idx_l1_active_minus1: u8,
    #[serde(skip)]
    pub reserved: u8,
    pub ref_pic_list0: [Reference; REF_LIST_LEN],
    pub ref_pic_list1: [Reference; REF_LIST_LEN],
    pub flags: SliceFlags,
}

impl Default for SliceParams {
    fn default() -> Self {
        Self::new_zeroed()
    }
}

impl SliceParams {
    /// Typed `slice_type`.
    pub fn slice_type(&self) -> Result<SliceType, CtrlError> {
        enum_field(Self::NAME, "slice_type", self.slice_type)
    }
}

impl Normalize for SliceParams {
    fn normalize(&mut self) {
        if self.slice_type != SLICE_TYPE_B {
            self.flags.remove(SliceFlags::DIRECT_SPATIAL_MV_PRED);
        }
        if self.slice_type == SLICE_TYPE_I || self.slice_type == SLICE_TYPE_SI {
            self.num_ref_idx_l0_active_minus1 = 0;
        }
        if self.slice_type != SLICE_TYPE_B {
            self.num_ref_idx_l1_active_minus1 = 0;
        }
        self.reserved = 0;
    }
}

impl Control for SliceParams {
    const ID: u32 = CID_SLICE_PARAMS;
    const NAME: &'static str = "H264_SLICE_PARAMS";

    fn check(&self) -> Result<(), CtrlError> {
        self.slice_type()?;
        reserved_zero(Self::NAME, "reserved", &self.reserved)?;
        for r in self.ref_pic_list0.iter().chain(&self.ref_pic_list1) {
            r.fields.check(Self::NAME, "ref_pic_list.fields")?;
        }
        self.flags.check(Self::NAME, "flags")
    }

    /// The kernel checks neither slice_type nor flag bits and clears `reserved`.
    fn hard_check(&self) -> Result<(), CtrlError> {
        Ok(())
    }

    /// Soft: what [`Control::check`] finds, and redundant_pic_cnt <= 127.
    fn soft_violations(&self, out: &mut Vec<Violation>) {
        let mut r = Rules::new(Self::NAME, out);
        r.structural(self.check());
        r.max("redundant_pic_cnt", self.redundant_pic_cnt, 127);
    }

    /// Hard: the kernel's rules, and list entries a decoder reads point into the DPB.
    fn violations(&self, out: &mut Vec<Violation>) {
        let s = self.normalized();
        let max_ref = (REF_LIST_LEN - 1) as u8;
        let mut r = Rules::new(Self::NAME, out);
        r.max("colour_plane_id", s.colour_plane_id, 2);
        r.max("cabac_init_idc", s.cabac_init_idc, 2);
        r.max(
            "disable_deblocking_filter_idc",
            s.disable_deblocking_filter_idc,
            2,
        );
        r.range(
            "slice_alpha_c0_offset_div2",
            s.slice_alpha_c0_offset_div2,
            -6,
            6,
        );
        r.range("slice_beta_offset_div2", s.slice_beta_offset_div2, -6, 6);
        r.max(
            "num_ref_idx_l0_active_minus1",
            s.num_ref_idx_l0_active_minus1,
            max_ref,
        );
        r.max(
            "num_ref_idx_l1_active_minus1",
            s.num_ref_idx_l1_active_minus1,
            max_ref,
        );
        // Entries a decoder reads must point into the DPB.
        let (n0, n1) = match s.slice_type {
            SLICE_TYPE_P | SLICE_TYPE_SP => (s.num_ref_idx_l0_active_minus1 as usize + 1, 0),
            SLICE_TYPE_B => (
                s.num_ref_idx_l0_active_minus1 as usize + 1,
                s.num_ref_idx_l1_active_minus1 as usize + 1,
            ),
            _ => (0, 0),
        };
        for (name, list, n) in [
            ("ref_pic_list0", &s.ref_pic_list0, n0),
            ("ref_pic_list1", &s.ref_pic_list1, n1),
        ] {
            for (i, e) in list.iter().take(n).enumerate() {
                r.max(
                    format!("{name}[{i}].index"),
                    e.index,
                    (NUM_DPB_ENTRIES - 1) as u8,
                );
            }
        }
    }
}

/// `struct v4l2_h264_dpb_entry`.
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
pub struct DpbEntry {
    /// Timestamp (ns) of the CAPTURE buffer holding the reference.
    pub reference_ts: u64,
    pub pic_num: u32,
    pub frame_num: u16,
    pub fields: Fields,
    #[serde(skip)]
    pub reserved: [u8; 5],
    pub top_field_order_cnt: i32,
    pub bottom_field_order_cnt: i32,
    pub flags: DpbEntryFlags,
}

/// `struct v4l2_ctrl_h264_decode_params`.
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
pub struct DecodeParams {
    pub dpb: [DpbEntry; NUM_DPB_ENTRIES],
    pub nal_ref_idc: u16,
    pub frame_num: u16,
    pub top_field_order_cnt: i32,
    pub bottom_field_order_cnt: i32,
    pub idr_pic_id: u16,
    pub pic_order_cnt_lsb: u16,
    pub delta_pic_order_cnt_bottom: i32,
    pub delta_pic_order_cnt0: i32,
    pub delta_pic_order_cnt1: i32,
    pub dec_ref_pic_marking_bit_size: u32,
    pub pic_order_cnt_bit_size: u32,
    pub slice_group_change_cycle: u32,
    #[serde(skip)]
    pub reserved: u32,
    pub flags: DecodeFlags,
}

impl Default for DecodeParams {
    fn default() -> Self {
        Self::new_zeroed()
    }
}

impl Control for DecodeParams {
    const ID: u32 = CID_DECODE_PARAMS;
    const NAME: &'static str = "H264_DECODE_PARAMS";

    fn check(&self) -> Result<(), CtrlError> {
        for e in &self.dpb {
            reserved_zero(Self::NAME, "dpb.reserved", &e.reserved)?;
            e.fields.check(Self::NAME, "dpb.fields")?;
            e.flags.check(Self::NAME, "dpb.flags")?;
        }
        reserved_zero(Self::NAME, "reserved", &self.reserved)?;
        self.flags.check(Self::NAME, "flags")
    }

    /// The kernel does not look at the flag bits and clears the reserved fields.
    fn hard_check(&self) -> Result<(), CtrlError> {
        Ok(())
    }

    /// Hard (kernel): nal_ref_idc <= 3.
    fn violations(&self, out: &mut Vec<Violation>) {
        Rules::new(Self::NAME, out).max("nal_ref_idc", self.nal_ref_idc, 3);
    }

    /// Soft: what [`Control::check`] finds, and the flags / nal_ref_idc rules of 7.4.
    fn soft_violations(&self, out: &mut Vec<Violation>) {
        let mut r = Rules::new(Self::NAME, out);
        r.structural(self.check());
        // H.264 7.4.3: a BOTTOM_FIELD picture is a field picture.
        r.rule(
            !self.flags.contains(DecodeFlags::BOTTOM_FIELD)
                || self.flags.contains(DecodeFlags::FIELD_PIC),
            "flags",
            format!("{:?}", self.flags),
            "BOTTOM_FIELD requires FIELD_PIC",
        );
        // IDR pictures are reference pictures (7.4.1: nal_ref_idc != 0 for IDR).
        r.rule(
            !self.flags.contains(DecodeFlags::IDR_PIC) || self.nal_ref_idc != 0,
            "nal_ref_idc",
            self.nal_ref_idc,
            "1..=3 for an IDR picture",
        );
    }
}

/// The current values of every H.264 stateless control of a request.
#[derive(Debug, Clone)]
pub struct H264Controls {
    pub sps: Sps,
    pub pps: Pps,
    pub scaling_matrix: ScalingMatrix,
    pub decode_params: DecodeParams,
    /// SLICE_PARAMS (slice-based mode; empty in frame-based mode, where the
    /// slice headers come from the bitstream).
    pub slice_params: Vec<SliceParams>,
    pub pred_weights: Option<PredWeights>,
    pub decode_mode: DecodeMode,
    pub start_code: StartCode,
}

impl Default for H264Controls {
    fn default() -> Self {
        H264Controls {
            sps: Sps::default(),
            pps: Pps::default(),
            scaling_matrix: ScalingMatrix::default(),
            decode_params: DecodeParams::default(),
            slice_params: Vec::new(),
            pred_weights: None,
            decode_mode: DecodeMode::FrameBased,
            start_code: StartCode::AnnexB,
        }
    }
}

impl H264Controls {
    /// A picture decoding can start at: it references nothing decoded before
    /// it (an IDR picture). An engine that lost its state waits for one.
    pub fn random_access(&self) -> bool {
        self.decode_params.flags.contains(DecodeFlags::IDR_PIC)
    }

    /// The set from a request's control list. DECODE_MODE and START_CODE
    /// default to what a frame-based Annex B decoder assumes when absent.
    pub fn from_controls(c: &crate::set::Controls<'_>) -> Result<Self, crate::set::SetError> {
        let decode_mode =
            c.menu_enum(CID_DECODE_MODE, "H264_DECODE_MODE", DecodeMode::FrameBased)?;
        let start_code = c.menu_enum(CID_START_CODE, "H264_START_CODE", StartCode::AnnexB)?;
        Ok(H264Controls {
            sps: c.get()?,
            pps: c.get()?,
            scaling_matrix: c.get()?,
            decode_params: c.get()?,
            slice_params: if decode_mode == DecodeMode::SliceBased {
                c.array()?
            } else {
                Vec::new()
            },
            pred_weights: c.opt()?,
            decode_mode,
            start_code,
        })
    }

    /// The control list a client sets for this request, menus first.
    pub fn to_payloads(&self) -> Vec<crate::set::Payload> {
        use crate::set::Payload;
        let mut v = vec![
            Payload::menu(CID_DECODE_MODE, self.decode_mode as i32),
            Payload::menu(CID_START_CODE, self.start_code as i32),
            Payload::of(&self.sps),
            Payload::of(&self.pps),
            Payload::of(&self.scaling_matrix),
            Payload::of(&self.decode_params),
        ];
        if !self.slice_params.is_empty() {
            v.push(Payload::of_array(&self.slice_params));
        }
        if let Some(w) = &self.pred_weights {
            v.push(Payload::of(w));
        }
        v
    }

    /// Coded picture size in pixels (whole macroblocks; what the CAPTURE buffer holds).
    pub fn coded_size(&self) -> (u32, u32) {
        self.sps.coded_size()
    }
}

impl Sps {
    /// Coded picture size in pixels (whole macroblocks, both fields of a frame).
    pub fn coded_size(&self) -> (u32, u32) {
        let w = (self.pic_width_in_mbs_minus1 as u32 + 1) * 16;
        let frame_mbs_only = self.flags.contains(SpsFlags::FRAME_MBS_ONLY);
        let h = (self.pic_height_in_map_units_minus1 as u32 + 1) * 16 * (2 - frame_mbs_only as u32);
        (w, h)
    }
}
