//! insta snapshots of the VP8 builder's output on the 51 libvpx test vectors
//! (../shared/vectors/vp8), one snapshot per vector, and a check against ffprobe
//! that every shown frame is one request, in order, with FFmpeg's key-frame flag
//! and size.
//!
//! Each request shows the VP8_FRAME control readably (flags by name, partitions,
//! references on inter frames, quantiser, loop filter, segmentation when enabled,
//! hashes of the probability tables); `ctrl_md5` hashes its exact kernel bytes.

use ctrls::build::vp8::{Vp8Builder, Vp8Request};
use ctrls::vp8::SegmentFlags;
use ctrls::Control;
use serde::Serialize;

mod common;
use common::{
    ffprobe_frames, names, not_run, shared_vectors, short_md5, snapshot_settings, IvfStream,
};

#[derive(Serialize)]
struct ReqView {
    n: u32,
    ts: u64,
    /// `len=<bytes> md5=<prefix>` of the OUTPUT buffer.
    bitstream: String,
    ctrl_md5: String,
    flags: String,
    /// Key frames: `WxH scale H V version N`.
    #[serde(skip_serializing_if = "Option::is_none")]
    size: Option<String>,
    /// `first_part_size header_bits range value bit_count | dct_part_sizes`.
    parts: String,
    /// Inter frames: `last golden alt` timestamps and prob_intra/last/gf.
    #[serde(skip_serializing_if = "Option::is_none")]
    refs: Option<String>,
    /// Slots refreshed (`LGA` bits) and the slots after the frame.
    refresh: String,
    /// `y_ac_qi y_dc y2_dc y2_ac uv_dc uv_ac`.
    quant: String,
    /// `level sharpness flags ref_deltas mode_deltas`.
    lf: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    seg: Option<String>,
    /// `coeff=<md5> ymode uvmode mv=<md5> skip=<prob>`.
    probs: String,
}

fn req_view(r: &Vp8Request) -> ReqView {
    let f = &r.frame;
    let key = f.is_key_frame();
    let e = &f.entropy;
    let parts = usize::from(f.num_dct_parts).min(8);
    ReqView {
        n: r.decode_index,
        ts: r.timestamp,
        bitstream: format!("len={} md5={}", r.bitstream.len(), short_md5(&r.bitstream)),
        ctrl_md5: short_md5(f.to_bytes()),
        flags: names(f.flags.iter_names()),
        size: key.then(|| {
            format!(
                "{}x{} scale {} {} version {}",
                f.width, f.height, f.horizontal_scale, f.vertical_scale, f.version
            )
        }),
        parts: format!(
            "{} {} {} {} {} | {:?}",
            f.first_part_size,
            f.first_part_header_bits,
            f.coder_state.range,
            f.coder_state.value,
            f.coder_state.bit_count,
            &f.dct_part_sizes[..parts]
        ),
        refs: (!key).then(|| {
            format!(
                "{} {} {} probs {} {} {}",
                f.last_frame_ts,
                f.golden_frame_ts,
                f.alt_frame_ts,
                f.prob_intra,
                f.prob_last,
                f.prob_gf
            )
        }),
        refresh: format!(
            "{:03b} slots {:?}",
            r.refresh,
            r.slots_after.map(|s| s.unwrap_or(0))
        ),
        quant: format!(
            "{} {} {} {} {} {}",
            f.quant.y_ac_qi,
            f.quant.y_dc_delta,
            f.quant.y2_dc_delta,
            f.quant.y2_ac_delta,
            f.quant.uv_dc_delta,
            f.quant.uv_ac_delta
        ),
        lf: format!(
            "{} {} {} {:?} {:?}",
            f.lf.level,
            f.lf.sharpness_level,
            names(f.lf.flags.iter_names()),
            f.lf.ref_frm_delta,
            f.lf.mb_mode_delta
        ),
        seg: f.segment.flags.contains(SegmentFlags::ENABLED).then(|| {
            format!(
                "{} quant {:?} lf {:?} probs {:?}",
                names(f.segment.flags.iter_names()),
                f.segment.quant_update,
                f.segment.lf_update,
                f.segment.segment_probs
            )
        }),
        probs: format!(
            "coeff={} ymode {:?} uvmode {:?} mv={} skip={}",
            short_md5(e.coeff_probs.as_flattened().as_flattened().as_flattened()),
            e.y_mode_probs,
            e.uv_mode_probs,
            short_md5(e.mv_probs.as_flattened()),
            f.prob_skip_false
        ),
    }
}

fn vectors() -> Option<Vec<(String, std::path::PathBuf)>> {
    let Some(dir) = shared_vectors("vp8") else {
        not_run("no VP8 vectors (../shared/vectors/vp8 or $DAEDALUS_VECTORS/vp8)");
        return None;
    };
    let list = std::fs::read_to_string(dir.join("md5.txt")).expect("vp8/md5.txt");
    let v: Vec<_> = list
        .lines()
        .filter_map(|l| l.split_whitespace().nth(1))
        .map(|n| (n.to_string(), dir.join(n)))
        .collect();
    assert_eq!(v.len(), 51, "the 51 libvpx vectors");
    Some(v)
}

#[test]
fn vp8_snapshots() {
    let Some(files) = vectors() else {
        return;
    };
    for (name, path) in files {
        let data = std::fs::read(&path).unwrap();
        let reqs = Vp8Builder::build_ivf(&data).unwrap_or_else(|e| panic!("{name}: {e}"));
        let mut s = IvfStream::new();
        for r in &reqs {
            r.frame
                .validate()
                .unwrap_or_else(|err| panic!("{name} request {}: {err}", r.decode_index));
            s.decode(r.shown, req_view(r));
        }
        let snap = name.trim_end_matches(".ivf").replace('-', "_");
        snapshot_settings().bind(|| insta::assert_yaml_snapshot!(snap, s));
    }
}

/// ffprobe's decoded frames (key flag, size) are our shown requests, in order.
#[test]
fn vp8_shown_frames_match_ffprobe() {
    let Some(files) = vectors() else {
        return;
    };
    if !common::ffmpeg_or_skip() {
        return;
    }
    for (name, path) in files {
        let reqs = Vp8Builder::build_ivf(&std::fs::read(&path).unwrap()).unwrap();
        let ours: Vec<String> = reqs
            .iter()
            .filter(|r| r.shown)
            .map(|r| {
                format!(
                    "{},{},{}",
                    u8::from(r.frame.is_key_frame()),
                    r.frame.width,
                    r.frame.height
                )
            })
            .collect();
        assert_eq!(ours, ffprobe_frames(&path), "{name}");
    }
}
