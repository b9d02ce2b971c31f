//! Stream -> controls builders, doing what a stateless client does.

pub mod annexb;
pub mod av1;
pub mod h264;
mod h264_lists;
mod h264_refs;
pub mod ivf;
pub mod vp9;

pub use self::h264::{BuildError, H264Builder, H264Picture};

#[cfg(test)]
mod h264_field_tests;
