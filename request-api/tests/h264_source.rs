//! The H.264 picture source against independent references: FFmpeg's frame
//! count for a JVT vector, and FFmpeg's display order for an x264 stream with
//! B-pyramids.

mod common;

use std::path::PathBuf;
use std::process::Command;

use request_api::h264::H264Source;
use request_api::picture::{FieldRole, PictureSource};

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
        eprintln!(
            "SKIPPED: {} is absent; this test checked nothing",
            path.display()
        );
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
