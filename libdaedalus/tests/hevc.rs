//! HEVC through the engine, as `daedalusd replay --codec hevc --md5` runs it:
//! every shared HEVC vector (../shared/vectors/hevc: AMVP_A_MTK_4 with the
//! JCT-VC MD5, the Chromium streams with FFmpeg's), built into the controls
//! v4l2slh265dec sends, decoded request by request into CAPTURE-sized
//! pictures, cropped and hashed in display order: the published MD5s. And the
//! libx265 streams of the shared list, in strict mode, against FFmpeg.

use std::collections::BTreeMap;

use libdaedalus::replay::{replay, ReplayOptions};
use libdaedalus::EngineOptions;

mod common;

#[test]
fn hevc_vectors_bit_exact_through_the_engine() {
    let Some(vectors) = common::hevc_vector_list() else {
        return;
    };
    let mut n = 0;
    for v in &vectors {
        let (name, data, want) = (v.name.as_str(), v.data.as_slice(), v.md5.as_str());
        let mut md5 = md5::Md5::default();
        let summary = replay(
            ctrls::Codec::Hevc,
            data,
            &ReplayOptions::default(),
            |frame| {
                md5::Digest::update(&mut md5, frame);
                Ok(())
            },
        )
        .unwrap_or_else(|e| panic!("{name}: {e}"));
        let got = format!("{:x}", md5::Digest::finalize(md5));
        println!("{name}: {summary:?}");
        assert_eq!(got, want, "{name}");
        n += 1;
    }
    assert_eq!(n, 7, "the 7 vectors of md5.txt");
}

/// What FFmpeg's trace_headers (independent of our parser) says a stream uses: key ->
/// count. Keys: `b` (B slices), `b-ref` (B slices of reference pictures: a hierarchical
/// GOP), `cra`, `rasl`, `radl`, `idr_n_lp`, `idr_w_radl`, `slices` (pictures of more
/// than one slice), `dependent-slices`, `wpp`, `tiles`, `entry-points`, `scaling-list`,
/// `tskip`, `sign-hiding`, `amp`, `sao`, `no-sao`, `deblock-offsets`, `weightp`,
/// `weightb`, `main10`, `crop`, `size-change`, `long-term` (SPS), `lt-refs` (slices
/// naming long-term pictures), `lt-msb` (with delta_poc_msb_present_flag), `lt-foll` and
/// `st-foll` (RPS entries the picture does not use), `tiles-explicit` (no uniform
/// spacing), `pcm`.
fn features(file: &std::path::Path) -> BTreeMap<&'static str, usize> {
    let out = std::process::Command::new("ffmpeg")
        .args(["-nostdin", "-v", "trace", "-i"])
        .arg(file)
        .args(["-c", "copy", "-bsf:v", "trace_headers", "-f", "null", "-"])
        .output()
        .expect("run ffmpeg");
    assert!(out.status.success(), "ffmpeg trace_headers on {file:?}");
    let text = String::from_utf8_lossy(&out.stderr);
    let mut m = BTreeMap::new();
    let mut add = |k: &'static str, b: bool| {
        if b {
            *m.entry(k).or_insert(0) += 1;
        }
    };
    let (mut nal_type, mut widths) = (0u32, std::collections::BTreeSet::new());
    for line in text.lines() {
        // "[trace_headers @ 0x..] 123 name 0101 = 5"
        let Some(rest) = line.split_once("] ").map(|x| x.1) else {
            continue;
        };
        let w: Vec<&str> = rest.split_whitespace().collect();
        let (name, value) = match w.as_slice() {
            [_, name, _, "=", v] => (*name, v.parse::<i64>().unwrap_or(0)),
            _ => continue,
        };
        // Array elements: "luma_weight_l0_flag[0]".
        let base = name.split('[').next().unwrap();
        match base {
            "nal_unit_type" => {
                nal_type = value as u32;
                add("cra", value == 21);
                add("rasl", value == 8 || value == 9);
                add("radl", value == 6 || value == 7);
                add("idr_n_lp", value == 20);
                add("idr_w_radl", value == 19);
            }
            "slice_type" => {
                add("b", value == 0);
                // TRAIL_R, TSA_R, STSA_R, RADL_R, RASL_R: odd types below 16.
                add("b-ref", value == 0 && nal_type < 16 && nal_type % 2 == 1);
            }
            "first_slice_segment_in_pic_flag" => add("slices", value == 0),
            "dependent_slice_segment_flag" => add("dependent-slices", value == 1),
            "entropy_coding_sync_enabled_flag" => add("wpp", value == 1),
            "tiles_enabled_flag" => add("tiles", value == 1),
            "num_entry_point_offsets" => add("entry-points", value > 0),
            "scaling_list_enabled_flag" => add("scaling-list", value == 1),
            "transform_skip_enabled_flag" => add("tskip", value == 1),
            "sign_data_hiding_enabled_flag" => add("sign-hiding", value == 1),
            "amp_enabled_flag" => add("amp", value == 1),
            "sample_adaptive_offset_enabled_flag" => {
                add("sao", value == 1);
                add("no-sao", value == 0);
            }
            "pps_beta_offset_div2" | "pps_tc_offset_div2" => add("deblock-offsets", value != 0),
            "luma_weight_l0_flag" => add("weightp", value == 1),
            "luma_weight_l1_flag" => add("weightb", value == 1),
            "bit_depth_luma_minus8" => add("main10", value == 2),
            "conformance_window_flag" => add("crop", value == 1),
            "pic_width_in_luma_samples" => {
                widths.insert(value);
            }
            "long_term_ref_pics_present_flag" => add("long-term", value == 1),
            "num_long_term_pics" => add("lt-refs", value > 0),
            "delta_poc_msb_present_flag" => add("lt-msb", value == 1),
            "used_by_curr_pic_lt_flag" => add("lt-foll", value == 0),
            "used_by_curr_pic_s0_flag" => add("st-foll", value == 0),
            "uniform_spacing_flag" => add("tiles-explicit", value == 0),
            "pcm_enabled_flag" => add("pcm", value == 1),
            _ => {}
        }
    }
    add("size-change", widths.len() > 1);
    m
}

/// The libx265 streams of the shared list (tests/common/fixtures.rs, group `hevc`):
/// each uses the tools it is named after (FFmpeg's trace_headers), and decodes through
/// the engine in strict mode, request by request, to FFmpeg's own decode of the file
/// (MD5 and length of the whole output), with no request failed and no warning.
/// HEVC_CASE=S: only the streams whose name contains S.
#[test]
fn x265_streams_match_ffmpeg() {
    streams_match_ffmpeg("HEVC x265 streams", "hevc", 13);
}

/// The streams of tests/common/hevc_writer.rs (group `hevc-own`): PCM, tiles with
/// explicit and uniform spacing, a slice per tile, dependent slice segments, long-term
/// references (LSB only, with the MSB cycle, a short-term picture turned long-term) and
/// unused RPS entries kept for later pictures; as [`x265_streams_match_ffmpeg`].
#[test]
fn own_streams_match_ffmpeg() {
    streams_match_ffmpeg("HEVC hevc_writer streams", "hevc-own", 4);
}

/// The hevc_writer streams are what they claim, by FFmpeg's decode of each file: every
/// PCM CTB holds the writer's samples and every skipped CTB the samples of the picture
/// the writer's RPS makes its reference (the long-term anchor on odd pictures, t - 2 on
/// even ones; t - 1 in the other streams), luma away from the CTB edges (deblocking).
#[test]
fn own_streams_decode_as_written() {
    use common::fixtures::hevc_writer::{ctb, sample, Ctb};
    use common::fixtures::{ffmpeg_decode, Recipe};

    let Some(all) = common::fixtures("HEVC hevc_writer streams") else {
        return;
    };
    let mut n = 0;
    for f in all.iter().filter(|f| f.def().group == "hevc-own") {
        let Recipe::HevcWriter(c) = &f.def().recipe else {
            panic!("{}: not a hevc_writer stream", f.name)
        };
        let (w, h) = (c.w as usize, c.h as usize);
        let size = w * h * 3 / 2;
        let out = ffmpeg_decode(&f.path, "yuv420p", None);
        assert_eq!(out.len(), size * c.frames as usize, "{}", f.name);
        let luma = |t: u32, x: usize, y: usize| out[t as usize * size + y * w + x];
        // Skipped CTBs whose reference is not the picture before and differs from it
        // there: where a wrong reference would show.
        let (mut pcm, mut copies, mut telling) = (0, 0, 0);
        for t in 0..c.frames {
            for cy in 0..c.h / 16 {
                for cx in 0..c.w / 16 {
                    let kind = ctb(c, t, cx, cy);
                    for y in cy * 16 + 4..cy * 16 + 12 {
                        for x in cx * 16 + 4..cx * 16 + 12 {
                            let got = luma(t, x as usize, y as usize);
                            let want = match kind {
                                Ctb::Pcm => sample(0, x, y, t),
                                Ctb::Copy(r) => luma(r, x as usize, y as usize),
                            };
                            assert_eq!(
                                got, want,
                                "{} picture {t} CTB ({cx},{cy}) {kind:?}",
                                f.name
                            );
                        }
                    }
                    match kind {
                        Ctb::Pcm => pcm += 1,
                        Ctb::Copy(r) => {
                            copies += 1;
                            let (x, y) = (cx as usize * 16 + 8, cy as usize * 16 + 8);
                            telling +=
                                usize::from(r + 1 != t && luma(r, x, y) != luma(t - 1, x, y));
                        }
                    }
                }
            }
        }
        eprintln!(
            "{}: {pcm} PCM CTBs, {copies} skipped CTBs as written ({telling} of them from \
             a reference other than the picture before, which differs there)",
            f.name
        );
        assert!(pcm > 0 && copies > 0, "{}", f.name);
        if c.long_term {
            assert!(
                telling > 1000,
                "{}: the references cannot be told apart",
                f.name
            );
        }
        n += 1;
    }
    assert_eq!(n, 4, "the hevc-own streams");
}

/// The streams of `group` in the shared list, `n` of them; see [`x265_streams_match_ffmpeg`].
fn streams_match_ffmpeg(test: &str, group: &str, n: usize) {
    let Some(all) = common::fixtures(test) else {
        return;
    };
    let only = std::env::var("HEVC_CASE").ok();
    let cases: Vec<_> = all.iter().filter(|f| f.def().group == group).collect();
    assert_eq!(cases.len(), n, "the {group} list");
    let mut bad = Vec::new();
    for c in cases {
        if only.as_deref().is_some_and(|o| !c.name.contains(o)) {
            continue;
        }
        let feats = features(&c.path);
        let missing: Vec<_> = c
            .def()
            .need
            .iter()
            .filter(|k| !feats.contains_key(*k))
            .collect();
        assert!(
            missing.is_empty(),
            "{}: the encoder did not produce {missing:?} (has {feats:?}): the case tests nothing",
            c.name
        );
        let data = std::fs::read(&c.path).unwrap();
        let opts = ReplayOptions {
            format: None,
            engine: EngineOptions::strict(true),
        };
        let mut md5 = md5::Md5::default();
        let mut bytes = 0;
        let s = replay(ctrls::Codec::Hevc, &data, &opts, |f| {
            md5::Digest::update(&mut md5, f);
            bytes += f.len();
            Ok(())
        })
        .unwrap_or_else(|e| panic!("{}: {e}", c.name));
        let got = format!("{:x}", md5::Digest::finalize(md5));
        let ok = got == c.md5
            && bytes == c.bytes
            && s.frames == c.frames
            && s.failed.is_empty()
            && s.warnings == 0;
        eprintln!(
            "{:<40} {} requests {:>3} frames {:>3}/{} bytes {}/{} failed {} warnings {} {}",
            c.name,
            if ok { "OK      " } else { "MISMATCH" },
            s.requests,
            s.frames,
            c.frames,
            bytes,
            c.bytes,
            s.failed.len(),
            s.warnings,
            s.failed.first().map(|f| f.1.as_str()).unwrap_or("")
        );
        eprintln!("    uses {feats:?}");
        if !ok {
            bad.push(c.name.clone());
        }
    }
    assert!(bad.is_empty(), "mismatching HEVC streams: {bad:?}");
}

/// Slice-based decoding (one request per slice segment, HOLD_CAPTURE_BUF on all but a
/// picture's last): the shared vectors and the multi-slice streams (4 slices with WPP, a
/// slice per tile, dependent slice segments) give the same MD5 as frame-based decoding's
/// references, one request per slice segment.
#[test]
fn slice_based_requests_bit_exact() {
    sources_bit_exact(
        ctrls::hevc::DecodeMode::SliceBased,
        ctrls::hevc::StartCode::AnnexB,
    );
}

/// HEVC_START_CODE NONE: the same requests without the 00 00 01 before each slice
/// segment (bit_size and data_byte_offset without it), frame-based and slice-based, in
/// strict mode: the same MD5s.
#[test]
fn start_code_none_bit_exact() {
    use ctrls::hevc::{DecodeMode, StartCode};
    sources_bit_exact(DecodeMode::FrameBased, StartCode::None);
    sources_bit_exact(DecodeMode::SliceBased, StartCode::None);
}

/// The shared vectors and the multi-slice streams through HevcSource in `mode` with
/// `start_code`, strict: every request decodes, the MD5 is the reference.
fn sources_bit_exact(mode: ctrls::hevc::DecodeMode, start_code: ctrls::hevc::StartCode) {
    use ctrls::hevc::DecodeMode;
    use ctrls::source::hevc::HevcSource;
    use libdaedalus::replay::replay_source;

    let Some(vectors) = common::hevc_vector_list() else {
        return;
    };
    let mut cases: Vec<(String, Vec<u8>, String)> = vectors
        .into_iter()
        .map(|v| (v.name, v.data, v.md5))
        .collect();
    let Some(all) = common::fixtures("HEVC slice-based / START_CODE NONE") else {
        return;
    };
    let multi_slice = [
        "hevc-x265-slices4-wpp-640x360",
        "hevc-own-tile-slices-800x192",
        "hevc-own-dependent-352x288",
    ];
    for f in all
        .iter()
        .filter(|f| multi_slice.contains(&f.name.as_str()))
    {
        cases.push((
            f.name.clone(),
            std::fs::read(&f.path).unwrap(),
            f.md5.clone(),
        ));
    }
    assert_eq!(cases.len(), 7 + multi_slice.len(), "the cases");
    let opts = ReplayOptions {
        format: None,
        engine: EngineOptions::strict(true),
    };
    let mut multi = 0;
    for (name, data, want) in &cases {
        let mut src = HevcSource::with_mode(data, mode)
            .and_then(|s| s.with_start_code(start_code))
            .unwrap();
        let (requests, pictures) = (src.requests(), src.pictures().len());
        let mut engine =
            libdaedalus::Engine::with_options(ctrls::Codec::Hevc, opts.engine).unwrap();
        let mut md5 = md5::Md5::default();
        let s = replay_source(&mut engine, &mut src, &opts, |f| {
            md5::Digest::update(&mut md5, f);
            Ok(())
        })
        .unwrap_or_else(|e| panic!("{name}: {e}"));
        let got = format!("{:x}", md5::Digest::finalize(md5));
        eprintln!(
            "{name} {mode:?} {start_code:?}: {requests} requests for {pictures} pictures: {s:?}"
        );
        assert_eq!(s.requests, requests, "{name}");
        assert!(s.failed.is_empty(), "{name}: {:?}", s.failed);
        assert_eq!(s.warnings, 0, "{name}");
        assert_eq!(&got, want, "{name}");
        multi += usize::from(requests > pictures);
    }
    if mode == DecodeMode::SliceBased {
        assert_eq!(
            multi,
            multi_slice.len(),
            "streams with several slices per picture"
        );
    }
}
