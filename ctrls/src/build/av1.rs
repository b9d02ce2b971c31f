//! AV1 (placeholder)
