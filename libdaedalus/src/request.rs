//! The engine's vocabulary: what a request is, what decoding it reports, and why it
//! failed. Codec backends import only this module, [`crate::dst`] and `ctrls`; the
//! dispatcher ([`crate::engine`]) sits above them.

use ctrls::{Codec, ControlSet};

use crate::dst::DstError;
use crate::ffdec::FfError;

/// One decode request: controls + OUTPUT bytes + timestamp.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    /// The current (sticky) control values of the request.
    pub controls: &'a ControlSet,
    /// The OUTPUT buffer's payload (H.264: Annex B slice NAL units of one picture/field).
    pub bitstream: &'a [u8],
    /// The OUTPUT buffer's timestamp (ns); references name pictures by it.
    pub timestamp: u64,
    /// `V4L2_BUF_FLAG_M2M_HOLD_CAPTURE_BUF`: more requests follow for the same CAPTURE
    /// buffer. In slice-based mode the slices are queued until a request without it; in
    /// frame-based mode (first field of a pair) every request decodes at once.
    pub hold_capture: bool,
}

/// Behaviour switches.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EngineOptions {
    /// Control/bitstream/DPB disagreements and spec-range violations the kernel does not
    /// check fail the request instead of only logging.
    pub strict: bool,
    /// Threads a decoder may use within one picture (0 or 1: none besides the
    /// caller's). The output is the same whatever the count (AV1: dav1d's
    /// tile and post-filter threads, one frame of delay as ever).
    pub threads: u32,
}

impl EngineOptions {
    /// Strict or lenient, the rest by default.
    pub fn strict(strict: bool) -> Self {
        EngineOptions {
            strict,
            ..Default::default()
        }
    }
}

/// One disagreement between the controls and the bitstream or the tracked DPB.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mismatch {
    /// Field path, e.g. `H264_DECODE_PARAMS.frame_num` or `H264_DECODE_PARAMS.dpb[2].frame_num`.
    pub field: String,
    /// What the bitstream / our tracking says.
    pub expected: String,
    /// What the control says.
    pub got: String,
}

impl Mismatch {
    /// The field with its array indices dropped (`H264_DECODE_PARAMS.dpb[].frame_num`):
    /// what log rate limits and per-client summaries group by.
    pub fn key(&self) -> String {
        field_key(&self.field)
    }
}

/// `field` without the indices inside its brackets.
pub(crate) fn field_key(field: &str) -> String {
    let mut key = String::with_capacity(field.len());
    let mut in_index = false;
    for ch in field.chars() {
        match ch {
            '[' => {
                in_index = true;
                key.push(ch);
            }
            ']' => {
                in_index = false;
                key.push(ch);
            }
            _ if in_index => {}
            _ => key.push(ch),
        }
    }
    key
}

impl std::fmt::Display for Mismatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}: expected {}, got {}",
            self.field, self.expected, self.got
        )
    }
}

/// What a successful request did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DecodeReport {
    /// Slice-based mode: the slices were queued, nothing was written yet (the picture is
    /// decoded by the request of the same CAPTURE buffer without `hold_capture`).
    pub pending: bool,
    /// The decoder started a new picture (false for the second field of a pair).
    pub new_picture: bool,
    /// Size of the picture written (the coded size).
    pub width: u32,
    pub height: u32,
    /// Bytes written into the destination.
    pub bytes_copied: usize,
    /// Disagreements found (non-strict mode; already logged as warnings).
    pub warnings: Vec<Mismatch>,
}

/// Why a request failed. The engine stays usable for the next random access point.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("context state lost (worker restarted): waiting for a random access point")]
    AwaitingRandomAccess,
    #[error("request controls are for {got}, engine decodes {engine}")]
    WrongCodec { engine: Codec, got: Codec },
    #[error("codec {0}: no engine")]
    NoEngine(Codec),
    #[error("invalid control: {0}")]
    Control(#[from] ctrls::CtrlError),
    #[error("cannot synthesize parameter sets: {0}")]
    Synth(String),
    #[error("unsupported: {0}")]
    Unsupported(String),
    #[error("bad bitstream: {0}")]
    Bitstream(String),
    #[error("controls disagree with the bitstream/DPB: {}", fmt_mismatches(.0))]
    Mismatch(Vec<Mismatch>),
    #[error("decoder: {0}")]
    Decoder(#[from] FfError),
    #[error("the decoder produced no picture for this request")]
    NoPicture,
    #[error("destination: {0}")]
    Dst(#[from] DstError),
}

fn fmt_mismatches(v: &[Mismatch]) -> String {
    v.iter()
        .map(|m| m.to_string())
        .collect::<Vec<_>>()
        .join("; ")
}
