//! insta snapshots of the HEVC builder's output for the shared HEVC vectors
//! (`$DAEDALUS_VECTORS/hevc`, default `../shared/vectors/hevc`), one YAML file
//! per stream, plus checks that do not depend on the builder:
//! - the number of pictures shown equals FFmpeg's decoded frame count;
//! - the slice segment structure (NAL types, first/address/type/QP/POC LSB,
//!   entry point counts) equals what FFmpeg's own parser (trace_headers, CBS)
//!   reads from the file;
//! - every control passes its UAPI/spec range rules.
//!
//! Each picture is shown readably (SPS / PPS / scaling matrix only when they
//! differ from the previous picture's, as GStreamer sends them), and
//! `ctrl_md5` hashes the exact kernel bytes of every control of the request.

use std::path::{Path, PathBuf};

use ctrls::build::hevc::{HevcBuilder, HevcPicture, NO_REF};
use ctrls::hevc::{DpbEntryFlags, Pps, PpsFlags, ScalingMatrix, SliceFlags, SliceParams, Sps};
use ctrls::Control;
use serde::Serialize;

mod common;
use common::{names, not_run, short_md5};

#[derive(Serialize)]
struct Stream {
    pictures: usize,
    shown: usize,
    requests: Vec<PicView>,
}

#[derive(Serialize)]
struct PicView {
    n: u32,
    ts: u64,
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
    /// DECODE_PARAMS: flags, POC, RPS sizes, the Curr sets as dpb indices.
    decode: String,
    /// DPB entries: `ts poc [LT]`.
    dpb: Vec<String>,
    slices: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    entry_point_offsets: Vec<u32>,
    /// `poc epoch [hidden]`, geometry when it changes.
    display: String,
}

fn indices(v: &[u8], n: u8) -> String {
    v[..usize::from(n)]
        .iter()
        .map(|i| {
            if *i == NO_REF {
                "-".to_string()
            } else {
                i.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join(",")
}

fn slice_view(s: &SliceParams) -> String {
    let l0 = if s.slice_type().is_ok_and(|t| t != ctrls::hevc::SliceType::I) {
        indices(&s.ref_idx_l0, s.num_ref_idx_l0_active_minus1 + 1)
    } else {
        String::new()
    };
    let l1 = if s.slice_type().is_ok_and(|t| t == ctrls::hevc::SliceType::B) {
        indices(&s.ref_idx_l1, s.num_ref_idx_l1_active_minus1 + 1)
    } else {
        String::new()
    };
    format!(
        "nal={} tid={} {} addr={} bits={} off={} qp={} cb={} cr={} beta={} tc={} merge={} col={} l0=[{}] l1=[{}] st={} lt={} epo={} {}",
        s.nal_unit_type,
        s.nuh_temporal_id_plus1 - 1,
        common::ename(s.slice_type()),
        s.slice_segment_addr,
        s.bit_size,
        s.data_byte_offset,
        s.slice_qp_delta,
        s.slice_cb_qp_offset,
        s.slice_cr_qp_offset,
        s.slice_beta_offset_div2,
        s.slice_tc_offset_div2,
        s.five_minus_max_num_merge_cand,
        s.collocated_ref_idx,
        l0,
        l1,
        s.short_term_ref_pic_set_size,
        s.long_term_ref_pic_set_size,
        s.num_entry_point_offsets,
        names(s.flags.iter_names()),
    )
}

fn geometry(p: &HevcPicture) -> String {
    let d = &p.display;
    format!(
        "{}x{} crop={},{}+{}x{} depth={}/{} chroma={} reorder={}",
        d.width,
        d.height,
        d.crop.left,
        d.crop.top,
        d.crop.width,
        d.crop.height,
        d.bit_depth_luma,
        d.bit_depth_chroma,
        d.chroma_format_idc,
        d.max_num_reorder
    )
}

fn view(pics: &[HevcPicture]) -> Stream {
    let mut out = Vec::new();
    let mut prev: Option<&HevcPicture> = None;
    for p in pics {
        let mut ctrl = Vec::new();
        ctrl.extend_from_slice(p.sps.to_bytes());
        ctrl.extend_from_slice(p.pps.to_bytes());
        ctrl.extend_from_slice(p.scaling_matrix.to_bytes());
        ctrl.extend_from_slice(p.decode_params.to_bytes());
        for s in &p.slice_params {
            ctrl.extend_from_slice(s.to_bytes());
        }
        for o in &p.entry_point_offsets {
            ctrl.extend_from_slice(&o.to_ne_bytes());
        }
        let d = &p.decode_params;
        let changed =
            |f: &dyn Fn(&HevcPicture) -> Vec<u8>| !matches!(prev, Some(q) if f(q) == f(p));
        let g = geometry(p);
        out.push(PicView {
            n: p.decode_index,
            ts: p.timestamp,
            bitstream: format!("len={} md5={}", p.bitstream.len(), short_md5(&p.bitstream)),
            ctrl_md5: short_md5(&ctrl),
            sps: changed(&|q| q.sps.to_bytes().to_vec()).then_some(p.sps),
            pps: changed(&|q| q.pps.to_bytes().to_vec()).then_some(p.pps),
            scaling_matrix: (p
                .sps
                .flags
                .contains(ctrls::hevc::SpsFlags::SCALING_LIST_ENABLED)
                && changed(&|q| q.scaling_matrix.to_bytes().to_vec()))
            .then_some(p.scaling_matrix),
            decode: format!(
                "{} poc={} st_size={} lt_size={} ref_rps_deltas={} before=[{}] after=[{}] lt=[{}]",
                names(d.flags.iter_names()),
                d.pic_order_cnt_val,
                d.short_term_ref_pic_set_size,
                d.long_term_ref_pic_set_size,
                d.num_delta_pocs_of_ref_rps_idx,
                indices(&d.poc_st_curr_before, d.num_poc_st_curr_before),
                indices(&d.poc_st_curr_after, d.num_poc_st_curr_after),
                indices(&d.poc_lt_curr, d.num_poc_lt_curr),
            ),
            dpb: d.dpb[..usize::from(d.num_active_dpb_entries)]
                .iter()
                .map(|e| {
                    format!(
                        "ts={} poc={}{}",
                        e.timestamp,
                        e.pic_order_cnt_val,
                        if e.flags.contains(DpbEntryFlags::LONG_TERM_REFERENCE) {
                            " LT"
                        } else {
                            ""
                        }
                    )
                })
                .collect(),
            slices: p.slice_params.iter().map(slice_view).collect(),
            entry_point_offsets: p.entry_point_offsets.clone(),
            display: {
                let mut v = format!("poc={} epoch={}", p.display.poc, p.display.epoch);
                if !p.display.output {
                    v += " hidden";
                }
                if !matches!(prev, Some(q) if geometry(q) == g) {
                    v += " ";
                    v += &g;
                }
                v
            },
        });
        prev = Some(p);
    }
    Stream {
        pictures: pics.len(),
        shown: pics.iter().filter(|p| p.display.output).count(),
        requests: out,
    }
}

/// Our slice segments' header syntax, as FFmpeg's trace_headers prints it
/// (the elements present under the same conditions).
fn our_slice_syntax(pics: &[HevcPicture]) -> Vec<(String, i64)> {
    let mut v = Vec::new();
    for p in pics {
        let max_lsb = 1i64 << (p.sps.log2_max_pic_order_cnt_lsb_minus4 + 4);
        let wpp_or_tiles = p
            .pps
            .flags
            .intersects(PpsFlags::TILES_ENABLED | PpsFlags::ENTROPY_CODING_SYNC_ENABLED);
        for (i, s) in p.slice_params.iter().enumerate() {
            let dependent = s.flags.contains(SliceFlags::DEPENDENT_SLICE_SEGMENT);
            v.push(("nal_unit_type".to_string(), i64::from(s.nal_unit_type)));
            v.push(("first_slice_segment_in_pic_flag".into(), i64::from(i == 0)));
            if i > 0 {
                v.push((
                    "slice_segment_address".into(),
                    i64::from(s.slice_segment_addr),
                ));
            }
            if !dependent {
                v.push(("slice_type".into(), i64::from(s.slice_type)));
                if !matches!(s.nal_unit_type, 19 | 20) {
                    v.push((
                        "slice_pic_order_cnt_lsb".into(),
                        i64::from(s.slice_pic_order_cnt).rem_euclid(max_lsb),
                    ));
                }
                v.push(("slice_qp_delta".into(), i64::from(s.slice_qp_delta)));
            }
            if wpp_or_tiles {
                v.push((
                    "num_entry_point_offsets".into(),
                    i64::from(s.num_entry_point_offsets),
                ));
            }
        }
    }
    v
}

/// The same elements of the VCL NAL units FFmpeg parsed (the stream's
/// parameter sets and SEI left out).
fn ffmpeg_slice_syntax(path: &Path) -> Vec<(String, i64)> {
    const WANTED: &[&str] = &[
        "first_slice_segment_in_pic_flag",
        "slice_segment_address",
        "slice_type",
        "slice_pic_order_cnt_lsb",
        "slice_qp_delta",
        "num_entry_point_offsets",
    ];
    let mut v = Vec::new();
    let mut vcl = false;
    for (name, value) in common::trace_elements(path) {
        if name == "nal_unit_type" {
            vcl = value < 32;
            if vcl {
                v.push((name, value));
            }
        } else if vcl && WANTED.contains(&name.as_str()) {
            v.push((name, value));
        }
    }
    v
}

fn check_file(path: &Path) {
    let name = path.file_name().unwrap().to_string_lossy().into_owned();
    let data = std::fs::read(path).unwrap();
    let pics = HevcBuilder::build_stream(&data).unwrap_or_else(|e| panic!("{name}: {e}"));
    assert!(!pics.is_empty(), "{name}: no picture");
    for p in &pics {
        let n = p.decode_index;
        assert!(!p.bitstream.is_empty(), "{name}: empty OUTPUT");
        let sum: u32 = p.slice_params.iter().map(|s| s.bit_size / 8).sum();
        assert_eq!(sum as usize, p.bitstream.len(), "{name} #{n}: bit_size sum");
        let epo: u32 = p
            .slice_params
            .iter()
            .map(|s| s.num_entry_point_offsets)
            .sum();
        assert_eq!(
            epo as usize,
            p.entry_point_offsets.len(),
            "{name} #{n}: entry points"
        );
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
    }
    let skipped: u32 = pics.iter().map(|p| p.skipped_rasl_before).sum();
    let frames = common::ffprobe_frame_count(path);
    assert_eq!(
        pics.iter().filter(|p| p.display.output).count(),
        frames,
        "{name}: pictures shown vs FFmpeg's frames"
    );
    if skipped == 0 {
        assert_eq!(
            our_slice_syntax(&pics),
            ffmpeg_slice_syntax(path),
            "{name}: slice segment syntax vs FFmpeg's trace_headers"
        );
    }
    common::snapshot_settings()
        .bind(|| insta::assert_yaml_snapshot!(name.replace('.', "_"), view(&pics)));
}

#[test]
fn hevc_vectors() {
    let Some(dir) = common::shared_vectors("hevc") else {
        not_run("HEVC vectors not found (../shared/vectors/hevc or $DAEDALUS_VECTORS/hevc)");
        return;
    };
    if !common::ffmpeg_or_skip() {
        return;
    }
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| Some(e.ok()?.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "h265" || e == "bit"))
        .collect();
    files.sort();
    assert_eq!(
        files.len(),
        7,
        "expected the 7 HEVC streams in {}",
        dir.display()
    );
    for f in files {
        check_file(&f);
    }
}
