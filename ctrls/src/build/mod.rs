//! Stream -> controls builders, doing what a stateless client does.

pub mod annexb;
pub mod h264;
pub mod ivf;
pub mod vp9;
pub mod av1;
mod h264_lists;
mod h264_refs;

pub use self::h264::{BuildError, H264Builder, H264Picture};

#[cfg(test)]
mod h264_field_tests;
