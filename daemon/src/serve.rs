//! `daedalusd serve`: attach to /dev/daedalus and answer the module's jobs.
//!
//! [`run`] attaches, drops every privilege ([`crate::sandbox`]) and runs the
//! [`Supervisor`], which hands each context's jobs to a worker process of its
//! own; it polls the device, the workers and a signalfd (SIGTERM/SIGINT end it
//! cleanly: closing the device makes the module fail a job still pending).
//!
//! [`Server`] is what a worker runs per job: it maps the OUTPUT buffer and the
//! destination CAPTURE planes (zero copy), caching each mapping by buffer
//! identity, then hands everything to a [`Decoder`]: the libdaedalus engine.
//! Nothing here knows a codec: the job's codec id and controls become a
//! `ctrls::ControlSet`, and the engine says which codecs it decodes (jobs of
//! the others fail with "no engine").

use anyhow::{bail, Context as _};
use ctrls::{CaptureFormat, ControlSet};
use libdaedalus::{Dst, DstPlane, Engine, EngineError, EngineOptions, Request};
use nix::errno::Errno;
use nix::sys::signal::{SigSet, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use std::collections::hash_map::Entry;
use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::Read as _;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::fs::OpenOptionsExt;
use std::path::PathBuf;
use tracing::{debug, error, info, warn};

use crate::dmabuf::{MapCache, Plane, PlaneKey};
use crate::findings::Findings;
use crate::proto::{self, JobMsg, JobResult, Message};
use crate::sandbox;
use crate::supervisor::{Supervisor, WorkerCommand, WorkerOptions};
use std::time::Duration;

/// A job that takes this long (ms) is logged at info level.
const SLOW_JOB_MS: f64 = 250.0;

/// Arguments of `daedalusd serve`.
#[derive(clap::Args)]
pub struct Args {
    /// The module's daemon device.
    #[arg(long, default_value = "/dev/daedalus")]
    device: PathBuf,
    /// Workers skip their warm-up: a small H.264 stream each decodes before
    /// it closes its sandbox, so the libraries are loaded and a context's
    /// first job is not slow.
    #[arg(long)]
    no_warmup: bool,
    /// Exit on protocol or buffer-mapping failures instead of failing only the
    /// job, and run the engine in strict mode (controls checked against the stream).
    #[arg(long)]
    strict: bool,
    /// The user to run as once attached, when started as root (falls back to
    /// "nobody" if there is no such user). Started as another user, with an
    /// ambient CAP_SYS_ADMIN as the systemd unit does, it stays that user and
    /// drops the capability.
    #[arg(long, default_value = "daedalus", value_name = "USER")]
    user: String,
    /// Address-space limit of each context's worker, in MiB: a worker beyond
    /// it ends, failing only its context's pending job.
    #[arg(long, default_value_t = 3072, value_name = "MIB")]
    worker_memory_mb: u64,
    /// Threads each context's decoder may use within one picture (AV1: dav1d's
    /// tile and post-filter threads; the pictures are the same whatever the
    /// count). Default: the CPUs this process may run on, at most 4.
    #[arg(long, value_name = "N")]
    decode_threads: Option<u32>,
    /// No seccomp filters (supervisor and workers): debugging only.
    #[arg(long)]
    no_seccomp: bool,
    /// Test hooks in the workers: SIGUSR1 makes one exhaust its memory limit,
    /// SIGUSR2 call a forbidden system call, SIGTTIN spin 4 s on each later
    /// job (the VM suites use them).
    #[arg(long)]
    test_hooks: bool,
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

/// The libdaedalus engine, one instance per context.
#[derive(Default)]
pub struct EngineDecoder {
    strict: bool,
    engines: HashMap<u32, Engine>,
    /// Engines created from now on take over lost decoding state.
    resumed: bool,
    /// Threads per picture ([`EngineOptions::threads`]).
    threads: u32,
    /// Per context: what its controls said differently from the bitstream.
    findings: HashMap<u32, Findings>,
}

impl EngineDecoder {
    /// `strict`: the engine fails requests whose controls break a rule the
    /// kernel does not check or disagree with the bitstream.
    pub fn new(strict: bool) -> Self {
        EngineDecoder {
            strict,
            engines: HashMap::new(),
            resumed: false,
            threads: 1,
            findings: HashMap::new(),
        }
    }

    /// Decoders may use `threads` threads within a picture.
    pub fn with_threads(mut self, threads: u32) -> Self {
        self.threads = threads;
        self
    }

    /// This decoder takes over contexts whose earlier pictures were lost (a
    /// worker died): their engines wait for a random access point.
    pub fn resume_after_loss(&mut self) {
        self.resumed = true;
        for e in self.engines.values_mut() {
            e.await_random_access();
        }
    }

    /// Contexts with decoding state.
    pub fn contexts(&self) -> usize {
        self.engines.len()
    }

    /// The findings of context `ctx` so far.
    pub fn findings(&self, ctx: u32) -> Option<&Findings> {
        self.findings.get(&ctx)
    }

    /// Logs and forgets the findings of every context (the worker is ending).
    pub fn log_findings(&mut self) {
        let mut ctxs: Vec<_> = self.findings.drain().collect();
        ctxs.sort_by_key(|(ctx, _)| *ctx);
        for (ctx, f) in ctxs {
            f.log(ctx);
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
        let codec = job
            .codec()
            .ok_or_else(|| format!("unknown codec id {}", j.codec))?;
        let controls = ControlSet::parse(codec, &job.raw_controls()).map_err(|e| e.to_string())?;
        let format = CaptureFormat::from_fourcc_u32(j.dst_fourcc)
            .ok_or_else(|| format!("CAPTURE format {:#x} unsupported", j.dst_fourcc))?;
        let opts = EngineOptions {
            strict: self.strict,
            threads: self.threads,
        };
        let resumed = self.resumed;
        let engine = match self.engines.entry(j.hdr.ctx_id) {
            Entry::Occupied(e) => e.into_mut(),
            Entry::Vacant(v) => {
                let mut e = Engine::with_options(codec, opts).map_err(|e| e.to_string())?;
                if resumed {
                    e.await_random_access();
                }
                v.insert(e)
            }
        };
        if engine.codec() != codec {
            // A context changed its coded format (S_FMT OUTPUT between streams).
            *engine = Engine::with_options(codec, opts).map_err(|e| e.to_string())?;
        }
        let req = Request {
            controls: &controls,
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
        let result = engine.decode(&req, &mut out);
        let findings = self.findings.entry(j.hdr.ctx_id).or_default();
        match &result {
            Ok(report) => findings.add(codec, &report.warnings),
            Err(EngineError::Mismatch(m)) => findings.add(codec, m),
            Err(_) => findings.add(codec, &[]),
        }
        let report = result.map_err(|e| e.to_string())?;
        for w in &report.warnings {
            debug!(job = j.job_id, "controls disagree: {w}");
        }
        Ok([0; proto::MAX_PLANES])
    }

    fn context_closed(&mut self, ctx_id: u32) {
        self.engines.remove(&ctx_id);
        if let Some(f) = self.findings.remove(&ctx_id) {
            f.log(ctx_id);
        }
    }
}

/// What the serve loop needs of /dev/daedalus besides reading messages: the
/// seam for tests, which play the module with files for buffers.
pub trait Device {
    /// `DAEDALUS_IOC_EXPBUF`: a descriptor of one plane of a context's buffer
    /// (`flags`: O_RDONLY / O_RDWR, O_CLOEXEC) and the buffer's identity.
    fn expbuf(
        &self,
        ctx: u32,
        queue: u32,
        index: u32,
        plane: u32,
        flags: i32,
    ) -> nix::Result<(OwnedFd, u64)>;
    /// `DAEDALUS_IOC_JOB_DONE`.
    fn job_done(&self, result: &JobResult) -> nix::Result<()>;
}

impl<T: Device + ?Sized> Device for &T {
    fn expbuf(
        &self,
        ctx: u32,
        queue: u32,
        index: u32,
        plane: u32,
        flags: i32,
    ) -> nix::Result<(OwnedFd, u64)> {
        (**self).expbuf(ctx, queue, index, plane, flags)
    }

    fn job_done(&self, result: &JobResult) -> nix::Result<()> {
        (**self).job_done(result)
    }
}

impl Device for File {
    fn expbuf(
        &self,
        ctx: u32,
        queue: u32,
        index: u32,
        plane: u32,
        flags: i32,
    ) -> nix::Result<(OwnedFd, u64)> {
        proto::sys::expbuf(self.as_fd(), ctx, queue, index, plane, flags)
    }

    fn job_done(&self, result: &JobResult) -> nix::Result<()> {
        proto::sys::job_done(self.as_fd(), result)
    }
}

/// `DAEDALUS_IOC_EXPBUF` of one plane of the job's buffer `buf_id`: CAPTURE
/// planes read-write, OUTPUT read-only; fails if the buffer is no longer
/// the job's.
pub fn export_plane(dev: &impl Device, key: PlaneKey, buf_id: u64) -> anyhow::Result<OwnedFd> {
    let (ctx, queue, index, plane) = key;
    let mode = if queue == proto::QUEUE_CAPTURE {
        nix::fcntl::OFlag::O_RDWR
    } else {
        nix::fcntl::OFlag::O_RDONLY
    };
    let flags = (mode | nix::fcntl::OFlag::O_CLOEXEC).bits();
    let (fd, id) = dev
        .expbuf(ctx, queue, index, plane, flags)
        .with_context(|| format!("export ctx {ctx} queue {queue} buffer {index} plane {plane}"))?;
    if id != buf_id {
        // The buffer changed between the job and the export.
        bail!("buffer {index} of ctx {ctx} changed (id {id}, job says {buf_id})");
    }
    Ok(fd)
}

/// Maps (or reuses) one plane; `len` is the plane size the job reported.
fn map_plane(
    cache: &mut MapCache,
    dev: &impl Device,
    key: PlaneKey,
    buf_id: u64,
    len: usize,
) -> anyhow::Result<Plane> {
    if let Some(p) = cache.take(key, buf_id, len) {
        return Ok(p);
    }
    let (ctx, queue, index, plane) = key;
    let fd = export_plane(dev, key, buf_id)?;
    let mapped = Plane::map(fd, buf_id, len, queue == proto::QUEUE_CAPTURE)
        .with_context(|| format!("mmap ctx {ctx} queue {queue} buffer {index} plane {plane}"))?;
    debug!(ctx, queue, index, plane, buf_id, len, "mapped");
    Ok(mapped)
}

/// Job and failure counts of a serve loop.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    pub jobs: u64,
    pub failed: u64,
}

/// The serve loop's state: the device, the mapping cache and the decoder.
pub struct Server<V: Device, D: Decoder> {
    dev: V,
    strict: bool,
    cache: MapCache,
    decoder: D,
    stats: Stats,
    /// The job's bitstream, copied out of the client's OUTPUT buffer: checked
    /// and decoded from here, so a client rewriting its buffer meanwhile
    /// changes nothing.
    bitstream: Vec<u8>,
}

/// A bitstream buffer grown past this (and four times the job's) is freed.
const BITSTREAM_KEEP: usize = 1 << 20;

impl<V: Device, D: Decoder> Server<V, D> {
    /// `strict`: protocol and mapping failures end the loop instead of failing
    /// only the job.
    pub fn new(dev: V, decoder: D, strict: bool) -> Self {
        Server {
            dev,
            strict,
            cache: MapCache::default(),
            decoder,
            stats: Stats::default(),
            bitstream: Vec::new(),
        }
    }

    pub fn stats(&self) -> Stats {
        self.stats
    }

    pub fn decoder(&self) -> &D {
        &self.decoder
    }

    pub fn decoder_mut(&mut self) -> &mut D {
        &mut self.decoder
    }

    pub fn device(&self) -> &V {
        &self.dev
    }

    /// Buffer planes currently mapped.
    pub fn mapped_planes(&self) -> usize {
        self.cache.len()
    }

    fn answer(&self, result: &JobResult) -> anyhow::Result<()> {
        match self.dev.job_done(result) {
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

        let src_len = job.src_size as usize;
        let used = (job.src_bytesused as usize).min(src_len);
        let src_key = (ctx, proto::QUEUE_OUTPUT, job.src_index, 0);
        let src_plane = map_plane(&mut self.cache, &self.dev, src_key, job.src_buf_id, src_len)?;
        if self.bitstream.capacity() > BITSTREAM_KEEP.max(4 * used) {
            self.bitstream = Vec::new();
        }
        self.bitstream.clear();
        self.bitstream.extend_from_slice(&src_plane.bytes()[..used]);
        self.cache.put(src_key, src_plane);

        let mut dst_planes = Vec::with_capacity(msg.dst_planes().len());
        let mut result = Ok(());
        for (p, plane) in msg.dst_planes().iter().enumerate() {
            let key = (ctx, proto::QUEUE_CAPTURE, job.dst_index, p as u32);
            match map_plane(
                &mut self.cache,
                &self.dev,
                key,
                job.dst_buf_id,
                plane.sizeimage as usize,
            ) {
                Ok(m) => dst_planes.push(m),
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
            self.decoder.decode(msg, &self.bitstream, &mut dst)
        });

        for (p, plane) in dst_planes.into_iter().enumerate() {
            self.cache
                .put((ctx, proto::QUEUE_CAPTURE, job.dst_index, p as u32), plane);
        }
        outcome
    }

    fn handle_job(&mut self, msg: &JobMsg<'_>) -> anyhow::Result<()> {
        let job = &msg.job;
        self.stats.jobs += 1;
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
        // The full reason goes to the log; the answer carries what fits
        // (DAEDALUS_REASON_LEN).
        let (result, reason) = match self.run_job(msg) {
            Ok(Ok(bytesused)) => (JobResult::new(job, 0, bytesused, ""), String::new()),
            Ok(Err(reason)) => (
                JobResult::new(job, -(Errno::EIO as i32), [0; proto::MAX_PLANES], &reason),
                reason,
            ),
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
                let reason = format!("{e:#}");
                (
                    JobResult::new(job, -(Errno::EIO as i32), [0; proto::MAX_PLANES], &reason),
                    reason,
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
            self.stats.failed += 1;
            // Every failure up to 100, then only at powers of two: a client
            // that feeds a stream the engine cannot take must not flood the log.
            if self.stats.failed <= 100 || self.stats.failed.is_power_of_two() {
                warn!(
                    job = job.job_id,
                    ctx = job.hdr.ctx_id,
                    failed = self.stats.failed,
                    "job failed: {reason}"
                );
            }
        }
        self.answer(&result)
    }

    /// Handles one message (what one `read()` of the device returned).
    pub fn handle_message(&mut self, bytes: &[u8]) -> anyhow::Result<()> {
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

pub fn run(args: Args) -> anyhow::Result<()> {
    // Block the signals first so the signalfd sees them (no handler needed).
    let mut mask = SigSet::empty();
    mask.add(Signal::SIGTERM);
    mask.add(Signal::SIGINT);
    mask.thread_block().context("blocking SIGTERM/SIGINT")?;
    let mut sigfd = SignalFd::with_flags(&mask, SfdFlags::SFD_CLOEXEC | SfdFlags::SFD_NONBLOCK)
        .context("signalfd")?;

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
    // Attached: nothing privileged is left to do.
    let me = sandbox::drop_privileges(&args.user).context("dropping privileges")?;
    if !args.no_seccomp {
        sandbox::install_supervisor_filter().context("seccomp")?;
    }
    info!(
        device = %args.device.display(),
        job_timeout_ms = info.job_timeout_ms,
        user = me.user,
        uid = me.uid,
        seccomp = !args.no_seccomp,
        "attached"
    );

    let opts = WorkerOptions {
        strict: args.strict,
        warm_up: !args.no_warmup,
        seccomp: !args.no_seccomp,
        memory_mb: args.worker_memory_mb,
        test_hooks: args.test_hooks,
        // Inherited from this process when seccomp is on.
        stack_supervisor_filter: false,
        threads: args.decode_threads.unwrap_or_else(|| {
            std::thread::available_parallelism().map_or(1, |n| n.get().min(4) as u32)
        }),
    };
    let cmd = WorkerCommand::new(PathBuf::from("/proc/self/exe"), &opts);
    // The module fails a job after its timeout; a worker still on it long
    // after is stuck.
    let stall =
        Duration::from_millis(u64::from(info.job_timeout_ms) * 4).max(Duration::from_secs(5));
    let poll_dev = dev.try_clone().context("dup of the device")?;
    let mut sup = Supervisor::new(dev, cmd, args.strict, stall);
    let mut buf = vec![0u8; (info.max_msg_size as usize).max(proto::MSG_MAX_SIZE)];

    loop {
        let ready = sup.poll(&[poll_dev.as_fd(), sigfd.as_fd()], None)?;
        if ready[1] {
            if let Ok(Some(si)) = sigfd.read_signal() {
                info!(signal = si.ssi_signo, "stopping");
            }
            break;
        }
        if !ready[0] {
            continue;
        }
        // Drain every queued message.
        loop {
            match (&poll_dev).read(&mut buf) {
                Ok(0) => break,
                Ok(n) => sup.handle_message(&buf[..n])?,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e).context("reading a message"),
            }
        }
    }

    sup.shutdown();
    let st = sup.stats();
    info!(jobs = st.jobs, failed = st.failed, "detached");
    Ok(())
}
