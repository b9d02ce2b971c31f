//! VP9 replay: IVF -> `ctrls::build::vp9` requests -> engine -> display-order frames.
//!
//! One request per coded frame, hidden frames included (shown later by
//! `show_existing_frame`); buffers and display order as in `codec::ivf_replay`.

use ctrls::build::vp9::{Vp9Builder, Vp9Event};

use super::Vp9Controls;
use crate::codec::ivf_replay::FrameOutput;
use crate::engine::Engine;
use crate::replay::{ReplayError, ReplayOptions, ReplaySummary};
use crate::request::Request;
use ctrls::{Codec, ControlSet};

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
    sink: impl FnMut(&[u8]) -> std::io::Result<()>,
) -> Result<ReplaySummary, ReplayError> {
    let mut out = FrameOutput::new(sink);
    let mut controls = Vp9Controls::default();
    for ev in events {
        match ev {
            Vp9Event::Decode(r) => {
                let d = &r.display;
                let mut buf = out.buffer(opts, d.bit_depth, d.width, d.height);
                controls.frame = r.frame;
                controls.compressed_hdr = Some(r.compressed_hdr);
                let req = Request {
                    controls: &ControlSet::Vp9(Box::new(controls.clone())),
                    bitstream: &r.bitstream,
                    timestamp: r.timestamp,
                    hold_capture: false,
                };
                out.decode(engine, &req, r.decode_index, &mut buf);
                out.store(buf, r.timestamp, r.refresh_frame_flags, d.shown)?;
            }
            Vp9Event::ShowExisting { timestamp, .. } => out.show_existing(*timestamp, false)?,
        }
    }
    Ok(out.finish())
}
