//! H.264 through the picture-source interface: `ctrls::build::H264Builder`
//! pictures -> requests (frame-based decoding, Annex B start codes).

use ctrls::build::h264::{display_order, Field, H264Picture};
use ctrls::build::H264Builder;
use ctrls::h264::DpbEntryFlags;
use v4l2r::bindings as b;

use crate::bookkeeping::display_schedule;
use ctrls::set::Payload;
use ctrls::Codec;

use crate::picture::{
    CodedPicture, FieldRole, ModeControl, PictureSource, Rect, SourceError, StreamInfo,
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
    next: usize,
}

impl H264Source {
    /// Parses the whole Annex B stream.
    pub fn new(stream: &[u8]) -> Result<Self, SourceError> {
        let pics = H264Builder::build_stream(stream).map_err(|e| SourceError(e.to_string()))?;
        Ok(Self::from_pictures(pics))
    }

    pub fn from_pictures(pics: Vec<H264Picture>) -> Self {
        let order = display_order(&pics);
        let schedule = display_schedule(&order, pics.len());
        Self {
            pics,
            schedule,
            next: 0,
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
                id: b::V4L2_CID_STATELESS_H264_DECODE_MODE,
                value:
                    b::v4l2_stateless_h264_decode_mode_V4L2_STATELESS_H264_DECODE_MODE_FRAME_BASED
                        as i32,
            },
            ModeControl {
                id: b::V4L2_CID_STATELESS_H264_START_CODE,
                value: b::v4l2_stateless_h264_start_code_V4L2_STATELESS_H264_START_CODE_ANNEX_B
                    as i32,
            },
        ]
    }

    fn next_picture(&mut self) -> Result<Option<CodedPicture>, SourceError> {
        let i = self.next;
        let Some(p) = self.pics.get(i) else {
            return Ok(None);
        };
        self.next += 1;
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
        Ok(Some(CodedPicture {
            controls: h264_controls(p),
            bitstream: p.bitstream.clone(),
            timestamp: p.timestamp,
            field,
            info: stream_info(p),
            picture_rect: None,
            references,
            display: self.schedule[i]
                .iter()
                .map(|&d| self.pics[d].timestamp)
                .collect(),
            displays: 1,
        }))
    }

    fn flush(&mut self) -> Vec<u64> {
        // Every picture is announced by the schedule; nothing is left.
        Vec::new()
    }
}
