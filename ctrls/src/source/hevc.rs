//! HEVC through the picture-source interface: `crate::build::hevc` pictures
//! -> requests as GStreamer's v4l2slh265dec sends them in frame-based mode
//! (one request per picture; SPS, PPS, SCALING_MATRIX, DECODE_PARAMS,
//! SLICE_PARAMS of every slice segment, ENTRY_POINT_OFFSETS when there are
//! any), Annex B start codes.

use crate::build::hevc::{HevcBuilder, HevcPicture};
use crate::control::RawEnum;
use crate::hevc::{DecodeMode, EntryPointOffset, StartCode};
use crate::set::Payload;
use crate::Codec;

use super::{
    display_schedule, CodedPicture, FieldRole, ModeControl, PictureSource, Rect, SourceError,
    StreamInfo,
};

/// CAPTURE buffers reserved for the HEVC DPB: 16 pictures plus the current one.
pub const HEVC_DPB_SIZE: u32 = 17;

/// The controls the client sets for one picture.
pub fn hevc_controls(p: &HevcPicture) -> Vec<Payload> {
    let mut v = vec![
        Payload::of(&p.sps),
        Payload::of(&p.pps),
        Payload::of(&p.scaling_matrix),
        Payload::of(&p.decode_params),
        Payload::of_array(&p.slice_params),
    ];
    if !p.entry_point_offsets.is_empty() {
        let e: Vec<EntryPointOffset> = p
            .entry_point_offsets
            .iter()
            .map(|&o| EntryPointOffset(o))
            .collect();
        v.push(Payload::of_array(&e));
    }
    v
}

/// Timestamps of the DPB entries of a picture.
fn dpb_timestamps(p: &HevcPicture) -> Vec<u64> {
    let d = &p.decode_params;
    d.dpb[..usize::from(d.num_active_dpb_entries).min(d.dpb.len())]
        .iter()
        .map(|e| e.timestamp)
        .collect()
}

fn stream_info(p: &HevcPicture) -> StreamInfo {
    let d = &p.display;
    StreamInfo {
        coded_width: d.width,
        coded_height: d.height,
        visible: Rect {
            left: d.crop.left,
            top: d.crop.top,
            width: d.crop.width,
            height: d.crop.height,
        },
        bit_depth: d.bit_depth_luma,
        dpb_size: HEVC_DPB_SIZE,
    }
}

/// Decode indices of the shown pictures in output order: by output epoch
/// (each IRAP with NoRaslOutputFlag starts one), then POC.
pub fn display_order(pics: &[HevcPicture]) -> Vec<usize> {
    let mut v: Vec<usize> = (0..pics.len())
        .filter(|&i| pics[i].display.output)
        .collect();
    v.sort_by_key(|&i| (pics[i].display.epoch, pics[i].display.poc));
    v
}

/// A whole HEVC stream, built up front.
pub struct HevcSource {
    pics: Vec<HevcPicture>,
    schedule: Vec<Vec<usize>>,
    next: usize,
}

impl HevcSource {
    /// Parses the whole Annex B stream.
    pub fn new(stream: &[u8]) -> Result<Self, SourceError> {
        let pics = HevcBuilder::build_stream(stream).map_err(|e| SourceError(e.to_string()))?;
        Ok(Self::from_pictures(pics))
    }

    pub fn from_pictures(pics: Vec<HevcPicture>) -> Self {
        let schedule = display_schedule(&display_order(&pics), pics.len());
        Self {
            pics,
            schedule,
            next: 0,
        }
    }

    pub fn pictures(&self) -> &[HevcPicture] {
        &self.pics
    }
}

impl PictureSource for HevcSource {
    fn codec(&self) -> Codec {
        Codec::Hevc
    }

    fn mode_controls(&self) -> Vec<ModeControl> {
        vec![
            ModeControl {
                id: crate::hevc::CID_DECODE_MODE,
                value: DecodeMode::FrameBased as i32,
                name: "HEVC_DECODE_MODE",
                value_name: DecodeMode::FrameBased.name(),
            },
            ModeControl {
                id: crate::hevc::CID_START_CODE,
                value: StartCode::AnnexB as i32,
                name: "HEVC_START_CODE",
                value_name: StartCode::AnnexB.name(),
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
        // after it (the next picture's DPB, which includes it when it is a
        // reference).
        let mut references = dpb_timestamps(p);
        if let Some(n) = self.pics.get(i + 1) {
            references.extend(dpb_timestamps(n));
        }
        references.sort_unstable();
        references.dedup();
        Ok(Some(CodedPicture {
            controls: hevc_controls(p),
            bitstream: p.bitstream.clone(),
            timestamp: p.timestamp,
            field: FieldRole::Frame,
            slice: None,
            info: stream_info(p),
            picture_rect: None,
            references,
            display: self.schedule[i]
                .iter()
                .map(|&d| self.pics[d].timestamp)
                .collect(),
            displays: u32::from(p.display.output),
        }))
    }

    fn flush(&mut self) -> Vec<u64> {
        Vec::new()
    }
}
