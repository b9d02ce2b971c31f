//! Seed inputs from real streams (the snapshot tests' streams and a few
//! conformance vectors): for each stream its first pictures as the client
//! library would send them, as an engine input, a serve-loop input and single
//! job messages. `cargo run -p daemon --example fuzz-seeds OUT_DIR` writes
//! them as the fuzz targets' first corpora (`OUT_DIR/engine_<codec>/`,
//! `OUT_DIR/serve/`, `OUT_DIR/proto/`).

use std::path::{Path, PathBuf};

use ctrls::source::CodedPicture;
use ctrls::{CaptureFormat, Codec, RawControl};
use libdaedalus::replay::{self, Sticky};
use zerocopy::FromZeros;

use super::engine::{self, Record};
use crate::proto::{self, Job};

/// Pictures per seed.
const PICTURES: usize = 6;

/// The job message the module would send for `p` with the context's
/// current controls: OUTPUT buffer 0, CAPTURE buffer `dst` (NV12, one plane).
fn job_message(codec: Codec, n: u64, p: &CodedPicture, controls: &[RawControl<'_>]) -> Vec<u8> {
    let (w, h) = (p.info.coded_width, p.info.coded_height);
    let format = CaptureFormat::default_for(p.info.bit_depth);
    let layout = format.plane_layout(w, h, format.min_stride(w));
    let dst = (n % 8) as u32;
    let mut j = Job::new_zeroed();
    j.hdr.ctx_id = 1;
    j.job_id = n + 1;
    j.codec = codec.proto_id();
    if p.holds_capture() {
        j.flags = proto::JOB_FL_HOLD_CAPTURE_BUF;
    }
    j.src_fourcc = u32::from_le_bytes(codec.fourcc());
    j.src_width = w;
    j.src_height = h;
    j.src_size = 1 << 20;
    j.src_bytesused = p.bitstream.len() as u32;
    j.src_timestamp = p.timestamp;
    j.src_buf_id = 1000 + n;
    j.dst_fourcc = format.fourcc_u32();
    j.dst_width = w;
    j.dst_height = h;
    j.dst_num_planes = layout.len() as u32;
    for (i, &(stride, size)) in layout.iter().enumerate() {
        j.dst_planes[i] = proto::Plane {
            bytesperline: stride as u32,
            sizeimage: size as u32,
        };
    }
    j.dst_index = dst;
    j.dst_timestamp = p.timestamp;
    j.dst_buf_id = u64::from(dst) + 1;
    proto::encode_job(j, controls).expect("a job message")
}

/// One stream's seeds.
pub struct Seed {
    pub codec: Codec,
    /// The stream's file name.
    pub name: String,
    /// An input of the codec's engine target.
    pub engine: Vec<u8>,
    /// An input of the serve target.
    pub serve: Vec<u8>,
    /// Each picture's job message (inputs of the proto target).
    pub messages: Vec<Vec<u8>>,
}

/// The first pictures of `data`, a `codec` stream named `name`.
pub fn seed(codec: Codec, name: &str, data: &[u8]) -> Result<Seed, String> {
    let mut src = ctrls::source::open(codec, data).map_err(|e| e.0)?;
    let modes = replay::mode_payloads(src.as_ref());
    let mut sticky = Sticky::default();
    sticky.set(&modes);
    let mut out = Seed {
        codec,
        name: name.to_string(),
        engine: Vec::new(),
        serve: Vec::new(),
        messages: Vec::new(),
    };
    while out.messages.len() < PICTURES {
        let Some(p) = src.next_picture().map_err(|e| e.0)? else {
            break;
        };
        let mut controls: Vec<(u32, &[u8])> = Vec::new();
        if out.messages.is_empty() {
            let format = CaptureFormat::default_for(p.info.bit_depth);
            engine::put_header(
                &mut out.engine,
                p.info.coded_width,
                p.info.coded_height,
                format,
            );
            // The mode controls travel in the first record.
            controls.extend(modes.iter().map(|m| (m.id, m.bytes.as_slice())));
        }
        controls.extend(p.controls.iter().map(|c| (c.id, c.bytes.as_slice())));
        engine::put_record(
            &mut out.engine,
            &Record {
                timestamp: p.timestamp,
                hold: p.holds_capture(),
                controls,
                bitstream: &p.bitstream,
            },
        );
        sticky.set(&p.controls);
        let msg = job_message(codec, out.messages.len() as u64, &p, &sticky.raw());
        super::serve::put_record(&mut out.serve, &msg, &p.bitstream);
        out.messages.push(msg);
    }
    Ok(out)
}

/// The streams seeds are made from, under the repository `root`.
pub fn streams(root: &Path) -> Vec<(Codec, PathBuf)> {
    let data = root.join("snapshots/tests/data");
    let vectors = root.join("../shared/vectors");
    vec![
        (Codec::H264, data.join("x264_high_bframes.264")),
        (Codec::H264, data.join("x264_mbaff.264")),
        (Codec::H264, vectors.join("h264-jvt/SVA_BA2_D.264")),
        (Codec::Hevc, vectors.join("hevc/64x64-I-P-B-P.h265")),
        (Codec::Hevc, vectors.join("hevc/64x64-I-P.h265")),
        (
            Codec::Vp8,
            vectors.join("vp8/vp80-00-comprehensive-017.ivf"),
        ),
        (
            Codec::Vp8,
            vectors.join("vp8/vp80-00-comprehensive-016.ivf"),
        ),
        (Codec::Vp9, data.join("vp9_64x64_arf.ivf")),
        (Codec::Vp9, data.join("vp9_352x288_arf.ivf")),
        (Codec::Av1, data.join("av1_64x64.ivf")),
        (Codec::Av1, data.join("av1_352x288_tiles.ivf")),
        (Codec::Mpeg2, vectors.join("mpeg2/interlaced_12x12.m2v")),
        (Codec::Mpeg2, vectors.join("mpeg2/tcela-17-dots.m2v")),
    ]
}

/// The corpus directory of the engine target of `codec`.
pub fn engine_target(codec: Codec) -> String {
    format!("engine_{}", format!("{codec:?}").to_lowercase())
}

/// Writes `s` into the corpora under `out`.
pub fn write(out: &Path, s: &Seed) -> std::io::Result<()> {
    let put = |dir: &str, name: &str, bytes: &[u8]| -> std::io::Result<()> {
        let dir = out.join(dir);
        std::fs::create_dir_all(&dir)?;
        std::fs::write(dir.join(name), bytes)
    };
    put(&engine_target(s.codec), &s.name, &s.engine)?;
    put("serve", &s.name, &s.serve)?;
    for (i, m) in s.messages.iter().enumerate() {
        put("proto", &format!("{}-{i}", s.name), m)?;
    }
    Ok(())
}
