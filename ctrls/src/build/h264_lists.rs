//! H.264 reference picture lists (8.2.4): initial lists for P/SP and B slices,
//! frames and fields, then the ref_pic_list_modification() process. Entries are
//! `(index into DECODE_PARAMS.dpb, field bits)`; `None` is "no reference picture".

use cros_codecs::codec::h264::parser::{SliceHeader, SliceType};

use super::h264_refs::{CurPic, FrameStore, SeqInfo, BOTTOM, FRAME, TOP};

/// What the list construction reads.
pub(crate) struct ListInput<'a> {
    pub cur: &'a CurPic,
    pub seq: &'a SeqInfo,
    /// PicOrderCnt(CurrPic).
    pub cur_poc: i32,
    /// DPB before marking the current picture (entries with no reference
    /// field are not in the DPB control and are skipped).
    pub frames: &'a [FrameStore],
    /// Unused: the first field of the current frame is already in `frames`.
    #[allow(dead_code)]
    pub pair_store: Option<u64>,
}

/// A list entry: a frame or one field of a frame store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Entry {
    /// Index in the DPB control.
    dpb: u8,
    /// Index in `frames`.
    store: usize,
    /// FRAME, TOP or BOTTOM.
    fields: u8,
    long: bool,
}

pub(crate) type List = Vec<Option<(u8, u8)>>;

/// RefPicList0 and RefPicList1 of one slice.
pub(crate) fn build(slice: &SliceHeader, inp: ListInput<'_>) -> Result<(List, List), String> {
    let is_b = slice.slice_type == SliceType::B;
    let is_p = matches!(slice.slice_type, SliceType::P | SliceType::Sp);
    if !is_b && !is_p {
        return Ok((Vec::new(), Vec::new()));
    }
    let ctx = Ctx::new(&inp);
    let (init0, init1) = if is_p {
        (ctx.init_p(), Vec::new())
    } else {
        ctx.init_b()
    };
    let n0 = slice.num_ref_idx_l0_active_minus1 as usize + 1;
    let l0 = ctx.modify(
        init0,
        n0,
        if slice.ref_pic_list_modification_flag_l0 {
            &slice.ref_pic_list_modification_l0[..]
        } else {
            &[]
        },
    )?;
    let l1 = if is_b {
        let n1 = slice.num_ref_idx_l1_active_minus1 as usize + 1;
        ctx.modify(
            init1,
            n1,
            if slice.ref_pic_list_modification_flag_l1 {
                &slice.ref_pic_list_modification_l1[..]
            } else {
                &[]
            },
        )?
    } else {
        Vec::new()
    };
    let out = |l: Vec<Option<Entry>>| {
        l.into_iter()
            .map(|e| e.map(|e| (e.dpb, e.fields)))
            .collect()
    };
    Ok((out(l0), out(l1)))
}

struct Ctx<'a> {
    inp: &'a ListInput<'a>,
    /// (store index, dpb index) of frame stores that are in the DPB control.
    stores: Vec<(usize, u8)>,
    field: bool,
}

impl<'a> Ctx<'a> {
    fn new(inp: &'a ListInput<'a>) -> Self {
        let stores = inp
            .frames
            .iter()
            .enumerate()
            .filter(|(_, f)| f.refs() != 0)
            .enumerate()
            .map(|(d, (s, _))| (s, d as u8))
            .collect();
        Ctx {
            inp,
            stores,
            field: inp.cur.structure != FRAME,
        }
    }

    fn f(&self, s: usize) -> &FrameStore {
        &self.inp.frames[s]
    }

    fn wrap(&self, s: usize) -> i64 {
        let f = self.f(s);
        if f.frame_num > self.inp.cur.frame_num {
            f.frame_num as i64 - self.inp.seq.max_frame_num as i64
        } else {
            f.frame_num as i64
        }
    }

    /// POC of the frame store over the fields in `mask` that are decoded.
    fn poc(&self, s: usize, mask: u8) -> Option<i32> {
        let f = self.f(s);
        let m = mask & f.decoded;
        match m {
            FRAME => Some(f.top_poc.min(f.bottom_poc)),
            TOP => Some(f.top_poc),
            BOTTOM => Some(f.bottom_poc),
            _ => None,
        }
    }

    fn entry(&self, s: usize, d: u8, fields: u8, long: bool) -> Entry {
        Entry {
            dpb: d,
            store: s,
            fields,
            long,
        }
    }

    /// Frame stores with short-term (or long-term) fields usable now.
    fn short_stores(&self) -> Vec<(usize, u8)> {
        self.stores
            .iter()
            .copied()
            .filter(|&(s, _)| {
                let f = self.f(s);
                if self.field {
                    f.short != 0
                } else {
                    f.short == FRAME
                }
            })
            .collect()
    }

    fn long_stores(&self) -> Vec<(usize, u8)> {
        let mut v: Vec<_> = self
            .stores
            .iter()
            .copied()
            .filter(|&(s, _)| {
                let f = self.f(s);
                if self.field {
                    f.long != 0
                } else {
                    f.long == FRAME
                }
            })
            .collect();
        v.sort_by_key(|&(s, _)| self.f(s).long_term_frame_idx);
        v
    }

    fn init_p(&self) -> Vec<Entry> {
        let mut short = self.short_stores();
        short.sort_by_key(|&(s, _)| std::cmp::Reverse(self.wrap(s)));
        let long = self.long_stores();
        self.expand(&short, &long)
    }

    fn init_b(&self) -> (Vec<Entry>, Vec<Entry>) {
        let cur = self.inp.cur_poc;
        let short = self.short_stores();
        let mask = |s: usize| if self.field { self.f(s).short } else { FRAME };
        let with_poc: Vec<(usize, u8, i32)> = short
            .iter()
            .filter_map(|&(s, d)| self.poc(s, mask(s)).map(|p| (s, d, p)))
            .collect();
        let mut before: Vec<_> = with_poc.iter().filter(|e| e.2 <= cur).copied().collect();
        let mut after: Vec<_> = with_poc.iter().filter(|e| e.2 > cur).copied().collect();
        before.sort_by_key(|e| std::cmp::Reverse(e.2));
        after.sort_by_key(|e| e.2);
        let strip = |v: &[(usize, u8, i32)]| v.iter().map(|e| (e.0, e.1)).collect::<Vec<_>>();
        let s0: Vec<_> = strip(&before).into_iter().chain(strip(&after)).collect();
        let s1: Vec<_> = strip(&after).into_iter().chain(strip(&before)).collect();
        let long = self.long_stores();
        let l0 = self.expand(&s0, &long);
        let mut l1 = self.expand(&s1, &long);
        if l1.len() > 1 && l1 == l0 {
            l1.swap(0, 1);
        }
        (l0, l1)
    }

    /// Frame lists -> entry list (8.2.4.2.5 alternation for fields).
    fn expand(&self, short: &[(usize, u8)], long: &[(usize, u8)]) -> Vec<Entry> {
        if !self.field {
            let mut v: Vec<Entry> = short
                .iter()
                .map(|&(s, d)| self.entry(s, d, FRAME, false))
                .collect();
            v.extend(long.iter().map(|&(s, d)| self.entry(s, d, FRAME, true)));
            return v;
        }
        let mut v = self.alternate(short, false);
        v.extend(self.alternate(long, true));
        v
    }

    fn alternate(&self, frames: &[(usize, u8)], long: bool) -> Vec<Entry> {
        let same = self.inp.cur.structure;
        let opp = FRAME & !same;
        let marked = |s: usize| {
            let f = self.f(s);
            if long {
                f.long
            } else {
                f.short
            }
        };
        let pick = |parity: u8| -> Vec<Entry> {
            frames
                .iter()
                .filter(|&&(s, _)| marked(s) & parity != 0)
                .map(|&(s, d)| self.entry(s, d, parity, long))
                .collect()
        };
        let a = pick(same);
        let b = pick(opp);
        let mut out = Vec::with_capacity(a.len() + b.len());
        let (mut i, mut j) = (0, 0);
        while i < a.len() || j < b.len() {
            if i < a.len() {
                out.push(a[i]);
                i += 1;
            }
            if j < b.len() {
                out.push(b[j]);
                j += 1;
            }
        }
        out
    }

    fn max_pic_num(&self) -> i64 {
        let m = self.inp.seq.max_frame_num as i64;
        if self.field {
            2 * m
        } else {
            m
        }
    }

    fn curr_pic_num(&self) -> i64 {
        let f = self.inp.cur.frame_num as i64;
        if self.field {
            2 * f + 1
        } else {
            f
        }
    }

    fn pic_num(&self, e: &Entry) -> i64 {
        let w = self.wrap(e.store);
        if !self.field {
            w
        } else if e.fields == self.inp.cur.structure {
            2 * w + 1
        } else {
            2 * w
        }
    }

    fn long_pic_num(&self, e: &Entry) -> i64 {
        let idx = self.f(e.store).long_term_frame_idx as i64;
        if !self.field {
            idx
        } else if e.fields == self.inp.cur.structure {
            2 * idx + 1
        } else {
            2 * idx
        }
    }

    /// All candidate entries (short or long) with their numbers.
    fn candidates(&self, long: bool) -> Vec<Entry> {
        let stores = if long {
            self.long_stores()
        } else {
            self.short_stores()
        };
        let mut v = Vec::new();
        for (s, d) in stores {
            let f = self.f(s);
            let marked = if long { f.long } else { f.short };
            if self.field {
                for p in [TOP, BOTTOM] {
                    if marked & p != 0 {
                        v.push(self.entry(s, d, p, long));
                    }
                }
            } else {
                v.push(self.entry(s, d, FRAME, long));
            }
        }
        v
    }

    fn modify(
        &self,
        mut list: Vec<Entry>,
        n: usize,
        mods: &[cros_codecs::codec::h264::parser::RefPicListModification],
    ) -> Result<Vec<Option<Entry>>, String> {
        list.truncate(n);
        let mut l: Vec<Option<Entry>> = list.into_iter().map(Some).collect();
        l.resize(n, None);
        if mods.is_empty() {
            return Ok(l);
        }
        let max = self.max_pic_num();
        let curr = self.curr_pic_num();
        let mut pred = curr;

        let shorts = self.candidates(false);
        let longs = self.candidates(true);
        for (ref_idx, m) in mods.iter().enumerate() {
            let pic = match m.modification_of_pic_nums_idc {
                0 | 1 => {
                    let d = m.abs_diff_pic_num_minus1 as i64 + 1;
                    let mut no_wrap = if m.modification_of_pic_nums_idc == 0 {
                        pred - d
                    } else {
                        pred + d
                    };
                    if no_wrap < 0 {
                        no_wrap += max;
                    } else if no_wrap >= max {
                        no_wrap -= max;
                    }
                    pred = no_wrap;
                    let pn = if no_wrap > curr {
                        no_wrap - max
                    } else {
                        no_wrap
                    };
                    shorts
                        .iter()
                        .copied()
                        .find(|e| self.pic_num(e) == pn)
                        .ok_or_else(|| {
                            format!("ref_pic_list_modification: no short-term picNum {pn}")
                        })?
                }
                2 => {
                    let ln = m.long_term_pic_num as i64;
                    longs
                        .iter()
                        .copied()
                        .find(|e| self.long_pic_num(e) == ln)
                        .ok_or_else(|| {
                            format!("ref_pic_list_modification: no LongTermPicNum {ln}")
                        })?
                }
                _ => break,
            };
            if ref_idx >= n {
                return Err("ref_pic_list_modification: too many operations".into());
            }
            // Insert at ref_idx, drop the later duplicate (8-37 / 8-38).
            l.insert(ref_idx, Some(pic));
            let mut k = ref_idx + 1;
            for c in ref_idx + 1..l.len() {
                let dup = matches!(l[c], Some(e) if e.store == pic.store
                    && e.fields == pic.fields && e.long == pic.long);
                if !dup {
                    l[k] = l[c];
                    k += 1;
                }
            }
            l.truncate(k.min(n));
            l.resize(n, None);
        }
        Ok(l)
    }
}
