//! Kernel<->daemon protocol: mirror of `kmod/include/uapi/daedalus.h`.
