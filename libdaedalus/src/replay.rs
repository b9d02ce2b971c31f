//! Replay: a stream through the [`Engine`] on the host, exactly as a stateless client
//! drives a device. The requests come from the client's own stream sources
//! (`ctrls::source`, what `daedalus-decode` queues); their controls are kept sticky as
//! the kernel keeps them (a control not set in a request keeps its last value; the
//! source's mode controls are set once first) and parsed into a `ctrls::ControlSet` by
//! the same parser the daemon uses on a job. Each CAPTURE buffer is an
//! [`OwnedBuffer`] held by timestamp while the source says the decoder refers to it or
//! it has displays left; frames are written out in the order the source announces,
//! cropped to the picture's rectangle, as planar 4:2:0 (I420, or yuv420p10le for
//! >8-bit streams).

use std::collections::{BTreeMap, HashMap};

use ctrls::build::av1::Av1Event;
use ctrls::build::h264::H264Picture;
use ctrls::build::hevc::HevcPicture;
use ctrls::build::mpeg2::Mpeg2Picture;
use ctrls::build::vp8::Vp8Request;
use ctrls::build::vp9::Vp9Event;
use ctrls::hevc::{DecodeMode, HevcControls, StartCode};
use ctrls::source::av1::Av1Source;
use ctrls::source::h264::H264Source;
use ctrls::source::mpeg2::Mpeg2Source;
use ctrls::source::vp8::Vp8Source;
use ctrls::source::vp9::Vp9Source;
use ctrls::source::{CodedPicture, PictureSource, Rect};
use ctrls::{Codec, ControlSet, Payload};

use crate::codec::av1::Av1Controls;
use crate::codec::h264::H264Controls;
use crate::codec::mpeg2::Mpeg2Controls;
use crate::codec::vp8::Vp8Controls;
use crate::dst::{CaptureFormat, OwnedBuffer};
use crate::engine::Engine;
use crate::request::{EngineError, EngineOptions, Request};

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
    /// Requests (pictures, fields or slices) submitted.
    pub requests: usize,
    /// Frames written.
    pub frames: usize,
    /// Requests that failed, by request index from 0 (their CAPTURE buffer is still
    /// output, as a client would).
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
    #[error("request {index}: controls: {err}")]
    Controls { index: u32, err: ctrls::SetError },
    #[error("request {index}: decodes into a CAPTURE buffer no earlier request holds")]
    NoHeldBuffer { index: u32 },
    #[error("the source shows timestamp {ts}, whose CAPTURE buffer is no longer held")]
    NotHeld { ts: u64 },
    #[error("output: {0}")]
    Io(#[from] std::io::Error),
}

/// One CAPTURE buffer the replay holds.
struct Held {
    buf: OwnedBuffer,
    /// The picture's rectangle inside it.
    rect: Rect,
    /// Times it is still to be written out.
    displays_left: u32,
}

/// The controls a client has set so far, as the kernel keeps them per control.
#[derive(Default)]
pub struct Sticky(BTreeMap<u32, Vec<u8>>);

impl Sticky {
    /// Starts with `src`'s mode controls ([`mode_payloads`]).
    pub fn for_source(src: &dyn PictureSource) -> Self {
        let mut sticky = Self::default();
        sticky.set(&mode_payloads(src));
        sticky
    }

    /// Sets every control of `list`.
    pub fn set(&mut self, list: &[Payload]) {
        for p in list {
            self.insert(p.id, &p.bytes);
        }
    }

    /// Sets control `id` to `bytes`.
    pub fn insert(&mut self, id: u32, bytes: &[u8]) {
        self.0.insert(id, bytes.to_vec());
    }

    /// Every control's current value, by id.
    pub fn raw(&self) -> Vec<ctrls::RawControl<'_>> {
        self.0
            .iter()
            .map(|(&id, bytes)| ctrls::RawControl { id, bytes })
            .collect()
    }

    /// The current values as `codec`'s control set.
    pub fn parse(&self, codec: Codec) -> Result<ControlSet, ctrls::SetError> {
        ControlSet::parse(codec, &self.raw())
    }
}

/// The controls a client sets once, before the first request of `src`: its
/// decode-mode and start-code menus.
pub fn mode_payloads(src: &dyn PictureSource) -> Vec<Payload> {
    src.mode_controls()
        .iter()
        .map(|m| Payload::menu(m.id, m.value))
        .collect()
}

/// Runs every request of `src` through `engine`; `sink` receives each output frame's
/// planar bytes in display order.
pub fn replay_source(
    engine: &mut Engine,
    src: &mut dyn PictureSource,
    opts: &ReplayOptions,
    sink: impl FnMut(&[u8]) -> std::io::Result<()>,
) -> Result<ReplaySummary, ReplayError> {
    replay_source_with(engine, src, opts, |_, _, _| {}, sink)
}

/// [`replay_source`] with a hook that may change a request's parsed controls and its
/// OUTPUT bytes before the engine sees them (arguments: request index, controls,
/// bitstream); tests use it to play a client that sends something else.
pub fn replay_source_with(
    engine: &mut Engine,
    src: &mut dyn PictureSource,
    opts: &ReplayOptions,
    mut mutate: impl FnMut(u32, &mut ControlSet, &mut Vec<u8>),
    mut sink: impl FnMut(&[u8]) -> std::io::Result<()>,
) -> Result<ReplaySummary, ReplayError> {
    let codec = src.codec();
    let mut sticky = Sticky::for_source(src);
    let mut held: HashMap<u64, Held> = HashMap::new();
    let mut summary = ReplaySummary::default();
    let mut frame = Vec::new();
    let mut emit = |held: &mut HashMap<u64, Held>, ts: u64, summary: &mut ReplaySummary| {
        let Some(h) = held.get_mut(&ts) else {
            return Err(ReplayError::NotHeld { ts });
        };
        let r = h.rect;
        frame.clear();
        h.buf
            .append_planar(r.left, r.top, r.width, r.height, &mut frame);
        h.displays_left = h.displays_left.saturating_sub(1);
        summary.frames += 1;
        sink(&frame).map_err(ReplayError::Io)
    };

    while let Some(p) = src.next_picture().map_err(|e| ReplayError::Build(e.0))? {
        let index = summary.requests as u32;
        summary.requests += 1;
        sticky.set(&p.controls);
        let mut set = sticky
            .parse(codec)
            .map_err(|err| ReplayError::Controls { index, err })?;
        let mut bitstream = p.bitstream.clone();
        mutate(index, &mut set, &mut bitstream);
        if !p.continues_capture() {
            held.insert(p.timestamp, new_capture(&p, opts));
        }
        let h = held
            .get_mut(&p.timestamp)
            .ok_or(ReplayError::NoHeldBuffer { index })?;
        let req = Request {
            controls: &set,
            bitstream: &bitstream,
            timestamp: p.timestamp,
            hold_capture: p.holds_capture(),
        };
        match engine.decode(&req, &mut h.buf.as_dst()) {
            Ok(r) => summary.warnings += r.warnings.len(),
            Err(e) => {
                tracing::warn!(request = index, "request failed: {e}");
                summary.failed.push((index, e.to_string()));
            }
        }
        for &ts in &p.display {
            emit(&mut held, ts, &mut summary)?;
        }
        // A buffer no reference names and with nothing left to show is free again.
        if !p.holds_capture() {
            held.retain(|ts, h| h.displays_left > 0 || p.references.contains(ts));
        }
    }
    for ts in src.flush() {
        emit(&mut held, ts, &mut summary)?;
    }
    Ok(summary)
}

/// The CAPTURE buffer a client queues for `p`: the stream's coded size, in the format
/// `opts` names or the default for its bit depth.
fn new_capture(p: &CodedPicture, opts: &ReplayOptions) -> Held {
    let i = &p.info;
    let format = opts
        .format
        .unwrap_or(CaptureFormat::default_for(i.bit_depth));
    Held {
        buf: OwnedBuffer::new(format, i.coded_width, i.coded_height),
        rect: p.picture_rect.unwrap_or(i.visible),
        displays_left: p.displays,
    }
}

/// Replays a whole stream of `codec` (H.264, HEVC: Annex B; MPEG-2: video elementary
/// stream; VP8, VP9, AV1: IVF).
pub fn replay(
    codec: Codec,
    data: &[u8],
    opts: &ReplayOptions,
    sink: impl FnMut(&[u8]) -> std::io::Result<()>,
) -> Result<ReplaySummary, ReplayError> {
    let mut src = ctrls::source::open(codec, data).map_err(|e| ReplayError::Build(e.0))?;
    let mut engine = Engine::with_options(codec, opts.engine)?;
    replay_source(&mut engine, src.as_mut(), opts, sink)
}

/// Replays an H.264 Annex B stream (frame-based, as GStreamer's v4l2slh264dec sends it).
pub fn replay_h264(
    data: &[u8],
    opts: &ReplayOptions,
    sink: impl FnMut(&[u8]) -> std::io::Result<()>,
) -> Result<ReplaySummary, ReplayError> {
    replay(Codec::H264, data, opts, sink)
}

/// Runs already built (possibly altered) H.264 pictures through `engine`, which may have
/// decoded other requests before.
pub fn replay_h264_pictures(
    engine: &mut Engine,
    pics: &[H264Picture],
    opts: &ReplayOptions,
    sink: impl FnMut(&[u8]) -> std::io::Result<()>,
) -> Result<ReplaySummary, ReplayError> {
    let mut src = H264Source::from_pictures(pics.to_vec());
    replay_source(engine, &mut src, opts, sink)
}

/// The typed controls of one builder picture, every field the builder fills (slice
/// parameters and prediction weights included: what a slice-based client sends).
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

/// The typed controls of one HEVC builder picture in frame-based mode, Annex B: every
/// slice segment's SLICE_PARAMS and all their entry points.
pub fn hevc_controls(p: &HevcPicture) -> HevcControls {
    HevcControls {
        sps: p.sps,
        pps: p.pps,
        scaling_matrix: p.scaling_matrix,
        decode_params: p.decode_params,
        slice_params: p.slice_params.clone(),
        entry_point_offsets: p.entry_point_offsets.clone(),
        decode_mode: DecodeMode::FrameBased,
        start_code: StartCode::AnnexB,
        ext_sps_st_rps: Vec::new(),
        ext_sps_lt_rps: Vec::new(),
    }
}

/// Runs built VP8 requests through `engine`, with `mutate` applied to each request's
/// controls and OUTPUT bytes first (arguments: request index, controls, bitstream).
pub fn replay_vp8_requests_with(
    engine: &mut Engine,
    reqs: &[Vp8Request],
    opts: &ReplayOptions,
    mut mutate: impl FnMut(u32, &mut Vp8Controls, &mut Vec<u8>),
    sink: impl FnMut(&[u8]) -> std::io::Result<()>,
) -> Result<ReplaySummary, ReplayError> {
    let mut src = Vp8Source::from_events(reqs.to_vec()).map_err(|e| ReplayError::Build(e.0))?;
    replay_source_with(
        engine,
        &mut src,
        opts,
        |i, set, bits| {
            if let ControlSet::Vp8(c) = set {
                mutate(i, c, bits)
            }
        },
        sink,
    )
}

/// Runs built MPEG-2 pictures through `engine`, with `mutate` applied to each request's
/// controls and OUTPUT bytes first (arguments: request index, controls, bitstream).
pub fn replay_mpeg2_pictures_with(
    engine: &mut Engine,
    pics: &[Mpeg2Picture],
    opts: &ReplayOptions,
    mut mutate: impl FnMut(u32, &mut Mpeg2Controls, &mut Vec<u8>),
    sink: impl FnMut(&[u8]) -> std::io::Result<()>,
) -> Result<ReplaySummary, ReplayError> {
    let mut src = Mpeg2Source::from_pictures(pics.to_vec());
    replay_source_with(
        engine,
        &mut src,
        opts,
        |i, set, bits| {
            if let ControlSet::Mpeg2(c) = set {
                mutate(i, c, bits)
            }
        },
        sink,
    )
}

/// Replays a VP9 IVF file.
pub fn replay_vp9_ivf(
    data: &[u8],
    opts: &ReplayOptions,
    sink: impl FnMut(&[u8]) -> std::io::Result<()>,
) -> Result<ReplaySummary, ReplayError> {
    replay(Codec::Vp9, data, opts, sink)
}

/// Replays an AV1 IVF file.
pub fn replay_av1_ivf(
    data: &[u8],
    opts: &ReplayOptions,
    sink: impl FnMut(&[u8]) -> std::io::Result<()>,
) -> Result<ReplaySummary, ReplayError> {
    replay(Codec::Av1, data, opts, sink)
}

/// Runs built VP9 events through `engine`.
pub fn replay_vp9_events(
    engine: &mut Engine,
    events: &[Vp9Event],
    opts: &ReplayOptions,
    sink: impl FnMut(&[u8]) -> std::io::Result<()>,
) -> Result<ReplaySummary, ReplayError> {
    let mut src = Vp9Source::from_events(events.to_vec()).map_err(|e| ReplayError::Build(e.0))?;
    replay_source(engine, &mut src, opts, sink)
}

/// Runs built AV1 events through `engine`, with `mutate` applied to each request's
/// controls and OUTPUT bytes first (arguments: request index, controls, bitstream).
pub fn replay_av1_events_with(
    engine: &mut Engine,
    events: &[Av1Event],
    opts: &ReplayOptions,
    mut mutate: impl FnMut(u32, &mut Av1Controls, &mut Vec<u8>),
    sink: impl FnMut(&[u8]) -> std::io::Result<()>,
) -> Result<ReplaySummary, ReplayError> {
    let mut src = Av1Source::from_events(events.to_vec()).map_err(|e| ReplayError::Build(e.0))?;
    replay_source_with(
        engine,
        &mut src,
        opts,
        |i, set, bits| {
            if let ControlSet::Av1(c) = set {
                mutate(i, c, bits)
            }
        },
        sink,
    )
}
