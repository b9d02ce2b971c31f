//! CPU mappings of the buffer planes the module exports as dmabufs, cached per
//! buffer identity.
//!
//! SAFETY invariants (the `unsafe` of this module is the two `mmap` calls):
//! a mapping is made from a descriptor the device exported for one plane of a
//! vb2 buffer (or, for tests, a file), with the length the job reported for
//! that plane, checked first against the descriptor's own size (a mapping
//! past the end of a file faults on access), and the descriptor is kept with
//! it. The memory stays allocated while the mapping exists (the dmabuf holds
//! a reference), even after the client frees the buffer.
//!
//! What is assumed, not guaranteed: the client and the module may write a
//! plane while we hold a slice over it (shared video memory). We only read
//! OUTPUT planes, once, copying the job's bitstream into private memory that
//! is checked and decoded (`serve::Server`), and only write CAPTURE planes of
//! the job we were given; the bytes are plain `u8`s, but a concurrent write
//! under a live slice is outside Rust's aliasing rules. A client that
//! truncates a memfd-backed buffer could make an access fault (SIGBUS): that
//! ends the context's worker only (see `crate::supervisor`); the module's own
//! buffers (vmalloc) cannot shrink.
#![allow(unsafe_code)]

use memmap2::{Mmap, MmapMut, MmapOptions};
use std::collections::hash_map::Entry;
use std::collections::HashMap;
use std::fs::File;
use std::io::{Seek, SeekFrom};
use std::os::fd::OwnedFd;

enum Mapping {
    Read(Mmap),
    Write(MmapMut),
}

/// One mapped plane.
pub struct Plane {
    buf_id: u64,
    map: Mapping,
    _file: File,
}

impl Plane {
    /// Maps `len` bytes of `fd`, read-only or writable.
    pub fn map(fd: OwnedFd, buf_id: u64, len: usize, writable: bool) -> std::io::Result<Self> {
        let mut file = File::from(fd);
        // A dmabuf's size, as lseek(SEEK_END) reports it (a file's too).
        let size = file.seek(SeekFrom::End(0))?;
        if size < len as u64 {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!("plane of {size} bytes, the job says {len}"),
            ));
        }
        let mut opts = MmapOptions::new();
        opts.len(len);
        // SAFETY: see the module invariants.
        let map = unsafe {
            if writable {
                Mapping::Write(opts.map_mut(&file)?)
            } else {
                Mapping::Read(opts.map(&file)?)
            }
        };
        Ok(Plane {
            buf_id,
            map,
            _file: file,
        })
    }

    pub fn buf_id(&self) -> u64 {
        self.buf_id
    }

    pub fn bytes(&self) -> &[u8] {
        match &self.map {
            Mapping::Read(m) => m,
            Mapping::Write(m) => m,
        }
    }

    /// The bytes of a writable (CAPTURE) mapping.
    pub fn bytes_mut(&mut self) -> Option<&mut [u8]> {
        match &mut self.map {
            Mapping::Read(_) => None,
            Mapping::Write(m) => Some(m),
        }
    }
}

/// (context, queue, buffer index, plane).
pub type PlaneKey = (u32, u32, u32, u32);

/// Mapped planes, reused while the device reports the same buffer identity.
#[derive(Default)]
pub struct MapCache {
    planes: HashMap<PlaneKey, Plane>,
}

impl MapCache {
    /// Takes the mapping of `key` out of the cache if it is still the buffer
    /// `buf_id` with `len` bytes; a stale one is dropped.
    pub fn take(&mut self, key: PlaneKey, buf_id: u64, len: usize) -> Option<Plane> {
        match self.planes.entry(key) {
            Entry::Occupied(e) if e.get().buf_id == buf_id && e.get().bytes().len() == len => {
                Some(e.remove())
            }
            Entry::Occupied(e) => {
                e.remove();
                None
            }
            Entry::Vacant(_) => None,
        }
    }

    /// Puts a mapping (back) into the cache.
    pub fn put(&mut self, key: PlaneKey, plane: Plane) {
        self.planes.insert(key, plane);
    }

    /// Forgets every mapping of a context.
    pub fn drop_context(&mut self, ctx_id: u32) {
        self.planes.retain(|k, _| k.0 != ctx_id);
    }

    /// Number of cached mappings.
    pub fn len(&self) -> usize {
        self.planes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.planes.is_empty()
    }
}
