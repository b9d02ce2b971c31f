//! Helpers shared by the request-api integration tests (each test uses some).

#![allow(dead_code)]

use std::process::Command;

/// Compiles the C `program` with `$CC` (default `cc`) in a fresh temporary
/// directory named after `tag`, runs it and returns what it printed. `what`
/// names the probe in the failure message.
pub fn c_probe_output(tag: &str, program: &str, what: &str) -> String {
    let dir = std::env::temp_dir().join(format!("request-api-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let src = dir.join("layout.c");
    let exe = dir.join("layout");
    std::fs::write(&src, program).unwrap();
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
    let st = Command::new(&cc)
        .arg(&src)
        .arg("-o")
        .arg(&exe)
        .status()
        .unwrap_or_else(|e| panic!("this test needs a C compiler ({cc}): {e}"));
    assert!(st.success(), "compiling {what} failed");
    let out = Command::new(&exe).output().unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    String::from_utf8(out.stdout).unwrap()
}

/// A fresh temporary directory for this test process, named after `tag`.
pub fn temp_dir(tag: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("request-api-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// `ffmpeg -v error -y -f lavfi -i SOURCE ARGS... OUT`; panics if it fails.
pub fn ffmpeg_lavfi(source: &str, args: &[&str], out: &std::path::Path) {
    let st = Command::new("ffmpeg")
        .args(["-v", "error", "-y", "-f", "lavfi", "-i", source])
        .args(args)
        .arg(out)
        .status()
        .expect("run ffmpeg (installed by scripts/setup-host)");
    assert!(st.success(), "ffmpeg could not make {}", out.display());
}

/// Says a test did not run because of `why`: a failure under CI=true (as CI services set
/// it), else a notice that this is NOT a pass (the caller then returns).
pub fn not_run(why: &str) {
    let ci = std::env::var("CI").is_ok_and(|v| v == "true" || v == "1");
    assert!(!ci, "test cannot run under CI=true: {why}");
    eprintln!("SKIPPED: {why}: this test checked nothing (NOT a pass)");
}
