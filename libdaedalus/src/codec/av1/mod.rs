//! AV1 backend: the OUTPUT buffer holds tile data only; the temporal delimiter, sequence
//! header OBU and frame header OBU are rebuilt from SEQUENCE / FRAME / FILM_GRAIN, with the
//! reference slots mirrored from the controls, then decoded by libdav1d.

pub mod replay;

use ctrls::av1::{FilmGrain, Frame, Sequence, TileGroupEntry};

use crate::codec::CodecBackend;
use crate::dst::Dst;
use crate::engine::{DecodeReport, EngineError, EngineOptions, Request};

/// The current values of the AV1 stateless controls of a context.
#[derive(Debug, Clone, Default)]
pub struct Av1Controls {
    pub sequence: Sequence,
    pub frame: Frame,
    /// TILE_GROUP_ENTRY (dynamic array: one entry per tile of the request).
    pub tile_group_entries: Vec<TileGroupEntry>,
    /// FILM_GRAIN (absent when the client did not set it).
    pub film_grain: Option<FilmGrain>,
}

/// The AV1 codec backend.
pub struct Av1Backend {}

impl Av1Backend {
    pub fn new() -> Result<Self, EngineError> {
        Ok(Av1Backend {})
    }
}

impl CodecBackend for Av1Backend {
    fn decode(
        &mut self,
        _req: &Request<'_>,
        _dst: &mut Dst<'_>,
        _opts: &EngineOptions,
    ) -> Result<DecodeReport, EngineError> {
        Err(EngineError::Unsupported(
            "AV1 engine not implemented yet".into(),
        ))
    }

    fn reset(&mut self) {}
}
