//! AV1 replay: IVF -> `ctrls::build::av1` requests -> engine -> display-order frames.
//!
//! AV1 decodes shown frames in display order; `show_existing_frame` outputs the CAPTURE
//! buffer of an earlier (possibly invisible) frame again, and a key frame shown that way
//! refreshes every slot. Buffers and display order as in `codec::ivf_replay`.

use ctrls::build::av1::{Av1Builder, Av1Event, Av1Request};

use super::Av1Controls;
use crate::codec::ivf_replay::FrameOutput;
use crate::engine::Engine;
use crate::replay::{ReplayError, ReplayOptions, ReplaySummary};
use crate::request::Request;
use ctrls::{Codec, ControlSet};

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
    sink: impl FnMut(&[u8]) -> std::io::Result<()>,
) -> Result<ReplaySummary, ReplayError> {
    let mut out = FrameOutput::new(sink);
    for ev in events {
        match ev {
            Av1Event::Decode(r) => {
                let d = &r.display;
                let mut buf = out.buffer(opts, d.bit_depth, d.width, d.height);
                let mut controls = av1_controls(r);
                let mut bitstream = r.bitstream.clone();
                mutate(r.decode_index, &mut controls, &mut bitstream);
                let req = Request {
                    controls: &ControlSet::Av1(Box::new(controls.clone())),
                    bitstream: &bitstream,
                    timestamp: r.timestamp,
                    hold_capture: false,
                };
                out.decode(engine, &req, r.decode_index, &mut buf);
                out.store(buf, r.timestamp, r.frame.refresh_frame_flags, d.shown)?;
            }
            Av1Event::ShowExisting {
                timestamp,
                key_frame,
                ..
            } => out.show_existing(*timestamp, *key_frame)?,
        }
    }
    Ok(out.finish())
}
