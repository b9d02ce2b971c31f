//! hevc stateless controls.
