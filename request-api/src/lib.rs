//! Media controller + request API client of V4L2 stateless decoders.
//!
//! - [`media`]: the media-controller ioctls v4l2r lacks (`unsafe`, documented).
//! - [`dmabuf`]: DMA heap allocation, dma-buf CPU mappings and sync
//!   (`unsafe`, documented; with [`media`] the only modules that have any).
//! - [`topology`]: finding decoder entities and their video nodes (pure).
//! - [`bookkeeping`]: CAPTURE buffer retention, request reuse, display order (pure).
//! - [`controls`]: codec controls -> `v4l2_ext_control` arrays.
//! - [`session`]: device discovery, format negotiation, buffer memory,
//!   queueing and the decode loop (one module each).
//! - The stream sources (a file -> the requests to queue) are `ctrls::source`'s,
//!   shared with the host replay.
//! - [`yuv`]: CAPTURE layouts -> cropped I420, output writers.

pub mod bookkeeping;
pub mod controls;
pub mod dmabuf;
pub mod media;
pub mod session;
pub mod topology;
pub mod yuv;

pub use ctrls::source::{CodedPicture, PictureSource};
pub use ctrls::Codec;
pub use session::{DecodedFrame, DecoderDevice, DmaBufOrigin, Error, MemoryKind, Options, Session};
