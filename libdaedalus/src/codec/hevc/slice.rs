//! Slice segment header rewriting: the synthesized SPS has no short-term RPS
//! sets and no long-term pictures (the 6.12 controls carry only their counts),
//! so a slice that refers to an SPS set (short_term_ref_pic_set_idx), or that
//! predicts its own set from one (inter_ref_pic_set_prediction_flag), gets an
//! explicit st_ref_pic_set() built from DECODE_PARAMS instead. The bits of the
//! original set are skipped with SLICE_PARAMS.short_term_ref_pic_set_size
//! (RBSP bits; 0 when an SPS set was used) and the end of the header is found
//! from SLICE_PARAMS.data_byte_offset, so nothing after the RPS is parsed:
//! those bits are copied as they are, then byte_alignment() is written anew.
//! The slice data is not touched: the header always ends in a non-zero byte,
//! so emulation prevention of the data comes out the same, and entry point
//! offsets stay right.

use ctrls::hevc::{DecodeParams, DpbEntryFlags, Pps, PpsFlags, SliceFlags, SliceParams, Sps};

use crate::codec::bitwriter::{push_escaped, unescape, BitWriter};

/// What makes a slice segment impossible to rewrite.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SliceError {
    #[error("slice segment of {0} bytes: shorter than its NAL unit header")]
    Short(usize),
    #[error("HEVC_SLICE_PARAMS.data_byte_offset = {offset}: past the slice header's {len} RBSP bytes (with the start code and the NAL header)")]
    Offset { offset: u32, len: usize },
    #[error("slice segment header: {0} ends early")]
    Truncated(&'static str),
    #[error("slice segment header: no byte_alignment() before HEVC_SLICE_PARAMS.data_byte_offset")]
    NoAlignment,
    #[error("HEVC_SLICE_PARAMS.short_term_ref_pic_set_size = {0}: more bits than the header has")]
    RpsSize(u16),
    #[error("slice uses {0} SPS long-term picture(s) (lt_idx_sps), which the 6.12 controls cannot carry")]
    SpsLongTerm(u32),
    #[error("HEVC_DECODE_PARAMS: {0}")]
    Dpb(String),
    #[error("HEVC_SPS: CtbLog2SizeY = {0}")]
    CtbSize(u32),
}

/// The current picture's short-term RPS (7.4.8): delta POCs, nearest first,
/// and whether the current picture uses each.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StRps {
    pub negative: Vec<(i32, bool)>,
    pub positive: Vec<(i32, bool)>,
}

impl StRps {
    /// From DECODE_PARAMS: every short-term entry of the DPB is in the RPS
    /// (the ones no current picture uses are its Foll part, and must stay
    /// referenced for later pictures); used are those of poc_st_curr_*.
    pub fn from_decode_params(dp: &DecodeParams) -> Result<Self, SliceError> {
        let n = usize::from(dp.num_active_dpb_entries);
        if n > dp.dpb.len() {
            return Err(SliceError::Dpb(format!(
                "num_active_dpb_entries = {n} (at most {})",
                dp.dpb.len()
            )));
        }
        let before = &dp.poc_st_curr_before[..usize::from(dp.num_poc_st_curr_before).min(16)];
        let after = &dp.poc_st_curr_after[..usize::from(dp.num_poc_st_curr_after).min(16)];
        let mut rps = StRps::default();
        for (i, e) in dp.dpb[..n].iter().enumerate() {
            if e.flags.contains(DpbEntryFlags::LONG_TERM_REFERENCE) {
                continue;
            }
            let delta = e.pic_order_cnt_val - dp.pic_order_cnt_val;
            let used = before.contains(&(i as u8)) || after.contains(&(i as u8));
            match delta {
                0 => {
                    return Err(SliceError::Dpb(format!(
                        "dpb[{i}].pic_order_cnt_val = {} is the current picture's",
                        e.pic_order_cnt_val
                    )))
                }
                d if d < 0 => rps.negative.push((d, used)),
                d => rps.positive.push((d, used)),
            }
        }
        rps.negative.sort_by_key(|e| std::cmp::Reverse(e.0));
        rps.positive.sort_by_key(|e| e.0);
        for w in rps.negative.windows(2).chain(rps.positive.windows(2)) {
            if w[0].0 == w[1].0 {
                return Err(SliceError::Dpb(format!(
                    "two short-term entries with POC {}",
                    dp.pic_order_cnt_val + w[0].0
                )));
            }
        }
        Ok(rps)
    }

    /// st_ref_pic_set(0) (7.3.7): explicit, never predicted.
    fn write(&self, w: &mut BitWriter) {
        w.ue(self.negative.len() as u32);
        w.ue(self.positive.len() as u32);
        let mut prev = 0;
        for &(d, used) in &self.negative {
            w.ue((prev - d - 1) as u32);
            w.bit(used);
            prev = d;
        }
        prev = 0;
        for &(d, used) in &self.positive {
            w.ue((d - prev - 1) as u32);
            w.bit(used);
            prev = d;
        }
    }
}

/// MSB-first bit reader over RBSP bytes, up to bit `end` (also used by
/// [`super::check`]).
pub(crate) struct Reader<'a> {
    data: &'a [u8],
    pub(crate) pos: usize,
    end: usize,
}

impl<'a> Reader<'a> {
    /// A reader of `data`'s bits `0..end`.
    pub(crate) fn new(data: &'a [u8], end: usize) -> Self {
        Reader {
            data,
            pos: 0,
            end: end.min(data.len() * 8),
        }
    }

    /// se(v).
    pub(crate) fn se(&mut self, what: &'static str) -> Result<i32, SliceError> {
        let k = i64::from(self.ue(what)?);
        Ok(if k % 2 == 1 { (k + 1) / 2 } else { -(k / 2) } as i32)
    }

    pub(crate) fn bit(&mut self, what: &'static str) -> Result<bool, SliceError> {
        if self.pos >= self.end {
            return Err(SliceError::Truncated(what));
        }
        let b = self.data[self.pos / 8] & (0x80 >> (self.pos % 8)) != 0;
        self.pos += 1;
        Ok(b)
    }

    pub(crate) fn bits(&mut self, n: u32, what: &'static str) -> Result<u32, SliceError> {
        let mut v = 0;
        for _ in 0..n {
            v = (v << 1) | u32::from(self.bit(what)?);
        }
        Ok(v)
    }

    pub(crate) fn ue(&mut self, what: &'static str) -> Result<u32, SliceError> {
        let mut zeros = 0;
        while !self.bit(what)? {
            zeros += 1;
            if zeros > 31 {
                return Err(SliceError::Truncated(what));
            }
        }
        Ok(((1u64 << zeros) - 1 + u64::from(self.bits(zeros, what)?)) as u32)
    }

    /// Copies `n` bits to `w`.
    fn copy(&mut self, w: &mut BitWriter, n: usize, what: &'static str) -> Result<(), SliceError> {
        for _ in 0..n {
            w.bit(self.bit(what)?);
        }
        Ok(())
    }
}

fn ue_copy(r: &mut Reader<'_>, w: &mut BitWriter, what: &'static str) -> Result<u32, SliceError> {
    let v = r.ue(what)?;
    w.ue(v);
    Ok(v)
}

pub(crate) fn ceil_log2(n: u32) -> u32 {
    if n <= 1 {
        0
    } else {
        32 - (n - 1).leading_zeros()
    }
}

/// Whether slices of this sequence need rewriting at all: only when the SPS
/// had RPS sets or long-term pictures that the synthesized one has not.
pub fn needs_rewrite(sps: &Sps) -> bool {
    sps.num_short_term_ref_pic_sets > 0 || sps.num_long_term_ref_pics_sps > 0
}

/// The slice segment NAL unit `nal` (no start code, emulation prevention
/// kept) rewritten for the synthesized SPS: the same NAL unit when nothing
/// changes (IDR pictures, dependent slice segments, sequences without SPS
/// RPS sets or long-term pictures). `start_code_len`: the bytes of start
/// code `data_byte_offset` counts (3 for START_CODE ANNEX_B, 0 for NONE).
pub fn rewrite(
    nal: &[u8],
    sp: &SliceParams,
    sps: &Sps,
    pps: &Pps,
    rps: &StRps,
    start_code_len: u32,
) -> Result<Vec<u8>, SliceError> {
    if nal.len() < 3 {
        return Err(SliceError::Short(nal.len()));
    }
    let nal_type = (nal[0] >> 1) & 0x3f;
    if !needs_rewrite(sps)
        || matches!(nal_type, 19 | 20)
        || sp.flags.contains(SliceFlags::DEPENDENT_SLICE_SEGMENT)
    {
        return Ok(nal.to_vec());
    }
    let rbsp = unescape(&nal[2..]);
    // data_byte_offset counts the start code and the NAL header too.
    let hdr_len = (sp.data_byte_offset as usize)
        .checked_sub(start_code_len as usize + 2)
        .filter(|&l| l > 0 && l <= rbsp.len());
    let Some(hdr_len) = hdr_len else {
        return Err(SliceError::Offset {
            offset: sp.data_byte_offset,
            len: rbsp.len(),
        });
    };
    // byte_alignment(): the last 1 bit of the header.
    let last = rbsp[..hdr_len]
        .iter()
        .rposition(|&b| b != 0)
        .ok_or(SliceError::NoAlignment)?;
    let align_bit = last * 8 + 7 - rbsp[last].trailing_zeros() as usize;

    let mut r = Reader {
        data: &rbsp,
        pos: 0,
        end: align_bit,
    };
    let mut w = BitWriter::new();
    let first = r.bit("first_slice_segment_in_pic_flag")?;
    w.bit(first);
    if (16..=23).contains(&nal_type) {
        r.copy(&mut w, 1, "no_output_of_prior_pics_flag")?;
    }
    ue_copy(&mut r, &mut w, "slice_pic_parameter_set_id")?;
    if !first {
        let mut dependent = false;
        if pps
            .flags
            .contains(PpsFlags::DEPENDENT_SLICE_SEGMENT_ENABLED)
        {
            dependent = r.bit("dependent_slice_segment_flag")?;
            w.bit(dependent);
        }
        if dependent {
            return Ok(nal.to_vec());
        }
        let (w_ctbs, h_ctbs) = sps
            .pic_size_in_ctbs()
            .ok_or(SliceError::CtbSize(sps.ctb_log2()))?;
        r.copy(
            &mut w,
            ceil_log2(w_ctbs * h_ctbs) as usize,
            "slice_segment_address",
        )?;
    }
    r.copy(
        &mut w,
        usize::from(pps.num_extra_slice_header_bits),
        "slice_reserved_flag",
    )?;
    ue_copy(&mut r, &mut w, "slice_type")?;
    if pps.flags.contains(PpsFlags::OUTPUT_FLAG_PRESENT) {
        r.copy(&mut w, 1, "pic_output_flag")?;
    }
    if sps
        .flags
        .contains(ctrls::hevc::SpsFlags::SEPARATE_COLOUR_PLANE)
    {
        r.copy(&mut w, 2, "colour_plane_id")?;
    }
    r.copy(
        &mut w,
        usize::from(sps.log2_max_pic_order_cnt_lsb_minus4) + 4,
        "slice_pic_order_cnt_lsb",
    )?;
    let sps_set = r.bit("short_term_ref_pic_set_sps_flag")?;
    if !sps_set {
        let n = usize::from(sp.short_term_ref_pic_set_size);
        if r.pos + n > r.end {
            return Err(SliceError::RpsSize(sp.short_term_ref_pic_set_size));
        }
        r.pos += n;
    } else if sps.num_short_term_ref_pic_sets > 1 {
        r.bits(
            ceil_log2(u32::from(sps.num_short_term_ref_pic_sets)),
            "short_term_ref_pic_set_idx",
        )?;
    }
    w.bit(false); // short_term_ref_pic_set_sps_flag
    rps.write(&mut w);
    if sps
        .flags
        .contains(ctrls::hevc::SpsFlags::LONG_TERM_REF_PICS_PRESENT)
        && sps.num_long_term_ref_pics_sps > 0
    {
        // The synthesized SPS has no long-term pictures: num_long_term_sps
        // is not coded, and must have been 0.
        let n = r.ue("num_long_term_sps")?;
        if n > 0 {
            return Err(SliceError::SpsLongTerm(n));
        }
    }
    // The rest of the header as it is, then byte_alignment().
    let rest = r.end - r.pos;
    r.copy(&mut w, rest, "slice header")?;
    w.bit(true);
    let mut out = w.into_bytes();
    out.extend_from_slice(&rbsp[hdr_len..]);
    let mut nal_out = nal[..2].to_vec();
    push_escaped(&mut nal_out, &out);
    Ok(nal_out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rps_from_decode_params_sorts_and_marks_use() {
        let mut dp = DecodeParams {
            pic_order_cnt_val: 8,
            num_active_dpb_entries: 4,
            num_poc_st_curr_before: 1,
            num_poc_st_curr_after: 1,
            ..Default::default()
        };
        for (i, poc) in [4, 12, 6, 16].into_iter().enumerate() {
            dp.dpb[i].pic_order_cnt_val = poc;
        }
        dp.poc_st_curr_before[0] = 2; // POC 6
        dp.poc_st_curr_after[0] = 1; // POC 12
        let rps = StRps::from_decode_params(&dp).unwrap();
        assert_eq!(rps.negative, vec![(-2, true), (-4, false)]);
        assert_eq!(rps.positive, vec![(4, true), (8, false)]);
        let mut w = BitWriter::new();
        rps.write(&mut w);
        w.trailing();
        // ue(2) ue(2) | ue(1) 1 ue(1) 0 | ue(3) 1 ue(3) 0 | trailing
        // 011 011 010 1 010 0 00100 1 00100 0 1 -> 0110 1101 0101 0000 1001 0010 0010 0000
        assert_eq!(w.into_bytes(), vec![0x6d, 0x50, 0x92, 0x20]);
    }
}
