//! The VP9 and AV1 picture sources against FFmpeg: the number of frames they
//! announce for display (shown frames + show_existing_frame repeats) must
//! equal the number of frames FFmpeg outputs for the same file (ffprobe
//! -count_frames), and the display plan must only name decoded, retained
//! pictures. Streams: the committed IVF files of snapshots/tests/data (made
//! by libvpx-vp9 two-pass with alt-refs, and libaom-av1).

mod common;

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::Command;

use ctrls::source::av1::{Av1, Av1Source};
use ctrls::source::ivf::{IvfCodec, IvfSource};
use ctrls::source::vp9::Vp9;
use ctrls::source::PictureSource;
use request_api::bookkeeping::{CaptureSlots, DisplayQueue};

fn data(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../snapshots/tests/data")
        .join(name)
}

/// ffprobe's count of frames FFmpeg's decoder outputs.
fn ffprobe_frames(path: &PathBuf) -> usize {
    let out = Command::new("ffprobe")
        .args(["-v", "error", "-count_frames", "-select_streams", "v:0"])
        .args(["-show_entries", "stream=nb_read_frames", "-of", "csv=p=0"])
        .arg(path)
        .output()
        .expect("this test needs ffprobe (installed by scripts/setup-host)");
    assert!(out.status.success(), "ffprobe failed on {}", path.display());
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .unwrap_or_else(|_| panic!("ffprobe output {:?}", out.stdout))
}

struct Run {
    displayed: usize,
    requests: usize,
    /// Pictures not shown when decoded (show_frame = 0).
    hidden: usize,
    /// Displays announced by a show_existing_frame (not the picture itself).
    shown_existing: usize,
}

/// Plays the source through the client's bookkeeping as the session does
/// (every request completes at once, CAPTURE buffers limited to the DPB
/// size + 1) and checks each display names a decoded buffer.
fn drive(src: &mut dyn PictureSource) -> Run {
    let mut slots: Option<CaptureSlots> = None;
    let mut disp = DisplayQueue::default();
    let mut seen: HashMap<u64, u32> = HashMap::new();
    let (mut displayed, mut requests, mut hidden, mut shown_existing) = (0, 0, 0, 0);
    while let Some(p) = src.next_picture().unwrap() {
        let s = slots.get_or_insert_with(|| CaptureSlots::new(p.info.dpb_size as usize + 1));
        let i = s
            .free()
            .unwrap_or_else(|| panic!("request {requests}: no free CAPTURE buffer"));
        s.queue_with_displays(i, p.timestamp, p.displays).unwrap();
        s.set_references(&p.references);
        s.dequeued(i).unwrap();
        if !p.display.contains(&p.timestamp) {
            hidden += 1;
        }
        shown_existing += p.display.iter().filter(|&&t| t != p.timestamp).count();
        disp.push(p.display.iter().copied());
        for ts in disp.pop_ready(s) {
            *seen.entry(ts).or_default() += 1;
            s.displayed(ts).unwrap();
            displayed += 1;
        }
        requests += 1;
    }
    assert!(disp.is_empty(), "{} frames never displayed", disp.len());
    Run {
        displayed,
        requests,
        hidden,
        shown_existing,
    }
}

/// Drives the source of IVF file `name` (VP9 or AV1): it displays exactly
/// FFmpeg's frames, has hidden frames, and every displayed frame is a shown
/// request or a show_existing_frame.
fn check_stream<C: IvfCodec>(name: &str) -> Run {
    let path = data(name);
    let bytes = std::fs::read(&path).unwrap();
    let mut src = IvfSource::<C>::new(&bytes).unwrap();
    let frames = src.frames();
    let run = drive(&mut src);
    assert_eq!(run.displayed, frames, "{name}");
    assert_eq!(frames, ffprobe_frames(&path), "{name}");
    assert!(run.hidden > 0, "{name}: no hidden frame");
    assert_eq!(
        run.requests + run.shown_existing - run.hidden,
        run.displayed,
        "{name}"
    );
    run
}

#[test]
fn vp9_alt_ref_streams_display_ffmpegs_frames() {
    // Two-pass libvpx with alt-refs: hidden frames (in superframes), never
    // shown on their own (no show_existing_frame in these two).
    for name in ["vp9_64x64_arf.ivf", "vp9_352x288_arf.ivf"] {
        check_stream::<Vp9>(name);
    }
}

#[test]
fn av1_streams_display_ffmpegs_frames() {
    // libaom's alt-ref: a hidden frame shown later by show_existing_frame.
    for name in ["av1_64x64.ivf", "av1_352x288_tiles.ivf"] {
        let run = check_stream::<Av1>(name);
        assert!(run.shown_existing > 0, "{name}: no show_existing_frame");
    }
}

#[test]
fn av1_request_controls_are_sequence_frame_tiles() {
    let bytes = std::fs::read(data("av1_352x288_tiles.ivf")).unwrap();
    let mut src = Av1Source::new(&bytes).unwrap();
    let p = src.next_picture().unwrap().unwrap();
    let ids: Vec<u32> = p.controls.iter().map(|c| c.id).collect();
    use v4l2r::bindings as b;
    assert_eq!(
        ids,
        vec![
            b::V4L2_CID_STATELESS_AV1_SEQUENCE,
            b::V4L2_CID_STATELESS_AV1_FRAME,
            b::V4L2_CID_STATELESS_AV1_TILE_GROUP_ENTRY,
        ]
    );
    // Two tile columns: two 16-byte v4l2_ctrl_av1_tile_group_entry.
    assert_eq!(p.controls[2].bytes.len(), 2 * 16);
    assert_eq!(
        p.controls[1].bytes.len(),
        std::mem::size_of::<b::v4l2_ctrl_av1_frame>()
    );
}

/// A size change on a non-key frame (aomenc's fixed resize mode: key frames at
/// 176x144, the others at 3/4 of that, predicted from scaled references) is
/// not a resolution change: every picture keeps the key frame's buffers, and
/// each smaller frame carries its own visible rectangle, the frame size the
/// builder read from its header. Needs aomenc (aom-tools) and ffmpeg.
#[test]
fn av1_non_key_size_change_keeps_the_key_frame_buffers() {
    let have = |tool: &str| Command::new(tool).arg("--help").output().is_ok();
    if !have("aomenc") || !have("ffmpeg") {
        common::not_run("aomenc or ffmpeg not found (reference scaling source test)");
        return;
    }
    let dir = common::temp_dir("resize");
    let (y4m, ivf) = (dir.join("src.y4m"), dir.join("resize.ivf"));
    common::ffmpeg_lavfi(
        "testsrc2=size=176x144:rate=25",
        &[
            "-frames:v",
            "6",
            "-pix_fmt",
            "yuv420p",
            "-f",
            "yuv4mpegpipe",
        ],
        &y4m,
    );
    let st = Command::new("aomenc")
        .args([
            "--quiet",
            "--cpu-used=8",
            "--threads=1",
            "--ivf",
            "--lag-in-frames=0",
        ])
        .args([
            "--resize-mode=1",
            "--resize-denominator=12",
            "--resize-kf-denominator=8",
        ])
        .arg("-o")
        .arg(&ivf)
        .arg(&y4m)
        .status()
        .unwrap();
    assert!(st.success());
    let bytes = std::fs::read(&ivf).unwrap();
    // The frame sizes, from the builder.
    let sizes: HashMap<u64, (u32, u32)> = ctrls::build::av1::Av1Builder::build_ivf(&bytes)
        .unwrap()
        .into_iter()
        .filter_map(|e| match e {
            ctrls::build::av1::Av1Event::Decode(r) => {
                Some((r.timestamp, (r.display.width, r.display.height)))
            }
            _ => None,
        })
        .collect();
    let mut src = Av1Source::new(&bytes).unwrap();
    let frames = src.frames();
    let mut infos = Vec::new();
    let mut smaller = 0;
    while let Some(p) = src.next_picture().unwrap() {
        let (w, h) = sizes[&p.timestamp];
        match p.picture_rect {
            Some(r) => {
                assert_eq!((r.left, r.top, r.width, r.height), (0, 0, w, h));
                assert!(w < p.info.coded_width && h < p.info.coded_height);
                smaller += 1;
            }
            None => assert_eq!((w, h), (p.info.coded_width, p.info.coded_height)),
        }
        infos.push(p.info);
    }
    infos.dedup();
    assert_eq!(infos.len(), 1, "a resolution change: {infos:?}");
    assert_eq!((infos[0].coded_width, infos[0].coded_height), (176, 144));
    assert!(smaller > 0, "aomenc made no smaller frame");
    assert_eq!(frames, ffprobe_frames(&ivf));
    let mut src = Av1Source::new(&bytes).unwrap();
    assert_eq!(drive(&mut src).displayed, frames);
    let _ = std::fs::remove_dir_all(&dir);
}
