//! The IVF picture sources (VP8, VP9, AV1): what they share.
//!
//! The builders give, per IVF frame, either a frame to decode or (VP9, AV1)
//! a `show_existing_frame` that writes out an earlier frame again; they
//! mirror reference slots (8; VP8's 3 as slots 0-2) that each decoded frame
//! refreshes per `refresh_frame_flags` (VP8 also copies between slots). A codec module turns its builder's events into
//! [`SlotEvent`]s ([`IvfCodec`]); [`IvfSource`] does the rest: display
//! bookkeeping, reference retention, non-key size changes (reference scaling).

use std::marker::PhantomData;

use super::{shown_schedule, ShownEvent};
use crate::set::Payload;
use crate::Codec;

use super::{CodedPicture, FieldRole, ModeControl, PictureSource, Rect, SourceError, StreamInfo};

/// One builder event, codec-neutral.
pub enum SlotEvent {
    /// A frame to decode: one request.
    Decode(SlotFrame),
    /// show_existing_frame: the frame with this timestamp is written out again.
    ShowExisting {
        timestamp: u64,
        /// The shown frame now fills every slot (an AV1 key frame).
        refresh_all: bool,
    },
}

/// A frame to decode, as [`IvfSource`] needs it.
pub struct SlotFrame {
    pub timestamp: u64,
    /// show_frame (a hidden frame is written out only through a
    /// show_existing_frame).
    pub shown: bool,
    pub key_frame: bool,
    /// Slots the frame is stored into.
    pub refresh_frame_flags: u8,
    /// The slots after this frame, when more changes than `refresh_frame_flags`
    /// says (VP8's golden / alt-ref copies); `None`: the refreshes only.
    pub slots_after: Option<[u64; 8]>,
    pub info: StreamInfo,
    /// The request's controls, in the order they are set.
    pub controls: Vec<Payload>,
    /// OUTPUT buffer contents.
    pub bitstream: Vec<u8>,
    /// Where it is, for errors: decode index, IVF frame index, byte offset.
    pub decode_index: u32,
    pub ivf_index: usize,
    pub stream_offset: usize,
}

/// A codec whose builder turns an IVF file into [`SlotEvent`]s.
pub trait IvfCodec {
    /// The builder's event.
    type Event;
    const CODEC: Codec;
    /// Builds the whole IVF file.
    fn build_ivf(ivf: &[u8]) -> Result<Vec<Self::Event>, SourceError>;
    fn slot_event(e: Self::Event) -> SlotEvent;
}

/// The stream facts of a VP9/AV1 frame: FFmpeg outputs the (upscaled)
/// frame size, render_size is a hint.
pub fn frame_info(width: u32, height: u32, bit_depth: u8, dpb_size: u32) -> StreamInfo {
    StreamInfo {
        coded_width: width,
        coded_height: height,
        visible: Rect {
            left: 0,
            top: 0,
            width,
            height,
        },
        bit_depth,
        dpb_size,
    }
}

/// A whole IVF stream, built up front.
pub struct IvfSource<C> {
    pictures: std::vec::IntoIter<CodedPicture>,
    frames: usize,
    requests: usize,
    codec: PhantomData<C>,
}

impl<C: IvfCodec> IvfSource<C> {
    /// Parses the whole IVF file.
    pub fn new(ivf: &[u8]) -> Result<Self, SourceError> {
        Self::from_events(C::build_ivf(ivf)?)
    }

    pub fn from_events(events: Vec<C::Event>) -> Result<Self, SourceError> {
        let events: Vec<SlotEvent> = events.into_iter().map(C::slot_event).collect();
        let shown: Vec<ShownEvent> = events
            .iter()
            .map(|e| match e {
                SlotEvent::Decode(f) => ShownEvent::Decoded {
                    timestamp: f.timestamp,
                    shown: f.shown,
                },
                SlotEvent::ShowExisting { timestamp, .. } => ShownEvent::ShowExisting {
                    timestamp: *timestamp,
                },
            })
            .collect();
        let plans = shown_schedule(&shown);
        let frames = plans.iter().map(|p| p.display.len()).sum();
        let mut plans = plans.into_iter();
        let mut slots = [0u64; 8];
        let mut pictures: Vec<CodedPicture> = Vec::new();
        let mut last_info: Option<StreamInfo> = None;
        for e in events {
            let f = match e {
                SlotEvent::Decode(f) => f,
                SlotEvent::ShowExisting {
                    timestamp,
                    refresh_all,
                } => {
                    // The buffers it drops stay referenced until the next
                    // request.
                    if refresh_all {
                        slots = [timestamp; 8];
                    }
                    continue;
                }
            };
            let plan = plans.next().unwrap_or_default();
            // A size change on a non-key frame (reference scaling): the
            // frame is decoded into the buffers of the last key frame's size
            // and fills its top-left corner.
            let mut info = f.info;
            let mut picture_rect = None;
            match last_info {
                Some(l) if l != f.info && !f.key_frame => {
                    if f.info.coded_width > l.coded_width
                        || f.info.coded_height > l.coded_height
                        || f.info.bit_depth != l.bit_depth
                    {
                        return Err(SourceError(format!(
                            "{} frame {} (IVF frame {}, byte {}): {}x{} {}-bit on a non-key \
                             frame does not fit the {}x{} {}-bit buffers of the last key frame",
                            C::CODEC.name().to_ascii_uppercase(),
                            f.decode_index,
                            f.ivf_index,
                            f.stream_offset,
                            f.info.coded_width,
                            f.info.coded_height,
                            f.info.bit_depth,
                            l.coded_width,
                            l.coded_height,
                            l.bit_depth
                        )));
                    }
                    info = l;
                    picture_rect = Some(f.info.visible);
                }
                _ => last_info = Some(f.info),
            }
            // Buffers to keep: the slots before (what it reads) and after it.
            let mut references: Vec<u64> = slots.iter().copied().filter(|&t| t != 0).collect();
            match f.slots_after {
                Some(after) => slots = after,
                None => {
                    for (i, s) in slots.iter_mut().enumerate() {
                        if f.refresh_frame_flags & (1 << i) != 0 {
                            *s = f.timestamp;
                        }
                    }
                }
            }
            references.extend(slots.iter().copied().filter(|&t| t != 0));
            references.sort_unstable();
            references.dedup();
            pictures.push(CodedPicture {
                controls: f.controls,
                timestamp: f.timestamp,
                field: FieldRole::Frame,
                slice: None,
                info,
                picture_rect,
                references,
                display: plan.display,
                displays: plan.displays,
                bitstream: f.bitstream,
            });
        }
        let requests = pictures.len();
        Ok(Self {
            pictures: pictures.into_iter(),
            frames,
            requests,
            codec: PhantomData,
        })
    }

    /// Frames written out (shown frames and show_existing_frame repeats).
    pub fn frames(&self) -> usize {
        self.frames
    }

    /// Requests (coded frames, hidden ones included).
    pub fn requests(&self) -> usize {
        self.requests
    }
}

impl<C: IvfCodec> PictureSource for IvfSource<C> {
    fn codec(&self) -> Codec {
        C::CODEC
    }

    fn mode_controls(&self) -> Vec<ModeControl> {
        Vec::new()
    }

    fn next_picture(&mut self) -> Result<Option<CodedPicture>, SourceError> {
        Ok(self.pictures.next())
    }

    fn flush(&mut self) -> Vec<u64> {
        Vec::new()
    }
}
