//! H.264 picture order count (8.2.1) and decoded reference picture marking (8.2.5):
//! the state a stateless client keeps to fill DECODE_PARAMS.dpb.
//!
//! Only reference pictures are tracked (output/bumping is not a control matter:
//! a replay tool orders output by POC, see `DisplayInfo`).

use cros_codecs::codec::h264::parser::{MaxLongTermFrameIdx, RefPicMarking};

/// Field bits (same values as `V4L2_H264_{TOP,BOTTOM}_FIELD_REF`).
pub(crate) const TOP: u8 = 1;
pub(crate) const BOTTOM: u8 = 2;
pub(crate) const FRAME: u8 = 3;

/// A frame store: a frame, a complementary field pair or a single field.
#[derive(Debug, Clone)]
pub(crate) struct FrameStore {
    /// Unique id of the store.
    pub id: u64,
    /// CAPTURE buffer timestamp.
    pub ts: u64,
    pub frame_num: u32,
    pub top_poc: i32,
    pub bottom_poc: i32,
    /// Fields decoded so far (FRAME for a frame).
    pub decoded: u8,
    /// Coded as field pictures.
    pub coded_as_fields: bool,
    /// Fields marked "used for short-term reference".
    pub short: u8,
    /// Fields marked "used for long-term reference".
    pub long: u8,
    pub long_term_frame_idx: u32,
    /// Inferred by the frame_num gap process (8.2.5.2).
    #[allow(dead_code)]
    pub non_existing: bool,
}

impl FrameStore {
    pub fn refs(&self) -> u8 {
        self.short | self.long
    }

    fn frame_num_wrap(&self, cur_frame_num: u32, max_frame_num: u32) -> i64 {
        if self.frame_num > cur_frame_num {
            self.frame_num as i64 - max_frame_num as i64
        } else {
            self.frame_num as i64
        }
    }
}

/// What the current picture is, for POC and marking.
#[derive(Debug, Clone, Copy)]
pub(crate) struct CurPic {
    /// TOP, BOTTOM or FRAME.
    pub structure: u8,
    pub frame_num: u32,
    pub nal_ref_idc: u8,
    pub idr: bool,
    pub pic_order_cnt_lsb: u32,
    pub delta_pic_order_cnt_bottom: i32,
    pub delta_pic_order_cnt: [i32; 2],
}

/// The SPS values the processes need.
#[derive(Debug, Clone)]
pub(crate) struct SeqInfo {
    pub max_frame_num: u32,
    pub poc_type: u8,
    pub max_poc_lsb: u32,
    pub offset_for_non_ref_pic: i32,
    pub offset_for_top_to_bottom_field: i32,
    pub offset_for_ref_frame: Vec<i32>,
    pub max_num_ref_frames: u32,
}

/// Errors of the marking process (non-conforming streams).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum RefError {
    /// An MMCO names a picture that is not a reference.
    MmcoTarget(&'static str, i64),
    /// More references than the 16 V4L2 DPB entries.
    DpbFull,
}

impl std::fmt::Display for RefError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RefError::MmcoTarget(what, n) => {
                write!(f, "memory_management_control_operation: no {what} {n}")
            }
            RefError::DpbFull => write!(f, "more than 16 reference frames"),
        }
    }
}

/// POC and reference marking state across pictures.
#[derive(Debug, Default, Clone)]
pub(crate) struct RefState {
    pub frames: Vec<FrameStore>,
    pub max_long_term_frame_idx: Option<u32>,
    // 8.2.1.1
    prev_poc_msb: i32,
    prev_poc_lsb: i32,
    // 8.2.1.2 / 8.2.1.3
    prev_frame_num_offset: i64,
    prev_frame_num: u32,
    /// PrevRefFrameNum (7.4.3).
    pub prev_ref_frame_num: u32,
    /// Whether any picture was decoded since the last reset.
    pub started: bool,
    next_id: u64,
}

/// Result of the POC process for one picture.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Poc {
    pub top: i32,
    pub bottom: i32,
    pub frame_num_offset: i64,
    pub poc_msb: i32,
}

impl RefState {
    /// 8.2.1: TopFieldOrderCnt / BottomFieldOrderCnt of the current picture.
    pub fn compute_poc(&self, seq: &SeqInfo, cur: &CurPic) -> Poc {
        let mut poc = Poc::default();
        match seq.poc_type {
            0 => {
                let (prev_msb, prev_lsb) = if cur.idr {
                    (0, 0)
                } else {
                    (self.prev_poc_msb, self.prev_poc_lsb)
                };
                // i64 then wrapping to i32: corrupt streams must not overflow.
                let lsb = cur.pic_order_cnt_lsb as i64;
                let (prev_msb, prev_lsb) = (prev_msb as i64, prev_lsb as i64);
                let max = seq.max_poc_lsb as i64;
                let msb = if lsb < prev_lsb && prev_lsb - lsb >= max / 2 {
                    prev_msb + max
                } else if lsb > prev_lsb && lsb - prev_lsb > max / 2 {
                    prev_msb - max
                } else {
                    prev_msb
                };
                poc.poc_msb = msb as i32;
                match cur.structure {
                    FRAME => {
                        poc.top = (msb + lsb) as i32;
                        poc.bottom = (msb + lsb + cur.delta_pic_order_cnt_bottom as i64) as i32;
                    }
                    TOP => poc.top = (msb + lsb) as i32,
                    _ => poc.bottom = (msb + lsb) as i32,
                }
            }
            1 => {
                let fno = self.frame_num_offset(seq, cur);
                poc.frame_num_offset = fno;
                let n = seq.offset_for_ref_frame.len() as i64;
                let mut abs = if n != 0 {
                    fno + cur.frame_num as i64
                } else {
                    0
                };
                if cur.nal_ref_idc == 0 && abs > 0 {
                    abs -= 1;
                }
                let mut expected: i64 = 0;
                if abs > 0 {
                    let cycle_cnt = (abs - 1) / n;
                    let in_cycle = ((abs - 1) % n) as usize;
                    let delta_cycle: i64 = seq.offset_for_ref_frame.iter().map(|&v| v as i64).sum();
                    expected = cycle_cnt.wrapping_mul(delta_cycle);
                    for v in &seq.offset_for_ref_frame[..=in_cycle] {
                        expected += *v as i64;
                    }
                }
                if cur.nal_ref_idc == 0 {
                    expected += seq.offset_for_non_ref_pic as i64;
                }
                let d0 = cur.delta_pic_order_cnt[0] as i64;
                let d1 = cur.delta_pic_order_cnt[1] as i64;
                let ttb = seq.offset_for_top_to_bottom_field as i64;
                match cur.structure {
                    FRAME => {
                        poc.top = (expected + d0) as i32;
                        poc.bottom = (expected + d0 + ttb + d1) as i32;
                    }
                    TOP => poc.top = (expected + d0) as i32,
                    _ => poc.bottom = (expected + ttb + d0) as i32,
                }
            }
            _ => {
                let fno = self.frame_num_offset(seq, cur);
                poc.frame_num_offset = fno;
                let temp = if cur.idr {
                    0
                } else if cur.nal_ref_idc == 0 {
                    2 * (fno + cur.frame_num as i64) - 1
                } else {
                    2 * (fno + cur.frame_num as i64)
                } as i32;
                match cur.structure {
                    FRAME => {
                        poc.top = temp;
                        poc.bottom = temp;
                    }
                    TOP => poc.top = temp,
                    _ => poc.bottom = temp,
                }
            }
        }
        poc
    }

    fn frame_num_offset(&self, seq: &SeqInfo, cur: &CurPic) -> i64 {
        if cur.idr {
            0
        } else if self.prev_frame_num > cur.frame_num {
            self.prev_frame_num_offset + seq.max_frame_num as i64
        } else {
            self.prev_frame_num_offset
        }
    }

    /// Whether `frame_num` implies a gap (8.2.5.2) after PrevRefFrameNum.
    pub fn has_gap(&self, seq: &SeqInfo, cur: &CurPic) -> bool {
        self.started
            && !cur.idr
            && cur.frame_num != self.prev_ref_frame_num
            && cur.frame_num != (self.prev_ref_frame_num + 1) % seq.max_frame_num
    }

    /// 8.2.5.2: infer "non-existing" frames for the frame_num values skipped
    /// before `cur`. `ts` is the timestamp their DPB entries carry.
    pub fn fill_gap(&mut self, seq: &SeqInfo, cur: &CurPic, ts: u64) -> Result<(), RefError> {
        let mut fnum = (self.prev_ref_frame_num + 1) % seq.max_frame_num;
        let mut guard = 0u32;
        while fnum != cur.frame_num && guard < seq.max_frame_num {
            guard += 1;
            let gap_pic = CurPic {
                structure: FRAME,
                frame_num: fnum,
                nal_ref_idc: 1,
                idr: false,
                pic_order_cnt_lsb: 0,
                delta_pic_order_cnt_bottom: 0,
                delta_pic_order_cnt: [0; 2],
            };
            let poc = if seq.poc_type != 0 {
                self.compute_poc(seq, &gap_pic)
            } else {
                Poc::default()
            };
            self.sliding_window(seq, fnum);
            self.next_id += 1;
            self.frames.push(FrameStore {
                id: self.next_id,
                ts,
                frame_num: fnum,
                top_poc: poc.top,
                bottom_poc: poc.bottom,
                decoded: FRAME,
                coded_as_fields: false,
                short: FRAME,
                long: 0,
                long_term_frame_idx: 0,
                non_existing: true,
            });
            self.prev_frame_num = fnum;
            self.prev_frame_num_offset = poc.frame_num_offset;
            self.prev_ref_frame_num = fnum;
            if self.frames.len() > 16 {
                return Err(RefError::DpbFull);
            }
            fnum = (fnum + 1) % seq.max_frame_num;
        }
        Ok(())
    }

    /// 8.2.5.3 sliding window, for a current picture with frame_num `cur_frame_num`.
    fn sliding_window(&mut self, seq: &SeqInfo, cur_frame_num: u32) {
        let num_short = self.frames.iter().filter(|f| f.short != 0).count() as u32;
        let num_long = self.frames.iter().filter(|f| f.long != 0).count() as u32;
        if num_short > 0 && num_short + num_long >= seq.max_num_ref_frames.max(1) {
            if let Some(i) = self
                .frames
                .iter()
                .enumerate()
                .filter(|(_, f)| f.short != 0)
                .min_by_key(|(_, f)| f.frame_num_wrap(cur_frame_num, seq.max_frame_num))
                .map(|(i, _)| i)
            {
                self.frames[i].short = 0;
            }
        }
        self.frames.retain(|f| f.refs() != 0);
    }

    /// 8.2.5: mark the current picture (already decoded) and update the POC
    /// state. `second_field_of` is the id of the frame store holding the first
    /// field when the current picture is the second field of a reference pair.
    #[allow(clippy::too_many_arguments)]
    pub fn finish_picture(
        &mut self,
        seq: &SeqInfo,
        cur: &CurPic,
        poc: &Poc,
        marking: &RefPicMarking,
        ts: u64,
        second_field_of: Option<u64>,
    ) -> Result<FinishedPic, RefError> {
        let mut has_mmco5 = false;
        let mut top = poc.top;
        let mut bottom = poc.bottom;
        let pair_id = second_field_of.filter(|id| self.frames.iter().any(|f| f.id == *id));
        let mut store_idx = pair_id.and_then(|id| self.frames.iter().position(|f| f.id == id));

        if cur.nal_ref_idc != 0 {
            let mut cur_long: Option<u32> = None;
            if cur.idr {
                // An IDR second field keeps its own first field.
                self.frames.retain(|f| Some(f.id) == pair_id);
                if marking.long_term_reference_flag {
                    self.max_long_term_frame_idx = Some(0);
                    cur_long = Some(0);
                } else {
                    self.max_long_term_frame_idx = None;
                }
            } else if marking.adaptive_ref_pic_marking_mode_flag {
                for op in &marking.inner {
                    match op.memory_management_control_operation {
                        1 => {
                            let pic_num_x = self.curr_pic_num(cur)
                                - (op.difference_of_pic_nums_minus1 as i64 + 1);
                            let (i, bits) = self
                                .find_short(seq, cur, pic_num_x)
                                .ok_or(RefError::MmcoTarget("short-term picNumX", pic_num_x))?;
                            self.frames[i].short &= !bits;
                        }
                        2 => {
                            let n = op.long_term_pic_num as i64;
                            let (i, bits) = self
                                .find_long(cur, n)
                                .ok_or(RefError::MmcoTarget("LongTermPicNum", n))?;
                            self.frames[i].long &= !bits;
                        }
                        3 => {
                            let pic_num_x = self.curr_pic_num(cur)
                                - (op.difference_of_pic_nums_minus1 as i64 + 1);
                            let (i, bits) = self
                                .find_short(seq, cur, pic_num_x)
                                .ok_or(RefError::MmcoTarget("short-term picNumX", pic_num_x))?;
                            let idx = op.long_term_frame_idx;
                            // Free LongTermFrameIdx unless held by the same frame's other field.
                            for (j, f) in self.frames.iter_mut().enumerate() {
                                if f.long != 0 && f.long_term_frame_idx == idx && j != i {
                                    f.long = 0;
                                }
                            }
                            let f = &mut self.frames[i];
                            if f.long != 0 && f.long_term_frame_idx != idx {
                                // The other field carries another index: unmark it.
                                f.long = 0;
                            }
                            f.short &= !bits;
                            f.long |= bits;
                            f.long_term_frame_idx = idx;
                        }
                        4 => {
                            let max = match op.max_long_term_frame_idx {
                                MaxLongTermFrameIdx::NoLongTermFrameIndices => None,
                                MaxLongTermFrameIdx::Idx(v) => Some(v),
                            };
                            for f in &mut self.frames {
                                if f.long != 0
                                    && !matches!(max, Some(m) if f.long_term_frame_idx <= m)
                                {
                                    f.long = 0;
                                }
                            }
                            self.max_long_term_frame_idx = max;
                        }
                        5 => {
                            for f in &mut self.frames {
                                f.short = 0;
                                f.long = 0;
                            }
                            self.max_long_term_frame_idx = None;
                            has_mmco5 = true;
                        }
                        6 => {
                            let idx = op.long_term_frame_idx;
                            for (j, f) in self.frames.iter_mut().enumerate() {
                                if f.long != 0
                                    && f.long_term_frame_idx == idx
                                    && Some(j) != store_idx
                                {
                                    f.long = 0;
                                }
                            }
                            if let Some(si) = store_idx {
                                let f = &mut self.frames[si];
                                if f.long != 0 && f.long_term_frame_idx != idx {
                                    f.long = 0;
                                }
                            }
                            cur_long = Some(idx);
                        }
                        _ => {}
                    }
                }
            } else {
                let first_is_short = store_idx.is_some_and(|i| self.frames[i].short != 0);
                if !first_is_short {
                    self.sliding_window_keep(seq, cur.frame_num, store_idx);
                }
            }

            // Remove frames no longer referenced, keeping the current pair's store
            // (unless an MMCO 5 reset everything).
            let keep = if has_mmco5 { None } else { pair_id };
            self.frames.retain(|f| f.refs() != 0 || Some(f.id) == keep);
            store_idx = keep.and_then(|id| self.frames.iter().position(|f| f.id == id));

            if has_mmco5 {
                // 8.2.1: the picture is inferred to have had frame_num 0 and its
                // POCs are made relative to tempPicOrderCnt.
                let temp = match cur.structure {
                    FRAME => top.min(bottom),
                    TOP => top,
                    _ => bottom,
                };
                top = top.wrapping_sub(temp);
                bottom = bottom.wrapping_sub(temp);
            }
            let frame_num = if has_mmco5 { 0 } else { cur.frame_num };
            let bits = cur.structure;
            match store_idx {
                Some(i) => {
                    let f = &mut self.frames[i];
                    f.decoded |= bits;
                    if bits == TOP {
                        f.top_poc = top;
                    } else {
                        f.bottom_poc = bottom;
                    }
                    match cur_long {
                        Some(idx) => {
                            f.long |= bits;
                            f.long_term_frame_idx = idx;
                        }
                        None => f.short |= bits,
                    }
                }
                None => {
                    self.next_id += 1;
                    self.frames.push(FrameStore {
                        id: self.next_id,
                        ts,
                        frame_num,
                        top_poc: if bits & TOP != 0 { top } else { 0 },
                        bottom_poc: if bits & BOTTOM != 0 { bottom } else { 0 },
                        decoded: bits,
                        coded_as_fields: bits != FRAME,
                        short: if cur_long.is_none() { bits } else { 0 },
                        long: if cur_long.is_some() { bits } else { 0 },
                        long_term_frame_idx: cur_long.unwrap_or(0),
                        non_existing: false,
                    });
                }
            }
            if self.frames.len() > 16 {
                return Err(RefError::DpbFull);
            }

            // POC state from this reference picture.
            if has_mmco5 {
                self.prev_poc_msb = 0;
                self.prev_poc_lsb = if cur.structure == BOTTOM { 0 } else { top };
            } else {
                self.prev_poc_msb = poc.poc_msb;
                self.prev_poc_lsb = cur.pic_order_cnt_lsb as i32;
            }
            self.prev_ref_frame_num = frame_num;
        }
        if has_mmco5 {
            self.prev_frame_num_offset = 0;
            self.prev_frame_num = 0;
        } else {
            self.prev_frame_num_offset = poc.frame_num_offset;
            self.prev_frame_num = cur.frame_num;
        }
        if cur.idr {
            self.prev_ref_frame_num = 0;
        }
        self.started = true;
        Ok(FinishedPic {
            store_id: store_idx.map(|i| self.frames[i].id).or_else(|| {
                (cur.nal_ref_idc != 0)
                    .then(|| self.frames.last().map(|f| f.id))
                    .flatten()
            }),
            mmco5: has_mmco5,
            top_poc: top,
            bottom_poc: bottom,
        })
    }

    /// Sliding window that never evicts the current frame's first field.
    fn sliding_window_keep(&mut self, seq: &SeqInfo, cur_frame_num: u32, keep: Option<usize>) {
        let num_short = self.frames.iter().filter(|f| f.short != 0).count() as u32;
        let num_long = self.frames.iter().filter(|f| f.long != 0).count() as u32;
        if num_short > 0 && num_short + num_long >= seq.max_num_ref_frames.max(1) {
            if let Some(i) = self
                .frames
                .iter()
                .enumerate()
                .filter(|(j, f)| f.short != 0 && Some(*j) != keep)
                .min_by_key(|(_, f)| f.frame_num_wrap(cur_frame_num, seq.max_frame_num))
                .map(|(i, _)| i)
            {
                self.frames[i].short = 0;
            }
        }
    }

    fn curr_pic_num(&self, cur: &CurPic) -> i64 {
        if cur.structure == FRAME {
            cur.frame_num as i64
        } else {
            2 * cur.frame_num as i64 + 1
        }
    }

    /// Short-term picture with PicNum `n` (8.2.4.1): frame index and field bits.
    fn find_short(&self, seq: &SeqInfo, cur: &CurPic, n: i64) -> Option<(usize, u8)> {
        self.find_pic(cur, n, |f| {
            (f.short, f.frame_num_wrap(cur.frame_num, seq.max_frame_num))
        })
    }

    /// Long-term picture with LongTermPicNum `n`.
    fn find_long(&self, cur: &CurPic, n: i64) -> Option<(usize, u8)> {
        self.find_pic(cur, n, |f| (f.long, f.long_term_frame_idx as i64))
    }

    /// The frame store (and field bits) whose picture number is `n`, given per
    /// store its marked field bits and per-frame number (FrameNumWrap or
    /// LongTermFrameIdx): frames match the number itself; fields match
    /// 2 * number + 1 for the current parity and 2 * number for the opposite.
    fn find_pic(
        &self,
        cur: &CurPic,
        n: i64,
        marked_and_num: impl Fn(&FrameStore) -> (u8, i64),
    ) -> Option<(usize, u8)> {
        for (i, f) in self.frames.iter().enumerate() {
            let (marked, num) = marked_and_num(f);
            if cur.structure == FRAME {
                if marked == FRAME && num == n {
                    return Some((i, FRAME));
                }
            } else {
                let same = cur.structure;
                let opp = FRAME & !same;
                if marked & same != 0 && 2 * num + 1 == n {
                    return Some((i, same));
                }
                if marked & opp != 0 && 2 * num == n {
                    return Some((i, opp));
                }
            }
        }
        None
    }

    /// PicNum / LongTermPicNum of a frame store as seen from the current picture
    /// (for the DPB control's `pic_num`).
    pub fn pic_num_of(&self, f: &FrameStore, seq: &SeqInfo, cur: &CurPic) -> i64 {
        let long = f.long != 0 && f.short == 0;
        let base = if long {
            f.long_term_frame_idx as i64
        } else {
            f.frame_num_wrap(cur.frame_num, seq.max_frame_num)
        };
        if cur.structure == FRAME {
            base
        } else {
            // 8-28/8-29 for fields: the same-parity field when the entry has
            // one marked, else the opposite-parity field.
            let marked = if long { f.long } else { f.short };
            if marked & cur.structure != 0 {
                2 * base + 1
            } else {
                2 * base
            }
        }
    }
}

/// What marking changed about the current picture.
#[derive(Debug, Clone, Copy)]
pub(crate) struct FinishedPic {
    /// Frame store now holding the current picture (reference pictures only).
    pub store_id: Option<u64>,
    pub mmco5: bool,
    /// POCs after the MMCO 5 adjustment (the values the DPB keeps).
    pub top_poc: i32,
    pub bottom_poc: i32,
}
