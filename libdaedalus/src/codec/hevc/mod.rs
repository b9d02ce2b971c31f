//! HEVC backend pieces: parameter set synthesis from the controls and the
//! slice header rewrite. (The backend itself, the CodecBackend over them,
//! comes next; until then HEVC requests still fail with "no engine".)

pub mod slice;
pub mod synth;
