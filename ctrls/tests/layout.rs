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
    ($ours:ty, $theirs:ty, [$($f:ident),* $(,)?] $(, renamed [$($of:ident => $tf:ident),* $(,)?])?) => {{
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
        $($(
            assert_eq!(
                offset_of!($ours, $of),
                offset_of!($theirs, $tf),
                "offset of {name}.{}", stringify!($of)
            );
            let ours = field_size(|s: &$ours| &s.$of);
            assert_eq!(
                ours,
                field_size(|s: &$theirs| &s.$tf),
                "size of {name}.{}", stringify!($of)
            );
            total += ours;
        )*)?
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

mod vp9 {
    use super::*;
    use ctrls::vp9::*;

    #[test]
    fn structs() {
        layout!(
            LoopFilter,
            b::v4l2_vp9_loop_filter,
            [ref_deltas, mode_deltas, level, sharpness, flags, reserved,]
        );
        layout!(
            Quantization,
            b::v4l2_vp9_quantization,
            [
                base_q_idx,
                delta_q_y_dc,
                delta_q_uv_dc,
                delta_q_uv_ac,
                reserved,
            ]
        );
        layout!(
            Segmentation,
            b::v4l2_vp9_segmentation,
            [
                feature_data,
                feature_enabled,
                tree_probs,
                pred_probs,
                flags,
                reserved,
            ]
        );
        layout!(
            Frame,
            b::v4l2_ctrl_vp9_frame,
            [
                lf,
                quant,
                seg,
                flags,
                compressed_header_size,
                uncompressed_header_size,
                frame_width_minus_1,
                frame_height_minus_1,
                render_width_minus_1,
                render_height_minus_1,
                last_frame_ts,
                golden_frame_ts,
                alt_frame_ts,
                ref_frame_sign_bias,
                reset_frame_context,
                frame_context_idx,
                profile,
                bit_depth,
                interpolation_filter,
                tile_cols_log2,
                tile_rows_log2,
                reference_mode,
                reserved,
            ]
        );
        layout!(
            MvProbs,
            b::v4l2_vp9_mv_probs,
            [joint, sign, classes, class0_bit, bits, class0_fr, fr, class0_hp, hp,]
        );
        layout!(
            CompressedHdr,
            b::v4l2_ctrl_vp9_compressed_hdr,
            [
                tx_mode,
                tx8,
                tx16,
                tx32,
                coef,
                skip,
                inter_mode,
                interp_filter,
                is_inter,
                comp_mode,
                single_ref,
                comp_ref,
                y_mode,
                uv_mode,
                partition,
                mv,
            ]
        );
    }

    #[test]
    fn constants() {
        consts! {
            Frame::ID => b::V4L2_CID_STATELESS_VP9_FRAME,
            CompressedHdr::ID => b::V4L2_CID_STATELESS_VP9_COMPRESSED_HDR,
            CID_FRAME => b::V4L2_CID_STATELESS_VP9_FRAME,
            CID_COMPRESSED_HDR => b::V4L2_CID_STATELESS_VP9_COMPRESSED_HDR,
            NUM_FRAME_CTX => b::V4L2_VP9_NUM_FRAME_CTX,
            PROFILE_MAX => b::V4L2_VP9_PROFILE_MAX,
            SEG_LVL_ALT_Q => b::V4L2_VP9_SEG_LVL_ALT_Q,
            SEG_LVL_ALT_L => b::V4L2_VP9_SEG_LVL_ALT_L,
            SEG_LVL_REF_FRAME => b::V4L2_VP9_SEG_LVL_REF_FRAME,
            SEG_LVL_SKIP => b::V4L2_VP9_SEG_LVL_SKIP,
            SEG_LVL_MAX => b::V4L2_VP9_SEG_LVL_MAX,
            SEGMENT_FEATURE_ENABLED_MASK => b::V4L2_VP9_SEGMENT_FEATURE_ENABLED_MASK,
            SegmentFeatures::ALT_Q.bits() => 1u32 << b::V4L2_VP9_SEG_LVL_ALT_Q,
            SegmentFeatures::ALT_L.bits() => 1u32 << b::V4L2_VP9_SEG_LVL_ALT_L,
            SegmentFeatures::REF_FRAME.bits() => 1u32 << b::V4L2_VP9_SEG_LVL_REF_FRAME,
            SegmentFeatures::SKIP.bits() => 1u32 << b::V4L2_VP9_SEG_LVL_SKIP,
            SegmentFeatures::all().bits() => b::V4L2_VP9_SEGMENT_FEATURE_ENABLED_MASK,
            LoopFilterFlags::DELTA_ENABLED.bits() => b::V4L2_VP9_LOOP_FILTER_FLAG_DELTA_ENABLED,
            LoopFilterFlags::DELTA_UPDATE.bits() => b::V4L2_VP9_LOOP_FILTER_FLAG_DELTA_UPDATE,
            SegmentationFlags::ENABLED.bits() => b::V4L2_VP9_SEGMENTATION_FLAG_ENABLED,
            SegmentationFlags::UPDATE_MAP.bits() => b::V4L2_VP9_SEGMENTATION_FLAG_UPDATE_MAP,
            SegmentationFlags::TEMPORAL_UPDATE.bits() => b::V4L2_VP9_SEGMENTATION_FLAG_TEMPORAL_UPDATE,
            SegmentationFlags::UPDATE_DATA.bits() => b::V4L2_VP9_SEGMENTATION_FLAG_UPDATE_DATA,
            SegmentationFlags::ABS_OR_DELTA_UPDATE.bits() => b::V4L2_VP9_SEGMENTATION_FLAG_ABS_OR_DELTA_UPDATE,
            FrameFlags::KEY_FRAME.bits() => b::V4L2_VP9_FRAME_FLAG_KEY_FRAME,
            FrameFlags::SHOW_FRAME.bits() => b::V4L2_VP9_FRAME_FLAG_SHOW_FRAME,
            FrameFlags::ERROR_RESILIENT.bits() => b::V4L2_VP9_FRAME_FLAG_ERROR_RESILIENT,
            FrameFlags::INTRA_ONLY.bits() => b::V4L2_VP9_FRAME_FLAG_INTRA_ONLY,
            FrameFlags::ALLOW_HIGH_PREC_MV.bits() => b::V4L2_VP9_FRAME_FLAG_ALLOW_HIGH_PREC_MV,
            FrameFlags::REFRESH_FRAME_CTX.bits() => b::V4L2_VP9_FRAME_FLAG_REFRESH_FRAME_CTX,
            FrameFlags::PARALLEL_DEC_MODE.bits() => b::V4L2_VP9_FRAME_FLAG_PARALLEL_DEC_MODE,
            FrameFlags::X_SUBSAMPLING.bits() => b::V4L2_VP9_FRAME_FLAG_X_SUBSAMPLING,
            FrameFlags::Y_SUBSAMPLING.bits() => b::V4L2_VP9_FRAME_FLAG_Y_SUBSAMPLING,
            FrameFlags::COLOR_RANGE_FULL_SWING.bits() => b::V4L2_VP9_FRAME_FLAG_COLOR_RANGE_FULL_SWING,
            SignBias::LAST.bits() => b::V4L2_VP9_SIGN_BIAS_LAST,
            SignBias::GOLDEN.bits() => b::V4L2_VP9_SIGN_BIAS_GOLDEN,
            SignBias::ALT.bits() => b::V4L2_VP9_SIGN_BIAS_ALT,
            ResetFrameContext::None => b::V4L2_VP9_RESET_FRAME_CTX_NONE,
            ResetFrameContext::Spec => b::V4L2_VP9_RESET_FRAME_CTX_SPEC,
            ResetFrameContext::All => b::V4L2_VP9_RESET_FRAME_CTX_ALL,
            InterpFilter::EightTap => b::V4L2_VP9_INTERP_FILTER_EIGHTTAP,
            InterpFilter::EightTapSmooth => b::V4L2_VP9_INTERP_FILTER_EIGHTTAP_SMOOTH,
            InterpFilter::EightTapSharp => b::V4L2_VP9_INTERP_FILTER_EIGHTTAP_SHARP,
            InterpFilter::Bilinear => b::V4L2_VP9_INTERP_FILTER_BILINEAR,
            InterpFilter::Switchable => b::V4L2_VP9_INTERP_FILTER_SWITCHABLE,
            ReferenceMode::SingleReference => b::V4L2_VP9_REFERENCE_MODE_SINGLE_REFERENCE,
            ReferenceMode::CompoundReference => b::V4L2_VP9_REFERENCE_MODE_COMPOUND_REFERENCE,
            ReferenceMode::Select => b::V4L2_VP9_REFERENCE_MODE_SELECT,
            TxMode::Only4x4 => b::V4L2_VP9_TX_MODE_ONLY_4X4,
            TxMode::Allow8x8 => b::V4L2_VP9_TX_MODE_ALLOW_8X8,
            TxMode::Allow16x16 => b::V4L2_VP9_TX_MODE_ALLOW_16X16,
            TxMode::Allow32x32 => b::V4L2_VP9_TX_MODE_ALLOW_32X32,
            TxMode::Select => b::V4L2_VP9_TX_MODE_SELECT,
        }
    }
}

mod av1 {
    use super::*;
    use ctrls::av1::*;

    #[test]
    fn structs() {
        layout!(
            Sequence,
            b::v4l2_ctrl_av1_sequence,
            [
                flags,
                seq_profile,
                order_hint_bits,
                bit_depth,
                reserved,
                max_frame_width_minus_1,
                max_frame_height_minus_1,
            ]
        );
        layout!(
            TileGroupEntry,
            b::v4l2_ctrl_av1_tile_group_entry,
            [tile_offset, tile_size, tile_row, tile_col,]
        );
        layout!(GlobalMotion, b::v4l2_av1_global_motion, [flags, params, invalid, reserved],
            renamed [r#type => type_]);
        layout!(
            LoopRestoration,
            b::v4l2_av1_loop_restoration,
            [
                flags,
                lr_unit_shift,
                lr_uv_shift,
                reserved,
                frame_restoration_type,
                loop_restoration_size,
            ]
        );
        layout!(
            Cdef,
            b::v4l2_av1_cdef,
            [
                damping_minus_3,
                bits,
                y_pri_strength,
                y_sec_strength,
                uv_pri_strength,
                uv_sec_strength,
            ]
        );
        layout!(
            Segmentation,
            b::v4l2_av1_segmentation,
            [flags, last_active_seg_id, feature_enabled, feature_data,]
        );
        layout!(
            LoopFilter,
            b::v4l2_av1_loop_filter,
            [
                flags,
                level,
                sharpness,
                ref_deltas,
                mode_deltas,
                delta_lf_res,
            ]
        );
        layout!(
            Quantization,
            b::v4l2_av1_quantization,
            [
                flags,
                base_q_idx,
                delta_q_y_dc,
                delta_q_u_dc,
                delta_q_u_ac,
                delta_q_v_dc,
                delta_q_v_ac,
                qm_y,
                qm_u,
                qm_v,
                delta_q_res,
            ]
        );
        layout!(
            TileInfo,
            b::v4l2_av1_tile_info,
            [
                flags,
                context_update_tile_id,
                tile_cols,
                tile_rows,
                mi_col_starts,
                mi_row_starts,
                width_in_sbs_minus_1,
                height_in_sbs_minus_1,
                tile_size_bytes,
                reserved,
            ]
        );
        layout!(
            Frame,
            b::v4l2_ctrl_av1_frame,
            [
                tile_info,
                quantization,
                superres_denom,
                segmentation,
                loop_filter,
                cdef,
                skip_mode_frame,
                primary_ref_frame,
                loop_restoration,
                global_motion,
                flags,
                frame_type,
                order_hint,
                upscaled_width,
                interpolation_filter,
                tx_mode,
                frame_width_minus_1,
                frame_height_minus_1,
                render_width_minus_1,
                render_height_minus_1,
                current_frame_id,
                buffer_removal_time,
                reserved,
                order_hints,
                reference_frame_ts,
                ref_frame_idx,
                refresh_frame_flags,
            ]
        );
        layout!(
            FilmGrain,
            b::v4l2_ctrl_av1_film_grain,
            [
                flags,
                cr_mult,
                grain_seed,
                film_grain_params_ref_idx,
                num_y_points,
                point_y_value,
                point_y_scaling,
                num_cb_points,
                point_cb_value,
                point_cb_scaling,
                num_cr_points,
                point_cr_value,
                point_cr_scaling,
                grain_scaling_minus_8,
                ar_coeff_lag,
                ar_coeffs_y_plus_128,
                ar_coeffs_cb_plus_128,
                ar_coeffs_cr_plus_128,
                ar_coeff_shift_minus_6,
                grain_scale_shift,
                cb_mult,
                cb_luma_mult,
                cr_luma_mult,
                cb_offset,
                cr_offset,
                reserved,
            ]
        );
    }

    #[test]
    fn constants() {
        consts! {
            Sequence::ID => b::V4L2_CID_STATELESS_AV1_SEQUENCE,
            TileGroupEntry::ID => b::V4L2_CID_STATELESS_AV1_TILE_GROUP_ENTRY,
            Frame::ID => b::V4L2_CID_STATELESS_AV1_FRAME,
            FilmGrain::ID => b::V4L2_CID_STATELESS_AV1_FILM_GRAIN,
            TOTAL_REFS_PER_FRAME => b::V4L2_AV1_TOTAL_REFS_PER_FRAME,
            CDEF_MAX => b::V4L2_AV1_CDEF_MAX,
            NUM_PLANES_MAX => b::V4L2_AV1_NUM_PLANES_MAX,
            MAX_SEGMENTS => b::V4L2_AV1_MAX_SEGMENTS,
            MAX_OPERATING_POINTS => b::V4L2_AV1_MAX_OPERATING_POINTS,
            REFS_PER_FRAME => b::V4L2_AV1_REFS_PER_FRAME,
            MAX_NUM_Y_POINTS => b::V4L2_AV1_MAX_NUM_Y_POINTS,
            MAX_NUM_CB_POINTS => b::V4L2_AV1_MAX_NUM_CB_POINTS,
            MAX_NUM_CR_POINTS => b::V4L2_AV1_MAX_NUM_CR_POINTS,
            AR_COEFFS_SIZE => b::V4L2_AV1_AR_COEFFS_SIZE,
            MAX_NUM_PLANES => b::V4L2_AV1_MAX_NUM_PLANES,
            MAX_TILE_COLS => b::V4L2_AV1_MAX_TILE_COLS,
            MAX_TILE_ROWS => b::V4L2_AV1_MAX_TILE_ROWS,
            MAX_TILE_COUNT => b::V4L2_AV1_MAX_TILE_COUNT,
            SEG_LVL_MAX => b::v4l2_av1_segment_feature_V4L2_AV1_SEG_LVL_MAX,
            SequenceFlags::STILL_PICTURE.bits() => b::V4L2_AV1_SEQUENCE_FLAG_STILL_PICTURE,
            SequenceFlags::USE_128X128_SUPERBLOCK.bits() => b::V4L2_AV1_SEQUENCE_FLAG_USE_128X128_SUPERBLOCK,
            SequenceFlags::ENABLE_FILTER_INTRA.bits() => b::V4L2_AV1_SEQUENCE_FLAG_ENABLE_FILTER_INTRA,
            SequenceFlags::ENABLE_INTRA_EDGE_FILTER.bits() => b::V4L2_AV1_SEQUENCE_FLAG_ENABLE_INTRA_EDGE_FILTER,
            SequenceFlags::ENABLE_INTERINTRA_COMPOUND.bits() => b::V4L2_AV1_SEQUENCE_FLAG_ENABLE_INTERINTRA_COMPOUND,
            SequenceFlags::ENABLE_MASKED_COMPOUND.bits() => b::V4L2_AV1_SEQUENCE_FLAG_ENABLE_MASKED_COMPOUND,
            SequenceFlags::ENABLE_WARPED_MOTION.bits() => b::V4L2_AV1_SEQUENCE_FLAG_ENABLE_WARPED_MOTION,
            SequenceFlags::ENABLE_DUAL_FILTER.bits() => b::V4L2_AV1_SEQUENCE_FLAG_ENABLE_DUAL_FILTER,
            SequenceFlags::ENABLE_ORDER_HINT.bits() => b::V4L2_AV1_SEQUENCE_FLAG_ENABLE_ORDER_HINT,
            SequenceFlags::ENABLE_JNT_COMP.bits() => b::V4L2_AV1_SEQUENCE_FLAG_ENABLE_JNT_COMP,
            SequenceFlags::ENABLE_REF_FRAME_MVS.bits() => b::V4L2_AV1_SEQUENCE_FLAG_ENABLE_REF_FRAME_MVS,
            SequenceFlags::ENABLE_SUPERRES.bits() => b::V4L2_AV1_SEQUENCE_FLAG_ENABLE_SUPERRES,
            SequenceFlags::ENABLE_CDEF.bits() => b::V4L2_AV1_SEQUENCE_FLAG_ENABLE_CDEF,
            SequenceFlags::ENABLE_RESTORATION.bits() => b::V4L2_AV1_SEQUENCE_FLAG_ENABLE_RESTORATION,
            SequenceFlags::MONO_CHROME.bits() => b::V4L2_AV1_SEQUENCE_FLAG_MONO_CHROME,
            SequenceFlags::COLOR_RANGE.bits() => b::V4L2_AV1_SEQUENCE_FLAG_COLOR_RANGE,
            SequenceFlags::SUBSAMPLING_X.bits() => b::V4L2_AV1_SEQUENCE_FLAG_SUBSAMPLING_X,
            SequenceFlags::SUBSAMPLING_Y.bits() => b::V4L2_AV1_SEQUENCE_FLAG_SUBSAMPLING_Y,
            SequenceFlags::FILM_GRAIN_PARAMS_PRESENT.bits() => b::V4L2_AV1_SEQUENCE_FLAG_FILM_GRAIN_PARAMS_PRESENT,
            SequenceFlags::SEPARATE_UV_DELTA_Q.bits() => b::V4L2_AV1_SEQUENCE_FLAG_SEPARATE_UV_DELTA_Q,
            GlobalMotionFlags::IS_GLOBAL.bits() => b::V4L2_AV1_GLOBAL_MOTION_FLAG_IS_GLOBAL,
            GlobalMotionFlags::IS_ROT_ZOOM.bits() => b::V4L2_AV1_GLOBAL_MOTION_FLAG_IS_ROT_ZOOM,
            GlobalMotionFlags::IS_TRANSLATION.bits() => b::V4L2_AV1_GLOBAL_MOTION_FLAG_IS_TRANSLATION,
            LoopRestorationFlags::USES_LR.bits() => b::V4L2_AV1_LOOP_RESTORATION_FLAG_USES_LR,
            LoopRestorationFlags::USES_CHROMA_LR.bits() => b::V4L2_AV1_LOOP_RESTORATION_FLAG_USES_CHROMA_LR,
            SegmentationFlags::ENABLED.bits() => b::V4L2_AV1_SEGMENTATION_FLAG_ENABLED,
            SegmentationFlags::UPDATE_MAP.bits() => b::V4L2_AV1_SEGMENTATION_FLAG_UPDATE_MAP,
            SegmentationFlags::TEMPORAL_UPDATE.bits() => b::V4L2_AV1_SEGMENTATION_FLAG_TEMPORAL_UPDATE,
            SegmentationFlags::UPDATE_DATA.bits() => b::V4L2_AV1_SEGMENTATION_FLAG_UPDATE_DATA,
            SegmentationFlags::SEG_ID_PRE_SKIP.bits() => b::V4L2_AV1_SEGMENTATION_FLAG_SEG_ID_PRE_SKIP,
            LoopFilterFlags::DELTA_ENABLED.bits() => b::V4L2_AV1_LOOP_FILTER_FLAG_DELTA_ENABLED,
            LoopFilterFlags::DELTA_UPDATE.bits() => b::V4L2_AV1_LOOP_FILTER_FLAG_DELTA_UPDATE,
            LoopFilterFlags::DELTA_LF_PRESENT.bits() => b::V4L2_AV1_LOOP_FILTER_FLAG_DELTA_LF_PRESENT,
            LoopFilterFlags::DELTA_LF_MULTI.bits() => b::V4L2_AV1_LOOP_FILTER_FLAG_DELTA_LF_MULTI,
            QuantizationFlags::DIFF_UV_DELTA.bits() => b::V4L2_AV1_QUANTIZATION_FLAG_DIFF_UV_DELTA,
            QuantizationFlags::USING_QMATRIX.bits() => b::V4L2_AV1_QUANTIZATION_FLAG_USING_QMATRIX,
            QuantizationFlags::DELTA_Q_PRESENT.bits() => b::V4L2_AV1_QUANTIZATION_FLAG_DELTA_Q_PRESENT,
            TileInfoFlags::UNIFORM_TILE_SPACING.bits() => b::V4L2_AV1_TILE_INFO_FLAG_UNIFORM_TILE_SPACING,
            FrameFlags::SHOW_FRAME.bits() => b::V4L2_AV1_FRAME_FLAG_SHOW_FRAME,
            FrameFlags::SHOWABLE_FRAME.bits() => b::V4L2_AV1_FRAME_FLAG_SHOWABLE_FRAME,
            FrameFlags::ERROR_RESILIENT_MODE.bits() => b::V4L2_AV1_FRAME_FLAG_ERROR_RESILIENT_MODE,
            FrameFlags::DISABLE_CDF_UPDATE.bits() => b::V4L2_AV1_FRAME_FLAG_DISABLE_CDF_UPDATE,
            FrameFlags::ALLOW_SCREEN_CONTENT_TOOLS.bits() => b::V4L2_AV1_FRAME_FLAG_ALLOW_SCREEN_CONTENT_TOOLS,
            FrameFlags::FORCE_INTEGER_MV.bits() => b::V4L2_AV1_FRAME_FLAG_FORCE_INTEGER_MV,
            FrameFlags::ALLOW_INTRABC.bits() => b::V4L2_AV1_FRAME_FLAG_ALLOW_INTRABC,
            FrameFlags::USE_SUPERRES.bits() => b::V4L2_AV1_FRAME_FLAG_USE_SUPERRES,
            FrameFlags::ALLOW_HIGH_PRECISION_MV.bits() => b::V4L2_AV1_FRAME_FLAG_ALLOW_HIGH_PRECISION_MV,
            FrameFlags::IS_MOTION_MODE_SWITCHABLE.bits() => b::V4L2_AV1_FRAME_FLAG_IS_MOTION_MODE_SWITCHABLE,
            FrameFlags::USE_REF_FRAME_MVS.bits() => b::V4L2_AV1_FRAME_FLAG_USE_REF_FRAME_MVS,
            FrameFlags::DISABLE_FRAME_END_UPDATE_CDF.bits() => b::V4L2_AV1_FRAME_FLAG_DISABLE_FRAME_END_UPDATE_CDF,
            FrameFlags::ALLOW_WARPED_MOTION.bits() => b::V4L2_AV1_FRAME_FLAG_ALLOW_WARPED_MOTION,
            FrameFlags::REFERENCE_SELECT.bits() => b::V4L2_AV1_FRAME_FLAG_REFERENCE_SELECT,
            FrameFlags::REDUCED_TX_SET.bits() => b::V4L2_AV1_FRAME_FLAG_REDUCED_TX_SET,
            FrameFlags::SKIP_MODE_ALLOWED.bits() => b::V4L2_AV1_FRAME_FLAG_SKIP_MODE_ALLOWED,
            FrameFlags::SKIP_MODE_PRESENT.bits() => b::V4L2_AV1_FRAME_FLAG_SKIP_MODE_PRESENT,
            FrameFlags::FRAME_SIZE_OVERRIDE.bits() => b::V4L2_AV1_FRAME_FLAG_FRAME_SIZE_OVERRIDE,
            FrameFlags::BUFFER_REMOVAL_TIME_PRESENT.bits() => b::V4L2_AV1_FRAME_FLAG_BUFFER_REMOVAL_TIME_PRESENT,
            FrameFlags::FRAME_REFS_SHORT_SIGNALING.bits() => b::V4L2_AV1_FRAME_FLAG_FRAME_REFS_SHORT_SIGNALING,
            FilmGrainFlags::APPLY_GRAIN.bits() => b::V4L2_AV1_FILM_GRAIN_FLAG_APPLY_GRAIN,
            FilmGrainFlags::UPDATE_GRAIN.bits() => b::V4L2_AV1_FILM_GRAIN_FLAG_UPDATE_GRAIN,
            FilmGrainFlags::CHROMA_SCALING_FROM_LUMA.bits() => b::V4L2_AV1_FILM_GRAIN_FLAG_CHROMA_SCALING_FROM_LUMA,
            FilmGrainFlags::OVERLAP.bits() => b::V4L2_AV1_FILM_GRAIN_FLAG_OVERLAP,
            FilmGrainFlags::CLIP_TO_RESTRICTED_RANGE.bits() => b::V4L2_AV1_FILM_GRAIN_FLAG_CLIP_TO_RESTRICTED_RANGE,
            WarpModel::Identity => b::v4l2_av1_warp_model_V4L2_AV1_WARP_MODEL_IDENTITY,
            WarpModel::Translation => b::v4l2_av1_warp_model_V4L2_AV1_WARP_MODEL_TRANSLATION,
            WarpModel::RotZoom => b::v4l2_av1_warp_model_V4L2_AV1_WARP_MODEL_ROTZOOM,
            WarpModel::Affine => b::v4l2_av1_warp_model_V4L2_AV1_WARP_MODEL_AFFINE,
            ReferenceFrame::Intra => b::v4l2_av1_reference_frame_V4L2_AV1_REF_INTRA_FRAME,
            ReferenceFrame::Last => b::v4l2_av1_reference_frame_V4L2_AV1_REF_LAST_FRAME,
            ReferenceFrame::Last2 => b::v4l2_av1_reference_frame_V4L2_AV1_REF_LAST2_FRAME,
            ReferenceFrame::Last3 => b::v4l2_av1_reference_frame_V4L2_AV1_REF_LAST3_FRAME,
            ReferenceFrame::Golden => b::v4l2_av1_reference_frame_V4L2_AV1_REF_GOLDEN_FRAME,
            ReferenceFrame::Bwdref => b::v4l2_av1_reference_frame_V4L2_AV1_REF_BWDREF_FRAME,
            ReferenceFrame::Altref2 => b::v4l2_av1_reference_frame_V4L2_AV1_REF_ALTREF2_FRAME,
            ReferenceFrame::Altref => b::v4l2_av1_reference_frame_V4L2_AV1_REF_ALTREF_FRAME,
            FrameRestorationType::None => b::v4l2_av1_frame_restoration_type_V4L2_AV1_FRAME_RESTORE_NONE,
            FrameRestorationType::Wiener => b::v4l2_av1_frame_restoration_type_V4L2_AV1_FRAME_RESTORE_WIENER,
            FrameRestorationType::Sgrproj => b::v4l2_av1_frame_restoration_type_V4L2_AV1_FRAME_RESTORE_SGRPROJ,
            FrameRestorationType::Switchable => b::v4l2_av1_frame_restoration_type_V4L2_AV1_FRAME_RESTORE_SWITCHABLE,
            SegmentFeature::AltQ => b::v4l2_av1_segment_feature_V4L2_AV1_SEG_LVL_ALT_Q,
            SegmentFeature::AltLfYV => b::v4l2_av1_segment_feature_V4L2_AV1_SEG_LVL_ALT_LF_Y_V,
            SegmentFeature::RefFrame => b::v4l2_av1_segment_feature_V4L2_AV1_SEG_LVL_REF_FRAME,
            SegmentFeature::RefSkip => b::v4l2_av1_segment_feature_V4L2_AV1_SEG_LVL_REF_SKIP,
            SegmentFeature::RefGlobalMv => b::v4l2_av1_segment_feature_V4L2_AV1_SEG_LVL_REF_GLOBALMV,
            FrameType::Key => b::v4l2_av1_frame_type_V4L2_AV1_KEY_FRAME,
            FrameType::Inter => b::v4l2_av1_frame_type_V4L2_AV1_INTER_FRAME,
            FrameType::IntraOnly => b::v4l2_av1_frame_type_V4L2_AV1_INTRA_ONLY_FRAME,
            FrameType::Switch => b::v4l2_av1_frame_type_V4L2_AV1_SWITCH_FRAME,
            InterpolationFilter::EightTap => b::v4l2_av1_interpolation_filter_V4L2_AV1_INTERPOLATION_FILTER_EIGHTTAP,
            InterpolationFilter::EightTapSmooth => b::v4l2_av1_interpolation_filter_V4L2_AV1_INTERPOLATION_FILTER_EIGHTTAP_SMOOTH,
            InterpolationFilter::EightTapSharp => b::v4l2_av1_interpolation_filter_V4L2_AV1_INTERPOLATION_FILTER_EIGHTTAP_SHARP,
            InterpolationFilter::Bilinear => b::v4l2_av1_interpolation_filter_V4L2_AV1_INTERPOLATION_FILTER_BILINEAR,
            InterpolationFilter::Switchable => b::v4l2_av1_interpolation_filter_V4L2_AV1_INTERPOLATION_FILTER_SWITCHABLE,
            TxMode::Only4x4 => b::v4l2_av1_tx_mode_V4L2_AV1_TX_MODE_ONLY_4X4,
            TxMode::Largest => b::v4l2_av1_tx_mode_V4L2_AV1_TX_MODE_LARGEST,
            TxMode::Select => b::v4l2_av1_tx_mode_V4L2_AV1_TX_MODE_SELECT,
        }
    }
}

mod mpeg2 {
    use super::*;
    use ctrls::mpeg2::*;

    #[test]
    fn structs() {
        layout!(
            Sequence,
            b::v4l2_ctrl_mpeg2_sequence,
            [
                horizontal_size,
                vertical_size,
                vbv_buffer_size,
                profile_and_level_indication,
                chroma_format,
                flags,
            ]
        );
        layout!(
            Picture,
            b::v4l2_ctrl_mpeg2_picture,
            [
                backward_ref_ts,
                forward_ref_ts,
                flags,
                f_code,
                picture_coding_type,
                picture_structure,
                intra_dc_precision,
                reserved,
            ]
        );
        layout!(
            Quantisation,
            b::v4l2_ctrl_mpeg2_quantisation,
            [
                intra_quantiser_matrix,
                non_intra_quantiser_matrix,
                chroma_intra_quantiser_matrix,
                chroma_non_intra_quantiser_matrix,
            ]
        );
    }

    #[test]
    fn constants() {
        consts! {
            Sequence::ID => b::V4L2_CID_STATELESS_MPEG2_SEQUENCE,
            Picture::ID => b::V4L2_CID_STATELESS_MPEG2_PICTURE,
            Quantisation::ID => b::V4L2_CID_STATELESS_MPEG2_QUANTISATION,
            SequenceFlags::PROGRESSIVE.bits() => b::V4L2_MPEG2_SEQ_FLAG_PROGRESSIVE,
            PictureFlags::TOP_FIELD_FIRST.bits() => b::V4L2_MPEG2_PIC_FLAG_TOP_FIELD_FIRST,
            PictureFlags::FRAME_PRED_DCT.bits() => b::V4L2_MPEG2_PIC_FLAG_FRAME_PRED_DCT,
            PictureFlags::CONCEALMENT_MV.bits() => b::V4L2_MPEG2_PIC_FLAG_CONCEALMENT_MV,
            PictureFlags::Q_SCALE_TYPE.bits() => b::V4L2_MPEG2_PIC_FLAG_Q_SCALE_TYPE,
            PictureFlags::INTRA_VLC.bits() => b::V4L2_MPEG2_PIC_FLAG_INTRA_VLC,
            PictureFlags::ALT_SCAN.bits() => b::V4L2_MPEG2_PIC_FLAG_ALT_SCAN,
            PictureFlags::REPEAT_FIRST.bits() => b::V4L2_MPEG2_PIC_FLAG_REPEAT_FIRST,
            PictureFlags::PROGRESSIVE.bits() => b::V4L2_MPEG2_PIC_FLAG_PROGRESSIVE,
            PictureCodingType::I => b::V4L2_MPEG2_PIC_CODING_TYPE_I,
            PictureCodingType::P => b::V4L2_MPEG2_PIC_CODING_TYPE_P,
            PictureCodingType::B => b::V4L2_MPEG2_PIC_CODING_TYPE_B,
            PictureCodingType::D => b::V4L2_MPEG2_PIC_CODING_TYPE_D,
            PictureStructure::TopField => b::V4L2_MPEG2_PIC_TOP_FIELD,
            PictureStructure::BottomField => b::V4L2_MPEG2_PIC_BOTTOM_FIELD,
            PictureStructure::Frame => b::V4L2_MPEG2_PIC_FRAME,
        }
    }
}

mod vp8 {
    use super::*;
    use ctrls::vp8::*;

    #[test]
    fn structs() {
        layout!(
            Segment,
            b::v4l2_vp8_segment,
            [quant_update, lf_update, segment_probs, padding, flags,]
        );
        layout!(
            LoopFilter,
            b::v4l2_vp8_loop_filter,
            [
                ref_frm_delta,
                mb_mode_delta,
                sharpness_level,
                level,
                padding,
                flags,
            ]
        );
        layout!(
            Quantization,
            b::v4l2_vp8_quantization,
            [
                y_ac_qi,
                y_dc_delta,
                y2_dc_delta,
                y2_ac_delta,
                uv_dc_delta,
                uv_ac_delta,
                padding,
            ]
        );
        layout!(
            Entropy,
            b::v4l2_vp8_entropy,
            [coeff_probs, y_mode_probs, uv_mode_probs, mv_probs, padding,]
        );
        layout!(
            EntropyCoderState,
            b::v4l2_vp8_entropy_coder_state,
            [range, value, bit_count, padding,]
        );
        layout!(
            Frame,
            b::v4l2_ctrl_vp8_frame,
            [
                segment,
                lf,
                quant,
                entropy,
                coder_state,
                width,
                height,
                horizontal_scale,
                vertical_scale,
                version,
                prob_skip_false,
                prob_intra,
                prob_last,
                prob_gf,
                num_dct_parts,
                first_part_size,
                first_part_header_bits,
                dct_part_sizes,
                last_frame_ts,
                golden_frame_ts,
                alt_frame_ts,
                flags,
            ]
        );
    }

    #[test]
    fn constants() {
        consts! {
            Frame::ID => b::V4L2_CID_STATELESS_VP8_FRAME,
            COEFF_PROB_CNT => b::V4L2_VP8_COEFF_PROB_CNT,
            MV_PROB_CNT => b::V4L2_VP8_MV_PROB_CNT,
            SegmentFlags::ENABLED.bits() => b::V4L2_VP8_SEGMENT_FLAG_ENABLED,
            SegmentFlags::UPDATE_MAP.bits() => b::V4L2_VP8_SEGMENT_FLAG_UPDATE_MAP,
            SegmentFlags::UPDATE_FEATURE_DATA.bits() => b::V4L2_VP8_SEGMENT_FLAG_UPDATE_FEATURE_DATA,
            SegmentFlags::DELTA_VALUE_MODE.bits() => b::V4L2_VP8_SEGMENT_FLAG_DELTA_VALUE_MODE,
            LoopFilterFlags::ADJ_ENABLE.bits() => b::V4L2_VP8_LF_ADJ_ENABLE,
            LoopFilterFlags::DELTA_UPDATE.bits() => b::V4L2_VP8_LF_DELTA_UPDATE,
            LoopFilterFlags::FILTER_TYPE_SIMPLE.bits() => b::V4L2_VP8_LF_FILTER_TYPE_SIMPLE,
            FrameFlags::KEY_FRAME.bits() => b::V4L2_VP8_FRAME_FLAG_KEY_FRAME,
            FrameFlags::EXPERIMENTAL.bits() => b::V4L2_VP8_FRAME_FLAG_EXPERIMENTAL,
            FrameFlags::SHOW_FRAME.bits() => b::V4L2_VP8_FRAME_FLAG_SHOW_FRAME,
            FrameFlags::MB_NO_SKIP_COEFF.bits() => b::V4L2_VP8_FRAME_FLAG_MB_NO_SKIP_COEFF,
            FrameFlags::SIGN_BIAS_GOLDEN.bits() => b::V4L2_VP8_FRAME_FLAG_SIGN_BIAS_GOLDEN,
            FrameFlags::SIGN_BIAS_ALT.bits() => b::V4L2_VP8_FRAME_FLAG_SIGN_BIAS_ALT,
        }
    }
}

mod hevc {
    use super::*;
    use ctrls::hevc::*;

    #[test]
    fn structs() {
        layout!(
            Sps,
            b::v4l2_ctrl_hevc_sps,
            [
                video_parameter_set_id,
                seq_parameter_set_id,
                pic_width_in_luma_samples,
                pic_height_in_luma_samples,
                bit_depth_luma_minus8,
                bit_depth_chroma_minus8,
                log2_max_pic_order_cnt_lsb_minus4,
                sps_max_dec_pic_buffering_minus1,
                sps_max_num_reorder_pics,
                sps_max_latency_increase_plus1,
                log2_min_luma_coding_block_size_minus3,
                log2_diff_max_min_luma_coding_block_size,
                log2_min_luma_transform_block_size_minus2,
                log2_diff_max_min_luma_transform_block_size,
                max_transform_hierarchy_depth_inter,
                max_transform_hierarchy_depth_intra,
                pcm_sample_bit_depth_luma_minus1,
                pcm_sample_bit_depth_chroma_minus1,
                log2_min_pcm_luma_coding_block_size_minus3,
                log2_diff_max_min_pcm_luma_coding_block_size,
                num_short_term_ref_pic_sets,
                num_long_term_ref_pics_sps,
                chroma_format_idc,
                sps_max_sub_layers_minus1,
                reserved,
                flags,
            ]
        );
        layout!(
            Pps,
            b::v4l2_ctrl_hevc_pps,
            [
                pic_parameter_set_id,
                num_extra_slice_header_bits,
                num_ref_idx_l0_default_active_minus1,
                num_ref_idx_l1_default_active_minus1,
                init_qp_minus26,
                diff_cu_qp_delta_depth,
                pps_cb_qp_offset,
                pps_cr_qp_offset,
                num_tile_columns_minus1,
                num_tile_rows_minus1,
                column_width_minus1,
                row_height_minus1,
                pps_beta_offset_div2,
                pps_tc_offset_div2,
                log2_parallel_merge_level_minus2,
                reserved,
                flags,
            ]
        );
        layout!(
            DpbEntry,
            b::v4l2_hevc_dpb_entry,
            [timestamp, flags, field_pic, reserved, pic_order_cnt_val,]
        );
        layout!(
            PredWeightTable,
            b::v4l2_hevc_pred_weight_table,
            [
                delta_luma_weight_l0,
                luma_offset_l0,
                delta_chroma_weight_l0,
                chroma_offset_l0,
                delta_luma_weight_l1,
                luma_offset_l1,
                delta_chroma_weight_l1,
                chroma_offset_l1,
                luma_log2_weight_denom,
                delta_chroma_log2_weight_denom,
            ]
        );
        layout!(
            SliceParams,
            b::v4l2_ctrl_hevc_slice_params,
            [
                bit_size,
                data_byte_offset,
                num_entry_point_offsets,
                nal_unit_type,
                nuh_temporal_id_plus1,
                slice_type,
                colour_plane_id,
                slice_pic_order_cnt,
                num_ref_idx_l0_active_minus1,
                num_ref_idx_l1_active_minus1,
                collocated_ref_idx,
                five_minus_max_num_merge_cand,
                slice_qp_delta,
                slice_cb_qp_offset,
                slice_cr_qp_offset,
                slice_act_y_qp_offset,
                slice_act_cb_qp_offset,
                slice_act_cr_qp_offset,
                slice_beta_offset_div2,
                slice_tc_offset_div2,
                pic_struct,
                reserved0,
                slice_segment_addr,
                ref_idx_l0,
                ref_idx_l1,
                short_term_ref_pic_set_size,
                long_term_ref_pic_set_size,
                pred_weight_table,
                reserved1,
                flags,
            ]
        );
        layout!(
            DecodeParams,
            b::v4l2_ctrl_hevc_decode_params,
            [
                pic_order_cnt_val,
                short_term_ref_pic_set_size,
                long_term_ref_pic_set_size,
                num_active_dpb_entries,
                num_poc_st_curr_before,
                num_poc_st_curr_after,
                num_poc_lt_curr,
                poc_st_curr_before,
                poc_st_curr_after,
                poc_lt_curr,
                num_delta_pocs_of_ref_rps_idx,
                reserved,
                dpb,
                flags,
            ]
        );
        layout!(
            ScalingMatrix,
            b::v4l2_ctrl_hevc_scaling_matrix,
            [
                scaling_list_4x4,
                scaling_list_8x8,
                scaling_list_16x16,
                scaling_list_32x32,
                scaling_list_dc_coef_16x16,
                scaling_list_dc_coef_32x32,
            ]
        );
        assert_eq!(size_of::<EntryPointOffset>(), size_of::<u32>());
        assert_eq!(size_of::<DecodeModeCtrl>(), size_of::<i32>());
        assert_eq!(size_of::<StartCodeCtrl>(), size_of::<i32>());
    }

    #[test]
    fn constants() {
        consts! {
            Sps::ID => b::V4L2_CID_STATELESS_HEVC_SPS,
            Pps::ID => b::V4L2_CID_STATELESS_HEVC_PPS,
            SliceParams::ID => b::V4L2_CID_STATELESS_HEVC_SLICE_PARAMS,
            ScalingMatrix::ID => b::V4L2_CID_STATELESS_HEVC_SCALING_MATRIX,
            DecodeParams::ID => b::V4L2_CID_STATELESS_HEVC_DECODE_PARAMS,
            DecodeModeCtrl::ID => b::V4L2_CID_STATELESS_HEVC_DECODE_MODE,
            StartCodeCtrl::ID => b::V4L2_CID_STATELESS_HEVC_START_CODE,
            EntryPointOffset::ID => b::V4L2_CID_STATELESS_HEVC_ENTRY_POINT_OFFSETS,
            DPB_ENTRIES_NUM_MAX => b::V4L2_HEVC_DPB_ENTRIES_NUM_MAX,
            SLICE_TYPE_B => b::V4L2_HEVC_SLICE_TYPE_B,
            SLICE_TYPE_P => b::V4L2_HEVC_SLICE_TYPE_P,
            SLICE_TYPE_I => b::V4L2_HEVC_SLICE_TYPE_I,
            SpsFlags::SEPARATE_COLOUR_PLANE.bits() => b::V4L2_HEVC_SPS_FLAG_SEPARATE_COLOUR_PLANE,
            SpsFlags::SCALING_LIST_ENABLED.bits() => b::V4L2_HEVC_SPS_FLAG_SCALING_LIST_ENABLED,
            SpsFlags::AMP_ENABLED.bits() => b::V4L2_HEVC_SPS_FLAG_AMP_ENABLED,
            SpsFlags::SAMPLE_ADAPTIVE_OFFSET.bits() => b::V4L2_HEVC_SPS_FLAG_SAMPLE_ADAPTIVE_OFFSET,
            SpsFlags::PCM_ENABLED.bits() => b::V4L2_HEVC_SPS_FLAG_PCM_ENABLED,
            SpsFlags::PCM_LOOP_FILTER_DISABLED.bits() => b::V4L2_HEVC_SPS_FLAG_PCM_LOOP_FILTER_DISABLED,
            SpsFlags::LONG_TERM_REF_PICS_PRESENT.bits() => b::V4L2_HEVC_SPS_FLAG_LONG_TERM_REF_PICS_PRESENT,
            SpsFlags::SPS_TEMPORAL_MVP_ENABLED.bits() => b::V4L2_HEVC_SPS_FLAG_SPS_TEMPORAL_MVP_ENABLED,
            SpsFlags::STRONG_INTRA_SMOOTHING_ENABLED.bits() => b::V4L2_HEVC_SPS_FLAG_STRONG_INTRA_SMOOTHING_ENABLED,
            PpsFlags::DEPENDENT_SLICE_SEGMENT_ENABLED.bits() => b::V4L2_HEVC_PPS_FLAG_DEPENDENT_SLICE_SEGMENT_ENABLED,
            PpsFlags::OUTPUT_FLAG_PRESENT.bits() => b::V4L2_HEVC_PPS_FLAG_OUTPUT_FLAG_PRESENT,
            PpsFlags::SIGN_DATA_HIDING_ENABLED.bits() => b::V4L2_HEVC_PPS_FLAG_SIGN_DATA_HIDING_ENABLED,
            PpsFlags::CABAC_INIT_PRESENT.bits() => b::V4L2_HEVC_PPS_FLAG_CABAC_INIT_PRESENT,
            PpsFlags::CONSTRAINED_INTRA_PRED.bits() => b::V4L2_HEVC_PPS_FLAG_CONSTRAINED_INTRA_PRED,
            PpsFlags::TRANSFORM_SKIP_ENABLED.bits() => b::V4L2_HEVC_PPS_FLAG_TRANSFORM_SKIP_ENABLED,
            PpsFlags::CU_QP_DELTA_ENABLED.bits() => b::V4L2_HEVC_PPS_FLAG_CU_QP_DELTA_ENABLED,
            PpsFlags::PPS_SLICE_CHROMA_QP_OFFSETS_PRESENT.bits() => b::V4L2_HEVC_PPS_FLAG_PPS_SLICE_CHROMA_QP_OFFSETS_PRESENT,
            PpsFlags::WEIGHTED_PRED.bits() => b::V4L2_HEVC_PPS_FLAG_WEIGHTED_PRED,
            PpsFlags::WEIGHTED_BIPRED.bits() => b::V4L2_HEVC_PPS_FLAG_WEIGHTED_BIPRED,
            PpsFlags::TRANSQUANT_BYPASS_ENABLED.bits() => b::V4L2_HEVC_PPS_FLAG_TRANSQUANT_BYPASS_ENABLED,
            PpsFlags::TILES_ENABLED.bits() => b::V4L2_HEVC_PPS_FLAG_TILES_ENABLED,
            PpsFlags::ENTROPY_CODING_SYNC_ENABLED.bits() => b::V4L2_HEVC_PPS_FLAG_ENTROPY_CODING_SYNC_ENABLED,
            PpsFlags::LOOP_FILTER_ACROSS_TILES_ENABLED.bits() => b::V4L2_HEVC_PPS_FLAG_LOOP_FILTER_ACROSS_TILES_ENABLED,
            PpsFlags::PPS_LOOP_FILTER_ACROSS_SLICES_ENABLED.bits() => b::V4L2_HEVC_PPS_FLAG_PPS_LOOP_FILTER_ACROSS_SLICES_ENABLED,
            PpsFlags::DEBLOCKING_FILTER_OVERRIDE_ENABLED.bits() => b::V4L2_HEVC_PPS_FLAG_DEBLOCKING_FILTER_OVERRIDE_ENABLED,
            PpsFlags::PPS_DISABLE_DEBLOCKING_FILTER.bits() => b::V4L2_HEVC_PPS_FLAG_PPS_DISABLE_DEBLOCKING_FILTER,
            PpsFlags::LISTS_MODIFICATION_PRESENT.bits() => b::V4L2_HEVC_PPS_FLAG_LISTS_MODIFICATION_PRESENT,
            PpsFlags::SLICE_SEGMENT_HEADER_EXTENSION_PRESENT.bits() => b::V4L2_HEVC_PPS_FLAG_SLICE_SEGMENT_HEADER_EXTENSION_PRESENT,
            PpsFlags::DEBLOCKING_FILTER_CONTROL_PRESENT.bits() => b::V4L2_HEVC_PPS_FLAG_DEBLOCKING_FILTER_CONTROL_PRESENT,
            PpsFlags::UNIFORM_SPACING.bits() => b::V4L2_HEVC_PPS_FLAG_UNIFORM_SPACING,
            DpbEntryFlags::LONG_TERM_REFERENCE.bits() => b::V4L2_HEVC_DPB_ENTRY_LONG_TERM_REFERENCE,
            SliceFlags::SLICE_SAO_LUMA.bits() => b::V4L2_HEVC_SLICE_PARAMS_FLAG_SLICE_SAO_LUMA,
            SliceFlags::SLICE_SAO_CHROMA.bits() => b::V4L2_HEVC_SLICE_PARAMS_FLAG_SLICE_SAO_CHROMA,
            SliceFlags::SLICE_TEMPORAL_MVP_ENABLED.bits() => b::V4L2_HEVC_SLICE_PARAMS_FLAG_SLICE_TEMPORAL_MVP_ENABLED,
            SliceFlags::MVD_L1_ZERO.bits() => b::V4L2_HEVC_SLICE_PARAMS_FLAG_MVD_L1_ZERO,
            SliceFlags::CABAC_INIT.bits() => b::V4L2_HEVC_SLICE_PARAMS_FLAG_CABAC_INIT,
            SliceFlags::COLLOCATED_FROM_L0.bits() => b::V4L2_HEVC_SLICE_PARAMS_FLAG_COLLOCATED_FROM_L0,
            SliceFlags::USE_INTEGER_MV.bits() => b::V4L2_HEVC_SLICE_PARAMS_FLAG_USE_INTEGER_MV,
            SliceFlags::SLICE_DEBLOCKING_FILTER_DISABLED.bits() => b::V4L2_HEVC_SLICE_PARAMS_FLAG_SLICE_DEBLOCKING_FILTER_DISABLED,
            SliceFlags::SLICE_LOOP_FILTER_ACROSS_SLICES_ENABLED.bits() => b::V4L2_HEVC_SLICE_PARAMS_FLAG_SLICE_LOOP_FILTER_ACROSS_SLICES_ENABLED,
            SliceFlags::DEPENDENT_SLICE_SEGMENT.bits() => b::V4L2_HEVC_SLICE_PARAMS_FLAG_DEPENDENT_SLICE_SEGMENT,
            DecodeFlags::IRAP_PIC.bits() => b::V4L2_HEVC_DECODE_PARAM_FLAG_IRAP_PIC,
            DecodeFlags::IDR_PIC.bits() => b::V4L2_HEVC_DECODE_PARAM_FLAG_IDR_PIC,
            DecodeFlags::NO_OUTPUT_OF_PRIOR.bits() => b::V4L2_HEVC_DECODE_PARAM_FLAG_NO_OUTPUT_OF_PRIOR,
            DecodeMode::SliceBased => b::v4l2_stateless_hevc_decode_mode_V4L2_STATELESS_HEVC_DECODE_MODE_SLICE_BASED,
            DecodeMode::FrameBased => b::v4l2_stateless_hevc_decode_mode_V4L2_STATELESS_HEVC_DECODE_MODE_FRAME_BASED,
            StartCode::None => b::v4l2_stateless_hevc_start_code_V4L2_STATELESS_HEVC_START_CODE_NONE,
            StartCode::AnnexB => b::v4l2_stateless_hevc_start_code_V4L2_STATELESS_HEVC_START_CODE_ANNEX_B,
            SliceType::B => b::V4L2_HEVC_SLICE_TYPE_B,
            SliceType::P => b::V4L2_HEVC_SLICE_TYPE_P,
            SliceType::I => b::V4L2_HEVC_SLICE_TYPE_I,
            PicStruct::Frame => b::V4L2_HEVC_SEI_PIC_STRUCT_FRAME,
            PicStruct::TopField => b::V4L2_HEVC_SEI_PIC_STRUCT_TOP_FIELD,
            PicStruct::BottomField => b::V4L2_HEVC_SEI_PIC_STRUCT_BOTTOM_FIELD,
            PicStruct::TopBottom => b::V4L2_HEVC_SEI_PIC_STRUCT_TOP_BOTTOM,
            PicStruct::BottomTop => b::V4L2_HEVC_SEI_PIC_STRUCT_BOTTOM_TOP,
            PicStruct::TopBottomTop => b::V4L2_HEVC_SEI_PIC_STRUCT_TOP_BOTTOM_TOP,
            PicStruct::BottomTopBottom => b::V4L2_HEVC_SEI_PIC_STRUCT_BOTTOM_TOP_BOTTOM,
            PicStruct::FrameDoubling => b::V4L2_HEVC_SEI_PIC_STRUCT_FRAME_DOUBLING,
            PicStruct::FrameTripling => b::V4L2_HEVC_SEI_PIC_STRUCT_FRAME_TRIPLING,
            PicStruct::TopPairedPreviousBottom => b::V4L2_HEVC_SEI_PIC_STRUCT_TOP_PAIRED_PREVIOUS_BOTTOM,
            PicStruct::BottomPairedPreviousTop => b::V4L2_HEVC_SEI_PIC_STRUCT_BOTTOM_PAIRED_PREVIOUS_TOP,
            PicStruct::TopPairedNextBottom => b::V4L2_HEVC_SEI_PIC_STRUCT_TOP_PAIRED_NEXT_BOTTOM,
            PicStruct::BottomPairedNextTop => b::V4L2_HEVC_SEI_PIC_STRUCT_BOTTOM_PAIRED_NEXT_TOP,
        }
    }
}

/// EXT_SPS_ST_RPS / EXT_SPS_LT_RPS are Linux 7.0+, not in the 6.12 headers
/// bindgen reads: their layout as include/uapi/linux/v4l2-controls.h of
/// Linux 7.3 declares it (struct v4l2_ctrl_hevc_ext_sps_st_rps /
/// _lt_rps), and the CIDs of V4L2_CID_CODEC_STATELESS_BASE + 408 / 409.
#[test]
fn hevc_ext_sps_rps_as_linux_7_declares() {
    use ctrls::hevc::{ExtSpsLtRps as Lt, ExtSpsStRps as St};
    assert_eq!((size_of::<St>(), align_of::<St>()), (80, 4));
    let st = [
        (offset_of!(St, delta_idx_minus1), 0),
        (offset_of!(St, delta_rps_sign), 1),
        (offset_of!(St, num_negative_pics), 2),
        (offset_of!(St, num_positive_pics), 3),
        (offset_of!(St, used_by_curr_pic), 4),
        (offset_of!(St, use_delta_flag), 8),
        (offset_of!(St, abs_delta_rps_minus1), 12),
        (offset_of!(St, delta_poc_s0_minus1), 14),
        (offset_of!(St, delta_poc_s1_minus1), 46),
        (offset_of!(St, flags), 78),
    ];
    for (i, (ours, linux)) in st.iter().enumerate() {
        assert_eq!(ours, linux, "field {i} of v4l2_ctrl_hevc_ext_sps_st_rps");
    }
    assert_eq!((size_of::<Lt>(), align_of::<Lt>()), (4, 2));
    assert_eq!(offset_of!(Lt, lt_ref_pic_poc_lsb_sps), 0);
    assert_eq!(offset_of!(Lt, flags), 2);
    let base = b::V4L2_CID_CODEC_STATELESS_BASE;
    assert_eq!(ctrls::hevc::CID_EXT_SPS_ST_RPS, base + 408);
    assert_eq!(ctrls::hevc::CID_EXT_SPS_LT_RPS, base + 409);
    assert_eq!(ctrls::hevc::ExtSpsStRps::ID, base + 408);
    assert_eq!(ctrls::hevc::ExtSpsLtRps::ID, base + 409);
}
