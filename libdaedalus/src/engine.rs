//! The dispatcher: one [`Engine`] per context, holding the backend of its codec.
//! Backends are listed in exactly one place, [`Engine::with_options`].

use ctrls::Codec;

use crate::codec::{self, CodecBackend};
use crate::dst::Dst;
use crate::request::{DecodeReport, EngineError, EngineOptions, Request};

/// A per-context decoding engine.
pub struct Engine {
    codec: Codec,
    opts: EngineOptions,
    backend: Box<dyn CodecBackend>,
    /// The context's earlier pictures are lost: refuse requests until one
    /// that references nothing.
    awaiting_random_access: bool,
}

impl Engine {
    pub fn new(codec: Codec) -> Result<Self, EngineError> {
        Self::with_options(codec, EngineOptions::default())
    }

    pub fn with_options(codec: Codec, opts: EngineOptions) -> Result<Self, EngineError> {
        let backend: Box<dyn CodecBackend> = match codec {
            Codec::H264 => Box::new(codec::h264::H264Backend::new()?),
            Codec::Vp9 => Box::new(codec::vp9::Vp9Backend::new()?),
            Codec::Av1 => Box::new(codec::av1::Av1Backend::with_threads(opts.threads)?),
            Codec::Hevc => Box::new(codec::hevc::HevcBackend::new()?),
            Codec::Vp8 => Box::new(codec::vp8::Vp8Backend::new()?),
            Codec::Mpeg2 => Box::new(codec::mpeg2::Mpeg2Backend::new()?),
        };
        Ok(Engine {
            codec,
            opts,
            backend,
            awaiting_random_access: false,
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

    /// This engine takes over a context whose decoding state was lost (its
    /// worker died): requests fail until a random access point (IDR, IRAP,
    /// key frame, I picture) rather than decode against references it never
    /// saw into a picture that looks right to the client.
    pub fn await_random_access(&mut self) {
        self.awaiting_random_access = true;
    }

    /// Whether requests are refused until the next random access point.
    pub fn awaiting_random_access(&self) -> bool {
        self.awaiting_random_access
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
        if self.awaiting_random_access {
            if !req.controls.random_access() {
                return Err(EngineError::AwaitingRandomAccess);
            }
            self.awaiting_random_access = false;
        }
        self.backend.decode(req, dst, &self.opts)
    }

    /// Drops all decoding state (e.g. on stream stop / seek).
    pub fn reset(&mut self) {
        self.backend.reset();
    }
}
