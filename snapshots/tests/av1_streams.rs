//! insta snapshots of the AV1 builder's output on the repository's libaom
//! streams (tests/data/av1_*.ivf, see tests/data/README-vp9-av1.md), and an
//! independent check of the shown frames against ffprobe.
//!
//! Each request shows SEQUENCE (when it changes), FRAME (readable summary),
//! FILM_GRAIN and the TILE_GROUP_ENTRY array; `ctrl_md5` hashes the exact
//! kernel bytes of every control of the request.

use ctrls::av1::{Sequence, TileGroupEntry};
use ctrls::build::av1::{Av1Builder, Av1Event, Av1Request};
use ctrls::Control;
use serde::Serialize;

mod common;
use common::{
    assert_trace_headers, data_path, ename, ffprobe_frames, header_record, names, short_md5,
    snapshot_settings, IvfStream,
};

const STREAMS: [&str; 2] = ["av1_64x64.ivf", "av1_352x288_tiles.ivf"];

type Stream = IvfStream<ReqView>;

#[derive(Serialize)]
struct ReqView {
    n: u32,
    ts: u64,
    ivf: usize,
    bitstream: String,
    ctrl_md5: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    sequence: Option<SeqView>,
    /// `frame_type order_hint flags`.
    frame: String,
    /// `WxH upscaled W render WxH superres_denom`.
    size: String,
    /// `primary_ref_frame ref_frame_idx refresh order_hints`.
    refs: String,
    /// reference_frame_ts of the 8 slots.
    reference_frame_ts: String,
    /// `cols x rows, uniform, context_update_tile_id, tile_size_bytes, mi_col_starts, mi_row_starts`.
    tile_info: String,
    /// `offset+size@row,col` per TILE_GROUP_ENTRY.
    tiles: Vec<String>,
    /// `base_q_idx dc/ac deltas qm flags delta_q_res`.
    quant: String,
    /// `levels sharpness flags ref_deltas mode_deltas delta_lf_res`.
    lf: String,
    /// `damping_minus_3 bits y_pri/y_sec/uv_pri/uv_sec`.
    cdef: String,
    /// `flags types sizes unit_shift uv_shift`.
    lr: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    seg: Option<String>,
    /// Non-identity global motion per reference.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    gm: Vec<String>,
    /// `interpolation_filter tx_mode skip_mode_frame`.
    misc: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    film_grain: Option<String>,
}

#[derive(Serialize)]
struct SeqView {
    flags: String,
    profile: u8,
    order_hint_bits: u8,
    bit_depth: u8,
    max_size: String,
}

fn seq_view(s: &Sequence) -> SeqView {
    SeqView {
        flags: names(s.flags.iter_names()),
        profile: s.seq_profile,
        order_hint_bits: s.order_hint_bits,
        bit_depth: s.bit_depth,
        max_size: format!(
            "{}x{}",
            s.max_frame_width_minus_1 as u32 + 1,
            s.max_frame_height_minus_1 as u32 + 1
        ),
    }
}

fn req_view(r: &Av1Request, prev_seq: Option<&Sequence>) -> ReqView {
    let f = &r.frame;
    let mut all = Vec::new();
    all.extend_from_slice(r.sequence.to_bytes());
    all.extend_from_slice(f.to_bytes());
    if let Some(g) = &r.film_grain {
        all.extend_from_slice(g.to_bytes());
    }
    for t in &r.tiles {
        all.extend_from_slice(t.to_bytes());
    }
    let t = &f.tile_info;
    let (cols, rows) = (t.tile_cols as usize, t.tile_rows as usize);
    let q = &f.quantization;
    let lf = &f.loop_filter;
    let c = &f.cdef;
    let lr = &f.loop_restoration;
    let nbits = 1usize << c.bits;
    ReqView {
        n: r.decode_index,
        ts: r.timestamp,
        ivf: r.ivf_index,
        bitstream: format!("len={} md5={}", r.bitstream.len(), short_md5(&r.bitstream)),
        ctrl_md5: short_md5(&all),
        sequence: (prev_seq != Some(&r.sequence)).then(|| seq_view(&r.sequence)),
        frame: format!(
            "{} {} {}",
            ename(f.frame_type()),
            f.order_hint,
            names(f.flags.iter_names())
        ),
        size: format!(
            "{}x{} upscaled {} render {}x{} superres_denom {}",
            f.frame_width_minus_1 + 1,
            f.frame_height_minus_1 + 1,
            f.upscaled_width,
            f.render_width_minus_1 as u32 + 1,
            f.render_height_minus_1 as u32 + 1,
            f.superres_denom
        ),
        refs: format!(
            "primary {} idx {:?} refresh {:08b} hints {:?}",
            f.primary_ref_frame, f.ref_frame_idx, f.refresh_frame_flags, f.order_hints
        ),
        reference_frame_ts: format!("{:?}", f.reference_frame_ts),
        tile_info: format!(
            "{}x{} {} ctx {} size_bytes {} cols {:?} rows {:?}",
            cols,
            rows,
            names(t.flags.iter_names()),
            t.context_update_tile_id,
            t.tile_size_bytes,
            &t.mi_col_starts[..=cols.min(64)],
            &t.mi_row_starts[..=rows.min(64)]
        ),
        tiles: r
            .tiles
            .iter()
            .map(|e: &TileGroupEntry| {
                format!(
                    "{}+{}@{},{}",
                    e.tile_offset, e.tile_size, e.tile_row, e.tile_col
                )
            })
            .collect(),
        quant: format!(
            "{} y_dc {} u {} {} v {} {} qm {} {} {} {} res {}",
            q.base_q_idx,
            q.delta_q_y_dc,
            q.delta_q_u_dc,
            q.delta_q_u_ac,
            q.delta_q_v_dc,
            q.delta_q_v_ac,
            q.qm_y,
            q.qm_u,
            q.qm_v,
            names(q.flags.iter_names()),
            q.delta_q_res
        ),
        lf: format!(
            "{:?} {} {} {:?} {:?} {}",
            lf.level,
            lf.sharpness,
            names(lf.flags.iter_names()),
            lf.ref_deltas,
            lf.mode_deltas,
            lf.delta_lf_res
        ),
        cdef: format!(
            "{} {} {:?}/{:?}/{:?}/{:?}",
            c.damping_minus_3,
            c.bits,
            &c.y_pri_strength[..nbits.min(8)],
            &c.y_sec_strength[..nbits.min(8)],
            &c.uv_pri_strength[..nbits.min(8)],
            &c.uv_sec_strength[..nbits.min(8)]
        ),
        lr: format!(
            "{} {}/{}/{} {:?} {} {}",
            names(lr.flags.iter_names()),
            ename(f.frame_restoration_type(0)),
            ename(f.frame_restoration_type(1)),
            ename(f.frame_restoration_type(2)),
            lr.loop_restoration_size,
            lr.lr_unit_shift,
            lr.lr_uv_shift
        ),
        seg: (!f.segmentation.flags.is_empty()).then(|| {
            let s = &f.segmentation;
            format!(
                "{} last {} enabled {:?} data {:?}",
                names(s.flags.iter_names()),
                s.last_active_seg_id,
                s.feature_enabled,
                s.feature_data
            )
        }),
        gm: (1..8)
            .filter(|&i| f.global_motion.r#type[i] != 0)
            .map(|i| {
                format!(
                    "{i}: {} {} {:?}",
                    ename(f.warp_model(i)),
                    names(f.global_motion.flags[i].iter_names()),
                    f.global_motion.params[i]
                )
            })
            .collect(),
        misc: format!(
            "{} {} skip_mode_frame {:?} gm_invalid {:08b}",
            ename(f.interpolation_filter()),
            ename(f.tx_mode()),
            f.skip_mode_frame,
            f.global_motion.invalid
        ),
        film_grain: r.film_grain.as_ref().map(|g| {
            format!(
                "{} seed {} y_points {} cb {} cr {}",
                names(g.flags.iter_names()),
                g.grain_seed,
                g.num_y_points,
                g.num_cb_points,
                g.num_cr_points
            )
        }),
    }
}

fn build(name: &str) -> Vec<Av1Event> {
    let data = std::fs::read(data_path(name)).unwrap();
    Av1Builder::build_ivf(&data).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn view(events: &[Av1Event]) -> Stream {
    let mut s = Stream::new();
    let mut prev: Option<Sequence> = None;
    for e in events {
        match e {
            Av1Event::Decode(r) => {
                s.decode(r.display.shown, req_view(r, prev.as_ref()));
                prev = Some(r.sequence);
            }
            Av1Event::ShowExisting {
                timestamp,
                slot,
                key_frame,
                ..
            } => {
                s.show_existing(format!("ts {timestamp} slot {slot} key {key_frame}"));
            }
        }
    }
    s
}

#[test]
fn av1_snapshots() {
    for name in STREAMS {
        let events = build(name);
        for e in &events {
            if let Av1Event::Decode(r) = e {
                let n = r.decode_index;
                r.sequence
                    .validate()
                    .unwrap_or_else(|err| panic!("{name} request {n}: {err}"));
                r.frame
                    .validate()
                    .unwrap_or_else(|err| panic!("{name} request {n}: {err}"));
                for t in &r.tiles {
                    t.validate()
                        .unwrap_or_else(|err| panic!("{name} request {n}: {err}"));
                    assert!(
                        (t.tile_offset + t.tile_size) as usize <= r.bitstream.len(),
                        "{name} request {n}: tile beyond OUTPUT"
                    );
                }
            }
        }
        snapshot_settings()
            .bind(|| insta::assert_yaml_snapshot!(name.replace('.', "_"), view(&events)));
    }
}

/// ffprobe (libdav1d / libaom decoder) lists the displayed frames: their
/// number, key flag and size must equal our shown requests plus
/// show_existing events, in order.
#[test]
fn av1_shown_frames_match_ffprobe() {
    for name in STREAMS {
        let path = data_path(name);
        let events = build(name);
        let theirs = ffprobe_frames(&path);
        let mut sizes = std::collections::HashMap::new();
        let ours: Vec<String> = events
            .iter()
            .filter_map(|e| match e {
                Av1Event::Decode(r) => {
                    let key = r.frame.frame_type == 0 && r.display.shown;
                    sizes.insert(r.timestamp, (r.display.width, r.display.height));
                    r.display.shown.then(|| {
                        format!("{},{},{}", u8::from(key), r.display.width, r.display.height)
                    })
                }
                Av1Event::ShowExisting {
                    timestamp,
                    key_frame,
                    ..
                } => {
                    let (w, h) = sizes[timestamp];
                    Some(format!("{},{w},{h}", u8::from(*key_frame)))
                }
            })
            .collect();
        assert_eq!(ours, theirs, "{name}: shown frames differ from ffprobe");
        assert!(
            events
                .iter()
                .any(|e| matches!(e, Av1Event::Decode(r) if !r.display.shown)),
            "{name}: expected hidden frames"
        );
    }
}

/// A real stream whose first temporal unit is cut short inside its frame OBU
/// (IVF size field shrunk, file ended there): a typed error, never a panic,
/// at or after the temporal unit's offset.
#[test]
fn av1_truncated_temporal_unit_is_an_error() {
    for cut in [3usize, 20, 200] {
        let mut data = std::fs::read(data_path(STREAMS[0])).unwrap();
        data[32..36].copy_from_slice(&(cut as u32).to_le_bytes());
        data.truncate(44 + cut);
        let err = Av1Builder::build_ivf(&data).unwrap_err();
        assert!(
            (44..44 + cut).contains(&err.offset()),
            "cut {cut}: {err} (offset {})",
            err.offset()
        );
    }
    // Garbage in the second temporal unit: error inside it.
    let mut data = std::fs::read(data_path(STREAMS[0])).unwrap();
    let first = u32::from_le_bytes(data[32..36].try_into().unwrap()) as usize;
    let second = 44 + first + 12;
    let len = u32::from_le_bytes(data[second - 12..second - 8].try_into().unwrap()) as usize;
    for b in &mut data[second..second + 4] {
        *b = 0xff;
    }
    let err = Av1Builder::build_ivf(&data).unwrap_err();
    assert!((second..second + len).contains(&err.offset()), "{err}");
}

/// Per frame header: show_existing_frame, show_frame, order_hint,
/// refresh_frame_flags (when coded), base_q_idx and loop_filter_level[0..1]
/// (when coded) equal what FFmpeg's CBS parser reads.
#[test]
fn av1_headers_match_trace_headers() {
    let wanted = [
        "show_existing_frame",
        "show_frame",
        "order_hint",
        "refresh_frame_flags",
        "base_q_idx",
        "loop_filter_level[0]",
        "loop_filter_level[1]",
        // cdef_bits is only coded when CDEF is on: not compared.
    ];
    for name in STREAMS {
        let ours: Vec<Vec<(String, i64)>> = build(name)
            .iter()
            .map(|e| match e {
                Av1Event::ShowExisting { .. } => header_record(None),
                Av1Event::Decode(r) => {
                    let f = &r.frame;
                    let mut v = header_record(Some(r.display.shown));
                    v.push(("order_hint".into(), i64::from(f.order_hint)));
                    // Not coded for a shown key frame (implied 0xff).
                    let shown_key = f.frame_type == 0 && r.display.shown;
                    if !shown_key {
                        v.push((
                            "refresh_frame_flags".into(),
                            i64::from(f.refresh_frame_flags),
                        ));
                    }
                    v.push(("base_q_idx".into(), i64::from(f.quantization.base_q_idx)));
                    // loop_filter_params() is not coded with allow_intrabc.
                    if !f.flags.contains(ctrls::av1::FrameFlags::ALLOW_INTRABC) {
                        v.push((
                            "loop_filter_level[0]".into(),
                            i64::from(f.loop_filter.level[0]),
                        ));
                        v.push((
                            "loop_filter_level[1]".into(),
                            i64::from(f.loop_filter.level[1]),
                        ));
                    }
                    v
                }
            })
            .collect();
        assert_trace_headers(name, &wanted, ours);
    }
}
