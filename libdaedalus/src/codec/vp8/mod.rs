//! VP8 backend: the OUTPUT buffer holds the whole frame, and the frame header shares the
//! first (arithmetic-coded) partition with macroblock data, so the frame is decoded as
//! sent and the FRAME control is verified against the frame's own header and the
//! context's reference slots (the 6.12 control lacks the refresh and copy flags and
//! refresh_entropy_probs).
//!
//! Per request:
//! 1. The frame header is parsed (`ctrls::build::vp8::parse_frame`, on a copy of the
//!    context's persistent header state: probabilities, segmentation, loop-filter deltas,
//!    the key frame's size), giving the FRAME control a client should have sent. The
//!    reference timestamps come from the backend's mirror of the last / golden / alt-ref
//!    slots: each decoded frame is stored under its request timestamp into the slots it
//!    refreshes (all three on key frames), after the golden / alt-ref copies it codes.
//! 2. The client's control is compared with that ([`check`]); disagreements are warnings,
//!    or fail the request in strict mode before anything is decoded.
//! 3. The bytes go to FFmpeg's native VP8 decoder (single-threaded). Its `get_buffer2`
//!    hook catches the picture the packet allocated, hidden frames (show_frame = 0)
//!    included, and that picture is written into the request's CAPTURE buffer.
//! 4. A request whose header parsed commits the header state and the slot update even
//!    when it then fails (strict mismatch, FFmpeg error): the client goes on naming its
//!    CAPTURE buffer and building on its header, so later requests are checked against
//!    that; their pixels come from FFmpeg's own references until the next key frame,
//!    which decodes bit-exactly. A request whose header does not parse leaves the slots
//!    unknown: the controls are not checked again until the next key frame.
//!
//! The slots follow FFmpeg's decoder, which takes both copies from the slots before the
//! frame. libvpx copies the alt-ref first, so a frame that swaps golden and alt-ref
//! (copy_buffer_to_golden = 2 and copy_buffer_to_alternate = 2) leaves golden unchanged
//! there; the pixels here follow FFmpeg, and so does the expected golden timestamp.
//! If FFmpeg rejects a frame whose header parsed, its persistent state may have moved
//! while ours did not: until the next key frame the check could then report differences
//! in the persistent fields (the pixels follow FFmpeg).

mod check;

use ctrls::build::vp8::{frame_with_refs, parse_frame, Vp8State};

use crate::codec::{check_fits, strict_or_warn, CodecBackend};
use crate::dst::{write_picture, Dst};
use crate::ffdec::{FfCodec, FfDecoder};
use crate::request::{DecodeReport, EngineError, EngineOptions, Request};
use ctrls::{Codec, ControlSet};

pub use ctrls::vp8::Vp8Controls;

/// The VP8 codec backend.
pub struct Vp8Backend {
    ff: FfDecoder,
    /// Header state after the last decoded frame.
    state: Vp8State,
    /// Request timestamp the last / golden / alt-ref slots hold.
    slots: [Option<u64>; 3],
    /// A request failed before its header parsed: what it changed (slots, persistent
    /// header state) is unknown until the next key frame, so the controls are not
    /// checked until then.
    unsure: bool,
}

impl Vp8Backend {
    pub fn new() -> Result<Self, EngineError> {
        Ok(Vp8Backend {
            ff: FfDecoder::new(FfCodec::Vp8)?,
            state: Vp8State::default(),
            slots: [None; 3],
            unsure: false,
        })
    }

    fn decode_inner(
        &mut self,
        req: &Request<'_>,
        c: &Vp8Controls,
        dst: &mut Dst<'_>,
        opts: &EngineOptions,
    ) -> Result<DecodeReport, EngineError> {
        // Hard rules fail here; soft ones join the mismatches below.
        let mut mismatches = Vec::new();
        crate::codec::validate_control(&c.frame, opts, &mut mismatches)?;
        let data = req.bitstream;
        if data.is_empty() {
            self.unsure = true;
            return Err(EngineError::Bitstream("empty OUTPUT buffer".into()));
        }

        // 1. The frame's own header, on a copy of the state.
        let mut state = self.state.clone();
        let h = parse_frame(&mut state, data).map_err(|e| {
            self.unsure = true;
            EngineError::Bitstream(format!("VP8 frame header: {e}"))
        })?;
        if h.key_frame() {
            self.unsure = false;
        } else if self.slots.contains(&None) {
            return Err(EngineError::Bitstream(
                "inter frame without a decoded key frame before it".into(),
            ));
        }
        let exp = frame_with_refs(&h, &self.slots);
        let (w, h_px) = (u32::from(exp.width), u32::from(exp.height));
        // From here on the frame happened, as the client sees it: whether or not FFmpeg
        // decodes it, later requests name its CAPTURE buffer and build on its header
        // state, so that is what they are checked against (the pixels are FFmpeg's own
        // references until the next key frame).
        let next_slots = h.update_slots(&self.slots, req.timestamp);

        // 2. The control against it.
        if !self.unsure {
            check::frame(&exp, &c.frame, &mut mismatches);
        }
        let checked = strict_or_warn(
            mismatches,
            opts,
            req.timestamp,
            "the VP8 frame header/reference slots",
        )
        .and_then(|m| check_fits(dst, w, h_px).map(|()| m));
        self.state = state;
        self.slots = next_slots;
        let mismatches = checked?;

        // 3. Decode.
        let outcome = self.ff.decode(data)?;
        if !outcome.new_picture {
            return Err(EngineError::NoPicture);
        }
        let src = self.ff.picture(w, h_px).ok_or_else(|| {
            EngineError::Unsupported(format!(
                "decoded picture is not a {w}x{h_px} 4:2:0 8-bit picture"
            ))
        })?;
        let bytes_copied = write_picture(&src, dst)?;
        Ok(DecodeReport {
            pending: false,
            new_picture: true,
            width: w,
            height: h_px,
            bytes_copied,
            warnings: mismatches,
        })
    }
}

impl CodecBackend for Vp8Backend {
    fn decode(
        &mut self,
        req: &Request<'_>,
        dst: &mut Dst<'_>,
        opts: &EngineOptions,
    ) -> Result<DecodeReport, EngineError> {
        let ControlSet::Vp8(c) = req.controls else {
            return Err(EngineError::WrongCodec {
                engine: Codec::Vp8,
                got: req.controls.codec(),
            });
        };
        self.decode_inner(req, c, dst, opts)
    }

    fn reset(&mut self) {
        self.ff.flush();
        self.state = Vp8State::default();
        self.slots = [None; 3];
        self.unsure = false;
    }
}
