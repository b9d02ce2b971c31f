//! H.264 backend: synthesizes SPS/PPS from the controls, feeds FFmpeg one picture (or
//! field) per request, and catches the picture FFmpeg decoded for it.

pub mod check;
pub mod slice;
pub mod synth;

use ctrls::h264::{DecodeFlags, DecodeMode, Pps, PpsFlags, ScalingMatrix, Sps, StartCode};

use crate::codec::{check_fits, CodecBackend};
use crate::dst::{write_picture, write_rows, Dst, SrcPicture};
use crate::ffdec::{FfCodec, FfDecoder};
use crate::request::{DecodeReport, EngineError, EngineOptions, Mismatch, Request};

pub use ctrls::h264::H264Controls;

/// Progress of copying a picture into the destination band by band during decoding.
#[derive(Debug, Default)]
struct Bands {
    /// Rows `0..next` of the picture are in the destination.
    next: u32,
    /// Luma plane address of the picture the bands came from.
    picture: Option<usize>,
    /// A band was out of order, from another picture, or could not be written: the
    /// picture is written whole after decoding.
    broken: bool,
    bytes: usize,
}

impl Bands {
    fn write(&mut self, src: &SrcPicture<'_>, dst: &mut Dst<'_>, y0: u32, y1: u32) {
        let pic = src.y.0.as_ptr() as usize;
        if self.broken || y0 > self.next || self.picture.is_some_and(|p| p != pic) {
            self.broken = true;
            return;
        }
        // Rows may come again (a later slice deblocked them once more): written again.
        match write_rows(src, dst, y0, y1) {
            Ok(n) => {
                self.bytes += n;
                self.next = self.next.max(y1);
                self.picture = Some(pic);
            }
            Err(_) => self.broken = true,
        }
    }

    /// Whether the bands wrote all `height` rows of `src`, the decoded picture.
    fn covers(&self, src: &SrcPicture<'_>, height: u32) -> bool {
        !self.broken && self.next >= height && self.picture == Some(src.y.0.as_ptr() as usize)
    }
}

/// The H.264 codec backend.
pub struct H264Backend {
    ff: FfDecoder,
    /// Parameter sets last sent to FFmpeg (re-synthesized only when they change).
    sent_sps: Option<Sps>,
    sent_pps: Option<(Pps, Option<ScalingMatrix>)>,
    checker: check::Checker,
    /// Timestamp of the last picture whose first field only was decoded.
    open_field: Option<(u64, bool)>,
    /// Slice-based mode: Annex B slices queued for the CAPTURE buffer of this timestamp.
    queued: Vec<u8>,
    queued_ts: Option<u64>,
    /// Slice-based mode: the controls of the field (or frame) the queued slices belong to.
    queued_controls: Option<Box<H264Controls>>,
}

impl H264Backend {
    pub fn new() -> Result<Self, EngineError> {
        Ok(H264Backend {
            ff: FfDecoder::new(FfCodec::H264)?,
            sent_sps: None,
            sent_pps: None,
            checker: check::Checker::default(),
            open_field: None,
            queued: Vec::new(),
            queued_ts: None,
            queued_controls: None,
        })
    }

    fn decode_inner(
        &mut self,
        req: &Request<'_>,
        c: &H264Controls,
        bitstream: &[u8],
        dst: &mut Dst<'_>,
        opts: &EngineOptions,
    ) -> Result<DecodeReport, EngineError> {
        if c.pps.seq_parameter_set_id != c.sps.seq_parameter_set_id {
            return Err(EngineError::Mismatch(vec![Mismatch {
                field: "H264_PPS.seq_parameter_set_id".into(),
                expected: format!(
                    "{} (H264_SPS.seq_parameter_set_id)",
                    c.sps.seq_parameter_set_id
                ),
                got: c.pps.seq_parameter_set_id.to_string(),
            }]));
        }
        // A picture larger than the CAPTURE buffer never reaches FFmpeg.
        let (w, h) = c.coded_size();
        check_fits(dst, w, h)?;
        if bitstream.is_empty() {
            return Err(EngineError::Bitstream("empty OUTPUT buffer".into()));
        }

        // Parameter sets, only when they changed. The SPS as synthesized: an undefined
        // profile_idc / level_idc (a soft violation) replaced by what the controls allow.
        let sps = synth::effective_sps(&c.sps, &c.pps);
        let sps_changed = self.sent_sps.as_ref() != Some(&sps);
        let sm = c
            .pps
            .flags
            .contains(PpsFlags::SCALING_MATRIX_PRESENT)
            .then_some(c.scaling_matrix);
        let pps_key = (c.pps, sm);
        let pps_changed = sps_changed || self.sent_pps.as_ref() != Some(&pps_key);
        // Validate only what changed: sticky controls that passed once need no second
        // look (so a soft violation is reported once per parameter set change). Hard
        // rules fail here; soft ones join the mismatches (strict mode: fail here too).
        let mut mismatches = Vec::new();
        if sps_changed {
            crate::codec::validate_control(&c.sps, opts, &mut mismatches)?;
        }
        if pps_changed {
            crate::codec::validate_control(&c.pps, opts, &mut mismatches)?;
        }
        let mut ps = Vec::new();
        if sps_changed {
            synth::write_sps(&sps, &mut ps);
        }
        if pps_changed {
            synth::write_pps(&c.pps, &sps, &c.scaling_matrix, &mut ps)?;
        }

        // Cross-check the controls against the slice headers and the tracked DPB.
        let slice = self
            .checker
            .check_slices(bitstream, c, &mut mismatches)
            .map_err(EngineError::Bitstream)?;
        self.checker
            .check_dpb(&c.decode_params, req.timestamp, &mut mismatches);
        let mismatches =
            crate::codec::strict_or_warn(mismatches, opts, req.timestamp, "bitstream/DPB")?;

        // From here on FFmpeg holds the parameter sets we sent, even if decoding fails.
        self.sent_sps = Some(sps);
        self.sent_pps = Some(pps_key);

        let field_pic = c.decode_params.flags.contains(DecodeFlags::FIELD_PIC);
        let bottom = c.decode_params.flags.contains(DecodeFlags::BOTTOM_FIELD);
        // A packet FFmpeg decoded with errors (and concealed) fails the request, but only
        // after its picture is written and recorded: FFmpeg keeps it as a reference, so
        // later requests naming it must find it in our DPB tracking too.
        //
        // Frame pictures are copied into `dst` row band by row band while FFmpeg decodes
        // them (the rows are still in the cache then); anything else — fields, bands that
        // do not cover the picture in order, damaged pictures (error concealment rewrites
        // rows after their band) — is written whole afterwards.
        let mut bands = Bands::default();
        let (outcome, damaged) = if field_pic {
            self.ff.decode_concealed_parts(&[&ps, bitstream])?
        } else {
            let mut sink = |src: &SrcPicture<'_>, y0: u32, y1: u32| bands.write(src, dst, y0, y1);
            let r = self
                .ff
                .decode_concealed_parts_banded(&[&ps, bitstream], Some((&mut sink, w, h)));
            // The bands' streaming stores, visible before anything that follows.
            crate::dst::fence();
            r?
        };
        let new_picture = if outcome.new_picture {
            true
        } else {
            // A second field continues the picture of the first one.
            match self.open_field {
                Some((_, first_bottom)) if field_pic && first_bottom != bottom => false,
                _ => return Err(EngineError::NoPicture),
            }
        };
        let picture_ts = match (new_picture, self.open_field) {
            (false, Some((ts, _))) => ts,
            _ => req.timestamp,
        };
        self.open_field = if field_pic && new_picture {
            Some((req.timestamp, bottom))
        } else {
            None
        };

        let src = self.ff.picture(w, h).ok_or_else(|| {
            EngineError::Unsupported(format!(
                "decoded picture is not a {w}x{h} 4:2:0 picture \
                     (resolution change without new SPS?)"
            ))
        })?;
        let bytes_copied = if damaged.is_none() && bands.covers(&src, h) {
            bands.bytes
        } else {
            write_picture(&src, dst)?
        };
        self.checker.record(
            req.timestamp,
            picture_ts,
            !new_picture,
            &c.decode_params,
            &slice,
        );
        if let Some(e) = damaged {
            return Err(EngineError::Decoder(e));
        }
        Ok(DecodeReport {
            pending: false,
            new_picture,
            width: w,
            height: h,
            bytes_copied,
            warnings: mismatches,
        })
    }
}

/// Which part of a frame a request's slices code: (field picture, bottom field).
fn field_of(c: &H264Controls) -> (bool, bool) {
    let f = c.decode_params.flags;
    (
        f.contains(DecodeFlags::FIELD_PIC),
        f.contains(DecodeFlags::BOTTOM_FIELD),
    )
}

impl CodecBackend for H264Backend {
    fn decode(
        &mut self,
        req: &Request<'_>,
        dst: &mut Dst<'_>,
        opts: &EngineOptions,
    ) -> Result<DecodeReport, EngineError> {
        let ctrls::ControlSet::H264(c) = req.controls else {
            return Err(EngineError::WrongCodec {
                engine: ctrls::Codec::H264,
                got: req.controls.codec(),
            });
        };
        let annexb = c.start_code == StartCode::AnnexB;
        let r = if c.decode_mode == DecodeMode::SliceBased {
            // Queue this request's slice; decode the picture with its last slice. The
            // first field of a pair holds the CAPTURE buffer through its last slice too:
            // it is decoded, with its own controls, when the second field's first slice
            // comes (same timestamp, other field).
            let mut first_field = Vec::new();
            if self.queued_ts == Some(req.timestamp) && !self.queued.is_empty() {
                let other_field = self
                    .queued_controls
                    .as_ref()
                    .is_some_and(|q| field_of(q) != field_of(c));
                if other_field {
                    let prev = self.queued_controls.take().expect("checked above");
                    let all = std::mem::take(&mut self.queued);
                    let r = self.decode_inner(req, &prev, &all, dst, opts);
                    self.queued = all;
                    self.queued.clear();
                    match r {
                        Ok(rep) => first_field = rep.warnings,
                        Err(e) => {
                            self.queued_ts = None;
                            self.open_field = None;
                            return Err(e);
                        }
                    }
                }
            }
            if self.queued_ts != Some(req.timestamp) {
                if !self.queued.is_empty() {
                    tracing::warn!("slices of an unfinished picture dropped (no request without HOLD_CAPTURE_BUF)");
                }
                self.queued.clear();
                self.queued_ts = Some(req.timestamp);
            }
            if self.queued.is_empty() {
                self.queued_controls = Some(Box::new((**c).clone()));
            }
            if !annexb {
                self.queued.extend_from_slice(&[0, 0, 1]);
            }
            self.queued.extend_from_slice(req.bitstream);
            if req.hold_capture {
                return Ok(DecodeReport {
                    pending: true,
                    warnings: first_field,
                    ..DecodeReport::default()
                });
            }
            let all = std::mem::take(&mut self.queued);
            self.queued_ts = None;
            self.queued_controls = None;
            let r = self.decode_inner(req, c, &all, dst, opts);
            self.queued = all;
            self.queued.clear();
            r.map(|mut rep| {
                first_field.append(&mut rep.warnings);
                rep.warnings = first_field;
                rep
            })
        } else if annexb {
            self.decode_inner(req, c, req.bitstream, dst, opts)
        } else {
            // Reuse the slice queue's buffer (empty in frame-based mode).
            let mut v = std::mem::take(&mut self.queued);
            v.clear();
            v.extend_from_slice(&[0, 0, 1]);
            v.extend_from_slice(req.bitstream);
            let r = self.decode_inner(req, c, &v, dst, opts);
            self.queued = v;
            self.queued.clear();
            r
        };
        if r.is_err() {
            // A failed request leaves no half-open field pair behind.
            self.open_field = None;
        }
        r
    }

    fn reset(&mut self) {
        self.ff.flush();
        self.sent_sps = None;
        self.sent_pps = None;
        self.open_field = None;
        self.queued.clear();
        self.queued_ts = None;
        self.checker = check::Checker::default();
    }
}
