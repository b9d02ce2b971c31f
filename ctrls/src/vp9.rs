//! vp9 stateless controls.
