//! VP9 backend: the OUTPUT buffer holds the whole frame (uncompressed + compressed
//! headers + tiles), so the frame is decoded as sent and the FRAME / COMPRESSED_HDR
//! controls are verified against the frame's own headers and the context's reference
//! slots (the 6.12 controls lack refresh_frame_flags and ref_frame_idx).
//!
//! Per request:
//! 1. The frame's uncompressed header is parsed (cros-codecs, on a copy of the context's
//!    parser state: loop-filter deltas, segmentation and slot sizes persist between
//!    frames) and its compressed header decoded (`ctrls::build::vp9::frame_controls`),
//!    giving the controls a client should have sent. The timestamps come from the
//!    backend's own 8-slot mirror: each decoded frame is stored under its request
//!    timestamp into the slots its `refresh_frame_flags` names (all 8 for key frames).
//! 2. The client's controls are compared with those ([`check`]); disagreements are
//!    warnings, or fail the request in strict mode before anything is decoded.
//! 3. The bytes go to FFmpeg's native VP9 decoder (single-threaded). Its `get_buffer2`
//!    hook catches the picture the packet allocated, hidden frames (show_frame = 0)
//!    included, and that picture is written into the request's CAPTURE buffer.
//! 4. Only a request FFmpeg decoded commits the parser copy and the slot update, so a
//!    failed request (bad bytes, strict mismatch) leaves the context as it was: the
//!    next frame that only needs what the slots hold (at worst the next key frame)
//!    decodes.
//!
//! One frame per request: a superframe (hidden + shown frame in one buffer) is refused,
//! as clients split them (GStreamer's VP9 base class, FFmpeg's vp9_superframe_split).
//! A `show_existing_frame` frame is refused too: clients show the existing CAPTURE
//! buffer instead of submitting it. Only 4:2:0 8/10-bit frames (profiles 0 and 2) are
//! decoded: no CAPTURE format of the engine holds the others.
//!
//! Limits: a frame cut inside its last tile (which has no size field) cannot be told
//! from a whole one before decoding; FFmpeg then decodes the bytes that are there. If
//! FFmpeg rejects a frame whose headers parsed, its persistent header state (loop-filter
//! deltas, segmentation) may have moved while ours did not: until the next key frame the
//! check could then report differences in those fields (the pixels follow FFmpeg).

mod check;

use cros_codecs::codec::vp9::parser::{FrameType, Parser};
use ctrls::build::vp9::{frame_controls, parse_chunk, FrameControlsError};
use ctrls::vp9::Frame;

use crate::codec::{check_fits, strict_or_warn, CodecBackend};
use crate::dst::{write_picture, Dst};
use crate::ffdec::{FfCodec, FfDecoder};
use crate::request::{DecodeReport, EngineError, EngineOptions, Request};
use ctrls::{Codec, ControlSet};

pub use ctrls::vp9::Vp9Controls;

/// The VP9 codec backend.
pub struct Vp9Backend {
    ff: FfDecoder,
    /// Header parser state after the last decoded frame.
    parser: Parser,
    /// Request timestamp each reference slot holds.
    slots: [Option<u64>; 8],
}

impl Vp9Backend {
    pub fn new() -> Result<Self, EngineError> {
        Ok(Vp9Backend {
            ff: FfDecoder::new(FfCodec::Vp9)?,
            parser: Parser::default(),
            slots: [None; 8],
        })
    }

    fn decode_inner(
        &mut self,
        req: &Request<'_>,
        c: &Vp9Controls,
        dst: &mut Dst<'_>,
        opts: &EngineOptions,
    ) -> Result<DecodeReport, EngineError> {
        // Hard rules fail here; soft ones join the mismatches below.
        let mut soft = Vec::new();
        crate::codec::validate_control(&c.frame, opts, &mut soft)?;
        if let Some(ch) = &c.compressed_hdr {
            crate::codec::validate_control(ch, opts, &mut soft)?;
        }
        let data = req.bitstream;
        if data.is_empty() {
            return Err(EngineError::Bitstream("empty OUTPUT buffer".into()));
        }

        // 1. The frame's own headers, on a copy of the parser state.
        let mut parser = self.parser.clone();
        let mut frames = parse_chunk(&mut parser, data)
            .map_err(|e| EngineError::Bitstream(format!("VP9 frame header: {e}")))?;
        if frames.len() != 1 {
            return Err(EngineError::Bitstream(format!(
                "{} frames (a superframe) in one request: one frame per request",
                frames.len()
            )));
        }
        let (h, range) = frames.pop().expect("one frame");
        if h.show_existing_frame {
            return Err(EngineError::Unsupported(format!(
                "show_existing_frame (slot {}) is not a decode request: show the CAPTURE \
                 buffer of that frame instead",
                h.frame_to_show_map_idx
            )));
        }
        if !(h.subsampling_x && h.subsampling_y) || h.bit_depth as u8 > 10 {
            // FFmpeg decodes these, but no CAPTURE format of the engine holds them.
            return Err(EngineError::Unsupported(format!(
                "VP9 profile {} with {}-bit {} samples (4:2:0 8/10-bit only)",
                h.profile as u8,
                h.bit_depth as u8,
                if h.subsampling_x && h.subsampling_y {
                    "4:2:0"
                } else {
                    "non-4:2:0"
                }
            )));
        }
        let frame = &data[range];
        let (exp_frame, exp_chdr) =
            frame_controls(&h, frame, &self.slots).map_err(|e| match e {
                FrameControlsError::Stream(m) => EngineError::Bitstream(m),
                e @ FrameControlsError::Parse { .. } => EngineError::Bitstream(e.to_string()),
            })?;
        check_tiles(frame, &exp_frame)?;

        // 2. The controls against it.
        let mut mismatches = soft;
        let facts = check::FrameFacts {
            ref_frame_idx: h.ref_frame_idx,
        };
        check::frame(&exp_frame, &c.frame, &facts, &mut mismatches);
        if let Some(got) = &c.compressed_hdr {
            check::compressed(&exp_chdr, got, &exp_frame, &mut mismatches);
        }
        let mismatches = strict_or_warn(
            mismatches,
            opts,
            req.timestamp,
            "the VP9 frame/reference slots",
        )?;
        let (w, h_px) = (h.width, h.height);
        check_fits(dst, w, h_px)?;

        // 3. Decode.
        let outcome = self.ff.decode(frame)?;
        if !outcome.new_picture {
            return Err(EngineError::NoPicture);
        }
        // 4. FFmpeg decoded the frame: its reference state moved on, ours too.
        self.parser = parser;
        let refresh = if h.frame_type == FrameType::KeyFrame {
            0xff
        } else {
            h.refresh_frame_flags
        };
        for (i, s) in self.slots.iter_mut().enumerate() {
            if refresh & (1 << i) != 0 {
                *s = Some(req.timestamp);
            }
        }
        let src = self.ff.picture(w, h_px).ok_or_else(|| {
            EngineError::Unsupported(format!(
                "decoded picture is not a {w}x{h_px} 4:2:0 picture of 8/10 bits"
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

/// Checks that the compressed header and every tile's size marker fit in the frame
/// (VP9 6.4: each tile but the last is preceded by a 4-byte big-endian size), so a cut
/// frame fails instead of decoding its missing tiles as zeros.
fn check_tiles(frame: &[u8], f: &Frame) -> Result<(), EngineError> {
    let start = usize::from(f.uncompressed_header_size) + usize::from(f.compressed_header_size);
    if f.compressed_header_size == 0 {
        return Err(EngineError::Bitstream("compressed header size 0".into()));
    }
    if start >= frame.len() {
        return Err(EngineError::Bitstream(format!(
            "no tile data: headers take {start} of the {} frame bytes",
            frame.len()
        )));
    }
    let tiles = 1usize << (f.tile_cols_log2 + f.tile_rows_log2);
    let mut pos = start;
    for t in 0..tiles - 1 {
        let Some(b) = frame.get(pos..pos + 4) else {
            return Err(EngineError::Bitstream(format!(
                "frame cut before the size of tile {t} of {tiles} (byte {pos} of {})",
                frame.len()
            )));
        };
        let size = u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize;
        pos += 4;
        if size == 0 || pos + size >= frame.len() {
            return Err(EngineError::Bitstream(format!(
                "tile {t} of {tiles}: {size} bytes at byte {pos} do not fit the {}-byte frame",
                frame.len()
            )));
        }
        pos += size;
    }
    Ok(())
}

impl CodecBackend for Vp9Backend {
    fn decode(
        &mut self,
        req: &Request<'_>,
        dst: &mut Dst<'_>,
        opts: &EngineOptions,
    ) -> Result<DecodeReport, EngineError> {
        let ControlSet::Vp9(c) = req.controls else {
            return Err(EngineError::WrongCodec {
                engine: Codec::Vp9,
                got: req.controls.codec(),
            });
        };
        self.decode_inner(req, c, dst, opts)
    }

    fn reset(&mut self) {
        self.ff.flush();
        self.parser = Parser::default();
        self.slots = [None; 8];
    }
}
