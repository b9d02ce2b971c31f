//! The codec-neutral engine API.

use crate::codec::{self, CodecBackend};
use crate::dst::{Dst, DstError};
use crate::ffdec::FfError;

/// Codecs the engine can decode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Codec {
    H264,
    Vp9,
    Av1,
}

/// The current (sticky) control values of a request, per codec.
#[derive(Debug, Clone, Copy)]
pub enum CodecControls<'a> {
    H264(&'a codec::h264::H264Controls),
    Vp9(&'a codec::vp9::Vp9Controls),
    Av1(&'a codec::av1::Av1Controls),
}

impl CodecControls<'_> {
    pub fn codec(&self) -> Codec {
        match self {
            CodecControls::H264(_) => Codec::H264,
            CodecControls::Vp9(_) => Codec::Vp9,
            CodecControls::Av1(_) => Codec::Av1,
        }
    }
}

/// One decode request: controls + OUTPUT bytes + timestamp.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    pub controls: CodecControls<'a>,
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
    /// Control/bitstream/DPB disagreements fail the request instead of only logging.
    pub strict: bool,
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
    #[error("request controls are for {got:?}, engine decodes {engine:?}")]
    WrongCodec { engine: Codec, got: Codec },
    #[error("invalid control: {0}")]
    Control(#[from] ctrls::CtrlError),
    #[error("cannot synthesize parameter sets: {0}")]
    Synth(#[from] codec::h264::synth::SynthError),
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

/// A per-context decoding engine.
pub struct Engine {
    codec: Codec,
    opts: EngineOptions,
    backend: Box<dyn CodecBackend>,
}

impl Engine {
    pub fn new(codec: Codec) -> Result<Self, EngineError> {
        Self::with_options(codec, EngineOptions::default())
    }

    pub fn with_options(codec: Codec, opts: EngineOptions) -> Result<Self, EngineError> {
        let backend: Box<dyn CodecBackend> = match codec {
            Codec::H264 => Box::new(codec::h264::H264Backend::new()?),
            Codec::Vp9 => Box::new(codec::vp9::Vp9Backend::new()?),
            Codec::Av1 => Box::new(codec::av1::Av1Backend::new()?),
        };
        Ok(Engine {
            codec,
            opts,
            backend,
        })
    }

    pub fn codec(&self) -> Codec {
        self.codec
    }

    pub fn options(&self) -> EngineOptions {
        self.opts
    }

    pub fn set_options(&mut self, opts: EngineOptions) {
        self.opts = opts;
    }

    /// Decodes `req` into `dst`; on `Ok` the request's own picture is in `dst`.
    pub fn decode(
        &mut self,
        req: &Request<'_>,
        dst: &mut Dst<'_>,
    ) -> Result<DecodeReport, EngineError> {
        let got = req.controls.codec();
        if got != self.codec {
            return Err(EngineError::WrongCodec {
                engine: self.codec,
                got,
            });
        }
        self.backend.decode(req, dst, &self.opts)
    }

    /// Drops all decoding state (e.g. on stream stop / seek).
    pub fn reset(&mut self) {
        self.backend.reset();
    }
}
