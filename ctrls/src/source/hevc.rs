//! HEVC through the picture-source interface: `crate::build::hevc` pictures
//! -> requests as GStreamer's v4l2slh265dec sends them, Annex B start codes.
//! Frame-based: one request per picture (SPS, PPS, SCALING_MATRIX,
//! DECODE_PARAMS, SLICE_PARAMS of every slice segment, ENTRY_POINT_OFFSETS
//! when there are any). Slice-based: one request per slice segment, all but
//! a picture's last holding the CAPTURE buffer; each with the picture's
//! controls, that segment's SLICE_PARAMS (one element) and its entry points.
//! START_CODE NONE ([`HevcSource::with_start_code`]): the same requests with each
//! slice segment's 00 00 01 left out, and `bit_size` / `data_byte_offset` without it.

use crate::build::hevc::{HevcBuilder, HevcPicture};
use crate::control::RawEnum;
use crate::hevc::{DecodeMode, EntryPointOffset, StartCode};
use crate::set::Payload;
use crate::Codec;

use super::{
    display_schedule, CodedPicture, FieldRole, ModeControl, PictureSource, Rect, SliceOf,
    SourceError, StreamInfo,
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

/// The controls of slice segment `i` of a picture in slice-based mode.
pub fn hevc_slice_controls(p: &HevcPicture, i: usize) -> Vec<Payload> {
    let mut v = vec![
        Payload::of(&p.sps),
        Payload::of(&p.pps),
        Payload::of(&p.scaling_matrix),
        Payload::of(&p.decode_params),
        Payload::of_array(std::slice::from_ref(&p.slice_params[i])),
    ];
    let from: u32 = p.slice_params[..i]
        .iter()
        .map(|s| s.num_entry_point_offsets)
        .sum();
    let n = p.slice_params[i].num_entry_point_offsets;
    if n > 0 {
        let e: Vec<EntryPointOffset> = p.entry_point_offsets[from as usize..(from + n) as usize]
            .iter()
            .map(|&o| EntryPointOffset(o))
            .collect();
        v.push(Payload::of_array(&e));
    }
    v
}

/// The slice segments of a picture's OUTPUT bytes, by SLICE_PARAMS.bit_size
/// (each with its start code).
fn split_slices(p: &HevcPicture) -> Result<Vec<&[u8]>, SourceError> {
    let mut at = 0usize;
    let mut v = Vec::with_capacity(p.slice_params.len());
    for (i, sp) in p.slice_params.iter().enumerate() {
        let len = (sp.bit_size / 8) as usize;
        let Some(s) = p.bitstream.get(at..at + len) else {
            return Err(SourceError(format!(
                "picture {}: slice {i} ends past the picture's {} bytes",
                p.decode_index,
                p.bitstream.len()
            )));
        };
        v.push(s);
        at += len;
    }
    Ok(v)
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

/// Drops the 00 00 01 before each slice segment of `p` (located by bit_size), and the
/// 24 bits / 3 bytes of it from `bit_size` / `data_byte_offset`.
fn strip_start_codes(p: &mut HevcPicture) -> Result<(), SourceError> {
    let mut out = Vec::with_capacity(p.bitstream.len());
    for (i, seg) in split_slices(p)?.into_iter().enumerate() {
        let nal = seg.strip_prefix(&[0, 0, 1]).ok_or_else(|| {
            SourceError(format!(
                "picture {}: slice {i} has no 00 00 01",
                p.decode_index
            ))
        })?;
        out.extend_from_slice(nal);
    }
    for sp in &mut p.slice_params {
        sp.bit_size -= 24;
        sp.data_byte_offset -= 3;
    }
    p.bitstream = out;
    Ok(())
}

/// A whole HEVC stream, built up front.
pub struct HevcSource {
    pics: Vec<HevcPicture>,
    schedule: Vec<Vec<usize>>,
    mode: DecodeMode,
    start_code: StartCode,
    /// Next picture, and in slice-based mode its next slice segment.
    next: usize,
    next_slice: usize,
}

impl HevcSource {
    /// Parses the whole Annex B stream.
    pub fn new(stream: &[u8]) -> Result<Self, SourceError> {
        let pics = HevcBuilder::build_stream(stream).map_err(|e| SourceError(e.to_string()))?;
        Ok(Self::from_pictures(pics))
    }

    /// Parses the whole Annex B stream, for decoding in `mode`.
    pub fn with_mode(stream: &[u8], mode: DecodeMode) -> Result<Self, SourceError> {
        let mut s = Self::new(stream)?;
        s.mode = mode;
        Ok(s)
    }

    /// The requests with START_CODE `sc`: for NONE, every slice segment loses its
    /// start code (see the module doc). Start codes once dropped are not put back.
    pub fn with_start_code(mut self, sc: StartCode) -> Result<Self, SourceError> {
        match (self.start_code, sc) {
            (StartCode::AnnexB, StartCode::None) => {
                for p in &mut self.pics {
                    strip_start_codes(p)?;
                }
            }
            (StartCode::None, StartCode::AnnexB) => {
                return Err(SourceError(
                    "HEVC source: start codes dropped already (START_CODE NONE)".into(),
                ))
            }
            _ => {}
        }
        self.start_code = sc;
        Ok(self)
    }

    /// Requests the stream takes in the source's mode.
    pub fn requests(&self) -> usize {
        match self.mode {
            DecodeMode::FrameBased => self.pics.len(),
            DecodeMode::SliceBased => self.pics.iter().map(|p| p.slice_params.len()).sum(),
        }
    }

    pub fn from_pictures(pics: Vec<HevcPicture>) -> Self {
        let schedule = display_schedule(&display_order(&pics), pics.len());
        Self {
            pics,
            schedule,
            mode: DecodeMode::FrameBased,
            start_code: StartCode::AnnexB,
            next: 0,
            next_slice: 0,
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
                value: self.mode as i32,
                name: "HEVC_DECODE_MODE",
                value_name: self.mode.name(),
            },
            ModeControl {
                id: crate::hevc::CID_START_CODE,
                value: self.start_code as i32,
                name: "HEVC_START_CODE",
                value_name: self.start_code.name(),
            },
        ]
    }

    fn next_picture(&mut self) -> Result<Option<CodedPicture>, SourceError> {
        let i = self.next;
        let Some(p) = self.pics.get(i) else {
            return Ok(None);
        };
        // The request: the whole picture, or its next slice segment.
        let (slice, controls, bitstream) = match self.mode {
            DecodeMode::FrameBased => (None, hevc_controls(p), p.bitstream.clone()),
            DecodeMode::SliceBased => {
                let slices = split_slices(p)?;
                let j = self.next_slice;
                let of = SliceOf {
                    index: j as u32,
                    count: slices.len() as u32,
                };
                (Some(of), hevc_slice_controls(p, j), slices[j].to_vec())
            }
        };
        let last = slice.is_none_or(SliceOf::is_last);
        if last {
            self.next += 1;
            self.next_slice = 0;
        } else {
            self.next_slice += 1;
        }
        // Buffers to keep: what this picture reads, and what the DPB holds
        // after it (the next picture's DPB, which includes it when it is a
        // reference).
        let mut references = dpb_timestamps(p);
        if let Some(n) = self.pics.get(i + 1) {
            references.extend(dpb_timestamps(n));
        }
        references.sort_unstable();
        references.dedup();
        // The picture's display announcements go with its last request.
        let display = if last {
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
            field: FieldRole::Frame,
            slice,
            info: stream_info(p),
            picture_rect: None,
            references,
            display,
            displays: u32::from(p.display.output),
        }))
    }

    fn frames_hint(&self) -> Option<usize> {
        Some(self.schedule.iter().map(Vec::len).sum())
    }

    fn flush(&mut self) -> Vec<u64> {
        Vec::new()
    }
}
