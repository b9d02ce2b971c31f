//! A small H.264 slice header reader (7.3.3) for the cross-checks: reads the header of one
//! slice NAL unit with the SPS/PPS *controls* (the same values the synthesized parameter
//! sets carry), without allocating.
//!
//! Bit sizes (`pic_order_cnt_bit_size`, `dec_ref_pic_marking_bit_size`) are counted the way
//! V4L2 clients compute them (GStreamer's, FFmpeg's and cros-codecs' parsers): as the
//! difference of the bits left in the NAL unit *as stored*, emulation-prevention bytes
//! included, before and after the syntax element.

use ctrls::h264::{Pps, PpsFlags, Sps, SpsFlags};

/// Why a slice header could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SliceError {
    /// The NAL unit ends inside the header.
    Truncated,
    /// A syntax element is out of its range.
    Range(&'static str, i64),
    /// The slice names a PPS other than the one the controls describe.
    PpsId { slice: u32, control: u8 },
    /// An exp-Golomb code longer than 32 bits.
    ExpGolomb,
}

impl std::fmt::Display for SliceError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SliceError::Truncated => write!(f, "the NAL unit ends inside the slice header"),
            SliceError::Range(what, v) => write!(f, "{what} = {v} is out of range"),
            SliceError::PpsId { slice, control } => write!(
                f,
                "pic_parameter_set_id {slice}, but H264_PPS.pic_parameter_set_id is {control}"
            ),
            SliceError::ExpGolomb => write!(f, "exp-Golomb code longer than 32 bits"),
        }
    }
}

/// Bit reader over an RBSP stored with emulation-prevention bytes.
struct Reader<'a> {
    data: &'a [u8],
    /// Index of the next byte to fetch.
    pos: usize,
    cur: u8,
    /// Unread bits of `cur`.
    left: u32,
    /// The last two fetched bytes (emulation prevention detection).
    prev2: u16,
}

impl<'a> Reader<'a> {
    fn new(data: &'a [u8]) -> Self {
        Reader {
            data,
            pos: 0,
            cur: 0,
            left: 0,
            prev2: 0xffff,
        }
    }

    /// Bits not read yet, counting stored bytes (emulation prevention included).
    fn bits_left(&self) -> usize {
        (self.data.len() - self.pos) * 8 + self.left as usize
    }

    fn fetch(&mut self) -> Result<(), SliceError> {
        let mut b = *self.data.get(self.pos).ok_or(SliceError::Truncated)?;
        self.pos += 1;
        if self.prev2 == 0 && b == 3 {
            b = *self.data.get(self.pos).ok_or(SliceError::Truncated)?;
            self.pos += 1;
            self.prev2 = 0xffff;
        }
        self.prev2 = (self.prev2 << 8) | b as u16;
        self.cur = b;
        self.left = 8;
        Ok(())
    }

    fn bit(&mut self) -> Result<bool, SliceError> {
        if self.left == 0 {
            self.fetch()?;
        }
        self.left -= 1;
        Ok((self.cur >> self.left) & 1 != 0)
    }

    /// `n` <= 32 bits, MSB first.
    fn bits(&mut self, n: u32) -> Result<u32, SliceError> {
        let mut v = 0u64;
        for _ in 0..n {
            v = (v << 1) | self.bit()? as u64;
        }
        Ok(v as u32)
    }

    fn ue(&mut self) -> Result<u32, SliceError> {
        let mut zeros = 0;
        while !self.bit()? {
            zeros += 1;
            if zeros > 31 {
                return Err(SliceError::ExpGolomb);
            }
        }
        let rest = self.bits(zeros)?;
        Ok(((1u64 << zeros) - 1 + rest as u64) as u32)
    }

    fn ue_max(&mut self, what: &'static str, max: u32) -> Result<u32, SliceError> {
        let v = self.ue()?;
        if v > max {
            return Err(SliceError::Range(what, v as i64));
        }
        Ok(v)
    }

    fn se(&mut self) -> Result<i32, SliceError> {
        let k = self.ue()? as i64;
        Ok(if k & 1 == 1 { (k + 1) / 2 } else { -(k / 2) } as i32)
    }

    fn se_range(&mut self, what: &'static str, min: i32, max: i32) -> Result<i32, SliceError> {
        let v = self.se()?;
        if v < min || v > max {
            return Err(SliceError::Range(what, v as i64));
        }
        Ok(v)
    }
}

/// The slice header fields the cross-checks use.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SliceHeader {
    pub nal_ref_idc: u8,
    pub idr: bool,
    pub first_mb_in_slice: u32,
    /// `slice_type % 5` (0 P, 1 B, 2 I, 3 SP, 4 SI).
    pub slice_type: u8,
    pub frame_num: u16,
    pub field_pic: bool,
    pub bottom_field: bool,
    pub idr_pic_id: u16,
    pub pic_order_cnt_lsb: u16,
    pub delta_pic_order_cnt_bottom: i32,
    pub delta_pic_order_cnt: [i32; 2],
    pub pic_order_cnt_bit_size: u32,
    pub dec_ref_pic_marking_bit_size: u32,
    /// dec_ref_pic_marking() holds memory_management_control_operation 5.
    pub mmco5: bool,
}

const P: u8 = 0;
const B: u8 = 1;
const I: u8 = 2;
const SP: u8 = 3;
const SI: u8 = 4;

/// Reads the header of the slice NAL unit `nal` (header byte included, type 1 or 5).
pub fn parse(nal: &[u8], sps: &Sps, pps: &Pps) -> Result<SliceHeader, SliceError> {
    let first = *nal.first().ok_or(SliceError::Truncated)?;
    let mut h = SliceHeader {
        nal_ref_idc: (first >> 5) & 3,
        idr: first & 0x1f == 5,
        ..SliceHeader::default()
    };
    let mut r = Reader::new(&nal[1..]);
    h.first_mb_in_slice = r.ue()?;
    h.slice_type = (r.ue_max("slice_type", 9)? % 5) as u8;
    let pps_id = r.ue()?;
    if pps_id != pps.pic_parameter_set_id as u32 {
        return Err(SliceError::PpsId {
            slice: pps_id,
            control: pps.pic_parameter_set_id,
        });
    }
    let sf = sps.flags;
    if sf.contains(SpsFlags::SEPARATE_COLOUR_PLANE) {
        r.bits(2)?;
    }
    h.frame_num = r.bits(sps.log2_max_frame_num_minus4 as u32 + 4)? as u16;
    if !sf.contains(SpsFlags::FRAME_MBS_ONLY) {
        h.field_pic = r.bit()?;
        if h.field_pic {
            h.bottom_field = r.bit()?;
        }
    }
    if h.idr {
        h.idr_pic_id = r.ue_max("idr_pic_id", 65535)? as u16;
    }
    let bottom_present = pps
        .flags
        .contains(PpsFlags::BOTTOM_FIELD_PIC_ORDER_IN_FRAME_PRESENT)
        && !h.field_pic;
    let before = r.bits_left();
    match sps.pic_order_cnt_type {
        0 => {
            h.pic_order_cnt_lsb = r.bits(sps.log2_max_pic_order_cnt_lsb_minus4 as u32 + 4)? as u16;
            if bottom_present {
                h.delta_pic_order_cnt_bottom = r.se()?;
            }
        }
        1 if !sf.contains(SpsFlags::DELTA_PIC_ORDER_ALWAYS_ZERO) => {
            h.delta_pic_order_cnt[0] = r.se()?;
            if bottom_present {
                h.delta_pic_order_cnt[1] = r.se()?;
            }
        }
        _ => {}
    }
    h.pic_order_cnt_bit_size = (before - r.bits_left()) as u32;
    if pps.flags.contains(PpsFlags::REDUNDANT_PIC_CNT_PRESENT) {
        r.ue_max("redundant_pic_cnt", 127)?;
    }
    let st = h.slice_type;
    if st == B {
        r.bit()?; // direct_spatial_mv_pred_flag
    }
    let (mut l0, mut l1) = (
        pps.num_ref_idx_l0_default_active_minus1 as u32,
        pps.num_ref_idx_l1_default_active_minus1 as u32,
    );
    if st == P || st == SP || st == B {
        if r.bit()? {
            l0 = r.ue()?;
            if st == B {
                l1 = r.ue()?;
            }
        }
        let max = if h.field_pic { 31 } else { 15 };
        if l0 > max {
            return Err(SliceError::Range("num_ref_idx_l0_active_minus1", l0 as i64));
        }
        if st == B && l1 > max {
            return Err(SliceError::Range("num_ref_idx_l1_active_minus1", l1 as i64));
        }
    }
    // ref_pic_list_modification()
    for list in 0..2 {
        let applies = if list == 0 {
            st != I && st != SI
        } else {
            st == B
        };
        if applies && r.bit()? {
            let mut n = 0;
            while r.ue_max("modification_of_pic_nums_idc", 3)? != 3 {
                r.ue()?; // abs_diff_pic_num_minus1 or long_term_pic_num
                n += 1;
                if n > 32 {
                    return Err(SliceError::Range("ref_pic_list_modification entries", n));
                }
            }
        }
    }
    let wp = pps.flags.contains(PpsFlags::WEIGHTED_PRED);
    if (wp && (st == P || st == SP)) || (pps.weighted_bipred_idc == 1 && st == B) {
        let chroma = !sf.contains(SpsFlags::SEPARATE_COLOUR_PLANE) && sps.chroma_format_idc != 0;
        r.ue_max("luma_log2_weight_denom", 7)?;
        if chroma {
            r.ue_max("chroma_log2_weight_denom", 7)?;
        }
        for (list, n) in [(0, l0), (1, l1)] {
            if list == 1 && st != B {
                break;
            }
            for _ in 0..=n {
                if r.bit()? {
                    r.se_range("luma_weight", -128, 127)?;
                    r.se_range("luma_offset", -128, 127)?;
                }
                if chroma && r.bit()? {
                    for _ in 0..2 {
                        r.se_range("chroma_weight", -128, 127)?;
                        r.se_range("chroma_offset", -128, 127)?;
                    }
                }
            }
        }
    }
    if h.nal_ref_idc != 0 {
        // dec_ref_pic_marking()
        let before = r.bits_left();
        if h.idr {
            r.bits(2)?;
        } else if r.bit()? {
            let mut n = 0;
            loop {
                let op = r.ue_max("memory_management_control_operation", 6)?;
                match op {
                    0 => break,
                    1 | 2 | 6 => {
                        r.ue()?;
                    }
                    3 => {
                        r.ue()?;
                        r.ue()?;
                    }
                    4 => {
                        r.ue()?;
                    }
                    _ => h.mmco5 = true,
                }
                n += 1;
                if n > 66 {
                    return Err(SliceError::Range("memory_management_control_operations", n));
                }
            }
        }
        h.dec_ref_pic_marking_bit_size = (before - r.bits_left()) as u32;
    }
    if pps.flags.contains(PpsFlags::ENTROPY_CODING_MODE) && st != I && st != SI {
        r.ue_max("cabac_init_idc", 2)?;
    }
    r.se_range("slice_qp_delta", -87, 77)?;
    if st == SP || st == SI {
        if st == SP {
            r.bit()?;
        }
        r.se_range("slice_qs_delta", -51, 51)?;
    }
    if pps
        .flags
        .contains(PpsFlags::DEBLOCKING_FILTER_CONTROL_PRESENT)
        && r.ue_max("disable_deblocking_filter_idc", 2)? != 1
    {
        r.se_range("slice_alpha_c0_offset_div2", -6, 6)?;
        r.se_range("slice_beta_offset_div2", -6, 6)?;
    }
    Ok(h)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reader_skips_emulation_prevention_and_counts_stored_bits() {
        // 00 00 03 01: the 03 is dropped, the reader sees 00 00 01.
        let mut r = Reader::new(&[0x00, 0x00, 0x03, 0x01]);
        assert_eq!(r.bits_left(), 32);
        assert_eq!(r.bits(16).unwrap(), 0);
        assert_eq!(r.bits_left(), 16);
        assert_eq!(r.bits(8).unwrap(), 1);
        assert_eq!(r.bits_left(), 0);
        assert_eq!(r.bit(), Err(SliceError::Truncated));
    }

    #[test]
    fn exp_golomb_values() {
        // ue: 1 -> 0, 010 -> 1, 011 -> 2, 00100 -> 3; se of 00101 (k=4) -> -2.
        let mut r = Reader::new(&[0b1010_0110, 0b0100_0010, 0b1000_0000]);
        assert_eq!(r.ue().unwrap(), 0);
        assert_eq!(r.ue().unwrap(), 1);
        assert_eq!(r.ue().unwrap(), 2);
        assert_eq!(r.ue().unwrap(), 3);
        assert_eq!(r.se().unwrap(), -2);
    }
}
