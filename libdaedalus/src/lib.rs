//! Daedalus engine.
//!
//! - [`request`]: the vocabulary: [`Request`] (a `ctrls::ControlSet` + OUTPUT bytes),
//!   [`DecodeReport`], [`Mismatch`], [`EngineError`]. Backends import only this,
//!   [`dst`] and `ctrls`.
//! - [`engine`]: the dispatcher ([`Engine`], one per context), the one place that lists
//!   the backends.
//! - [`codec`]: one backend per codec: H.264, HEVC (frame-based), VP9, AV1 (VP8, MPEG-2:
//!   none yet, their requests fail with "no engine").
//! - [`dst`]: CAPTURE buffer layouts (`ctrls::CaptureFormat`) and picture writers.
//! - [`replay`]: stream -> controls (ctrls builder) -> engine -> display-order frames.
//!
//! The kernel<->daemon protocol is the daemon's (`daemon::proto`), not the engine's.
//!
//! # Adding a codec
//! Every file that changes, one place per layer:
//! 1. `ctrls/src/<codec>.rs`: the payloads (exists for all six) and the request's control
//!    set `<Codec>Controls` with `from_controls` / `to_payloads`; one arm in
//!    `ctrls/src/set.rs` (`ControlSet` variant, `parse`, `codec`).
//! 2. `ctrls/src/build/<codec>.rs`: stream -> per-request controls, as a client fills them.
//! 3. `ctrls/src/source/<codec>.rs`: the client's stream source over that builder
//!    (daedalus-decode and [`replay`] both run it); one arm in daedalus-decode's
//!    `source_for`.
//! 4. `libdaedalus/src/codec/<codec>/`: the backend ([`codec::CodecBackend`]); one arm in
//!    [`Engine::with_options`] and in [`replay::replay`].
//! 5. `kmod/daedalus-ctrls.c`: a row in the coded-format table (fourcc, `DAEDALUS_CODEC_*`,
//!    controls) — all six rows exist.
//!
//! `ctrls::Codec`, the daemon's serve loop and the kernel protocol do not change.
//!
//! How a request completes in decode order: every request is one FFmpeg packet (the
//! synthesized SPS/PPS when they changed, then the request's slice NAL units). FFmpeg runs
//! single-threaded with a `get_buffer2` that keeps a reference to the buffer it allocates
//! for the packet's picture; when `avcodec_send_packet` returns that picture is complete
//! (deblocked), and it is copied into the request's CAPTURE planes. A second field gets no
//! new buffer: it completes the first field's picture, which is written again whole. The
//! display-order frames FFmpeg returns are drained and dropped.
//!
//! Reorder depth: the synthesized SPS has no VUI (the V4L2 SPS control has none), so
//! FFmpeg derives its output delay from the level (never `max_num_reorder_frames = 0`,
//! which would make it drop B-frames from its output). The delay only postpones FFmpeg's
//! own output, which we never use.

pub mod codec;
pub mod dst;
pub mod engine;
mod ffdec;
pub mod replay;
pub mod request;

pub use ctrls::{CaptureFormat, Codec, ControlSet};
pub use dst::{Dst, DstError, DstPlane, OwnedBuffer};
pub use engine::Engine;
pub use ffdec::{route_ffmpeg_log, FfError};
pub use request::{DecodeReport, EngineError, EngineOptions, Mismatch, Request};
