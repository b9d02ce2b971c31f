//! AV1 through the picture-source interface: `crate::build::av1::Av1Builder`
//! events (IVF, low-overhead OBUs) -> requests.
//!
//! Each frame (header + all its tile groups) is one request with
//! `AV1_SEQUENCE`, `AV1_FRAME`, `AV1_TILE_GROUP_ENTRY` (one entry per tile)
//! and, for sequences with film grain parameters, `AV1_FILM_GRAIN`; OUTPUT
//! holds the tile group payloads. A `show_existing_frame` gives no request:
//! the frame it names is written out again (and, for a key frame, fills
//! every reference slot). References are the 8 slots the builder mirrors
//! (see [`super::ivf`]).

use crate::av1::{Av1Controls, FrameType};
use crate::build::av1::{Av1Builder, Av1Event, Av1Request};

use super::ivf::{frame_info, IvfCodec, IvfSource, SlotEvent, SlotFrame};
use crate::set::Payload;
use crate::Codec;

use super::SourceError;

/// CAPTURE buffers the AV1 reference state needs: 8 slots and the frame
/// being decoded.
pub const AV1_DPB_SIZE: u32 = 9;

/// The control set of one AV1 request (FILM_GRAIN only for sequences with
/// film grain parameters).
pub fn av1_set(r: &Av1Request) -> Av1Controls {
    Av1Controls {
        sequence: r.sequence,
        frame: r.frame,
        tile_group_entries: r.tiles.clone(),
        film_grain: r.film_grain,
    }
}

/// The controls of one AV1 request, in the order they are set.
pub fn av1_controls(r: &Av1Request) -> Vec<Payload> {
    av1_set(r).to_payloads()
}

/// AV1 as an [`IvfCodec`].
pub enum Av1 {}

impl IvfCodec for Av1 {
    type Event = Av1Event;
    const CODEC: Codec = Codec::Av1;

    fn build_ivf(ivf: &[u8]) -> Result<Vec<Av1Event>, SourceError> {
        Av1Builder::build_ivf(ivf).map_err(|e| SourceError(e.to_string()))
    }

    fn slot_event(e: Av1Event) -> SlotEvent {
        match e {
            Av1Event::Decode(r) => {
                let d = &r.display;
                SlotEvent::Decode(SlotFrame {
                    timestamp: r.timestamp,
                    shown: d.shown,
                    key_frame: r.frame.frame_type == FrameType::Key as u32,
                    refresh_frame_flags: r.frame.refresh_frame_flags,
                    slots_after: None,
                    info: frame_info(d.width, d.height, d.bit_depth, AV1_DPB_SIZE),
                    controls: av1_controls(&r),
                    decode_index: r.decode_index,
                    ivf_index: r.ivf_index,
                    stream_offset: r.stream_offset,
                    bitstream: r.bitstream,
                })
            }
            Av1Event::ShowExisting {
                timestamp,
                key_frame,
                ..
            } => SlotEvent::ShowExisting {
                timestamp,
                refresh_all: key_frame,
            },
        }
    }
}

/// A whole AV1 IVF stream, built up front (`requests()`: frames with tile
/// data).
pub type Av1Source = IvfSource<Av1>;
