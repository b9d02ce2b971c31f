//! Cross-checks of the HEVC controls against the slice segment headers of the request
//! and against the pictures this context decoded.
//!
//! Every slice segment header is parsed completely (7.3.6.1, up to byte_alignment())
//! with the SPS/PPS controls — the values the synthesized parameter sets carry. The
//! 6.12 controls do not carry the SPS's st_ref_pic_set()s, its long-term pictures or
//! any range/SCC extension, so:
//! - a slice that uses an SPS RPS (short_term_ref_pic_set_sps_flag), or codes its own
//!   RPS predicted from one (inter_ref_pic_set_prediction_flag), has an RPS we do not
//!   know: its st_ref_pic_set() is parsed (the prediction with
//!   `DECODE_PARAMS.num_delta_pocs_of_ref_rps_idx`), but PocStCurrBefore / After / Foll
//!   are not derived, and NumPicTotalCurr (the width of list_entry_lX) comes from the
//!   controls' `num_poc_*` counts. The st Curr entries are then only checked for order
//!   (before: below the current POC, nearest first; after: above it, nearest first);
//! - a slice with lt_idx_sps entries (SPS long-term pictures) is refused: its header
//!   cannot be parsed (used_by_curr_pic_lt_sps_flag is in the SPS only), and the engine
//!   cannot rewrite it either;
//! - range and SCC extension syntax (chroma_qp_offset_list_enabled_flag,
//!   pps_slice_act_qp_offsets_present_flag, motion_vector_resolution_control_idc,
//!   pps_curr_pic_ref_enabled_flag) is taken as absent, as the controls cannot say
//!   otherwise.
//!
//! Order counts (8.3.1) and the RPS (8.3.2) come from the slice headers and our own
//! history (prevTid0Pic, the pictures decoded since the last IRAP with
//! NoRaslOutputFlag 1, by timestamp), never from control values: a wrong control is
//! reported in the request that carries it and does not change later checks.
//!
//! Slice-based mode: a request whose first segment has first_slice_segment_in_pic_flag
//! 0 continues the picture of the request before with the same timestamp (its POC, its
//! first segment for DECODE_PARAMS, its last independent segment for dependent ones).
//!
//! NoRaslOutputFlag is 1 for IDR and BLA pictures and for the first picture after the
//! start or [`Checker`] reset; end of sequence NAL units are not looked for (the builder
//! sends slice segments only), so a CRA after one is taken as NoRaslOutputFlag 0.
//!
//! Not checked: the reference picture lists (`ref_idx_l0/l1`), the prediction weight
//! table, the QP / deblocking / merge fields of SLICE_PARAMS, ENTRY_POINT_OFFSETS'
//! values (only their count, `num_entry_point_offsets`), and whether the DPB holds
//! pictures outside the RPS (harmless for decoding). PocStFoll / PocLtFoll are derived
//! but only feed the RPS of [`SliceHeader`].

use std::collections::VecDeque;

use ctrls::build::annexb::NalIter;
use ctrls::hevc::{
    DecodeFlags, DecodeParams, DpbEntry, DpbEntryFlags, ExtSpsLtRps, ExtSpsStRps, Pps, PpsFlags,
    SliceFlags, SliceParams, Sps, SpsFlags,
};

use super::slice::{ceil_log2, Reader, SliceError};
use crate::codec::bitwriter::unescape;
use crate::request::Mismatch;

/// slice_type values (Table 7-7).
pub const SLICE_B: u32 = 0;
pub const SLICE_P: u32 = 1;
pub const SLICE_I: u32 = 2;

/// A short-term RPS: delta POCs nearest first, with used_by_curr_pic flags.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StSet {
    pub negative: Vec<(i32, bool)>,
    pub positive: Vec<(i32, bool)>,
}

/// One long-term entry of a slice header (lt_idx_sps entries are refused).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LtEntry {
    pub poc_lsb: u32,
    pub used: bool,
    /// DeltaPocMsbCycleLt when delta_poc_msb_present_flag is 1.
    pub msb_cycle: Option<u32>,
}

/// The SPS RPS tables (EXT_SPS_ST_RPS / LT_RPS, when the client set them)
/// against the SPS control: one element per set the SPS counts, long-term
/// POC LSBs that fit log2_max_pic_order_cnt_lsb bits, and inter RPS
/// prediction only from an earlier set (7.4.8: delta_idx_minus1 < stRpsIdx).
pub fn ext_sps_rps(sps: &Sps, st: &[ExtSpsStRps], lt: &[ExtSpsLtRps], out: &mut Vec<Mismatch>) {
    let mut push = |field: String, expected: String, got: String| {
        out.push(Mismatch {
            field,
            expected,
            got,
        })
    };
    if !st.is_empty() && st.len() != usize::from(sps.num_short_term_ref_pic_sets) {
        push(
            "HEVC_EXT_SPS_ST_RPS.elems".into(),
            format!(
                "{} (HEVC_SPS.num_short_term_ref_pic_sets)",
                sps.num_short_term_ref_pic_sets
            ),
            st.len().to_string(),
        );
    }
    for (i, s) in st.iter().enumerate() {
        let inter = s
            .flags
            .contains(ctrls::hevc::ExtSpsStRpsFlags::INTER_REF_PIC_SET_PRED);
        if inter && (i == 0 || usize::from(s.delta_idx_minus1) >= i) {
            push(
                format!("HEVC_EXT_SPS_ST_RPS[{i}].delta_idx_minus1"),
                format!("< {i} (an earlier set; none before set 0)"),
                if i == 0 {
                    "INTER_REF_PIC_SET_PRED on set 0".into()
                } else {
                    s.delta_idx_minus1.to_string()
                },
            );
        }
    }
    let n_lt = if sps.flags.contains(SpsFlags::LONG_TERM_REF_PICS_PRESENT) {
        usize::from(sps.num_long_term_ref_pics_sps)
    } else {
        0
    };
    if !lt.is_empty() && lt.len() != n_lt {
        push(
            "HEVC_EXT_SPS_LT_RPS.elems".into(),
            format!("{n_lt} (HEVC_SPS.num_long_term_ref_pics_sps)"),
            lt.len().to_string(),
        );
    }
    let max_lsb = 1u32 << (u32::from(sps.log2_max_pic_order_cnt_lsb_minus4).min(12) + 4);
    for (i, l) in lt.iter().enumerate() {
        if u32::from(l.lt_ref_pic_poc_lsb_sps) >= max_lsb {
            push(
                format!("HEVC_EXT_SPS_LT_RPS[{i}].lt_ref_pic_poc_lsb_sps"),
                format!("< {max_lsb} (MaxPicOrderCntLsb)"),
                l.lt_ref_pic_poc_lsb_sps.to_string(),
            );
        }
    }
}

/// What the checker reads from one slice segment header.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SliceHeader {
    pub nal_type: u8,
    pub temporal_id: u8,
    pub first_slice_segment_in_pic: bool,
    pub no_output_of_prior_pics: bool,
    pub dependent: bool,
    pub segment_address: u32,
    pub slice_type: u32,
    pub pic_output: bool,
    pub colour_plane_id: u8,
    pub poc_lsb: u32,
    pub st_rps_sps: bool,
    pub st_rps_idx: u32,
    /// RBSP bits of the slice's own st_ref_pic_set() (0 with an SPS set).
    pub st_rps_bits: u32,
    /// The slice's RPS when it codes it explicitly (None: an SPS set or a prediction).
    pub st: Option<StSet>,
    /// RBSP bits from num_long_term_sps to the last delta_poc_msb_cycle_lt.
    pub lt_rps_bits: u32,
    pub lt: Vec<LtEntry>,
    pub temporal_mvp: bool,
    pub sao_luma: bool,
    pub sao_chroma: bool,
    pub num_ref_idx_l0_active_minus1: u32,
    pub num_ref_idx_l1_active_minus1: u32,
    pub num_entry_point_offsets: u32,
    /// RBSP bytes of the NAL unit header and the slice segment header (byte_alignment()
    /// included).
    pub header_bytes: usize,
}

impl SliceHeader {
    fn is_irap(&self) -> bool {
        (16..=23).contains(&self.nal_type)
    }

    fn is_idr(&self) -> bool {
        matches!(self.nal_type, 19 | 20)
    }
}

/// What the controls say where the slice header alone cannot (see the module doc).
#[derive(Debug, Clone, Copy, Default)]
pub struct ParseHints {
    /// DECODE_PARAMS.num_delta_pocs_of_ref_rps_idx.
    pub num_delta_pocs_of_ref_rps_idx: u32,
    /// num_poc_st_curr_before + num_poc_st_curr_after (for NumPicTotalCurr).
    pub num_st_curr: u32,
}

/// A dependent slice segment takes the slice header fields of the independent one.
fn inherit(own: &mut SliceHeader, from: &SliceHeader) {
    let keep = (
        own.segment_address,
        own.num_entry_point_offsets,
        own.header_bytes,
    );
    *own = SliceHeader {
        first_slice_segment_in_pic: false,
        dependent: true,
        no_output_of_prior_pics: own.no_output_of_prior_pics,
        nal_type: own.nal_type,
        temporal_id: own.temporal_id,
        st_rps_bits: 0,
        lt_rps_bits: 0,
        ..from.clone()
    };
    (
        own.segment_address,
        own.num_entry_point_offsets,
        own.header_bytes,
    ) = keep;
}

fn st_ref_pic_set(
    r: &mut Reader<'_>,
    sps: &Sps,
    hints: &ParseHints,
) -> Result<Option<StSet>, SliceError> {
    let idx = u32::from(sps.num_short_term_ref_pic_sets);
    let inter = idx != 0 && r.bit("inter_ref_pic_set_prediction_flag")?;
    if inter {
        r.ue("delta_idx_minus1")?;
        r.bit("delta_rps_sign")?;
        r.ue("abs_delta_rps_minus1")?;
        for _ in 0..=hints.num_delta_pocs_of_ref_rps_idx.min(32) {
            if !r.bit("used_by_curr_pic_flag")? {
                r.bit("use_delta_flag")?;
            }
        }
        return Ok(None);
    }
    let neg = r.ue("num_negative_pics")?;
    let pos = r.ue("num_positive_pics")?;
    if neg > 16 || pos > 16 || neg + pos > 16 {
        return Err(SliceError::Truncated(
            "st_ref_pic_set (more than 16 pictures)",
        ));
    }
    let mut set = StSet::default();
    let mut d = 0i32;
    for _ in 0..neg {
        d -= r.ue("delta_poc_s0_minus1")?.min(1 << 16) as i32 + 1;
        set.negative.push((d, r.bit("used_by_curr_pic_s0_flag")?));
    }
    d = 0;
    for _ in 0..pos {
        d += r.ue("delta_poc_s1_minus1")?.min(1 << 16) as i32 + 1;
        set.positive.push((d, r.bit("used_by_curr_pic_s1_flag")?));
    }
    Ok(Some(set))
}

fn pred_weight_table(r: &mut Reader<'_>, chroma: bool, lists: &[u32]) -> Result<(), SliceError> {
    r.ue("luma_log2_weight_denom")?;
    if chroma {
        r.se("delta_chroma_log2_weight_denom")?;
    }
    for &n in lists {
        let n = n as usize + 1;
        // In one layer without SCC no reference has the current picture's POC: every
        // luma_weight_lX_flag is coded.
        let mut luma = [false; 16];
        let mut chr = [false; 16];
        for l in luma.iter_mut().take(n) {
            *l = r.bit("luma_weight_lX_flag")?;
        }
        if chroma {
            for c in chr.iter_mut().take(n) {
                *c = r.bit("chroma_weight_lX_flag")?;
            }
        }
        for i in 0..n {
            if luma[i] {
                r.se("delta_luma_weight_lX")?;
                r.se("luma_offset_lX")?;
            }
            if chr[i] {
                for _ in 0..2 {
                    r.se("delta_chroma_weight_lX")?;
                    r.se("delta_chroma_offset_lX")?;
                }
            }
        }
    }
    Ok(())
}

/// Parses the slice segment NAL unit `nal` (no start code, emulation prevention kept)
/// per 7.3.6.1. `independent`: the header of the independent slice segment before it
/// in the picture (for a dependent one).
pub fn parse(
    nal: &[u8],
    sps: &Sps,
    pps: &Pps,
    hints: &ParseHints,
    independent: Option<&SliceHeader>,
) -> Result<SliceHeader, SliceError> {
    if nal.len() < 3 {
        return Err(SliceError::Short(nal.len()));
    }
    let rbsp = unescape(nal);
    let mut h = SliceHeader {
        nal_type: (rbsp[0] >> 1) & 0x3f,
        temporal_id: (rbsp[1] & 7).saturating_sub(1),
        ..Default::default()
    };
    let mut r = Reader::new(&rbsp, rbsp.len() * 8);
    r.pos = 16;
    h.first_slice_segment_in_pic = r.bit("first_slice_segment_in_pic_flag")?;
    if h.is_irap() {
        h.no_output_of_prior_pics = r.bit("no_output_of_prior_pics_flag")?;
    }
    r.ue("slice_pic_parameter_set_id")?;
    if !h.first_slice_segment_in_pic {
        if pps
            .flags
            .contains(PpsFlags::DEPENDENT_SLICE_SEGMENT_ENABLED)
        {
            h.dependent = r.bit("dependent_slice_segment_flag")?;
        }
        let (w, hh) = sps
            .pic_size_in_ctbs()
            .ok_or(SliceError::CtbSize(sps.ctb_log2()))?;
        h.segment_address = r.bits(ceil_log2(w * hh), "slice_segment_address")?;
    }
    let chroma_array_type = if sps.flags.contains(SpsFlags::SEPARATE_COLOUR_PLANE) {
        0
    } else {
        sps.chroma_format_idc
    };
    if h.dependent {
        let Some(ind) = independent else {
            return Err(SliceError::Truncated(
                "dependent slice segment without an independent one before it",
            ));
        };
        inherit(&mut h, ind);
    } else {
        r.bits(
            u32::from(pps.num_extra_slice_header_bits),
            "slice_reserved_flag",
        )?;
        h.slice_type = r.ue("slice_type")?;
        if h.slice_type > SLICE_I {
            return Err(SliceError::Truncated("slice_type (above 2)"));
        }
        h.pic_output = true;
        if pps.flags.contains(PpsFlags::OUTPUT_FLAG_PRESENT) {
            h.pic_output = r.bit("pic_output_flag")?;
        }
        if sps.flags.contains(SpsFlags::SEPARATE_COLOUR_PLANE) {
            h.colour_plane_id = r.bits(2, "colour_plane_id")? as u8;
        }
        let mut num_pic_total_curr = None;
        if !h.is_idr() {
            h.poc_lsb = r.bits(
                u32::from(sps.log2_max_pic_order_cnt_lsb_minus4) + 4,
                "slice_pic_order_cnt_lsb",
            )?;
            h.st_rps_sps = r.bit("short_term_ref_pic_set_sps_flag")?;
            if !h.st_rps_sps {
                let at = r.pos;
                h.st = st_ref_pic_set(&mut r, sps, hints)?;
                h.st_rps_bits = (r.pos - at) as u32;
            } else if sps.num_short_term_ref_pic_sets > 1 {
                h.st_rps_idx = r.bits(
                    ceil_log2(u32::from(sps.num_short_term_ref_pic_sets)),
                    "short_term_ref_pic_set_idx",
                )?;
            }
            if sps.flags.contains(SpsFlags::LONG_TERM_REF_PICS_PRESENT) {
                let at = r.pos;
                let mut n_sps = 0;
                if sps.num_long_term_ref_pics_sps > 0 {
                    n_sps = r.ue("num_long_term_sps")?;
                }
                if n_sps > 0 {
                    return Err(SliceError::SpsLongTerm(n_sps));
                }
                let n = r.ue("num_long_term_pics")?;
                if n > 16 {
                    return Err(SliceError::Truncated("num_long_term_pics (above 16)"));
                }
                let mut cycle = 0u32;
                for i in 0..n {
                    let poc_lsb = r.bits(
                        u32::from(sps.log2_max_pic_order_cnt_lsb_minus4) + 4,
                        "poc_lsb_lt",
                    )?;
                    let used = r.bit("used_by_curr_pic_lt_flag")?;
                    let msb_cycle = if r.bit("delta_poc_msb_present_flag")? {
                        let d = r.ue("delta_poc_msb_cycle_lt")?;
                        // 7-52: accumulated within the slice's own entries.
                        cycle = if i == 0 { d } else { cycle.saturating_add(d) };
                        Some(cycle)
                    } else {
                        if i == 0 {
                            cycle = 0;
                        }
                        None
                    };
                    h.lt.push(LtEntry {
                        poc_lsb,
                        used,
                        msb_cycle,
                    });
                }
                h.lt_rps_bits = (r.pos - at) as u32;
            }
            if sps.flags.contains(SpsFlags::SPS_TEMPORAL_MVP_ENABLED) {
                h.temporal_mvp = r.bit("slice_temporal_mvp_enabled_flag")?;
            }
            let lt_used = h.lt.iter().filter(|e| e.used).count() as u32;
            num_pic_total_curr = Some(match &h.st {
                Some(s) => {
                    s.negative.iter().chain(&s.positive).filter(|e| e.1).count() as u32 + lt_used
                }
                None => hints.num_st_curr + lt_used,
            });
        }
        if sps.flags.contains(SpsFlags::SAMPLE_ADAPTIVE_OFFSET) {
            h.sao_luma = r.bit("slice_sao_luma_flag")?;
            if chroma_array_type != 0 {
                h.sao_chroma = r.bit("slice_sao_chroma_flag")?;
            }
        }
        let b = h.slice_type == SLICE_B;
        if h.slice_type != SLICE_I {
            h.num_ref_idx_l0_active_minus1 = u32::from(pps.num_ref_idx_l0_default_active_minus1);
            h.num_ref_idx_l1_active_minus1 = u32::from(pps.num_ref_idx_l1_default_active_minus1);
            if r.bit("num_ref_idx_active_override_flag")? {
                h.num_ref_idx_l0_active_minus1 = r.ue("num_ref_idx_l0_active_minus1")?;
                if b {
                    h.num_ref_idx_l1_active_minus1 = r.ue("num_ref_idx_l1_active_minus1")?;
                }
            }
            if h.num_ref_idx_l0_active_minus1 > 14 || h.num_ref_idx_l1_active_minus1 > 14 {
                return Err(SliceError::Truncated(
                    "num_ref_idx_lX_active_minus1 (above 14)",
                ));
            }
            let total = num_pic_total_curr.unwrap_or(0);
            if pps.flags.contains(PpsFlags::LISTS_MODIFICATION_PRESENT) && total > 1 {
                let bits = ceil_log2(total);
                let mut lists = vec![h.num_ref_idx_l0_active_minus1];
                if b {
                    lists.push(h.num_ref_idx_l1_active_minus1);
                }
                for n in lists {
                    if r.bit("ref_pic_list_modification_flag_lX")? {
                        for _ in 0..=n {
                            r.bits(bits, "list_entry_lX")?;
                        }
                    }
                }
            }
            if b {
                r.bit("mvd_l1_zero_flag")?;
            }
            if pps.flags.contains(PpsFlags::CABAC_INIT_PRESENT) {
                r.bit("cabac_init_flag")?;
            }
            if h.temporal_mvp {
                let from_l0 = !b || r.bit("collocated_from_l0_flag")?;
                if (from_l0 && h.num_ref_idx_l0_active_minus1 > 0)
                    || (!from_l0 && h.num_ref_idx_l1_active_minus1 > 0)
                {
                    r.ue("collocated_ref_idx")?;
                }
            }
            let weighted = if b {
                pps.flags.contains(PpsFlags::WEIGHTED_BIPRED)
            } else {
                pps.flags.contains(PpsFlags::WEIGHTED_PRED)
            };
            if weighted {
                let lists = [
                    h.num_ref_idx_l0_active_minus1,
                    h.num_ref_idx_l1_active_minus1,
                ];
                pred_weight_table(&mut r, chroma_array_type != 0, &lists[..1 + usize::from(b)])?;
            }
            r.ue("five_minus_max_num_merge_cand")?;
        }
        r.se("slice_qp_delta")?;
        if pps
            .flags
            .contains(PpsFlags::PPS_SLICE_CHROMA_QP_OFFSETS_PRESENT)
        {
            r.se("slice_cb_qp_offset")?;
            r.se("slice_cr_qp_offset")?;
        }
        let mut deblocking_disabled = pps.flags.contains(PpsFlags::PPS_DISABLE_DEBLOCKING_FILTER);
        if pps
            .flags
            .contains(PpsFlags::DEBLOCKING_FILTER_OVERRIDE_ENABLED)
            && r.bit("deblocking_filter_override_flag")?
        {
            deblocking_disabled = r.bit("slice_deblocking_filter_disabled_flag")?;
            if !deblocking_disabled {
                r.se("slice_beta_offset_div2")?;
                r.se("slice_tc_offset_div2")?;
            }
        }
        if pps
            .flags
            .contains(PpsFlags::PPS_LOOP_FILTER_ACROSS_SLICES_ENABLED)
            && (h.sao_luma || h.sao_chroma || !deblocking_disabled)
        {
            r.bit("slice_loop_filter_across_slices_enabled_flag")?;
        }
    }
    h.num_entry_point_offsets = 0;
    if pps
        .flags
        .intersects(PpsFlags::TILES_ENABLED | PpsFlags::ENTROPY_CODING_SYNC_ENABLED)
    {
        h.num_entry_point_offsets = r.ue("num_entry_point_offsets")?;
        if h.num_entry_point_offsets > 0 {
            let len = r.ue("offset_len_minus1")?;
            if len > 31 {
                return Err(SliceError::Truncated("offset_len_minus1 (above 31)"));
            }
            let (w, hh) = sps
                .pic_size_in_ctbs()
                .ok_or(SliceError::CtbSize(sps.ctb_log2()))?;
            if h.num_entry_point_offsets > w * hh {
                return Err(SliceError::Truncated(
                    "num_entry_point_offsets (above PicSizeInCtbsY)",
                ));
            }
            for _ in 0..h.num_entry_point_offsets {
                r.bits(len + 1, "entry_point_offset_minus1")?;
            }
        }
    }
    if pps
        .flags
        .contains(PpsFlags::SLICE_SEGMENT_HEADER_EXTENSION_PRESENT)
    {
        let n = r.ue("slice_segment_header_extension_length")?;
        if n > 256 {
            return Err(SliceError::Truncated(
                "slice_segment_header_extension_length (above 256)",
            ));
        }
        for _ in 0..n {
            r.bits(8, "slice_segment_header_extension_data_byte")?;
        }
    }
    // byte_alignment(): alignment_bit_equal_to_one, then zero bits.
    if !r.bit("byte_alignment()")? {
        return Err(SliceError::NoAlignment);
    }
    while !r.pos.is_multiple_of(8) {
        if r.bit("byte_alignment()")? {
            return Err(SliceError::NoAlignment);
        }
    }
    h.header_bytes = r.pos / 8;
    Ok(h)
}

/// The current picture's RPS (8.3.2), as POCs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Rps {
    /// None: the short-term part is not known (an SPS set or a predicted one).
    pub st_curr_before: Option<Vec<i32>>,
    pub st_curr_after: Option<Vec<i32>>,
    pub st_foll: Option<Vec<i32>>,
    /// (POC, or POC LSB when the MSB is not coded; whether it is a full POC).
    pub lt_curr: Vec<(i32, bool)>,
    pub lt_foll: Vec<(i32, bool)>,
}

/// 8.3.2 (8-5): the RPS of a picture with order count `poc` from its slice header.
pub fn derive_rps(h: &SliceHeader, poc: i32, max_lsb: i32) -> Rps {
    let mut rps = Rps::default();
    if h.is_idr() {
        rps.st_curr_before = Some(Vec::new());
        rps.st_curr_after = Some(Vec::new());
        rps.st_foll = Some(Vec::new());
        return rps;
    }
    if let Some(st) = &h.st {
        let (mut b, mut a, mut f) = (Vec::new(), Vec::new(), Vec::new());
        for &(d, used) in &st.negative {
            if used { &mut b } else { &mut f }.push(poc.wrapping_add(d));
        }
        for &(d, used) in &st.positive {
            if used { &mut a } else { &mut f }.push(poc.wrapping_add(d));
        }
        rps.st_curr_before = Some(b);
        rps.st_curr_after = Some(a);
        rps.st_foll = Some(f);
    }
    for e in &h.lt {
        let v = match e.msb_cycle {
            Some(c) => (
                (poc as i64 - i64::from(c) * i64::from(max_lsb) - i64::from(poc & (max_lsb - 1))
                    + i64::from(e.poc_lsb)) as i32,
                true,
            ),
            None => (e.poc_lsb as i32, false),
        };
        if e.used {
            rps.lt_curr.push(v);
        } else {
            rps.lt_foll.push(v);
        }
    }
    rps
}

/// What a request's first slice says about its picture, for [`Checker::record`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PicSummary {
    pub poc: i32,
    /// The picture is prevTid0Pic for the next one.
    pub tid0: bool,
}

/// The slice segments of one request.
pub struct Slices<'a> {
    /// The OUTPUT buffer.
    pub data: &'a [u8],
    /// Each SLICE_PARAMS with its NAL unit (no start code); empty when the client sent
    /// no SLICE_PARAMS (the NAL units of `data` are read then).
    pub located: &'a [(&'a SliceParams, &'a [u8])],
    pub timestamp: u64,
    /// Slice-based mode: a request may continue the picture of the one before (same
    /// timestamp, first_slice_segment_in_pic_flag 0).
    pub slice_based: bool,
    /// Bytes of start code before each NAL unit: 3 (START_CODE ANNEX_B) or 0 (NONE);
    /// `data_byte_offset` counts them.
    pub start_code_len: u32,
}

/// The picture whose slices are being checked (slice-based mode: across requests).
#[derive(Debug, Clone)]
struct OpenPicture {
    timestamp: u64,
    first: SliceHeader,
    /// The last independent slice segment's header (for dependent ones).
    independent: SliceHeader,
    poc: i32,
    max_lsb: i32,
}

/// Tracks the pictures one context decoded and the POC decoding state.
#[derive(Default)]
pub struct Checker {
    /// The picture of the last checked request.
    open: Option<OpenPicture>,
    /// (timestamp, PicOrderCntVal) of the pictures decoded since the last IRAP with
    /// NoRaslOutputFlag 1 (its references are gone after it), oldest first.
    pics: VecDeque<(u64, i32)>,
    /// PicOrderCntVal of prevTid0Pic.
    prev_tid0_poc: i32,
    /// A picture was decoded since the start / reset.
    started: bool,
}

/// How many decoded pictures we remember for the DPB checks (a DPB holds at most 16).
const TRACKED: usize = 64;

fn push(out: &mut Vec<Mismatch>, field: String, expected: impl ToString, got: impl ToString) {
    out.push(Mismatch {
        field,
        expected: expected.to_string(),
        got: got.to_string(),
    });
}

fn cmp<T: PartialEq + ToString>(
    out: &mut Vec<Mismatch>,
    field: impl FnOnce() -> String,
    expected: T,
    got: T,
) {
    if expected != got {
        push(out, field(), expected, got);
    }
}

const D: &str = "HEVC_DECODE_PARAMS";

impl Checker {
    /// Parses the request's slice segment headers (located by `params`, the
    /// SLICE_PARAMS, or as Annex B NAL units without them), compares them with the
    /// controls and the DPB with the pictures decoded before. Fails when a slice header
    /// cannot be parsed or the request holds no slice.
    pub fn check(
        &mut self,
        req: &Slices<'_>,
        sps: &Sps,
        pps: &Pps,
        dp: &DecodeParams,
        out: &mut Vec<Mismatch>,
    ) -> Result<PicSummary, String> {
        let (data, params) = (req.data, req.located);
        // Slice-based mode: the rest of the picture the last request started.
        let open = self
            .open
            .take()
            .filter(|o| req.slice_based && o.timestamp == req.timestamp);
        let hints = ParseHints {
            num_delta_pocs_of_ref_rps_idx: u32::from(dp.num_delta_pocs_of_ref_rps_idx),
            num_st_curr: u32::from(dp.num_poc_st_curr_before) + u32::from(dp.num_poc_st_curr_after),
        };
        let mut headers = Vec::new();
        let mut independent: Option<SliceHeader> = open.as_ref().map(|o| o.independent.clone());
        let mut one = |i: usize, nal: &[u8], at: usize| -> Result<SliceHeader, String> {
            let h = parse(nal, sps, pps, &hints, independent.as_ref())
                .map_err(|e| format!("slice {i} (byte {at}): {e}"))?;
            if !h.dependent {
                independent = Some(h.clone());
            }
            Ok(h)
        };
        if params.is_empty() {
            for nal in NalIter::new(data, 0) {
                if nal.data.len() >= 2
                    && nal.hevc_type() <= 21
                    && !(10..=15).contains(&nal.hevc_type())
                {
                    // Base layer only (nuh_layer_id 0).
                    if ((nal.data[0] & 1) << 5) | (nal.data[1] >> 3) != 0 {
                        continue;
                    }
                    let i = headers.len();
                    headers.push((None, one(i, nal.data, nal.offset)?));
                }
            }
        } else {
            let mut at = 0;
            for (i, (sp, nal)) in params.iter().enumerate() {
                headers.push((Some(*sp), one(i, nal, at)?));
                at += (sp.bit_size / 8) as usize;
            }
        }
        let Some((_, head)) = headers.first() else {
            return Err("no slice segment NAL unit in the OUTPUT buffer".into());
        };
        let continues = !head.first_slice_segment_in_pic;
        if continues && open.is_none() {
            return Err(if req.slice_based {
                "the request's first slice segment has first_slice_segment_in_pic_flag 0, \
                 and continues no picture of an earlier request with its timestamp"
                    .into()
            } else {
                "the first slice segment of the request has first_slice_segment_in_pic_flag 0 \
                 (frame-based mode: one whole picture per request)"
                    .into()
            });
        }
        if let Some(i) = headers
            .iter()
            .skip(1)
            .position(|(_, h)| h.first_slice_segment_in_pic)
        {
            return Err(format!(
                "slice {} starts a second picture (first_slice_segment_in_pic_flag 1): \
                 a request holds slices of one picture",
                i + 1
            ));
        }
        let last_independent = headers
            .iter()
            .rev()
            .find(|(_, h)| !h.dependent)
            .map(|(_, h)| h.clone());
        let (first, poc) = match open {
            Some(o) if continues => {
                // DECODE_PARAMS are the picture's: checked again, against its first
                // slice and the same history.
                let (poc, max_lsb) = (o.poc, o.max_lsb);
                let rps = derive_rps(&o.first, poc, max_lsb);
                self.check_params(dp, &o.first, poc, max_lsb, &rps, out);
                let ind = last_independent.unwrap_or_else(|| o.independent.clone());
                self.open = Some(OpenPicture {
                    independent: ind,
                    ..o.clone()
                });
                (o.first, poc)
            }
            _ => {
                let first = head.clone();
                let (poc, max_lsb) = self.start_picture(&first, sps);
                let rps = derive_rps(&first, poc, max_lsb);
                self.check_params(dp, &first, poc, max_lsb, &rps, out);
                self.open = Some(OpenPicture {
                    timestamp: req.timestamp,
                    first: first.clone(),
                    independent: last_independent.unwrap_or_else(|| first.clone()),
                    poc,
                    max_lsb,
                });
                (first, poc)
            }
        };

        self.check_slice_params(&headers, poc, req.start_code_len, out);
        let tid0 = first.temporal_id == 0
            && !matches!(first.nal_type, 6..=9)
            && !(first.nal_type < 16 && first.nal_type.is_multiple_of(2));
        Ok(PicSummary { poc, tid0 })
    }

    /// 8.3.1: PicOrderCntVal of a picture whose first slice segment is `first`, and
    /// MaxPicOrderCntLsb. An IRAP picture with NoRaslOutputFlag 1 drops the tracked
    /// references.
    fn start_picture(&mut self, first: &SliceHeader, sps: &Sps) -> (i32, i32) {
        let irap = first.is_irap();
        let no_rasl = irap && (matches!(first.nal_type, 16..=20) || !self.started);
        let max_lsb = 1i32 << (u32::from(sps.log2_max_pic_order_cnt_lsb_minus4) + 4).min(16);
        let lsb = first.poc_lsb as i32;
        let msb = if no_rasl {
            0
        } else {
            let prev_lsb = self.prev_tid0_poc & (max_lsb - 1);
            let prev_msb = self.prev_tid0_poc.wrapping_sub(prev_lsb);
            if lsb < prev_lsb && prev_lsb - lsb >= max_lsb / 2 {
                prev_msb.wrapping_add(max_lsb)
            } else if lsb > prev_lsb && lsb - prev_lsb > max_lsb / 2 {
                prev_msb.wrapping_sub(max_lsb)
            } else {
                prev_msb
            }
        };
        let poc = msb.wrapping_add(lsb);
        if no_rasl {
            // All reference pictures are marked unused (8.3.2).
            self.pics.clear();
        }
        (poc, max_lsb)
    }

    /// DECODE_PARAMS against the picture's first slice segment, its RPS and the DPB.
    fn check_params(
        &self,
        dp: &DecodeParams,
        first: &SliceHeader,
        poc: i32,
        max_lsb: i32,
        rps: &Rps,
        out: &mut Vec<Mismatch>,
    ) {
        let irap = first.is_irap();
        cmp(
            out,
            || format!("{D}.pic_order_cnt_val"),
            poc,
            dp.pic_order_cnt_val,
        );
        let flag = |on: bool, name: &str, f: DecodeFlags, out: &mut Vec<Mismatch>| {
            if on != dp.flags.contains(f) {
                let s = |b: bool| if b { "set" } else { "clear" };
                push(out, format!("{D}.flags.{name}"), s(on), s(!on));
            }
        };
        flag(irap, "IRAP_PIC", DecodeFlags::IRAP_PIC, out);
        flag(first.is_idr(), "IDR_PIC", DecodeFlags::IDR_PIC, out);
        flag(
            first.no_output_of_prior_pics,
            "NO_OUTPUT_OF_PRIOR",
            DecodeFlags::NO_OUTPUT_OF_PRIOR,
            out,
        );
        cmp(
            out,
            || format!("{D}.short_term_ref_pic_set_size"),
            first.st_rps_bits,
            u32::from(dp.short_term_ref_pic_set_size),
        );
        cmp(
            out,
            || format!("{D}.long_term_ref_pic_set_size"),
            first.lt_rps_bits,
            u32::from(dp.long_term_ref_pic_set_size),
        );
        self.check_rps(dp, poc, max_lsb, rps, out);
        self.check_dpb(dp, out);
    }

    /// SLICE_PARAMS against each slice segment of the request.
    fn check_slice_params(
        &self,
        headers: &[(Option<&SliceParams>, SliceHeader)],
        poc: i32,
        start_code_len: u32,
        out: &mut Vec<Mismatch>,
    ) {
        for (i, (sp, h)) in headers.iter().enumerate() {
            let Some(sp) = sp else { continue };
            let f = |n: &str| format!("HEVC_SLICE_PARAMS[{i}].{n}");
            cmp(out, || f("nal_unit_type"), h.nal_type, sp.nal_unit_type);
            cmp(
                out,
                || f("nuh_temporal_id_plus1"),
                h.temporal_id + 1,
                sp.nuh_temporal_id_plus1,
            );
            cmp(
                out,
                || f("slice_type"),
                h.slice_type,
                u32::from(sp.slice_type),
            );
            cmp(
                out,
                || f("slice_pic_order_cnt"),
                poc,
                sp.slice_pic_order_cnt,
            );
            cmp(
                out,
                || f("slice_segment_addr"),
                h.segment_address,
                sp.slice_segment_addr,
            );
            cmp(
                out,
                || f("colour_plane_id"),
                h.colour_plane_id,
                sp.colour_plane_id,
            );
            if h.slice_type != SLICE_I {
                cmp(
                    out,
                    || f("num_ref_idx_l0_active_minus1"),
                    h.num_ref_idx_l0_active_minus1,
                    u32::from(sp.num_ref_idx_l0_active_minus1),
                );
            }
            if h.slice_type == SLICE_B {
                cmp(
                    out,
                    || f("num_ref_idx_l1_active_minus1"),
                    h.num_ref_idx_l1_active_minus1,
                    u32::from(sp.num_ref_idx_l1_active_minus1),
                );
            }
            cmp(
                out,
                || f("num_entry_point_offsets"),
                h.num_entry_point_offsets,
                sp.num_entry_point_offsets,
            );
            cmp(
                out,
                || f("data_byte_offset"),
                h.header_bytes as u32 + start_code_len,
                sp.data_byte_offset,
            );
            cmp(
                out,
                || f("short_term_ref_pic_set_size"),
                h.st_rps_bits,
                u32::from(sp.short_term_ref_pic_set_size),
            );
            cmp(
                out,
                || f("long_term_ref_pic_set_size"),
                h.lt_rps_bits,
                u32::from(sp.long_term_ref_pic_set_size),
            );
            for (on, name, fl) in [
                (h.sao_luma, "SLICE_SAO_LUMA", SliceFlags::SLICE_SAO_LUMA),
                (
                    h.sao_chroma,
                    "SLICE_SAO_CHROMA",
                    SliceFlags::SLICE_SAO_CHROMA,
                ),
                (
                    h.temporal_mvp,
                    "SLICE_TEMPORAL_MVP_ENABLED",
                    SliceFlags::SLICE_TEMPORAL_MVP_ENABLED,
                ),
                (
                    h.dependent,
                    "DEPENDENT_SLICE_SEGMENT",
                    SliceFlags::DEPENDENT_SLICE_SEGMENT,
                ),
            ] {
                if on != sp.flags.contains(fl) {
                    let s = |b: bool| if b { "set" } else { "clear" };
                    push(out, f(&format!("flags.{name}")), s(on), s(!on));
                }
            }
        }
    }

    /// PocStCurrBefore / After and PocLtCurr against the `num_poc_*` counts and the POCs
    /// of the DPB entries `poc_*` names.
    fn check_rps(
        &self,
        dp: &DecodeParams,
        poc: i32,
        max_lsb: i32,
        rps: &Rps,
        out: &mut Vec<Mismatch>,
    ) {
        let active = usize::from(dp.num_active_dpb_entries).min(dp.dpb.len());
        // The DPB entry index `list[j]` names: its POC, if it is an active entry.
        let entry = |name: &str, j: usize, idx: u8, out: &mut Vec<Mismatch>| {
            let idx = usize::from(idx);
            if idx < active {
                Some(&dp.dpb[idx])
            } else {
                push(
                    out,
                    format!("{D}.{name}[{j}]"),
                    format!("an active DPB index (below num_active_dpb_entries {active})"),
                    idx,
                );
                None
            }
        };
        for (name, count_name, expected, count, list, before) in [
            (
                "poc_st_curr_before",
                "num_poc_st_curr_before",
                &rps.st_curr_before,
                dp.num_poc_st_curr_before,
                &dp.poc_st_curr_before,
                true,
            ),
            (
                "poc_st_curr_after",
                "num_poc_st_curr_after",
                &rps.st_curr_after,
                dp.num_poc_st_curr_after,
                &dp.poc_st_curr_after,
                false,
            ),
        ] {
            let n = usize::from(count).min(list.len());
            match expected {
                Some(exp) => {
                    cmp(
                        out,
                        || format!("{D}.{count_name}"),
                        exp.len(),
                        usize::from(count),
                    );
                    for (j, (&idx, &want)) in list[..n].iter().zip(exp).enumerate() {
                        if let Some(e) = entry(name, j, idx, out) {
                            if e.pic_order_cnt_val != want {
                                push(
                                    out,
                                    format!("{D}.{name}[{j}]"),
                                    format!("the index of the DPB entry with POC {want}"),
                                    format!("{idx} (dpb[{idx}] has POC {})", e.pic_order_cnt_val),
                                );
                            }
                        }
                    }
                }
                None => {
                    // The set is not known: its order (8-5 lists nearest first) is.
                    let mut last = poc;
                    for (j, &idx) in list[..n].iter().enumerate() {
                        let Some(e) = entry(name, j, idx, out) else {
                            continue;
                        };
                        let p = e.pic_order_cnt_val;
                        let ok = if before { p < last } else { p > last };
                        if !ok {
                            push(
                                out,
                                format!("{D}.{name}[{j}]"),
                                format!(
                                    "a DPB entry with a POC {} {last}",
                                    if before { "below" } else { "above" }
                                ),
                                format!("{idx} (dpb[{idx}] has POC {p})"),
                            );
                        }
                        last = p;
                    }
                }
            }
        }
        cmp(
            out,
            || format!("{D}.num_poc_lt_curr"),
            rps.lt_curr.len(),
            usize::from(dp.num_poc_lt_curr),
        );
        let n = usize::from(dp.num_poc_lt_curr).min(dp.poc_lt_curr.len());
        for (j, (&idx, &(want, full))) in dp.poc_lt_curr[..n].iter().zip(&rps.lt_curr).enumerate() {
            let Some(e) = entry("poc_lt_curr", j, idx, out) else {
                continue;
            };
            let got = if full {
                e.pic_order_cnt_val
            } else {
                e.pic_order_cnt_val & (max_lsb - 1)
            };
            if got != want {
                push(
                    out,
                    format!("{D}.poc_lt_curr[{j}]"),
                    format!(
                        "the index of the DPB entry with POC {}{want}",
                        if full { "" } else { "LSB " }
                    ),
                    format!("{idx} (dpb[{idx}] has POC {})", e.pic_order_cnt_val),
                );
            } else if !e.flags.contains(DpbEntryFlags::LONG_TERM_REFERENCE) {
                push(
                    out,
                    format!("{D}.dpb[{idx}].flags"),
                    "LONG_TERM_REFERENCE (a PocLtCurr picture)",
                    format!("{:?}", e.flags),
                );
            }
        }
        // The other entries' marking (8.3.2): a short-term picture of the RPS is not
        // flagged long-term, a long-term one the picture does not use (LtFoll) is.
        let short: Vec<i32> = [&rps.st_curr_before, &rps.st_curr_after, &rps.st_foll]
            .into_iter()
            .flatten()
            .flatten()
            .copied()
            .collect();
        let is = |e: &DpbEntry, &(want, full): &(i32, bool)| {
            want == if full {
                e.pic_order_cnt_val
            } else {
                e.pic_order_cnt_val & (max_lsb - 1)
            }
        };
        for (i, e) in dp.dpb[..active].iter().enumerate() {
            let lt = e.flags.contains(DpbEntryFlags::LONG_TERM_REFERENCE);
            if lt && short.contains(&e.pic_order_cnt_val) {
                push(
                    out,
                    format!("{D}.dpb[{i}].flags"),
                    "no LONG_TERM_REFERENCE (a short-term picture of the RPS)",
                    format!("{:?}", e.flags),
                );
            } else if !lt
                && !short.contains(&e.pic_order_cnt_val)
                && rps.lt_foll.iter().any(|f| is(e, f))
            {
                push(
                    out,
                    format!("{D}.dpb[{i}].flags"),
                    "LONG_TERM_REFERENCE (a PocLtFoll picture)",
                    format!("{:?}", e.flags),
                );
            }
        }
    }

    /// The active DPB entries against the pictures this context decoded.
    fn check_dpb(&self, dp: &DecodeParams, out: &mut Vec<Mismatch>) {
        let active = usize::from(dp.num_active_dpb_entries).min(dp.dpb.len());
        for (i, e) in dp.dpb[..active].iter().enumerate() {
            match self.lookup(e.timestamp) {
                None => push(
                    out,
                    format!("{D}.dpb[{i}].timestamp"),
                    "the timestamp of a picture decoded by this context since its last \
                     IRAP picture with NoRaslOutputFlag 1",
                    e.timestamp,
                ),
                Some(p) => cmp(
                    out,
                    || format!("{D}.dpb[{i}].pic_order_cnt_val"),
                    p,
                    e.pic_order_cnt_val,
                ),
            }
        }
    }

    fn lookup(&self, ts: u64) -> Option<i32> {
        self.pics
            .iter()
            .rev()
            .find(|(t, _)| *t == ts)
            .map(|&(_, p)| p)
    }

    /// Records the picture decoded under `ts` (its POC from the bitstream, `s`).
    pub fn record(&mut self, ts: u64, s: PicSummary) {
        self.started = true;
        self.open = None;
        if s.tid0 {
            self.prev_tid0_poc = s.poc;
        }
        self.pics.retain(|(t, _)| *t != ts);
        self.pics.push_back((ts, s.poc));
        while self.pics.len() > TRACKED {
            self.pics.pop_front();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::bitwriter::{push_escaped, BitWriter};

    #[test]
    fn ext_sps_rps_tables_against_the_sps() {
        let mut sps = sps();
        sps.num_short_term_ref_pic_sets = 2;
        sps.num_long_term_ref_pics_sps = 1;
        let st = [
            ExtSpsStRps::default(),
            ExtSpsStRps {
                flags: ctrls::hevc::ExtSpsStRpsFlags::INTER_REF_PIC_SET_PRED,
                ..Default::default()
            },
        ];
        let lt = [ExtSpsLtRps {
            lt_ref_pic_poc_lsb_sps: 255,
            ..Default::default()
        }];
        let mut out = Vec::new();
        ext_sps_rps(&sps, &st, &lt, &mut out);
        assert_eq!(out, []);
        // One set short, prediction from a later set, an LSB of 9 bits, an LT
        // table with long-term references off in the SPS.
        let bad = [ExtSpsStRps {
            flags: ctrls::hevc::ExtSpsStRpsFlags::INTER_REF_PIC_SET_PRED,
            ..Default::default()
        }];
        let lt9 = [ExtSpsLtRps {
            lt_ref_pic_poc_lsb_sps: 256,
            ..Default::default()
        }];
        sps.flags.remove(SpsFlags::LONG_TERM_REF_PICS_PRESENT);
        ext_sps_rps(&sps, &bad, &lt9, &mut out);
        let fields: Vec<_> = out.iter().map(|m| m.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "HEVC_EXT_SPS_ST_RPS.elems",
                "HEVC_EXT_SPS_ST_RPS[0].delta_idx_minus1",
                "HEVC_EXT_SPS_LT_RPS.elems",
                "HEVC_EXT_SPS_LT_RPS[0].lt_ref_pic_poc_lsb_sps",
            ]
        );
        assert_eq!(out[0].got, "1");
        assert_eq!(out[2].expected, "0 (HEVC_SPS.num_long_term_ref_pics_sps)");
    }

    fn sps() -> Sps {
        Sps {
            pic_width_in_luma_samples: 64,
            pic_height_in_luma_samples: 64,
            log2_min_luma_coding_block_size_minus3: 0,
            log2_diff_max_min_luma_coding_block_size: 1, // 16x16 CTBs: 16 of them
            log2_max_pic_order_cnt_lsb_minus4: 4,        // 8-bit LSBs
            chroma_format_idc: 1,
            flags: SpsFlags::SAMPLE_ADAPTIVE_OFFSET | SpsFlags::LONG_TERM_REF_PICS_PRESENT,
            ..Default::default()
        }
    }

    /// A TRAIL_R slice NAL: P slice, POC LSB `lsb`, explicit RPS {-1 used, -3 not used,
    /// +2 used}, one long-term picture (LSB 5, used, no MSB), SAO luma only, override
    /// with num_ref_idx_l0_active_minus1 = 2.
    fn p_slice(lsb: u32) -> (Vec<u8>, u32, u32) {
        let mut w = BitWriter::new();
        w.bit(true); // first_slice_segment_in_pic_flag
        w.ue(0); // slice_pic_parameter_set_id
        w.ue(SLICE_P); // slice_type
        for i in (0..8).rev() {
            w.bit(lsb >> i & 1 != 0);
        }
        w.bit(false); // short_term_ref_pic_set_sps_flag
                      // st_ref_pic_set: num_negative 2, num_positive 1, then (delta_minus1, used):
                      // (0, 1) (1, 0) | (1, 1).
        let mut st_bits = 0;
        w.ue(2);
        w.ue(1);
        st_bits += 3 + 3;
        w.ue(0);
        w.bit(true);
        w.ue(1);
        w.bit(false);
        w.ue(1);
        w.bit(true);
        st_bits += 1 + 1 + 3 + 1 + 3 + 1;
        w.ue(1); // num_long_term_pics
        for i in (0..8).rev() {
            w.bit(5 >> i & 1 != 0); // poc_lsb_lt
        }
        w.bit(true); // used_by_curr_pic_lt_flag
        w.bit(false); // delta_poc_msb_present_flag
        let lt_bits = 3 + 8 + 1 + 1;
        w.bit(true); // slice_sao_luma_flag
        w.bit(false); // slice_sao_chroma_flag
        w.bit(true); // num_ref_idx_active_override_flag
        w.ue(2);
        w.ue(0); // five_minus_max_num_merge_cand
        w.se(-2); // slice_qp_delta
        w.trailing(); // byte_alignment()
        let mut nal = vec![1 << 1, 1]; // TRAIL_R, TemporalId 0
        push_escaped(&mut nal, &w.into_bytes());
        nal.extend_from_slice(&[0xaa, 0x55]);
        (nal, st_bits, lt_bits)
    }

    #[test]
    fn parses_a_p_slice_header_with_explicit_and_long_term_rps() {
        let (nal, st_bits, lt_bits) = p_slice(20);
        let h = parse(&nal, &sps(), &Pps::default(), &ParseHints::default(), None).unwrap();
        assert_eq!(h.nal_type, 1);
        assert!(h.first_slice_segment_in_pic && !h.dependent);
        assert_eq!(h.slice_type, SLICE_P);
        assert_eq!(h.poc_lsb, 20);
        assert_eq!(
            h.st,
            Some(StSet {
                negative: vec![(-1, true), (-3, false)],
                positive: vec![(2, true)],
            })
        );
        assert_eq!(h.st_rps_bits, st_bits);
        assert_eq!(h.lt_rps_bits, lt_bits);
        assert_eq!(
            h.lt,
            vec![LtEntry {
                poc_lsb: 5,
                used: true,
                msb_cycle: None
            }]
        );
        assert!(h.sao_luma && !h.sao_chroma);
        assert_eq!(h.num_ref_idx_l0_active_minus1, 2);
        // Everything up to byte_alignment() is read: the data follows.
        let rbsp = unescape(&nal);
        assert_eq!(&rbsp[h.header_bytes..], &[0xaa, 0x55]);

        let rps = derive_rps(&h, 20, 256);
        assert_eq!(rps.st_curr_before, Some(vec![19]));
        assert_eq!(rps.st_curr_after, Some(vec![22]));
        assert_eq!(rps.st_foll, Some(vec![17]));
        assert_eq!(rps.lt_curr, vec![(5, false)]);
    }

    #[test]
    fn truncated_header_is_an_error() {
        let (nal, _, _) = p_slice(20);
        let r = parse(
            &nal[..5],
            &sps(),
            &Pps::default(),
            &ParseHints::default(),
            None,
        );
        assert!(matches!(r, Err(SliceError::Truncated(_))), "{r:?}");
    }

    #[test]
    fn long_term_poc_with_msb_cycle() {
        let h = SliceHeader {
            nal_type: 1,
            lt: vec![LtEntry {
                poc_lsb: 10,
                used: false,
                msb_cycle: Some(1),
            }],
            ..Default::default()
        };
        // POC 300 (MSB 256): one cycle back, LSB 10 -> 10.
        let rps = derive_rps(&h, 300, 256);
        assert_eq!(rps.lt_foll, vec![(10, true)]);
        assert!(rps.st_curr_before.is_none());
    }

    fn frame<'a>(data: &'a [u8], located: &'a [(&'a SliceParams, &'a [u8])]) -> Slices<'a> {
        Slices {
            data,
            located,
            timestamp: 9000,
            slice_based: false,
            start_code_len: 3,
        }
    }

    fn dp_for(poc: i32, dpb: &[(u64, i32)]) -> DecodeParams {
        let mut dp = DecodeParams {
            pic_order_cnt_val: poc,
            num_active_dpb_entries: dpb.len() as u8,
            ..Default::default()
        };
        for (i, &(ts, p)) in dpb.iter().enumerate() {
            dp.dpb[i].timestamp = ts;
            dp.dpb[i].pic_order_cnt_val = p;
        }
        dp
    }

    #[test]
    fn poc_msb_wraps_and_dpb_is_checked_against_decoded_pictures() {
        let mut c = Checker {
            started: true,
            ..Default::default()
        };
        c.record(
            1000,
            PicSummary {
                poc: 250,
                tid0: true,
            },
        );
        c.record(
            2000,
            PicSummary {
                poc: 252,
                tid0: false,
            },
        );
        // LSB 20 after prevTid0Pic POC 250 (max 256): MSB 256, POC 276.
        let (nal, st_bits, lt_bits) = p_slice(20);
        let mut dp = dp_for(276, &[(1000, 250), (2000, 999)]);
        dp.short_term_ref_pic_set_size = st_bits as u16;
        dp.long_term_ref_pic_set_size = lt_bits as u16;
        let mut out = Vec::new();
        let s = c
            .check(&frame(&[], &[]), &sps(), &Pps::default(), &dp, &mut out)
            .unwrap_err();
        assert!(s.contains("no slice"), "{s}");
        let mut data = vec![0, 0, 1];
        data.extend_from_slice(&nal);
        let s = c
            .check(&frame(&data, &[]), &sps(), &Pps::default(), &dp, &mut out)
            .unwrap();
        assert_eq!(
            s,
            PicSummary {
                poc: 276,
                tid0: true
            }
        );
        let fields: Vec<&str> = out.iter().map(|m| m.field.as_str()).collect();
        assert!(fields.contains(&"HEVC_DECODE_PARAMS.dpb[1].pic_order_cnt_val"));
        assert!(fields.contains(&"HEVC_DECODE_PARAMS.num_poc_st_curr_before"));
        assert!(fields.contains(&"HEVC_DECODE_PARAMS.num_poc_lt_curr"));
        assert!(!fields.contains(&"HEVC_DECODE_PARAMS.pic_order_cnt_val"));
        assert!(!fields.contains(&"HEVC_DECODE_PARAMS.short_term_ref_pic_set_size"));

        // A DPB entry of a timestamp never decoded.
        let dp = dp_for(276, &[(5000, 250)]);
        let mut out = Vec::new();
        c.check(&frame(&data, &[]), &sps(), &Pps::default(), &dp, &mut out)
            .unwrap();
        assert!(out
            .iter()
            .any(|m| m.field == "HEVC_DECODE_PARAMS.dpb[0].timestamp" && m.got == "5000"));
    }

    #[test]
    fn matching_controls_give_no_mismatch() {
        let mut c = Checker {
            started: true,
            ..Default::default()
        };
        for (ts, poc) in [(1, 17), (2, 19), (3, 22), (4, 5)] {
            c.record(ts, PicSummary { poc, tid0: false });
        }
        c.prev_tid0_poc = 18;
        let (nal, st_bits, lt_bits) = p_slice(20);
        let mut dp = dp_for(20, &[(1, 17), (2, 19), (3, 22), (4, 5)]);
        dp.dpb[3].flags = DpbEntryFlags::LONG_TERM_REFERENCE;
        dp.num_poc_st_curr_before = 1;
        dp.poc_st_curr_before[0] = 1;
        dp.num_poc_st_curr_after = 1;
        dp.poc_st_curr_after[0] = 2;
        dp.num_poc_lt_curr = 1;
        dp.poc_lt_curr[0] = 3;
        dp.short_term_ref_pic_set_size = st_bits as u16;
        dp.long_term_ref_pic_set_size = lt_bits as u16;
        let rbsp_hdr = parse(&nal, &sps(), &Pps::default(), &ParseHints::default(), None)
            .unwrap()
            .header_bytes;
        let sp = SliceParams {
            bit_size: ((nal.len() + 3) * 8) as u32,
            data_byte_offset: rbsp_hdr as u32 + 3,
            nal_unit_type: 1,
            nuh_temporal_id_plus1: 1,
            slice_type: SLICE_P as u8,
            slice_pic_order_cnt: 20,
            num_ref_idx_l0_active_minus1: 2,
            short_term_ref_pic_set_size: st_bits as u16,
            long_term_ref_pic_set_size: lt_bits as u16,
            flags: SliceFlags::SLICE_SAO_LUMA,
            ..Default::default()
        };
        let mut out = Vec::new();
        c.check(
            &frame(&[], &[(&sp, &nal)]),
            &sps(),
            &Pps::default(),
            &dp,
            &mut out,
        )
        .unwrap();
        assert_eq!(out, vec![]);

        // The wrong long-term entry, and a wrong slice type.
        dp.dpb[3].flags = DpbEntryFlags::empty();
        let sp = SliceParams {
            slice_type: SLICE_B as u8,
            ..sp
        };
        c.check(
            &frame(&[], &[(&sp, &nal)]),
            &sps(),
            &Pps::default(),
            &dp,
            &mut out,
        )
        .unwrap();
        let fields: Vec<&str> = out.iter().map(|m| m.field.as_str()).collect();
        assert_eq!(
            fields,
            vec![
                "HEVC_DECODE_PARAMS.dpb[3].flags",
                "HEVC_SLICE_PARAMS[0].slice_type"
            ]
        );
    }

    #[test]
    fn dependent_segment_takes_the_independent_header() {
        let pps = Pps {
            flags: PpsFlags::DEPENDENT_SLICE_SEGMENT_ENABLED,
            ..Default::default()
        };
        let (nal, _, _) = p_slice(20);
        let ind = parse(&nal, &sps(), &pps, &ParseHints::default(), None);
        // p_slice has no dependent_slice_segment_flag (it is the first segment).
        let ind = ind.unwrap();
        let mut w = BitWriter::new();
        w.bit(false); // first_slice_segment_in_pic_flag
        w.ue(0); // slice_pic_parameter_set_id
        w.bit(true); // dependent_slice_segment_flag
        w.bits(4, 9); // slice_segment_address: Ceil(Log2(16)) bits
        w.trailing();
        let mut dep = vec![1 << 1, 1];
        push_escaped(&mut dep, &w.into_bytes());
        assert!(parse(&dep, &sps(), &pps, &ParseHints::default(), None).is_err());
        let h = parse(&dep, &sps(), &pps, &ParseHints::default(), Some(&ind)).unwrap();
        assert!(h.dependent && !h.first_slice_segment_in_pic);
        assert_eq!(h.segment_address, 9);
        assert_eq!((h.slice_type, h.poc_lsb), (SLICE_P, 20));
        assert_eq!(h.num_ref_idx_l0_active_minus1, 2);
        // Its own RPS sizes are 0 (the RPS is the independent segment's).
        assert_eq!((h.st_rps_bits, h.lt_rps_bits), (0, 0));
        assert_eq!(h.header_bytes, 2 + 1);
    }

    #[test]
    fn unknown_sps_rps_checks_the_order_of_the_curr_entries() {
        let c = Checker::default();
        let mut dp = dp_for(10, &[(1, 4), (2, 8), (3, 12)]);
        dp.num_poc_st_curr_before = 2;
        dp.poc_st_curr_before[..2].copy_from_slice(&[0, 1]); // POC 4, then 8: wrong order
        dp.num_poc_st_curr_after = 1;
        dp.poc_st_curr_after[0] = 2; // POC 12
        let rps = Rps::default(); // an SPS set: short-term part unknown
        let mut out = Vec::new();
        c.check_rps(&dp, 10, 256, &rps, &mut out);
        let fields: Vec<&str> = out.iter().map(|m| m.field.as_str()).collect();
        assert_eq!(fields, vec!["HEVC_DECODE_PARAMS.poc_st_curr_before[1]"]);
        dp.poc_st_curr_before[..2].copy_from_slice(&[1, 0]);
        out.clear();
        c.check_rps(&dp, 10, 256, &rps, &mut out);
        assert_eq!(out, vec![]);
        // An index past the active entries.
        dp.poc_st_curr_after[0] = 3;
        c.check_rps(&dp, 10, 256, &rps, &mut out);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].field, "HEVC_DECODE_PARAMS.poc_st_curr_after[0]");
    }
}
