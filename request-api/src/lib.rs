//! Media controller + request API client of V4L2 stateless decoders.
//!
//! - [`media`]: the media-controller ioctls v4l2r lacks (the crate's only `unsafe`).
//! - [`topology`]: finding decoder entities and their video nodes (pure).
//! - [`bookkeeping`]: CAPTURE buffer retention, request reuse, display order (pure).
//! - [`controls`]: codec controls -> `v4l2_ext_control` arrays.
//! - [`session`]: device selection and the decode loop.
//! - [`picture`]: what stream builders hand the client ([`picture::PictureSource`]).
//! - [`h264`]: the H.264 source over `ctrls::build::H264Builder` (frame-based, Annex B).
//! - [`yuv`]: CAPTURE layouts -> cropped I420, output writers.

pub mod bookkeeping;
pub mod controls;
pub mod h264;
pub mod media;
pub mod picture;
pub mod session;
pub mod topology;
pub mod yuv;

pub use picture::{Codec, CodedPicture, PictureSource};
pub use session::{DecodedFrame, DecoderDevice, Error, Options, Session};
