//! H.264 through the picture-source interface: `crate::build::H264Builder`
//! pictures -> requests, Annex B start codes; frame-based decoding (one
//! request per picture) or slice-based (one request per slice).

use crate::build::h264::{display_order, Field, H264Picture};
use crate::build::H264Builder;
use crate::control::RawEnum;
use crate::h264::{DecodeMode, DpbEntryFlags, StartCode};

use super::display_schedule;
use crate::set::Payload;
use crate::Codec;

use super::{
    CodedPicture, FieldRole, ModeControl, PictureSource, Rect, SliceOf, SourceError, StreamInfo,
};

/// CAPTURE buffers reserved for the H.264 DPB: 16 frames plus the current one
/// (constant so an SPS change of the same size is not a resolution change).
pub const H264_DPB_SIZE: u32 = 17;

/// The controls the client sets for one H.264 picture in frame-based mode:
/// SPS, PPS, SCALING_MATRIX (always: the resolved lists, flat when the stream
/// has none, so a stale matrix never lingers), DECODE_PARAMS. Frame-based
/// decoders read slice headers from the bitstream; SLICE_PARAMS and
/// PRED_WEIGHTS are for slice-based ones.
pub fn h264_controls(p: &H264Picture) -> Vec<Payload> {
    vec![
        Payload::of(&p.sps),
        Payload::of(&p.pps),
        Payload::of(&p.scaling_matrix),
        Payload::of(&p.decode_params),
    ]
}

/// The controls of slice `i` of a picture in slice-based mode: those of
/// [`h264_controls`], then that slice's SLICE_PARAMS (one element) and that
/// slice's PRED_WEIGHTS when it has explicit weights (a slice without them
/// sets none: its decoder does not read the control).
pub fn h264_slice_controls(p: &H264Picture, i: usize) -> Vec<Payload> {
    let mut v = h264_controls(p);
    v.push(Payload::of_array(std::slice::from_ref(&p.slice_params[i])));
    if let Some(Some(w)) = p.slice_pred_weights.get(i) {
        v.push(Payload::of(w));
    }
    v
}

/// The slice NAL units of a picture's Annex B bitstream, each with its start
/// code (the builder writes `00 00 01` before every slice; emulation
/// prevention keeps the pattern out of NAL payloads).
pub fn split_slices(bitstream: &[u8]) -> Vec<&[u8]> {
    let starts: Vec<usize> = bitstream
        .windows(3)
        .enumerate()
        .filter(|(_, w)| *w == [0, 0, 1])
        .map(|(i, _)| i)
        .collect();
    starts
        .iter()
        .enumerate()
        .map(|(k, &a)| &bitstream[a..starts.get(k + 1).copied().unwrap_or(bitstream.len())])
        .collect()
}

/// Timestamps of the valid DPB entries of a picture.
pub fn dpb_timestamps(p: &H264Picture) -> Vec<u64> {
    p.decode_params
        .dpb
        .iter()
        .filter(|e| e.flags.contains(DpbEntryFlags::VALID))
        .map(|e| e.reference_ts)
        .collect()
}

fn stream_info(p: &H264Picture) -> StreamInfo {
    let d = &p.display;
    StreamInfo {
        coded_width: d.width_mbs * 16,
        coded_height: d.height_mbs * 16,
        visible: Rect {
            left: d.crop.left,
            top: d.crop.top,
            width: d.crop.width,
            height: d.crop.height,
        },
        bit_depth: d.bit_depth_luma,
        dpb_size: H264_DPB_SIZE,
    }
}

/// A whole H.264 stream, built up front.
pub struct H264Source {
    pics: Vec<H264Picture>,
    schedule: Vec<Vec<usize>>,
    mode: DecodeMode,
    /// Next picture, and in slice-based mode its next slice.
    next: usize,
    next_slice: usize,
}

impl H264Source {
    /// Parses the whole Annex B stream (frame-based decoding).
    pub fn new(stream: &[u8]) -> Result<Self, SourceError> {
        Self::with_mode(stream, DecodeMode::FrameBased)
    }

    /// Parses the whole Annex B stream, for decoding in `mode`.
    pub fn with_mode(stream: &[u8], mode: DecodeMode) -> Result<Self, SourceError> {
        let pics = H264Builder::build_stream(stream).map_err(|e| SourceError(e.to_string()))?;
        Ok(Self::from_pictures(pics).decode_mode(mode))
    }

    pub fn from_pictures(pics: Vec<H264Picture>) -> Self {
        let order = display_order(&pics);
        let schedule = display_schedule(&order, pics.len());
        Self {
            pics,
            schedule,
            mode: DecodeMode::FrameBased,
            next: 0,
            next_slice: 0,
        }
    }

    /// The same source in `mode` (before the first picture is taken).
    pub fn decode_mode(mut self, mode: DecodeMode) -> Self {
        self.mode = mode;
        self
    }

    /// Requests the stream takes in the source's mode.
    pub fn requests(&self) -> usize {
        match self.mode {
            DecodeMode::FrameBased => self.pics.len(),
            DecodeMode::SliceBased => self.pics.iter().map(|p| p.slice_params.len()).sum(),
        }
    }

    pub fn len(&self) -> usize {
        self.pics.len()
    }

    pub fn is_empty(&self) -> bool {
        self.pics.is_empty()
    }

    /// Number of displayed frames (CAPTURE buffers) the stream yields.
    pub fn frames(&self) -> usize {
        self.schedule.iter().map(Vec::len).sum()
    }

    pub fn pictures(&self) -> &[H264Picture] {
        &self.pics
    }
}

impl PictureSource for H264Source {
    fn codec(&self) -> Codec {
        Codec::H264
    }

    fn mode_controls(&self) -> Vec<ModeControl> {
        vec![
            ModeControl {
                id: crate::h264::CID_DECODE_MODE,
                value: self.mode as i32,
                name: "H264_DECODE_MODE",
                value_name: self.mode.name(),
            },
            ModeControl {
                id: crate::h264::CID_START_CODE,
                value: StartCode::AnnexB as i32,
                name: "H264_START_CODE",
                value_name: StartCode::AnnexB.name(),
            },
        ]
    }

    fn next_picture(&mut self) -> Result<Option<CodedPicture>, SourceError> {
        let i = self.next;
        let Some(p) = self.pics.get(i) else {
            return Ok(None);
        };
        // The request: the whole picture, or its next slice.
        let (slice, controls, bitstream) = match self.mode {
            DecodeMode::FrameBased => (None, h264_controls(p), p.bitstream.clone()),
            DecodeMode::SliceBased => {
                let slices = split_slices(&p.bitstream);
                if slices.len() != p.slice_params.len() {
                    return Err(SourceError(format!(
                        "picture {i}: {} slice NAL units in the bitstream, {} SLICE_PARAMS",
                        slices.len(),
                        p.slice_params.len()
                    )));
                }
                let j = self.next_slice;
                let of = SliceOf {
                    index: j as u32,
                    count: slices.len() as u32,
                };
                (Some(of), h264_slice_controls(p, j), slices[j].to_vec())
            }
        };
        if slice.is_none_or(SliceOf::is_last) {
            self.next += 1;
            self.next_slice = 0;
        } else {
            self.next_slice += 1;
        }
        // Buffers to keep: what this picture reads, and what the DPB holds
        // after it (which includes it when it is a reference).
        let mut references = dpb_timestamps(p);
        if let Some(n) = self.pics.get(i + 1) {
            references.extend(dpb_timestamps(n));
        }
        references.sort_unstable();
        references.dedup();
        let field = match (p.field, p.hold_capture) {
            (_, true) => FieldRole::FirstField,
            (Field::Frame, false) => FieldRole::Frame,
            (_, false) => {
                // A second field shares its first field's timestamp.
                let paired = i > 0 && self.pics[i - 1].timestamp == p.timestamp;
                if paired {
                    FieldRole::SecondField
                } else {
                    FieldRole::Frame
                }
            }
        };
        // The picture's display announcements go with its last request.
        let display = if slice.is_none_or(SliceOf::is_last) {
            self.schedule[i]
                .iter()
                .map(|&d| self.pics[d].timestamp)
                .collect()
        } else {
            Vec::new()
        };
        Ok(Some(CodedPicture {
            controls,
            bitstream,
            timestamp: p.timestamp,
            field,
            slice,
            info: stream_info(p),
            picture_rect: None,
            references,
            display,
            displays: 1,
        }))
    }

    fn frames_hint(&self) -> Option<usize> {
        Some(self.frames())
    }

    fn flush(&mut self) -> Vec<u64> {
        // Every picture is announced by the schedule; nothing is left.
        Vec::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A slice followed by trailing zero bytes, then a slice with an
    /// emulation prevention byte: cut at the second start code, zeros left
    /// with the first slice.
    #[test]
    fn split_slices_keeps_start_codes_and_trailing_zeros() {
        let bs = [0, 0, 1, 0x65, 7, 0, 0, 0, 0, 1, 0x41, 0, 0, 3, 1, 9];
        assert_eq!(split_slices(&bs), vec![&bs[..7], &bs[7..]]);
        assert!(split_slices(&[]).is_empty());
    }
}
