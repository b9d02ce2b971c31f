//! h264 stateless controls.
