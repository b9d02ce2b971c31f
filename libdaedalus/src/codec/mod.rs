//! Codec backends. One module per codec; each implements [`CodecBackend`]. Adding a codec
//! means a new module, a [`crate::engine::Codec`] variant and a
//! [`crate::engine::CodecControls`] variant: nothing in the other backends changes.

pub mod av1;
pub mod bitwriter;
pub mod h264;
pub mod vp9;

use crate::dst::Dst;
use crate::engine::{DecodeReport, EngineError, EngineOptions, Request};

/// A per-context decoder for one codec.
pub trait CodecBackend: Send {
    /// Decodes one request into `dst`. On return with `Ok`, the request's picture is in
    /// `dst`. Errors fail this request only: the backend stays usable.
    fn decode(
        &mut self,
        req: &Request<'_>,
        dst: &mut Dst<'_>,
        opts: &EngineOptions,
    ) -> Result<DecodeReport, EngineError>;

    /// Forgets all decoding state (references, parameter sets): the next request must be
    /// a random access point.
    fn reset(&mut self);
}
