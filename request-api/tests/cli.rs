//! daedalus-decode's error paths that need no device: each must fail with
//! exit status 1 and say what went wrong.

use std::process::Command;

fn run(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_daedalus-decode"))
        .args(args)
        .output()
        .expect("run daedalus-decode");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A tiny Annex B stream (one access unit delimiter) in a temp file named
/// after the test: enough to get past argument handling.
fn stream(test: &str) -> std::path::PathBuf {
    let p = std::env::temp_dir().join(format!(
        "daedalus-decode-cli-{}-{test}.264",
        std::process::id()
    ));
    std::fs::write(&p, [0u8, 0, 0, 1, 0x09, 0xf0]).unwrap();
    p
}

#[test]
fn missing_media_device_is_named() {
    let s = stream("missing_media_device_is_named");
    let (code, stdout, stderr) = run(&[
        s.to_str().unwrap(),
        "--device",
        "/nonexistent/media9",
        "--md5",
    ]);
    assert_eq!(code, 1, "stderr: {stderr}");
    assert!(stdout.is_empty(), "no MD5 line on failure: {stdout}");
    assert!(stderr.contains("/nonexistent/media9"), "stderr: {stderr}");
}

#[test]
fn vp9_and_av1_want_an_ivf_file() {
    let s = stream("vp9_and_av1_want_an_ivf_file");
    for (codec, what) in [
        ("vp9", "parsing the VP9 IVF stream"),
        ("av1", "parsing the AV1 IVF stream"),
    ] {
        let (code, stdout, stderr) = run(&[s.to_str().unwrap(), "--codec", codec, "--md5"]);
        assert_eq!(code, 1, "stderr: {stderr}");
        assert!(stdout.is_empty(), "no MD5 line on failure: {stdout}");
        assert!(stderr.contains(what), "stderr: {stderr}");
    }
}

#[test]
fn missing_dma_heap_is_named() {
    // The heap is opened when buffers are allocated, after the device is
    // found: with no device at all the device error comes first, so only
    // check that the options parse and the device error is reported.
    let s = stream("missing_dma_heap_is_named");
    let (code, _, stderr) = run(&[
        s.to_str().unwrap(),
        "--device",
        "/nonexistent/media9",
        "--memory",
        "dmabuf",
        "--dmabuf-from",
        "heap",
        "--dma-heap",
        "/nonexistent/heap",
    ]);
    assert_eq!(code, 1, "stderr: {stderr}");
    assert!(stderr.contains("/nonexistent/media9"), "stderr: {stderr}");
}

#[test]
fn unknown_memory_kind_is_a_usage_error() {
    let s = stream("unknown_memory_kind_is_a_usage_error");
    let (code, _, stderr) = run(&[s.to_str().unwrap(), "--memory", "userptr"]);
    assert_eq!(code, 2, "stderr: {stderr}");
}

#[test]
fn nv12_into_y4m_is_refused() {
    let s = stream("nv12_into_y4m_is_refused");
    let out = std::env::temp_dir().join("daedalus-decode-cli.y4m");
    let (code, _, stderr) = run(&[
        s.to_str().unwrap(),
        "--output",
        out.to_str().unwrap(),
        "--format",
        "nv12",
    ]);
    assert_eq!(code, 1);
    assert!(
        stderr.contains("--format nv12 cannot be written to a .y4m"),
        "stderr: {stderr}"
    );
}

#[test]
fn missing_input_file_is_named() {
    let (code, _, stderr) = run(&["/nonexistent/stream.264"]);
    assert_eq!(code, 1);
    assert!(
        stderr.contains("reading /nonexistent/stream.264"),
        "stderr: {stderr}"
    );
}

#[test]
fn zero_requests_is_a_usage_error() {
    let s = stream("zero_requests_is_a_usage_error");
    let (code, _, stderr) = run(&[s.to_str().unwrap(), "--requests", "0"]);
    assert_eq!(code, 2, "stderr: {stderr}");
}

#[test]
fn unknown_codec_is_a_usage_error() {
    let s = stream("unknown_codec_is_a_usage_error");
    for codec in ["mjpeg", "vp10"] {
        let (code, _, stderr) = run(&[s.to_str().unwrap(), "--codec", codec]);
        assert_eq!(code, 2, "--codec {codec}: stderr: {stderr}");
        assert!(
            stderr.contains("h264, hevc, vp8, vp9, av1, mpeg2"),
            "stderr: {stderr}"
        );
    }
}

#[test]
fn slice_mode_is_for_h264_and_hevc_only() {
    let s = stream("slice_mode_is_for_h264_and_hevc_only");
    for codec in ["vp9", "av1"] {
        let (code, stdout, stderr) = run(&[
            s.to_str().unwrap(),
            "--codec",
            codec,
            "--decode-mode",
            "slice",
            "--md5",
        ]);
        assert_eq!(code, 1, "stderr: {stderr}");
        assert!(stdout.is_empty(), "no MD5 line on failure: {stdout}");
        assert!(
            stderr.contains("--decode-mode slice is for H.264 and HEVC only"),
            "stderr: {stderr}"
        );
    }
    let (code, _, stderr) = run(&[s.to_str().unwrap(), "--decode-mode", "field"]);
    assert_eq!(code, 2, "stderr: {stderr}");
}

#[test]
fn start_code_none_is_for_hevc_only() {
    let s = stream("start_code_none_is_for_hevc_only");
    for codec in ["h264", "vp9"] {
        let (code, stdout, stderr) = run(&[
            s.to_str().unwrap(),
            "--codec",
            codec,
            "--start-code",
            "none",
            "--md5",
        ]);
        assert_eq!(code, 1, "stderr: {stderr}");
        assert!(stdout.is_empty(), "no MD5 line on failure: {stdout}");
        assert!(
            stderr.contains("--start-code none is for HEVC only"),
            "stderr: {stderr}"
        );
    }
    let (code, _, stderr) = run(&[s.to_str().unwrap(), "--start-code", "avcc"]);
    assert_eq!(code, 2, "stderr: {stderr}");
}
