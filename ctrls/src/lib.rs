//! Typed payloads of every Linux 6.12 V4L2 stateless codec control.
//!
//! Each payload is a `#[repr(C)]` struct with the kernel's exact layout
//! (proven by `tests/layout.rs` against v4l2r's bindgen bindings). Raw
//! storage keeps the kernel's integer fields so any byte pattern can be
//! viewed without `unsafe` (zerocopy); typed access (bitflags, enums) and
//! [`Control::validate`] turn those bits into checked values.

pub mod codec;
pub mod control;
pub mod error;
pub mod set;

pub mod av1;
pub mod h264;
pub mod hevc;
pub mod mpeg2;
pub mod vp8;
pub mod vp9;

/// Stream -> controls builders: what a stateless client does.
pub mod build;
/// Streams as the requests a client queues (over the builders).
pub mod source;

pub use codec::{CaptureFormat, Codec, UnknownCodec, UnknownFormat};
pub use control::Control;
pub use error::{CtrlError, Violation};
pub use set::{ControlSet, Controls, Payload, RawControl, SetError};
