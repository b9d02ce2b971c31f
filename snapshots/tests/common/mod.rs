//! Helpers shared by the snapshot test binaries (each uses a subset).
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

use ctrls::control::RawEnum;
use md5::{Digest, Md5};

/// A stream of the repository's tests/data.
pub fn data_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

/// The JVT H.264 conformance streams ($DAEDALUS_VECTORS/h264-jvt or the
/// shared checkout), if present.
pub fn vectors_dir() -> Option<PathBuf> {
    let dir = match std::env::var_os("DAEDALUS_VECTORS") {
        Some(v) => PathBuf::from(v).join("h264-jvt"),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/vectors/h264-jvt"),
    };
    dir.is_dir().then_some(dir)
}

/// A codec's shared conformance streams ($DAEDALUS_VECTORS/<codec> or the
/// shared checkout), if present.
pub fn shared_vectors(codec: &str) -> Option<PathBuf> {
    let dir = match std::env::var_os("DAEDALUS_VECTORS") {
        Some(v) => PathBuf::from(v).join(codec),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../../shared/vectors")
            .join(codec),
    };
    dir.is_dir().then_some(dir)
}

/// Says a test did not run because of `why`: a failure under CI=true (as CI services set
/// it), else a notice that this is NOT a pass (the caller then returns).
pub fn not_run(why: &str) {
    let ci = std::env::var("CI").is_ok_and(|v| v == "true" || v == "1");
    assert!(!ci, "test cannot run under CI=true: {why}");
    println!("skipping: {why} — NOT a pass");
}

pub fn have_ffmpeg() -> bool {
    Command::new("ffmpeg")
        .arg("-version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// `have_ffmpeg()`, saying so when not (the test is skipped, NOT passed).
pub fn ffmpeg_or_skip() -> bool {
    let have = have_ffmpeg();
    if !have {
        not_run("ffmpeg CLI not found");
    }
    have
}

/// The JVT vectors directory when it and the ffmpeg CLI are both there;
/// otherwise says which is missing (the test is skipped, NOT passed).
pub fn jvt_with_ffmpeg() -> Option<PathBuf> {
    let Some(dir) = vectors_dir() else {
        not_run("JVT vectors not found (set DAEDALUS_VECTORS)");
        return None;
    };
    ffmpeg_or_skip().then_some(dir)
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// First 6 bytes of the MD5, in hex.
pub fn short_md5(bytes: &[u8]) -> String {
    hex(&Md5::digest(bytes)[..6])
}

/// Flag names joined by `|`, `-` for none.
pub fn names<I: Iterator<Item = (&'static str, T)>, T>(it: I) -> String {
    let v: Vec<_> = it.map(|(n, _)| n).collect();
    if v.is_empty() {
        "-".into()
    } else {
        v.join("|")
    }
}

/// An enum's name, `?` for a value outside it.
pub fn ename<E: RawEnum>(v: Result<E, ctrls::CtrlError>) -> &'static str {
    v.map(RawEnum::name).unwrap_or("?")
}

/// Every syntax element FFmpeg's `trace_headers` bitstream filter (CBS,
/// independent of cros-codecs) prints for `path`, in order, as (name, value).
pub fn trace_elements(path: &Path) -> Vec<(String, i64)> {
    let out = Command::new("ffmpeg")
        .args(["-v", "debug", "-i"])
        .arg(path)
        .args(["-c", "copy", "-bsf:v", "trace_headers", "-f", "null", "-"])
        .output()
        .expect("ffmpeg (FFmpeg CLI) needed");
    assert!(out.status.success());
    let mut v = Vec::new();
    for line in String::from_utf8_lossy(&out.stderr).lines() {
        if !line.starts_with("[trace_headers") {
            continue;
        }
        let toks: Vec<&str> = line.split_whitespace().collect();
        // [trace_headers @ 0x..] <bitpos> <name> <bits> = <value>
        if toks.len() < 7 || toks[toks.len() - 2] != "=" {
            continue;
        }
        let Ok(value) = toks[toks.len() - 1].parse::<i64>() else {
            continue;
        };
        v.push((toks[4].to_string(), value));
    }
    v
}

/// [`trace_elements`] as one record per frame header, started at
/// `show_existing_frame`, keeping `wanted` names.
pub fn trace_headers(path: &Path, wanted: &[&str]) -> Vec<Vec<(String, i64)>> {
    let mut recs: Vec<Vec<(String, i64)>> = Vec::new();
    for (name, value) in trace_elements(path) {
        let name = name.as_str();
        if name == "show_existing_frame" {
            recs.push(Vec::new());
        }
        if let Some(r) = recs.last_mut() {
            if wanted.contains(&name) {
                r.push((name.to_string(), value));
            }
        }
    }
    recs
}

/// insta settings of the repository's snapshots: tests/snapshots, named by
/// the stream alone, no expression (the assertion stays in the test file so
/// the snapshot's `source` stays that file).
pub fn snapshot_settings() -> insta::Settings {
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/snapshots"));
    settings.set_prepend_module_to_snapshot(false);
    settings.set_omit_expression(true);
    settings
}

/// Snapshot of an IVF builder's events (VP9, AV1): counts, then each request
/// (`R`, the codec's view) or show_existing_frame in order.
#[derive(serde::Serialize)]
pub struct IvfStream<R> {
    requests: usize,
    shown: usize,
    show_existing: usize,
    events: Vec<IvfEventView<R>>,
}

#[derive(serde::Serialize)]
#[serde(untagged)]
enum IvfEventView<R> {
    Decode(Box<R>),
    ShowExisting { show_existing: String },
}

impl<R> IvfStream<R> {
    pub fn new() -> Self {
        Self {
            requests: 0,
            shown: 0,
            show_existing: 0,
            events: Vec::new(),
        }
    }

    /// A request; `shown` is its show_frame.
    pub fn decode(&mut self, shown: bool, view: R) {
        self.requests += 1;
        self.shown += usize::from(shown);
        self.events.push(IvfEventView::Decode(Box::new(view)));
    }

    /// A show_existing_frame, described by `what`.
    pub fn show_existing(&mut self, what: String) {
        self.show_existing += 1;
        self.events.push(IvfEventView::ShowExisting {
            show_existing: what,
        });
    }
}

/// Runs `cmd` (an FFmpeg CLI tool), asserts it succeeded, returns its stdout.
pub fn run(cmd: &mut Command) -> String {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("running {cmd:?}: {e} (FFmpeg CLI needed)"));
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// ffprobe's decoded frames of `path`, one `key_frame,width,height` line each.
pub fn ffprobe_frames(path: &Path) -> Vec<String> {
    run(Command::new("ffprobe")
        .args(["-v", "error", "-show_frames", "-show_entries"])
        .arg("frame=key_frame,width,height")
        .args(["-of", "csv=p=0"])
        .arg(path))
    .lines()
    .map(str::to_string)
    .collect()
}

/// The number of frames FFmpeg decodes from `path`.
pub fn ffprobe_frame_count(path: &Path) -> usize {
    run(Command::new("ffprobe")
        .args(["-v", "error", "-count_frames", "-select_streams", "v:0"])
        .args(["-show_entries", "stream=nb_read_frames", "-of", "csv=p=0"])
        .arg(path))
    .trim()
    .parse()
    .expect("ffprobe's frame count")
}

/// One of our frame header records for [`assert_trace_headers`], started as
/// FFmpeg prints it: `show_existing_frame`, then (for a decoded frame,
/// `Some(show_frame)`) `show_frame`.
pub fn header_record(shown: Option<bool>) -> Vec<(String, i64)> {
    match shown {
        None => vec![("show_existing_frame".into(), 1)],
        Some(shown) => vec![
            ("show_existing_frame".into(), 0),
            ("show_frame".into(), i64::from(shown)),
        ],
    }
}

/// Our frame header records of stream `name` must equal [`trace_headers`]'
/// for `wanted`.
pub fn assert_trace_headers(name: &str, wanted: &[&str], ours: Vec<Vec<(String, i64)>>) {
    let theirs = trace_headers(&data_path(name), wanted);
    assert_eq!(ours.len(), theirs.len(), "{name}: frame count");
    assert_eq!(ours, theirs, "{name}");
}
