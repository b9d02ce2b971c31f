//! Checks `daemon::proto` against `kmod/include/uapi/daedalus.h`: a C
//! program built with the host `cc` prints the header's sizes, field offsets,
//! constants and ioctl numbers, and each must equal the Rust side's value.

use daemon::proto::*;
use std::collections::BTreeMap;
use std::mem::{offset_of, size_of};
use std::path::PathBuf;
use std::process::Command;

/// For each (C struct, Rust type, fields): the C `printf` lines and the
/// Rust-side values, under the same keys.
macro_rules! layouts {
    ($( $c:literal => $r:ty { $($f:ident),* $(,)? } )*) => {{
        let mut c = String::new();
        let mut rust = BTreeMap::new();
        $(
            c.push_str(&format!(
                "printf(\"sizeof {0} %zu\\n\", sizeof(struct {0}));\n", $c));
            rust.insert(format!("sizeof {}", $c), size_of::<$r>() as u64);
            c.push_str(&format!(
                "printf(\"alignof {0} %zu\\n\", _Alignof(struct {0}));\n", $c));
            rust.insert(format!("alignof {}", $c), std::mem::align_of::<$r>() as u64);
            $(
                c.push_str(&format!(
                    "printf(\"offsetof {0}.{1} %zu\\n\", offsetof(struct {0}, {1}));\n",
                    $c, stringify!($f)));
                rust.insert(format!("offsetof {}.{}", $c, stringify!($f)),
                            offset_of!($r, $f) as u64);
            )*
        )*
        (c, rust)
    }};
}

macro_rules! consts {
    ($c:ident, $rust:ident; $( $name:literal => $v:expr ),* $(,)?) => {
        $(
            $c.push_str(&format!(
                "printf(\"const {0} %llu\\n\", (unsigned long long)({0}));\n", $name));
            $rust.insert(format!("const {}", $name), ($v) as u64);
        )*
    };
}

#[test]
fn rust_mirror_matches_the_c_header() {
    let (mut c, mut rust) = layouts! {
        "daedalus_msg_header" => MsgHeader { kind, size, version, ctx_id }
        "daedalus_plane" => Plane { bytesperline, sizeimage }
        "daedalus_ctrl" => Ctrl { id, offset, size, elems, elem_size, flags }
        "daedalus_buf_desc" => BufDesc { index, flags, timestamp, buf_id }
        "daedalus_job" => Job {
            hdr, job_id, codec, flags,
            src_fourcc, src_width, src_height, src_index, src_size, src_bytesused,
            src_timestamp, src_buf_id,
            dst_fourcc, dst_width, dst_height, dst_num_planes,
            colorspace, xfer_func, ycbcr_enc, quantization,
            dst_planes, dst_index, reserved0, dst_timestamp, dst_buf_id,
            num_ctrls, num_capture_bufs, ctrls, capture_bufs,
        }
        "daedalus_job_result" => JobResult { job_id, ctx_id, status, bytesused, reason }
        "daedalus_expbuf" => Expbuf { ctx_id, queue, index, plane, flags, fd, buf_id }
        "daedalus_info" => Info { version, max_msg_size, job_timeout_ms, reserved }
    };
    consts! { c, rust;
        "DAEDALUS_PROTO_VERSION" => PROTO_VERSION,
        "DAEDALUS_MAX_PLANES" => MAX_PLANES,
        "DAEDALUS_MAX_CTRLS" => MAX_CTRLS,
        "DAEDALUS_MAX_CAPTURE_BUFS" => MAX_CAPTURE_BUFS,
        "DAEDALUS_REASON_LEN" => REASON_LEN,
        "DAEDALUS_MSG_MAX_SIZE" => MSG_MAX_SIZE,
        "DAEDALUS_MSG_JOB" => MSG_JOB,
        "DAEDALUS_MSG_CTX_CLOSED" => MSG_CTX_CLOSED,
        "DAEDALUS_CODEC_H264" => CODEC_H264,
        "DAEDALUS_CODEC_HEVC" => CODEC_HEVC,
        "DAEDALUS_CODEC_VP8" => CODEC_VP8,
        "DAEDALUS_CODEC_VP9" => CODEC_VP9,
        "DAEDALUS_CODEC_AV1" => CODEC_AV1,
        "DAEDALUS_CODEC_MPEG2" => CODEC_MPEG2,
        "DAEDALUS_JOB_FL_HOLD_CAPTURE_BUF" => JOB_FL_HOLD_CAPTURE_BUF,
        "DAEDALUS_JOB_FL_DST_CONTINUED" => JOB_FL_DST_CONTINUED,
        "DAEDALUS_CTRL_FL_DYN_ARRAY" => CTRL_FL_DYN_ARRAY,
        "DAEDALUS_BUF_FL_DESTINATION" => BUF_FL_DESTINATION,
        "DAEDALUS_BUF_FL_QUEUED" => BUF_FL_QUEUED,
        "DAEDALUS_QUEUE_OUTPUT" => QUEUE_OUTPUT,
        "DAEDALUS_QUEUE_CAPTURE" => QUEUE_CAPTURE,
        "DAEDALUS_IOC_INFO" => IOC_INFO,
        "DAEDALUS_IOC_EXPBUF" => IOC_EXPBUF,
        "DAEDALUS_IOC_JOB_DONE" => IOC_JOB_DONE,
    }

    let header = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../kmod/include/uapi/daedalus.h")
        .canonicalize()
        .expect("kmod/include/uapi/daedalus.h exists");
    let program = format!(
        "#include <stddef.h>\n#include <stdio.h>\n#include \"{}\"\nint main(void)\n{{\n{}return 0;\n}}\n",
        header.display(),
        c
    );

    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("proto_layout");
    std::fs::create_dir_all(&dir).unwrap();
    let src = dir.join("layout.c");
    let exe = dir.join("layout");
    std::fs::write(&src, program).unwrap();
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
    let out = Command::new(&cc)
        .args(["-std=c11", "-Wall", "-Werror", "-Wpadded", "-o"])
        .arg(&exe)
        .arg(&src)
        .output()
        .unwrap_or_else(|e| panic!("running {cc}: {e}"));
    assert!(
        out.status.success(),
        "{cc} failed on the header:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let run = Command::new(&exe).output().unwrap();
    assert!(run.status.success());

    let mut from_c = BTreeMap::new();
    for line in String::from_utf8(run.stdout).unwrap().lines() {
        let (key, value) = line.rsplit_once(' ').unwrap();
        from_c.insert(key.to_string(), value.parse::<u64>().unwrap());
    }
    assert_eq!(from_c.len(), rust.len(), "every key printed once");
    let mismatches: Vec<_> = rust
        .iter()
        .filter(|(k, v)| from_c.get(*k) != Some(v))
        .map(|(k, v)| format!("{k}: rust {v}, C {:?}", from_c.get(k)))
        .collect();
    assert!(
        mismatches.is_empty(),
        "layout mismatches:\n{}",
        mismatches.join("\n")
    );
}
