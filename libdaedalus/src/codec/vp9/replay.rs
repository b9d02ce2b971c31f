//! VP9 replay: IVF -> `ctrls::build::vp9` requests -> engine -> display-order frames.

use crate::replay::{ReplayError, ReplayOptions, ReplaySummary};

/// Replays a VP9 IVF file; `sink` receives each shown frame's planar bytes (I420, or
/// yuv420p10le for 10-bit streams) in display order.
pub fn replay_ivf(
    _data: &[u8],
    _opts: &ReplayOptions,
    _sink: impl FnMut(&[u8]) -> std::io::Result<()>,
) -> Result<ReplaySummary, ReplayError> {
    Err(ReplayError::Build("VP9 replay not implemented yet".into()))
}
