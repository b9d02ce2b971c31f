//! HEVC stateless controls (`V4L2_CID_STATELESS_HEVC_*`, Linux 6.12 UAPI, and
//! the SPS RPS tables `EXT_SPS_ST_RPS` / `EXT_SPS_LT_RPS` of Linux 7.0+).
//!
//! Range rules: the kernel's `std_validate_compound` (6.12, including its
//! clearing of conditionally-unused fields, see [`Normalize`]) plus the
//! syntax element ranges of ITU-T H.265 section 7.4.

use crate::control::serde_helpers as sh;
use crate::control::{enum_field, reserved_zero, Normalize, Rules};
use crate::h264::CID_STATELESS_BASE;
use crate::{Control, CtrlError, Violation};
use serde::{Deserialize, Serialize};
use zerocopy::{FromBytes, FromZeros, Immutable, IntoBytes, KnownLayout};

/// `V4L2_CID_STATELESS_HEVC_SPS`.
pub const CID_SPS: u32 = CID_STATELESS_BASE + 400;
/// `V4L2_CID_STATELESS_HEVC_PPS`.
pub const CID_PPS: u32 = CID_STATELESS_BASE + 401;
/// `V4L2_CID_STATELESS_HEVC_SLICE_PARAMS`.
pub const CID_SLICE_PARAMS: u32 = CID_STATELESS_BASE + 402;
/// `V4L2_CID_STATELESS_HEVC_SCALING_MATRIX`.
pub const CID_SCALING_MATRIX: u32 = CID_STATELESS_BASE + 403;
/// `V4L2_CID_STATELESS_HEVC_DECODE_PARAMS`.
pub const CID_DECODE_PARAMS: u32 = CID_STATELESS_BASE + 404;
/// `V4L2_CID_STATELESS_HEVC_DECODE_MODE`.
pub const CID_DECODE_MODE: u32 = CID_STATELESS_BASE + 405;
/// `V4L2_CID_STATELESS_HEVC_START_CODE`.
pub const CID_START_CODE: u32 = CID_STATELESS_BASE + 406;
/// `V4L2_CID_STATELESS_HEVC_ENTRY_POINT_OFFSETS`.
pub const CID_ENTRY_POINT_OFFSETS: u32 = CID_STATELESS_BASE + 407;
/// `V4L2_CID_STATELESS_HEVC_EXT_SPS_ST_RPS` (Linux 7.0+; dynamic array, one
/// element per SPS short-term RPS, `num_short_term_ref_pic_sets` of them).
pub const CID_EXT_SPS_ST_RPS: u32 = CID_STATELESS_BASE + 408;
/// `V4L2_CID_STATELESS_HEVC_EXT_SPS_LT_RPS` (Linux 7.0+; dynamic array, one
/// element per SPS long-term candidate, `num_long_term_ref_pics_sps` of them).
pub const CID_EXT_SPS_LT_RPS: u32 = CID_STATELESS_BASE + 409;
/// The longest ST_RPS / LT_RPS arrays (the SPS's counts: 0..=64, 0..=32).
pub const EXT_SPS_ST_RPS_MAX: usize = 64;
pub const EXT_SPS_LT_RPS_MAX: usize = 32;

/// `V4L2_HEVC_DPB_ENTRIES_NUM_MAX`.
pub const DPB_ENTRIES_NUM_MAX: usize = 16;
/// `V4L2_HEVC_SLICE_TYPE_B`.
pub const SLICE_TYPE_B: u8 = 0;
/// `V4L2_HEVC_SLICE_TYPE_P`.
pub const SLICE_TYPE_P: u8 = 1;
/// `V4L2_HEVC_SLICE_TYPE_I`.
pub const SLICE_TYPE_I: u8 = 2;

crate::ctrl_enum! {
    /// `enum v4l2_stateless_hevc_decode_mode`.
    pub enum DecodeMode: i32 {
        SliceBased = 0 => "SLICE_BASED",
        FrameBased = 1 => "FRAME_BASED",
    }
}

crate::ctrl_enum! {
    /// `enum v4l2_stateless_hevc_start_code`.
    pub enum StartCode: i32 {
        None = 0 => "NONE",
        AnnexB = 1 => "ANNEX_B",
    }
}

crate::menu_control! {
    /// `V4L2_CID_STATELESS_HEVC_DECODE_MODE` menu control.
    DecodeModeCtrl, DecodeMode, CID_DECODE_MODE, "HEVC_DECODE_MODE"
}

crate::menu_control! {
    /// `V4L2_CID_STATELESS_HEVC_START_CODE` menu control.
    StartCodeCtrl, StartCode, CID_START_CODE, "HEVC_START_CODE"
}

crate::ctrl_enum! {
    /// `V4L2_HEVC_SLICE_TYPE_*`.
    pub enum SliceType: u8 {
        B = 0 => "B",
        P = 1 => "P",
        I = 2 => "I",
    }
}

crate::ctrl_enum! {
    /// `V4L2_HEVC_SEI_PIC_STRUCT_*` (H.265 Table D.2).
    pub enum PicStruct: u8 {
        Frame = 0 => "FRAME",
        TopField = 1 => "TOP_FIELD",
        BottomField = 2 => "BOTTOM_FIELD",
        TopBottom = 3 => "TOP_BOTTOM",
        BottomTop = 4 => "BOTTOM_TOP",
        TopBottomTop = 5 => "TOP_BOTTOM_TOP",
        BottomTopBottom = 6 => "BOTTOM_TOP_BOTTOM",
        FrameDoubling = 7 => "FRAME_DOUBLING",
        FrameTripling = 8 => "FRAME_TRIPLING",
        TopPairedPreviousBottom = 9 => "TOP_PAIRED_PREVIOUS_BOTTOM",
        BottomPairedPreviousTop = 10 => "BOTTOM_PAIRED_PREVIOUS_TOP",
        TopPairedNextBottom = 11 => "TOP_PAIRED_NEXT_BOTTOM",
        BottomPairedNextTop = 12 => "BOTTOM_PAIRED_NEXT_TOP",
    }
}

crate::ctrl_flags! {
    /// `V4L2_HEVC_SPS_FLAG_*`.
    pub struct SpsFlags(u64) {
        const SEPARATE_COLOUR_PLANE = 1 << 0;
        const SCALING_LIST_ENABLED = 1 << 1;
        const AMP_ENABLED = 1 << 2;
        const SAMPLE_ADAPTIVE_OFFSET = 1 << 3;
        const PCM_ENABLED = 1 << 4;
        const PCM_LOOP_FILTER_DISABLED = 1 << 5;
        const LONG_TERM_REF_PICS_PRESENT = 1 << 6;
        const SPS_TEMPORAL_MVP_ENABLED = 1 << 7;
        const STRONG_INTRA_SMOOTHING_ENABLED = 1 << 8;
    }
}

crate::ctrl_flags! {
    /// `V4L2_HEVC_PPS_FLAG_*`.
    pub struct PpsFlags(u64) {
        const DEPENDENT_SLICE_SEGMENT_ENABLED = 1 << 0;
        const OUTPUT_FLAG_PRESENT = 1 << 1;
        const SIGN_DATA_HIDING_ENABLED = 1 << 2;
        const CABAC_INIT_PRESENT = 1 << 3;
        const CONSTRAINED_INTRA_PRED = 1 << 4;
        const TRANSFORM_SKIP_ENABLED = 1 << 5;
        const CU_QP_DELTA_ENABLED = 1 << 6;
        const PPS_SLICE_CHROMA_QP_OFFSETS_PRESENT = 1 << 7;
        const WEIGHTED_PRED = 1 << 8;
        const WEIGHTED_BIPRED = 1 << 9;
        const TRANSQUANT_BYPASS_ENABLED = 1 << 10;
        const TILES_ENABLED = 1 << 11;
        const ENTROPY_CODING_SYNC_ENABLED = 1 << 12;
        const LOOP_FILTER_ACROSS_TILES_ENABLED = 1 << 13;
        const PPS_LOOP_FILTER_ACROSS_SLICES_ENABLED = 1 << 14;
        const DEBLOCKING_FILTER_OVERRIDE_ENABLED = 1 << 15;
        const PPS_DISABLE_DEBLOCKING_FILTER = 1 << 16;
        const LISTS_MODIFICATION_PRESENT = 1 << 17;
        const SLICE_SEGMENT_HEADER_EXTENSION_PRESENT = 1 << 18;
        const DEBLOCKING_FILTER_CONTROL_PRESENT = 1 << 19;
        const UNIFORM_SPACING = 1 << 20;
    }
}

crate::ctrl_flags! {
    /// `V4L2_HEVC_DPB_ENTRY_*` (`v4l2_hevc_dpb_entry.flags`).
    pub struct DpbEntryFlags(u8) {
        const LONG_TERM_REFERENCE = 0x01;
    }
}

crate::ctrl_flags! {
    /// `V4L2_HEVC_SLICE_PARAMS_FLAG_*`.
    pub struct SliceFlags(u64) {
        const SLICE_SAO_LUMA = 1 << 0;
        const SLICE_SAO_CHROMA = 1 << 1;
        const SLICE_TEMPORAL_MVP_ENABLED = 1 << 2;
        const MVD_L1_ZERO = 1 << 3;
        const CABAC_INIT = 1 << 4;
        const COLLOCATED_FROM_L0 = 1 << 5;
        const USE_INTEGER_MV = 1 << 6;
        const SLICE_DEBLOCKING_FILTER_DISABLED = 1 << 7;
        const SLICE_LOOP_FILTER_ACROSS_SLICES_ENABLED = 1 << 8;
        const DEPENDENT_SLICE_SEGMENT = 1 << 9;
    }
}

crate::ctrl_flags! {
    /// `V4L2_HEVC_DECODE_PARAM_FLAG_*`.
    pub struct DecodeFlags(u64) {
        const IRAP_PIC = 0x1;
        const IDR_PIC = 0x2;
        const NO_OUTPUT_OF_PRIOR = 0x4;
    }
}

/// `struct v4l2_ctrl_hevc_sps`.
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
pub struct Sps {
    pub video_parameter_set_id: u8,
    pub seq_parameter_set_id: u8,
    pub pic_width_in_luma_samples: u16,
    pub pic_height_in_luma_samples: u16,
    pub bit_depth_luma_minus8: u8,
    pub bit_depth_chroma_minus8: u8,
    pub log2_max_pic_order_cnt_lsb_minus4: u8,
    pub sps_max_dec_pic_buffering_minus1: u8,
    pub sps_max_num_reorder_pics: u8,
    pub sps_max_latency_increase_plus1: u8,
    pub log2_min_luma_coding_block_size_minus3: u8,
    pub log2_diff_max_min_luma_coding_block_size: u8,
    pub log2_min_luma_transform_block_size_minus2: u8,
    pub log2_diff_max_min_luma_transform_block_size: u8,
    pub max_transform_hierarchy_depth_inter: u8,
    pub max_transform_hierarchy_depth_intra: u8,
    pub pcm_sample_bit_depth_luma_minus1: u8,
    pub pcm_sample_bit_depth_chroma_minus1: u8,
    pub log2_min_pcm_luma_coding_block_size_minus3: u8,
    pub log2_diff_max_min_pcm_luma_coding_block_size: u8,
    pub num_short_term_ref_pic_sets: u8,
    pub num_long_term_ref_pics_sps: u8,
    pub chroma_format_idc: u8,
    pub sps_max_sub_layers_minus1: u8,
    #[serde(skip)]
    pub reserved: [u8; 6],
    pub flags: SpsFlags,
}

impl Sps {
    /// MinCbLog2SizeY.
    pub fn min_cb_log2(&self) -> u32 {
        self.log2_min_luma_coding_block_size_minus3 as u32 + 3
    }
    /// CtbLog2SizeY.
    pub fn ctb_log2(&self) -> u32 {
        self.min_cb_log2() + self.log2_diff_max_min_luma_coding_block_size as u32
    }

    /// (PicWidthInCtbsY, PicHeightInCtbsY); `None` when CtbLog2SizeY is not
    /// a shift a u32 takes (controls no SPS could give).
    pub fn pic_size_in_ctbs(&self) -> Option<(u32, u32)> {
        let size = 1u32.checked_shl(self.ctb_log2())?;
        Some((
            u32::from(self.pic_width_in_luma_samples).div_ceil(size),
            u32::from(self.pic_height_in_luma_samples).div_ceil(size),
        ))
    }
}

impl Normalize for Sps {
    fn normalize(&mut self) {
        if !self.flags.contains(SpsFlags::PCM_ENABLED) {
            self.pcm_sample_bit_depth_luma_minus1 = 0;
            self.pcm_sample_bit_depth_chroma_minus1 = 0;
            self.log2_min_pcm_luma_coding_block_size_minus3 = 0;
            self.log2_diff_max_min_pcm_luma_coding_block_size = 0;
        }
        if !self.flags.contains(SpsFlags::LONG_TERM_REF_PICS_PRESENT) {
            self.num_long_term_ref_pics_sps = 0;
        }
    }
}

impl Control for Sps {
    const ID: u32 = CID_SPS;
    const NAME: &'static str = "HEVC_SPS";

    fn check(&self) -> Result<(), CtrlError> {
        reserved_zero(Self::NAME, "reserved", &self.reserved)?;
        self.flags.check(Self::NAME, "flags")
    }

    fn violations(&self, out: &mut Vec<Violation>) {
        let s = self.normalized();
        let mut r = Rules::new(Self::NAME, out);
        r.max("video_parameter_set_id", s.video_parameter_set_id, 15);
        r.max("seq_parameter_set_id", s.seq_parameter_set_id, 15);
        r.max("chroma_format_idc", s.chroma_format_idc, 3);
        r.max("bit_depth_luma_minus8", s.bit_depth_luma_minus8, 8);
        r.max("bit_depth_chroma_minus8", s.bit_depth_chroma_minus8, 8);
        r.max(
            "log2_max_pic_order_cnt_lsb_minus4",
            s.log2_max_pic_order_cnt_lsb_minus4,
            12,
        );
        r.max(
            "sps_max_dec_pic_buffering_minus1",
            s.sps_max_dec_pic_buffering_minus1,
            (DPB_ENTRIES_NUM_MAX - 1) as u8,
        );
        r.max(
            "sps_max_num_reorder_pics",
            s.sps_max_num_reorder_pics,
            s.sps_max_dec_pic_buffering_minus1,
        );
        r.max("sps_max_sub_layers_minus1", s.sps_max_sub_layers_minus1, 6);
        // 7.4.3.2.1: CtbLog2SizeY in 4..=6, MinCbLog2SizeY >= 3.
        let min_cb = s.min_cb_log2();
        let ctb = s.ctb_log2();
        r.rule(
            (4..=6).contains(&ctb),
            "log2_diff_max_min_luma_coding_block_size",
            s.log2_diff_max_min_luma_coding_block_size,
            "CtbLog2SizeY = log2_min_luma_coding_block_size_minus3 + 3 + this in 4..=6",
        );
        // Transform blocks: 2 <= MinTbLog2 < MinCbLog2, MaxTbLog2 <= min(CtbLog2, 5).
        let min_tb = s.log2_min_luma_transform_block_size_minus2 as u32 + 2;
        let max_tb = min_tb + s.log2_diff_max_min_luma_transform_block_size as u32;
        r.rule(
            min_tb < min_cb,
            "log2_min_luma_transform_block_size_minus2",
            s.log2_min_luma_transform_block_size_minus2,
            "MinTbLog2SizeY < MinCbLog2SizeY",
        );
        r.rule(
            max_tb <= ctb.min(5),
            "log2_diff_max_min_luma_transform_block_size",
            s.log2_diff_max_min_luma_transform_block_size,
            "MaxTbLog2SizeY <= min(CtbLog2SizeY, 5)",
        );
        let max_depth = ctb.saturating_sub(min_tb);
        r.max(
            "max_transform_hierarchy_depth_inter",
            s.max_transform_hierarchy_depth_inter as u32,
            max_depth,
        );
        r.max(
            "max_transform_hierarchy_depth_intra",
            s.max_transform_hierarchy_depth_intra as u32,
            max_depth,
        );
        // Picture size: non-zero multiple of MinCbSizeY.
        if min_cb < 16 {
            let m = 1u32 << min_cb;
            for (name, v) in [
                ("pic_width_in_luma_samples", s.pic_width_in_luma_samples),
                ("pic_height_in_luma_samples", s.pic_height_in_luma_samples),
            ] {
                r.rule(
                    v != 0 && (v as u32).is_multiple_of(m),
                    name,
                    v,
                    format!("non-zero multiple of MinCbSizeY = {m}"),
                );
            }
        }
        if s.flags.contains(SpsFlags::PCM_ENABLED) {
            r.max(
                "pcm_sample_bit_depth_luma_minus1",
                s.pcm_sample_bit_depth_luma_minus1,
                s.bit_depth_luma_minus8.saturating_add(7),
            );
            r.max(
                "pcm_sample_bit_depth_chroma_minus1",
                s.pcm_sample_bit_depth_chroma_minus1,
                s.bit_depth_chroma_minus8.saturating_add(7),
            );
            let min_pcm = s.log2_min_pcm_luma_coding_block_size_minus3 as u32 + 3;
            let max_pcm = min_pcm + s.log2_diff_max_min_pcm_luma_coding_block_size as u32;
            r.rule(
                (min_cb.min(5)..=ctb.min(5)).contains(&min_pcm),
                "log2_min_pcm_luma_coding_block_size_minus3",
                s.log2_min_pcm_luma_coding_block_size_minus3,
                "Log2MinIpcmCbSizeY in min(MinCbLog2SizeY, 5)..=min(CtbLog2SizeY, 5)",
            );
            r.rule(
                max_pcm <= ctb.min(5),
                "log2_diff_max_min_pcm_luma_coding_block_size",
                s.log2_diff_max_min_pcm_luma_coding_block_size,
                "Log2MaxIpcmCbSizeY <= min(CtbLog2SizeY, 5)",
            );
        }
        r.max(
            "num_short_term_ref_pic_sets",
            s.num_short_term_ref_pic_sets,
            64,
        );
        r.max(
            "num_long_term_ref_pics_sps",
            s.num_long_term_ref_pics_sps,
            32,
        );
        r.rule(
            s.chroma_format_idc == 3 || !s.flags.contains(SpsFlags::SEPARATE_COLOUR_PLANE),
            "flags",
            format!("{:?}", s.flags),
            "SEPARATE_COLOUR_PLANE only with chroma_format_idc 3",
        );
    }
}

/// `struct v4l2_ctrl_hevc_pps`.
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
    pub num_extra_slice_header_bits: u8,
    pub num_ref_idx_l0_default_active_minus1: u8,
    pub num_ref_idx_l1_default_active_minus1: u8,
    pub init_qp_minus26: i8,
    pub diff_cu_qp_delta_depth: u8,
    pub pps_cb_qp_offset: i8,
    pub pps_cr_qp_offset: i8,
    pub num_tile_columns_minus1: u8,
    pub num_tile_rows_minus1: u8,
    pub column_width_minus1: [u8; 20],
    pub row_height_minus1: [u8; 22],
    pub pps_beta_offset_div2: i8,
    pub pps_tc_offset_div2: i8,
    pub log2_parallel_merge_level_minus2: u8,
    #[serde(skip)]
    pub reserved: u8,
    pub flags: PpsFlags,
}

impl Normalize for Pps {
    fn normalize(&mut self) {
        if !self.flags.contains(PpsFlags::CU_QP_DELTA_ENABLED) {
            self.diff_cu_qp_delta_depth = 0;
        }
        if !self.flags.contains(PpsFlags::TILES_ENABLED) {
            self.num_tile_columns_minus1 = 0;
            self.num_tile_rows_minus1 = 0;
            self.column_width_minus1 = [0; 20];
            self.row_height_minus1 = [0; 22];
            self.flags
                .remove(PpsFlags::LOOP_FILTER_ACROSS_TILES_ENABLED);
        }
        if self.flags.contains(PpsFlags::PPS_DISABLE_DEBLOCKING_FILTER) {
            self.pps_beta_offset_div2 = 0;
            self.pps_tc_offset_div2 = 0;
        }
    }
}

impl Control for Pps {
    const ID: u32 = CID_PPS;
    const NAME: &'static str = "HEVC_PPS";

    fn check(&self) -> Result<(), CtrlError> {
        reserved_zero(Self::NAME, "reserved", &self.reserved)?;
        self.flags.check(Self::NAME, "flags")
    }

    fn violations(&self, out: &mut Vec<Violation>) {
        let p = self.normalized();
        let mut r = Rules::new(Self::NAME, out);
        r.max("pic_parameter_set_id", p.pic_parameter_set_id, 63);
        r.max(
            "num_extra_slice_header_bits",
            p.num_extra_slice_header_bits,
            7,
        );
        r.max(
            "num_ref_idx_l0_default_active_minus1",
            p.num_ref_idx_l0_default_active_minus1,
            14,
        );
        r.max(
            "num_ref_idx_l1_default_active_minus1",
            p.num_ref_idx_l1_default_active_minus1,
            14,
        );
        // -(26 + QpBdOffsetY)..=25 with bit depth up to 16.
        r.range("init_qp_minus26", p.init_qp_minus26, -74, 25);
        r.max("diff_cu_qp_delta_depth", p.diff_cu_qp_delta_depth, 3);
        r.range("pps_cb_qp_offset", p.pps_cb_qp_offset, -12, 12);
        r.range("pps_cr_qp_offset", p.pps_cr_qp_offset, -12, 12);
        // Kernel: the tile counts index column_width_minus1/row_height_minus1.
        r.max(
            "num_tile_columns_minus1",
            p.num_tile_columns_minus1,
            (p.column_width_minus1.len() - 1) as u8,
        );
        r.max(
            "num_tile_rows_minus1",
            p.num_tile_rows_minus1,
            (p.row_height_minus1.len() - 1) as u8,
        );
        r.range("pps_beta_offset_div2", p.pps_beta_offset_div2, -6, 6);
        r.range("pps_tc_offset_div2", p.pps_tc_offset_div2, -6, 6);
        r.max(
            "log2_parallel_merge_level_minus2",
            p.log2_parallel_merge_level_minus2,
            4,
        );
    }
}

/// `struct v4l2_hevc_dpb_entry`.
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
    pub timestamp: u64,
    pub flags: DpbEntryFlags,
    /// `V4L2_HEVC_SEI_PIC_STRUCT_*`.
    #[serde(
        serialize_with = "sh::ser_enum::<PicStruct, _>",
        deserialize_with = "sh::de_enum::<PicStruct, _>"
    )]
    pub field_pic: u8,
    #[serde(skip)]
    pub reserved: u16,
    pub pic_order_cnt_val: i32,
}

/// `struct v4l2_hevc_pred_weight_table`.
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
pub struct PredWeightTable {
    pub delta_luma_weight_l0: [i8; DPB_ENTRIES_NUM_MAX],
    pub luma_offset_l0: [i8; DPB_ENTRIES_NUM_MAX],
    #[serde(
        serialize_with = "sh::ser_ints::<i8, 16, _, _>",
        deserialize_with = "sh::de_ints::<i8, _, _>"
    )]
    pub delta_chroma_weight_l0: [[i8; 2]; DPB_ENTRIES_NUM_MAX],
    #[serde(
        serialize_with = "sh::ser_ints::<i8, 16, _, _>",
        deserialize_with = "sh::de_ints::<i8, _, _>"
    )]
    pub chroma_offset_l0: [[i8; 2]; DPB_ENTRIES_NUM_MAX],
    pub delta_luma_weight_l1: [i8; DPB_ENTRIES_NUM_MAX],
    pub luma_offset_l1: [i8; DPB_ENTRIES_NUM_MAX],
    #[serde(
        serialize_with = "sh::ser_ints::<i8, 16, _, _>",
        deserialize_with = "sh::de_ints::<i8, _, _>"
    )]
    pub delta_chroma_weight_l1: [[i8; 2]; DPB_ENTRIES_NUM_MAX],
    #[serde(
        serialize_with = "sh::ser_ints::<i8, 16, _, _>",
        deserialize_with = "sh::de_ints::<i8, _, _>"
    )]
    pub chroma_offset_l1: [[i8; 2]; DPB_ENTRIES_NUM_MAX],
    pub luma_log2_weight_denom: u8,
    pub delta_chroma_log2_weight_denom: i8,
}

/// `struct v4l2_ctrl_hevc_slice_params` (an array control in slice-based mode).
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
    pub bit_size: u32,
    pub data_byte_offset: u32,
    pub num_entry_point_offsets: u32,
    pub nal_unit_type: u8,
    pub nuh_temporal_id_plus1: u8,
    #[serde(
        serialize_with = "sh::ser_enum::<SliceType, _>",
        deserialize_with = "sh::de_enum::<SliceType, _>"
    )]
    pub slice_type: u8,
    pub colour_plane_id: u8,
    pub slice_pic_order_cnt: i32,
    pub num_ref_idx_l0_active_minus1: u8,
    pub num_ref_idx_l1_active_minus1: u8,
    pub collocated_ref_idx: u8,
    pub five_minus_max_num_merge_cand: u8,
    pub slice_qp_delta: i8,
    pub slice_cb_qp_offset: i8,
    pub slice_cr_qp_offset: i8,
    pub slice_act_y_qp_offset: i8,
    pub slice_act_cb_qp_offset: i8,
    pub slice_act_cr_qp_offset: i8,
    pub slice_beta_offset_div2: i8,
    pub slice_tc_offset_div2: i8,
    #[serde(
        serialize_with = "sh::ser_enum::<PicStruct, _>",
        deserialize_with = "sh::de_enum::<PicStruct, _>"
    )]
    pub pic_struct: u8,
    #[serde(skip)]
    pub reserved0: [u8; 3],
    pub slice_segment_addr: u32,
    pub ref_idx_l0: [u8; DPB_ENTRIES_NUM_MAX],
    pub ref_idx_l1: [u8; DPB_ENTRIES_NUM_MAX],
    pub short_term_ref_pic_set_size: u16,
    pub long_term_ref_pic_set_size: u16,
    pub pred_weight_table: PredWeightTable,
    #[serde(skip)]
    pub reserved1: [u8; 2],
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
    /// Typed `pic_struct`.
    pub fn pic_struct(&self) -> Result<PicStruct, CtrlError> {
        enum_field(Self::NAME, "pic_struct", self.pic_struct)
    }
}

impl Control for SliceParams {
    const ID: u32 = CID_SLICE_PARAMS;
    const NAME: &'static str = "HEVC_SLICE_PARAMS";

    fn check(&self) -> Result<(), CtrlError> {
        self.slice_type()?;
        self.pic_struct()?;
        reserved_zero(Self::NAME, "reserved0", &self.reserved0)?;
        reserved_zero(Self::NAME, "reserved1", &self.reserved1)?;
        self.flags.check(Self::NAME, "flags")
    }

    fn violations(&self, out: &mut Vec<Violation>) {
        let s = self;
        let mut r = Rules::new(Self::NAME, out);
        // H.265 Table 7-1: VCL NAL unit types 0..=9 and 16..=21.
        r.rule(
            s.nal_unit_type <= 9 || (16..=21).contains(&s.nal_unit_type),
            "nal_unit_type",
            s.nal_unit_type,
            "a VCL type: 0..=9 or 16..=21",
        );
        r.range("nuh_temporal_id_plus1", s.nuh_temporal_id_plus1, 1, 7);
        r.max("colour_plane_id", s.colour_plane_id, 2);
        // Kernel: < V4L2_HEVC_DPB_ENTRIES_NUM_MAX (l1 only for B); spec: <= 14.
        let is_b = s.slice_type == SLICE_TYPE_B;
        let is_i = s.slice_type == SLICE_TYPE_I;
        if !is_i {
            r.max(
                "num_ref_idx_l0_active_minus1",
                s.num_ref_idx_l0_active_minus1,
                14,
            );
        }
        if is_b {
            r.max(
                "num_ref_idx_l1_active_minus1",
                s.num_ref_idx_l1_active_minus1,
                14,
            );
        }
        r.max(
            "five_minus_max_num_merge_cand",
            s.five_minus_max_num_merge_cand,
            4,
        );
        for (name, v) in [
            ("slice_cb_qp_offset", s.slice_cb_qp_offset),
            ("slice_cr_qp_offset", s.slice_cr_qp_offset),
            ("slice_act_y_qp_offset", s.slice_act_y_qp_offset),
            ("slice_act_cb_qp_offset", s.slice_act_cb_qp_offset),
            ("slice_act_cr_qp_offset", s.slice_act_cr_qp_offset),
        ] {
            r.range(name, v, -12, 12);
        }
        r.range("slice_beta_offset_div2", s.slice_beta_offset_div2, -6, 6);
        r.range("slice_tc_offset_div2", s.slice_tc_offset_div2, -6, 6);
        // Reference indices a decoder reads point into the DPB.
        let n0 = if is_i {
            0
        } else {
            (s.num_ref_idx_l0_active_minus1 as usize + 1).min(DPB_ENTRIES_NUM_MAX)
        };
        let n1 = if is_b {
            (s.num_ref_idx_l1_active_minus1 as usize + 1).min(DPB_ENTRIES_NUM_MAX)
        } else {
            0
        };
        for i in 0..n0 {
            r.max(
                format!("ref_idx_l0[{i}]"),
                s.ref_idx_l0[i],
                (DPB_ENTRIES_NUM_MAX - 1) as u8,
            );
        }
        for i in 0..n1 {
            r.max(
                format!("ref_idx_l1[{i}]"),
                s.ref_idx_l1[i],
                (DPB_ENTRIES_NUM_MAX - 1) as u8,
            );
        }
        if !is_i && s.flags.contains(SliceFlags::SLICE_TEMPORAL_MVP_ENABLED) {
            let from_l0 = !is_b || s.flags.contains(SliceFlags::COLLOCATED_FROM_L0);
            let n = if from_l0 { n0 } else { n1 };
            r.rule(
                (s.collocated_ref_idx as usize) < n.max(1),
                "collocated_ref_idx",
                s.collocated_ref_idx,
                format!("< {} (active references of the collocated list)", n.max(1)),
            );
        }
        // 7.4.7.3 pred_weight_table.
        let w = &s.pred_weight_table;
        r.max(
            "pred_weight_table.luma_log2_weight_denom",
            w.luma_log2_weight_denom,
            7,
        );
        let chroma_denom =
            w.luma_log2_weight_denom as i32 + w.delta_chroma_log2_weight_denom as i32;
        r.rule(
            (0..=7).contains(&chroma_denom),
            "pred_weight_table.delta_chroma_log2_weight_denom",
            w.delta_chroma_log2_weight_denom,
            "luma_log2_weight_denom + this in 0..=7",
        );
    }
}

/// `struct v4l2_ctrl_hevc_decode_params`.
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
    pub pic_order_cnt_val: i32,
    pub short_term_ref_pic_set_size: u16,
    pub long_term_ref_pic_set_size: u16,
    pub num_active_dpb_entries: u8,
    pub num_poc_st_curr_before: u8,
    pub num_poc_st_curr_after: u8,
    pub num_poc_lt_curr: u8,
    pub poc_st_curr_before: [u8; DPB_ENTRIES_NUM_MAX],
    pub poc_st_curr_after: [u8; DPB_ENTRIES_NUM_MAX],
    pub poc_lt_curr: [u8; DPB_ENTRIES_NUM_MAX],
    pub num_delta_pocs_of_ref_rps_idx: u8,
    #[serde(skip)]
    pub reserved: [u8; 3],
    pub dpb: [DpbEntry; DPB_ENTRIES_NUM_MAX],
    pub flags: DecodeFlags,
}

impl Default for DecodeParams {
    fn default() -> Self {
        Self::new_zeroed()
    }
}

impl Control for DecodeParams {
    const ID: u32 = CID_DECODE_PARAMS;
    const NAME: &'static str = "HEVC_DECODE_PARAMS";

    fn check(&self) -> Result<(), CtrlError> {
        reserved_zero(Self::NAME, "reserved", &self.reserved)?;
        for e in &self.dpb {
            e.flags.check(Self::NAME, "dpb.flags")?;
            enum_field::<PicStruct>(Self::NAME, "dpb.field_pic", e.field_pic)?;
            reserved_zero(Self::NAME, "dpb.reserved", &e.reserved)?;
        }
        self.flags.check(Self::NAME, "flags")
    }

    fn violations(&self, out: &mut Vec<Violation>) {
        let mut r = Rules::new(Self::NAME, out);
        let max = DPB_ENTRIES_NUM_MAX as u8;
        r.max("num_active_dpb_entries", self.num_active_dpb_entries, max);
        r.max("num_poc_st_curr_before", self.num_poc_st_curr_before, max);
        r.max("num_poc_st_curr_after", self.num_poc_st_curr_after, max);
        r.max("num_poc_lt_curr", self.num_poc_lt_curr, max);
        let total = self.num_poc_st_curr_before as u32
            + self.num_poc_st_curr_after as u32
            + self.num_poc_lt_curr as u32;
        r.rule(
            total <= DPB_ENTRIES_NUM_MAX as u32,
            "num_poc_st_curr_before + num_poc_st_curr_after + num_poc_lt_curr",
            total,
            format!("<= {DPB_ENTRIES_NUM_MAX}"),
        );
        // RPS entries index the active DPB entries.
        let active = self.num_active_dpb_entries.min(max);
        for (name, list, n) in [
            (
                "poc_st_curr_before",
                &self.poc_st_curr_before,
                self.num_poc_st_curr_before,
            ),
            (
                "poc_st_curr_after",
                &self.poc_st_curr_after,
                self.num_poc_st_curr_after,
            ),
            ("poc_lt_curr", &self.poc_lt_curr, self.num_poc_lt_curr),
        ] {
            for (i, &idx) in list.iter().take(n as usize).enumerate() {
                r.rule(
                    idx < active,
                    format!("{name}[{i}]"),
                    idx,
                    format!("< num_active_dpb_entries = {active}"),
                );
            }
        }
        r.rule(
            !self.flags.contains(DecodeFlags::IDR_PIC)
                || self.flags.contains(DecodeFlags::IRAP_PIC),
            "flags",
            format!("{:?}", self.flags),
            "IDR_PIC implies IRAP_PIC",
        );
    }
}

/// `struct v4l2_ctrl_hevc_scaling_matrix` (lists in coded, up-right
/// diagonal order; 32x32 has the two luma lists).
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
    #[serde(
        serialize_with = "sh::ser_ints::<u8, 64, _, _>",
        deserialize_with = "sh::de_ints::<u8, _, _>"
    )]
    pub scaling_list_16x16: [[u8; 64]; 6],
    #[serde(
        serialize_with = "sh::ser_ints::<u8, 64, _, _>",
        deserialize_with = "sh::de_ints::<u8, _, _>"
    )]
    pub scaling_list_32x32: [[u8; 64]; 2],
    pub scaling_list_dc_coef_16x16: [u8; 6],
    pub scaling_list_dc_coef_32x32: [u8; 2],
}

/// (x, y) of each position of the up-right diagonal scan of a `blk` x `blk`
/// block (H.265 6.5.3): the order scaling lists are coded in, where the
/// control holds them in raster order.
pub fn diag_scan(blk: usize) -> Vec<(usize, usize)> {
    let mut out = Vec::with_capacity(blk * blk);
    let (mut x, mut y) = (0i64, 0i64);
    while out.len() < blk * blk {
        while y >= 0 {
            if (x as usize) < blk && (y as usize) < blk {
                out.push((x as usize, y as usize));
            }
            y -= 1;
            x += 1;
        }
        y = x;
        x = 0;
    }
    out
}

impl ScalingMatrix {
    /// The flat matrix (all 16).
    pub const FLAT: Self = Self {
        scaling_list_4x4: [[16; 16]; 6],
        scaling_list_8x8: [[16; 64]; 6],
        scaling_list_16x16: [[16; 64]; 6],
        scaling_list_32x32: [[16; 64]; 2],
        scaling_list_dc_coef_16x16: [16; 6],
        scaling_list_dc_coef_32x32: [16; 2],
    };
}

impl Control for ScalingMatrix {
    const ID: u32 = CID_SCALING_MATRIX;
    const NAME: &'static str = "HEVC_SCALING_MATRIX";

    fn check(&self) -> Result<(), CtrlError> {
        Ok(())
    }

    /// H.265 7.4.5: coefficients (and DC values) are 1..=255. An all-zero
    /// payload is the kernel's initial value of this control (sent when the
    /// stream has no scaling lists) and is accepted as "unset".
    fn violations(&self, out: &mut Vec<Violation>) {
        if self.as_bytes().iter().all(|&b| b == 0) {
            return;
        }
        let mut r = Rules::new(Self::NAME, out);
        let lists: [(&str, &[u8]); 6] = [
            ("scaling_list_4x4", self.scaling_list_4x4.as_flattened()),
            ("scaling_list_8x8", self.scaling_list_8x8.as_flattened()),
            ("scaling_list_16x16", self.scaling_list_16x16.as_flattened()),
            ("scaling_list_32x32", self.scaling_list_32x32.as_flattened()),
            (
                "scaling_list_dc_coef_16x16",
                &self.scaling_list_dc_coef_16x16,
            ),
            (
                "scaling_list_dc_coef_32x32",
                &self.scaling_list_dc_coef_32x32,
            ),
        ];
        for (name, vals) in lists {
            for (i, &v) in vals.iter().enumerate() {
                r.range(format!("{name}[{i}]"), v, 1, 255);
            }
        }
    }
}

/// One element of `V4L2_CID_STATELESS_HEVC_ENTRY_POINT_OFFSETS` (a `u32`
/// array control, `num_entry_point_offsets` long per slice).
#[repr(transparent)]
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
#[serde(transparent)]
pub struct EntryPointOffset(pub u32);

impl Control for EntryPointOffset {
    const ID: u32 = CID_ENTRY_POINT_OFFSETS;
    const NAME: &'static str = "HEVC_ENTRY_POINT_OFFSETS";

    fn check(&self) -> Result<(), CtrlError> {
        Ok(())
    }

    /// Any 32-bit offset is representable (offset_len_minus1 <= 31).
    fn violations(&self, _out: &mut Vec<Violation>) {}
}

crate::ctrl_flags! {
    /// `V4L2_HEVC_EXT_SPS_ST_RPS_FLAG_*`.
    pub struct ExtSpsStRpsFlags(u16) {
        const INTER_REF_PIC_SET_PRED = 1 << 0;
    }
}

/// `struct v4l2_ctrl_hevc_ext_sps_st_rps` (Linux 7.0+): one short-term RPS of
/// the SPS, st_ref_pic_set(i) of H.265 7.3.7 as coded.
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
pub struct ExtSpsStRps {
    pub delta_idx_minus1: u8,
    pub delta_rps_sign: u8,
    pub num_negative_pics: u8,
    pub num_positive_pics: u8,
    /// Bit j: used_by_curr_pic_flag[j] (inter RPS prediction) or
    /// used_by_curr_pic_s0/s1 (negative entries first).
    pub used_by_curr_pic: u32,
    /// Bit j: use_delta_flag[j] (inter RPS prediction).
    pub use_delta_flag: u32,
    pub abs_delta_rps_minus1: u16,
    pub delta_poc_s0_minus1: [u16; 16],
    pub delta_poc_s1_minus1: [u16; 16],
    pub flags: ExtSpsStRpsFlags,
}

impl Control for ExtSpsStRps {
    const ID: u32 = CID_EXT_SPS_ST_RPS;
    const NAME: &'static str = "HEVC_EXT_SPS_ST_RPS";

    fn check(&self) -> Result<(), CtrlError> {
        self.flags.check(Self::NAME, "flags")
    }

    /// H.265 7.4.8: delta_rps_sign is a flag, abs_delta_rps_minus1 <= 2^15 - 1;
    /// an explicit set has at most 16 entries (sps_max_dec_pic_buffering_minus1
    /// <= 15) with deltas <= 2^15 - 1.
    fn violations(&self, out: &mut Vec<Violation>) {
        let mut r = Rules::new(Self::NAME, out);
        r.max("delta_rps_sign", self.delta_rps_sign, 1);
        r.max("abs_delta_rps_minus1", self.abs_delta_rps_minus1, 0x7fff);
        if self
            .flags
            .contains(ExtSpsStRpsFlags::INTER_REF_PIC_SET_PRED)
        {
            return;
        }
        r.max("num_negative_pics", self.num_negative_pics, 16);
        r.max("num_positive_pics", self.num_positive_pics, 16);
        r.max(
            "num_negative_pics + num_positive_pics",
            self.num_negative_pics
                .saturating_add(self.num_positive_pics),
            16,
        );
        let lists = [
            (
                "delta_poc_s0_minus1",
                &self.delta_poc_s0_minus1,
                self.num_negative_pics,
            ),
            (
                "delta_poc_s1_minus1",
                &self.delta_poc_s1_minus1,
                self.num_positive_pics,
            ),
        ];
        for (name, list, n) in lists {
            for (i, &d) in list.iter().take(n as usize).enumerate() {
                r.max(format!("{name}[{i}]"), d, 0x7fff);
            }
        }
    }
}

crate::ctrl_flags! {
    /// `V4L2_HEVC_EXT_SPS_LT_RPS_FLAG_*`.
    pub struct ExtSpsLtRpsFlags(u16) {
        const USED_LT = 1 << 0;
    }
}

/// `struct v4l2_ctrl_hevc_ext_sps_lt_rps` (Linux 7.0+): one long-term
/// candidate of the SPS (lt_ref_pic_poc_lsb_sps[i], used_by_curr_pic_lt_sps_flag[i]).
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
pub struct ExtSpsLtRps {
    pub lt_ref_pic_poc_lsb_sps: u16,
    pub flags: ExtSpsLtRpsFlags,
}

impl Control for ExtSpsLtRps {
    const ID: u32 = CID_EXT_SPS_LT_RPS;
    const NAME: &'static str = "HEVC_EXT_SPS_LT_RPS";

    fn check(&self) -> Result<(), CtrlError> {
        self.flags.check(Self::NAME, "flags")
    }

    /// lt_ref_pic_poc_lsb_sps is u(v) of log2_max_pic_order_cnt_lsb bits
    /// (at most 16): any u16; its width is checked against the SPS by the engine.
    fn violations(&self, _out: &mut Vec<Violation>) {}
}

/// The current values of every HEVC stateless control of a request.
#[derive(Debug, Clone)]
pub struct HevcControls {
    pub sps: Sps,
    pub pps: Pps,
    pub scaling_matrix: ScalingMatrix,
    pub decode_params: DecodeParams,
    /// SLICE_PARAMS: every slice segment of the request (frame-based mode),
    /// or the one it carries (slice-based mode).
    pub slice_params: Vec<SliceParams>,
    /// ENTRY_POINT_OFFSETS of all those slices in turn (may be absent).
    pub entry_point_offsets: Vec<u32>,
    pub decode_mode: DecodeMode,
    pub start_code: StartCode,
    /// EXT_SPS_ST_RPS / EXT_SPS_LT_RPS (Linux 7.0+): the SPS's RPS tables,
    /// empty when the client did not set them (always on 6.12).
    pub ext_sps_st_rps: Vec<ExtSpsStRps>,
    pub ext_sps_lt_rps: Vec<ExtSpsLtRps>,
}

impl HevcControls {
    /// A picture decoding can start at: it references nothing decoded before
    /// it (an IRAP picture; FFmpeg drops the RASL pictures of a CRA it starts at). An engine that lost its state waits for one.
    pub fn random_access(&self) -> bool {
        self.decode_params.flags.contains(DecodeFlags::IRAP_PIC)
    }

    /// The set from a request's control list. DECODE_MODE and START_CODE
    /// default to frame-based Annex B when absent; SCALING_MATRIX to flat.
    pub fn from_controls(c: &crate::set::Controls<'_>) -> Result<Self, crate::set::SetError> {
        let decode_mode =
            c.menu_enum(CID_DECODE_MODE, "HEVC_DECODE_MODE", DecodeMode::FrameBased)?;
        let start_code = c.menu_enum(CID_START_CODE, "HEVC_START_CODE", StartCode::AnnexB)?;
        let entry: Vec<EntryPointOffset> = c.array()?;
        Ok(HevcControls {
            sps: c.get()?,
            pps: c.get()?,
            scaling_matrix: c.opt()?.unwrap_or(ScalingMatrix::FLAT),
            decode_params: c.get()?,
            slice_params: c.array()?,
            entry_point_offsets: entry.into_iter().map(|e| e.0).collect(),
            decode_mode,
            start_code,
            ext_sps_st_rps: c.array()?,
            ext_sps_lt_rps: c.array()?,
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
        if !self.entry_point_offsets.is_empty() {
            let e: Vec<EntryPointOffset> = self
                .entry_point_offsets
                .iter()
                .map(|&o| EntryPointOffset(o))
                .collect();
            v.push(Payload::of_array(&e));
        }
        if !self.ext_sps_st_rps.is_empty() {
            v.push(Payload::of_array(&self.ext_sps_st_rps));
        }
        if !self.ext_sps_lt_rps.is_empty() {
            v.push(Payload::of_array(&self.ext_sps_lt_rps));
        }
        v
    }
}
