//! Damaged slice data: FFmpeg detects the damage and conceals it; the engine must fail that
//! request (hardware would flag the CAPTURE buffer with V4L2_BUF_FLAG_ERROR), keep going, and
//! decode the pictures after the next IDR bit-exact against FFmpeg's decode of the clean
//! stream.

mod common;

use std::path::Path;
use std::process::{Command, Stdio};

use common::*;
use ctrls::build::annexb;
use ctrls::build::h264::{display_order, H264Builder, H264Picture};
use ctrls::h264::DecodeFlags;
use libdaedalus::replay::{replay_h264_pictures, ReplayOptions, ReplaySummary};
use libdaedalus::{Codec, Engine};
use md5::{Digest, Md5};

/// FFmpeg's own single-threaded decode of `file`, one MD5 per I420 frame.
fn ffmpeg_frame_md5s(file: &Path, frame_bytes: usize) -> Vec<String> {
    let out = Command::new("ffmpeg")
        .args(["-v", "error", "-threads", "1", "-i"])
        .arg(file)
        .args(["-fps_mode", "passthrough", "-f", "rawvideo"])
        .args(["-pix_fmt", "yuv420p", "-"])
        .stderr(Stdio::inherit())
        .output()
        .expect("run ffmpeg");
    assert!(out.status.success());
    assert_eq!(out.stdout.len() % frame_bytes, 0);
    out.stdout
        .chunks_exact(frame_bytes)
        .map(|f| format!("{:x}", Md5::digest(f)))
        .collect()
}

/// What FFmpeg's h264 decoder itself logs (errors, concealment notices) when decoding `data`
/// alone: an independent witness that the damage is detectable.
fn ffmpeg_errors(dir: &Path, data: &[u8]) -> String {
    let f = dir.join("damaged.h264");
    std::fs::write(&f, data).unwrap();
    let out = Command::new("ffmpeg")
        .args(["-v", "info", "-threads", "1", "-i"])
        .arg(&f)
        .args(["-f", "null", "-"])
        .output()
        .expect("run ffmpeg");
    String::from_utf8_lossy(&out.stderr)
        .lines()
        .filter(|l| l.contains("[h264 @"))
        .collect::<Vec<_>>()
        .join("\n")
}

fn concat(pics: &[H264Picture], sps_pps: &[u8]) -> Vec<u8> {
    let mut v = sps_pps.to_vec();
    for p in pics {
        v.extend_from_slice(&p.bitstream);
    }
    v
}

fn is_idr(p: &H264Picture) -> bool {
    p.decode_params.flags.contains(DecodeFlags::IDR_PIC)
}

/// Replays `pics` and returns the summary and one MD5 per output frame (display order).
fn replay(pics: &[H264Picture]) -> (ReplaySummary, Vec<String>) {
    let mut engine = Engine::new(Codec::H264).unwrap();
    let mut md5s = Vec::new();
    let s = replay_h264_pictures(&mut engine, pics, &ReplayOptions::default(), |f| {
        md5s.push(format!("{:x}", Md5::digest(f)));
        Ok(())
    })
    .unwrap();
    (s, md5s)
}

/// Runs the damaged stream and checks: the damaged request fails with FFmpeg's message,
/// no request before it and none from the next IDR on fails, and every frame from the next
/// IDR on (display order) equals FFmpeg's decode of the clean stream.
fn check_damaged(pics: &[H264Picture], k: usize, clean_md5s: &[String]) -> ReplaySummary {
    let (s, md5s) = replay(pics);
    let idr = (k + 1..pics.len())
        .find(|&i| is_idr(&pics[i]))
        .expect("an IDR after the damaged picture");
    let failed: Vec<usize> = s.failed.iter().map(|(i, _)| *i as usize).collect();
    eprintln!("failed requests {failed:?} (damaged {k}, next IDR {idr})");
    for (i, e) in &s.failed {
        eprintln!("  #{i}: {e}");
    }
    assert!(failed.contains(&k), "the damaged request #{k} did not fail");
    assert!(
        failed.iter().all(|&i| i >= k && i < idr),
        "a request outside the damaged one and its dependents failed: {failed:?}"
    );
    let (_, msg) = s.failed.iter().find(|(i, _)| *i as usize == k).unwrap();
    assert!(msg.contains("FFmpeg decode"), "{msg}");
    assert_eq!(md5s.len(), clean_md5s.len(), "one output frame per picture");
    let order = display_order(pics);
    let first_after = order.iter().position(|&i| i == idr).unwrap();
    assert!(
        order[first_after..].iter().all(|&i| i >= idr),
        "closed GOP expected"
    );
    for r in first_after..md5s.len() {
        assert_eq!(
            md5s[r], clean_md5s[r],
            "frame {r} (display order) after the next IDR differs from FFmpeg's clean decode"
        );
    }
    s
}

type Setup = (std::path::PathBuf, Vec<H264Picture>, Vec<u8>);

fn setup(name: &str, extra: &[&str], params: &str) -> Option<Setup> {
    if !need_ffmpeg("this test") {
        return None;
    }
    let dir = tmpdir(name);
    let f = x264(&dir, name, 320, 240, 30, "yuv420p", extra, params);
    let data = std::fs::read(&f).unwrap();
    let pics = H264Builder::build_stream(&data).unwrap();
    // The stream's own parameter sets and SEI (everything before the first slice): with the
    // pictures' slices appended, an Annex B file FFmpeg decodes alone.
    let first_slice = annexb::NalIter::new(&data, 0)
        .find(|n| matches!(n.h264_type(), 1 | 5))
        .unwrap()
        .offset
        - 3;
    let sps_pps = data[..first_slice].to_vec();
    Some((dir, pics, sps_pps))
}

const PARAMS: &str = "bframes=2:b-adapt=0:keyint=10:min-keyint=10:scenecut=0";

/// Overwrites 32 bytes in the middle of the first non-IDR reference picture's slice data;
/// FFmpeg must see the damage on its own; then [`check_damaged`].
fn corrupt_and_check(name: &str, extra: &[&str], params: &str) {
    let Some((dir, mut pics, sps_pps)) = setup(name, extra, params) else {
        return;
    };
    let clean = dir.join(format!("{name}.h264"));
    let clean_md5s = ffmpeg_frame_md5s(&clean, 320 * 240 * 3 / 2);
    assert_eq!(clean_md5s.len(), pics.len());

    // The clean stream: no failed request (no false positive), bit-exact.
    let (s, md5s) = replay(&pics);
    assert!(s.failed.is_empty(), "{:?}", s.failed);
    assert_eq!(md5s, clean_md5s);

    let k = (1..pics.len())
        .find(|&i| !is_idr(&pics[i]) && pics[i].decode_params.nal_ref_idc != 0)
        .unwrap();
    let bs = &mut pics[k].bitstream;
    let mid = bs.len() / 2;
    assert!(bs.len() > 200, "slice big enough to damage its middle");
    for (j, b) in bs[mid - 16..mid + 16].iter_mut().enumerate() {
        // Never zero: no start code or emulation pattern is created.
        *b = (0x5a ^ (j as u8).wrapping_mul(37)) | 0x10;
    }
    let witness = ffmpeg_errors(&dir, &concat(&pics, &sps_pps));
    assert!(
        !witness.trim().is_empty(),
        "FFmpeg itself does not see the damage; pick other bytes"
    );
    eprintln!(
        "{name}: FFmpeg alone on the damaged stream: {}",
        witness.trim()
    );
    check_damaged(&pics, k, &clean_md5s);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn corrupted_cabac_slice_fails_its_request_and_the_next_idr_is_bit_exact() {
    corrupt_and_check("cabac", &["-profile:v", "high"], PARAMS);
}

#[test]
fn corrupted_cavlc_slice_fails_its_request_and_the_next_idr_is_bit_exact() {
    corrupt_and_check(
        "cavlc",
        &["-profile:v", "baseline"],
        "keyint=10:min-keyint=10:scenecut=0",
    );
}

#[test]
fn missing_slice_is_concealed_and_fails_its_request() {
    let Some((dir, mut pics, _)) = setup("missing", &[], &format!("{PARAMS}:slices=4")) else {
        return;
    };
    let clean_md5s = ffmpeg_frame_md5s(&dir.join("missing.h264"), 320 * 240 * 3 / 2);
    // Drop the third of the four slices of the first non-IDR reference picture: FFmpeg's
    // error resilience conceals the missing macroblocks without any error-level log line.
    let k = (1..pics.len())
        .find(|&i| !is_idr(&pics[i]) && pics[i].decode_params.nal_ref_idc != 0)
        .unwrap();
    let nals: Vec<_> = annexb::NalIter::new(&pics[k].bitstream, 0)
        .map(|n| n.offset)
        .collect();
    assert_eq!(nals.len(), 4, "4 slices per picture");
    let (from, to) = (nals[2] - 3, nals[3] - 3);
    pics[k].bitstream.drain(from..to);
    let s = check_damaged(&pics, k, &clean_md5s);
    let (_, msg) = s.failed.iter().find(|(i, _)| *i as usize == k).unwrap();
    assert!(msg.contains("concealing"), "{msg}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// An SPS larger than the CAPTURE buffer (1920x1088 on 320x240 buffers) in a P picture's
/// request: that request fails on the size before anything else is looked at (its
/// OUTPUT buffer is emptied too, which would fail it otherwise), so FFmpeg never decodes
/// a picture of that size; no request before it fails, and from the next IDR on every
/// frame is FFmpeg's decode of the clean stream.
#[test]
fn sps_larger_than_the_capture_buffer_fails_its_request() {
    use ctrls::source::h264::H264Source;
    use libdaedalus::replay::replay_source_with;
    use libdaedalus::ControlSet;

    let Some((dir, pics, _)) = setup("bigsps", &[], PARAMS) else {
        return;
    };
    let clean_md5s = ffmpeg_frame_md5s(&dir.join("bigsps.h264"), 320 * 240 * 3 / 2);
    let k = (1..pics.len())
        .find(|&i| !is_idr(&pics[i]) && pics[i].decode_params.nal_ref_idc != 0)
        .unwrap();
    let idr = (k + 1..pics.len()).find(|&i| is_idr(&pics[i])).unwrap();
    let mut engine = Engine::new(Codec::H264).unwrap();
    let mut src = H264Source::from_pictures(pics.clone());
    let mut md5s = Vec::new();
    let s = replay_source_with(
        &mut engine,
        &mut src,
        &ReplayOptions::default(),
        |i, set, bitstream| {
            if i as usize == k {
                bitstream.clear();
                let ControlSet::H264(c) = set else {
                    panic!("H.264")
                };
                c.sps.pic_width_in_mbs_minus1 = 119;
                c.sps.pic_height_in_map_units_minus1 = 67;
            }
        },
        |f| {
            md5s.push(format!("{:x}", Md5::digest(f)));
            Ok(())
        },
    )
    .unwrap();
    eprintln!("failed: {:?}", s.failed);
    let (i, msg) = s
        .failed
        .first()
        .expect("the request with the big SPS fails");
    assert_eq!(*i as usize, k, "the first failed request");
    assert!(msg.contains("320x240, picture is 1920x1088"), "{msg}");
    assert!(
        s.failed.iter().all(|(i, _)| (*i as usize) < idr),
        "a request from the next IDR on failed: {:?}",
        s.failed
    );
    let order = display_order(&pics);
    let first_after = order.iter().position(|&i| i == idr).unwrap();
    assert_eq!(md5s.len(), clean_md5s.len(), "one output frame per picture");
    for r in first_after..md5s.len() {
        assert_eq!(md5s[r], clean_md5s[r], "frame {r} after the next IDR");
    }
    let _ = std::fs::remove_dir_all(&dir);
}
