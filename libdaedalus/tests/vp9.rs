//! VP9 engine against FFmpeg, on the shared streams (tests/common/fixtures.rs: libvpx-vp9
//! and vpxenc, made once by the host encoders).
//!
//! - `streams_match_ffmpeg`: every stream replayed through the engine (controls as
//!   GStreamer's v4l2slvp9dec fills them, one request per coded frame, hidden frames in
//!   their own CAPTURE buffer) gives the MD5 of FFmpeg decoding the same file on its own;
//!   zero failed requests, zero control warnings.
//! - strict mode: a wrong reference timestamp, loop-filter level / delta, segmentation
//!   feature and COMPRESSED_HDR probability are each reported with their exact field path
//!   and fail the request; the context stays usable (the whole stream still matches FFmpeg
//!   once the right controls are sent), and non-strict mode decodes the frame bytes anyway.
//! - bad input: cut or garbage frames fail their request, the next key frame decodes.

mod common;

use std::path::{Path, PathBuf};

use common::fixtures::{ivf_frames, write_ivf};
use ctrls::build::vp9::{Vp9Builder, Vp9Event, Vp9Request};
use ctrls::source::vp9::vp9_set as vp9_controls;
use ctrls::vp9::{FrameFlags, LoopFilterFlags, SegmentationFlags};
use libdaedalus::replay::replay_vp9_ivf as replay_ivf;
use libdaedalus::replay::ReplayOptions;
use libdaedalus::{
    CaptureFormat, Codec, ControlSet, Engine, EngineError, EngineOptions, OwnedBuffer, Request,
};
use md5::{Digest, Md5};

fn replay_md5(data: &[u8], opts: &ReplayOptions) -> (String, libdaedalus::replay::ReplaySummary) {
    let mut md5 = Md5::new();
    let sum = replay_ivf(data, opts, |f| {
        md5.update(f);
        Ok(())
    })
    .expect("replay");
    (format!("{:x}", md5.finalize()), sum)
}

fn frame_sizes(data: &[u8]) -> Vec<(u32, u32)> {
    let mut v: Vec<(u32, u32)> = Vp9Builder::build_ivf(data)
        .unwrap()
        .iter()
        .filter_map(|e| match e {
            Vp9Event::Decode(r) => Some((r.display.width, r.display.height)),
            _ => None,
        })
        .collect();
    v.dedup();
    v
}

/// The capture format a stream is replayed to (default: the builder's).
fn format_of(name: &str) -> Option<CaptureFormat> {
    match name {
        "vp9-p0_640x360_rt_yu12" => Some(CaptureFormat::Yuv420),
        "vp9-p0_640x480_gop5_nm12" => Some(CaptureFormat::Nv12m),
        _ => None,
    }
}

#[test]
fn streams_match_ffmpeg() {
    let Some(all) = common::fixtures("VP9 stream test") else {
        return;
    };
    let files: Vec<_> = all.iter().filter(|f| f.def().group == "vp9").collect();
    let mut bad = Vec::new();
    let mut hidden_total = 0;
    for f in &files {
        let name = &f.name;
        let data = std::fs::read(&f.path).unwrap();
        let opts = ReplayOptions {
            format: format_of(name),
            engine: EngineOptions::default(),
        };
        let (got, sum) = replay_md5(&data, &opts);
        let hidden = sum.requests.saturating_sub(sum.frames);
        hidden_total += hidden;
        eprintln!(
            "{name}: {} requests, {} frames ({hidden} hidden), {} bytes, ffmpeg {} ours {got}",
            sum.requests, sum.frames, f.bytes, f.md5
        );
        if got != f.md5 || !sum.failed.is_empty() || sum.warnings != 0 {
            bad.push(format!(
                "{name}: md5 {got} vs ffmpeg {}, failed {:?}, warnings {}",
                f.md5, sum.failed, sum.warnings
            ));
        }
        if name.contains("_arf") && hidden == 0 {
            bad.push(format!(
                "{name}: expected hidden (alt-ref) frames, got none"
            ));
        }
        if name.contains("resize") && frame_sizes(&data).len() < 2 {
            bad.push(format!("{name}: expected a size change"));
        }
    }
    eprintln!(
        "{} streams, {} match, {hidden_total} hidden frames in all",
        files.len(),
        files.len() - bad.len()
    );
    assert_eq!(files.len(), 24, "the VP9 list");
    assert!(
        bad.is_empty(),
        "VP9 streams not matching FFmpeg:\n{}",
        bad.join("\n")
    );
}

/// The path of the shared stream `name`, or None (see [`common::fixture`]).
fn stream(test: &str, name: &str) -> Option<PathBuf> {
    common::fixture(test, name).map(|f| f.path)
}

// ---------------------------------------------------------------------------------------
// Strict mode and bad input: request-by-request driving.

fn requests(events: &[Vp9Event]) -> Vec<&Vp9Request> {
    events
        .iter()
        .filter_map(|e| match e {
            Vp9Event::Decode(r) => Some(&**r),
            _ => None,
        })
        .collect()
}

fn buffer_for(r: &Vp9Request) -> OwnedBuffer {
    let fmt = if r.display.bit_depth > 8 {
        CaptureFormat::P010
    } else {
        CaptureFormat::Nv12
    };
    OwnedBuffer::new(fmt, r.display.width, r.display.height)
}

fn decode(
    engine: &mut Engine,
    r: &Vp9Request,
    c: &libdaedalus::codec::vp9::Vp9Controls,
    bitstream: &[u8],
    buf: &mut OwnedBuffer,
) -> Result<libdaedalus::DecodeReport, EngineError> {
    let req = Request {
        controls: &ControlSet::Vp9(Box::new(c.clone())),
        bitstream,
        timestamp: r.timestamp,
        hold_capture: false,
    };
    engine.decode(&req, &mut buf.as_dst())
}

/// Runs the stream request by request through a strict and a lenient engine; at request
/// `at` both first get the controls `corrupt` makes. Asserts the strict engine fails with
/// exactly one mismatch at `field`, the lenient one reports the same warning, then the
/// strict engine gets the right controls; at the end both outputs match FFmpeg.
fn corrupt_and_check(
    path: &Path,
    pix: &str,
    pick: impl Fn(&Vp9Request) -> bool,
    corrupt: impl Fn(&mut libdaedalus::codec::vp9::Vp9Controls),
    field: &str,
) {
    let data = std::fs::read(path).unwrap();
    let events = Vp9Builder::build_ivf(&data).unwrap();
    let reqs = requests(&events);
    let at = reqs
        .iter()
        .position(|r| pick(r))
        .unwrap_or_else(|| panic!("{path:?}: no request fits the {field} test"));
    let mut strict = Engine::with_options(Codec::Vp9, EngineOptions::strict(true)).unwrap();
    let mut lenient = Engine::new(Codec::Vp9).unwrap();
    let mut outs = [Md5::new(), Md5::new()];
    // Buffers by timestamp (hidden frames shown later by show_existing_frame).
    let mut bufs: std::collections::HashMap<u64, [OwnedBuffer; 2]> = Default::default();
    let mut out = Vec::new();
    for ev in &events {
        let r = match ev {
            Vp9Event::Decode(r) => r,
            Vp9Event::ShowExisting { timestamp, .. } => {
                let b = &bufs[timestamp];
                for k in 0..2 {
                    out.clear();
                    b[k].append_planar(0, 0, b[k].width, b[k].height, &mut out);
                    outs[k].update(&out);
                }
                continue;
            }
        };
        let good = vp9_controls(r);
        let mut b = [buffer_for(r), buffer_for(r)];
        if r.decode_index as usize == at {
            let mut badc = good.clone();
            corrupt(&mut badc);
            match decode(&mut strict, r, &badc, &r.bitstream, &mut b[0]) {
                Err(EngineError::Mismatch(v)) => {
                    let fields: Vec<&str> = v.iter().map(|m| m.field.as_str()).collect();
                    assert_eq!(fields, [field], "strict mismatches: {v:?}");
                    eprintln!("strict: {}", v[0]);
                }
                other => panic!("strict engine accepted a wrong {field}: {other:?}"),
            }
            let rep = decode(&mut lenient, r, &badc, &r.bitstream, &mut b[1])
                .expect("lenient engine decodes the frame bytes");
            let fields: Vec<&str> = rep.warnings.iter().map(|m| m.field.as_str()).collect();
            assert_eq!(fields, [field], "lenient warnings: {:?}", rep.warnings);
        } else {
            let rep = decode(&mut lenient, r, &good, &r.bitstream, &mut b[1]).unwrap();
            assert!(rep.warnings.is_empty(), "{:?}", rep.warnings);
        }
        let rep = decode(&mut strict, r, &good, &r.bitstream, &mut b[0]).unwrap();
        assert!(rep.warnings.is_empty());
        if r.display.shown {
            for k in 0..2 {
                out.clear();
                b[k].append_planar(0, 0, r.display.width, r.display.height, &mut out);
                outs[k].update(&out);
            }
        }
        bufs.insert(r.timestamp, b);
    }
    let (want, _) = common::ffmpeg_md5(path, pix);
    let [s, l] = outs.map(|m| format!("{:x}", m.finalize()));
    assert_eq!(s, want, "strict engine output after the refused request");
    assert_eq!(l, want, "lenient engine output (decodes the frame bytes)");
}

#[test]
fn strict_mode_names_the_wrong_field() {
    let t = "VP9 strict test";
    let (Some(arf), Some(aq3)) = (
        stream(t, "vp9-unit_352x288_arf"),
        stream(t, "vp9-p0_352x288_aq3"),
    ) else {
        return;
    };
    let inter = |r: &Vp9Request| !r.frame.is_intra() && r.decode_index > 2;

    // Reference timestamps: golden names a frame the slot does not hold.
    corrupt_and_check(
        &arf,
        "yuv420p",
        |r| inter(r) && r.frame.golden_frame_ts != r.frame.last_frame_ts,
        |c| c.frame.golden_frame_ts = c.frame.last_frame_ts,
        "VP9_FRAME.golden_frame_ts",
    );
    corrupt_and_check(
        &arf,
        "yuv420p",
        inter,
        |c| c.frame.alt_frame_ts += 1,
        "VP9_FRAME.alt_frame_ts",
    );
    // Loop filter level and deltas.
    corrupt_and_check(
        &arf,
        "yuv420p",
        |r| r.frame.lf.level > 0 && r.decode_index > 0,
        |c| c.frame.lf.level ^= 1,
        "VP9_FRAME.lf.level",
    );
    corrupt_and_check(
        &arf,
        "yuv420p",
        |r| r.frame.lf.flags.contains(LoopFilterFlags::DELTA_ENABLED),
        |c| c.frame.lf.ref_deltas[2] = 7,
        "VP9_FRAME.lf.ref_deltas[2]",
    );
    // Segmentation feature data and enable bits.
    let seg_feature = |r: &Vp9Request| {
        r.frame.seg.flags.contains(SegmentationFlags::ENABLED)
            && !r.frame.seg.feature_enabled[1].is_empty()
            && r.frame.seg.feature_enabled[1].bits() & 1 != 0
    };
    corrupt_and_check(
        &aq3,
        "yuv420p",
        seg_feature,
        |c| {
            let v = &mut c.frame.seg.feature_data[1][0];
            *v = if *v < 200 { *v + 3 } else { *v - 3 };
        },
        "VP9_FRAME.seg.feature_data[1][0]",
    );
    corrupt_and_check(
        &aq3,
        "yuv420p",
        seg_feature,
        |c| {
            // Toggle SKIP (a feature without data).
            c.frame.seg.feature_enabled[1] = ctrls::vp9::SegmentFeatures::from_bits_retain(
                c.frame.seg.feature_enabled[1].bits() ^ 8,
            );
        },
        "VP9_FRAME.seg.feature_enabled[1]",
    );
    // COMPRESSED_HDR probability deltas: one the frame codes, one it does not update.
    let arf_events = Vp9Builder::build_ivf(&std::fs::read(&arf).unwrap()).unwrap();
    let (at, idx) = requests(&arf_events)
        .iter()
        .find_map(|r| {
            let c = &r.compressed_hdr.coef[0];
            (0..2)
                .flat_map(|i| (0..2).map(move |j| (i, j)))
                .flat_map(|(i, j)| (0..6).map(move |k| (i, j, k)))
                .flat_map(|(i, j, k)| (0..6).map(move |l| (i, j, k, l)))
                .flat_map(|(i, j, k, l)| (0..3).map(move |m| [i, j, k, l, m]))
                .find(|&[i, j, k, l, m]| c[i][j][k][l][m] != 0)
                .map(|x| (r.decode_index, x))
        })
        .expect("a frame that updates a 4x4 coefficient probability");
    let [i, j, k, l, m] = idx;
    corrupt_and_check(
        &arf,
        "yuv420p",
        |r| r.decode_index == at,
        |c| c.compressed_hdr.as_mut().unwrap().coef[0][i][j][k][l][m] ^= 0x10,
        &format!("VP9_COMPRESSED_HDR.coef[0][{i}][{j}][{k}][{l}][{m}]"),
    );
    corrupt_and_check(
        &arf,
        "yuv420p",
        |r| inter(r) && r.compressed_hdr.mv.joint[1] == 0,
        |c| c.compressed_hdr.as_mut().unwrap().mv.joint[1] = 201,
        "VP9_COMPRESSED_HDR.mv.joint[1]",
    );
    // A frame flag.
    corrupt_and_check(
        &arf,
        "yuv420p",
        |r| !r.display.shown,
        |c| c.frame.flags.insert(FrameFlags::SHOW_FRAME),
        "VP9_FRAME.flags.SHOW_FRAME",
    );

    // The right controls: no warning, nothing refused, in strict mode.
    for p in [&arf, &aq3] {
        let data = std::fs::read(p).unwrap();
        let opts = ReplayOptions {
            format: None,
            engine: EngineOptions::strict(true),
        };
        let (got, sum) = replay_md5(&data, &opts);
        assert!(sum.failed.is_empty() && sum.warnings == 0, "{p:?}: {sum:?}");
        assert_eq!(got, common::ffmpeg_md5(p, "yuv420p").0, "{p:?}");
    }
}

/// Raw yuv420p frames of FFmpeg's own decode.
fn ffmpeg_frames(path: &Path, frame_len: usize) -> Vec<Vec<u8>> {
    common::ffmpeg_raw(path, "yuv420p")
        .chunks(frame_len)
        .map(|c| c.to_vec())
        .collect()
}

#[test]
fn bad_frames_fail_and_the_next_key_frame_decodes() {
    // Key frame every 6 frames, 4 tile columns (so a cut frame loses tile size markers).
    let Some(path) = stream("VP9 bad-input test", "vp9-unit_gop6_1024x128") else {
        return;
    };
    let data = std::fs::read(&path).unwrap();
    let events = Vp9Builder::build_ivf(&data).unwrap();
    let reqs = requests(&events);
    assert!(
        reqs.iter().all(|r| r.display.shown),
        "no hidden frames expected"
    );
    let (w, h) = (1024usize, 128usize);
    let reference = ffmpeg_frames(&path, w * h * 3 / 2);
    assert_eq!(reference.len(), reqs.len());
    let keys: Vec<usize> = reqs
        .iter()
        .enumerate()
        .filter(|(_, r)| r.frame.flags.contains(FrameFlags::KEY_FRAME))
        .map(|(i, _)| i)
        .collect();
    assert!(keys.len() >= 3, "key frames at {keys:?}");

    let mut seed = 0x1234_5678u32;
    let mut garbage = |n: usize| -> Vec<u8> {
        (0..n)
            .map(|_| {
                seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                (seed >> 24) as u8
            })
            .collect()
    };
    // (what, how the bytes of request `at` are damaged)
    type Damage = Box<dyn Fn(&[u8]) -> Vec<u8>>;
    let g1 = garbage(3000);
    let mut g2 = garbage(3000);
    g2[0] = 0x82; // a frame marker, then noise
    let cases: Vec<(&str, usize, Damage)> = vec![
        ("empty", 2, Box::new(|_| Vec::new())),
        ("cut to 3 bytes", 3, Box::new(|b| b[..3].to_vec())),
        (
            "cut inside the compressed header",
            7,
            Box::new(|b| b[..b.len().min(40)].to_vec()),
        ),
        (
            "cut in half (tile sizes)",
            8,
            Box::new(|b| b[..b.len() / 2].to_vec()),
        ),
        ("garbage", 13, Box::new(move |_| g1.clone())),
        ("frame marker + garbage", 14, Box::new(move |_| g2.clone())),
        (
            "key frame cut in half",
            keys[2],
            Box::new(|b| b[..b.len() / 2].to_vec()),
        ),
    ];
    // Cutting into the last tile is not detectable before decoding (it has no size
    // field) and FFmpeg decodes the bytes that are there: that request may succeed with
    // wrong pixels; only the recovery is checked.
    let last_tile_cut: Damage = Box::new(|b| b[..b.len() * 9 / 10].to_vec());
    let mut all: Vec<(&str, usize, &Damage, bool)> =
        cases.iter().map(|(w, a, d)| (*w, *a, d, true)).collect();
    all.push(("cut inside the last tile", 9, &last_tile_cut, false));
    for (what, at, damage, must_fail) in all {
        let mut engine = Engine::new(Codec::Vp9).unwrap();
        let mut next_key_ok = None;
        for (i, r) in reqs.iter().enumerate() {
            let c = vp9_controls(r);
            let mut buf = buffer_for(r);
            if i == at {
                let bytes = damage(&r.bitstream);
                let res = decode(&mut engine, r, &c, &bytes, &mut buf);
                eprintln!("{what}: request {i}: {res:?}");
                assert!(
                    res.is_err() || !must_fail,
                    "{what}: request {i} did not fail"
                );
                continue;
            }
            // Between the damaged frame and the next key frame the references may be
            // missing: those requests may fail or decode wrong pixels, but never panic.
            let res = decode(&mut engine, r, &c, &r.bitstream, &mut buf);
            if i > at && r.frame.flags.contains(FrameFlags::KEY_FRAME) && next_key_ok.is_none() {
                res.expect("the next key frame decodes");
                let mut got = Vec::new();
                buf.append_planar(0, 0, w as u32, h as u32, &mut got);
                assert!(
                    got == reference[i],
                    "{what}: key frame {i} differs from FFmpeg's"
                );
                next_key_ok = Some(i);
            } else if i < at {
                res.expect("frames before the damage decode");
            }
        }
        assert!(
            next_key_ok.is_some(),
            "{what}: no key frame after request {at}"
        );
    }
}

// ---------------------------------------------------------------------------------------
// Intra-only frames: libvpx makes none outside SVC, so one is made from a key frame.

/// Rewrites a profile-0 key frame (not error resilient, colour space not sRGB, render size
/// = frame size) as a hidden intra-only frame that resets all frame contexts (so it
/// decodes to the key frame's picture and leaves the probability contexts as the key
/// frame did) and refreshes the slots in `refresh`. The compressed header and tiles are
/// kept; the uncompressed header grows by 7 bits (intra_only, reset_frame_context and
/// refresh_frame_flags in, colour config out).
fn key_to_intra_only(key: &[u8], refresh: u8) -> Vec<u8> {
    use cros_codecs::codec::vp9::parser::{FrameType, Parser};
    let mut p = Parser::default();
    let kh = ctrls::build::vp9::parse_chunk(&mut p, key)
        .unwrap()
        .remove(0)
        .0;
    assert!(kh.frame_type == FrameType::KeyFrame && !kh.error_resilient_mode);
    assert!(!kh.render_and_frame_size_different && kh.profile as u8 == 0);
    let old_len = usize::from(kh.uncompressed_header_size_in_bytes);
    let bit = |i: usize| (key[i / 8] >> (7 - i % 8)) & 1;
    let mut bits: Vec<u8> = Vec::new();
    let put = |v: u32, n: u32, bits: &mut Vec<u8>| {
        for i in (0..n).rev() {
            bits.push(((v >> i) & 1) as u8);
        }
    };
    // frame_marker, profile 0, show_existing_frame 0, non-key, hidden, not error
    // resilient, intra_only, reset_frame_context = 3, sync code, refresh_frame_flags.
    for (v, n) in [(0b10, 2), (0, 2), (0, 1), (1, 1), (0, 1), (0, 1)] {
        put(v, n, &mut bits);
    }
    put(1, 1, &mut bits);
    put(3, 2, &mut bits);
    put(0x49_83_42, 24, &mut bits);
    put(u32::from(refresh), 8, &mut bits);
    // The key frame's frame size (bits 36..68, after marker..sync code, colour space,
    // colour range), its render_and_frame_size_different and everything after.
    bits.extend((36..old_len * 8).map(bit));
    while !bits.len().is_multiple_of(8) {
        bits.push(0);
    }
    let mut hdr: Vec<u8> = bits
        .chunks(8)
        .map(|c| c.iter().fold(0u8, |a, b| (a << 1) | b))
        .collect();
    // The header's real end: where the parser stops (the bits after it are padding).
    let mut p = Parser::default();
    let mut probe = hdr.clone();
    probe.extend_from_slice(&key[old_len..]);
    let ih = ctrls::build::vp9::parse_chunk(&mut p, &probe)
        .unwrap()
        .remove(0)
        .0;
    assert!(ih.intra_only && !ih.show_frame && ih.refresh_frame_flags == refresh);
    assert_eq!((ih.width, ih.height), (kh.width, kh.height));
    hdr.truncate(usize::from(ih.uncompressed_header_size_in_bytes));
    assert_eq!(ih.header_size_in_bytes, kh.header_size_in_bytes);
    hdr.extend_from_slice(&key[old_len..]);
    hdr
}

#[test]
fn intra_only_frame_matches_ffmpeg() {
    let Some(src) = stream("VP9 intra-only test", "vp9-unit_352x288") else {
        return;
    };
    let dir = common::tmpdir("vp9-intra-only");
    let (hdr, mut frames) = ivf_frames(&std::fs::read(&src).unwrap());
    // After the key frame: a hidden intra-only copy of it into slot 7, shown at once by a
    // show_existing_frame of slot 7 (one byte: marker, profile 0, show_existing, index 7).
    let intra = key_to_intra_only(&frames[0], 0x80);
    frames.insert(1, intra);
    frames.insert(2, vec![0b1000_1111]);
    let path = dir.join("p0_352x288_intra_only.ivf");
    let data = write_ivf(&hdr, &frames);
    std::fs::write(&path, &data).unwrap();

    let events = Vp9Builder::build_ivf(&data).unwrap();
    let r = requests(&events);
    assert!(r[1].frame.flags.contains(FrameFlags::INTRA_ONLY) && !r[1].display.shown);
    assert!(matches!(events[2], Vp9Event::ShowExisting { slot: 7, .. }));
    let (want, len) = common::ffmpeg_md5(&path, "yuv420p");
    assert_eq!(
        len,
        13 * 352 * 288 * 3 / 2,
        "FFmpeg shows 12 frames + the intra-only one"
    );
    // A show_existing_frame is not a decode request (clients show the existing buffer).
    let mut e = Engine::new(Codec::Vp9).unwrap();
    let mut b = buffer_for(r[0]);
    decode(&mut e, r[0], &vp9_controls(r[0]), &r[0].bitstream, &mut b).unwrap();
    let res = decode(&mut e, r[0], &vp9_controls(r[0]), &frames[2], &mut b);
    assert!(
        matches!(res, Err(EngineError::Unsupported(ref m)) if m.contains("show_existing_frame")),
        "{res:?}"
    );
    for strict in [false, true] {
        let opts = ReplayOptions {
            format: None,
            engine: EngineOptions::strict(strict),
        };
        let (got, sum) = replay_md5(&data, &opts);
        assert!(sum.failed.is_empty() && sum.warnings == 0, "{sum:?}");
        assert_eq!((sum.requests, sum.frames), (13, 13));
        assert_eq!(got, want, "intra-only stream (strict {strict})");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// FFmpeg's v4l2-request hwaccel fills fields a frame does not use differently from
/// GStreamer: stale values from the previous frame on intra frames (reference timestamps,
/// sign bias, interpolation filter, reference mode, high-precision MV), a stale
/// reset_frame_context on key frames, no render size, final probabilities in `uv_mode`
/// (which no compressed header codes). None of that changes decoding: strict mode must
/// accept it, and still decode bit-exact.
#[test]
fn ffmpeg_client_conventions_are_accepted() {
    let Some(path) = stream("VP9 client-conventions test", "vp9-unit_gop4_176x144") else {
        return;
    };
    let data = std::fs::read(&path).unwrap();
    let events = Vp9Builder::build_ivf(&data).unwrap();
    let mut engine = Engine::with_options(Codec::Vp9, EngineOptions::strict(true)).unwrap();
    let mut md5 = Md5::new();
    let mut prev: Option<libdaedalus::codec::vp9::Vp9Controls> = None;
    let mut intra_seen = 0;
    for r in requests(&events) {
        let mut c = vp9_controls(r);
        c.frame.render_width_minus_1 = 0;
        c.frame.render_height_minus_1 = 0;
        let ch = c.compressed_hdr.as_mut().unwrap();
        for (i, row) in ch.uv_mode.iter_mut().enumerate() {
            row.fill(100 + i as u8);
        }
        if let Some(p) = &prev {
            if c.frame.is_intra() {
                intra_seen += 1;
                let f = &mut c.frame;
                f.last_frame_ts = p.frame.last_frame_ts.max(1);
                f.golden_frame_ts = p.frame.golden_frame_ts.max(2);
                f.alt_frame_ts = p.frame.alt_frame_ts.max(3);
                f.ref_frame_sign_bias = ctrls::vp9::SignBias::ALT;
                f.interpolation_filter = 2;
                f.reference_mode = 2;
                f.flags.insert(FrameFlags::ALLOW_HIGH_PREC_MV);
                f.reset_frame_context = 2;
            }
        }
        if !c.frame.lf.flags.contains(LoopFilterFlags::DELTA_ENABLED) {
            c.frame.lf.flags.insert(LoopFilterFlags::DELTA_UPDATE);
        }
        let mut buf = buffer_for(r);
        let rep = decode(&mut engine, r, &c, &r.bitstream, &mut buf)
            .unwrap_or_else(|e| panic!("request {}: {e}", r.decode_index));
        assert!(rep.warnings.is_empty());
        if r.display.shown {
            let mut out = Vec::new();
            buf.append_planar(0, 0, r.display.width, r.display.height, &mut out);
            md5.update(&out);
        }
        prev = Some(c);
    }
    assert!(intra_seen >= 3, "key frames after the first: {intra_seen}");
    assert_eq!(
        format!("{:x}", md5.finalize()),
        common::ffmpeg_md5(&path, "yuv420p").0
    );
}

/// A superframe (hidden alt-ref + shown frame in one IVF frame) sent as one request is
/// refused: one request decodes one frame into one CAPTURE buffer.
#[test]
fn superframe_in_one_request_is_refused() {
    let Some(path) = stream("VP9 superframe test", "vp9-p0_176x144_arf") else {
        return;
    };
    let data = std::fs::read(&path).unwrap();
    let (_, ivf) = ivf_frames(&data);
    let events = Vp9Builder::build_ivf(&data).unwrap();
    let reqs = requests(&events);
    // The IVF frame holding the first hidden frame, and the requests before it.
    let hidden = reqs
        .iter()
        .position(|r| !r.display.shown)
        .expect("a hidden frame");
    let ivf_index = reqs[hidden].ivf_index;
    let mut e = Engine::new(Codec::Vp9).unwrap();
    for r in &reqs[..hidden] {
        let mut b = buffer_for(r);
        decode(&mut e, r, &vp9_controls(r), &r.bitstream, &mut b).unwrap();
    }
    let r = reqs[hidden];
    let mut b = buffer_for(r);
    let res = decode(&mut e, r, &vp9_controls(r), &ivf[ivf_index], &mut b);
    assert!(
        matches!(res, Err(EngineError::Bitstream(ref m)) if m.contains("superframe")),
        "{res:?}"
    );
    // Split, the same frames decode.
    for r in &reqs[hidden..hidden + 2] {
        let mut b = buffer_for(r);
        decode(&mut e, r, &vp9_controls(r), &r.bitstream, &mut b).unwrap();
    }
}
