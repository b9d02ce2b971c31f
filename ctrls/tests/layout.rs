//! Our payload layouts and constants equal the kernel's, as bindgen sees
//! /usr/include/linux (6.12) through v4l2r's bindings.

use core::mem::{align_of, offset_of, size_of};
use ctrls::Control;
use v4l2r::bindings as b;

fn field_size<T, F>(_: fn(&T) -> &F) -> usize {
    size_of::<F>()
}

/// Size, alignment, every listed field's offset and size; the listed fields'
/// sizes must add up to the struct size (so no field is left out: our
/// structs have no implicit padding, zerocopy's IntoBytes guarantees it).
macro_rules! layout {
    ($ours:ty, $theirs:ty, [$($f:ident),* $(,)?]) => {{
        let name = stringify!($ours);
        assert_eq!(size_of::<$ours>(), size_of::<$theirs>(), "size of {name}");
        assert_eq!(align_of::<$ours>(), align_of::<$theirs>(), "align of {name}");
        let mut total = 0usize;
        $(
            assert_eq!(
                offset_of!($ours, $f),
                offset_of!($theirs, $f),
                "offset of {name}.{}", stringify!($f)
            );
            let ours = field_size(|s: &$ours| &s.$f);
            assert_eq!(
                ours,
                field_size(|s: &$theirs| &s.$f),
                "size of {name}.{}", stringify!($f)
            );
            total += ours;
        )*
        assert_eq!(total, size_of::<$ours>(), "fields of {name} do not cover the struct");
    }};
}

/// Each pair equal, as u64 (our constants use the field's width).
macro_rules! consts {
    ($($ours:expr => $theirs:expr),* $(,)?) => {{
        $(
            assert_eq!(
                ($ours) as u64,
                ($theirs) as u64,
                "{} != {}", stringify!($ours), stringify!($theirs)
            );
        )*
    }};
}

mod h264 {
    use super::*;
    use ctrls::h264::*;

    #[test]
    fn structs() {
        layout!(
            Sps,
            b::v4l2_ctrl_h264_sps,
            [
                profile_idc,
                constraint_set_flags,
                level_idc,
                seq_parameter_set_id,
                chroma_format_idc,
                bit_depth_luma_minus8,
                bit_depth_chroma_minus8,
                log2_max_frame_num_minus4,
                pic_order_cnt_type,
                log2_max_pic_order_cnt_lsb_minus4,
                max_num_ref_frames,
                num_ref_frames_in_pic_order_cnt_cycle,
                offset_for_ref_frame,
                offset_for_non_ref_pic,
                offset_for_top_to_bottom_field,
                pic_width_in_mbs_minus1,
                pic_height_in_map_units_minus1,
                flags,
            ]
        );
        layout!(
            Pps,
            b::v4l2_ctrl_h264_pps,
            [
                pic_parameter_set_id,
                seq_parameter_set_id,
                num_slice_groups_minus1,
                num_ref_idx_l0_default_active_minus1,
                num_ref_idx_l1_default_active_minus1,
                weighted_bipred_idc,
                pic_init_qp_minus26,
                pic_init_qs_minus26,
                chroma_qp_index_offset,
                second_chroma_qp_index_offset,
                flags,
            ]
        );
        layout!(
            ScalingMatrix,
            b::v4l2_ctrl_h264_scaling_matrix,
            [scaling_list_4x4, scaling_list_8x8,]
        );
        layout!(
            WeightFactors,
            b::v4l2_h264_weight_factors,
            [luma_weight, luma_offset, chroma_weight, chroma_offset,]
        );
        layout!(
            PredWeights,
            b::v4l2_ctrl_h264_pred_weights,
            [
                luma_log2_weight_denom,
                chroma_log2_weight_denom,
                weight_factors,
            ]
        );
        layout!(Reference, b::v4l2_h264_reference, [fields, index]);
        layout!(
            SliceParams,
            b::v4l2_ctrl_h264_slice_params,
            [
                header_bit_size,
                first_mb_in_slice,
                slice_type,
                colour_plane_id,
                redundant_pic_cnt,
                cabac_init_idc,
                slice_qp_delta,
                slice_qs_delta,
                disable_deblocking_filter_idc,
                slice_alpha_c0_offset_div2,
                slice_beta_offset_div2,
                num_ref_idx_l0_active_minus1,
                num_ref_idx_l1_active_minus1,
                reserved,
                ref_pic_list0,
                ref_pic_list1,
                flags,
            ]
        );
        layout!(
            DpbEntry,
            b::v4l2_h264_dpb_entry,
            [
                reference_ts,
                pic_num,
                frame_num,
                fields,
                reserved,
                top_field_order_cnt,
                bottom_field_order_cnt,
                flags,
            ]
        );
        layout!(
            DecodeParams,
            b::v4l2_ctrl_h264_decode_params,
            [
                dpb,
                nal_ref_idc,
                frame_num,
                top_field_order_cnt,
                bottom_field_order_cnt,
                idr_pic_id,
                pic_order_cnt_lsb,
                delta_pic_order_cnt_bottom,
                delta_pic_order_cnt0,
                delta_pic_order_cnt1,
                dec_ref_pic_marking_bit_size,
                pic_order_cnt_bit_size,
                slice_group_change_cycle,
                reserved,
                flags,
            ]
        );
        assert_eq!(size_of::<DecodeModeCtrl>(), size_of::<i32>());
        assert_eq!(size_of::<StartCodeCtrl>(), size_of::<i32>());
    }

    #[test]
    fn constants() {
        consts! {
            CID_STATELESS_BASE => b::V4L2_CID_CODEC_STATELESS_BASE,
            CID_DECODE_MODE => b::V4L2_CID_STATELESS_H264_DECODE_MODE,
            CID_START_CODE => b::V4L2_CID_STATELESS_H264_START_CODE,
            DecodeModeCtrl::ID => b::V4L2_CID_STATELESS_H264_DECODE_MODE,
            StartCodeCtrl::ID => b::V4L2_CID_STATELESS_H264_START_CODE,
            Sps::ID => b::V4L2_CID_STATELESS_H264_SPS,
            Pps::ID => b::V4L2_CID_STATELESS_H264_PPS,
            ScalingMatrix::ID => b::V4L2_CID_STATELESS_H264_SCALING_MATRIX,
            PredWeights::ID => b::V4L2_CID_STATELESS_H264_PRED_WEIGHTS,
            SliceParams::ID => b::V4L2_CID_STATELESS_H264_SLICE_PARAMS,
            DecodeParams::ID => b::V4L2_CID_STATELESS_H264_DECODE_PARAMS,
            NUM_DPB_ENTRIES => b::V4L2_H264_NUM_DPB_ENTRIES,
            REF_LIST_LEN => b::V4L2_H264_REF_LIST_LEN,
            DecodeMode::SliceBased =>
                b::v4l2_stateless_h264_decode_mode_V4L2_STATELESS_H264_DECODE_MODE_SLICE_BASED,
            DecodeMode::FrameBased =>
                b::v4l2_stateless_h264_decode_mode_V4L2_STATELESS_H264_DECODE_MODE_FRAME_BASED,
            StartCode::None => b::v4l2_stateless_h264_start_code_V4L2_STATELESS_H264_START_CODE_NONE,
            StartCode::AnnexB =>
                b::v4l2_stateless_h264_start_code_V4L2_STATELESS_H264_START_CODE_ANNEX_B,
            SLICE_TYPE_P => b::V4L2_H264_SLICE_TYPE_P,
            SLICE_TYPE_B => b::V4L2_H264_SLICE_TYPE_B,
            SLICE_TYPE_I => b::V4L2_H264_SLICE_TYPE_I,
            SLICE_TYPE_SP => b::V4L2_H264_SLICE_TYPE_SP,
            SLICE_TYPE_SI => b::V4L2_H264_SLICE_TYPE_SI,
            SliceType::P => b::V4L2_H264_SLICE_TYPE_P,
            SliceType::B => b::V4L2_H264_SLICE_TYPE_B,
            SliceType::I => b::V4L2_H264_SLICE_TYPE_I,
            SliceType::Sp => b::V4L2_H264_SLICE_TYPE_SP,
            SliceType::Si => b::V4L2_H264_SLICE_TYPE_SI,
            TOP_FIELD_REF => b::V4L2_H264_TOP_FIELD_REF,
            BOTTOM_FIELD_REF => b::V4L2_H264_BOTTOM_FIELD_REF,
            FRAME_REF => b::V4L2_H264_FRAME_REF,
            Fields::TOP_FIELD.bits() => b::V4L2_H264_TOP_FIELD_REF,
            Fields::BOTTOM_FIELD.bits() => b::V4L2_H264_BOTTOM_FIELD_REF,
            Fields::FRAME.bits() => b::V4L2_H264_FRAME_REF,
            ConstraintSetFlags::SET0.bits() => b::V4L2_H264_SPS_CONSTRAINT_SET0_FLAG,
            ConstraintSetFlags::SET1.bits() => b::V4L2_H264_SPS_CONSTRAINT_SET1_FLAG,
            ConstraintSetFlags::SET2.bits() => b::V4L2_H264_SPS_CONSTRAINT_SET2_FLAG,
            ConstraintSetFlags::SET3.bits() => b::V4L2_H264_SPS_CONSTRAINT_SET3_FLAG,
            ConstraintSetFlags::SET4.bits() => b::V4L2_H264_SPS_CONSTRAINT_SET4_FLAG,
            ConstraintSetFlags::SET5.bits() => b::V4L2_H264_SPS_CONSTRAINT_SET5_FLAG,
            SpsFlags::SEPARATE_COLOUR_PLANE.bits() => b::V4L2_H264_SPS_FLAG_SEPARATE_COLOUR_PLANE,
            SpsFlags::QPPRIME_Y_ZERO_TRANSFORM_BYPASS.bits() =>
                b::V4L2_H264_SPS_FLAG_QPPRIME_Y_ZERO_TRANSFORM_BYPASS,
            SpsFlags::DELTA_PIC_ORDER_ALWAYS_ZERO.bits() =>
                b::V4L2_H264_SPS_FLAG_DELTA_PIC_ORDER_ALWAYS_ZERO,
            SpsFlags::GAPS_IN_FRAME_NUM_VALUE_ALLOWED.bits() =>
                b::V4L2_H264_SPS_FLAG_GAPS_IN_FRAME_NUM_VALUE_ALLOWED,
            SpsFlags::FRAME_MBS_ONLY.bits() => b::V4L2_H264_SPS_FLAG_FRAME_MBS_ONLY,
            SpsFlags::MB_ADAPTIVE_FRAME_FIELD.bits() => b::V4L2_H264_SPS_FLAG_MB_ADAPTIVE_FRAME_FIELD,
            SpsFlags::DIRECT_8X8_INFERENCE.bits() => b::V4L2_H264_SPS_FLAG_DIRECT_8X8_INFERENCE,
            PpsFlags::ENTROPY_CODING_MODE.bits() => b::V4L2_H264_PPS_FLAG_ENTROPY_CODING_MODE,
            PpsFlags::BOTTOM_FIELD_PIC_ORDER_IN_FRAME_PRESENT.bits() =>
                b::V4L2_H264_PPS_FLAG_BOTTOM_FIELD_PIC_ORDER_IN_FRAME_PRESENT,
            PpsFlags::WEIGHTED_PRED.bits() => b::V4L2_H264_PPS_FLAG_WEIGHTED_PRED,
            PpsFlags::DEBLOCKING_FILTER_CONTROL_PRESENT.bits() =>
                b::V4L2_H264_PPS_FLAG_DEBLOCKING_FILTER_CONTROL_PRESENT,
            PpsFlags::CONSTRAINED_INTRA_PRED.bits() => b::V4L2_H264_PPS_FLAG_CONSTRAINED_INTRA_PRED,
            PpsFlags::REDUNDANT_PIC_CNT_PRESENT.bits() =>
                b::V4L2_H264_PPS_FLAG_REDUNDANT_PIC_CNT_PRESENT,
            PpsFlags::TRANSFORM_8X8_MODE.bits() => b::V4L2_H264_PPS_FLAG_TRANSFORM_8X8_MODE,
            PpsFlags::SCALING_MATRIX_PRESENT.bits() => b::V4L2_H264_PPS_FLAG_SCALING_MATRIX_PRESENT,
            SliceFlags::DIRECT_SPATIAL_MV_PRED.bits() =>
                b::V4L2_H264_SLICE_FLAG_DIRECT_SPATIAL_MV_PRED,
            SliceFlags::SP_FOR_SWITCH.bits() => b::V4L2_H264_SLICE_FLAG_SP_FOR_SWITCH,
            DpbEntryFlags::VALID.bits() => b::V4L2_H264_DPB_ENTRY_FLAG_VALID,
            DpbEntryFlags::ACTIVE.bits() => b::V4L2_H264_DPB_ENTRY_FLAG_ACTIVE,
            DpbEntryFlags::LONG_TERM.bits() => b::V4L2_H264_DPB_ENTRY_FLAG_LONG_TERM,
            DpbEntryFlags::FIELD.bits() => b::V4L2_H264_DPB_ENTRY_FLAG_FIELD,
            DecodeFlags::IDR_PIC.bits() => b::V4L2_H264_DECODE_PARAM_FLAG_IDR_PIC,
            DecodeFlags::FIELD_PIC.bits() => b::V4L2_H264_DECODE_PARAM_FLAG_FIELD_PIC,
            DecodeFlags::BOTTOM_FIELD.bits() => b::V4L2_H264_DECODE_PARAM_FLAG_BOTTOM_FIELD,
            DecodeFlags::PFRAME.bits() => b::V4L2_H264_DECODE_PARAM_FLAG_PFRAME,
            DecodeFlags::BFRAME.bits() => b::V4L2_H264_DECODE_PARAM_FLAG_BFRAME,
        }
        // Every defined flag is one of the UAPI's (all() = OR of those checked above).
        consts! {
            ConstraintSetFlags::all().bits() => 0x3f,
            SpsFlags::all().bits() => 0x7f,
            PpsFlags::all().bits() => 0xff,
            SliceFlags::all().bits() => 0x3,
            DpbEntryFlags::all().bits() => 0xf,
            DecodeFlags::all().bits() => 0x1f,
            Fields::all().bits() => 0x3,
        }
    }
}
