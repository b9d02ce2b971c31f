//! Daedalus engine.
//!
//! - [`proto`]: the kernel<->daemon protocol (mirror of kmod/include/uapi/daedalus.h).
//! - [`engine`]: the codec-neutral decoding engine ([`engine::Engine`]).
//! - [`codec`]: one backend per codec (H.264 today).
//! - [`dst`]: CAPTURE buffer layouts and picture writers.
//! - [`replay`]: stream -> controls (ctrls builder) -> engine -> display-order frames.
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
