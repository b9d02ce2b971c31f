//! A small HEVC encoder for the coding tools libx265 cannot produce: PCM coding units,
//! tiles (uniform or explicit spacing; one slice over all tiles or one slice per tile),
//! dependent slice segments, and long-term reference pictures (POC LSB only and with the
//! MSB cycle, a short-term picture turned long-term), next to short-term pictures the
//! current picture does not use but a later one does (RefPicSetStFoll / LtFoll).
//!
//! Main profile, 8-bit 4:2:0, 16x16 CTBs of one 16x16 CU each. Intra CUs are PCM (8-bit,
//! so lossless); in P pictures the other CUs are skipped (MaxNumMergeCand 1, no TMVP: a
//! copy of the first reference, which the RPS picks per picture). The arithmetic coder
//! is the spec's encoder (H.264 9.3.4.2, which H.265 keeps); the CABAC tables are the
//! spec's (Table 9-52/9-53 of H.265, the same as H.264's). The reference for these
//! streams is FFmpeg's decode of the file (tests/common/fixtures.rs), never this code.

#![allow(dead_code)]

/// Tile layout.
#[derive(Debug)]
pub enum Tiles {
    None,
    /// uniform_spacing_flag 1.
    Uniform {
        cols: u32,
        rows: u32,
    },
    /// Column widths and row heights in CTBs.
    Explicit {
        cols: &'static [u32],
        rows: &'static [u32],
    },
}

/// Slice segment layout of every picture.
#[derive(Debug)]
pub enum Segments {
    /// One slice.
    One,
    /// One slice per tile.
    PerTile,
    /// A segment every `ctbs` CTBs (tile scan); every `independent_every`-th one starts
    /// a new slice, the others are dependent slice segments.
    Dependent { ctbs: u32, independent_every: u32 },
}

/// One stream.
#[derive(Debug)]
pub struct Config {
    /// Multiples of 16.
    pub w: u32,
    pub h: u32,
    pub frames: u32,
    pub tiles: Tiles,
    pub loop_filter_across_tiles: bool,
    pub segments: Segments,
    /// Long-term references (see [`refs`]); else each P picture predicts from the one
    /// before.
    pub long_term: bool,
    pub pcm_loop_filter_disabled: bool,
}

const CTB: u32 = 16;
const LOG2_MAX_POC_LSB: u32 = 4;
/// The picture that becomes the long-term anchor after picture 0 (see [`refs`]).
const LT_SWITCH: i32 = 20;
const QP: i32 = 26;

/// The whole stream, Annex B.
pub fn stream(c: &Config) -> Vec<u8> {
    assert!(
        c.w.is_multiple_of(CTB) && c.h.is_multiple_of(CTB),
        "sizes in whole CTBs"
    );
    let layout = Layout::new(c);
    let mut out = Vec::new();
    nal(&mut out, 32, &vps());
    nal(&mut out, 33, &sps(c));
    nal(&mut out, 34, &pps(c, &layout));
    for t in 0..c.frames as i32 {
        picture(&mut out, c, &layout, t);
    }
    out
}

// ---------------------------------------------------------------- bits

#[derive(Default)]
struct Bits {
    bytes: Vec<u8>,
    cur: u32,
    n: u32,
}

impl Bits {
    fn bit(&mut self, b: bool) {
        self.cur = (self.cur << 1) | u32::from(b);
        self.n += 1;
        if self.n == 8 {
            self.bytes.push(self.cur as u8);
            self.cur = 0;
            self.n = 0;
        }
    }
    fn bits(&mut self, n: u32, v: u32) {
        for i in (0..n).rev() {
            self.bit((v >> i) & 1 == 1);
        }
    }
    fn ue(&mut self, v: u32) {
        let x = v + 1;
        let len = 32 - x.leading_zeros();
        self.bits(len - 1, 0);
        self.bits(len, x);
    }
    fn se(&mut self, v: i32) {
        self.ue(if v > 0 {
            2 * v as u32 - 1
        } else {
            2 * v.unsigned_abs()
        });
    }
    fn aligned(&self) -> bool {
        self.n == 0
    }
    fn align_zero(&mut self) {
        while !self.aligned() {
            self.bit(false);
        }
    }
    /// rbsp_trailing_bits / byte_alignment(): a one, then zeros.
    fn trailing(&mut self) {
        self.bit(true);
        self.align_zero();
    }
    fn done(self) -> Vec<u8> {
        assert!(self.aligned());
        self.bytes
    }
}

/// Appends a NAL unit (start code, header, emulation prevention) of RBSP `rbsp`.
fn nal(out: &mut Vec<u8>, nal_type: u8, rbsp: &[u8]) {
    nal_escaped(out, nal_type, &escape(rbsp).0);
}

/// Appends a NAL unit whose payload is escaped already.
fn nal_escaped(out: &mut Vec<u8>, nal_type: u8, payload: &[u8]) {
    out.extend([0, 0, 0, 1, nal_type << 1, 1]);
    out.extend_from_slice(payload);
}

/// Emulation prevention (7.4.2): the escaped bytes and, per input byte, its index in
/// them.
fn escape(rbsp: &[u8]) -> (Vec<u8>, Vec<usize>) {
    let mut out = Vec::with_capacity(rbsp.len() + rbsp.len() / 64);
    let mut map = Vec::with_capacity(rbsp.len() + 1);
    let mut zeros = 0;
    for &b in rbsp {
        if zeros >= 2 && b <= 3 {
            out.push(3);
            zeros = 0;
        }
        map.push(out.len());
        out.push(b);
        zeros = if b == 0 { zeros + 1 } else { 0 };
    }
    map.push(out.len());
    (out, map)
}

// ---------------------------------------------------------------- parameter sets

/// profile_tier_level(1, 0): Main, level 4.
fn ptl(w: &mut Bits) {
    w.bits(2, 0); // general_profile_space
    w.bit(false); // general_tier_flag
    w.bits(5, 1); // general_profile_idc: Main
    w.bits(32, 0x6000_0000); // compatible with Main and Main 10
    w.bit(true); // progressive_source
    w.bit(false); // interlaced_source
    w.bit(false); // non_packed_constraint
    w.bit(true); // frame_only_constraint
    w.bits(32, 0); // 43 reserved bits and general_inbld_flag
    w.bits(12, 0);
    w.bits(8, 120); // general_level_idc: 4
}

fn vps() -> Vec<u8> {
    let mut w = Bits::default();
    w.bits(4, 0); // vps_video_parameter_set_id
    w.bit(true); // vps_base_layer_internal_flag
    w.bit(true); // vps_base_layer_available_flag
    w.bits(6, 0); // vps_max_layers_minus1
    w.bits(3, 0); // vps_max_sub_layers_minus1
    w.bit(true); // vps_temporal_id_nesting_flag
    w.bits(16, 0xffff);
    ptl(&mut w);
    w.bit(true); // vps_sub_layer_ordering_info_present_flag
    w.ue(4); // vps_max_dec_pic_buffering_minus1
    w.ue(0); // vps_max_num_reorder_pics
    w.ue(0); // vps_max_latency_increase_plus1
    w.bits(6, 0); // vps_max_layer_id
    w.ue(0); // vps_num_layer_sets_minus1
    w.bit(false); // vps_timing_info_present_flag
    w.bit(false); // vps_extension_flag
    w.trailing();
    w.done()
}

fn sps(c: &Config) -> Vec<u8> {
    let mut w = Bits::default();
    w.bits(4, 0); // sps_video_parameter_set_id
    w.bits(3, 0); // sps_max_sub_layers_minus1
    w.bit(true); // sps_temporal_id_nesting_flag
    ptl(&mut w);
    w.ue(0); // sps_seq_parameter_set_id
    w.ue(1); // chroma_format_idc: 4:2:0
    w.ue(c.w);
    w.ue(c.h);
    w.bit(false); // conformance_window_flag
    w.ue(0); // bit_depth_luma_minus8
    w.ue(0); // bit_depth_chroma_minus8
    w.ue(LOG2_MAX_POC_LSB - 4);
    w.bit(true); // sps_sub_layer_ordering_info_present_flag
    w.ue(4); // sps_max_dec_pic_buffering_minus1
    w.ue(0); // sps_max_num_reorder_pics
    w.ue(0); // sps_max_latency_increase_plus1
    w.ue(0); // log2_min_luma_coding_block_size_minus3: 8
    w.ue(1); // log2_diff_max_min_luma_coding_block_size: CTB 16
    w.ue(0); // log2_min_luma_transform_block_size_minus2
    w.ue(2); // log2_diff_max_min_luma_transform_block_size
    w.ue(1); // max_transform_hierarchy_depth_inter
    w.ue(1); // max_transform_hierarchy_depth_intra
    w.bit(false); // scaling_list_enabled_flag
    w.bit(false); // amp_enabled_flag
    w.bit(false); // sample_adaptive_offset_enabled_flag
    w.bit(true); // pcm_enabled_flag
    w.bits(4, 7); // pcm_sample_bit_depth_luma_minus1
    w.bits(4, 7); // pcm_sample_bit_depth_chroma_minus1
    w.ue(1); // log2_min_pcm_luma_coding_block_size_minus3: 16
    w.ue(0); // log2_diff_max_min_pcm_luma_coding_block_size
    w.bit(c.pcm_loop_filter_disabled);
    w.ue(0); // num_short_term_ref_pic_sets
    w.bit(c.long_term); // long_term_ref_pics_present_flag
    if c.long_term {
        w.ue(0); // num_long_term_ref_pics_sps
    }
    w.bit(false); // sps_temporal_mvp_enabled_flag
    w.bit(false); // strong_intra_smoothing_enabled_flag
    w.bit(false); // vui_parameters_present_flag
    w.bit(false); // sps_extension_present_flag
    w.trailing();
    w.done()
}

fn tiles_on(c: &Config) -> bool {
    !matches!(c.tiles, Tiles::None)
}

fn dependent_on(c: &Config) -> bool {
    matches!(c.segments, Segments::Dependent { .. })
}

fn pps(c: &Config, l: &Layout) -> Vec<u8> {
    let mut w = Bits::default();
    w.ue(0); // pps_pic_parameter_set_id
    w.ue(0); // pps_seq_parameter_set_id
    w.bit(dependent_on(c)); // dependent_slice_segments_enabled_flag
    w.bit(false); // output_flag_present_flag
    w.bits(3, 0); // num_extra_slice_header_bits
    w.bit(false); // sign_data_hiding_enabled_flag
    w.bit(false); // cabac_init_present_flag
    w.ue(0); // num_ref_idx_l0_default_active_minus1
    w.ue(0); // num_ref_idx_l1_default_active_minus1
    w.se(QP - 26); // init_qp_minus26
    w.bit(false); // constrained_intra_pred_flag
    w.bit(false); // transform_skip_enabled_flag
    w.bit(false); // cu_qp_delta_enabled_flag
    w.se(0); // pps_cb_qp_offset
    w.se(0); // pps_cr_qp_offset
    w.bit(false); // pps_slice_chroma_qp_offsets_present_flag
    w.bit(false); // weighted_pred_flag
    w.bit(false); // weighted_bipred_flag
    w.bit(false); // transquant_bypass_enabled_flag
    w.bit(tiles_on(c)); // tiles_enabled_flag
    w.bit(false); // entropy_coding_sync_enabled_flag
    if tiles_on(c) {
        w.ue(l.cols.len() as u32 - 1);
        w.ue(l.rows.len() as u32 - 1);
        let uniform = matches!(c.tiles, Tiles::Uniform { .. });
        w.bit(uniform);
        if !uniform {
            for &cw in &l.cols[..l.cols.len() - 1] {
                w.ue(cw - 1);
            }
            for &rh in &l.rows[..l.rows.len() - 1] {
                w.ue(rh - 1);
            }
        }
        w.bit(c.loop_filter_across_tiles);
    }
    w.bit(true); // pps_loop_filter_across_slices_enabled_flag
    w.bit(true); // deblocking_filter_control_present_flag
    w.bit(false); // deblocking_filter_override_enabled_flag
    w.bit(false); // pps_deblocking_filter_disabled_flag
    w.se(2); // pps_beta_offset_div2
    w.se(-1); // pps_tc_offset_div2
    w.bit(false); // pps_scaling_list_data_present_flag
    w.bit(false); // lists_modification_present_flag
    w.ue(0); // log2_parallel_merge_level_minus2
    w.bit(false); // slice_segment_header_extension_present_flag
    w.bit(false); // pps_extension_present_flag
    w.trailing();
    w.done()
}

// ---------------------------------------------------------------- layout (6.5.1)

struct Layout {
    /// Picture size in CTBs.
    wc: u32,
    hc: u32,
    cols: Vec<u32>,
    rows: Vec<u32>,
    ts_to_rs: Vec<u32>,
    /// Tile of each CTB, by raster address.
    tile_rs: Vec<u32>,
}

fn uniform(n: u32, total: u32) -> Vec<u32> {
    (0..n)
        .map(|i| (i + 1) * total / n - i * total / n)
        .collect()
}

impl Layout {
    fn new(c: &Config) -> Layout {
        let (wc, hc) = (c.w / CTB, c.h / CTB);
        let (cols, rows) = match c.tiles {
            Tiles::None => (vec![wc], vec![hc]),
            Tiles::Uniform { cols, rows } => (uniform(cols, wc), uniform(rows, hc)),
            Tiles::Explicit { cols, rows } => (cols.to_vec(), rows.to_vec()),
        };
        assert_eq!(cols.iter().sum::<u32>(), wc, "tile columns");
        assert_eq!(rows.iter().sum::<u32>(), hc, "tile rows");
        let mut ts_to_rs = Vec::new();
        let mut tile_rs = vec![0; (wc * hc) as usize];
        let (mut y0, mut tile) = (0, 0);
        for &rh in &rows {
            let mut x0 = 0;
            for &cw in &cols {
                for y in y0..y0 + rh {
                    for x in x0..x0 + cw {
                        ts_to_rs.push(y * wc + x);
                        tile_rs[(y * wc + x) as usize] = tile;
                    }
                }
                x0 += cw;
                tile += 1;
            }
            y0 += rh;
        }
        Layout {
            wc,
            hc,
            cols,
            rows,
            ts_to_rs,
            tile_rs,
        }
    }

    fn tile_of_ts(&self, ts: u32) -> u32 {
        self.tile_rs[self.ts_to_rs[ts as usize] as usize]
    }

    fn first_in_tile(&self, ts: u32) -> bool {
        ts == 0 || self.tile_of_ts(ts) != self.tile_of_ts(ts - 1)
    }

    /// Slice segments: (first CTB in tile scan, end, dependent).
    fn segments(&self, s: &Segments) -> Vec<(u32, u32, bool)> {
        let n = self.wc * self.hc;
        let starts: Vec<(u32, bool)> = match *s {
            Segments::One => vec![(0, false)],
            Segments::PerTile => (0..n)
                .filter(|&ts| self.first_in_tile(ts))
                .map(|ts| (ts, false))
                .collect(),
            Segments::Dependent {
                ctbs,
                independent_every,
            } => (0..n.div_ceil(ctbs))
                .map(|k| (k * ctbs, k % independent_every != 0))
                .collect(),
        };
        starts
            .iter()
            .enumerate()
            .map(|(i, &(s, dep))| (s, starts.get(i + 1).map_or(n, |x| x.0), dep))
            .collect()
    }
}

// ---------------------------------------------------------------- CABAC (9.3)

const RANGE_TAB_LPS: [[u8; 4]; 64] = [
    [128, 176, 208, 240],
    [128, 167, 197, 227],
    [128, 158, 187, 216],
    [123, 150, 178, 205],
    [116, 142, 169, 195],
    [111, 135, 160, 185],
    [105, 128, 152, 175],
    [100, 122, 144, 166],
    [95, 116, 137, 158],
    [90, 110, 130, 150],
    [85, 104, 123, 142],
    [81, 99, 117, 135],
    [77, 94, 111, 128],
    [73, 89, 105, 122],
    [69, 85, 100, 116],
    [66, 80, 95, 110],
    [62, 76, 90, 104],
    [59, 72, 86, 99],
    [56, 69, 81, 94],
    [53, 65, 77, 89],
    [51, 62, 73, 85],
    [48, 59, 69, 80],
    [46, 56, 66, 76],
    [43, 53, 63, 72],
    [41, 50, 59, 69],
    [39, 48, 56, 65],
    [37, 45, 54, 62],
    [35, 43, 51, 59],
    [33, 41, 48, 56],
    [32, 39, 46, 53],
    [30, 37, 43, 50],
    [29, 35, 41, 48],
    [27, 33, 39, 45],
    [26, 31, 37, 43],
    [24, 30, 35, 41],
    [23, 28, 33, 39],
    [22, 27, 32, 37],
    [21, 26, 30, 35],
    [20, 24, 29, 33],
    [19, 23, 27, 31],
    [18, 22, 26, 30],
    [17, 21, 25, 28],
    [16, 20, 23, 27],
    [15, 19, 22, 25],
    [14, 18, 21, 24],
    [14, 17, 20, 23],
    [13, 16, 19, 22],
    [12, 15, 18, 21],
    [12, 14, 17, 20],
    [11, 14, 16, 19],
    [11, 13, 15, 18],
    [10, 12, 15, 17],
    [10, 12, 14, 16],
    [9, 11, 13, 15],
    [9, 11, 12, 14],
    [8, 10, 12, 14],
    [8, 9, 11, 13],
    [7, 9, 11, 12],
    [7, 9, 10, 12],
    [7, 8, 10, 11],
    [6, 8, 9, 11],
    [6, 7, 9, 10],
    [6, 7, 8, 9],
    [2, 2, 2, 2],
];

const TRANS_IDX_LPS: [u8; 64] = [
    0, 0, 1, 2, 2, 4, 4, 5, 6, 7, 8, 9, 9, 11, 11, 12, 13, 13, 15, 15, 16, 16, 18, 18, 19, 19, 21,
    21, 22, 22, 23, 24, 24, 25, 26, 26, 27, 27, 28, 29, 29, 30, 30, 30, 31, 32, 32, 33, 33, 33, 34,
    34, 35, 35, 35, 36, 36, 36, 37, 37, 37, 38, 38, 63,
];

#[derive(Clone, Copy)]
struct Ctx {
    state: u8,
    mps: bool,
}

impl Ctx {
    /// 9.3.2.2, at SliceQpY.
    fn new(init_value: u8) -> Ctx {
        let m = i32::from(init_value >> 4) * 5 - 45;
        let n = (i32::from(init_value & 15) << 3) - 16;
        let pre = (((m * QP.clamp(0, 51)) >> 4) + n).clamp(1, 126);
        if pre <= 63 {
            Ctx {
                state: (63 - pre) as u8,
                mps: false,
            }
        } else {
            Ctx {
                state: (pre - 64) as u8,
                mps: true,
            }
        }
    }
}

/// The context variables this encoder uses (Tables 9-11, 9-13, 9-14).
#[derive(Clone, Copy)]
struct Contexts {
    split_cu: [Ctx; 3],
    cu_skip: [Ctx; 3],
    pred_mode: Ctx,
}

impl Contexts {
    /// initType 0 (I) or 1 (P, cabac_init_flag 0).
    fn new(p: bool) -> Contexts {
        let split = if p { [107, 139, 126] } else { [139, 141, 157] };
        Contexts {
            split_cu: split.map(Ctx::new),
            // Not used in I slices (initType 0 has no values for them).
            cu_skip: [197, 185, 201].map(Ctx::new),
            pred_mode: Ctx::new(149),
        }
    }
}

/// The arithmetic encoder writing a substream.
struct Cabac {
    w: Bits,
    low: u32,
    range: u32,
    outstanding: u32,
    first: bool,
}

impl Cabac {
    fn new() -> Cabac {
        let mut c = Cabac {
            w: Bits::default(),
            low: 0,
            range: 0,
            outstanding: 0,
            first: true,
        };
        c.init();
        c
    }

    /// 9.3.2.5's counterpart: the engine starts again (after PCM samples).
    fn init(&mut self) {
        self.low = 0;
        self.range = 510;
        self.outstanding = 0;
        self.first = true;
    }

    fn put_bit(&mut self, b: bool) {
        if self.first {
            self.first = false;
        } else {
            self.w.bit(b);
        }
        while self.outstanding > 0 {
            self.w.bit(!b);
            self.outstanding -= 1;
        }
    }

    fn renorm(&mut self) {
        while self.range < 256 {
            if self.low < 256 {
                self.put_bit(false);
            } else if self.low >= 512 {
                self.low -= 512;
                self.put_bit(true);
            } else {
                self.low -= 256;
                self.outstanding += 1;
            }
            self.range <<= 1;
            self.low <<= 1;
        }
    }

    fn decision(&mut self, ctx: &mut Ctx, bin: bool) {
        let lps = u32::from(RANGE_TAB_LPS[ctx.state as usize][((self.range >> 6) & 3) as usize]);
        self.range -= lps;
        if bin != ctx.mps {
            self.low += self.range;
            self.range = lps;
            if ctx.state == 0 {
                ctx.mps = !ctx.mps;
            }
            ctx.state = TRANS_IDX_LPS[ctx.state as usize];
        } else if ctx.state < 62 {
            ctx.state += 1;
        }
        self.renorm();
    }

    /// A terminate bin; 1 flushes the engine, and the flush's last bit (a one) is the
    /// stop bit / alignment_bit_equal_to_one; zeros up to the byte boundary follow.
    fn terminate(&mut self, bin: bool) {
        self.range -= 2;
        if bin {
            self.low += self.range;
            self.range = 2;
            self.renorm();
            self.put_bit((self.low >> 9) & 1 == 1);
            self.w.bits(2, ((self.low >> 7) & 3) | 1);
            self.w.align_zero();
        } else {
            self.renorm();
        }
    }
}

// ---------------------------------------------------------------- pictures

/// What a decoder must show at CTB (x, y) of picture `t` (away from the CTB's edges,
/// which deblocking may change).
#[derive(Debug, PartialEq)]
pub enum Ctb {
    /// PCM: [`sample`] of picture `t`.
    Pcm,
    /// Skipped: the samples of picture `r` there.
    Copy(u32),
}

pub fn ctb(c: &Config, t: u32, x: u32, y: u32) -> Ctb {
    if t == 0 || fresh(x, y, t) {
        return Ctb::Pcm;
    }
    let (st, lt) = refs(c, t as i32);
    let r = match lt {
        Some((poc, true)) => poc,
        _ => t as i32 - st.iter().find(|e| e.1).expect("one used reference").0,
    };
    Ctb::Copy(r as u32)
}

/// Sample value of plane `p` (0 luma) at (x, y) of picture `t`: in 16..=235.
pub fn sample(p: u32, x: u32, y: u32, t: u32) -> u8 {
    let v = match p {
        0 => (x + 2 * y + 5 * t) % 64 * 3 + (x / 16 + y / 16 + t) % 2 * 27,
        1 => (2 * x + y + 11 * t) % 200,
        _ => (x + 3 * y + 7 * t) % 200,
    };
    16 + v as u8
}

/// Whether CTB (x, y) of P picture `t` is coded as new (PCM) content: a fifth of the
/// CTBs, other ones in each picture (so what a skipped CTB shows depends on which
/// picture it copies).
fn fresh(x: u32, y: u32, t: u32) -> bool {
    (x.wrapping_mul(7) ^ y.wrapping_mul(13))
        .wrapping_add(t.wrapping_mul(3))
        .is_multiple_of(5)
}

/// A picture's RPS: (negative deltas, used), long-term (POC, used).
type Rps = (Vec<(i32, bool)>, Option<(i32, bool)>);

/// The references of picture `t` > 0. Without long-term: the picture before. With:
/// the anchor (picture 0, then from picture LT_SWITCH + 1 on picture LT_SWITCH, turned
/// long-term) is long-term; odd pictures predict from it, even ones from picture t - 2
/// (short-term). So t - 1 is kept unused (StFoll) for picture t + 1, and on even
/// pictures the anchor is kept unused (LtFoll) for the next odd one.
fn refs(c: &Config, t: i32) -> Rps {
    if !c.long_term {
        return (vec![(1, true)], None);
    }
    let anchor = if t > LT_SWITCH { LT_SWITCH } else { 0 };
    let st: Vec<(i32, bool)> = (1..=2)
        .filter(|d| t - d >= 0 && t - d != anchor)
        .map(|d| (d, d == 2 && t % 2 == 0))
        .collect();
    let lt_used = t % 2 == 1 || t - 2 == anchor;
    (st, Some((anchor, lt_used)))
}

fn picture(out: &mut Vec<u8>, c: &Config, l: &Layout, t: i32) {
    let p = t > 0;
    let n = (l.wc * l.hc) as usize;
    // SliceAddrRs of each coded CTB (raster), and whether it was skipped.
    let mut slice_of = vec![u32::MAX; n];
    let mut skipped = vec![false; n];
    let mut ctx = Contexts::new(p);
    let mut slice_addr = 0;
    for (start, end, dependent) in l.segments(&c.segments) {
        if !dependent {
            slice_addr = l.ts_to_rs[start as usize];
        }
        if !dependent || l.first_in_tile(start) {
            ctx = Contexts::new(p);
        }
        let mut subs: Vec<Vec<u8>> = Vec::new();
        let mut cabac = Cabac::new();
        for ts in start..end {
            let rs = l.ts_to_rs[ts as usize];
            let (x, y) = (rs % l.wc, rs / l.wc);
            let near = |nb: Option<u32>, slice_of: &[u32]| {
                nb.filter(|&nb| {
                    slice_of[nb as usize] == slice_addr
                        && l.tile_rs[nb as usize] == l.tile_rs[rs as usize]
                })
            };
            let left = near((x > 0).then(|| rs - 1), &slice_of);
            let above = near((y > 0).then(|| rs - l.wc), &slice_of);
            slice_of[rs as usize] = slice_addr;
            // split_cu_flag: every CU is at depth 0, so ctxInc 0.
            cabac.decision(&mut ctx.split_cu[0], false);
            let skip = p && !fresh(x, y, t as u32);
            if p {
                let inc = [left, above]
                    .iter()
                    .flatten()
                    .filter(|&&nb| skipped[nb as usize])
                    .count();
                cabac.decision(&mut ctx.cu_skip[inc], skip);
                skipped[rs as usize] = skip;
                if !skip {
                    cabac.decision(&mut ctx.pred_mode, true); // MODE_INTRA
                }
            }
            if !skip {
                cabac.terminate(true); // pcm_flag
                pcm(&mut cabac.w, x * CTB, y * CTB, t as u32);
                cabac.init();
            }
            let last = ts + 1 == end;
            cabac.terminate(last); // end_of_slice_segment_flag
            if !last && l.first_in_tile(ts + 1) {
                cabac.terminate(true); // end_of_subset_one_bit, byte_alignment()
                subs.push(std::mem::replace(&mut cabac, Cabac::new()).w.done());
                ctx = Contexts::new(p);
            }
        }
        subs.push(cabac.w.done());
        segment(out, c, l, t, start, dependent, &subs);
    }
}

/// pcm_sample() of the CU at (x0, y0).
fn pcm(w: &mut Bits, x0: u32, y0: u32, t: u32) {
    for y in 0..CTB {
        for x in 0..CTB {
            w.bits(8, u32::from(sample(0, x0 + x, y0 + y, t)));
        }
    }
    for plane in 1..3 {
        for y in 0..CTB / 2 {
            for x in 0..CTB / 2 {
                w.bits(8, u32::from(sample(plane, x0 / 2 + x, y0 / 2 + y, t)));
            }
        }
    }
}

/// Writes a slice segment NAL: its header (7.3.6.1) with the entry points of `subs`
/// counted in escaped bytes, as the spec counts them, and the substreams.
fn segment(
    out: &mut Vec<u8>,
    c: &Config,
    l: &Layout,
    t: i32,
    start: u32,
    dependent: bool,
    subs: &[Vec<u8>],
) {
    let data: Vec<u8> = subs.concat();
    let mut offsets: Vec<u32> = subs[..subs.len() - 1]
        .iter()
        .map(|s| s.len() as u32)
        .collect();
    for _ in 0..8 {
        let hdr = header(c, l, t, start, dependent, &offsets);
        let rbsp = [hdr.as_slice(), &data].concat();
        let (esc, map) = escape(&rbsp);
        let mut pos = hdr.len();
        let got: Vec<u32> = subs[..subs.len() - 1]
            .iter()
            .map(|s| {
                let n = (map[pos + s.len()] - map[pos]) as u32;
                pos += s.len();
                n
            })
            .collect();
        if got == offsets {
            let nal_type = if t == 0 { 19 } else { 1 }; // IDR_W_RADL, TRAIL_R
            nal_escaped(out, nal_type, &esc);
            return;
        }
        offsets = got;
    }
    panic!("entry point offsets do not settle");
}

fn header(c: &Config, l: &Layout, t: i32, start: u32, dependent: bool, offsets: &[u32]) -> Vec<u8> {
    let mut w = Bits::default();
    let idr = t == 0;
    w.bit(start == 0); // first_slice_segment_in_pic_flag
    if idr {
        w.bit(false); // no_output_of_prior_pics_flag
    }
    w.ue(0); // slice_pic_parameter_set_id
    if start != 0 {
        if dependent_on(c) {
            w.bit(dependent);
        }
        let n = l.wc * l.hc;
        let len = 32 - (n - 1).leading_zeros();
        w.bits(len, l.ts_to_rs[start as usize]); // slice_segment_address
    }
    if !dependent {
        w.ue(if idr { 2 } else { 1 }); // slice_type
        if !idr {
            w.bits(LOG2_MAX_POC_LSB, t as u32 % (1 << LOG2_MAX_POC_LSB));
            w.bit(false); // short_term_ref_pic_set_sps_flag
            let (st, lt) = refs(c, t);
            // st_ref_pic_set(0): no inter RPS prediction for the first set.
            w.ue(st.len() as u32); // num_negative_pics
            w.ue(0); // num_positive_pics
            let mut prev = 0;
            for (d, used) in st {
                w.ue((d - prev - 1) as u32);
                w.bit(used);
                prev = d;
            }
            if c.long_term {
                let max = 1 << LOG2_MAX_POC_LSB;
                w.ue(u32::from(lt.is_some())); // num_long_term_pics
                if let Some((poc, used)) = lt {
                    w.bits(LOG2_MAX_POC_LSB, (poc % max) as u32); // poc_lsb_lt
                    w.bit(used);
                    // The LSB alone names the picture while no two share it.
                    let msb = t >= max;
                    w.bit(msb);
                    if msb {
                        w.ue((t / max - poc / max) as u32); // delta_poc_msb_cycle_lt
                    }
                }
            }
            w.bit(false); // num_ref_idx_active_override_flag
            w.ue(4); // five_minus_max_num_merge_cand: 1 candidate
        }
        w.se(0); // slice_qp_delta
                 // pps_loop_filter_across_slices_enabled_flag and deblocking on: alternate.
        w.bit(start.is_multiple_of(2)); // slice_loop_filter_across_slices_enabled_flag
    }
    if tiles_on(c) {
        w.ue(offsets.len() as u32); // num_entry_point_offsets
        if let Some(&max) = offsets.iter().max() {
            let len = (32 - (max - 1).leading_zeros()).max(1);
            w.ue(len - 1); // offset_len_minus1
            for &o in offsets {
                w.bits(len, o - 1);
            }
        }
    }
    w.trailing(); // byte_alignment()
    w.done()
}
