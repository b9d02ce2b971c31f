//! `daedalusd serve`: attach to /dev/daedalus and answer the module's jobs.
//!
//! The loop polls the device and a signalfd (SIGTERM/SIGINT end it cleanly:
//! closing the device makes the module fail a job still pending). Per job it
//! maps the OUTPUT buffer and the destination CAPTURE planes through the
//! module's dmabuf export (zero copy), caching each mapping by buffer identity,
//! then hands everything to a [`Decoder`]: the libdaedalus engine, one per
//! context (H.264, VP9, AV1; jobs of other codecs fail with "no engine").

use anyhow::{bail, Context as _};
use ctrls::h264;
use libdaedalus::codec::av1::Av1Controls;
use libdaedalus::codec::h264::H264Controls;
use libdaedalus::codec::vp9::Vp9Controls;
use libdaedalus::proto::{self, JobMsg, JobResult, Message};
use libdaedalus::{
    Codec, CodecControls, Dst, DstPlane, Engine, EngineOptions, PixelFormat, Request,
};
use nix::errno::Errno;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::signal::{SigSet, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use std::collections::hash_map::Entry;
use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::Read;
use std::os::fd::{AsFd, BorrowedFd};
use std::os::unix::fs::OpenOptionsExt;
use std::path::PathBuf;
use tracing::{debug, error, info, warn};

/// A job that takes this long (ms) is logged at info level.
const SLOW_JOB_MS: f64 = 250.0;

/// Arguments of `daedalusd serve`.
#[derive(clap::Args)]
pub struct Args {
    /// The module's daemon device.
    #[arg(long, default_value = "/dev/daedalus")]
    device: PathBuf,
    /// Skip the start-up warm-up decode (see `warm_up`).
    #[arg(long)]
    no_warmup: bool,
    /// Exit on protocol or buffer-mapping failures instead of failing only the
    /// job, and run the engine in strict mode (controls checked against the stream).
    #[arg(long)]
    strict: bool,
}

/// What turns a job into a picture: the seam for the engine.
pub trait Decoder {
    /// Decode `job`, reading the bitstream from `src` and writing the picture
    /// into `dst` (one slice per CAPTURE memory plane, laid out as
    /// `job.dst_planes()` says). Returns the bytes used per plane (0 = all).
    fn decode(
        &mut self,
        job: &JobMsg<'_>,
        src: &[u8],
        dst: &mut [&mut [u8]],
    ) -> Result<[u32; proto::MAX_PLANES], String>;

    /// The context is gone: drop its decoding state.
    fn context_closed(&mut self, ctx_id: u32);
}

/// The libdaedalus engine, one instance per context (H.264 today); other
/// codecs fail their jobs with "no engine".
#[derive(Default)]
struct EngineDecoder {
    strict: bool,
    engines: HashMap<u32, Engine>,
}

fn pixel_format(fourcc: u32) -> Option<PixelFormat> {
    Some(match &fourcc.to_le_bytes() {
        b"NV12" => PixelFormat::Nv12,
        b"NM12" => PixelFormat::Nv12m,
        b"YU12" => PixelFormat::Yuv420,
        b"P010" => PixelFormat::P010,
        _ => return None,
    })
}

/// The H.264 controls of a job, as the engine takes them.
// `..default()` keeps this building while H264Controls gains fields.
#[allow(clippy::needless_update)]
fn h264_controls(job: &JobMsg<'_>) -> Result<H264Controls, String> {
    let menu = |id| job.ctrl(id).and_then(|c| c.read_i32());
    let slice_based = menu(h264::CID_DECODE_MODE) == Some(h264::DecodeMode::SliceBased as i32);
    let start_code = match menu(h264::CID_START_CODE) {
        Some(v) if v == h264::StartCode::None as i32 => h264::StartCode::None,
        _ => h264::StartCode::AnnexB,
    };
    Ok(H264Controls {
        sps: get(job)?,
        pps: get(job)?,
        scaling_matrix: get(job)?,
        decode_params: get(job)?,
        slice_params: if slice_based {
            vec![get(job)?]
        } else {
            Vec::new()
        },
        pred_weights: Some(get(job)?),
        start_code,
        ..H264Controls::default()
    })
}

fn get<T: ctrls::Control>(job: &JobMsg<'_>) -> Result<T, String> {
    job.ctrl(T::ID)
        .and_then(|c| c.read::<T>())
        .ok_or_else(|| format!("job lacks {}", T::NAME))
}

/// The VP9 controls of a job.
fn vp9_controls(job: &JobMsg<'_>) -> Result<Vp9Controls, String> {
    Ok(Vp9Controls {
        frame: get(job)?,
        compressed_hdr: get(job).ok(),
    })
}

/// The AV1 controls of a job (TILE_GROUP_ENTRY is a dynamic array).
fn av1_controls(job: &JobMsg<'_>) -> Result<Av1Controls, String> {
    use ctrls::av1::TileGroupEntry;
    use ctrls::Control;
    let tiles = job
        .ctrl(TileGroupEntry::ID)
        .ok_or_else(|| format!("job lacks {}", TileGroupEntry::NAME))?;
    let tile_group_entries = TileGroupEntry::parse_array(tiles.data)
        .map_err(|e| format!("{}: {e}", TileGroupEntry::NAME))?;
    Ok(Av1Controls {
        sequence: get(job)?,
        frame: get(job)?,
        tile_group_entries,
        film_grain: get(job).ok(),
    })
}

/// The controls of a job, by codec.
enum JobControls {
    H264(Box<H264Controls>),
    Vp9(Vp9Controls),
    Av1(Av1Controls),
}

impl JobControls {
    fn from_job(job: &JobMsg<'_>) -> Result<Self, String> {
        Ok(match job.job.codec {
            proto::CODEC_H264 => JobControls::H264(Box::new(h264_controls(job)?)),
            proto::CODEC_VP9 => JobControls::Vp9(vp9_controls(job)?),
            proto::CODEC_AV1 => JobControls::Av1(av1_controls(job)?),
            c => return Err(format!("codec {c}: no engine")),
        })
    }

    fn as_request(&self) -> (Codec, CodecControls<'_>) {
        match self {
            JobControls::H264(c) => (Codec::H264, CodecControls::H264(c)),
            JobControls::Vp9(c) => (Codec::Vp9, CodecControls::Vp9(c)),
            JobControls::Av1(c) => (Codec::Av1, CodecControls::Av1(c)),
        }
    }
}

impl Decoder for EngineDecoder {
    fn decode(
        &mut self,
        job: &JobMsg<'_>,
        src: &[u8],
        dst: &mut [&mut [u8]],
    ) -> Result<[u32; proto::MAX_PLANES], String> {
        let j = &job.job;
        let controls = JobControls::from_job(job)?;
        let (codec, controls) = controls.as_request();
        let format = pixel_format(j.dst_fourcc)
            .ok_or_else(|| format!("CAPTURE format {:#x} unsupported", j.dst_fourcc))?;
        let engine = match self.engines.entry(j.hdr.ctx_id) {
            Entry::Occupied(e) => e.into_mut(),
            Entry::Vacant(v) => {
                let opts = EngineOptions {
                    strict: self.strict,
                };
                v.insert(Engine::with_options(codec, opts).map_err(|e| e.to_string())?)
            }
        };
        if engine.codec() != codec {
            // A context changed its coded format (S_FMT OUTPUT between streams).
            let opts = engine.options();
            *engine = Engine::with_options(codec, opts).map_err(|e| e.to_string())?;
        }
        let req = Request {
            controls,
            bitstream: src,
            timestamp: j.src_timestamp,
            hold_capture: j.flags & proto::JOB_FL_HOLD_CAPTURE_BUF != 0,
        };
        let mut out = Dst {
            format,
            width: j.dst_width,
            height: j.dst_height,
            planes: dst
                .iter_mut()
                .zip(job.dst_planes())
                .map(|(data, p)| DstPlane {
                    stride: p.bytesperline as usize,
                    data: &mut data[..],
                })
                .collect(),
        };
        let report = engine.decode(&req, &mut out).map_err(|e| e.to_string())?;
        for w in &report.warnings {
            debug!(job = j.job_id, "controls disagree: {w}");
        }
        Ok([0; proto::MAX_PLANES])
    }

    fn context_closed(&mut self, ctx_id: u32) {
        self.engines.remove(&ctx_id);
    }
}

/// dmabuf mappings: the only `unsafe` of the daemon.
///
/// Invariants: a mapping is made from a dmabuf fd the module exported for one
/// plane of a vb2 buffer, with the length the module reported for that plane,
/// and is kept together with its fd. The memory stays allocated while the
/// mapping exists (the dmabuf holds a reference), even after the client frees
/// the buffer; the client and the module may write it concurrently, which is
/// the nature of shared video memory: we only ever read OUTPUT planes and only
/// write CAPTURE planes of the job we were given.
#[allow(unsafe_code)]
mod dmabuf {
    use memmap2::{Mmap, MmapMut, MmapOptions};
    use std::fs::File;
    use std::os::fd::OwnedFd;

    pub enum Mapping {
        Read(Mmap),
        Write(MmapMut),
    }

    pub struct Plane {
        pub buf_id: u64,
        pub map: Mapping,
        _file: File,
    }

    impl Plane {
        pub fn map(fd: OwnedFd, buf_id: u64, len: usize, writable: bool) -> std::io::Result<Self> {
            let file = File::from(fd);
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

        pub fn bytes(&self) -> &[u8] {
            match &self.map {
                Mapping::Read(m) => m,
                Mapping::Write(m) => m,
            }
        }

        pub fn bytes_mut(&mut self) -> Option<&mut [u8]> {
            match &mut self.map {
                Mapping::Read(_) => None,
                Mapping::Write(m) => Some(m),
            }
        }
    }
}

/// (context, queue, buffer index, plane).
type PlaneKey = (u32, u32, u32, u32);

/// Mapped planes, reused while the module reports the same buffer identity.
#[derive(Default)]
struct MapCache {
    planes: HashMap<PlaneKey, dmabuf::Plane>,
}

impl MapCache {
    /// Map (or reuse) one plane; `len` is the plane size the job reported.
    fn get(
        &mut self,
        dev: BorrowedFd<'_>,
        key: PlaneKey,
        buf_id: u64,
        len: usize,
    ) -> anyhow::Result<&mut dmabuf::Plane> {
        let stale = self
            .planes
            .get(&key)
            .is_some_and(|p| p.buf_id != buf_id || p.bytes().len() != len);
        if stale {
            self.planes.remove(&key);
        }
        let vacant = match self.planes.entry(key) {
            Entry::Occupied(e) => return Ok(e.into_mut()),
            Entry::Vacant(v) => v,
        };
        let (ctx, queue, index, plane) = key;
        let writable = queue == proto::QUEUE_CAPTURE;
        let mode = if writable {
            libc_o_rdwr()
        } else {
            libc_o_rdonly()
        };
        let (fd, id) = proto::sys::expbuf(dev, ctx, queue, index, plane, mode | libc_o_cloexec())
            .with_context(|| {
            format!("export ctx {ctx} queue {queue} buffer {index} plane {plane}")
        })?;
        if id != buf_id {
            // The buffer changed between the job and the export.
            bail!("buffer {index} of ctx {ctx} changed (id {id}, job says {buf_id})");
        }
        let mapped = dmabuf::Plane::map(fd, id, len, writable).with_context(|| {
            format!("mmap ctx {ctx} queue {queue} buffer {index} plane {plane}")
        })?;
        debug!(ctx, queue, index, plane, buf_id, len, "mapped");
        Ok(vacant.insert(mapped))
    }

    fn drop_context(&mut self, ctx_id: u32) {
        self.planes.retain(|k, _| k.0 != ctx_id);
    }
}

fn libc_o_rdwr() -> i32 {
    nix::fcntl::OFlag::O_RDWR.bits()
}
fn libc_o_rdonly() -> i32 {
    nix::fcntl::OFlag::O_RDONLY.bits()
}
fn libc_o_cloexec() -> i32 {
    nix::fcntl::OFlag::O_CLOEXEC.bits()
}

struct Server<D: Decoder> {
    dev: File,
    strict: bool,
    cache: MapCache,
    decoder: D,
    jobs: u64,
    failed: u64,
}

impl<D: Decoder> Server<D> {
    fn answer(&self, result: &JobResult) -> anyhow::Result<()> {
        match proto::sys::job_done(self.dev.as_fd(), result) {
            Ok(()) => Ok(()),
            Err(Errno::ENOENT) => {
                debug!(
                    job = result.job_id,
                    "late answer ignored (job already ended)"
                );
                Ok(())
            }
            Err(e) => Err(e).context("DAEDALUS_IOC_JOB_DONE"),
        }
    }

    /// Map the job's buffers and run the decoder.
    fn run_job(
        &mut self,
        msg: &JobMsg<'_>,
    ) -> anyhow::Result<Result<[u32; proto::MAX_PLANES], String>> {
        let job = &msg.job;
        let ctx = job.hdr.ctx_id;
        let dev = self.dev.as_fd();

        let src_len = job.src_size as usize;
        let used = (job.src_bytesused as usize).min(src_len);
        let src_key = (ctx, proto::QUEUE_OUTPUT, job.src_index, 0);
        // Keep the OUTPUT mapping out of the map while CAPTURE planes are borrowed.
        self.cache.get(dev, src_key, job.src_buf_id, src_len)?;
        let src_plane = self.cache.planes.remove(&src_key).expect("just mapped");

        let mut dst_planes = Vec::with_capacity(msg.dst_planes().len());
        let mut result = Ok(());
        for (p, plane) in msg.dst_planes().iter().enumerate() {
            let key = (ctx, proto::QUEUE_CAPTURE, job.dst_index, p as u32);
            match self
                .cache
                .get(dev, key, job.dst_buf_id, plane.sizeimage as usize)
            {
                Ok(_) => dst_planes.push(self.cache.planes.remove(&key).expect("just mapped")),
                Err(e) => {
                    result = Err(e);
                    break;
                }
            }
        }

        let outcome = result.map(|()| {
            let mut dst: Vec<&mut [u8]> = dst_planes
                .iter_mut()
                .map(|p| p.bytes_mut().expect("CAPTURE planes are writable"))
                .collect();
            self.decoder
                .decode(msg, &src_plane.bytes()[..used], &mut dst)
        });

        self.cache.planes.insert(src_key, src_plane);
        for (p, plane) in dst_planes.into_iter().enumerate() {
            self.cache
                .planes
                .insert((ctx, proto::QUEUE_CAPTURE, job.dst_index, p as u32), plane);
        }
        outcome
    }

    fn handle_job(&mut self, msg: &JobMsg<'_>) -> anyhow::Result<()> {
        let job = &msg.job;
        self.jobs += 1;
        debug!(
            job = job.job_id,
            ctx = job.hdr.ctx_id,
            codec = job.codec,
            src = job.src_index,
            bytes = job.src_bytesused,
            dst = job.dst_index,
            ts = job.src_timestamp,
            flags = job.flags,
            "job"
        );
        let started = std::time::Instant::now();
        let result = match self.run_job(msg) {
            Ok(Ok(bytesused)) => JobResult::new(job, 0, bytesused, ""),
            Ok(Err(reason)) => {
                JobResult::new(job, -(Errno::EIO as i32), [0; proto::MAX_PLANES], &reason)
            }
            Err(e) if self.strict => {
                let r = JobResult::new(
                    job,
                    -(Errno::EIO as i32),
                    [0; proto::MAX_PLANES],
                    "buffer mapping failed",
                );
                self.answer(&r)?;
                return Err(e);
            }
            Err(e) => {
                warn!(job = job.job_id, "{e:#}");
                JobResult::new(
                    job,
                    -(Errno::EIO as i32),
                    [0; proto::MAX_PLANES],
                    &format!("{e:#}"),
                )
            }
        };
        let ms = started.elapsed().as_secs_f64() * 1e3;
        // The module fails a job after job_timeout_ms (2 s by default) and
        // GStreamer waits 1 s per request: say when a job comes close.
        if ms >= SLOW_JOB_MS {
            info!(
                job = job.job_id,
                ctx = job.hdr.ctx_id,
                ms = format!("{ms:.0}"),
                "slow job"
            );
        } else {
            debug!(job = job.job_id, ms = format!("{ms:.1}"), "job done");
        }
        if result.status != 0 {
            self.failed += 1;
            // Every failure up to 100, then only at powers of two: a client
            // that feeds a stream the engine cannot take must not flood the log.
            if self.failed <= 100 || self.failed.is_power_of_two() {
                warn!(
                    job = job.job_id,
                    ctx = job.hdr.ctx_id,
                    failed = self.failed,
                    "job failed: {}",
                    result.reason_str()
                );
            }
        }
        self.answer(&result)
    }

    fn handle_message(&mut self, bytes: &[u8]) -> anyhow::Result<()> {
        match proto::parse_message(bytes) {
            Ok(Message::Job(job)) => self.handle_job(&job),
            Ok(Message::CtxClosed { ctx_id }) => {
                debug!(ctx = ctx_id, "context closed");
                self.cache.drop_context(ctx_id);
                self.decoder.context_closed(ctx_id);
                Ok(())
            }
            Err(e) if self.strict => Err(e).context("bad message from the module"),
            Err(e) => {
                // The job (if it was one) times out in the module.
                error!("bad message from the module: {e}");
                Ok(())
            }
        }
    }
}

/// A 64x64, 5-frame libx264 stream (High profile, CABAC, B-frames, weighted
/// prediction, 8x8 transform; made with the host ffmpeg from testsrc2).
const WARMUP_STREAM: &[u8] = include_bytes!("warmup.264");

/// Decodes [`WARMUP_STREAM`] through the engine before attaching, so a
/// context's first jobs do not pay for the first touch of the engine's and
/// FFmpeg's code and tables (page-ins of the binary and libavcodec, static
/// table set-up). Under TCG with the libraries read over 9p, that cost made
/// the first job of the first context take 1.3 s, past GStreamer's 1 s wait
/// for a request. Failure only logs: the real jobs will say what is wrong.
fn warm_up() {
    let started = std::time::Instant::now();
    let opts = libdaedalus::replay::ReplayOptions::default();
    match libdaedalus::replay::replay_h264(WARMUP_STREAM, &opts, |_| Ok(())) {
        Ok(s) => info!(
            frames = s.frames,
            failed = s.failed.len(),
            ms = format!("{:.0}", started.elapsed().as_secs_f64() * 1e3),
            "warm-up decode done"
        ),
        Err(e) => warn!("warm-up decode failed: {e}"),
    }
}

pub fn run(args: Args) -> anyhow::Result<()> {
    // Block the signals first so the signalfd sees them (no handler needed).
    let mut mask = SigSet::empty();
    mask.add(Signal::SIGTERM);
    mask.add(Signal::SIGINT);
    mask.thread_block().context("blocking SIGTERM/SIGINT")?;
    let mut sigfd = SignalFd::with_flags(&mask, SfdFlags::SFD_CLOEXEC | SfdFlags::SFD_NONBLOCK)
        .context("signalfd")?;

    if !args.no_warmup {
        warm_up();
    }

    let dev = OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags(nix::fcntl::OFlag::O_NONBLOCK.bits())
        .open(&args.device)
        .map_err(|e| match e.raw_os_error() {
            Some(code) if code == Errno::EBUSY as i32 => {
                anyhow::anyhow!("{}: another daemon is attached", args.device.display())
            }
            Some(code) if code == Errno::EPERM as i32 => {
                anyhow::anyhow!("{}: attaching needs CAP_SYS_ADMIN", args.device.display())
            }
            _ => anyhow::Error::new(e).context(format!("opening {}", args.device.display())),
        })?;

    let info = proto::sys::info(dev.as_fd()).context("DAEDALUS_IOC_INFO")?;
    if info.version != proto::PROTO_VERSION {
        bail!(
            "module speaks protocol {}, this daemon {}",
            info.version,
            proto::PROTO_VERSION
        );
    }
    info!(
        device = %args.device.display(),
        job_timeout_ms = info.job_timeout_ms,
        "attached"
    );

    let mut server = Server {
        dev,
        strict: args.strict,
        cache: MapCache::default(),
        decoder: EngineDecoder {
            strict: args.strict,
            ..EngineDecoder::default()
        },
        jobs: 0,
        failed: 0,
    };
    let mut buf = vec![0u8; (info.max_msg_size as usize).max(proto::MSG_MAX_SIZE)];

    'serve: loop {
        let (dev_ready, sig_ready) = {
            let mut fds = [
                PollFd::new(server.dev.as_fd(), PollFlags::POLLIN),
                PollFd::new(sigfd.as_fd(), PollFlags::POLLIN),
            ];
            match poll(&mut fds, PollTimeout::NONE) {
                Ok(_) => {}
                Err(Errno::EINTR) => continue,
                Err(e) => return Err(e).context("poll"),
            }
            let ready = |f: &PollFd<'_>| f.revents().is_some_and(|r| !r.is_empty());
            (ready(&fds[0]), ready(&fds[1]))
        };
        if sig_ready {
            if let Ok(Some(si)) = sigfd.read_signal() {
                info!(signal = si.ssi_signo, "stopping");
            }
            break 'serve;
        }
        if !dev_ready {
            continue;
        }
        // Drain every queued message.
        loop {
            match server.dev.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => server.handle_message(&buf[..n])?,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e).context("reading a message"),
            }
        }
    }

    info!(jobs = server.jobs, failed = server.failed, "detached");
    Ok(())
}
