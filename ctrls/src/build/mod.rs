//! Stream -> controls builders, doing what a stateless client does.

pub mod annexb;
pub mod av1;
pub mod h264;
mod h264_lists;
mod h264_refs;
pub mod hevc;
pub mod ivf;
pub mod mpeg2;
pub mod vp8;
mod vp8_tables;
pub mod vp9;

pub use self::h264::{H264Builder, H264Picture};

#[cfg(test)]
mod h264_field_tests;

use self::annexb::LeadingGarbage;

/// Errors: every one carries the byte offset (in the whole stream fed to the
/// builder) of the NAL unit header where the problem was found.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BuildError {
    /// Non-zero bytes before the first start code.
    #[error("byte {offset}: {len} byte(s) of data before the first Annex B start code")]
    NoStartCode {
        /// Offset of the first offending byte.
        offset: usize,
        /// Number of bytes before the start code.
        len: usize,
    },
    /// A NAL unit could not be parsed (truncated, corrupt, or refers to a
    /// missing parameter set).
    #[error("byte {offset}: NAL unit type {nal_type}: {msg}")]
    Parse {
        /// Offset of the NAL unit header.
        offset: usize,
        /// nal_unit_type.
        nal_type: u8,
        /// What the parser said.
        msg: String,
    },
    /// A valid stream using a feature this builder (or FFmpeg) does not handle:
    /// data partitioning, FMO/ASO slice groups.
    #[error("byte {offset}: unsupported: {what}")]
    Unsupported {
        /// Offset of the NAL unit header.
        offset: usize,
        /// The feature.
        what: String,
    },
    /// Stream-level inconsistency (reference marking of a missing picture, DPB
    /// overflow, forbidden_zero_bit set).
    #[error("byte {offset}: {msg}")]
    Stream {
        /// Offset of the NAL unit header.
        offset: usize,
        /// Description.
        msg: String,
    },
}

impl BuildError {
    /// Byte offset of the problem in the stream.
    pub fn offset(&self) -> usize {
        match self {
            BuildError::NoStartCode { offset, .. }
            | BuildError::Parse { offset, .. }
            | BuildError::Unsupported { offset, .. }
            | BuildError::Stream { offset, .. } => *offset,
        }
    }
}

impl From<LeadingGarbage> for BuildError {
    fn from(e: LeadingGarbage) -> Self {
        BuildError::NoStartCode {
            offset: e.offset,
            len: e.len,
        }
    }
}

/// Runs a cros-codecs parser call, turning a panic on hostile input into an error.
pub(crate) fn guard<T>(f: impl FnOnce() -> Result<T, String>) -> Result<T, String> {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
        Ok(r) => r,
        Err(_) => Err("parser panicked".into()),
    }
}
