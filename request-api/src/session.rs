//! Device discovery and the decode loop of a stateless decoder session.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::os::fd::AsFd;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use v4l2r::bindings;
use v4l2r::ioctl::{
    self, BufferCapabilities, BufferFlags, Capabilities, Capability, CtrlWhich, DqBufIoctlError,
    FmtDesc, FormatIterator, IntoErrno, IoctlConvertError, MemoryConsistency, PlaneMapping,
    QBufPlane, QBuffer, QueryBuffer, RequestBuffers, V4l2Buffer,
};
use v4l2r::memory::{DmaBufHandle, MemoryType, MmapHandle, PlaneHandle};
use v4l2r::{Format, PixelFormat, PlaneLayout, QueueType};

use ctrls::set::Payload;
use ctrls::{CaptureFormat, Codec};

use crate::bookkeeping::{CaptureSlots, DisplayQueue, InFlight, RequestPool, SlotError};
use crate::controls::ext_control_array;
use crate::dmabuf::{DmaBufError, DmaBufFd, DmaBufMap, DmaHeap, SYNC_READ};
use crate::media::{self, RequestFd};
use crate::picture::{CodedPicture, PictureSource, Rect, SourceError, StreamInfo};
use crate::topology::{devname_from_uevent, Topology};
use crate::yuv::{Layout, LayoutError};

/// Errors of discovery and decoding.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{path}: {err}")]
    Open { path: PathBuf, err: std::io::Error },
    #[error("{what} on {path}: {errno}")]
    Ioctl {
        what: &'static str,
        path: PathBuf,
        errno: nix::errno::Errno,
    },
    #[error("no stateless decoder for {codec} (fourcc {fourcc}) found{where_}")]
    NoDevice {
        codec: Codec,
        fourcc: String,
        where_: String,
    },
    #[error("{media}: no video node for decoder entity '{entity}'")]
    NoVideoNode { media: PathBuf, entity: String },
    #[error("{video}: {queue} format {fourcc} {width}x{height} refused ({why})")]
    FormatRefused {
        video: PathBuf,
        queue: &'static str,
        fourcc: String,
        width: u32,
        height: u32,
        why: String,
    },
    #[error("{video}: CAPTURE offers none of {wanted} (offers {offered})")]
    NoCaptureFormat {
        video: PathBuf,
        wanted: String,
        offered: String,
    },
    #[error("{video}: OUTPUT queue does not support requests")]
    NoRequests { video: PathBuf },
    #[error("{video}: OUTPUT queue cannot hold CAPTURE buffers (needed for field pairs and slice-based decoding)")]
    NoHoldCapture { video: PathBuf },
    #[error("frame {frame} (timestamp {timestamp} ns): request timed out after {timeout_ms} ms")]
    Timeout {
        frame: u64,
        timestamp: u64,
        timeout_ms: u32,
    },
    #[error("frame {frame}: setting controls failed at control {index} (id {id:#x}): {errno}")]
    Controls {
        frame: u64,
        index: u32,
        id: u32,
        errno: nix::errno::Errno,
    },
    #[error(
        "frame {frame}: bitstream of {size} bytes does not fit the {capacity}-byte OUTPUT buffer"
    )]
    BitstreamTooLarge {
        frame: u64,
        size: usize,
        capacity: usize,
    },
    #[error(
        "frame {frame}: no free CAPTURE buffer (all {count} hold references or pending pictures)"
    )]
    NoCaptureBuffer { frame: u64, count: usize },
    #[error("frame {frame}: timestamp {timestamp} is not a whole number of microseconds")]
    BadTimestamp { frame: u64, timestamp: u64 },
    #[error("frame {frame}: driver returned CAPTURE timestamp {got} ns, expected {want} ns")]
    TimestampMismatch { frame: u64, want: u64, got: u64 },
    #[error("{video}: VIDIOC_DQBUF returned an unusable buffer: {detail}")]
    BadBuffer { video: PathBuf, detail: String },
    #[error("frame {frame}: second field or slice without a held CAPTURE buffer")]
    NoHeldCapture { frame: u64 },
    #[error("writing frame: {0}")]
    Sink(std::io::Error),
    #[error("stream source: {0}")]
    Source(#[from] SourceError),
    #[error("buffer bookkeeping: {0}")]
    Slots(#[from] SlotError),
    #[error("reading CAPTURE buffer: {0}")]
    Layout(#[from] LayoutError),
    #[error("dma-buf: {0}")]
    DmaBuf(#[from] DmaBufError),
    #[error("DMABUF exporter ({video}): {why}")]
    Exporter { video: PathBuf, why: String },
    #[error("{video}: {name} does not offer {value_name} ({value}): VIDIOC_QUERYMENU: {errno}")]
    ModeNotOffered {
        video: PathBuf,
        name: &'static str,
        value_name: &'static str,
        value: i32,
        errno: nix::errno::Errno,
    },
    #[error("setting mode control {id:#x} = {value}: {errno}")]
    ModeControl {
        id: u32,
        value: i32,
        errno: nix::errno::Errno,
    },
}

fn fourcc_str(f: [u8; 4]) -> String {
    String::from_utf8_lossy(&f).into_owned()
}

fn ioctl_err<'a, T>(what: &'static str, path: &'a Path) -> impl FnOnce(T) -> Error + 'a
where
    T: Into<nix::errno::Errno>,
{
    move |e| Error::Ioctl {
        what,
        path: path.to_owned(),
        errno: e.into(),
    }
}

fn errno_of(e: impl IntoErrno) -> nix::errno::Errno {
    nix::errno::Errno::from_raw(e.into_errno())
}

fn open_rw(path: &Path) -> Result<File, Error> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags(nix::libc::O_NONBLOCK | nix::libc::O_CLOEXEC)
        .open(path)
        .map_err(|err| Error::Open {
            path: path.to_owned(),
            err,
        })
}

/// A stateless decoder: its media device, entity and video node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecoderDevice {
    pub media: PathBuf,
    pub video: PathBuf,
    pub driver: String,
    pub entity: String,
    /// Coded formats its OUTPUT queue offers.
    pub coded_formats: Vec<[u8; 4]>,
    pub mplane: bool,
}

/// The decoders of one media device (media controller walk).
pub fn probe_media(media_path: &Path) -> Result<Vec<DecoderDevice>, Error> {
    let media = open_rw(media_path)?;
    let info = media::device_info(media.as_fd())
        .map_err(ioctl_err("MEDIA_IOC_DEVICE_INFO", media_path))?;
    let driver = {
        let d = info.driver;
        let end = d.iter().position(|&b| b == 0).unwrap_or(d.len());
        String::from_utf8_lossy(&d[..end]).into_owned()
    };
    let raw =
        media::g_topology(media.as_fd()).map_err(ioctl_err("MEDIA_IOC_G_TOPOLOGY", media_path))?;
    let topo = Topology::from_raw(&raw);
    let mut out = Vec::new();
    for node in topo.decoders() {
        let uevent_path = format!("/sys/dev/char/{}:{}/uevent", node.major, node.minor);
        let video = std::fs::read_to_string(&uevent_path)
            .ok()
            .and_then(|u| devname_from_uevent(&u))
            .ok_or_else(|| Error::NoVideoNode {
                media: media_path.to_owned(),
                entity: node.name.clone(),
            })?;
        let (coded_formats, mplane) = output_formats(&video)?;
        out.push(DecoderDevice {
            media: media_path.to_owned(),
            video,
            driver: driver.clone(),
            entity: node.name,
            coded_formats,
            mplane,
        });
    }
    Ok(out)
}

fn queues(mplane: bool) -> (QueueType, QueueType) {
    if mplane {
        (QueueType::VideoOutputMplane, QueueType::VideoCaptureMplane)
    } else {
        (QueueType::VideoOutput, QueueType::VideoCapture)
    }
}

fn output_formats(video: &Path) -> Result<(Vec<[u8; 4]>, bool), Error> {
    let fd = open_rw(video)?;
    let cap: Capability = ioctl::querycap(&fd).map_err(ioctl_err("VIDIOC_QUERYCAP", video))?;
    let mplane = cap.device_caps().contains(Capabilities::VIDEO_M2M_MPLANE);
    let (out_q, _) = queues(mplane);
    let formats = FormatIterator::new(&fd, out_q)
        .map(|d: FmtDesc| d.pixelformat.to_fourcc())
        .collect();
    Ok((formats, mplane))
}

/// All `/dev/media*` nodes, sorted.
pub fn media_nodes() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir("/dev")
        .map(|d| {
            d.filter_map(|e| e.ok())
                .map(|e| e.path())
                .filter(|p| {
                    p.file_name()
                        .and_then(|n| n.to_str())
                        .is_some_and(|n| n.starts_with("media") && n[5..].parse::<u32>().is_ok())
                })
                .collect()
        })
        .unwrap_or_default();
    v.sort_by_key(|p| {
        p.file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n[5..].parse::<u32>().ok())
    });
    v
}

/// Picks the first decoder (on `device`, or on any media node) whose OUTPUT
/// queue offers the codec's coded format.
pub fn find_decoder(codec: Codec, device: Option<&Path>) -> Result<DecoderDevice, Error> {
    let nodes = match device {
        Some(d) => vec![d.to_owned()],
        None => media_nodes(),
    };
    let mut looked = Vec::new();
    for m in &nodes {
        let decs = match (probe_media(m), device) {
            (Ok(d), _) => d,
            (Err(e), Some(_)) => return Err(e),
            (Err(_), None) => continue,
        };
        for d in decs {
            if d.coded_formats.contains(&codec.fourcc()) {
                return Ok(d);
            }
            looked.push(format!(
                "{} ({}: {})",
                d.video.display(),
                d.entity,
                d.coded_formats
                    .iter()
                    .map(|f| fourcc_str(*f))
                    .collect::<Vec<_>>()
                    .join(",")
            ));
        }
    }
    Err(Error::NoDevice {
        codec,
        fourcc: fourcc_str(codec.fourcc()),
        where_: if looked.is_empty() {
            format!(" (searched {} media nodes)", nodes.len())
        } else {
            format!("; decoders seen: {}", looked.join("; "))
        },
    })
}

/// Controls set as current values before CAPTURE negotiation.
/// (They carry the bit depth: VP9 has it in its FRAME control.)
const SEQUENCE_CONTROLS: [u32; 4] = [
    bindings::V4L2_CID_STATELESS_H264_SPS,
    bindings::V4L2_CID_STATELESS_HEVC_SPS,
    bindings::V4L2_CID_STATELESS_AV1_SEQUENCE,
    bindings::V4L2_CID_STATELESS_VP9_FRAME,
];

/// A decoded picture, cropped, in display order.
#[derive(Debug, Clone)]
pub struct DecodedFrame {
    /// Display-order number, from 0.
    pub number: u64,
    pub timestamp: u64,
    pub width: u32,
    pub height: u32,
    /// 1 (8-bit) or 2 (10-bit little-endian) bytes per sample.
    pub sample_bytes: usize,
    /// Planar Y, Cb, Cr.
    pub i420: Vec<u8>,
    /// The driver flagged the buffer with V4L2_BUF_FLAG_ERROR.
    pub error: bool,
}

/// Counters of a decode.
#[derive(Debug, Clone, Default)]
pub struct Stats {
    pub submitted: u64,
    pub displayed: u64,
    /// Decode-order frame numbers whose CAPTURE buffer came back with ERROR.
    pub errors: Vec<u64>,
    pub resolution_changes: u64,
    /// Time blocked waiting for requests to complete (the driver decoding).
    pub waiting: std::time::Duration,
    /// Time spent reading CAPTURE buffers into I420 and in the frame sink.
    pub reading: std::time::Duration,
}

/// How the buffers of a queue are backed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MemoryKind {
    /// `V4L2_MEMORY_MMAP`: the driver allocates, we mmap the video node.
    Mmap,
    /// `V4L2_MEMORY_DMABUF`: we import dma-bufs (see [`DmaBufOrigin`]).
    DmaBuf,
}

impl MemoryKind {
    fn v4l2(self) -> MemoryType {
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

/// Session options.
#[derive(Debug, Clone)]
pub struct Options {
    pub requests: usize,
    pub timeout_ms: u32,
    /// Stop after this many displayed frames.
    pub max_frames: Option<u64>,
    pub output_memory: MemoryKind,
    pub capture_memory: MemoryKind,
    /// Source of the dma-bufs of DMABUF queues.
    pub dmabuf_origin: DmaBufOrigin,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            requests: 4,
            timeout_ms: 2000,
            max_frames: None,
            output_memory: MemoryKind::Mmap,
            capture_memory: MemoryKind::Mmap,
            dmabuf_origin: DmaBufOrigin::auto(),
        }
    }
}

/// The CPU view of one buffer plane.
enum PlaneMem {
    Mmap(PlaneMapping),
    DmaBuf(DmaBufMap),
}

impl PlaneMem {
    fn len(&self) -> usize {
        match self {
            PlaneMem::Mmap(m) => m.len(),
            PlaneMem::DmaBuf(d) => d.len(),
        }
    }

    fn as_slice(&self) -> &[u8] {
        match self {
            PlaneMem::Mmap(m) => m,
            PlaneMem::DmaBuf(d) => d.as_slice(),
        }
    }

    /// Copies `data` to the start of the plane (synced for a dma-buf).
    fn write(&mut self, data: &[u8]) -> Result<(), Error> {
        match self {
            PlaneMem::Mmap(m) => {
                m[..data.len()].copy_from_slice(data);
                Ok(())
            }
            PlaneMem::DmaBuf(d) => Ok(d.write_synced(data)?),
        }
    }

    fn begin_read(&self) -> Result<(), Error> {
        match self {
            PlaneMem::Mmap(_) => Ok(()),
            PlaneMem::DmaBuf(d) => Ok(d.begin(SYNC_READ)?),
        }
    }

    fn end_read(&self) -> Result<(), Error> {
        match self {
            PlaneMem::Mmap(_) => Ok(()),
            PlaneMem::DmaBuf(d) => Ok(d.end(SYNC_READ)?),
        }
    }
}

/// What S_FMT settled on both queues.
struct Negotiated {
    layout: Layout,
    /// OUTPUT buffer size.
    output_size: u32,
    /// CAPTURE plane sizes (memory planes).
    capture_sizes: Vec<u32>,
}

struct Configured {
    info: StreamInfo,
    layout: Layout,
    out_mem: MemoryType,
    cap_mem: MemoryType,
    outputs: Vec<PlaneMem>,
    captures: Vec<Vec<PlaneMem>>,
    /// The second context whose buffers we import (DMABUF via EXPBUF); kept
    /// open while they are in use.
    _exporter: Option<File>,
}

/// An open decoder and the state of one decode.
pub struct Session {
    dev: DecoderDevice,
    codec: Codec,
    media: File,
    video: File,
    out_q: QueueType,
    cap_q: QueueType,
    opts: Options,
    requests: Vec<RequestFd>,
    pool: RequestPool,
    slots: CaptureSlots,
    display: DisplayQueue,
    /// Error flags of decoded buffers, by timestamp.
    errored: Vec<u64>,
    /// Visible rectangles of the pictures in CAPTURE buffers that are not the
    /// stream's ([`CodedPicture::picture_rect`]), by timestamp.
    picture_rects: HashMap<u64, Rect>,
    cfg: Option<Configured>,
    frame: u64,
    pub stats: Stats,
    hold_capture: bool,
}

impl Session {
    pub fn open(dev: DecoderDevice, codec: Codec, opts: Options) -> Result<Self, Error> {
        let media = open_rw(&dev.media)?;
        let video = open_rw(&dev.video)?;
        let (out_q, cap_q) = queues(dev.mplane);
        let n = opts.requests.max(1);
        Ok(Self {
            dev,
            codec,
            media,
            video,
            out_q,
            cap_q,
            opts,
            requests: Vec::new(),
            pool: RequestPool::new(n),
            slots: CaptureSlots::new(0),
            display: DisplayQueue::default(),
            errored: Vec::new(),
            picture_rects: HashMap::new(),
            cfg: None,
            frame: 0,
            stats: Stats::default(),
            hold_capture: false,
        })
    }

    pub fn device(&self) -> &DecoderDevice {
        &self.dev
    }

    fn done(&self) -> bool {
        self.opts
            .max_frames
            .is_some_and(|m| self.stats.displayed >= m)
    }

    /// Decodes the whole source, handing frames to `sink` in display order.
    pub fn decode(
        &mut self,
        source: &mut dyn PictureSource,
        sink: &mut dyn FnMut(DecodedFrame) -> std::io::Result<()>,
    ) -> Result<(), Error> {
        let mut modes_set = false;
        while !self.done() {
            let Some(pic) = source.next_picture().map_err(Error::from)? else {
                break;
            };
            if !modes_set {
                for m in source.mode_controls() {
                    // The menu must offer the value (a decoder may support
                    // only one of frame- and slice-based decoding).
                    let _: bindings::v4l2_querymenu =
                        ioctl::querymenu(&self.video, m.id, m.value as u32).map_err(|e| {
                            Error::ModeNotOffered {
                                video: self.video_path(),
                                name: m.name,
                                value_name: m.value_name,
                                value: m.value,
                                errno: e.into(),
                            }
                        })?;
                    ioctl::s_ctrl(&self.video, m.id, m.value).map_err(|e| Error::ModeControl {
                        id: m.id,
                        value: m.value,
                        errno: e.into(),
                    })?;
                }
                modes_set = true;
            }
            if self.cfg.as_ref().map(|c| c.info) != Some(pic.info) {
                if self.cfg.is_some() {
                    self.drain(sink)?;
                    self.stats.resolution_changes += 1;
                }
                self.configure(&pic)?;
            }
            self.submit(pic, sink)?;
        }
        self.drain(sink)?;
        if !self.done() {
            self.display.push(source.flush());
            self.emit_ready(sink)?;
        }
        Ok(())
    }

    fn teardown(&mut self) -> Result<(), Error> {
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

    fn configure(&mut self, pic: &CodedPicture) -> Result<(), Error> {
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
    fn export_from_second_context(
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

    fn map_buffer(&self, queue: QueueType, index: usize) -> Result<Vec<PlaneMapping>, Error> {
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

fn check_size(buf: &DmaBufFd, need: u32) -> Result<(), Error> {
    if buf.len() < need as u64 {
        return Err(Error::DmaBuf(DmaBufError::TooSmall {
            have: buf.len(),
            need: need as u64,
        }));
    }
    Ok(())
}

/// S_FMT OUTPUT (coded format and size), the sequence controls as current
/// values, then S_FMT CAPTURE with the first pixel format we can read.
fn negotiate(
    video: &mut File,
    p: &Path,
    codec: Codec,
    pic: &CodedPicture,
    frame: u64,
) -> Result<Negotiated, Error> {
    let info = pic.info;
    let codec_fourcc = codec.fourcc();
    let sizeimage = (info.coded_width * info.coded_height * 3 / 2).max(1 << 20);
    let want = Format {
        width: info.coded_width,
        height: info.coded_height,
        pixelformat: PixelFormat::from_fourcc(&codec_fourcc),
        plane_fmt: vec![PlaneLayout {
            sizeimage,
            bytesperline: 0,
        }],
    };
    let refused = |queue: &'static str, f: [u8; 4], why: String| Error::FormatRefused {
        video: p.to_owned(),
        queue,
        fourcc: fourcc_str(f),
        width: info.coded_width,
        height: info.coded_height,
        why,
    };
    let (out_q, cap_q) = {
        let cap: Capability = ioctl::querycap(&*video).map_err(ioctl_err("VIDIOC_QUERYCAP", p))?;
        queues(cap.device_caps().contains(Capabilities::VIDEO_M2M_MPLANE))
    };
    let got: Format = ioctl::s_fmt(video, (out_q, &want))
        .map_err(|e| refused("OUTPUT", codec_fourcc, e.to_string()))?;
    if got.pixelformat.to_fourcc() != codec_fourcc {
        return Err(refused(
            "OUTPUT",
            codec_fourcc,
            format!("driver chose {}", fourcc_str(got.pixelformat.to_fourcc())),
        ));
    }
    let output_size = got.plane_fmt.first().map(|pl| pl.sizeimage).unwrap_or(0);
    // Sequence-level controls go in as current values before CAPTURE is
    // negotiated: drivers derive the CAPTURE format (bit depth) from them.
    let mut seq: Vec<_> = pic
        .controls
        .iter()
        .filter(|c| SEQUENCE_CONTROLS.contains(&c.id))
        .cloned()
        .collect();
    if !seq.is_empty() {
        set_controls(&*video, &mut seq, CtrlWhich::Current, frame)?;
    }
    // CAPTURE: the first format we can read, in order of preference.
    let offered: Vec<[u8; 4]> = FormatIterator::new(&*video, cap_q)
        .map(|d: FmtDesc| d.pixelformat.to_fourcc())
        .collect();
    let prefs = CaptureFormat::preference(info.bit_depth);
    let fmt = prefs
        .iter()
        .copied()
        .find(|f| offered.contains(&f.fourcc()))
        .ok_or_else(|| Error::NoCaptureFormat {
            video: p.to_owned(),
            wanted: prefs
                .iter()
                .map(|f| fourcc_str(f.fourcc()))
                .collect::<Vec<_>>()
                .join(","),
            offered: offered
                .iter()
                .map(|f| fourcc_str(*f))
                .collect::<Vec<_>>()
                .join(","),
        })?;
    let want = Format {
        width: info.coded_width,
        height: info.coded_height,
        pixelformat: PixelFormat::from_fourcc(&fmt.fourcc()),
        plane_fmt: vec![],
    };
    let got: Format = ioctl::s_fmt(video, (cap_q, &want))
        .map_err(|e| refused("CAPTURE", fmt.fourcc(), e.to_string()))?;
    if got.pixelformat.to_fourcc() != fmt.fourcc()
        || got.width < info.coded_width
        || got.height < info.coded_height
    {
        return Err(refused(
            "CAPTURE",
            fmt.fourcc(),
            format!(
                "driver chose {} {}x{}",
                fourcc_str(got.pixelformat.to_fourcc()),
                got.width,
                got.height
            ),
        ));
    }
    Ok(Negotiated {
        layout: Layout {
            fmt,
            width: got.width,
            height: got.height,
            bytesperline: got.plane_fmt.iter().map(|pl| pl.bytesperline).collect(),
        },
        output_size,
        capture_sizes: got.plane_fmt.iter().map(|pl| pl.sizeimage).collect(),
    })
}

impl Session {
    fn video_path(&self) -> PathBuf {
        self.dev.video.clone()
    }

    /// Queues one picture: OUTPUT buffer + controls in a request, a CAPTURE
    /// buffer, then the request.
    fn submit(
        &mut self,
        mut pic: CodedPicture,
        sink: &mut dyn FnMut(DecodedFrame) -> std::io::Result<()>,
    ) -> Result<(), Error> {
        let frame = self.frame;
        if (pic.timestamp / 1000) * 1000 != pic.timestamp {
            return Err(Error::BadTimestamp {
                frame,
                timestamp: pic.timestamp,
            });
        }
        if pic.holds_capture() && !self.hold_capture {
            return Err(Error::NoHoldCapture {
                video: self.video_path(),
            });
        }
        // A free request (and its OUTPUT buffer).
        let req = loop {
            if let Some(r) = self.pool.take() {
                break r;
            }
            self.complete_oldest(sink)?;
        };
        // A CAPTURE buffer, unless this request continues a held one (a
        // second field, or a slice after the first).
        let capture = if pic.continues_capture() {
            match self.slots.find(pic.timestamp) {
                Some(_) => None,
                None => {
                    self.pool.give_back(req);
                    return Err(Error::NoHeldCapture { frame });
                }
            }
        } else {
            loop {
                if let Some(i) = self.slots.free() {
                    break Some(i);
                }
                if self.pool.in_flight() == 0 {
                    self.pool.give_back(req);
                    return Err(Error::NoCaptureBuffer {
                        frame,
                        count: self.slots.len(),
                    });
                }
                self.complete_oldest(sink)?;
            }
        };
        match pic.picture_rect {
            Some(r) => self.picture_rects.insert(pic.timestamp, r),
            None => self.picture_rects.remove(&pic.timestamp),
        };
        let cfg = self.cfg.as_mut().expect("configured before submit");
        let out = &mut cfg.outputs[req];
        if pic.bitstream.len() > out.len() {
            self.pool.give_back(req);
            return Err(Error::BitstreamTooLarge {
                frame,
                size: pic.bitstream.len(),
                capacity: out.len(),
            });
        }
        out.write(&pic.bitstream)?;
        let rfd = self.requests[req].raw();

        // Controls into the request.
        set_controls(
            &self.video,
            &mut pic.controls,
            CtrlWhich::Request(rfd),
            frame,
        )?;

        let sec = (pic.timestamp / 1_000_000_000) as nix::libc::time_t;
        let usec = ((pic.timestamp % 1_000_000_000) / 1000) as nix::libc::suseconds_t;
        let p = self.video_path();
        // OUTPUT buffer with the request.
        let cfg = self.cfg.as_ref().expect("configured before submit");
        let flags = if pic.holds_capture() {
            BufferFlags::from_bits_retain(bindings::V4L2_BUF_FLAG_M2M_HOLD_CAPTURE_BUF)
        } else {
            BufferFlags::empty()
        };
        queue_buffer(
            &self.video,
            QueueArgs {
                what: "VIDIOC_QBUF(OUTPUT)",
                path: &p,
                queue: self.out_q,
                index: req,
                planes: std::slice::from_ref(&cfg.outputs[req]),
                bytesused: pic.bitstream.len(),
                timestamp: Some((sec, usec)),
                request: Some(rfd),
                flags,
            },
        )?;
        // CAPTURE buffer (not part of the request).
        if let Some(ci) = capture {
            queue_buffer(
                &self.video,
                QueueArgs {
                    what: "VIDIOC_QBUF(CAPTURE)",
                    path: &p,
                    queue: self.cap_q,
                    index: ci,
                    planes: &cfg.captures[ci],
                    bytesused: 0,
                    timestamp: None,
                    request: None,
                    flags: BufferFlags::empty(),
                },
            )?;
            self.slots
                .queue_with_displays(ci, pic.timestamp, pic.displays)?;
        }
        self.requests[req].queue().map_err(|e| Error::Ioctl {
            what: "MEDIA_REQUEST_IOC_QUEUE",
            path: self.dev.media.clone(),
            errno: e,
        })?;
        self.pool.queued(InFlight {
            request: req,
            frame,
            timestamp: pic.timestamp,
            output: req,
            returns_capture: !pic.holds_capture(),
        });
        self.slots.set_references(&pic.references);
        self.display.push(pic.display.iter().copied());
        self.frame += 1;
        self.stats.submitted += 1;
        self.emit_ready(sink)
    }

    /// Waits for a buffer on the video fd (it is non-blocking).
    fn dqbuf(&self, queue: QueueType, frame: u64, ts: u64) -> Result<V4l2Buffer, Error> {
        let p = self.video_path();
        let mut waited = false;
        loop {
            match ioctl::dqbuf::<V4l2Buffer>(&self.video, queue) {
                Ok(b) => return Ok(b),
                Err(IoctlConvertError::IoctlError(DqBufIoctlError::NotReady)) if !waited => {
                    let mut fds = [PollFd::new(
                        self.video.as_fd(),
                        PollFlags::POLLIN | PollFlags::POLLOUT,
                    )];
                    let t = PollTimeout::try_from(self.opts.timeout_ms.min(i32::MAX as u32))
                        .unwrap_or(PollTimeout::MAX);
                    poll(&mut fds, t).map_err(|e| Error::Ioctl {
                        what: "poll",
                        path: p.clone(),
                        errno: e,
                    })?;
                    waited = true;
                }
                Err(IoctlConvertError::IoctlError(DqBufIoctlError::NotReady)) => {
                    return Err(Error::Timeout {
                        frame,
                        timestamp: ts,
                        timeout_ms: self.opts.timeout_ms,
                    })
                }
                Err(IoctlConvertError::IoctlError(e)) => {
                    return Err(Error::Ioctl {
                        what: "VIDIOC_DQBUF",
                        path: p,
                        errno: e.into(),
                    })
                }
                Err(IoctlConvertError::ConversionError(e)) => {
                    return Err(Error::BadBuffer {
                        video: p,
                        detail: format!("{e:?}"),
                    })
                }
            }
        }
    }

    /// Waits for the oldest request, dequeues its buffers, recycles it.
    fn complete_oldest(
        &mut self,
        sink: &mut dyn FnMut(DecodedFrame) -> std::io::Result<()>,
    ) -> Result<(), Error> {
        let Some(job) = self.pool.oldest().copied() else {
            return Ok(());
        };
        let req = &self.requests[job.request];
        let t0 = std::time::Instant::now();
        let done = req.wait(self.opts.timeout_ms);
        self.stats.waiting += t0.elapsed();
        let done = done.map_err(|e| Error::Ioctl {
            what: "poll(request)",
            path: self.dev.media.clone(),
            errno: e,
        })?;
        if !done {
            return Err(Error::Timeout {
                frame: job.frame,
                timestamp: job.timestamp,
                timeout_ms: self.opts.timeout_ms,
            });
        }
        let _out = self.dqbuf(self.out_q, job.frame, job.timestamp)?;
        if job.returns_capture {
            let cap = self.dqbuf(self.cap_q, job.frame, job.timestamp)?;
            let tv = cap.timestamp();
            let got = tv.tv_sec as u64 * 1_000_000_000 + tv.tv_usec as u64 * 1000;
            let idx = cap.index() as usize;
            let ts = self.slots.dequeued(idx)?;
            if got != ts {
                return Err(Error::TimestampMismatch {
                    frame: job.frame,
                    want: ts,
                    got,
                });
            }
            if cap.has_error() {
                self.stats.errors.push(job.frame);
                self.errored.push(ts);
            }
        }
        self.requests[job.request]
            .reinit()
            .map_err(|e| Error::Ioctl {
                what: "MEDIA_REQUEST_IOC_REINIT",
                path: self.dev.media.clone(),
                errno: e,
            })?;
        self.pool.complete();
        self.emit_ready(sink)
    }

    /// Writes out every displayable decoded picture.
    fn emit_ready(
        &mut self,
        sink: &mut dyn FnMut(DecodedFrame) -> std::io::Result<()>,
    ) -> Result<(), Error> {
        for ts in self.display.pop_ready(&self.slots) {
            let idx = self.slots.find_decoded(ts).expect("pop_ready checked it");
            if !self.done() {
                let t0 = std::time::Instant::now();
                let cfg = self.cfg.as_ref().expect("configured");
                let mems = &cfg.captures[idx];
                for m in mems {
                    m.begin_read()?;
                }
                let planes: Vec<&[u8]> = mems.iter().map(PlaneMem::as_slice).collect();
                let crop = self
                    .picture_rects
                    .get(&ts)
                    .copied()
                    .unwrap_or(cfg.info.visible);
                let i420 = cfg.layout.to_i420(&planes, crop);
                for m in mems {
                    m.end_read()?;
                }
                let i420 = i420?;
                let error = self.errored.contains(&ts);
                sink(DecodedFrame {
                    number: self.stats.displayed,
                    timestamp: ts,
                    width: crop.width,
                    height: crop.height,
                    sample_bytes: cfg.layout.fmt.sample_bytes(),
                    i420,
                    error,
                })
                .map_err(Error::Sink)?;
                self.stats.displayed += 1;
                self.stats.reading += t0.elapsed();
            }
            self.errored.retain(|&t| t != ts);
            self.slots.displayed(ts)?;
        }
        let slots = &self.slots;
        self.picture_rects.retain(|&t, _| slots.find(t).is_some());
        Ok(())
    }

    /// Completes every request in flight.
    fn drain(
        &mut self,
        sink: &mut dyn FnMut(DecodedFrame) -> std::io::Result<()>,
    ) -> Result<(), Error> {
        while self.pool.in_flight() > 0 {
            self.complete_oldest(sink)?;
        }
        Ok(())
    }

    /// Frames announced for display whose buffers never came (dropped at a
    /// resolution change or end of stream).
    pub fn undisplayed(&self) -> usize {
        self.display.len()
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        let _ = self.teardown();
    }
}

/// What one QBUF carries.
struct QueueArgs<'a> {
    what: &'static str,
    path: &'a Path,
    queue: QueueType,
    index: usize,
    planes: &'a [PlaneMem],
    /// Bytes used in the (single) OUTPUT plane; 0 for CAPTURE.
    bytesused: usize,
    timestamp: Option<(nix::libc::time_t, nix::libc::suseconds_t)>,
    request: Option<std::os::fd::RawFd>,
    flags: BufferFlags,
}

/// `VIDIOC_QBUF` of an MMAP or DMABUF buffer (the memory type of its planes).
fn queue_buffer(video: &File, a: QueueArgs<'_>) -> Result<(), Error> {
    fn send<H: PlaneHandle>(
        video: &File,
        a: &QueueArgs<'_>,
        planes: Vec<QBufPlane>,
    ) -> Result<(), Error> {
        let mut qb = QBuffer::<H>::new(a.queue, a.index as u32);
        if let Some((sec, usec)) = a.timestamp {
            qb = qb.set_timestamp(sec, usec);
        }
        if let Some(r) = a.request {
            qb = qb.set_request(r);
        }
        qb.flags |= a.flags;
        qb.planes = planes;
        let _: () = ioctl::qbuf(video, qb).map_err(|e| Error::Ioctl {
            what: a.what,
            path: a.path.to_owned(),
            errno: errno_of(e),
        })?;
        Ok(())
    }
    match a.planes.first() {
        Some(PlaneMem::DmaBuf(_)) => {
            let planes = a
                .planes
                .iter()
                .map(|m| match m {
                    PlaneMem::DmaBuf(d) => QBufPlane::new_from_handle(d.handle(), a.bytesused),
                    PlaneMem::Mmap(_) => unreachable!("a buffer's planes share one memory type"),
                })
                .collect();
            send::<DmaBufHandle<DmaBufFd>>(video, &a, planes)
        }
        _ => {
            let planes = a
                .planes
                .iter()
                .map(|_| QBufPlane::new_from_handle(&MmapHandle, a.bytesused))
                .collect();
            send::<MmapHandle>(video, &a, planes)
        }
    }
}

/// `VIDIOC_S_EXT_CTRLS` of `controls` with `which`; an error names the
/// control the driver refused.
fn set_controls(
    video: &impl std::os::fd::AsRawFd,
    controls: &mut [Payload],
    which: CtrlWhich,
    frame: u64,
) -> Result<(), Error> {
    let ids: Vec<u32> = controls.iter().map(|c| c.id).collect();
    ext_control_array(controls)
        .set(video, which)
        .map_err(|e| Error::Controls {
            frame,
            index: e.error_idx,
            id: ids.get(e.error_idx as usize).copied().unwrap_or(0),
            errno: e.into(),
        })
}
