//! HEVC bad input: a damaged slice, a missing reference picture, an RPS index outside
//! the DPB, an SPS larger than the CAPTURE buffer. Each must fail the request it comes
//! in (hardware would flag that CAPTURE buffer with V4L2_BUF_FLAG_ERROR) and nothing
//! outside it and the pictures that depend on it, and every frame from the next IDR on
//! must be FFmpeg's own decode of the clean file (its MD5 per frame), in display order.
//! The stream: the shared libx265 closed-GOP stream (IDR every 8 pictures, B-frames).

mod common;

use ctrls::build::hevc::{HevcBuilder, HevcPicture};
use ctrls::hevc::DecodeFlags;
use ctrls::source::hevc::{display_order, HevcSource};
use ctrls::ControlSet;
use libdaedalus::replay::{replay_source_with, ReplayOptions, ReplaySummary};
use libdaedalus::{Codec, Engine};
use md5::{Digest, Md5};

const STREAM: &str = "hevc-x265-closedgop-idr-n-lp-352x288";
const FRAME: usize = 352 * 288 * 3 / 2;

struct Setup {
    data: Vec<u8>,
    pics: Vec<HevcPicture>,
    clean: Vec<String>,
}

fn setup(test: &str) -> Option<Setup> {
    let f = common::fixture(test, STREAM)?;
    let data = std::fs::read(&f.path).unwrap();
    let pics = HevcBuilder::build_stream(&data).unwrap();
    let raw = common::fixtures::ffmpeg_decode(&f.path, "yuv420p", None);
    assert_eq!(raw.len(), FRAME * pics.len());
    let clean = raw
        .chunks_exact(FRAME)
        .map(|c| format!("{:x}", Md5::digest(c)))
        .collect();
    Some(Setup { data, pics, clean })
}

fn is_idr(p: &HevcPicture) -> bool {
    p.decode_params.flags.contains(DecodeFlags::IDR_PIC)
}

/// Replays `pics`, `mutate` changing request i's controls and bytes: the summary and one
/// MD5 per output frame (display order).
fn replay(
    pics: &[HevcPicture],
    mutate: impl FnMut(u32, &mut ControlSet, &mut Vec<u8>),
) -> (ReplaySummary, Vec<String>) {
    let mut engine = Engine::new(Codec::Hevc).unwrap();
    let mut src = HevcSource::from_pictures(pics.to_vec());
    let mut md5s = Vec::new();
    let s = replay_source_with(
        &mut engine,
        &mut src,
        &ReplayOptions::default(),
        mutate,
        |f| {
            md5s.push(format!("{:x}", Md5::digest(f)));
            Ok(())
        },
    )
    .unwrap();
    (s, md5s)
}

/// The first non-IDR reference picture after the first IDR (a P picture others use).
fn victim(pics: &[HevcPicture]) -> usize {
    (1..pics.len())
        .find(|&i| {
            !is_idr(&pics[i])
                && pics.get(i + 1).is_some_and(|n| {
                    let d = &n.decode_params;
                    d.dpb[..usize::from(d.num_active_dpb_entries)]
                        .iter()
                        .any(|e| e.timestamp == pics[i].timestamp)
                })
        })
        .expect("a reference picture")
}

/// Request `k` failed with a message containing `why`; none before it nor from the next
/// IDR on failed; every frame from the next IDR on (display order) is FFmpeg's.
fn check(
    pics: &[HevcPicture],
    s: &ReplaySummary,
    md5s: &[String],
    clean: &[String],
    k: usize,
    why: &str,
) {
    let idr = (k + 1..pics.len())
        .find(|&i| is_idr(&pics[i]))
        .expect("an IDR after the damaged picture");
    let failed: Vec<usize> = s.failed.iter().map(|(i, _)| *i as usize).collect();
    eprintln!("failed requests {failed:?} (damaged {k}, next IDR {idr})");
    for (i, e) in &s.failed {
        eprintln!("  #{i}: {e}");
    }
    let msg = s
        .failed
        .iter()
        .find(|(i, _)| *i as usize == k)
        .map(|x| x.1.as_str())
        .unwrap_or_else(|| panic!("the damaged request #{k} did not fail"));
    assert!(
        msg.contains(why),
        "request #{k}: {msg:?} does not say {why:?}"
    );
    assert!(
        failed.iter().all(|&i| i >= k && i < idr),
        "a request outside the damaged one and its dependents failed: {failed:?}"
    );
    assert_eq!(md5s.len(), clean.len(), "one output frame per picture");
    let order = display_order(pics);
    let first_after = order.iter().position(|&i| i == idr).unwrap();
    assert!(
        order[first_after..].iter().all(|&i| i >= idr),
        "closed GOP expected"
    );
    for r in first_after..md5s.len() {
        assert_eq!(
            md5s[r], clean[r],
            "frame {r} (display order) after the next IDR"
        );
    }
}

#[test]
fn clean_stream_has_no_failed_request() {
    let Some(st) = setup("hevc clean") else {
        return;
    };
    let (s, md5s) = replay(&st.pics, |_, _, _| {});
    assert!(s.failed.is_empty(), "{:?}", s.failed);
    assert_eq!(md5s, st.clean);
}

#[test]
fn damaged_slice_data_fails_its_request() {
    let Some(st) = setup("hevc damaged slice") else {
        return;
    };
    let k = victim(&st.pics);
    // 32 bytes a quarter into the slice data. Never zero: no start code or emulation
    // pattern is made.
    let damage = |bs: &mut [u8]| {
        assert!(bs.len() > 200, "a slice big enough to damage");
        let at = bs.len() / 4;
        for (j, b) in bs[at..at + 32].iter_mut().enumerate() {
            *b = (0x5a ^ (j as u8).wrapping_mul(37)) | 0x10;
        }
    };
    // The witness: FFmpeg alone on the file with the same bytes damaged reports it.
    let p = &st.pics[k];
    let mut file = st.data.clone();
    let at = p.stream_offset - 3;
    damage(&mut file[at..at + p.bitstream.len()]);
    let dir = common::tmpdir("hevc-damaged");
    let f = dir.join("damaged.hevc");
    std::fs::write(&f, &file).unwrap();
    let out = std::process::Command::new("ffmpeg")
        .args(["-v", "error", "-threads", "1", "-i"])
        .arg(&f)
        .args(["-f", "null", "-"])
        .output()
        .expect("run ffmpeg");
    let witness = String::from_utf8_lossy(&out.stderr);
    assert!(
        witness.contains("[hevc @"),
        "FFmpeg itself does not see the damage; pick other bytes"
    );
    eprintln!("FFmpeg alone on the damaged file: {}", witness.trim());
    let (s, md5s) = replay(&st.pics, |i, _, bs| {
        if i as usize == k {
            damage(bs);
        }
    });
    check(&st.pics, &s, &md5s, &st.clean, k, "FFmpeg");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn missing_reference_fails_the_pictures_that_use_it() {
    let Some(st) = setup("hevc missing reference") else {
        return;
    };
    // The client loses picture k: its request carries no bytes (fails), and the next
    // picture that names it as a reference must fail too, not show a made-up reference.
    let k = victim(&st.pics);
    let (s, md5s) = replay(&st.pics, |i, _, bs| {
        if i as usize == k {
            bs.clear();
        }
    });
    check(&st.pics, &s, &md5s, &st.clean, k, "empty OUTPUT buffer");
    let user = k + 1;
    assert!(
        s.failed.iter().any(|(i, _)| *i as usize == user),
        "request #{user} used the lost picture #{k} and did not fail: {:?}",
        s.failed
    );
}

#[test]
fn rps_index_outside_the_dpb_fails_its_request() {
    let Some(st) = setup("hevc rps outside dpb") else {
        return;
    };
    let k = victim(&st.pics) + 1;
    let (s, md5s) = replay(&st.pics, |i, set, _| {
        if i as usize == k {
            let ControlSet::Hevc(c) = set else {
                panic!("HEVC")
            };
            let d = &mut c.decode_params;
            assert!(d.num_poc_st_curr_before > 0, "a P/B picture");
            d.poc_st_curr_before[0] = d.num_active_dpb_entries + 3;
        }
    });
    check(&st.pics, &s, &md5s, &st.clean, k, "poc_st_curr_before");
}

#[test]
fn sps_larger_than_the_capture_buffer_fails_its_request() {
    let Some(st) = setup("hevc sps too large") else {
        return;
    };
    let k = victim(&st.pics);
    let (s, md5s) = replay(&st.pics, |i, set, _| {
        if i as usize == k {
            let ControlSet::Hevc(c) = set else {
                panic!("HEVC")
            };
            c.sps.pic_width_in_luma_samples = 1920;
            c.sps.pic_height_in_luma_samples = 1080;
        }
    });
    check(&st.pics, &s, &md5s, &st.clean, k, "1920x1080");
}
