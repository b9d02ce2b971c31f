//! daedalusd as a library: what `daedalusd serve` and `daedalusd replay` are
//! made of, so that tests drive them without a kernel.
//!
//! - [`proto`]: the kernel<->daemon protocol mirror (`kmod/include/uapi/daedalus.h`);
//!   its ioctls in [`proto::sys`] (`unsafe`, invariants stated there).
//! - [`dmabuf`]: mappings of exported buffer planes (`unsafe`, invariants stated there).
//! - [`serve`]: the job loop: message -> `ctrls::ControlSet` -> engine -> answer. It names
//!   no codec.
//! - [`replay`]: a stream through the engine on the host, as a client would drive it.

pub mod dmabuf;
pub mod proto;
pub mod replay;
pub mod serve;
