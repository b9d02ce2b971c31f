//! VP9 replay: IVF -> `ctrls::build::vp9` requests -> engine -> display-order frames.
//!
//! Every coded frame is one request with its own CAPTURE buffer (hidden frames too); a
//! shown frame is output as soon as its request completes (VP9 has no reordering: hidden
//! frames are shown later by `show_existing_frame`, which outputs the buffer of the
//! timestamp the builder names again). Buffers stay alive while a reference slot holds
//! their timestamp, then go back to a free list.

use std::collections::HashMap;

use ctrls::build::vp9::{Vp9Builder, Vp9Event};

use super::Vp9Controls;
use crate::dst::{OwnedBuffer, PixelFormat};
use crate::engine::{Codec, CodecControls, Engine, Request};
use crate::replay::{ReplayError, ReplayOptions, ReplaySummary};

/// Replays a VP9 IVF file; `sink` receives each shown frame's planar bytes (I420, or
/// yuv420p10le for 10-bit streams) in display order.
pub fn replay_ivf(
    data: &[u8],
    opts: &ReplayOptions,
    sink: impl FnMut(&[u8]) -> std::io::Result<()>,
) -> Result<ReplaySummary, ReplayError> {
    let events = Vp9Builder::build_ivf(data).map_err(|e| ReplayError::Build(e.to_string()))?;
    let mut engine = Engine::with_options(Codec::Vp9, opts.engine)?;
    replay_events(&mut engine, &events, opts, sink)
}

/// Controls a client sets for one builder request.
pub fn vp9_controls(r: &ctrls::build::vp9::Vp9Request) -> Vp9Controls {
    Vp9Controls {
        frame: r.frame,
        compressed_hdr: Some(r.compressed_hdr),
    }
}

/// Runs built events through `engine`; `sink` receives each shown frame in display order.
pub fn replay_events(
    engine: &mut Engine,
    events: &[Vp9Event],
    opts: &ReplayOptions,
    mut sink: impl FnMut(&[u8]) -> std::io::Result<()>,
) -> Result<ReplaySummary, ReplayError> {
    // Buffers by timestamp, with the frame size written into them.
    let mut pool: HashMap<u64, (OwnedBuffer, u32, u32)> = HashMap::new();
    let mut free: Vec<OwnedBuffer> = Vec::new();
    let mut slots: [Option<u64>; 8] = [None; 8];
    let mut summary = ReplaySummary::default();
    let mut out = Vec::new();
    let mut controls = Vp9Controls::default();

    let mut emit = |b: &OwnedBuffer, w: u32, h: u32, s: &mut ReplaySummary| {
        out.clear();
        b.append_planar(0, 0, w, h, &mut out);
        s.frames += 1;
        sink(&out)
    };

    for ev in events {
        match ev {
            Vp9Event::Decode(r) => {
                let fmt = opts.format.unwrap_or(if r.display.bit_depth > 8 {
                    PixelFormat::P010
                } else {
                    PixelFormat::Nv12
                });
                let (w, h) = (r.display.width, r.display.height);
                let mut buf = match free
                    .iter()
                    .position(|b| b.format == fmt && b.width == w && b.height == h)
                {
                    Some(i) => free.swap_remove(i),
                    None => OwnedBuffer::new(fmt, w, h),
                };
                controls.frame = r.frame;
                controls.compressed_hdr = Some(r.compressed_hdr);
                let req = Request {
                    controls: CodecControls::Vp9(&controls),
                    bitstream: &r.bitstream,
                    timestamp: r.timestamp,
                    hold_capture: false,
                };
                summary.requests += 1;
                match engine.decode(&req, &mut buf.as_dst()) {
                    Ok(rep) => summary.warnings += rep.warnings.len(),
                    Err(e) => {
                        tracing::warn!(request = r.decode_index, "request failed: {e}");
                        summary.failed.push((r.decode_index, e.to_string()));
                    }
                }
                if r.display.shown {
                    emit(&buf, w, h, &mut summary)?;
                }
                for (i, s) in slots.iter_mut().enumerate() {
                    if r.refresh_frame_flags & (1 << i) != 0 {
                        *s = Some(r.timestamp);
                    }
                }
                pool.insert(r.timestamp, (buf, w, h));
                let dead: Vec<u64> = pool
                    .keys()
                    .copied()
                    .filter(|ts| !slots.contains(&Some(*ts)))
                    .collect();
                for ts in dead {
                    if let Some((b, _, _)) = pool.remove(&ts) {
                        free.push(b);
                    }
                }
            }
            Vp9Event::ShowExisting { timestamp, .. } => {
                if let Some((b, w, h)) = pool.get(timestamp) {
                    emit(b, *w, *h, &mut summary)?;
                }
            }
        }
    }
    Ok(summary)
}
