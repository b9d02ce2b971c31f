//! insta snapshots of the H.264 builder's output, one YAML file per stream:
//! the JVT conformance vectors (`$DAEDALUS_VECTORS/h264-jvt`, default
//! `../shared/vectors/h264-jvt` beside the repository) and the repository's
//! own x264 streams (tests/data).
//!
//! Each picture is shown readably (flags by name, only valid DPB entries, SPS /
//! PPS / scaling matrix only when they differ from the previous picture's, as
//! GStreamer sends them), and `ctrl_md5` hashes the exact kernel bytes of every
//! control of the request, so a change in any control value fails the test.
//! The OUTPUT bitstream is shown as length + MD5 prefix.

use std::path::{Path, PathBuf};

use ctrls::build::h264::{DisplayInfo, Field, H264Builder, H264Picture};
use ctrls::h264::{DpbEntryFlags, Fields, Pps, PredWeights, ScalingMatrix, SliceParams, Sps};
use ctrls::Control;
use serde::Serialize;

mod common;
use common::{names, not_run, short_md5, vectors_dir};

#[derive(Serialize)]
struct Stream {
    pictures: usize,
    frames: usize,
    /// Decode indices of the CAPTURE buffers in output order.
    display_order: String,
    requests: Vec<PicView>,
}

#[derive(Serialize)]
struct PicView {
    n: u32,
    ts: u64,
    #[serde(skip_serializing_if = "is_frame")]
    field: Field,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    hold_capture: bool,
    /// `len=<bytes> md5=<prefix>` of the OUTPUT buffer.
    bitstream: String,
    /// MD5 prefix of all control payloads' kernel bytes.
    ctrl_md5: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    sps: Option<Sps>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pps: Option<Pps>,
    #[serde(skip_serializing_if = "Option::is_none")]
    scaling_matrix: Option<ScalingMatrix>,
    /// DECODE_PARAMS scalars: flags, nal_ref_idc, frame_num, top/bottom POC,
    /// idr_pic_id, pic_order_cnt_lsb, delta_pic_order_cnt_bottom,
    /// delta_pic_order_cnt0/1, dec_ref_pic_marking / pic_order_cnt bit sizes,
    /// slice_group_change_cycle.
    decode: String,
    /// DPB changes from the previous request: `-<reference_ts>` for a removed
    /// entry, `+ts pic_num frame_num fields poc(top,bottom) flags` for a new or
    /// changed one (the full DPB is covered by `ctrl_md5`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    dpb: Vec<String>,
    slices: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pred_weights: Option<PredView>,
    /// `poc epoch [no_output_of_prior_pics]`, geometry when it changes.
    display: String,
}

fn is_frame(f: &Field) -> bool {
    *f == Field::Frame
}

#[derive(Serialize)]
struct PredView {
    luma_log2_weight_denom: u16,
    chroma_log2_weight_denom: u16,
    /// Per active reference: `luma_w,luma_o cb_w,cb_o cr_w,cr_o`.
    l0: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    l1: Vec<String>,
}

fn fields_name(f: Fields) -> &'static str {
    match f.bits() {
        3 => "F",
        1 => "T",
        2 => "B",
        _ => "-",
    }
}

fn ref_list(list: &[ctrls::h264::Reference], n: usize) -> String {
    list.iter()
        .take(n)
        .map(|r| {
            if r.index == 0xff {
                "none".to_string()
            } else {
                format!("{}{}", r.index, fields_name(r.fields))
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn slice_view(s: &SliceParams) -> String {
    let (n0, n1) = match s.slice_type {
        0 | 3 => (s.num_ref_idx_l0_active_minus1 as usize + 1, 0),
        1 => (
            s.num_ref_idx_l0_active_minus1 as usize + 1,
            s.num_ref_idx_l1_active_minus1 as usize + 1,
        ),
        _ => (0, 0),
    };
    let ty = ["P", "B", "I", "SP", "SI"]
        .get(s.slice_type as usize)
        .copied()
        .unwrap_or("?");
    let mut out = format!(
            "bits={} mb={} {ty} qp={} qs={} cabac_init={} dbk={},{},{} refs={},{} plane={} redundant={} flags={}",
            s.header_bit_size,
            s.first_mb_in_slice,
            s.slice_qp_delta,
            s.slice_qs_delta,
            s.cabac_init_idc,
            s.disable_deblocking_filter_idc,
            s.slice_alpha_c0_offset_div2,
            s.slice_beta_offset_div2,
            s.num_ref_idx_l0_active_minus1,
            s.num_ref_idx_l1_active_minus1,
            s.colour_plane_id,
            s.redundant_pic_cnt,
            names(s.flags.iter_names()),
        );
    if n0 > 0 {
        out += &format!(" l0=[{}]", ref_list(&s.ref_pic_list0, n0));
    }
    if n1 > 0 {
        out += &format!(" l1=[{}]", ref_list(&s.ref_pic_list1, n1));
    }
    out
}

fn pred_view(w: &PredWeights, s: &SliceParams) -> PredView {
    let list = |l: usize, n: usize| {
        let f = &w.weight_factors[l];
        (0..n)
            .map(|i| {
                format!(
                    "{},{} {},{} {},{}",
                    f.luma_weight[i],
                    f.luma_offset[i],
                    f.chroma_weight[i][0],
                    f.chroma_offset[i][0],
                    f.chroma_weight[i][1],
                    f.chroma_offset[i][1]
                )
            })
            .collect()
    };
    PredView {
        luma_log2_weight_denom: w.luma_log2_weight_denom,
        chroma_log2_weight_denom: w.chroma_log2_weight_denom,
        l0: list(0, s.num_ref_idx_l0_active_minus1 as usize + 1),
        l1: if s.slice_type == 1 {
            list(1, s.num_ref_idx_l1_active_minus1 as usize + 1)
        } else {
            Vec::new()
        },
    }
}

fn geometry(d: &DisplayInfo) -> String {
    format!(
        "crop={},{} {}x{} mbs={}x{} depth={},{} chroma={} reorder={}",
        d.crop.left,
        d.crop.top,
        d.crop.width,
        d.crop.height,
        d.width_mbs,
        d.height_mbs,
        d.bit_depth_luma,
        d.bit_depth_chroma,
        d.chroma_format_idc,
        d.max_num_reorder_frames
    )
}

fn view(pics: &[H264Picture]) -> Stream {
    let mut out = Vec::new();
    let mut prev: Option<&H264Picture> = None;
    let mut prev_dpb: Vec<(u64, String)> = Vec::new();
    for p in pics {
        let mut ctrl = Vec::new();
        ctrl.extend_from_slice(p.sps.to_bytes());
        ctrl.extend_from_slice(p.pps.to_bytes());
        ctrl.extend_from_slice(p.scaling_matrix.to_bytes());
        ctrl.extend_from_slice(p.decode_params.to_bytes());
        for s in &p.slice_params {
            ctrl.extend_from_slice(s.to_bytes());
        }
        if let Some(w) = &p.pred_weights {
            ctrl.extend_from_slice(w.to_bytes());
        }
        let d = &p.decode_params;
        let entries: Vec<(u64, String)> = d
            .dpb
            .iter()
            .filter(|e| !e.flags.is_empty())
            .map(|e| {
                let mut flags = Vec::new();
                if e.flags.contains(DpbEntryFlags::LONG_TERM) {
                    flags.push("LT");
                }
                if e.flags.contains(DpbEntryFlags::FIELD) {
                    flags.push("FLD");
                }
                if !e.flags.contains(DpbEntryFlags::ACTIVE) {
                    flags.push("INACTIVE");
                }
                let text = format!(
                    "ts={} pic_num={} frame_num={} {} poc={},{}{}{}",
                    e.reference_ts,
                    e.pic_num as i32,
                    e.frame_num,
                    fields_name(e.fields),
                    e.top_field_order_cnt,
                    e.bottom_field_order_cnt,
                    if flags.is_empty() { "" } else { " " },
                    flags.join(",")
                );
                (e.reference_ts, text)
            })
            .collect();
        // Changes from the previous request's DPB: "-ts" removed, "+entry"
        // new or changed (entries are keyed by reference_ts).
        let mut dpb = Vec::new();
        for (ts, _) in &prev_dpb {
            if !entries.iter().any(|(t, _)| t == ts) {
                dpb.push(format!("-{ts}"));
            }
        }
        for (ts, text) in &entries {
            if !prev_dpb.iter().any(|(t, x)| t == ts && x == text) {
                dpb.push(format!("+{text}"));
            }
        }
        prev_dpb = entries;
        let changed =
            |f: &dyn Fn(&H264Picture) -> Vec<u8>| !matches!(prev, Some(q) if f(q) == f(p));
        out.push(PicView {
            n: p.decode_index,
            ts: p.timestamp,
            field: p.field,
            hold_capture: p.hold_capture,
            bitstream: format!("len={} md5={}", p.bitstream.len(), short_md5(&p.bitstream)),
            ctrl_md5: short_md5(&ctrl),
            sps: changed(&|q| q.sps.to_bytes().to_vec()).then_some(p.sps),
            pps: changed(&|q| q.pps.to_bytes().to_vec()).then_some(p.pps),
            scaling_matrix: (p.scaling_matrix_present
                && changed(&|q| q.scaling_matrix.to_bytes().to_vec()))
            .then_some(p.scaling_matrix),
            decode: format!(
                "{} ref_idc={} frame_num={} poc={},{} idr_pic_id={} lsb={} delta_bottom={} delta={},{} marking_bits={} poc_bits={} sgcc={}",
                names(d.flags.iter_names()),
                d.nal_ref_idc,
                d.frame_num,
                d.top_field_order_cnt,
                d.bottom_field_order_cnt,
                d.idr_pic_id,
                d.pic_order_cnt_lsb,
                d.delta_pic_order_cnt_bottom,
                d.delta_pic_order_cnt0,
                d.delta_pic_order_cnt1,
                d.dec_ref_pic_marking_bit_size,
                d.pic_order_cnt_bit_size,
                d.slice_group_change_cycle,
            ),
            dpb,
            slices: p.slice_params.iter().map(slice_view).collect(),
            pred_weights: p
                .pred_weights
                .as_ref()
                .map(|w| pred_view(w, &p.slice_params[0])),
            display: {
                let mut v = format!("poc={} epoch={}", p.display.poc, p.display.epoch);
                if p.display.no_output_of_prior_pics {
                    v += " no_output_of_prior_pics";
                }
                let g = geometry(&p.display);
                if !matches!(prev, Some(q) if geometry(&q.display) == g) {
                    v += " ";
                    v += &g;
                }
                v
            },
        });
        prev = Some(p);
    }
    let order = ctrls::build::h264::display_order(pics);
    Stream {
        pictures: pics.len(),
        frames: order.len(),
        display_order: order
            .iter()
            .map(|i| pics[*i].decode_index.to_string())
            .collect::<Vec<_>>()
            .join(" "),
        requests: out,
    }
}

fn snapshot_file(path: &Path) {
    let name = path.file_name().unwrap().to_string_lossy().into_owned();
    let data = std::fs::read(path).unwrap();
    let pics = H264Builder::new()
        .push_stream(&data)
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    // Sanity that does not depend on the builder: every request carries data
    // and DecodeFlags stay within the UAPI.
    for p in &pics {
        assert!(!p.bitstream.is_empty(), "{name}: empty OUTPUT");
        assert_eq!(p.decode_params.flags.undefined_bits(), 0);
        // The payload types' own UAPI/spec range rules accept every control.
        let n = p.decode_index;
        p.sps
            .validate()
            .unwrap_or_else(|e| panic!("{name} #{n}: {e}"));
        p.pps
            .validate()
            .unwrap_or_else(|e| panic!("{name} #{n}: {e}"));
        p.scaling_matrix
            .validate()
            .unwrap_or_else(|e| panic!("{name} #{n}: {e}"));
        p.decode_params
            .validate()
            .unwrap_or_else(|e| panic!("{name} #{n}: {e}"));
        for s in &p.slice_params {
            s.validate().unwrap_or_else(|e| panic!("{name} #{n}: {e}"));
        }
        if let Some(w) = &p.pred_weights {
            w.validate().unwrap_or_else(|e| panic!("{name} #{n}: {e}"));
        }
    }
    common::snapshot_settings()
        .bind(|| insta::assert_yaml_snapshot!(name.replace('.', "_"), view(&pics)));
}

fn stream_names(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| Some(e.ok()?.path()))
        .filter(|p| {
            p.extension()
                .is_some_and(|e| e == "264" || e == "jsv" || e == "h264")
        })
        .collect();
    v.sort();
    v
}

#[test]
fn jvt_vectors() {
    let Some(dir) = vectors_dir() else {
        not_run("JVT vectors not found (../shared/vectors/h264-jvt or $DAEDALUS_VECTORS/h264-jvt)");
        return;
    };
    let names = stream_names(&dir);
    assert_eq!(
        names.len(),
        29,
        "expected the 29 JVT streams in {}",
        dir.display()
    );
    for p in names {
        snapshot_file(&p);
    }
}

#[test]
fn x264_streams() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data");
    let names = stream_names(&dir);
    assert_eq!(names.len(), 2);
    for p in names {
        snapshot_file(&p);
    }
}
