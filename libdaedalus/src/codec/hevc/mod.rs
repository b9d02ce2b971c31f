//! HEVC backend: synthesizes VPS/SPS/PPS from the controls ([`synth`]),
//! rewrites the slice headers that refer to SPS RPS sets ([`slice`]), feeds
//! FFmpeg one picture per request and catches the picture it decoded.
//!
//! Annex B start codes (the module's only start code). Frame-based: one
//! picture per request. Slice-based: one or more slice segments per request,
//! every request of a picture but its last with HOLD_CAPTURE_BUF; the
//! rewritten segments are queued and the picture is decoded with its last
//! request (a request with another timestamp drops an unfinished picture's
//! segments, logged). SLICE_PARAMS are needed where a slice header has
//! to be rewritten (their sizes and offsets locate what changes); without
//! them (a client that sends none) the OUTPUT buffer goes to FFmpeg as it is,
//! which works for sequences whose SPS has no RPS sets or long-term pictures.
//! Every request's slice segment headers are parsed and checked against
//! DECODE_PARAMS / SLICE_PARAMS and against the pictures this context decoded
//! ([`check`]): strict mode fails a request on a disagreement, otherwise each
//! is logged and counted in the report's warnings.
//! Not yet: checks of the reference picture lists, the prediction weights and
//! the entry point offset values, and of the RPS content of slices that use
//! an SPS RPS (the controls do not carry the SPS's sets; see [`check`]).

pub mod check;
pub mod slice;
pub mod synth;

use ctrls::hevc::{
    DecodeMode, ExtSpsLtRps, ExtSpsStRps, HevcControls, Pps, ScalingMatrix, SliceParams, Sps,
    StartCode,
};
use ctrls::{Codec, ControlSet};

use crate::codec::{check_fits, strict_or_warn, validate_control, CodecBackend};
use crate::dst::{write_picture, Dst};
use crate::ffdec::{FfCodec, FfDecoder};
use crate::request::{DecodeReport, EngineError, EngineOptions, Request};

/// The HEVC codec backend.
pub struct HevcBackend {
    ff: FfDecoder,
    /// Parameter sets last sent to FFmpeg (sent again only when they change:
    /// FFmpeg drops its references when the active SPS changes).
    sent_sps: Option<Sps>,
    sent_pps: Option<(Pps, ScalingMatrix)>,
    /// Slice-based mode: the rewritten slice segments (each after a 4-byte
    /// start code) of the picture whose CAPTURE buffer is held, and its
    /// timestamp.
    queued: Vec<u8>,
    queued_ts: Option<u64>,
    /// Order count state and the pictures decoded, for the control checks.
    checker: check::Checker,
}

impl HevcBackend {
    pub fn new() -> Result<Self, EngineError> {
        Ok(HevcBackend {
            ff: FfDecoder::new(FfCodec::Hevc)?,
            sent_sps: None,
            sent_pps: None,
            queued: Vec::new(),
            queued_ts: None,
            checker: check::Checker::default(),
        })
    }

    /// The slice segments of the OUTPUT buffer, by SLICE_PARAMS.bit_size:
    /// each (params, NAL unit without its start code). With START_CODE ANNEX_B
    /// each begins with 00 00 01 (counted in bit_size); with NONE it is the NAL
    /// unit alone.
    fn slices<'a>(
        data: &'a [u8],
        params: &'a [SliceParams],
        start_code: StartCode,
    ) -> Result<Vec<(&'a SliceParams, &'a [u8])>, EngineError> {
        let mut v = Vec::with_capacity(params.len());
        let mut at = 0usize;
        for (i, sp) in params.iter().enumerate() {
            let len = (sp.bit_size / 8) as usize;
            let Some(chunk) = data.get(at..at + len) else {
                return Err(EngineError::Bitstream(format!(
                    "HEVC_SLICE_PARAMS[{i}].bit_size = {}: past the {}-byte OUTPUT buffer \
                     (slice {i} starts at byte {at})",
                    sp.bit_size,
                    data.len()
                )));
            };
            let nal = match start_code {
                StartCode::AnnexB => chunk.strip_prefix(&[0, 0, 1]).ok_or_else(|| {
                    EngineError::Bitstream(format!(
                        "HEVC_SLICE_PARAMS[{i}]: no 00 00 01 start code at byte {at} \
                         (HEVC_START_CODE ANNEX_B)"
                    ))
                })?,
                StartCode::None => chunk,
            };
            v.push((sp, nal));
            at += len;
        }
        if at != data.len() {
            return Err(EngineError::Bitstream(format!(
                "HEVC_SLICE_PARAMS: the slices' bit_size add up to {at} bytes, the OUTPUT \
                 buffer has {}",
                data.len()
            )));
        }
        Ok(v)
    }

    fn decode_inner(
        &mut self,
        req: &Request<'_>,
        c: &HevcControls,
        dst: &mut Dst<'_>,
        opts: &EngineOptions,
    ) -> Result<DecodeReport, EngineError> {
        let slice_based = c.decode_mode == DecodeMode::SliceBased;
        if !slice_based && req.hold_capture {
            return Err(EngineError::Bitstream(
                "HOLD_CAPTURE_BUF in frame-based mode (HEVC_DECODE_MODE FRAME_BASED): each \
                 request is a whole picture"
                    .into(),
            ));
        }
        let mut soft = Vec::new();
        validate_control(&c.sps, opts, &mut soft)?;
        validate_control(&c.pps, opts, &mut soft)?;
        validate_control(&c.scaling_matrix, opts, &mut soft)?;
        validate_control(&c.decode_params, opts, &mut soft)?;
        // A client that never set SLICE_PARAMS leaves the dynamic array's one
        // zeroed element there.
        let params: &[SliceParams] = if c.slice_params.len() == 1 && c.slice_params[0].bit_size == 0
        {
            &[]
        } else {
            &c.slice_params
        };
        for sp in params {
            validate_control(sp, opts, &mut soft)?;
        }
        let (st_rps, lt_rps) = ext_sps_rps(c);
        for rps in st_rps {
            validate_control(rps, opts, &mut soft)?;
        }
        for rps in lt_rps {
            validate_control(rps, opts, &mut soft)?;
        }
        check::ext_sps_rps(&c.sps, st_rps, lt_rps, &mut soft);
        let data = req.bitstream;
        if data.is_empty() {
            return Err(EngineError::Bitstream("empty OUTPUT buffer".into()));
        }
        let (w, h) = (
            u32::from(c.sps.pic_width_in_luma_samples),
            u32::from(c.sps.pic_height_in_luma_samples),
        );
        check_fits(dst, w, h)?;

        // This request's slice segments, as FFmpeg gets them.
        let mut segs = Vec::with_capacity(data.len() + 64);
        // The controls against the slice headers and the pictures decoded before.
        let located = if !params.is_empty() {
            Self::slices(data, params, c.start_code)?
        } else if c.start_code == StartCode::None {
            return Err(EngineError::Bitstream(
                "HEVC_START_CODE NONE without SLICE_PARAMS: nothing delimits the slices \
                 (their bit_size does)"
                    .into(),
            ));
        } else {
            Vec::new()
        };
        let start_code_len = match c.start_code {
            StartCode::AnnexB => 3,
            StartCode::None => 0,
        };
        let summary = self
            .checker
            .check(
                &check::Slices {
                    data,
                    located: &located,
                    timestamp: req.timestamp,
                    slice_based,
                    start_code_len,
                },
                &c.sps,
                &c.pps,
                &c.decode_params,
                &mut soft,
            )
            .map_err(EngineError::Bitstream)?;
        if params.is_empty() {
            if slice::needs_rewrite(&c.sps) {
                return Err(EngineError::Unsupported(
                    "HEVC without SLICE_PARAMS for a sequence whose SPS has RPS sets or \
                     long-term pictures (its slice headers must be rewritten)"
                        .into(),
                ));
            }
            segs.extend_from_slice(data);
        } else {
            let rps = slice::StRps::from_decode_params(&c.decode_params)
                .map_err(|e| EngineError::Bitstream(e.to_string()))?;
            for (i, (sp, nal)) in located.into_iter().enumerate() {
                let nal = slice::rewrite(nal, sp, &c.sps, &c.pps, &rps, start_code_len)
                    .map_err(|e| EngineError::Bitstream(format!("slice {i}: {e}")))?;
                segs.extend_from_slice(&[0, 0, 0, 1]);
                segs.extend_from_slice(&nal);
            }
        }
        let mismatches = strict_or_warn(
            soft,
            opts,
            req.timestamp,
            "the HEVC controls' ranges / slice headers / DPB",
        )?;
        if slice_based {
            if self.queued_ts != Some(req.timestamp) {
                if !self.queued.is_empty() {
                    tracing::warn!(
                        "HEVC: slices of an unfinished picture dropped (no request without \
                         HOLD_CAPTURE_BUF)"
                    );
                }
                self.queued.clear();
                self.queued_ts = Some(req.timestamp);
            }
            self.queued.extend_from_slice(&segs);
            if req.hold_capture {
                return Ok(DecodeReport {
                    pending: true,
                    warnings: mismatches,
                    ..DecodeReport::default()
                });
            }
            segs = std::mem::take(&mut self.queued);
            self.queued_ts = None;
        }

        let mut packet = Vec::with_capacity(segs.len() + 256);
        let new_sps = self.sent_sps != Some(c.sps);
        if new_sps {
            packet.extend(synth::vps(&c.sps)?);
            packet.extend(synth::sps(&c.sps)?);
        }
        if new_sps || self.sent_pps != Some((c.pps, c.scaling_matrix)) {
            packet.extend(synth::pps(&c.sps, &c.pps, &c.scaling_matrix)?);
        }
        packet.extend_from_slice(&segs);

        let outcome = self.ff.decode(&packet)?;
        // FFmpeg holds the parameter sets now, whatever became of the picture.
        self.sent_sps = Some(c.sps);
        self.sent_pps = Some((c.pps, c.scaling_matrix));
        if !outcome.new_picture {
            return Err(EngineError::NoPicture);
        }
        // FFmpeg holds the picture as a possible reference: later requests may name it.
        self.checker.record(req.timestamp, summary);
        let src = self.ff.picture(w, h).ok_or_else(|| {
            EngineError::Unsupported(format!(
                "decoded picture is not a {w}x{h} 4:2:0 picture of 8/10 bits"
            ))
        })?;
        let bytes_copied = write_picture(&src, dst)?;
        Ok(DecodeReport {
            pending: false,
            new_picture: true,
            width: w,
            height: h,
            bytes_copied,
            warnings: mismatches,
        })
    }
}

/// The SPS RPS tables the client set (EXT_SPS_ST_RPS / LT_RPS, Linux 7.0+).
/// A dynamic array the client never set holds one zeroed element: that is
/// "not set" unless the SPS has exactly one such entry (then it is that one).
fn ext_sps_rps(c: &HevcControls) -> (&[ExtSpsStRps], &[ExtSpsLtRps]) {
    let st: &[ExtSpsStRps] = match c.ext_sps_st_rps.as_slice() {
        [one] if *one == ExtSpsStRps::default() && c.sps.num_short_term_ref_pic_sets != 1 => &[],
        v => v,
    };
    let lt: &[ExtSpsLtRps] = match c.ext_sps_lt_rps.as_slice() {
        [one] if *one == ExtSpsLtRps::default() && c.sps.num_long_term_ref_pics_sps != 1 => &[],
        v => v,
    };
    (st, lt)
}

impl CodecBackend for HevcBackend {
    fn decode(
        &mut self,
        req: &Request<'_>,
        dst: &mut Dst<'_>,
        opts: &EngineOptions,
    ) -> Result<DecodeReport, EngineError> {
        let ControlSet::Hevc(c) = req.controls else {
            return Err(EngineError::WrongCodec {
                engine: Codec::Hevc,
                got: req.controls.codec(),
            });
        };
        self.decode_inner(req, c, dst, opts)
    }

    fn reset(&mut self) {
        self.ff.flush();
        self.sent_sps = None;
        self.sent_pps = None;
        self.queued.clear();
        self.queued_ts = None;
        self.checker = check::Checker::default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn controls(n_st: u8, n_lt: u8) -> HevcControls {
        HevcControls {
            sps: Sps {
                num_short_term_ref_pic_sets: n_st,
                num_long_term_ref_pics_sps: n_lt,
                ..Default::default()
            },
            pps: Pps::default(),
            scaling_matrix: ScalingMatrix::FLAT,
            decode_params: Default::default(),
            slice_params: Vec::new(),
            entry_point_offsets: Vec::new(),
            decode_mode: DecodeMode::FrameBased,
            start_code: StartCode::AnnexB,
            ext_sps_st_rps: vec![ExtSpsStRps::default()],
            ext_sps_lt_rps: vec![ExtSpsLtRps::default()],
        }
    }

    /// On Linux 7.x a client that never set the RPS tables leaves each dynamic
    /// array's one zeroed element: not a table, unless the SPS counts one entry.
    #[test]
    fn one_zeroed_element_is_no_table() {
        let c = controls(3, 0);
        assert_eq!(ext_sps_rps(&c), (&[][..], &[][..]));
        let c = controls(1, 1);
        let (st, lt) = ext_sps_rps(&c);
        assert_eq!((st.len(), lt.len()), (1, 1));
        let mut c = controls(3, 0);
        c.ext_sps_st_rps[0].num_negative_pics = 1;
        assert_eq!(ext_sps_rps(&c).0.len(), 1);
    }
}
