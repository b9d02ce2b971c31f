//! VP9 through the picture-source interface: `ctrls::build::vp9::Vp9Builder`
//! events (IVF) -> requests.
//!
//! Each coded frame (hidden alt-refs included) is one request with the
//! `VP9_FRAME` and `VP9_COMPRESSED_HDR` controls and the whole frame as
//! OUTPUT bytes. A `show_existing_frame` gives no request: the frame it names
//! is written out again. References are the 8 slots the builder mirrors.

use ctrls::build::vp9::{Vp9Builder, Vp9Event, Vp9Request};
use ctrls::vp9::FrameFlags;

use crate::bookkeeping::{shown_schedule, ShownEvent};
use crate::picture::{
    Codec, CodedPicture, ControlPayload, FieldRole, ModeControl, PictureSource, Rect, SourceError,
    StreamInfo,
};

/// CAPTURE buffers the VP9 reference state needs: 8 slots and the frame
/// being decoded.
pub const VP9_DPB_SIZE: u32 = 9;

/// The controls of one VP9 request, in the order they are set.
pub fn vp9_controls(r: &Vp9Request) -> Vec<ControlPayload> {
    vec![
        ControlPayload::of(&r.frame),
        ControlPayload::of(&r.compressed_hdr),
    ]
}

fn stream_info(r: &Vp9Request) -> StreamInfo {
    let d = &r.display;
    StreamInfo {
        coded_width: d.width,
        coded_height: d.height,
        // FFmpeg/libvpx output the frame size (render_size is a hint).
        visible: Rect {
            left: 0,
            top: 0,
            width: d.width,
            height: d.height,
        },
        bit_depth: d.bit_depth,
        dpb_size: VP9_DPB_SIZE,
    }
}

/// A whole VP9 IVF stream, built up front.
pub struct Vp9Source {
    pictures: std::vec::IntoIter<CodedPicture>,
    frames: usize,
    requests: usize,
}

impl Vp9Source {
    /// Parses the whole IVF file.
    pub fn new(ivf: &[u8]) -> Result<Self, SourceError> {
        let events = Vp9Builder::build_ivf(ivf).map_err(|e| SourceError(e.to_string()))?;
        Self::from_events(events)
    }

    pub fn from_events(events: Vec<Vp9Event>) -> Result<Self, SourceError> {
        let shown: Vec<ShownEvent> = events
            .iter()
            .map(|e| match e {
                Vp9Event::Decode(r) => ShownEvent::Decoded {
                    timestamp: r.timestamp,
                    shown: r.display.shown,
                },
                Vp9Event::ShowExisting { timestamp, .. } => ShownEvent::ShowExisting {
                    timestamp: *timestamp,
                },
            })
            .collect();
        let plans = shown_schedule(&shown);
        let frames = plans.iter().map(|p| p.display.len()).sum();
        let mut slots = [0u64; 8];
        let mut pictures = Vec::with_capacity(plans.len());
        let mut last_info: Option<StreamInfo> = None;
        let requests = events.into_iter().filter_map(|e| match e {
            Vp9Event::Decode(r) => Some(r),
            Vp9Event::ShowExisting { .. } => None,
        });
        for (r, plan) in requests.zip(plans) {
            let info = stream_info(&r);
            let key = r.frame.flags.contains(FrameFlags::KEY_FRAME);
            if last_info.is_some_and(|l| l != info) && !key {
                return Err(SourceError(format!(
                    "VP9 frame {} (IVF frame {}, byte {}): {}x{} size change on a non-key frame \
                     (reference scaling) is not supported",
                    r.decode_index, r.ivf_index, r.stream_offset, r.display.width, r.display.height
                )));
            }
            last_info = Some(info);
            // Buffers to keep: the slots before (what it reads) and after it.
            let mut references: Vec<u64> = slots.iter().copied().filter(|&t| t != 0).collect();
            for (i, s) in slots.iter_mut().enumerate() {
                if r.refresh_frame_flags & (1 << i) != 0 {
                    *s = r.timestamp;
                }
            }
            references.extend(slots.iter().copied().filter(|&t| t != 0));
            references.sort_unstable();
            references.dedup();
            pictures.push(CodedPicture {
                controls: vp9_controls(&r),
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

    /// Requests (coded frames, hidden ones included).
    pub fn requests(&self) -> usize {
        self.requests
    }
}

impl PictureSource for Vp9Source {
    fn codec(&self) -> Codec {
        Codec::Vp9
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
