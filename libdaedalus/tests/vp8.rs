//! VP8 engine against independent references.
//!
//! - `vectors_match_published_md5s_strict`: the 51 libvpx test vectors
//!   (../shared/vectors/vp8, the suite's MD5s) replayed through the engine in strict mode
//!   (controls as v4l2slvp8dec fills them, one request per frame) give the published MD5,
//!   with zero failed requests and zero control warnings.
//! - `streams_match_ffmpeg`: the host libvpx streams (tests/common/fixtures.rs: alt-ref
//!   with hidden frames, error resilient, 8 and 4 token partitions, odd sizes, 1080p, a
//!   key-frame resize) give the MD5 of FFmpeg decoding the file on its own, and each uses
//!   the tool it is named after.
//! - strict mode: a wrong reference timestamp, loop-filter level / delta, segment value,
//!   token probability, partition size or decoder position fails exactly that request,
//!   naming the field; lenient mode decodes it and warns; the output is FFmpeg's again
//!   from the next key frame.
//! - bad input: cut or garbage frames fail their request without a panic, the next key
//!   frame decodes bit-exactly.

mod common;

use common::fixtures::ffmpeg_decode;
use ctrls::build::vp8::{Vp8Builder, Vp8Request, SLOT_ALT, SLOT_GOLDEN};
use ctrls::vp8::SegmentFlags;
use libdaedalus::codec::vp8::Vp8Controls;
use libdaedalus::replay::{replay_vp8_requests_with, ReplaySummary};
use libdaedalus::Codec;

#[test]
fn vectors_match_published_md5s_strict() {
    let Some(vectors) = common::vector_list("vp8", "VP8") else {
        return;
    };
    let mut bad = Vec::new();
    let (mut n, mut hidden) = (0, 0);
    for v in &vectors {
        let (name, want) = (&v.name, &v.md5);
        let (got, sum) = common::replay_md5(Codec::Vp8, &v.data, true);
        n += 1;
        hidden += sum.requests - sum.frames;
        if got != *want || !sum.failed.is_empty() || sum.warnings != 0 {
            bad.push(format!(
                "{name}: md5 {got} vs {want}, failed {:?}, warnings {}",
                sum.failed.first(),
                sum.warnings
            ));
        }
    }
    eprintln!(
        "{n} vectors, {} match, {hidden} hidden frames",
        n - bad.len()
    );
    assert_eq!(n, 51, "the 51 libvpx vectors");
    assert!(hidden > 0, "the vectors have a hidden frame");
    assert!(
        bad.is_empty(),
        "VP8 vectors not matching:\n{}",
        bad.join("\n")
    );
}

/// What a stream's `need` names, checked on its requests.
fn uses(reqs: &[Vp8Request], need: &str) -> bool {
    match need {
        "hidden" => reqs.iter().any(|r| !r.shown),
        "golden-copy" => reqs.windows(2).any(|w| {
            // A golden slot that changed to something other than the frame itself.
            let (a, b) = (&w[0], &w[1]);
            b.slots_after[SLOT_GOLDEN] != a.slots_after[SLOT_GOLDEN]
                && b.slots_after[SLOT_GOLDEN] != Some(b.timestamp)
        }),
        "alt-copy" => reqs.windows(2).any(|w| {
            let (a, b) = (&w[0], &w[1]);
            b.slots_after[SLOT_ALT] != a.slots_after[SLOT_ALT]
                && b.slots_after[SLOT_ALT] != Some(b.timestamp)
        }),
        // Error resilient mode: no frame's probability updates carry over.
        "no-entropy-refresh" => reqs.iter().all(|r| !r.refresh_entropy_probs),
        "parts8" => reqs.iter().all(|r| r.frame.num_dct_parts == 8),
        "parts4" => reqs.iter().all(|r| r.frame.num_dct_parts == 4),
        "key-resize" => {
            let mut sizes: Vec<(u16, u16)> = reqs
                .iter()
                .filter(|r| r.frame.is_key_frame())
                .map(|r| (r.frame.width, r.frame.height))
                .collect();
            sizes.dedup();
            sizes.len() >= 3
        }
        other => panic!("unknown need {other}"),
    }
}

#[test]
fn streams_match_ffmpeg() {
    let Some(all) = common::fixtures("VP8 stream test") else {
        return;
    };
    let files: Vec<_> = all.iter().filter(|f| f.def().group == "vp8").collect();
    let mut bad = Vec::new();
    for f in &files {
        let data = std::fs::read(&f.path).unwrap();
        let (got, sum) = common::replay_md5(Codec::Vp8, &data, true);
        let reqs = Vp8Builder::build_ivf(&data).unwrap();
        eprintln!(
            "{}: {} requests, {} frames, ffmpeg {} ours {got}",
            f.name, sum.requests, sum.frames, f.md5
        );
        if got != f.md5 || !sum.failed.is_empty() || sum.warnings != 0 {
            bad.push(format!(
                "{}: md5 {got} vs ffmpeg {}, failed {:?}, warnings {}",
                f.name, f.md5, sum.failed, sum.warnings
            ));
        }
        for need in f.def().need {
            if !uses(&reqs, need) {
                bad.push(format!("{}: does not use {need}", f.name));
            }
        }
    }
    assert_eq!(files.len(), 7, "the VP8 list");
    assert!(
        bad.is_empty(),
        "VP8 streams not matching FFmpeg:\n{}",
        bad.join("\n")
    );
}

/// FFmpeg's frames of `f` (I420, all of one size).
fn ffmpeg_frames(f: &common::fixtures::Fixture) -> Vec<Vec<u8>> {
    let raw = ffmpeg_decode(&f.path, "yuv420p", None);
    let (w, h) = (f.size.0 as usize, f.size.1 as usize);
    let size = w * h + 2 * w.div_ceil(2) * h.div_ceil(2);
    assert_eq!(raw.len() % size, 0);
    raw.chunks(size).map(<[u8]>::to_vec).collect()
}

/// Replays the requests with `mutate` at request `at`; returns the summary and the frames
/// written (display order; every request of these streams is shown).
fn run_mutated(
    reqs: &[Vp8Request],
    strict: bool,
    at: u32,
    mutate: &dyn Fn(&mut Vp8Controls, &mut Vec<u8>),
) -> (ReplaySummary, Vec<Vec<u8>>) {
    common::replay_frames(Codec::Vp8, strict, |engine, opts, sink| {
        let pick = |i: u32, c: &mut Vp8Controls, bits: &mut Vec<u8>| {
            if i == at {
                mutate(c, bits)
            }
        };
        replay_vp8_requests_with(engine, reqs, opts, pick, sink)
    })
}

/// The stream of the request-level tests: 352x288 error resilient, a key frame every 10.
fn unit_stream(test: &str) -> Option<(common::fixtures::Fixture, Vec<Vp8Request>)> {
    let f = common::fixture(test, "vp8-352x288_errres")?;
    let reqs = Vp8Builder::build_ivf(&std::fs::read(&f.path).unwrap()).unwrap();
    assert!(reqs.iter().all(|r| r.shown));
    Some((f, reqs))
}

/// Frames from the first key frame after request `at` match FFmpeg's.
fn recovers_after(reqs: &[Vp8Request], frames: &[Vec<u8>], want: &[Vec<u8>], at: usize) {
    let key = (at + 1..reqs.len())
        .find(|&i| reqs[i].frame.is_key_frame())
        .expect("a key frame after the damaged request");
    assert_eq!(frames.len(), want.len());
    for i in key..frames.len() {
        assert!(
            frames[i] == want[i],
            "frame {i} (after key frame {key}) differs"
        );
    }
}

#[test]
fn strict_mismatches_name_the_field_and_fail_only_that_request() {
    let Some((f, reqs)) = unit_stream("VP8 strict test") else {
        return;
    };
    let want = ffmpeg_frames(&f);
    // An inter frame after the first key frame, and what to break in it.
    let at = reqs
        .iter()
        .position(|r| !r.frame.is_key_frame() && r.decode_index >= 2)
        .unwrap();
    type Break = fn(&mut Vp8Controls);
    let cases: [(&str, Break); 9] = [
        ("VP8_FRAME.last_frame_ts", |c| c.frame.last_frame_ts += 1000),
        ("VP8_FRAME.golden_frame_ts", |c| c.frame.golden_frame_ts = 0),
        ("VP8_FRAME.lf.level", |c| {
            c.frame.lf.level = (c.frame.lf.level + 1) % 64
        }),
        ("VP8_FRAME.quant.y_ac_qi", |c| {
            c.frame.quant.y_ac_qi = (c.frame.quant.y_ac_qi + 3) % 128
        }),
        ("VP8_FRAME.entropy.coeff_probs[1][2][0][3]", |c| {
            let p = &mut c.frame.entropy.coeff_probs[1][2][0][3];
            *p = p.wrapping_add(1).max(1)
        }),
        ("VP8_FRAME.entropy.mv_probs[0][4]", |c| {
            c.frame.entropy.mv_probs[0][4] ^= 0x10
        }),
        ("VP8_FRAME.first_part_header_bits", |c| {
            c.frame.first_part_header_bits += 8
        }),
        ("VP8_FRAME.coder_state.range", |c| {
            c.frame.coder_state.range ^= 1
        }),
        ("VP8_FRAME.dct_part_sizes[0]", |c| {
            c.frame.dct_part_sizes[0] -= 1
        }),
    ];
    for (field, brk) in cases {
        let mutate = |c: &mut Vp8Controls, _: &mut Vec<u8>| brk(c);
        let (sum, frames) = run_mutated(&reqs, true, at as u32, &mutate);
        assert_eq!(sum.failed.len(), 1, "{field}: {:?}", sum.failed);
        let (i, err) = &sum.failed[0];
        assert_eq!(*i as usize, at, "{field}");
        assert!(
            err.contains(&format!("{field}:")) || err.contains(&format!("{field} ")),
            "{field} not named: {err}"
        );
        recovers_after(&reqs, &frames, &want, at);

        // Lenient: the frame decodes from its own bytes, one warning, FFmpeg's output.
        let (sum, frames) = run_mutated(&reqs, false, at as u32, &mutate);
        assert!(sum.failed.is_empty(), "{field} lenient: {:?}", sum.failed);
        assert_eq!(sum.warnings, 1, "{field} lenient");
        assert!(
            frames == want,
            "{field}: lenient output differs from FFmpeg's"
        );
    }

    // Segmentation: a stream that uses it (libvpx's 03-segmentation vectors).
    let Some(dir) = common::shared_vectors("vp8", "VP8") else {
        return;
    };
    let data = std::fs::read(dir.join("vp80-03-segmentation-1401.ivf")).unwrap();
    let sreqs = Vp8Builder::build_ivf(&data).unwrap();
    let at = sreqs
        .iter()
        .position(|r| r.frame.segment.flags.contains(SegmentFlags::ENABLED))
        .expect("a frame with segmentation");
    let (sum, _) = run_mutated(&sreqs, true, at as u32, &|c, _| {
        c.frame.segment.quant_update[1] = c.frame.segment.quant_update[1].wrapping_add(1)
    });
    assert_eq!(sum.failed.len(), 1);
    assert!(
        sum.failed[0]
            .1
            .contains("VP8_FRAME.segment.quant_update[1]"),
        "{}",
        sum.failed[0].1
    );
}

#[test]
fn bad_frames_fail_their_request_and_the_next_key_frame_decodes() {
    let Some((f, reqs)) = unit_stream("VP8 bad input test") else {
        return;
    };
    let want = ffmpeg_frames(&f);
    let at = reqs
        .iter()
        .position(|r| !r.frame.is_key_frame() && r.decode_index >= 3)
        .unwrap();
    type Damage = fn(&mut Vec<u8>);
    let cases: [(&str, Damage); 5] = [
        ("empty", |b| b.clear()),
        ("tag only", |b| b.truncate(3)),
        ("cut in the first partition", |b| b.truncate(20)),
        ("first partition size beyond the frame", |b| {
            b[2] = 0xff;
        }),
        ("garbage", |b| {
            for (i, x) in b.iter_mut().enumerate().skip(3) {
                *x = (i as u8).wrapping_mul(37) ^ 0x5a;
            }
        }),
    ];
    for (what, damage) in cases {
        let mutate = |_: &mut Vp8Controls, b: &mut Vec<u8>| damage(b);
        for strict in [false, true] {
            let (sum, frames) = run_mutated(&reqs, strict, at as u32, &mutate);
            // Garbage may decode (VP8 has no checksum), into something else than
            // FFmpeg's frame; the rest must fail that request only.
            if what != "garbage" {
                assert_eq!(sum.failed.len(), 1, "{what}: {:?}", sum.failed);
                assert_eq!(sum.failed[0].0 as usize, at, "{what}");
            } else {
                assert!(sum.failed.iter().all(|(i, _)| *i as usize >= at), "{what}");
            }
            recovers_after(&reqs, &frames, &want, at);
        }
    }
    // A key frame cut in its partition sizes, at the start: fails, the next key decodes.
    let key = reqs.iter().position(|r| r.frame.is_key_frame()).unwrap();
    let (sum, frames) = run_mutated(&reqs, false, key as u32, &|_, b| b.truncate(12));
    assert!(sum.failed.iter().any(|(i, _)| *i as usize == key));
    recovers_after(&reqs, &frames, &want, key);
}
