//! Independent check of the H.264 builder's DPB: FFmpeg's own H.264 decoder,
//! run as `ffmpeg -threads 1 -debug mmco`, prints its short-term and long-term
//! reference lists before and after the reference marking of every reference
//! picture. The lists in force when a picture's first slice is read are the
//! references that picture may use: they must equal the builder's
//! DECODE_PARAMS.dpb for that picture (frame_num and POC of each short-term
//! entry, LongTermFrameIdx and POC of each long-term entry).
//!
//! POC values are compared up to one constant per output epoch (IDR or MMCO 5
//! period): FFmpeg biases its POCs (e.g. +65536 after an IDR with
//! pic_order_cnt_type 0). IDR pictures are skipped (the builder sends an empty
//! DPB there, FFmpeg drops its references while marking).

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;

use ctrls::build::h264::{H264Builder, H264Picture};
use ctrls::h264::DpbEntryFlags;

mod common;
use common::{data_path, ffmpeg_or_skip, jvt_with_ffmpeg, vectors_dir};

/// One reference as printed by FFmpeg / held by the builder: (long-term?,
/// frame_num or LongTermFrameIdx, POC).
type Ref = (bool, u32, i64);

/// FFmpeg's reference sets at the first slice of each picture in decode order
/// (None for pictures before any marking was printed).
fn ffmpeg_dpb_per_slice(path: &std::path::Path) -> Vec<Option<BTreeSet<Ref>>> {
    let out = Command::new("ffmpeg")
        .args([
            "-hide_banner",
            "-nostdin",
            "-nostats",
            "-threads",
            "1",
            "-debug",
            "mmco",
            "-i",
        ])
        .arg(path)
        .args(["-f", "null", "-"])
        .output()
        .expect("run ffmpeg");
    assert!(out.status.success(), "ffmpeg failed on {}", path.display());
    let log = String::from_utf8_lossy(&out.stderr);
    // The decoding context is the last one printing lists (the first one may
    // be avformat_find_stream_info's probe decoder).
    let ctx = log
        .lines()
        .rev()
        .find(|l| l.contains("short term list:"))
        .and_then(|l| l.split(']').next())
        .and_then(|s| s.rfind("[h264 @").map(|i| format!("{}]", &s[i..])))
        .expect("no -debug mmco output");
    let mut per_slice = Vec::new();
    let mut state: Option<BTreeSet<Ref>> = None;
    let mut building: Option<(BTreeSet<Ref>, bool)> = None; // (set, in long list)
    for line in log.lines() {
        let Some(at) = line.find(&ctx) else { continue };
        let body = line[at + ctx.len()..].trim();
        if body.starts_with("nal_unit_type: 1(") || body.starts_with("nal_unit_type: 5(") {
            if let Some((set, _)) = building.take() {
                state = Some(set);
            }
            per_slice.push(state.clone());
        } else if body == "short term list:" {
            if let Some((set, _)) = building.take() {
                state = Some(set);
            }
            building = Some((BTreeSet::new(), false));
        } else if body == "long term list:" {
            if let Some(b) = building.as_mut() {
                b.1 = true;
            }
        } else if let Some((set, long)) = building.as_mut() {
            // "<i> fn:<frame_num> poc:<poc> <ptr>"
            let mut it = body.split_whitespace();
            let (Some(i), Some(f), Some(p)) = (it.next(), it.next(), it.next()) else {
                let (s, _) = building.take().unwrap();
                state = Some(s);
                continue;
            };
            let (Some(f), Some(p)) = (f.strip_prefix("fn:"), p.strip_prefix("poc:")) else {
                let (s, _) = building.take().unwrap();
                state = Some(s);
                continue;
            };
            let i: u32 = i.parse().expect("index");
            let f: u32 = f.parse().expect("frame_num");
            let p: i64 = p.parse().expect("poc");
            set.insert(if *long { (true, i, p) } else { (false, f, p) });
        }
    }
    per_slice
}

/// The builder's references. `mmco5_poc` maps the timestamp of each picture
/// with memory_management_control_operation 5 to its POC before the 8.2.1
/// adjustment: FFmpeg keeps that value for the picture, while the builder
/// stores the adjusted one (tempPicOrderCnt subtracted) as 8.2.1 says.
fn builder_refs(p: &H264Picture, mmco5_poc: &BTreeMap<u64, i64>) -> BTreeSet<Ref> {
    p.decode_params
        .dpb
        .iter()
        .filter(|e| e.flags.contains(DpbEntryFlags::ACTIVE))
        .map(|e| {
            let poc = e.top_field_order_cnt.min(e.bottom_field_order_cnt) as i64;
            (
                e.flags.contains(DpbEntryFlags::LONG_TERM),
                e.frame_num as u32,
                mmco5_poc.get(&e.reference_ts).copied().unwrap_or(poc),
            )
        })
        .collect()
}

/// Compare; returns (pictures compared, IDR pictures skipped, pictures).
fn check_stream(name: &str) -> (usize, usize, usize) {
    let dir = vectors_dir().expect("checked by caller");
    check_path(&dir.join(name))
}

fn check_path(path: &std::path::Path) -> (usize, usize, usize) {
    let name = path.file_name().unwrap().to_string_lossy().into_owned();
    let data = std::fs::read(path).unwrap();
    let pics = H264Builder::new().push_stream(&data).unwrap();
    let ff = ffmpeg_dpb_per_slice(path);
    // FFmpeg logs the nal_unit_type of each slice NAL unit, or only of the
    // first one of a packet (access unit) for some streams: accept either.
    let per_slice = |p: &H264Picture| p.slice_params.len() + p.dropped_redundant_slices as usize;
    let n_slices: usize = pics.iter().map(per_slice).sum();
    let slices_of = |p: &H264Picture| {
        if ff.len() == n_slices {
            per_slice(p)
        } else {
            1
        }
    };
    assert!(
        ff.len() == n_slices || ff.len() == pics.len(),
        "{name}: FFmpeg logged {} slices, builder has {n_slices} slices in {} pictures",
        ff.len(),
        pics.len()
    );
    let mut mmco5_poc = BTreeMap::new();
    let mut epoch = 0;
    for p in &pics {
        let idr = p.decode_params.flags.bits() & 1 != 0;
        if p.display.epoch != epoch && !idr {
            let d = &p.decode_params;
            mmco5_poc.insert(
                p.timestamp,
                d.top_field_order_cnt.min(d.bottom_field_order_cnt) as i64,
            );
        }
        epoch = p.display.epoch;
    }
    let mut slice = 0;
    let mut offsets: BTreeMap<u32, i64> = BTreeMap::new();
    let mut compared = 0;
    let mut idrs = 0;
    let mut prev_epoch = 0;
    for p in &pics {
        let theirs = &ff[slice];
        slice += slices_of(p);
        let idr = p.decode_params.flags.bits() & 1 != 0;
        // References belong to the epoch of the previous picture.
        let epoch = prev_epoch;
        prev_epoch = p.display.epoch;
        if idr {
            idrs += 1;
            continue;
        }
        let ours = builder_refs(p, &mmco5_poc);
        let theirs = theirs.clone().unwrap_or_default();
        assert_eq!(
            ours.len(),
            theirs.len(),
            "{name} picture {}: {ours:?} vs FFmpeg {theirs:?}",
            p.decode_index
        );
        if let (Some(o), Some(t)) = (ours.iter().next(), theirs.iter().next()) {
            let off = *offsets.entry(epoch).or_insert(t.2 - o.2);
            let shifted: BTreeSet<Ref> = ours.iter().map(|r| (r.0, r.1, r.2 + off)).collect();
            assert_eq!(
                shifted, theirs,
                "{name} picture {} (POC offset {off}): builder {ours:?} vs FFmpeg {theirs:?}",
                p.decode_index
            );
        }
        compared += 1;
    }
    (compared, idrs, pics.len())
}

#[test]
fn ba_mw_d_dpb_matches_ffmpeg() {
    if jvt_with_ffmpeg().is_none() {
        return;
    }
    let (compared, idrs, total) = check_stream("BA_MW_D.264");
    // 100 frames (ffprobe -count_frames), IDR every 30 pictures.
    assert_eq!((compared, idrs, total), (96, 4, 100));
}

#[test]
fn all_jvt_dpbs_match_ffmpeg() {
    let Some(dir) = jvt_with_ffmpeg() else {
        return;
    };
    let mut names: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.ends_with(".264") || n.ends_with(".jsv") || n.ends_with(".h264"))
        .collect();
    names.sort();
    let mut total = 0;
    for n in &names {
        let (c, idrs, pics) = check_stream(n);
        println!("{n}: {c} pictures' DPB equal to FFmpeg's ({idrs} IDR skipped, {pics} pictures)");
        assert_eq!(c + idrs, pics);
        total += c;
    }
    assert!(total > 0);
}

/// Streams made for this repository with libx264 (tests/data/README.md):
/// High profile, B-pyramid, 4 references, weighted P prediction, JVT scaling
/// matrices, 2 slices per picture; and an MBAFF interlaced stream.
#[test]
fn x264_streams_dpb_match_ffmpeg() {
    if !ffmpeg_or_skip() {
        return;
    }
    // (file, frames per ffprobe -count_frames, IDR pictures)
    for (name, frames, idrs) in [("x264_high_bframes.264", 24, 2), ("x264_mbaff.264", 12, 1)] {
        let (c, i, n) = check_path(&data_path(name));
        println!("{name}: {c} pictures' DPB equal to FFmpeg's ({i} IDR skipped)");
        assert_eq!((c + i, i, n), (frames, idrs, frames), "{name}");
    }
}
