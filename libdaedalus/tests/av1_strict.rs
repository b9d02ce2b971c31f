//! AV1 strict mode and bad input: one corrupted request of a real stream (made at test
//! time by libaom) is reported precisely (the control field in the error) and fails in
//! strict mode; bad OUTPUT data fails only that request, never panics, and the next key
//! frame decodes bit-exact against FFmpeg's own decode of the untouched file.

mod common;

use std::path::{Path, PathBuf};

use common::*;
use ctrls::av1::SegmentationFlags;
use ctrls::build::av1::{Av1Builder, Av1Event};
use libdaedalus::codec::av1::Av1Controls;
use libdaedalus::replay::replay_av1_events_with as replay_events_with;
use libdaedalus::replay::{ReplayOptions, ReplaySummary};
use libdaedalus::{CaptureFormat, Codec, Engine, EngineOptions};
use md5::{Digest, Md5};

const W: u32 = 320;
const H: u32 = 240;
const FRAMES: u32 = 12;
/// Key frames at 0 and 6 (decode order = display order: no lag).
const KEY2: usize = 6;

fn encode(dir: &Path) -> PathBuf {
    let out = dir.join("strict.ivf");
    let frames = FRAMES.to_string();
    let args = ["-frames:v", &frames, "-c:v", "libaom-av1"];
    let aom = ["-cpu-used", "8", "-row-mt", "0", "-threads", "1"];
    let gop = ["-lag-in-frames", "0", "-g", "6", "-keyint_min", "6"];
    let tools = ["-tile-columns", "1", "-aq-mode", "3", "-crf", "30"];
    let src = format!("testsrc2=size={W}x{H}:rate=25");
    ffmpeg_lavfi(
        &src,
        args.iter().chain(&aom).chain(&gop).chain(&tools),
        &out,
    );
    out
}

/// FFmpeg's frames of the file, one MD5 per frame.
fn ffmpeg_frames(file: &Path) -> Vec<String> {
    let raw = ffmpeg_raw(file, "yuv420p");
    let fsz = (W * H * 3 / 2) as usize;
    assert_eq!(raw.len(), fsz * FRAMES as usize);
    raw.chunks(fsz)
        .map(|f| format!("{:x}", Md5::digest(f)))
        .collect()
}

struct Setup {
    _dir: PathBuf,
    events: Vec<Av1Event>,
    reference: Vec<String>,
}

fn setup() -> Option<Setup> {
    let dir = ffmpeg_tmpdir("AV1 strict test", "av1-strict")?;
    let f = encode(&dir);
    let data = std::fs::read(&f).unwrap();
    let events = Av1Builder::build_ivf(&data).expect("build");
    let reference = ffmpeg_frames(&f);
    // The stream has what the corruptions need.
    let reqs: Vec<_> = events
        .iter()
        .filter_map(|e| match e {
            Av1Event::Decode(r) => Some(r),
            _ => None,
        })
        .collect();
    assert_eq!(reqs.len(), FRAMES as usize, "one request per frame");
    assert!(
        reqs[KEY2].frame.frame_type == 0,
        "frame {KEY2} is a key frame"
    );
    assert!(reqs[2].tiles.len() >= 2, "frame 2 has several tiles");
    assert!(
        reqs[2]
            .frame
            .segmentation
            .flags
            .contains(SegmentationFlags::ENABLED),
        "frame 2 uses segmentation"
    );
    Some(Setup {
        _dir: dir,
        events,
        reference,
    })
}

/// Replays with `mutate` applied to request `target`; returns the summary and per-frame
/// MD5s.
fn run(
    s: &Setup,
    strict: bool,
    target: u32,
    mutate: impl FnMut(&mut Av1Controls, &mut Vec<u8>),
) -> (ReplaySummary, Vec<String>) {
    run_fmt(s, strict, None, target, mutate)
}

fn run_fmt(
    s: &Setup,
    strict: bool,
    format: Option<CaptureFormat>,
    target: u32,
    mut mutate: impl FnMut(&mut Av1Controls, &mut Vec<u8>),
) -> (ReplaySummary, Vec<String>) {
    let mut engine = Engine::with_options(Codec::Av1, EngineOptions::strict(strict)).unwrap();
    let opts = ReplayOptions {
        format,
        engine: EngineOptions::strict(strict),
    };
    let mut frames = Vec::new();
    let sum = replay_events_with(
        &mut engine,
        &s.events,
        &opts,
        |i, c, b| {
            if i == target {
                mutate(c, b)
            }
        },
        |f| {
            frames.push(format!("{:x}", Md5::digest(f)));
            Ok(())
        },
    )
    .expect("replay");
    (sum, frames)
}

fn failed_msg(s: &ReplaySummary, req: u32) -> String {
    s.failed
        .iter()
        .find(|f| f.0 == req)
        .map(|f| f.1.clone())
        .unwrap_or_else(|| panic!("request {req} did not fail; failures: {:?}", s.failed))
}

/// Frames from the second key frame on match FFmpeg.
fn assert_recovers(s: &Setup, sum: &ReplaySummary, frames: &[String]) {
    assert!(
        sum.failed.iter().all(|f| (f.0 as usize) < KEY2),
        "requests after the key frame failed: {:?}",
        sum.failed
    );
    assert_eq!(frames.len(), s.reference.len());
    assert_eq!(
        frames[KEY2..],
        s.reference[KEY2..],
        "frames after the key frame"
    );
}

#[test]
fn untouched_stream_is_exact_in_strict_mode() {
    let Some(s) = setup() else { return };
    let (sum, frames) = run(&s, true, u32::MAX, |_, _| {});
    assert!(sum.failed.is_empty(), "{:?}", sum.failed);
    assert_eq!(sum.warnings, 0);
    assert_eq!(frames, s.reference);
}

#[test]
fn wrong_tile_offset_is_reported() {
    let Some(s) = setup() else { return };
    let (sum, frames) = run(&s, true, 2, |c, _| {
        c.tile_group_entries[0].tile_offset += 3;
    });
    let m = failed_msg(&sum, 2);
    assert!(m.contains("AV1_TILE_GROUP_ENTRY[0]"), "{m}");
    assert_recovers(&s, &sum, &frames);
}

#[test]
fn wrong_tile_size_is_reported() {
    let Some(s) = setup() else { return };
    let (sum, frames) = run(&s, true, 2, |c, _| {
        c.tile_group_entries[0].tile_size -= 2;
    });
    let m = failed_msg(&sum, 2);
    assert!(m.contains("AV1_TILE_GROUP_ENTRY[0].tile_size"), "{m}");
    assert_recovers(&s, &sum, &frames);
}

#[test]
fn corrupted_loop_filter_is_reported() {
    let Some(s) = setup() else { return };
    let (sum, frames) = run(&s, true, 3, |c, _| {
        c.frame.loop_filter.level[1] = 64;
    });
    let m = failed_msg(&sum, 3);
    assert!(m.contains("loop_filter.level[1]"), "{m}");
    assert_recovers(&s, &sum, &frames);
}

#[test]
fn corrupted_segmentation_is_reported() {
    let Some(s) = setup() else { return };
    let (sum, frames) = run(&s, true, 2, |c, _| {
        let seg = &mut c.frame.segmentation;
        seg.last_active_seg_id = (seg.last_active_seg_id + 1) % 8;
    });
    let m = failed_msg(&sum, 2);
    assert!(
        m.contains("AV1_FRAME.segmentation.last_active_seg_id"),
        "{m}"
    );
    assert_recovers(&s, &sum, &frames);
}

#[test]
fn wrong_reference_ts_is_reported_and_only_warned_when_not_strict() {
    let Some(s) = setup() else { return };
    let mut slot = 0;
    let corrupt = |c: &mut Av1Controls, _: &mut Vec<u8>| {
        slot = c.frame.ref_frame_idx[0] as usize;
        c.frame.reference_frame_ts[slot] += 1;
    };
    let (sum, frames) = run(&s, true, 4, corrupt);
    let m = failed_msg(&sum, 4);
    assert!(
        m.contains(&format!("AV1_FRAME.reference_frame_ts[{slot}]")),
        "{m}"
    );
    assert_recovers(&s, &sum, &frames);
    // Not strict: a warning; the picture still decodes from our own slot mirror.
    let (sum, frames) = run(&s, false, 4, |c, _| {
        let k = c.frame.ref_frame_idx[0] as usize;
        c.frame.reference_frame_ts[k] += 1;
    });
    assert!(sum.failed.is_empty(), "{:?}", sum.failed);
    assert_eq!(sum.warnings, 1);
    assert_eq!(frames, s.reference);
}

#[test]
fn garbage_tile_data_fails_the_request_then_key_frame_decodes() {
    let Some(s) = setup() else { return };
    let (sum, frames) = run(&s, false, 3, |c, b| {
        // Every tile replaced by 4 bytes of garbage.
        let mut x = 0x9e37_79b9u32;
        let mut out = Vec::new();
        for e in c.tile_group_entries.iter_mut() {
            e.tile_offset = out.len() as u32;
            e.tile_size = 4;
            for _ in 0..4 {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                out.push(x as u8);
            }
        }
        *b = out;
    });
    let m = failed_msg(&sum, 3);
    eprintln!("garbage tiles: {m}");
    assert_recovers(&s, &sum, &frames);
}

#[test]
fn tile_entry_outside_the_buffer_fails_the_request_then_key_frame_decodes() {
    let Some(s) = setup() else { return };
    let (sum, frames) = run(&s, false, 1, |c, b| {
        let n = c.tile_group_entries.len() - 1;
        c.tile_group_entries[n].tile_offset = b.len() as u32 + 100;
    });
    let m = failed_msg(&sum, 1);
    assert!(m.contains("outside the"), "{m}");
    assert_recovers(&s, &sum, &frames);
    let (sum, frames) = run(&s, false, 1, |c, _| {
        c.tile_group_entries[0].tile_size = u32::MAX - c.tile_group_entries[0].tile_offset;
    });
    let m = failed_msg(&sum, 1);
    assert!(m.contains("AV1_TILE_GROUP_ENTRY[0].tile_size"), "{m}");
    assert_recovers(&s, &sum, &frames);
}

/// A hidden key frame later shown with show_existing_frame (a "forward key frame")
/// refreshes every slot, but clients submit no request for the show_existing_frame: the
/// engine must notice from reference_frame_ts that all slots now hold the key frame. Made
/// from the real stream by turning key frame KEY2 into a hidden key frame refreshing slot 0
/// only: the requests after it keep the controls a client sends after the show_existing
/// of that key frame (every slot = KEY2), so the output must stay bit-exact.
#[test]
fn hidden_key_frame_shown_by_show_existing_is_caught_up() {
    let Some(s) = setup() else { return };
    let (sum, frames) = run(&s, true, KEY2 as u32, |c, _| {
        c.frame.flags.remove(ctrls::av1::FrameFlags::SHOW_FRAME);
        c.frame.flags.insert(ctrls::av1::FrameFlags::SHOWABLE_FRAME);
        c.frame.refresh_frame_flags = 0x01;
    });
    assert!(sum.failed.is_empty(), "{:?}", sum.failed);
    assert_eq!(sum.warnings, 0);
    assert_eq!(frames, s.reference);
}

/// Random corruption of one request's controls or OUTPUT bytes: errors are fine, panics
/// are not; a corruption before the second key frame leaves everything from that key
/// frame on bit-exact.
#[test]
fn random_corruption_never_panics_and_key_frame_recovers() {
    use zerocopy::IntoBytes;
    let Some(s) = setup() else { return };
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut rnd = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let mut failures = 0;
    for _ in 0..48 {
        let target = (rnd() % KEY2 as u64) as u32;
        let what = rnd() % 4;
        let pos = rnd() as usize;
        let val = (rnd() as u8) | 1;
        let (sum, frames) = run(&s, false, target, |c, b| match what {
            0 => {
                let bytes = c.frame.as_mut_bytes();
                let n = bytes.len();
                bytes[pos % n] ^= val;
            }
            1 => {
                let bytes = c.sequence.as_mut_bytes();
                let n = bytes.len();
                bytes[pos % n] ^= val;
            }
            2 => {
                let n = c.tile_group_entries.len();
                let bytes = c.tile_group_entries[pos % n].as_mut_bytes();
                let m = bytes.len();
                bytes[(pos / 7) % m] ^= val;
            }
            _ => {
                let n = b.len();
                b[pos % n] ^= val;
            }
        });
        failures += sum.failed.len();
        assert_recovers(&s, &sum, &frames);
    }
    eprintln!("48 corrupted runs, {failures} failed requests, no panic");
}

#[test]
fn every_8bit_capture_format_is_exact() {
    let Some(s) = setup() else { return };
    for fmt in [
        CaptureFormat::Nv12,
        CaptureFormat::Nv12m,
        CaptureFormat::Yuv420,
        CaptureFormat::Yuv420m,
    ] {
        let (sum, frames) = run_fmt(&s, true, Some(fmt), u32::MAX, |_, _| {});
        assert!(sum.failed.is_empty(), "{fmt:?}: {:?}", sum.failed);
        assert_eq!(frames, s.reference, "{fmt:?}");
    }
}

/// The key frame KEY2 sent as an intra-only frame (same tile data: both are FrameIsIntra;
/// an intra-only frame reads error_resilient_mode and refresh_frame_flags, which must not
/// be 0xff) decodes to the same picture. Later frames are not compared: they reference
/// slot 0, which the intra-only frame no longer refreshes.
#[test]
fn key_frame_as_intra_only_frame_decodes_the_same_picture() {
    let Some(s) = setup() else { return };
    let (sum, frames) = run(&s, false, KEY2 as u32, |c, _| {
        c.frame.frame_type = ctrls::av1::FrameType::IntraOnly as u32;
        c.frame.refresh_frame_flags = 0xfe;
    });
    assert!(
        sum.failed.iter().all(|f| f.0 as usize != KEY2),
        "{:?}",
        sum.failed
    );
    assert_eq!(frames[..=KEY2], s.reference[..=KEY2]);
}
