//! DMA-BUF memory for `V4L2_MEMORY_DMABUF` queues: allocation from a DMA heap
//! (`/dev/dma_heap/system`), CPU mappings (memmap2) and `DMA_BUF_IOCTL_SYNC`
//! around CPU access.
//!
//! One of the crate's two modules with `unsafe` (the other is [`crate::media`]).
//! The invariants are:
//!
//! * [`DmaHeapAllocationData`] and [`DmaBufSync`] have exactly the size and
//!   field offsets of their `<linux/dma-heap.h>` / `<linux/dma-buf.h>`
//!   counterparts (`tests/dmabuf_layout.rs` checks that against a C program
//!   compiled with the system headers), so the ioctls read and write only
//!   the structs we pass.
//! * An fd returned by `DMA_HEAP_IOCTL_ALLOC` is a fresh descriptor owned by
//!   nobody else, so wrapping it in an `OwnedFd` is sound.
//! * A dma-buf has a fixed size for its whole life (it cannot be truncated),
//!   so a shared mapping of `len <= size` bytes stays valid while the
//!   [`DmaBufMap`] (which owns both the fd and the mapping) lives. The device
//!   may write into the memory while it holds the buffer; the session only
//!   reads a CAPTURE mapping between DQBUF and the next QBUF of that buffer
//!   and only writes an OUTPUT mapping before its QBUF, bracketing each
//!   access with `DMA_BUF_IOCTL_SYNC` START/END (the same discipline as the
//!   MMAP mappings v4l2r hands out).
#![allow(unsafe_code)]

use std::fs::{File, OpenOptions};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::path::{Path, PathBuf};

use memmap2::{MmapMut, MmapOptions};

/// The system heap's node.
pub const SYSTEM_HEAP: &str = "/dev/dma_heap/system";

/// `struct dma_heap_allocation_data`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct DmaHeapAllocationData {
    pub len: u64,
    pub fd: u32,
    pub fd_flags: u32,
    pub heap_flags: u64,
}

/// `struct dma_buf_sync`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct DmaBufSync {
    pub flags: u64,
}

/// `DMA_BUF_SYNC_READ`.
pub const SYNC_READ: u64 = 1;
/// `DMA_BUF_SYNC_WRITE`.
pub const SYNC_WRITE: u64 = 2;
/// `DMA_BUF_SYNC_START`.
pub const SYNC_START: u64 = 0;
/// `DMA_BUF_SYNC_END`.
pub const SYNC_END: u64 = 4;

/// `DMA_HEAP_IOCTL_ALLOC` (`_IOWR('H', 0, struct dma_heap_allocation_data)`).
pub const DMA_HEAP_IOCTL_ALLOC: u64 =
    nix::request_code_readwrite!(b'H', 0, std::mem::size_of::<DmaHeapAllocationData>()) as u64;
/// `DMA_BUF_IOCTL_SYNC` (`_IOW('b', 0, struct dma_buf_sync)`).
pub const DMA_BUF_IOCTL_SYNC: u64 =
    nix::request_code_write!(b'b', 0, std::mem::size_of::<DmaBufSync>()) as u64;

mod ioctl {
    use super::{DmaBufSync, DmaHeapAllocationData};
    nix::ioctl_readwrite!(dma_heap_ioctl_alloc, b'H', 0, DmaHeapAllocationData);
    nix::ioctl_write_ptr!(dma_buf_ioctl_sync, b'b', 0, DmaBufSync);
}

/// Errors of dma-buf allocation and mapping.
#[derive(Debug, thiserror::Error)]
pub enum DmaBufError {
    #[error("{path}: {err}")]
    OpenHeap { path: PathBuf, err: std::io::Error },
    #[error("DMA_HEAP_IOCTL_ALLOC of {len} bytes on {path}: {errno}")]
    Alloc {
        path: PathBuf,
        len: usize,
        errno: nix::errno::Errno,
    },
    #[error("mmap of a {len}-byte dma-buf: {err}")]
    Map { len: usize, err: std::io::Error },
    #[error("DMA_BUF_IOCTL_SYNC {flags:#x}: {errno}")]
    Sync {
        flags: u64,
        errno: nix::errno::Errno,
    },
    #[error("dma-buf of {have} bytes is smaller than the {need} bytes the queue needs")]
    TooSmall { have: u64, need: u64 },
}

/// An owned dma-buf fd and its size.
#[derive(Debug)]
pub struct DmaBufFd {
    fd: OwnedFd,
    len: u64,
}

impl DmaBufFd {
    /// Takes a dma-buf fd (from a heap or VIDIOC_EXPBUF); its size comes from
    /// `fstat` (the kernel sets the dma-buf inode's size).
    pub fn from_owned(fd: OwnedFd) -> std::io::Result<Self> {
        let len = File::from(fd.try_clone()?).metadata()?.len();
        Ok(Self { fd, len })
    }

    pub fn len(&self) -> u64 {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

impl AsFd for DmaBufFd {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

impl AsRawFd for DmaBufFd {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

impl v4l2r::memory::DmaBufSource for DmaBufFd {
    fn len(&self) -> u64 {
        self.len
    }
}

/// An open DMA heap.
#[derive(Debug)]
pub struct DmaHeap {
    file: File,
    path: PathBuf,
}

impl DmaHeap {
    pub fn open(path: &Path) -> Result<Self, DmaBufError> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .open(path)
            .map_err(|err| DmaBufError::OpenHeap {
                path: path.to_owned(),
                err,
            })?;
        Ok(Self {
            file,
            path: path.to_owned(),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// `DMA_HEAP_IOCTL_ALLOC`: a new dma-buf of `len` bytes (the heap rounds
    /// up to pages).
    pub fn alloc(&self, len: usize) -> Result<DmaBufFd, DmaBufError> {
        let mut data = DmaHeapAllocationData {
            len: len as u64,
            fd: 0,
            fd_flags: (nix::libc::O_RDWR | nix::libc::O_CLOEXEC) as u32,
            heap_flags: 0,
        };
        let err = |errno| DmaBufError::Alloc {
            path: self.path.clone(),
            len,
            errno,
        };
        // SAFETY: `data` is a valid, writable dma_heap_allocation_data
        // (layout checked by tests/dmabuf_layout.rs).
        unsafe { ioctl::dma_heap_ioctl_alloc(self.file.as_raw_fd(), &mut data) }.map_err(err)?;
        // SAFETY: on success the kernel installed a new fd that nobody else owns.
        let fd = unsafe { OwnedFd::from_raw_fd(data.fd as RawFd) };
        DmaBufFd::from_owned(fd).map_err(|err| DmaBufError::Map { len, err })
    }
}

/// `DMA_BUF_IOCTL_SYNC` on a dma-buf fd.
pub fn sync(fd: BorrowedFd<'_>, flags: u64) -> Result<(), DmaBufError> {
    let arg = DmaBufSync { flags };
    loop {
        // SAFETY: `arg` is a valid dma_buf_sync the kernel only reads.
        match unsafe { ioctl::dma_buf_ioctl_sync(fd.as_raw_fd(), &arg) } {
            Ok(_) => return Ok(()),
            Err(nix::errno::Errno::EINTR) | Err(nix::errno::Errno::EAGAIN) => continue,
            Err(errno) => return Err(DmaBufError::Sync { flags, errno }),
        }
    }
}

/// A dma-buf with a shared, read-write CPU mapping of its first `len` bytes.
#[derive(Debug)]
pub struct DmaBufMap {
    // Field order: the mapping is unmapped before the fd is closed.
    map: MmapMut,
    buf: v4l2r::memory::DmaBufHandle<DmaBufFd>,
}

impl DmaBufMap {
    /// Maps `buf` (all of it).
    pub fn new(buf: DmaBufFd) -> Result<Self, DmaBufError> {
        let len = buf.len() as usize;
        // SAFETY: see the module invariants: the dma-buf cannot shrink, the
        // mapping lives no longer than the fd (both owned here), and CPU
        // access is bracketed by DMA_BUF_IOCTL_SYNC while the device does
        // not own the buffer.
        let map = unsafe { MmapOptions::new().len(len).map_mut(buf.as_raw_fd()) }
            .map_err(|err| DmaBufError::Map { len, err })?;
        Ok(Self {
            map,
            buf: v4l2r::memory::DmaBufHandle(buf),
        })
    }

    /// The handle QBUF takes (fd and length).
    pub fn handle(&self) -> &v4l2r::memory::DmaBufHandle<DmaBufFd> {
        &self.buf
    }

    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// Starts CPU access (`DMA_BUF_SYNC_START` with READ and/or WRITE).
    pub fn begin(&self, rw: u64) -> Result<(), DmaBufError> {
        sync(self.buf.0.as_fd(), SYNC_START | rw)
    }

    /// Ends CPU access (`DMA_BUF_SYNC_END`, same READ/WRITE bits as `begin`).
    pub fn end(&self, rw: u64) -> Result<(), DmaBufError> {
        sync(self.buf.0.as_fd(), SYNC_END | rw)
    }

    pub fn as_slice(&self) -> &[u8] {
        &self.map
    }

    pub fn as_mut_slice(&mut self) -> &mut [u8] {
        &mut self.map
    }

    /// Copies `data` to the start of the buffer inside a WRITE sync bracket.
    pub fn write_synced(&mut self, data: &[u8]) -> Result<(), DmaBufError> {
        if data.len() > self.map.len() {
            return Err(DmaBufError::TooSmall {
                have: self.map.len() as u64,
                need: data.len() as u64,
            });
        }
        self.begin(SYNC_WRITE)?;
        self.map[..data.len()].copy_from_slice(data);
        self.end(SYNC_WRITE)
    }
}
