//! AV1 replay: IVF -> `ctrls::build::av1` requests -> engine -> display-order frames.
//!
//! AV1 decodes shown frames in display order: a shown frame is output when its request
//! completes; `show_existing_frame` outputs the CAPTURE buffer of an earlier (possibly
//! invisible) frame again. Each request decodes into its own CAPTURE-like buffer, kept
//! while a reference slot holds it.

use std::collections::HashMap;

use ctrls::build::av1::{Av1Builder, Av1Event, Av1Request};

use super::Av1Controls;
use crate::dst::{OwnedBuffer, PixelFormat};
use crate::engine::{Codec, CodecControls, Engine, Request};
use crate::replay::{ReplayError, ReplayOptions, ReplaySummary};

/// Replays an AV1 IVF file; `sink` receives each shown frame's planar bytes (I420, or
/// yuv420p10le for 10-bit streams) in display order.
pub fn replay_ivf(
    data: &[u8],
    opts: &ReplayOptions,
    sink: impl FnMut(&[u8]) -> std::io::Result<()>,
) -> Result<ReplaySummary, ReplayError> {
    let events = Av1Builder::build_ivf(data).map_err(|e| ReplayError::Build(e.to_string()))?;
    let mut engine = Engine::with_options(Codec::Av1, opts.engine)?;
    replay_events(&mut engine, &events, opts, sink)
}

/// The controls a client sets for one builder request.
pub fn av1_controls(r: &Av1Request) -> Av1Controls {
    Av1Controls {
        sequence: r.sequence,
        frame: r.frame,
        tile_group_entries: r.tiles.clone(),
        film_grain: r.film_grain,
    }
}

/// Runs built events through `engine`, with `mutate` applied to each request's controls
/// and OUTPUT bytes first (tests use it to corrupt one request).
pub fn replay_events(
    engine: &mut Engine,
    events: &[Av1Event],
    opts: &ReplayOptions,
    sink: impl FnMut(&[u8]) -> std::io::Result<()>,
) -> Result<ReplaySummary, ReplayError> {
    replay_events_with(engine, events, opts, |_, _, _| {}, sink)
}

/// [`replay_events`] with a hook that may change a request's controls and bitstream
/// (arguments: decode index, controls, OUTPUT bytes).
pub fn replay_events_with(
    engine: &mut Engine,
    events: &[Av1Event],
    opts: &ReplayOptions,
    mut mutate: impl FnMut(u32, &mut Av1Controls, &mut Vec<u8>),
    mut sink: impl FnMut(&[u8]) -> std::io::Result<()>,
) -> Result<ReplaySummary, ReplayError> {
    let mut pool: HashMap<u64, OwnedBuffer> = HashMap::new();
    let mut slots: [Option<u64>; 8] = [None; 8];
    let mut summary = ReplaySummary::default();
    let mut frame = Vec::new();
    let mut emit = |b: &OwnedBuffer, summary: &mut ReplaySummary| -> std::io::Result<()> {
        frame.clear();
        b.append_planar(0, 0, b.width, b.height, &mut frame);
        summary.frames += 1;
        sink(&frame)
    };
    for ev in events {
        match ev {
            Av1Event::Decode(r) => {
                let fmt = opts.format.unwrap_or(if r.display.bit_depth > 8 {
                    PixelFormat::P010
                } else {
                    PixelFormat::Nv12
                });
                let (w, h) = (r.display.width, r.display.height);
                let mut buf = OwnedBuffer::new(fmt, w, h);
                let mut controls = av1_controls(r);
                let mut bitstream = r.bitstream.clone();
                mutate(r.decode_index, &mut controls, &mut bitstream);
                let req = Request {
                    controls: CodecControls::Av1(&controls),
                    bitstream: &bitstream,
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
                    emit(&buf, &mut summary)?;
                }
                for (i, s) in slots.iter_mut().enumerate() {
                    if r.frame.refresh_frame_flags & (1 << i) != 0 {
                        *s = Some(r.timestamp);
                    }
                }
                pool.insert(r.timestamp, buf);
            }
            Av1Event::ShowExisting {
                timestamp,
                key_frame,
                ..
            } => {
                if let Some(b) = pool.get(timestamp) {
                    emit(b, &mut summary)?;
                }
                if *key_frame {
                    slots = [Some(*timestamp); 8];
                }
            }
        }
        pool.retain(|ts, _| slots.contains(&Some(*ts)));
    }
    Ok(summary)
}
