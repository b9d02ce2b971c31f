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
//! - [`picture`]: what stream builders hand the client ([`picture::PictureSource`]).
//! - [`h264`]: the H.264 source over `ctrls::build::H264Builder` (Annex B;
//!   frame-based, or slice-based: one request per slice).
//! - [`vp9`], [`av1`]: the VP9 / AV1 sources over `ctrls::build::vp9::Vp9Builder`
//!   and `ctrls::build::av1::Av1Builder` (IVF; show-existing frames), both
//!   [`ivf_source::IvfSource`]s.
//! - [`yuv`]: CAPTURE layouts -> cropped I420, output writers.

pub mod av1;
pub mod bookkeeping;
pub mod controls;
pub mod dmabuf;
pub mod h264;
pub mod ivf_source;
pub mod media;
pub mod picture;
pub mod session;
pub mod topology;
pub mod vp9;
pub mod yuv;

pub use ctrls::Codec;
pub use picture::{CodedPicture, PictureSource};
pub use session::{DecodedFrame, DecoderDevice, DmaBufOrigin, Error, MemoryKind, Options, Session};
