//! The client's stream sources: a file turned into requests exactly as a
//! stateless client sends them (controls, OUTPUT bytes, timestamps, CAPTURE
//! buffer holding, display order), codec-neutral. `daedalus-decode` queues
//! them on a device; the host replay feeds them to the engine, so the two
//! cannot drift.
//!
//! - [`h264`]: the H.264 source over `crate::build::H264Builder` (Annex B;
//!   frame-based, or slice-based: one request per slice).
//! - [`hevc`]: the HEVC source over `crate::build::hevc::HevcBuilder`
//!   (Annex B, frame-based).
//! - [`vp8`], [`vp9`], [`av1`]: the VP8 / VP9 / AV1 sources over the IVF
//!   builders (hidden and show-existing frames), all [`ivf::IvfSource`]s.
//! - [`mpeg2`]: the MPEG-2 source over `crate::build::mpeg2` (video
//!   elementary stream; frame pictures and field pairs).

use serde::Serialize;

pub mod av1;
pub mod h264;
pub mod hevc;
pub mod ivf;
pub mod mpeg2;
pub mod quirks;
pub mod vp8;
pub mod vp9;

use crate::set::Payload;
use crate::Codec;

/// How a picture uses its CAPTURE buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum FieldRole {
    /// A frame (or a complementary field pair coded as one picture).
    Frame,
    /// First field of a pair: queued with `V4L2_BUF_FLAG_M2M_HOLD_CAPTURE_BUF`,
    /// the CAPTURE buffer stays with the driver.
    FirstField,
    /// Second field: same timestamp as the first, decodes into the held buffer.
    SecondField,
}

/// Which slice of its picture a request carries (slice-based decoding: one
/// request per slice, all decoding into one CAPTURE buffer).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct SliceOf {
    /// From 0, in bitstream order.
    pub index: u32,
    /// Slices of the picture (of the field, for a field picture).
    pub count: u32,
}

impl SliceOf {
    pub fn is_first(self) -> bool {
        self.index == 0
    }

    pub fn is_last(self) -> bool {
        self.index + 1 >= self.count
    }
}

/// Visible rectangle inside the coded picture.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Rect {
    pub left: u32,
    pub top: u32,
    pub width: u32,
    pub height: u32,
}

/// Stream-level facts the OUTPUT/CAPTURE formats depend on. A change between
/// pictures is a resolution change: the client drains and re-allocates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct StreamInfo {
    /// Coded size (what S_FMT OUTPUT gets).
    pub coded_width: u32,
    pub coded_height: u32,
    /// Display (crop) rectangle.
    pub visible: Rect,
    /// Luma bit depth (8 or 10).
    pub bit_depth: u8,
    /// CAPTURE buffers the stream's DPB can hold at once (references plus
    /// pictures waiting for display).
    pub dpb_size: u32,
}

/// One request: a whole picture (frame-based decoding), or one slice of it
/// ([`CodedPicture::slice`]).
#[derive(Debug, Clone)]
pub struct CodedPicture {
    /// Controls set in the request, in this order.
    pub controls: Vec<Payload>,
    /// OUTPUT buffer contents.
    pub bitstream: Vec<u8>,
    /// Timestamp in ns (a multiple of 1000: v4l2 carries a timeval). Both
    /// fields of a pair share it; reference controls name CAPTURE buffers by it.
    pub timestamp: u64,
    pub field: FieldRole,
    /// The slice of the picture this request carries, in slice-based mode
    /// (`None`: the whole picture). Every slice but the last holds the
    /// CAPTURE buffer; every slice but the first decodes into the held one.
    /// The other fields are the picture's, the same on each of its slices,
    /// except `display` which only its last slice announces.
    pub slice: Option<SliceOf>,
    pub info: StreamInfo,
    /// The picture's own visible rectangle when it is not `info.visible`: a
    /// VP9/AV1 frame coded at another size than the key frame the buffers
    /// were allocated for (reference scaling) fills only this part of its
    /// CAPTURE buffer, as on hardware decoders.
    pub picture_rect: Option<Rect>,
    /// Timestamps of every picture the decoder state still refers to after
    /// this one is queued (the DPB's reference entries): their CAPTURE buffers
    /// must not be reused.
    pub references: Vec<u64>,
    /// Timestamps that become displayable once this picture is decoded, in
    /// display order (the output of the codec's bumping process; for VP9/AV1
    /// the picture itself when shown, then any show_existing_frame that
    /// follows it). A timestamp may come back: it is written out each time.
    pub display: Vec<u64>,
    /// How many times this picture will be written out in all (its CAPTURE
    /// buffer is kept until then): 1 for H.264, 0 for a hidden VP9/AV1
    /// frame, 1 + its show_existing_frame repeats otherwise.
    pub displays: u32,
}

impl CodedPicture {
    /// Queued with `V4L2_BUF_FLAG_M2M_HOLD_CAPTURE_BUF`: a later request
    /// (the second field, or the next slice) decodes into the same CAPTURE
    /// buffer, which the driver keeps until that request completes.
    pub fn holds_capture(&self) -> bool {
        self.field == FieldRole::FirstField || self.slice.is_some_and(|s| !s.is_last())
    }

    /// Decodes into the CAPTURE buffer an earlier request held (a second
    /// field, or a slice after the first): queues no CAPTURE buffer.
    pub fn continues_capture(&self) -> bool {
        self.field == FieldRole::SecondField || self.slice.is_some_and(|s| !s.is_first())
    }
}

/// Device-level (non-request) controls a source needs, e.g. the H.264
/// DECODE_MODE and START_CODE menus.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ModeControl {
    pub id: u32,
    pub value: i32,
    /// The control's and the value's names, for errors
    /// (`H264_DECODE_MODE`, `SLICE_BASED`).
    pub name: &'static str,
    pub value_name: &'static str,
}

/// Error a picture source reports.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct SourceError(pub String);

/// A builder that turns a stream into pictures.
pub trait PictureSource {
    fn codec(&self) -> Codec;
    /// Menu controls to set once on the device before streaming.
    fn mode_controls(&self) -> Vec<ModeControl>;
    /// The next picture in decode order, `None` at end of stream.
    fn next_picture(&mut self) -> Result<Option<CodedPicture>, SourceError>;
    /// At end of stream: timestamps still waiting for display, in order.
    fn flush(&mut self) -> Vec<u64>;
    /// The frames the whole stream displays, when the source knows it up front (for
    /// a progress display).
    fn frames_hint(&self) -> Option<usize> {
        None
    }
}

/// When each picture may be announced for display, given the whole stream's
/// display order: `order` lists decode indices in display order; the result
/// has, for each decode index `i`, the pictures (decode indices, in display
/// order) that become displayable once pictures `0..=i` are decoded. A
/// picture is displayable when it and every picture displayed before it are
/// decoded.
pub fn display_schedule(order: &[usize], decoded: usize) -> Vec<Vec<usize>> {
    let mut out = vec![Vec::new(); decoded];
    let mut max = 0;
    for &i in order {
        max = max.max(i);
        if let Some(slot) = out.get_mut(max) {
            slot.push(i);
        }
    }
    out
}

/// A VP9/AV1 stream event, reduced to what display needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShownEvent {
    /// A decoded frame (one request); `shown` = show_frame.
    Decoded { timestamp: u64, shown: bool },
    /// show_existing_frame of the frame with this timestamp.
    ShowExisting { timestamp: u64 },
}

/// Display plan of one decoded frame of a VP9/AV1 stream.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ShownPlan {
    /// Timestamps to write out once this frame is decoded: itself when
    /// shown, then every show_existing_frame up to the next decoded frame.
    pub display: Vec<u64>,
    /// How many times this frame is written out in the whole stream.
    pub displays: u32,
}

/// VP9/AV1 output order is the stream order of shown frames and
/// show_existing_frame events: returns one plan per `Decoded` event.
/// A show_existing_frame before any decoded frame is ignored (the builders
/// reject it: its slot would be empty).
pub fn shown_schedule(events: &[ShownEvent]) -> Vec<ShownPlan> {
    let mut plans: Vec<ShownPlan> = Vec::new();
    let mut index_of = std::collections::HashMap::new();
    for e in events {
        match *e {
            ShownEvent::Decoded { timestamp, shown } => {
                index_of.insert(timestamp, plans.len());
                plans.push(ShownPlan {
                    display: if shown { vec![timestamp] } else { Vec::new() },
                    displays: u32::from(shown),
                });
            }
            ShownEvent::ShowExisting { timestamp } => {
                let Some(last) = plans.last_mut() else {
                    continue;
                };
                last.display.push(timestamp);
                if let Some(&i) = index_of.get(&timestamp) {
                    plans[i].displays += 1;
                }
            }
        }
    }
    plans
}

/// The default source of `codec` over a whole stream (H.264, HEVC: Annex B,
/// frame-based; MPEG-2: video elementary stream; VP8, VP9, AV1: IVF).
pub fn open(codec: Codec, data: &[u8]) -> Result<Box<dyn PictureSource>, SourceError> {
    Ok(match codec {
        Codec::H264 => Box::new(h264::H264Source::new(data)?),
        Codec::Hevc => Box::new(hevc::HevcSource::new(data)?),
        Codec::Vp8 => Box::new(vp8::Vp8Source::new(data)?),
        Codec::Vp9 => Box::new(vp9::Vp9Source::new(data)?),
        Codec::Av1 => Box::new(av1::Av1Source::new(data)?),
        Codec::Mpeg2 => Box::new(mpeg2::Mpeg2Source::new(data)?),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedule_of_an_ibbp_stream() {
        // Decode order I0 P1 B2 B3 P4 B5; display order I0 B2 B3 P1 B5 P4.
        let order = [0, 2, 3, 1, 5, 4];
        assert_eq!(
            display_schedule(&order, 6),
            vec![vec![0], vec![], vec![2], vec![3, 1], vec![], vec![5, 4]]
        );
    }

    #[test]
    fn schedule_in_decode_order_is_immediate() {
        assert_eq!(
            display_schedule(&[0, 1, 2], 3),
            vec![vec![0], vec![1], vec![2]]
        );
    }

    #[test]
    fn shown_schedule_of_a_hidden_altref_shown_later() {
        // VP9/AV1: key (shown), alt-ref (hidden), inter (shown), then
        // show_existing of the alt-ref, twice.
        use ShownEvent::*;
        let ev = [
            Decoded {
                timestamp: 1000,
                shown: true,
            },
            Decoded {
                timestamp: 2000,
                shown: false,
            },
            Decoded {
                timestamp: 3000,
                shown: true,
            },
            ShowExisting { timestamp: 2000 },
            ShowExisting { timestamp: 2000 },
        ];
        let plans = shown_schedule(&ev);
        assert_eq!(
            plans,
            vec![
                ShownPlan {
                    display: vec![1000],
                    displays: 1
                },
                ShownPlan {
                    display: vec![],
                    displays: 2
                },
                ShownPlan {
                    display: vec![3000, 2000, 2000],
                    displays: 1
                },
            ]
        );
    }
}
