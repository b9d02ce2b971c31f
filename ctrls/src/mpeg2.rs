//! mpeg2 stateless controls.
