//! Test streams made by the host ffmpeg (libx264), and FFmpeg's own decode as reference.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use md5::{Digest, Md5};

/// A temp folder for this test process.
pub fn tmpdir(tag: &str) -> PathBuf {
    static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let d = std::env::temp_dir().join(format!("daedalus-{tag}-{}-{n}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

pub fn have_ffmpeg() -> bool {
    Command::new("ffmpeg")
        .arg("-version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

/// Encodes `frames` frames of testsrc2 at `w`x`h` with libx264 (single-threaded, so
/// deterministic) into `dir/name.h264`.
#[allow(clippy::too_many_arguments)]
pub fn x264(
    dir: &Path,
    name: &str,
    w: u32,
    h: u32,
    frames: u32,
    pix_fmt: &str,
    extra: &[&str],
    params: &str,
) -> PathBuf {
    let out = dir.join(format!("{name}.h264"));
    let st = Command::new("ffmpeg")
        .args(["-v", "error", "-y", "-f", "lavfi", "-i"])
        .arg(format!("testsrc2=size={w}x{h}:rate=25"))
        .args([
            "-frames:v",
            &frames.to_string(),
            "-c:v",
            "libx264",
            "-pix_fmt",
            pix_fmt,
        ])
        .args(extra)
        .args(["-x264-params", &format!("threads=1:{params}")])
        .arg(&out)
        .status()
        .expect("run ffmpeg");
    assert!(st.success(), "ffmpeg failed to encode {name}");
    out
}

/// MD5 of FFmpeg's own single-threaded decode, every frame, planar `pix_fmt`.
pub fn ffmpeg_md5(file: &Path, pix_fmt: &str) -> (String, usize) {
    let out = Command::new("ffmpeg")
        .args(["-v", "error", "-threads", "1", "-i"])
        .arg(file)
        .args([
            "-fps_mode",
            "passthrough",
            "-noautoscale",
            "-f",
            "rawvideo",
            "-pix_fmt",
            pix_fmt,
            "-",
        ])
        .stderr(Stdio::inherit())
        .output()
        .expect("run ffmpeg");
    assert!(out.status.success(), "ffmpeg failed to decode {file:?}");
    (format!("{:x}", Md5::digest(&out.stdout)), out.stdout.len())
}
