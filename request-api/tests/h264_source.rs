//! The H.264 picture source against independent references: FFmpeg's frame
//! count for a JVT vector, and FFmpeg's display order for an x264 stream with
//! B-pyramids.

mod common;

use std::path::PathBuf;
use std::process::Command;

use ctrls::source::h264::H264Source;
use ctrls::source::{FieldRole, PictureSource};

struct Run {
    /// Decode index of each displayed frame, in display order.
    displayed: Vec<usize>,
    fields: Vec<FieldRole>,
    max_refs: usize,
}

fn drive(data: &[u8]) -> Run {
    let mut src = H264Source::new(data).expect("stream builds");
    let mut ts_to_index = std::collections::HashMap::new();
    let mut announced = Vec::new();
    let mut fields = Vec::new();
    let mut max_refs = 0;
    let mut i = 0;
    while let Some(p) = src.next_picture().unwrap() {
        ts_to_index.entry(p.timestamp).or_insert(i);
        announced.extend(p.display.iter().copied());
        fields.push(p.field);
        max_refs = max_refs.max(p.references.len());
        i += 1;
    }
    announced.extend(src.flush());
    Run {
        displayed: announced.iter().map(|ts| ts_to_index[ts]).collect(),
        fields,
        max_refs,
    }
}

#[test]
fn ba_mw_d_displays_ffmpegs_100_frames_in_decode_order() {
    let path =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/vectors/h264-jvt/BA_MW_D.264");
    let Ok(data) = std::fs::read(&path) else {
        common::not_run(&format!("{} is absent", path.display()));
        return;
    };
    let run = drive(&data);
    // `ffmpeg -i BA_MW_D.264 -f rawvideo -pix_fmt yuv420p -` gives 3801600
    // bytes = 100 frames of 176x144; a Baseline stream has no reordering.
    assert_eq!(run.displayed, (0..100).collect::<Vec<_>>());
    assert!(run.fields.iter().all(|f| *f == FieldRole::Frame));
    // SPS max_num_ref_frames = 4: the DPB before and after a picture hold at
    // most 4 + 1 distinct frames.
    assert!(run.max_refs <= 5, "{}", run.max_refs);
}

fn tool(name: &str) -> bool {
    Command::new(name)
        .arg("-version")
        .output()
        .is_ok_and(|o| o.status.success())
}

#[test]
fn x264_b_pyramid_display_order_matches_ffprobe() {
    assert!(
        tool("ffmpeg") && tool("ffprobe"),
        "this test needs ffmpeg and ffprobe (installed by scripts/setup-host)"
    );
    let dir = common::temp_dir("bpyr");
    let file = dir.join("bpyr.264");
    common::ffmpeg_lavfi(
        "testsrc=size=64x48:rate=25",
        &[
            "-frames:v",
            "40",
            "-c:v",
            "libx264",
            "-pix_fmt",
            "yuv420p",
            "-threads",
            "1",
            "-x264-params",
            "bframes=3:b-pyramid=normal:keyint=20:ref=3:scenecut=0",
            "-f",
            "h264",
        ],
        &file,
    );
    let probe = Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-show_frames",
            "-show_entries",
            "frame=coded_picture_number",
        ])
        .args(["-of", "default=nw=1"])
        .arg(&file)
        .output()
        .unwrap();
    let want: Vec<usize> = String::from_utf8_lossy(&probe.stdout)
        .lines()
        .filter_map(|l| l.trim().strip_prefix("coded_picture_number="))
        .map(|n| n.parse().unwrap())
        .collect();
    let data = std::fs::read(&file).unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(want.len(), 40, "ffprobe output: {want:?}");
    assert_ne!(
        want,
        (0..40).collect::<Vec<_>>(),
        "the stream should reorder"
    );
    let run = drive(&data);
    assert_eq!(run.displayed, want);
}

/// An x264 stream with 4 slices per picture and B-frames, as the VM suite's
/// x264-slices4 stream (smaller); returns its bytes and FFmpeg's frame count.
fn four_slice_stream() -> (Vec<u8>, usize) {
    assert!(
        tool("ffmpeg") && tool("ffprobe"),
        "this test needs ffmpeg and ffprobe (installed by scripts/setup-host)"
    );
    let dir = common::temp_dir("slices4");
    let file = dir.join("slices4.264");
    common::ffmpeg_lavfi(
        "testsrc2=size=320x192:rate=25",
        &[
            "-frames:v",
            "12",
            "-c:v",
            "libx264",
            "-pix_fmt",
            "yuv420p",
            "-threads",
            "1",
            "-x264-params",
            "threads=1:slices=4:bframes=2:keyint=10:weightp=2",
            "-f",
            "h264",
        ],
        &file,
    );
    let probe = Command::new("ffprobe")
        .args(["-v", "error", "-count_frames", "-select_streams", "v:0"])
        .args(["-show_entries", "stream=nb_read_frames", "-of", "csv=p=0"])
        .arg(&file)
        .output()
        .unwrap();
    let frames: usize = String::from_utf8_lossy(&probe.stdout)
        .trim()
        .parse()
        .expect("ffprobe frame count");
    let data = std::fs::read(&file).unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    (data, frames)
}

/// Coded slice NAL units (types 1 and 5) of an Annex B stream, by a plain
/// start-code scan (independent of the builder).
fn slice_nal_count(data: &[u8]) -> usize {
    data.windows(4)
        .filter(|w| w[..3] == [0, 0, 1] && matches!(w[3] & 0x1f, 1 | 5))
        .count()
}

#[test]
fn slice_mode_sends_one_request_per_slice() {
    use ctrls::h264::{self as c, DecodeMode, SliceParams};
    use ctrls::{Codec, ControlSet, Payload};

    let (data, frames) = four_slice_stream();
    assert_eq!(frames, 12);
    assert_eq!(
        slice_nal_count(&data),
        4 * frames,
        "x264 made 4 slices a picture"
    );

    let mut whole = H264Source::new(&data).unwrap();
    let mut sliced = H264Source::with_mode(&data, DecodeMode::SliceBased).unwrap();
    assert_eq!(sliced.requests(), 4 * whole.requests());
    let modes = sliced.mode_controls();
    assert_eq!(
        (modes[0].id, modes[0].value, modes[0].value_name),
        (c::CID_DECODE_MODE, 0, "SLICE_BASED")
    );
    assert_eq!(whole.mode_controls()[0].value, 1, "FRAME_BASED");

    let (mut pictures, mut frame_order, mut slice_order) = (0, Vec::new(), Vec::new());
    while let Some(frame) = whole.next_picture().unwrap() {
        frame_order.extend(frame.display.iter().copied());
        let mut joined = Vec::new();
        let mut first_mbs = Vec::new();
        for i in 0..4 {
            let s = sliced.next_picture().unwrap().expect("a request per slice");
            let slice = s.slice.expect("slice-based requests name their slice");
            assert_eq!((slice.index, slice.count), (i, 4));
            assert_eq!(s.timestamp, frame.timestamp);
            assert_eq!(s.field, frame.field);
            // HOLD_CAPTURE_BUF on all but the last; CAPTURE queued by the first.
            assert_eq!(s.holds_capture(), i < 3, "picture {pictures} slice {i}");
            assert_eq!(s.continues_capture(), i > 0, "picture {pictures} slice {i}");
            // The picture's announcements come with its last slice.
            if i < 3 {
                assert!(s.display.is_empty());
            } else {
                assert_eq!(s.display, frame.display);
            }
            slice_order.extend(s.display.iter().copied());
            assert_eq!(s.references, frame.references);

            // The frame-based controls, then one SLICE_PARAMS (and PRED_WEIGHTS).
            let ids: Vec<u32> = s.controls.iter().map(|p| p.id).collect();
            let frame_ids: Vec<u32> = frame.controls.iter().map(|p| p.id).collect();
            assert_eq!(ids[..4], frame_ids[..]);
            assert_eq!(s.controls[..4], frame.controls[..]);
            assert_eq!(ids[4], c::CID_SLICE_PARAMS);
            assert_eq!(
                s.controls[4].bytes.len(),
                std::mem::size_of::<SliceParams>()
            );
            assert!(ids[5..].iter().all(|&id| id == c::CID_PRED_WEIGHTS));
            let built = &sliced.pictures()[pictures];
            let want_sp = &built.slice_params[i as usize];
            assert_eq!(s.controls[4], Payload::of(want_sp));
            // This slice's own prediction weights (the builder keeps one per slice).
            assert_eq!(built.slice_pred_weights.len(), built.slice_params.len());
            match &built.slice_pred_weights[i as usize] {
                Some(w) => assert_eq!(s.controls[5..], [Payload::of(w)]),
                None => assert_eq!(ids.len(), 5),
            }

            // What the daemon parses from this request (DECODE_MODE is a
            // device control the kernel hands it with the request's).
            let mut list = vec![Payload::menu(c::CID_DECODE_MODE, 0)];
            list.extend(s.controls.iter().cloned());
            let ControlSet::H264(set) = ControlSet::parse_payloads(Codec::H264, &list).unwrap()
            else {
                panic!("an H.264 set");
            };
            assert_eq!(set.decode_mode, DecodeMode::SliceBased);
            assert_eq!(set.slice_params.len(), 1);
            first_mbs.push(set.slice_params[0].first_mb_in_slice);

            // One slice NAL unit with its Annex B start code.
            assert_eq!(s.bitstream[..3], [0, 0, 1]);
            assert_eq!(slice_nal_count(&s.bitstream), 1);
            joined.extend_from_slice(&s.bitstream);
        }
        assert_eq!(
            joined, frame.bitstream,
            "picture {pictures}: slices in order"
        );
        assert_eq!(first_mbs[0], 0);
        assert!(first_mbs.windows(2).all(|w| w[0] < w[1]), "{first_mbs:?}");
        pictures += 1;
    }
    assert!(sliced.next_picture().unwrap().is_none());
    assert_eq!(pictures, frames);
    assert_eq!(slice_order, frame_order);
}
