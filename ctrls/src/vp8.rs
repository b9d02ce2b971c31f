//! vp8 stateless controls.
