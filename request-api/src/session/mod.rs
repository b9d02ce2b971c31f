//! A stateless decoder session, one module per responsibility: device
//! discovery (`discovery.rs`), format negotiation (`format.rs`), buffer
//! memory and allocation (`memory.rs`), queueing requests and buffers
//! (`queue.rs`) and the decode loop with display-order output (`decode.rs`).

mod decode;
mod discovery;
mod format;
mod memory;
mod queue;

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use v4l2r::ioctl::IntoErrno;
use v4l2r::memory::MemoryType;
use v4l2r::QueueType;

use ctrls::Codec;

use crate::bookkeeping::{CaptureSlots, DisplayQueue, RequestPool, SlotError};
use crate::dmabuf::DmaBufError;
use crate::media::RequestFd;
use crate::yuv::{Layout, LayoutError};
use ctrls::source::{Rect, SourceError, StreamInfo};

use discovery::queues;
pub use discovery::{find_decoder, media_nodes, probe_media, DecoderDevice};
use memory::PlaneMem;
pub use memory::{DmaBufOrigin, MemoryKind};

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
}

impl Session {
    fn video_path(&self) -> PathBuf {
        self.dev.video.clone()
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        let _ = self.teardown();
    }
}
