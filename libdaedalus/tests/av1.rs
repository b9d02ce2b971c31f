//! AV1 streams made at test time by the host's ffmpeg (libaom-av1, libsvtav1) decode
//! bit-exact through the replay path (builder -> controls -> rebuilt OBUs -> libdav1d),
//! against FFmpeg decoding the same file independently. Strict mode: zero control
//! disagreements on every request.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;
use libdaedalus::codec::av1::replay::replay_ivf;
use libdaedalus::replay::{ReplayOptions, ReplaySummary};
use libdaedalus::EngineOptions;
use md5::{Digest, Md5};

#[derive(Clone, Copy, PartialEq)]
enum Enc {
    Aom,
    Svt,
}

struct Case {
    name: &'static str,
    enc: Enc,
    w: u32,
    h: u32,
    frames: u32,
    ten_bit: bool,
    /// Extra encoder options.
    args: &'static [&'static str],
    /// Extra source filter (e.g. noise for film grain).
    vf: &'static str,
}

const AOM: &[&str] = &["-cpu-used", "8", "-row-mt", "0", "-threads", "1"];

fn encode(dir: &Path, c: &Case) -> PathBuf {
    let out = dir.join(format!("{}.ivf", c.name));
    let mut cmd = Command::new("ffmpeg");
    cmd.args(["-v", "error", "-y", "-f", "lavfi", "-i"])
        .arg(format!("testsrc2=size={}x{}:rate=25", c.w, c.h))
        .args(["-frames:v", &c.frames.to_string()]);
    if !c.vf.is_empty() {
        cmd.args(["-vf", c.vf]);
    }
    cmd.args([
        "-pix_fmt",
        if c.ten_bit { "yuv420p10le" } else { "yuv420p" },
    ]);
    match c.enc {
        Enc::Aom => {
            cmd.args(["-c:v", "libaom-av1"]).args(AOM);
        }
        Enc::Svt => {
            cmd.args(["-c:v", "libsvtav1"]);
        }
    }
    cmd.args(c.args).arg(&out);
    let st = cmd.status().expect("run ffmpeg");
    assert!(st.success(), "ffmpeg failed to encode {}", c.name);
    out
}

fn replay_md5(data: &[u8], opts: &ReplayOptions) -> (String, usize, ReplaySummary) {
    let mut md5 = Md5::new();
    let mut bytes = 0;
    let s = replay_ivf(data, opts, |f| {
        md5.update(f);
        bytes += f.len();
        Ok(())
    })
    .expect("replay");
    (format!("{:x}", md5.finalize()), bytes, s)
}

/// Encodes and checks every case; returns the names that did not match.
fn run(tag: &str, cases: &[Case]) {
    if !have_ffmpeg() {
        eprintln!("ffmpeg not found: AV1 stream test {tag} NOT run (NOT a pass)");
        return;
    }
    let dir = tmpdir(&format!("av1-{tag}"));
    let mut bad = Vec::new();
    for c in cases {
        let f = encode(&dir, c);
        let data = std::fs::read(&f).unwrap();
        let pix = if c.ten_bit { "yuv420p10le" } else { "yuv420p" };
        let (want, want_len) = ffmpeg_md5(&f, pix);
        let opts = ReplayOptions {
            format: None,
            engine: EngineOptions { strict: true },
        };
        let (got, got_len, s) = replay_md5(&data, &opts);
        let ok = got == want && got_len == want_len && s.failed.is_empty();
        eprintln!(
            "{:<28} {} requests {:>3} frames {:>3} bytes {}/{} failed {} {}",
            c.name,
            if ok { "OK      " } else { "MISMATCH" },
            s.requests,
            s.frames,
            got_len,
            want_len,
            s.failed.len(),
            s.failed.first().map(|f| f.1.as_str()).unwrap_or("")
        );
        if !ok {
            bad.push(c.name);
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    assert!(bad.is_empty(), "{tag}: mismatching streams: {bad:?}");
}

#[test]
fn aom_8bit() {
    run(
        "aom8",
        &[Case {
            name: "aom-176x144",
            enc: Enc::Aom,
            w: 176,
            h: 144,
            frames: 10,
            ten_bit: false,
            args: &["-lag-in-frames", "0", "-b:v", "200k"],
            vf: "",
        }],
    );
}
