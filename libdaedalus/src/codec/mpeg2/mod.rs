//! MPEG-2 backend: the OUTPUT buffer holds a picture's slices; everything before them is
//! rebuilt from the controls ([`synth`]): sequence header (both luma matrices loaded),
//! sequence extension (low_delay: FFmpeg outputs in decode order), a GOP header, the
//! picture header, the picture coding extension and a quant matrix extension when the
//! matrices change. FFmpeg's mpeg2video decoder (one thread,
//! the IDCT FFmpeg picks, as the reference MD5s use) decodes them.
//!
//! Per request:
//! 1. The controls are validated; 4:2:0 only (no CAPTURE format holds 4:2:2 / 4:4:4).
//! 2. The reference timestamps are checked against the backend's mirror of the two
//!    reference frames FFmpeg holds (`forward_ref_ts` = the past one for P and B,
//!    `backward_ref_ts` = the future one for B; a frame is a reference once both its
//!    fields are decoded, so a P second field names the previous reference frame, as
//!    GStreamer and FFmpeg do, and a driver finds the first field in the CAPTURE buffer
//!    it holds): a difference is a [`Mismatch`], a warning or (strict) a failure.
//! 3. The sequence header goes out before the first picture and whenever SEQUENCE
//!    changes (never between two fields: FFmpeg would lose the pairing); a GOP header
//!    marked closed_gop goes with it and before any B picture that has no past
//!    reference, so FFmpeg decodes what the client sent instead of skipping it. A quant
//!    matrix extension after the picture coding extension loads QUANTISATION whenever it
//!    differs from the matrices FFmpeg has (streams change them per picture, even
//!    between the two fields of a frame).
//! 4. Field pictures: the first field (HOLD_CAPTURE_BUF) starts a frame in FFmpeg, the
//!    second (same timestamp, opposite parity) completes it; both write the frame into the
//!    held CAPTURE buffer.
//!
//! A request that fails (bad controls or slices, a strict mismatch, FFmpeg's error)
//! still moves the mirror as the client sees it: later requests name that frame, and
//! FFmpeg decodes them from its own references until the next I picture, which is
//! bit-exact again. After a failed first field the second is refused (no frame to
//! complete).

mod synth;

use ctrls::build::mpeg2::reference_ts;

pub use ctrls::mpeg2::Mpeg2Controls;
use ctrls::mpeg2::{
    ChromaFormat, Picture, PictureCodingType, PictureStructure, Quantisation, Sequence,
};

use crate::codec::{check_fits, strict_or_warn, CodecBackend};
use crate::dst::{write_picture, Dst};
use crate::ffdec::{FfCodec, FfDecoder};
use crate::request::{DecodeReport, EngineError, EngineOptions, Mismatch, Request};
use ctrls::{Codec, Control, ControlSet};

/// The MPEG-2 codec backend.
pub struct Mpeg2Backend {
    ff: FfDecoder,
    /// SEQUENCE of the last sequence header sent.
    sent: Option<Sequence>,
    /// The matrices FFmpeg decodes with (as [`synth::effective`]).
    active_quant: Option<Quantisation>,
    /// Reference frames FFmpeg holds (timestamps, decode order): past, future.
    refs: Vec<u64>,
    /// The first field of the frame being decoded: (timestamp, structure, is I/P).
    first_field: Option<(u64, u8, bool)>,
    temporal_reference: u32,
    /// Timestamp of a first field whose request failed: its second field is refused.
    failed_first: Option<u64>,
}

impl Mpeg2Backend {
    pub fn new() -> Result<Self, EngineError> {
        Ok(Mpeg2Backend {
            ff: FfDecoder::new(FfCodec::Mpeg2)?,
            sent: None,
            active_quant: None,
            refs: Vec::new(),
            first_field: None,
            temporal_reference: 0,
            failed_first: None,
        })
    }

    /// Where `pic` (request timestamp `ts`) stands in its frame.
    fn role(&self, pic: &Picture, ts: u64) -> Role {
        let frame = pic.picture_structure == PictureStructure::Frame as u8;
        let second = !frame
            && self
                .first_field
                .is_some_and(|(t, st, _)| t == ts && st != pic.picture_structure);
        let frame_is_ref = match self.first_field {
            Some((_, _, first_ref)) if second => first_ref,
            _ => pic.picture_coding_type != PictureCodingType::B as u8,
        };
        Role {
            frame,
            second,
            frame_is_ref,
        }
    }

    /// Frame `ts` is a reference now (the older of two drops out).
    fn push_ref(&mut self, ts: u64) {
        if self.refs.last() != Some(&ts) {
            self.refs.push(ts);
            if self.refs.len() > 2 {
                self.refs.remove(0);
            }
        }
    }

    fn decode_inner(
        &mut self,
        req: &Request<'_>,
        c: &Mpeg2Controls,
        role: Role,
        dst: &mut Dst<'_>,
        opts: &EngineOptions,
    ) -> Result<DecodeReport, EngineError> {
        let mut mismatches = Vec::new();
        crate::codec::validate_control(&c.sequence, opts, &mut mismatches)?;
        crate::codec::validate_control(&c.picture, opts, &mut mismatches)?;
        let quant = c.quantisation.unwrap_or_else(synth::default_quantisation);
        crate::codec::validate_control(&quant, opts, &mut mismatches)?;
        let seq = &c.sequence;
        let pic = &c.picture;
        if seq.chroma_format()? != ChromaFormat::Yuv420 {
            return Err(EngineError::Unsupported(format!(
                "MPEG-2 {} (4:2:0 only: no CAPTURE format of the engine holds it)",
                ctrls::control::RawEnum::name(seq.chroma_format()?)
            )));
        }
        pic.picture_structure()?;
        let coding = pic.picture_coding_type()?;
        let slices = req.bitstream;
        match slices {
            [0, 0, 1, 0x01..=0xaf, ..] => {}
            _ => {
                return Err(EngineError::Bitstream(
                    "OUTPUT buffer does not start with a slice start code (00 00 01 01..af)".into(),
                ))
            }
        }

        let Role { frame, second, .. } = role;
        if !frame && !second && !req.hold_capture {
            // A first field decodes half a frame: the client must hold the buffer.
            mismatches.push(Mismatch {
                field: "request.hold_capture".into(),
                expected: "1 (a first field: the second decodes into the same buffer)".into(),
                got: "0".into(),
            });
        }
        let (fwd, bwd) = reference_ts(pic.picture_coding_type, &self.refs);
        let name = Picture::NAME;
        if pic.forward_ref_ts != fwd && coding != PictureCodingType::I {
            mismatches.push(Mismatch {
                field: format!("{name}.forward_ref_ts"),
                expected: ts_name(fwd),
                got: ts_name(pic.forward_ref_ts),
            });
        }
        if pic.backward_ref_ts != bwd && coding == PictureCodingType::B {
            mismatches.push(Mismatch {
                field: format!("{name}.backward_ref_ts"),
                expected: ts_name(bwd),
                got: ts_name(pic.backward_ref_ts),
            });
        }
        let mismatches = strict_or_warn(
            mismatches,
            opts,
            req.timestamp,
            "the MPEG-2 reference frames",
        )?;
        let (w, h) = (u32::from(seq.horizontal_size), u32::from(seq.vertical_size));
        check_fits(dst, w, h)?;

        // The headers, then the slices.
        let mut packet = Vec::with_capacity(slices.len() + 512);
        let new_sequence = self.sent != Some(*seq);
        if !second && (new_sequence || (coding == PictureCodingType::B && self.refs.len() < 2)) {
            if new_sequence {
                synth::sequence(&mut packet, seq, &quant);
                if self.sent.is_some_and(|s| !same_size(&s, seq)) {
                    // FFmpeg starts over at a new size: so do the references.
                    self.refs.clear();
                }
                let mut luma = quant;
                luma.chroma_intra_quantiser_matrix = luma.intra_quantiser_matrix;
                luma.chroma_non_intra_quantiser_matrix = luma.non_intra_quantiser_matrix;
                self.active_quant = Some(luma);
            }
            synth::gop(&mut packet);
        }
        if !second {
            self.temporal_reference = (self.temporal_reference + 1) & 0x3ff;
        }
        synth::picture(&mut packet, pic, self.temporal_reference);
        let q = synth::effective(&quant);
        if self.active_quant != Some(q) {
            synth::quant_matrix(&mut packet, &q);
            self.active_quant = Some(q);
        }
        packet.extend_from_slice(slices);
        // FFmpeg refuses a picture packet shorter than mb_w * mb_h * 11 / 528 bytes (a
        // cut one, it assumes); a tiny all-skipped P picture can be shorter. Zero bytes
        // after the last slice are stuffing.
        let mbs = (w as usize).div_ceil(16) * (h as usize).div_ceil(16);
        packet.resize(packet.len().max(mbs * 11 / 528 + 8), 0);

        let outcome = self.ff.decode(&packet)?;
        if !second {
            self.sent = Some(*seq);
        }
        if !second && !outcome.new_picture {
            return Err(EngineError::NoPicture);
        }
        // The mirror: a frame (or a second field) of a reference frame is a reference.
        if frame || second {
            if role.frame_is_ref {
                self.push_ref(req.timestamp);
            }
            self.first_field = None;
        } else {
            self.first_field = Some((req.timestamp, pic.picture_structure, role.frame_is_ref));
        }
        let src = self.ff.picture(w, h).ok_or_else(|| {
            EngineError::Unsupported(format!("decoded picture is not a {w}x{h} 4:2:0 picture"))
        })?;
        let bytes_copied = write_picture(&src, dst)?;
        Ok(DecodeReport {
            pending: false,
            new_picture: !second,
            width: w,
            height: h,
            bytes_copied,
            warnings: mismatches,
        })
    }
}

/// A request's place in its frame, as the client sees it.
#[derive(Debug, Clone, Copy)]
struct Role {
    /// A frame picture.
    frame: bool,
    /// The second field of the pair whose first field came last.
    second: bool,
    /// The frame is a reference (I or P; for a second field, its first field's type).
    frame_is_ref: bool,
}

fn same_size(a: &Sequence, b: &Sequence) -> bool {
    (a.horizontal_size, a.vertical_size) == (b.horizontal_size, b.vertical_size)
}

fn ts_name(ts: u64) -> String {
    if ts == u64::MAX {
        "none (u64::MAX)".into()
    } else {
        ts.to_string()
    }
}

impl CodecBackend for Mpeg2Backend {
    fn decode(
        &mut self,
        req: &Request<'_>,
        dst: &mut Dst<'_>,
        opts: &EngineOptions,
    ) -> Result<DecodeReport, EngineError> {
        let ControlSet::Mpeg2(c) = req.controls else {
            return Err(EngineError::WrongCodec {
                engine: Codec::Mpeg2,
                got: req.controls.codec(),
            });
        };
        let field = c.picture.picture_structure != PictureStructure::Frame as u8;
        if field && self.failed_first == Some(req.timestamp) {
            self.failed_first = None;
            return Err(EngineError::Bitstream(
                "second field of a frame whose first field failed".into(),
            ));
        }
        self.failed_first = None;
        let role = self.role(&c.picture, req.timestamp);
        let r = self.decode_inner(req, c, role, dst, opts);
        if r.is_err() {
            // The client goes on naming this frame as a reference: so does the mirror
            // (FFmpeg decodes the next pictures from its own references until an I).
            if role.frame_is_ref {
                self.push_ref(req.timestamp);
            }
            self.first_field = None;
            if field && !role.second && req.hold_capture {
                self.failed_first = Some(req.timestamp);
            }
        }
        r
    }

    fn reset(&mut self) {
        self.ff.flush();
        self.sent = None;
        self.active_quant = None;
        self.refs.clear();
        self.first_field = None;
        self.failed_first = None;
    }
}
