//! av1 stateless controls.
