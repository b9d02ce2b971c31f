//! Replay: build the controls from a stream exactly as a stateless client would (the
//! `ctrls::build` builders), run every request through the [`Engine`] into its own
//! CAPTURE-like buffer, and emit the frames in display order, cropped, as planar 4:2:0
//! (I420, or yuv420p10le for >8-bit streams).

use std::collections::HashMap;

use ctrls::build::h264::{display_order, H264Builder, H264Picture};

use crate::codec::h264::H264Controls;
use crate::dst::{CaptureFormat, OwnedBuffer};
use crate::engine::Engine;
use crate::request::{EngineError, EngineOptions, Request};
use ctrls::{Codec, ControlSet};

/// Replay settings.
#[derive(Debug, Clone, Copy, Default)]
pub struct ReplayOptions {
    /// CAPTURE format; `None`: NV12 for 8-bit streams, P010 for deeper ones.
    pub format: Option<CaptureFormat>,
    pub engine: EngineOptions,
}

/// What a replay did.
#[derive(Debug, Default, Clone)]
pub struct ReplaySummary {
    /// Requests (pictures or fields) submitted.
    pub requests: usize,
    /// Frames written.
    pub frames: usize,
    /// Requests that failed (their CAPTURE buffer is still output, as a client would).
    pub failed: Vec<(u32, String)>,
    /// Control/bitstream disagreements reported (non-strict mode).
    pub warnings: usize,
}

/// Replay failures that stop the whole run.
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    #[error("building controls: {0}")]
    Build(String),
    #[error("engine: {0}")]
    Engine(#[from] EngineError),
    #[error("output: {0}")]
    Io(#[from] std::io::Error),
}

/// Controls of one builder picture, as a client would set them.
pub fn h264_controls(p: &H264Picture) -> H264Controls {
    H264Controls {
        sps: p.sps,
        pps: p.pps,
        scaling_matrix: p.scaling_matrix,
        decode_params: p.decode_params,
        slice_params: p.slice_params.clone(),
        pred_weights: p.pred_weights,
        ..H264Controls::default()
    }
}

/// Replays an H.264 Annex B stream; `sink` receives each output frame's planar bytes in
/// display order.
pub fn replay_h264(
    data: &[u8],
    opts: &ReplayOptions,
    sink: impl FnMut(&[u8]) -> std::io::Result<()>,
) -> Result<ReplaySummary, ReplayError> {
    let pics = H264Builder::build_stream(data).map_err(|e| ReplayError::Build(e.to_string()))?;
    let mut engine = Engine::with_options(Codec::H264, opts.engine)?;
    replay_h264_pictures(&mut engine, &pics, opts, sink)
}

/// Runs already built pictures through `engine` (which may have decoded other requests
/// before); `sink` receives each output frame in display order.
pub fn replay_h264_pictures(
    engine: &mut Engine,
    pics: &[H264Picture],
    opts: &ReplayOptions,
    mut sink: impl FnMut(&[u8]) -> std::io::Result<()>,
) -> Result<ReplaySummary, ReplayError> {
    let order = display_order(pics);
    // Position of each picture index in display order.
    let mut rank = vec![usize::MAX; pics.len()];
    for (r, &i) in order.iter().enumerate() {
        rank[i] = r;
    }
    let mut pool: HashMap<u64, OwnedBuffer> = HashMap::new();
    let mut done: Vec<bool> = vec![false; order.len()];
    let mut next_out = 0usize;
    let mut summary = ReplaySummary::default();
    let mut frame = Vec::new();
    let mut controls = H264Controls::default();

    for (i, p) in pics.iter().enumerate() {
        let fmt = opts.format.unwrap_or(if p.display.bit_depth_luma > 8 {
            CaptureFormat::P010
        } else {
            CaptureFormat::Nv12
        });
        let (w, h) = (p.display.width_mbs * 16, p.display.height_mbs * 16);
        let buf = pool
            .entry(p.timestamp)
            .or_insert_with(|| OwnedBuffer::new(fmt, w, h));
        if buf.width != w || buf.height != h || buf.format != fmt {
            *buf = OwnedBuffer::new(fmt, w, h);
        }
        // Sticky controls: the client updates what the picture carries.
        controls.sps = p.sps;
        controls.pps = p.pps;
        if p.scaling_matrix_present {
            controls.scaling_matrix = p.scaling_matrix;
        }
        controls.decode_params = p.decode_params;
        controls.slice_params.clone_from(&p.slice_params);
        controls.pred_weights = p.pred_weights;
        let req = Request {
            controls: &ControlSet::H264(Box::new(controls.clone())),
            bitstream: &p.bitstream,
            timestamp: p.timestamp,
            hold_capture: p.hold_capture,
        };
        summary.requests += 1;
        match engine.decode(&req, &mut buf.as_dst()) {
            Ok(r) => summary.warnings += r.warnings.len(),
            Err(e) => {
                tracing::warn!(request = p.decode_index, "request failed: {e}");
                summary.failed.push((p.decode_index, e.to_string()));
            }
        }
        if rank[i] != usize::MAX {
            done[rank[i]] = true;
        }
        // Emit every frame whose turn has come (all frames before it in display order
        // are decoded) — a display-order queue bounded by the reorder depth.
        while next_out < order.len() && done[next_out] {
            let q = &pics[order[next_out]];
            if let Some(b) = pool.remove(&q.timestamp) {
                let c = q.display.crop;
                frame.clear();
                b.append_planar(c.left, c.top, c.width, c.height, &mut frame);
                sink(&frame)?;
                summary.frames += 1;
            }
            next_out += 1;
        }
    }
    Ok(summary)
}

/// Replays a whole stream of `codec` (H.264: Annex B; VP9, AV1: IVF).
pub fn replay(
    codec: Codec,
    data: &[u8],
    opts: &ReplayOptions,
    sink: impl FnMut(&[u8]) -> std::io::Result<()>,
) -> Result<ReplaySummary, ReplayError> {
    match codec {
        Codec::H264 => replay_h264(data, opts, sink),
        Codec::Vp9 => crate::codec::vp9::replay::replay_ivf(data, opts, sink),
        Codec::Av1 => crate::codec::av1::replay::replay_ivf(data, opts, sink),
        Codec::Hevc | Codec::Vp8 | Codec::Mpeg2 => {
            Err(ReplayError::Engine(EngineError::NoEngine(codec)))
        }
    }
}
