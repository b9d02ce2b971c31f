//! VPS, SPS and PPS NAL unit synthesis from the V4L2 HEVC SPS, PPS and
//! SCALING_MATRIX controls (Linux 6.12).
//!
//! What the controls leave out, and what is written instead:
//! - the VPS does not exist as a control: one is made from the SPS (one layer,
//!   the SPS's sub-layer count, no timing or HRD); FFmpeg needs one;
//! - profile_tier_level: Main or Main 10 (by bit depth, 4:2:0 only), Main tier,
//!   level 6.2 (the largest: FFmpeg sizes nothing by it), no sub-layer
//!   profiles; general_progressive_source_flag and
//!   general_frame_only_constraint_flag set (field-coded streams are not
//!   supported yet);
//! - conformance window and VUI: none (the CAPTURE buffer holds the whole coded
//!   picture; clients crop through G_SELECTION);
//! - per-sub-layer DPB values: the controls carry one set; it is coded for the
//!   highest sub-layer (sps_sub_layer_ordering_info_present_flag 0);
//! - the SPS's short-term RPS sets and long-term pictures: the controls carry
//!   only their counts, so the SPS has none and every slice header is
//!   rewritten with an explicit RPS ([`super::slice`]);
//! - scaling lists: coded explicitly in the PPS from the control (raster order
//!   there, up-right diagonal in the bitstream), the SPS saying only that they
//!   are enabled.

use ctrls::hevc::{diag_scan, Pps, PpsFlags, ScalingMatrix, Sps, SpsFlags};

use crate::codec::bitwriter::{push_nal, BitWriter};

/// Control values the synthesizer cannot express.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SynthError {
    #[error("HEVC_SPS.chroma_format_idc = {0}: only 4:2:0 (1) is supported")]
    Chroma(u8),
    #[error("HEVC_SPS.bit_depth_luma_minus8 = {0}, bit_depth_chroma_minus8 = {1}: only Main (8-bit) and Main 10 are supported")]
    BitDepth(u8, u8),
    #[error("HEVC_SPS.sps_max_sub_layers_minus1 = {0} (at most 6)")]
    SubLayers(u8),
    #[error("HEVC_SPS: CtbLog2SizeY = {0}")]
    CtbSize(u32),
    #[error("HEVC_SCALING_MATRIX.{list}[{index}][{pos}] = 0 (scaling factors are 1..=255)")]
    ZeroScale {
        list: &'static str,
        index: usize,
        pos: usize,
    },
}

impl From<SynthError> for crate::request::EngineError {
    fn from(e: SynthError) -> Self {
        crate::request::EngineError::Synth(e.to_string())
    }
}

/// nal_unit_type of the parameter sets.
const VPS_NUT: u8 = 32;
const SPS_NUT: u8 = 33;
const PPS_NUT: u8 = 34;

/// The two-byte NAL unit header: nuh_layer_id 0, TemporalId 0.
fn nal_header(nut: u8) -> [u8; 2] {
    [nut << 1, 1]
}

/// Level 6.2 (general_level_idc = 30 * 6.2).
const LEVEL_IDC: u32 = 186;

fn check(sps: &Sps) -> Result<u32, SynthError> {
    if sps.chroma_format_idc != 1 {
        return Err(SynthError::Chroma(sps.chroma_format_idc));
    }
    if sps.sps_max_sub_layers_minus1 > 6 {
        return Err(SynthError::SubLayers(sps.sps_max_sub_layers_minus1));
    }
    match (sps.bit_depth_luma_minus8, sps.bit_depth_chroma_minus8) {
        (0, 0) => Ok(1),
        (l, c) if l <= 2 && c <= 2 => Ok(2),
        (l, c) => Err(SynthError::BitDepth(l, c)),
    }
}

/// profile_tier_level(1, max_sub_layers_minus1) (7.3.3).
fn profile_tier_level(w: &mut BitWriter, profile_idc: u32, max_sub_layers_minus1: u8) {
    w.bits(2, 0); // general_profile_space
    w.bit(false); // general_tier_flag: Main
    w.bits(5, profile_idc);
    // general_profile_compatibility_flag[j]: j = the profile; Main 10 decoders
    // decode Main streams, so a Main stream also says Main 10 (A.3.2).
    let mut compat = 1u32 << (31 - profile_idc);
    if profile_idc == 1 {
        compat |= 1 << (31 - 2);
    }
    w.bits(32, compat);
    w.bit(true); // general_progressive_source_flag
    w.bit(false); // general_interlaced_source_flag
    w.bit(false); // general_non_packed_constraint_flag
    w.bit(true); // general_frame_only_constraint_flag
    w.bits(32, 0); // general_reserved_zero_43bits ...
    w.bits(11, 0); // ... (43 in all)
    w.bit(false); // general_inbld_flag / reserved
    w.bits(8, LEVEL_IDC);
    for _ in 0..max_sub_layers_minus1 {
        w.bit(false); // sub_layer_profile_present_flag
        w.bit(false); // sub_layer_level_present_flag
    }
    if max_sub_layers_minus1 > 0 {
        for _ in max_sub_layers_minus1..8 {
            w.bits(2, 0); // reserved_zero_2bits
        }
    }
}

/// The DPB values of the highest sub-layer.
fn dpb_values(w: &mut BitWriter, sps: &Sps) {
    w.ue(u32::from(sps.sps_max_dec_pic_buffering_minus1));
    w.ue(u32::from(sps.sps_max_num_reorder_pics));
    w.ue(u32::from(sps.sps_max_latency_increase_plus1));
}

/// A VPS for the SPS (7.3.2.1), Annex B (`00 00 00 01` first).
pub fn vps(sps: &Sps) -> Result<Vec<u8>, SynthError> {
    let profile = check(sps)?;
    let subs = sps.sps_max_sub_layers_minus1;
    let mut w = BitWriter::new();
    w.bits(4, u32::from(sps.video_parameter_set_id));
    w.bit(true); // vps_base_layer_internal_flag
    w.bit(true); // vps_base_layer_available_flag
    w.bits(6, 0); // vps_max_layers_minus1
    w.bits(3, u32::from(subs));
    w.bit(subs == 0); // vps_temporal_id_nesting_flag
    w.bits(16, 0xffff); // vps_reserved_0xffff_16bits
    profile_tier_level(&mut w, profile, subs);
    w.bit(false); // vps_sub_layer_ordering_info_present_flag
    dpb_values(&mut w, sps);
    w.bits(6, 0); // vps_max_layer_id
    w.ue(0); // vps_num_layer_sets_minus1
    w.bit(false); // vps_timing_info_present_flag
    w.bit(false); // vps_extension_flag
    w.trailing();
    let mut out = Vec::new();
    push_nal(&mut out, &nal_header(VPS_NUT), &w.into_bytes());
    Ok(out)
}

/// The SPS (7.3.2.2), Annex B.
pub fn sps(sps: &Sps) -> Result<Vec<u8>, SynthError> {
    let profile = check(sps)?;
    let f = sps.flags;
    let subs = sps.sps_max_sub_layers_minus1;
    let mut w = BitWriter::new();
    w.bits(4, u32::from(sps.video_parameter_set_id));
    w.bits(3, u32::from(subs));
    w.bit(subs == 0); // sps_temporal_id_nesting_flag
    profile_tier_level(&mut w, profile, subs);
    w.ue(u32::from(sps.seq_parameter_set_id));
    w.ue(u32::from(sps.chroma_format_idc));
    w.ue(u32::from(sps.pic_width_in_luma_samples));
    w.ue(u32::from(sps.pic_height_in_luma_samples));
    w.bit(false); // conformance_window_flag
    w.ue(u32::from(sps.bit_depth_luma_minus8));
    w.ue(u32::from(sps.bit_depth_chroma_minus8));
    w.ue(u32::from(sps.log2_max_pic_order_cnt_lsb_minus4));
    w.bit(false); // sps_sub_layer_ordering_info_present_flag
    dpb_values(&mut w, sps);
    w.ue(u32::from(sps.log2_min_luma_coding_block_size_minus3));
    w.ue(u32::from(sps.log2_diff_max_min_luma_coding_block_size));
    w.ue(u32::from(sps.log2_min_luma_transform_block_size_minus2));
    w.ue(u32::from(sps.log2_diff_max_min_luma_transform_block_size));
    w.ue(u32::from(sps.max_transform_hierarchy_depth_inter));
    w.ue(u32::from(sps.max_transform_hierarchy_depth_intra));
    w.bit(f.contains(SpsFlags::SCALING_LIST_ENABLED));
    if f.contains(SpsFlags::SCALING_LIST_ENABLED) {
        w.bit(false); // sps_scaling_list_data_present_flag: the PPS has them
    }
    w.bit(f.contains(SpsFlags::AMP_ENABLED));
    w.bit(f.contains(SpsFlags::SAMPLE_ADAPTIVE_OFFSET));
    w.bit(f.contains(SpsFlags::PCM_ENABLED));
    if f.contains(SpsFlags::PCM_ENABLED) {
        w.bits(4, u32::from(sps.pcm_sample_bit_depth_luma_minus1));
        w.bits(4, u32::from(sps.pcm_sample_bit_depth_chroma_minus1));
        w.ue(u32::from(sps.log2_min_pcm_luma_coding_block_size_minus3));
        w.ue(u32::from(sps.log2_diff_max_min_pcm_luma_coding_block_size));
        w.bit(f.contains(SpsFlags::PCM_LOOP_FILTER_DISABLED));
    }
    w.ue(0); // num_short_term_ref_pic_sets: every slice codes its own
    w.bit(f.contains(SpsFlags::LONG_TERM_REF_PICS_PRESENT));
    if f.contains(SpsFlags::LONG_TERM_REF_PICS_PRESENT) {
        w.ue(0); // num_long_term_ref_pics_sps
    }
    w.bit(f.contains(SpsFlags::SPS_TEMPORAL_MVP_ENABLED));
    w.bit(f.contains(SpsFlags::STRONG_INTRA_SMOOTHING_ENABLED));
    w.bit(false); // vui_parameters_present_flag
    w.bit(false); // sps_extension_present_flag
    w.trailing();
    let mut out = Vec::new();
    push_nal(&mut out, &nal_header(SPS_NUT), &w.into_bytes());
    Ok(out)
}

/// One scaling list in the bitstream's order, from raster order.
fn coded_list(raster: &[u8], blk: usize, scan: &[(usize, usize)]) -> Vec<u8> {
    scan.iter().map(|&(x, y)| raster[y * blk + x]).collect()
}

/// scaling_list_data() (7.3.4) with every list coded explicitly.
fn scaling_list_data(w: &mut BitWriter, m: &ScalingMatrix) -> Result<(), SynthError> {
    let s4 = diag_scan(4);
    let s8 = diag_scan(8);
    let zero = |list: &'static str, index: usize, l: &[u8]| match l.iter().position(|&v| v == 0) {
        Some(pos) => Err(SynthError::ZeroScale { list, index, pos }),
        None => Ok(()),
    };
    for size_id in 0..4 {
        let matrices: &[usize] = if size_id == 3 {
            &[0, 3]
        } else {
            &[0, 1, 2, 3, 4, 5]
        };
        for (k, &matrix_id) in matrices.iter().enumerate() {
            let (coded, dc) = match size_id {
                0 => {
                    let l = &m.scaling_list_4x4[matrix_id];
                    zero("scaling_list_4x4", matrix_id, l)?;
                    (coded_list(l, 4, &s4), None)
                }
                1 => {
                    let l = &m.scaling_list_8x8[matrix_id];
                    zero("scaling_list_8x8", matrix_id, l)?;
                    (coded_list(l, 8, &s8), None)
                }
                2 => {
                    let l = &m.scaling_list_16x16[matrix_id];
                    zero("scaling_list_16x16", matrix_id, l)?;
                    let dc = m.scaling_list_dc_coef_16x16[matrix_id];
                    zero("scaling_list_dc_coef_16x16", matrix_id, &[dc])?;
                    (coded_list(l, 8, &s8), Some(dc))
                }
                _ => {
                    let l = &m.scaling_list_32x32[k];
                    zero("scaling_list_32x32", k, l)?;
                    let dc = m.scaling_list_dc_coef_32x32[k];
                    zero("scaling_list_dc_coef_32x32", k, &[dc])?;
                    (coded_list(l, 8, &s8), Some(dc))
                }
            };
            w.bit(true); // scaling_list_pred_mode_flag: coded here
            let mut next = 8i32;
            if let Some(dc) = dc {
                w.se(i32::from(dc) - 8); // scaling_list_dc_coef_minus8
                next = i32::from(dc);
            }
            for v in coded {
                let mut delta = i32::from(v) - next;
                if delta > 127 {
                    delta -= 256;
                } else if delta < -128 {
                    delta += 256;
                }
                w.se(delta); // scaling_list_delta_coef
                next = i32::from(v);
            }
        }
    }
    Ok(())
}

/// Tile column widths / row heights are uniform when they equal (6-3)/(6-4).
fn uniform(sizes_minus1: &[u8], total: u32) -> bool {
    let n = sizes_minus1.len() as u32;
    (0..n).all(|i| {
        let want = ((i + 1) * total) / n - (i * total) / n;
        u32::from(sizes_minus1[i as usize]) + 1 == want
    })
}

/// The PPS (7.3.2.3), Annex B. `sps` gives the sequence parameter set id and
/// the picture size in CTBs (for the tile layout).
pub fn pps(sps: &Sps, pps: &Pps, scaling: &ScalingMatrix) -> Result<Vec<u8>, SynthError> {
    check(sps)?;
    let f = pps.flags;
    let mut w = BitWriter::new();
    w.ue(u32::from(pps.pic_parameter_set_id));
    w.ue(u32::from(sps.seq_parameter_set_id));
    w.bit(f.contains(PpsFlags::DEPENDENT_SLICE_SEGMENT_ENABLED));
    w.bit(f.contains(PpsFlags::OUTPUT_FLAG_PRESENT));
    w.bits(3, u32::from(pps.num_extra_slice_header_bits));
    w.bit(f.contains(PpsFlags::SIGN_DATA_HIDING_ENABLED));
    w.bit(f.contains(PpsFlags::CABAC_INIT_PRESENT));
    w.ue(u32::from(pps.num_ref_idx_l0_default_active_minus1));
    w.ue(u32::from(pps.num_ref_idx_l1_default_active_minus1));
    w.se(i32::from(pps.init_qp_minus26));
    w.bit(f.contains(PpsFlags::CONSTRAINED_INTRA_PRED));
    w.bit(f.contains(PpsFlags::TRANSFORM_SKIP_ENABLED));
    w.bit(f.contains(PpsFlags::CU_QP_DELTA_ENABLED));
    if f.contains(PpsFlags::CU_QP_DELTA_ENABLED) {
        w.ue(u32::from(pps.diff_cu_qp_delta_depth));
    }
    w.se(i32::from(pps.pps_cb_qp_offset));
    w.se(i32::from(pps.pps_cr_qp_offset));
    w.bit(f.contains(PpsFlags::PPS_SLICE_CHROMA_QP_OFFSETS_PRESENT));
    w.bit(f.contains(PpsFlags::WEIGHTED_PRED));
    w.bit(f.contains(PpsFlags::WEIGHTED_BIPRED));
    w.bit(f.contains(PpsFlags::TRANSQUANT_BYPASS_ENABLED));
    w.bit(f.contains(PpsFlags::TILES_ENABLED));
    w.bit(f.contains(PpsFlags::ENTROPY_CODING_SYNC_ENABLED));
    if f.contains(PpsFlags::TILES_ENABLED) {
        let cols = usize::from(pps.num_tile_columns_minus1) + 1;
        let rows = usize::from(pps.num_tile_rows_minus1) + 1;
        w.ue(u32::from(pps.num_tile_columns_minus1));
        w.ue(u32::from(pps.num_tile_rows_minus1));
        let (w_ctbs, h_ctbs) = sps
            .pic_size_in_ctbs()
            .ok_or(SynthError::CtbSize(sps.ctb_log2()))?;
        let col = &pps.column_width_minus1[..cols.min(20)];
        let row = &pps.row_height_minus1[..rows.min(22)];
        // Uniform spacing when the sizes are the uniform ones, whatever the
        // flag says (the explicit sizes are sent either way).
        let uni = uniform(col, w_ctbs) && uniform(row, h_ctbs);
        w.bit(uni);
        if !uni {
            for &c in &col[..cols - 1] {
                w.ue(u32::from(c));
            }
            for &r in &row[..rows - 1] {
                w.ue(u32::from(r));
            }
        }
        w.bit(f.contains(PpsFlags::LOOP_FILTER_ACROSS_TILES_ENABLED));
    }
    w.bit(f.contains(PpsFlags::PPS_LOOP_FILTER_ACROSS_SLICES_ENABLED));
    w.bit(f.contains(PpsFlags::DEBLOCKING_FILTER_CONTROL_PRESENT));
    if f.contains(PpsFlags::DEBLOCKING_FILTER_CONTROL_PRESENT) {
        w.bit(f.contains(PpsFlags::DEBLOCKING_FILTER_OVERRIDE_ENABLED));
        w.bit(f.contains(PpsFlags::PPS_DISABLE_DEBLOCKING_FILTER));
        if !f.contains(PpsFlags::PPS_DISABLE_DEBLOCKING_FILTER) {
            w.se(i32::from(pps.pps_beta_offset_div2));
            w.se(i32::from(pps.pps_tc_offset_div2));
        }
    }
    let lists = sps.flags.contains(SpsFlags::SCALING_LIST_ENABLED);
    w.bit(lists); // pps_scaling_list_data_present_flag
    if lists {
        scaling_list_data(&mut w, scaling)?;
    }
    w.bit(f.contains(PpsFlags::LISTS_MODIFICATION_PRESENT));
    w.ue(u32::from(pps.log2_parallel_merge_level_minus2));
    w.bit(f.contains(PpsFlags::SLICE_SEGMENT_HEADER_EXTENSION_PRESENT));
    w.bit(false); // pps_extension_present_flag
    w.trailing();
    let mut out = Vec::new();
    push_nal(&mut out, &nal_header(PPS_NUT), &w.into_bytes());
    Ok(out)
}
