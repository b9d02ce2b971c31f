//! VP9 through the picture-source interface: `crate::build::vp9::Vp9Builder`
//! events (IVF) -> requests.
//!
//! Each coded frame (hidden alt-refs included) is one request with the
//! `VP9_FRAME` and `VP9_COMPRESSED_HDR` controls and the whole frame as
//! OUTPUT bytes. A `show_existing_frame` gives no request: the frame it names
//! is written out again. References are the 8 slots the builder mirrors
//! (see [`super::ivf`]).

use crate::build::vp9::{Vp9Builder, Vp9Event, Vp9Request};
use crate::vp9::{FrameFlags, Vp9Controls};

use super::ivf::{frame_info, IvfCodec, IvfSource, SlotEvent, SlotFrame};
use crate::set::Payload;
use crate::Codec;

use super::SourceError;

/// CAPTURE buffers the VP9 reference state needs: 8 slots and the frame
/// being decoded.
pub const VP9_DPB_SIZE: u32 = 9;

/// The control set of one VP9 request.
pub fn vp9_set(r: &Vp9Request) -> Vp9Controls {
    Vp9Controls {
        frame: r.frame,
        compressed_hdr: Some(r.compressed_hdr),
    }
}

/// The controls of one VP9 request, in the order they are set.
pub fn vp9_controls(r: &Vp9Request) -> Vec<Payload> {
    vp9_set(r).to_payloads()
}

/// VP9 as an [`IvfCodec`].
pub enum Vp9 {}

impl IvfCodec for Vp9 {
    type Event = Vp9Event;
    const CODEC: Codec = Codec::Vp9;

    fn build_ivf(ivf: &[u8]) -> Result<Vec<Vp9Event>, SourceError> {
        Vp9Builder::build_ivf(ivf).map_err(|e| SourceError(e.to_string()))
    }

    fn slot_event(e: Vp9Event) -> SlotEvent {
        match e {
            Vp9Event::Decode(r) => {
                let d = &r.display;
                SlotEvent::Decode(SlotFrame {
                    timestamp: r.timestamp,
                    shown: d.shown,
                    key_frame: r.frame.flags.contains(FrameFlags::KEY_FRAME),
                    refresh_frame_flags: r.refresh_frame_flags,
                    slots_after: None,
                    info: frame_info(d.width, d.height, d.bit_depth, VP9_DPB_SIZE),
                    controls: vp9_controls(&r),
                    decode_index: r.decode_index,
                    ivf_index: r.ivf_index,
                    stream_offset: r.stream_offset,
                    bitstream: r.bitstream,
                })
            }
            Vp9Event::ShowExisting { timestamp, .. } => SlotEvent::ShowExisting {
                timestamp,
                refresh_all: false,
            },
        }
    }
}

/// A whole VP9 IVF stream, built up front.
pub type Vp9Source = IvfSource<Vp9>;
