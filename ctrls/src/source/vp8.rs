//! VP8 through the picture-source interface: `crate::build::vp8::Vp8Builder`
//! requests (IVF) -> pictures.
//!
//! Each frame (hidden alt-refs included) is one request with the `VP8_FRAME`
//! control and the whole frame as OUTPUT bytes. VP8 has no
//! show_existing_frame: a hidden frame is never written out. References are
//! the last / golden / alt-ref slots the builder mirrors, as slots 0-2 of
//! [`super::ivf`].

use crate::build::vp8::{Vp8Builder, Vp8Request};
use crate::vp8::Vp8Controls;

use super::ivf::{frame_info, IvfCodec, IvfSource, SlotEvent, SlotFrame};
use crate::set::Payload;
use crate::Codec;

use super::SourceError;

/// CAPTURE buffers the VP8 reference state needs: 3 slots and the frame
/// being decoded.
pub const VP8_DPB_SIZE: u32 = 4;

/// The control set of one VP8 request.
pub fn vp8_set(r: &Vp8Request) -> Vp8Controls {
    Vp8Controls { frame: r.frame }
}

/// The controls of one VP8 request, in the order they are set.
pub fn vp8_controls(r: &Vp8Request) -> Vec<Payload> {
    vp8_set(r).to_payloads()
}

/// VP8 as an [`IvfCodec`].
pub enum Vp8 {}

impl IvfCodec for Vp8 {
    type Event = Vp8Request;
    const CODEC: Codec = Codec::Vp8;

    fn build_ivf(ivf: &[u8]) -> Result<Vec<Vp8Request>, SourceError> {
        Vp8Builder::build_ivf(ivf).map_err(|e| SourceError(e.to_string()))
    }

    fn slot_event(r: Vp8Request) -> SlotEvent {
        let mut slots_after = [0u64; 8];
        for (s, t) in slots_after.iter_mut().zip(r.slots_after) {
            *s = t.unwrap_or(0);
        }
        SlotEvent::Decode(SlotFrame {
            timestamp: r.timestamp,
            shown: r.shown,
            key_frame: r.frame.is_key_frame(),
            refresh_frame_flags: r.refresh,
            slots_after: Some(slots_after),
            info: frame_info(
                u32::from(r.frame.width),
                u32::from(r.frame.height),
                8,
                VP8_DPB_SIZE,
            ),
            controls: vp8_controls(&r),
            decode_index: r.decode_index,
            ivf_index: r.ivf_index,
            stream_offset: r.stream_offset,
            bitstream: r.bitstream,
        })
    }
}

/// A whole VP8 IVF stream, built up front.
pub type Vp8Source = IvfSource<Vp8>;
