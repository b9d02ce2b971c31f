//! Daedalus engine.
//!
//! - [`proto`]: the kernel<->daemon protocol (mirror of kmod/include/uapi/daedalus.h).
//! - [`engine`]: the codec-neutral decoding engine ([`engine::Engine`]).
//! - [`codec`]: one backend per codec (H.264 today).
//! - [`dst`]: CAPTURE buffer layouts and picture writers.

pub mod proto;

pub mod codec;
pub mod dst;
pub mod engine;
mod ffdec;
pub mod replay;

pub use dst::{Dst, DstError, DstPlane, OwnedBuffer, PixelFormat};
pub use engine::{
    Codec, CodecControls, DecodeReport, Engine, EngineError, EngineOptions, Mismatch, Request,
};
pub use ffdec::{route_ffmpeg_log, FfError};
