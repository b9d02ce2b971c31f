//! VP9 backend: the OUTPUT buffer holds the whole frame (uncompressed + compressed
//! headers + tiles), so the frame is decoded as sent and the FRAME / COMPRESSED_HDR
//! controls are verified against the frame's own headers and the context's reference
//! slots (the 6.12 controls lack refresh_frame_flags and ref_frame_idx).

pub mod replay;

use ctrls::vp9::{CompressedHdr, Frame};

use crate::codec::CodecBackend;
use crate::dst::Dst;
use crate::engine::{DecodeReport, EngineError, EngineOptions, Request};

/// The current values of the VP9 stateless controls of a context.
#[derive(Debug, Clone, Default)]
pub struct Vp9Controls {
    pub frame: Frame,
    /// COMPRESSED_HDR (absent when the client did not set it).
    pub compressed_hdr: Option<CompressedHdr>,
}

/// The VP9 codec backend.
pub struct Vp9Backend {}

impl Vp9Backend {
    pub fn new() -> Result<Self, EngineError> {
        Ok(Vp9Backend {})
    }
}

impl CodecBackend for Vp9Backend {
    fn decode(
        &mut self,
        _req: &Request<'_>,
        _dst: &mut Dst<'_>,
        _opts: &EngineOptions,
    ) -> Result<DecodeReport, EngineError> {
        Err(EngineError::Unsupported(
            "VP9 engine not implemented yet".into(),
        ))
    }

    fn reset(&mut self) {}
}
