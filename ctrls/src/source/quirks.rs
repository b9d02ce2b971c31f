//! Known clients' ways of filling controls that differ from the stream but that
//! hardware decodes anyway, replayed on top of a source: what a decoder's
//! default (lenient) mode must take, and its strict mode must name.

use zerocopy::{FromBytes, IntoBytes};

use super::{CodedPicture, ModeControl, PictureSource, SourceError};
use crate::h264::{DecodeParams, DpbEntryFlags, Sps, CID_DECODE_PARAMS, CID_SPS};
use crate::Codec;

/// A client whose control filling a source can imitate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientQuirk {
    /// libva-v4l2-request (through FFmpeg's VAAPI hwaccel) on H.264:
    /// `H264_SPS.profile_idc` and `level_idc` left at 0, every picture order
    /// count (the picture's and its DPB entries') 65536 above the stream's.
    LibvaH264,
}

impl ClientQuirk {
    /// The codec the quirk is about.
    pub fn codec(self) -> Codec {
        match self {
            ClientQuirk::LibvaH264 => Codec::H264,
        }
    }

    /// Rewrites one picture's controls.
    pub fn apply(self, p: &mut CodedPicture) {
        match self {
            ClientQuirk::LibvaH264 => {
                for c in &mut p.controls {
                    if c.id == CID_SPS {
                        if let Ok(mut sps) = Sps::read_from_bytes(&c.bytes) {
                            sps.profile_idc = 0;
                            sps.level_idc = 0;
                            c.bytes = sps.as_bytes().to_vec();
                        }
                    } else if c.id == CID_DECODE_PARAMS {
                        if let Ok(mut dp) = DecodeParams::read_from_bytes(&c.bytes) {
                            dp.top_field_order_cnt = dp.top_field_order_cnt.wrapping_add(1 << 16);
                            dp.bottom_field_order_cnt =
                                dp.bottom_field_order_cnt.wrapping_add(1 << 16);
                            for e in &mut dp.dpb {
                                if e.flags.contains(DpbEntryFlags::VALID) {
                                    e.top_field_order_cnt =
                                        e.top_field_order_cnt.wrapping_add(1 << 16);
                                    e.bottom_field_order_cnt =
                                        e.bottom_field_order_cnt.wrapping_add(1 << 16);
                                }
                            }
                            c.bytes = dp.as_bytes().to_vec();
                        }
                    }
                }
            }
        }
    }
}

/// A source whose pictures carry `quirk`'s controls.
pub struct WithQuirk {
    inner: Box<dyn PictureSource>,
    quirk: ClientQuirk,
}

impl WithQuirk {
    /// Fails when the quirk is about another codec than the source's.
    pub fn new(inner: Box<dyn PictureSource>, quirk: ClientQuirk) -> Result<Self, SourceError> {
        if inner.codec() != quirk.codec() {
            return Err(SourceError(format!(
                "{quirk:?} is a {} quirk, the stream is {}",
                quirk.codec(),
                inner.codec()
            )));
        }
        Ok(WithQuirk { inner, quirk })
    }
}

impl PictureSource for WithQuirk {
    fn codec(&self) -> Codec {
        self.inner.codec()
    }

    fn mode_controls(&self) -> Vec<ModeControl> {
        self.inner.mode_controls()
    }

    fn next_picture(&mut self) -> Result<Option<CodedPicture>, SourceError> {
        let mut p = self.inner.next_picture()?;
        if let Some(p) = p.as_mut() {
            self.quirk.apply(p);
        }
        Ok(p)
    }

    fn flush(&mut self) -> Vec<u64> {
        self.inner.flush()
    }

    fn frames_hint(&self) -> Option<usize> {
        self.inner.frames_hint()
    }
}

/// GStreamer 1.26's v4l2slmpeg2dec on MPEG-2: QUANTISATION is set again only for a
/// sequence header that differs from the previous one or a quant matrix extension; a
/// sequence header that repeats the previous one resets the stream's matrices to what it
/// loads, or to the defaults (6.3.11), but the control keeps the last ones sent.
/// Rewrites `pics` so: a player built on it decodes those pictures with stale matrices
/// (what the gstreamer suite shows on sony-ct1 / sony-ct2).
pub fn gstreamer_mpeg2_quantisation(pics: &mut [crate::build::mpeg2::Mpeg2Picture]) {
    let mut sent: Option<crate::mpeg2::Quantisation> = None;
    for p in pics {
        match sent {
            Some(q) if !p.new_sequence_header && !p.quant_extension => p.quantisation = q,
            _ => sent = Some(p.quantisation),
        }
    }
}
