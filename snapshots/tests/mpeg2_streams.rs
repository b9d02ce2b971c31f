//! insta snapshots of the MPEG-2 builder's output on the 26 shared streams
//! (../shared/vectors/mpeg2), one snapshot per stream, and a check against ffprobe
//! that the frames shown are FFmpeg's, in order, with its picture types.
//!
//! Each request shows SEQUENCE (on change), PICTURE readably and hashes of the four
//! QUANTISATION matrices; `ctrl_md5` hashes the three controls' exact kernel bytes.

use ctrls::build::mpeg2::{build_stream, Mpeg2Picture};
use ctrls::control::RawEnum;
use ctrls::mpeg2::Sequence;
use ctrls::Control;
use serde::Serialize;

mod common;
use common::{ffmpeg_or_skip, names, not_run, run, shared_vectors, short_md5, snapshot_settings};

#[derive(Serialize)]
struct Stream {
    requests: usize,
    frames_shown: usize,
    pictures: Vec<ReqView>,
}

#[derive(Serialize)]
struct ReqView {
    n: u32,
    ts: u64,
    /// `len=<bytes> md5=<prefix>` of the OUTPUT buffer (the slices).
    slices: String,
    ctrl_md5: String,
    /// `WxH vbv profile_and_level PROGRESSIVE?` when it differs from the request before.
    #[serde(skip_serializing_if = "Option::is_none")]
    sequence: Option<String>,
    /// `type structure (field n of 2) dc_precision f_code`.
    picture: String,
    flags: String,
    /// `forward backward` timestamps (`-`: none).
    refs: String,
    /// md5 prefixes of intra, non-intra, chroma intra, chroma non-intra.
    quant: String,
    /// Frames shown once this request is decoded.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    shows: Vec<u64>,
}

fn ts(t: u64) -> String {
    if t == u64::MAX {
        "-".into()
    } else {
        t.to_string()
    }
}

fn seq_view(s: &Sequence) -> String {
    format!(
        "{}x{} vbv {} pl 0x{:02x} {}",
        s.horizontal_size,
        s.vertical_size,
        s.vbv_buffer_size,
        s.profile_and_level_indication,
        names(s.flags.iter_names())
    )
}

fn req_view(p: &Mpeg2Picture, prev: Option<&Mpeg2Picture>) -> ReqView {
    let pic = &p.picture;
    let q = &p.quantisation;
    let kind = |v: Result<&'static str, ctrls::CtrlError>| v.unwrap_or("?");
    ReqView {
        n: p.decode_index,
        ts: p.timestamp,
        slices: format!("len={} md5={}", p.bitstream.len(), short_md5(&p.bitstream)),
        ctrl_md5: short_md5(&[p.sequence.to_bytes(), pic.to_bytes(), q.to_bytes()].concat()),
        sequence: prev
            .is_none_or(|r| r.sequence != p.sequence)
            .then(|| seq_view(&p.sequence)),
        picture: format!(
            "{} {}{} dc {} f_code {:?}",
            kind(pic.picture_coding_type().map(RawEnum::name)),
            kind(pic.picture_structure().map(RawEnum::name)),
            match p.field {
                1 => " (1/2)",
                2 => " (2/2)",
                _ => "",
            },
            pic.intra_dc_precision,
            pic.f_code
        ),
        flags: names(pic.flags.iter_names()),
        refs: format!("{} {}", ts(pic.forward_ref_ts), ts(pic.backward_ref_ts)),
        quant: format!(
            "{} {} {} {}",
            short_md5(&q.intra_quantiser_matrix),
            short_md5(&q.non_intra_quantiser_matrix),
            short_md5(&q.chroma_intra_quantiser_matrix),
            short_md5(&q.chroma_non_intra_quantiser_matrix)
        ),
        shows: p.shows.clone(),
    }
}

fn vectors() -> Option<Vec<(String, std::path::PathBuf)>> {
    let Some(dir) = shared_vectors("mpeg2") else {
        not_run("no MPEG-2 vectors (../shared/vectors/mpeg2 or $DAEDALUS_VECTORS/mpeg2)");
        return None;
    };
    let list = std::fs::read_to_string(dir.join("md5.txt")).expect("mpeg2/md5.txt");
    let v: Vec<_> = list
        .lines()
        .filter_map(|l| l.split_whitespace().nth(1))
        .map(|n| (n.to_string(), dir.join(n)))
        .collect();
    assert_eq!(v.len(), 26, "the 26 MPEG-2 vectors");
    Some(v)
}

#[test]
fn mpeg2_snapshots() {
    let Some(files) = vectors() else {
        return;
    };
    for (name, path) in files {
        let pics =
            build_stream(&std::fs::read(&path).unwrap()).unwrap_or_else(|e| panic!("{name}: {e}"));
        for p in &pics {
            p.sequence.check().unwrap();
            p.picture.check().unwrap();
        }
        let s = Stream {
            requests: pics.len(),
            frames_shown: pics.iter().map(|p| p.shows.len()).sum(),
            pictures: pics
                .iter()
                .enumerate()
                .map(|(i, p)| req_view(p, i.checked_sub(1).map(|j| &pics[j])))
                .collect(),
        };
        let snap = format!(
            "mpeg2_{}",
            name.trim_end_matches(".m2v").replace(['-', '.'], "_")
        );
        snapshot_settings().bind(|| insta::assert_yaml_snapshot!(snap, s));
    }
}

/// The frames we show, in order, have FFmpeg's picture types: B frames where FFmpeg
/// outputs B, and as many frames (the leading open-GOP B frames FFmpeg drops are left
/// out by the builder too).
#[test]
fn mpeg2_shown_frames_match_ffprobe() {
    let Some(files) = vectors() else {
        return;
    };
    if !ffmpeg_or_skip() {
        return;
    }
    for (name, path) in files {
        let pics = build_stream(&std::fs::read(&path).unwrap()).unwrap();
        let kind: std::collections::HashMap<u64, char> = pics
            .iter()
            .filter(|p| p.field != 2)
            .map(|p| {
                (
                    p.timestamp,
                    " IPB".as_bytes()[usize::from(p.picture.picture_coding_type)] as char,
                )
            })
            .collect();
        let ours: String = pics
            .iter()
            .flat_map(|p| &p.shows)
            .map(|t| kind[t])
            .collect();
        let theirs: String = run(std::process::Command::new("ffprobe")
            .args([
                "-v",
                "error",
                "-show_frames",
                "-show_entries",
                "frame=pict_type",
            ])
            .args(["-of", "csv=p=0"])
            .arg(&path))
        .lines()
        // A frame's line starts with its type; side data (GOP timecodes) may follow on
        // the line or on lines of their own.
        .filter_map(|l| match l.split(',').next() {
            Some(t @ ("I" | "P" | "B")) => t.chars().next(),
            _ => None,
        })
        .collect();
        assert_eq!(ours, theirs, "{name}: shown picture types");
    }
}
