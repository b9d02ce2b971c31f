//! Codec backends. One module per codec; each implements [`CodecBackend`] over
//! `ctrls::ControlSet` and [`crate::request`]. Adding a codec: see the crate doc's list;
//! nothing in the other backends changes.

pub mod av1;
pub mod bitwriter;
pub mod h264;
pub mod vp9;

use crate::dst::{Dst, DstError};
use crate::request::{DecodeReport, EngineError, EngineOptions, Mismatch, Request};

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

/// Control disagreements of request `ts`: in strict mode they fail the request; otherwise
/// each is logged (`against`: what the controls were checked against) and they are given
/// back for the request's report.
pub(crate) fn strict_or_warn(
    mismatches: Vec<Mismatch>,
    opts: &EngineOptions,
    ts: u64,
    against: &str,
) -> Result<Vec<Mismatch>, EngineError> {
    if opts.strict && !mismatches.is_empty() {
        return Err(EngineError::Mismatch(mismatches));
    }
    for m in &mismatches {
        tracing::warn!(
            ts,
            field = %m.field,
            expected = %m.expected,
            got = %m.got,
            "control disagrees with {against}"
        );
    }
    Ok(mismatches)
}

/// Refuses to decode a `width`x`height` picture that `dst` cannot hold.
pub(crate) fn check_fits(dst: &Dst<'_>, width: u32, height: u32) -> Result<(), EngineError> {
    if dst.width < width || dst.height < height {
        return Err(EngineError::Dst(DstError::TooSmall {
            dst_w: dst.width,
            dst_h: dst.height,
            pic_w: width,
            pic_h: height,
        }));
    }
    Ok(())
}
