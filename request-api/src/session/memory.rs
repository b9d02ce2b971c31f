//! Buffer memory: MMAP mappings, imported dma-bufs (a DMA heap, or EXPBUF of a
//! second context), and (re)allocating both queues for a stream.

use std::fs::File;
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};

use v4l2r::ioctl::{
    self, BufferCapabilities, MemoryConsistency, PlaneMapping, QueryBuffer, RequestBuffers,
};
use v4l2r::memory::MemoryType;
use v4l2r::QueueType;

use crate::bookkeeping::RequestPool;
use crate::dmabuf::{DmaBufError, DmaBufFd, DmaBufMap, DmaHeap, SYNC_READ};
use crate::media::RequestFd;
use ctrls::source::CodedPicture;

use super::format::{negotiate, Negotiated};

use super::{errno_of, ioctl_err, open_rw, Configured, Error, Session};

/// How the buffers of a queue are backed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MemoryKind {
    /// `V4L2_MEMORY_MMAP`: the driver allocates, we mmap the video node.
    Mmap,
    /// `V4L2_MEMORY_DMABUF`: we import dma-bufs (see [`DmaBufOrigin`]).
    DmaBuf,
}

impl MemoryKind {
    pub(super) fn v4l2(self) -> MemoryType {
        match self {
            MemoryKind::Mmap => MemoryType::Mmap,
            MemoryKind::DmaBuf => MemoryType::DmaBuf,
        }
    }
}

/// Where imported dma-bufs come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DmaBufOrigin {
    /// A DMA heap (`/dev/dma_heap/system` by default).
    Heap(PathBuf),
    /// MMAP buffers of a second context of the same video node (configured
    /// with the same formats), exported with `VIDIOC_EXPBUF`.
    Expbuf,
}

impl DmaBufOrigin {
    /// The system heap when its node exists, else EXPBUF.
    pub fn auto() -> Self {
        let heap = Path::new(crate::dmabuf::SYSTEM_HEAP);
        if heap.exists() {
            DmaBufOrigin::Heap(heap.to_owned())
        } else {
            DmaBufOrigin::Expbuf
        }
    }
}

impl std::fmt::Display for DmaBufOrigin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DmaBufOrigin::Heap(p) => write!(f, "heap {}", p.display()),
            DmaBufOrigin::Expbuf => f.write_str("VIDIOC_EXPBUF of a second context"),
        }
    }
}

/// The CPU view of one buffer plane.
pub(super) enum PlaneMem {
    Mmap(PlaneMapping),
    DmaBuf(DmaBufMap),
}

impl PlaneMem {
    pub(super) fn len(&self) -> usize {
        match self {
            PlaneMem::Mmap(m) => m.len(),
            PlaneMem::DmaBuf(d) => d.len(),
        }
    }

    pub(super) fn as_slice(&self) -> &[u8] {
        match self {
            PlaneMem::Mmap(m) => m,
            PlaneMem::DmaBuf(d) => d.as_slice(),
        }
    }

    /// Copies `data` to the start of the plane (synced for a dma-buf).
    pub(super) fn write(&mut self, data: &[u8]) -> Result<(), Error> {
        match self {
            PlaneMem::Mmap(m) => {
                m[..data.len()].copy_from_slice(data);
                Ok(())
            }
            PlaneMem::DmaBuf(d) => Ok(d.write_synced(data)?),
        }
    }

    pub(super) fn begin_read(&self) -> Result<(), Error> {
        match self {
            PlaneMem::Mmap(_) => Ok(()),
            PlaneMem::DmaBuf(d) => Ok(d.begin(SYNC_READ)?),
        }
    }

    pub(super) fn end_read(&self) -> Result<(), Error> {
        match self {
            PlaneMem::Mmap(_) => Ok(()),
            PlaneMem::DmaBuf(d) => Ok(d.end(SYNC_READ)?),
        }
    }
}

impl Session {
    pub(super) fn teardown(&mut self) -> Result<(), Error> {
        let p = self.dev.video.clone();
        if let Some(cfg) = self.cfg.take() {
            let (out_mem, cap_mem) = (cfg.out_mem, cfg.cap_mem);
            for q in [self.out_q, self.cap_q] {
                ioctl::streamoff(&self.video, q).map_err(ioctl_err("VIDIOC_STREAMOFF", &p))?;
            }
            // Drop the mappings (and imported fds): the buffers can be freed.
            drop(cfg);
            for (q, mem) in [(self.out_q, out_mem), (self.cap_q, cap_mem)] {
                let _: () = ioctl::reqbufs(&self.video, q, mem, 0, MemoryConsistency::empty())
                    .map_err(ioctl_err("VIDIOC_REQBUFS", &p))?;
            }
        }
        Ok(())
    }

    pub(super) fn configure(&mut self, pic: &CodedPicture) -> Result<(), Error> {
        self.teardown()?;
        let info = pic.info;
        let p = self.dev.video.clone();
        let neg = negotiate(&mut self.video, &p, self.codec, pic, self.frame)?;
        let (out_kind, cap_kind) = (self.opts.output_memory, self.opts.capture_memory);
        let (out_mem, cap_mem) = (out_kind.v4l2(), cap_kind.v4l2());
        // OUTPUT buffers: one per request.
        let n = self.opts.requests.max(1) as u32;
        let rb: RequestBuffers = ioctl::reqbufs(
            &self.video,
            self.out_q,
            out_mem,
            n,
            MemoryConsistency::empty(),
        )
        .map_err(ioctl_err("VIDIOC_REQBUFS", &p))?;
        if !rb
            .capabilities
            .contains(BufferCapabilities::SUPPORTS_REQUESTS)
        {
            return Err(Error::NoRequests { video: p });
        }
        self.hold_capture = rb
            .capabilities
            .contains(BufferCapabilities::SUPPORTS_M2M_HOLD_CAPTURE_BUF);
        let n_out = rb.count as usize;
        // CAPTURE buffers: the DPB, the pictures in flight, one being written out.
        let want_cap = info.dpb_size + n + 2;
        let count: usize = ioctl::reqbufs(
            &self.video,
            self.cap_q,
            cap_mem,
            want_cap,
            MemoryConsistency::empty(),
        )
        .map_err(ioctl_err("VIDIOC_REQBUFS", &p))?;

        // Dma-bufs to import, per buffer and plane.
        let uses_dmabuf = out_kind == MemoryKind::DmaBuf || cap_kind == MemoryKind::DmaBuf;
        let mut exporter = None;
        let mut imported_out: Vec<DmaBufFd> = Vec::new();
        let mut imported_cap: Vec<Vec<DmaBufFd>> = Vec::new();
        if uses_dmabuf {
            match &self.opts.dmabuf_origin {
                DmaBufOrigin::Heap(path) => {
                    let heap = DmaHeap::open(path)?;
                    if out_kind == MemoryKind::DmaBuf {
                        for _ in 0..n_out {
                            imported_out.push(heap.alloc(neg.output_size as usize)?);
                        }
                    }
                    if cap_kind == MemoryKind::DmaBuf {
                        for _ in 0..count {
                            let planes = neg
                                .capture_sizes
                                .iter()
                                .map(|&sz| heap.alloc(sz as usize))
                                .collect::<Result<Vec<_>, _>>()?;
                            imported_cap.push(planes);
                        }
                    }
                }
                DmaBufOrigin::Expbuf => {
                    let (f, outs, caps) = self.export_from_second_context(
                        pic,
                        &neg,
                        (out_kind == MemoryKind::DmaBuf).then_some(n_out),
                        (cap_kind == MemoryKind::DmaBuf).then_some(count),
                    )?;
                    exporter = Some(f);
                    imported_out = outs;
                    imported_cap = caps;
                }
            }
        }

        let mut outputs = Vec::with_capacity(n_out);
        let mut imported_out = imported_out.into_iter();
        for i in 0..n_out {
            outputs.push(match out_kind {
                MemoryKind::Mmap => PlaneMem::Mmap(self.map_buffer(self.out_q, i)?.remove(0)),
                MemoryKind::DmaBuf => {
                    let buf = imported_out.next().expect("one dma-buf per OUTPUT buffer");
                    check_size(&buf, neg.output_size)?;
                    PlaneMem::DmaBuf(DmaBufMap::new(buf)?)
                }
            });
        }
        let mut captures = Vec::with_capacity(count);
        let mut imported_cap = imported_cap.into_iter();
        for i in 0..count {
            captures.push(match cap_kind {
                MemoryKind::Mmap => self
                    .map_buffer(self.cap_q, i)?
                    .into_iter()
                    .map(PlaneMem::Mmap)
                    .collect(),
                MemoryKind::DmaBuf => {
                    let planes = imported_cap.next().expect("dma-bufs per CAPTURE buffer");
                    let mut v = Vec::with_capacity(planes.len());
                    for (buf, &sz) in planes.into_iter().zip(&neg.capture_sizes) {
                        check_size(&buf, sz)?;
                        v.push(PlaneMem::DmaBuf(DmaBufMap::new(buf)?));
                    }
                    v
                }
            });
        }
        // Requests (kept across resolution changes), and their pool.
        while self.requests.len() < n_out {
            self.requests.push(
                RequestFd::alloc(self.media.as_fd())
                    .map_err(ioctl_err("MEDIA_IOC_REQUEST_ALLOC", &self.dev.media))?,
            );
        }
        self.pool = RequestPool::new(n_out);
        self.slots.reset(count);
        ioctl::streamon(&self.video, self.out_q).map_err(ioctl_err("VIDIOC_STREAMON", &p))?;
        ioctl::streamon(&self.video, self.cap_q).map_err(ioctl_err("VIDIOC_STREAMON", &p))?;
        self.cfg = Some(Configured {
            info,
            layout: neg.layout,
            out_mem,
            cap_mem,
            outputs,
            captures,
            _exporter: exporter,
        });
        Ok(())
    }

    /// Opens the video node a second time (a second m2m context), gives it
    /// the same formats, allocates MMAP buffers on the queues we import and
    /// exports every plane with `VIDIOC_EXPBUF`.
    #[allow(clippy::type_complexity)]
    pub(super) fn export_from_second_context(
        &self,
        pic: &CodedPicture,
        neg: &Negotiated,
        outputs: Option<usize>,
        captures: Option<usize>,
    ) -> Result<(File, Vec<DmaBufFd>, Vec<Vec<DmaBufFd>>), Error> {
        let p = self.dev.video.clone();
        let bad = |why: String| Error::Exporter {
            video: p.clone(),
            why,
        };
        let mut f = open_rw(&p)?;
        let theirs = negotiate(&mut f, &p, self.codec, pic, self.frame)?;
        if theirs.layout != neg.layout || theirs.output_size < neg.output_size {
            return Err(bad(format!(
                "second context settled on {:?} / {} bytes, ours {:?} / {} bytes",
                theirs.layout, theirs.output_size, neg.layout, neg.output_size
            )));
        }
        let export = |queue: QueueType, n: usize, planes: usize| {
            let got: usize = ioctl::reqbufs(
                &f,
                queue,
                MemoryType::Mmap,
                n as u32,
                MemoryConsistency::empty(),
            )
            .map_err(ioctl_err("VIDIOC_REQBUFS (exporter)", &p))?;
            if got < n {
                return Err(bad(format!("{got} buffers allocated, {n} needed")));
            }
            let mut bufs = Vec::with_capacity(n);
            for i in 0..n {
                let mut v = Vec::with_capacity(planes);
                for pl in 0..planes {
                    let fd: std::os::fd::OwnedFd = ioctl::expbuf(
                        &f,
                        queue,
                        i,
                        pl,
                        ioctl::ExpbufFlags::RDWR | ioctl::ExpbufFlags::CLOEXEC,
                    )
                    .map_err(|e| Error::Ioctl {
                        what: "VIDIOC_EXPBUF",
                        path: p.clone(),
                        errno: errno_of(e),
                    })?;
                    v.push(DmaBufFd::from_owned(fd).map_err(|e| bad(e.to_string()))?);
                }
                bufs.push(v);
            }
            Ok(bufs)
        };
        let outs = match outputs {
            Some(n) => export(self.out_q, n, 1)?
                .into_iter()
                .map(|mut v| v.remove(0))
                .collect(),
            None => Vec::new(),
        };
        let caps = match captures {
            Some(n) => export(self.cap_q, n, neg.capture_sizes.len())?,
            None => Vec::new(),
        };
        Ok((f, outs, caps))
    }

    pub(super) fn map_buffer(
        &self,
        queue: QueueType,
        index: usize,
    ) -> Result<Vec<PlaneMapping>, Error> {
        let p = &self.dev.video;
        let qb: QueryBuffer =
            ioctl::querybuf(&self.video, queue, index).map_err(|e| Error::Ioctl {
                what: "VIDIOC_QUERYBUF",
                path: p.clone(),
                errno: errno_of(e),
            })?;
        qb.planes
            .iter()
            .map(|pl| {
                ioctl::mmap(&self.video, pl.mem_offset, pl.length).map_err(ioctl_err("mmap", p))
            })
            .collect()
    }
}

pub(super) fn check_size(buf: &DmaBufFd, need: u32) -> Result<(), Error> {
    if buf.len() < need as u64 {
        return Err(Error::DmaBuf(DmaBufError::TooSmall {
            have: buf.len(),
            need: need as u64,
        }));
    }
    Ok(())
}
