//! daedalusd as a library: what `daedalusd serve` and `daedalusd replay` are
//! made of, so that tests drive them without a kernel.
//!
//! - [`proto`]: the kernel<->daemon protocol mirror (`kmod/include/uapi/daedalus.h`);
//!   its ioctls in [`proto::sys`] (`unsafe`, invariants stated there).
//! - [`dmabuf`]: mappings of exported buffer planes (`unsafe`, invariants stated there).
//! - [`serve`]: attach, drop privileges, supervise; and the per-job loop a worker runs:
//!   message -> `ctrls::ControlSet` -> engine -> answer. It names no codec.
//! - [`supervisor`]: one worker process per context, crashes contained; [`worker`]: that
//!   process; [`ipc`]: what passes between them (`unsafe`: adopting received fds).
//! - [`sandbox`]: user switch, capabilities, rlimits, seccomp (`unsafe`: capset).
//! - [`findings`]: per context, what its controls said differently from the bitstream.
//! - [`replay`]: a stream through the engine on the host, as a client would drive it.
//! - [`fuzzing`]: test support, the fuzz targets' harnesses and seeds (`daemon/fuzz`).

pub mod dmabuf;
pub mod findings;
pub mod fuzzing;
pub mod ipc;
pub mod proto;
pub mod replay;
pub mod sandbox;
pub mod serve;
pub mod supervisor;
pub mod worker;
