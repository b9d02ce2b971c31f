//! SPS/PPS NAL unit synthesis from the V4L2 H.264 SPS, PPS and SCALING_MATRIX controls.
//!
//! The V4L2 controls carry no VUI and no cropping: the synthesized SPS has neither (the
//! CAPTURE buffer holds the whole coded picture; clients crop through G_SELECTION). Without
//! VUI bitstream restrictions FFmpeg derives its reorder depth from the level (never 0, so
//! no B-frame is dropped from its output, which we drain anyway).
//!
//! Scaling lists: the control holds them in raster order (as FFmpeg's and GStreamer's
//! v4l2-request code fill it); the bitstream codes them in zig-zag order, for frame and
//! field macroblocks alike (the field scan applies to coefficients, not scaling lists).
//! We always code every list explicitly in the PPS (pic_scaling_matrix_present_flag = 1,
//! every pic_scaling_list_present_flag = 1), so no fall-back rule applies.
//!
//! profile_idc / level_idc: clients leave them 0 (libva-v4l2-request does), which hardware
//! ignores. [`effective_sps`] replaces a value H.264 does not define: the profile by the
//! smallest one whose syntax the controls use (the SPS codes chroma_format_idc, bit depths
//! and the PPS its 8x8/scaling/second chroma offset tail only for the high profiles), the
//! level by 6.2. FFmpeg uses the level only for its output delay (VUI-less SPS):
//! min(MaxDpbMbs / PicSizeInMbs, 15) = 15 for any picture up to 46420 macroblocks with
//! 6.2's MaxDpbMbs of 696320, never 0 for a picture within 6.2's MaxFS, the largest of all
//! levels: the delay stays as deep as it gets (and only postpones output we drop).

use ctrls::h264::{
    ConstraintSetFlags, Pps, PpsFlags, ScalingMatrix, Sps, SpsFlags, KNOWN_LEVEL_IDC,
    KNOWN_PROFILE_IDC,
};

use crate::codec::bitwriter::{push_nal, BitWriter};

/// Raster index of each 4x4 zig-zag scan position (H.264 Table 8-13, frame).
pub const ZIGZAG_4X4: [usize; 16] = [0, 1, 4, 8, 5, 2, 3, 6, 9, 12, 13, 10, 7, 11, 14, 15];

/// Raster index of each 8x8 zig-zag scan position (H.264 Table 8-14, frame).
pub const ZIGZAG_8X8: [usize; 64] = [
    0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5, 12, 19, 26, 33, 40, 48, 41, 34, 27, 20,
    13, 6, 7, 14, 21, 28, 35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51, 58, 59,
    52, 45, 38, 31, 39, 46, 53, 60, 61, 54, 47, 55, 62, 63,
];

/// Control values the synthesizer cannot express.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SynthError {
    #[error("H264_SCALING_MATRIX.{list}[{index}][{pos}] = 0 (scaling factors are 1..=255)")]
    ZeroScale {
        list: &'static str,
        index: usize,
        pos: usize,
    },
    #[error("H264_PPS.num_slice_groups_minus1 = {0}: slice groups (FMO) are not supported")]
    SliceGroups(u8),
}

impl From<SynthError> for crate::request::EngineError {
    fn from(e: SynthError) -> Self {
        crate::request::EngineError::Synth(e.to_string())
    }
}

fn high_profile(profile_idc: u8) -> bool {
    matches!(
        profile_idc,
        100 | 110 | 122 | 244 | 44 | 83 | 86 | 118 | 128 | 138 | 139 | 134 | 135
    )
}

/// The level written for a level_idc H.264 does not define (6.2).
pub const FALLBACK_LEVEL_IDC: u8 = 62;

/// The smallest profile whose syntax `sps` and `pps` use (for a profile_idc H.264 does not
/// define): High 4:4:4 Predictive for 4:4:4, more than 10 bits or lossless
/// (qpprime_y_zero_transform_bypass), High 4:2:2 for 4:2:2, High 10 for 9/10 bits, High for
/// monochrome or a PPS with transform_8x8_mode / a scaling matrix / its own second chroma
/// QP offset, Main for CABAC, weighted prediction or field coding, Baseline otherwise.
pub fn fallback_profile_idc(sps: &Sps, pps: &Pps) -> u8 {
    let depth = sps.bit_depth_luma_minus8.max(sps.bit_depth_chroma_minus8);
    let f = pps.flags;
    if sps.chroma_format_idc >= 3
        || depth > 2
        || sps
            .flags
            .contains(SpsFlags::QPPRIME_Y_ZERO_TRANSFORM_BYPASS)
    {
        244
    } else if sps.chroma_format_idc == 2 {
        122
    } else if depth > 0 {
        110
    } else if sps.chroma_format_idc == 0
        || f.intersects(PpsFlags::TRANSFORM_8X8_MODE | PpsFlags::SCALING_MATRIX_PRESENT)
        || pps.second_chroma_qp_index_offset != pps.chroma_qp_index_offset
    {
        100
    } else if f.intersects(PpsFlags::ENTROPY_CODING_MODE | PpsFlags::WEIGHTED_PRED)
        || pps.weighted_bipred_idc != 0
        || !sps.flags.contains(SpsFlags::FRAME_MBS_ONLY)
    {
        77
    } else {
        66
    }
}

/// The SPS control as synthesized: `sps` with a profile_idc / level_idc that H.264 does
/// not define replaced (see the module doc); anything else unchanged.
pub fn effective_sps(sps: &Sps, pps: &Pps) -> Sps {
    let mut s = *sps;
    if !KNOWN_PROFILE_IDC.contains(&s.profile_idc) {
        s.profile_idc = fallback_profile_idc(sps, pps);
    }
    if !KNOWN_LEVEL_IDC.contains(&s.level_idc) {
        s.level_idc = FALLBACK_LEVEL_IDC;
    }
    s
}

/// Appends an Annex B SPS NAL unit (nal_ref_idc 3) built from `sps`.
pub fn write_sps(sps: &Sps, out: &mut Vec<u8>) {
    let mut w = BitWriter::new();
    w.bits(8, sps.profile_idc as u32);
    let c = sps.constraint_set_flags;
    for f in [
        ConstraintSetFlags::SET0,
        ConstraintSetFlags::SET1,
        ConstraintSetFlags::SET2,
        ConstraintSetFlags::SET3,
        ConstraintSetFlags::SET4,
        ConstraintSetFlags::SET5,
    ] {
        w.flag(c.contains(f));
    }
    w.bits(2, 0);
    w.bits(8, sps.level_idc as u32);
    w.ue(sps.seq_parameter_set_id as u32);
    let f = sps.flags;
    if high_profile(sps.profile_idc) {
        w.ue(sps.chroma_format_idc as u32);
        if sps.chroma_format_idc == 3 {
            w.flag(f.contains(SpsFlags::SEPARATE_COLOUR_PLANE));
        }
        w.ue(sps.bit_depth_luma_minus8 as u32);
        w.ue(sps.bit_depth_chroma_minus8 as u32);
        w.flag(f.contains(SpsFlags::QPPRIME_Y_ZERO_TRANSFORM_BYPASS));
        // Scaling lists always go to the PPS.
        w.flag(false);
    }
    w.ue(sps.log2_max_frame_num_minus4 as u32);
    w.ue(sps.pic_order_cnt_type as u32);
    match sps.pic_order_cnt_type {
        0 => w.ue(sps.log2_max_pic_order_cnt_lsb_minus4 as u32),
        1 => {
            w.flag(f.contains(SpsFlags::DELTA_PIC_ORDER_ALWAYS_ZERO));
            w.se(sps.offset_for_non_ref_pic);
            w.se(sps.offset_for_top_to_bottom_field);
            w.ue(sps.num_ref_frames_in_pic_order_cnt_cycle as u32);
            for o in &sps.offset_for_ref_frame[..sps.num_ref_frames_in_pic_order_cnt_cycle as usize]
            {
                w.se(*o);
            }
        }
        _ => {}
    }
    w.ue(sps.max_num_ref_frames as u32);
    w.flag(f.contains(SpsFlags::GAPS_IN_FRAME_NUM_VALUE_ALLOWED));
    w.ue(sps.pic_width_in_mbs_minus1 as u32);
    w.ue(sps.pic_height_in_map_units_minus1 as u32);
    let frame_mbs_only = f.contains(SpsFlags::FRAME_MBS_ONLY);
    w.flag(frame_mbs_only);
    if !frame_mbs_only {
        w.flag(f.contains(SpsFlags::MB_ADAPTIVE_FRAME_FIELD));
    }
    w.flag(f.contains(SpsFlags::DIRECT_8X8_INFERENCE));
    w.flag(false); // frame_cropping_flag
    w.flag(false); // vui_parameters_present_flag
    w.trailing();
    push_nal(out, &[0x67], &w.into_bytes());
}

fn scaling_list(w: &mut BitWriter, raster: &[u8], scan: &[usize]) {
    let mut last = 8i32;
    for &r in scan {
        let v = raster[r] as i32;
        let mut d = v - last;
        if d > 127 {
            d -= 256;
        } else if d < -128 {
            d += 256;
        }
        w.se(d);
        last = v;
    }
}

/// Appends an Annex B PPS NAL unit (nal_ref_idc 3) built from `pps`, with the scaling
/// matrix coded explicitly when `SCALING_MATRIX_PRESENT` is set.
pub fn write_pps(
    pps: &Pps,
    sps: &Sps,
    sm: &ScalingMatrix,
    out: &mut Vec<u8>,
) -> Result<(), SynthError> {
    if pps.num_slice_groups_minus1 != 0 {
        return Err(SynthError::SliceGroups(pps.num_slice_groups_minus1));
    }
    let f = pps.flags;
    let t8x8 = f.contains(PpsFlags::TRANSFORM_8X8_MODE);
    let scaling = f.contains(PpsFlags::SCALING_MATRIX_PRESENT);
    let n8x8 = if !t8x8 {
        0
    } else if sps.chroma_format_idc == 3 {
        6
    } else {
        2
    };
    if scaling {
        for (i, l) in sm.scaling_list_4x4.iter().enumerate() {
            if let Some(pos) = l.iter().position(|v| *v == 0) {
                return Err(SynthError::ZeroScale {
                    list: "scaling_list_4x4",
                    index: i,
                    pos,
                });
            }
        }
        for (i, l) in sm.scaling_list_8x8[..n8x8].iter().enumerate() {
            if let Some(pos) = l.iter().position(|v| *v == 0) {
                return Err(SynthError::ZeroScale {
                    list: "scaling_list_8x8",
                    index: i,
                    pos,
                });
            }
        }
    }
    let mut w = BitWriter::new();
    w.ue(pps.pic_parameter_set_id as u32);
    w.ue(pps.seq_parameter_set_id as u32);
    w.flag(f.contains(PpsFlags::ENTROPY_CODING_MODE));
    w.flag(f.contains(PpsFlags::BOTTOM_FIELD_PIC_ORDER_IN_FRAME_PRESENT));
    w.ue(0); // num_slice_groups_minus1
    w.ue(pps.num_ref_idx_l0_default_active_minus1 as u32);
    w.ue(pps.num_ref_idx_l1_default_active_minus1 as u32);
    w.flag(f.contains(PpsFlags::WEIGHTED_PRED));
    w.bits(2, pps.weighted_bipred_idc as u32 & 3);
    w.se(pps.pic_init_qp_minus26 as i32);
    w.se(pps.pic_init_qs_minus26 as i32);
    w.se(pps.chroma_qp_index_offset as i32);
    w.flag(f.contains(PpsFlags::DEBLOCKING_FILTER_CONTROL_PRESENT));
    w.flag(f.contains(PpsFlags::CONSTRAINED_INTRA_PRED));
    w.flag(f.contains(PpsFlags::REDUNDANT_PIC_CNT_PRESENT));
    if t8x8 || scaling || pps.second_chroma_qp_index_offset != pps.chroma_qp_index_offset {
        w.flag(t8x8);
        w.flag(scaling);
        if scaling {
            for l in &sm.scaling_list_4x4 {
                w.flag(true);
                scaling_list(&mut w, l, &ZIGZAG_4X4);
            }
            for l in &sm.scaling_list_8x8[..n8x8] {
                w.flag(true);
                scaling_list(&mut w, l, &ZIGZAG_8X8);
            }
        }
        w.se(pps.second_chroma_qp_index_offset as i32);
    }
    w.trailing();
    push_nal(out, &[0x68], &w.into_bytes());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use cros_codecs::codec::h264::parser::{Nalu, Parser};
    use std::io::Cursor;

    fn sps() -> Sps {
        Sps {
            profile_idc: 100,
            level_idc: 40,
            seq_parameter_set_id: 1,
            chroma_format_idc: 1,
            log2_max_frame_num_minus4: 2,
            pic_order_cnt_type: 0,
            log2_max_pic_order_cnt_lsb_minus4: 3,
            max_num_ref_frames: 4,
            pic_width_in_mbs_minus1: 21,
            pic_height_in_map_units_minus1: 8,
            flags: SpsFlags::DIRECT_8X8_INFERENCE,
            ..Sps::default()
        }
    }

    /// Unknown profile_idc / level_idc: the smallest profile the controls need, level 6.2;
    /// known values stay.
    #[test]
    fn effective_sps_fills_in_profile_and_level() {
        let mut s = sps();
        s.profile_idc = 0;
        s.level_idc = 0;
        s.flags |= SpsFlags::FRAME_MBS_ONLY;
        let mut p = Pps::default();
        let prof = |s: &Sps, p: &Pps| effective_sps(s, p).profile_idc;
        assert_eq!(effective_sps(&s, &p).level_idc, 62);
        assert_eq!(prof(&s, &p), 66);
        p.flags = PpsFlags::ENTROPY_CODING_MODE;
        assert_eq!(prof(&s, &p), 77);
        p.flags = PpsFlags::default();
        s.flags.remove(SpsFlags::FRAME_MBS_ONLY);
        assert_eq!(prof(&s, &p), 77);
        p.flags = PpsFlags::TRANSFORM_8X8_MODE;
        assert_eq!(prof(&s, &p), 100);
        p.flags = PpsFlags::default();
        p.second_chroma_qp_index_offset = 1;
        assert_eq!(prof(&s, &p), 100);
        s.bit_depth_luma_minus8 = 2;
        assert_eq!(prof(&s, &p), 110);
        s.chroma_format_idc = 2;
        assert_eq!(prof(&s, &p), 122);
        s.chroma_format_idc = 3;
        assert_eq!(prof(&s, &p), 244);
        s.profile_idc = 77;
        s.level_idc = 9;
        assert_eq!(effective_sps(&s, &p), s);
    }

    /// Synthesized SPS/PPS parsed back by cros-codecs' parser (an independent reader)
    /// give the control values; scaling lists come back in zig-zag order of the raster
    /// control lists.
    #[test]
    fn parameter_sets_parse_back_with_an_independent_parser() {
        let sps = sps();
        let mut sm = ScalingMatrix::FLAT;
        for (i, l) in sm.scaling_list_4x4.iter_mut().enumerate() {
            for (j, v) in l.iter_mut().enumerate() {
                *v = (4 + 3 * j + 5 * i) as u8; // asymmetric in raster order
            }
        }
        for (i, l) in sm.scaling_list_8x8.iter_mut().enumerate() {
            for (j, v) in l.iter_mut().enumerate() {
                *v = (200 - 3 * j - i) as u8;
            }
        }
        let pps = Pps {
            pic_parameter_set_id: 3,
            seq_parameter_set_id: 1,
            num_ref_idx_l0_default_active_minus1: 2,
            weighted_bipred_idc: 1,
            pic_init_qp_minus26: -3,
            chroma_qp_index_offset: 2,
            second_chroma_qp_index_offset: -1,
            flags: PpsFlags::ENTROPY_CODING_MODE
                | PpsFlags::TRANSFORM_8X8_MODE
                | PpsFlags::SCALING_MATRIX_PRESENT
                | PpsFlags::WEIGHTED_PRED,
            ..Pps::default()
        };
        let mut bytes = Vec::new();
        write_sps(&sps, &mut bytes);
        write_pps(&pps, &sps, &sm, &mut bytes).unwrap();
        let mut cur = Cursor::new(&bytes[..]);
        let mut parser = Parser::default();
        let n = Nalu::next(&mut cur).unwrap();
        let s = parser.parse_sps(&n).unwrap().clone();
        assert_eq!(s.profile_idc, 100);
        assert_eq!(s.seq_parameter_set_id, 1);
        assert_eq!(s.log2_max_frame_num_minus4, 2);
        assert_eq!(s.log2_max_pic_order_cnt_lsb_minus4, 3);
        assert_eq!(s.max_num_ref_frames, 4);
        // Not frame_mbs_only: 9 map units of field MB pairs = 288 lines.
        assert_eq!((s.width(), s.height()), (352, 288));
        assert!(!s.frame_mbs_only_flag && s.direct_8x8_inference_flag);
        assert!(!s.vui_parameters_present_flag && !s.frame_cropping_flag);
        let n = Nalu::next(&mut cur).unwrap();
        let p = parser.parse_pps(&n).unwrap();
        assert_eq!(p.pic_parameter_set_id, 3);
        assert_eq!(p.num_ref_idx_l0_default_active_minus1, 2);
        assert_eq!(p.weighted_bipred_idc, 1);
        assert_eq!(p.pic_init_qp_minus26, -3);
        assert_eq!(p.chroma_qp_index_offset, 2);
        assert_eq!(p.second_chroma_qp_index_offset, -1);
        assert!(p.entropy_coding_mode_flag && p.weighted_pred_flag && p.transform_8x8_mode_flag);
        assert!(p.pic_scaling_matrix_present_flag);
        for i in 0..6 {
            let want: Vec<u8> = ZIGZAG_4X4
                .iter()
                .map(|&r| sm.scaling_list_4x4[i][r])
                .collect();
            assert_eq!(p.scaling_lists_4x4[i].to_vec(), want, "4x4 list {i}");
        }
        for i in 0..2 {
            let want: Vec<u8> = ZIGZAG_8X8
                .iter()
                .map(|&r| sm.scaling_list_8x8[i][r])
                .collect();
            assert_eq!(p.scaling_lists_8x8[i].to_vec(), want, "8x8 list {i}");
        }
    }
}
