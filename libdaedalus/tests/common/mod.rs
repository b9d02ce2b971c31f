//! Test streams made by the host ffmpeg (lavfi sources, libx264 and the other encoders),
//! and FFmpeg's own decode as reference.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use md5::{Digest, Md5};

pub mod fixtures;

use fixtures::ffmpeg_decode;

/// Whether this is a CI run (CI=true, as CI services set it): there a test that cannot
/// run fails instead of skipping.
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

/// Says that `what` did not run because of `why`: a failure under CI=true, else a
/// notice that this is NOT a pass (the caller then returns).
pub fn not_run(what: &str, why: &str) {
    assert!(!in_ci(), "{what} cannot run under CI=true: {why}");
    eprintln!("{why}: {what} NOT run (this is NOT a pass)");
}

/// The shared streams (see [`fixtures`]), made once; None (after [`not_run`]) when an
/// encoder is missing.
pub fn fixtures(test: &str) -> Option<Vec<fixtures::Fixture>> {
    match fixtures::ensure() {
        Ok(dir) => Some(fixtures::read(&dir)),
        Err(why) => {
            not_run(test, &format!("test streams not made ({why})"));
            None
        }
    }
}

/// One stream of the shared set by name (`vp9-p0_64x64`, `av1-aom-64x64`), or None as
/// [`fixtures`].
pub fn fixture(test: &str, name: &str) -> Option<fixtures::Fixture> {
    let f = fixtures(test)?;
    Some(
        f.into_iter()
            .find(|f| f.name == name)
            .unwrap_or_else(|| panic!("no stream {name} in the fixtures list")),
    )
}

/// The JVT folder (DAEDALUS_VECTORS, else ../shared/vectors/h264-jvt), or None after
/// saying the test did not run.
pub fn jvt_vectors() -> Option<PathBuf> {
    let dir = std::env::var_os("DAEDALUS_VECTORS")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/vectors/h264-jvt")
        });
    if dir.join("md5.txt").exists() {
        Some(dir)
    } else {
        not_run(
            "this test",
            &format!(
                "no JVT vectors in {} (set DAEDALUS_VECTORS to the h264-jvt folder)",
                dir.display()
            ),
        );
        None
    }
}

/// The shared vectors folder `../shared/vectors/FOLDER` (`what` names it in the message),
/// or `None` when it is absent (NOT a pass; under CI a failure).
pub fn shared_vectors(folder: &str, what: &str) -> Option<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/vectors")
        .join(folder);
    if dir.join("md5.txt").exists() {
        Some(dir)
    } else {
        not_run(
            "this test",
            &format!("no {what} vectors in {}", dir.display()),
        );
        None
    }
}

/// The FRExt / professional-profile vectors folder (`../shared/vectors/h264-frext`), as
/// [`shared_vectors`].
pub fn frext_vectors() -> Option<PathBuf> {
    shared_vectors("h264-frext", "FRExt")
}

/// The shared HEVC vectors folder (`../shared/vectors/hevc`), as [`shared_vectors`].
pub fn hevc_vectors() -> Option<PathBuf> {
    shared_vectors("hevc", "HEVC")
}

/// One shared vector: its file name, its bytes and the MD5 md5.txt records.
pub struct Vector {
    pub name: String,
    pub data: Vec<u8>,
    pub md5: String,
}

/// The vectors of `FOLDER/md5.txt`, in its order, or None as [`shared_vectors`].
pub fn vector_list(folder: &str, what: &str) -> Option<Vec<Vector>> {
    let dir = shared_vectors(folder, what)?;
    let list = std::fs::read_to_string(dir.join("md5.txt")).unwrap();
    let v = list
        .lines()
        .filter_map(|l| l.split_once(char::is_whitespace))
        .map(|(md5, name)| {
            let name = name.trim().to_string();
            Vector {
                data: std::fs::read(dir.join(&name)).unwrap(),
                name,
                md5: md5.to_string(),
            }
        })
        .collect();
    Some(v)
}

/// The shared HEVC vectors, as [`vector_list`].
pub fn hevc_vector_list() -> Option<Vec<Vector>> {
    vector_list("hevc", "HEVC")
}

/// The MD5 `dir/md5.txt` records for `name`.
pub fn published_md5(dir: &Path, name: &str) -> String {
    let list = std::fs::read_to_string(dir.join("md5.txt")).unwrap();
    list.lines()
        .filter_map(|l| l.split_once(char::is_whitespace))
        .find(|(_, n)| n.trim() == name)
        .map(|(m, _)| m.to_string())
        .unwrap_or_else(|| panic!("{name} not in md5.txt"))
}

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

/// A temp folder for `tag`, or None (and a notice that `test` did not run) without ffmpeg.
pub fn ffmpeg_tmpdir(test: &str, tag: &str) -> Option<PathBuf> {
    if !have_ffmpeg() {
        not_run(test, "ffmpeg not found");
        return None;
    }
    Some(tmpdir(tag))
}

/// Runs `ffmpeg -v error -y -f lavfi -i <source> <args...> <out>` (output options in
/// `args`); panics with ffmpeg's messages if it fails.
pub fn ffmpeg_lavfi<S: AsRef<std::ffi::OsStr>>(
    source: &str,
    args: impl IntoIterator<Item = S>,
    out: &Path,
) {
    let o = Command::new("ffmpeg")
        .args(["-v", "error", "-y", "-f", "lavfi", "-i", source])
        .args(args)
        .arg(out)
        .output()
        .expect("run ffmpeg");
    assert!(
        o.status.success(),
        "ffmpeg failed to make {out:?} from {source}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
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
    let frames = frames.to_string();
    let params = format!("threads=1:{params}");
    let mut args = vec!["-frames:v", &frames, "-c:v", "libx264", "-pix_fmt", pix_fmt];
    args.extend_from_slice(extra);
    args.extend(["-x264-params", &params]);
    ffmpeg_lavfi(&format!("testsrc2=size={w}x{h}:rate=25"), args, &out);
    out
}

/// FFmpeg's own single-threaded decode of `file`: every frame, planar `pix_fmt`.
pub fn ffmpeg_raw(file: &Path, pix_fmt: &str) -> Vec<u8> {
    ffmpeg_decode(file, pix_fmt, None)
}

/// The first `frames` frames of [`ffmpeg_raw`].
pub fn ffmpeg_raw_frames(file: &Path, pix_fmt: &str, frames: usize) -> Vec<u8> {
    ffmpeg_decode(file, pix_fmt, Some(frames))
}

/// MD5 of FFmpeg's own single-threaded decode, every frame, planar `pix_fmt`.
pub fn ffmpeg_md5(file: &Path, pix_fmt: &str) -> (String, usize) {
    let raw = ffmpeg_raw(file, pix_fmt);
    (format!("{:x}", Md5::digest(&raw)), raw.len())
}

/// Whether `tool` can be started (`tool --help`).
pub fn have_tool(tool: &str) -> bool {
    Command::new(tool).arg("--help").output().is_ok()
}

/// [`have_tool`], else [`not_run`] for `test`.
pub fn need_tool(test: &str, tool: &str) -> bool {
    let ok = have_tool(tool);
    if !ok {
        not_run(test, &format!("{tool} not found"));
    }
    ok
}

/// [`have_ffmpeg`], else [`not_run`] for `test`.
pub fn need_ffmpeg(test: &str) -> bool {
    let ok = have_ffmpeg();
    if !ok {
        not_run(test, "ffmpeg not found");
    }
    ok
}

/// [`fixtures::aomenc`] into `dir/name.ivf`, for a test's own local stream.
pub fn aomenc(
    dir: &Path,
    name: &str,
    source: &str,
    frames: u32,
    pix_fmt: &str,
    args: &[&str],
) -> PathBuf {
    let out = dir.join(format!("{name}.ivf"));
    fixtures::aomenc(dir, name, source, &frames.to_string(), pix_fmt, args, &out);
    out
}

/// A fresh `codec` engine (strict or not) handed to `run` with the replay options and a
/// sink collecting every frame written: the summary and the frames, in display order.
pub fn replay_frames(
    codec: libdaedalus::Codec,
    strict: bool,
    run: impl FnOnce(
        &mut libdaedalus::Engine,
        &libdaedalus::replay::ReplayOptions,
        &mut dyn FnMut(&[u8]) -> std::io::Result<()>,
    )
        -> Result<libdaedalus::replay::ReplaySummary, libdaedalus::replay::ReplayError>,
) -> (libdaedalus::replay::ReplaySummary, Vec<Vec<u8>>) {
    let opts = libdaedalus::replay::ReplayOptions {
        format: None,
        engine: libdaedalus::EngineOptions::strict(strict),
    };
    let mut engine = libdaedalus::Engine::with_options(codec, opts.engine).unwrap();
    let mut frames = Vec::new();
    let mut sink = |f: &[u8]| {
        frames.push(f.to_vec());
        Ok(())
    };
    let sum = run(&mut engine, &opts, &mut sink).expect("replay");
    (sum, frames)
}

/// The MD5 of a whole stream replayed through a fresh `codec` engine (default CAPTURE
/// format), and the replay's summary.
pub fn replay_md5(
    codec: libdaedalus::Codec,
    data: &[u8],
    strict: bool,
) -> (String, libdaedalus::replay::ReplaySummary) {
    let mut md5 = Md5::new();
    let opts = libdaedalus::replay::ReplayOptions {
        format: None,
        engine: libdaedalus::EngineOptions::strict(strict),
    };
    let sum = libdaedalus::replay::replay(codec, data, &opts, |f| {
        md5.update(f);
        Ok(())
    })
    .expect("replay");
    (format!("{:x}", md5.finalize()), sum)
}
