//! Codec backends. One module per codec; each implements [`CodecBackend`] over
//! `ctrls::ControlSet` and [`crate::request`]. Adding a codec: see the crate doc's list;
//! nothing in the other backends changes.

pub mod av1;
pub mod bitwriter;
mod diff;
pub mod h264;
pub mod hevc;
pub mod mpeg2;
pub mod vp8;
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
/// each is logged (`against`: what the controls were checked against; rate-limited per
/// field, see [`should_log`]) and they are given back for the request's report.
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
        if let Some(seen) = should_log(&m.field) {
            tracing::warn!(
                ts,
                field = %m.field,
                expected = %m.expected,
                got = %m.got,
                seen,
                "control disagrees with {against}"
            );
        }
    }
    Ok(mismatches)
}

/// Validates one control by the engine's rule: what the kernel rejects or what makes
/// decoding impossible (the control's hard rules) fails the request in both modes; in
/// strict mode every other rule does too (the whole [`ctrls::Control::validate`]),
/// otherwise each soft violation becomes a [`Mismatch`] named `CONTROL.field` in `out`
/// (expected: the allowed values), for [`strict_or_warn`] to log and report.
pub(crate) fn validate_control<C: ctrls::Control>(
    c: &C,
    opts: &EngineOptions,
    out: &mut Vec<Mismatch>,
) -> Result<(), EngineError> {
    if opts.strict {
        c.validate()?;
        return Ok(());
    }
    for v in c.validate_lenient()? {
        out.push(Mismatch {
            field: format!("{}.{}", v.control, v.field),
            expected: v.allowed,
            got: v.value,
        });
    }
    Ok(())
}

/// Rate limit of the mismatch log, per field (array indices ignored: `dpb[3].frame_num`
/// counts as `dpb[].frame_num`), process-wide: the 1st, 2nd, 4th, 8th, ... occurrence is
/// logged. Returns how many times the field was seen when this one is to be logged.
/// FFmpeg's error lines go through it too, keyed by their format string.
pub(crate) fn should_log(field: &str) -> Option<u64> {
    use std::collections::HashMap;
    use std::sync::Mutex;
    static SEEN: Mutex<Option<HashMap<String, u64>>> = Mutex::new(None);
    let key = crate::request::field_key(field);
    let mut g = SEEN.lock().unwrap_or_else(|e| e.into_inner());
    let n = g.get_or_insert_with(HashMap::new).entry(key).or_insert(0);
    *n += 1;
    n.is_power_of_two().then_some(*n)
}

/// Refuses to decode a `width`x`height` picture that `dst` cannot hold.
/// The largest picture any decoder of the engine is allowed to allocate: 8192x4352 (AV1
/// level 6.x, HEVC level 6.2; the module's largest coded size), in samples.
pub(crate) const MAX_PICTURE_PIXELS: u32 = 8192 * 4352;

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
