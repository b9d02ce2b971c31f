//! insta snapshots of the VP9 builder's output on the repository's libvpx
//! streams (tests/data/vp9_*.ivf, see tests/data/README-vp9-av1.md), and an
//! independent check of the frame split and display events against FFmpeg.
//!
//! Each request shows the VP9_FRAME control readably (flags by name, only
//! non-default parts); `ctrl_md5` hashes its exact kernel bytes.

use std::process::Command;

use ctrls::build::vp9::{Vp9Builder, Vp9Event, Vp9Request};
use ctrls::control::RawEnum;
use ctrls::Control;
use md5::{Digest, Md5};
use serde::Serialize;

mod common;
use common::{
    assert_trace_headers, data_path, ename, ffprobe_frames, header_record, hex, names, run,
    short_md5, snapshot_settings, IvfStream,
};

const STREAMS: [&str; 2] = ["vp9_64x64_arf.ivf", "vp9_352x288_arf.ivf"];

type Stream = IvfStream<ReqView>;

#[derive(Serialize)]
struct ReqView {
    n: u32,
    ts: u64,
    ivf: usize,
    /// `len=<bytes> md5=<prefix>` of the OUTPUT buffer.
    bitstream: String,
    ctrl_md5: String,
    flags: String,
    /// `WxH render WxH profile bit_depth`.
    size: String,
    /// `uncompressed compressed` header sizes.
    hdr_sizes: String,
    /// `last golden alt` timestamps and sign bias names.
    #[serde(skip_serializing_if = "Option::is_none")]
    refs: Option<String>,
    refresh: String,
    /// `base_q_idx y_dc uv_dc uv_ac`.
    quant: String,
    /// `level sharpness flags ref_deltas mode_deltas`.
    lf: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    seg: Option<String>,
    /// COMPRESSED_HDR: tx_mode and the number of coded updates per group.
    compressed: String,
    /// `reset_frame_context frame_context_idx interpolation_filter tile_cols_log2 tile_rows_log2 reference_mode`.
    misc: String,
}

fn nz(b: &[u8]) -> usize {
    b.iter().filter(|&&x| x != 0).count()
}

fn comp_view(c: &ctrls::vp9::CompressedHdr) -> String {
    let m = &c.mv;
    let groups: [(&str, usize); 15] = [
        (
            "tx",
            nz(c.tx8.as_flattened()) + nz(c.tx16.as_flattened()) + nz(c.tx32.as_flattened()),
        ),
        (
            "coef",
            nz(c.coef
                .as_flattened()
                .as_flattened()
                .as_flattened()
                .as_flattened()
                .as_flattened()),
        ),
        ("skip", nz(&c.skip)),
        ("inter_mode", nz(c.inter_mode.as_flattened())),
        ("interp_filter", nz(c.interp_filter.as_flattened())),
        ("is_inter", nz(&c.is_inter)),
        ("comp_mode", nz(&c.comp_mode)),
        ("single_ref", nz(c.single_ref.as_flattened())),
        ("comp_ref", nz(&c.comp_ref)),
        ("y_mode", nz(c.y_mode.as_flattened())),
        ("uv_mode", nz(c.uv_mode.as_flattened())),
        ("partition", nz(c.partition.as_flattened())),
        (
            "mv",
            nz(&m.sign)
                + nz(m.classes.as_flattened())
                + nz(&m.class0_bit)
                + nz(m.bits.as_flattened())
                + nz(m.class0_fr.as_flattened().as_flattened())
                + nz(m.fr.as_flattened()),
        ),
        ("mv_joint", nz(&c.mv.joint)),
        ("mv_hp", nz(&c.mv.class0_hp) + nz(&c.mv.hp)),
    ];
    let upd: Vec<String> = groups
        .iter()
        .filter(|(_, n)| *n > 0)
        .map(|(g, n)| format!("{g} {n}"))
        .collect();
    format!(
        "{}; updates: {}",
        ename(c.tx_mode()),
        if upd.is_empty() {
            "-".into()
        } else {
            upd.join(", ")
        }
    )
}

fn req_view(r: &Vp9Request) -> ReqView {
    let f = &r.frame;
    let enum_name = |v: Result<&'static str, ctrls::CtrlError>| v.unwrap_or("?");
    ReqView {
        n: r.decode_index,
        ts: r.timestamp,
        ivf: r.ivf_index,
        bitstream: format!("len={} md5={}", r.bitstream.len(), short_md5(&r.bitstream)),
        ctrl_md5: short_md5(&[f.to_bytes(), r.compressed_hdr.to_bytes()].concat()),
        compressed: comp_view(&r.compressed_hdr),
        flags: names(f.flags.iter_names()),
        size: format!(
            "{}x{} render {}x{} profile {} {}bit",
            f.frame_width_minus_1 as u32 + 1,
            f.frame_height_minus_1 as u32 + 1,
            f.render_width_minus_1 as u32 + 1,
            f.render_height_minus_1 as u32 + 1,
            f.profile,
            f.bit_depth
        ),
        hdr_sizes: format!(
            "{} {}",
            f.uncompressed_header_size, f.compressed_header_size
        ),
        refs: (!f.is_intra()).then(|| {
            format!(
                "{} {} {} bias {}",
                f.last_frame_ts,
                f.golden_frame_ts,
                f.alt_frame_ts,
                names(f.ref_frame_sign_bias.iter_names())
            )
        }),
        refresh: format!("{:08b}", r.refresh_frame_flags),
        quant: format!(
            "{} {} {} {}",
            f.quant.base_q_idx, f.quant.delta_q_y_dc, f.quant.delta_q_uv_dc, f.quant.delta_q_uv_ac
        ),
        lf: format!(
            "{} {} {} {:?} {:?}",
            f.lf.level,
            f.lf.sharpness,
            names(f.lf.flags.iter_names()),
            f.lf.ref_deltas,
            f.lf.mode_deltas
        ),
        seg: (!f.seg.flags.is_empty()).then(|| {
            format!(
                "{} tree {:?} pred {:?} enabled {:?} data {:?}",
                names(f.seg.flags.iter_names()),
                f.seg.tree_probs,
                f.seg.pred_probs,
                f.seg.feature_enabled.map(|e| e.bits()),
                f.seg.feature_data
            )
        }),
        misc: format!(
            "{} {} {} {} {} {}",
            enum_name(f.reset_frame_context().map(RawEnum::name)),
            f.frame_context_idx,
            enum_name(f.interpolation_filter().map(RawEnum::name)),
            f.tile_cols_log2,
            f.tile_rows_log2,
            enum_name(f.reference_mode().map(RawEnum::name)),
        ),
    }
}

fn build(name: &str) -> Vec<Vp9Event> {
    let data = std::fs::read(data_path(name)).unwrap();
    Vp9Builder::build_ivf(&data).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn view(events: &[Vp9Event]) -> Stream {
    let mut s = Stream::new();
    for e in events {
        match e {
            Vp9Event::Decode(r) => {
                s.decode(r.display.shown, req_view(r));
            }
            Vp9Event::ShowExisting {
                timestamp, slot, ..
            } => {
                s.show_existing(format!("ts {timestamp} slot {slot}"));
            }
        }
    }
    s
}

#[test]
fn vp9_snapshots() {
    for name in STREAMS {
        let events = build(name);
        for e in &events {
            if let Vp9Event::Decode(r) = e {
                r.frame
                    .validate()
                    .unwrap_or_else(|err| panic!("{name} request {}: {err}", r.decode_index));
            }
        }
        snapshot_settings()
            .bind(|| insta::assert_yaml_snapshot!(name.replace('.', "_"), view(&events)));
    }
}

/// FFmpeg's vp9_superframe_split bitstream filter splits the stream into
/// coded frames (hidden and show_existing ones included); its per-packet size
/// and MD5 must equal our frames' OUTPUT bytes, in order. ffprobe's decoded
/// frames (key flag, size) must equal our shown frames + show_existing events.
#[test]
fn vp9_frames_match_ffmpeg() {
    for name in STREAMS {
        let path = data_path(name);
        let events = build(name);

        let split = run(Command::new("ffmpeg")
            .args(["-v", "error", "-i"])
            .arg(&path)
            .args([
                "-c",
                "copy",
                "-bsf:v",
                "vp9_superframe_split",
                "-f",
                "framemd5",
                "-",
            ]));
        let theirs: Vec<(usize, String)> = split
            .lines()
            .filter(|l| !l.starts_with('#'))
            .map(|l| {
                let c: Vec<&str> = l.split(',').map(str::trim).collect();
                (c[4].parse().unwrap(), c[5].to_string())
            })
            .collect();
        let data = std::fs::read(&path).unwrap();
        let ours: Vec<(usize, String)> = events
            .iter()
            .map(|e| match e {
                Vp9Event::Decode(r) => (r.bitstream.len(), hex(&Md5::digest(&r.bitstream))),
                Vp9Event::ShowExisting {
                    stream_offset,
                    size,
                    ..
                } => {
                    let b = &data[*stream_offset..*stream_offset + *size];
                    (b.len(), hex(&Md5::digest(b)))
                }
            })
            .collect();
        assert_eq!(
            ours, theirs,
            "{name}: frame split differs from vp9_superframe_split"
        );
        assert!(
            events
                .iter()
                .any(|e| matches!(e, Vp9Event::Decode(r) if !r.display.shown)),
            "{name}: expected hidden frames"
        );

        let theirs = ffprobe_frames(&path);
        let mut slots_key = std::collections::HashMap::new();
        let ours: Vec<String> = events
            .iter()
            .filter_map(|e| match e {
                Vp9Event::Decode(r) => {
                    let key = r.frame.flags.contains(ctrls::vp9::FrameFlags::KEY_FRAME);
                    slots_key.insert(r.timestamp, (r.display.width, r.display.height));
                    r.display.shown.then(|| {
                        format!("{},{},{}", u8::from(key), r.display.width, r.display.height)
                    })
                }
                Vp9Event::ShowExisting { timestamp, .. } => {
                    let (w, h) = slots_key[timestamp];
                    Some(format!("0,{w},{h}"))
                }
            })
            .collect();
        assert_eq!(ours, theirs, "{name}: shown frames differ from ffprobe");
    }
}

/// A real stream whose first IVF frame is cut short (its size field shrunk
/// to 8 bytes and the file ended there): a typed parse error at the frame's
/// offset (44 = 32-byte file header + 12-byte frame header).
#[test]
fn vp9_truncated_frame_is_an_error() {
    let mut data = std::fs::read(data_path(STREAMS[0])).unwrap();
    data[32..36].copy_from_slice(&8u32.to_le_bytes());
    data.truncate(44 + 8);
    let err = Vp9Builder::build_ivf(&data).unwrap_err();
    assert!(
        matches!(err, ctrls::build::vp9::Vp9BuildError::Parse { .. }),
        "{err}"
    );
    assert_eq!(err.offset(), 44, "{err}");
    // Garbage after a valid key frame: error at the garbage frame's offset.
    let mut data = std::fs::read(data_path(STREAMS[0])).unwrap();
    let first = u32::from_le_bytes(data[32..36].try_into().unwrap()) as usize;
    let second = 44 + first;
    for b in &mut data[second + 12..second + 20] {
        *b = 0xff;
    }
    let err = Vp9Builder::build_ivf(&data).unwrap_err();
    assert_eq!(err.offset(), second + 12, "{err}");
}

/// Per frame: show_existing_frame, show_frame, refresh_frame_flags (not
/// coded for key frames), loop_filter_level, base_q_idx and the compressed
/// header size equal what FFmpeg's CBS parser reads.
#[test]
fn vp9_headers_match_trace_headers() {
    let wanted = [
        "show_existing_frame",
        "show_frame",
        "refresh_frame_flags",
        "loop_filter_level",
        "base_q_idx",
        "header_size_in_bytes",
    ];
    for name in STREAMS {
        let ours: Vec<Vec<(String, i64)>> = build(name)
            .iter()
            .map(|e| match e {
                Vp9Event::ShowExisting { .. } => header_record(None),
                Vp9Event::Decode(r) => {
                    let f = &r.frame;
                    let mut v = header_record(Some(r.display.shown));
                    if !f.flags.contains(ctrls::vp9::FrameFlags::KEY_FRAME) {
                        v.push((
                            "refresh_frame_flags".into(),
                            i64::from(r.refresh_frame_flags),
                        ));
                    }
                    v.push(("loop_filter_level".into(), i64::from(f.lf.level)));
                    v.push(("base_q_idx".into(), i64::from(f.quant.base_q_idx)));
                    v.push((
                        "header_size_in_bytes".into(),
                        i64::from(f.compressed_header_size),
                    ));
                    v
                }
            })
            .collect();
        assert_trace_headers(name, &wanted, ours);
    }
}
