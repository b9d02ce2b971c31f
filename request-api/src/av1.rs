//! AV1 through the picture-source interface: `ctrls::build::av1::Av1Builder`
//! events (IVF, low-overhead OBUs) -> requests.
//!
//! Each frame (header + all its tile groups) is one request with
//! `AV1_SEQUENCE`, `AV1_FRAME`, `AV1_TILE_GROUP_ENTRY` (one entry per tile)
//! and, for sequences with film grain parameters, `AV1_FILM_GRAIN`; OUTPUT
//! holds the tile group payloads. A `show_existing_frame` gives no request:
//! the frame it names is written out again (and, for a key frame, fills
//! every reference slot). References are the 8 slots the builder mirrors.

use ctrls::av1::FrameType;
use ctrls::build::av1::{Av1Builder, Av1Event, Av1Request};

use crate::bookkeeping::{shown_schedule, ShownEvent};
use crate::picture::{
    Codec, CodedPicture, ControlPayload, FieldRole, ModeControl, PictureSource, Rect, SourceError,
    StreamInfo,
};

/// CAPTURE buffers the AV1 reference state needs: 8 slots and the frame
/// being decoded.
pub const AV1_DPB_SIZE: u32 = 9;

/// The controls of one AV1 request, in the order they are set.
pub fn av1_controls(r: &Av1Request) -> Vec<ControlPayload> {
    let mut v = vec![
        ControlPayload::of(&r.sequence),
        ControlPayload::of(&r.frame),
        ControlPayload::of_array(&r.tiles),
    ];
    if let Some(g) = &r.film_grain {
        v.push(ControlPayload::of(g));
    }
    v
}

fn stream_info(r: &Av1Request) -> StreamInfo {
    let d = &r.display;
    StreamInfo {
        coded_width: d.width,
        coded_height: d.height,
        // FFmpeg outputs the upscaled frame size (render_size is a hint).
        visible: Rect {
            left: 0,
            top: 0,
            width: d.width,
            height: d.height,
        },
        bit_depth: d.bit_depth,
        dpb_size: AV1_DPB_SIZE,
    }
}

/// A whole AV1 IVF stream, built up front.
pub struct Av1Source {
    pictures: std::vec::IntoIter<CodedPicture>,
    frames: usize,
    requests: usize,
}

impl Av1Source {
    /// Parses the whole IVF file.
    pub fn new(ivf: &[u8]) -> Result<Self, SourceError> {
        let events = Av1Builder::build_ivf(ivf).map_err(|e| SourceError(e.to_string()))?;
        Self::from_events(events)
    }

    pub fn from_events(events: Vec<Av1Event>) -> Result<Self, SourceError> {
        let shown: Vec<ShownEvent> = events
            .iter()
            .map(|e| match e {
                Av1Event::Decode(r) => ShownEvent::Decoded {
                    timestamp: r.timestamp,
                    shown: r.display.shown,
                },
                Av1Event::ShowExisting { timestamp, .. } => ShownEvent::ShowExisting {
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
            let r = match e {
                Av1Event::Decode(r) => r,
                Av1Event::ShowExisting {
                    timestamp,
                    key_frame,
                    ..
                } => {
                    // A shown key frame refreshes every slot (the buffers
                    // it drops stay referenced until the next request).
                    if key_frame {
                        slots = [timestamp; 8];
                    }
                    continue;
                }
            };
            let plan = plans.next().unwrap_or_default();
            let info = stream_info(&r);
            let key = r.frame.frame_type == FrameType::Key as u32;
            if last_info.is_some_and(|l| l != info) && !key {
                return Err(SourceError(format!(
                    "AV1 frame {} (IVF frame {}, byte {}): {}x{} size change on a non-key frame \
                     (reference scaling) is not supported",
                    r.decode_index, r.ivf_index, r.stream_offset, r.display.width, r.display.height
                )));
            }
            last_info = Some(info);
            let mut references: Vec<u64> = slots.iter().copied().filter(|&t| t != 0).collect();
            for (i, s) in slots.iter_mut().enumerate() {
                if r.frame.refresh_frame_flags & (1 << i) != 0 {
                    *s = r.timestamp;
                }
            }
            references.extend(slots.iter().copied().filter(|&t| t != 0));
            references.sort_unstable();
            references.dedup();
            pictures.push(CodedPicture {
                controls: av1_controls(&r),
                timestamp: r.timestamp,
                field: FieldRole::Frame,
                info,
                references,
                display: plan.display,
                displays: plan.displays,
                bitstream: r.bitstream,
            });
        }
        let requests = pictures.len();
        Ok(Self {
            pictures: pictures.into_iter(),
            frames,
            requests,
        })
    }

    /// Frames written out (shown frames and show_existing_frame repeats).
    pub fn frames(&self) -> usize {
        self.frames
    }

    /// Requests (frames with tile data).
    pub fn requests(&self) -> usize {
        self.requests
    }
}

impl PictureSource for Av1Source {
    fn codec(&self) -> Codec {
        Codec::Av1
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
