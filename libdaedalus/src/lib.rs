//! Daedalus engine.
//!
//! - [`proto`]: the kernel<->daemon protocol (mirror of kmod/include/uapi/daedalus.h).

pub mod proto;
